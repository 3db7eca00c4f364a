/* The overlay codec (proto/overlay/codec.c) against doc/protocol.md:
 * a sample of every message type encodes to the documented size and
 * decodes back to the same struct and bytes; every truncation and any
 * trailing byte is refused; counts, addresses, fragments and sizes at
 * and past their limits; random bytes never crash the decoder, and
 * whatever it accepts encodes back to exactly the same bytes. */
#include "proto/overlay/codec.h"
#include "proto/overlay/overlay.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const uint8_t ip4[4] = { 203, 0, 113, 7 };
static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef };
static uint8_t payload[OVL_RELAY_MAX_CHUNK + 1];

static void fill_key(uint8_t key[OVL_KEY_LEN], uint8_t seed)
{
	int i;

	for (i = 0; i < OVL_KEY_LEN; ++i)
		key[i] = (uint8_t)(seed * 31 + i);
}

/* One sample of each type; n chooses sizes for the variable ones. */
static void sample(struct ovl_msg *m, uint8_t type, unsigned n)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case OVL_MSG_PING:
		m->u.ping.nonce = UINT64_C(0x0123456789abcdef);
		m->u.ping.flags = OVL_NODE_PUBLIC;
		m->u.ping.pad_len = (uint16_t)n;
		break;
	case OVL_MSG_PONG:
		m->u.pong.nonce = UINT64_C(0xfedcba9876543210);
		m->u.pong.flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY;
		ovl_addr_set_v4(&m->u.pong.observed, ip4, 51820);
		break;
	case OVL_MSG_FIND_NODE:
		m->u.find_node.txid = 42;
		fill_key(m->u.find_node.target, 7);
		m->u.find_node.pad_len = (uint16_t)n;
		break;
	case OVL_MSG_NODES:
		m->u.nodes.txid = UINT64_MAX;
		m->u.nodes.count = (uint8_t)n;
		for (i = 0; i < n; ++i) {
			fill_key(m->u.nodes.nodes[i].key, (uint8_t)i);
			if (i % 2)
				ovl_addr_set_v4(&m->u.nodes.nodes[i].addr, ip4, (uint16_t)(1000 + i));
			else
				ovl_addr_set_v6(&m->u.nodes.nodes[i].addr, ip6, (uint16_t)(2000 + i));
			m->u.nodes.nodes[i].flags = (uint8_t)i;
		}
		break;
	case OVL_MSG_RELAY:
		fill_key(m->u.relay.dst, 3);
		m->u.relay.frag = (struct ovl_frag){ .id = 0x1234, .index = 1, .count = 2 };
		m->u.relay.payload = payload;
		m->u.relay.payload_len = n ? n : 1;
		break;
	case OVL_MSG_RELAYED:
		fill_key(m->u.relayed.src, 4);
		ovl_addr_set_v6(&m->u.relayed.src_addr, ip6, 62096);
		m->u.relayed.frag = (struct ovl_frag){ .id = 0, .index = 0, .count = 1 };
		m->u.relayed.payload = payload;
		m->u.relayed.payload_len = n ? n : 1;
		break;
	case OVL_MSG_CANDIDATES:
		m->u.candidates.txid = 9;
		m->u.candidates.flags = OVL_CANDIDATES_REPLY;
		m->u.candidates.count = (uint8_t)n;
		for (i = 0; i < n; ++i) {
			m->u.candidates.cands[i].type = (uint8_t)(1 + i % 3);
			if (i % 2)
				ovl_addr_set_v6(&m->u.candidates.cands[i].addr, ip6, (uint16_t)(3000 + i));
			else
				ovl_addr_set_v4(&m->u.candidates.cands[i].addr, ip4, (uint16_t)(4000 + i));
		}
		break;
	case OVL_MSG_PUNCH:
		m->u.punch.nonce = 77;
		m->u.punch.pad_len = (uint16_t)n;
		break;
	case OVL_MSG_CHANNEL_BIND:
		fill_key(m->u.channel_bind.dst, 5);
		m->u.channel_bind.pad_len = (uint16_t)n;
		break;
	case OVL_MSG_CHANNEL_BOUND:
		fill_key(m->u.channel_bound.dst, 6);
		if (n) {
			m->u.channel_bound.status = (uint8_t)n;
		} else {
			m->u.channel_bound.channel = 0xdeadbeef;
			m->u.channel_bound.lifetime_s = 60;
		}
		break;
	case OVL_MSG_PROBE_REQ:
		m->u.probe_req.nonce = UINT64_C(0x8000000000000001);
		m->u.probe_req.pad_len = (uint16_t)n;
		break;
	case OVL_MSG_PROBE:
		m->u.probe.nonce = UINT64_C(0x8000000000000001);
		m->u.probe.kind = (uint8_t)(n ? n : OVL_PROBE_ANSWER);
		m->u.probe.sent = OVL_PROBE_SENT_OTHER_PORT | OVL_PROBE_SENT_OTHER_IP;
		break;
	case OVL_MSG_PEERS:
		m->u.peers.hashes = (uint8_t)n;
		memset(m->u.peers.salt, 0xa5, sizeof(m->u.peers.salt));
		for (i = 0; i < OVL_PEERS_FILTER_LEN; ++i)
			m->u.peers.filter[i] = (uint8_t)(i * 13);
		break;
	}
}

