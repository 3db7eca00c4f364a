/* The per-member path core (proto/overlay/path.h) without root or
 * sockets: events go in with a simulated clock and hand-made facts of the
 * WireGuard peer; the actions are recorded and checked against the times
 * of doc/protocol.md 9 and path.h.
 *
 * Topology (addresses as the core sees them):
 *
 *   us (behind a NAT) -- R1 192.0.2.1:51820 (relay, RTT 30 ms) -- M
 *                     -- R2 192.0.2.2:51820 (relay, RTT 10 ms) --
 *   M: the member, candidates 198.51.100.7:40000 and 10.1.0.7:51820 */
#include <string.h>

#include "proto/overlay/addr.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/path.h"
#include "test/tap.h"

#define MS 1000000ull
#define SEC (1000 * MS)

static const uint8_t M[32] = { 0x4d }, R1[32] = { 0x01 }, R2[32] = { 0x02 }, US[32] = { 0x55 };

/* What the core asked for. */
static struct {
	unsigned pings, punches, punch_starts, cands_sent, binds, directs, routes, handshakes;
	unsigned keepalives, lookups, lookups_at_once;
	uint8_t ping_key[32], bind_relay[32];
	struct ovl_addr ping_addr, route_addr, direct_addr;
	uint64_t cands_txid;
	uint8_t cands_flags;
	uint16_t keepalive_s;
	bool set_keepalive;
} act;
static uint64_t rtt1 = 30000, rtt2 = 10000, heard1, heard2;

static void a_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	(void)ctx;
	++act.pings;
	memcpy(act.ping_key, key, 32);
	act.ping_addr = *addr;
}

static void a_punch(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	(void)ctx, (void)member, (void)addr;
	++act.punches;
}

static void a_punch_start(void *ctx)
{
	(void)ctx;
	++act.punch_starts;
}

static void a_send_candidates(void *ctx, const uint8_t member[32], const uint8_t via[32],
			      const struct ovl_addr *via_addr, uint64_t txid, uint8_t flags)
{
	(void)ctx, (void)member, (void)via, (void)via_addr;
	++act.cands_sent;
	act.cands_txid = txid;
	act.cands_flags = flags;
}

static void a_bind(void *ctx, const uint8_t relay[32], const struct ovl_addr *relay_addr,
		   const uint8_t member[32])
{
	(void)ctx, (void)relay_addr, (void)member;
	++act.binds;
	memcpy(act.bind_relay, relay, 32);
}

static void a_direct(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	(void)ctx, (void)member;
	++act.directs;
	act.direct_addr = *addr;
}

static void a_route(void *ctx, const uint8_t member[32], const struct ovl_addr *relay_addr)
{
	(void)ctx, (void)member;
	++act.routes;
	act.route_addr = *relay_addr;
}

static void a_handshake(void *ctx, const uint8_t member[32], bool new_path)
{
	(void)ctx, (void)member, (void)new_path;
	++act.handshakes;
}

static void a_keepalive(void *ctx, const uint8_t member[32])
{
	(void)ctx, (void)member;
	++act.keepalives;
}

static void a_set_keepalive(void *ctx, const uint8_t member[32], uint16_t s)
{
	(void)ctx, (void)member;
	act.set_keepalive = true;
	act.keepalive_s = s;
}

static void a_lookup(void *ctx, const uint8_t member[32], bool at_once)
{
	(void)ctx, (void)member;
	++act.lookups;
	act.lookups_at_once += at_once;
}

static uint64_t a_rtt(void *ctx, const uint8_t key[32])
{
	(void)ctx;
	return key[0] == 1 ? rtt1 : key[0] == 2 ? rtt2 : 0;
}

static uint64_t a_heard(void *ctx, const uint8_t key[32])
{
	(void)ctx;
	return key[0] == 1 ? heard1 : key[0] == 2 ? heard2 : 0;
}

/* Exchange ids from a counter: each exchange's id is known. */
static uint64_t next_txid = 0x1000;

static void a_rng(void *ctx, void *buf, size_t len)
{
	uint8_t b[8];

	(void)ctx;
	memcpy(b, &next_txid, sizeof(b));
	++next_txid;
	memset(buf, 0, len);
	memcpy(buf, b, len < sizeof(b) ? len : sizeof(b));
}

