/* The receive counter window of a keypair (RFC 6479 style): an 8192-bit
 * ring of which 8128 bits are usable, checked only after a packet has
 * authenticated.  Pure data, no locking: the owner serialises access. */
#ifndef WH_PROTO_WG_REPLAY_H
#define WH_PROTO_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	COUNTER_BITS_TOTAL = 8192,
	COUNTER_REDUNDANT_BITS = 64,
	COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS,
};

struct replay_counter {
	uint64_t counter;	/* one past the highest counter accepted */
	uint64_t backtrack[COUNTER_BITS_TOTAL / 64];
};

void replay_counter_init(struct replay_counter *r);
/* true (and the counter recorded) when counter is new, inside the window
 * and below REJECT_AFTER_MESSAGES; false for a replay or a stale one. */
bool replay_counter_validate(struct replay_counter *r, uint64_t counter);

#endif
