/* The overlay's protocol engine, sans-I/O (doc/protocol.md): what a node
 * does with the overlay datagrams it receives and what it sends for the
 * owner's requests.  Above the secure layer (secure.h), the codec
 * (codec.h) and the Kademlia table and lookups (kademlia.h, lookup.h),
 * it holds:
 *   engine.c   dispatch of every datagram, PING/PUNCH/PONG and RTTs;
 *   dht.c      FIND_NODE answers within the amplification budget,
 *              NODES, the lookups and their waiters;
 *   natobs.c   our reflexive address as observers saw it, the NAT
 *              mapping classification, and MAP_PROBE/MAP_SEEN on a
 *              PUBLIC node's second port, both sides;
 *   relay.c    the table of NATed clients, the members' PEERS, relay
 *              admission and the per-sender limits, RELAY/RELAYED and
 *              relay channels;
 *   natround.c the NAT filtering rounds (PROBE_REQ/PROBE), both sides.
 *
 * In: datagrams (bytes, the source address, and where they arrived: the
 * local IP and interface), the time (monotonic for timers, wall clock for
 * the secure layer's counters) and randomness (the rng of the config).  Out:
 * datagrams through ops->send (from the main socket, or from a fresh
 * socket bound to a given local IP for the NAT filtering probes), events
 * through the other ops, and the next deadline (ovl_engine_deadline).
 * What only the host knows (another local IP address, whether an address
 * is our own) is asked through ops as well.  Nothing here reads a clock,
 * opens a socket or logs.
 *
 * Callbacks may call back into the engine only to send (ping, relay,
 * candidates...), never to free it.  Errors: negative errno from setup and
 * sends; a remote peer's bad input is counted in the stats, never more. */
#ifndef WH_PROTO_OVERLAY_ENGINE_H
#define WH_PROTO_OVERLAY_ENGINE_H

#include "proto/overlay/codec.h"
#include "proto/overlay/kademlia.h"
#include "proto/overlay/lookup.h"
#include "proto/overlay/natfilter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ovl_secure;
struct ovl_engine;
struct ovl_stock;

/* Now: the monotonic clock (timers, rates, RTTs) and the wall clock (the
 * secure layer's counters), both in nanoseconds. */
struct ovl_time {
	uint64_t now_ns;
	uint64_t wall_ns;
};

/* A datagram in: its bytes, where it came from, and where it arrived
 * (when the socket told: the local IP, family of src, port 0, and the
 * interface), which a PROBE_REQ's answer needs. */
struct ovl_rx {
	const uint8_t *data;
	size_t len;
	struct ovl_addr src;		/* family 0 or port 0: unusable */
	bool has_local;
	struct ovl_addr local;
	unsigned ifindex;
	/* Not NULL: an overlay datagram a relay forwarded in RELAYED (an
	 * invitation message, on_invite): the relay's key, src its address. */
	const uint8_t *via;
};

struct ovl_engine_ops {
	/* Sends buf to `to`: from the main socket when from_ip is NULL, else
	 * from a fresh socket bound to from_ip (its port 0: any but ours).
	 * Returns >= 0 when it left, a negative errno otherwise. */
	int (*send)(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len);
	/* Another IP address than main_ip (port 0) on interface ifindex, of
	 * its family, usable (ovl_ip_usable): the source of an OTHER_IP
	 * probe.  NULL or false: none. */
	bool (*other_ip)(void *ctx, const struct ovl_addr *main_ip, unsigned ifindex,
			 struct ovl_addr *out);
	/* Whether a is an address of this host with our port. */
	bool (*own_address)(void *ctx, const struct ovl_addr *a);

	/* Events; any may be NULL.  The meaning of each is in
	 * src/node/overlay.h (struct overlay_ops), whose owner they reach. */
	void (*on_contact)(void *ctx, const uint8_t key[32], const struct ovl_addr *addr);
	void (*on_message)(void *ctx, const uint8_t key[32], const struct ovl_addr *addr);
	void (*on_reach)(void *ctx, const uint8_t key[32], const uint8_t via[32],
			 const struct ovl_addr *via_addr);
	void (*on_relayed)(void *ctx, const uint8_t key[32], const uint8_t via[32],
			   const struct ovl_addr *via_addr, const uint8_t *buf, size_t len);
	void (*on_candidates)(void *ctx, const uint8_t key[32], const struct ovl_candidates *c,
			      const uint8_t *via, const struct ovl_addr *via_addr,
			      const struct ovl_addr *seen_as);
	void (*on_punch)(void *ctx, const uint8_t key[32], const struct ovl_addr *addr);
	void (*on_ping)(void *ctx, const uint8_t key[32], const struct ovl_addr *addr);
	void (*on_channel)(void *ctx, const uint8_t relay[32], const uint8_t dst[32],
			   uint8_t status, uint32_t channel);
	/* Every lookup's end (for the owner's log), before its waiter. */
	void (*on_lookup_done)(void *ctx, const struct kad_lookup_result *r);
	/* An invitation message (AUTH, AUTHED: auth.h) from sender, opened
	 * and authenticated, its plaintext undecoded; it touches nothing of
	 * the DHT.  rx->via set: it came through that relay (at rx->src),
	 * rx->len the inner datagram's size.  NULL: counted as unhandled. */
	void (*on_invite)(void *ctx, const uint8_t sender[32], const struct ovl_rx *rx,
			  const uint8_t *plain, size_t len);
};