static const struct ovl_path_ops ops = {
	.ping = a_ping, .punch = a_punch, .punch_start = a_punch_start,
	.send_candidates = a_send_candidates, .channel_bind = a_bind, .make_direct = a_direct,
	.route = a_route, .plan_handshake = a_handshake, .keepalive = a_keepalive,
	.set_keepalive = a_set_keepalive, .lookup = a_lookup, .rtt_us = a_rtt, .heard_ns = a_heard, .rng = a_rng,
};

static struct ovl_path_ctx c = { .ops = &ops, .now = 1000 * SEC, .self = US };

static struct ovl_addr v4(uint8_t a, uint8_t b, uint8_t cc, uint8_t d, uint16_t port)
{
	struct ovl_addr k;
	uint8_t ip[4] = { a, b, cc, d };

	ovl_addr_set_v4(&k, ip, port);
	return k;
}

static void reset(struct ovl_path *p, struct ovl_path_peer *f)
{
	memset(&act, 0, sizeof(act));
	memset(f, 0, sizeof(*f));
	ovl_path_init(p, M);
	c.now = 1000 * SEC;
	rtt1 = 30000;
	rtt2 = 10000;
	heard1 = heard2 = 0;
}

/* The member named behind a NAT by R1, then by R2: relayed through R1
 * at once (the only candidate then), R2 a candidate. */
static void named_by_both(struct ovl_path *p, struct ovl_path_peer *f)
{
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820), a2 = v4(192, 0, 2, 2, 51820);

	ovl_path_on_reach(&c, p, f, R1, &a1, true);
	ovl_path_on_reach(&c, p, f, R2, &a2, true);
}

static void test_named_relayed(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820), a2 = v4(192, 0, 2, 2, 51820);

	reset(&p, &f);
	rtt1 = 10000;	/* R1 the nearer here: it is taken at its first naming */
	rtt2 = 30000;
	ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	ok(p.state == OVL_PATH_RELAYED && f.routed && act.routes == 1 &&
	   ovl_addr_equal(&act.route_addr, &a1), "a member named behind a NAT is relayed at once");
	ok(act.handshakes == 1 && act.cands_sent == 1 && act.binds == 1,
	   "a handshake, CANDIDATES and a CHANNEL_BIND go through the relay");
	ovl_path_on_reach(&c, &p, &f, R2, &a2, true);
	ok(act.routes == 1 && p.n_relays == 2, "a second relay is a candidate, not a switch");

	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, R1, &a1, false);
	ok(p.state == OVL_PATH_NONE && !f.routed && p.n_relays == 0 && act.cands_sent == 1,
	   "a node that does not relay is a rendezvous for CANDIDATES only");
	ok(act.cands_txid == p.txid && p.txid == next_txid - 1,
	   "our exchange's id is the one the rng op gave");
	/* Two relays known before the path starts: the lower RTT wins. */
	reset(&p, &f);
	ovl_path_on_relayed(&c, &p, R1, &a1);
	ovl_path_on_relayed(&c, &p, R2, &a2);
	ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	ok(ovl_addr_equal(&act.route_addr, &a2) && ovl_path_relay_in_use(&p) &&
	   ovl_path_relay_in_use(&p)->key[0] == 2, "the relay with the lowest RTT carries the path");
}

static void test_punching(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr cands[2] = { v4(198, 51, 100, 7, 40000), v4(10, 1, 0, 7, 51820) };
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820), seen = v4(198, 51, 100, 7, 40001);
	unsigned rounds = 0;

	reset(&p, &f);
	ovl_path_on_candidates(&c, &p, &f, 77, 0, cands, 2, 0, R1, &a1, true, &seen);
	ok(act.cands_sent == 1 && act.cands_txid == 77 && act.cands_flags == OVL_CANDIDATES_REPLY,
	   "CANDIDATES are answered with ours under their txid");
	ok(p.n_cands == 3 && act.punch_starts == 1 && p.state == OVL_PATH_PUNCHING,
	   "candidates and the address the relay saw are punched");
	while (ovl_path_punch_tick(&c, &p, &f))
		++rounds;
	++rounds;
	ok(rounds == OVL_PATH_PUNCH_ROUNDS && act.punches == 3 * OVL_PATH_PUNCH_ROUNDS,
	   "%u punch rounds to every candidate (documented %u)", rounds, OVL_PATH_PUNCH_ROUNDS);
	ok(!ovl_path_punch_tick(&c, &p, &f) && act.punches == 3 * OVL_PATH_PUNCH_ROUNDS,
	   "no PUNCH after the last round");

	/* A reply to an exchange we did not start is ignored. */
	reset(&p, &f);
	ovl_path_on_candidates(&c, &p, &f, 78, OVL_CANDIDATES_REPLY, cands, 2, 0, R1, &a1, true, NULL);
	ok(p.n_cands == 0 && act.punch_starts == 0, "a reply to no exchange of ours is ignored");

	/* An unexpected PUNCH: punched back for fewer rounds. */
	reset(&p, &f);
	ovl_path_on_punch(&c, &p, &f, &cands[0]);
	ok(p.punch_rounds == OVL_PATH_PUNCH_ROUNDS_ANSWER && p.n_cands == 1,
	   "a PUNCH is answered for %u rounds", OVL_PATH_PUNCH_ROUNDS_ANSWER);
}

