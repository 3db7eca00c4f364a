/* The receive counter window of a keypair: the common window
 * (proto/common/replay.h) at WireGuard's size, an 8192-bit ring of which
 * 8128 bits are usable, checked only after a packet has authenticated.
 * Pure data, no locking: the owner serialises access. */
#ifndef WH_PROTO_WG_REPLAY_H
#define WH_PROTO_WG_REPLAY_H

#include "proto/common/replay.h"

#include <stdbool.h>
#include <stdint.h>

enum {
	/* As the kernel and wireguard-go: a counter up to this far below
	 * the highest accepted one may still arrive. */
	COUNTER_WINDOW_SIZE = 8192 - 64,
	COUNTER_WINDOW_COUNTERS = COUNTER_WINDOW_SIZE + 1,
};

struct replay_counter {
	struct replay_window window;
	uint64_t ring[REPLAY_RING_WORDS(COUNTER_WINDOW_COUNTERS)];
};

void replay_counter_init(struct replay_counter *r);
/* true (and the counter recorded) when counter is new, inside the window
 * and below REJECT_AFTER_MESSAGES; false for a replay or a stale one. */
bool replay_counter_validate(struct replay_counter *r, uint64_t counter);
/* Whether the last counter the limit allows (REJECT_AFTER_MESSAGES - 1)
 * was accepted: the keypair can receive nothing more. */
bool replay_counter_exhausted(const struct replay_counter *r);

#endif
