/* A relay's channel table: see relaychan.h.  The slots are a probe table
 * (probetab.h) whose hash is the channel number itself. */
#include "proto/overlay/relaychan.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int ovl_chantab_init(struct ovl_chantab *t, uint32_t slots, const uint8_t hash_key[16])
{
	return ovl_probetab_init(&t->tab, slots, sizeof(struct ovl_chan), hash_key);
}

void ovl_chantab_free(struct ovl_chantab *t)
{
	ovl_probetab_free(&t->tab);
}

void ovl_chantab_set_quotas(struct ovl_chantab *t, uint32_t key_quota, uint32_t addr_quota)
{
	t->key_quota = key_quota;
	t->addr_quota = addr_quota;
}

uint32_t ovl_chantab_number(const struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
			    const uint8_t dst[OVL_KEY_LEN])
{
	uint8_t pair[2 * OVL_KEY_LEN];
	uint32_t id;

	memcpy(pair, src, OVL_KEY_LEN);
	memcpy(pair + OVL_KEY_LEN, dst, OVL_KEY_LEN);
	id = (uint32_t)ovl_probetab_hash(&t->tab, pair, sizeof(pair));
	/* 0 is "no channel" on the wire: fold it onto another number. */
	return id ? id : 1;
}

static bool live(const struct ovl_chan *c, uint64_t now)
{
	return c->id && now < c->expires_ns;
}

static bool same_addr(const struct ovl_addr *a, const struct ovl_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, sizeof(a->ip));
}

static bool same_ip(const struct ovl_addr *a, const struct ovl_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, sizeof(a->ip));
}

/* What one walk of the table finds before a fresh binding of src from
 * addr: the live channels of src and of addr's IP address, the least
 * lately renewed of each (and addr's second, in case the key's eviction
 * takes its first), and, when the binding's probe range was full, the
 * live channels of each slot's source address there (fair_victim).
 * "Lately" is the table's own count, not the clock: bindings in one
 * clock tick would otherwise end in slot order, and those left would
 * crowd the high slots until probe ranges fill. */
struct census {
	uint32_t by_key, by_addr;
	struct ovl_chan *old_key, *old_addr, *old_addr2;
	bool range_full;
	struct ovl_chan *cand[OVL_CHANTAB_PROBE];
	uint32_t count[OVL_CHANTAB_PROBE];
};

static bool older(const struct ovl_chan *c, const struct ovl_chan *than)
{
	return !than || c->seq < than->seq;
}

/* The one walk per fresh binding (t->walks counts them: test_relaychan
 * checks one each; two before, when the range was full or the key's
 * eviction took the address's oldest). */
static void census_take(struct ovl_chantab *t, struct census *cs, const uint8_t src[OVL_KEY_LEN],
			const struct ovl_addr *addr, uint32_t id, bool range_full, uint64_t now)
{
	uint32_t i, j, n = ovl_probetab_slots(&t->tab);

	memset(cs, 0, sizeof(*cs));
	cs->range_full = range_full;
	for (j = 0; range_full && j < OVL_CHANTAB_PROBE; ++j)
		cs->cand[j] = ovl_probetab_at(&t->tab, (id + j) & t->tab.mask);
	++t->walks;
	for (i = 0; i < n; ++i) {
		struct ovl_chan *c = ovl_probetab_at(&t->tab, i);

		if (!live(c, now))
			continue;
		if (!memcmp(c->src, src, OVL_KEY_LEN)) {
			++cs->by_key;
			if (older(c, cs->old_key))
				cs->old_key = c;
		}
		if (same_ip(&c->src_addr, addr)) {
			++cs->by_addr;
			if (older(c, cs->old_addr)) {
				cs->old_addr2 = cs->old_addr;
				cs->old_addr = c;
			} else if (older(c, cs->old_addr2)) {
				cs->old_addr2 = c;
			}
		}
		for (j = 0; range_full && j < OVL_CHANTAB_PROBE; ++j)
			cs->count[j] += same_ip(&c->src_addr, &cs->cand[j]->src_addr);
	}
}

/* Ends c for a quota, keeping the census's counts true. */
static void census_evict(struct ovl_chantab *t, struct census *cs, struct ovl_chan *c,
			 const struct ovl_addr *addr)
{
	uint32_t j;

	for (j = 0; cs->range_full && j < OVL_CHANTAB_PROBE; ++j)
		cs->count[j] -= same_ip(&c->src_addr, &cs->cand[j]->src_addr);
	cs->by_addr -= same_ip(&c->src_addr, addr);
	++t->quota_evictions;
	ovl_chantab_unbind(c);
}

/* When src or addr already holds its quota of live channels, its own
 * binding renewed least lately ends. */
