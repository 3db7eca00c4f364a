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
 * Admission (doc/protocol.md 4.1): a datagram from a sender we hold no
 * keys for costs an X25519.  ovl_secure_open_from spends them within a
 * global budget and one per source address; beyond it, or for a key and
 * address whose datagram failed authentication lately (a small negative
 * cache), it asks for a proof of address instead: a cookie reply (no DH,
 * no state, no larger than the datagram, within a budget of its own),
 * whose cookie the sender then adds as mac2 to what it seals to us.
 * Senders we hold keys for are never slowed.  The cookie secret is a
 * random draw, the reply salts a counter from a random start.
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

struct ovl_addr;
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
	/* DH for senders we hold no keys for (ovl_secure_open_from): per
	 * second and burst, in all and per source address (IPv4 address,
	 * IPv6 /64); 0: the OVL_SECURE_DH_ defaults.  UINT32_MAX as a rate:
	 * unlimited. */
	uint32_t dh_rate, dh_burst;
	uint32_t dh_source_rate, dh_source_burst;
	/* Cookie replies, per second and burst, in all (a flood beyond it is
	 * dropped unanswered: the replies cost a MAC, an AEAD and a send
	 * each); 0: the OVL_SECURE_COOKIE_ defaults. */
	uint32_t cookie_rate, cookie_burst;
};

enum {
	OVL_SECURE_DEFAULT_CAPACITY = 1024,
	OVL_SECURE_MAX_CAPACITY = 1 << 16,
	OVL_SECURE_DH_RATE = 1000,		/* about 5% of a core */
	OVL_SECURE_DH_BURST = 200,
	OVL_SECURE_DH_SOURCE_RATE = 20,
	OVL_SECURE_DH_SOURCE_BURST = 40,
	OVL_SECURE_COOKIE_RATE = 2000,		/* about as many new nodes a second under load */
	OVL_SECURE_COOKIE_BURST = 500,
	OVL_SECURE_SOURCES = 4096,		/* source budgets kept (shared on collision) */
	OVL_SECURE_NEGATIVE = 4096,		/* failed key and address pairs kept */
	OVL_SECURE_NEGATIVE_SEC = 10,		/* how long one is kept */
	OVL_SECURE_COOKIE_SECRET_SEC = 120,	/* the cookie secret's lifetime */
	OVL_SECURE_COOKIE_USE_SEC = 110,	/* a sender uses a cookie this long */
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
	OVL_DROP_LOAD,			/* unknown sender over the DH budget, no proof of address */
	OVL_DROP_FAILED,		/* key and address failed lately, no proof of address */
	OVL_DROP_COOKIE,		/* a cookie reply, taken: not a message */
	OVL_DROP_BAD_COOKIE,		/* a cookie reply that answers nothing of ours */
	OVL_DROP_MAX,
};

struct ovl_secure_stats {
	uint64_t sealed;
	uint64_t open_results[OVL_DROP_MAX];	/* by result, OVL_ACCEPT included */
	uint64_t dh;			/* X25519 computations (new peers) */
	uint64_t evictions;
	uint64_t cookie_replies;	/* sent (asked for a proof of address) */
	uint64_t cookie_shed;		/* owed one, over the cookie budget: none sent */
	uint64_t mac2_valid;		/* unknown senders that proved their address */
	uint64_t mac2_sealed;		/* our datagrams that carried a cookie */
};

/* 0, -EINVAL (bad config), -ENOMEM. */
int ovl_secure_new(struct ovl_secure **out, const struct ovl_secure_config *cfg);
/* Wipes every key and frees; NULL is allowed. */
void ovl_secure_free(struct ovl_secure *sec);

/* Seals plain (type || body, 1..OVL_MAX_PLAINTEXT bytes) to peer_pk into
 * out (plain may be out + OVL_HEADER_LEN, sealing in place; no other
 * overlap); returns the datagram's length (plain_len + OVL_OVERHEAD) or
 * -EINVAL (peer is us, or of low order), -EMSGSIZE (plain too long or
 * empty, out too small), -EOVERFLOW (counter exhausted).  While we hold a
 * fresh cookie from the peer and it fits (1280 bytes, outmax), the
 * datagram carries it as mac2: OVL_MAC_LEN bytes more.  A peer's first
 * seal computes the DH and starts its counter at max(now, floor). */
long ovl_secure_seal(struct ovl_secure *sec, const uint8_t peer_pk[OVL_KEY_LEN],
		      const uint8_t *plain, size_t plain_len, uint64_t now_wall_ns,
		      uint8_t *out, size_t outmax);

/* Opens a datagram, admitting anyone (no budget; see
 * ovl_secure_open_from).  On OVL_ACCEPT sender_pk holds the authenticated
 * sender and plain its plaintext (*plain_len bytes, at least 1); plain
 * must hold len - OVL_OVERHEAD bytes (OVL_MAX_PLAINTEXT always does) and
 * may be dgram + OVL_HEADER_LEN (opening in place; no other overlap).
 * On a drop nothing is committed and plain holds nothing usable. */
enum ovl_drop ovl_secure_open(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
			       uint64_t now_wall_ns, uint8_t sender_pk[OVL_KEY_LEN],
			       uint8_t *plain, size_t plainmax, size_t *plain_len);

/* Where a datagram came from, for the admission of unknown senders:
 * addr (NULL when unknown, a relayed datagram: the global budget alone,
 * no cookie) and the monotonic clock (the budgets, the cookie secret's
 * age).  reply (OVL_COOKIE_REPLY_LEN bytes, may be NULL) receives a cookie
 * reply to send back to addr; reply_len is its length, 0 for none. */
struct ovl_secure_src {
	const struct ovl_addr *addr;
	uint64_t now_ns;
	uint8_t *reply;
	size_t reply_len;
};

/* ovl_secure_open with the admission of unknown senders (see the top)
 * and cookie replies taken (OVL_DROP_COOKIE: the next seal to their
 * sender carries mac2).  ovl_secure_open is this without a source: no
 * budget, no cookie (tests and vectors that admit what they open). */
enum ovl_drop ovl_secure_open_from(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
				    struct ovl_secure_src *src, uint64_t now_wall_ns,
				    uint8_t sender_pk[OVL_KEY_LEN], uint8_t *plain,
				    size_t plainmax, size_t *plain_len);

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
