/* The Kademlia routing table and iterative lookups: bucket indexes,
 * replacement caches, eviction, closest() against a naive sort of every
 * known node, liveness checks, bootstrap, lookups in hand-built networks
 * (convergence, timeouts, late answers, stray txids) and bounded memory
 * under floods.  Everything runs on a virtual clock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/kademlia.h"
#include "proto/overlay/lookup.h"
#include "test/tap.h"

#define MSEC 1000000ull
#define SEC (1000 * MSEC)
#define MIN (60 * SEC)

/* A pointer to an address value, for the calls that take one. */
#define P(a) ((const struct ovl_addr[]){ a })

/* ---- deterministic randomness ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t v = splitmix(ctx);
		size_t n = len < 8 ? len : 8;

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

static uint64_t seed = 42;

static void random_key(uint8_t k[KAD_KEY_LEN])
{
	rng_fill(&seed, k, KAD_KEY_LEN);
}

/* A key sharing exactly cpl leading bits with base (cpl < 256). */
static void key_with_cpl(uint8_t k[KAD_KEY_LEN], const uint8_t base[KAD_KEY_LEN], unsigned cpl)
{
	random_key(k);
	for (unsigned i = 0; i < cpl; ++i) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		k[i / 8] = (uint8_t)((k[i / 8] & ~m) | (base[i / 8] & m));
	}
	k[cpl / 8] = (uint8_t)((k[cpl / 8] & ~(0x80 >> (cpl % 8))) |
			       (~base[cpl / 8] & (0x80 >> (cpl % 8))));
}

static struct ovl_addr addr_of(unsigned i)
{
	struct ovl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.port = 51820;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(i >> 16);
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	return a;
}

static void table_new(struct kad_table *t, const uint8_t *own, const struct kad_params *p)
{
	if (kad_table_init(t, own, p, rng_fill, &seed, 0) != 0) {
		printf("Bail out! kad_table_init\n");
		exit(1);
	}
}

/* ---- bucket index ---- */

static void test_prefix(void)
{
	uint8_t a[KAD_KEY_LEN], b[KAD_KEY_LEN];
	bool all = true;

	memset(a, 0, sizeof(a));
	memcpy(b, a, sizeof(b));
	ok(kad_common_prefix(a, b) == 256, "equal keys share 256 bits");
	b[0] = 0x80;
	ok(kad_common_prefix(a, b) == 0, "first bit differs: prefix 0");
	b[0] = 0x01;
	ok(kad_common_prefix(a, b) == 7, "eighth bit differs: prefix 7");
	b[0] = 0;
	b[1] = 0x40;
	ok(kad_common_prefix(a, b) == 9, "tenth bit differs: prefix 9");
	b[1] = 0;
	b[31] = 0x01;
	ok(kad_common_prefix(a, b) == 255, "last bit differs: prefix 255");
	for (unsigned cpl = 0; cpl < 256; ++cpl) {
		random_key(a);
		key_with_cpl(b, a, cpl);
		all &= kad_common_prefix(a, b) == cpl && kad_common_prefix(b, a) == cpl;
	}
	ok(all, "prefix length of crafted keys, 0 .. 255, both ways");
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	{
		uint8_t t[KAD_KEY_LEN] = {0};

		a[0] = 0x10;
		b[0] = 0x20;
		ok(kad_distance_cmp(t, a, b) < 0 && kad_distance_cmp(t, b, a) > 0 &&
		   kad_distance_cmp(t, a, a) == 0, "distance order by XOR");
	}
}

/* ---- buckets, cache, eviction ---- */

static void test_buckets(void)
{
	struct kad_table t;
	uint8_t own[KAD_KEY_LEN], k[40][KAD_KEY_LEN], deep[KAD_KEY_LEN];
	struct ovl_addr a = addr_of(1);
	enum kad_insert r;
	bool all = true;

	random_key(own);
	table_new(&t, own, NULL);
	ok(t.n_buckets == 1, "a new table has one bucket");
	ok(kad_table_heard(&t, own, &a, 0, 0, 0) == KAD_INS_IGNORED, "own key ignored");

	for (unsigned i = 0; i < 20; ++i) {
		key_with_cpl(k[i], own, 0);
		all &= kad_table_heard(&t, k[i], &a, 0, 0, i * SEC) == KAD_INS_ADDED;
	}
	ok(all && kad_table_size(&t) == 20, "20 contacts of prefix 0 fill bucket 0");
	ok(kad_table_heard(&t, k[3], &a, 0, 0, 30 * SEC) == KAD_INS_UPDATED,
	   "heard again: updated");
	key_with_cpl(k[20], own, 0);
	r = kad_table_heard(&t, k[20], &a, 0, 0, 31 * SEC);
	ok(r == KAD_INS_CACHED && t.n_buckets == 1 && kad_table_size(&t) == 20 &&
	   kad_table_cache_size(&t) == 1,
	   "21st contact of the same prefix goes to the cache, no split");

	key_with_cpl(deep, own, 5);
	r = kad_table_heard(&t, deep, &a, 0, 0, 32 * SEC);
	ok(r == KAD_INS_ADDED && t.n_buckets == 2 && kad_table_bucket_index(&t, deep) == 1,
	   "a deeper contact splits the bucket that covers our ID");
	ok(kad_table_bucket_index(&t, k[0]) == 0, "prefix-0 keys stay in bucket 0");

	for (unsigned i = 21; i < 40; ++i) {
		key_with_cpl(k[i], own, 0);
		kad_table_heard(&t, k[i], &a, 0, 0, (40 + i) * SEC);
	}
	ok(kad_table_size(&t) == 21 && kad_table_cache_size(&t) == 8,
	   "the cache is bounded at 8 per bucket");

	/* Failure and replacement: k[0] misses two checks; the freshest
	 * cache entry (k[39], heard last) takes its slot. */
	ok(!kad_table_timeout(&t, k[0], 100 * SEC), "first timeout: kept");
	ok(kad_table_find(&t, k[0])->fails == 1, "failure counted");
	ok(kad_table_timeout(&t, k[0], 101 * SEC), "second consecutive timeout: evicted");
	ok(!kad_table_find(&t, k[0]), "evicted entry gone");
	{
		const struct kad_entry *e = kad_table_find(&t, k[39]);
		bool in_bucket = false;

		for (unsigned i = 0; i < t.b[0].n; ++i)
			in_bucket |= memcmp(t.b[0].e[i].key, k[39], KAD_KEY_LEN) == 0;
		ok(e && in_bucket, "freshest cache entry promoted into the bucket");
	}
	ok(kad_table_size(&t) == 21 && kad_table_cache_size(&t) == 7,
	   "bucket full again, cache one shorter");

	/* A failure then an answer resets the count. */
	kad_table_timeout(&t, k[1], 102 * SEC);
	kad_table_heard(&t, k[1], &a, 0, 0, 103 * SEC);
	ok(kad_table_find(&t, k[1])->fails == 0, "an answer resets the failure count");
	ok(!kad_table_timeout(&t, k[1], 104 * SEC) && kad_table_find(&t, k[1]),
	   "non-consecutive failures do not evict");
	ok(t.stats.evicted == 1 && t.stats.promoted == 1 && t.stats.splits == 1,
	   "stats: 1 eviction, 1 promotion, 1 split");
	kad_table_free(&t);
}

