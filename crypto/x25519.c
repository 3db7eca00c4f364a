#include "crypto/x25519.h"

#include <sodium.h>
#include <string.h>

void x25519_clamp(uint8_t sk[X25519_KEY_LEN])
{
	sk[0] &= 248;
	sk[31] = (sk[31] & 127) | 64;
}

void x25519_generate(uint8_t sk[X25519_KEY_LEN])
{
	randombytes_buf(sk, X25519_KEY_LEN);
	x25519_clamp(sk);
}

bool x25519_public(uint8_t pk[X25519_KEY_LEN], const uint8_t sk[X25519_KEY_LEN])
{
	uint8_t c[X25519_KEY_LEN];
	bool ok;

	memcpy(c, sk, sizeof(c));
	x25519_clamp(c);
	ok = crypto_scalarmult_base(pk, c) == 0;
	sodium_memzero(c, sizeof(c));
	return ok;
}

bool x25519_shared(uint8_t out[X25519_KEY_LEN], const uint8_t sk[X25519_KEY_LEN],
		   const uint8_t pk[X25519_KEY_LEN])
{
	uint8_t c[X25519_KEY_LEN];
	bool ok;

	memcpy(c, sk, sizeof(c));
	x25519_clamp(c);
	/* libsodium returns -1 when the result is all zeros. */
	ok = crypto_scalarmult(out, c, pk) == 0;
	sodium_memzero(c, sizeof(c));
	if (!ok)
		sodium_memzero(out, X25519_KEY_LEN);
	return ok;
}
