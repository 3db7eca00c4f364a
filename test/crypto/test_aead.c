/* Vector tests of crypto/aead.h: ChaCha20-Poly1305 (RFC 8439) with a
 * given nonce and with WireGuard's counter nonce, XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03). */
#include "crypto/aead.h"
#include "crypto/crypto.h"

#include "test/tap.h"

#include <sodium.h>

static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
	"the future, sunscreen would be it.";

/* Every single-bit change of the sealed message must make open fail. */
static bool every_flip_refused(const uint8_t *sealed, size_t len, const uint8_t *ad, size_t adlen,
			       const uint8_t *nonce, const uint8_t *key, bool x)
{
	uint8_t buf[512], out[512];
	size_t i;

	for (i = 0; i < len * 8; i += 7) {
		bool opened;

		memcpy(buf, sealed, len);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		opened = x ? xaead_open(out, buf, len, ad, adlen, nonce, key)
			   : aead_open_nonce(out, buf, len, ad, adlen, nonce, key);
		if (opened)
			return false;
	}
	return true;
}

static void test_rfc8439_282(void)
{
	/* RFC 8439 section 2.8.2: nonce = constant 07000000 || IV 4041..47. */
	uint8_t key[32], nonce[12], ad[12], sealed[sizeof(sunscreen) - 1 + 16];
	uint8_t opened[sizeof(sunscreen)];
	size_t len = sizeof(sunscreen) - 1;

	tap_unhex(key, sizeof(key), "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	tap_unhex(nonce, sizeof(nonce), "070000004041424344454647");
	tap_unhex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");

	aead_seal_nonce(sealed, (const uint8_t *)sunscreen, len, ad, sizeof(ad), nonce, key);
	ok_hex(sealed, len, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
			    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
			    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
			    "3ff4def08e4b7a9de576d26586cec64b6116",
	       "RFC 8439 2.8.2 ciphertext");
	ok_hex(sealed + len, 16, "1ae10b594f09e26a7e902ecbd0600691", "RFC 8439 2.8.2 tag");

	memset(opened, 0, sizeof(opened));
	ok(aead_open_nonce(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key),
	   "RFC 8439 2.8.2 opens");
	ok_mem(opened, sunscreen, len, "RFC 8439 2.8.2 plaintext recovered");

	ok(every_flip_refused(sealed, sizeof(sealed), ad, sizeof(ad), nonce, key, false),
	   "RFC 8439 2.8.2: a flipped bit anywhere in ciphertext or tag fails to open");
	ad[0] ^= 1;
	ok(!aead_open_nonce(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key),
	   "RFC 8439 2.8.2: a changed AD fails to open");
	ad[0] ^= 1;
	ok(!aead_open_nonce(opened, sealed, sizeof(sealed) - 1, ad, sizeof(ad), nonce, key),
	   "RFC 8439 2.8.2: a truncated message fails to open");
	ok(!aead_open_nonce(opened, sealed, 15, ad, sizeof(ad), nonce, key),
	   "a message shorter than a tag fails to open");
}

static void test_rfc8439_a5(void)
{
	/* RFC 8439 Appendix A.5.  Its nonce 00000000 0102030405060708 is the
	 * WireGuard form (4 zero bytes || little-endian 64-bit counter), so the
	 * counter API opens it with counter 0x0807060504030201. */
	static const char ct_hex[] =
		"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
		"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
		"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
		"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
		"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
		"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
		"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
		"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
		"a6ad5cb4022b02709b"
		"eead9d67890cbb22392336fea1851f38";
	static const char pt_hex[] =
		"496e7465726e65742d4472616674732061726520647261667420646f63756d65"
		"6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
		"6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
		"65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
		"6e747320617420616e792074696d652e20497420697320696e617070726f7072"
		"6961746520746f2075736520496e7465726e65742d4472616674732061732072"
		"65666572656e6365206d6174657269616c206f7220746f206369746520746865"
		"6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
		"726573732e2fe2809d";
	const uint64_t counter = 0x0807060504030201ULL;
	uint8_t key[32], ad[12], ct[512], pt[512], out[512], nonce[12];
	long ctlen, ptlen;

	tap_unhex(key, sizeof(key), "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	tap_unhex(ad, sizeof(ad), "f33388860000000000004e91");
	tap_unhex(nonce, sizeof(nonce), "000000000102030405060708");
	ctlen = tap_unhex(ct, sizeof(ct), ct_hex);
	ptlen = tap_unhex(pt, sizeof(pt), pt_hex);
	if (!ok(ctlen == ptlen + 16 && ptlen == 265, "RFC 8439 A.5 vector lengths (%ld, %ld)",
		ctlen, ptlen))
		return;

	ok(aead_open(out, ct, (size_t)ctlen, ad, sizeof(ad), counter, key),
	   "RFC 8439 A.5 opens with the counter API");
	ok_mem(out, pt, (size_t)ptlen, "RFC 8439 A.5 plaintext");
	ok(aead_open_nonce(out, ct, (size_t)ctlen, ad, sizeof(ad), nonce, key),
	   "RFC 8439 A.5 opens with the explicit nonce");

	aead_seal(out, pt, (size_t)ptlen, ad, sizeof(ad), counter, key);
	ok_mem(out, ct, (size_t)ctlen, "RFC 8439 A.5 sealed again with the counter API");

	ok(!aead_open(out, ct, (size_t)ctlen, ad, sizeof(ad), counter + 1, key),
	   "RFC 8439 A.5 with the next counter fails to open");
	ok(!aead_open(out, ct, (size_t)ctlen, ad, sizeof(ad),
		      counter ^ 0x0100000000000000ULL, key),
	   "RFC 8439 A.5 with the counter's top byte changed fails to open");

	/* Opening in place. */
	memcpy(out, ct, (size_t)ctlen);
	ok(aead_open(out, out, (size_t)ctlen, ad, sizeof(ad), counter, key) &&
	   memcmp(out, pt, (size_t)ptlen) == 0, "RFC 8439 A.5 opens in place");
}

static void test_counter_nonce(void)
{
	/* The counter form is exactly 4 zero bytes || counter, little-endian,
	 * for counters at both ends of the range. */
	static const uint64_t counters[] = { 0, 1, 0xff, 0x100, 0x0123456789abcdefULL,
					     UINT64_MAX - 1, UINT64_MAX };
	uint8_t key[32], msg[100], a[116], b[116], nonce[12];
	size_t i;
	int j;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); ++i) {
		memset(nonce, 0, sizeof(nonce));
		for (j = 0; j < 8; ++j)
			nonce[4 + j] = (uint8_t)(counters[i] >> (8 * j));
		aead_seal(a, msg, sizeof(msg), NULL, 0, counters[i], key);
		aead_seal_nonce(b, msg, sizeof(msg), NULL, 0, nonce, key);
		ok(memcmp(a, b, sizeof(a)) == 0, "counter %#llx seals with nonce 00000000 || LE64",
		   (unsigned long long)counters[i]);
	}

	/* WireGuard's keepalive: an empty plaintext seals to a bare tag. */
	aead_seal(a, NULL, 0, NULL, 0, 7, key);
	ok(aead_open(b, a, 16, NULL, 0, 7, key), "an empty message (tag only) round-trips");
	ok(!aead_open(b, a, 16, NULL, 0, 8, key), "an empty message under another counter fails");
}