static void test_learned(void)
{
	struct kad_table t;
	uint8_t own[KAD_KEY_LEN], k[25][KAD_KEY_LEN];
	struct kad_contact c, out[32];
	struct ovl_addr a = addr_of(7);
	size_t n;

	random_key(own);
	table_new(&t, own, NULL);
	for (unsigned i = 0; i < 20; ++i) {
		key_with_cpl(k[i], own, 0);
		memcpy(c.key, k[i], KAD_KEY_LEN);
		c.addr = addr_of(100 + i);
		c.flags = 0;
		kad_table_learned(&t, &c, SEC);
	}
	ok(kad_table_size(&t) == 20 && t.n_heard == 0, "20 learned entries");
	n = kad_table_closest(&t, own, 32, out, KAD_WANT_HEARD);
	ok(n == 0, "learned entries are not handed out");
	n = kad_table_closest(&t, own, 32, out, KAD_WANT_ANY);
	ok(n == 20, "learned entries serve our own lookups");

	kad_table_heard(&t, k[4], &a, 0, 0, 2 * SEC);
	n = kad_table_closest(&t, own, 32, out, KAD_WANT_HEARD);
	ok(n == 1 && memcmp(out[0].key, k[4], KAD_KEY_LEN) == 0 &&
	   out[0].addr.ip[3] == 7 && (out[0].flags & KAD_F_HEARD),
	   "heard: handed out, at the address it spoke from");

	/* Hearsay does not move a heard entry. */
	memcpy(c.key, k[4], KAD_KEY_LEN);
	c.addr = addr_of(999);
	kad_table_learned(&t, &c, 3 * SEC);
	ok(kad_table_find(&t, k[4])->addr.ip[3] == 7, "NODES cannot rewrite a heard address");

	/* A heard newcomer displaces a learned entry of a full bucket. */
	key_with_cpl(k[20], own, 0);
	ok(kad_table_heard(&t, k[20], &a, 0, 0, 4 * SEC) == KAD_INS_ADDED &&
	   kad_table_size(&t) == 20 && kad_table_cache_size(&t) == 1 &&
	   t.stats.displaced == 1, "a heard contact displaces a learned one into the cache");
	/* A learned newcomer for a full bucket only waits in the cache. */
	key_with_cpl(k[21], own, 0);
	memcpy(c.key, k[21], KAD_KEY_LEN);
	c.addr = addr_of(21);
	ok(kad_table_learned(&t, &c, 5 * SEC) == KAD_INS_CACHED, "learned for a full bucket: cached");

	/* A learned entry is dropped at its first failure. */
	ok(kad_table_timeout(&t, k[5], 6 * SEC) && !kad_table_find(&t, k[5]),
	   "a learned entry fails once and is gone");
	/* NATed contacts are kept apart on request. */
	kad_table_heard(&t, k[6], &a, KAD_F_NATED, 0, 7 * SEC);
	n = kad_table_closest(&t, own, 32, out, KAD_WANT_HEARD | KAD_WANT_PUBLIC);
	ok(n == 2, "NATed entries left out of a public-only answer (%zu)", n);
	kad_table_free(&t);
}

/* ---- closest() against a naive sort ---- */

struct naive {
	struct kad_contact all[20000];
	size_t n;
	const uint8_t *target;
	unsigned want;
};

static void naive_collect(void *ctx, unsigned bucket, const struct kad_entry *e)
{
	struct naive *nv = ctx;

	(void)bucket;
	if ((nv->want & KAD_WANT_HEARD) && (!(e->flags & KAD_F_HEARD) || e->fails))
		return;
	memcpy(nv->all[nv->n].key, e->key, KAD_KEY_LEN);
	nv->n++;
}

static const uint8_t *sort_target;

static int naive_cmp(const void *a, const void *b)
{
	return kad_distance_cmp(sort_target, ((const struct kad_contact *)a)->key,
				((const struct kad_contact *)b)->key);
}

static bool closest_matches(const struct kad_table *t, struct naive *nv,
			    const uint8_t *target, size_t n, unsigned want)
{
	struct kad_contact out[64];
	size_t got;

	nv->n = 0;
	nv->want = want;
	kad_table_walk(t, naive_collect, nv);
	sort_target = target;
	qsort(nv->all, nv->n, sizeof(nv->all[0]), naive_cmp);
	got = kad_table_closest(t, target, n, out, want);
	if (got != (nv->n < n ? nv->n : n))
		return false;
	for (size_t i = 0; i < got; ++i)
		if (memcmp(out[i].key, nv->all[i].key, KAD_KEY_LEN))
			return false;
	return true;
}

