/* The Kademlia routing table; see kademlia.h for the design.  This file is
 * the only writer of struct kad_table and its buckets.
 *
 * Keys here are public node IDs: comparing them leaks nothing, so plain
 * memcmp is used (the constant-time rule of STYLE.md is for secrets and
 * MACs). */
#include "proto/overlay/kademlia.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MSEC 1000000ull
#define SEC (1000 * MSEC)

void kad_params_default(struct kad_params *p)
{
	p->k = 20;
	p->cache = 8;
	p->max_fails = 2;
	p->stale_ns = 15 * 60 * SEC;
	p->refresh_ns = 15 * 60 * SEC;
	p->check_timeout_ns = 2 * SEC;
	p->checks_per_tick = 8;
	p->refresh_per_tick = 2;
	p->tick_ns = 1 * SEC;
	p->boot_min_ns = 5 * SEC;
	p->boot_max_ns = 5 * 60 * SEC;
	p->defences = KAD_DEF_ALL;
	p->key_ok = NULL;
	p->key_ok_ctx = NULL;
	p->per_ip = 1;
	p->per_subnet = 2;
	p->nat_live_ns = 60 * SEC;
	p->nat_replied_ns = 10 * 60 * SEC;
}

bool kad_table_key_ok(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN])
{
	return !(t->p.defences & KAD_DEF_KEYS) || !t->p.key_ok ||
	       t->p.key_ok(t->p.key_ok_ctx, key);
}

/* Addresses where many honest nodes share a subnet: a LAN or a lab.
 * BEP 42 exempts the local ranges from its rule the same way. */
