/* Vector tests of crypto/hash.h: BLAKE2s (keyed, unkeyed, every output
 * length), BLAKE2b-256, HMAC-BLAKE2s and WireGuard's HKDF. */
#include "crypto/crypto.h"
#include "crypto/blake2s.h"
#include "crypto/hash.h"

#include "test/crypto/blake2s_kat.h"
#include "test/tap.h"

#include <blake2.h>
#include <sodium.h>

/* true when the 32 bytes at got are the ones hex spells. */
static bool eq_hex(const uint8_t *got, const char *hex)
{
	uint8_t want[32];

	return tap_unhex(want, sizeof(want), hex) == 32 && memcmp(got, want, 32) == 0;
}

static void test_blake2s_kat(void)
{
	uint8_t in[256], key[BLAKE2S_MAX_KEY_LEN], out[BLAKE2S_HASH_LEN];
	size_t i;

	for (i = 0; i < sizeof(in); ++i)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(key); ++i)
		key[i] = (uint8_t)i;

	/* BLAKE2/BLAKE2 testvectors/blake2-kat.json, BLAKE2s entries. */
	for (i = 0; i < sizeof(blake2s_kat) / sizeof(blake2s_kat[0]); ++i) {
		const struct blake2s_kat *v = &blake2s_kat[i];
		char name[64];

		snprintf(name, sizeof(name), "blake2-kat.json BLAKE2s %s, %u-byte input",
			 v->keyed ? "keyed" : "unkeyed", v->inlen);
		blake2s_hash(out, sizeof(out), in, v->inlen, v->keyed ? key : NULL,
			     v->keyed ? sizeof(key) : 0);
		ok_hex(out, sizeof(out), v->out, name);
	}
}

static void test_blake2s_abc(void)
{
	uint8_t out[BLAKE2S_HASH_LEN];

	/* RFC 7693 Appendix B: BLAKE2s-256("abc"). */
	blake2s_hash(out, sizeof(out), "abc", 3, NULL, 0);
	ok_hex(out, sizeof(out),
	       "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
	       "RFC 7693 Appendix B: BLAKE2s-256(\"abc\")");
}

/* RFC 7693 Appendix E's deterministic input generator: a Fibonacci
 * sequence modulo 2^32 started from a multiple of a prime, emitting the
 * top byte of each term. */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xDEAD4BADu * seed, b = 1, t;
	size_t i;

	for (i = 0; i < len; ++i) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

static void test_blake2s_selftest(void)
{
	/* RFC 7693 Appendix E: hash each input length at each output length,
	 * unkeyed and then keyed with a key as long as the output, and hash
	 * the concatenation of all the results with BLAKE2s-256. */
	static const size_t md_len[] = { 16, 20, 28, 32 };
	static const size_t in_len[] = { 0, 3, 64, 65, 255, 1024 };
	uint8_t in[1024], key[32], all[2 * 6 * (16 + 20 + 28 + 32)], grand[32];
	size_t i, j, pos = 0;

	for (i = 0; i < sizeof(md_len) / sizeof(md_len[0]); ++i) {
		size_t outlen = md_len[i];

		for (j = 0; j < sizeof(in_len) / sizeof(in_len[0]); ++j) {
			size_t inlen = in_len[j];

			selftest_seq(in, inlen, (uint32_t)inlen);
			blake2s_hash(all + pos, outlen, in, inlen, NULL, 0);
			pos += outlen;
			selftest_seq(key, outlen, (uint32_t)outlen);
			blake2s_hash(all + pos, outlen, in, inlen, key, outlen);
			pos += outlen;
		}
	}
	ok(pos == sizeof(all), "RFC 7693 self-test produced %zu bytes of digests", pos);
	blake2s_hash(grand, sizeof(grand), all, pos, NULL, 0);
	ok_hex(grand, sizeof(grand),
	       "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe",
	       "RFC 7693 Appendix E: BLAKE2s grand hash over output lengths 16/20/28/32");
}