static void test_closest(void)
{
	static struct naive nv;
	struct kad_table t;
	uint8_t own[KAD_KEY_LEN], k[KAD_KEY_LEN], target[KAD_KEY_LEN];
	struct ovl_addr a = addr_of(3);
	bool all = true, all_heard = true, all_small = true;
	unsigned checked = 0;

	random_key(own);
	table_new(&t, own, NULL);
	/* Random keys fill the shallow buckets; crafted ones the deep ones. */
	for (unsigned i = 0; i < 3000; ++i) {
		random_key(k);
		kad_table_heard(&t, k, &a, 0, 0, i);
	}
	for (unsigned i = 0; i < 3000; ++i) {
		struct kad_contact c;

		key_with_cpl(k, own, (unsigned)(splitmix(&seed) % 40));
		if (i % 3) {
			kad_table_heard(&t, k, &a, 0, 0, 5000 + i);
		} else {
			memcpy(c.key, k, KAD_KEY_LEN);
			c.addr = a;
			c.flags = 0;
			kad_table_learned(&t, &c, 5000 + i);
		}
	}
	diag("table: %u buckets, %u entries (%u heard), %u cached", t.n_buckets,
	     kad_table_size(&t), t.n_heard, kad_table_cache_size(&t));
	for (unsigned i = 0; i < 400; ++i) {
		switch (i % 4) {
		case 0:
			random_key(target);
			break;
		case 1:
			key_with_cpl(target, own, (unsigned)(splitmix(&seed) % 45));
			break;
		case 2:
			memcpy(target, own, KAD_KEY_LEN);
			target[31] ^= (uint8_t)(1 + i % 255);
			break;
		default: {
			/* A key in the table. */
			unsigned bi = (unsigned)(splitmix(&seed) % t.n_buckets);

			if (t.b[bi].n == 0)
				random_key(target);
			else
				memcpy(target, t.b[bi].e[splitmix(&seed) % t.b[bi].n].key,
				       KAD_KEY_LEN);
		}
		}
		all &= closest_matches(&t, &nv, target, 20, KAD_WANT_ANY);
		all_heard &= closest_matches(&t, &nv, target, 20, KAD_WANT_HEARD);
		all_small &= closest_matches(&t, &nv, target, 1, KAD_WANT_ANY) &&
			     closest_matches(&t, &nv, target, 64, KAD_WANT_ANY);
		++checked;
	}
	ok(all, "closest(20) equals a naive sort of the whole table, %u targets", checked);
	ok(all_heard, "closest(20, heard only) equals the naive sort");
	ok(all_small, "closest(1) and closest(64) equal the naive sort");
	ok(closest_matches(&t, &nv, own, 20, KAD_WANT_ANY), "closest to our own ID");
	kad_table_free(&t);
}

/* ---- liveness checks, refresh, bootstrap ---- */

static void test_liveness(void)
{
	struct kad_table t;
	struct kad_actions act;
	uint8_t own[KAD_KEY_LEN], k[KAD_KEY_LEN];
	struct ovl_addr a = addr_of(5);
	bool all = true, order = true;
	uint64_t now;
	unsigned total = 0;

	random_key(own);
	table_new(&t, own, NULL);
	/* 40 entries heard 20 s apart. */
	for (unsigned i = 0; i < 40; ++i) {
		key_with_cpl(k, own, i % 4);
		kad_table_heard(&t, k, &a, 0, 0, i * 20 * SEC);
	}
	kad_tick(&t, 800 * SEC, 4, &act);
	ok(act.n_check == 0 && act.n_refresh == 0 && !act.bootstrap,
	   "fresh table: no checks, no refresh");
	ok(act.next_ns == 15 * MIN, "next deadline: when the oldest entry goes stale (%llu s)",
	   (unsigned long long)(act.next_ns / SEC));

	/* At 15 min + 205 s the first 11 entries are stale (the 12th will be
	 * at + 220 s): 8 checks now, the least recently seen first, then 3 a
	 * tick later. */
	now = 15 * MIN + 205 * SEC;
	kad_tick(&t, now, 0, &act);
	for (unsigned i = 0; i < act.n_check; ++i) {
		const struct kad_entry *e = kad_table_find(&t, act.check[i].key);

		order &= e && e->last_seen_ns == i * 20 * SEC && (e->flags & KAD_F_CHECKING);
	}
	ok(act.n_check == 8 && order, "8 checks, least recently seen first");
	total += act.n_check;
	kad_tick(&t, now + 100 * MSEC, 0, &act);
	ok(act.n_check == 0, "checks are paced: none 100 ms later");
	kad_tick(&t, now + SEC, 0, &act);
	ok(act.n_check == 3, "3 more a tick later (%u)", act.n_check);
	total += act.n_check;
	/* The first 8 answer; the last 3 do not. */
	{
		struct kad_entry *es[40];
		unsigned n = 0;

		for (unsigned bi = 0; bi < t.n_buckets; ++bi)
			for (unsigned i = 0; i < t.b[bi].n; ++i)
				es[n++] = &t.b[bi].e[i];
		for (unsigned i = 0; i < n; ++i)
			if ((es[i]->flags & KAD_F_CHECKING) && es[i]->check_sent_ns == now) {
				memcpy(k, es[i]->key, KAD_KEY_LEN);
				kad_table_heard(&t, k, &a, 0, 0, now + 50 * MSEC);
				all &= kad_table_find(&t, k)->srtt_us == 50000;
			}
	}
	ok(all, "an answer to a check measures the round trip (50 ms)");
	kad_tick(&t, now + 3 * SEC, 0, &act);
	ok(t.stats.check_timeouts == 3, "3 unanswered checks time out after 2 s (%llu)",
	   (unsigned long long)t.stats.check_timeouts);
	ok(act.n_check == 3, "the failing ones are checked again");
	kad_tick(&t, now + 5 * SEC, 0, &act);
	ok(t.stats.evicted == 3 && kad_table_size(&t) == 37,
	   "second failure in a row: evicted (size %u)", kad_table_size(&t));
	ok(t.stats.checks == total + 3, "no live entry was checked (%llu checks)",
	   (unsigned long long)t.stats.checks);

	/* Refresh: every bucket untouched for 15 min. */
	{
		bool range = true;
		unsigned n_ref = 0;

		/* The last touch was an answered check at 15 min + 205 s. */
		for (uint64_t tt = 2200 * SEC; tt < 2230 * SEC; tt += SEC) {
			kad_tick(&t, tt, 4, &act);
			for (unsigned i = 0; i < act.n_refresh; ++i) {
				unsigned bi = kad_table_bucket_index(&t, act.refresh[i]);
				unsigned cpl = kad_common_prefix(own, act.refresh[i]);

				range &= bi == t.n_buckets - 1 ? cpl == 256 : cpl == bi;
				++n_ref;
			}
			all &= act.n_refresh <= 2;
		}
		ok(n_ref == t.n_buckets && range,
		   "each of the %u buckets gets one refresh target in its range, "
		   "the last our own ID (%u)",
		   t.n_buckets, n_ref);
		ok(all, "at most 2 refreshes per tick");
	}
	kad_table_free(&t);
}