static bool same_addr(const struct ovl_addr *a, const struct ovl_addr *b)
{
	return ovl_addr_equal(a, b);
}

static bool same_frag(const struct ovl_frag *a, const struct ovl_frag *b)
{
	return a->id == b->id && a->index == b->index && a->count == b->count;
}

/* Field-by-field equality of two messages of the same type. */
static bool same_msg(const struct ovl_msg *a, const struct ovl_msg *b)
{
	unsigned i;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case OVL_MSG_PING:
		return a->u.ping.nonce == b->u.ping.nonce && a->u.ping.flags == b->u.ping.flags &&
		       a->u.ping.pad_len == b->u.ping.pad_len;
	case OVL_MSG_PONG:
		return a->u.pong.nonce == b->u.pong.nonce && a->u.pong.flags == b->u.pong.flags &&
		       same_addr(&a->u.pong.observed, &b->u.pong.observed);
	case OVL_MSG_FIND_NODE:
		return a->u.find_node.txid == b->u.find_node.txid &&
		       !memcmp(a->u.find_node.target, b->u.find_node.target, OVL_KEY_LEN) &&
		       a->u.find_node.pad_len == b->u.find_node.pad_len;
	case OVL_MSG_NODES:
		if (a->u.nodes.txid != b->u.nodes.txid || a->u.nodes.count != b->u.nodes.count)
			return false;
		for (i = 0; i < a->u.nodes.count; ++i)
			if (memcmp(a->u.nodes.nodes[i].key, b->u.nodes.nodes[i].key, OVL_KEY_LEN) ||
			    !same_addr(&a->u.nodes.nodes[i].addr, &b->u.nodes.nodes[i].addr) ||
			    a->u.nodes.nodes[i].flags != b->u.nodes.nodes[i].flags)
				return false;
		return true;
	case OVL_MSG_RELAY:
		return !memcmp(a->u.relay.dst, b->u.relay.dst, OVL_KEY_LEN) &&
		       same_frag(&a->u.relay.frag, &b->u.relay.frag) &&
		       a->u.relay.payload_len == b->u.relay.payload_len &&
		       !memcmp(a->u.relay.payload, b->u.relay.payload, a->u.relay.payload_len);
	case OVL_MSG_RELAYED:
		return !memcmp(a->u.relayed.src, b->u.relayed.src, OVL_KEY_LEN) &&
		       same_addr(&a->u.relayed.src_addr, &b->u.relayed.src_addr) &&
		       same_frag(&a->u.relayed.frag, &b->u.relayed.frag) &&
		       a->u.relayed.payload_len == b->u.relayed.payload_len &&
		       !memcmp(a->u.relayed.payload, b->u.relayed.payload, a->u.relayed.payload_len);
	case OVL_MSG_CANDIDATES:
		if (a->u.candidates.txid != b->u.candidates.txid ||
		    a->u.candidates.flags != b->u.candidates.flags ||
		    a->u.candidates.count != b->u.candidates.count)
			return false;
		for (i = 0; i < a->u.candidates.count; ++i)
			if (a->u.candidates.cands[i].type != b->u.candidates.cands[i].type ||
			    !same_addr(&a->u.candidates.cands[i].addr, &b->u.candidates.cands[i].addr))
				return false;
		return true;
	case OVL_MSG_PUNCH:
		return a->u.punch.nonce == b->u.punch.nonce && a->u.punch.pad_len == b->u.punch.pad_len;
	case OVL_MSG_CHANNEL_BIND:
		return !memcmp(a->u.channel_bind.dst, b->u.channel_bind.dst, OVL_KEY_LEN) &&
		       a->u.channel_bind.pad_len == b->u.channel_bind.pad_len;
	case OVL_MSG_CHANNEL_BOUND:
		return !memcmp(a->u.channel_bound.dst, b->u.channel_bound.dst, OVL_KEY_LEN) &&
		       a->u.channel_bound.status == b->u.channel_bound.status &&
		       a->u.channel_bound.channel == b->u.channel_bound.channel &&
		       a->u.channel_bound.lifetime_s == b->u.channel_bound.lifetime_s;
	case OVL_MSG_PROBE_REQ:
		return a->u.probe_req.nonce == b->u.probe_req.nonce &&
		       a->u.probe_req.pad_len == b->u.probe_req.pad_len;
	case OVL_MSG_PROBE:
		return a->u.probe.nonce == b->u.probe.nonce && a->u.probe.kind == b->u.probe.kind &&
		       a->u.probe.sent == b->u.probe.sent;
	case OVL_MSG_PEERS:
		return a->u.peers.hashes == b->u.peers.hashes &&
		       !memcmp(a->u.peers.salt, b->u.peers.salt, sizeof(a->u.peers.salt)) &&
		       !memcmp(a->u.peers.filter, b->u.peers.filter, OVL_PEERS_FILTER_LEN);
	}
	return false;
}