static void test_blake2s_shapes(void)
{
	uint8_t a[100], b[77], cat[177], key[32];
	uint8_t h1[32], h2[32], m1[16], m2[16];

	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	randombytes_buf(key, sizeof(key));
	memcpy(cat, a, sizeof(a));
	memcpy(cat + sizeof(a), b, sizeof(b));

	blake2s_hash2(h1, a, sizeof(a), b, sizeof(b));
	blake2s_hash(h2, sizeof(h2), cat, sizeof(cat), NULL, 0);
	ok_mem(h1, h2, sizeof(h1), "blake2s_hash2(a, b) == BLAKE2s(a || b)");

	blake2s_mac16(m1, key, sizeof(key), cat, sizeof(cat));
	blake2s_hash(m2, sizeof(m2), cat, sizeof(cat), key, sizeof(key));
	ok_mem(m1, m2, sizeof(m1), "blake2s_mac16 == keyed BLAKE2s with a 16-byte output");

	/* The output length is a parameter of the hash, not a truncation:
	 * WireGuard's mac1 depends on this. */
	blake2s_hash(h1, sizeof(h1), cat, sizeof(cat), key, sizeof(key));
	ok(memcmp(m1, h1, sizeof(m1)) != 0, "BLAKE2s-128 is not the first half of BLAKE2s-256");

	/* WireGuard's initial chaining key and hash, as given in the kernel
	 * module (noise.c) and reference/wireguard-protocol.md. */
	blake2s_hash(h1, sizeof(h1), "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", 37, NULL, 0);
	ok_hex(h1, sizeof(h1), "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36",
	       "WireGuard C = HASH(construction)");
	blake2s_hash2(h2, h1, sizeof(h1), "WireGuard v1 zx2c4 Jason@zx2c4.com", 34);
	ok_hex(h2, sizeof(h2), "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3",
	       "WireGuard H = HASH(C || identifier)");
}

static void test_blake2b(void)
{
	uint8_t out[BLAKE2B_256_LEN];

	/* BLAKE2b-256 of "abc" and of the empty string, as listed in
	 * stellar/stellar-core src/crypto/test/CryptoTests.cpp (and given by
	 * the reference b2sum -a blake2b -l 256). */
	blake2b_256(out, "ab", 2, "c", 1);
	ok_hex(out, sizeof(out), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
	       "BLAKE2b-256(\"ab\" || \"c\")");
	blake2b_256(out, NULL, 0, NULL, 0);
	ok_hex(out, sizeof(out), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
	       "BLAKE2b-256(\"\")");
}

/* HMAC by its RFC 2104 definition, key hashed when longer than a block,
 * written independently of crypto/hash.c as the model it is checked
 * against. */
static void model_hmac(uint8_t out[32], const uint8_t *key, size_t keylen,
		       const uint8_t *in, size_t inlen)
{
	uint8_t k[64] = { 0 }, ipad[64 + 512], opad[64 + 32];
	size_t i;

	if (keylen > 64)
		blake2s_hash(k, 32, key, keylen, NULL, 0);
	else
		memcpy(k, key, keylen);
	for (i = 0; i < 64; ++i) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	memcpy(ipad + 64, in, inlen);
	blake2s_hash(opad + 64, 32, ipad, 64 + inlen, NULL, 0);
	blake2s_hash(out, 32, opad, sizeof(opad), NULL, 0);
}

static void test_hmac(void)
{
	static const size_t keylens[] = { 0, 1, 32, 63, 64, 65, 200 };
	uint8_t key[200], in[512], a[32], b[32];
	size_t i;

	for (i = 0; i < sizeof(keylens) / sizeof(keylens[0]); ++i) {
		size_t inlen = randombytes_uniform(sizeof(in));

		randombytes_buf(key, sizeof(key));
		randombytes_buf(in, sizeof(in));
		hmac_blake2s(a, key, keylens[i], in, inlen);
		model_hmac(b, key, keylens[i], in, inlen);
		ok_mem(a, b, sizeof(a), "HMAC-BLAKE2s matches the RFC 2104 model");
		diag("key length %zu, input length %zu", keylens[i], inlen);
	}
}