struct ovl_engine_config {
	const uint8_t *private_key;	/* 32 bytes */
	const char *ns;			/* namespace */
	unsigned workbit;		/* minimum workbit of every sender */
	bool public_node;		/* we answer unsolicited: flag PUBLIC */
	bool relay;			/* flag RELAY (a public node only) */
	uint32_t relay_pps, relay_bps;	/* per-sender relay limits; 0: defaults */
	uint32_t client_slots;		/* NATed clients kept (a power of two); 0: 2048 */
	/* Fills buf with len random bytes (nonces, txids, hash keys). */
	void (*rng)(void *ctx, void *buf, size_t len);
	void *rng_ctx;
};

/* What the engine counts, for `wh show` and `wh inspect`. */
struct ovl_engine_stats {
	uint64_t rx, tx;			/* datagrams */
	uint64_t dropped_secure;		/* see the secure layer's own reasons */
	uint64_t dropped_decode;
	uint64_t unhandled;			/* types this build does not serve */
	uint64_t pings_answered, finds_answered;
	/* PINGs not sent: one to that node and address, that nobody waits
	 * on, left less than half a second ago and is still unanswered. */
	uint64_t pings_coalesced;
	uint64_t send_errors;
	/* Answers (NODES, PONG, CHANNEL_BOUND) to no request of ours to
	 * that key from that address; NODES entries not used (a key below
	 * the workbit, an address named twice) and datagrams held back from
	 * an address only hearsay named; requests too short to answer within
	 * the amplification budget (doc/protocol.md 8.1-8.3). */
	uint64_t dropped_unsolicited, dropped_named, dropped_short;
	/* As a relay: RELAYs forwarded (and their bytes), dropped because
	 * relaying is off, the sender is over its rate, there is no live
	 * validated path to the destination, or the request was malformed
	 * (to itself, to us). */
	uint64_t relay_forwarded, relay_bytes;
	uint64_t relay_dropped_off, relay_dropped_rate, relay_dropped_no_path, relay_dropped_bad;
	/* As an end: RELAYED payloads received, and those dropped (an inner
	 * datagram not from the named source, fragments that never joined). */
	uint64_t relayed_rx, relayed_dropped;
	uint64_t relay_tx;		/* RELAYs we sent */
	uint64_t punches_answered;
	/* Relay channels (doc/protocol.md 9.1).  As a relay: CHANNEL_BINDs
	 * answered (bound or refused), channel datagrams forwarded (also in
	 * relay_forwarded and relay_bytes) and dropped for an unknown
	 * channel or one bound from another address (rate and path drops
	 * are in the relay_dropped_ counters above).  As an end: bindings
	 * granted and refused by our relays. */
	uint64_t channel_binds, channel_forwarded, channel_dropped;
	uint64_t channels_granted, channels_refused;
	/* Who may be relayed to a member (doc/protocol.md 9.3).  As a relay:
	 * RELAYs and CHANNEL_BINDs refused because the destination did not
	 * name the sender in its PEERS (counted apart from the above), PEERS
	 * kept, and PEERS refused (we are no public node, or no room).  As a
	 * member: PEERS sent to our relays. */
	uint64_t relay_dropped_peer, channel_denied;
	uint64_t peers_taken, peers_dropped, peers_sent;
	/* NAT filtering: PROBE_REQs answered, and dropped (we are not
	 * PUBLIC, too short to pay for the answer, over the rate); PROBEs
	 * that answer no request of ours in flight. */
	uint64_t probes_answered, probes_dropped, probes_unexpected;
	/* PONGs whose observed address was not taken: the observer is not
	 * one we trust (ovl_engine_trust_observer). */
	uint64_t observations_untrusted;
	/* NAT mapping from one public node (doc/protocol.md 9.4).  As a
	 * PUBLIC node: MAP_PROBEs answered on the second port, and datagrams
	 * there dropped (a sender we hold no keys for: no DH is spent there;
	 * too short to pay for the answer; not a MAP_PROBE; not opened or
	 * decoded).  As a member: MAP_PROBEs sent, and MAP_SEENs that answer
	 * none of them (or a MAP_PROBE on our main port). */
	uint64_t map_answered, map_dropped;
	uint64_t map_sent, map_unexpected;
};

