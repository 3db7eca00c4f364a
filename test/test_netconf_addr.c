/* The network file as a whole (src/node/netconf_addr.c and
 * netconf_diff.c): addresses that do not depend on the order of the lines
 * (checked over many shuffles), collisions, small subnets, IPv6
 * derivation, lookups against a naive scan, and the reload diff against a
 * naive model.  test_netconf.c checks the parser line by line. */
#include "test/netconf_test.h"
#include "test/tap.h"

#include <errno.h>
#include <locale.h>
#include <unistd.h>

/* ---- order independence ---- */

struct line_set {
	char **lines;
	size_t n;
};

static char *join(const struct line_set *ls)
{
	size_t i, len = 1;
	char *text, *o;

	for (i = 0; i < ls->n; ++i)
		len += strlen(ls->lines[i]) + 1;
	o = text = malloc(len);
	for (i = 0; i < ls->n; ++i)
		o += sprintf(o, "%s\n", ls->lines[i]);
	*o = '\0';
	return text;
}

static void shuffle(struct line_set *ls)
{
	size_t i;

	for (i = ls->n; i > 1; --i) {
		size_t j = (size_t)(rng() % i);
		char *t = ls->lines[i - 1];

		ls->lines[i - 1] = ls->lines[j];
		ls->lines[j] = t;
	}
}

/* Every peer of a is in b with the same addresses and everything else. */
static bool same_assignments(const struct netconf *a, const struct netconf *b)
{
	size_t i;

	if (a->n_peers != b->n_peers || memcmp(a->subnet6, b->subnet6, 16) ||
	    a->prefix6 != b->prefix6)
		return false;
	for (i = 0; i < a->n_peers; ++i) {
		const struct netconf_peer *p = &a->peers[i], *q = netconf_find(b, p->key);

		if (!q || q->kind != p->kind || strcmp(q->hostname, p->hostname) ||
		    q->has_ipv4 != p->has_ipv4 || memcmp(q->ipv4, p->ipv4, 4) ||
		    q->has_ipv6 != p->has_ipv6 || memcmp(q->ipv6, p->ipv6, 16) ||
		    q->static4 != p->static4 || strcmp(q->endpoint.host, p->endpoint.host) ||
		    q->endpoint.port != p->endpoint.port)
			return false;
	}
	return true;
}

/* Builds a network of n peers (a mix of kinds, statics, hostnames and
 * endpoints) that parses; the lines come with the directives mixed in. */
static void build_network(struct line_set *ls, size_t n, const char *subnet)
{
	size_t i;

	ls->n = 0;
	ls->lines = malloc((n + 8) * sizeof(char *));
	ls->lines[ls->n++] = strdup("name shuffle");
	ls->lines[ls->n++] = strdup(subnet);
	ls->lines[ls->n++] = strdup("namespace lab");
	ls->lines[ls->n++] = strdup("# a comment");
	ls->lines[ls->n++] = strdup("");
	for (i = 0; i < n; ++i) {
		static const char *const kinds[] = { "trust", "trust", "trust", "router", "alias",
						     "peer", "boot" };
		const char *kind = kinds[rng() % 7];
		char line[256], k[44], host[32] = "", st[40] = "", ep[64] = "";
		uint8_t key[32];

		random_key(key);
		key_url(k, key);
		if (rng() % 2)
			snprintf(host, sizeof(host), "h%zu ", i);
		if (kind[0] != 'p' && kind[0] != 'b' && rng() % 4 == 0)
			snprintf(st, sizeof(st), "10.9.%zu.%zu ", 200 + i / 250, 1 + i % 250);
		if (kind[0] == 'b' || rng() % 3 == 0)
			snprintf(ep, sizeof(ep), " 192.0.2.%zu:%zu", i % 250, 1000 + i);
		snprintf(line, sizeof(line), "%s %s%s%s%s", kind, host, st, k, ep);
		ls->lines[ls->n++] = strdup(line);
	}
}

static void free_lines(struct line_set *ls)
{
	size_t i;

	for (i = 0; i < ls->n; ++i)
		free(ls->lines[i]);
	free(ls->lines);
}

