/* The network file parser, second pass: the overlay addresses, derived
 * and checked, once the whole file is known (the first pass, netconf.c,
 * read each line on its own).
 *
 * Defaults, the subnet checks of static addresses, repeats, derivations
 * and collisions, and the notes of the lines left out (here, since most
 * are left out by this pass).  Line numbers are looked at only to name
 * them in messages; sorting by key or address, never by line, is what
 * makes the addresses (and the lines left out) independent of the order
 * of the lines. */
#include "src/node/netconf.h"
#include "src/node/netconf_priv.h"

#include "crypto/hash.h"
#include "proto/common/byteorder.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

/* Candidate 0 of a key hashes under the label alone, candidate n > 0
 * under "label-n" (doc/network-file.md, "Collisions"). */
static void candidate_hash(uint8_t h[32], const char *label, const struct netconf *conf,
			   const uint8_t key[NETCONF_KEY_LEN], unsigned n)
{
	char l[24];

	if (n)
		snprintf(l, sizeof(l), "%s-%u", label, n);
	else
		snprintf(l, sizeof(l), "%s", label);
	derive_hash(h, l, conf->ns, conf->name, key);
}

bool netconf_derive_ipv4_candidate(const struct netconf *conf,
				   const uint8_t key[NETCONF_KEY_LEN], unsigned n, uint8_t out[4])
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
	candidate_hash(h, LABEL_IPV4, conf, key, n);
	for (i = 0; i < 8; ++i)
		v = v << 8 | h[i];
	be32_put(out, be32_get(conf->subnet) | (uint32_t)(v % count + 1));
	return true;
}

bool netconf_derive_ipv6_candidate(const struct netconf *conf,
				   const uint8_t key[NETCONF_KEY_LEN], unsigned n, uint8_t out[16])
{
	uint8_t h[32], m[16];
	int i;

	if (!conf->has_subnet6)
		return false;
	candidate_hash(h, LABEL_IPV6, conf, key, n);
	netconf_mask6(m, conf->prefix6);
	for (i = 0; i < 16; ++i)
		out[i] = (uint8_t)((conf->subnet6[i] & m[i]) | (h[i] & ~m[i]));
	/* The all-zero host part is the subnet-router anycast address. */
	if (host_part_zero6(out, conf->prefix6))
		out[15] |= 1;
	return true;
}

bool netconf_derive_ipv4(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[4])
{
	return netconf_derive_ipv4_candidate(conf, key, 0, out);
}

bool netconf_derive_ipv6(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[16])
{
	return netconf_derive_ipv6_candidate(conf, key, 0, out);
}

/* ---- lines left out ---- */

/* Room for the longest message: two peers named by hostname and key. */
enum { NOTE_MAX = 1024 };

