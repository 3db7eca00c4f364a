/* libFuzzer harness for the overlay codec and secure layer
 * (proto/overlay/codec.c, secure.c).  The first input byte picks a mode:
 *
 *   0: the bytes are a plaintext: whatever decodes must encode back to
 *      exactly the same bytes (the codec admits one encoding per message);
 *   1: the bytes are a datagram from the network: opening it must never
 *      crash, and it cannot authenticate (no key of ours made it); parsed
 *      as relay channel data (codec.c ovl_chan_parse), what is accepted
 *      must be a well-formed header that writes back the same;
 *   2: the bytes are a plaintext sealed by a known sender: it must open to
 *      the same bytes, which then go through mode 0; sealed again, the
 *      datagram goes to a protocol engine (proto/overlay/engine.h, a
 *      public relay under the receiver's key) from a source address the
 *      second byte picks, and the engine's timers run: whatever the
 *      message says, nothing may crash and every datagram is counted;
 *      from a pick of 128 and above it goes to the engine's second port
 *      (engine.h ovl_engine_probe_port_input), whose answer must be no
 *      larger than it;
 *   3: as 2, then one byte of the datagram (chosen by the input) is
 *      changed: it must no longer open;
 *   4: the bytes after the second are a datagram from the network at a
 *      source address the second byte picks, opened with the admission
 *      of unknown senders (secure.c ovl_secure_open_from, with a small
 *      DH budget): it cannot authenticate, and a cookie reply it earns
 *      is no larger than it and parses (codec.c ovl_cookie_reply_parse);
 *      parsed as a cookie reply itself, what is accepted writes back the
 *      same bytes.
 *
 * The receiver keeps only four peers, so eviction paths run too. */
#include "proto/overlay/secure.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/engine.h"
#include "crypto/crypto.h"
#include <sodium.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 UINT64_C(1700000000000000000)

static struct ovl_secure *rx, *tx;
static uint8_t rx_pk[OVL_KEY_LEN];
static uint64_t now = T0;
static struct ovl_engine *eng;
static uint64_t eng_sent;

/* The engine's output goes nowhere; it is only counted. */
static int eng_send(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	(void)from_ip;
	if (len < OVL_MIN_DATAGRAM || len > OVL_MAX_DATAGRAM || buf[0] != OVL_MAGIC)
		abort();
	++eng_sent;
	return 0;
}

static bool eng_other_ip(void *ctx, const struct ovl_addr *main_ip, unsigned ifindex,
			 struct ovl_addr *out)
{
	(void)ctx;
	(void)ifindex;
	*out = *main_ip;
	out->ip[3] ^= 1;
	return true;
}

static void eng_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static const struct ovl_engine_ops eng_ops = { .send = eng_send, .other_ip = eng_other_ip };

