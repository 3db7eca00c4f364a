/* The IKpsk2 handshake, keypairs and transport messages.
 *
 *   initiator A                              responder B
 *   create_initiation  --- initiation --->   initiation_open, _accept
 *   consume_response   <--- response  ----   create_response
 *   begin_session                            begin_session
 *   seal / open        <== data (4) ==>      seal / open
 *
 * First the published Noise vector (mcginty/snow tests/vectors/
 * cacophony.txt, commit 8ac60f5) through the generic IKpsk2 steps and the
 * transport functions the WireGuard messages use, from both sides; then a
 * WireGuard round trip between two fresh identities and every way it must
 * fail. */
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/x25519.h"
#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"
#include "test/tap.h"
#include "test/wg/noise_vector.h"

#include <sodium.h>

#define SEC UINT64_C(1000000000)
#define MS UINT64_C(1000000)

enum { KEY = NOISE_PUBLIC_KEY_LEN, BUF = 2048 };

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	long n = tap_unhex(out, len, hex);

	if (n != (long)len) {
		printf("Bail out! bad hex length in vector\n");
		exit(1);
	}
}

static size_t hexlen(const char *hex)
{
	return strlen(hex) / 2;
}

/* Wraps a Noise transport ciphertext in a WireGuard data header. */
static size_t data_frame(uint8_t *out, uint32_t index, uint64_t counter, const uint8_t *ct, size_t len)
{
	le32_put(out, MESSAGE_DATA);
	le32_put(out + 4, index);
	le64_put(out + 8, counter);
	memcpy(out + 16, ct, len);
	return 16 + len;
}

static void test_init_constants(void)
{
	/* The known C and H of the protocol reference (whitepaper 5.4). */
	static const char c_hex[] = "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36";
	static const char h_hex[] = "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t rs[KEY], h0[NOISE_HASH_LEN], want[NOISE_HASH_LEN];
	struct noise_symmetric ss;

	memset(rs, 0x42, sizeof(rs));
	noise_symmetric_init(&ss, identifier, strlen(identifier), rs);
	ok_hex(ss.chaining_key, sizeof(ss.chaining_key), c_hex, "initial chaining key C");
	unhex(h0, sizeof(h0), h_hex);
	blake2s_hash2(want, h0, sizeof(h0), rs, sizeof(rs));
	ok_mem(ss.hash, want, sizeof(want), "initial hash H mixes the responder's static key");
}

