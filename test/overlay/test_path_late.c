/* The relay liveness of the path core (proto/overlay/path.c) when every
 * answer comes seconds late, as on a machine whose CPU is overloaded
 * (issue 19: net-proc100 at a load of 100 logged 18,140 "the relay is
 * silent: replacing it" and connected no pair).  Nothing is lost here:
 * every relay is alive and answers everything, only late.  A relay that
 * answers late is alive; the core must keep it, and its traffic must not
 * grow with the lateness.
 *
 * Topology (addresses as the core sees them):
 *
 *   us (behind a NAT) -- R1..R4 192.0.2.1-4:51820 (relays, all alive) -- M
 *
 * Each datagram between us and a relay takes a one-way delay drawn from
 * [lo, hi] (a deterministic generator), and so does each one between the
 * relay and M: a PING is answered (heard) after two delays, a CHANNEL_BIND
 * after two, our data's answer from M after four.  We send data every
 * second with a session up; a lookup brings every relay back, named
 * again, after two delays.  M never answers a PUNCH (no direct path). */
#include <string.h>

#include "proto/overlay/addr.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/path.h"
#include "test/tap.h"

#define MS 1000000ull
#define SEC (1000 * MS)

enum { RELAYS = 4, EVENTS = 4096 };

static const uint8_t M[32] = { 0x4d }, US[32] = { 0x55 };

enum ev_kind { EV_PONG, EV_BOUND, EV_DATA, EV_NAMED };

struct ev {
	uint64_t due;
	enum ev_kind kind;
	unsigned relay;
};

static struct {
	struct ev ev[EVENTS];
	unsigned n;
	uint64_t lo_ns, hi_ns;		/* one-way delay range */
	uint32_t seed;
	uint64_t heard[RELAYS], srtt_ns[RELAYS], sent_ns[RELAYS];
	/* R1 answers nothing from dead_ns on (0: never) */
	uint64_t dead_ns, replaced_ns;
	/* what went out */
	unsigned pings, binds, cands, punches, lookups, replaced;
} sim;

static struct ovl_path_ctx c;

static unsigned relay_of(const uint8_t key[32])
{
	return key[0] >= 1 && key[0] <= RELAYS ? key[0] - 1u : RELAYS;
}

/* 0 .. n - 1 */
static unsigned uniform(unsigned n)
{
	sim.seed = sim.seed * 1103515245u + 12345u;
	return (sim.seed >> 8) % n;
}

static uint64_t delay(void)
{
	return sim.lo_ns + uniform((unsigned)((sim.hi_ns - sim.lo_ns) / MS + 1)) * MS;
}

static void later(uint64_t after, enum ev_kind kind, unsigned relay)
{
	if (sim.n == EVENTS || (relay == 0 && sim.dead_ns && c.now >= sim.dead_ns))
		return;
	sim.ev[sim.n].due = c.now + after;
	sim.ev[sim.n].kind = kind;
	sim.ev[sim.n].relay = relay;
	++sim.n;
}

static void a_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	unsigned r = relay_of(key);

	(void)ctx, (void)addr;
	++sim.pings;
	if (r < RELAYS) {
		sim.sent_ns[r] = c.now;
		later(delay() + delay(), EV_PONG, r);
	}
}

static void a_punch(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	(void)ctx, (void)member, (void)addr;
	++sim.punches;
}

static void a_punch_start(void *ctx)
{
	(void)ctx;
}

static void a_send_candidates(void *ctx, const uint8_t member[32], const uint8_t via[32],
			      const struct ovl_addr *via_addr, uint64_t txid, uint8_t flags)
{
	(void)ctx, (void)member, (void)via, (void)via_addr, (void)txid, (void)flags;
	++sim.cands;
}

static void a_bind(void *ctx, const uint8_t relay[32], const struct ovl_addr *relay_addr,
		   const uint8_t member[32])
{
	(void)ctx, (void)relay_addr, (void)member;
	++sim.binds;
	later(delay() + delay(), EV_BOUND, relay_of(relay));
}

static void a_direct(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	(void)ctx, (void)member, (void)addr;
}

static void a_route(void *ctx, const uint8_t member[32], const struct ovl_addr *relay_addr)
{
	(void)ctx, (void)member, (void)relay_addr;
}

static void a_handshake(void *ctx, const uint8_t member[32], bool new_path)
{
	(void)ctx, (void)member, (void)new_path;
}

static void a_keepalive(void *ctx, const uint8_t member[32])
{
	(void)ctx, (void)member;
}

static void a_set_keepalive(void *ctx, const uint8_t member[32], uint16_t s)
{
	(void)ctx, (void)member, (void)s;
}