/* Our ports became predictable after the first exchange (doc/protocol.md
 * 9.7): a relayed member gets a new exchange at once, not after the 10 s
 * backoff; once, and never before any exchange or on a direct path. */
static void test_predictable(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;

	reset(&p, &f);
	ovl_path_on_predictable(&c, &p, &f);
	ok(act.cands_sent == 0, "no exchange yet: becoming predictable sends nothing");
	named_by_both(&p, &f);
	c.now += 2 * SEC;
	ovl_path_on_predictable(&c, &p, &f);
	ok(act.cands_sent == 2 && act.cands_flags == 0 && act.cands_txid == p.txid,
	   "relayed: a new exchange 2 s after the first, before the backoff's 10 s");
	c.now += SEC;
	ovl_path_tick(&c, &p, &f, true);
	ok(act.cands_sent == 2, "the backoff goes on from the new exchange");
	/* A direct path needs none. */
	reset(&p, &f);
	named_by_both(&p, &f);
	f.routed = false;
	f.has_session = true;
	f.endpoint = v4(198, 51, 100, 7, 40000);
	p.direct_ok_ns = c.now;
	ovl_path_on_predictable(&c, &p, &f);
	ok(act.cands_sent == 1, "direct: no new exchange");
}

static void test_pong_direct(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr cands[1] = { v4(198, 51, 100, 7, 40000) };

	reset(&p, &f);
	named_by_both(&p, &f);
	ovl_path_on_candidates(&c, &p, &f, 5, 0, cands, 1, 0, R2, &p.relays[1].addr, true, NULL);
	f.has_session = true;	/* the handshake went through the relay */
	c.now += 600 * MS;
	ovl_path_on_contact(&c, &p, &f, &cands[0]);
	ok(act.directs == 1 && ovl_addr_equal(&act.direct_addr, &cands[0]) && !f.routed &&
	   p.state == OVL_PATH_DIRECT, "a PONG to a punch makes the path direct");
	ok(p.punch_rounds == 0 && act.keepalives == 1 && p.direct_at_ns == c.now,
	   "punching stops and a keepalive tells the other side at once");
	ok(!ovl_path_punch_tick(&c, &p, &f) && act.punches == 0, "the punch timer finds nothing to do");
}

