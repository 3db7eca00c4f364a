/* The network file's routes beyond the subnet:
 *
 *   router gw 10.0.42.1 KEY
 *   route 203.0.113.0/24 via gw
 *   route 2001:db8:5::/48 via gw
 *
 * WireHub had `router` lines and no way to say what they route; a line
 * of its own keeps WireHub's peer lines as they were.  The first pass
 * reads a route line on its own (a bad one is left out, as a bad peer
 * line is); once the peers are final, each route is resolved to its
 * router (by hostname, in either case, or by key) and checked against
 * the others, by rules that depend on the set of lines alone. */
#include "src/node/netconf.h"
#include "src/node/netconf_priv.h"

#include "crypto/encoding.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int netconf_route_line(struct netconf_parser *p, char **tok, size_t ntok)
{
	struct netconf *c = p->conf;
	struct netconf_route *r;
	char q[NETCONF_QUOTE_BUF];
	uint8_t m[16];
	unsigned i;

	if (c->n_routes == NETCONF_MAX_ROUTES)
		return netconf_fail(p, p->lineno, "more than %d routes", NETCONF_MAX_ROUTES);
	if (c->n_routes == p->cap_routes) {
		size_t cap = p->cap_routes ? p->cap_routes * 2 : 8;
		struct netconf_route *n = realloc(c->routes, cap * sizeof(*n));

		if (!n)
			return netconf_fail_errno(p, ENOMEM);
		c->routes = n;
		p->cap_routes = cap;
	}
	r = memset(&c->routes[c->n_routes], 0, sizeof(*r));
	r->line = p->lineno;
	/* From here an error costs the line alone. */
	p->lenient = true;
	if (ntok != 4 || strcmp(tok[2], "via")) {
		netconf_fail(p, p->lineno, "a route is written \"route PREFIX via ROUTER\"");
		goto out;
	}
	r->v6 = strchr(tok[1], ':') != NULL;
	if (netconf_parse_prefix(p, tok[1], r->v6, r->addr, &r->prefix))
		goto out;
	if (strlen(tok[3]) > NETCONF_MAX_HOSTNAME) {
		netconf_fail(p, p->lineno, "%s names no router", netconf_quote(q, tok[3]));
		goto out;
	}
	/* Host bits are cleared, as the subnet's: the kernel routes prefixes. */
	if (r->v6) {
		netconf_mask6(m, r->prefix);
		for (i = 0; i < 16; ++i)
			r->addr[i] &= m[i];
	} else {
		uint32_t a = (uint32_t)r->addr[0] << 24 | (uint32_t)r->addr[1] << 16 |
			     (uint32_t)r->addr[2] << 8 | r->addr[3];

		a &= netconf_mask4(r->prefix);
		r->addr[0] = (uint8_t)(a >> 24);
		r->addr[1] = (uint8_t)(a >> 16);
		r->addr[2] = (uint8_t)(a >> 8);
		r->addr[3] = (uint8_t)a;
	}
	strcpy(r->via, tok[3]);
	c->n_routes++;
out:
	p->lenient = false;
	return p->rc;
}

static void prefix_text(char out[50], const struct netconf_route *r)
{
	char a[46];
	size_t n;

	if (r->v6)
		netconf_format_ipv6(a, r->addr);
	else
		netconf_format_ipv4(a, r->addr);
	n = strlen(a);
	memcpy(out, a, n);
	out[n++] = '/';
	if (r->prefix >= 100)
		out[n++] = (char)('0' + r->prefix / 100);
	if (r->prefix >= 10)
		out[n++] = (char)('0' + r->prefix / 10 % 10);
	out[n++] = (char)('0' + r->prefix % 10);
	out[n] = '\0';
}

/* Whether two prefixes share an address: the shorter one's bits match. */
static bool overlaps(bool v6, const uint8_t *a, unsigned alen, const uint8_t *b, unsigned blen)
{
	unsigned bits = alen < blen ? alen : blen, i;
	uint8_t m[16];

	if (v6) {
		netconf_mask6(m, bits);
	} else {
		uint32_t v = netconf_mask4(bits);

		m[0] = (uint8_t)(v >> 24);
		m[1] = (uint8_t)(v >> 16);
		m[2] = (uint8_t)(v >> 8);
		m[3] = (uint8_t)v;
	}
	for (i = 0; i < (v6 ? 16u : 4u); ++i)
		if ((a[i] & m[i]) != (b[i] & m[i]))
			return false;
	return true;
}

