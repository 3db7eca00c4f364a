/* The overlay engine (proto/overlay/engine.h) without root or sockets:
 * engines under real keys talk through a simulated network (a queue of
 * sealed datagrams, with NAT-like source rewriting where a test needs
 * it), and bare secure-layer endpoints forge or open messages as on the wire.
 * Covered: PING/PONG and replays, RTTs, PONGs nobody asked for, NAT
 * mapping classification from observations, the FIND_NODE amplification
 * budget (1x; test_answers.c checks every request type), relay forwarding and its per-sender limit, relay channels, the
 * bounded client table, NAT filtering rounds, the one address rule and
 * the probe table against a naive model.
 *
 * Topology (addresses in the engines' form):
 *
 *   A 10.0.0.1:51820 (NATed; seen as 203.0.113.5:<mapped port>)
 *   B 192.0.2.1:51820 (public)      C 198.51.100.1:51820 (public)
 *   R 192.0.2.9:51820 (public relay) M 10.0.0.2:51820 (NATed member)
 *   bare peers (forged senders) at 100.64.x.y */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/addr.h"
#include "proto/overlay/secure.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/engine.h"
#include "proto/overlay/probetab.h"
#include "test/tap.h"

#define MS 1000000ull
#define SEC (1000 * MS)

static const char NS[] = "test-engine";

/* ---- the simulated network ---- */

enum { QMAX = 512, NODES_MAX = 8, ALIASES = 4 };

struct dgram {
	struct ovl_addr src, to;
	bool aux;			/* sent from a probe socket */
	uint8_t buf[OVL_MAX_DATAGRAM];
	size_t len;
};

struct node {
	struct ovl_engine *e;
	uint8_t pub[32];
	struct ovl_addr addr;		/* its main socket */
	struct ovl_addr alias[ALIASES];	/* addresses a NAT maps to it */
	bool has_other;
	struct ovl_addr other;		/* a second IP address (OTHER_IP) */
	/* events */
	unsigned contacts, pings, relayed, channels;
	uint8_t last_status;
	uint32_t last_channel;
	uint8_t relayed_buf[64];
	size_t relayed_len;
};

static struct dgram q[QMAX];
static unsigned qn;
static struct node *nodes[NODES_MAX];
static unsigned n_nodes;
static uint64_t now = 1000 * SEC;
static const uint64_t wall0 = 1700000000ull * SEC;

static struct ovl_time tnow(void)
{
	struct ovl_time t = { .now_ns = now, .wall_ns = wall0 + now };

	return t;
}

static struct ovl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct ovl_addr k;

	memset(&k, 0, sizeof(k));
	k.family = OVL_AF_INET;
	k.ip[0] = a;
	k.ip[1] = b;
	k.ip[2] = c;
	k.ip[3] = d;
	k.port = port;
	return k;
}

static void test_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void enqueue(const struct ovl_addr *src, const struct ovl_addr *to, bool aux,
		    const uint8_t *buf, size_t len)
{
	if (qn == QMAX || len > OVL_MAX_DATAGRAM)
		return;
	q[qn].src = *src;
	q[qn].to = *to;
	q[qn].aux = aux;
	memcpy(q[qn].buf, buf, len);
	q[qn].len = len;
	++qn;
}

static int net_send(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	struct ovl_addr src = n->addr;

	if (from_ip) {
		src = *from_ip;
		src.port = 40001;	/* what a fresh socket got */
	}
	enqueue(&src, to, from_ip != NULL, buf, len);
	return 0;
}

static bool net_other_ip(void *ctx, const struct ovl_addr *main_ip, unsigned ifindex,
			 struct ovl_addr *out)
{
	struct node *n = ctx;

	(void)main_ip;
	(void)ifindex;
	if (!n->has_other)
		return false;
	*out = n->other;
	return true;
}

static bool net_own_address(void *ctx, const struct ovl_addr *a)
{
	return ovl_addr_equal(a, &((struct node *)ctx)->addr);
}

static void ev_contact(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	(void)key;
	(void)addr;
	++((struct node *)ctx)->contacts;
}

static void ev_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	(void)key;
	(void)addr;
	++((struct node *)ctx)->pings;
}

static void ev_relayed(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const struct ovl_addr *via_addr, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;

	(void)key;
	(void)via;
	(void)via_addr;
	++n->relayed;
	n->relayed_len = len < sizeof(n->relayed_buf) ? len : sizeof(n->relayed_buf);
	memcpy(n->relayed_buf, buf, n->relayed_len);
}

static void ev_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	struct node *n = ctx;

	(void)relay;
	(void)dst;
	++n->channels;
	n->last_status = status;
	n->last_channel = channel;
}

static const struct ovl_engine_ops net_ops = {
	.send = net_send,
	.other_ip = net_other_ip,
	.own_address = net_own_address,
	.on_contact = ev_contact,
	.on_ping = ev_ping,
	.on_relayed = ev_relayed,
	.on_channel = ev_channel,
};

static struct node *node_new(struct ovl_addr addr, bool public_node, bool relay, uint32_t pps,
			     uint32_t client_slots)
{
	struct node *n = calloc(1, sizeof(*n));
	struct ovl_engine_config cfg;
	uint8_t priv[32];

	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(n->pub, priv);
	n->addr = addr;
	memset(&cfg, 0, sizeof(cfg));
	cfg.private_key = priv;
	cfg.ns = NS;
	cfg.public_node = public_node;
	cfg.relay = relay;
	cfg.relay_pps = pps;
	cfg.client_slots = client_slots;
	cfg.rng = test_rng;
	if (ovl_engine_new(&n->e, &cfg, &net_ops, n, now) < 0)
		abort();
	sodium_memzero(priv, sizeof(priv));
	nodes[n_nodes++] = n;
	return n;
}

static void net_reset(void)
{
	unsigned i;

	for (i = 0; i < n_nodes; ++i) {
		ovl_engine_free(nodes[i]->e);
		free(nodes[i]);
	}
	n_nodes = 0;
	qn = 0;
}

static struct node *route(const struct ovl_addr *to)
{
	unsigned i, j;

	for (i = 0; i < n_nodes; ++i) {
		if (ovl_addr_equal(&nodes[i]->addr, to))
			return nodes[i];
		for (j = 0; j < ALIASES; ++j)
			if (ovl_addr_equal(&nodes[i]->alias[j], to))
				return nodes[i];
	}
	return NULL;
}