static void test_shuffle(void)
{
	struct line_set ls;
	struct netconf *base = NULL;
	char err[512], *text;
	unsigned tries = 0, round, bad = 0, bad_order = 0;

	/* Random networks until one has no collision (in a /16 with 300 peers
	 * most do not). */
	rng_state = 7;
	do {
		if (tries++)
			free_lines(&ls);
		build_network(&ls, 300, "subnet 10.0.0.0/8");
		text = join(&ls);
		if (parse(text, &base, err, sizeof(err)))
			diag("retry: %s", err);
		free(text);
	} while (!base && tries < 50);
	if (!ok(base != NULL, "a random network of 300 peers parses (%u tries)", tries))
		return;
	for (round = 0; round < 300; ++round) {
		struct netconf *c = NULL;

		shuffle(&ls);
		text = join(&ls);
		if (parse(text, &c, err, sizeof(err)) || !same_assignments(base, c) ||
		    !same_assignments(c, base))
			++bad;
		/* File order is kept in peers[], and lines follow it. */
		if (c && c->n_peers > 1 && c->peers[0].line >= c->peers[1].line)
			++bad_order;
		netconf_free(c);
		free(text);
	}
	ok(bad == 0, "300 shuffles give identical assignments (%u differ)", bad);
	ok(bad_order == 0, "peers stay in file order");
	netconf_free(base);
	free_lines(&ls);
}

/* ---- collisions ---- */

/* Finds two keys whose derived IPv4 addresses collide in conf's subnet. */
static void colliding_keys(const struct netconf *conf, uint8_t k1[32], uint8_t k2[32])
{
	enum { N = 64 };
	uint8_t keys[N][32], addr[N][4];
	size_t i, j;

	for (;;) {
		for (i = 0; i < N; ++i) {
			random_key(keys[i]);
			netconf_derive_ipv4(conf, keys[i], addr[i]);
			for (j = 0; j < i; ++j)
				if (!memcmp(addr[i], addr[j], 4)) {
					memcpy(k1, keys[j], 32);
					memcpy(k2, keys[i], 32);
					return;
				}
		}
	}
}

/* The key whose bytes sort first. */
static bool key_first(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) < 0;
}

/* Every peer of a is in b with the same addresses. */
static bool same_addresses_of(const struct netconf *a, const struct netconf *b)
{
	size_t i;

	if (a->n_peers != b->n_peers)
		return false;
	for (i = 0; i < a->n_peers; ++i) {
		const struct netconf_peer *p = &a->peers[i], *q = netconf_find(b, p->key);

		if (!q || memcmp(q->ipv4, p->ipv4, 4) || memcmp(q->ipv6, p->ipv6, 16))
			return false;
	}
	return true;
}