static void test_bootstrap(void)
{
	struct kad_table t;
	struct kad_actions act;
	uint8_t own[KAD_KEY_LEN];
	struct kad_contact boot[2];

	random_key(own);
	table_new(&t, own, NULL);
	for (unsigned i = 0; i < 2; ++i) {
		random_key(boot[i].key);
		boot[i].addr = addr_of(200 + i);
		boot[i].flags = 0;
		ok(kad_table_add_bootstrap(&t, &boot[i], 0) == 0, "bootstrap contact %u", i);
	}
	{
		struct kad_contact self = boot[0];

		memcpy(self.key, own, KAD_KEY_LEN);
		ok(kad_table_add_bootstrap(&t, &self, 0) == -EINVAL, "our own key is refused");
	}
	kad_tick(&t, 0, 4, &act);
	ok(act.bootstrap, "no heard entry: bootstrap");
	kad_tick(&t, SEC, 4, &act);
	ok(!act.bootstrap, "not again at once (backoff)");
	/* A bootstrap node answers a ping, but no lookup got answers yet. */
	kad_table_heard(&t, boot[0].key, &boot[0].addr, 0, 0, 2 * SEC);
	kad_tick(&t, 5 * SEC, 4, &act);
	ok(act.bootstrap, "pings answered are not a join: bootstrap again after 5 s");
	kad_tick(&t, 10 * SEC, 4, &act);
	ok(!act.bootstrap, "backoff doubles: not at 10 s");
	kad_tick(&t, 15 * SEC, 4, &act);
	ok(act.bootstrap, "but at 15 s");
	kad_table_bootstrapped(&t, 16 * SEC);
	kad_tick(&t, 60 * SEC, 4, &act);
	ok(!act.bootstrap && t.n_heard == 1 && t.joined, "joined: no bootstrap");
	ok(act.n_refresh == 1 && !memcmp(act.refresh[0], own, KAD_KEY_LEN),
	   "after the join every bucket is refreshed; the last one by our own ID");
	/* The table empties: bootstrap again. */
	kad_table_timeout(&t, boot[0].key, 61 * SEC);
	kad_table_timeout(&t, boot[0].key, 62 * SEC);
	ok(t.n_heard == 0, "the only heard entry failed twice");
	kad_tick(&t, 63 * SEC, 4, &act);
	ok(act.bootstrap && kad_table_find(&t, boot[0].key),
	   "empty table: bootstrap again, contacts re-added");
	kad_table_free(&t);
}

/* ---- lookups over a tiny in-memory network ---- */

struct net;

struct node {
	struct net *net;
	unsigned id;
	uint8_t key[KAD_KEY_LEN];
	struct kad_table t;
	struct kad_lookups ls;
	bool alive;
	struct kad_lookup_result last;
	unsigned n_done;
};

enum { MSG_FIND, MSG_NODES, MSG_PING, MSG_PONG };

struct msg {
	unsigned from, to, type;
	uint64_t txid;
	uint8_t target[KAD_KEY_LEN];
	size_t n;
	struct kad_contact nodes[KAD_K_MAX];
};

#define NET_MAX 128
#define QUEUE_MAX 8192

struct net {
	struct node node[NET_MAX];
	unsigned n;
	struct msg q[QUEUE_MAX];
	unsigned head, tail;
	bool hold;		/* keep messages in the queue, deliver by hand */
	unsigned sent_find;
};

static void net_send(struct net *net, const struct msg *m)
{
	if (net->tail - net->head < QUEUE_MAX)
		net->q[net->tail++ % QUEUE_MAX] = *m;
}

static unsigned node_of_addr(const struct ovl_addr *a)
{
	return (unsigned)a->ip[1] << 16 | (unsigned)a->ip[2] << 8 | a->ip[3];
}

static void op_find(void *ctx, const struct kad_contact *to, uint64_t txid,
		    const uint8_t target[KAD_KEY_LEN])
{
	struct node *nd = ctx;
	struct msg m = {.from = nd->id, .to = node_of_addr(&to->addr), .type = MSG_FIND,
			.txid = txid};

	memcpy(m.target, target, KAD_KEY_LEN);
	++nd->net->sent_find;
	net_send(nd->net, &m);
}

static void op_ping(void *ctx, const struct kad_contact *to)
{
	struct node *nd = ctx;
	struct msg m = {.from = nd->id, .to = node_of_addr(&to->addr), .type = MSG_PING};

	net_send(nd->net, &m);
}