static void a_lookup(void *ctx, const uint8_t member[32], bool at_once)
{
	unsigned r;

	(void)ctx, (void)member, (void)at_once;
	++sim.lookups;
	for (r = 0; r < RELAYS; ++r)
		later(delay() + delay(), EV_NAMED, r);
}

/* The RTT the overlay measured from the PONGs, smoothed as the table
 * does (7/8 old, 1/8 new). */
static uint64_t a_rtt(void *ctx, const uint8_t key[32])
{
	unsigned r = relay_of(key);

	(void)ctx;
	return r < RELAYS ? sim.srtt_ns[r] / 1000 : 0;
}

static uint64_t a_heard(void *ctx, const uint8_t key[32])
{
	unsigned r = relay_of(key);

	(void)ctx;
	return r < RELAYS ? sim.heard[r] : 0;
}

static void a_log(void *ctx, const uint8_t member[32], bool info, const char *msg)
{
	(void)ctx, (void)member, (void)info;
	if (!strncmp(msg, "the relay is silent", 19) && !sim.replaced++)
		sim.replaced_ns = c.now;
}

static void a_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x5a, len);
}

static const struct ovl_path_ops ops = {
	.ping = a_ping, .punch = a_punch, .punch_start = a_punch_start,
	.send_candidates = a_send_candidates, .channel_bind = a_bind, .make_direct = a_direct,
	.route = a_route, .plan_handshake = a_handshake, .keepalive = a_keepalive,
	.set_keepalive = a_set_keepalive, .lookup = a_lookup, .rtt_us = a_rtt, .heard_ns = a_heard,
	.log = a_log, .rng = a_rng,
};

static struct ovl_addr relay_addr(unsigned r)
{
	struct ovl_addr k;
	uint8_t ip[4] = { 192, 0, 2, (uint8_t)(r + 1) };

	ovl_addr_set_v4(&k, ip, 51820);
	return k;
}

static void relay_key(unsigned r, uint8_t key[32])
{
	memset(key, 0, 32);
	key[0] = (uint8_t)(r + 1);
}

/* Hands the core what is due by now (in any order: each is a fact with
 * its own time). */
static void deliver(struct ovl_path *p, struct ovl_path_peer *f)
{
	unsigned i = 0;

	while (i < sim.n) {
		struct ev e = sim.ev[i];
		uint8_t key[32];
		struct ovl_addr a = relay_addr(e.relay);

		if (e.due > c.now) {
			++i;
			continue;
		}
		sim.ev[i] = sim.ev[--sim.n];
		relay_key(e.relay, key);
		switch (e.kind) {
		case EV_PONG:
			sim.heard[e.relay] = c.now;
			if (sim.sent_ns[e.relay] && c.now > sim.sent_ns[e.relay]) {
				uint64_t rtt = c.now - sim.sent_ns[e.relay];

				sim.srtt_ns[e.relay] = sim.srtt_ns[e.relay] ?
						       (sim.srtt_ns[e.relay] * 7 + rtt) / 8 : rtt;
			}
			break;
		case EV_BOUND:
			ovl_path_on_channel(&c, p, key, OVL_CHANNEL_OK, e.relay + 1);
			break;
		case EV_DATA:
			f->last_rx_ns = c.now;
			break;
		case EV_NAMED:
			sim.heard[e.relay] = c.now;
			ovl_path_on_reach(&c, p, f, key, &a, true);
			break;
		}
	}
}

static unsigned sent(void)
{
	return sim.pings + sim.binds + sim.cands + sim.punches + sim.lookups;
}

/* Relayed with a session, sending every second for `minutes`, every
 * one-way delay in [lo_ms, hi_ms]: the relays replaced, and the
 * datagrams towards relays and M per minute. */