static const struct {
	uint8_t type;
	unsigned n;		/* sample size parameter */
	size_t len;		/* plaintext length from doc/protocol.md */
} samples[] = {
	{ OVL_MSG_PING, 0, 1 + 11 },
	{ OVL_MSG_PING, 3, 1 + 11 + 3 },
	{ OVL_MSG_PONG, 0, 1 + 28 },
	{ OVL_MSG_FIND_NODE, 0, 1 + 42 },
	{ OVL_MSG_FIND_NODE, 100, 1 + 42 + 100 },
	{ OVL_MSG_NODES, 0, 1 + 9 },
	{ OVL_MSG_NODES, 3, 1 + 9 + 3 * 52 },
	{ OVL_MSG_NODES, OVL_K, 1 + 9 + OVL_K * 52 },
	{ OVL_MSG_RELAY, 1, 1 + 38 + 1 },
	{ OVL_MSG_RELAY, 148, 1 + 38 + 148 },
	{ OVL_MSG_RELAYED, 92, 1 + 57 + 92 },
	{ OVL_MSG_CANDIDATES, 0, 1 + 10 },
	{ OVL_MSG_CANDIDATES, 5, 1 + 10 + 5 * 20 },
	{ OVL_MSG_PUNCH, 0, 1 + 10 },
	{ OVL_MSG_PUNCH, 18, 1 + 10 + 18 },
	{ OVL_MSG_CHANNEL_BIND, 0, 1 + 34 },
	{ OVL_MSG_CHANNEL_BIND, 5, 1 + 34 + 5 },
	{ OVL_MSG_CHANNEL_BOUND, 0, 1 + 39 },
	{ OVL_MSG_CHANNEL_BOUND, OVL_CHANNEL_NO_PATH, 1 + 39 },
	{ OVL_MSG_PROBE_REQ, 0, 1 + 10 },
	{ OVL_MSG_PROBE_REQ, OVL_PROBE_REQ_PAD, 1 + 10 + 138 },
	{ OVL_MSG_PROBE, 0, 1 + 10 },
	{ OVL_MSG_PROBE, OVL_PROBE_OTHER_IP, 1 + 10 },
	{ OVL_MSG_PEERS, 1, 1 + 1041 },
	{ OVL_MSG_PEERS, OVL_PEERS_MAX_HASHES, 1 + 1041 },
};

