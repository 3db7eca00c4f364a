/* The handshake rate limiter, driven by a virtual clock.
 *
 * The timing sequence is the expected_results table of the Linux kernel's
 * self-test, drivers/net/wireguard/selftest/ratelimiter.c (torvalds/linux):
 * five packets pass, the sixth is refused, one passes after a 50 ms sleep,
 * two after a 100 ms sleep.  As there, every step also sends from a fresh
 * IPv4 address and a fresh IPv6 /64 (always allowed), and from an IPv6
 * address whose low 64 bits change but whose /64 stays (same bucket, same
 * verdict as the IPv4 source).  The kernel has to retry when the machine
 * oversleeps; a virtual clock makes the run exact.  The capacity test is
 * also the kernel's: with the table emptied, max_entries fresh sources
 * pass and the next one is refused. */
#include "proto/common/gcra.h"
#include "proto/wg/ratelimiter.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#define NS_PER_SEC UINT64_C(1000000000)
#define COST (NS_PER_SEC / RATELIMITER_PACKETS_PER_SECOND)

static const struct {
	bool allowed;
	uint64_t sleep_before_ns;
} expected[] = {
	{ true, 0 }, { true, 0 }, { true, 0 }, { true, 0 }, { true, 0 },
	{ false, 0 },
	{ true, COST },
	{ false, 0 },
	{ true, COST * 2 },
	{ true, 0 },
	{ false, 0 },
};

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void timings_test(struct ratelimiter *rl, uint64_t *now)
{
	uint8_t v4[4], v6[16] = { 0 };
	size_t i;

	put_be32(v4, 8182);
	put_be32(v6, 1212);
	put_be32(v6 + 4, 289188);
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); ++i) {
		*now += expected[i].sleep_before_ns;

		ok(ratelimiter_allow(rl, AF_INET, v4, *now) == expected[i].allowed,
		   "step %zu: v4 source %s", i, expected[i].allowed ? "allowed" : "refused");
		put_be32(v4, get_be32(v4) + (uint32_t)i + 1);
		ok(ratelimiter_allow(rl, AF_INET, v4, *now), "step %zu: another v4 source allowed", i);
		put_be32(v4, get_be32(v4) - (uint32_t)i - 1);

		/* Same /64, another interface identifier each step. */
		put_be32(v6 + 8, (uint32_t)i);
		put_be32(v6 + 12, (uint32_t)i);
		ok(ratelimiter_allow(rl, AF_INET6, v6, *now) == expected[i].allowed,
		   "step %zu: v6 /64 %s", i, expected[i].allowed ? "allowed" : "refused");
		put_be32(v6, get_be32(v6) + (uint32_t)i + 1);
		ok(ratelimiter_allow(rl, AF_INET6, v6, *now), "step %zu: another v6 /64 allowed", i);
		put_be32(v6, get_be32(v6) - (uint32_t)i - 1);
	}
}

