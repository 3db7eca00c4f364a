/* Vector tests of crypto/hash.h, our wrappers over libb2 and libsodium:
 * BLAKE2s (keyed, unkeyed, every output length, inputs split in two),
 * BLAKE2b-256, HMAC-BLAKE2s and WireGuard's HKDF. */
#include "crypto/crypto.h"
#include "crypto/hash.h"

#include "test/crypto/blake2s_kat.h"
#include "test/tap.h"

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

/* Every output length blake2s_hash allows, unkeyed and keyed, from
 * Python's hashlib.blake2s (CPython's own BLAKE2, not libb2):
 *   n = 1..32, inp = bytes(range(4 * n)), key = bytes(range(33 - n))
 *   hashlib.blake2s(inp, digest_size=n).hexdigest()
 *   hashlib.blake2s(inp, digest_size=n, key=key).hexdigest()
 * so that every key length 1..32 is used once and the inputs end inside,
 * at and past the 64- and 128-byte block boundaries. */
static void test_blake2s_lengths(void)
{
	static const struct {
		size_t outlen;
		const char *unkeyed, *keyed;
	} v[] = {
		{ 1, "80",
		  "d0" },
		{ 2, "09fc",
		  "c27f" },
		{ 3, "32afe0",
		  "81f2e2" },
		{ 4, "08da525d",
		  "f4777613" },
		{ 5, "3515cae34e",
		  "790e8ed0de" },
		{ 6, "3528d6b6463a",
		  "6e9cda0a38af" },
		{ 7, "05a6b4ec62d621",
		  "5c257697ea174f" },
		{ 8, "4d6c66dd900ae2ef",
		  "61fba5fb2c2268f3" },
		{ 9, "1d3164a7bdf81ae708",
		  "e975f8d6098dbe18bd" },
		{ 10, "7f4e7ae33064cbf35381",
		  "1ddc6169f28127f52e0e" },
		{ 11, "1181493a8bc6470bccb7b6",
		  "545036d22913fa7c0977b3" },
		{ 12, "60c5439e5e2727060da9c3cf",
		  "7d567186be79a08c072f37fa" },
		{ 13, "96917c76098ac3883951db3db3",
		  "be0366a502c264b2bcca767850" },
		{ 14, "8d5232bbeeffbedb9147323a4b7f",
		  "5ba14fdd7b0c312b682ee74ec02e" },
		{ 15, "08f1b644f40de44d5224d57620d0b7",
		  "292da0e60d13a9226e099f5a536bb0" },
		{ 16, "dc66ca8f03865801b0ffe06ed8a1a90e",
		  "f48079c434e1fee72e3fb41a89d444d1" },
		{ 17, "605bbf7179719c31fe875f0aeeb5ea8fea",
		  "cc16509e24d3563dd8552b4caed617d3d8" },
		{ 18, "e78738ea456a2ca4b30d5af3efa4f9bdef90",
		  "1db2ba1d49e4164d8980dd7ffebfbbf0f21e" },
		{ 19, "34731c6df0ba6c79ec66846c50cba81819f407",
		  "e9ddcf32d35b684e151c198c2bf11f99b8989b" },
		{ 20, "2e33e68b08d61675372cf6da84ab69f2ec707b00",
		  "73a6cad132abf48c79aee377e6eaf2d3dbb77735" },
		{ 21, "515d1b383491e0fad442828f41479bba0c07ef4bb8",
		  "d20373e2cbd9091fbddfb84567d1f048a53d730a37" },
		{ 22, "178db99d9cd09a33ae587525353e2557056fd6fdbb5e",
		  "710e8412d8c60f9857f4ea56c5a3139a7e3b82e236a1" },
		{ 23, "b0fd5515e33a44bd9230fb4cb218b88fe54d26238a50a5",
		  "ad38a4586797a01bd3dd6cbc787f6e56e259074a0eb297" },
		{ 24, "8cb8b09961b406dac45c2749e426eaae058ce3574530aa61",
		  "cdb52c5150d774c2308299a08eda647764226859eedf5732" },
		{ 25, "375f1d78d21b554ec6f3c6ae134282a0ff2442a0e489212a42",
		  "f8a1b486218b686a0572719c7bb7e7be51060fce1cdc822b05" },
		{ 26, "558d8cedf5a81910027178bd7678002ec58f5589cada347238aa",
		  "13244183c42154b877bcd410377e60a79a53a3395045af98608e" },
		{ 27, "26dda5e759565e923561bfe217fcf91ca1cd9a22c4c75532b1dfe0",
		  "bc71eb34070acbf9d0462669b98927c6129e53fc479b4558a6c597" },
		{ 28, "589286ce5d448b9b6a727ae3e24deb9e8141fedb1e8e853556a63a03",
		  "f7702acab1083a4f37ad69507a41d6ea3ffb75a7f46c22c6e7e25fb4" },
		{ 29, "bbb2b10b13495891dea4a818868accc04c390af3cb11fba59665b07f6d",
		  "30692bee3c113749040dc68a2130b38e1ff1640ec90ef75652af9d454e" },
		{ 30, "b9881b05b26c9b8bc9d915aba3d108c3fa2c21fc26b44ba71cb444248542",
		  "214c1409eb9c9617d761cabfae244f16303b941cbcc4dc46f151d882d0fa" },
		{ 31, "1433164f0fffc3b1907d88319f36d01b0382389692d1113dc9d4c7b30585b0",
		  "bdf0170be70bfc02a8969fbf66fbb022bc93c611ce218a5e8b6e2b5d2e5923" },
		{ 32, "1fa877de67259d19863a2a34bcc6962a2b25fcbf5cbecd7ede8f1fa36688a796",
		  "1b3f705bac4e4646c49ba9416708cd47b0ad22cb05224bc4a7265b431db16394" },
	};
	uint8_t in[128], key[32], out[BLAKE2S_HASH_LEN + 8];
	size_t i, j;

	for (i = 0; i < sizeof(in); ++i)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(key); ++i)
		key[i] = (uint8_t)i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		size_t outlen = v[i].outlen, inlen = 4 * outlen, keylen = 33 - outlen;
		bool spill = false;
		char name[96];

		/* The bytes past outlen must stay as they were: callers pass
		 * buffers of exactly the digest length (mac1 and mac2 sit in
		 * the middle of a message). */
		memset(out, 0xa5, sizeof(out));
		blake2s_hash(out, outlen, in, inlen, NULL, 0);
		for (j = outlen; j < sizeof(out); ++j)
			spill |= out[j] != 0xa5;
		snprintf(name, sizeof(name), "BLAKE2s-%zu unkeyed, %zu-byte input", 8 * outlen, inlen);
		ok_hex(out, outlen, v[i].unkeyed, name);

		memset(out, 0xa5, sizeof(out));
		blake2s_hash(out, outlen, in, inlen, key, keylen);
		for (j = outlen; j < sizeof(out); ++j)
			spill |= out[j] != 0xa5;
		snprintf(name, sizeof(name), "BLAKE2s-%zu, %zu-byte key, %zu-byte input",
			 8 * outlen, keylen, inlen);
		ok_hex(out, outlen, v[i].keyed, name);
		ok(!spill, "BLAKE2s-%zu writes nothing past its %zu-byte digest", 8 * outlen, outlen);
	}

	/* blake2s_mac16 as WireGuard's mac1 uses it: a 32-byte key over the
	 * 116 bytes before mac1 (the same generator with digest_size=16,
	 * key bytes(range(32)) and input bytes(range(116))). */
	blake2s_mac16(out, key, sizeof(key), in, 116);
	ok_hex(out, BLAKE2S_MAC_LEN, "072e94ffbfc684bd8ab2a1b9dade2fd5",
	       "blake2s_mac16, 32-byte key, 116-byte input");
}

