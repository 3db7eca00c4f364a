/* NAT mapping from ONE public node (doc/protocol.md 9.4): a PUBLIC node
 * answers MAP_PROBE on its second port (its main port + 1) with the
 * address it saw, so that a member compares what the node saw at two of
 * its ports.  Through the simulated network of engine_sim.h, with two NAT
 * models in front of A: a symmetric one that maps per destination address
 * and port, and a cone that keeps one mapping for everything.
 *
 *   A 10.0.0.1:51820 --- NAT (symmetric | cone) 203.0.113.5 ---+
 *                                                              |
 *   B 192.0.2.1:51820 (public), second port 192.0.2.1:51821 ---+
 *   bare peers (forged senders) at 100.64.x.y */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/addr.h"
#include "test/overlay/engine_sim.h"
#include "test/tap.h"

/* Symmetric: a port per destination address and port. */
static bool nat_symmetric(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out)
{
	if (src->ip[0] != 10)
		return false;
	*out = v4(203, 0, 113, 5, (uint16_t)(20000 + to->ip[3] * 10 + (to->port - 51820)));
	return true;
}

/* A cone: one mapping, whatever the destination. */
static bool nat_cone(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out)
{
	(void)to;
	if (src->ip[0] != 10)
		return false;
	*out = v4(203, 0, 113, 5, 20000);
	return true;
}

/* A behind nat (NULL: A on the internet at 192.0.2.7), B the one public
 * node, a chosen observer: A learns B, then asks for its reflexive address
 * as the node does every minute. */
static enum ovl_nat_mapping one_public(nat_fn *nat, struct ovl_nat_count *count)
{
	struct ovl_addr at = nat ? v4(10, 0, 0, 1, 51820) : v4(192, 0, 2, 7, 51820);
	struct node *a = node_new(at, false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	enum ovl_nat_mapping m;

	a->alias[0] = v4(203, 0, 113, 5, 20000);	/* the cone's one mapping */
	a->alias[1] = v4(203, 0, 113, 5, 20010);	/* symmetric: to B's main port */
	a->alias[2] = v4(203, 0, 113, 5, 20011);	/* symmetric: to B's second port */
	ovl_engine_trust_observer(a->e, b->pub, true);
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	run(nat, false);
	now += SEC;
	ovl_engine_probe_reflexive(a->e, tnow());
	run(nat, false);
	m = ovl_engine_nat_mapping(a->e, now, count);
	net_reset();
	return m;
}

/* A member relayed by its one public node hears many PONGs from its main
 * port: they must not push the second port's observation out. */
static void test_many_pongs(void)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct ovl_nat_count c;
	struct ovl_addr refl;
	enum ovl_nat_mapping m;
	unsigned i;

	a->alias[1] = v4(203, 0, 113, 5, 20010);
	a->alias[2] = v4(203, 0, 113, 5, 20011);
	ovl_engine_trust_observer(a->e, b->pub, true);
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	run(nat_symmetric, false);
	ovl_engine_probe_reflexive(a->e, tnow());
	run(nat_symmetric, false);
	for (i = 0; i < 20; ++i) {
		now += SEC;
		ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
		run(nat_symmetric, false);
	}
	m = ovl_engine_nat_mapping(a->e, now, &c);
	ok(m == OVL_NAT_EDM && c.ports == 2,
	   "20 PONGs later the second port's observation still counts (%d, %u ports)", m, c.ports);
	ok(ovl_engine_reflexive(a->e, &refl) && refl.port == 20010,
	   "the reflexive address is what B's main port sees (port %u)", refl.port);
	net_reset();
}

