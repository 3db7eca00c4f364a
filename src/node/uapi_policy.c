/* What stock `wg` may change on an interface of `wh up` (README, "wg on
 * a wh interface").  The node owns its private key, its UDP port (the
 * overlay's too) and every member of the network file as a WireGuard
 * peer: their existence, allowed IPs, endpoint (the overlay's paths move
 * it), preshared key and keepalive.  A set request that would change any
 * of these is refused whole with EPERM, which wg prints as "Operation not
 * permitted"; one that only restates them (`wg syncconf IFACE <(wg
 * showconf IFACE)`) is accepted and leaves them alone.  Other peers are
 * the user's: wg creates, changes and removes them freely, except that
 * none may take a member's overlay address.
 *
 * Only the node creates and removes members' peers (node.c, through
 * uapi_apply_set with no policy); its member state names them by key
 * anyway (member_peer), so that nothing can leave it naming a freed
 * peer. */
#include "src/node/node_priv.h"

#include "crypto/encoding.h"
#include "src/node/netconf.h"
#include "src/wg/peer.h"
#include "src/wg/uapi.h"
#include "src/wg/uapi_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *key_str(const uint8_t key[32], char out[KEY_B64URL_LEN + 1])
{
	key_to_base64url(out, key);
	return out;
}

/* The member's file entry, for its addresses. */
static const struct netconf_peer *member_conf(const struct node *n, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < n->conf->n_peers; ++i)
		if (netconf_kind_has_addresses(n->conf->peers[i].kind) &&
		    ct_equal(n->conf->peers[i].key, key, 32))
			return &n->conf->peers[i];
	return NULL;
}

/* Whether the prefix is exactly a member's overlay address (a /32 or a
 * /128 that would move its route) or a route of the file through a
 * router member, and whose. */
static const struct netconf_peer *member_prefix(const struct node *n,
						const struct uapi_allowed_ip *a)
{
	const struct netconf_route *r = netconf_find_route(n->conf, a->family == AF_INET6, a->addr,
							   a->cidr);
	size_t i;

	if (r && node_member((struct node *)n, r->router_key))
		return &n->conf->peers[r->router];

	for (i = 0; i < n->conf->n_peers; ++i) {
		const struct netconf_peer *cp = &n->conf->peers[i];

		if (!netconf_kind_has_addresses(cp->kind) || !node_member((struct node *)n, cp->key))
			continue;
		if (a->family == AF_INET && a->cidr == 32 && cp->has_ipv4 &&
		    !memcmp(a->addr, cp->ipv4, 4))
			return cp;
		if (a->family == AF_INET6 && a->cidr == 128 && cp->has_ipv6 &&
		    !memcmp(a->addr, cp->ipv6, 16))
			return cp;
	}
	return NULL;
}

/* An allowed IP given for a member is one of its two addresses, or a
 * route of the file through it. */
static bool is_members_address(const struct netconf *conf, const struct netconf_peer *cp,
			       const struct uapi_allowed_ip *a)
{
	const struct netconf_route *r = netconf_find_route(conf, a->family == AF_INET6, a->addr,
							   a->cidr);

	if (r && ct_equal(r->router_key, cp->key, 32))
		return true;
	if (a->family == AF_INET)
		return cp->has_ipv4 && a->cidr == 32 && !memcmp(a->addr, cp->ipv4, 4);
	return cp->has_ipv6 && a->cidr == 128 && !memcmp(a->addr, cp->ipv6, 16);
}

/* Whether a section only restates member m: the values it sets are the
 * ones the peer has. */
