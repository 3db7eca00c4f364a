/* The receive counter window (RFC 6479, "IPsec Anti-Replay Algorithm
 * without Bit Shifting").
 *
 * The bitmap is a ring of COUNTER_BITS_TOTAL bits kept as 64-bit words.
 * Counter n is recorded at bit position n + 1, so that the stored
 * "counter" field (one past the highest accepted) is itself the bit
 * position of the highest accepted counter, and the all-zero initial
 * state needs no special case.  When the window slides forward, whole
 * words between the old and the new top are zeroed instead of shifting
 * bits; that is why one word (COUNTER_REDUNDANT_BITS) of the ring is never
 * usable: it may hold the stale low part of the word the top is in. */
#include "proto/wg/replay.h"

#include "proto/wg/messages.h"

#include <string.h>

enum {
	WORD_BITS = 64,
	WORD_SHIFT = 6,
	WORDS = COUNTER_BITS_TOTAL / WORD_BITS,
};

_Static_assert((WORDS & (WORDS - 1)) == 0, "the ring index is masked");
_Static_assert(COUNTER_WINDOW_SIZE == 8128, "RFC 6479 window of the protocol");

void replay_counter_init(struct replay_counter *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_counter_validate(struct replay_counter *r, uint64_t counter)
{
	uint64_t pos, word, top_word, clear, i, bit;

	/* A sender must rekey long before this; counters at or past the
	 * limit are never valid, whatever the window holds. */
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	pos = counter + 1;
	/* Older than the window: it may have been seen, we cannot tell. */
	if (pos + COUNTER_WINDOW_SIZE < r->counter)
		return false;

	word = pos >> WORD_SHIFT;
	if (pos > r->counter) {
		/* Slide forward: every word after the one holding the old top,
		 * up to the new top's word, now describes fresh counters. */
		top_word = r->counter >> WORD_SHIFT;
		clear = word - top_word;
		if (clear > WORDS)
			clear = WORDS;
		for (i = 1; i <= clear; ++i)
			r->backtrack[(top_word + i) & (WORDS - 1)] = 0;
		r->counter = pos;
	}

	bit = UINT64_C(1) << (pos & (WORD_BITS - 1));
	word &= WORDS - 1;
	if (r->backtrack[word] & bit)
		return false;
	r->backtrack[word] |= bit;
	return true;
}