/* How our NAT maps our socket, from the addresses nodes saw us at (their
 * PONGs, and MAP_SEENs from a PUBLIC node's second port, the last 10
 * minutes), freshest per address they answered from: one address for
 * two or more of them is an endpoint-independent mapping (or no NAT at
 * all, when it is one of our own addresses and our port: one observer is
 * enough for that); several is an endpoint-dependent ("symmetric")
 * mapping.  So one public node at two of its ports is enough; an
 * address-dependent mapping (one port per destination IP address) looks
 * endpoint-independent to it, and only observers at two IP addresses
 * tell those apart. */
enum ovl_nat_mapping {
	OVL_NAT_UNKNOWN,		/* no observer yet; one that saw us translated */
	OVL_NAT_NONE,			/* reachable at our own address */
	OVL_NAT_EIM,			/* endpoint-independent mapping */
	OVL_NAT_EDM,			/* endpoint-dependent mapping */
};

/* What a mapping verdict rests on: observers at distinct IP addresses,
 * and the distinct addresses (IP and port) they answered from; a PUBLIC
 * node's second port makes ports > observers. */
struct ovl_nat_count {
	unsigned observers;
	unsigned ports;
};

int ovl_engine_new(struct ovl_engine **out, const struct ovl_engine_config *cfg,
		   const struct ovl_engine_ops *ops, void *ctx, uint64_t now_ns);
void ovl_engine_free(struct ovl_engine *e);

/* A datagram whose first byte is OVL_MAGIC. */
void ovl_engine_input(struct ovl_engine *e, const struct ovl_rx *rx, struct ovl_time t);
/* A datagram to a PUBLIC node's second port (doc/protocol.md 9.4): the
 * length of the answer written to out, to go back to rx->src from that
 * port, or 0 for none (counted).  Only a MAP_PROBE from a sender whose
 * keys we hold (no DH here), padded to its answer's size, is answered. */
size_t ovl_engine_probe_port_input(struct ovl_engine *e, const struct ovl_rx *rx, struct ovl_time t,
				   uint8_t out[OVL_MAX_DATAGRAM]);
/* The periodic work (lookups, the table, NAT filtering rounds); due at
 * ovl_engine_deadline(), which may move earlier after any call. */
void ovl_engine_tick(struct ovl_engine *e, struct ovl_time t);
uint64_t ovl_engine_deadline(const struct ovl_engine *e);

/* The owner's requests: see src/node/overlay.h for each. */
int ovl_engine_add_bootstrap(struct ovl_engine *e, const uint8_t key[32],
			     const struct ovl_addr *addr, uint64_t now_ns);
typedef void ovl_engine_lookup_cb(void *arg, const struct kad_lookup_result *r);
int ovl_engine_lookup(struct ovl_engine *e, const uint8_t key[32], ovl_engine_lookup_cb *done,
		      void *arg, struct ovl_time t);
unsigned ovl_engine_ask_public(struct ovl_engine *e, const uint8_t key[32], struct ovl_time t);
typedef void ovl_engine_pong_cb(void *arg, const uint8_t key[32], uint32_t rtt_us);
int ovl_engine_ping(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		    ovl_engine_pong_cb *done, void *arg, struct ovl_time t);
int ovl_engine_punch(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		     struct ovl_time t);
void ovl_engine_cancel(struct ovl_engine *e, void *arg);
int ovl_engine_relay_send(struct ovl_engine *e, const uint8_t via[32], const struct ovl_addr *via_addr,
			  const uint8_t dst[32], const uint8_t *buf, size_t len, struct ovl_time t);
int ovl_engine_channel_bind(struct ovl_engine *e, const uint8_t via[32],
			    const struct ovl_addr *via_addr, const uint8_t dst[32], struct ovl_time t);
/* The keys that may reach us through relays (our members): a relay
 * forwards to us only from these (doc/protocol.md 9.3).  Sent at once to
 * the relays we registered with lately, and to any relay we use from now
 * on; call it again when the set changes. */
int ovl_engine_set_peers(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n, struct ovl_time t);
/* Guests: keys that are no members but may reach us through relays (in
 * our PEERS, and taken as peers in RELAYED) until the next call: the
 * aliases of invitations used lately, whose joiner may still ask for the
 * rest of the network file (doc/protocol.md 6.6). */
int ovl_engine_set_guests(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n,
			  struct ovl_time t);
