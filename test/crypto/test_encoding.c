/* Tests of crypto/encoding.h (key encodings, generic base64, constant-time
 * comparisons), crypto/tai64n.h and crypto/workbit.h. */
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/tai64n.h"
#include "crypto/workbit.h"

#include "test/tap.h"

#include <sodium.h>

static void test_key_round_trips(void)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_B64_LEN + 1], url[KEY_B64URL_LEN + 1], hex[KEY_HEX_LEN + 1];
	bool std_ok = true, url_ok = true, hex_ok = true, upper_ok = true, forms_ok = true;
	int i;

	for (i = 0; i < 1000; ++i) {
		size_t j;

		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		key_to_base64url(url, key);
		key_to_hex(hex, key);

		forms_ok &= strlen(b64) == KEY_B64_LEN && b64[43] == '=' && b64[42] != '=' &&
			    strlen(url) == KEY_B64URL_LEN && !strpbrk(url, "+/=") &&
			    !strpbrk(b64, "-_") && strlen(hex) == KEY_HEX_LEN &&
			    strspn(hex, "0123456789abcdef") == KEY_HEX_LEN;

		memset(back, 0, sizeof(back));
		std_ok &= key_from_base64(back, b64, KEY_B64_LEN) && !memcmp(back, key, KEY_LEN);
		memset(back, 0, sizeof(back));
		url_ok &= key_from_base64(back, url, KEY_B64URL_LEN) && !memcmp(back, key, KEY_LEN);
		memset(back, 0, sizeof(back));
		hex_ok &= key_from_hex(back, hex, KEY_HEX_LEN) && !memcmp(back, key, KEY_LEN);
		for (j = 0; j < KEY_HEX_LEN; ++j)
			if (hex[j] >= 'a' && hex[j] <= 'f')
				hex[j] = (char)(hex[j] - 'a' + 'A');
		memset(back, 0, sizeof(back));
		upper_ok &= key_from_hex(back, hex, KEY_HEX_LEN) && !memcmp(back, key, KEY_LEN);
	}
	ok(forms_ok, "1000 random keys: encodings have the right length and alphabet");
	ok(std_ok, "1000 random keys: standard base64 round-trips");
	ok(url_ok, "1000 random keys: URL-safe unpadded base64 round-trips");
	ok(hex_ok, "1000 random keys: lowercase hex round-trips");
	ok(upper_ok, "1000 random keys: uppercase hex decodes");
}