/* PEERS (doc/protocol.md 9.3): the hash count 1..16, the filter whole. */
static void test_peers(void)
{
	uint8_t buf[OVL_MAX_PLAINTEXT];
	struct ovl_msg m, d;
	long n;

	sample(&m, OVL_MSG_PEERS, 11);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1042 && buf[0] == 0x16 && buf[1] == 11 && !memcmp(buf + 2, m.u.peers.salt, 16) &&
	   !memcmp(buf + 18, m.u.peers.filter, OVL_PEERS_FILTER_LEN),
	   "PEERS: type 0x16, hashes, salt, then the filter (%ld bytes)", n);
	buf[1] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "0 hashes refused");
	buf[1] = OVL_PEERS_MAX_HASHES + 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "17 hashes refused");
	m.u.peers.hashes = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "encoding 0 hashes refused");
	m.u.peers.hashes = 1;
	ok(ovl_msg_encode(buf, 1000, &m) == -EMSGSIZE, "encoding into too small a buffer refused");
	ok(!strcmp(ovl_msg_type_name(OVL_MSG_PEERS), "PEERS"), "its name");
}

/* STOCK_CLIENTS (doc/protocol.md 9.5): a count 1..32, then exactly that
 * many keys. */
static void test_stock_clients(void)
{
	uint8_t buf[OVL_MAX_PLAINTEXT];
	struct ovl_msg m, d;
	unsigned i;
	long n;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_STOCK_CLIENTS;
	m.u.stock_clients.count = 3;
	for (i = 0; i < 3; ++i)
		memset(m.u.stock_clients.keys[i], 0x31 + (int)i, 32);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1 + 1 + 3 * 32 && buf[0] == 0x19 && buf[1] == 3 && buf[2] == 0x31 && buf[2 + 64] == 0x33,
	   "STOCK_CLIENTS: type 0x19, count, then the keys (%ld bytes)", n);
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK && d.u.stock_clients.count == 3 &&
	   !memcmp(d.u.stock_clients.keys, m.u.stock_clients.keys, 3 * 32), "round trip");
	ok(ovl_msg_decode(&d, buf, (size_t)n - 1) == OVL_DECODE_TRUNCATED, "a key short: truncated");
	buf[n] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n + 1) == OVL_DECODE_TRAILING, "a byte more: trailing");
	buf[1] = 0;
	ok(ovl_msg_decode(&d, buf, 2) == OVL_DECODE_BAD_FIELD, "count 0 refused");
	buf[1] = OVL_STOCK_CLIENTS_MAX + 1;
	ok(ovl_msg_decode(&d, buf, sizeof(buf)) == OVL_DECODE_BAD_FIELD, "count 33 refused");
	m.u.stock_clients.count = OVL_STOCK_CLIENTS_MAX;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == 2 + OVL_STOCK_CLIENTS_MAX * 32, "32 keys fit");
	m.u.stock_clients.count = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "encoding none refused");
	ok(!strcmp(ovl_msg_type_name(OVL_MSG_STOCK_CLIENTS), "STOCK_CLIENTS"), "its name");
}

/* CHANNEL_BOUND: a number and a lifetime with OK, and only with it. */
static void test_channel_bound(void)
{
	struct ovl_msg m, d;
	uint8_t buf[64];
	long n;

	sample(&m, OVL_MSG_CHANNEL_BOUND, 0);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 40 && buf[33] == 0 && buf[34] == 0xde && buf[37] == 0xef && buf[38] == 0 && buf[39] == 60,
	   "CHANNEL_BOUND OK: status, channel and lifetime big-endian");
	buf[37] = 0;
	buf[36] = buf[35] = buf[34] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "OK with channel 0 refused");
	sample(&m, OVL_MSG_CHANNEL_BOUND, 0);
	ovl_msg_encode(buf, sizeof(buf), &m);
	buf[39] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "OK with lifetime 0 refused");
	sample(&m, OVL_MSG_CHANNEL_BOUND, OVL_CHANNEL_FULL);
	ovl_msg_encode(buf, sizeof(buf), &m);
	buf[37] = 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "FULL with a channel number refused");
	sample(&m, OVL_MSG_CHANNEL_BOUND, 0);
	m.u.channel_bound.status = OVL_CHANNEL_OFF;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "encoding OFF with a number refused");
	sample(&m, OVL_MSG_CHANNEL_BOUND, 200);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 40 && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK && d.u.channel_bound.status == 200,
	   "an unknown status without number decodes (receivers treat it as a refusal)");
}