void netconf_note_v(struct netconf_parser *p, unsigned line, const char *fmt, va_list ap)
{
	struct netconf *c = p->conf;
	struct netconf_note *slot;
	char buf[NOTE_MAX];
	size_t i, worst = 0;
	int n;

	c->n_left_out++;
	if (c->n_notes == NETCONF_MAX_NOTES) {
		/* Full: the note of the highest line gives way to a lower one. */
		for (i = 1; i < c->n_notes; ++i)
			if (c->notes[i].line > c->notes[worst].line)
				worst = i;
		if (c->notes[worst].line <= line)
			return;
		slot = &c->notes[worst];
		free(slot->text);
	} else {
		if (!c->notes) {
			c->notes = calloc(NETCONF_MAX_NOTES, sizeof(*c->notes));
			if (!c->notes) {
				netconf_fail_errno(p, ENOMEM);
				return;
			}
		}
		slot = &c->notes[c->n_notes++];
	}
	n = snprintf(buf, sizeof(buf), "%s:%u: ", p->src, line);
	if (n > 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	slot->line = line;
	slot->text = strdup(buf);
	if (!slot->text) {
		c->n_notes--;	/* the slot is the last one, or was freed above */
		if (slot != &c->notes[c->n_notes])
			*slot = c->notes[c->n_notes];
		netconf_fail_errno(p, ENOMEM);
	}
}

void netconf_leave_out(struct netconf_parser *p, bool *left_out, unsigned line, const char *fmt,
		       ...)
{
	va_list ap;

	if (*left_out)
		return;
	*left_out = true;
	va_start(ap, fmt);
	netconf_note_v(p, line, fmt, ap);
	va_end(ap);
}

/* ---- after the last line ---- */

static int cmp_key(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = netconf_key_cmp(x->key, y->key);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_hostname(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;

	return strcmp(x->hostname, y->hostname);
}

static int cmp_static4(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;

	return memcmp(x->ipv4, y->ipv4, 4);
}

static int cmp_static6(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;

	return memcmp(x->ipv6, y->ipv6, 16);
}

/* Where several lines hold one value, the line whose key sorts first,
 * byte by byte, keeps it: the tie-break of every rule below, so that the
 * outcome is the same in any order of the lines. */
static int key_order(const struct netconf_peer *x, const struct netconf_peer *y)
{
	return memcmp(x->key, y->key, NETCONF_KEY_LEN);
}

/* The value first, then the key. */
static int cmp_hostname_key(const void *a, const void *b)
{
	int c = cmp_hostname(a, b);

	return c ? c : key_order(*(const struct netconf_peer *const *)a,
				 *(const struct netconf_peer *const *)b);
}

static int cmp_static4_key(const void *a, const void *b)
{
	int c = cmp_static4(a, b);

	return c ? c : key_order(*(const struct netconf_peer *const *)a,
				 *(const struct netconf_peer *const *)b);
}

static int cmp_static6_key(const void *a, const void *b)
{
	int c = cmp_static6(a, b);

	return c ? c : key_order(*(const struct netconf_peer *const *)a,
				 *(const struct netconf_peer *const *)b);
}

/* Fills v with the peers still in that pass keep; returns how many. */
static size_t select_peers(struct netconf *c, struct netconf_peer **v,
			   bool (*keep)(const struct netconf_peer *))
{
	size_t i, n = 0;

	for (i = 0; i < c->n_peers; ++i)
		if (!c->peers[i].left_out && keep(&c->peers[i]))
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

static bool any_peer(const struct netconf_peer *peer)
{
	(void)peer;
	return true;
}

/* Marks the line left out, with a note saying why. */
#define leave_out(p, x, ...) netconf_leave_out((p), &(x)->left_out, (x)->line, __VA_ARGS__)

/* Static addresses must lie in their subnet, and be host addresses. */
static void check_statics(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	char a[46], s[46];
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		struct netconf_peer *peer = &c->peers[i];

		if (peer->static4) {
			uint32_t v = be32_get(peer->ipv4), m = netconf_mask4(c->prefix);

			netconf_format_ipv4(a, peer->ipv4);
			netconf_format_ipv4(s, c->subnet);
			if ((v & m) != be32_get(c->subnet))
				leave_out(p, peer, "\"%s\" is outside the subnet %s/%u (line %u)", a, s,
					  c->prefix, p->line_subnet);
			else if (c->prefix <= 30 && (v == (v & m) || v == (v | ~m)))
				leave_out(p, peer, "\"%s\" is the %s address of the subnet %s/%u, not a "
					  "host address", a, v == (v & m) ? "network" : "broadcast", s,
					  c->prefix);
		}
		if (peer->static6) {
			netconf_format_ipv6(a, peer->ipv6);
			netconf_format_ipv6(s, c->subnet6);
			if (!in_subnet6(peer->ipv6, c->subnet6, c->prefix6))
				leave_out(p, peer, "\"%s\" is outside the subnet6 %s/%u%s", a, s, c->prefix6,
					  c->subnet6_derived ? " (derived from the name; a \"subnet6\" "
					  "line chooses another)" : "");
			else if (host_part_zero6(peer->ipv6, c->prefix6))
				leave_out(p, peer, "\"%s\" is the subnet6 prefix itself, not a host "
					  "address", a);
		}
	}
}

/* A key on several lines: which one is meant cannot be told, so every
 * one of them is left out, each naming another. */
static void repeated_keys(struct netconf_parser *p, struct netconf_peer **v)
{
	char t[KEY_B64_LEN + 1];
	size_t n, i, j, k;

	n = select_peers(p->conf, v, any_peer);
	qsort(v, n, sizeof(*v), cmp_key);	/* equal keys: lines ascending */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !netconf_key_cmp(v[i]->key, v[j]->key); ++j)
			;
		if (j == i + 1)
			continue;
		netconf_key_text(t, v[i + 1]);
		leave_out(p, v[i], "public key \"%s\" is also on line %u", t, v[i + 1]->line);
		for (k = i + 1; k < j; ++k) {
			netconf_key_text(t, v[k]);
			leave_out(p, v[k], "public key \"%s\" is already on line %u", t, v[i]->line);
		}
	}
}

