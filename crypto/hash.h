/* Hashes and key derivation: BLAKE2s (libb2), BLAKE2b-256 (libsodium),
 * HMAC-BLAKE2s and the HKDF that WireGuard uses.  No primitive lives here:
 * these are thin wrappers that fix lengths and wipe temporaries. */
#ifndef WH_CRYPTO_HASH_H
#define WH_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

enum {
	BLAKE2S_HASH_LEN = 32,
	BLAKE2S_BLOCK_LEN = 64,
	BLAKE2S_MAX_KEY_LEN = 32,
	BLAKE2S_MAC_LEN = 16,
	BLAKE2B_256_LEN = 32,
};

/* BLAKE2s with the output length as a parameter of the hash (1..32), as
 * the BLAKE2 specification defines it: a 16-byte BLAKE2s is not the first
 * 16 bytes of a 32-byte one.  key may be NULL when keylen is 0. */
void blake2s_hash(uint8_t *out, size_t outlen, const void *in, size_t inlen,
		  const uint8_t *key, size_t keylen);

/* Streaming BLAKE2s-256 of the concatenation of two buffers, the shape
 * every Noise MixHash() and WireGuard label hash takes. */
void blake2s_hash2(uint8_t out[BLAKE2S_HASH_LEN], const void *a, size_t alen,
		   const void *b, size_t blen);

/* Keyed BLAKE2s with a 16-byte output (mac1, mac2, cookies). */
void blake2s_mac16(uint8_t out[BLAKE2S_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t inlen);

/* RFC 2104 HMAC over BLAKE2s-256 (64-byte block). */
void hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
		  const void *in, size_t inlen);

/* WireGuard's KDFn: prk = HMAC(ck, in); T1 = HMAC(prk, 0x01);
 * Ti = HMAC(prk, T(i-1) || i).  Any of t1, t2, t3 may be NULL to skip it
 * (a NULL t2 stops after T1, a NULL t3 after T2). */
void hkdf_blake2s(uint8_t t1[BLAKE2S_HASH_LEN], uint8_t t2[BLAKE2S_HASH_LEN],
		  uint8_t t3[BLAKE2S_HASH_LEN], const uint8_t ck[BLAKE2S_HASH_LEN],
		  const void *in, size_t inlen);

/* BLAKE2b with a 32-byte output over a || b (WireHub's workbit and ORCHID). */
void blake2b_256(uint8_t out[BLAKE2B_256_LEN], const void *a, size_t alen,
		 const void *b, size_t blen);

#endif
