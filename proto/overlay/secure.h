/* The overlay's secure layer (doc/protocol.md, "Datagram", "Keys",
 * "Replay protection", "Workbit"): seals a plaintext (type || body) to a
 * peer's static key and opens datagrams from anyone in the network.
 *
 * Sans-I/O: the wall clock (nanoseconds since the Unix epoch) is passed
 * in; nothing here reads a clock or touches a socket.  The one random
 * draw is the key of the peer table's hash (SipHash, so that chosen keys
 * cannot collide on purpose); it changes no output.
 *
 * Ownership: only secure.c reads or writes a struct ovl_secure.  It
 * holds our static identity, the namespace, the workbit threshold and a
 * bounded table of peers (directional keys, send counter, replay window),
 * evicting the least recently used; keys live in sodium_malloc memory and
 * are wiped on eviction and on free.  Not thread-safe: the owner (the
 * daemon's loop) serialises calls.
 *
 * Errors: setup and sealing return negative errno; opening returns an
 * enum ovl_drop (OVL_ACCEPT or the reason a datagram was dropped, for
 * the caller to count; every reason is also counted in the stats). */
#ifndef WH_PROTO_OVERLAY_SECURE_H
#define WH_PROTO_OVERLAY_SECURE_H

#include "proto/overlay/overlay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ovl_secure;

struct ovl_secure_config {
	const uint8_t *private_key;	/* 32 bytes, copied (clamped by X25519) */
	const char *ns;			/* the namespace, 1..OVL_NAMESPACE_MAX bytes */
	size_t ns_len;
	unsigned workbit;		/* minimum workbit of senders, 0..256 */
	size_t capacity;		/* peers kept, 1..OVL_SECURE_MAX_CAPACITY; 0: default */
	/* Counters below this are never sent: a value saved from a previous
	 * run (ovl_secure_counter_floor) survives a clock stepped back
	 * across a restart.  0 when there is none. */
	uint64_t counter_floor;
	/* Optional bound: drop counters more than this ahead of our clock
	 * (OVL_DROP_SKEW).  0 turns it off, the default: a node whose clock
	 * is wrong must still be able to talk to us. */
	uint64_t max_ahead_ns;
	/* A sender's replay window is forgotten after this much silence
	 * (no packet accepted from it); 0: OVL_RX_IDLE_RESET_SEC. */
	uint64_t rx_idle_reset_ns;
};

enum {
	OVL_SECURE_DEFAULT_CAPACITY = 1024,
	OVL_SECURE_MAX_CAPACITY = 1 << 16,
};

enum ovl_drop {
	OVL_ACCEPT = 0,
	OVL_DROP_SHORT,			/* shorter than a header, a type byte and a tag */
	OVL_DROP_LONG,			/* longer than OVL_MAX_DATAGRAM */
	OVL_DROP_NOT_OVERLAY,		/* byte 0 is not OVL_MAGIC */
	OVL_DROP_VERSION,		/* byte 1 is not OVL_VERSION */
	OVL_DROP_SELF,			/* our own key as the sender */
	OVL_DROP_WORKBIT,		/* sender below the network's workbit (no DH done) */
	OVL_DROP_BAD_KEY,		/* sender key of low order: DH gives zero */
	OVL_DROP_REPLAY,		/* counter seen or behind the window */
	OVL_DROP_SKEW,			/* counter beyond max_ahead_ns (when enabled) */
	OVL_DROP_AUTH,			/* AEAD failed: forged, damaged, other namespace */
	OVL_DROP_BUFFER,		/* the caller's plaintext buffer is too small */
	OVL_DROP_MAX,
};

struct ovl_secure_stats {
	uint64_t sealed;
	uint64_t open_results[OVL_DROP_MAX];	/* by result, OVL_ACCEPT included */
	uint64_t dh;			/* X25519 computations (new peers) */
	uint64_t evictions;
};

/* 0, -EINVAL (bad config), -ENOMEM. */
int ovl_secure_new(struct ovl_secure **out, const struct ovl_secure_config *cfg);
/* Wipes every key and frees; NULL is allowed. */
void ovl_secure_free(struct ovl_secure *sec);

/* Seals plain (type || body, 1..OVL_MAX_PLAINTEXT bytes) to peer_pk into
 * out (plain may be out + OVL_HEADER_LEN, sealing in place; no other
 * overlap); returns the datagram's length (plain_len + OVL_OVERHEAD) or
 * -EINVAL (peer is us, or of low order), -EMSGSIZE (plain too long or
 * empty, out too small), -EOVERFLOW (counter exhausted).  A peer's first
 * seal computes the DH and starts its counter at max(now, floor). */
long ovl_secure_seal(struct ovl_secure *sec, const uint8_t peer_pk[OVL_KEY_LEN],
		      const uint8_t *plain, size_t plain_len, uint64_t now_wall_ns,
		      uint8_t *out, size_t outmax);

/* Opens a datagram.  On OVL_ACCEPT sender_pk holds the authenticated
 * sender and plain its plaintext (*plain_len bytes, at least 1); plain
 * must hold len - OVL_OVERHEAD bytes (OVL_MAX_PLAINTEXT always does) and
 * may be dgram + OVL_HEADER_LEN (opening in place; no other overlap).
 * On a drop nothing is committed and plain holds nothing usable. */
enum ovl_drop ovl_secure_open(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
			       uint64_t now_wall_ns, uint8_t sender_pk[OVL_KEY_LEN],
			       uint8_t *plain, size_t plainmax, size_t *plain_len);

/* Whether state (keys) for pk is cached: the daemon may rate-limit
 * datagrams from unknown senders, which cost a DH, before opening them. */
bool ovl_secure_has_peer(const struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN]);
/* Wipes and drops pk's state (a peer removed from the network). */
void ovl_secure_forget(struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN]);
void ovl_secure_public_key(const struct ovl_secure *sec, uint8_t pk[OVL_KEY_LEN]);
/* One more than the highest counter ever sent: save it and pass it back
 * as counter_floor after a restart (optional; see the config). */
uint64_t ovl_secure_counter_floor(const struct ovl_secure *sec);
const struct ovl_secure_stats *ovl_secure_stats(const struct ovl_secure *sec);
const char *ovl_drop_name(enum ovl_drop d);

#endif