static void input(struct node *n, const struct ovl_addr *src, const uint8_t *buf, size_t len)
{
	struct ovl_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.data = buf;
	rx.len = len;
	rx.src = *src;
	rx.has_local = true;
	rx.local = n->addr;
	rx.local.port = 0;
	rx.ifindex = 2;
	ovl_engine_input(n->e, &rx, tnow());
}

/* A NAT in front of some nodes: the source address a datagram from src
 * to `to` shows (NULL: untranslated). */
typedef bool nat_fn(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out);

/* Delivers everything queued (and what the answers queue), through nat;
 * drop_aux: a filter that drops the probes from probe sockets.  Returns
 * how many datagrams were delivered to an engine. */
static unsigned run(nat_fn *nat, bool drop_aux)
{
	unsigned delivered = 0, i = 0;

	while (i < qn) {
		struct dgram d = q[i++];
		struct node *n = route(&d.to);
		struct ovl_addr src = d.src;

		if (!n || (drop_aux && d.aux))
			continue;
		if (nat)
			nat(&d.src, &d.to, &src);
		input(n, &src, d.buf, d.len);
		++delivered;
	}
	qn = 0;
	return delivered;
}

/* ---- bare endpoints: a key and a secure layer, to forge or open messages ---- */

struct bare {
	struct ovl_secure *sec;
	uint8_t pub[32];
	struct ovl_addr addr;
};

static void bare_new(struct bare *b, struct ovl_addr addr)
{
	struct ovl_secure_config cc;
	uint8_t priv[32];

	randombytes_buf(priv, sizeof(priv));
	memset(&cc, 0, sizeof(cc));
	cc.private_key = priv;
	cc.ns = NS;
	cc.ns_len = strlen(NS);
	if (ovl_secure_new(&b->sec, &cc) < 0)
		abort();
	ovl_secure_public_key(b->sec, b->pub);
	b->addr = addr;
	sodium_memzero(priv, sizeof(priv));
}

static size_t bare_seal(struct bare *b, const uint8_t to[32], const struct ovl_msg *m, uint8_t *out)
{
	uint8_t plain[OVL_MAX_PLAINTEXT];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), n;

	if (plen < 0)
		return 0;
	n = ovl_secure_seal(b->sec, to, plain, (size_t)plen, wall0 + now, out, OVL_MAX_DATAGRAM);
	return n < 0 ? 0 : (size_t)n;
}

/* Sends m from b to node n at once. */
static size_t bare_send(struct bare *b, struct node *n, const struct ovl_msg *m)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	size_t len = bare_seal(b, n->pub, m, buf);

	if (len)
		input(n, &b->addr, buf, len);
	return len;
}

/* Opens the queued datagram i as b: its message, if it is for b. */
static bool bare_open(struct bare *b, unsigned i, struct ovl_msg *m, uint8_t plain[OVL_MAX_PLAINTEXT])
{
	uint8_t sender[32];
	size_t plen = 0;

	return ovl_addr_equal(&q[i].to, &b->addr) &&
	       ovl_secure_open(b->sec, q[i].buf, q[i].len, wall0 + now, sender, plain,
				OVL_MAX_PLAINTEXT, &plen) == OVL_ACCEPT &&
	       ovl_msg_decode(m, plain, plen) == OVL_DECODE_OK;
}

/* ---- PING, PONG, RTT ---- */

static uint32_t pong_rtt;
static unsigned pong_calls;

static void on_pong(void *arg, const uint8_t key[32], uint32_t rtt_us)
{
	(void)arg;
	(void)key;
	pong_rtt = rtt_us;
	++pong_calls;
}

static void test_ping_pong(void)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct dgram ping;
	const struct kad_entry *ke;
	uint64_t tx;

	pong_calls = 0;
	ok(ovl_engine_ping(a->e, b->pub, &b->addr, on_pong, NULL, tnow()) >= 0 && qn == 1,
	   "A sends one PING to B");
	ping = q[0];
	qn = 0;
	input(b, &ping.src, ping.buf, ping.len);
	ok(ovl_engine_stats(b->e)->pings_answered == 1 && b->pings == 1, "B answers the PING");
	ok(qn == 2 && ovl_addr_equal(&q[0].to, &a->addr),
	   "a PONG, and a PING back to the NATed sender to validate it");
	tx = ovl_engine_stats(b->e)->tx;
	input(b, &ping.src, ping.buf, ping.len);
	ok(ovl_engine_stats(b->e)->pings_answered == 1 && ovl_engine_stats(b->e)->tx == tx &&
	   ovl_engine_stats(b->e)->dropped_secure == 1, "a replayed PING is dropped, not answered");
	now += 7 * MS;
	run(NULL, false);
	ok(pong_calls == 1 && pong_rtt == 7000, "the PONG gives the round trip: %u us", pong_rtt);
	ke = kad_table_find(ovl_engine_table(a->e), b->pub);
	ok(ke && (ke->flags & KAD_F_REPLIED) && ovl_engine_rtt_us(a->e, b->pub) == 7000,
	   "B is validated in A's table with its RTT");
	ok(a->contacts == 1, "B's answer is a contact");
	ke = kad_table_find(ovl_engine_table(b->e), a->pub);
	ok(ke && (ke->flags & KAD_F_REPLIED) && (ke->flags & KAD_F_NATED),
	   "A answered B's PING back: validated, and NATed");
	net_reset();
}

static void test_unsolicited_pong(void)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct bare x;
	struct ovl_msg m;
	struct ovl_addr refl;
	const struct kad_entry *ke;

	bare_new(&x, v4(100, 64, 0, 1, 51820));
	pong_calls = 0;
	ovl_engine_ping(a->e, x.pub, &x.addr, on_pong, NULL, tnow());
	qn = 0;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PONG;
	m.u.pong.nonce = 0x1234567890ull;
	m.u.pong.flags = OVL_NODE_PUBLIC;
	m.u.pong.observed = a->addr;
	m.u.pong.observed.port = 999;
	bare_send(&x, a, &m);
	ke = kad_table_find(ovl_engine_table(a->e), x.pub);
	ok(pong_calls == 0 && a->contacts == 0, "a PONG to no PING of ours has no RTT, no contact");
	ok(!ovl_engine_reflexive(a->e, &refl), "... and plants no reflexive address");
	ok(!ke && ovl_engine_stats(a->e)->dropped_unsolicited == 1,
	   "... and does not validate its sender: a counted drop, no table entry");
	ovl_secure_free(x.sec);
	net_reset();
}