static void test_round_trips(void)
{
	size_t i, cut;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); ++i) {
		struct ovl_msg m, d;
		uint8_t buf[OVL_MAX_PLAINTEXT + 8], again[OVL_MAX_PLAINTEXT];
		const char *name = ovl_msg_type_name(samples[i].type);
		long n, n2;
		bool all;

		sample(&m, samples[i].type, samples[i].n);
		n = ovl_msg_encode(buf, sizeof(buf), &m);
		ok(n == (long)samples[i].len, "%s(%u): encodes to %zu bytes (got %ld)", name,
		   samples[i].n, samples[i].len, n);
		if (n <= 0)
			continue;
		ok(buf[0] == samples[i].type, "%s(%u): type byte first", name, samples[i].n);
		ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK && same_msg(&m, &d),
		   "%s(%u): decodes to the same struct", name, samples[i].n);
		n2 = ovl_msg_encode(again, sizeof(again), &d);
		ok(n2 == n && !memcmp(buf, again, (size_t)n), "%s(%u): re-encodes to the same bytes",
		   name, samples[i].n);

		/* Every proper prefix is refused: messages are self-delimiting. */
		all = true;
		for (cut = 0; cut < (size_t)n; ++cut) {
			enum ovl_decode r = ovl_msg_decode(&d, buf, cut);

			if (r == OVL_DECODE_OK) {
				diag("%s: prefix of %zu bytes accepted", name, cut);
				all = false;
			}
		}
		ok(all, "%s(%u): all %ld truncations refused", name, samples[i].n, n);

		/* So is a byte more, whatever its value. */
		buf[n] = 0x5a;
		ok(ovl_msg_decode(&d, buf, (size_t)n + 1) == OVL_DECODE_TRAILING,
		   "%s(%u): trailing byte refused", name, samples[i].n);
		buf[n] = 0;
		ok(ovl_msg_decode(&d, buf, (size_t)n + 1) == OVL_DECODE_TRAILING,
		   "%s(%u): trailing zero byte refused", name, samples[i].n);
	}
}

static void test_padding(void)
{
	struct ovl_msg m, d;
	uint8_t buf[OVL_MAX_PLAINTEXT + 1];
	long n;

	sample(&m, OVL_MSG_FIND_NODE, 400);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1 + 42 + 400 && buf[41] == 0x01 && buf[42] == 0x90,
	   "FIND_NODE with 400 bytes of padding, length big-endian");
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK && d.u.find_node.pad_len == 400,
	   "padding length decoded");
	buf[n - 1] = 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "nonzero last padding byte refused");
	buf[n - 1] = 0;
	buf[42] = 0x91;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_TRUNCATED, "padding length past the end: truncated");

	sample(&m, OVL_MSG_FIND_NODE, 269);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n + OVL_OVERHEAD == 370 && 3 * (n + OVL_OVERHEAD) >= OVL_OVERHEAD + 10 + OVL_K * 52,
	   "FIND_NODE padded by 269 is 370 bytes sealed, a third of a full NODES");

	sample(&m, OVL_MSG_PING, OVL_MAX_PLAINTEXT - 12);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == OVL_MAX_PLAINTEXT, "PING padded to a full datagram (1280 bytes sealed)");
	sample(&m, OVL_MSG_PING, OVL_MAX_PLAINTEXT - 11);
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EMSGSIZE, "PING one byte over 1280 refused");
	memset(buf, 0, sizeof(buf));
	buf[0] = OVL_MSG_PING;
	ok(ovl_msg_decode(&d, buf, sizeof(buf)) == OVL_DECODE_TOO_LONG,
	   "a plaintext over %d bytes does not decode", OVL_MAX_PLAINTEXT);
}

