/* libFuzzer harness for the key and base64 decoders of crypto/encoding.h.
 * Arbitrary bytes go to key_from_base64, key_from_hex and base64_decode in
 * both alphabets; whatever decodes must encode back to the same text
 * (decoders accept only canonical input), and a refusal must leave the
 * output key untouched. */
#include "crypto/crypto.h"
#include "crypto/encoding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Compares text with what an encoder printed, ignoring '=' padding on
 * either side (the decoders take both forms where the encoders print
 * one). */
static int same_unpadded(const char *a, size_t alen, const char *b, size_t blen)
{
	while (alen && a[alen - 1] == '=')
		--alen;
	while (blen && b[blen - 1] == '=')
		--blen;
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void check_key_base64(const char *s, size_t len)
{
	uint8_t key[KEY_LEN];
	char std[KEY_B64_LEN + 1], url[KEY_B64URL_LEN + 1];
	size_t i;

	memset(key, 0xa5, sizeof(key));
	if (!key_from_base64(key, s, len)) {
		for (i = 0; i < sizeof(key); ++i)
			if (key[i] != 0xa5)
				abort();
		return;
	}
	if (len != KEY_B64_LEN && len != KEY_B64URL_LEN)
		abort();
	key_to_base64(std, key);
	key_to_base64url(url, key);
	if (!same_unpadded(s, len, std, strlen(std)) && !same_unpadded(s, len, url, strlen(url)))
		abort();
}

static void check_key_hex(const char *s, size_t len)
{
	uint8_t key[KEY_LEN];
	char hex[KEY_HEX_LEN + 1];
	size_t i;

	if (!key_from_hex(key, s, len))
		return;
	if (len != KEY_HEX_LEN)
		abort();
	key_to_hex(hex, key);
	for (i = 0; i < KEY_HEX_LEN; ++i) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != hex[i])
			abort();
	}
}

static void check_base64(const char *s, size_t len, bool urlsafe)
{
	uint8_t out[1024];
	char *enc;
	size_t enclen;
	long n;

	n = base64_decode(out, sizeof(out), s, len, urlsafe);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(out) || (size_t)n > len)
		abort();
	enclen = base64_encoded_len((size_t)n, urlsafe);
	enc = malloc(enclen);
	if (!enc)
		abort();
	base64_encode(enc, enclen, out, (size_t)n, urlsafe);
	if (strlen(enc) + 1 != enclen || !same_unpadded(s, len, enc, strlen(enc)))
		abort();
	free(enc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (crypto_layer_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	check_key_base64(s, size);
	check_key_hex(s, size);
	check_base64(s, size, false);
	check_base64(s, size, true);
	return 0;
}