static void test_direct_fallback(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr cand = v4(198, 51, 100, 7, 40000);
	uint64_t t0;
	unsigned probes = 0, s;

	reset(&p, &f);
	named_by_both(&p, &f);
	f.has_session = true;
	ovl_path_on_contact(&c, &p, &f, &cand);
	t0 = c.now;
	f.last_direct_rx_ns = t0;
	/* Silent from now while we send every second. */
	for (s = 1; s <= OVL_PATH_DIRECT_DEAD_S; ++s) {
		unsigned pings = act.pings;

		c.now = t0 + s * SEC;
		f.last_data_tx_ns = c.now;
		ovl_path_tick(&c, &p, &f, true);
		if (act.pings > pings && ovl_addr_equal(&act.ping_addr, &cand))
			++probes;
		if (s < OVL_PATH_DIRECT_DEAD_S)
			ok(!f.routed && act.routes == 1, "still direct after %u s of silence", s);
	}
	ok(probes == OVL_PATH_DIRECT_DEAD_S - OVL_PATH_DIRECT_SUSPECT_S,
	   "the path is probed from %u s until %u s (%u PINGs)", OVL_PATH_DIRECT_SUSPECT_S,
	   OVL_PATH_DIRECT_DEAD_S, probes);
	ok(f.routed && act.routes == 2 && ovl_addr_equal(&act.route_addr, &p.relays[0].addr) &&
	   p.state == OVL_PATH_FALLBACK, "after %u s it falls back to the relay", OVL_PATH_DIRECT_DEAD_S);
	ok(act.keepalives == 2 && p.next_exchange_ns == c.now + OVL_PATH_EXCHANGE_MIN_S * SEC,
	   "a keepalive goes the new way; the next exchange in %u s", OVL_PATH_EXCHANGE_MIN_S);

	/* Not sending: a silent direct path is left alone. */
	reset(&p, &f);
	named_by_both(&p, &f);
	f.has_session = true;
	ovl_path_on_contact(&c, &p, &f, &cand);
	f.last_direct_rx_ns = c.now;
	c.now += 60 * SEC;
	ovl_path_tick(&c, &p, &f, true);
	ok(!f.routed && act.routes == 1 && act.keepalive_s == OVL_PATH_NAT_KEEPALIVE_S,
	   "an idle direct path stays, with NAT keepalives every %u s", OVL_PATH_NAT_KEEPALIVE_S);
}

static void test_relay_replaced(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	uint64_t t0;
	unsigned s, cands = 0, binds = 0;

	reset(&p, &f);
	named_by_both(&p, &f);
	t0 = c.now;
	ok(ovl_path_relay_in_use(&p)->key[0] == 1, "relayed through R1 (the only relay when first named)");
	/* R1 never answers; we send all the time, nothing comes back. */
	for (s = 1; s <= OVL_PATH_RELAY_SUSPECT_S + OVL_PATH_RELAY_PROBE_S + 1; ++s) {
		c.now = t0 + s * SEC;
		f.last_data_tx_ns = c.now;
		cands = act.cands_sent;
		binds = act.binds;
		ovl_path_tick(&c, &p, &f, true);
		if (ovl_path_relay_in_use(&p)->key[0] != 1)
			break;
	}
	ok(ovl_path_relay_in_use(&p)->key[0] == 2 && p.n_relays == 1,
	   "a relay silent to a probe is replaced by the next after %u s (want %u)", s,
	   OVL_PATH_RELAY_SUSPECT_S + OVL_PATH_RELAY_PROBE_S);
	ok(s == OVL_PATH_RELAY_SUSPECT_S + OVL_PATH_RELAY_PROBE_S, "not sooner, not later");
	ok(ovl_addr_equal(&act.route_addr, &p.relays[0].addr) && act.cands_sent == cands + 1 &&
	   act.binds > binds && act.bind_relay[0] == 2,
	   "traffic goes to R2, bound there, and the other side hears at once (CANDIDATES in the "
	   "same tick)");

	/* Idle: the relay goes after RELAY_DEAD_S of silence; no relay left:
	 * the member is looked up at once. */
	reset(&p, &f);
	{
		struct ovl_addr a1 = v4(192, 0, 2, 1, 51820);

		ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	}
	t0 = c.now;
	for (s = 1; s <= OVL_PATH_RELAY_DEAD_S + 1 && ovl_path_relay_in_use(&p); ++s) {
		c.now = t0 + s * SEC;
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(!ovl_path_relay_in_use(&p) && s - 1 == OVL_PATH_RELAY_DEAD_S + 1 &&
	   act.lookups_at_once == 1, "an idle silent relay goes after %u s; then a lookup", s - 1);
	c.now += SEC;
	ovl_path_tick(&c, &p, &f, true);
	ok(act.lookups == 2 && p.state == OVL_PATH_NONE,
	   "no candidate and no relay: the member is looked up");
}

/* A fresh path relayed through R2 (heard now). */
static void relayed_via_r2(struct ovl_path *p, struct ovl_path_peer *f, const struct ovl_addr *a2)
{
	reset(p, f);
	ovl_path_on_reach(&c, p, f, R2, a2, true);
	heard2 = c.now;
}

/* Ticks once a second from t0 + from s, R2 heard at each, until the core
 * sends a CHANNEL_BIND or until s: the second it asked, or until + 1. */
static unsigned seconds_to_bind(struct ovl_path *p, struct ovl_path_peer *f, uint64_t t0,
				unsigned from, unsigned until)
{
	unsigned s, binds;

	for (s = from; s <= until; ++s) {
		c.now = t0 + s * SEC;
		heard2 = c.now;
		binds = act.binds;
		ovl_path_tick(&c, p, f, true);
		if (act.binds > binds)
			break;
	}
	return s;
}

static void test_channel_schedule(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a2 = v4(192, 0, 2, 2, 51820);
	uint64_t t0;
	unsigned s, binds;

	relayed_via_r2(&p, &f, &a2);
	ok(act.binds == 1, "CHANNEL_BIND with the first relayed datagram");
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x1234);
	ok(ovl_path_relay_in_use(&p)->chan == 0x1234, "the granted number is in use");
	t0 = c.now;
	s = seconds_to_bind(&p, &f, t0, 1, OVL_PATH_CHANNEL_RENEW_S);
	ok(s == OVL_PATH_CHANNEL_RENEW_S, "renewed after %u s (documented %u)", s, OVL_PATH_CHANNEL_RENEW_S);

	/* Refused: asked again after CHANNEL_REFUSED_S, with no number. */
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_FULL, 0);
	ok(ovl_path_relay_in_use(&p)->chan == 0, "a refusal leaves no number");
	t0 = c.now;
	s = seconds_to_bind(&p, &f, t0, 1, OVL_PATH_CHANNEL_REFUSED_S + 1);
	ok(s == OVL_PATH_CHANNEL_REFUSED_S, "a refused channel is asked again after %u s (documented %u)",
	   s, OVL_PATH_CHANNEL_REFUSED_S);

	/* NO_PATH passes: asked again like an unanswered request. */
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_NO_PATH, 0);
	t0 = c.now;
	s = seconds_to_bind(&p, &f, t0, 1, OVL_PATH_CHANNEL_RETRY_S + 1);
	ok(s == OVL_PATH_CHANNEL_RETRY_S, "NO_PATH is asked again after %u s", s);

	/* A number expires after its lifetime without renewals. */
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x99);
	c.now += (uint64_t)OVL_CHAN_LIFETIME_S * SEC;
	heard2 = c.now;
	ovl_path_tick(&c, &p, &f, true);
	ok(ovl_path_relay_in_use(&p)->chan == 0, "a number past its lifetime is not used");

	/* The relay pings us: it lost our path, bind again at once. */
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x77);
	c.now += OVL_PATH_CHANNEL_RETRY_S * SEC;
	binds = act.binds;
	ovl_path_on_public_ping(&c, &p, &f, R2, &a2);
	ok(act.binds == binds + 1, "a PING from the relay in use binds again at once");
	ovl_path_on_public_ping(&c, &p, &f, R2, &a2);
	ok(act.binds == binds + 1, "but not twice within %u ms", OVL_PATH_CHANNEL_ASK_MIN_MS);
}