/* blake2s_hash2 hashes its two buffers in turn; the digest must be that
 * of their concatenation wherever the split falls: every split of every
 * unkeyed KAT input, then random lengths across several blocks against
 * blake2s_hash in one piece. */
static void test_blake2s_split(void)
{
	uint8_t in[700], a[32], b[32];
	unsigned trial, bad = 0, splits = 0;
	size_t i, cut;

	for (i = 0; i < 256; ++i)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(blake2s_kat) / sizeof(blake2s_kat[0]); ++i) {
		const struct blake2s_kat *v = &blake2s_kat[i];
		uint8_t want[32];

		if (v->keyed)
			continue;
		tap_unhex(want, sizeof(want), v->out);
		for (cut = 0; cut <= v->inlen; ++cut, ++splits) {
			blake2s_hash2(a, in, cut, in + cut, v->inlen - cut);
			bad += memcmp(a, want, sizeof(a)) != 0;
		}
	}
	ok(splits == 256 * 257 / 2 && !bad,
	   "blake2s_hash2 at every split of the 256 unkeyed KAT inputs (%u splits, %u differ)",
	   splits, bad);

	srand(11);
	bad = 0;
	for (trial = 0; trial < 3000; ++trial) {
		size_t len = (size_t)rand() % (sizeof(in) + 1);

		cut = (size_t)rand() % (len + 1);
		for (i = 0; i < len; ++i)
			in[i] = (uint8_t)rand();
		blake2s_hash2(a, in, cut, in + cut, len - cut);
		blake2s_hash(b, sizeof(b), in, len, NULL, 0);
		bad += memcmp(a, b, sizeof(a)) != 0;
	}
	ok(!bad, "blake2s_hash2(a, b) == blake2s_hash(a || b) for 3000 random inputs up to "
	   "700 B split anywhere (%u differ)", bad);
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
	test_blake2s_lengths();
	test_blake2s_split();
	test_blake2b();
	test_hmac();
	test_hkdf();
	return tap_done();
}