static void op_done(void *ctx, const struct kad_lookup_result *r)
{
	struct node *nd = ctx;

	if (r->kind != KAD_KIND_USER)
		return;
	nd->last = *r;
	++nd->n_done;
}

static const struct kad_lookup_ops test_ops = {op_find, op_ping, op_done};

static void deliver(struct net *net, const struct msg *m, uint64_t now)
{
	struct node *to = &net->node[m->to], *from = &net->node[m->from];
	struct ovl_addr fa = addr_of(m->from);

	if (m->to >= net->n || !to->alive)
		return;
	switch (m->type) {
	case MSG_FIND: {
		struct msg r = {.from = m->to, .to = m->from, .type = MSG_NODES, .txid = m->txid};

		kad_table_heard(&to->t, from->key, &fa, 0, 0, now);
		r.n = kad_table_closest(&to->t, m->target, 20, r.nodes, KAD_WANT_HEARD);
		net_send(net, &r);
		break;
	}
	case MSG_NODES:
		kad_lookups_on_nodes(&to->ls, m->txid, from->key, &fa, 0, m->nodes, m->n, now);
		break;
	case MSG_PING: {
		struct msg r = {.from = m->to, .to = m->from, .type = MSG_PONG};

		kad_table_heard(&to->t, from->key, &fa, 0, 0, now);
		net_send(net, &r);
		break;
	}
	case MSG_PONG:
		kad_table_heard(&to->t, from->key, &fa, 0, 0, now);
		break;
	}
}

static void net_run(struct net *net, uint64_t now)
{
	while (net->head != net->tail)
		deliver(net, &net->q[net->head++ % QUEUE_MAX], now);
}

static struct net *net_new(unsigned n, const struct kad_lookup_params *lp)
{
	struct net *net = calloc(1, sizeof(*net));

	net->n = n;
	for (unsigned i = 0; i < n; ++i) {
		struct node *nd = &net->node[i];

		nd->net = net;
		nd->id = i;
		nd->alive = true;
		random_key(nd->key);
		table_new(&nd->t, nd->key, NULL);
		if (kad_lookups_init(&nd->ls, &nd->t, lp, &test_ops, nd)) {
			printf("Bail out! kad_lookups_init\n");
			exit(1);
		}
	}
	return net;
}

static void net_free(struct net *net)
{
	for (unsigned i = 0; i < net->n; ++i) {
		kad_lookups_free(&net->node[i].ls);
		kad_table_free(&net->node[i].t);
	}
	free(net);
}

static void know(struct net *net, unsigned a, unsigned b)
{
	struct ovl_addr ab = addr_of(b);

	kad_table_heard(&net->node[a].t, net->node[b].key, &ab, 0, 0, 0);
}

static void test_lookup_chain(void)
{
	struct net *net = net_new(4, NULL);
	struct node *a = &net->node[0];
	uint64_t tx;

	/* 0 knows 1, 1 knows 2, 2 knows 3: finding 3 takes two hops. */
	know(net, 0, 1);
	know(net, 1, 2);
	know(net, 2, 3);
	tx = 0;
	ok(kad_lookup_start(&a->ls, net->node[3].key, KAD_LOOKUP_STOP_ON_FOUND, SEC, &tx) == 0,
	   "lookup started");
	ok(tx != 0, "txid %llx", (unsigned long long)tx);
	net_run(net, SEC);
	ok(a->n_done == 1 && a->last.found && a->last.end == KAD_END_FOUND,
	   "0 -> 1 -> 2 -> 3: the target answered");
	ok(a->last.hops == 2 && a->last.rounds == 3 && a->last.sent == 3 && a->last.replies == 3,
	   "hops 2, rounds 3, 3 queries (hops %u rounds %u sent %u)", a->last.hops,
	   a->last.rounds, a->last.sent);
	ok(a->last.txid == tx, "the result carries the txid");
	ok(kad_table_find(&a->t, net->node[3].key) &&
	   (kad_table_find(&a->t, net->node[3].key)->flags & KAD_F_REPLIED),
	   "the target is now a heard entry of the searcher");
	ok(kad_table_find(&net->node[3].t, a->key) != NULL,
	   "the target heard the searcher (any message offers its sender)");
	ok(a->ls.n_active == 0, "the lookup's slot is free");
	net_free(net);
}

static void test_lookup_converge(void)
{
	static struct naive nv;
	struct kad_lookup_params lp;
	struct net *net;
	bool found = true, conv = true;
	unsigned hops_max = 0;

	/* The plain Kademlia lookup (one path) converges on exactly the k
	 * closest; disjoint paths trade that for resistance to a poisoned
	 * path (test_kademlia_defences.c). */
	kad_lookup_params_default(&lp);
	lp.paths = 1;
	net = net_new(NET_MAX, &lp);

	/* Every node is offered every other node in a random order; its
	 * buckets keep what Kademlia keeps: everyone in the deep buckets, 20
	 * of the many in the shallow ones. */
	for (unsigned i = 0; i < net->n; ++i) {
		unsigned order[NET_MAX];

		for (unsigned j = 0; j < net->n; ++j)
			order[j] = j;
		for (unsigned j = net->n - 1; j > 0; --j) {
			unsigned x = (unsigned)(splitmix(&seed) % (j + 1)), tmp = order[j];

			order[j] = order[x];
			order[x] = tmp;
		}
		for (unsigned j = 0; j < net->n; ++j)
			if (order[j] != i)
				know(net, i, order[j]);
	}
	for (unsigned r = 0; r < 50; ++r) {
		unsigned src = (unsigned)(splitmix(&seed) % net->n);
		unsigned dst = (unsigned)(splitmix(&seed) % net->n);
		struct node *s = &net->node[src];
		uint8_t target[KAD_KEY_LEN];
		uint64_t tx;

		if (dst == src)
			dst = (dst + 1) % net->n;
		/* Half find a node, half converge on a random key. */
		if (r % 2) {
			s->n_done = 0;
			kad_lookup_start(&s->ls, net->node[dst].key, KAD_LOOKUP_STOP_ON_FOUND,
					 2 * SEC + r, &tx);
			net_run(net, 2 * SEC + r);
			found &= s->n_done == 1 && s->last.found;
			if (s->last.hops > hops_max)
				hops_max = s->last.hops;
			continue;
		}
		random_key(target);
		s->n_done = 0;
		kad_lookup_start(&s->ls, target, 0, 2 * SEC + r, &tx);
		net_run(net, 2 * SEC + r);
		/* The true 20 closest among all nodes but the searcher. */
		nv.n = 0;
		for (unsigned j = 0; j < net->n; ++j)
			if (j != src)
				memcpy(nv.all[nv.n++].key, net->node[j].key, KAD_KEY_LEN);
		sort_target = target;
		qsort(nv.all, nv.n, sizeof(nv.all[0]), naive_cmp);
		if (s->n_done != 1 || s->last.end != KAD_END_CONVERGED || s->last.n_closest != 20) {
			diag("lookup %u: done %u end %u closest %zu", r, s->n_done, s->last.end,
			     s->last.n_closest);
			conv = false;
			continue;
		}
		for (unsigned j = 0; j < 20; ++j)
			if (memcmp(s->last.closest[j].key, nv.all[j].key, KAD_KEY_LEN)) {
				diag("lookup %u: closest[%u] differs", r, j);
				conv = false;
				break;
			}
	}
	ok(found, "128 nodes: 25 lookups of node keys all found (max hops %u)", hops_max);
	ok(conv, "25 lookups of random keys converge on the true 20 closest");
	net_free(net);
}