static void test_one_public_node(void)
{
	struct ovl_nat_count c;
	enum ovl_nat_mapping m;

	m = one_public(nat_symmetric, &c);
	ok(m == OVL_NAT_EDM && c.observers == 1 && c.ports == 2,
	   "one public node, behind a symmetric NAT: endpoint-dependent (%d; %u observer, %u ports)", m,
	   c.observers, c.ports);
	m = one_public(nat_cone, &c);
	ok(m == OVL_NAT_EIM && c.observers == 1 && c.ports == 2,
	   "one public node, behind a cone: endpoint-independent (%d; %u observer, %u ports)", m,
	   c.observers, c.ports);
	m = one_public(NULL, &c);
	ok(m == OVL_NAT_NONE && c.observers == 1,
	   "one public node, no NAT: none (%d; %u observer, %u ports)", m, c.observers, c.ports);
}

/* The wire: both messages encode back to their bytes, at their sizes. */
static void test_codec(void)
{
	uint8_t buf[OVL_MAX_PLAINTEXT];
	struct ovl_msg m, d;
	long n;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_MAP_PROBE;
	m.u.map_probe.nonce = 0x0102030405060708ull;
	m.u.map_probe.pad_len = OVL_MAP_PROBE_PAD;
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n + OVL_OVERHEAD == OVL_MAP_SEEN_LEN && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK &&
	   d.u.map_probe.nonce == m.u.map_probe.nonce && d.u.map_probe.pad_len == OVL_MAP_PROBE_PAD,
	   "a padded MAP_PROBE is %ld bytes on the wire, as large as its answer", n + OVL_OVERHEAD);
	buf[n - 1] = 1;
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_FIELD, "nonzero padding is refused");
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_MAP_SEEN;
	m.u.map_seen.nonce = 7;
	m.u.map_seen.observed = v4(203, 0, 113, 5, 20000);
	n = ovl_msg_encode(buf, sizeof(buf), &m);
	ok(n + OVL_OVERHEAD == OVL_MAP_SEEN_LEN && ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_OK &&
	   ovl_addr_equal(&d.u.map_seen.observed, &m.u.map_seen.observed),
	   "MAP_SEEN: %ld bytes on the wire, the address back", n + OVL_OVERHEAD);
	ok(ovl_msg_decode(&d, buf, (size_t)n - 1) == OVL_DECODE_TRUNCATED, "a short MAP_SEEN is refused");
	buf[9] = 5;	/* the family byte */
	ok(ovl_msg_decode(&d, buf, (size_t)n) == OVL_DECODE_BAD_ADDR, "so is one with a bad address");
}

/* The second port's answers: 1x, only to senders whose keys it holds
 * (no DH), only MAP_PROBE; and a member takes only what it asked for. */