static void test_limits(void)
{
	struct ovl_msg m, d;
	uint8_t buf[OVL_MAX_PLAINTEXT + 64];
	long n;

	/* NODES: 20 IPv6 entries fit in a 1280-byte datagram. */
	sample(&m, OVL_MSG_NODES, OVL_K);
	for (unsigned i = 0; i < OVL_K; ++i)
		ovl_addr_set_v6(&m.u.nodes.nodes[i].addr, ip6, 1);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1050 && n + OVL_OVERHEAD == 1108 && n + OVL_OVERHEAD <= OVL_MAX_DATAGRAM,
	   "NODES with 20 IPv6 entries: %ld bytes, %ld sealed, within 1280", n, n + OVL_OVERHEAD);
	m.u.nodes.count = OVL_K + 1;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "NODES with 21 entries refused");
	n = ovl_msg_encode(buf, sizeof(buf), &(struct ovl_msg){ .type = OVL_MSG_NODES });
	buf[9] = OVL_K + 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_COUNT, "NODES count 21 does not decode");
	buf[9] = 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_TRUNCATED, "NODES count 1 without entry: truncated");

	sample(&m, OVL_MSG_CANDIDATES, OVL_MAX_CANDIDATES);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1 + 10 + 16 * 20, "CANDIDATES with 16 entries: %ld bytes", n);
	buf[10] = OVL_MAX_CANDIDATES + 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_COUNT, "CANDIDATES count 17 does not decode");
	m.u.candidates.count = OVL_MAX_CANDIDATES + 1;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "CANDIDATES with 17 entries refused");
	sample(&m, OVL_MSG_CANDIDATES, 1);
	m.u.candidates.cands[0].type = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "candidate type 0 refused");
	m.u.candidates.cands[0].type = 200;
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n > 0 && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK &&
	   d.u.candidates.cands[0].type == 200, "an unknown candidate type is kept for the receiver to ignore");
	buf[11] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "candidate type 0 does not decode");

	/* Relay chunks: 1164 bytes fill a RELAYED datagram to exactly 1280. */
	sample(&m, OVL_MSG_RELAYED, OVL_RELAY_MAX_CHUNK);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == OVL_MAX_PLAINTEXT, "RELAYED with a 1164-byte chunk: %ld bytes, 1280 sealed", n);
	sample(&m, OVL_MSG_RELAYED, OVL_RELAY_MAX_CHUNK + 1);
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EMSGSIZE, "RELAYED chunk of 1165 refused");
	sample(&m, OVL_MSG_RELAY, OVL_RELAY_MAX_CHUNK);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 1 + 38 + OVL_RELAY_MAX_CHUNK, "RELAY with a 1164-byte chunk");
	buf[n] = 0;
	be16_put(buf + 1 + 36, OVL_RELAY_MAX_CHUNK + 1);
	ok(ovl_msg_decode(&d, buf, (size_t)n + 1) == OVL_DECODE_TOO_LONG, "RELAY chunk of 1165 does not decode");
	be16_put(buf + 1 + 36, 0);
	ok(ovl_msg_decode(&d, buf, 1 + 38) == OVL_DECODE_BAD_FIELD, "RELAY with an empty payload does not decode");
	sample(&m, OVL_MSG_RELAY, 1);
	m.u.relay.payload_len = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "empty relay payload refused");

	/* Fragment fields. */
	static const struct ovl_frag bad[] = {
		{ 0, 0, 0 }, { 0, 0, OVL_RELAY_MAX_FRAGMENTS + 1 }, { 1, 2, 2 }, { 5, 0, 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		struct ovl_wire_relay *w;

		sample(&m, OVL_MSG_RELAY, 10);
		m.u.relay.frag = bad[i];
		ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL,
		   "fragment id %u index %u count %u refused", bad[i].id, bad[i].index, bad[i].count);
		sample(&m, OVL_MSG_RELAY, 10);
		n = ovl_msg_encode(buf, sizeof(buf), &m);
		w = (struct ovl_wire_relay *)(buf + 1);
		be16_put(w->frag.id, bad[i].id);
		w->frag.index = bad[i].index;
		w->frag.count = bad[i].count;
		ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD,
		   "fragment id %u index %u count %u does not decode", bad[i].id, bad[i].index,
		   bad[i].count);
	}
	sample(&m, OVL_MSG_RELAY, 10);
	m.u.relay.frag = (struct ovl_frag){ 0xffff, OVL_RELAY_MAX_FRAGMENTS - 1, OVL_RELAY_MAX_FRAGMENTS };
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n > 0 && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK, "last of 8 fragments accepted");

	/* Output buffers too small for the message. */
	sample(&m, OVL_MSG_PONG, 0);
	ok(ovl_msg_encode(buf, 28, &m) == -EMSGSIZE, "PONG into 28 bytes: too small");
	ok(ovl_msg_encode(buf, 29, &m) == 29, "PONG into 29 bytes");
	ok(ovl_msg_encode(NULL, 0, &m) == -EMSGSIZE, "no buffer");
	m.type = OVL_MSG_NAMES_FIRST;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "an unspecified type does not encode");
}

