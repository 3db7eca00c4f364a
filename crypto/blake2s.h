/* BLAKE2s (RFC 7693), incremental: init with the digest length and an
 * optional key, update, final.  crypto/hash.h builds WireGuard's hash,
 * MAC, HMAC and HKDF on it. */
#ifndef WH_CRYPTO_BLAKE2S_H
#define WH_CRYPTO_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	B2S_BLOCK_LEN = 64,
	B2S_MAX_OUT = 32,
	B2S_MAX_KEY = 32,
};

struct b2s_state {
	uint32_t h[8];
	uint32_t t[2];			/* bytes compressed so far */
	uint8_t buf[B2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* 0, or -1 for outlen outside 1..32 or keylen above 32. */
int b2s_init(struct b2s_state *s, size_t outlen, const uint8_t *key, size_t keylen);
void b2s_update(struct b2s_state *s, const void *in, size_t inlen);
/* Writes outlen bytes. */
void b2s_final(struct b2s_state *s, uint8_t *out);

#endif