/* The relay in use restarts (issue 17, finding 15): it lost its channels
 * and its paths to us, and says nothing.  Both ends must reach it within
 * a tick of its return: the one whose traffic goes unanswered asks its
 * channel again every tick, the one whose incoming traffic stopped pings
 * the relay every tick (the restarted relay pings back, having no path
 * to it, and that PING binds again at once). */
static void test_relay_restart(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a2 = v4(192, 0, 2, 2, 51820);
	uint64_t t0;
	unsigned s, pings, binds, ticks_pinged = 0, ticks_bound = 0;

	/* The answering side: data came through R2 until t0, then nothing. */
	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, R2, &a2, true);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x55);
	f.has_session = true;
	ovl_path_tick(&c, &p, &f, true);
	c.now += SEC;
	t0 = c.now;
	f.last_rx_ns = t0;
	heard2 = t0;
	for (s = 1; s <= 4; ++s) {
		c.now = t0 + s * SEC;
		pings = act.pings;
		ovl_path_tick(&c, &p, &f, true);
		ticks_pinged += act.pings > pings && act.ping_key[0] == 2;
	}
	ok(ticks_pinged == 4, "incoming traffic stopped: the relay is pinged every tick (%u of 4)",
	   ticks_pinged);
	/* Its PING binds again at once, and so does one 600 ms after that
	 * (the old bind may have gone to the relay before it restarted). */
	binds = act.binds;
	ovl_path_on_public_ping(&c, &p, &f, R2, &a2);
	c.now += 600 * MS;
	ovl_path_on_public_ping(&c, &p, &f, R2, &a2);
	ok(act.binds == binds + 2,
	   "a PING of the relay's binds again at once, 600 ms after the last too (%u)",
	   act.binds - binds);
	for (s = 1, pings = act.pings; s <= OVL_PATH_RELAY_PING_S; ++s) {
		c.now = t0 + (OVL_PATH_RELAY_BUSY_S + s) * SEC;
		heard2 = c.now;
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(act.pings - pings == 1, "quiet for %u s: back to a PING every %u s (%u sent)",
	   OVL_PATH_RELAY_BUSY_S, OVL_PATH_RELAY_PING_S, act.pings - pings);

	/* The sending side: data goes out every tick, nothing back after t0. */
	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, R2, &a2, true);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x55);
	f.has_session = true;
	ovl_path_tick(&c, &p, &f, true);
	c.now += SEC;
	t0 = c.now;
	f.last_rx_ns = t0;
	heard2 = t0;
	for (s = 1; s <= 4; ++s) {
		c.now = t0 + s * SEC;
		f.last_data_tx_ns = c.now - 100 * MS;
		binds = act.binds;
		ovl_path_tick(&c, &p, &f, true);
		ticks_bound += act.binds > binds;
	}
	ok(ticks_bound == 4,
	   "our traffic unanswered: the channel is asked again every tick (%u of 4)", ticks_bound);
	/* The restarted relay has no path to the member yet: wrapped in
	 * RELAY meanwhile, which passes as soon as it has. */
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_NO_PATH, 0);
	ok(ovl_path_relay_in_use(&p)->chan == 0, "NO_PATH: no number, the traffic goes wrapped");
}

