/* The overlay's bounded probe table: see probetab.h. */
#include "proto/overlay/probetab.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(crypto_shorthash_KEYBYTES == OVL_PROBETAB_KEYBYTES, "SipHash-2-4 key");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "a 64-bit hash");

int ovl_probetab_init(struct ovl_probetab *t, uint32_t slots, size_t size,
		      const uint8_t hash_key[OVL_PROBETAB_KEYBYTES])
{
	memset(t, 0, sizeof(*t));
	if (slots < OVL_PROBETAB_PROBE || (slots & (slots - 1)) || !size)
		return -EINVAL;
	t->slot = calloc(slots, size);
	if (!t->slot)
		return -ENOMEM;
	t->size = size;
	t->mask = slots - 1;
	memcpy(t->hash_key, hash_key, sizeof(t->hash_key));
	return 0;
}

void ovl_probetab_free(struct ovl_probetab *t)
{
	free(t->slot);
	t->slot = NULL;
	sodium_memzero(t->hash_key, sizeof(t->hash_key));
}

uint64_t ovl_probetab_hash(const struct ovl_probetab *t, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

void *ovl_probetab_find(const struct ovl_probetab *t, uint64_t hash,
			bool (*match)(const void *e, const void *arg),
			uint64_t (*age)(const void *e, const void *arg), const void *arg, void **victim)
{
	void *oldest = NULL;
	uint64_t oldest_age = 0;
	unsigned i;

	if (victim)
		*victim = NULL;
	if (!t->slot)
		return NULL;
	for (i = 0; i < OVL_PROBETAB_PROBE; ++i) {
		void *e = ovl_probetab_at(t, (uint32_t)((hash + i) & t->mask));
		uint64_t a;

		if (match(e, arg))
			return e;
		a = age(e, arg);
		if (!oldest || a < oldest_age) {
			oldest = e;
			oldest_age = a;
		}
	}
	if (victim)
		*victim = oldest;
	return NULL;
}
