/* A bounded hash table with linear probing, sans-I/O: the one probe table
 * of the overlay (its NATed clients, its relay senders' rate states, a
 * relay's channels).
 *
 * The table is an array of `slots` entries of the caller's type (a power
 * of two, allocated once, zeroed).  An entry lives in the probe range of
 * its hash: OVL_PROBETAB_PROBE consecutive slots from hash & (slots - 1).
 * The hash is SipHash-2-4 (crypto_shorthash) under a key of the table's
 * own, so that a remote peer cannot choose keys that crowd one range.
 * Nothing is allocated after init and at most OVL_PROBETAB_PROBE slots
 * are looked at per operation: whatever the input, a full range evicts
 * (or refuses), it never grows.
 *
 * The table does not know what an entry holds: the caller says which
 * entry matches (match) and how old one is (age: 0 for a free slot),
 * and decides what to do with the victim find offers.  Errors: negative
 * errno from init. */
#ifndef WH_PROTO_OVERLAY_PROBETAB_H
#define WH_PROTO_OVERLAY_PROBETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OVL_PROBETAB_PROBE = 8,		/* slots looked at per operation */
	OVL_PROBETAB_KEYBYTES = 16,	/* SipHash-2-4 */
};

struct ovl_probetab {
	uint8_t *slot;			/* slots * size bytes */
	size_t size;			/* of one entry */
	uint32_t mask;			/* slots - 1 */
	uint8_t hash_key[OVL_PROBETAB_KEYBYTES];
};

/* slots: a power of two, >= OVL_PROBETAB_PROBE; size: of one entry.
 * 0, -EINVAL or -ENOMEM. */
int ovl_probetab_init(struct ovl_probetab *t, uint32_t slots, size_t size,
		      const uint8_t hash_key[OVL_PROBETAB_KEYBYTES]);
/* Frees the slots; the table may be freed twice or never set up (zeroed). */
void ovl_probetab_free(struct ovl_probetab *t);

/* The keyed hash of key (64 bits), which places it. */
uint64_t ovl_probetab_hash(const struct ovl_probetab *t, const void *key, size_t len);

/* Walks the probe range of hash: returns the first entry for which
 * match(e, arg) holds.  Otherwise NULL, and *victim (when not NULL) gets
 * the entry of the range with the smallest age(e, arg) (the first of equals):
 * a free slot if there is one, else the least recently used. */
void *ovl_probetab_find(const struct ovl_probetab *t, uint64_t hash,
			bool (*match)(const void *e, const void *arg),
			uint64_t (*age)(const void *e, const void *arg), const void *arg, void **victim);

/* Entry i of the table (0 <= i < slots), for walks. */
static inline void *ovl_probetab_at(const struct ovl_probetab *t, uint32_t i)
{
	return t->slot + (size_t)i * t->size;
}
static inline uint32_t ovl_probetab_slots(const struct ovl_probetab *t)
{
	return t->slot ? t->mask + 1 : 0;
}

#endif