/* PROBE_REQ and PROBE (doc/protocol.md 6.5): kinds, and the padding that
 * pays for the answer. */
static void test_probe(void)
{
	struct ovl_msg m, d;
	uint8_t buf[OVL_MAX_PLAINTEXT];
	long n;

	sample(&m, OVL_MSG_PROBE_REQ, OVL_PROBE_REQ_PAD);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n + OVL_OVERHEAD == 207 && n + OVL_OVERHEAD == 3 * (OVL_OVERHEAD + 11),
	   "PROBE_REQ padded by 138: 207 bytes sealed, three sealed PROBEs (69 each)");
	ok(buf[9] == 0 && buf[10] == 138, "pad_len big-endian after the nonce");
	buf[n - 1] = 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "PROBE_REQ: nonzero padding refused");

	sample(&m, OVL_MSG_PROBE, OVL_PROBE_OTHER_PORT);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 11 && buf[0] == OVL_MSG_PROBE && buf[1] == 0x80 && buf[8] == 0x01 && buf[9] == 2 &&
	   buf[10] == 3, "PROBE: type, nonce big-endian, kind, sent bits");
	buf[9] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "PROBE kind 0 does not decode");
	m.u.probe.kind = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "PROBE kind 0 does not encode");
	m.u.probe.kind = 77;
	m.u.probe.sent = 0xfc;
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n == 11 && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK && d.u.probe.kind == 77 &&
	   d.u.probe.sent == 0xfc, "an unknown kind and unknown sent bits are kept for the receiver to ignore");
	ok(!strcmp(ovl_msg_type_name(OVL_MSG_PROBE_REQ), "PROBE_REQ") &&
	   !strcmp(ovl_msg_type_name(OVL_MSG_PROBE), "PROBE"), "type names");
}

static void test_types(void)
{
	struct ovl_msg d;
	uint8_t b[64] = { 0 };
	unsigned t, unknown = 0, known = 0;

	ok(ovl_msg_decode(&d, b, 0) == OVL_DECODE_EMPTY, "empty plaintext");
	for (t = 0; t < 256; ++t) {
		enum ovl_decode r;

		b[0] = (uint8_t)t;
		r = ovl_msg_decode(&d, b, 1);
		if (r == OVL_DECODE_UNKNOWN_TYPE && d.type == t)
			++unknown;
		else if (r == OVL_DECODE_TRUNCATED)
			++known;
	}
	ok(known == 16 && unknown == 240, "16 types known, 240 reported unknown (%u, %u)", known, unknown);
	b[0] = 0x21;
	ok(ovl_msg_decode(&d, b, 40) == OVL_DECODE_UNKNOWN_TYPE && d.type == 0x21,
	   "a reserved type (AUTHED) is unknown, its body unread");
}

