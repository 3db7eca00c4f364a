/* The anti-replay window (RFC 6479).
 *
 * Counter c is bit c % 64 of ring word (c / 64) % words.  When the window
 * slides forward, the whole words between the old top's and the new top's
 * are zeroed instead of shifting every bit: sliding costs at most one
 * pass over the ring, however far it goes, and nothing when it stays in
 * the top's word.  Since the top's word is zeroed only as a whole when the
 * top enters it, its bits below the top may be stale by one turn of the
 * ring; that is why the ring has one word more than the window
 * (REPLAY_RING_WORDS), and why a counter older than the window is refused
 * by its distance from the top before its bit is looked at. */
#include "proto/common/replay.h"

#include <string.h>

/* The ring word of counter c.  WireGuard's ring is a power of two, which
 * the mask serves without a division on the data path; the overlay's is
 * not, and pays the division on its control messages only. */
static uint64_t word_of(uint64_t words, uint64_t c)
{
	uint64_t i = c >> 6;

	return (words & (words - 1)) == 0 ? i & (words - 1) : i % words;
}

void replay_window_reset(struct replay_window *w)
{
	w->top = 0;
	w->valid = false;
}

bool replay_window_check(const struct replay_window *w, const uint64_t *ring,
			 uint64_t counters, uint64_t counter)
{
	uint64_t words = REPLAY_RING_WORDS(counters);

	if (!w->valid || counter > w->top)
		return true;
	if (w->top - counter >= counters)
		return false;
	return !(ring[word_of(words, counter)] >> (counter & 63) & 1);
}

void replay_window_commit(struct replay_window *w, uint64_t *ring, uint64_t counters,
			  uint64_t counter)
{
	uint64_t words = REPLAY_RING_WORDS(counters);
	uint64_t from, to, i;

	if (!w->valid) {
		memset(ring, 0, words * sizeof(*ring));
		w->top = counter;
		w->valid = true;
	} else if (counter > w->top) {
		/* Every word after the old top's, up to the new top's, now
		 * stands for counters never seen; a slide of a whole ring or
		 * more clears all of it. */
		from = (w->top >> 6) + 1;
		to = counter >> 6;
		if (to >= from && to - from + 1 >= words)
			memset(ring, 0, words * sizeof(*ring));
		else
			for (i = from; i <= to; ++i)
				ring[word_of(words, i << 6)] = 0;
		w->top = counter;
	} else if (w->top - counter >= counters) {
		return;
	}
	ring[word_of(words, counter)] |= UINT64_C(1) << (counter & 63);
}

bool replay_window_validate(struct replay_window *w, uint64_t *ring, uint64_t counters,
			    uint64_t counter)
{
	if (!replay_window_check(w, ring, counters, counter))
		return false;
	replay_window_commit(w, ring, counters, counter);
	return true;
}