/* Stock WireGuard clients (doc/protocol.md 9.5).  As a relay: the table
 * of the members that take them through us (NULL unless we are a PUBLIC
 * node that relays).  As a member: the keys of the stock clients our
 * relays pass to us (none after new: we register for none; at most
 * OVL_STOCK_CLIENTS_MAX are kept, the count returned; call it before
 * ovl_engine_set_peers, which sends them with our PEERS), and whether we sent PEERS to
 * the relay at addr within a registration's lifetime (a client's
 * datagram is taken only from such a relay). */
struct ovl_stock *ovl_engine_stock(struct ovl_engine *e);
size_t ovl_engine_set_stock_clients(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n);
bool ovl_engine_registered_at(const struct ovl_engine *e, const struct ovl_addr *addr, uint64_t now_ns);
/* Registers our peers with key at addr when it is a relay (it offers
 * relaying in our table) and we have not done so within 30 s.  again: a
 * relay that may have lost them (it pinged us back): only one that holds
 * them at addr, within 2 s.  Each relay gets a filter under its own salt. */
void ovl_engine_register_peers(struct ovl_engine *e, const uint8_t key[32],
			       const struct ovl_addr *addr, bool again, struct ovl_time t);
int ovl_engine_send_candidates(struct ovl_engine *e, const uint8_t dst[32], const uint8_t *via,
			       const struct ovl_addr *via_addr, const struct ovl_candidates *c,
			       struct ovl_time t);
void ovl_engine_probe_reflexive(struct ovl_engine *e, struct ovl_time t);

/* Seals and sends an invitation message (plain: its type in the
 * invitation range, built by auth.h) to key: at `to` when via is NULL,
 * else through the relay via at `to`, in one RELAY (-EMSGSIZE when the
 * sealed message is over OVL_RELAY_MAX_CHUNK). */
int ovl_engine_send_invite(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
			   const uint8_t *via, const uint8_t *plain, size_t len, struct ovl_time t);
/* From now on we are a node behind a NAT (no flag PUBLIC, no relaying):
 * the node of `wh join`, which runs with no member line of its own, so
 * that the relays it uses keep a validated path to it (doc/protocol.md
 * 6.6). */
void ovl_engine_behind_nat(struct ovl_engine *e);

/* Relay channel data to us as a relay (payload_len: the WireGuard
 * datagram after the channel header), from `from` (family 0: unknown):
 * true and *to set when it goes on to the channel's destination. */
bool ovl_engine_channel_forward(struct ovl_engine *e, uint32_t channel, const struct ovl_addr *from,
				size_t payload_len, uint64_t now_ns, struct ovl_addr *to);

/* Read-only views. */
size_t ovl_engine_channels_live(const struct ovl_engine *e, uint64_t now_ns);
/* Channel bindings ended for a quota, and taken for a lighter address in
 * a full range (relaychan.h). */
void ovl_engine_channel_evictions(const struct ovl_engine *e, uint64_t *quota, uint64_t *fair);
size_t ovl_engine_clients_live(const struct ovl_engine *e, uint64_t now_ns);
bool ovl_engine_offers_relay(const struct ovl_engine *e, const uint8_t key[32]);
bool ovl_engine_relaying(const struct ovl_engine *e);
bool ovl_engine_reflexive(const struct ovl_engine *e, struct ovl_addr *out);
enum ovl_nat_mapping ovl_engine_nat_mapping(const struct ovl_engine *e, uint64_t now_ns,
					    struct ovl_nat_count *count);
enum ovl_filtering ovl_engine_nat_filtering(const struct ovl_engine *e, unsigned *observers);
uint32_t ovl_engine_rtt_us(const struct ovl_engine *e, const uint8_t key[32]);
const struct kad_table *ovl_engine_table(const struct ovl_engine *e);
/* Behind a NAT: our anchors, the up to n public nodes nearest our key that
 * we heard (kad_table_anchors: the caller PINGs each, and each PING is a
 * liveness check, so an anchor that left is evicted and replaced). */
size_t ovl_engine_anchors(struct ovl_engine *e, size_t n, struct kad_contact *out, uint64_t now_ns);
/* Keys we trust as observers of our address (members, the network
 * file's boot nodes): once one is chosen, only their PONGs count for our
 * reflexive address and NAT mapping, so that a stranger that answers our
 * PING with a false address cannot change the verdict.  0, or -ENOMEM. */
int ovl_engine_trust_observer(struct ovl_engine *e, const uint8_t key[32], bool trusted);
const struct ovl_engine_stats *ovl_engine_stats(const struct ovl_engine *e);
const struct ovl_secure *ovl_engine_secure(const struct ovl_engine *e);

#endif
