/* Birthday probing's schedules (proto/overlay/birthday.c): the hard
 * side's rounds of sockets and its winner; the easy side's ports (each
 * once, all in 1024-65535), its pace and its bounds; and, against a
 * simulated NAT that gave the hard side's 256 sockets random ports, how
 * often and how soon the easy side's probes meet one (the analysis in
 * birthday.h).  Deterministic: tap_rand. */
#include "proto/overlay/birthday.h"
#include "test/tap.h"

#include <string.h>

#define SEC UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define T0 (UINT64_C(1700000000) * SEC)

static struct ovl_addr addr4(uint8_t d, uint16_t port)
{
	struct ovl_addr a;
	const uint8_t ip[4] = { 198, 51, 100, d };

	ovl_addr_set_v4(&a, ip, port);
	return a;
}

static void test_hard(void)
{
	struct ovl_bday_hard h;
	struct ovl_addr peer = addr4(7, 40000), none;
	uint16_t idx[100];
	size_t n, total = 0;
	bool order = true;
	unsigned i;

	memset(&none, 0, sizeof(none));
	ok(!ovl_bday_hard_start(&h, &peer, 0, T0) && !ovl_bday_hard_start(&h, &peer, 257, T0) &&
	   !ovl_bday_hard_start(&h, &none, 8, T0), "no sockets, too many, no peer: refused");
	ok(ovl_bday_hard_due(&h, T0, idx, 100) == 0 && ovl_bday_hard_deadline(&h, T0) == 0,
	   "a refused start probes nothing");
	ok(ovl_bday_hard_start(&h, &peer, 256, T0), "start with 256 sockets");
	ok(ovl_bday_hard_deadline(&h, T0) == T0, "due at once");
	while ((n = ovl_bday_hard_due(&h, T0, idx, 100)) > 0) {
		for (i = 0; i < n; ++i)
			order = order && idx[i] == total + i;
		total += n;
	}
	ok(total == 256 && order, "the first round: every socket once, in order (%zu)", total);
	ok(ovl_bday_hard_deadline(&h, T0) == T0 + 2 * SEC, "the next round in 2 s");
	ok(ovl_bday_hard_due(&h, T0 + SEC, idx, 100) == 0, "nothing before it");
	total = 0;
	while ((n = ovl_bday_hard_due(&h, T0 + 2 * SEC + 5 * MS, idx, 100)) > 0)
		total += n;
	ok(total == 256, "the second round: every socket again (%zu)", total);
	ok(ovl_bday_hard_deadline(&h, T0 + 3 * SEC) == T0 + 4 * SEC + 5 * MS,
	   "rounds 2 s apart from when the round began");
	ok(!ovl_bday_hard_on_rx(&h, 256, T0 + 3 * SEC), "a socket out of range is no winner");
	ok(ovl_bday_hard_on_rx(&h, 37, T0 + 3 * SEC) && h.winner == 37, "the peer's datagram on socket 37: "
	   "the winner");
	ok(!ovl_bday_hard_on_rx(&h, 38, T0 + 3 * SEC) && h.winner == 37, "a later one on 38 is not");
	ok(ovl_bday_hard_due(&h, T0 + 5 * SEC, idx, 100) == 0 &&
	   ovl_bday_hard_deadline(&h, T0 + 5 * SEC) == 0, "after the winner: no rounds, no deadline");

	ok(ovl_bday_hard_start(&h, &peer, 4, T0), "again with 4 sockets");
	ok(ovl_bday_hard_due(&h, T0, idx, 100) == 4, "4 a round");
	ok(ovl_bday_hard_deadline(&h, T0 + 44 * SEC) == T0 + 44 * SEC, "late rounds are due at once");
	ok(ovl_bday_hard_deadline(&h, T0 + 44 * SEC + 500 * MS) == T0 + 44 * SEC + 500 * MS &&
	   ovl_bday_hard_due(&h, T0 + 44 * SEC + 500 * MS, idx, 100) == 4,
	   "one round for a caller that comes late");
	ok(ovl_bday_hard_deadline(&h, T0 + 45 * SEC - MS) == T0 + 45 * SEC,
	   "the deadline is the end of the 45 s");
	ok(ovl_bday_hard_due(&h, T0 + 45 * SEC, idx, 100) == 0 &&
	   !ovl_bday_hard_on_rx(&h, 1, T0 + 45 * SEC) && ovl_bday_hard_deadline(&h, T0 + 45 * SEC) == 0,
	   "after 45 s: over, no winner");
}

