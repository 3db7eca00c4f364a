/* The overlay engine's relaying (proto/overlay/relay.c) without root or
 * sockets, through the simulated network of engine_sim.h: RELAY and
 * RELAYED and the per-sender limit, who may send RELAYED to a member,
 * relaying off, relay channels and their events, the bounded client
 * table, and who may be relayed to a member (PEERS) with the channel and
 * registration quotas under floods (issue 17, findings 5 and 7).
 *
 *   R 192.0.2.9:51820 (public relay) M 10.0.0.2:51820 (NATed member)
 *   bare peers (forged senders) at 100.64.x.y */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/addr.h"
#include "test/overlay/engine_sim.h"
#include "test/tap.h"

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

/* A second NATed member A keeps a path to R too; M and A name each
 * other, and A binds a channel to M at R.  Returns R. */
static struct node *channel_pair(struct node **m_out, struct node **a_out)
{
	struct node *m, *r = relay_setup(&m, 0, 0);
	struct node *a = node_new(v4(10, 0, 0, 3, 51820), false, false, 0, 0);

	ovl_engine_ping(a->e, r->pub, &r->addr, NULL, NULL, tnow());
	run(NULL, false);
	name_peers(m, r, &a->pub, 1);
	ovl_engine_set_peers(a->e, &m->pub, 1, tnow());
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	run(NULL, false);
	*m_out = m;
	*a_out = a;
	return r;
}

static void test_channel_bound_event(void)
{
	struct node *m, *a, *r = channel_pair(&m, &a);
	struct ovl_addr elsewhere;

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

/* A relay restarts just as the member's PEERS come due for their refresh
 * (net-natfail, scenario 7): the member's CHANNEL_BIND to the silent
 * relay carries the refresh, which reaches nobody.  The new relay pings
 * the member back a second later (it has no path to it); that must bring
 * the PEERS again, or the relay holds none of the member's for 30 s and
 * forwards nothing to it.  The refresh is no answer to being asked again:
 * only another answer within 2 s holds one back. */
static void test_peers_refresh_lost(void)
{
	struct node *m, *a, *r = channel_pair(&m, &a);
	const struct ovl_engine_stats *as = ovl_engine_stats(a->e), *rs = ovl_engine_stats(r->e);
	uint64_t taken;

	ok(as->peers_sent == 1, "the member registers its peers with the relay it binds at");
	now += 31 * SEC;
	taken = rs->peers_taken;
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	ok(as->peers_sent == 2, "30 s on, its next CHANNEL_BIND carries the refresh");
	qn = 0;	/* the relay is down: both are lost */
	now += 1 * SEC;
	ovl_engine_register_peers(a->e, r->pub, &r->addr, true, tnow());
	ok(as->peers_sent == 3, "the restarted relay pings it back 1 s later: its PEERS go again");
	run(NULL, false);
	ok(rs->peers_taken == taken + 1, "... and the relay holds them");
	now += 1 * SEC;
	ovl_engine_register_peers(a->e, r->pub, &r->addr, true, tnow());
	ok(as->peers_sent == 3 && qn == 0, "asked again within 2 s of that answer: nothing sent");
	now += 1 * SEC;
	ovl_engine_register_peers(a->e, r->pub, &r->addr, true, tnow());
	ok(as->peers_sent == 4, "asked again 2 s after it: sent");
	run(NULL, false);
	now += 1 * SEC;
	ovl_engine_channel_bind(a->e, r->pub, &r->addr, m->pub, tnow());
	ok(as->peers_sent == 4, "answers to being asked count as refreshes: no refresh 1 s later");
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


int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_relay();
	test_relayed_stranger();
	test_relay_off();
	test_channel();
	test_channel_bound_event();
	test_peers_refresh_lost();
	test_clients_bounded();
	test_relay_nonmember();
	test_channel_flood();
	test_peers_flood();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
