/* mac1, mac2 and cookie replies.
 *
 *   initiator (cookie_maker for R)          responder R (cookie_checker)
 *   add_mac_to_packet  --- initiation --->  validate_packet
 *                      <--- cookie reply -- (under load, no good mac2)
 *   message_consume
 *   add_mac_to_packet  --- initiation --->  validate_packet: mac2 good
 *
 * Sources are the opaque address bytes the device forms (IPv4 + port). */
#include "crypto/crypto.h"
#include "crypto/x25519.h"
#include "proto/wg/cookie.h"
#include "test/tap.h"

#include <blake2.h>
#include <sodium.h>

#define SEC UINT64_C(1000000000)

static const uint8_t src1[6] = { 192, 0, 2, 1, 0xca, 0x6c };
static const uint8_t src2[6] = { 192, 0, 2, 2, 0xca, 0x6c };
static const uint8_t src1_port[6] = { 192, 0, 2, 1, 0xca, 0x6d };

enum { INIT_LEN = sizeof(struct message_handshake_initiation) };

static void make_message(uint8_t msg[INIT_LEN], uint32_t sender)
{
	randombytes_buf(msg, INIT_LEN);
	le32_put(msg, MESSAGE_HANDSHAKE_INITIATION);
	le32_put(msg + 4, sender);
	memset(msg + INIT_LEN - 32, 0, 32);
}

static bool macs_zero(const uint8_t *mac)
{
	return sodium_is_zero(mac, COOKIE_LEN);
}

