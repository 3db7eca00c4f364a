/* A node of an overlay network (`wh up`): the WireGuard device, the
 * overlay on its socket, the network file's members as WireGuard peers,
 * the interface's addresses, and the control socket that `wh show`,
 * `wh reload`, `wh down`, `wh lookup`, `wh ping` and `wh inspect` talk to.
 *
 * A member of the network (its key has a trust line) gets a TUN
 * interface with its overlay addresses; a node whose key has no trust
 * line is a public node: it serves the DHT and needs no interface.
 * Errors: negative errno, with a message for the user in err. */
#ifndef WH_SRC_NODE_NODE_H
#define WH_SRC_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WH_CONTROL_DIR "/var/run/wh"

struct node;

/* The log's levels (src/wg/device.h's LOG_ERR, LOG_INFO, LOG_DBG). */
enum { NODE_LOG_ERROR = 0, NODE_LOG_INFO = 1, NODE_LOG_DEBUG = 2 };

struct node_options {
	const char *config_path;
	const char *private_key_path;	/* NULL: the key comes with the config */
	const char *ifname;		/* NULL: "wh-" + 8 characters of the key */
	int listen_port;		/* -1: the default (62096) */
	bool foreground;
	enum { NODE_RELAY_DEFAULT, NODE_RELAY_ON, NODE_RELAY_OFF } relay;
	uint32_t relay_pps, relay_bps;	/* per-source limits; 0: defaults */
	enum { NODE_PORTMAP_ON, NODE_PORTMAP_OFF } portmap;
	enum { NODE_DNS_ON, NODE_DNS_OFF } dns;	/* the name service (src/node/dns.h) */
	const char *hosts_path;		/* NULL, or a hosts file to keep the names in */
	/* The log's level: -1 for LOG_LEVEL of the environment (info when
	 * unset), or one of the levels below (-q, -v). */
	int log_level;
	/* The metrics' HTTP listener (src/node/metrics.h); family 0: none. */
	struct sockaddr_storage metrics_addr;
	/* Without private_key_path the node is a public node under a key
	 * made at start by this (the CLI's search, as `wh genkey workbit N`):
	 * 32 bytes of sodium_malloc memory whose public key has at least
	 * workbit workbits in namespace ns; 0 or a negative errno.  The key
	 * lives in memory only: a restart makes another. */
	int (*make_key)(uint8_t *sk, unsigned workbit, const char *ns);
};

/* The most workbits `wh up` searches a key for at start (2^24 tries
 * expected: tens of seconds); beyond it, `wh genkey workbit N`. */
enum { NODE_MAKE_KEY_MAX_WORKBIT = 24 };

/* Runs a node until `wh down`, SIGINT/SIGTERM or the interface's removal;
 * returns the process exit status.  Prints errors itself. */
int node_main(const struct node_options *opt);

/* The control socket's path for an interface. */
int node_control_path(char *out, size_t len, const char *ifname);

#endif
