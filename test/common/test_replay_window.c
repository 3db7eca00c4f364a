/* The common anti-replay window (proto/common/replay.h) against a naive
 * model, the set of every counter accepted, at the sizes the protocols
 * use (the overlay's 1024 counters on a 17-word ring, WireGuard's 8129 on
 * a 128-word one) and at the smallest ones, where every slide wraps the
 * ring; then its edges, one by one. */
#include "proto/common/replay.h"
#include "test/tap.h"

#include <inttypes.h>

/* xorshift: reproducible choices. */
static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum { RANGE = 1 << 22, STEPS = 30000, MAX_WORDS = 128 };

/* The model: a bitmap over [base, base + RANGE) of the counters
 * accepted, and the top.  Nothing clever: a counter is new when nothing
 * was accepted, when it is above the top, or when it is less than
 * `counters` below the top and not in the set. */
static uint8_t seen[RANGE / 8];

static bool model_new(uint64_t base, bool any, uint64_t top, uint64_t counters, uint64_t c)
{
	uint64_t i = c - base;

	if (!any || c > top)
		return true;
	if (top - c >= counters)
		return false;
	return !(seen[i / 8] >> (i % 8) & 1);
}

static void model_run(uint64_t counters, uint64_t base, const char *what)
{
	struct replay_window w;
	uint64_t ring[MAX_WORDS];
	uint64_t top = base, hi = base + RANGE - 1, span = counters + counters / 8 + 70;
	unsigned mism = 0, acc = 0, step;
	bool any = false;

	memset(seen, 0, sizeof(seen));
	/* Garbage in the ring: the first commit must clear it. */
	memset(ring, 0xa5, sizeof(ring));
	replay_window_reset(&w);
	for (step = 0; step < STEPS; ++step) {
		uint64_t r = next(), d = (r >> 2) % span, c;
		bool want, got;

		switch (r % 4) {
		case 0:		/* behind the top, around the window's edge */
			c = top - base >= d ? top - d : base;
			break;
		case 1:		/* a little ahead */
			c = top + 1 + d % 70;
			break;
		case 2: {	/* the window's last counter and the first two out */
			uint64_t age = counters - 1 + d % 3;

			c = top - base >= age ? top - age : base;
			break;
		}
		default:	/* steps ahead, now and then past a whole ring */
			c = (r >> 2) % 16 ? top + d % 200 : top + 2 * span + d;
			break;
		}
		if (c > hi)
			c = hi;
		want = model_new(base, any, top, counters, c);
		got = replay_window_check(&w, ring, counters, c);
		if (got != want && mism++ < 5)
			diag("%s: counter top%+" PRId64 ": window says %d, model %d", what,
			     (int64_t)(c - top), got, want);
		/* Validate is check and commit at once: the same answer. */
		if (replay_window_validate(&w, ring, counters, c) != want)
			++mism;
		if (want) {
			seen[(c - base) / 8] |= (uint8_t)(1u << ((c - base) % 8));
			if (!any || c > top)
				top = c;
			any = true;
			++acc;
		}
		if (top > hi - 4 * span)
			break;		/* the model's range is used up */
	}
	ok(mism == 0 && acc > 100, "%s: %u steps agree with the naive set (%u accepted)",
	   what, step, acc);
}

static void test_edges(void)
{
	struct replay_window w;
	uint64_t ring[REPLAY_RING_WORDS(1024)];
	const uint64_t n = 1024, t = UINT64_C(1) << 62;

	ok(REPLAY_RING_WORDS(1024) == 17 && REPLAY_RING_WORDS(8129) == 128 &&
	   REPLAY_RING_WORDS(65) == 2 && REPLAY_RING_WORDS(64) == 2 && REPLAY_RING_WORDS(1) == 1,
	   "ring sizes: one word more than the window needs");

	replay_window_reset(&w);
	ok(replay_window_validate(&w, ring, n, t), "the first counter starts the window");
	ok(!replay_window_validate(&w, ring, n, t), "and is not accepted twice");
	ok(replay_window_validate(&w, ring, n, t - 1023), "1023 below the top: inside");
	ok(!replay_window_check(&w, ring, n, t - 1024), "1024 below the top: outside");
	ok(replay_window_check(&w, ring, n, t - 1024) == replay_window_check(&w, ring, n, t - 1024),
	   "a check changes nothing");
	ok(replay_window_validate(&w, ring, n, t + 5000), "a jump past the whole ring");
	ok(replay_window_validate(&w, ring, n, t + 5000 - 1023) &&
	   !replay_window_check(&w, ring, n, t + 5000 - 1024),
	   "the window moved with it, and nothing old is left in the ring");

	replay_window_reset(&w);
	ok(replay_window_validate(&w, ring, n, 0), "counter 0 starts a window");
	ok(!replay_window_validate(&w, ring, n, 0), "counter 0 only once");
	ok(replay_window_validate(&w, ring, n, UINT64_MAX), "the highest counter");
	ok(!replay_window_validate(&w, ring, n, UINT64_MAX), "the highest counter only once");
	ok(replay_window_validate(&w, ring, n, UINT64_MAX - 1023) &&
	   !replay_window_check(&w, ring, n, UINT64_MAX - 1024), "and its window's edge");
	replay_window_reset(&w);
	ok(replay_window_validate(&w, ring, n, 7), "after a reset every counter is new again");
}

int main(void)
{
	test_edges();
	model_run(1024, UINT64_C(1) << 40, "the overlay's window (1024 counters, 17 words)");
	model_run(1024, UINT64_C(1700000000) * 1000000000u, "the overlay's, at a clock's counters");
	model_run(8129, 0, "WireGuard's window (8129 counters, 128 words)");
	model_run(64, 12345, "64 counters on 2 words");
	model_run(65, 0, "65 counters on 2 words");
	model_run(129, 0, "129 counters on 3 words");
	model_run(1, 0, "1 counter on 1 word");
	model_run(1024, UINT64_MAX - RANGE + 1, "the overlay's window at the top of the counter space");
	return tap_done();
}