static void test_collisions(void)
{
	static const char hdr[] = "name coll\nsubnet 10.7.0.0/26\n";
	struct netconf *base = NULL, *c = NULL, *c2 = NULL;
	const struct netconf_peer *pa, *pb;
	uint8_t k1[32], k2[32], a[4], next[4], *lo, *hi;
	char ka[44], kb[44], err[512], text[1024];
	int rc;

	rc = parse(hdr, &base, err, sizeof(err));
	rng_state = 99;
	colliding_keys(base, k1, k2);
	netconf_derive_ipv4(base, k1, a);
	key_url(ka, k1);
	key_url(kb, k2);
	lo = key_first(k1, k2) ? k1 : k2;
	hi = lo == k1 ? k2 : k1;
	netconf_derive_ipv4_candidate(base, hi, 1, next);

	/* Two derived addresses: the network comes up; the smaller key keeps
	 * the address, the other takes its candidate 1. */
	snprintf(text, sizeof(text), "%strust alpha %s\n# x\ntrust beta %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	pa = c ? netconf_find(c, lo) : NULL;
	pb = c ? netconf_find(c, hi) : NULL;
	ok(rc == 0 && c->n_peers == 2 && c->n_left_out == 0, "a colliding pair parses: %s",
	   rc ? err : "ok");
	ok(pa && pb && !memcmp(pa->ipv4, a, 4) && !memcmp(pb->ipv4, next, 4) &&
	   memcmp(a, next, 4), "the smaller key keeps %s, the other moves to %s", v4(a), v4(next));
	/* Swapped lines, and without hostnames: the same assignment. */
	snprintf(text, sizeof(text), "%strust %s\nalias %s\n", hdr, kb, ka);
	rc = parse(text, &c2, err, sizeof(err));
	ok(rc == 0 && c && same_addresses_of(c, c2), "the same with the lines swapped");
	netconf_free(c2);
	netconf_free(c);
	/* A static address fixes it as before. */
	snprintf(text, sizeof(text), "%strust alpha %s\ntrust beta 10.7.0.62 %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && !memcmp(netconf_find(c, k1)->ipv4, a, 4), "a static address resolves it");
	netconf_free(c);
	/* A derived address on a static one: the static wins, whatever the
	 * keys, and the other moves to its next candidate. */
	snprintf(text, sizeof(text), "%strust beta %s %s\ntrust alpha %s\n", hdr, v4(a), kb, ka);
	rc = parse(text, &c, err, sizeof(err));
	netconf_derive_ipv4_candidate(base, k1, 1, next);
	ok(rc == 0 && netconf_find(c, k2)->static4 && !memcmp(netconf_find(c, k2)->ipv4, a, 4) &&
	   !memcmp(netconf_find(c, k1)->ipv4, next, 4), "a static address wins over a derived one");
	netconf_free(c);
	/* An untrusted peer takes no address, so cannot collide. */
	snprintf(text, sizeof(text), "%strust alpha %s\npeer beta %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0, "an untrusted peer does not collide");
	netconf_free(c);

	netconf_free(base);
}

/* The naive model of the rule (doc/network-file.md, "Collisions"): in
 * rounds, every unplaced key proposes its next candidate; a free address
 * goes to the smallest key proposing it.  Checked against the parser on
 * crowded subnets, where most keys collide and some find no room. */
static void model_assign(const struct netconf *conf, uint8_t (*keys)[32], size_t n,
			 uint8_t (*out)[4], bool *placed)
{
	uint8_t taken[256][4], cand[64][4];
	size_t n_taken = 0, i, j, t;
	unsigned round;

	for (i = 0; i < n; ++i)
		placed[i] = false;
	for (round = 0; round < NETCONF_MAX_CANDIDATES; ++round) {
		bool win[64] = { false };

		for (i = 0; i < n; ++i)
			if (!placed[i])
				netconf_derive_ipv4_candidate(conf, keys[i], round, cand[i]);
		for (i = 0; i < n; ++i) {
			bool free_addr = true, smallest = true;

			if (placed[i])
				continue;
			for (t = 0; t < n_taken; ++t)
				if (!memcmp(taken[t], cand[i], 4))
					free_addr = false;
			for (j = 0; j < n; ++j)
				if (j != i && !placed[j] && !memcmp(cand[j], cand[i], 4) &&
				    key_first(keys[j], keys[i]))
					smallest = false;
			win[i] = free_addr && smallest;
		}
		for (i = 0; i < n; ++i)
			if (win[i]) {
				placed[i] = true;
				memcpy(out[i], cand[i], 4);
				memcpy(taken[n_taken++], cand[i], 4);
			}
	}
}

static void test_collision_model(void)
{
	static const char *const subnets[] = { "10.8.0.0/28", "10.8.0.0/27", "10.8.0.0/24" };
	unsigned round, bad = 0, bad_order = 0, collided = 0, left = 0;

	rng_state = 11;
	for (round = 0; round < 60; ++round) {
		const char *subnet = subnets[round % 3];
		size_t n = round % 3 == 2 ? 60 : 12 + round % 10, i;
		uint8_t keys[64][32], want[64][4];
		bool placed[64];
		struct line_set ls;
		struct netconf *c = NULL, *c2 = NULL;
		char err[512], line[96], *text;

		ls.n = 0;
		ls.lines = malloc((n + 2) * sizeof(char *));
		snprintf(line, sizeof(line), "subnet %s", subnet);
		ls.lines[ls.n++] = strdup("name pairs");
		ls.lines[ls.n++] = strdup(line);
		for (i = 0; i < n; ++i) {
			char k[44];

			random_key(keys[i]);
			key_url(k, keys[i]);
			snprintf(line, sizeof(line), "trust %s", k);
			ls.lines[ls.n++] = strdup(line);
		}
		text = join(&ls);
		if (parse(text, &c, err, sizeof(err))) {
			diag("%s", err);
			++bad;
			free(text);
			free_lines(&ls);
			continue;
		}
		free(text);
		model_assign(c, keys, n, want, placed);
		for (i = 0; i < n; ++i) {
			const struct netconf_peer *p = netconf_find(c, keys[i]);
			uint8_t first[4];

			netconf_derive_ipv4(c, keys[i], first);
			if (placed[i] != (p != NULL) || (p && memcmp(p->ipv4, want[i], 4)))
				++bad;
			if (p && memcmp(p->ipv4, first, 4))
				++collided;
			if (!p)
				++left;
		}
		if (c->n_left_out != n - c->n_peers)
			++bad;
		shuffle(&ls);
		text = join(&ls);
		if (parse(text, &c2, err, sizeof(err)) || !same_addresses_of(c, c2) ||
		    c2->n_left_out != c->n_left_out)
			++bad_order;
		netconf_free(c2);
		netconf_free(c);
		free(text);
		free_lines(&ls);
	}
	ok(bad == 0, "60 crowded networks: the parser assigns as the naive model (%u bad; %u "
	   "moved, %u left out)", bad, collided, left);
	ok(collided > 50 && left > 0, "the networks did collide (%u moved) and fill up (%u out)",
	   collided, left);
	ok(bad_order == 0, "shuffled, every one assigns the same (%u differ)", bad_order);
}

static void test_small_subnets(void)
{
	struct netconf *c = NULL;
	char err[512], text[512], k[44];
	uint8_t key[32], a[4];
	unsigned i, seen[8] = { 0 }, bad = 0;
	int rc;

	rc = parse("name s\nsubnet 10.6.0.8/29\n", &c, err, sizeof(err));
	rng_state = 3;
	for (i = 0; i < 6000; ++i) {
		random_key(key);
		netconf_derive_ipv4(c, key, a);
		if (a[0] != 10 || a[1] != 6 || a[2] != 0 || a[3] < 9 || a[3] > 14)
			++bad;
		else
			seen[a[3] - 8]++;
	}
	ok(rc == 0 && bad == 0 && !seen[0] && !seen[7], "/29: derived addresses are hosts 1-6");
	ok(seen[1] > 800 && seen[6] > 800, "/29: all hosts used (%u %u %u %u %u %u)", seen[1],
	   seen[2], seen[3], seen[4], seen[5], seen[6]);
	netconf_free(c);

	random_key(key);
	key_url(k, key);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/31\ntrust x %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	snprintf(text, sizeof(text), "net.conf:3: the subnet 10.6.0.0/31 has no room for derived "
		 "addresses: give \"x\" (%s) a static address", k);
	ok(rc == -EINVAL && !strcmp(err, text), "/31: no room: %s", err);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/31\ntrust x 10.6.0.1 %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && c->peers[0].static4, "/31 with a static address");
	netconf_free(c);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.5/32\ntrust 10.6.0.5 %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0, "/32 with its one address");
	netconf_free(c);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/30\ntrust %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && (c->peers[0].ipv4[3] == 1 || c->peers[0].ipv4[3] == 2), "/30 derives .1 or .2");
	netconf_free(c);
}

