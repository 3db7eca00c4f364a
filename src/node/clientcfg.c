/* A stock WireGuard client's wg-quick file, from the parsed network file:
 * see clientcfg.h. */
#include "src/node/clientcfg.h"

#include "crypto/encoding.h"
#include "src/node/netconf.h"
#include "src/node/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int __attribute__((format(printf, 3, 4)))
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "host:port", or "[v6]:port" as wg-quick reads an endpoint. */
static void endpoint_text(char *out, size_t len, const struct netconf_endpoint *ep)
{
	if (ep->type == NETCONF_ENDPOINT_IPV6)
		snprintf(out, len, "[%s]:%u", ep->host, ep->port);
	else
		snprintf(out, len, "%s:%u", ep->host, ep->port);
}

/* "A/32, B/128": a line's addresses, as hosts. */
static void addresses(struct strbuf *b, const struct netconf_peer *p)
{
	char a[INET6_ADDRSTRLEN];

	if (p->has_ipv4) {
		inet_ntop(AF_INET, p->ipv4, a, sizeof(a));
		strbuf_printf(b, "%s/32", a);
	}
	if (p->has_ipv6) {
		inet_ntop(AF_INET6, p->ipv6, a, sizeof(a));
		strbuf_printf(b, "%s%s/128", p->has_ipv4 ? ", " : "", a);
	}
}

/* The routes of the file through router i, after its addresses. */
static void routes_of(struct strbuf *b, const struct netconf *c, size_t i)
{
	char a[INET6_ADDRSTRLEN];
	size_t r;

	for (r = 0; r < c->n_routes; ++r) {
		const struct netconf_route *rt = &c->routes[r];

		if (rt->router != i)
			continue;
		inet_ntop(rt->v6 ? AF_INET6 : AF_INET, rt->addr, a, sizeof(a));
		strbuf_printf(b, ", %s/%u", a, rt->prefix);
	}
}

static bool is_member(const struct netconf_peer *p)
{
	return p->kind == NETCONF_TRUST || p->kind == NETCONF_ROUTER;
}

int clientcfg_write(const struct netconf *c, const char *hostname,
		    const struct clientcfg_options *opt, struct strbuf *out, char *err,
		    size_t errlen)
{
	const struct netconf_peer *self = netconf_find_hostname(c, hostname);
	struct netconf_endpoint ep;
	char epbuf[NETCONF_MAX_HOST + 16], key[KEY_B64_LEN + 1], a[INET6_ADDRSTRLEN];
	size_t i, members = 0;
	bool boot = false;

	if (!self)
		return refuse(err, errlen, "\"%s\" is no hostname of the network file: a client "
			      "needs a line \"client HOSTNAME KEY\"", hostname);
	if (self->kind != NETCONF_CLIENT)
		return refuse(err, errlen, "\"%s\" is a \"%s\" line (line %u), not a client line",
			      hostname, netconf_kind_name(self->kind), self->line);
	if (opt->public_key && sodium_memcmp(opt->public_key, self->key, 32) != 0) {
		key_to_base64(key, self->key);
		return refuse(err, errlen, "the public key given is not client \"%s\"'s: its line "
			      "(line %u) has %s", self->hostname, self->line, key);
	}
	if (opt->relay) {
		if (netconf_parse_endpoint("relay", opt->relay, &ep, err, errlen) < 0)
			return -EINVAL;
	} else {
		for (i = 0; i < c->n_peers && !boot; ++i)
			if (c->peers[i].kind == NETCONF_BOOT) {
				ep = c->peers[i].endpoint;
				boot = true;
			}
		if (!boot)
			return refuse(err, errlen, "the network file has no boot node to relay for the "
				      "client: give one with relay HOST:PORT");
	}
	endpoint_text(epbuf, sizeof(epbuf), &ep);
	for (i = 0; i < c->n_peers; ++i)
		members += is_member(&c->peers[i]);
	if (!members)
		return refuse(err, errlen, "the network file has no member for the client to reach");

	strbuf_printf(out, "# %s in network %s (wh client-config)\n[Interface]\n", self->hostname,
		      c->name);
	if (opt->private_key)
		strbuf_printf(out, "PrivateKey = %s\n", opt->private_key);
	strbuf_printf(out, "Address = ");
	addresses(out, self);
	strbuf_printf(out, "\n");
	if (opt->has_dns4 || opt->has_dns6) {
		const char *sep = "";

		strbuf_printf(out, "DNS = ");
		if (opt->has_dns4) {
			inet_ntop(AF_INET, opt->dns4, a, sizeof(a));
			strbuf_printf(out, "%s", a);
			sep = ", ";
		}
		if (opt->has_dns6) {
			inet_ntop(AF_INET6, opt->dns6, a, sizeof(a));
			strbuf_printf(out, "%s%s", sep, a);
		}
		/* The network's name as the search domain: `ping node_b`
		 * asks for node_b.NETWORK (doc/names.md). */
		if (c->name[0])
			strbuf_printf(out, ", %s", c->name);
		strbuf_printf(out, "\n");
	}
	strbuf_printf(out, "MTU = %d\n", CLIENTCFG_MTU);
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];

		if (!is_member(p))
			continue;
		key_to_base64(key, p->key);
		strbuf_printf(out, "\n");
		if (p->hostname[0])
			strbuf_printf(out, "# %s\n", p->hostname);
		strbuf_printf(out, "[Peer]\nPublicKey = %s\nAllowedIPs = ", key);
		addresses(out, p);
		routes_of(out, c, i);
		strbuf_printf(out, "\nEndpoint = %s\n", epbuf);
		if (opt->keepalive)
			strbuf_printf(out, "PersistentKeepalive = %u\n", opt->keepalive);
	}
	/* The other clients, through the same relay, which forwards between
	 * two clients whose files both name it (doc/protocol.md 9.5).  No
	 * keepalive: the members' keep the NAT mapping to the relay open,
	 * and one would make the client handshake with every other client
	 * for ever, there or not. */
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];

		if (p->kind != NETCONF_CLIENT || p == self)
			continue;
		key_to_base64(key, p->key);
		strbuf_printf(out, "\n# %s (a stock client: reached when its file names this relay "
			      "too)\n[Peer]\nPublicKey = %s\nAllowedIPs = ", p->hostname, key);
		addresses(out, p);
		strbuf_printf(out, "\nEndpoint = %s\n", epbuf);
	}
	return 0;
}