static bool restates(struct node *n, const struct member *m,
		     const struct uapi_peer_set *ps, const char **what)
{
	const struct netconf_peer *cp = member_conf(n, m->key);
	const struct wg_peer *peer = member_peer(n, m);
	bool has4 = false, has6 = false;
	size_t i;

	if (!peer) {
		*what = "create it";	/* the node does, at the next reload */
		return false;
	}
	if (ps->remove) {
		*what = "remove it";
		return false;
	}
	if (ps->has_preshared_key &&
	    sodium_memcmp(ps->preshared_key, peer->handshake.preshared_key, 32) != 0) {
		*what = "set its preshared key";
		return false;
	}
	if (ps->has_endpoint &&
	    !(peer->endpoint.sa.sa_family && wg_sockaddr_equal(&ps->endpoint, &peer->endpoint))) {
		*what = "move its endpoint (the overlay chooses its path)";
		return false;
	}
	if (ps->has_persistent_keepalive &&
	    ps->persistent_keepalive_interval != peer->persistent_keepalive_interval) {
		*what = "change its keepalive (the overlay sets what its NAT needs)";
		return false;
	}
	for (i = 0; i < ps->n_allowed_ips; ++i) {
		const struct uapi_allowed_ip *a = &ps->allowed_ips[i];

		if (a->remove || !cp || !is_members_address(n->conf, cp, a)) {
			*what = "change its allowed IPs (its overlay addresses)";
			return false;
		}
		has4 |= a->family == AF_INET;
		has6 |= a->family == AF_INET6;
	}
	/* Replacing them with fewer would drop an address. */
	if (ps->replace_allowed_ips && cp &&
	    ((cp->has_ipv4 && !has4) || (cp->has_ipv6 && !has6))) {
		*what = "replace its allowed IPs with fewer";
		return false;
	}
	return true;
}

static bool named_in(const struct uapi_set *set, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < set->n_peers; ++i)
		if (!set->peers[i].remove && ct_equal(set->peers[i].public_key, key, 32))
			return true;
	return false;
}

/* Writes the reason for the log; -EPERM. */
static int __attribute__((format(printf, 3, 4)))
refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EPERM;
}

static int node_uapi_check(void *ctx, const struct uapi_set *set, char *why, size_t len)
{
	struct node *n = ctx;
	char k[KEY_B64URL_LEN + 1];
	size_t i, j;

	if (set->has_private_key &&
	    sodium_memcmp(set->private_key, n->private_key, 32) != 0)
		return refuse(why, len, "the private key is the node's (wh up ... private-key FILE)");
	if (set->has_listen_port && set->listen_port != n->dev.bound_port)
		return refuse(why, len, "the UDP port is the overlay's too (wh up ... listen-port N)");
	if (set->replace_peers) {
		for (i = 0; i < n->n_members; ++i)
			if (!named_in(set, n->members[i]->key))
				return refuse(why, len, "replacing the peers would remove member %s (%s), "
					      "which the network file manages", n->members[i]->hostname,
					      key_str(n->members[i]->key, k));
	}
	for (i = 0; i < set->n_peers; ++i) {
		const struct uapi_peer_set *ps = &set->peers[i];
		const struct member *m;
		const char *what = "";

		if (ct_equal(ps->public_key, n->public_key, 32))
			continue;	/* ignored, as wireguard-go does */
		m = node_member(n, ps->public_key);
		if (m) {
			if (!restates(n, m, ps, &what)) {
				snprintf(why, len, "peer %s (%s) is a member of network '%s': a set "
					 "may not %s; change the network file and run wh reload",
					 key_str(m->key, k), m->hostname, n->conf->ns, what);
				return -EPERM;
			}
			continue;
		}
		for (j = 0; j < ps->n_allowed_ips; ++j) {
			const struct uapi_allowed_ip *a = &ps->allowed_ips[j];
			const struct netconf_peer *cp;

			char ip[INET6_ADDRSTRLEN];

			if (a->remove || !(cp = member_prefix(n, a)))
				continue;
			inet_ntop(a->family, a->addr, ip, sizeof(ip));
			return refuse(why, len, "allowed IP %s is the overlay address of member %s "
				      "(the network file's)", ip, cp->hostname);
		}
	}
	return 0;
}

static bool node_uapi_manages(void *ctx, const uint8_t *public_key)
{
	return node_member(ctx, public_key) != NULL;
}

void node_uapi_policy_init(struct node *n)
{
	n->uapi_policy.check = node_uapi_check;
	n->uapi_policy.manages = node_uapi_manages;
	n->uapi_policy.ctx = n;
}