static void test_key_known(void)
{
	/* Fixed encodings, worked out from RFC 4648 sections 4, 5 and 8. */
	static const struct {
		const char *hex, *b64, *url;
	} v[] = {
		{ "0000000000000000000000000000000000000000000000000000000000000000",
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
		{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		  "//////////////////////////////////////////8=",
		  "__________________________________________8" },
		{ "fbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbefbef",
		  "++++++++++++++++++++++++++++++++++++++++++8=",
		  "------------------------------------------8" },
		/* RFC 7748 6.1, Alice's public key, as wg(8) prints it. */
		{ "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
		  "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
		  "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		uint8_t key[KEY_LEN], back[KEY_LEN];
		char b64[KEY_B64_LEN + 1], url[KEY_B64URL_LEN + 1], hex[KEY_HEX_LEN + 1];

		tap_unhex(key, sizeof(key), v[i].hex);
		key_to_base64(b64, key);
		key_to_base64url(url, key);
		key_to_hex(hex, key);
		ok(!strcmp(b64, v[i].b64), "key %.8s.. encodes to \"%s\" (got \"%s\")", v[i].hex,
		   v[i].b64, b64);
		ok(!strcmp(url, v[i].url), "key %.8s.. encodes URL-safe to \"%s\" (got \"%s\")",
		   v[i].hex, v[i].url, url);
		ok(!strcmp(hex, v[i].hex), "key %.8s.. encodes to lowercase hex", v[i].hex);
		/* Either alphabet, padded or not, decodes. */
		ok(key_from_base64(back, v[i].url, KEY_B64URL_LEN) && !memcmp(back, key, KEY_LEN),
		   "\"%s\" decodes", v[i].url);
	}
}

static void test_key_mixed_forms(void)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char s[KEY_B64_LEN + 1];

	/* Standard alphabet without padding, URL-safe with padding. */
	tap_unhex(key, sizeof(key), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	ok(key_from_base64(back, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", 43) &&
	   !memcmp(back, key, KEY_LEN), "standard alphabet without padding decodes");
	ok(key_from_base64(back, "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=", 44) &&
	   !memcmp(back, key, KEY_LEN), "URL-safe alphabet with padding decodes");

	/* Both alphabets in one key. */
	memcpy(s, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", 45);
	s[0] = '-';
	ok(!key_from_base64(back, s, 44), "'-' and '/' in one key refused");
	memcpy(s, "__________________________________________8=", 45);
	s[5] = '+';
	ok(!key_from_base64(back, s, 44), "'_' and '+' in one key refused");
}

static void test_key_rejections(void)
{
	static const char good[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
	static const struct {
		const char *s;
		size_t len;	/* 0: strlen */
		const char *why;
	} bad[] = {
		{ "", 0, "empty" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=", 0, "one character short" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==", 0, "extra padding" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA", 0, "44 characters, no padding" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==", 0, "two pad characters (31 bytes)" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 0, "trailing newline" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=A", 0, "trailing junk" },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoAA", 0, "trailing junk, unpadded" },
		{ " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", 0, "leading space" },
		{ "hSDwCYkwp1R0i33ctD73 g2/Og0mOBr066SpjqqbTmo=", 0, "embedded space" },
		{ "hSDwCYkwp1R0i33ctD73\ng2/Og0mOBr066SpjqqbTmo=", 0, "embedded newline" },
		{ "hSDwCYkwp1R0i33ctD73\0g2/Og0mOBr066SpjqqbTmo=", 44, "embedded NUL" },
		{ "hSDwCYkwp1R0i33ctD73*g2/Og0mOBr066SpjqqbTmo=", 0, "bad character '*'" },
		{ "hSDwCYkwp1R0i33ctD73.g2/Og0mOBr066SpjqqbTmo=", 0, "bad character '.'" },
		/* libsodium 1.0.18 alone would read these as '/' and '_'. */
		{ "hSDwCYkwp1R0i33ctD73\xc3g2/Og0mOBr066SpjqqbTmo=", 0, "non-ASCII byte" },
		{ "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066Spjqq\xffTmo", 0, "non-ASCII byte, URL-safe" },
		{ "hSDwCYkwp1R0i33ctD73=g2/Og0mOBr066SpjqqbTmo=", 0, "padding in the middle" },
		/* The last data character carries 2 bits beyond the key's 256:
		 * they must be zero ("o" = 101000 ends in 00, "p" = 101001). */
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=", 0, "non-canonical last character" },
		{ "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmp", 0,
		  "non-canonical last character, URL-safe" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", 0, "non-canonical zero key" },
	};
	uint8_t key[KEY_LEN], sentinel[KEY_LEN];
	size_t i;

	ok(key_from_base64(key, good, strlen(good)), "the base key decodes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].s);

		memset(key, 0xa5, sizeof(key));
		memset(sentinel, 0xa5, sizeof(sentinel));
		ok(!key_from_base64(key, bad[i].s, len) && !memcmp(key, sentinel, KEY_LEN),
		   "base64 key refused, output untouched: %s", bad[i].why);
	}
	/* Every byte from 0x80 up, in the middle and in the last place. */
	{
		char s[KEY_B64_LEN + 1];
		bool all = true;
		int c;

		for (c = 0x80; c < 0x100; ++c) {
			memcpy(s, good, sizeof(s));
			s[10] = (char)c;
			all &= !key_from_base64(key, s, KEY_B64_LEN);
			memcpy(s, good, sizeof(s));
			s[42] = (char)c;
			all &= !key_from_base64(key, s, KEY_B64_LEN);
			all &= !key_from_base64(key, s, KEY_B64URL_LEN);
		}
		ok(all, "no byte from 0x80 to 0xff passes as a base64 character");
	}
	/* A length that does not cover the string: only len bytes count. */
	ok(!key_from_base64(key, good, 40), "a length shorter than the key refused");
}

static void test_hex_rejections(void)
{
	static const char good[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6", "63 digits" },
		{ "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a0", "65 digits" },
		{ "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\n",
		  "trailing newline" },
		{ "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6g", "'g'" },
		{ "0x20f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "0x prefix" },
		{ "8520f0098930a754748b7ddcb43ef75a dbf3a0d26381af4eba4a98eaa9b4e6a",
		  "embedded space" },
		{ "8520f0098930a754748b7ddcb43ef75a:dbf3a0d26381af4eba4a98eaa9b4e6a", "colon" },
		{ "8520f0098930a754748b7ddcb43ef75a\xe0" "dbf3a0d26381af4eba4a98eaa9b4e6a",
		  "non-ASCII byte" },
	};
	uint8_t key[KEY_LEN], want[KEY_LEN];
	size_t i;

	tap_unhex(want, sizeof(want), good);
	ok(key_from_hex(key, good, strlen(good)) && !memcmp(key, want, KEY_LEN), "hex key decodes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
		ok(!key_from_hex(key, bad[i].s, strlen(bad[i].s)), "hex key refused: %s", bad[i].why);
}

static void test_base64_generic(void)
{
	/* RFC 4648 section 10. */
	static const struct b64_vector {
		const char *in, *b64;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	uint8_t buf[64], bin[300], back[300];
	char enc[512];
	const struct b64_vector *t;
	size_t i;
	bool all = true;

	for (t = v; t < v + sizeof(v) / sizeof(v[0]); ++t) {
		size_t n = strlen(t->in);
		long got;

		ok(base64_encoded_len(n, false) == strlen(t->b64) + 1,
		   "RFC 4648 10: encoded length of \"%s\"", t->in);
		base64_encode(enc, sizeof(enc), (const uint8_t *)t->in, n, false);
		ok(!strcmp(enc, t->b64), "RFC 4648 10: \"%s\" -> \"%s\" (got \"%s\")", t->in,
		   t->b64, enc);
		got = base64_decode(buf, sizeof(buf), t->b64, strlen(t->b64), false);
		ok(got == (long)n && !memcmp(buf, t->in, n), "RFC 4648 10: \"%s\" decodes", t->b64);
	}

	/* The URL-safe form carries no padding. */
	base64_encode(enc, sizeof(enc), (const uint8_t *)"f", 1, true);
	ok(!strcmp(enc, "Zg") && base64_encoded_len(1, true) == 3, "URL-safe \"f\" -> \"Zg\"");
	ok(base64_decode(buf, sizeof(buf), "Zg", 2, true) == 1 && buf[0] == 'f',
	   "URL-safe \"Zg\" decodes");

	ok(base64_decode(buf, sizeof(buf), "Zm9vYmFy!", 9, false) < 0, "trailing junk refused");
	ok(base64_decode(buf, sizeof(buf), "Zm9v YmFy", 9, false) < 0, "embedded space refused");
	ok(base64_decode(buf, sizeof(buf), "Zm9v\x80mFy", 8, false) < 0, "a non-ASCII byte refused");
	ok(base64_decode(buf, sizeof(buf), "Zm9v\xdfmFy", 8, true) < 0,
	   "a non-ASCII byte refused (URL-safe)");
	ok(base64_decode(buf, sizeof(buf), "Zh==", 4, false) < 0, "non-canonical \"Zh==\" refused");
	ok(base64_decode(buf, 2, "Zm9v", 4, false) < 0, "output too small refused");
	ok(base64_decode(buf, sizeof(buf), "-_", 2, false) < 0, "URL-safe characters refused as standard");
	ok(base64_decode(buf, sizeof(buf), "+/", 2, true) < 0, "standard characters refused as URL-safe");

	/* Random lengths round-trip in both alphabets. */
	for (i = 0; i < 300; ++i) {
		int urlsafe;

		randombytes_buf(bin, i);
		for (urlsafe = 0; urlsafe < 2; ++urlsafe) {
			size_t elen = base64_encoded_len(i, urlsafe);
			long got;

			base64_encode(enc, sizeof(enc), bin, i, urlsafe);
			got = base64_decode(back, sizeof(back), enc, strlen(enc), urlsafe);
			all &= strlen(enc) + 1 == elen && got == (long)i && !memcmp(back, bin, i);
		}
	}
	ok(all, "random buffers of 0..299 bytes round-trip in both alphabets");
}

static void test_ct(void)
{
	uint8_t a[64], b[64];
	size_t i;
	bool all = true;

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	ok(ct_equal(a, b, sizeof(a)), "ct_equal on equal buffers");
	for (i = 0; i < sizeof(a) * 8; ++i) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		all &= !ct_equal(a, b, sizeof(a));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	ok(all, "ct_equal sees every single-bit difference");
	ok(ct_equal(a, b, 0), "ct_equal of nothing is true");

	memset(a, 0, sizeof(a));
	ok(ct_is_zero(a, sizeof(a)), "ct_is_zero on zeros");
	all = true;
	for (i = 0; i < sizeof(a); ++i) {
		a[i] = 0x80;
		all &= !ct_is_zero(a, sizeof(a));
		a[i] = 0;
	}
	ok(all, "ct_is_zero sees a set byte anywhere");
}

static void test_tai64n(void)
{
	/* TAI64 labels (cr.yp.to/libtai/tai64.html: 400000000000000a is
	 * 1970-01-01 00:00:00 UTC): 2^62 + 10 + unix seconds, big-endian; the
	 * nanoseconds rounded down to a multiple of 2^24 as the kernel module
	 * and wireguard-go (device/tai64n) do.  The other rows are worked out
	 * from that definition. */
	static const struct {
		uint64_t sec;
		uint32_t nsec;
		const char *hex;
	} v[] = {
		{ 0, 0, "400000000000000a00000000" },
		{ 0, 16777215, "400000000000000a00000000" },
		{ 0, 16777216, "400000000000000a01000000" },
		{ 1, 999999999, "400000000000000b3b000000" },
		{ 1700000000, 123456789, "400000006553f10a07000000" },
		{ 0xffffffffULL, 500000000, "40000001000000091d000000" },
	};
	uint8_t out[TAI64N_LEN], prev[TAI64N_LEN];
	uint64_t sec;
	uint32_t nsec;
	size_t i;
	bool monotonic = true, strict = true;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		char name[64];

		tai64n_encode(out, v[i].sec, v[i].nsec);
		snprintf(name, sizeof(name), "TAI64N of %llu.%09u", (unsigned long long)v[i].sec,
			 v[i].nsec);
		ok_hex(out, sizeof(out), v[i].hex, name);
	}

	/* memcmp order follows time order: a receiver compares labels with
	 * memcmp to refuse replayed initiations. */
	sec = 1600000000;
	nsec = 0;
	tai64n_encode(prev, sec, nsec);
	for (i = 0; i < 5000; ++i) {
		uint64_t step = randombytes_uniform(1500000000);
		uint8_t cur[TAI64N_LEN];
		int c;

		nsec += (uint32_t)step;
		sec += nsec / 1000000000;
		nsec %= 1000000000;
		tai64n_encode(cur, sec, nsec);
		c = memcmp(prev, cur, TAI64N_LEN);
		monotonic &= c <= 0;
		/* Two times at least 2^24 ns apart always differ. */
		if (step >= (1u << 24))
			strict &= c < 0;
		memcpy(prev, cur, sizeof(prev));
	}
	ok(monotonic, "TAI64N labels of increasing times never decrease under memcmp");
	ok(strict, "TAI64N labels of times 2^24 ns or more apart increase under memcmp");
}

/* Leading zero bits of BLAKE2b-256(pk || ns), one bit at a time straight
 * from libsodium: the model workbit_of is checked against. */
static unsigned naive_workbit(const uint8_t pk[32], const char *ns, size_t nslen)
{
	uint8_t msg[32 + 64], h[32];
	unsigned n = 0;

	memcpy(msg, pk, 32);
	memcpy(msg + 32, ns, nslen);
	crypto_generichash(h, sizeof(h), msg, 32 + nslen, NULL, 0);
	while (n < 256 && !(h[n / 8] & (0x80 >> (n % 8))))
		++n;
	return n;
}

static void test_workbit(void)
{
	static const char *const namespaces[] = { "public", "", "a much longer namespace name" };
	uint8_t pk[32];
	unsigned hist[17] = { 0 };
	unsigned long tries;
	size_t i, n;
	bool agree = true, found16 = false;

	for (n = 0; n < sizeof(namespaces) / sizeof(namespaces[0]); ++n) {
		const char *ns = namespaces[n];

		for (i = 0; i < 3000; ++i) {
			unsigned w;

			randombytes_buf(pk, sizeof(pk));
			w = workbit_of(pk, ns, strlen(ns));
			agree &= w == naive_workbit(pk, ns, strlen(ns));
			++hist[w > 16 ? 16 : w];
		}
	}
	ok(agree, "workbit_of agrees with a bit-by-bit count on 9000 random keys");
	ok(hist[0] > 4000 && hist[1] > 2000 && hist[2] > 1000,
	   "workbit distribution looks geometric (%u, %u, %u, ...)", hist[0], hist[1], hist[2]);

	/* Search for keys whose hash starts with at least 8 and 16 zero bits,
	 * so that the counting crosses byte boundaries; the count must agree
	 * with the model there too. */
	agree = true;
	for (tries = 0; tries < (1ul << 22) && !found16; ++tries) {
		unsigned w;

		randombytes_buf(pk, sizeof(pk));
		w = workbit_of(pk, "public", 6);
		if (w < 8)
			continue;
		agree &= w == naive_workbit(pk, "public", 6);
		found16 |= w >= 16;
	}
	ok(found16, "found a key with 16 or more workbits after %lu tries", tries);
	ok(agree, "workbit_of agrees with the model on every key of 8 or more bits");

	/* The namespace is hashed after the key. */
	randombytes_buf(pk, sizeof(pk));
	{
		uint8_t h[32];
		unsigned w = workbit_of(pk, "ns", 2), m = 0;

		blake2b_256(h, pk, 32, "ns", 2);
		while (m < 256 && !(h[m / 8] & (0x80 >> (m % 8))))
			++m;
		ok(w == m, "workbit_of(pk, ns) counts BLAKE2b-256(pk || ns)");
	}
}

int main(void)
{
	if (crypto_layer_init() < 0) {
		printf("Bail out! libsodium does not initialise\n");
		return 1;
	}
	test_key_round_trips();
	test_key_known();
	test_key_mixed_forms();
	test_key_rejections();
	test_hex_rejections();
	test_base64_generic();
	test_ct();
	test_tai64n();
	test_workbit();
	return tap_done();
}