/* ---- NAT mapping ---- */

static uint16_t map_port_b, map_port_c;

/* A's NAT: 10.0.0.1 shows as 203.0.113.5, on a port per destination. */
static bool nat_a(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out)
{
	if (src->ip[0] != 10)
		return false;
	*out = v4(203, 0, 113, 5, to->ip[0] == 192 ? map_port_b : map_port_c);
	return true;
}

static enum ovl_nat_mapping mapping_with(uint16_t pb, uint16_t pc, unsigned *observers, bool trust)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct node *c = node_new(v4(198, 51, 100, 1, 51820), true, false, 0, 0);
	enum ovl_nat_mapping r;

	map_port_b = pb;
	map_port_c = pc;
	a->alias[0] = v4(203, 0, 113, 5, pb);
	a->alias[1] = v4(203, 0, 113, 5, pc);
	if (trust) {
		ovl_engine_trust_observer(a->e, b->pub, true);
		ovl_engine_trust_observer(a->e, c->pub, true);
	}
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	ovl_engine_ping(a->e, c->pub, &c->addr, NULL, NULL, tnow());
	run(nat_a, false);
	r = ovl_engine_nat_mapping(a->e, now, observers);
	net_reset();
	return r;
}

static void test_mapping(void)
{
	unsigned obs = 0;
	enum ovl_nat_mapping m;

	m = mapping_with(1000, 2000, &obs, false);
	ok(m == OVL_NAT_EDM && obs == 2, "two observers, two ports: endpoint-dependent (%d, %u)", m, obs);
	m = mapping_with(1000, 1000, &obs, false);
	ok(m == OVL_NAT_EIM && obs == 2, "two observers, one address: endpoint-independent (%d, %u)", m,
	   obs);
	m = mapping_with(1000, 2000, &obs, true);
	ok(m == OVL_NAT_EDM && obs == 2, "two chosen observers, two ports: endpoint-dependent (%d, %u)",
	   m, obs);
	m = mapping_with(1000, 1000, &obs, true);
	ok(m == OVL_NAT_EIM && obs == 2, "two chosen observers, one address: endpoint-independent (%d, %u)",
	   m, obs);
	{
		struct node *a = node_new(v4(192, 0, 2, 7, 51820), false, false, 0, 0);
		struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);

		ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
		run(NULL, false);
		m = ovl_engine_nat_mapping(a->e, now, &obs);
		ok(m == OVL_NAT_NONE && obs == 1, "seen at our own address and port: no NAT");
		now += 601 * SEC;
		m = ovl_engine_nat_mapping(a->e, now, &obs);
		ok(m == OVL_NAT_UNKNOWN && obs == 0, "observations expire after 10 minutes");
		net_reset();
	}
}

/* ---- FIND_NODE and the amplification budget ---- */

/* Observation poisoning (issue 17, finding 4): a stranger we PINGed
 * answers with a PONG that names a false address of ours.  Once the
 * observers are chosen (members, boot nodes), it changes no verdict. */
