/* ChaCha20-Poly1305 (RFC 8439, WireGuard's 64-bit counter nonce) and
 * XChaCha20-Poly1305 (cookie replies).  Return false when authentication
 * fails; the output buffer then holds nothing usable. */
#ifndef WH_CRYPTO_AEAD_H
#define WH_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	AEAD_KEY_LEN = 32,
	AEAD_TAG_LEN = 16,
	AEAD_NONCE_LEN = 12,
	XAEAD_NONCE_LEN = 24,
};

/* Nonce = 4 zero bytes || little-endian counter. dst holds srclen + 16. */
void aead_seal(uint8_t *dst, const uint8_t *src, size_t srclen,
	       const uint8_t *ad, size_t adlen, uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN]);
/* srclen includes the tag; dst holds srclen - 16.  In-place is allowed. */
bool aead_open(uint8_t *dst, const uint8_t *src, size_t srclen,
	       const uint8_t *ad, size_t adlen, uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN]);

/* RFC 8439 with a caller-given 12-byte nonce (vector tests, overlay). */
void aead_seal_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
		     const uint8_t *ad, size_t adlen,
		     const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN]);
bool aead_open_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
		     const uint8_t *ad, size_t adlen,
		     const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN]);

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t srclen,
		const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN]);
bool xaead_open(uint8_t *dst, const uint8_t *src, size_t srclen,
		const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN]);

#endif
