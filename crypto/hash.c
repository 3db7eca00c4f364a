#include "crypto/hash.h"

#include "crypto/blake2s.h"

#include <sodium.h>
#include <string.h>

void blake2s_hash(uint8_t *out, size_t outlen, const void *in, size_t inlen,
		  const uint8_t *key, size_t keylen)
{
	struct b2s_state st;

	b2s_init(&st, outlen, keylen ? key : NULL, keylen);
	b2s_update(&st, in, inlen);
	b2s_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void blake2s_hash2(uint8_t out[BLAKE2S_HASH_LEN], const void *a, size_t alen,
		   const void *b, size_t blen)
{
	struct b2s_state st;

	b2s_init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	b2s_update(&st, a, alen);
	b2s_update(&st, b, blen);
	b2s_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void blake2s_mac16(uint8_t out[BLAKE2S_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t inlen)
{
	blake2s_hash(out, BLAKE2S_MAC_LEN, in, inlen, key, keylen);
}

void hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
		  const void *in, size_t inlen)
{
	uint8_t k[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t inner[BLAKE2S_HASH_LEN];
	struct b2s_state st;
	size_t i;

	/* A key longer than the block is hashed first (RFC 2104 section 2). */
	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s_hash(k, BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(k, key, keylen);

	for (i = 0; i < sizeof(k); ++i)
		k[i] ^= 0x36;
	b2s_init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	b2s_update(&st, k, sizeof(k));
	b2s_update(&st, in, inlen);
	b2s_final(&st, inner);

	for (i = 0; i < sizeof(k); ++i)
		k[i] ^= 0x36 ^ 0x5c;
	b2s_init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	b2s_update(&st, k, sizeof(k));
	b2s_update(&st, inner, sizeof(inner));
	b2s_final(&st, out);

	sodium_memzero(k, sizeof(k));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

void hkdf_blake2s(uint8_t t1[BLAKE2S_HASH_LEN], uint8_t t2[BLAKE2S_HASH_LEN],
		  uint8_t t3[BLAKE2S_HASH_LEN], const uint8_t ck[BLAKE2S_HASH_LEN],
		  const void *in, size_t inlen)
{
	uint8_t prk[BLAKE2S_HASH_LEN];
	uint8_t buf[BLAKE2S_HASH_LEN + 1];

	hmac_blake2s(prk, ck, BLAKE2S_HASH_LEN, in, inlen);

	/* T1 = HMAC(prk, 0x01) */
	buf[0] = 1;
	hmac_blake2s(buf, prk, sizeof(prk), buf, 1);
	if (t1)
		memcpy(t1, buf, BLAKE2S_HASH_LEN);
	if (!t2)
		goto out;

	/* T2 = HMAC(prk, T1 || 0x02) */
	buf[BLAKE2S_HASH_LEN] = 2;
	hmac_blake2s(buf, prk, sizeof(prk), buf, sizeof(buf));
	memcpy(t2, buf, BLAKE2S_HASH_LEN);
	if (!t3)
		goto out;

	/* T3 = HMAC(prk, T2 || 0x03) */
	buf[BLAKE2S_HASH_LEN] = 3;
	hmac_blake2s(buf, prk, sizeof(prk), buf, sizeof(buf));
	memcpy(t3, buf, BLAKE2S_HASH_LEN);
out:
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(buf, sizeof(buf));
}

void blake2b_256(uint8_t out[BLAKE2B_256_LEN], const void *a, size_t alen,
		 const void *b, size_t blen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, BLAKE2B_256_LEN);
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, BLAKE2B_256_LEN);
	sodium_memzero(&st, sizeof(st));
}