static void test_untrusted_observer(void)
{
	struct node *a = node_new(v4(192, 0, 2, 7, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	uint8_t plain[OVL_MAX_PLAINTEXT];
	struct ovl_addr refl;
	struct ovl_msg m, ping;
	enum ovl_nat_mapping v;
	unsigned obs = 0, i;
	struct bare x;
	bool got = false;

	bare_new(&x, v4(100, 64, 0, 2, 51820));
	ok(ovl_engine_trust_observer(a->e, b->pub, true) == 0, "b is a chosen observer");
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	run(NULL, false);
	v = ovl_engine_nat_mapping(a->e, now, &obs);
	ok(v == OVL_NAT_NONE && obs == 1, "b saw us at our own address: no NAT (%d, %u)", v, obs);
	ovl_engine_ping(a->e, x.pub, &x.addr, NULL, NULL, tnow());
	for (i = 0; i < qn && !got; ++i)
		got = bare_open(&x, i, &ping, plain) && ping.type == OVL_MSG_PING;
	qn = 0;
	if (!ok(got, "x gets our PING"))
		goto out;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PONG;
	m.u.pong.nonce = ping.u.ping.nonce;
	m.u.pong.flags = OVL_NODE_PUBLIC;
	m.u.pong.observed = a->addr;
	m.u.pong.observed.port = 999;
	bare_send(&x, a, &m);
	v = ovl_engine_nat_mapping(a->e, now, &obs);
	ok(v == OVL_NAT_NONE && obs == 1, "x's false address changes no verdict (%d, %u observers)", v,
	   obs);
	ok(ovl_engine_reflexive(a->e, &refl) && refl.port == 51820, "nor our reflexive address (port %u)",
	   refl.port);
	ok(ovl_engine_stats(a->e)->observations_untrusted == 1, "observations_untrusted counts it");
	/* A member of our network (in the peers set) counts as an observer. */
	ok(ovl_engine_set_peers(a->e, &x.pub, 1, tnow()) == 0, "x becomes a member");
	qn = 0;
	ovl_engine_ping(a->e, x.pub, &x.addr, NULL, NULL, tnow());
	for (i = 0, got = false; i < qn && !got; ++i)
		got = bare_open(&x, i, &ping, plain) && ping.type == OVL_MSG_PING;
	qn = 0;
	m.u.pong.nonce = ping.u.ping.nonce;
	bare_send(&x, a, &m);
	v = ovl_engine_nat_mapping(a->e, now, &obs);
	ok(got && obs == 2 && ovl_engine_stats(a->e)->observations_untrusted == 1,
	   "a member's observation counts (%d, %u observers)", v, obs);
	ok(ovl_engine_trust_observer(a->e, b->pub, false) == 0 &&
	   ovl_engine_trust_observer(a->e, b->pub, false) == 0, "b trusted no more (twice is fine)");
out:
	ovl_secure_free(x.sec);
	net_reset();
}

static void test_find_node_budget(void)
{
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct bare peers[20], x;
	struct ovl_msg m, ans;
	uint8_t plain[OVL_MAX_PLAINTEXT];
	size_t req_len;
	unsigned i;

	for (i = 0; i < 20; ++i) {
		bare_new(&peers[i], v4(100, 64, 1, (uint8_t)(i + 1), 51820));
		memset(&m, 0, sizeof(m));
		m.type = OVL_MSG_PING;
		m.u.ping.nonce = i + 1;
		m.u.ping.flags = OVL_NODE_PUBLIC;
		m.u.ping.pad_len = 17;	/* a PONG's size (8.2) */
		bare_send(&peers[i], b, &m);
	}
	qn = 0;
	ok(kad_table_size(ovl_engine_table(b->e)) == 20, "B heard 20 public nodes");
	bare_new(&x, v4(100, 64, 2, 1, 51820));
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_FIND_NODE;
	m.u.find_node.txid = 77;
	randombytes_buf(m.u.find_node.target, 32);
	req_len = bare_send(&x, b, &m);
	memset(&ans, 0, sizeof(ans));
	ok(qn == 1 && bare_open(&x, 0, &ans, plain) && ans.type == OVL_MSG_NODES &&
	   ans.u.nodes.txid == 77, "a short FIND_NODE from a stranger is answered");
	ok(q[0].len <= req_len && q[0].len + sizeof(struct ovl_wire_node) > req_len &&
	   ans.u.nodes.count < 20,
	   "... with as many nodes as fit in its %zu bytes: %zu bytes, %u nodes", req_len, q[0].len,
	   ans.u.nodes.count);
	qn = 0;
	m.u.find_node.pad_len = 269;
	req_len = bare_send(&x, b, &m);
	memset(&ans, 0, sizeof(ans));
	if (qn != 1 || !bare_open(&x, 0, &ans, plain))
		ans.u.nodes.count = 0;
	ok(ans.u.nodes.count == 5 && q[0].len <= req_len,
	   "a FIND_NODE padded to %zu bytes gets 5 nodes in %zu bytes", req_len, q[0].len);
	qn = 0;
	m.u.find_node.pad_len = 1108 - 101;
	req_len = bare_send(&x, b, &m);
	memset(&ans, 0, sizeof(ans));
	if (qn != 1 || !bare_open(&x, 0, &ans, plain))
		ans.u.nodes.count = 0;
	/* The 20 closest heard entries, less the requester if it is one. */
	ok(ans.u.nodes.count >= 19 && q[0].len <= req_len,
	   "one padded to a full NODES is not cut by the budget: %u nodes", ans.u.nodes.count);
	qn = 0;
	for (i = 0; i < 20; ++i)
		ovl_secure_free(peers[i].sec);
	ovl_secure_free(x.sec);
	net_reset();
}

/* ---- relaying ---- */

/* R relays; M (NATed) keeps a validated path to R; returns R. */
static struct node *relay_setup(struct node **m_out, uint32_t pps, uint32_t client_slots)
{
	struct node *r = node_new(v4(192, 0, 2, 9, 51820), true, true, pps, client_slots);
	struct node *m = node_new(v4(10, 0, 0, 2, 51820), false, false, 0, 0);

	ovl_engine_ping(m->e, r->pub, &r->addr, NULL, NULL, tnow());
	run(NULL, false);	/* PING, PONG + PING back, PONG */
	*m_out = m;
	return r;
}

/* m names keys as its peers (doc/protocol.md 9.3) and registers them
 * with r, which keeps them. */
static void name_peers(struct node *m, struct node *r, const uint8_t (*keys)[32], size_t n)
{
	uint64_t taken = ovl_engine_stats(r->e)->peers_taken;

	ovl_engine_set_peers(m->e, keys, n, tnow());
	ovl_engine_register_peers(m->e, r->pub, &r->addr, false, tnow());
	run(NULL, false);
	if (ovl_engine_stats(r->e)->peers_taken != taken + 1)
		diag("the relay did not take the PEERS");
}

static void test_relay(void)
{
	struct node *m, *r = relay_setup(&m, 10, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(r->e);
	static const uint8_t wg[] = { 4, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct bare s;
	struct ovl_msg msg;
	unsigned i, sent = 12;

	bare_new(&s, v4(100, 64, 3, 1, 51820));
	name_peers(m, r, &s.pub, 1);
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_RELAY;
	memcpy(msg.u.relay.dst, m->pub, 32);
	msg.u.relay.frag.count = 1;
	msg.u.relay.payload = wg;
	msg.u.relay.payload_len = sizeof(wg);
	bare_send(&s, r, &msg);
	ok(st->relay_forwarded == 1 && st->relay_bytes == sizeof(wg) && qn == 1 &&
	   ovl_addr_equal(&q[0].to, &m->addr), "a RELAY goes on as RELAYED to the member's validated path");
	run(NULL, false);
	ok(m->relayed == 1 && m->relayed_len == sizeof(wg) && !memcmp(m->relayed_buf, wg, sizeof(wg)),
	   "the member gets the WireGuard datagram, untouched");
	/* 10 packets a second with a 200 ms burst: a flood at one instant
	 * passes only the burst. */
	for (i = 0; i < sent; ++i)
		bare_send(&s, r, &msg);
	ok(st->relay_dropped_rate > 0 && st->relay_forwarded + st->relay_dropped_rate == 1 + sent &&
	   st->relay_forwarded <= 4, "over its rate a sender is dropped and counted: %llu forwarded, "
	   "%llu dropped", (unsigned long long)st->relay_forwarded,
	   (unsigned long long)st->relay_dropped_rate);
	now += 2 * SEC;
	qn = 0;
	bare_send(&s, r, &msg);
	ok(qn == 1, "the rate recovers with time");
	memcpy(msg.u.relay.dst, s.pub, 32);
	bare_send(&s, r, &msg);
	ok(st->relay_dropped_bad == 1, "a RELAY to its own sender is dropped");
	randombytes_buf(msg.u.relay.dst, 32);
	bare_send(&s, r, &msg);
	ok(st->relay_dropped_peer == 1, "a RELAY to a node that named nobody with us is dropped");
	now += 61 * SEC;
	memcpy(msg.u.relay.dst, m->pub, 32);
	bare_send(&s, r, &msg);
	ok(st->relay_dropped_no_path == 1, "a path unheard for a minute is not live");
	ovl_secure_free(s.sec);
	net_reset();
}

/* RELAYED only from a node we keep a path with (doc/protocol.md 9): a
 * stranger's, or our relay's key from another address, is dropped and
 * counted before the member sees it; our relay's passes. */
static void test_relayed_stranger(void)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(m->e);
	static const uint8_t init[] = { 1, 0, 0, 0, 9, 9, 9, 9 };
	struct bare x;
	struct ovl_msg msg;
	uint64_t d0 = st->relayed_dropped;

	bare_new(&x, v4(100, 64, 3, 7, 51820));
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_RELAYED;
	memcpy(msg.u.relayed.src, r->pub, 32);	/* any claimed inner sender */
	msg.u.relayed.src_addr = v4(100, 64, 3, 8, 51820);
	msg.u.relayed.frag.count = 1;
	msg.u.relayed.payload = init;
	msg.u.relayed.payload_len = sizeof(init);
	bare_send(&x, m, &msg);
	ok(m->relayed == 0 && st->relayed_dropped == d0 + 1,
	   "a RELAYED from a key we never used as relay is dropped and counted "
	   "(%u delivered, %llu dropped)",
	   m->relayed, (unsigned long long)(st->relayed_dropped - d0));
	msg.u.relayed.frag.count = 2;
	msg.u.relayed.frag.id = 7;
	bare_send(&x, m, &msg);
	ok(m->relayed == 0 && st->relayed_dropped == d0 + 2, "so is a stranger's fragment");
	/* Our relay's RELAY to M (which named x, doc/protocol.md 9.3), from
	 * its address and then from another. */
	name_peers(m, r, &x.pub, 1);
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_RELAY;
	memcpy(msg.u.relay.dst, m->pub, 32);
	msg.u.relay.frag.count = 1;
	msg.u.relay.payload = init;
	msg.u.relay.payload_len = sizeof(init);
	bare_send(&x, r, &msg);
	run(NULL, false);
	ok(m->relayed == 1 && st->relayed_dropped == d0 + 2, "our relay's RELAYED passes");
	bare_send(&x, r, &msg);
	ok(qn == 1, "the relay forwards a RELAY to M");
	q[0].src = v4(100, 64, 3, 9, 51820);
	run(NULL, false);
	ok(m->relayed == 1 && st->relayed_dropped == d0 + 3,
	   "our relay's key from an address it never answered from is dropped");
	ovl_secure_free(x.sec);
	net_reset();
}

static void test_relay_off(void)
{
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	static const uint8_t wg[] = { 4, 0, 0, 0 };
	struct bare s;
	struct ovl_msg msg;

	bare_new(&s, v4(100, 64, 3, 1, 51820));
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_RELAY;
	randombytes_buf(msg.u.relay.dst, 32);
	msg.u.relay.frag.count = 1;
	msg.u.relay.payload = wg;
	msg.u.relay.payload_len = sizeof(wg);
	bare_send(&s, b, &msg);
	ok(ovl_engine_stats(b->e)->relay_dropped_off == 1 && !ovl_engine_relaying(b->e),
	   "a node that does not relay drops WireGuard traffic to relay");
	ovl_secure_free(s.sec);
	net_reset();
}

static void test_channel(void)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(r->e);
	uint8_t plain[OVL_MAX_PLAINTEXT];
	struct ovl_addr to, elsewhere = v4(100, 64, 3, 2, 51820);
	struct ovl_msg msg, ans;
	struct bare s;
	uint32_t id;

	bare_new(&s, v4(100, 64, 3, 1, 51820));
	name_peers(m, r, &s.pub, 1);
	qn = 0;
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_CHANNEL_BIND;
	memcpy(msg.u.channel_bind.dst, m->pub, 32);
	msg.u.channel_bind.pad_len = 5;	/* a CHANNEL_BOUND's size (8.2) */
	bare_send(&s, r, &msg);
	ok(qn == 1 && bare_open(&s, 0, &ans, plain) && ans.type == OVL_MSG_CHANNEL_BOUND &&
	   ans.u.channel_bound.status == OVL_CHANNEL_OK && ans.u.channel_bound.channel,
	   "CHANNEL_BIND to a member with a live path: bound");
	id = ans.u.channel_bound.channel;
	ok(ovl_engine_channels_live(r->e, now) == 1, "one channel live");
	ok(ovl_engine_channel_forward(r->e, id, &s.addr, 100, now, &to) && ovl_addr_equal(&to, &m->addr),
	   "channel data from the bound address goes to the member");
	ok(!ovl_engine_channel_forward(r->e, id, &elsewhere, 100, now, &to) && st->channel_dropped == 1,
	   "channel data from another address is dropped and counted");
	ok(!ovl_engine_channel_forward(r->e, id ^ 1, &s.addr, 100, now, &to) && st->channel_dropped == 2,
	   "an unknown channel is dropped");
	ok(st->channel_forwarded == 1 && st->channel_binds == 1, "counted: 1 bind, 1 forwarded");
	qn = 0;
	randombytes_buf(msg.u.channel_bind.dst, 32);
	bare_send(&s, r, &msg);
	ok(qn == 1 && bare_open(&s, 0, &ans, plain) &&
	   ans.u.channel_bound.status == OVL_CHANNEL_NO_PATH && st->channel_denied == 1,
	   "a bind to a node that registered nothing with us: NO_PATH (asked again soon), counted");
	now += 61 * SEC;
	ok(!ovl_engine_channel_forward(r->e, id, &s.addr, 100, now, &to),
	   "a channel not renewed expires with the path");
	qn = 0;
	memcpy(msg.u.channel_bind.dst, m->pub, 32);
	bare_send(&s, r, &msg);
	ok(qn == 1 && bare_open(&s, 0, &ans, plain) &&
	   ans.u.channel_bound.status == OVL_CHANNEL_NO_PATH,
	   "a bind to a member that named us but has no live path: NO_PATH");
	ovl_secure_free(s.sec);
	net_reset();
}

static void test_channel_bound_event(void)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	struct node *a = node_new(v4(10, 0, 0, 3, 51820), false, false, 0, 0);
	struct ovl_addr elsewhere;

	ovl_engine_ping(a->e, r->pub, &r->addr, NULL, NULL, tnow());
	run(NULL, false);
	name_peers(m, r, &a->pub, 1);
	ovl_engine_set_peers(a->e, &m->pub, 1, tnow());
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	run(NULL, false);
	ok(a->channels == 1 && a->last_status == OVL_CHANNEL_OK && a->last_channel &&
	   ovl_engine_stats(a->e)->channels_granted == 1, "the member hears its binding granted");
	ok(ovl_engine_stats(a->e)->peers_sent == 1 && ovl_engine_stats(r->e)->peers_taken == 2,
	   "the binding member registered its own peers with the relay it uses");
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	run(NULL, false);
	ok(ovl_engine_stats(a->e)->peers_sent == 1, "... once per 30 s, not per request");
	now += 31 * SEC;
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	run(NULL, false);
	ok(ovl_engine_stats(a->e)->peers_sent == 2, "... and again after 30 s");
	ovl_engine_set_peers(a->e, &m->pub, 1, tnow());
	run(NULL, false);
	ok(ovl_engine_stats(a->e)->peers_sent == 3 && ovl_engine_stats(r->e)->peers_taken == 4,
	   "a new set goes at once to the relays that hold the old one");
	now += 3 * SEC;
	elsewhere = v4(100, 64, 9, 9, 51820);
	ovl_engine_register_peers(a->e, r->pub, &elsewhere, true, tnow());
	ovl_engine_register_peers(a->e, m->pub, &m->addr, true, tnow());
	ok(ovl_engine_stats(a->e)->peers_sent == 3 && qn == 0,
	   "asked again for another address, or by a node it never registered with: nothing sent");
	ovl_engine_register_peers(a->e, r->pub, &r->addr, true, tnow());
	ok(ovl_engine_stats(a->e)->peers_sent == 4, "asked again by its relay after 2 s: sent");
	run(NULL, false);
	net_reset();
}

static void test_clients_bounded(void)
{
	struct node *m, *r = relay_setup(&m, 0, 64);
	struct bare x;
	struct ovl_msg msg;
	unsigned i;
	size_t live;

	for (i = 0; i < 300; ++i) {
		bare_new(&x, v4(100, 64, (uint8_t)(10 + i / 250), (uint8_t)(i % 250 + 1), 51820));
		memset(&msg, 0, sizeof(msg));
		msg.type = OVL_MSG_PING;
		msg.u.ping.nonce = i + 1;
		msg.u.ping.pad_len = 17;	/* a PONG's size (8.2) */
		bare_send(&x, r, &msg);
		ovl_secure_free(x.sec);
		qn = 0;
	}
	live = ovl_engine_clients_live(r->e, now);
	ok(live <= 64 && live >= 32, "300 NATed senders, a table of 64 clients: %zu kept", live);
	net_reset();
}

/* ---- who may be relayed to a member (issue 17, findings 5 and 7) ---- */

static struct ovl_msg wg_relay_msg(const uint8_t dst[32])
{
	static const uint8_t wg[] = { 1, 0, 0, 0, 9, 9, 9, 9 };
	struct ovl_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_RELAY;
	memcpy(msg.u.relay.dst, dst, 32);
	msg.u.relay.frag.count = 1;
	msg.u.relay.payload = wg;
	msg.u.relay.payload_len = sizeof(wg);
	return msg;
}

static uint8_t bind_status(struct bare *s, struct node *r, const uint8_t dst[32])
{
	uint8_t plain[OVL_MAX_PLAINTEXT];
	struct ovl_msg msg, ans;

	qn = 0;
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_CHANNEL_BIND;
	memcpy(msg.u.channel_bind.dst, dst, 32);
	msg.u.channel_bind.pad_len = 5;		/* a CHANNEL_BOUND's size (8.2) */
	bare_send(s, r, &msg);
	if (qn != 1 || !bare_open(s, 0, &ans, plain) || ans.type != OVL_MSG_CHANNEL_BOUND) {
		qn = 0;
		return 0xff;
	}
	qn = 0;
	return ans.u.channel_bound.status;
}

/* A key the member never named may neither bind a channel to it nor
 * have a RELAY forwarded to it; a key it named may. */
static void test_relay_nonmember(void)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(r->e);
	struct bare x, y;
	struct ovl_msg msg;

	bare_new(&x, v4(100, 64, 4, 1, 51820));
	bare_new(&y, v4(100, 64, 4, 2, 51820));
	ok(bind_status(&x, r, m->pub) != OVL_CHANNEL_OK,
	   "a stranger's CHANNEL_BIND to a member is refused (status %u)", bind_status(&x, r, m->pub));
	msg = wg_relay_msg(m->pub);
	qn = 0;
	bare_send(&x, r, &msg);
	ok(st->relay_forwarded == 0 && qn == 0, "a stranger's RELAY to a member is not forwarded");
	ok(st->channel_denied == 2 && st->relay_dropped_peer == 1,
	   "... both counted (%llu denied binds, %llu dropped RELAYs)",
	   (unsigned long long)st->channel_denied, (unsigned long long)st->relay_dropped_peer);
	name_peers(m, r, &y.pub, 1);
	ok(st->peers_taken == 1, "the member registers its peers with the relay");
	ok(bind_status(&x, r, m->pub) == OVL_CHANNEL_DENIED && st->channel_denied == 3,
	   "a key it did not name is still refused: DENIED");
	ok(bind_status(&y, r, m->pub) == OVL_CHANNEL_OK, "a key it named is bound");
	msg = wg_relay_msg(m->pub);
	qn = 0;
	bare_send(&x, r, &msg);
	ok(qn == 0 && st->relay_dropped_peer == 2, "a RELAY from the key it did not name: dropped");
	bare_send(&y, r, &msg);
	ok(qn == 1 && st->relay_forwarded == 1, "a RELAY from the key it named: forwarded");
	now += 121 * SEC;
	ovl_engine_ping(m->e, r->pub, &r->addr, NULL, NULL, tnow());
	run(NULL, false);
	ok(bind_status(&y, r, m->pub) == OVL_CHANNEL_NO_PATH && st->channel_denied == 4,
	   "PEERS not refreshed for 2 minutes: expired, refused (NO_PATH, counted)");
	ovl_secure_free(x.sec);
	ovl_secure_free(y.sec);
	net_reset();
}

