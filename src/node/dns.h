/* The node's name service (doc/names.md): the core of proto/dns on the
 * node's loop, answering DNS over UDP and TCP on port 53 of the member's
 * own overlay addresses, to members and to this host only; and the
 * host's wiring to it (systemd-resolved's per-link DNS, or a marked
 * block in a hosts file).  node.c creates, reloads and stops it; it only
 * reads the node.  Errors: negative errno; what cannot listen is logged
 * and the node runs on without it. */
#ifndef WH_SRC_NODE_DNS_H
#define WH_SRC_NODE_DNS_H

struct node;
struct strbuf;

enum {
	NODE_DNS_PORT = 53,
};

/* Starts answering (n->member only; a public node has no address to
 * answer on) and wires the host.  hosts_path: NULL, or the hosts file
 * to keep a block of the members in.  0 or -ENOMEM. */
int node_dns_start(struct node *n, const char *hosts_path);
/* The network file changed (node_reload): the name table, the listeners
 * if our addresses moved, the host's wiring. */
void node_dns_reload(struct node *n);
/* Closes the listeners and takes our block out of the hosts file. */
void node_dns_stop(struct node *n);
/* ",\n  \"dns\": {...}" for wh inspect: the counters. */
void node_dns_inspect(struct node *n, struct strbuf *b);

#endif