static void test_easy(void)
{
	static uint8_t seen[65536];
	struct ovl_bday_easy e;
	struct ovl_addr hard = addr4(9, 0), to[64], none;
	uint8_t rnd[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint64_t now = T0, per_s[64] = { 0 };
	unsigned i, repeats = 0, out_of_range = 0, wrong_ip = 0, max_per_s = 0, steps = 0;
	size_t n, sent = 0;

	memset(&none, 0, sizeof(none));
	ok(!ovl_bday_easy_start(&e, &none, rnd, T0), "no address: refused");
	ok(ovl_bday_easy_start(&e, &hard, rnd, T0), "start (the hard side's IP, port 0)");
	n = ovl_bday_easy_next(&e, now, to, 64);
	ok(n == OVL_BDAY_BURST, "a burst of %d at once (%zu)", OVL_BDAY_BURST, n);
	ok(ovl_bday_easy_next(&e, now, to, 64) == 0, "then nothing at the same instant");
	ok(ovl_bday_easy_deadline(&e, now) == now + 10 * MS, "the next one in 10 ms (%llu ns)",
	   (unsigned long long)(ovl_bday_easy_deadline(&e, now) - now));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; ++i)
		seen[to[i].port] = 1;
	sent = n;
	per_s[0] = n;
	/* Called at every deadline until the probing ends. */
	for (;;) {
		uint64_t d = ovl_bday_easy_deadline(&e, now);

		if (!d)
			break;
		now = d;
		n = ovl_bday_easy_next(&e, now, to, 64);
		++steps;
		for (i = 0; i < n; ++i) {
			repeats += seen[to[i].port];
			seen[to[i].port] = 1;
			out_of_range += to[i].port < 1024;
			wrong_ip += !ovl_addr_same_ip(&to[i], &hard);
		}
		per_s[(now - T0) / SEC] += n;
		sent += n;
		if (steps > 100000)
			break;
	}
	for (i = 0; i < 64; ++i)
		if (per_s[i] > max_per_s)
			max_per_s = (unsigned)per_s[i];
	ok(sent == OVL_BDAY_PROBES, "%d probes in all (%zu)", OVL_BDAY_PROBES, sent);
	ok(repeats == 0 && out_of_range == 0 && wrong_ip == 0,
	   "each port once, all in 1024-65535, all to the hard side's IP (%u %u %u)", repeats, out_of_range,
	   wrong_ip);
	ok(max_per_s <= OVL_BDAY_RATE + OVL_BDAY_BURST, "at most %d a second (%u)",
	   OVL_BDAY_RATE + OVL_BDAY_BURST, max_per_s);
	ok(now - T0 >= 40 * SEC && now - T0 <= 42 * SEC, "4,096 at 100 a second take about 41 s (%.1f s)",
	   (double)(now - T0) / SEC);
	ok(ovl_bday_easy_next(&e, now + SEC, to, 64) == 0, "then nothing");

	ok(ovl_bday_easy_start(&e, &hard, rnd, T0), "again");
	ovl_bday_easy_next(&e, T0, to, 64);
	ovl_bday_easy_stop(&e);
	ok(ovl_bday_easy_next(&e, T0 + SEC, to, 64) == 0 && ovl_bday_easy_deadline(&e, T0 + SEC) == 0,
	   "stopped: nothing more");
	ok(ovl_bday_easy_start(&e, &hard, rnd, T0), "again, called seldom");
	ok(ovl_bday_easy_next(&e, T0 + 44 * SEC, to, 64) == OVL_BDAY_BURST,
	   "a late caller gets one burst, not the backlog");
	ok(ovl_bday_easy_next(&e, T0 + 45 * SEC, to, 64) == 0 && ovl_bday_easy_deadline(&e, T0 + 45 * SEC) == 0,
	   "after 45 s: over");
}

/* The orders of many starts: each a permutation (the multiplier prime to
 * 64,512), and they differ. */
static void test_orders(void)
{
	struct ovl_bday_easy e;
	struct ovl_addr hard = addr4(9, 0), to[1];
	unsigned i, bad = 0, same_first = 0;
	uint16_t first_prev = 0;

	for (i = 0; i < 2000; ++i) {
		uint8_t rnd[8];
		uint64_t r = tap_rand();

		memcpy(rnd, &r, 8);
		ovl_bday_easy_start(&e, &hard, rnd, T0);
		bad += e.mul % 2 == 0 || e.mul % 3 == 0 || e.mul % 7 == 0 || e.mul >= 64512 || e.add >= 64512;
		ovl_bday_easy_next(&e, T0, to, 1);
		same_first += i && to[0].port == first_prev;
		first_prev = to[0].port;
	}
	ok(bad == 0, "2,000 starts: every multiplier prime to 64,512 (%u not)", bad);
	ok(same_first < 5, "their first ports differ (%u repeats of the previous)", same_first);
}

/* A NAT that gave the hard side's 256 sockets random distinct ports;
 * the easy side probes until one meets.  The analysis: 1,000 probes miss
 * about 2% of the time, 4,096 about never. */
static void test_meet(void)
{
	static uint8_t open[65536];
	struct ovl_bday_easy e;
	struct ovl_addr hard = addr4(9, 0), to[16];
	unsigned trial, met = 0, within_1000 = 0, i;
	uint64_t probes_sum = 0;

	for (trial = 0; trial < 500; ++trial) {
		uint64_t now = T0, r = tap_rand();
		uint8_t rnd[8];
		unsigned opened = 0, probes = 0;
		bool hit = false;
		size_t n;

		memset(open, 0, sizeof(open));
		while (opened < 256) {
			uint16_t p = (uint16_t)(1024 + tap_rand() % 64512);

			opened += !open[p];
			open[p] = 1;
		}
		memcpy(rnd, &r, 8);
		ovl_bday_easy_start(&e, &hard, rnd, now);
		while (!hit && (now = ovl_bday_easy_deadline(&e, now)) != 0) {
			n = ovl_bday_easy_next(&e, now, to, 16);
			for (i = 0; i < n && !hit; ++i) {
				++probes;
				hit = open[to[i].port];
			}
		}
		if (hit) {
			++met;
			probes_sum += probes;
			within_1000 += probes <= 1000;
		}
	}
	ok(met == 500, "all 500 trials met within 4,096 probes (%u)", met);
	ok(within_1000 >= 475, "at least 95%% within 1,000 probes (%u of 500; the analysis: about 98%%)",
	   within_1000);
	diag("probes to meet, mean %.0f (the analysis: 64,512 / 257 = about 251)",
	     met ? (double)probes_sum / met : 0.0);
}

int main(void)
{
	test_hard();
	test_easy();
	test_orders();
	test_meet();
	return tap_done();
}
