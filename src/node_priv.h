/* The node's state, shared by node.c (life cycle, members, discovery,
 * reload) and control.c (the control socket).  Only these two files see
 * it; node.c owns every field. */
#ifndef WH_SRC_NODE_PRIV_H
#define WH_SRC_NODE_PRIV_H

#include "src/device.h"
#include "src/node.h"

#include <limits.h>
#include <uv.h>

struct ipc_server;
struct netconf;
struct overlay;

/* A member of the network other than us: a WireGuard peer whose
 * endpoint the overlay finds. */
struct member {
	uint8_t key[32];
	struct wg_peer *peer;
	uint64_t next_lookup_ns;	/* monotonic */
	uint64_t lookup_backoff_ns;
	uint64_t initiate_at_ns;		/* 0: no handshake planned */
};

struct node {
	uv_loop_t loop;
	struct wg_device dev;
	struct overlay *ov;
	struct netconf *conf;
	char conf_path[PATH_MAX];
	uint8_t *private_key;		/* sodium_malloc, 32 bytes */
	uint8_t public_key[32];
	bool member;			/* we have a trust line: a TUN device */
	uint8_t ipv4[4], ipv6[16];	/* our overlay addresses, if member */
	uint8_t prefix4, prefix6;
	char hostname[64];
	struct member *members;
	size_t n_members;
	struct ipc_server *ctl;
	uv_signal_t sigint, sigterm;
	uv_timer_t discover;
	bool dev_ready;			/* device_init succeeded */
	bool handles_ready;		/* signals and the discovery timer */
	unsigned ticks;			/* discovery ticks since start */
	bool stopping;
	const char *stop_reason;	/* node_shutdown_soon */
	int exit_code;
};

/* control.c */
int control_start(struct node *n);
void control_stop(struct node *n);

/* node.c, for control.c */
int node_reload(struct node *n, char *err, size_t errlen);
void node_shutdown(struct node *n, const char *why);
/* The same from the next loop turns on, so that answers already queued
 * are written first. */
void node_shutdown_soon(struct node *n, const char *why);
struct member *node_member(struct node *n, const uint8_t key[32]);

#endif