/* 1,000 keys from one address register PEERS with a relay (1,024
 * slots): a member's PEERS afterwards is still taken.  The keys come
 * 50 ms apart, within the secure layer's DH budget per source address
 * (20 a second, doc/protocol.md 4.1), which would otherwise stop most
 * of them before the relay sees them. */
static void test_peers_flood(void)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(r->e);
	struct ovl_msg msg;
	unsigned i;

	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_PEERS;
	msg.u.peers.hashes = 1;
	for (i = 0; i < 1000; ++i) {
		struct bare x;

		now += 50 * MS;
		bare_new(&x, v4(100, 64, 6, 1, (uint16_t)(1000 + i)));
		bare_send(&x, r, &msg);
		ovl_secure_free(x.sec);
		qn = 0;
	}
	diag("1,000 keys from one address: %llu PEERS kept, %llu refused",
	     (unsigned long long)st->peers_taken, (unsigned long long)st->peers_dropped);
	ok(st->peers_taken == 1000 && st->peers_dropped == 0,
	   "each over the address's quota (64) ended that address's oldest: none refused");
	name_peers(m, r, &r->pub, 1);
	ok(ovl_engine_stats(m->e)->peers_sent == 1 && st->peers_dropped == 0,
	   "a member's PEERS after the flood is taken");
	net_reset();
}