static void test_addresses(void)
{
	struct ovl_msg m, d;
	struct ovl_wire_pong *w;
	struct ovl_addr a;
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(62096) };
	uint8_t buf[64];
	long n;

	sample(&m, OVL_MSG_PONG, 0);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	w = (struct ovl_wire_pong *)(buf + 1);
	ok(w->observed.family == 4 && w->observed.ip[10] == 0xff && w->observed.ip[11] == 0xff &&
	   !memcmp(w->observed.ip + 12, ip4, 4) && w->observed.port[0] == 0xca &&
	   w->observed.port[1] == 0x6c, "IPv4 on the wire: 4, ::ffff:a.b.c.d, big-endian port");

	w->observed.family = 6;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "family 6 with a mapped address refused");
	w->observed.family = 5;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "family 5 refused");
	w->observed.family = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "family 0 refused");
	w->observed.family = 4;
	w->observed.ip[11] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "family 4 without the ::ffff: prefix refused");
	w->observed.ip[11] = 0xff;
	w->observed.port[0] = w->observed.port[1] = 0;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "port 0 refused");
	m.u.pong.observed.port = 0;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "port 0 does not encode");
	m.u.pong.observed.port = 1;
	m.u.pong.observed.ip[5] = 1;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL,
	   "non-canonical IPv4 address (bytes after the fourth) does not encode");
	m.u.pong.observed.ip[5] = 0;
	m.u.pong.observed.family = 6;
	memset(m.u.pong.observed.ip, 0, 16);
	m.u.pong.observed.ip[10] = m.u.pong.observed.ip[11] = 0xff;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL,
	   "an IPv4-mapped address as family 6 does not encode");
	m.u.pong.observed.family = 7;
	ok(ovl_msg_encode(buf, sizeof(buf), &m) == -EINVAL, "family 7 does not encode");

	memcpy(&sin.sin_addr, ip4, 4);
	ok(ovl_addr_from_sockaddr(&a, (struct sockaddr *)&sin) && a.family == 4 && a.port == 62096 &&
	   ovl_addr_to_sockaddr(&a, sa, sizeof(ss)) == sizeof(sin) && !memcmp(&ss, &sin, sizeof(sin)),
	   "sockaddr_in round trip");
	memcpy(&sin6.sin6_addr, ip6, 16);
	ok(ovl_addr_from_sockaddr(&a, (struct sockaddr *)&sin6) && a.family == 6 &&
	   ovl_addr_to_sockaddr(&a, sa, sizeof(ss)) == sizeof(sin6) &&
	   !memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, ip6, 16), "sockaddr_in6 round trip");
	inet_pton(AF_INET6, "::ffff:198.51.100.1", &sin6.sin6_addr);
	ok(ovl_addr_from_sockaddr(&a, (struct sockaddr *)&sin6) && a.family == 4 &&
	   ovl_addr_to_sockaddr(&a, sa, sizeof(ss)) == sizeof(sin) && ss.ss_family == AF_INET,
	   "an IPv4-mapped sockaddr_in6 becomes family 4");
	ok(ovl_addr_to_sockaddr(&a, sa, sizeof(struct sockaddr_in) - 1) == 0,
	   "no sockaddr into too small a buffer");
	ok(a.family == 4 && !memcmp(a.ip + 4, (uint8_t[12]){ 0 }, 12),
	   "IPv4 in struct ovl_addr: its 4 bytes first, the rest zero");
	sin.sin_port = 0;
	ok(!ovl_addr_from_sockaddr(&a, (struct sockaddr *)&sin), "port 0 sockaddr refused");
}

/* A tiny xorshift generator: reproducible runs without libc's rand. */
static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bytes, and mutations of valid messages: the decoder never
 * crashes, and anything it accepts re-encodes to the very same bytes. */
static void test_random(void)
{
	uint8_t buf[OVL_MAX_PLAINTEXT] = { 0 }, out[OVL_MAX_PLAINTEXT];
	unsigned i, accepted = 0, mismatched = 0;

	for (i = 0; i < 200000; ++i) {
		struct ovl_msg m;
		size_t len, j;
		long n;

		if (i % 2) {
			len = next() % 200;
			for (j = 0; j < len; ++j)
				buf[j] = (uint8_t)next();
			buf[0] = (uint8_t)(1 + next() % 0x14);
		} else {
			size_t k = next() % (sizeof(samples) / sizeof(samples[0]));

			sample(&m, samples[k].type, samples[k].n);
			n = ovl_msg_encode(buf, sizeof(buf), &m);
			len = (size_t)n;
			for (j = next() % 4; j > 0; --j)
				buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
			if (next() % 4 == 0)
				len = next() % (len + 2);
		}
		if (ovl_msg_decode(&m, buf, len) != OVL_DECODE_OK)
			continue;
		++accepted;
		n = ovl_msg_encode(out, sizeof(out), &m);
		if (n != (long)len || memcmp(out, buf, len))
			++mismatched;
	}
	ok(accepted > 1000 && mismatched == 0,
	   "random and mutated input: %u accepted, all re-encode identically", accepted);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(payload); ++i)
		payload[i] = (uint8_t)(i * 7);
	test_round_trips();
	test_channel_bound();
	test_peers();
	test_stock_clients();
	test_padding();
	test_limits();
	test_types();
	test_probe();
	test_addresses();
	test_random();
	return tap_done();
}