static void test_vector(void)
{
	const struct noise_vector *v = &noise_vector;
	uint8_t prologue[16], psk[KEY], si[KEY], ei[KEY], sr[KEY], er[KEY];
	uint8_t si_pub[KEY], sr_pub[KEY], rs_want[KEY], ss_i[KEY], ss_r[KEY];
	uint8_t msg[BUF], want[BUF], plain[BUF], payload[BUF], frame[BUF];
	uint8_t got_e[KEY], got_s[KEY];
	struct noise_symmetric init, resp;
	struct noise_keypair ki, kr;
	size_t plen, n, i;

	unhex(prologue, hexlen(v->prologue), v->prologue);
	unhex(psk, KEY, v->psk);
	unhex(si, KEY, v->init_static);
	unhex(ei, KEY, v->init_ephemeral);
	unhex(sr, KEY, v->resp_static);
	unhex(er, KEY, v->resp_ephemeral);
	unhex(rs_want, KEY, v->init_remote_static);
	ok(x25519_public(si_pub, si) && x25519_public(sr_pub, sr), "vector: static public keys");
	ok_mem(sr_pub, rs_want, KEY, "vector: the initiator's remote static is the responder's key");
	ok(x25519_shared(ss_i, si, sr_pub) && x25519_shared(ss_r, sr, si_pub), "vector: ss precomputed");

	noise_symmetric_init(&init, prologue, hexlen(v->prologue), sr_pub);
	noise_symmetric_init(&resp, prologue, hexlen(v->prologue), sr_pub);

	/* Message 0: -> e, es, s, ss, {payload} */
	plen = hexlen(v->messages[0].payload);
	unhex(payload, plen, v->messages[0].payload);
	unhex(want, hexlen(v->messages[0].ciphertext), v->messages[0].ciphertext);
	ok(noise_ik_msg1_len(plen) == hexlen(v->messages[0].ciphertext), "vector: message 1 length");
	ok(noise_ik_write_msg1(&init, msg, ei, si_pub, sr_pub, ss_i, payload, plen), "vector: initiator writes message 1");
	ok_mem(msg, want, noise_ik_msg1_len(plen), "vector: message 1 bytes");

	ok(noise_ik_read_msg1_static(&resp, got_e, got_s, want, sr), "vector: responder reads e, es, s");
	ok_mem(got_s, si_pub, KEY, "vector: responder learns the initiator's static key");
	ok(noise_ik_read_msg1_payload(&resp, plain, want + NOISE_IK_MSG1_PAYLOAD, plen, ss_r),
	   "vector: responder reads ss, {payload}");
	ok_mem(plain, payload, plen, "vector: message 1 payload");
	ok_mem(resp.hash, init.hash, NOISE_HASH_LEN, "vector: both hashes agree after message 1");

	/* Message 1: <- e, ee, se, psk, {payload} */
	plen = hexlen(v->messages[1].payload);
	unhex(payload, plen, v->messages[1].payload);
	unhex(want, hexlen(v->messages[1].ciphertext), v->messages[1].ciphertext);
	ok(noise_ik_msg2_len(plen) == hexlen(v->messages[1].ciphertext), "vector: message 2 length");
	ok(noise_ik_write_msg2(&resp, msg, er, got_e, got_s, psk, payload, plen), "vector: responder writes message 2");
	ok_mem(msg, want, noise_ik_msg2_len(plen), "vector: message 2 bytes");
	ok(noise_ik_read_msg2(&init, got_e, plain, want, plen, ei, si, psk), "vector: initiator reads message 2");
	ok_mem(plain, payload, plen, "vector: message 2 payload");
	ok_hex(init.hash, NOISE_HASH_LEN, v->handshake_hash, "vector: initiator's handshake hash");
	ok_hex(resp.hash, NOISE_HASH_LEN, v->handshake_hash, "vector: responder's handshake hash");

	/* Split, then transport through the WireGuard data functions.  An
	 * mtu equal to the payload length keeps the padding off, so that the
	 * ciphertext is the vector's. */
	memset(&ki, 0, sizeof(ki));
	memset(&kr, 0, sizeof(kr));
	noise_keypair_derive(&ki, &init, true, 1 * SEC);
	noise_keypair_derive(&kr, &resp, false, 1 * SEC);
	ki.local_index = kr.remote_index = 0x1234;
	kr.local_index = ki.remote_index = 0x5678;
	for (i = 2; i < 6; ++i) {
		bool from_init = i % 2 == 0;
		struct noise_keypair *tx = from_init ? &ki : &kr, *rx = from_init ? &kr : &ki;
		uint64_t nonce = (i - 2) / 2;
		size_t clen = hexlen(v->messages[i].ciphertext);
		ssize_t r;

		plen = hexlen(v->messages[i].payload);
		unhex(payload, plen, v->messages[i].payload);
		unhex(want, clen, v->messages[i].ciphertext);
		r = noise_transport_seal(tx, frame, payload, plen, (unsigned)plen, 1 * SEC);
		ok(r == (ssize_t)message_data_len(plen) && clen == noise_encrypted_len(plen) &&
		   le64_get(frame + 8) == nonce && le32_get(frame + 4) == tx->remote_index,
		   "vector: transport message %zu sealed by the %s with nonce %llu", i,
		   from_init ? "initiator" : "responder", (unsigned long long)nonce);
		ok_mem(frame + 16, want, clen, "vector: transport message bytes");

		n = data_frame(frame, rx->local_index, nonce, want, clen);
		r = noise_transport_open(rx, plain, frame, n, 1 * SEC);
		ok(r == (ssize_t)plen && memcmp(plain, payload, plen) == 0,
		   "vector: transport message %zu opened by the %s", i, from_init ? "responder" : "initiator");
	}
	sodium_memzero(&ki, sizeof(ki));
	sodium_memzero(&kr, sizeof(kr));
}

struct side {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_checker cc;
	struct cookie_maker cm;
};

static void side_keys(struct side *s)
{
	memset(s, 0, sizeof(*s));
	x25519_generate(s->id.static_private);
	x25519_public(s->id.static_public, s->id.static_private);
	s->id.has_identity = true;
	cookie_checker_init(&s->cc, s->id.static_public);
}

static bool side_peer(struct side *s, const struct side *remote, const uint8_t *psk)
{
	cookie_maker_init(&s->cm, remote->id.static_public);
	return noise_handshake_init(&s->hs, &s->id, remote->id.static_public, psk);
}

static const uint8_t src_a[6] = { 192, 0, 2, 1, 0xca, 0x6c };

/* What the device does with an initiation: length and type, mac1 (and
 * mac2 under load), then the two Noise steps. */
static bool responder_takes_loaded(struct side *b, const struct message_handshake_initiation *init,
				   uint64_t now, bool under_load)
{
	struct noise_initiation_scratch scratch;

	if (wg_message_type((const uint8_t *)init, sizeof(*init)) != MESSAGE_HANDSHAKE_INITIATION)
		return false;
	if (cookie_validate_packet(&b->cc, (const uint8_t *)init, sizeof(*init), src_a, sizeof(src_a),
				   under_load, now) != (under_load ? VALID_MAC_WITH_COOKIE : VALID_MAC_BUT_NO_COOKIE))
		return false;
	if (!noise_initiation_open(&scratch, init, &b->id))
		return false;
	return noise_initiation_accept(&b->hs, &scratch, now);
}