/* 2,000 keys from one address each bind 3 members: a member's own
 * binding afterwards is still granted.  The keys come 50 ms apart (the
 * DH budget per source address, as above), the members keeping their
 * paths to the relay and their PEERS alive meanwhile. */
static void test_channel_flood(void)
{
	struct node *m1, *r = relay_setup(&m1, 0, 0);
	struct node *m2 = node_new(v4(10, 0, 0, 4, 51820), false, false, 0, 0);
	struct node *m3 = node_new(v4(10, 0, 0, 5, 51820), false, false, 0, 0);
	struct node *a = node_new(v4(10, 0, 0, 6, 51820), false, false, 0, 0);
	struct node *dst[3] = { m1, m2, m3 };
	static struct bare x[2000];
	static uint8_t keys[2001][32];
	unsigned i, j, ok_binds = 0;

	for (i = 1; i < 4; ++i) {
		struct node *n = i < 3 ? dst[i] : a;

		ovl_engine_ping(n->e, r->pub, &r->addr, NULL, NULL, tnow());
		run(NULL, false);
	}
	/* The members named the flooders too (they are members of the
	 * flooder's own network, say): only the quotas hold them. */
	for (i = 0; i < 2000; ++i) {
		bare_new(&x[i], v4(100, 64, 5, 1, (uint16_t)(1000 + i)));
		memcpy(keys[i], x[i].pub, 32);
	}
	memcpy(keys[2000], a->pub, 32);
	for (j = 0; j < 3; ++j)
		name_peers(dst[j], r, (const uint8_t (*)[32])keys, 2001);
	for (i = 0; i < 2000; ++i) {
		now += 50 * MS;
		if (i % 200 == 0) {
			for (j = 0; j < 3; ++j)
				name_peers(dst[j], r, (const uint8_t (*)[32])keys, 2001);
			ovl_engine_ping(a->e, r->pub, &r->addr, NULL, NULL, tnow());
			run(NULL, false);
		}
		for (j = 0; j < 3; ++j)
			ok_binds += bind_status(&x[i], r, dst[j]->pub) == OVL_CHANNEL_OK;
		ovl_secure_free(x[i].sec);
	}
	ok(ovl_engine_channels_live(r->e, now) <= 512,
	   "one address holds at most its quota: %zu channels live", ovl_engine_channels_live(r->e, now));
	diag("2,000 keys from one address: %u of 6,000 binds granted, %zu channels live", ok_binds,
	     ovl_engine_channels_live(r->e, now));
	a->channels = 0;
	for (j = 0; j < 3; ++j) {
		ovl_engine_channel_bind(a->e, r->pub, &r->addr, dst[j]->pub, tnow());
		run(NULL, false);
		ok(a->channels == j + 1 && a->last_status == OVL_CHANNEL_OK,
		   "after the flood, a member's bind to member %u is granted (status %u)", j,
		   a->last_status);
	}
	net_reset();
}