static void test_xchacha(void)
{
	/* draft-irtf-cfrg-xchacha-03 Appendix A.3.1. */
	uint8_t key[32], nonce[24], ad[12], sealed[sizeof(sunscreen) - 1 + 16];
	uint8_t opened[sizeof(sunscreen)];
	size_t len = sizeof(sunscreen) - 1;

	tap_unhex(key, sizeof(key), "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	tap_unhex(nonce, sizeof(nonce), "404142434445464748494a4b4c4d4e4f5051525354555657");
	tap_unhex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");

	xaead_seal(sealed, (const uint8_t *)sunscreen, len, ad, sizeof(ad), nonce, key);
	ok_hex(sealed, len, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
			    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
			    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
			    "21f9664c97637da9768812f615c68b13b52e",
	       "XChaCha20-Poly1305 draft-03 A.3.1 ciphertext");
	ok_hex(sealed + len, 16, "c0875924c1c7987947deafd8780acf49",
	       "XChaCha20-Poly1305 draft-03 A.3.1 tag");
	ok(xaead_open(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key) &&
	   memcmp(opened, sunscreen, len) == 0, "XChaCha20-Poly1305 draft-03 A.3.1 opens");
	ok(every_flip_refused(sealed, sizeof(sealed), ad, sizeof(ad), nonce, key, true),
	   "XChaCha20-Poly1305: a flipped bit anywhere fails to open");
	nonce[23] ^= 1;
	ok(!xaead_open(opened, sealed, sizeof(sealed), ad, sizeof(ad), nonce, key),
	   "XChaCha20-Poly1305: another nonce fails to open");
	ok(!xaead_open(opened, sealed, 15, ad, sizeof(ad), nonce, key),
	   "XChaCha20-Poly1305: shorter than a tag fails to open");
}

int main(void)
{
	if (crypto_layer_init() < 0) {
		printf("Bail out! libsodium does not initialise\n");
		return 1;
	}
	test_rfc8439_282();
	test_rfc8439_a5();
	test_counter_nonce();
	test_xchacha();
	return tap_done();
}