static bool responder_takes(struct side *b, const struct message_handshake_initiation *init,
			    uint64_t now)
{
	return responder_takes_loaded(b, init, now, false);
}

static void test_roundtrip(void)
{
	struct side a, b;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_initiation_scratch scratch;
	struct noise_keypair ka, kb;
	uint8_t psk[KEY], frame[BUF], plain[BUF], pkt[64];
	uint64_t now = 1000 * SEC;
	ssize_t r, r2;

	randombytes_buf(psk, sizeof(psk));
	side_keys(&a);
	side_keys(&b);
	ok(side_peer(&a, &b, psk) && side_peer(&b, &a, psk), "wg: handshake_init with good keys");
	ok(a.hs.static_static == NOISE_SS_UNKNOWN && b.hs.static_static == NOISE_SS_UNKNOWN,
	   "wg: handshake_init computes no ss");
	ok(noise_handshake_static_ready(&a.hs) && noise_handshake_static_ready(&b.hs) &&
	   sodium_memcmp(a.hs.precomputed_static_static, b.hs.precomputed_static_static, KEY) == 0,
	   "wg: ss computed when needed, identically on both sides");

	ok(noise_handshake_create_initiation(&init, &a.hs, 0x11111111, NULL, 1700000000, 0),
	   "wg: create_initiation");
	ok(a.hs.state == HANDSHAKE_CREATED_INITIATION && a.hs.local_index == 0x11111111,
	   "wg: initiator in CREATED_INITIATION");
	ok(le32_get(init.header.type) == MESSAGE_HANDSHAKE_INITIATION &&
	   le32_get(init.sender_index) == 0x11111111 && sodium_is_zero(init.macs.mac1, 32),
	   "wg: initiation header, index, macs left zero");
	cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &a.cm, now);
	ok(cookie_validate_packet(&b.cc, (uint8_t *)&init, sizeof(init), src_a, sizeof(src_a), false, now) ==
	   VALID_MAC_BUT_NO_COOKIE, "wg: responder accepts mac1");

	ok(noise_initiation_open(&scratch, &init, &b.id), "wg: initiation_open");
	ok(sodium_memcmp(scratch.remote_static, a.id.static_public, KEY) == 0 &&
	   scratch.sender_index == 0x11111111, "wg: step 1 yields the initiator's key and index");
	ok(noise_initiation_accept(&b.hs, &scratch, now), "wg: initiation_accept");
	ok(sodium_is_zero((const uint8_t *)&scratch, sizeof(scratch)), "wg: scratch wiped");
	ok(b.hs.state == HANDSHAKE_CONSUMED_INITIATION && b.hs.remote_index == 0x11111111,
	   "wg: responder in CONSUMED_INITIATION");

	ok(!noise_handshake_consume_response(&resp, &b.hs), "wg: responder cannot consume a response");
	ok(noise_handshake_create_response(&resp, &b.hs, 0x22222222, NULL), "wg: create_response");
	ok(!noise_handshake_create_response(&resp, &b.hs, 0x22222222, NULL) &&
	   b.hs.state == HANDSHAKE_CREATED_RESPONSE, "wg: a second response is refused");
	noise_handshake_create_response(&resp, &b.hs, 0x22222222, NULL);	/* zeroed dst */
	ok(sodium_is_zero((const uint8_t *)&resp, sizeof(resp)), "wg: refused response leaves dst zero");
	/* Regenerate the response from a fresh consumption of the same flow. */
	side_peer(&b, &a, psk);
	ok(responder_takes(&b, &init, now) &&
	   noise_handshake_create_response(&resp, &b.hs, 0x22222222, NULL), "wg: response again");
	ok(le32_get(resp.header.type) == MESSAGE_HANDSHAKE_RESPONSE && le32_get(resp.sender_index) == 0x22222222 &&
	   le32_get(resp.receiver_index) == 0x11111111, "wg: response header and indices");
	cookie_add_mac_to_packet((uint8_t *)&resp, sizeof(resp), &b.cm, now);
	ok(cookie_validate_packet(&a.cc, (uint8_t *)&resp, sizeof(resp), src_a, sizeof(src_a), false, now) ==
	   VALID_MAC_BUT_NO_COOKIE, "wg: initiator accepts the response's mac1");

	{
		struct message_handshake_response bad = resp;

		le32_put(bad.receiver_index, 0x11111112);
		ok(!noise_handshake_consume_response(&bad, &a.hs), "wg: response to another index refused");
		bad = resp;
		bad.encrypted_nothing[3] ^= 1;
		ok(!noise_handshake_consume_response(&bad, &a.hs) && a.hs.state == HANDSHAKE_CREATED_INITIATION,
		   "wg: tampered response refused, state kept");
	}
	ok(noise_handshake_consume_response(&resp, &a.hs), "wg: consume_response");
	ok(a.hs.state == HANDSHAKE_CONSUMED_RESPONSE && a.hs.remote_index == 0x22222222,
	   "wg: initiator in CONSUMED_RESPONSE");
	ok(!noise_handshake_consume_response(&resp, &a.hs), "wg: a response is consumed once");
	ok(sodium_memcmp(a.hs.hash, b.hs.hash, NOISE_HASH_LEN) == 0 &&
	   sodium_memcmp(a.hs.chaining_key, b.hs.chaining_key, NOISE_HASH_LEN) == 0,
	   "wg: both sides hold the same h and ck");

	memset(&ka, 0, sizeof(ka));
	memset(&kb, 0, sizeof(kb));
	ok(noise_handshake_begin_session(&a.hs, &ka, now) && noise_handshake_begin_session(&b.hs, &kb, now),
	   "wg: begin_session on both sides");
	ok(ka.i_am_the_initiator && !kb.i_am_the_initiator &&
	   sodium_memcmp(ka.sending_key, kb.receiving_key, KEY) == 0 &&
	   sodium_memcmp(ka.receiving_key, kb.sending_key, KEY) == 0 &&
	   sodium_memcmp(ka.sending_key, ka.receiving_key, KEY) != 0, "wg: transport keys pair up");
	ok(ka.local_index == 0x11111111 && ka.remote_index == 0x22222222 &&
	   kb.local_index == 0x22222222 && kb.remote_index == 0x11111111, "wg: keypair indices");
	ok(a.hs.state == HANDSHAKE_ZEROED && sodium_is_zero(a.hs.chaining_key, NOISE_HASH_LEN) &&
	   sodium_is_zero(a.hs.ephemeral_private, KEY) && b.hs.state == HANDSHAKE_ZEROED &&
	   sodium_is_zero(b.hs.hash, NOISE_HASH_LEN), "wg: handshakes wiped after begin_session");
	ok(!noise_handshake_begin_session(&a.hs, &ka, now), "wg: begin_session needs a completed handshake");

	/* Data both ways: an IPv4 ICMP echo of 28 bytes pads to 32. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[3] = 28;
	pkt[9] = 1;
	r = noise_transport_seal(&ka, frame, pkt, 28, 1420, now);
	ok(r == 16 + 32 + 16 && le32_get(frame) == MESSAGE_DATA && le32_get(frame + 4) == 0x22222222 &&
	   le64_get(frame + 8) == 0, "wg: A seals 28 bytes into a 64-byte message, counter 0");
	r2 = noise_transport_open(&kb, plain, frame, (size_t)r, now);
	ok(r2 == 32 && memcmp(plain, pkt, 28) == 0 && sodium_is_zero(plain + 28, 4),
	   "wg: B opens it, zero padding after the packet");
	ok(wg_ip_trim(plain, (size_t)r2) == 28, "wg: trimmed to the IPv4 total length");
	ok(noise_transport_open(&kb, plain, frame, (size_t)r, now) == -1, "wg: replayed data refused");
	r = noise_transport_seal(&kb, frame, pkt, 28, 1420, now);
	ok(r == 64 && le32_get(frame + 4) == 0x11111111, "wg: B seals to A");
	frame[20] ^= 0x80;
	ok(noise_transport_open(&ka, plain, frame, (size_t)r, now) == -1, "wg: tampered data refused");
	frame[20] ^= 0x80;
	le32_put(frame + 4, 0x11111112);
	ok(noise_transport_open(&ka, plain, frame, (size_t)r, now) == -1, "wg: data for another index refused");
	le32_put(frame + 4, 0x11111111);
	ok(noise_transport_open(&ka, plain, frame, (size_t)r, now) == 28 + 4, "wg: A opens B's data");
	ok(noise_transport_open(&ka, plain, frame, 31, now) == -1, "wg: a 31-byte data message refused");

	/* Keepalive: an empty plaintext is a 32-byte message. */
	r = noise_transport_seal(&ka, frame, NULL, 0, 1420, now);
	ok(r == 32 && le64_get(frame + 8) == 1, "wg: keepalive seals to 32 bytes with counter 1");
	ok(noise_transport_open(&kb, plain, frame, 32, now) == 0, "wg: keepalive opens to 0 bytes");

	/* REJECT_AFTER_TIME: the last nanosecond still works, then nothing. */
	r = noise_transport_seal(&ka, frame, pkt, 28, 1420, now + REJECT_AFTER_TIME * SEC - 1);
	ok(r == 64, "wg: sealing 1 ns before REJECT_AFTER_TIME");
	ok(noise_transport_open(&kb, plain, frame, (size_t)r, now + REJECT_AFTER_TIME * SEC) == -1 &&
	   !kb.receiving_valid, "wg: opening at REJECT_AFTER_TIME refused");
	ok(noise_transport_seal(&ka, frame, pkt, 28, 1420, now + REJECT_AFTER_TIME * SEC) == -1 &&
	   !ka.sending_valid, "wg: sealing at REJECT_AFTER_TIME refused");

	/* The sending counter stops before REJECT_AFTER_MESSAGES. */
	ka.sending_valid = true;
	ka.sending_counter = REJECT_AFTER_MESSAGES - 1;
	r = noise_transport_seal(&ka, frame, NULL, 0, 1420, now);
	ok(r == 32 && le64_get(frame + 8) == REJECT_AFTER_MESSAGES - 1, "wg: last counter used");
	/* The receiver takes that last counter, and then its keypair is
	 * spent: the next message is refused before any decryption. */
	kb.receiving_valid = true;
	ok(noise_transport_open(&kb, plain, frame, 32, now) == 0, "wg: the last counter received");
	ok(noise_transport_open(&kb, plain, frame, 32, now) == -1 && !kb.receiving_valid,
	   "wg: then the receiving side is spent");
	ok(noise_transport_seal(&ka, frame, NULL, 0, 1420, now) == -1, "wg: counter exhausted refuses");

	sodium_memzero(&ka, sizeof(ka));
	sodium_memzero(&kb, sizeof(kb));
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));
}