static void text_hostname(char *out, const struct netconf_peer *peer)
{
	strcpy(out, peer->hostname);
}

static void text_static4(char *out, const struct netconf_peer *peer)
{
	netconf_format_ipv4(out, peer->ipv4);
}

static void text_static6(char *out, const struct netconf_peer *peer)
{
	netconf_format_ipv6(out, peer->ipv6);
}

/* A hostname or static address on several lines (each with its own key,
 * repeated keys are out by now): the smallest key keeps it, the others
 * are left out naming its line. */
static void repeated_values(struct netconf_parser *p, struct netconf_peer **v,
			    bool (*keep)(const struct netconf_peer *),
			    int (*cmp)(const void *, const void *),
			    int (*cmp_then_key)(const void *, const void *), const char *what,
			    void (*text)(char *out, const struct netconf_peer *peer))
{
	char t[NETCONF_MAX_HOSTNAME + 1];
	size_t n, i, j;

	n = select_peers(p->conf, v, keep);
	qsort(v, n, sizeof(*v), cmp_then_key);
	for (i = 0; i < n; i = j)
		for (j = i + 1; j < n && !cmp(&v[i], &v[j]); ++j) {
			text(t, v[j]);
			leave_out(p, v[j], "%s \"%s\" is already on line %u, whose key sorts first "
				  "(the smaller key keeps it)", what, t, v[i]->line);
		}
}

/* ---- derived addresses ---- */

/* One family's assignment: statics first, then rounds in which every
 * peer still without an address proposes its next candidate; among the
 * proposals of a free address the smallest key wins, the others (and
 * proposals of a taken address) go on to the next round.  A peer thus
 * moves only when its own candidate was taken, and the result depends on
 * the set of lines alone. */
struct family {
	bool v6;
	size_t alen;
	uint8_t *taken;		/* sorted, alen bytes each */
	size_t n_taken, cap;
};

static uint8_t *peer_addr(struct netconf_peer *peer, bool v6)
{
	return v6 ? peer->ipv6 : peer->ipv4;
}

static int cmp_addr4(const void *a, const void *b)
{
	return memcmp(a, b, 4);
}

static int cmp_addr6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Among the first n taken addresses, which are sorted. */
static bool is_taken(const struct family *f, size_t n, const uint8_t *a)
{
	return n && bsearch(a, f->taken, n, f->alen, f->v6 ? cmp_addr6 : cmp_addr4) != NULL;
}

static int take(struct family *f, const uint8_t *a)
{
	if (f->n_taken == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		uint8_t *t = realloc(f->taken, cap * f->alen);

		if (!t)
			return -ENOMEM;
		f->taken = t;
		f->cap = cap;
	}
	memcpy(f->taken + f->n_taken++ * f->alen, a, f->alen);
	return 0;
}

static void sort_taken(struct family *f)
{
	if (f->n_taken > 1)
		qsort(f->taken, f->n_taken, f->alen, f->v6 ? cmp_addr6 : cmp_addr4);
}

static bool trusted_derived4(const struct netconf_peer *peer)
{
	return netconf_kind_has_addresses(peer->kind) && !peer->static4;
}

static bool trusted_derived6(const struct netconf_peer *peer)
{
	return netconf_kind_has_addresses(peer->kind) && !peer->static6;
}

static bool propose(const struct netconf *c, struct netconf_peer *peer, bool v6, unsigned n)
{
	return v6 ? netconf_derive_ipv6_candidate(c, peer->key, n, peer->ipv6) :
		    netconf_derive_ipv4_candidate(c, peer->key, n, peer->ipv4);
}

