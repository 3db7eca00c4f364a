/* The receive counter window against the sequence of the Linux kernel's
 * self-test, drivers/net/wireguard/selftest/counter.c (torvalds/linux):
 * its 34 numbered cases, then its six window-edge runs.  Every run starts
 * from a fresh window, as the kernel's T_INIT does. */
#include "proto/wg/messages.h"
#include "proto/wg/replay.h"
#include "test/tap.h"

#include <inttypes.h>

#define LIM ((uint64_t)COUNTER_WINDOW_SIZE + 1)
#define RAM REJECT_AFTER_MESSAGES

static const struct {
	uint64_t counter;
	bool valid;
} numbered[] = {
	/*  1 */ { 0, true },
	/*  2 */ { 1, true },
	/*  3 */ { 1, false },
	/*  4 */ { 9, true },
	/*  5 */ { 8, true },
	/*  6 */ { 7, true },
	/*  7 */ { 7, false },
	/*  8 */ { LIM, true },
	/*  9 */ { LIM - 1, true },
	/* 10 */ { LIM - 1, false },
	/* 11 */ { LIM - 2, true },
	/* 12 */ { 2, true },
	/* 13 */ { 2, false },
	/* 14 */ { LIM + 16, true },
	/* 15 */ { 3, false },
	/* 16 */ { LIM + 16, false },
	/* 17 */ { LIM * 4, true },
	/* 18 */ { LIM * 4 - (LIM - 1), true },
	/* 19 */ { 10, false },
	/* 20 */ { LIM * 4 - LIM, false },
	/* 21 */ { LIM * 4 - (LIM + 1), false },
	/* 22 */ { LIM * 4 - (LIM - 2), true },
	/* 23 */ { LIM * 4 + 1 - LIM, false },
	/* 24 */ { 0, false },
	/* 25 */ { RAM, false },
	/* 26 */ { RAM - 1, true },
	/* 27 */ { RAM, false },
	/* 28 */ { RAM - 1, false },
	/* 29 */ { RAM - 2, true },
	/* 30 */ { RAM + 1, false },
	/* 31 */ { RAM + 2, false },
	/* 32 */ { RAM - 2, false },
	/* 33 */ { RAM - 3, true },
	/* 34 */ { 0, false },
};

/* Runs counters first..last (stepping by +1 or -1) expecting each to be
 * accepted; reports the first failure only, so a loop of 8k is one line. */
static void run(struct replay_counter *r, uint64_t first, uint64_t last, const char *name)
{
	uint64_t n = first;
	bool all = true;

	for (;;) {
		if (!replay_counter_validate(r, n)) {
			all = false;
			diag("%s: counter %" PRIu64 " refused", name, n);
			break;
		}
		if (n == last)
			break;
		n = first < last ? n + 1 : n - 1;
	}
	ok(all, "%s", name);
}

static void expect(struct replay_counter *r, uint64_t n, bool valid, const char *name)
{
	ok(replay_counter_validate(r, n) == valid, "%s: %" PRIu64 " %s", name, n,
	   valid ? "accepted" : "refused");
}

int main(void)
{
	struct replay_counter r;
	const uint64_t w = COUNTER_WINDOW_SIZE;
	size_t i;

	ok(REJECT_AFTER_MESSAGES == UINT64_MAX - 8192, "REJECT_AFTER_MESSAGES is 2^64 - 2^13 - 1 (whitepaper, wireguard-go)");

	replay_counter_init(&r);
	for (i = 0; i < sizeof(numbered) / sizeof(numbered[0]); ++i)
		ok(replay_counter_validate(&r, numbered[i].counter) == numbered[i].valid,
		   "kernel case %zu: counter %" PRIu64 " %s", i + 1, numbered[i].counter,
		   numbered[i].valid ? "accepted" : "refused");

	/* Ascending 1..W, then 0 is exactly at the bottom edge. */
	replay_counter_init(&r);
	run(&r, 1, w, "edge 1: ascending 1..W");
	expect(&r, 0, true, "edge 1");
	expect(&r, 0, false, "edge 1");

	/* Ascending 2..W+1, then 1 is at the edge and 0 just past it. */
	replay_counter_init(&r);
	run(&r, 2, w + 1, "edge 2: ascending 2..W+1");
	expect(&r, 1, true, "edge 2");
	expect(&r, 0, false, "edge 2");

	/* Descending from the top: W, W-1, ..., 0 all fit. */
	replay_counter_init(&r);
	run(&r, w, 0, "edge 3: descending W..0");

	/* Descending W+1..1 fits; 0 is one past the window. */
	replay_counter_init(&r);
	run(&r, w + 1, 1, "edge 4: descending W+1..1");
	expect(&r, 0, false, "edge 4");

	/* Descending W..1, then the top moves up by one and 0 falls out. */
	replay_counter_init(&r);
	run(&r, w, 1, "edge 5: descending W..1");
	expect(&r, w + 1, true, "edge 5");
	expect(&r, 0, false, "edge 5");

	/* Descending W..1, 0 while it still fits, then the top moves. */
	replay_counter_init(&r);
	run(&r, w, 1, "edge 6: descending W..1");
	expect(&r, 0, true, "edge 6");
	expect(&r, w + 1, true, "edge 6");

	/* Our own: a jump of more than the whole ring clears every word, so
	 * nothing stale from the old window shows through. */
	replay_counter_init(&r);
	run(&r, 0, 200, "jump: 0..200");
	expect(&r, 1000000, true, "jump");
	expect(&r, 1000000 - 8192, false, "jump: below the window");
	expect(&r, 1000000 - w, true, "jump: bottom of the window");
	/* 999428 = 4 + 122 turns of the 8192-bit ring: the very bit that
	 * counter 4 set before the jump. */
	expect(&r, 999428, true, "jump: same ring bit as old counter 4");
	expect(&r, 1000000, false, "jump: replay of the top");

	/* The message limit: the keypair is spent once the last counter it
	 * allows was received, and not before (noise.c then stops it). */
	replay_counter_init(&r);
	ok(!replay_counter_exhausted(&r), "limit: a fresh window is not spent");
	expect(&r, RAM - 2, true, "limit");
	ok(!replay_counter_exhausted(&r), "limit: REJECT_AFTER_MESSAGES - 2 received, not spent");
	expect(&r, RAM - 1, true, "limit");
	ok(replay_counter_exhausted(&r), "limit: REJECT_AFTER_MESSAGES - 1 received, spent");
	expect(&r, RAM - 3, true, "limit: still a window below it");

	return tap_done();
}
