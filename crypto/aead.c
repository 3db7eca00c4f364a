#include "crypto/aead.h"

#include <sodium.h>
#include <string.h>

static void counter_nonce(uint8_t nonce[AEAD_NONCE_LEN], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; ++i)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void aead_seal_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
		     const uint8_t *ad, size_t adlen,
		     const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, srclen, ad, adlen,
						  NULL, nonce, key);
}

bool aead_open_nonce(uint8_t *dst, const uint8_t *src, size_t srclen,
		     const uint8_t *ad, size_t adlen,
		     const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN])
{
	if (srclen < AEAD_TAG_LEN)
		return false;
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, srclen,
							 ad, adlen, nonce, key) == 0;
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t srclen,
	       const uint8_t *ad, size_t adlen, uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[AEAD_NONCE_LEN];

	counter_nonce(nonce, counter);
	aead_seal_nonce(dst, src, srclen, ad, adlen, nonce, key);
}

bool aead_open(uint8_t *dst, const uint8_t *src, size_t srclen,
	       const uint8_t *ad, size_t adlen, uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[AEAD_NONCE_LEN];

	counter_nonce(nonce, counter);
	return aead_open_nonce(dst, src, srclen, ad, adlen, nonce, key);
}

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t srclen,
		const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, srclen, ad, adlen,
						   NULL, nonce, key);
}

bool xaead_open(uint8_t *dst, const uint8_t *src, size_t srclen,
		const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[AEAD_KEY_LEN])
{
	if (srclen < AEAD_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, srclen,
							  ad, adlen, nonce, key) == 0;
}