/* The datagram dg from tx, from one of 256 addresses (by pick). */
static void drive_engine(const uint8_t *dg, size_t len, uint8_t pick)
{
	struct ovl_time t = { .now_ns = now - T0, .wall_ns = now };
	uint64_t rx_before = ovl_engine_stats(eng)->rx;
	struct ovl_rx in;

	memset(&in, 0, sizeof(in));
	in.data = dg;
	in.len = len;
	in.src.family = OVL_AF_INET;
	in.src.ip[0] = 192;
	in.src.ip[1] = 0;
	in.src.ip[2] = 2;
	in.src.ip[3] = pick;
	in.src.port = (uint16_t)(51820 + (pick & 3));
	in.has_local = true;
	in.local.family = OVL_AF_INET;
	in.local.ip[0] = 198;
	in.local.ip[1] = 51;
	in.local.ip[2] = 100;
	in.local.ip[3] = 1;
	in.ifindex = 2;
	/* Picks of 128 and above go to the second port (MAP_PROBE), whose
	 * answer is never larger than the datagram. */
	if (pick & 0x80) {
		static uint8_t out[OVL_MAX_DATAGRAM];

		if (ovl_engine_probe_port_input(eng, &in, t, out) > len)
			abort();
	} else {
		ovl_engine_input(eng, &in, t);
	}
	if (ovl_engine_stats(eng)->rx != rx_before + 1)
		abort();
	if (ovl_engine_deadline(eng) <= t.now_ns)
		ovl_engine_tick(eng, t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t sk[32];
	struct ovl_secure_config cfg = { .private_key = sk, .ns = "public", .ns_len = 6,
					  .capacity = 4 };

	if (crypto_layer_init() < 0)
		abort();
	memset(sk, 0x11, sizeof(sk));
	cfg.dh_rate = 10;
	cfg.dh_burst = 2;
	if (ovl_secure_new(&rx, &cfg) < 0)
		abort();
	cfg.dh_rate = cfg.dh_burst = 0;
	memset(sk, 0x22, sizeof(sk));
	cfg.capacity = 0;
	if (ovl_secure_new(&tx, &cfg) < 0)
		abort();
	ovl_secure_public_key(rx, rx_pk);
	{
		struct ovl_engine_config ec = { .private_key = sk, .ns = "public", .public_node = true,
						.relay = true, .client_slots = 64, .rng = eng_rng };

		memset(sk, 0x11, sizeof(sk));
		if (ovl_engine_new(&eng, &ec, &eng_ops, NULL, 0) < 0)
			abort();
	}
	return 0;
}

static void check_chan(const uint8_t *buf, size_t len)
{
	uint8_t hdr[OVL_CHAN_HEADER_LEN], dir = 0;
	uint32_t ch = 0;
	size_t hl = ovl_chan_parse(buf, len, &dir, &ch);

	if (!hl)
		return;
	if (hl != OVL_CHAN_HEADER_LEN || len < hl + 4 || buf[hl] < 1 || buf[hl] > 4 ||
	    (dir != OVL_CHAN_TO_RELAY && dir != OVL_CHAN_FROM_RELAY) ||
	    (dir == OVL_CHAN_TO_RELAY) != (ch != 0))
		abort();
	ovl_chan_write(hdr, dir, ch);
	/* The same bytes but the two ignored ones. */
	if (hdr[0] != buf[0] || hdr[1] != buf[1] || memcmp(hdr + 4, buf + 4, 4))
		abort();
}

static void check_codec(const uint8_t *buf, size_t len)
{
	static uint8_t out[OVL_MAX_PLAINTEXT];
	struct ovl_msg m;
	long n;

	if (ovl_msg_decode(&m, buf, len) != OVL_DECODE_OK)
		return;
	n = ovl_msg_encode(out, sizeof(out), &m);
	if (n != (long)len || memcmp(out, buf, len) != 0)
		abort();
}

/* Mode 4: opening with a source; the cookie reply's codec. */
static void check_admission(const uint8_t *buf, size_t len, uint8_t pick)
{
	static uint8_t plain[OVL_MAX_DATAGRAM];
	uint8_t sender[OVL_KEY_LEN], reply[OVL_COOKIE_REPLY_LEN], out[OVL_COOKIE_REPLY_LEN];
	struct ovl_addr a;
	struct ovl_secure_src src = { .addr = &a, .now_ns = now - T0, .reply = reply };
	struct ovl_cookie_reply r;
	size_t plen;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.ip[0] = 192;
	a.ip[2] = 2;
	a.ip[3] = pick;
	a.port = (uint16_t)(51820 + (pick & 3));
	if (ovl_secure_open_from(rx, buf, len, &src, now, sender, plain, sizeof(plain), &plen) ==
	    OVL_ACCEPT)
		abort();
	if (src.reply_len && (src.reply_len != OVL_COOKIE_REPLY_LEN || src.reply_len > len ||
			      !ovl_cookie_reply_parse(&r, reply, src.reply_len)))
		abort();
	if (ovl_cookie_reply_parse(&r, buf, len)) {
		ovl_cookie_reply_write(out, &r);
		if (len != sizeof(out) || memcmp(out, buf, len) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dg[OVL_MAX_DATAGRAM + 64], plain[OVL_MAX_DATAGRAM];
	uint8_t sender[OVL_KEY_LEN];
	size_t plen;
	long n;

	if (size == 0)
		return 0;
	now += 1000;
	switch (data[0] % 5) {
	case 0:
		check_codec(data + 1, size - 1);
		break;
	case 1:
		if (ovl_secure_open(rx, data + 1, size - 1, now, sender, plain, sizeof(plain),
				     &plen) == OVL_ACCEPT)
			abort();
		check_chan(data + 1, size - 1);
		break;
	case 2:
	case 3:
		if (size < 3)
			break;
		n = ovl_secure_seal(tx, rx_pk, data + 2, size - 2, now, dg, sizeof(dg));
		if (n < 0) {
			if (size - 2 <= OVL_MAX_PLAINTEXT)
				abort();
			break;
		}
		if (data[0] % 5 == 3) {
			dg[data[1] % n] ^= 0x5a;
			if (ovl_secure_open(rx, dg, (size_t)n, now, sender, plain, sizeof(plain),
					     &plen) == OVL_ACCEPT)
				abort();
			break;
		}
		if (ovl_secure_open(rx, dg, (size_t)n, now, sender, plain, sizeof(plain), &plen) !=
		    OVL_ACCEPT || plen != size - 2 || memcmp(plain, data + 2, plen) != 0)
			abort();
		check_codec(plain, plen);
		n = ovl_secure_seal(tx, rx_pk, data + 2, size - 2, now + 1, dg, sizeof(dg));
		if (n > 0)
			drive_engine(dg, (size_t)n, data[1]);
		break;
	case 4:
		if (size >= 2)
			check_admission(data + 2, size - 2, data[1]);
		break;
	}
	return 0;
}
