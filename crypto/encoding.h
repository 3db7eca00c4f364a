/* Constant-time encodings of 32-byte keys: standard base64 with padding
 * (WireGuard's, 44 characters), URL-safe base64 without padding
 * (WireHub's, 43 characters) and lowercase hex (the UAPI's, 64
 * characters).  Decoders take the whole string: anything but exactly one
 * key in the expected form, with no trailing junk, is refused. */
#ifndef WH_CRYPTO_ENCODING_H
#define WH_CRYPTO_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	KEY_LEN = 32,
	KEY_B64_LEN = 44,	/* without the terminating NUL */
	KEY_B64URL_LEN = 43,
	KEY_HEX_LEN = 64,
};

void key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN]);
void key_to_base64url(char out[KEY_B64URL_LEN + 1], const uint8_t key[KEY_LEN]);
void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN]);

/* Either alphabet, padded or not.  len is the string's length. */
bool key_from_base64(uint8_t key[KEY_LEN], const char *s, size_t len);
/* Exactly 64 hex digits (either case). */
bool key_from_hex(uint8_t key[KEY_LEN], const char *s, size_t len);

/* Generic constant-time base64 (standard alphabet, padded) of any
 * length; returns the number of bytes written to out or -1. */
long base64_decode(uint8_t *out, size_t outmax, const char *s, size_t len, bool urlsafe);
/* out must hold base64_encoded_len(len) bytes including the NUL. */
size_t base64_encoded_len(size_t len, bool urlsafe);
void base64_encode(char *out, size_t outmax, const uint8_t *in, size_t len, bool urlsafe);

/* true when a and b are equal, in time independent of the content. */
bool ct_equal(const void *a, const void *b, size_t len);
/* true when all len bytes are zero, in constant time. */
bool ct_is_zero(const void *a, size_t len);

#endif
