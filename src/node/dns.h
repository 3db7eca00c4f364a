/* The node's name service (doc/names.md): the core of proto/dns on the
 * node's loop, answering DNS over UDP and TCP on port 53 of the member's
 * own overlay addresses, to members and to this host only; and the
 * host's wiring to it (systemd-resolved's per-link DNS, or a marked
 * block in a hosts file).  node.c creates, reloads and stops it; it only
 * reads the node.  Errors: negative errno; what cannot listen is logged
 * and the node runs on without it. */
#ifndef WH_SRC_NODE_DNS_H
#define WH_SRC_NODE_DNS_H

#include <stdint.h>

struct netconf;
struct dns_table;
struct node;
struct strbuf;

enum {
	NODE_DNS_PORT = 53,
	NODE_DNS_RCODES = 17,	/* proto/dns/dns.h's DNS_RCODE_COUNT */
};

struct dns_stats {
	uint64_t queries_udp, queries_tcp;
	uint64_t rcodes[NODE_DNS_RCODES];	/* answers sent, by rcode */
	uint64_t truncated;
	uint64_t dropped_outside;	/* a source that is no member's */
	uint64_t dropped_unanswerable;	/* too short, or a response */
	uint64_t send_errors;
	uint64_t tcp_refused;		/* connections from outside */
};

/* Starts answering (n->member only; a public node has no address to
 * answer on) and wires the host.  hosts_path: NULL, or the hosts file
 * to keep a block of the members in.  0 or -ENOMEM. */
int node_dns_start(struct node *n, const char *hosts_path);
/* The name table of the file c, a pure function of it: a reload builds it
 * on the thread pool beside the parse.  0, -ENOMEM or -EINVAL. */
int node_dns_build(const struct netconf *c, struct dns_table **out);
/* The network file changed (node_reload): the name table (built: from
 * node_dns_build, taken and freed here; NULL: built now), the listeners
 * if our addresses moved, the host's wiring. */
void node_dns_reload(struct node *n, struct dns_table *built);
/* Closes the listeners and takes our block out of the hosts file. */
void node_dns_stop(struct node *n);
/* ",\n  \"dns\": {...}" for wh inspect: the counters. */
void node_dns_inspect(struct node *n, struct strbuf *b);
/* The counters (src/node/metrics_node.c), or NULL when the service is
 * off. */
const struct dns_stats *node_dns_stats(const struct node *n);

#endif
