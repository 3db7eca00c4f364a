/* How one member is reached (doc/protocol.md 9), sans-I/O: directly, or
 * through a relay while no direct path works, with candidate exchange and
 * hole punching between them.  Per member a struct ovl_path; events go in
 * with the current time and the facts of the member's WireGuard peer
 * (struct ovl_path_peer, filled by the caller); actions come out through
 * struct ovl_path_ops.  No socket, no clock, no WireGuard peer in here:
 * the daemon's glue is src/node/paths.c.
 *
 *   a node names the member behind a NAT (ovl_path_on_reach)
 *       -> relay candidates; the one with the lowest RTT carries the
 *          traffic at once (route), and CANDIDATES go through it
 *   CANDIDATES both ways -> PUNCH every 200 ms to every candidate, 20 rounds
 *   PONG to a PUNCH or PING (ovl_path_on_contact, a validated address)
 *       -> the path becomes direct (make_direct); the session carries on
 *   direct path silent while we send -> probe after 5 s, back to the relay
 *       after 9 s (fallback), a new exchange later; a silent relay -> the
 *       next one by RTT, CANDIDATES through it at once; no candidate
 *       left -> lookups of the member, the first relay they name
 *   the member's CANDIDATES through another relay than ours -> a
 *       CHANNEL_BIND there, so that its channel data passes (9.1, step
 *       4); its first authenticated datagram there moves us
 *
 * The state (enum ovl_path_state) sums up what the path is after each
 * event and is moved in one place (path_settle in path.c).  Decisions
 * read the peer's facts too, since the device may change the endpoint on
 * its own (roaming on an authenticated datagram). */
#ifndef WH_PROTO_OVERLAY_PATH_H
#define WH_PROTO_OVERLAY_PATH_H

#include "proto/overlay/addr.h"

#include <stdbool.h>
#include <stdint.h>

enum {
	OVL_PATH_RELAYS = 4,		/* relay candidates per member */
	OVL_PATH_CANDS = 24,		/* addresses to punch */
	OVL_PATH_PUNCH_INTERVAL_MS = 200,
	OVL_PATH_PUNCH_ROUNDS = 20,
	OVL_PATH_PUNCH_ROUNDS_ANSWER = 5,	/* punching back at an unexpected PUNCH */
	OVL_PATH_EXCHANGE_MIN_S = 10,	/* CANDIDATES per member, at most this often */
	OVL_PATH_EXCHANGE_MAX_S = 300,	/* retries back off to this while relayed */
	OVL_PATH_RELAY_PING_S = 5,	/* a relay in use is pinged this often ... */
	OVL_PATH_RELAY_DEAD_S = 25,	/* ... and replaced after this silence */
	OVL_PATH_RELAY_SUSPECT_S = 4,	/* sending, nothing back this long: ask the relay */
	OVL_PATH_RELAY_PROBE_S = 3,	/* ... and replace it if it does not answer in this (or 2 RTTs) */
	OVL_PATH_RELAY_NAMED_S = 600,	/* a relay candidate is forgotten after this */
	OVL_PATH_RELAY_LOOKUP_S = 5,	/* no candidate left: look the member up this often */
	OVL_PATH_RENDEZVOUS_S = 60,	/* a node named the member this recently */
	OVL_PATH_DIRECT_FRESH_S = 5,	/* a validated direct address is kept this long */
	OVL_PATH_DIRECT_SUSPECT_S = 5,	/* sending, nothing back: probe the path */
	OVL_PATH_DIRECT_DEAD_S = 9,	/* ... and fall back to the relay */
	OVL_PATH_SENDING_S = 3,		/* data sent this recently: we are sending */
	OVL_PATH_NAT_KEEPALIVE_S = 25,	/* below the usual 30 s UDP NAT timeout */
	OVL_PATH_CHANNEL_RENEW_S = 10,	/* a relay channel in use is renewed this often */
	OVL_PATH_CHANNEL_RETRY_S = 2,	/* unanswered CHANNEL_BIND asked again after */
	OVL_PATH_CHANNEL_REFUSED_S = 30,	/* a refused one after */
	OVL_PATH_CHANNEL_SILENT_S = 1,	/* sending, nothing back this long: ask again ... */
	OVL_PATH_CHANNEL_ASK_MIN_MS = 500,	/* ... every tick, and at a PING of the relay's */
	OVL_PATH_RELAY_BUSY_S = 10,	/* received through the relay this recently, ... */
	OVL_PATH_RELAY_QUIET_S = 1,	/* ... nothing since this long: ping it every tick */
};