/* ---- IPv6 ---- */

static void test_ipv6(void)
{
	struct netconf *c = NULL, *c2 = NULL;
	char err[512], *text;
	size_t i, o, outside = 0, same = 0, dup = 0;
	int rc;

	/* 500 trusted peers, explicit /64, then derived /48. */
	rng_state = 17;
	text = malloc(500 * 64 + 128);
	for (int pass = 0; pass < 2; ++pass) {
		o = (size_t)sprintf(text, "name six\nsubnet 10.0.0.0/8\n%s",
				    pass ? "" : "subnet6 fd12:3456:789a:1::/64\n");
		for (i = 0; i < 500; ++i) {
			uint8_t key[32];
			char k[44];

			random_key(key);
			key_url(k, key);
			o += (size_t)sprintf(text + o, "trust %s\n", k);
		}
		rc = parse(text, &c, err, sizeof(err));
		if (!ok(rc == 0, "500 peers with IPv6 (%s)", pass ? "derived /48" : "/64")) {
			diag("%s", err);
			continue;
		}
		rc = parse(text, &c2, err, sizeof(err));
		for (i = 0; i < c->n_peers; ++i) {
			const struct netconf_peer *p = &c->peers[i];
			uint8_t pre[16] = { 0 };
			size_t j;

			memcpy(pre, p->ipv6, pass ? 6 : 8);
			if (memcmp(pre, c->subnet6, 16))
				++outside;
			if (!memcmp(p->ipv6, c2->peers[i].ipv6, 16))
				++same;
			for (j = 0; j < i; ++j)
				if (!memcmp(p->ipv6, c->peers[j].ipv6, 16))
					++dup;
		}
		ok(outside == 0 && dup == 0, "all inside %s/%u, all distinct", v6(c->subnet6),
		   c->prefix6);
		ok(same == c->n_peers, "deterministic across parses");
		if (pass)
			ok(c->subnet6[0] == 0xfd && c->prefix6 == 48 && c->subnet6_derived,
			   "derived subnet6 is a ULA /48: %s", v6(c->subnet6));
		netconf_free(c);
		netconf_free(c2);
		outside = same = 0;
	}
	free(text);

	/* The derived prefix depends on the name and the namespace. */
	{
		uint8_t a[16], b[16], d[16];

		netconf_derive_subnet6("public", "tutorial", a);
		netconf_derive_subnet6("public", "tutorial2", b);
		netconf_derive_subnet6("other", "tutorial", d);
		ok(!strcmp(v6(a), "fded:ca41:89c1::") && memcmp(a, b, 16) && memcmp(a, d, 16),
		   "subnet6 from name and namespace");
		ok(!netconf_derive_subnet6("public", "", a), "no subnet6 without a name");
	}
	/* A /120 still derives, and never the prefix address itself. */
	rc = parse("name s\nsubnet 10.0.0.0/8\nsubnet6 fd00::/120\n", &c, err, sizeof(err));
	{
		uint8_t key[32], a[16];
		unsigned zero = 0;

		for (i = 0; i < 3000; ++i) {
			random_key(key);
			netconf_derive_ipv6(c, key, a);
			if (a[15] == 0 || memcmp(a, c->subnet6, 15))
				++zero;
		}
		ok(rc == 0 && zero == 0, "/120: inside, never the prefix address");
	}
	netconf_free(c);
}

