/* The filter of PEERS: see peerfilter.h. */
#include "proto/overlay/peerfilter.h"

#include <sodium.h>
#include <string.h>

enum { BITS = OVL_PEERS_FILTER_LEN * 8 };

_Static_assert(crypto_shorthash_KEYBYTES == sizeof(((struct ovl_peers *)0)->salt), "a SipHash key");
_Static_assert(crypto_shorthash_BYTES == 8, "64 bits of hash");
_Static_assert((BITS & (BITS - 1)) == 0, "a power of two: mod 2^32 agrees with mod BITS");

unsigned ovl_peerfilter_hashes(size_t n)
{
	/* 8192 / n x ln 2, rounded: 5678 / n. */
	size_t k = n ? (5678 + n / 2) / n : OVL_PEERS_MAX_HASHES;

	if (k < 1)
		k = 1;
	if (k > OVL_PEERS_MAX_HASHES)
		k = OVL_PEERS_MAX_HASHES;
	return (unsigned)k;
}

void ovl_peerfilter_init(struct ovl_peers *p, size_t n, const uint8_t salt[16])
{
	memset(p, 0, sizeof(*p));
	p->hashes = (uint8_t)ovl_peerfilter_hashes(n);
	memcpy(p->salt, salt, sizeof(p->salt));
}

static void positions(const struct ovl_peers *p, const uint8_t key[OVL_KEY_LEN], uint32_t *h1,
		      uint32_t *h2)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int i;

	crypto_shorthash(h, key, OVL_KEY_LEN, p->salt);
	for (i = 7; i >= 0; --i)
		v = v << 8 | h[i];
	*h1 = (uint32_t)v;
	*h2 = (uint32_t)(v >> 32) | 1;
}

void ovl_peerfilter_add(struct ovl_peers *p, const uint8_t key[OVL_KEY_LEN])
{
	uint32_t h1, h2, i, bit;

	positions(p, key, &h1, &h2);
	for (i = 0; i < p->hashes; ++i) {
		bit = (h1 + i * h2) % BITS;
		p->filter[bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
}

bool ovl_peerfilter_has(const struct ovl_peers *p, const uint8_t key[OVL_KEY_LEN])
{
	uint32_t h1, h2, i, bit;

	if (!p->hashes)
		return false;
	positions(p, key, &h1, &h2);
	for (i = 0; i < p->hashes; ++i) {
		bit = (h1 + i * h2) % BITS;
		if (!(p->filter[bit / 8] & (1u << (bit % 8))))
			return false;
	}
	return true;
}