enum ovl_path_state {
	OVL_PATH_NONE,		/* no relay in use and no direct path */
	OVL_PATH_RELAYED,	/* through a relay */
	OVL_PATH_PUNCHING,	/* punch rounds left, not direct yet */
	OVL_PATH_DIRECT,	/* direct to a validated address */
	OVL_PATH_FALLBACK,	/* back on a relay after the direct path died */
};

/* A node that has a live path to the member and may relay to it. */
struct ovl_path_relay {
	uint8_t key[32];
	struct ovl_addr addr;
	uint64_t named_ns;		/* last named (NODES, RELAYED, CANDIDATES) */
	uint64_t pinged_ns;		/* last liveness ping while in use */
	uint64_t since_ns;		/* in use since */
	uint64_t probed_ns;		/* last PING because traffic went unanswered */
	/* Its channel to the member (doc/protocol.md 9.1): the number (0:
	 * none; kept only while valid, so that the data path need not read
	 * the clock), when it was granted or renewed, when we last asked,
	 * and whether the last answer was a lasting refusal. */
	uint32_t chan;
	uint64_t chan_ns, chan_asked_ns;
	uint8_t chan_refused;		/* the lasting refusal's status, or 0 */
};

/* One member's path.  All times are monotonic ns, 0 = never.  Only
 * path.c writes it. */
struct ovl_path {
	uint8_t key[32];			/* the member's */
	enum ovl_path_state state;
	struct ovl_path_relay relays[OVL_PATH_RELAYS];
	unsigned n_relays;
	int relay;				/* in use, or -1 */
	uint64_t direct_ok_ns;			/* last PONG on the direct path */
	struct ovl_addr cands[OVL_PATH_CANDS];	/* its candidate addresses */
	unsigned n_cands;
	unsigned n_pred;			/* the first n_pred of cands were PREDICTED (9.7) */
	uint64_t cands_txid;			/* the exchange they came with */
	/* The last node that named it (a live path to it: a rendezvous for
	 * CANDIDATES even when that node does not relay). */
	uint8_t rv_key[32];
	struct ovl_addr rv_addr;
	uint64_t rv_ns;				/* 0: none */
	unsigned punch_rounds;			/* left */
	uint64_t txid;				/* our last CANDIDATES */
	uint64_t next_exchange_ns, exchange_backoff_ns;
	uint64_t relayed_at_ns, direct_at_ns;	/* first relayed / direct path */
};

/* The member's WireGuard peer as the caller sees it now.  The core
 * updates routed and endpoint after its own route and make_direct
 * actions, so that the rest of the event sees them. */
struct ovl_path_peer {
	bool has_session;
	bool routed;			/* the owner's relay carries it */
	bool handshaking;		/* an initiation awaits its answer */
	struct ovl_addr endpoint;	/* family 0: none */
	uint64_t last_rx_ns, last_direct_rx_ns, last_data_tx_ns;
	uint16_t keepalive_s;		/* its persistent keepalive interval */
};

/* The actions.  member is always the path's key. */
struct ovl_path_ops {
	void (*ping)(void *ctx, const uint8_t key[32], const struct ovl_addr *addr);
	void (*punch)(void *ctx, const uint8_t member[32], const struct ovl_addr *addr);
	/* Call ovl_path_punch_tick every OVL_PATH_PUNCH_INTERVAL_MS, from
	 * now, until it returns false for every member. */
	void (*punch_start)(void *ctx);
	/* Our candidates with txid and flags (OVL_CANDIDATES_REPLY or 0). */
	void (*send_candidates)(void *ctx, const uint8_t member[32], const uint8_t via[32],
				const struct ovl_addr *via_addr, uint64_t txid, uint8_t flags);
	void (*channel_bind)(void *ctx, const uint8_t relay[32], const struct ovl_addr *relay_addr,
			     const uint8_t member[32]);
	void (*make_direct)(void *ctx, const uint8_t member[32], const struct ovl_addr *addr);
	/* Datagrams to the member go through the relay at relay_addr (in
	 * its channel while ovl_path_relay_in_use has a number). */
	void (*route)(void *ctx, const uint8_t member[32], const struct ovl_addr *relay_addr);
	/* new_path: the path changed before any session, so the initiation
	 * that went the old way is likely lost. */
	void (*plan_handshake)(void *ctx, const uint8_t member[32], bool new_path);
	void (*keepalive)(void *ctx, const uint8_t member[32]);
	void (*set_keepalive)(void *ctx, const uint8_t member[32], uint16_t interval_s);
	/* Look the member up (at_once: whatever the lookup back-off says). */
	void (*lookup)(void *ctx, const uint8_t member[32], bool at_once);
	/* Queries: a node's measured RTT (0: none) and when we last heard it. */
	uint64_t (*rtt_us)(void *ctx, const uint8_t key[32]);
	uint64_t (*heard_ns)(void *ctx, const uint8_t key[32]);
	/* A line about the member (info: else debug). */
	void (*log)(void *ctx, const uint8_t member[32], bool info, const char *msg);
	/* len random bytes (the exchange ids): randomness comes in, as the
	 * time does, so that tests and simulators choose it. */
	void (*rng)(void *ctx, void *buf, size_t len);
};

