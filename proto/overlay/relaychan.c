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

/* Before a fresh binding of src from addr: when src or addr already holds
 * its quota of live channels, its own binding renewed least lately ends
 * (one walk of the table).  "Lately" is the table's own count, not the
 * clock: bindings in one clock tick would otherwise end in slot order,
 * and those left would crowd the high slots until probe ranges fill. */
static void enforce_quotas(struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
			   const struct ovl_addr *addr, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&t->tab), by_key = 0, by_addr = 0;
	struct ovl_chan *old_key = NULL, *old_addr = NULL;

	if (!t->key_quota && !t->addr_quota)
		return;
	for (i = 0; i < n; ++i) {
		struct ovl_chan *c = ovl_probetab_at(&t->tab, i);

		if (!live(c, now))
			continue;
		if (!memcmp(c->src, src, OVL_KEY_LEN)) {
			++by_key;
			if (!old_key || c->seq < old_key->seq)
				old_key = c;
		}
		if (same_ip(&c->src_addr, addr)) {
			++by_addr;
			if (!old_addr || c->seq < old_addr->seq)
				old_addr = c;
		}
	}
	if (t->key_quota && by_key >= t->key_quota) {
		++t->quota_evictions;
		if (same_ip(&old_key->src_addr, addr))
			--by_addr;
		if (old_addr == old_key)
			old_addr = NULL;
		ovl_chantab_unbind(old_key);
	}
	if (t->addr_quota && by_addr >= t->addr_quota) {
		/* The oldest of the address again, if the key's eviction took it. */
		if (!old_addr) {
			for (i = 0; i < n; ++i) {
				struct ovl_chan *c = ovl_probetab_at(&t->tab, i);

				if (live(c, now) && same_ip(&c->src_addr, addr) &&
				    (!old_addr || c->seq < old_addr->seq))
					old_addr = c;
			}
		}
		if (old_addr) {
			++t->quota_evictions;
			ovl_chantab_unbind(old_addr);
		}
	}
}

/* The probe range of id is full of live bindings of other pairs: the one
 * whose source address holds the most live channels gives way when that
 * address holds at least two more than addr does (so it is left with no
 * fewer than addr will have), the least lately renewed of equals; NULL
 * when none does.  So strangers who fill the table from a few addresses
 * cannot keep a member out, and among equals nothing moves.  One walk of
 * the table, as for the quotas (only when a range is full). */
static struct ovl_chan *fair_victim(struct ovl_chantab *t, uint32_t id, const struct ovl_addr *addr,
				    uint64_t now)
{
	uint32_t i, j, n = ovl_probetab_slots(&t->tab), mine = 0, count[OVL_CHANTAB_PROBE] = { 0 };
	struct ovl_chan *cand[OVL_CHANTAB_PROBE], *best = NULL;
	uint32_t best_n = 0;

	for (j = 0; j < OVL_CHANTAB_PROBE; ++j)
		cand[j] = ovl_probetab_at(&t->tab, (id + j) & t->tab.mask);
	for (i = 0; i < n; ++i) {
		const struct ovl_chan *c = ovl_probetab_at(&t->tab, i);

		if (!live(c, now))
			continue;
		mine += same_ip(&c->src_addr, addr);
		for (j = 0; j < OVL_CHANTAB_PROBE; ++j)
			count[j] += same_ip(&c->src_addr, &cand[j]->src_addr);
	}
	for (j = 0; j < OVL_CHANTAB_PROBE; ++j) {
		if (!live(cand[j], now) || count[j] < mine + 2)
			continue;
		if (!best || count[j] > best_n || (count[j] == best_n && cand[j]->seq < best->seq)) {
			best = cand[j];
			best_n = count[j];
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
	enforce_quotas(t, src, src_addr, now);
	ovl_probetab_find(&t->tab, w.id, chan_match, chan_age, &w, &victim);
	slot = victim;
	if (slot && live(slot, now)) {
		slot = t->addr_quota ? fair_victim(t, w.id, src_addr, now) : NULL;
		if (slot)
			++t->fair_evictions;
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