/* ---- lookups against a naive scan ---- */

static void test_lookups(void)
{
	struct line_set ls;
	struct netconf *c = NULL;
	char err[512], *text;
	size_t i, bad = 0;

	rng_state = 23;
	build_network(&ls, 400, "subnet 10.0.0.0/8");
	text = join(&ls);
	if (!ok(parse(text, &c, err, sizeof(err)) == 0, "lookup network parses")) {
		diag("%s", err);
		free(text);
		free_lines(&ls);
		return;
	}
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];

		if (netconf_find(c, p->key) != p)
			++bad;
		if (p->hostname[0] && netconf_find_hostname(c, p->hostname) != p)
			++bad;
		if ((netconf_find_self(c, p->key) == p) != netconf_kind_is_trusted(p->kind))
			++bad;
	}
	for (i = 0; i < 1000; ++i) {
		uint8_t key[32];
		size_t j;
		const struct netconf_peer *naive = NULL;
		char host[16];

		random_key(key);
		if (i % 2)
			memcpy(key, c->peers[i % c->n_peers].key, 32);
		for (j = 0; j < c->n_peers; ++j)
			if (!memcmp(c->peers[j].key, key, 32))
				naive = &c->peers[j];
		if (netconf_find(c, key) != naive)
			++bad;
		snprintf(host, sizeof(host), "h%zu", i % 500);
		naive = NULL;
		for (j = 0; j < c->n_peers; ++j)
			if (!strcmp(c->peers[j].hostname, host))
				naive = &c->peers[j];
		if (netconf_find_hostname(c, host) != naive)
			++bad;
	}
	ok(bad == 0, "find, find_hostname and find_self agree with a scan (%zu bad)", bad);
	ok(!netconf_find_hostname(c, "") && !netconf_find(NULL, c->peers[0].key),
	   "empty hostname and NULL network");
	netconf_free(c);
	free(text);
	free_lines(&ls);
}