struct ovl_path_ctx {
	const struct ovl_path_ops *ops;
	void *ctx;
	uint64_t now;
	const uint8_t *self;	/* our own key (32 bytes), never a relay; NULL: unknown */
};

void ovl_path_init(struct ovl_path *p, const uint8_t key[32]);

/* ---- events ---- */

/* A PONG from the member at addr (validated). */
void ovl_path_on_contact(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
			 const struct ovl_addr *addr);
/* The member wrote to us from addr. */
void ovl_path_on_message(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
			 const struct ovl_addr *addr);
/* Node via (at via_addr) named the member behind a NAT; via_relays: it
 * offers to relay. */
void ovl_path_on_reach(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		       const uint8_t via[32], const struct ovl_addr *via_addr, bool via_relays);
/* A datagram of the member came wrapped in RELAY through via. */
void ovl_path_on_relayed(const struct ovl_path_ctx *c, struct ovl_path *p, const uint8_t via[32],
			 const struct ovl_addr *via_addr);
/* The member's CANDIDATES (cands: n valid addresses of usable types, the
 * first n_pred of them PREDICTED), through via when not NULL, seen_as:
 * the address the relay saw it at. */
void ovl_path_on_candidates(const struct ovl_path_ctx *c, struct ovl_path *p,
			    struct ovl_path_peer *f, uint64_t txid, uint8_t flags,
			    const struct ovl_addr *cands, unsigned n, unsigned n_pred,
			    const uint8_t *via,
			    const struct ovl_addr *via_addr, bool via_relays,
			    const struct ovl_addr *seen_as);
/* Our NAT's ports became predictable (doc/protocol.md 9.7): an exchange
 * made before carried no PREDICTED ports, so a relayed member gets a new
 * one now rather than at the next backoff. */
void ovl_path_on_predictable(const struct ovl_path_ctx *c, struct ovl_path *p,
			     struct ovl_path_peer *f);
/* A PUNCH from the member at addr. */
void ovl_path_on_punch(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		       const struct ovl_addr *addr);
/* A PING from the public node key at addr. */
void ovl_path_on_public_ping(const struct ovl_path_ctx *c, struct ovl_path *p,
			     struct ovl_path_peer *f, const uint8_t key[32],
			     const struct ovl_addr *addr);
/* The relay's answer to CHANNEL_BIND (status: OVL_CHANNEL_*). */
void ovl_path_on_channel(const struct ovl_path_ctx *c, struct ovl_path *p, const uint8_t relay[32],
			 uint8_t status, uint32_t channel);
/* An authenticated datagram of the member came through the relay at
 * relay_addr. */
void ovl_path_on_relayed_rx(const struct ovl_path_ctx *c, struct ovl_path *p,
			    struct ovl_path_peer *f, const struct ovl_addr *relay_addr);
/* Our own way out changed (a TCP path closed: UDP answers again), so
 * punching may work where it could not: the exchange backoff starts over
 * and CANDIDATES go at the next tick. */
void ovl_path_on_network(struct ovl_path *p);
/* Once a second; natted: we are behind a NAT. */
void ovl_path_tick(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		   bool natted);
/* Every OVL_PATH_PUNCH_INTERVAL_MS while punching: whether rounds are
 * left. */
bool ovl_path_punch_tick(const struct ovl_path_ctx *c, struct ovl_path *p,
			 const struct ovl_path_peer *f);
/* Behind a NAT, the public nodes nearest our key must keep a mapping to
 * us: whether it is time to ping them (then next one in 25 s). */
bool ovl_path_anchors_due(uint64_t *next_ns, uint64_t now);

/* ---- accessors ---- */

/* The relay in use, or NULL. */
const struct ovl_path_relay *ovl_path_relay_in_use(const struct ovl_path *p);
/* Whether addr is the address of one of the member's relays that we
 * asked a channel of (or that granted one): the only sources whose
 * channel datagrams we take (doc/protocol.md 9.1, step 4). */
bool ovl_path_channel_source(const struct ovl_path *p, const struct ovl_addr *addr);

#endif
