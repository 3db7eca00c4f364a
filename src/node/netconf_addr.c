/* The network file parser, second pass: the overlay addresses, derived
 * and checked, once the whole file is known (the first pass, netconf.c,
 * read each line on its own).
 *
 * Defaults, the subnet checks of static addresses, repeats, derivations
 * and collisions.  Line numbers are looked at only to name them in
 * messages; sorting by key or address, never by line, is what makes the
 * addresses (and the collision reported) independent of the order of the
 * lines. */
#include "src/node/netconf.h"
#include "src/node/netconf_priv.h"

#include "crypto/hash.h"
#include "proto/common/byteorder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The domain-separation labels of the derivations (doc/network-file.md). */
#define LABEL_SUBNET6 "wh-subnet6"
#define LABEL_IPV4 "wh-ipv4"
#define LABEL_IPV6 "wh-ipv6"

/* ---- address arithmetic ---- */

uint32_t netconf_mask4(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* mask[i] has the first prefix bits of the 128 set. */
void netconf_mask6(uint8_t mask[16], unsigned prefix)
{
	unsigned i;

	for (i = 0; i < 16; ++i) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * i : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

static bool in_subnet6(const uint8_t a[16], const uint8_t net[16], unsigned prefix)
{
	uint8_t m[16];
	int i;

	netconf_mask6(m, prefix);
	for (i = 0; i < 16; ++i)
		if ((a[i] & m[i]) != net[i])
			return false;
	return true;
}

static bool host_part_zero6(const uint8_t a[16], unsigned prefix)
{
	uint8_t m[16];
	int i;

	netconf_mask6(m, prefix);
	for (i = 0; i < 16; ++i)
		if (a[i] & (uint8_t)~m[i])
			return false;
	return true;
}

/* ---- derivations ---- */

/* BLAKE2b-256(label || 0 || ns || 0 || name || 0 || key): the one hash
 * behind every derived value, with lengths fixed by the NUL separators
 * (none of the strings can hold a NUL). */
static void derive_hash(uint8_t out[32], const char *label, const char *ns, const char *name,
			const uint8_t *key)
{
	uint8_t buf[16 + NETCONF_MAX_NAMESPACE + NETCONF_MAX_LABEL + 3];
	size_t nl = strlen(label), nn = strlen(ns), nm = strlen(name), o = 0;
	static const uint8_t none[1];

	memcpy(buf + o, label, nl + 1);
	o += nl + 1;
	memcpy(buf + o, ns, nn + 1);
	o += nn + 1;
	memcpy(buf + o, name, nm + 1);
	o += nm + 1;
	blake2b_256(out, buf, o, key ? key : none, key ? NETCONF_KEY_LEN : 0);
}

bool netconf_derive_subnet6(const char *ns, const char *name, uint8_t out[16])
{
	uint8_t h[32];

	if (!name[0] || strlen(name) > NETCONF_MAX_LABEL || strlen(ns) > NETCONF_MAX_NAMESPACE)
		return false;
	derive_hash(h, LABEL_SUBNET6, ns, name, NULL);
	/* RFC 4193: fd00::/8, then a 40-bit global ID, as a /48. */
	memset(out, 0, 16);
	out[0] = 0xfd;
	memcpy(out + 1, h, 5);
	return true;
}

bool netconf_derive_ipv4(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[4])
{
	uint8_t h[32];
	uint64_t v = 0, count;
	unsigned hostbits;
	int i;

	if (!conf->has_subnet || conf->prefix > 30)
		return false;
	hostbits = 32u - conf->prefix;
	/* Hosts 1 .. 2^hostbits - 2: never the network or broadcast address. */
	count = ((uint64_t)1 << hostbits) - 2;
	derive_hash(h, LABEL_IPV4, conf->ns, conf->name, key);
	for (i = 0; i < 8; ++i)
		v = v << 8 | h[i];
	be32_put(out, be32_get(conf->subnet) | (uint32_t)(v % count + 1));
	return true;
}

bool netconf_derive_ipv6(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[16])
{
	uint8_t h[32], m[16];
	int i;

	if (!conf->has_subnet6)
		return false;
	derive_hash(h, LABEL_IPV6, conf->ns, conf->name, key);
	netconf_mask6(m, conf->prefix6);
	for (i = 0; i < 16; ++i)
		out[i] = (uint8_t)((conf->subnet6[i] & m[i]) | (h[i] & ~m[i]));
	/* The all-zero host part is the subnet-router anycast address. */
	if (host_part_zero6(out, conf->prefix6))
		out[15] |= 1;
	return true;
}

/* ---- after the last line ---- */

static int cmp_key(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = sodium_compare(x->key, y->key, NETCONF_KEY_LEN);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_hostname(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = strcmp(x->hostname, y->hostname);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Addresses sorted with the key as tie-break, never the line: the pair a
 * collision message names is then the same in any order of the lines. */
static int cmp_ipv4(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv4, y->ipv4, 4);

	return c ? c : sodium_compare(x->key, y->key, NETCONF_KEY_LEN);
}

static int cmp_ipv6(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv6, y->ipv6, 16);

	return c ? c : sodium_compare(x->key, y->key, NETCONF_KEY_LEN);
}

/* In v, sorted so that equal values are adjacent with lines ascending,
 * finds the repeated value whose second line comes first in the file:
 * *first is the earlier line, *second the repeat.  eq tells equal values. */
static bool first_repeat(struct netconf_peer **v, size_t n,
			 bool (*eq)(const struct netconf_peer *, const struct netconf_peer *),
			 const struct netconf_peer **first, const struct netconf_peer **second)
{
	size_t i, group = 0;
	bool found = false;

	for (i = 1; i < n; ++i) {
		if (!eq(v[i], v[group])) {
			group = i;
			continue;
		}
		if (i == group + 1 && (!found || v[i]->line < (*second)->line)) {
			*first = v[group];
			*second = v[i];
			found = true;
		}
	}
	return found;
}

static bool eq_key(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return sodium_memcmp(a->key, b->key, NETCONF_KEY_LEN) == 0;
}

static bool eq_hostname(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !strcmp(a->hostname, b->hostname);
}

static bool eq_ipv4(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !memcmp(a->ipv4, b->ipv4, 4);
}

static bool eq_ipv6(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !memcmp(a->ipv6, b->ipv6, 16);
}

/* Fills v with the peers that pass keep; returns how many. */
static size_t select_peers(struct netconf *c, struct netconf_peer **v,
			   bool (*keep)(const struct netconf_peer *))
{
	size_t i, n = 0;

	for (i = 0; i < c->n_peers; ++i)
		if (keep(&c->peers[i]))
			v[n++] = &c->peers[i];
	return n;
}

static bool has_hostname(const struct netconf_peer *peer)
{
	return peer->hostname[0] != '\0';
}

static bool has_static4(const struct netconf_peer *peer)
{
	return peer->static4;
}

static bool has_static6(const struct netconf_peer *peer)
{
	return peer->static6;
}

static bool has_ipv4(const struct netconf_peer *peer)
{
	return peer->has_ipv4;
}

static bool has_ipv6(const struct netconf_peer *peer)
{
	return peer->has_ipv6;
}

static int cmp_static4(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv4, y->ipv4, 4);

	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_static6(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv6, y->ipv6, 16);

	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static bool is_trusted(const struct netconf_peer *peer)
{
	return netconf_kind_is_trusted(peer->kind);
}

static bool any_peer(const struct netconf_peer *peer)
{
	(void)peer;
	return true;
}

/* Static addresses must lie in their subnet, and be host addresses. */
static int check_statics(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	char a[46], s[46];
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *peer = &c->peers[i];

		if (peer->static4) {
			uint32_t v = be32_get(peer->ipv4), m = netconf_mask4(c->prefix);

			netconf_format_ipv4(a, peer->ipv4);
			netconf_format_ipv4(s, c->subnet);
			if ((v & m) != be32_get(c->subnet))
				return netconf_fail(p, peer->line, "\"%s\" is outside the subnet %s/%u (line %u)",
					    a, s, c->prefix, p->line_subnet);
			if (c->prefix <= 30 && (v == (v & m) || v == (v | ~m)))
				return netconf_fail(p, peer->line, "\"%s\" is the %s address of the subnet "
					    "%s/%u, not a host address", a,
					    v == (v & m) ? "network" : "broadcast", s, c->prefix);
		}
		if (peer->static6) {
			netconf_format_ipv6(a, peer->ipv6);
			netconf_format_ipv6(s, c->subnet6);
			if (!in_subnet6(peer->ipv6, c->subnet6, c->prefix6))
				return netconf_fail(p, peer->line, "\"%s\" is outside the subnet6 %s/%u%s", a,
					    s, c->prefix6, c->subnet6_derived ?
					    " (derived from the name; a \"subnet6\" line chooses another)" :
					    "");
			if (host_part_zero6(peer->ipv6, c->prefix6))
				return netconf_fail(p, peer->line, "\"%s\" is the subnet6 prefix itself, not "
					    "a host address", a);
		}
	}
	return 0;
}

/* Keys, hostnames and static addresses are each used once; a repeat names
 * both lines. */
static int check_repeats(struct netconf_parser *p, struct netconf_peer **v)
{
	struct netconf *c = p->conf;
	const struct netconf_peer *a = NULL, *b = NULL;
	char t[KEY_B64_LEN + 46];
	size_t n;

	n = select_peers(c, v, any_peer);
	qsort(v, n, sizeof(*v), cmp_key);
	if (first_repeat(v, n, eq_key, &a, &b)) {
		netconf_key_text(t, b);
		return netconf_fail(p, b->line, "public key \"%s\" is already on line %u", t, a->line);
	}
	n = select_peers(c, v, has_hostname);
	qsort(v, n, sizeof(*v), cmp_hostname);
	if (first_repeat(v, n, eq_hostname, &a, &b))
		return netconf_fail(p, b->line, "hostname \"%s\" is already on line %u", b->hostname, a->line);
	n = select_peers(c, v, has_static4);
	qsort(v, n, sizeof(*v), cmp_static4);
	if (first_repeat(v, n, eq_ipv4, &a, &b)) {
		netconf_format_ipv4(t, b->ipv4);
		return netconf_fail(p, b->line, "static address \"%s\" is already on line %u", t, a->line);
	}
	n = select_peers(c, v, has_static6);
	qsort(v, n, sizeof(*v), cmp_static6);
	if (first_repeat(v, n, eq_ipv6, &a, &b)) {
		netconf_format_ipv6(t, b->ipv6);
		return netconf_fail(p, b->line, "static address \"%s\" is already on line %u", t, a->line);
	}
	return 0;
}

static int derive_addresses(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	char lb[160], s[16];
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		struct netconf_peer *peer = &c->peers[i];

		if (!is_trusted(peer))
			continue;
		if (!peer->static4) {
			if (!netconf_derive_ipv4(c, peer->key, peer->ipv4)) {
				netconf_format_ipv4(s, c->subnet);
				return netconf_fail(p, peer->line, "the subnet %s/%u has no room for derived "
					    "addresses: give %s a static address", s, c->prefix,
					    netconf_peer_label(lb, sizeof(lb), peer));
			}
			peer->has_ipv4 = true;
		}
		if (!peer->static6) {
			/* has_subnet6 holds: trusted peers need a name. */
			netconf_derive_ipv6(c, peer->key, peer->ipv6);
			peer->has_ipv6 = true;
		}
	}
	return 0;
}

