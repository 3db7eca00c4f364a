/* The node's state, shared by the files of src/node.  Who writes what:
 * node.c owns the node's life cycle, the member list (created at reload,
 * matched to the configuration's members) and the discovery fields of a
 * member (next_lookup_ns, lookup_backoff_ns, initiate_at_ns); paths.c
 * drives a member's path (struct ovl_path, written by the path core
 * proto/overlay/path.c alone) and owns the node's punch timer and
 * anchors; control.c and datapath.c only read.  A member names its
 * WireGuard peer by key (member_peer), never by pointer: the device owns
 * the peers. */
#ifndef WH_SRC_NODE_NODE_PRIV_H
#define WH_SRC_NODE_NODE_PRIV_H

#include "proto/overlay/path.h"
#include "src/node/node.h"
#include "src/wg/device.h"
#include "src/wg/uapi_server.h"

#include <limits.h>
#include <uv.h>

struct ipc_server;
struct names;
struct netconf;
struct node_dns;
struct overlay;
struct portmap;
struct reload_job;
struct tcppath;

/* A member of the network other than us: a WireGuard peer whose
 * endpoint the overlay finds.  All times are monotonic ns, 0 = never. */
struct member {
	uint8_t key[32];
	char hostname[254];		/* a DNS name: NETCONF_MAX_HOSTNAME + 1 */
	/* A stock WireGuard client (a client line): a WireGuard peer with
	 * its overlay addresses and no endpoint, never looked up in the DHT
	 * nor given a path by paths.c (it runs no wh); it reaches us
	 * through a relay (doc/protocol.md 9.5). */
	bool client;
	uint64_t next_lookup_ns;
	uint64_t lookup_backoff_ns;
	uint64_t initiate_at_ns;		/* 0: no handshake planned */
	/* member_peer's memo: the peer found (or NULL) when the device's
	 * peers_gen was peer_gen + 1; 0: none yet. */
	struct wg_peer *peer;
	uint64_t peer_gen;
	/* How it is reached: the path core's (proto/overlay/path.h), which
	 * paths.c drives; datapath.c and control.c read it. */
	struct ovl_path path;
};

struct node {
	uv_loop_t loop;
	struct wg_device dev;
	struct overlay *ov;
	struct netconf *conf;
	char conf_path[PATH_MAX];
	char conf_name[PATH_MAX];	/* as wh up was given it: named in messages */
	bool conf_once;			/* read from a pipe: no reload */
	uint8_t *private_key;		/* sodium_malloc, 32 bytes */
	uint8_t public_key[32];
	bool member;			/* we have a trust line: a TUN device */
	uint8_t ipv4[4], ipv6[16];	/* our overlay addresses, if member */
	uint8_t prefix4, prefix6;
	char hostname[254];		/* a DNS name: NETCONF_MAX_HOSTNAME + 1 */
	struct member **members;	/* node.c: in key order (node_member) */
	size_t n_members;
	struct ipc_server *ctl;
	struct ipc_server *metrics;	/* metrics_node.c: the HTTP listener, or NULL */
	struct uapi_policy uapi_policy;	/* what stock wg may change (uapi_policy.c) */
	uv_signal_t sigint, sigterm;
	uv_timer_t discover;
	uv_timer_t punch;		/* paths.c: 200 ms while punching */
	bool paths_ready;
	size_t chan_src_hint;		/* paths.c: the member of the last channel datagram */
	uint64_t anchors_next_ns;	/* paths.c: NAT keepalives to public nodes */
	union wg_sockaddr mapped;	/* our port mapping on the router, if any */
	struct portmap *portmap;
	struct node_dns *dns;		/* dns.c: the name service, or NULL */
	struct names *names;		/* names.c: the file's named endpoints */
	struct node_invite *invite;	/* invite.c: invitations, wh join */
	struct tcppath *tcp;		/* tcppath.c: the TCP relay path, or NULL */
	bool dev_ready;			/* device_init succeeded */
	bool handles_ready;		/* signals and the discovery timer */
	unsigned ticks;			/* discovery ticks since start */
	size_t discover_next;		/* node.c: where idle lookups go on */
	struct reload_job *reload;	/* node.c: the reload under way, or NULL */
	bool stopping;
	const char *stop_reason;	/* node_shutdown_soon */
	int exit_code;
	/* fd 2 read back into the log (src/io/logsink.h), and the stderr we
	 * started with, while we keep it (NULL once a daemon detached). */
	struct logpipe *logpipe;
	FILE *log_stream;
};

/* control.c */
int control_start(struct node *n);
void control_stop(struct node *n);

/* uapi_policy.c: fills n->uapi_policy. */
void node_uapi_policy_init(struct node *n);

/* node.c, for control.c: `wh reload`.  The file is parsed on the thread
 * pool and applied on the loop; then done(arg, 0 or a negative errno,
 * the message of a refusal) is called, unless node_reload_forget(n, arg)
 * came first (the asker went away).  0, or a negative errno with a
 * message in err when the reload cannot start (a pipe, one under way). */
typedef void (*node_reload_done)(void *arg, int ret, const char *err);
int node_reload_start(struct node *n, node_reload_done done, void *arg, char *err, size_t errlen);
/* A reload done at once, on the loop (the node's own changes to its file). */
int node_reload(struct node *n, char *err, size_t errlen);
void node_reload_forget(struct node *n, void *arg);

/* node.c, for node_reload.c: our own addresses and hostname from our
 * trust line; the members brought from old's (NULL at start) to n->conf's
 * (0 or -ENOMEM, the members synced so far kept); the interface's
 * addresses moved from the old ones to ours. */
void node_take_self(struct node *n);
int node_sync_members(struct node *n, const struct netconf *old);
void node_readdress(struct node *n, const uint8_t old4[4], uint8_t oldp4, const uint8_t old6[16],
		    uint8_t oldp6, char *err, size_t errlen);
/* node_reload.c: the lines the parser left out, logged. */
void node_log_left_out(struct node *n);
void node_shutdown(struct node *n, const char *why);
/* The same from the next loop turns on, so that answers already queued
 * are written first. */
void node_shutdown_soon(struct node *n, const char *why);
struct member *node_member(struct node *n, const uint8_t key[32]);
/* The member's peer in the device's table (an O(1) lookup by key), or
 * NULL when the device has none: the caller skips the member then. */
struct wg_peer *member_peer(struct node *n, const struct member *m);
/* Whether peer has a usable session now: the one test of it in src/node. */
bool node_peer_has_session(const struct wg_peer *peer);
/* The same at now (wg_now), for a walk of every member. */
bool node_peer_has_session_at(const struct wg_peer *peer, uint64_t now);
/* A handshake with m: at once when our key is the lower, else in a
 * second if still needed (crossed initiations stall both sides). */
void node_plan_handshake(struct node *n, struct member *m);
/* The discovery tick (node_members.c), started once the node is up. */
void node_discover_start(struct node *n);

#endif