static void capacity_test(size_t max)
{
	struct ratelimiter *rl = ratelimiter_new(max);
	uint64_t now = 5 * NS_PER_SEC;
	uint8_t v4[4];
	bool all = true;
	size_t i;

	if (!ok(rl != NULL, "capacity %zu: created", max))
		return;
	for (i = 0; i < max; ++i) {
		put_be32(v4, (uint32_t)i);
		all &= ratelimiter_allow(rl, AF_INET, v4, now);
	}
	ok(all, "capacity %zu: every new source up to the bound allowed", max);
	ok(ratelimiter_count(rl) == max, "capacity %zu: table full (%zu)", max, ratelimiter_count(rl));
	put_be32(v4, (uint32_t)max);
	ok(!ratelimiter_allow(rl, AF_INET, v4, now), "capacity %zu: one more source refused", max);
	put_be32(v4, 0);
	ok(ratelimiter_allow(rl, AF_INET, v4, now), "capacity %zu: a known source still served", max);

	/* Idle for exactly one second is not yet stale; past it, it is. */
	ratelimiter_gc(rl, now + NS_PER_SEC);
	ok(ratelimiter_count(rl) == max, "capacity %zu: gc at 1 s keeps entries", max);
	now += NS_PER_SEC + 1;
	put_be32(v4, 0);
	ok(ratelimiter_allow(rl, AF_INET, v4, now), "capacity %zu: source 0 touched again", max);
	ratelimiter_gc(rl, now);
	ok(ratelimiter_count(rl) == 1, "capacity %zu: gc frees all idle sources (%zu left)", max,
	   ratelimiter_count(rl));

	/* Freed slots are reused: the table fills to the bound again. */
	all = true;
	for (i = 1; i < max; ++i) {
		put_be32(v4, (uint32_t)(i + 1000000));
		all &= ratelimiter_allow(rl, AF_INET, v4, now);
	}
	ok(all && ratelimiter_count(rl) == max, "capacity %zu: refilled after gc", max);
	put_be32(v4, 7);
	ok(!ratelimiter_allow(rl, AF_INET, v4, now), "capacity %zu: and bounded again", max);
	ratelimiter_gc(rl, now + 3 * NS_PER_SEC);
	ok(ratelimiter_count(rl) == 0, "capacity %zu: gc empties the table", max);
	ratelimiter_free(rl);
}

/* Another rate: 64 a second, bursts of 16. */
static void other_rate_test(void)
{
	struct ratelimiter *rl = ratelimiter_new_rate(16, 64, 16);
	const uint64_t cost = NS_PER_SEC / 64;
	uint64_t now = 7 * NS_PER_SEC;
	uint8_t a[4] = { 198, 51, 100, 7 };
	int i, n;

	if (!ok(rl != NULL, "64/s, burst 16: created"))
		return;
	for (n = 0, i = 0; i < 40; ++i)
		n += ratelimiter_allow(rl, AF_INET, a, now);
	ok(n == 16, "64/s: a burst of 16 passes, no more (%d)", n);
	ok(!ratelimiter_allow(rl, AF_INET, a, now + cost - 1), "64/s: not before 1/64 s");
	ok(ratelimiter_allow(rl, AF_INET, a, now + cost), "64/s: one more after 1/64 s");
	now += cost;
	for (n = 0, i = 0; i < 640; ++i, now += cost)
		n += ratelimiter_allow(rl, AF_INET, a, now + cost);
	ok(n == 640, "64/s sustained: all 640 pass (%d)", n);
	ratelimiter_free(rl);
}

/* The single bucket: 10 ms a message, 50 ms deep (a burst of 5). */
static void gcra_test(void)
{
	const uint64_t cost = 10 * 1000000, burst = 5 * cost;
	uint64_t tat = 0, now = 3 * NS_PER_SEC;
	int i, n;

	for (n = 0, i = 0; i < 12; ++i)
		n += gcra_allow(&tat, now, cost, burst);
	ok(n == 5, "gcra: a burst of 5 passes from a full bucket (%d)", n);
	ok(!gcra_allow(&tat, now + cost - 1, cost, burst), "gcra: not before one cost has passed");
	ok(gcra_allow(&tat, now + cost, cost, burst), "gcra: one more after one cost");
	now += cost;
	for (n = 0, i = 0; i < 300; ++i)
		n += gcra_allow(&tat, now += cost, cost, burst);
	ok(n == 300, "gcra: one per cost passes indefinitely (%d)", n);
	for (n = 0, i = 0; i < 300; ++i)
		n += gcra_allow(&tat, now += cost / 2, cost, burst);
	ok(n == 150, "gcra: at twice the rate half pass (%d)", n);
	now += 3600 * NS_PER_SEC;
	for (n = 0, i = 0; i < 12; ++i)
		n += gcra_allow(&tat, now, cost, burst);
	ok(n == 5, "gcra: an hour idle still bursts only 5 (%d)", n);
	ok(!gcra_allow(&tat, now - NS_PER_SEC, cost, burst), "gcra: a clock stepping back grants nothing");
}