/* Two peers with one address: at least one derived it (static repeats are
 * caught before).  The peers are sorted by address then key, so the first
 * colliding pair, and so the message, is the same in any line order. */
static int check_collisions(struct netconf_parser *p, struct netconf_peer **v, bool v6)
{
	struct netconf *c = p->conf;
	const struct netconf_peer *x = NULL, *y = NULL;
	char a[46], l1[160], l2[160];
	size_t n, i;

	n = select_peers(c, v, v6 ? has_ipv6 : has_ipv4);
	qsort(v, n, sizeof(*v), v6 ? cmp_ipv6 : cmp_ipv4);
	for (i = 1; i < n && !x; ++i)
		if (v6 ? eq_ipv6(v[i - 1], v[i]) : eq_ipv4(v[i - 1], v[i])) {
			x = v[i - 1];
			y = v[i];
		}
	if (!x)
		return 0;
	if (v6)
		netconf_format_ipv6(a, x->ipv6);
	else
		netconf_format_ipv4(a, x->ipv4);
	if ((v6 ? x->static6 : x->static4) || (v6 ? y->static6 : y->static4)) {
		const struct netconf_peer *st = (v6 ? x->static6 : x->static4) ? x : y;
		const struct netconf_peer *dv = st == x ? y : x;

		return netconf_fail(p, dv->line, "%s derives %s, the static address of %s on line %u: "
			    "give it a static address", netconf_peer_label(l1, sizeof(l1), dv), a,
			    netconf_peer_label(l2, sizeof(l2), st), st->line);
	}
	if (x->line < y->line) {
		const struct netconf_peer *t = x;

		x = y;
		y = t;
	}
	return netconf_fail(p, x->line, "%s and %s on line %u both derive %s: give one of them a "
		    "static address", netconf_peer_label(l1, sizeof(l1), x),
		    netconf_peer_label(l2, sizeof(l2), y), y->line, a);
}

