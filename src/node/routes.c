/* The network file's routes on the node (src/node/routes.h).  Which
 * routes exist is the parser's (src/node/netconf_route.c); this applies
 * them to the device's allowed IPs and the host's routing table. */
#include "src/node/routes.h"

#include "crypto/encoding.h"
#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/wg/uapi.h"
#include "tun/ifconfig.h"
#include "tun/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int routes_allowed_ips(const struct netconf *conf, const struct netconf_peer *cp,
		       struct uapi_peer_set *ps)
{
	size_t i;

	for (i = 0; i < conf->n_routes; ++i) {
		const struct netconf_route *r = &conf->routes[i];
		struct uapi_allowed_ip a;

		if (&conf->peers[r->router] != cp)
			continue;
		memset(&a, 0, sizeof(a));
		a.family = r->v6 ? AF_INET6 : AF_INET;
		a.cidr = r->prefix;
		memcpy(a.addr, r->addr, r->v6 ? 16 : 4);
		if (uapi_peer_add_allowed_ip(ps, &a) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int route_op(int ifindex, bool add, const struct netconf_route *r)
{
	int family = r->v6 ? AF_INET6 : AF_INET;

	return add ? ifc_route_add(ifindex, family, r->addr, r->prefix) :
		     ifc_route_del(ifindex, family, r->addr, r->prefix);
}

/* A route this member sends into its interface: one through another
 * member (a router line is a member).  The router's own prefixes are
 * reached on its LAN. */
static bool ours_to_route(const struct node *n, const struct netconf_route *r)
{
	return !ct_equal(r->router_key, n->public_key, 32);
}

/* r is in conf too, through the same router. */
static bool kept(const struct node *n, const struct netconf *conf, const struct netconf_route *r)
{
	const struct netconf_route *o = netconf_find_route(conf, r->v6, r->addr, r->prefix);

	return o && ct_equal(o->router_key, r->router_key, 32) && ours_to_route(n, o);
}

static void log_route(struct node *n, bool add, const struct netconf *conf,
		      const struct netconf_route *r, int ret)
{
	const struct netconf_peer *gw = &conf->peers[r->router];
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->v6 ? AF_INET6 : AF_INET, r->addr, a, sizeof(a));
	if (ret < 0)
		dev_log(&n->dev, LOG_ERR, "cannot %s the route %s/%u via %s: %s",
			add ? "add" : "remove", a, r->prefix,
			gw->hostname[0] ? gw->hostname : "its router", strerror(-ret));
	else
		dev_log(&n->dev, LOG_INFO, "route %s/%u via %s %s", a, r->prefix,
			gw->hostname[0] ? gw->hostname : "its router", add ? "added" : "removed");
}

void routes_sync(struct node *n, const struct netconf *old)
{
	const struct netconf *conf = n->conf;
	int ifindex, ret;
	size_t i;

	if (!n->member || !n->dev.tun)
		return;
	ifindex = (int)tun_ifindex(n->dev.tun);
	for (i = 0; old && i < old->n_routes; ++i) {
		const struct netconf_route *r = &old->routes[i];

		if (!ours_to_route(n, r) || kept(n, conf, r))
			continue;
		ret = route_op(ifindex, false, r);
		if (ret == -ESRCH || ret == -EADDRNOTAVAIL)
			ret = 0;
		log_route(n, false, old, r, ret);
	}
	for (i = 0; i < conf->n_routes; ++i) {
		const struct netconf_route *r = &conf->routes[i];

		if (!ours_to_route(n, r) || (old && kept(n, old, r)))
			continue;
		ret = route_op(ifindex, true, r);
		if (ret == -EEXIST)
			ret = 0;
		log_route(n, true, conf, r, ret);
	}
}