static void test_handshake_failures(void)
{
	struct side a, b, c;
	struct message_handshake_initiation init, init2, bad;
	struct message_handshake_response resp;
	struct noise_initiation_scratch scratch;
	struct noise_handshake saved;
	uint8_t psk1[KEY], psk2[KEY];
	uint64_t now = 5000 * SEC;
	unsigned i, fails, noise_fails, unloaded_fails;

	randombytes_buf(psk1, sizeof(psk1));
	randombytes_buf(psk2, sizeof(psk2));
	side_keys(&a);
	side_keys(&b);
	side_keys(&c);
	side_peer(&a, &b, psk1);
	side_peer(&b, &a, psk1);

	ok(noise_handshake_create_initiation(&init, &a.hs, 7, NULL, 1700000000, 0), "fail: initiation made");
	cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &a.cm, now);
	ok(responder_takes(&b, &init, now), "fail: control, the untouched initiation passes");

	/* Under load (mac2 checked), every byte flipped fails the receive
	 * path; bytes 8-115 (the Noise message) fail Noise itself.  Not under
	 * load, mac2 is not looked at, so only bytes 0-131 matter. */
	{
		struct message_handshake_cookie reply;

		ok(cookie_message_create(&reply, (uint8_t *)&init, sizeof(init), 7, &b.cc, src_a,
					 sizeof(src_a), now) &&
		   cookie_message_consume(&reply, &a.cm, now), "fail: A holds B's cookie");
		cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &a.cm, now);
		side_peer(&b, &a, psk1);
		ok(responder_takes_loaded(&b, &init, now, true), "fail: control under load passes");
	}
	fails = noise_fails = unloaded_fails = 0;
	for (i = 0; i < sizeof(init); ++i) {
		bad = init;
		((uint8_t *)&bad)[i] ^= 0xff;
		side_peer(&b, &a, psk1);
		if (!responder_takes_loaded(&b, &bad, now, true))
			++fails;
		side_peer(&b, &a, psk1);
		if (!responder_takes(&b, &bad, now) != (i < 132))
			++unloaded_fails;
		if (i >= 8 && i < 116) {
			side_peer(&b, &a, psk1);
			if (!noise_initiation_open(&scratch, &bad, &b.id) ||
			    !noise_initiation_accept(&b.hs, &scratch, now))
				++noise_fails;
		}
	}
	ok(fails == sizeof(init), "fail: each of the 148 byte flips of an initiation is rejected under load (%u)",
	   fails);
	ok(unloaded_fails == 0, "fail: not under load, flips of bytes 0-131 rejected, of mac2 ignored (%u wrong)",
	   unloaded_fails);
	ok(noise_fails == 116 - 8, "fail: each flip of the Noise bytes fails Noise (%u)", noise_fails);

	/* Replay: the same initiation a second later, outside the flood
	 * window, is refused by its timestamp; the state stays as it was. */
	side_peer(&b, &a, psk1);
	ok(responder_takes(&b, &init, now), "fail: initiation accepted");
	saved = b.hs;
	ok(!responder_takes(&b, &init, now + SEC), "fail: replayed initiation (same timestamp) refused");
	ok(memcmp(&saved, &b.hs, sizeof(saved)) == 0, "fail: refused replay leaves the handshake unchanged");

	/* Flood: a newer initiation within 1/50 s of the last accepted one. */
	ok(noise_handshake_create_initiation(&init2, &a.hs, 8, NULL, 1700000001, 0), "fail: newer initiation made");
	cookie_add_mac_to_packet((uint8_t *)&init2, sizeof(init2), &a.cm, now);
	ok(!responder_takes(&b, &init2, now + 19 * MS), "fail: initiation 19 ms after the last refused (flood)");
	ok(memcmp(&saved, &b.hs, sizeof(saved)) == 0, "fail: refused flood leaves the handshake unchanged");
	ok(responder_takes(&b, &init2, now + 20 * MS), "fail: the same initiation 20 ms after is accepted");
	ok(b.hs.last_initiation_consumption == now + 20 * MS, "fail: consumption time recorded");

	/* Wrong psk: the initiation passes (psk enters in message 2), the
	 * response does not authenticate at the initiator. */
	side_peer(&a, &b, psk1);
	side_peer(&b, &a, psk2);
	ok(noise_handshake_create_initiation(&init, &a.hs, 9, NULL, 1700000002, 0), "fail: psk initiation");
	cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &a.cm, now);
	ok(responder_takes(&b, &init, now) && noise_handshake_create_response(&resp, &b.hs, 10, NULL),
	   "fail: responder with another psk answers");
	ok(!noise_handshake_consume_response(&resp, &a.hs) && a.hs.state == HANDSHAKE_CREATED_INITIATION,
	   "fail: response under the wrong psk refused");

	/* An initiation to B from C, whom B does not know as this peer: step
	 * 1 succeeds (it names C), step 2 on A's handshake refuses it. */
	side_peer(&c, &b, NULL);
	side_peer(&b, &a, psk1);
	ok(noise_handshake_create_initiation(&init, &c.hs, 11, NULL, 1700000003, 0), "fail: C's initiation");
	ok(noise_initiation_open(&scratch, &init, &b.id) &&
	   sodium_memcmp(scratch.remote_static, c.id.static_public, KEY) == 0, "fail: step 1 names C");
	ok(!noise_initiation_accept(&b.hs, &scratch, now), "fail: accept on another peer's handshake refused");
	/* An initiation meant for another responder. */
	ok(!noise_initiation_open(&scratch, &init, &a.id), "fail: initiation to another key refused");

	/* No identity: nothing is created or opened. */
	{
		struct noise_static_identity none;
		struct noise_handshake hs;

		memset(&none, 0, sizeof(none));
		noise_handshake_init(&hs, &none, b.id.static_public, NULL);
		ok(!noise_handshake_static_ready(&hs) &&
		   !noise_handshake_create_initiation(&init, &hs, 1, NULL, 1, 0),
		   "fail: no identity, no initiation");
		ok(!noise_initiation_open(&scratch, &init2, &none), "fail: no identity, no opening");
		sodium_memzero(&hs, sizeof(hs));
	}

	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&saved, sizeof(saved));
}

