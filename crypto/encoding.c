#include "crypto/encoding.h"

#include <sodium.h>
#include <string.h>

static int variant(bool urlsafe, bool padded)
{
	if (urlsafe)
		return padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	return padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

/* libsodium 1.0.18 (Debian 12's) decodes every byte from 0x80 up as if
 * it were '/' (or '_' in the URL-safe alphabet): its constant-time
 * character tests assume 7-bit input.  Refuse non-ASCII input first; the
 * scan does not stop early, so its timing does not depend on where such a
 * byte is. */
static bool is_ascii(const char *s, size_t len)
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < len; ++i)
		acc |= (unsigned char)s[i];
	return !(acc & 0x80);
}

size_t base64_encoded_len(size_t len, bool urlsafe)
{
	return sodium_base64_encoded_len(len, variant(urlsafe, !urlsafe));
}

void base64_encode(char *out, size_t outmax, const uint8_t *in, size_t len, bool urlsafe)
{
	sodium_bin2base64(out, outmax, in, len, variant(urlsafe, !urlsafe));
}

long base64_decode(uint8_t *out, size_t outmax, const char *s, size_t len, bool urlsafe)
{
	size_t binlen = 0;
	const char *end = NULL;
	bool padded = len % 4 == 0;

	if (!is_ascii(s, len))
		return -1;
	if (sodium_base642bin(out, outmax, s, len, NULL, &binlen, &end,
			      variant(urlsafe, padded)) != 0)
		return -1;
	if (end != s + len)
		return -1;
	return (long)binlen;
}

void key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

void key_to_base64url(char out[KEY_B64URL_LEN + 1], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64URL_LEN + 1, key, KEY_LEN,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN])
{
	sodium_bin2hex(out, KEY_HEX_LEN + 1, key, KEY_LEN);
}

bool key_from_base64(uint8_t key[KEY_LEN], const char *s, size_t len)
{
	uint8_t tmp[KEY_LEN];
	size_t binlen = 0;
	const char *end = NULL;
	bool urlsafe, padded;
	bool ok = false;

	/* 44 characters ending in '=' is the padded form; 43 is unpadded.
	 * The alphabet is told by the characters only one of them has. */
	if (len == KEY_B64_LEN && s[KEY_B64_LEN - 1] == '=')
		padded = true;
	else if (len == KEY_B64URL_LEN)
		padded = false;
	else
		return false;
	if (!is_ascii(s, len))
		return false;
	urlsafe = memchr(s, '-', len) || memchr(s, '_', len);

	if (sodium_base642bin(tmp, sizeof(tmp), s, len, NULL, &binlen, &end,
			      variant(urlsafe, padded)) != 0)
		goto out;
	if (end != s + len || binlen != KEY_LEN)
		goto out;
	memcpy(key, tmp, KEY_LEN);
	ok = true;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

bool key_from_hex(uint8_t key[KEY_LEN], const char *s, size_t len)
{
	uint8_t tmp[KEY_LEN];
	size_t binlen = 0;
	const char *end = NULL;
	bool ok = false;

	if (len != KEY_HEX_LEN)
		return false;
	if (sodium_hex2bin(tmp, sizeof(tmp), s, len, NULL, &binlen, &end) != 0)
		goto out;
	if (end != s + len || binlen != KEY_LEN)
		goto out;
	memcpy(key, tmp, KEY_LEN);
	ok = true;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

bool ct_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool ct_is_zero(const void *a, size_t len)
{
	return sodium_is_zero(a, len) == 1;
}