/* ---- diff ---- */

static void test_diff_cases(void)
{
	static const char base[] =
		"name d\nsubnet 10.5.0.0/16\n"
		"boot " KEY_BOOT " boot.example:1\n"
		"trust a " KEY_A "\n"
		"trust b 10.5.0.9 " KEY_B " 192.0.2.1\n";
	struct {
		const char *text;
		unsigned what;
		size_t added, removed, changed;
		unsigned change_what;
	} cases[] = {
		{ base, 0, 0, 0, 0, 0 },
		{ "trust b 10.5.0.9 " KEY_B " 192.0.2.1\nname d\ntrust a " KEY_A
		  "\nboot " KEY_BOOT " boot.example:1\nsubnet 10.5.0.0/16\n", 0, 0, 0, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\n", 0, 0, 1, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\ntrust " KEY_C "\n",
		  0, 1, 0, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:2\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_ENDPOINT },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust aa " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_HOSTNAME },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "router a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_KIND },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.10 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_IPV4 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_IPV4 | NETCONF_PEER_STATIC },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "peer a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_KIND | NETCONF_PEER_IPV4 | NETCONF_PEER_IPV6 },
		{ "name d\nsubnet 10.5.0.0/16\nworkbit 9\nnamespace x\nboot " KEY_BOOT
		  " boot.example:1\n", NETCONF_DIFF_WORKBIT | NETCONF_DIFF_NAMESPACE | NETCONF_DIFF_SUBNET6,
		  0, 2, 0, 0 },
		{ "name e\nsubnet 10.6.0.0/16\nsubnet6 fd00::/64\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.6.0.9 " KEY_B " 192.0.2.1\n",
		  NETCONF_DIFF_NAME | NETCONF_DIFF_SUBNET | NETCONF_DIFF_SUBNET6, 0, 0, 2,
		  NETCONF_PEER_IPV4 | NETCONF_PEER_IPV6 },
	};
	struct netconf *old = NULL;
	char err[512];
	size_t i;

	parse(base, &old, err, sizeof(err));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
		struct netconf *c = NULL;
		struct netconf_diff d;
		bool good;
		size_t j;

		if (parse(cases[i].text, &c, err, sizeof(err))) {
			ok(false, "diff case %zu parses: %s", i, err);
			continue;
		}
		good = netconf_diff(old, c, &d) == 0 && d.what == cases[i].what &&
		       d.n_added == cases[i].added && d.n_removed == cases[i].removed &&
		       d.n_changed == cases[i].changed;
		for (j = 0; good && j < d.n_changed; ++j)
			good = d.changed[j].what == cases[i].change_what &&
			       !memcmp(d.changed[j].old_peer->key, d.changed[j].new_peer->key, 32) &&
			       d.changed[j].old_peer == netconf_find(old, d.changed[j].new_peer->key);
		ok(good, "diff case %zu: what %#x, +%zu -%zu ~%zu (%#x)", i, d.what, d.n_added,
		   d.n_removed, d.n_changed, d.n_changed ? d.changed[0].what : 0);
		ok(netconf_diff_empty(&d) == (i < 2), "diff case %zu: empty iff nothing changed", i);
		netconf_diff_free(&d);
		netconf_free(c);
	}
	{
		struct netconf_diff d;

		ok(netconf_diff(NULL, old, &d) == 0 && d.n_added == 3 && d.added[0]->line == 3 &&
		   d.added[2]->line == 5 && d.what == (NETCONF_DIFF_NAME | NETCONF_DIFF_SUBNET |
		   NETCONF_DIFF_SUBNET6), "diff from nothing: everything added, in file order");
		netconf_diff_free(&d);
		ok(netconf_diff(old, NULL, &d) == 0 && d.n_removed == 3 && d.removed[0]->line == 3,
		   "diff to nothing: everything removed");
		netconf_diff_free(&d);
	}
	netconf_free(old);
}

