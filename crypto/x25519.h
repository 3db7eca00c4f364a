/* X25519 (libsodium) with WireGuard's clamping and the rejection of an
 * all-zero shared secret (a low-order public key). */
#ifndef WH_CRYPTO_X25519_H
#define WH_CRYPTO_X25519_H

#include <stdbool.h>
#include <stdint.h>

enum { X25519_KEY_LEN = 32 };

/* sk[0] &= 248; sk[31] = (sk[31] & 127) | 64 */
void x25519_clamp(uint8_t sk[X25519_KEY_LEN]);

/* Fills sk with a fresh clamped private key. */
void x25519_generate(uint8_t sk[X25519_KEY_LEN]);

/* pk = X25519(clamp(sk), 9).  false when sk gives no usable key. */
bool x25519_public(uint8_t pk[X25519_KEY_LEN], const uint8_t sk[X25519_KEY_LEN]);

/* out = X25519(clamp(sk), pk); false (and out zeroed) when the result is
 * all zeros, which is what a low-order pk gives. */
bool x25519_shared(uint8_t out[X25519_KEY_LEN], const uint8_t sk[X25519_KEY_LEN],
		   const uint8_t pk[X25519_KEY_LEN]);

#endif
