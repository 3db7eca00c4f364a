/* The overlay engine (proto/overlay/engine.h) without root or sockets,
 * through the simulated network of engine_sim.h (engines under real keys,
 * bare secure-layer endpoints that forge or open messages as on the wire).
 * Covered here: PING/PONG and replays, RTTs, PONGs nobody asked for, NAT
 * mapping classification from observations and who may observe, the
 * FIND_NODE amplification budget (1x; test_answers.c checks every request
 * type), NAT filtering rounds, the one address rule and the probe table
 * against a naive model.  Relaying is in test_relay.c.
 *
 * Topology (addresses in the engines' form):
 *
 *   A 10.0.0.1:51820 (NATed; seen as 203.0.113.5:<mapped port>)
 *   B 192.0.2.1:51820 (public)      C 198.51.100.1:51820 (public)
 *   bare peers (forged senders) at 100.64.x.y */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/addr.h"
#include "proto/overlay/probetab.h"
#include "test/overlay/engine_sim.h"
#include "test/tap.h"


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
	r = nat_mapping_of(a, observers);
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
		m = nat_mapping_of(a, &obs);
		ok(m == OVL_NAT_NONE && obs == 1, "seen at our own address and port: no NAT");
		now += 601 * SEC;
		m = nat_mapping_of(a, &obs);
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
	v = nat_mapping_of(a, &obs);
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
	v = nat_mapping_of(a, &obs);
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
	v = nat_mapping_of(a, &obs);
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
	test_filtering();
	test_probe_answer();
	test_ip_usable();
	test_probetab_model();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
