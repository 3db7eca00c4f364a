/* A relay's channel table: see relaychan.h. */
#include "proto/overlay/relaychan.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 key");

int ovl_chantab_init(struct ovl_chantab *t, uint32_t slots, const uint8_t hash_key[16])
{
	memset(t, 0, sizeof(*t));
	if (slots < OVL_CHANTAB_PROBE || (slots & (slots - 1)))
		return -EINVAL;
	t->e = calloc(slots, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	t->mask = slots - 1;
	memcpy(t->hash_key, hash_key, sizeof(t->hash_key));
	return 0;
}

void ovl_chantab_free(struct ovl_chantab *t)
{
	free(t->e);
	t->e = NULL;
}

uint32_t ovl_chantab_number(const struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
			    const uint8_t dst[OVL_KEY_LEN])
{
	uint8_t pair[2 * OVL_KEY_LEN], h[crypto_shorthash_BYTES];
	uint32_t id;

	memcpy(pair, src, OVL_KEY_LEN);
	memcpy(pair + OVL_KEY_LEN, dst, OVL_KEY_LEN);
	crypto_shorthash(h, pair, sizeof(pair), t->hash_key);
	memcpy(&id, h, sizeof(id));
	/* 0 is "no channel" on the wire: fold it onto another number. */
	return id ? id : 1;
}

static bool live(const struct ovl_chan *c, uint64_t now)
{
	return c->id && now < c->expires_ns;
}

static bool same_addr(const struct kad_addr *a, const struct kad_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, sizeof(a->ip));
}

struct ovl_chan *ovl_chantab_bind(struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
				  const uint8_t dst[OVL_KEY_LEN], const struct kad_addr *src_addr,
				  uint64_t now, uint64_t lifetime_ns, bool *fresh)
{
	uint32_t id = ovl_chantab_number(t, src, dst), i;
	struct ovl_chan *slot = NULL;

	for (i = 0; i < OVL_CHANTAB_PROBE; ++i) {
		struct ovl_chan *c = &t->e[(id + i) & t->mask];

		if (live(c, now) && c->id == id) {
			if (memcmp(c->src, src, OVL_KEY_LEN) || memcmp(c->dst, dst, OVL_KEY_LEN))
				return NULL;	/* another pair has this number */
			c->src_addr = *src_addr;
			c->expires_ns = now + lifetime_ns;
			*fresh = false;
			return c;
		}
		if (!slot && !live(c, now))
			slot = c;
	}
	if (!slot)
		return NULL;
	memset(slot, 0, sizeof(*slot));
	slot->id = id;
	memcpy(slot->src, src, OVL_KEY_LEN);
	memcpy(slot->dst, dst, OVL_KEY_LEN);
	slot->src_addr = *src_addr;
	slot->expires_ns = now + lifetime_ns;
	*fresh = true;
	return slot;
}

struct ovl_chan *ovl_chantab_lookup(struct ovl_chantab *t, uint32_t id, const struct kad_addr *from,
				    uint64_t now, enum ovl_chan_miss *why)
{
	uint32_t i;

	for (i = 0; id && i < OVL_CHANTAB_PROBE; ++i) {
		struct ovl_chan *c = &t->e[(id + i) & t->mask];

		if (c->id != id || !live(c, now))
			continue;
		if (!same_addr(&c->src_addr, from)) {
			*why = OVL_CHAN_WRONG_SOURCE;
			return NULL;
		}
		return c;
	}
	*why = OVL_CHAN_UNKNOWN;
	return NULL;
}

void ovl_chantab_unbind(struct ovl_chan *c)
{
	c->expires_ns = 0;
}

size_t ovl_chantab_live(const struct ovl_chantab *t, uint64_t now)
{
	size_t n = 0;
	uint32_t i;

	for (i = 0; t->e && i <= t->mask; ++i)
		n += live(&t->e[i], now);
	return n;
}