static void test_low_order(void)
{
	/* Points of small order on Curve25519 and their non-canonical
	 * encodings (D. J. Bernstein, https://cr.yp.to/ecdh.html, "which
	 * public keys ..."; the same list libsodium blocks). */
	static const char *const low[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	struct message_handshake_initiation init;
	struct noise_handshake hs;
	struct side a, none;
	uint8_t key[KEY];
	size_t i;
	unsigned refused = 0;

	side_keys(&a);
	memset(&none, 0, sizeof(none));
	for (i = 0; i < sizeof(low) / sizeof(low[0]); ++i) {
		unhex(key, KEY, low[i]);
		if (!noise_handshake_init(&hs, &a.id, key, NULL) && !noise_handshake_static_ready(&hs) &&
		    !noise_handshake_create_initiation(&init, &hs, 1, NULL, 1, 0) &&
		    !noise_handshake_init(&hs, &none.id, key, NULL))
			++refused;
	}
	ok(refused == sizeof(low) / sizeof(low[0]), "low order: %u of %zu remote keys refused", refused,
	   sizeof(low) / sizeof(low[0]));
	/* The list (no DH) agrees with the DH: with bit 255 set (X25519
	 * ignores it) each is still refused, and so is its DH; random keys
	 * pass both. */
	{
		unsigned agree = 0, n = 0;
		uint8_t dh[KEY];

		for (i = 0; i < sizeof(low) / sizeof(low[0]); ++i, ++n) {
			unhex(key, KEY, low[i]);
			key[31] |= 0x80;
			agree += !noise_handshake_init(&hs, &a.id, key, NULL) &&
				 !x25519_shared(dh, a.id.static_private, key);
		}
		for (i = 0; i < 2000; ++i, ++n) {
			randombytes_buf(key, KEY);
			agree += noise_handshake_init(&hs, &a.id, key, NULL) &&
				 x25519_shared(dh, a.id.static_private, key) &&
				 noise_handshake_static_ready(&hs) &&
				 !sodium_memcmp(dh, hs.precomputed_static_static, KEY);
		}
		ok(agree == n, "low order by the list agrees with the DH (%u of %u)", agree, n);
		sodium_memzero(dh, sizeof(dh));
	}
	sodium_memzero(&hs, sizeof(hs));
	sodium_memzero(&a, sizeof(a));
}

static void test_padding(void)
{
	static const struct {
		size_t len;
		unsigned mtu;
		size_t padded;
	} table[] = {
		{ 0, 1420, 0 }, { 1, 1420, 16 }, { 15, 1420, 16 }, { 16, 1420, 16 }, { 17, 1420, 32 },
		{ 1410, 1420, 1420 }, { 1419, 1420, 1420 }, { 1420, 1420, 1420 }, { 1421, 1420, 1421 },
		{ 1, 0, 16 }, { 1500, 0, 1504 }, { 60, 60, 60 }, { 61, 64, 64 },
	};
	struct noise_keypair tx, rx;
	struct noise_symmetric ss;
	uint8_t pkt[BUF], frame[BUF], plain[BUF];
	unsigned bad = 0;
	ssize_t r, o;
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i)
		if (noise_padded_len(table[i].len, table[i].mtu) != table[i].padded) {
			diag("padded_len(%zu, %u) = %zu, want %zu", table[i].len, table[i].mtu,
			     noise_padded_len(table[i].len, table[i].mtu), table[i].padded);
			++bad;
		}
	ok(bad == 0, "padding: table of %zu lengths", sizeof(table) / sizeof(table[0]));

	memset(&ss, 0x33, sizeof(ss));
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	noise_keypair_derive(&tx, &ss, true, 1);
	noise_keypair_derive(&rx, &ss, false, 1);
	tx.remote_index = rx.local_index = 99;

	/* IPv6: 40-byte header plus 9 bytes of payload pads to 64. */
	memset(pkt, 0xab, sizeof(pkt));
	pkt[0] = 0x60;
	pkt[4] = 0;
	pkt[5] = 9;
	r = noise_transport_seal(&tx, frame, pkt, 49, 1420, 1);
	o = noise_transport_open(&rx, plain, frame, (size_t)r, 1);
	ok(r == 16 + 64 + 16 && o == 64 && wg_ip_trim(plain, (size_t)o) == 49 &&
	   memcmp(plain, pkt, 49) == 0, "padding: IPv6 49 bytes padded to 64, trimmed to 49");

	/* In place: the plaintext already at frame + 16, up to the mtu. */
	memset(frame + 16, 0, 1420);
	frame[16] = 0x45;
	frame[16 + 2] = 0x05;
	frame[16 + 3] = 0x8a;	/* 1418 */
	r = noise_transport_seal(&tx, frame, frame + 16, 1418, 1420, 1);
	o = noise_transport_open(&rx, frame + 16, frame, (size_t)r, 1);
	ok(r == 16 + 1420 + 16 && o == 1420 && wg_ip_trim(frame + 16, (size_t)o) == 1418,
	   "padding: IPv4 1418 bytes in place, padded only to the mtu 1420");

	sodium_memzero(&tx, sizeof(tx));
	sodium_memzero(&rx, sizeof(rx));
}