static void test_lookup_timeouts(void)
{
	struct kad_lookup_params lp;
	struct net *net;
	struct node *a;
	uint64_t tx, dl;
	uint8_t target[KAD_KEY_LEN];
	unsigned late_from;

	kad_lookup_params_default(&lp);
	net = net_new(8, &lp);
	a = &net->node[0];
	for (unsigned i = 1; i < 7; ++i)
		know(net, 0, i);
	memcpy(target, net->node[7].key, KAD_KEY_LEN);
	kad_lookups_tick(&a->ls, 10 * SEC);
	net->sent_find = 0;
	kad_lookup_start(&a->ls, target, KAD_LOOKUP_STOP_ON_FOUND, 10 * SEC, &tx);
	ok(net->sent_find == 3 && a->ls.stats.sent == 3, "alpha = 3 queries in flight");
	dl = kad_lookups_deadline(&a->ls);
	ok(dl == 11 * SEC, "deadline: the queries' timeout, 1 s (%llu ms)",
	   (unsigned long long)(dl / MSEC));
	/* Nobody answers: hold the three requests. */
	late_from = net->q[net->head % QUEUE_MAX].to;
	net->head = net->tail;
	kad_lookups_tick(&a->ls, 10 * SEC + 999 * MSEC);
	ok(net->sent_find == 3, "no timeout before 1 s");
	kad_lookups_tick(&a->ls, 11 * SEC);
	ok(a->ls.stats.timeouts == 3 && net->sent_find == 6,
	   "three timeouts, three other candidates asked");
	ok(kad_table_find(&a->t, net->node[late_from].key)->fails == 1,
	   "the table counted the failure");
	net->head = net->tail;

	/* A stray answer: right sender, wrong txid.  Ignored. */
	{
		struct kad_contact c;
		struct ovl_addr fa = addr_of(late_from);

		memcpy(c.key, target, KAD_KEY_LEN);
		c.addr = addr_of(7);
		c.flags = KAD_F_HEARD;
		kad_lookups_on_nodes(&a->ls, tx + 1, net->node[late_from].key, &fa, 0, &c, 1,
				     11 * SEC + 10 * MSEC);
		ok(a->ls.stats.ignored == 1 && net->sent_find == 6,
		   "txid mismatch: ignored, nothing asked");
		ok(kad_table_find(&a->t, net->node[late_from].key)->fails == 1,
		   "and it proves nothing: the table is untouched (issue 17)");
		/* Right txid from a node never asked: ignored too. */
		{
			struct ovl_addr f7 = addr_of(7);

			kad_lookups_on_nodes(&a->ls, tx, net->node[7].key, &f7, 0, &c, 1,
					     11 * SEC + 20 * MSEC);
			ok(a->ls.stats.ignored == 2 && net->sent_find == 6,
			   "an answer from a node not asked: ignored");
			/* Right txid and key from another address than asked. */
			kad_lookups_on_nodes(&a->ls, tx, net->node[late_from].key, &f7, 0, &c, 1,
					     11 * SEC + 25 * MSEC);
			ok(a->ls.stats.ignored == 3 && a->ls.stats.late == 0 && net->sent_find == 6,
			   "an answer from another address than the one asked: ignored");
		}
		/* The late answer of a timed-out query is used: it names the
		 * target, which is asked at once. */
		kad_lookups_on_nodes(&a->ls, tx, net->node[late_from].key, &fa, 0, &c, 1,
				     11 * SEC + 30 * MSEC);
		ok(a->ls.stats.late == 1 && net->sent_find == 7,
		   "a late answer is accepted and its news followed");
	}
	/* The target's answer is lost once: it is asked again. */
	net->head = net->tail;
	kad_lookups_tick(&a->ls, 12 * SEC + 30 * MSEC);
	ok(net->sent_find >= 8, "the exact target is asked again after a timeout");
	net_run(net, 12 * SEC + 40 * MSEC);
	ok(a->n_done == 1 && a->last.found && a->last.timeouts >= 4,
	   "found on the retry (%u timeouts)", a->last.timeouts);
	ok(a->last.hops == 1, "hops 1: named by a first-hop node");
	net_free(net);
}