static void run(uint64_t lo_ms, uint64_t hi_ms, uint64_t stall_ms, unsigned minutes, unsigned *replaced,
		unsigned *per_min, uint64_t dead_after_s)
{
	struct ovl_path p;
	struct ovl_path_peer f;
	uint64_t t0, next_tick, next_data, step = 100 * MS;
	unsigned r;

	memset(&sim, 0, sizeof(sim));
	sim.lo_ns = lo_ms * MS;
	sim.hi_ns = hi_ms * MS;
	sim.seed = 19;
	memset(&f, 0, sizeof(f));
	ovl_path_init(&p, M);
	c.ops = &ops;
	c.self = US;
	c.now = 1000 * SEC;
	/* Every relay named by a lookup and measured: a settled overlay. */
	for (r = 0; r < RELAYS; ++r) {
		uint8_t key[32];
		struct ovl_addr a = relay_addr(r);

		relay_key(r, key);
		sim.heard[r] = c.now;
		sim.srtt_ns[r] = sim.lo_ns + sim.hi_ns + (r + 1) * MS;
		ovl_path_on_reach(&c, &p, &f, key, &a, true);
	}
	f.has_session = true;
	t0 = c.now;
	if (dead_after_s)
		sim.dead_ns = t0 + dead_after_s * SEC;
	sim.pings = sim.binds = sim.cands = sim.punches = sim.lookups = sim.replaced = 0;
	/* The daemon's loop as libuv runs it: the expired timers first (the
	 * once-a-second tick), then the socket (what arrived meanwhile),
	 * then our data.  A starved process runs late: after a stall the
	 * tick sees the time before it reads the answers that wait in its
	 * socket. */
	next_tick = next_data = t0 + SEC;
	while (c.now < t0 + (uint64_t)minutes * 60 * SEC) {
		c.now += step;
		if (stall_ms && uniform(10) == 0)
			c.now += uniform((unsigned)stall_ms + 1) * MS;
		if (c.now >= next_tick) {
			ovl_path_tick(&c, &p, &f, true);
			next_tick = c.now + SEC;
		}
		deliver(&p, &f);
		if (c.now >= next_data) {
			/* Data to M through the relay in use; its answer comes
			 * back through the relay after four delays. */
			f.last_data_tx_ns = c.now;
			if (f.routed && p.relay >= 0)
				later(delay() + delay() + delay() + delay(), EV_DATA,
				      relay_of(p.relays[p.relay].key));
			next_data = c.now + SEC;
		}
	}
	*replaced = sim.replaced;
	*per_min = sent() / minutes;
}

/* Delays one way (an answer from a relay takes two, from M four) and
 * the longest stall of our own process. */
static const struct {
	uint64_t lo_ms, hi_ms, stall_ms;
	const char *what;
} late[] = {
	{ 1000, 2500, 0, "relay answers 2-5 s late" },
	{ 2000, 5000, 0, "relay answers 4-10 s late" },
	{ 1000, 2500, 4000, "relay answers 2-5 s late, our process stalls up to 4 s" },
	{ 2000, 5000, 4000, "relay answers 4-10 s late, our process stalls up to 4 s" },
};

static void test_late_answers(void)
{
	unsigned fast_replaced, fast_per_min, replaced, per_min, i;

	run(5, 25, 0, 10, &fast_replaced, &fast_per_min, 0);
	ok(fast_replaced == 0, "answers within 10-50 ms: %u relays replaced in 10 min", fast_replaced);
	diag("answers within 10-50 ms: %u datagrams a minute to the relays and M", fast_per_min);
	for (i = 0; i < sizeof(late) / sizeof(late[0]); ++i) {
		run(late[i].lo_ms, late[i].hi_ms, late[i].stall_ms, 10, &replaced, &per_min, 0);
		ok(replaced == 0, "%s (alive): %u relays replaced in 10 min", late[i].what, replaced);
		/* A silence shorter than the RTT is no reason to ping and
		 * bind every tick (relay_quiet, channel_silent): at most
		 * twice the traffic of fast answers, never growing. */
		ok(per_min <= 2 * fast_per_min, "%s: %u datagrams a minute, at most twice the %u at 10 ms",
		   late[i].what, per_min, fast_per_min);
	}
}

/* R1 (in use) dies after a minute: replaced after the probe's wait,
 * RELAY_PROBE_S at 10 ms, twice the measured RTT when that is longer. */
static void test_dead_relay(void)
{
	unsigned replaced, per_min;
	uint64_t took;

	run(5, 25, 0, 2, &replaced, &per_min, 60);
	took = sim.replaced_ns - sim.dead_ns;
	ok(replaced >= 1 && took <= (uint64_t)(OVL_PATH_RELAY_SUSPECT_S + OVL_PATH_RELAY_PROBE_S + 2) * SEC,
	   "answers within 10-50 ms: a dead relay is replaced %llu ms after it died",
	   (unsigned long long)(took / MS));
	run(1000, 2500, 0, 2, &replaced, &per_min, 60);
	took = sim.replaced_ns - sim.dead_ns;
	/* The member's answers already on their way keep coming for up to
	 * four delays (10 s); then SUSPECT_S without any, then the probe's
	 * wait (twice the RTT, at most 10 s), then the next tick. */
	ok(replaced >= 1 && took > (uint64_t)(OVL_PATH_RELAY_SUSPECT_S + OVL_PATH_RELAY_PROBE_S) * SEC &&
	   took <= (uint64_t)(10 + OVL_PATH_RELAY_SUSPECT_S + 10 + 1) * SEC,
	   "answers 2-5 s late: a dead relay is replaced %llu ms after it died (within %u s)",
	   (unsigned long long)(took / MS), 10 + OVL_PATH_RELAY_SUSPECT_S + 10 + 1);
}

int main(void)
{
	test_late_answers();
	test_dead_relay();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