static void enforce_quotas(struct ovl_chantab *t, struct census *cs, const struct ovl_addr *addr)
{
	if (t->key_quota && cs->by_key >= t->key_quota) {
		if (cs->old_addr == cs->old_key)
			cs->old_addr = cs->old_addr2;
		census_evict(t, cs, cs->old_key, addr);
	}
	if (t->addr_quota && cs->by_addr >= t->addr_quota && cs->old_addr)
		census_evict(t, cs, cs->old_addr, addr);
}

/* The probe range is full of live bindings of other pairs: the one whose
 * source address holds the most live channels gives way when that
 * address holds at least two more than addr does (so it is left with no
 * fewer than addr will have), the least lately renewed of equals; NULL
 * when none does.  So strangers who fill the table from a few addresses
 * cannot keep a member out, and among equals nothing moves. */
static struct ovl_chan *fair_victim(const struct census *cs, uint64_t now)
{
	struct ovl_chan *best = NULL;
	uint32_t j, best_n = 0;

	for (j = 0; j < OVL_CHANTAB_PROBE; ++j) {
		struct ovl_chan *c = cs->cand[j];

		if (!live(c, now) || cs->count[j] < cs->by_addr + 2)
			continue;
		if (!best || cs->count[j] > best_n || (cs->count[j] == best_n && c->seq < best->seq)) {
			best = c;
			best_n = cs->count[j];
		}
	}
	return best;
}

struct want {
	uint32_t id;
	uint64_t now;
};

/* The live channel with the number looked for. */
static bool chan_match(const void *e, const void *arg)
{
	const struct ovl_chan *c = e;
	const struct want *w = arg;

	return c->id == w->id && live(c, w->now);
}

/* Any slot whose binding expired is free; a live one is never taken. */
static uint64_t chan_age(const void *e, const void *arg)
{
	const struct want *w = arg;

	return live(e, w->now) ? UINT64_MAX : 0;
}

struct ovl_chan *ovl_chantab_bind(struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
				  const uint8_t dst[OVL_KEY_LEN], const struct ovl_addr *src_addr,
				  uint64_t now, uint64_t lifetime_ns, bool *fresh)
{
	struct want w = { .id = ovl_chantab_number(t, src, dst), .now = now };
	struct ovl_chan *c, *slot;
	void *victim;

	c = ovl_probetab_find(&t->tab, w.id, chan_match, chan_age, &w, &victim);
	if (c) {
		if (memcmp(c->src, src, OVL_KEY_LEN) || memcmp(c->dst, dst, OVL_KEY_LEN))
			return NULL;	/* another pair has this number */
		c->src_addr = *src_addr;
		c->expires_ns = now + lifetime_ns;
		c->seq = ++t->seq;
		*fresh = false;
		return c;
	}
	slot = victim;
	if (t->key_quota || t->addr_quota) {
		/* The range full now is full after the quotas too, unless they
		 * end a binding in it; the census is counted for both. */
		struct census cs;

		census_take(t, &cs, src, src_addr, w.id,
			    t->addr_quota && slot && live(slot, now), now);
		enforce_quotas(t, &cs, src_addr);
		ovl_probetab_find(&t->tab, w.id, chan_match, chan_age, &w, &victim);
		slot = victim;
		if (slot && live(slot, now)) {
			slot = cs.range_full ? fair_victim(&cs, now) : NULL;
			if (slot)
				++t->fair_evictions;
		}
	} else if (slot && live(slot, now)) {
		slot = NULL;
	}
	if (!slot)
		return NULL;
	memset(slot, 0, sizeof(*slot));
	slot->id = w.id;
	memcpy(slot->src, src, OVL_KEY_LEN);
	memcpy(slot->dst, dst, OVL_KEY_LEN);
	slot->src_addr = *src_addr;
	slot->expires_ns = now + lifetime_ns;
	slot->seq = ++t->seq;
	*fresh = true;
	return slot;
}

struct ovl_chan *ovl_chantab_lookup(struct ovl_chantab *t, uint32_t id, const struct ovl_addr *from,
				    uint64_t now, enum ovl_chan_miss *why)
{
	struct want w = { .id = id, .now = now };
	struct ovl_chan *c = NULL;

	if (id)
		c = ovl_probetab_find(&t->tab, id, chan_match, chan_age, &w, NULL);
	if (!c) {
		*why = OVL_CHAN_UNKNOWN;
		return NULL;
	}
	if (!same_addr(&c->src_addr, from)) {
		*why = OVL_CHAN_WRONG_SOURCE;
		return NULL;
	}
	return c;
}

void ovl_chantab_unbind(struct ovl_chan *c)
{
	c->expires_ns = 0;
}

size_t ovl_chantab_live(const struct ovl_chantab *t, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&t->tab);
	size_t live_n = 0;

	for (i = 0; i < n; ++i)
		live_n += live(ovl_probetab_at(&t->tab, i), now);
	return live_n;
}
