/* The one anti-replay window of the protocol cores (RFC 6479, "IPsec
 * Anti-Replay Algorithm without Bit Shifting"): WireGuard's receive
 * counter of a keypair (proto/wg/replay.h) and the overlay secure
 * layer's per-sender window (proto/overlay/secure.c) are both this, with their
 * own sizes.
 *
 * A window remembers the highest counter accepted (top) and which of the
 * `counters` counters top - (counters - 1) .. top were accepted; anything
 * older is refused, since it may have been seen.  The check and the
 * commit are apart, so that a caller checks before it pays for the AEAD
 * and records only a counter that authenticated; a caller that has
 * already authenticated does both with replay_window_validate.
 *
 * The bitmap is kept in a ring that the caller sizes and owns next to the
 * state, REPLAY_RING_WORDS(counters) words, so each protocol pays only for
 * its own window.  Pure data, no locking: the owner serialises access. */
#ifndef WH_PROTO_COMMON_REPLAY_H
#define WH_PROTO_COMMON_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* The words of the ring of a window of `counters` counters.  The word the
 * top is in may also hold the stale low bits of a word one turn older, so
 * the ring has one word more than the window needs. */
#define REPLAY_RING_WORDS(counters) (((counters) - 1 + 63) / 64 + 1)

struct replay_window {
	uint64_t top;		/* the highest counter accepted, when valid */
	bool valid;		/* false: nothing accepted, every counter is new */
};

/* Forgets every counter: the next one starts the window.  The ring needs
 * no clearing; the first commit clears it. */
void replay_window_reset(struct replay_window *w);
/* Whether counter is new to the window: above the top, or within
 * `counters` of it and not yet accepted.  Changes nothing. */
bool replay_window_check(const struct replay_window *w, const uint64_t *ring,
			 uint64_t counters, uint64_t counter);
/* Records counter, which replay_window_check accepted; sliding the window
 * forward forgets what falls out of it. */
void replay_window_commit(struct replay_window *w, uint64_t *ring, uint64_t counters,
			  uint64_t counter);
/* Check and commit at once: true when counter was new (and is now
 * recorded). */
bool replay_window_validate(struct replay_window *w, uint64_t *ring, uint64_t counters,
			    uint64_t counter);

#endif