static void test_no_relay(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr ep = v4(198, 51, 100, 7, 40000);

	/* Relayed with a session, but no candidate: lookups, no exchange. */
	reset(&p, &f);
	f.routed = true;
	f.has_session = true;
	f.endpoint = ep;
	f.keepalive_s = OVL_PATH_NAT_KEEPALIVE_S;
	ovl_path_tick(&c, &p, &f, true);
	ok(act.lookups == 1 && act.cands_sent == 0 && act.routes == 0 && p.state == OVL_PATH_NONE,
	   "relayed with no relay left: the member is looked up");
	ok(act.set_keepalive && act.keepalive_s == 0, "no NAT keepalive on a relayed path");
}

/* A node never chooses itself nor the destination as the relay: a NODES,
 * a RELAYED or CANDIDATES that names either as "via" leaves no relay
 * candidate (only another node can carry the pair's traffic). */
static void test_relay_not_self(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr us = v4(192, 0, 2, 85, 51820), m = v4(198, 51, 100, 7, 40000);
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820);

	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, US, &us, true);
	ovl_path_on_relayed(&c, &p, US, &us);
	ovl_path_on_candidates(&c, &p, &f, 9, 0, &m, 1, 0, US, &us, true, NULL);
	ok(p.n_relays == 0 && p.relay < 0 && act.routes == 0 && act.binds == 0,
	   "we are never our own relay candidate (%u candidates, %u routes)", p.n_relays, act.routes);
	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, M, &m, true);
	ovl_path_on_relayed(&c, &p, M, &m);
	ovl_path_on_candidates(&c, &p, &f, 9, 0, &m, 1, 0, M, &m, true, NULL);
	ok(p.n_relays == 0 && p.relay < 0 && act.routes == 0 && act.binds == 0,
	   "nor is the destination (%u candidates, %u routes)", p.n_relays, act.routes);
	ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	ok(p.n_relays == 1 && act.routes == 1 && ovl_addr_equal(&act.route_addr, &a1),
	   "another node still relays");
}

/* The relay in use dies with no other candidate known (net-natfail's
 * "relay killed", issue 17): the lookup tick_relayed starts names the
 * member's other relay within milliseconds, and that one takes over
 * then, with our CANDIDATES through it, not at the next tick and the
 * CANDIDATES one more tick later. */
