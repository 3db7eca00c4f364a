/* The host's way to the node's name service, without taking over its
 * resolver (doc/names.md, "The host"):
 *
 *   systemd-resolved runs (its socket /run/systemd/resolve/io.systemd.Resolve
 *   exists): the interface's DNS server becomes our overlay addresses and
 *   its routing domain ~NETWORK (`resolvectl dns`, `resolvectl domain`,
 *   run on the loop as child processes), so that only the network's
 *   names come to us; `wh down` says `resolvectl revert IFACE`, and the
 *   link goes too.  WH_RESOLVECTL names another program to
 *   run in resolvectl's place (and skips the check for the socket): for
 *   tests, or a resolvectl outside PATH.
 *
 *   `wh up ... hosts FILE`: a block of the members' names, between
 *   "# wh IFACE begin" and "# wh IFACE end" lines, kept in FILE (written
 *   whole to a temporary file beside it and renamed over it, with the
 *   file's mode and owner), rewritten at reload and removed at down.
 *
 * dns.c owns it; it reads the node. */
#ifndef WH_SRC_NODE_DNS_HOST_H
#define WH_SRC_NODE_DNS_HOST_H

struct node;
struct strbuf;
struct dns_host_wiring;

/* NULL when there is nothing to keep (no resolved, no hosts file) or
 * memory ran out; failures are logged. */
struct dns_host_wiring *dns_host_start(struct node *n, const char *hosts_path);
void dns_host_update(struct dns_host_wiring *w);
void dns_host_stop(struct dns_host_wiring *w);
/* ", \"host\": {...}" for wh inspect. */
void dns_host_inspect(const struct dns_host_wiring *w, struct strbuf *b);

#endif