static void test_probe_port(void)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	struct ovl_addr b2 = v4(192, 0, 2, 1, 51821);
	const struct ovl_engine_stats *bs = ovl_engine_stats(b->e), *as = ovl_engine_stats(a->e);
	uint8_t buf[OVL_MAX_DATAGRAM], plain[OVL_MAX_PLAINTEXT];
	const struct kad_entry *ke;
	struct ovl_nat_count c;
	struct ovl_msg m, ans;
	struct bare x, y;
	uint64_t dh, answered;
	size_t len, r;

	bare_new(&x, v4(100, 64, 0, 1, 40000));
	bare_new(&y, v4(100, 64, 0, 2, 40000));
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_MAP_PROBE;
	m.u.map_probe.nonce = 42;
	m.u.map_probe.pad_len = OVL_MAP_PROBE_PAD;
	/* A stranger: B holds no keys for it, spends no DH, sends nothing. */
	dh = ovl_secure_stats(ovl_engine_secure(b->e))->dh;
	len = bare_seal(&x, b->pub, &m, buf);
	r = input_probe_port(b, &x.addr, buf, len);
	ok(r == 0 && qn == 0 && bs->map_dropped == 1 &&
	   ovl_secure_stats(ovl_engine_secure(b->e))->dh == dh,
	   "a stranger's MAP_PROBE (%zu bytes): no answer, no DH, counted", len);
	/* y becomes known to B (a PING on the main port), then asks. */
	memset(&ans, 0, sizeof(ans));
	ans.type = OVL_MSG_PING;
	ans.u.ping.nonce = 1;
	ans.u.ping.pad_len = 104;
	bare_send(&y, b, &ans);
	qn = 0;
	len = bare_seal(&y, b->pub, &m, buf);
	r = input_probe_port(b, &y.addr, buf, len);
	ok(r > 0 && r <= len && qn == 1 && bs->map_answered == 1 && bare_open(&y, 0, &ans, plain) &&
	   ans.type == OVL_MSG_MAP_SEEN && ans.u.map_seen.nonce == 42 &&
	   ovl_addr_equal(&ans.u.map_seen.observed, &y.addr) && ovl_addr_equal(&q[0].src, &b2),
	   "a known sender's MAP_PROBE (%zu bytes): MAP_SEEN (%zu bytes) from the second port, its address in it",
	   len, r);
	qn = 0;
	answered = bs->map_answered;
	m.u.map_probe.pad_len = 0;
	len = bare_seal(&y, b->pub, &m, buf);
	r = input_probe_port(b, &y.addr, buf, len);
	ok(r == 0 && qn == 0 && bs->map_answered == answered,
	   "an unpadded MAP_PROBE (%zu bytes) is not answered: its answer would be larger", len);
	m.u.map_probe.pad_len = OVL_MAP_PROBE_PAD;
	memset(&ans, 0, sizeof(ans));
	ans.type = OVL_MSG_PING;
	ans.u.ping.nonce = 2;
	ans.u.ping.pad_len = 104;
	len = bare_seal(&y, b->pub, &ans, buf);
	r = input_probe_port(b, &y.addr, buf, len);
	ok(r == 0 && qn == 0, "a PING to the second port is not answered there");
	r = input_probe_port(b, &y.addr, buf, 30);
	ok(r == 0 && qn == 0, "nor junk (%llu dropped in all)", (unsigned long long)bs->map_dropped);
	ovl_secure_free(x.sec);
	net_reset();

	/* The member's side. */
	a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	b = node_new(v4(192, 0, 2, 1, 51820), true, false, 0, 0);
	as = ovl_engine_stats(a->e);
	a->alias[0] = v4(203, 0, 113, 5, 20000);
	ovl_engine_trust_observer(a->e, b->pub, true);
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	run(nat_cone, false);
	/* Replayed and unsolicited answers change nothing. */
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_MAP_SEEN;
	m.u.map_seen.nonce = 99;
	m.u.map_seen.observed = v4(203, 0, 113, 5, 7777);
	bare_new(&x, b2);
	bare_send(&x, a, &m);
	ok(as->map_unexpected == 1 && nat_mapping_of(a, NULL) == OVL_NAT_UNKNOWN,
	   "a MAP_SEEN nobody asked for is counted and changes nothing");
	ovl_secure_free(x.sec);
	ovl_engine_probe_reflexive(a->e, tnow());
	ok(as->map_sent == 1 && qn == 2 && ovl_addr_equal(&q[1].to, &b2),
	   "the probe of our reflexive address asks B's second port too");
	run(nat_cone, false);
	ok(ovl_engine_nat_mapping(a->e, now, &c) == OVL_NAT_EIM && c.ports == 2,
	   "its answer is a second observation");
	ke = kad_table_find(ovl_engine_table(a->e), b->pub);
	ok(ke && ovl_addr_equal(&ke->addr, &b->addr), "B stays at its main port in A's table");
	/* A node we do not trust as an observer is not asked. */
	{
		struct node *s = node_new(v4(198, 51, 100, 1, 51820), true, false, 0, 0);
		uint64_t sent = as->map_sent;

		ovl_engine_ping(a->e, s->pub, &s->addr, NULL, NULL, tnow());
		run(nat_cone, false);
		ovl_engine_probe_reflexive(a->e, tnow());
		run(nat_cone, false);
		ok(as->map_sent == sent + 1, "a public node we did not choose gets no MAP_PROBE (%llu sent, to B)",
		   (unsigned long long)(as->map_sent - sent));
	}
	ovl_secure_free(y.sec);
	net_reset();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_one_public_node();
	test_many_pongs();
	test_codec();
	test_probe_port();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