int main(void)
{
	struct ratelimiter *rl;
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	uint64_t now = 1000 * NS_PER_SEC;
	int i, n;

	rl = ratelimiter_new(1024);
	if (!ok(rl != NULL, "created"))
		return tap_done();
	timings_test(rl, &now);

	/* After a full second idle the buckets are full again. */
	ratelimiter_gc(rl, now + 2 * NS_PER_SEC);
	ok(ratelimiter_count(rl) == 0, "gc after 2 s idle empties the table");
	now += 2 * NS_PER_SEC;
	timings_test(rl, &now);

	/* A long-idle source (not yet collected) refills only up to the
	 * burst, never beyond. */
	now += 3600 * NS_PER_SEC;
	put_be32(a, 8182);
	for (n = 0, i = 0; i < 20; ++i)
		n += ratelimiter_allow(rl, AF_INET, a, now);
	ok(n == RATELIMITER_PACKETS_BURSTABLE, "an hour idle still bursts only %d (%d)",
	   RATELIMITER_PACKETS_BURSTABLE, n);

	/* Sustained rate: one packet every 50 ms passes indefinitely, at
	 * 40 ms the source falls behind. */
	put_be32(a, 0x0a000001);
	for (n = 0, i = 0; i < 200; ++i, now += COST)
		n += ratelimiter_allow(rl, AF_INET, a, now);
	ok(n == 200, "one packet per 50 ms: all 200 pass");
	put_be32(a, 0x0a000002);
	for (n = 0, i = 0; i < 200; ++i, now += COST * 4 / 5)
		n += ratelimiter_allow(rl, AF_INET, a, now);
	/* The first passes and leaves 4 packets of credit; 199 more steps
	 * add 199 * 0.8 = 159.2, so 163 of them pass: 164 in all. */
	ok(n == 164, "one packet per 40 ms: burst plus 4/5 of the rest pass (%d)", n);

	/* A clock that goes backwards grants nothing. */
	put_be32(a, 0x0a000003);
	for (i = 0; i < RATELIMITER_PACKETS_BURSTABLE; ++i)
		ratelimiter_allow(rl, AF_INET, a, now);
	ok(!ratelimiter_allow(rl, AF_INET, a, now - NS_PER_SEC), "clock stepping back refills nothing");

	/* IPv6: the /64 is the source; the next /64 is another one. */
	a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
	memcpy(b, a, 16);
	for (i = 0; i < RATELIMITER_PACKETS_BURSTABLE; ++i) {
		a[15] = (uint8_t)i;
		a[8] = (uint8_t)(i * 37);
		ratelimiter_allow(rl, AF_INET6, a, now);
	}
	b[15] = 0xee;
	ok(!ratelimiter_allow(rl, AF_INET6, b, now), "v6: another host in the same /64 is limited");
	b[7] = 1;
	ok(ratelimiter_allow(rl, AF_INET6, b, now), "v6: the neighbouring /64 is not");

	/* The families are distinct sources even when bytes coincide. */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	a[0] = 192; a[1] = 0; a[2] = 2; a[3] = 1;
	memcpy(b, a, 4);
	for (i = 0; i < RATELIMITER_PACKETS_BURSTABLE; ++i)
		ratelimiter_allow(rl, AF_INET, a, now);
	ok(!ratelimiter_allow(rl, AF_INET, a, now), "v4 192.0.2.1 exhausted");
	ok(ratelimiter_allow(rl, AF_INET6, b, now), "v6 c000:201:: is a different source");
	ok(!ratelimiter_allow(rl, 12345, a, now), "unknown family refused");
	ratelimiter_free(rl);

	ok(ratelimiter_new(0) == NULL, "zero capacity rejected");
	ok(ratelimiter_new_rate(16, 0, 5) == NULL, "zero rate rejected");
	ok(ratelimiter_new_rate(16, 3, 5) == NULL, "a rate that does not divide 10^9 rejected");
	ok(ratelimiter_new_rate(16, 64, 0) == NULL, "zero burst rejected");
	other_rate_test();
	gcra_test();
	capacity_test(1);
	capacity_test(100);
	capacity_test(20000);
	return tap_done();
}