/* ---- NAT filtering rounds ---- */

static bool nat_eim(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out)
{
	(void)to;
	if (src->ip[0] != 10)
		return false;
	*out = v4(203, 0, 113, 5, 1000);
	return true;
}

static enum ovl_filtering filtering_with(bool drop_aux, unsigned *rounds_run)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct node *c = node_new(v4(198, 51, 100, 1, 51820), true, false, 0, 0);
	enum ovl_filtering v = OVL_FILTER_UNKNOWN;
	unsigned i;

	b->has_other = true;
	b->other = v4(192, 0, 2, 2, 0);
	a->alias[0] = v4(203, 0, 113, 5, 1000);
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	ovl_engine_ping(a->e, c->pub, &c->addr, NULL, NULL, tnow());
	run(nat_eim, false);
	*rounds_run = 0;
	/* Ticks every second for a minute, the network in between. */
	for (i = 0; i < 60 && v == OVL_FILTER_UNKNOWN; ++i) {
		ovl_engine_tick(a->e, tnow());
		*rounds_run += run(nat_eim, drop_aux) ? 1 : 0;
		now += SEC;
		v = ovl_engine_nat_filtering(a->e, NULL);
	}
	net_reset();
	return v;
}

static void test_filtering(void)
{
	unsigned rounds;
	enum ovl_filtering v;

	v = filtering_with(false, &rounds);
	ok(v == OVL_FILTER_EIF, "probes from another address arrive: endpoint-independent (%s)",
	   ovl_filter_name(v));
	v = filtering_with(true, &rounds);
	ok(v == OVL_FILTER_APDF && rounds >= 2,
	   "no probe arrives in two rounds: address-and-port-dependent (%s, %u rounds)",
	   ovl_filter_name(v), rounds);
}