static void test_hkdf(void)
{
	/* wireguard-go device/kdf_test.go (TestKDF).  Its keys are shorter
	 * than 32 bytes; HMAC pads a key with zeros to the block length, so
	 * the same key padded with zeros to 32 bytes is the same HMAC key and
	 * fits hkdf_blake2s's fixed-size chaining key. */
	static const struct {
		const char *key, *input, *t0, *t1, *t2;
	} v[] = {
		{ "test-key", "test-input",
		  "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
		  "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
		  "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" },
		{ "wireguard", "wireguard",
		  "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
		  "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
		  "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" },
		{ "", "",
		  "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
		  "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
		  "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		uint8_t ck[32] = { 0 }, t0[32], t1[32], t2[32], prk[32];
		size_t klen = strlen(v[i].key), inlen = strlen(v[i].input);
		char name[96];

		memcpy(ck, v[i].key, klen);

		hkdf_blake2s(t0, t1, t2, ck, v[i].input, inlen);
		snprintf(name, sizeof(name), "kdf_test.go KDF3 key \"%s\": t0", v[i].key);
		ok_hex(t0, 32, v[i].t0, name);
		snprintf(name, sizeof(name), "kdf_test.go KDF3 key \"%s\": t1", v[i].key);
		ok_hex(t1, 32, v[i].t1, name);
		snprintf(name, sizeof(name), "kdf_test.go KDF3 key \"%s\": t2", v[i].key);
		ok_hex(t2, 32, v[i].t2, name);

		memset(t0, 0, 32);
		memset(t1, 0, 32);
		hkdf_blake2s(t0, t1, NULL, ck, v[i].input, inlen);
		snprintf(name, sizeof(name), "kdf_test.go KDF2 key \"%s\"", v[i].key);
		ok(eq_hex(t0, v[i].t0) && eq_hex(t1, v[i].t1), "%s", name);

		memset(t0, 0, 32);
		hkdf_blake2s(t0, NULL, NULL, ck, v[i].input, inlen);
		snprintf(name, sizeof(name), "kdf_test.go KDF1 key \"%s\"", v[i].key);
		ok(eq_hex(t0, v[i].t0), "%s", name);

		/* Only the later outputs asked for. */
		memset(t1, 0, 32);
		hkdf_blake2s(NULL, t1, NULL, ck, v[i].input, inlen);
		ok(eq_hex(t1, v[i].t1), "KDF2 with t1 not wanted still gives t2 (key \"%s\")",
		   v[i].key);

		/* The first step by hand, with the unpadded key. */
		hmac_blake2s(prk, (const uint8_t *)v[i].key, klen, v[i].input, inlen);
		hmac_blake2s(t0, prk, 32, "\x01", 1);
		ok(eq_hex(t0, v[i].t0), "T1 = HMAC(HMAC(\"%s\", input), 0x01)", v[i].key);
	}
}

/* crypto/blake2s.c fed in random pieces against libb2 (an independent
 * implementation) in one piece: every digest length, keyed and not,
 * lengths across several blocks. */
static void test_blake2s_incremental(void)
{
	uint8_t in[700], key[32], a[32], b[32];
	unsigned trial, bad = 0;

	srand(11);
	for (trial = 0; trial < 3000; ++trial) {
		size_t len = (size_t)rand() % sizeof(in), keylen = (size_t)rand() % 33;
		size_t outlen = 1 + (size_t)rand() % 32, off = 0, i;
		struct b2s_state st;
		blake2s_state ref;

		for (i = 0; i < len; ++i)
			in[i] = (uint8_t)rand();
		for (i = 0; i < keylen; ++i)
			key[i] = (uint8_t)rand();
		b2s_init(&st, outlen, keylen ? key : NULL, keylen);
		while (off < len) {
			size_t n = 1 + (size_t)rand() % (len - off < 130 ? len - off : 130);

			b2s_update(&st, in + off, n);
			off += n;
		}
		b2s_final(&st, a);
		if (keylen)
			blake2s_init_key(&ref, outlen, key, keylen);
		else
			blake2s_init(&ref, outlen);
		blake2s_update(&ref, in, len);
		blake2s_final(&ref, b, outlen);
		bad += memcmp(a, b, outlen) != 0;
	}
	ok(!bad, "BLAKE2s in random pieces equals libb2 in one (3000 inputs up to 700 B, "
	   "keys 0-32 B, digests 1-32 B; %u differ)", bad);
	ok(b2s_init(&(struct b2s_state){ 0 }, 0, NULL, 0) < 0 &&
	   b2s_init(&(struct b2s_state){ 0 }, 33, NULL, 0) < 0 &&
	   b2s_init(&(struct b2s_state){ 0 }, 32, key, 33) < 0, "BLAKE2s: bad lengths refused");
}

int main(void)
{
	if (crypto_layer_init() < 0) {
		printf("Bail out! libsodium does not initialise\n");
		return 1;
	}
	test_blake2s_kat();
	test_blake2s_abc();
	test_blake2s_selftest();
	test_blake2s_shapes();
	test_blake2s_incremental();
	test_blake2b();
	test_hmac();
	test_hkdf();
	return tap_done();
}