static void test_ip_trim(void)
{
	static const struct {
		const char *name;
		const char *hdr;	/* first bytes; the rest zero */
		size_t len;
		ssize_t want;
	} table[] = {
		{ "IPv4 20 of 32", "4500001400", 32, 20 },
		{ "IPv4 exact", "45000030", 48, 48 },
		{ "IPv4 with options", "4600001800", 32, 24 },
		{ "IPv4 total length beyond the buffer", "45000031", 48, -1 },
		{ "IPv4 total length below its header", "45000013", 48, -1 },
		{ "IPv4 header length below 20", "44000014", 48, -1 },
		{ "IPv4 total length below the options", "4f000020", 64, -1 },
		{ "IPv4 shorter than a header", "45000010", 19, -1 },
		{ "IPv6 40 + 8", "6000000000080000", 64, 48 },
		{ "IPv6 exact", "6000000000180000", 64, 64 },
		{ "IPv6 payload length beyond the buffer", "6000000000190000", 64, -1 },
		{ "IPv6 shorter than a header", "6000000000000000", 39, -1 },
		{ "version 5", "55000014", 48, -1 },
		{ "version 0", "00000014", 48, -1 },
		{ "empty", "", 0, -1 },
	};
	uint8_t buf[128];
	unsigned bad = 0;
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i) {
		ssize_t got;

		memset(buf, 0, sizeof(buf));
		tap_unhex(buf, sizeof(buf), table[i].hdr);
		got = wg_ip_trim(buf, table[i].len);
		if (got != table[i].want) {
			diag("%s: got %zd, want %zd", table[i].name, got, table[i].want);
			++bad;
		}
	}
	ok(bad == 0, "wg_ip_trim: table of %zu packets, malformed ones -1", sizeof(table) / sizeof(table[0]));
}