static void test_lookup_exhausted(void)
{
	struct net *net = net_new(4, NULL);
	struct node *a = &net->node[0];
	uint64_t tx, now = SEC;

	know(net, 0, 1);
	know(net, 0, 2);
	net->node[1].alive = false;
	net->node[2].alive = false;
	kad_lookup_start(&a->ls, net->node[3].key, KAD_LOOKUP_STOP_ON_FOUND, now, &tx);
	for (unsigned i = 0; i < 5 && a->n_done == 0; ++i) {
		net_run(net, now);
		now += SEC;
		kad_lookups_tick(&a->ls, now);
	}
	ok(a->n_done == 1 && !a->last.found && a->last.end == KAD_END_EXHAUSTED,
	   "every candidate dead: the lookup ends exhausted");
	ok(kad_table_size(&a->t) == 2, "one failure does not evict heard entries");
	/* An empty table ends a lookup at once. */
	{
		struct node *b = &net->node[3];

		b->n_done = 0;
		kad_lookup_start(&b->ls, a->key, 0, now, &tx);
		ok(b->n_done == 1 && b->last.end == KAD_END_EXHAUSTED && b->ls.n_active == 0,
		   "nothing to ask: done at once");
	}
	/* Slots are bounded. */
	{
		struct node *c = &net->node[2];
		unsigned started = 0;
		int r = 0;

		know(net, 2, 3);
		for (unsigned i = 0; i < 40; ++i) {
			uint8_t t[KAD_KEY_LEN];

			random_key(t);
			r = kad_lookup_start(&c->ls, t, 0, now, &tx);
			if (r == 0)
				++started;
			else
				break;
		}
		ok(started == 16 && r == -EBUSY, "16 concurrent lookups, then -EBUSY");
	}
	net_free(net);
}

/* ---- bounded memory under floods ---- */

static void test_flood(void)
{
	struct kad_table t;
	uint8_t own[KAD_KEY_LEN], k[KAD_KEY_LEN];
	struct ovl_addr a = addr_of(1);
	size_t bound;

	random_key(own);
	table_new(&t, own, NULL);
	for (unsigned i = 0; i < 200000; ++i) {
		random_key(k);
		kad_table_heard(&t, k, &a, 0, 0, i);
	}
	bound = (size_t)t.n_buckets * 20;
	ok(kad_table_size(&t) <= bound && kad_table_cache_size(&t) <= t.n_buckets * 8u,
	   "200k random heard(): %u entries + %u cached in %u buckets", kad_table_size(&t),
	   kad_table_cache_size(&t), t.n_buckets);
	ok(t.n_buckets <= 24, "random keys open about log2(N/k) buckets (%u)", t.n_buckets);
	diag("table memory after the flood: %zu bytes", kad_table_memory(&t));

	/* The worst case: keys crafted to share ever longer prefixes with ours
	 * force every split; the table still stops at 256 buckets. */
	for (unsigned i = 0; i < 256 * 40; ++i) {
		key_with_cpl(k, own, i % 256);
		kad_table_heard(&t, k, &a, 0, 0, 300000 + i);
	}
	ok(t.n_buckets <= 256 && kad_table_size(&t) <= 256 * 20 &&
	   kad_table_memory(&t) <= 256 * (sizeof(struct kad_bucket) + 28 * sizeof(struct kad_entry)),
	   "crafted deep keys: %u buckets, %u entries, %zu bytes (bounded)", t.n_buckets,
	   kad_table_size(&t), kad_table_memory(&t));
	kad_table_free(&t);
}

static void test_flood_nodes(void)
{
	struct net *net = net_new(3, NULL);
	struct node *a = &net->node[0];
	struct kad_contact junk[200];
	struct ovl_addr f1 = addr_of(1);
	uint64_t tx;

	know(net, 0, 1);
	kad_lookup_start(&a->ls, net->node[2].key, 0, SEC, &tx);
	net->head = net->tail;
	for (unsigned i = 0; i < 200; ++i) {
		random_key(junk[i].key);
		junk[i].addr = addr_of(5000 + i);
		junk[i].flags = KAD_F_HEARD;
	}
	kad_lookups_on_nodes(&a->ls, tx, net->node[1].key, &f1, 0, junk, 200, SEC + MSEC);
	ok(kad_table_size(&a->t) <= 1 + KAD_NODES_MAX && a->ls.stats.sent <= 1 + 3,
	   "an oversized NODES is read up to %u contacts (table %u, sent %llu)", KAD_NODES_MAX,
	   kad_table_size(&a->t), (unsigned long long)a->ls.stats.sent);
	{
		bool heard = false;
		struct kad_contact out[40];
		size_t n = kad_table_closest(&a->t, a->key, 40, out, KAD_WANT_HEARD);

		for (size_t i = 0; i < n; ++i)
			heard |= out[i].key[0] == junk[0].key[0] &&
				 !memcmp(out[i].key, junk[0].key, KAD_KEY_LEN);
		ok(n == 1 && !heard, "claims of HEARD in NODES are not believed");
	}
	net_free(net);
}

/* A NATed node's anchors (kad_table_anchors): the public heard entries
 * nearest our own key; each keepalive is a liveness check, so an anchor
 * that left is replaced within a keepalive instead of at its stale check
 * 15 minutes later (issue 19). */