static void test_probe_answer(void)
{
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(b->e);
	struct bare x;
	struct ovl_msg msg;
	unsigned i, aux = 0;

	b->has_other = true;
	b->other = v4(192, 0, 2, 2, 0);
	bare_new(&x, v4(100, 64, 4, 1, 51820));
	memset(&msg, 0, sizeof(msg));
	msg.type = OVL_MSG_PROBE_REQ;
	msg.u.probe_req.nonce = 5;
	bare_send(&x, b, &msg);
	ok(st->probes_dropped == 1 && qn == 0, "an unpadded PROBE_REQ is not worth three PROBEs");
	msg.u.probe_req.pad_len = OVL_PROBE_REQ_PAD;
	bare_send(&x, b, &msg);
	for (i = 0; i < qn; ++i)
		aux += q[i].aux;
	ok(st->probes_answered == 1 && qn == 3 && aux == 2 && ovl_addr_same_ip(&q[1].src, &b->other),
	   "a padded one: OTHER_PORT and OTHER_IP from probe sockets, then the ANSWER");
	qn = 0;
	bare_send(&x, a, &msg);
	ok(ovl_engine_stats(a->e)->probes_dropped == 1 && qn == 0, "a NATed node answers no PROBE_REQ");
	ovl_secure_free(x.sec);
	net_reset();
}

/* ---- the address rule, the probe table ---- */

static void test_ip_usable(void)
{
	static const struct {
		uint8_t ip[4];
		bool usable;
	} v4s[] = {
		{ { 192, 0, 2, 1 }, true },	{ { 10, 1, 2, 3 }, true },
		{ { 223, 255, 255, 254 }, true }, { { 0, 0, 0, 0 }, false },
		{ { 127, 0, 0, 1 }, false },	{ { 169, 254, 1, 1 }, false },
		{ { 224, 0, 0, 1 }, false },	{ { 239, 1, 1, 1 }, false },
		{ { 240, 0, 0, 1 }, false },	{ { 255, 255, 255, 255 }, false },
	};
	static const uint8_t v6_global[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t v6_ll[16] = { 0xfe, 0x80, [15] = 1 }, v6_lo[16] = { [15] = 1 };
	static const uint8_t v6_mc[16] = { 0xff, 0x02, [15] = 1 }, v6_any[16] = { 0 };
	static const uint8_t v6_mapped[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
	unsigned i;
	bool all = true;

	for (i = 0; i < sizeof(v4s) / sizeof(v4s[0]); ++i)
		if (ovl_ip_usable(OVL_AF_INET, v4s[i].ip) != v4s[i].usable) {
			diag("%u.%u.%u.%u", v4s[i].ip[0], v4s[i].ip[1], v4s[i].ip[2], v4s[i].ip[3]);
			all = false;
		}
	ok(all, "IPv4: unicast usable; 0/8, loopback, link-local, 224/4 and 240/4 not");
	ok(ovl_ip_usable(OVL_AF_INET6, v6_global) && !ovl_ip_usable(OVL_AF_INET6, v6_ll) &&
	   !ovl_ip_usable(OVL_AF_INET6, v6_lo) && !ovl_ip_usable(OVL_AF_INET6, v6_mc) &&
	   !ovl_ip_usable(OVL_AF_INET6, v6_any) && !ovl_ip_usable(OVL_AF_INET6, v6_mapped),
	   "IPv6: global usable; link-local, loopback, multicast, ::, v4-mapped not");
	ok(!ovl_ip_usable(0, v6_global), "no family: not usable");
}

struct pt_entry {
	uint32_t key;
	uint64_t used;			/* 0: free */
};

static bool pt_match(const void *e, const void *arg)
{
	const struct pt_entry *p = e;

	return p->used && p->key == *(const uint32_t *)arg;
}

static uint64_t pt_age(const void *e, const void *arg)
{
	(void)arg;
	return ((const struct pt_entry *)e)->used;
}

/* The probe table as an LRU cache of keys against a naive model: a list
 * of (key, last use, slot) that scans its slot's range the slow way. */
static void test_probetab_model(void)
{
	enum { SLOTS = 64, KEYS = 200, OPS = 20000 };
	static const uint8_t hk[16] = { 7 };
	struct ovl_probetab t;
	struct pt_entry model[SLOTS];
	unsigned i, j, bad = 0;
	uint64_t clock = 0;

	ok(ovl_probetab_init(&t, 48, sizeof(struct pt_entry), hk) == -EINVAL, "slots: a power of two");
	ok(ovl_probetab_init(&t, SLOTS, sizeof(struct pt_entry), hk) == 0, "init");
	memset(model, 0, sizeof(model));
	for (i = 0; i < OPS; ++i) {
		uint32_t key = (uint32_t)(tap_rand() % KEYS);
		uint64_t h = ovl_probetab_hash(&t, &key, sizeof(key));
		void *victim = NULL;
		struct pt_entry *e = ovl_probetab_find(&t, h, pt_match, pt_age, &key, &victim);
		int found = -1, oldest = -1;

		for (j = 0; j < OVL_PROBETAB_PROBE && found < 0; ++j) {
			unsigned s = (unsigned)((h + j) % SLOTS);

			if (model[s].used && model[s].key == key)
				found = (int)s;
			else if (oldest < 0 || model[s].used < model[oldest].used)
				oldest = (int)s;
		}
		++clock;
		if (found >= 0) {
			bad += !e || e != ovl_probetab_at(&t, (uint32_t)found);
			model[found].used = clock;
			if (e)
				e->used = clock;
			continue;
		}
		/* The naive scan stopped early only on a find: here it saw all. */
		bad += e != NULL || victim != ovl_probetab_at(&t, (uint32_t)oldest);
		model[oldest].key = key;
		model[oldest].used = clock;
		if (victim) {
			((struct pt_entry *)victim)->key = key;
			((struct pt_entry *)victim)->used = clock;
		}
	}
	ok(bad == 0, "%u operations agree with the naive model (%u disagreements)", OPS, bad);
	ovl_probetab_free(&t);
	ok(ovl_probetab_find(&t, 1, pt_match, pt_age, &bad, NULL) == NULL, "a freed table finds nothing");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_ping_pong();
	test_unsolicited_pong();
	test_mapping();
	test_untrusted_observer();
	test_find_node_budget();
	test_relay();
	test_relayed_stranger();
	test_relay_off();
	test_channel();
	test_channel_bound_event();
	test_clients_bounded();
	test_relay_nonmember();
	test_channel_flood();
	test_peers_flood();
	test_filtering();
	test_probe_answer();
	test_ip_usable();
	test_probetab_model();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
