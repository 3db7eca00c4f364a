/* Routes beyond the subnet (the network file's `route PREFIX via
 * ROUTER` lines) as the node applies them: the router's WireGuard peer
 * allows the prefix, and every other member routes it into its
 * interface.  The router forwards it itself (its admin enables IP
 * forwarding); its own routes stay on its LAN. */
#ifndef WH_SRC_NODE_ROUTES_H
#define WH_SRC_NODE_ROUTES_H

struct netconf;
struct netconf_peer;
struct node;
struct uapi_peer_set;

/* Adds the routes through cp to its allowed IPs; -ENOMEM. */
int routes_allowed_ips(const struct netconf *conf, const struct netconf_peer *cp,
		       struct uapi_peer_set *ps);
/* Brings the interface's routes from old's (NULL at start) to n->conf's:
 * those gone are removed, new ones added.  Failures are logged. */
void routes_sync(struct node *n, const struct netconf *old);

#endif