static void test_orphan_takes_first(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820), a2 = v4(192, 0, 2, 2, 51820);
	unsigned routes, cands, binds;
	uint64_t t0;

	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	ovl_path_on_channel(&c, &p, R1, OVL_CHANNEL_OK, 0x11);
	f.has_session = true;
	t0 = c.now;
	while (ovl_path_relay_in_use(&p) && c.now < t0 + OVL_PATH_RELAY_DEAD_S * SEC) {
		c.now += SEC;
		f.last_data_tx_ns = c.now;
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(!ovl_path_relay_in_use(&p) && f.routed && act.lookups_at_once == 1,
	   "the only relay silent to a probe: gone after %llu s, the member looked up at once",
	   (unsigned long long)((c.now - t0) / SEC));
	routes = act.routes;
	cands = act.cands_sent;
	binds = act.binds;
	c.now += 20 * MS;
	ovl_path_on_reach(&c, &p, &f, R2, &a2, true);
	ok(act.routes == routes + 1 && ovl_addr_equal(&act.route_addr, &a2) &&
	   act.binds == binds + 1 && act.bind_relay[0] == 2,
	   "the lookup names R2: the traffic goes there at once, bound there");
	ok(act.cands_sent == cands + 1 && p.state == OVL_PATH_RELAYED,
	   "and our CANDIDATES through R2 tell the other side at once");
}

/* The other side of that: the member replaced the relay we share, which
 * still looks fine from here (we only answer), and told us so with
 * CANDIDATES through its new relay R2, where its own channel is bound
 * at once.  Its data then comes to us in R2's channel; we take channel
 * data only from a relay we asked a channel of (doc/protocol.md 9.1,
 * step 4), so we ask R2 now.  Before, that data was dropped unread, so
 * that nothing authenticated came through R2 to move us until
 * WireGuard's handshake 15 s after the last datagram (net-natfail's
 * "relay killed": 15.5 s of outage). */
static void test_follow_relay_change(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a1 = v4(192, 0, 2, 1, 51820), a2 = v4(192, 0, 2, 2, 51820);
	struct ovl_addr m = v4(198, 51, 100, 7, 40000);
	unsigned routes, binds;

	reset(&p, &f);
	ovl_path_on_reach(&c, &p, &f, R1, &a1, true);
	ovl_path_on_channel(&c, &p, R1, OVL_CHANNEL_OK, 0x11);
	f.has_session = true;
	c.now += 30 * SEC;
	heard1 = heard2 = c.now;
	ovl_path_tick(&c, &p, &f, true);
	ok(!ovl_path_channel_source(&p, &a2), "R2 unknown: its channel data is not taken");
	routes = act.routes;
	binds = act.binds;
	ovl_path_on_candidates(&c, &p, &f, 0x77, 0, &m, 1, 0, R2, &a2, true, NULL);
	ok(act.binds == binds + 1 && act.bind_relay[0] == 2,
	   "the member's CANDIDATES through R2 while we use R1: a CHANNEL_BIND to R2");
	ok(ovl_path_channel_source(&p, &a2),
	   "so that the member's channel data through R2 passes our check of its source");
	ok(act.routes == routes && ovl_path_relay_in_use(&p)->key[0] == 1,
	   "the CANDIDATES alone do not move us: the member's data does");
	c.now += 100 * MS;
	ovl_path_on_candidates(&c, &p, &f, 0x78, 0, &m, 1, 0, R2, &a2, true, NULL);
	ok(act.binds == binds + 1, "not asked again %u ms later", 100);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_OK, 0x22);
	c.now += 200 * MS;
	ovl_path_on_relayed_rx(&c, &p, &f, &a2);
	ok(act.routes == routes + 1 && ovl_addr_equal(&act.route_addr, &a2) &&
	   ovl_path_relay_in_use(&p)->chan == 0x22 && act.binds == binds + 1,
	   "its first datagram through R2 moves us there, in the channel just bound");

	/* Nor for CANDIDATES through the relay in use, nor through one whose
	 * number is still valid. */
	binds = act.binds;
	c.now += SEC;
	ovl_path_on_candidates(&c, &p, &f, 0x79, 0, &m, 1, 0, R2, &a2, true, NULL);
	ovl_path_on_candidates(&c, &p, &f, 0x7a, 0, &m, 1, 0, R1, &a1, true, NULL);
	ok(act.binds == binds, "no CHANNEL_BIND for CANDIDATES through the relay in use, nor "
	   "through one whose number is valid");

	/* On a direct path, CANDIDATES through a relay are only an exchange. */
	reset(&p, &f);
	f.has_session = true;
	f.endpoint = m;
	ovl_path_on_candidates(&c, &p, &f, 0x77, 0, &m, 1, 0, R2, &a2, true, NULL);
	ok(act.binds == 0 && !ovl_path_channel_source(&p, &a2), "direct: no CHANNEL_BIND");
}