static void test_anchors(void)
{
	struct kad_table t;
	struct kad_actions act;
	struct kad_contact c[3];
	uint8_t own[KAD_KEY_LEN], k[6][KAD_KEY_LEN];
	const struct kad_entry *e;
	bool marked = true;
	size_t n;

	random_key(own);
	table_new(&t, own, NULL);
	/* k[0] is nearest, and NATed; k[1] .. k[5] public, nearest first. */
	for (unsigned i = 0; i < 6; ++i) {
		key_with_cpl(k[i], own, 20 - i);
		kad_table_heard(&t, k[i], P(addr_of(100 + i)), i ? 0 : KAD_F_NATED, 0, SEC);
	}
	n = kad_table_anchors(&t, 3, c, 10 * SEC);
	for (size_t i = 0; i < n; ++i) {
		e = kad_table_find(&t, c[i].key);
		marked &= e && (e->flags & KAD_F_CHECKING) && e->check_sent_ns == 10 * SEC;
	}
	ok(n == 3 && !memcmp(c[0].key, k[1], 32) && !memcmp(c[1].key, k[2], 32) &&
	   !memcmp(c[2].key, k[3], 32) && marked,
	   "anchors: the 3 nearest public entries, each ping a liveness check");
	ok(t.next_ns <= 10 * SEC + t.p.check_timeout_ns,
	   "anchors: the table wants a tick when their checks time out");
	/* k[1] and k[3] answer the keepalive, k[2] has left. */
	kad_table_heard(&t, k[1], P(addr_of(101)), 0, 0, 10 * SEC + 100 * MSEC);
	kad_table_heard(&t, k[3], P(addr_of(103)), 0, 0, 10 * SEC + 100 * MSEC);
	kad_tick(&t, 12 * SEC, 0, &act);
	e = kad_table_find(&t, k[2]);
	ok(e && e->fails == 1 && !(e->flags & KAD_F_CHECKING), "anchors: the silent one failed");
	n = kad_table_anchors(&t, 3, c, 34 * SEC);
	ok(n == 3 && !memcmp(c[1].key, k[2], 32),
	   "anchors: one lost keepalive does not move an anchor");
	kad_table_heard(&t, k[1], P(addr_of(101)), 0, 0, 34 * SEC + 100 * MSEC);
	kad_table_heard(&t, k[3], P(addr_of(103)), 0, 0, 34 * SEC + 100 * MSEC);
	kad_tick(&t, 37 * SEC, 0, &act);
	ok(!kad_table_find(&t, k[2]), "anchors: two in a row evict it");
	n = kad_table_anchors(&t, 3, c, 58 * SEC);
	ok(n == 3 && !memcmp(c[0].key, k[1], 32) && !memcmp(c[1].key, k[3], 32) &&
	   !memcmp(c[2].key, k[4], 32),
	   "anchors: the next keepalive replaces it with the next nearest");
	kad_table_free(&t);
}

/* A small network's one public node is its boot node.  Down for two
 * keepalives, it is evicted as an anchor; the members' own entries keep
 * the table from the bootstrap (it has heard entries), so without more
 * the boot node would never come back.  With no public node heard, the
 * boot nodes stand in as anchors, learned again: one that is back
 * answers the keepalive and anchors us again. */
static void test_anchors_boot(void)
{
	struct kad_table t;
	struct kad_actions act;
	struct kad_contact boot, c[3];
	uint8_t own[KAD_KEY_LEN], member[KAD_KEY_LEN];
	const struct kad_entry *e;
	size_t n;

	random_key(own);
	table_new(&t, own, NULL);
	memset(&boot, 0, sizeof(boot));
	key_with_cpl(boot.key, own, 3);
	boot.addr = *P(addr_of(200));
	ok(kad_table_add_bootstrap(&t, &boot, 0) == 0, "anchors/boot: the boot node");
	kad_table_heard(&t, boot.key, P(addr_of(200)), 0, 0, SEC);
	key_with_cpl(member, own, 9);
	kad_table_heard(&t, member, P(addr_of(201)), KAD_F_NATED, 0, SEC);
	kad_table_bootstrapped(&t, SEC);
	n = kad_table_anchors(&t, 3, c, 10 * SEC);
	ok(n == 1 && !memcmp(c[0].key, boot.key, 32), "anchors/boot: the boot node anchors us");
	/* It goes down: two keepalives unanswered; the member still talks. */
	kad_tick(&t, 13 * SEC, 0, &act);
	kad_table_heard(&t, member, P(addr_of(201)), KAD_F_NATED, 0, 30 * SEC);
	n = kad_table_anchors(&t, 3, c, 35 * SEC);
	kad_tick(&t, 38 * SEC, 0, &act);
	ok(!kad_table_find(&t, boot.key) && t.n_heard == 1 && !act.bootstrap,
	   "anchors/boot: evicted, and the table (one member heard) does not bootstrap");
	/* The next keepalive: no public node heard, the boot node stands in. */
	n = kad_table_anchors(&t, 3, c, 60 * SEC);
	e = kad_table_find(&t, boot.key);
	ok(n == 1 && !memcmp(c[0].key, boot.key, 32) && e && (e->flags & KAD_F_CHECKING),
	   "anchors/boot: no public node heard: the boot node, learned again, is pinged");
	/* Still down: dropped again at the check's timeout, tried again at
	 * the next keepalive. */
	kad_tick(&t, 63 * SEC, 0, &act);
	ok(!kad_table_find(&t, boot.key), "anchors/boot: still down, dropped at once");
	n = kad_table_anchors(&t, 3, c, 85 * SEC);
	ok(n == 1 && kad_table_find(&t, boot.key), "anchors/boot: and asked again a keepalive later");
	/* Back: it answers, and anchors us as a heard entry. */
	kad_table_heard(&t, boot.key, P(addr_of(200)), 0, 0, 85 * SEC + 100 * MSEC);
	kad_tick(&t, 88 * SEC, 0, &act);
	e = kad_table_find(&t, boot.key);
	n = kad_table_anchors(&t, 3, c, 110 * SEC);
	ok(e && (e->flags & KAD_F_HEARD) && n == 1 && !memcmp(c[0].key, boot.key, 32),
	   "anchors/boot: back, heard, our anchor again");
	kad_table_free(&t);
}

int main(void)
{
	test_prefix();
	test_buckets();
	test_learned();
	test_closest();
	test_liveness();
	test_anchors();
	test_anchors_boot();
	test_bootstrap();
	test_lookup_chain();
	test_lookup_converge();
	test_lookup_timeouts();
	test_lookup_exhausted();
	test_flood();
	test_flood_nodes();
	return tap_done();
}
