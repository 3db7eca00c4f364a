#include "crypto/hash.h"

#include <blake2.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* libb2's blake2s_init_key() refuses an empty key, so the unkeyed hash
 * goes through blake2s_init().  A length outside hash.h's contract (output
 * 1..32, key 0..32) is a caller's bug: libb2 refuses it and leaves the
 * state unset, and stopping is better than handing back an unhashed
 * buffer as a digest or a MAC. */
static void init(blake2s_state *st, size_t outlen, const uint8_t *key, size_t keylen)
{
	int r = keylen ? blake2s_init_key(st, outlen, key, keylen) : blake2s_init(st, outlen);

	if (r < 0)
		abort();
}

void blake2s_hash(uint8_t *out, size_t outlen, const void *in, size_t inlen,
		  const uint8_t *key, size_t keylen)
{
	blake2s_state st;

	/* A keyed state holds the key block until the first compression. */
	init(&st, outlen, key, keylen);
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, out, outlen);
	sodium_memzero(&st, sizeof(st));
}

void blake2s_hash2(uint8_t out[BLAKE2S_HASH_LEN], const void *a, size_t alen,
		   const void *b, size_t blen)
{
	blake2s_state st;

	init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&st, a, alen);
	blake2s_update(&st, b, blen);
	blake2s_final(&st, out, BLAKE2S_HASH_LEN);
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
	blake2s_state st;
	size_t i;

	/* A key longer than the block is hashed first (RFC 2104 section 2). */
	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s_hash(k, BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(k, key, keylen);

	for (i = 0; i < sizeof(k); ++i)
		k[i] ^= 0x36;
	init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&st, k, sizeof(k));
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, inner, sizeof(inner));

	/* in may alias out (hkdf_blake2s passes the same buffer): it has been
	 * read in full before out is written. */
	for (i = 0; i < sizeof(k); ++i)
		k[i] ^= 0x36 ^ 0x5c;
	init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&st, k, sizeof(k));
	blake2s_update(&st, inner, sizeof(inner));
	blake2s_final(&st, out, BLAKE2S_HASH_LEN);

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