static int assign(struct netconf_parser *p, struct netconf_peer **v, bool v6)
{
	struct netconf *c = p->conf;
	struct family f = { .v6 = v6, .alen = v6 ? 16 : 4 };
	char s[46], lb[NETCONF_MAX_HOSTNAME + KEY_B64_LEN + 8];
	size_t n, i, j, k, pending;
	unsigned round;
	int ret = 0;

	/* Every static address is taken before any derivation. */
	n = select_peers(c, v, v6 ? has_static6 : has_static4);
	for (i = 0; i < n && !ret; ++i)
		ret = take(&f, peer_addr(v[i], v6));
	sort_taken(&f);
	pending = select_peers(c, v, v6 ? trusted_derived6 : trusted_derived4);
	if (v6)
		netconf_format_ipv6(s, c->subnet6);
	else
		netconf_format_ipv4(s, c->subnet);
	for (round = 0; round < NETCONF_MAX_CANDIDATES && pending && !ret; ++round) {
		size_t before = f.n_taken;

		for (i = 0; i < pending; ++i) {
			if (propose(c, v[i], v6, round))
				continue;
			/* Only a /31 or /32 has no derived address at all. */
			leave_out(p, v[i], "the subnet %s/%u has no room for derived addresses: "
				  "give %s a static address", s, c->prefix,
				  netconf_peer_label(lb, sizeof(lb), v[i]));
		}
		qsort(v, pending, sizeof(*v), v6 ? cmp_static6_key : cmp_static4_key);
		/* Groups of one proposed address, the smallest key first; the
		 * losers move to the front of v, which k never overtakes. */
		for (i = 0, k = 0; i < pending; i = j) {
			struct netconf_peer *first = v[i];
			/* This round's winners hold other addresses than
			 * this group's: the sorted part is enough. */
			bool won = !first->left_out && !is_taken(&f, before, peer_addr(first, v6));

			if (won) {
				ret = ret ? ret : take(&f, peer_addr(first, v6));
				if (v6)
					first->has_ipv6 = true;
				else
					first->has_ipv4 = true;
			}
			else if (!first->left_out)
				v[k++] = first;
			for (j = i + 1; j < pending && !(v6 ? cmp_static6 : cmp_static4)(&first, &v[j]);
			     ++j)
				if (!v[j]->left_out)
					v[k++] = v[j];
		}
		pending = k;
		if (f.n_taken != before)
			sort_taken(&f);
	}
	for (i = 0; i < pending && !ret; ++i)
		leave_out(p, v[i], "%s finds no free address in %s/%u among its %d candidates: "
			  "give it a static address", netconf_peer_label(lb, sizeof(lb), v[i]), s,
			  v6 ? c->prefix6 : c->prefix, NETCONF_MAX_CANDIDATES);
	free(f.taken);
	if (ret)
		netconf_fail_errno(p, -ret);
	return p->rc;
}

static int cmp_note(const void *a, const void *b)
{
	const struct netconf_note *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* The peers left out go; the others keep their file order. */
static void compact(struct netconf *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_peers; ++i)
		if (!c->peers[i].left_out)
			c->peers[n++] = c->peers[i];
	c->n_peers = n;
}

int netconf_finish(struct netconf_parser *p)
{
	struct netconf *c = p->conf;
	struct netconf_peer **v = NULL;
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *peer = &c->peers[i];

		if (!netconf_kind_has_addresses(peer->kind))
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
	/* Each rule leaves lines out; those it left are the next one's. */
	check_statics(p);
	repeated_keys(p, v);
	repeated_values(p, v, has_hostname, cmp_hostname, cmp_hostname_key, "hostname",
			text_hostname);
	repeated_values(p, v, has_static4, cmp_static4, cmp_static4_key, "static address",
			text_static4);
	repeated_values(p, v, has_static6, cmp_static6, cmp_static6_key, "static address",
			text_static6);
	if (p->rc || assign(p, v, false) || assign(p, v, true))
		goto out;
	compact(c);
	if (c->n_notes > 1)
		qsort(c->notes, c->n_notes, sizeof(*c->notes), cmp_note);
	/* Nothing sound is left of a file that had peer lines: refused, with
	 * the first reason. */
	if (p->peer_lines && !c->n_peers && c->n_notes) {
		p->rc = -EINVAL;
		if (p->errlen)
			snprintf(p->err, p->errlen, "%s", c->notes[0].text);
		goto out;
	}

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
	/* Routes name their routers: resolved once the peers are final. */
	if (netconf_routes_finish(p))
		goto out;
	if (c->n_notes > 1)
		qsort(c->notes, c->n_notes, sizeof(*c->notes), cmp_note);
out:
	free(v);
	return p->rc;
}