static void test_keypairs(void)
{
	struct noise_keypair k[8];
	struct noise_keypairs kps;
	struct noise_keypair *ev[2], *one;
	int n;
	size_t i;

	memset(k, 0, sizeof(k));
	memset(&kps, 0, sizeof(kps));
	for (i = 0; i < 8; ++i)
		k[i].local_index = (uint32_t)i;
	/* k0 responder, k1 k2 initiator, k3 responder, k4 initiator, k5 responder */
	k[1].i_am_the_initiator = k[2].i_am_the_initiator = k[4].i_am_the_initiator = true;
	k[6].i_am_the_initiator = true;

	n = noise_keypairs_install(&kps, &k[0], ev);
	ok(n == 0 && kps.next_keypair == &k[0] && !kps.current_keypair && !kps.previous_keypair,
	   "keypairs: responder's keypair goes to next");
	ok(!noise_keypairs_received_with(&kps, NULL, &one) && !one, "keypairs: NULL is not next");
	ok(noise_keypairs_received_with(&kps, &k[0], &one) && !one && kps.current_keypair == &k[0] &&
	   !kps.next_keypair && !kps.previous_keypair, "keypairs: next promoted on first receipt");
	ok(!noise_keypairs_received_with(&kps, &k[0], &one), "keypairs: current is not promoted again");

	n = noise_keypairs_install(&kps, &k[1], ev);
	ok(n == 0 && kps.current_keypair == &k[1] && kps.previous_keypair == &k[0],
	   "keypairs: initiator's keypair becomes current, old current previous");
	n = noise_keypairs_install(&kps, &k[2], ev);
	ok(n == 1 && ev[0] == &k[0] && kps.current_keypair == &k[2] && kps.previous_keypair == &k[1],
	   "keypairs: the old previous is evicted");

	n = noise_keypairs_install(&kps, &k[3], ev);
	ok(n == 1 && ev[0] == &k[1] && kps.next_keypair == &k[3] && kps.current_keypair == &k[2] &&
	   !kps.previous_keypair, "keypairs: responder's install clears previous, keeps current");
	ok(!noise_keypairs_received_with(&kps, &k[2], &one), "keypairs: receipt on current promotes nothing");

	n = noise_keypairs_install(&kps, &k[4], ev);
	ok(n == 1 && ev[0] == &k[2] && kps.current_keypair == &k[4] && kps.previous_keypair == &k[3] &&
	   !kps.next_keypair, "keypairs: initiator over a pending next: next to previous, current evicted");

	n = noise_keypairs_install(&kps, &k[5], ev);
	ok(n == 1 && ev[0] == &k[3] && kps.next_keypair == &k[5], "keypairs: responder again");
	ok(noise_keypairs_received_with(&kps, &k[5], &one) && !one && kps.current_keypair == &k[5] &&
	   kps.previous_keypair == &k[4], "keypairs: promotion moves current to previous");
	ok(noise_keypairs_install(&kps, &k[7], ev) == 1 && ev[0] == &k[4] && kps.next_keypair == &k[7] &&
	   noise_keypairs_received_with(&kps, &k[7], &one) && !one && kps.previous_keypair == &k[5],
	   "keypairs: promotion evicts no one when previous was cleared");

	/* All three slots full (not reachable through install alone). */
	kps.current_keypair = &k[0];
	kps.previous_keypair = &k[1];
	kps.next_keypair = &k[2];
	n = noise_keypairs_install(&kps, &k[6], ev);
	ok(n == 2 && ev[0] == &k[0] && ev[1] == &k[1] && kps.previous_keypair == &k[2] &&
	   kps.current_keypair == &k[6] && !kps.next_keypair, "keypairs: two evicted at once");
	kps.next_keypair = &k[3];
	ok(noise_keypairs_received_with(&kps, &k[3], &one) && one == &k[2], "keypairs: promotion evicts previous");
	ok(noise_keypairs_install(&kps, NULL, ev) == 0, "keypairs: installing NULL does nothing");
}

int main(void)
{
	if (crypto_layer_init() != 0) {
		printf("Bail out! crypto init\n");
		return 1;
	}
	test_init_constants();
	test_vector();
	test_roundtrip();
	test_handshake_failures();
	test_low_order();
	test_padding();
	test_ip_trim();
	test_keypairs();
	return tap_done();
}