/* Marks the line left out, with a note saying why. */
#define leave_out(p, x, ...) netconf_leave_out((p), &(x)->left_out, (x)->line, __VA_ARGS__)

/* Its router: the peer the route names by hostname or by key, which must
 * be a router line still in the network. */
static void resolve(struct netconf_parser *p, struct netconf_route *r)
{
	struct netconf *c = p->conf;
	const struct netconf_peer *peer;
	char q[NETCONF_QUOTE_BUF], pre[50];
	uint8_t key[NETCONF_KEY_LEN];

	prefix_text(pre, r);
	if (key_from_base64(key, r->via, strlen(r->via)))
		peer = netconf_find(c, key);
	else
		peer = netconf_find_hostname(c, r->via);
	if (!peer) {
		leave_out(p, r, "route %s: %s names no router of the network", pre,
			  netconf_quote(q, r->via));
		return;
	}
	if (peer->kind != NETCONF_ROUTER) {
		leave_out(p, r, "route %s: %s is a \"%s\" line (line %u), not a \"router\"", pre,
			  netconf_quote(q, r->via), netconf_kind_name(peer->kind), peer->line);
		return;
	}
	r->router = (size_t)(peer - c->peers);
	memcpy(r->router_key, peer->key, NETCONF_KEY_LEN);
}

static bool same_prefix(const struct netconf_route *a, const struct netconf_route *b)
{
	return a->v6 == b->v6 && a->prefix == b->prefix && !memcmp(a->addr, b->addr, 16);
}

/* By prefix, then the router's key, then the line. */
static int cmp_route(const void *x, const void *y)
{
	const struct netconf_route *a = *(const struct netconf_route *const *)x;
	const struct netconf_route *b = *(const struct netconf_route *const *)y;
	int c;

	if (a->v6 != b->v6)
		return a->v6 ? 1 : -1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	c = memcmp(a->router_key, b->router_key, NETCONF_KEY_LEN);
	if (c)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

int netconf_routes_finish(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	struct netconf_route **v;
	char pre[50], s[46];
	size_t i, j, n = 0;

	for (i = 0; i < c->n_routes; ++i) {
		struct netconf_route *r = &c->routes[i];

		prefix_text(pre, r);
		/* A route into the overlay's own addresses would take members'
		 * traffic away from them. */
		if ((!r->v6 && c->has_subnet &&
		     overlaps(false, r->addr, r->prefix, c->subnet, c->prefix)) ||
		    (r->v6 && c->has_subnet6 &&
		     overlaps(true, r->addr, r->prefix, c->subnet6, c->prefix6))) {
			if (r->v6)
				netconf_format_ipv6(s, c->subnet6);
			else
				netconf_format_ipv4(s, c->subnet);
			leave_out(p, r, "route %s overlaps the %s %s/%u", pre, r->v6 ? "subnet6" : "subnet",
				  s, r->v6 ? c->prefix6 : c->prefix);
			continue;
		}
		resolve(p, r);
	}
	/* One prefix through two routers: the smaller key keeps it; twice
	 * through one router: the first line is enough. */
	v = malloc((c->n_routes + 1) * sizeof(*v));
	if (!v)
		return netconf_fail_errno(p, ENOMEM);
	for (i = 0; i < c->n_routes; ++i)
		if (!c->routes[i].left_out)
			v[n++] = &c->routes[i];
	qsort(v, n, sizeof(*v), cmp_route);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && same_prefix(v[i], v[j]); ++j) {
			bool other = memcmp(v[i]->router_key, v[j]->router_key, NETCONF_KEY_LEN) != 0;

			prefix_text(pre, v[j]);
			leave_out(p, v[j], "route %s is already on line %u%s", pre, v[i]->line,
				  other ? ", through a router whose key sorts first (the smaller "
				  "key keeps it)" : "");
		}
	}
	free(v);
	n = 0;
	for (i = 0; i < c->n_routes; ++i)
		if (!c->routes[i].left_out)
			c->routes[n++] = c->routes[i];
	c->n_routes = n;
	return p->rc;
}

const struct netconf_route *netconf_find_route(const struct netconf *conf, bool v6,
					       const uint8_t *addr, uint8_t prefix)
{
	size_t i;

	for (i = 0; conf && i < conf->n_routes; ++i) {
		const struct netconf_route *r = &conf->routes[i];

		if (r->v6 == v6 && r->prefix == prefix && !memcmp(r->addr, addr, v6 ? 16 : 4))
			return r;
	}
	return NULL;
}