/* DENIED (doc/protocol.md 9.1, 9.3): the member did not name us in its
 * PEERS with that relay.  Asked again after CHANNEL_REFUSED_S, unless
 * the member's own traffic comes to us through that relay: it sends
 * there only after registering its PEERS, which then names us (it was
 * given a network file that does), so the channel is asked again within
 * CHANNEL_RETRY_S, not 30 s later. */
static void test_channel_denied(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	struct ovl_addr a2 = v4(192, 0, 2, 2, 51820);
	uint64_t t0;
	unsigned s, binds;

	relayed_via_r2(&p, &f, &a2);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_DENIED, 0);
	t0 = c.now;
	s = seconds_to_bind(&p, &f, t0, 1, OVL_PATH_CHANNEL_REFUSED_S + 1);
	ok(s == OVL_PATH_CHANNEL_REFUSED_S, "DENIED, the member silent: asked again after %u s", s);

	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_DENIED, 0);
	t0 = c.now;
	c.now = t0 + 5 * SEC;
	ovl_path_on_relayed(&c, &p, R2, &a2);	/* the member's PEERS now names us */
	s = seconds_to_bind(&p, &f, t0, 5, OVL_PATH_CHANNEL_REFUSED_S + 1);
	ok(s == 5, "DENIED, then the member's traffic through the relay: asked again at %u s "
		   "(not %u)", s, OVL_PATH_CHANNEL_REFUSED_S);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_DENIED, 0);
	t0 = c.now;
	binds = act.binds;
	for (s = 1; s < OVL_PATH_CHANNEL_RETRY_S; ++s) {
		c.now = t0 + s * SEC;
		heard2 = c.now;
		ovl_path_on_relayed(&c, &p, R2, &a2);
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(act.binds == binds, "but not more often than every %u s however much comes",
	   OVL_PATH_CHANNEL_RETRY_S);
	ovl_path_on_channel(&c, &p, R2, OVL_CHANNEL_FULL, 0);
	t0 = c.now;
	binds = act.binds;
	for (s = 1; s <= OVL_PATH_CHANNEL_RETRY_S + 1; ++s) {
		c.now = t0 + s * SEC;
		heard2 = c.now;
		ovl_path_on_relayed(&c, &p, R2, &a2);
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(act.binds == binds, "a FULL table is not asked again sooner for the member's traffic");
}

/* Our way out changed (the TCP path closed, UDP answers again): the
 * exchange backoff that grew while punching could not work starts over,
 * and CANDIDATES go at the next tick. */
static void test_network_changed(void)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	unsigned s, sent;

	reset(&p, &f);
	named_by_both(&p, &f);
	f.has_session = true;
	for (s = 1; s <= 120; ++s) {
		c.now += SEC;
		heard1 = heard2 = c.now;
		ovl_path_tick(&c, &p, &f, true);
	}
	ok(f.routed && p.exchange_backoff_ns > OVL_PATH_EXCHANGE_MIN_S * SEC &&
	   p.next_exchange_ns > c.now + SEC, "relayed for 120 s: the next exchange %llu s away",
	   (unsigned long long)((p.next_exchange_ns - c.now) / SEC));
	sent = act.cands_sent;
	ovl_path_on_network(&p);
	c.now += SEC;
	heard1 = heard2 = c.now;
	ovl_path_tick(&c, &p, &f, true);
	ok(act.cands_sent == sent + 1 && p.exchange_backoff_ns == OVL_PATH_EXCHANGE_MIN_S * SEC,
	   "after the network changed, CANDIDATES at the next tick and the backoff back to %u s",
	   OVL_PATH_EXCHANGE_MIN_S);
}

int main(void)
{
	test_named_relayed();
	test_punching();
	test_predictable();
	test_pong_direct();
	test_direct_fallback();
	test_relay_replaced();
	test_channel_schedule();
	test_relay_restart();
	test_no_relay();
	test_relay_not_self();
	test_channel_denied();
	test_orphan_takes_first();
	test_follow_relay_change();
	test_network_changed();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