static bool local_ip(const struct ovl_addr *a)
{
	const uint8_t *ip = a->ip;

	if (a->family == OVL_AF_INET)
		return ip[0] == 10 || ip[0] == 127 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		       (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254) ||
		       (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
		       (ip[0] == 192 && ip[1] == 0 && ip[2] == 2) ||
		       (ip[0] == 198 && ip[1] == 51 && ip[2] == 100) ||
		       (ip[0] == 203 && ip[1] == 0 && ip[2] == 113) ||
		       (ip[0] == 198 && (ip[1] & 0xfe) == 18);
	return (ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) ||
	       (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8) ||
	       !memcmp(ip, (const uint8_t[16]){ [15] = 1 }, 16);
}

bool kad_same_subnet(const struct ovl_addr *a, const struct ovl_addr *b, bool *same_ip)
{
	size_t plen = a->family == OVL_AF_INET ? 3 : 8;

	*same_ip = false;
	if (a->family != b->family || memcmp(a->ip, b->ip, plen) || local_ip(a))
		return false;
	*same_ip = !memcmp(a->ip, b->ip, 16);
	return true;
}

unsigned kad_common_prefix(const uint8_t a[KAD_KEY_LEN], const uint8_t b[KAD_KEY_LEN])
{
	for (unsigned i = 0; i < KAD_KEY_LEN; ++i) {
		unsigned x = a[i] ^ b[i];

		if (x)
			return i * 8 + (unsigned)__builtin_clz(x) - (sizeof(unsigned) * 8 - 8);
	}
	return KAD_BITS;
}

int kad_distance_cmp(const uint8_t target[KAD_KEY_LEN], const uint8_t a[KAD_KEY_LEN],
		     const uint8_t b[KAD_KEY_LEN])
{
	for (unsigned i = 0; i < KAD_KEY_LEN; ++i) {
		uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];

		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

/* Keys are compared most often with keys that differ in their first
 * bytes (bucket_find scans a bucket per datagram): the first word decides
 * those without a call. */
static bool key_eq(const uint8_t *a, const uint8_t *b)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x == y && memcmp(a + sizeof(x), b + sizeof(y), KAD_KEY_LEN - sizeof(x)) == 0;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Work appeared that may be due before the deadline kad_tick() last gave. */
static void want_tick(struct kad_table *t, uint64_t at)
{
	t->next_ns = min64(t->next_ns, at);
}

unsigned kad_table_bucket_index(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN])
{
	unsigned c = kad_common_prefix(t->own, key);

	return c < t->n_buckets - 1 ? c : t->n_buckets - 1;
}

static struct kad_entry *cache_of(const struct kad_table *t, const struct kad_bucket *b)
{
	return b->e + t->p.k;
}

/* Index of key among b's entries (cached false) or cache (cached true);
 * -1 if absent. */
static int bucket_find(const struct kad_table *t, const struct kad_bucket *b,
		       const uint8_t *key, bool *cached)
{
	const struct kad_entry *c = cache_of(t, b);

	for (unsigned i = 0; i < b->n; ++i)
		if (key_eq(b->e[i].key, key)) {
			*cached = false;
			return (int)i;
		}
	for (unsigned i = 0; i < b->n_cache; ++i)
		if (key_eq(c[i].key, key)) {
			*cached = true;
			return (int)i;
		}
	return -1;
}

const struct kad_entry *kad_table_find(const struct kad_table *t,
				       const uint8_t key[KAD_KEY_LEN])
{
	const struct kad_bucket *b = &t->b[kad_table_bucket_index(t, key)];
	bool cached;
	int i = bucket_find(t, b, key, &cached);

	if (i < 0)
		return NULL;
	return cached ? &cache_of(t, b)[i] : &b->e[i];
}

static int bucket_alloc(struct kad_table *t, struct kad_bucket *b, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->e = calloc(t->p.k + t->p.cache, sizeof(*b->e));
	if (!b->e)
		return -ENOMEM;
	b->touched_ns = now_ns;
	return 0;
}

int kad_table_init(struct kad_table *t, const uint8_t own_id[KAD_KEY_LEN],
		   const struct kad_params *params, kad_rng_fn *rng, void *rng_ctx,
		   uint64_t now_ns)
{
	int ret;

	memset(t, 0, sizeof(*t));
	if (params)
		t->p = *params;
	else
		kad_params_default(&t->p);
	if (!rng || t->p.k < 1 || t->p.k > KAD_K_MAX || t->p.cache > KAD_CACHE_MAX ||
	    t->p.max_fails < 1 || t->p.max_fails > 100 ||
	    t->p.checks_per_tick > KAD_CHECKS_MAX ||
	    t->p.refresh_per_tick > KAD_REFRESH_MAX || t->p.tick_ns == 0 ||
	    t->p.boot_min_ns == 0 || t->p.boot_max_ns < t->p.boot_min_ns ||
	    t->p.per_ip < 1 || t->p.per_subnet < t->p.per_ip)
		return -EINVAL;
	memcpy(t->own, own_id, KAD_KEY_LEN);
	t->rng = rng;
	t->rng_ctx = rng_ctx;
	t->cap_buckets = 4;
	t->b = calloc(t->cap_buckets, sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	ret = bucket_alloc(t, &t->b[0], now_ns);
	if (ret < 0) {
		free(t->b);
		t->b = NULL;
		return ret;
	}
	t->n_buckets = 1;
	t->boot_backoff_ns = t->p.boot_min_ns;
	t->boot_next_ns = now_ns;
	t->check_next_ns = now_ns;
	t->refresh_next_ns = now_ns;
	t->self_touched_ns = now_ns;
	t->next_ns = now_ns;
	return 0;
}

void kad_table_free(struct kad_table *t)
{
	if (!t->b)
		return;
	for (unsigned i = 0; i < t->n_buckets; ++i)
		free(t->b[i].e);
	free(t->b);
	t->b = NULL;
	t->n_buckets = t->cap_buckets = 0;
	t->n_entries = t->n_heard = 0;
}

/* ---- Moving entries; these keep n_entries and n_heard true. ---- */

static void bucket_append(struct kad_table *t, struct kad_bucket *b, const struct kad_entry *e)
{
	b->e[b->n++] = *e;
	++t->n_entries;
	if (e->flags & KAD_F_HEARD)
		++t->n_heard;
}

/* The cache entry to promote: heard before learned, then the most recent. */
static int cache_freshest(const struct kad_table *t, const struct kad_bucket *b)
{
	const struct kad_entry *c = cache_of(t, b);
	int best = -1;

	for (unsigned i = 0; i < b->n_cache; ++i) {
		if (best >= 0) {
			bool h = c[i].flags & KAD_F_HEARD, bh = c[best].flags & KAD_F_HEARD;

			if (h != bh ? !h : c[i].last_seen_ns <= c[best].last_seen_ns)
				continue;
		}
		best = (int)i;
	}
	return best;
}

static void cache_remove(const struct kad_table *t, struct kad_bucket *b, unsigned i)
{
	struct kad_entry *c = cache_of(t, b);

	c[i] = c[--b->n_cache];
}

/* Fills free slots of b from its cache. */
static void bucket_promote(struct kad_table *t, struct kad_bucket *b, uint64_t now_ns)
{
	while (b->n < t->p.k && b->n_cache) {
		int j = cache_freshest(t, b);
		struct kad_entry e = cache_of(t, b)[j];

		cache_remove(t, b, (unsigned)j);
		e.flags &= (uint8_t)~KAD_F_CHECKING;
		bucket_append(t, b, &e);
		++t->stats.promoted;
		if (!(e.flags & KAD_F_HEARD))
			want_tick(t, max64(now_ns, t->check_next_ns));
	}
}

static void bucket_remove(struct kad_table *t, struct kad_bucket *b, unsigned i,
			  uint64_t now_ns)
{
	if (b->e[i].flags & KAD_F_HEARD)
		--t->n_heard;
	--t->n_entries;
	b->e[i] = b->e[--b->n];
	bucket_promote(t, b, now_ns);
	if (t->n_heard == 0) {
		t->joined = false;
		want_tick(t, max64(now_ns, t->boot_next_ns));
	}
}

/* Puts e in b's cache: into a free slot, else over the oldest learned
 * entry, else (e heard) over the oldest entry. */
static enum kad_insert cache_put(struct kad_table *t, struct kad_bucket *b,
				 const struct kad_entry *e)
{
	struct kad_entry *c = cache_of(t, b);
	int victim = -1;

	if (t->p.cache == 0)
		return KAD_INS_DROPPED;
	if (b->n_cache < t->p.cache) {
		c[b->n_cache++] = *e;
		++t->stats.cached;
		return KAD_INS_CACHED;
	}
	for (unsigned i = 0; i < b->n_cache; ++i) {
		if (c[i].flags & KAD_F_HEARD)
			continue;
		if (victim < 0 || c[i].last_seen_ns < c[victim].last_seen_ns)
			victim = (int)i;
	}
	if (victim < 0 && (e->flags & KAD_F_HEARD))
		for (unsigned i = 0; i < b->n_cache; ++i)
			if (victim < 0 || c[i].last_seen_ns < c[victim].last_seen_ns)
				victim = (int)i;
	if (victim < 0)
		return KAD_INS_DROPPED;
	c[victim] = *e;
	++t->stats.cached;
	return KAD_INS_CACHED;
}

/* Splits the last bucket: entries deeper than its index move to a new
 * last bucket.  0, -ENOSPC (256 buckets) or -ENOMEM. */
static int split_last(struct kad_table *t, uint64_t now_ns)
{
	unsigned l = t->n_buckets - 1;
	struct kad_bucket *old, *nb;
	struct kad_entry *oc, *nc;

	if (t->n_buckets >= KAD_BITS)
		return -ENOSPC;
	if (t->n_buckets == t->cap_buckets) {
		unsigned cap = t->cap_buckets * 2 > KAD_BITS ? KAD_BITS : t->cap_buckets * 2;
		struct kad_bucket *b = realloc(t->b, cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		t->b = b;
		t->cap_buckets = cap;
	}
	nb = &t->b[l + 1];
	if (bucket_alloc(t, nb, t->b[l].touched_ns) < 0)
		return -ENOMEM;
	old = &t->b[l];
	++t->n_buckets;
	++t->stats.splits;
	for (unsigned i = 0; i < old->n;) {
		if (kad_common_prefix(t->own, old->e[i].key) > l) {
			nb->e[nb->n++] = old->e[i];
			old->e[i] = old->e[--old->n];
		} else {
			++i;
		}
	}
	oc = cache_of(t, old);
	nc = cache_of(t, nb);
	for (unsigned i = 0; i < old->n_cache;) {
		if (kad_common_prefix(t->own, oc[i].key) > l) {
			nc[nb->n_cache++] = oc[i];
			cache_remove(t, old, i);
		} else {
			++i;
		}
	}
	/* The moves kept n_entries; only the promotions count. */
	bucket_promote(t, old, now_ns);
	bucket_promote(t, nb, now_ns);
	return 0;
}

/* KAD_DEF_SUBNET: whether bucket b with its cache has room for one more
 * entry at addr. */
static bool subnet_room(const struct kad_table *t, const struct kad_bucket *b,
			const struct ovl_addr *addr)
{
	const struct kad_entry *c = cache_of(t, b);
	unsigned ip = 0, net = 0;
	bool same_ip;

	if (!(t->p.defences & KAD_DEF_SUBNET))
		return true;
	for (unsigned i = 0; i < b->n + b->n_cache; ++i) {
		const struct kad_entry *x = i < b->n ? &b->e[i] : &c[i - b->n];

		if (!kad_same_subnet(&x->addr, addr, &same_ip))
			continue;
		ip += same_ip;
		if (++net >= t->p.per_subnet || ip >= t->p.per_ip)
			return false;
	}
	return true;
}

/* Places a contact that is in no bucket and no cache. */
static enum kad_insert insert_new(struct kad_table *t, const struct kad_entry *e,
				  uint64_t now_ns)
{
	struct kad_bucket *b;
	unsigned bi;

	/* Checked against the bucket before any split: a split only moves
	 * entries apart, so the bound still holds after it. */
	if (!subnet_room(t, &t->b[kad_table_bucket_index(t, e->key)], &e->addr)) {
		++t->stats.subnet_full;
		return KAD_INS_DROPPED;
	}
	for (;;) {
		bi = kad_table_bucket_index(t, e->key);
		b = &t->b[bi];
		if (b->n < t->p.k) {
			bucket_append(t, b, e);
			b->touched_ns = now_ns;
			++t->stats.inserted;
			return KAD_INS_ADDED;
		}
		/* Only the bucket that covers our own ID splits, and only if the
		 * newcomer would land in the new half. */
		if (bi != t->n_buckets - 1 || kad_common_prefix(t->own, e->key) <= bi)
			break;
		if (split_last(t, now_ns) < 0)
			break;
	}
	/* A failed split may still have moved the bucket array. */
	b = &t->b[bi];
	if (e->flags & KAD_F_HEARD) {
		/* A proven node takes the slot of one only named by others. */
		int victim = -1;

		for (unsigned i = 0; i < b->n; ++i) {
			if (b->e[i].flags & KAD_F_HEARD)
				continue;
			if (victim < 0 || b->e[i].last_seen_ns < b->e[victim].last_seen_ns)
				victim = (int)i;
		}
		if (victim >= 0) {
			struct kad_entry old = b->e[victim];

			old.flags &= (uint8_t)~KAD_F_CHECKING;
			b->e[victim] = *e;
			++t->n_heard;
			b->touched_ns = now_ns;
			++t->stats.displaced;
			cache_put(t, b, &old);
			return KAD_INS_ADDED;
		}
	}
	return cache_put(t, b, e);
}

static bool addr_ok(const struct ovl_addr *a)
{
	return a && (a->family == OVL_AF_INET || a->family == OVL_AF_INET6);
}

static void entry_heard(struct kad_entry *e, const struct ovl_addr *addr, unsigned flags,
			uint32_t rtt_us, uint64_t now_ns)
{
	if (e->flags & KAD_F_CHECKING) {
		if (!rtt_us && now_ns >= e->check_sent_ns)
			rtt_us = (uint32_t)min64((now_ns - e->check_sent_ns) / 1000, UINT32_MAX);
		e->flags &= (uint8_t)~KAD_F_CHECKING;
	}
	/* An answer from another address than the one that answered
	 * before: the old validation does not carry over. */
	if (memcmp(&e->addr, addr, sizeof(*addr)) && !(flags & KAD_F_REPLIED)) {
		e->flags &= (uint8_t)~KAD_F_REPLIED;
		e->replied_ns = 0;
	}
	if (flags & KAD_F_REPLIED)
		e->replied_ns = now_ns;
	e->addr = *addr;
	e->last_seen_ns = now_ns;
	e->fails = 0;
	e->flags = (uint8_t)((e->flags & ~(KAD_F_NATED | KAD_F_RELAY)) |
			     (flags & (KAD_F_NATED | KAD_F_RELAY)) | (flags & KAD_F_REPLIED) |
			     KAD_F_HEARD);
	if (rtt_us) {
		if (!e->srtt_us)
			e->srtt_us = rtt_us;
		else
			e->srtt_us = (uint32_t)(((uint64_t)e->srtt_us * 7 + rtt_us) / 8);
		if (!e->srtt_us)
			e->srtt_us = 1;
	}
}

enum kad_insert kad_table_heard(struct kad_table *t, const uint8_t key[KAD_KEY_LEN],
				const struct ovl_addr *addr, unsigned flags,
				uint32_t rtt_us, uint64_t now_ns)
{
	struct kad_bucket *b;
	struct kad_entry e;
	bool cached;
	int i;

	if (!addr_ok(addr) || key_eq(key, t->own)) {
		++t->stats.ignored;
		return KAD_INS_IGNORED;
	}
	if (!kad_table_key_ok(t, key)) {
		++t->stats.bad_key;
		return KAD_INS_IGNORED;
	}
	b = &t->b[kad_table_bucket_index(t, key)];
	i = bucket_find(t, b, key, &cached);
	if (i >= 0 && !cached) {
		/* An answer to a query or a check refreshes the bucket (BEP 5's
		 * "last changed"); a request from it does not. */
		if ((flags & KAD_F_REPLIED) || (b->e[i].flags & KAD_F_CHECKING))
			b->touched_ns = now_ns;
		if (!(b->e[i].flags & KAD_F_HEARD))
			++t->n_heard;
		entry_heard(&b->e[i], addr, flags, rtt_us, now_ns);
		return KAD_INS_UPDATED;
	}
	if (i >= 0) {
		entry_heard(&cache_of(t, b)[i], addr, flags, rtt_us, now_ns);
		return KAD_INS_CACHED;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.key, key, KAD_KEY_LEN);
	entry_heard(&e, addr, flags, rtt_us, now_ns);
	return insert_new(t, &e, now_ns);
}

enum kad_insert kad_table_learned(struct kad_table *t, const struct kad_contact *c,
				  uint64_t now_ns)
{
	struct kad_bucket *b;
	struct kad_entry e;
	enum kad_insert r;
	bool cached;
	int i;

	if (!addr_ok(&c->addr) || key_eq(c->key, t->own)) {
		++t->stats.ignored;
		return KAD_INS_IGNORED;
	}
	if (!kad_table_key_ok(t, c->key)) {
		++t->stats.bad_key;
		return KAD_INS_IGNORED;
	}
	b = &t->b[kad_table_bucket_index(t, c->key)];
	i = bucket_find(t, b, c->key, &cached);
	if (i >= 0)
		return cached ? KAD_INS_CACHED : KAD_INS_UPDATED;
	memset(&e, 0, sizeof(e));
	memcpy(e.key, c->key, KAD_KEY_LEN);
	e.addr = c->addr;
	e.last_seen_ns = now_ns;
	e.flags = (uint8_t)(c->flags & (KAD_F_NATED | KAD_F_RELAY));
	r = insert_new(t, &e, now_ns);
	if (r == KAD_INS_ADDED)
		want_tick(t, max64(now_ns, t->check_next_ns));
	return r;
}

/* One failure of b->e[i]; true if it was evicted. */
static bool entry_failed(struct kad_table *t, struct kad_bucket *b, unsigned i, uint64_t now_ns)
{
	struct kad_entry *e = &b->e[i];

	e->flags &= (uint8_t)~KAD_F_CHECKING;
	if (e->fails < UINT8_MAX)
		++e->fails;
	if ((e->flags & KAD_F_HEARD) && e->fails < t->p.max_fails)
		return false;
	bucket_remove(t, b, i, now_ns);
	++t->stats.evicted;
	return true;
}

bool kad_table_timeout(struct kad_table *t, const uint8_t key[KAD_KEY_LEN], uint64_t now_ns)
{
	struct kad_bucket *b = &t->b[kad_table_bucket_index(t, key)];
	bool cached;
	int i = bucket_find(t, b, key, &cached);

	if (i < 0)
		return false;
	if (!cached)
		return entry_failed(t, b, (unsigned)i, now_ns);
	{
		struct kad_entry *e = &cache_of(t, b)[i];

		if (e->fails < UINT8_MAX)
			++e->fails;
		if (!(e->flags & KAD_F_HEARD) || e->fails >= t->p.max_fails)
			cache_remove(t, b, (unsigned)i);
	}
	return false;
}

void kad_table_touch(struct kad_table *t, const uint8_t target[KAD_KEY_LEN], uint64_t now_ns)
{
	unsigned bi = kad_table_bucket_index(t, target);
	struct kad_bucket *b = &t->b[bi];

	b->touched_ns = now_ns;
	b->refresh_due = false;
	if (bi == t->n_buckets - 1)
		t->self_touched_ns = now_ns;
}

void kad_table_bootstrapped(struct kad_table *t, uint64_t now_ns)
{
	t->joined = true;
	t->boot_backoff_ns = t->p.boot_min_ns;
	for (unsigned i = 0; i < t->n_buckets; ++i)
		t->b[i].refresh_due = true;
	want_tick(t, max64(now_ns, t->refresh_next_ns));
}

int kad_table_add_bootstrap(struct kad_table *t, const struct kad_contact *c, uint64_t now_ns)
{
	unsigned i;

	if (key_eq(c->key, t->own) || !addr_ok(&c->addr))
		return -EINVAL;
	for (i = 0; i < t->n_boot; ++i)
		if (key_eq(t->boot[i].key, c->key))
			break;
	if (i == KAD_BOOT_MAX)
		return -ENOSPC;
	t->boot[i] = *c;
	t->boot[i].flags &= KAD_F_NATED;
	if (i == t->n_boot)
		++t->n_boot;
	kad_table_learned(t, &t->boot[i], now_ns);
	want_tick(t, now_ns);
	return 0;
}

bool kad_table_is_bootstrap(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN],
			    const struct ovl_addr *addr)
{
	unsigned i;

	for (i = 0; i < t->n_boot; ++i)
		if (key_eq(t->boot[i].key, key) && !memcmp(&t->boot[i].addr, addr, sizeof(*addr)))
			return true;
	return false;
}

/* ---- closest ---- */

/* What kad_table_answer() adds to KAD_WANT_HEARD: a NATed entry only
 * while its path is live.  Internal, above enum kad_want's bits. */
#define WANT_LIVE_NAT (1u << 8)
/* What kad_table_anchors() adds to KAD_WANT_HEARD: an entry that failed
 * once stays (one lost keepalive must not move the anchor). */
#define WANT_FAILING (1u << 9)

struct want {
	unsigned flags;		/* enum kad_want, WANT_LIVE_NAT */
	uint64_t now_ns;	/* for WANT_LIVE_NAT */
};

static bool wanted(const struct kad_table *t, const struct kad_entry *e, const struct want *w)
{
	if ((w->flags & KAD_WANT_HEARD) &&
	    (!(e->flags & KAD_F_HEARD) || (e->fails && !(w->flags & WANT_FAILING))))
		return false;
	if ((w->flags & KAD_WANT_PUBLIC) && (e->flags & KAD_F_NATED))
		return false;
	if ((w->flags & WANT_LIVE_NAT) && (e->flags & KAD_F_NATED) &&
	    (w->now_ns - e->last_seen_ns >= t->p.nat_live_ns || !(e->flags & KAD_F_REPLIED) ||
	     w->now_ns - e->replied_ns >= t->p.nat_replied_ns))
		return false;
	return true;
}

/* Insertion into out[0 .. *cnt), kept sorted and at most n long. */
static void offer(struct kad_contact *out, size_t *cnt, size_t n, const uint8_t *target,
		  const struct kad_entry *e)
{
	size_t pos = *cnt, last;

	while (pos > 0 && kad_distance_cmp(target, e->key, out[pos - 1].key) < 0)
		--pos;
	if (pos >= n)
		return;
	last = *cnt < n ? *cnt : n - 1;
	memmove(out + pos + 1, out + pos, (last - pos) * sizeof(*out));
	memcpy(out[pos].key, e->key, KAD_KEY_LEN);
	out[pos].addr = e->addr;
	out[pos].flags = (uint8_t)(e->flags & (KAD_F_NATED | KAD_F_HEARD | KAD_F_RELAY));
	if (*cnt < n)
		++*cnt;
}

static void offer_bucket(const struct kad_table *t, unsigned bi, struct kad_contact *out,
			 size_t *cnt, size_t n, const uint8_t *target, const struct want *want)
{
	const struct kad_bucket *b = &t->b[bi];

	for (unsigned i = 0; i < b->n; ++i)
		if (wanted(t, &b->e[i], want))
			offer(out, cnt, n, target, &b->e[i]);
}

/* The buckets fall in tiers of distance to the target.  With c the
 * target's bucket: bucket c shares more than c bits with the target;
 * buckets c+1 .. last share exactly c; bucket i < c shares exactly i.  So
 * the tiers [c], [c+1 .. last], [c-1], ..., [0] are each wholly closer
 * than the next, and the scan stops after the tier that fills out. */
static size_t closest(const struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
		      size_t n, struct kad_contact *out, const struct want *want)
{
	unsigned c = kad_table_bucket_index(t, target);
	size_t cnt = 0;

	if (n == 0)
		return 0;
	offer_bucket(t, c, out, &cnt, n, target, want);
	if (cnt < n)
		for (unsigned i = c + 1; i < t->n_buckets; ++i)
			offer_bucket(t, i, out, &cnt, n, target, want);
	for (unsigned i = c; i-- > 0 && cnt < n;)
		offer_bucket(t, i, out, &cnt, n, target, want);
	return cnt;
}

size_t kad_table_closest(const struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
			 size_t n, struct kad_contact *out, unsigned want)
{
	struct want w = { .flags = want, .now_ns = 0 };

	return closest(t, target, n, out, &w);
}

size_t kad_table_answer(const struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
			size_t n, struct kad_contact *out, uint64_t now_ns)
{
	struct want w = { .flags = KAD_WANT_HEARD, .now_ns = now_ns };

	if (t->p.defences & KAD_DEF_NAT)
		w.flags |= WANT_LIVE_NAT;
	return closest(t, target, n, out, &w);
}

size_t kad_table_anchors(struct kad_table *t, size_t n, struct kad_contact *out,
			 uint64_t now_ns)
{
	struct want w = { .flags = KAD_WANT_HEARD | KAD_WANT_PUBLIC | WANT_FAILING,
			  .now_ns = now_ns };
	size_t cnt = closest(t, t->own, n, out, &w);

	/* No public node heard: the boot nodes stand in, learned again (why:
	 * kademlia.h). */
	if (cnt == 0) {
		for (unsigned i = 0; i < t->n_boot; ++i) {
			if (t->boot[i].flags & KAD_F_NATED)
				continue;
			kad_table_learned(t, &t->boot[i], now_ns);
			if (cnt < n)
				out[cnt++] = t->boot[i];
		}
	}
	for (size_t i = 0; i < cnt; ++i) {
		struct kad_bucket *b = &t->b[kad_table_bucket_index(t, out[i].key)];
		bool cached;
		int j = bucket_find(t, b, out[i].key, &cached);

		if (j < 0 || cached || (b->e[j].flags & KAD_F_CHECKING))
			continue;
		b->e[j].flags |= KAD_F_CHECKING;
		b->e[j].check_sent_ns = now_ns;
		want_tick(t, now_ns + t->p.check_timeout_ns);
	}
	return cnt;
}

/* ---- tick ---- */

/* A random ID of bucket bi, which is not the last: its first bi bits are
 * ours and bit bi differs. */
static void random_in_bucket(struct kad_table *t, unsigned bi, uint8_t out[KAD_KEY_LEN])
{
	unsigned byte = bi / 8, bit = bi % 8;
	uint8_t m;

	t->rng(t->rng_ctx, out, KAD_KEY_LEN);
	memcpy(out, t->own, byte);
	if (bit) {
		m = (uint8_t)(0xff << (8 - bit));
		out[byte] = (uint8_t)((t->own[byte] & m) | (out[byte] & ~m));
	}
	m = (uint8_t)(0x80 >> bit);
	out[byte] = (uint8_t)((out[byte] & ~m) | (~t->own[byte] & m));
}

static bool needs_check(const struct kad_table *t, const struct kad_entry *e, uint64_t now_ns)
{
	if (e->flags & KAD_F_CHECKING)
		return false;
	return !(e->flags & KAD_F_HEARD) || now_ns - e->last_seen_ns >= t->p.stale_ns ||
	       e->last_seen_ns > now_ns;
}

static void tick_check_timeouts(struct kad_table *t, uint64_t now_ns)
{
	for (unsigned bi = 0; bi < t->n_buckets; ++bi) {
		struct kad_bucket *b = &t->b[bi];

		for (unsigned i = 0; i < b->n;) {
			struct kad_entry *e = &b->e[i];

			if ((e->flags & KAD_F_CHECKING) &&
			    now_ns - e->check_sent_ns >= t->p.check_timeout_ns) {
				++t->stats.check_timeouts;
				/* An eviction refills slot i; look at it again. */
				if (entry_failed(t, b, i, now_ns))
					continue;
			}
			++i;
		}
	}
}

static bool needs_bootstrap(const struct kad_table *t)
{
	return t->n_boot && (!t->joined || t->n_heard == 0);
}

static void tick_bootstrap(struct kad_table *t, uint64_t now_ns, struct kad_actions *out)
{
	if (!needs_bootstrap(t) || now_ns < t->boot_next_ns)
		return;
	for (unsigned i = 0; i < t->n_boot; ++i)
		kad_table_learned(t, &t->boot[i], now_ns);
	out->bootstrap = true;
	++t->stats.bootstraps;
	t->boot_next_ns = now_ns + t->boot_backoff_ns;
	t->boot_backoff_ns = min64(t->boot_backoff_ns * 2, t->p.boot_max_ns);
}

/* Least recently seen first, at most checks_per_tick. */
static void tick_checks(struct kad_table *t, uint64_t now_ns, struct kad_actions *out)
{
	struct kad_entry *pick[KAD_CHECKS_MAX];
	unsigned n = 0, max = t->p.checks_per_tick;

	if (now_ns < t->check_next_ns || max == 0)
		return;
	for (unsigned bi = 0; bi < t->n_buckets; ++bi) {
		struct kad_bucket *b = &t->b[bi];

		for (unsigned i = 0; i < b->n; ++i) {
			struct kad_entry *e = &b->e[i];
			unsigned pos;

			if (!needs_check(t, e, now_ns))
				continue;
			pos = n;
			while (pos > 0 && e->last_seen_ns < pick[pos - 1]->last_seen_ns)
				--pos;
			if (pos >= max)
				continue;
			if (n < max)
				++n;
			memmove(pick + pos + 1, pick + pos, (n - 1 - pos) * sizeof(*pick));
			pick[pos] = e;
		}
	}
	for (unsigned i = 0; i < n; ++i) {
		struct kad_contact *c = &out->check[out->n_check++];

		pick[i]->flags |= KAD_F_CHECKING;
		pick[i]->check_sent_ns = now_ns;
		memcpy(c->key, pick[i]->key, KAD_KEY_LEN);
		c->addr = pick[i]->addr;
		c->flags = (uint8_t)(pick[i]->flags & (KAD_F_NATED | KAD_F_HEARD | KAD_F_RELAY));
		++t->stats.checks;
	}
	if (n)
		t->check_next_ns = now_ns + t->p.tick_ns;
}

/* When bucket bi was last touched, as far as refreshing goes. */
static uint64_t refresh_touched(const struct kad_table *t, unsigned bi)
{
	const struct kad_bucket *b = &t->b[bi];

	if (bi == t->n_buckets - 1)
		return t->self_touched_ns;
	return b->touched_ns;
}

static bool refresh_wanted(const struct kad_table *t, unsigned bi, uint64_t now_ns)
{
	uint64_t touched = refresh_touched(t, bi);

	return t->b[bi].refresh_due || now_ns - touched >= t->p.refresh_ns || touched > now_ns;
}

static void tick_refresh(struct kad_table *t, uint64_t now_ns, unsigned max_refresh,
			 struct kad_actions *out)
{
	unsigned max = t->p.refresh_per_tick < max_refresh ? t->p.refresh_per_tick : max_refresh;

	if (now_ns < t->refresh_next_ns)
		return;
	for (unsigned bi = 0; bi < t->n_buckets && out->n_refresh < max; ++bi) {
		struct kad_bucket *b = &t->b[bi];

		if (!refresh_wanted(t, bi, now_ns))
			continue;
		if (bi == t->n_buckets - 1)
			memcpy(out->refresh[out->n_refresh++], t->own, KAD_KEY_LEN);
		else
			random_in_bucket(t, bi, out->refresh[out->n_refresh++]);
		b->touched_ns = now_ns;
		b->refresh_due = false;
		if (bi == t->n_buckets - 1)
			t->self_touched_ns = now_ns;
		++t->stats.refreshes;
	}
	if (out->n_refresh)
		t->refresh_next_ns = now_ns + t->p.tick_ns;
}

static uint64_t tick_deadline(const struct kad_table *t, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	for (unsigned bi = 0; bi < t->n_buckets; ++bi) {
		const struct kad_bucket *b = &t->b[bi];

		for (unsigned i = 0; i < b->n; ++i) {
			const struct kad_entry *e = &b->e[i];

			if (e->flags & KAD_F_CHECKING)
				next = min64(next, e->check_sent_ns + t->p.check_timeout_ns);
			else if (!(e->flags & KAD_F_HEARD))
				next = min64(next, t->check_next_ns);
			else
				next = min64(next, max64(e->last_seen_ns + t->p.stale_ns,
							 t->check_next_ns));
		}
		if (b->refresh_due)
			next = min64(next, t->refresh_next_ns);
		else
			next = min64(next, max64(refresh_touched(t, bi) + t->p.refresh_ns,
						 t->refresh_next_ns));
	}
	if (needs_bootstrap(t))
		next = min64(next, t->boot_next_ns);
	/* Work that is due but was held back (no lookup slot) waits a tick. */
	if (next <= now_ns)
		next = now_ns + t->p.tick_ns;
	return next;
}

void kad_tick(struct kad_table *t, uint64_t now_ns, unsigned max_refresh,
	      struct kad_actions *out)
{
	out->n_check = 0;
	out->n_refresh = 0;
	out->bootstrap = false;
	tick_check_timeouts(t, now_ns);
	tick_bootstrap(t, now_ns, out);
	tick_checks(t, now_ns, out);
	tick_refresh(t, now_ns, max_refresh, out);
	t->next_ns = tick_deadline(t, now_ns);
	out->next_ns = t->next_ns;
}

/* ---- views ---- */

unsigned kad_table_cache_size(const struct kad_table *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_buckets; ++i)
		n += t->b[i].n_cache;
	return n;
}

void kad_table_walk(const struct kad_table *t,
		    void (*fn)(void *ctx, unsigned bucket, const struct kad_entry *e),
		    void *ctx)
{
	for (unsigned bi = 0; bi < t->n_buckets; ++bi)
		for (unsigned i = 0; i < t->b[bi].n; ++i)
			fn(ctx, bi, &t->b[bi].e[i]);
}

size_t kad_table_memory(const struct kad_table *t)
{
	return t->cap_buckets * sizeof(*t->b) +
	       (size_t)t->n_buckets * (t->p.k + t->p.cache) * sizeof(struct kad_entry);
}
