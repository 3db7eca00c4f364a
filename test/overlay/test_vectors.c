/* The worked example of doc/protocol.md ("Worked example"): a PING from A
 * to B and B's PONG, with every intermediate value.
 *
 * Each value is computed twice: once by the implementation (codec and
 * secure layer) and once step by step here, straight from libsodium (X25519,
 * ChaCha20-Poly1305) and the project's HKDF, and both are compared with
 * the hex below.  test/overlay/vectors.py recomputes the same values
 * independently in Python.  With the document's path as argument, the
 * test also checks that the document carries every one of these hex
 * strings (whitespace ignored), so the two cannot drift apart. */
#include "proto/overlay/secure.h"
#include "proto/overlay/codec.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/workbit.h"
#include "test/tap.h"

#include <sodium.h>

#define NS "public"
#define T_A UINT64_C(1700000000000000000)	/* A's clock: 2023-11-14 22:13:20 UTC */
#define T_B UINT64_C(1700000000250000000)	/* B's clock, 250 ms later */

static const char hex_sk_a[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char hex_sk_b[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

/* The expected values, as doc/protocol.md prints them. */
static const char hex_pk_a[] = "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f";
static const char hex_pk_b[] = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
static const char hex_ss[] = "9663aa1da97e848a914a436d04163dfbb89178f107f1b5b77ed3854203382854";
static const char hex_ck[] = "e3cb5bfff081d4362d41468d64f08d89ec06b02de37fef469445a8a3dd755fbc";
static const char hex_k_ab[] = "7f40c03ab6f1f7b091177cf3792776b83dfa5b1e14f6329cebb2ccb1c7baa409";
static const char hex_k_ba[] = "51e6289a9371a7d6afbbc25f8656432888ca9f1fde81d6e48c80a9e2c9497ea8";
static const char hex_ping_plain[] = "010123456789abcdef010000";
static const char hex_ping_header[] =
	"ff018f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138"
	"285f17979cfe362a0000";
static const char hex_ping_nonce[] = "0000000017979cfe362a0000";
static const char hex_ping_sealed[] =
	"ff018f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138"
	"285f17979cfe362a0000f96e8c7e9aa8389a253bea8b6f74a897d09743eba504"
	"e3595f78e1aa";
static const char hex_pong_plain[] = "020123456789abcdef030400000000000000000000ffffcb007107ca6c";
static const char hex_pong_header[] =
	"ff01358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd16"
	"625417979cfe4510b280";
static const char hex_pong_sealed[] =
	"ff01358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd16"
	"625417979cfe4510b2807f84cafb7ab99829a5aea6c7aad222b20501f3de5093"
	"7868fffced476f9e2ea541e0f3f02e7f4c0291b073151d";

static const char *const all_hex[] = {
	hex_sk_a, hex_sk_b, hex_pk_a, hex_pk_b, hex_ss, hex_ck, hex_k_ab, hex_k_ba,
	hex_ping_plain, hex_ping_header, hex_ping_nonce, hex_ping_sealed,
	hex_pong_plain, hex_pong_header, hex_pong_sealed,
};

static bool print_mode;

static void put_hex(const char *name, const uint8_t *b, size_t n)
{
	if (!print_mode)
		return;
	printf("# %s (%zu bytes):\n# ", name, n);
	for (size_t i = 0; i < n; ++i)
		printf("%02x%s", b[i], (i + 1) % 32 == 0 && i + 1 < n ? "\n# " : "");
	printf("\n");
}

static void check(const char *name, const uint8_t *got, size_t n, const char *hex)
{
	put_hex(name, got, n);
	ok_hex(got, n, hex, name);
}

static void unhex(uint8_t *out, size_t n, const char *hex)
{
	if (tap_unhex(out, n, hex) != (long)n)
		abort();
}

/* k(S->R) = HKDF1(CK, ss || pk_S || pk_R || namespace) */
static void derive(uint8_t k[32], const uint8_t ck[32], const uint8_t ss[32],
		   const uint8_t *pk_s, const uint8_t *pk_r)
{
	uint8_t in[96 + sizeof(NS) - 1];

	memcpy(in, ss, 32);
	memcpy(in + 32, pk_s, 32);
	memcpy(in + 64, pk_r, 32);
	memcpy(in + 96, NS, sizeof(NS) - 1);
	hkdf_blake2s(k, NULL, NULL, ck, in, sizeof(in));
}

/* header = ff 01 || pk_S || counter (big-endian) */
static void header(uint8_t h[42], const uint8_t pk_s[32], uint64_t counter)
{
	h[0] = 0xff;
	h[1] = 0x01;
	memcpy(h + 2, pk_s, 32);
	for (int i = 0; i < 8; ++i)
		h[34 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

static void check_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	static char doc[1 << 20];
	size_t n = 0;
	int c;
	unsigned missing = 0;

	if (!f) {
		ok(false, "cannot open %s", path);
		return;
	}
	/* The document without whitespace: hex wrapped over lines joins up. */
	while ((c = fgetc(f)) != EOF && n + 1 < sizeof(doc))
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			doc[n++] = (char)c;
	doc[n] = 0;
	fclose(f);
	for (size_t i = 0; i < sizeof(all_hex) / sizeof(all_hex[0]); ++i)
		if (!strstr(doc, all_hex[i])) {
			diag("not in %s: %.40s...", path, all_hex[i]);
			++missing;
		}
	ok(missing == 0, "doc/protocol.md carries all %zu hex values of the example",
	   sizeof(all_hex) / sizeof(all_hex[0]));
}

int main(int argc, char **argv)
{
	uint8_t sk_a[32], sk_b[32], c_a[32], c_b[32], pk_a[32], pk_b[32], ss[32], ss2[32];
	uint8_t ck[32], k_ab[32], k_ba[32], nonce[12];
	uint8_t plain[OVL_MAX_PLAINTEXT], h[42], sealed[OVL_MAX_DATAGRAM], dg[OVL_MAX_DATAGRAM];
	uint8_t got_pk[32], opened[OVL_MAX_PLAINTEXT];
	struct ovl_secure *ca, *cb;
	struct ovl_msg m;
	size_t opened_len;
	long plen, n;
	static const uint8_t observed_ip[4] = { 203, 0, 113, 7 };

	if (crypto_layer_init() < 0)
		return 1;
	print_mode = argc > 1 && !strcmp(argv[1], "--print");
	unhex(sk_a, 32, hex_sk_a);
	unhex(sk_b, 32, hex_sk_b);

	/* X25519, straight from libsodium with RFC 7748's clamping. */
	memcpy(c_a, sk_a, 32);
	memcpy(c_b, sk_b, 32);
	c_a[0] &= 248, c_a[31] = (c_a[31] & 127) | 64;
	c_b[0] &= 248, c_b[31] = (c_b[31] & 127) | 64;
	if (crypto_scalarmult_base(pk_a, c_a) || crypto_scalarmult_base(pk_b, c_b) ||
	    crypto_scalarmult(ss, c_a, pk_b) || crypto_scalarmult(ss2, c_b, pk_a))
		abort();
	check("pk_A", pk_a, 32, hex_pk_a);
	check("pk_B", pk_b, 32, hex_pk_b);
	check("ss = X25519(sk_A, pk_B)", ss, 32, hex_ss);
	ok(!memcmp(ss, ss2, 32), "X25519(sk_B, pk_A) is the same");
	if (print_mode)
		printf("# workbit_A = %u, workbit_B = %u\n", workbit_of(pk_a, NS, 6), workbit_of(pk_b, NS, 6));

	blake2s_hash(ck, 32, "wh overlay v1 key", 17, NULL, 0);
	check("CK = BLAKE2s-256(\"wh overlay v1 key\")", ck, 32, hex_ck);
	derive(k_ab, ck, ss, pk_a, pk_b);
	derive(k_ba, ck, ss, pk_b, pk_a);
	check("k(A->B)", k_ab, 32, hex_k_ab);
	check("k(B->A)", k_ba, 32, hex_k_ba);

	/* PING, A -> B. */
	m = (struct ovl_msg){ .type = OVL_MSG_PING };
	m.u.ping = (struct ovl_ping){ .nonce = UINT64_C(0x0123456789abcdef), .flags = OVL_NODE_PUBLIC };
	plen = ovl_msg_encode(plain, sizeof(plain), &m);
	check("PING plaintext", plain, (size_t)plen, hex_ping_plain);
	header(h, pk_a, T_A);
	check("PING header", h, 42, hex_ping_header);
	memset(nonce, 0, 4);
	memcpy(nonce + 4, h + 34, 8);
	check("PING nonce", nonce, 12, hex_ping_nonce);
	memcpy(sealed, h, 42);
	crypto_aead_chacha20poly1305_ietf_encrypt(sealed + 42, NULL, plain, (size_t)plen, h, 42,
						  NULL, nonce, k_ab);
	check("PING datagram", sealed, 42 + (size_t)plen + 16, hex_ping_sealed);

	{
		struct ovl_secure_config cfg = { .ns = NS, .ns_len = 6 };

		cfg.private_key = sk_a;
		if (ovl_secure_new(&ca, &cfg) < 0)
			abort();
		cfg.private_key = sk_b;
		if (ovl_secure_new(&cb, &cfg) < 0)
			abort();
	}
	n = ovl_secure_seal(ca, pk_b, plain, (size_t)plen, T_A, dg, sizeof(dg));
	ok(n == 42 + plen + 16 && !memcmp(dg, sealed, (size_t)n), "the secure layer seals the same PING datagram");
	ok(ovl_secure_open(cb, dg, (size_t)n, T_B, got_pk, opened, sizeof(opened), &opened_len) == OVL_ACCEPT &&
	   opened_len == (size_t)plen && !memcmp(opened, plain, opened_len) && !memcmp(got_pk, pk_a, 32),
	   "B opens it: from pk_A, the PING plaintext");

	/* PONG, B -> A. */
	m = (struct ovl_msg){ .type = OVL_MSG_PONG };
	m.u.pong = (struct ovl_pong){ .nonce = UINT64_C(0x0123456789abcdef),
				      .flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY };
	ovl_addr_set_v4(&m.u.pong.observed, observed_ip, 51820);
	plen = ovl_msg_encode(plain, sizeof(plain), &m);
	check("PONG plaintext", plain, (size_t)plen, hex_pong_plain);
	header(h, pk_b, T_B);
	check("PONG header", h, 42, hex_pong_header);
	memset(nonce, 0, 4);
	memcpy(nonce + 4, h + 34, 8);
	memcpy(sealed, h, 42);
	crypto_aead_chacha20poly1305_ietf_encrypt(sealed + 42, NULL, plain, (size_t)plen, h, 42,
						  NULL, nonce, k_ba);
	check("PONG datagram", sealed, 42 + (size_t)plen + 16, hex_pong_sealed);
	n = ovl_secure_seal(cb, pk_a, plain, (size_t)plen, T_B, dg, sizeof(dg));
	ok(n == 42 + plen + 16 && !memcmp(dg, sealed, (size_t)n),
	   "the secure layer seals the same PONG datagram (B's counter starts at B's clock)");
	ok(ovl_secure_open(ca, dg, (size_t)n, T_A, got_pk, opened, sizeof(opened), &opened_len) == OVL_ACCEPT &&
	   ovl_msg_decode(&m, opened, opened_len) == OVL_DECODE_OK && m.type == OVL_MSG_PONG &&
	   m.u.pong.nonce == UINT64_C(0x0123456789abcdef) && m.u.pong.observed.port == 51820,
	   "A opens and decodes it");

	if (argc > 1 && !print_mode)
		check_doc(argv[1]);
	ovl_secure_free(ca);
	ovl_secure_free(cb);
	return tap_done();
}
