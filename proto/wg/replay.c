/* WireGuard's receive counter window: the common window with the one rule
 * of WireGuard's own, the message limit. */
#include "proto/wg/replay.h"

#include "proto/wg/messages.h"

_Static_assert(REPLAY_RING_WORDS(COUNTER_WINDOW_COUNTERS) == 8192 / 64,
	       "the kernel's 8192-bit ring, a power of two: no division per packet");

void replay_counter_init(struct replay_counter *r)
{
	replay_window_reset(&r->window);
}

bool replay_counter_validate(struct replay_counter *r, uint64_t counter)
{
	/* A sender must rekey long before this; counters at or past the
	 * limit are never valid, whatever the window holds. */
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	return replay_window_validate(&r->window, r->ring, COUNTER_WINDOW_COUNTERS, counter);
}

bool replay_counter_exhausted(const struct replay_counter *r)
{
	return r->window.valid && r->window.top >= REJECT_AFTER_MESSAGES - 1;
}