/* Random edits checked against a quadratic model of the diff. */
static void test_diff_model(void)
{
	unsigned round, bad = 0;

	rng_state = 31;
	for (round = 0; round < 60; ++round) {
		struct line_set a, b;
		struct netconf *ca = NULL, *cb = NULL;
		struct netconf_diff d;
		size_t i, j, added = 0, removed = 0, changed = 0;
		char err[512], *ta, *tb;

		build_network(&a, 40, "subnet 10.0.0.0/8");
		b.n = a.n;
		b.lines = malloc((a.n + 10) * sizeof(char *));
		for (i = 0; i < a.n; ++i) {
			unsigned r = (unsigned)(rng() % 10);

			if (i >= 5 && r == 0) {
				b.lines[i] = strdup("# removed");
			} else if (i >= 5 && r == 1 && !strstr(a.lines[i], "boot")) {
				/* Append an endpoint or change it. */
				char line[300], *sp = strrchr(a.lines[i], ' ');

				if (strchr(sp, ':'))
					snprintf(line, sizeof(line), "%.*s 198.51.100.1:9",
						 (int)(sp - a.lines[i]), a.lines[i]);
				else
					snprintf(line, sizeof(line), "%s 198.51.100.1:9", a.lines[i]);
				b.lines[i] = strdup(line);
			} else {
				b.lines[i] = strdup(a.lines[i]);
			}
		}
		for (i = 0; i < 3; ++i) {
			uint8_t key[32];
			char k[44], line[80];

			random_key(key);
			key_url(k, key);
			snprintf(line, sizeof(line), "peer %s", k);
			b.lines[b.n++] = strdup(line);
		}
		shuffle(&b);
		ta = join(&a);
		tb = join(&b);
		if (parse(ta, &ca, err, sizeof(err)) || parse(tb, &cb, err, sizeof(err)) ||
		    netconf_diff(ca, cb, &d)) {
			++bad;
			goto next;
		}
		/* The model: every key of b not in a is added, and so on. */
		for (i = 0; i < cb->n_peers; ++i) {
			const struct netconf_peer *q = &cb->peers[i], *p = NULL;

			for (j = 0; j < ca->n_peers; ++j)
				if (!memcmp(ca->peers[j].key, q->key, 32))
					p = &ca->peers[j];
			if (!p)
				++added;
			else if (p->endpoint.port != q->endpoint.port ||
				 strcmp(p->endpoint.host, q->endpoint.host) ||
				 p->endpoint.type != q->endpoint.type)
				++changed;
		}
		for (i = 0; i < ca->n_peers; ++i)
			if (!netconf_find(cb, ca->peers[i].key))
				++removed;
		if (d.n_added != added || d.n_removed != removed || d.n_changed != changed || d.what)
			++bad;
		for (i = 0; i < d.n_changed; ++i)
			if (d.changed[i].what != NETCONF_PEER_ENDPOINT)
				++bad;
		for (i = 1; i < d.n_added; ++i)
			if (d.added[i - 1]->line >= d.added[i]->line)
				++bad;
		netconf_diff_free(&d);
next:
		netconf_free(ca);
		netconf_free(cb);
		free(ta);
		free(tb);
		free_lines(&a);
		free_lines(&b);
	}
	ok(bad == 0, "diff agrees with a naive model over 60 random edits (%u bad)", bad);
}

/* ---- routes beyond the subnet ---- */