int netconf_finish(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	struct netconf_peer **v = NULL;
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *peer = &c->peers[i];

		if (!is_trusted(peer))
			continue;
		if (!c->name[0])
			return netconf_fail(p, peer->line, "a \"%s\" line needs the network's name: add a "
				    "\"name\" line", netconf_kind_name(peer->kind));
		if (!c->has_subnet)
			return netconf_fail(p, peer->line, "a \"%s\" line needs the network's subnet: add a "
				    "\"subnet A.B.C.D/N\" line", netconf_kind_name(peer->kind));
		break;
	}
	if (!c->has_subnet6 && c->name[0]) {
		netconf_derive_subnet6(c->ns, c->name, c->subnet6);
		c->prefix6 = 48;
		c->has_subnet6 = c->subnet6_derived = true;
	}

	v = malloc((c->n_peers + 1) * sizeof(*v));
	c->by_key = malloc((c->n_peers + 1) * sizeof(*c->by_key));
	if (!v || !c->by_key) {
		netconf_fail_errno(p, ENOMEM);
		goto out;
	}
	if (check_statics(p) || check_repeats(p, v) || derive_addresses(p) ||
	    check_collisions(p, v, false) || check_collisions(p, v, true))
		goto out;

	select_peers(c, c->by_key, any_peer);
	qsort(c->by_key, c->n_peers, sizeof(*c->by_key), cmp_key);
	c->n_hostnames = select_peers(c, v, has_hostname);
	c->by_hostname = malloc((c->n_hostnames + 1) * sizeof(*c->by_hostname));
	if (!c->by_hostname) {
		netconf_fail_errno(p, ENOMEM);
		goto out;
	}
	memcpy(c->by_hostname, v, c->n_hostnames * sizeof(*v));
	qsort(c->by_hostname, c->n_hostnames, sizeof(*v), cmp_hostname);
out:
	free(v);
	return p->rc;
}

