/* Vector tests of crypto/x25519.h: RFC 7748, clamping, and the refusal of
 * low-order public keys. */
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/x25519.h"

#include "test/tap.h"

#include <sodium.h>

static void unhex32(uint8_t out[32], const char *hex)
{
	if (tap_unhex(out, 32, hex) != 32) {
		printf("Bail out! bad vector %s\n", hex);
		exit(1);
	}
}

static void test_rfc7748_vectors(void)
{
	/* RFC 7748 section 5.2, the two single scalar multiplications.  The
	 * scalars are not clamped and the second u has its top bit set: the
	 * RFC's X25519 clamps the one and masks the other, as ours must. */
	static const struct {
		const char *scalar, *u, *out;
	} v[] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t k[32], u[32], out[32];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		char name[64];

		unhex32(k, v[i].scalar);
		unhex32(u, v[i].u);
		snprintf(name, sizeof(name), "RFC 7748 5.2 vector %zu", i + 1);
		ok(x25519_shared(out, k, u), "%s accepted", name);
		ok_hex(out, sizeof(out), v[i].out, name);
	}
}

static void test_rfc7748_iterated(void)
{
	/* RFC 7748 section 5.2: k = u = 9; then repeatedly k = X25519(k, u)
	 * and u = the old k.  The RFC gives k after 1 and after 1000 rounds
	 * (and after 10^6, too slow for a unit test). */
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];
	bool all = true;
	int i;

	for (i = 1; i <= 1000; ++i) {
		all &= x25519_shared(r, k, u);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			ok_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
			       "RFC 7748 5.2 iterated: after 1 round");
	}
	ok(all, "RFC 7748 5.2 iterated: every round accepted");
	ok_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
	       "RFC 7748 5.2 iterated: after 1000 rounds");
}

static void test_rfc7748_dh(void)
{
	/* RFC 7748 section 6.1. */
	uint8_t a[32], b[32], apub[32], bpub[32], ka[32], kb[32];

	unhex32(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex32(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	ok(x25519_public(apub, a), "RFC 7748 6.1 Alice's public key computed");
	ok_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	       "RFC 7748 6.1 Alice's public key");
	ok(x25519_public(bpub, b), "RFC 7748 6.1 Bob's public key computed");
	ok_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	       "RFC 7748 6.1 Bob's public key");
	ok(x25519_shared(ka, a, bpub), "RFC 7748 6.1 Alice's side accepted");
	ok_hex(ka, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
	       "RFC 7748 6.1 shared secret, Alice's side");
	ok(x25519_shared(kb, b, apub), "RFC 7748 6.1 Bob's side accepted");
	ok_hex(kb, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
	       "RFC 7748 6.1 shared secret, Bob's side");
}

static void test_low_order(void)
{
	/* The points of order 1, 2, 4 and 8 (and the non-canonical p, p + 1
	 * for 0 and 1): the list libsodium's has_small_order() refuses, the
	 * same points the RFC 7748 section 6.1 all-zero check catches.  With
	 * any of them the shared secret is zero whatever the private key. */
	static const char *const points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t sk[32], pk[32], out[32];
	size_t i;
	int high;

	for (i = 0; i < sizeof(points) / sizeof(points[0]); ++i) {
		for (high = 0; high < 2; ++high) {
			x25519_generate(sk);
			unhex32(pk, points[i]);
			/* X25519 ignores the top bit of u (RFC 7748 section 5). */
			if (high)
				pk[31] |= 0x80;
			memset(out, 0x55, sizeof(out));
			ok(!x25519_shared(out, sk, pk) && ct_is_zero(out, sizeof(out)),
			   "low-order point %.8s...%s refused, output zeroed", points[i],
			   high ? " (top bit set)" : "");
		}
	}
}

static void test_clamp(void)
{
	uint8_t sk[32], c[32], pk1[32], pk2[32];
	bool clamped = true;
	int i;

	memset(sk, 0xff, sizeof(sk));
	x25519_clamp(sk);
	ok_hex(sk, 32, "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	       "clamp(ff..ff): low 3 bits and bit 255 cleared");
	memset(sk, 0, sizeof(sk));
	x25519_clamp(sk);
	ok_hex(sk, 32, "0000000000000000000000000000000000000000000000000000000000000040",
	       "clamp(00..00): bit 254 set");

	for (i = 0; i < 64; ++i) {
		x25519_generate(sk);
		clamped &= (sk[0] & 7) == 0 && (sk[31] & 0xc0) == 0x40;
	}
	ok(clamped, "x25519_generate gives clamped keys");

	/* The public key of an unclamped key is that of its clamped form, and
	 * x25519_public leaves the caller's key as it was. */
	randombytes_buf(sk, sizeof(sk));
	sk[0] |= 7;
	sk[31] |= 0x80;
	memcpy(c, sk, sizeof(c));
	ok(x25519_public(pk1, sk), "public key of an unclamped key");
	ok(memcmp(c, sk, sizeof(c)) == 0, "x25519_public does not modify its input");
	x25519_clamp(c);
	ok(x25519_public(pk2, c), "public key of the clamped key");
	ok_mem(pk1, pk2, 32, "clamping is applied before the multiplication");

	/* Agreement on random keys. */
	for (i = 0; i < 16; ++i) {
		uint8_t a[32], b[32], apub[32], bpub[32], ka[32], kb[32];

		x25519_generate(a);
		x25519_generate(b);
		if (!x25519_public(apub, a) || !x25519_public(bpub, b) ||
		    !x25519_shared(ka, a, bpub) || !x25519_shared(kb, b, apub) ||
		    memcmp(ka, kb, 32) != 0)
			break;
	}
	ok(i == 16, "random key pairs agree on the shared secret (%d of 16)", i);
}

int main(void)
{
	if (crypto_layer_init() < 0) {
		printf("Bail out! libsodium does not initialise\n");
		return 1;
	}
	test_rfc7748_vectors();
	test_rfc7748_iterated();
	test_rfc7748_dh();
	test_low_order();
	test_clamp();
	return tap_done();
}