static void test_routes(void)
{
	static const char text[] =
		"name r\nsubnet 10.0.42.0/24\n"
		"route 203.0.113.7/24 via GW\n"
		"router gw " KEY_A "\n"
		"route 2001:db8:5::/48 via " KEY_A "\n"
		"trust b " KEY_B "\n"
		"route 198.51.100.0/24 via b\n"
		"route 192.0.2.0/24 via nobody\n"
		"route 10.0.0.0/8 via gw\n"
		"route 192.0.2.0/24 gw\n"
		"route 192.0.2.0/33 via gw\n"
		"router gw2 " KEY_C "\n"
		"route 203.0.113.0/24 via gw2\n"
		"route 203.0.113.0/24 via gw\n";
	struct netconf *c = NULL;
	const struct netconf_route *r;
	const struct netconf_peer *gw;
	char err[512], all[2048] = "";
	uint8_t a[16] = { 203, 0, 113, 0 };
	size_t i;
	int rc;

	rc = parse(text, &c, err, sizeof(err));
	if (!ok(rc == 0, "a file with routes parses: %s", rc ? err : "ok"))
		return;
	for (i = 0; i < c->n_notes; ++i) {
		strcat(all, c->notes[i].text);
		strcat(all, "\n");
	}
	gw = by_b64(c, KEY_A);
	r = netconf_find_route(c, false, a, 24);
	/* KEY_C (0xf4...) sorts after KEY_A (0xcd...): gw keeps 203.0.113.0/24. */
	ok(c->n_routes == 2 && r && r->line == 3 && &c->peers[r->router] == gw &&
	   !memcmp(r->router_key, gw->key, 32), "route by hostname in either case, host bits "
	   "cleared, through gw");
	memcpy(a, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 5 }, 6);
	r = netconf_find_route(c, true, a, 48);
	ok(r && &c->peers[r->router] == gw, "an IPv6 route by key");
	ok(c->n_left_out == 7 && !strcmp(all,
	   "net.conf:7: route 198.51.100.0/24: \"b\" is a \"trust\" line (line 6), not a \"router\"\n"
	   "net.conf:8: route 192.0.2.0/24: \"nobody\" names no router of the network\n"
	   "net.conf:9: route 10.0.0.0/8 overlaps the subnet 10.0.42.0/24\n"
	   "net.conf:10: a route is written \"route PREFIX via ROUTER\"\n"
	   "net.conf:11: \"33\" is not a prefix length (1 to 32)\n"
	   "net.conf:13: route 203.0.113.0/24 is already on line 3, through a router whose key "
	   "sorts first (the smaller key keeps it)\n"
	   "net.conf:14: route 203.0.113.0/24 is already on line 3\n"),
	   "bad routes are left out, each saying why");
	if (c->n_left_out != 7 || !strstr(all, "line 3\n"))
		diag("%zu left out:\n%s", c->n_left_out, all);
	netconf_free(c);

	/* The routes' verdicts do not depend on the order of the lines. */
	{
		struct line_set ls;
		const char *p = text;
		unsigned round, bad = 0;
		struct netconf *base = NULL;

		ls.n = 0;
		ls.lines = malloc(32 * sizeof(char *));
		while (*p) {
			const char *e = strchr(p, '\n');

			ls.lines[ls.n++] = strndup(p, (size_t)(e - p));
			p = e + 1;
		}
		rng_state = 5;
		parse(text, &base, err, sizeof(err));
		for (round = 0; round < 50; ++round) {
			char *t;

			shuffle(&ls);
			t = join(&ls);
			if (parse(t, &c, err, sizeof(err)) || c->n_routes != base->n_routes ||
			    c->n_left_out != base->n_left_out)
				++bad;
			for (i = 0; c && i < c->n_routes; ++i) {
				const struct netconf_route *x = &c->routes[i];
				const struct netconf_route *y = netconf_find_route(base, x->v6, x->addr,
										   x->prefix);

				if (!y || memcmp(x->router_key, y->router_key, 32))
					++bad;
			}
			netconf_free(c);
			c = NULL;
			free(t);
		}
		ok(bad == 0, "50 shuffles keep the same routes through the same routers");
		netconf_free(base);
		free_lines(&ls);
	}
}

int main(void)
{
	/* Nothing may depend on the locale: run under one with other rules
	 * for letters and digits when the system has it. */
	if (!setlocale(LC_ALL, "tr_TR.UTF-8"))
		setlocale(LC_ALL, "C.UTF-8");

	test_shuffle();
	test_collisions();
	test_collision_model();
	test_routes();
	test_small_subnets();
	test_ipv6();
	test_lookups();
	test_diff_cases();
	test_diff_model();
	return tap_done();
}