int main(void)
{
	uint8_t r_priv[32], r_pub[32], o_priv[32], o_pub[32];
	uint8_t msg[INIT_LEN], msg2[INIT_LEN], bad[INIT_LEN], key[32], want[16];
	struct cookie_checker cc;
	struct cookie_maker cm, other;
	struct message_handshake_cookie reply, reply2;
	uint64_t t0 = 3600 * SEC, t;

	if (crypto_layer_init() != 0) {
		printf("Bail out! crypto init\n");
		return 1;
	}
	x25519_generate(r_priv);
	x25519_public(r_pub, r_priv);
	x25519_generate(o_priv);
	x25519_public(o_pub, o_priv);
	cookie_checker_init(&cc, r_pub);
	cookie_maker_init(&cm, r_pub);
	cookie_maker_init(&other, o_pub);

	/* mac1 = BLAKE2s-128 keyed with HASH("mac1----" || R) over the bytes
	 * before it, computed here with libb2's own calls rather than through
	 * crypto/hash.h, so that the test checks the construction, not our
	 * wrappers against themselves. */
	make_message(msg, 0xaabbccdd);
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t0);
	{
		blake2s_state st;

		blake2s_init(&st, 32);
		blake2s_update(&st, (const uint8_t *)"mac1----", 8);
		blake2s_update(&st, r_pub, 32);
		blake2s_final(&st, key, 32);
		blake2s(want, msg, key, 16, 116, 32);
	}
	ok_mem(msg + 116, want, 16, "mac1 is keyed BLAKE2s-128 over bytes 0-115");
	ok(macs_zero(msg + 132), "mac2 is zero without a cookie");
	ok(cm.have_sent_mac1 && memcmp(cm.last_mac1_sent, msg + 116, 16) == 0, "maker remembers mac1");
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, false, t0) == VALID_MAC_BUT_NO_COOKIE,
	   "valid mac1 accepted");

	memcpy(bad, msg, INIT_LEN);
	bad[50] ^= 1;
	ok(cookie_validate_packet(&cc, bad, INIT_LEN, src1, 6, false, t0) == INVALID_MAC, "body flip: invalid mac1");
	memcpy(bad, msg, INIT_LEN);
	bad[116] ^= 1;
	ok(cookie_validate_packet(&cc, bad, INIT_LEN, src1, 6, false, t0) == INVALID_MAC, "mac1 flip: invalid");
	memcpy(bad, msg, INIT_LEN);
	cookie_add_mac_to_packet(bad, INIT_LEN, &other, t0);
	ok(cookie_validate_packet(&cc, bad, INIT_LEN, src1, 6, false, t0) == INVALID_MAC,
	   "mac1 made for another public key: invalid");
	ok(cookie_validate_packet(&cc, msg, 31, src1, 6, false, t0) == INVALID_MAC, "31 bytes: invalid");
	memcpy(bad, msg, INIT_LEN);
	bad[140] ^= 1;
	ok(cookie_validate_packet(&cc, bad, INIT_LEN, src1, 6, false, t0) == VALID_MAC_BUT_NO_COOKIE,
	   "mac2 is not looked at when not under load");

	/* Under load: no cookie yet, so a cookie reply. */
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, true, t0) == VALID_MAC_BUT_NO_COOKIE,
	   "under load without mac2: VALID_MAC_BUT_NO_COOKIE");
	ok(cc.has_secret && cc.secret_birthdate == t0, "secret made on first use");
	ok(!cookie_message_create(&reply, msg, 31, 1, &cc, src1, 6, t0), "reply to a short message refused");
	ok(cookie_message_create(&reply, msg, INIT_LEN, le32_get(msg + 4), &cc, src1, 6, t0),
	   "cookie reply created");
	ok(wg_message_type((uint8_t *)&reply, sizeof(reply)) == MESSAGE_HANDSHAKE_COOKIE &&
	   le32_get(reply.receiver_index) == 0xaabbccdd, "reply: type 3, receiver = the sender's index");

	/* Wrong index: the reply reaches another peer's maker (another key). */
	cookie_add_mac_to_packet(bad, INIT_LEN, &other, t0);
	ok(!cookie_message_consume(&reply, &other, t0) && !other.is_valid, "reply to another peer refused");
	reply2 = reply;
	reply2.nonce[0] ^= 1;
	ok(!cookie_message_consume(&reply2, &cm, t0), "reply with a changed nonce refused");
	reply2 = reply;
	reply2.encrypted_cookie[31] ^= 1;
	ok(!cookie_message_consume(&reply2, &cm, t0) && !cm.is_valid && cm.have_sent_mac1,
	   "reply with a changed tag refused, maker unchanged");

	ok(cookie_message_consume(&reply, &cm, t0), "cookie reply consumed");
	ok(cm.is_valid && !cm.have_sent_mac1 && cm.cookie_birthdate == t0, "maker holds a fresh cookie");
	ok(!cookie_message_consume(&reply, &cm, t0), "a second reply to the same mac1 refused");

	/* With the cookie, mac2 is set and accepted from the same source only. */
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t0 + SEC);
	ok(!macs_zero(msg + 132), "mac2 set with a cookie");
	{
		uint8_t cookie[16];

		blake2s(cookie, src1, cc.secret, 16, 6, 32);
		blake2s(want, msg, cookie, 16, 132, 16);
		ok_mem(msg + 132, want, 16, "mac2 is BLAKE2s-128 keyed by BLAKE2s-128(secret, source)");
	}
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, true, t0 + SEC) == VALID_MAC_WITH_COOKIE,
	   "under load with a good mac2: VALID_MAC_WITH_COOKIE");
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src2, 6, true, t0 + SEC) == VALID_MAC_BUT_NO_COOKIE,
	   "cookie from another address fails mac2");
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1_port, 6, true, t0 + SEC) == VALID_MAC_BUT_NO_COOKIE,
	   "cookie from another port fails mac2");
	memcpy(bad, msg, INIT_LEN);
	bad[140] ^= 1;
	ok(cookie_validate_packet(&cc, bad, INIT_LEN, src1, 6, true, t0 + SEC) == VALID_MAC_BUT_NO_COOKIE,
	   "mac2 flip fails mac2");

	/* Freshness of the maker's cookie: used below 115 s, not at it. */
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t0 + 115 * SEC - 1);
	ok(!macs_zero(msg + 132), "cookie still used 1 ns before 115 s");
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, true, t0 + 120 * SEC - 1) == VALID_MAC_WITH_COOKIE,
	   "checker accepts it 1 ns before its secret turns 120 s");
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, true, t0 + 120 * SEC) == VALID_MAC_BUT_NO_COOKIE,
	   "secret rotated at 120 s: old cookie no longer valid");
	ok(cc.secret_birthdate == t0 + 120 * SEC, "new secret born at 120 s");
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t0 + 115 * SEC);
	ok(macs_zero(msg + 132), "maker stops using its cookie at 115 s");

	/* Reply without having sent a mac1. */
	cookie_maker_init(&cm, r_pub);
	ok(!cookie_message_consume(&reply, &cm, t0), "reply without a mac1 sent refused");

	/* Wrong ad: the reply answers another message than our last one. */
	make_message(msg, 1);
	make_message(msg2, 2);
	t = t0 + 200 * SEC;
	cookie_add_mac_to_packet(msg2, INIT_LEN, &cm, t);
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t);
	ok(cookie_message_create(&reply2, msg2, INIT_LEN, 2, &cc, src1, 6, t), "reply to an older message");
	ok(!cookie_message_consume(&reply2, &cm, t), "reply bound to another mac1 refused");
	ok(cookie_message_create(&reply2, msg, INIT_LEN, 1, &cc, src1, 6, t) &&
	   cookie_message_consume(&reply2, &cm, t), "reply bound to the last mac1 accepted");
	cookie_add_mac_to_packet(msg, INIT_LEN, &cm, t + SEC);
	ok(cookie_validate_packet(&cc, msg, INIT_LEN, src1, 6, true, t + SEC) == VALID_MAC_WITH_COOKIE,
	   "and its cookie passes mac2");

	/* No identity: the keys are zero and nothing we make validates. */
	{
		struct cookie_checker none;
		uint8_t zero[32] = { 0 };

		cookie_checker_init(&none, zero);
		ok(sodium_is_zero(none.message_mac1_key, 32) && sodium_is_zero(none.message_cookie_key, 32),
		   "no identity: zero keys");
		ok(cookie_validate_packet(&none, msg, INIT_LEN, src1, 6, false, t) == INVALID_MAC,
		   "no identity: mac1 for R invalid");
	}

	sodium_memzero(&cc, sizeof(cc));
	sodium_memzero(&cm, sizeof(cm));
	sodium_memzero(r_priv, sizeof(r_priv));
	sodium_memzero(o_priv, sizeof(o_priv));
	return tap_done();
}
