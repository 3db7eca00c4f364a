/* The overlay on the device's socket: the protocol engine of
 * proto/overlay (engine.h: the secure layer, the Kademlia table and its
 * lookups, relaying, NAT classification) glued to the loop.  Datagrams
 * whose first byte is 0xff come here from the device's receive path;
 * replies leave from the same socket, so they share the WireGuard port's
 * NAT mappings.
 *
 * The owner (the node) seeds the table with the network file's bootstrap
 * nodes (overlay_add_bootstrap), looks members up by key (overlay_lookup,
 * and overlay_ask_public for one behind a NAT) and hears back through its
 * ops: on_contact when the member itself answers from a validated
 * address, on_reach when a public node can relay to it.  Errors: negative
 * errno. */
#ifndef WH_SRC_NODE_OVERLAY_H
#define WH_SRC_NODE_OVERLAY_H

#include "proto/overlay/codec.h"
#include "proto/overlay/engine.h"
#include "proto/overlay/kademlia.h"
#include "proto/overlay/lookup.h"
#include "proto/overlay/natfilter.h"
#include "src/io/packet.h"
#include "src/wg/device.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct wg_device;
struct ovl_secure;
struct overlay;

struct overlay_config {
	const uint8_t *private_key;	/* 32 bytes */
	const char *ns;			/* namespace */
	unsigned workbit;		/* minimum workbit of every sender */
	bool public_node;		/* we answer unsolicited: flag PUBLIC */
	/* Forwarding of members' WireGuard datagrams (flag RELAY; only a
	 * public node offers it), and its per-source limits: packets and
	 * bytes per second (0: the defaults). */
	bool relay;
	uint32_t relay_pps, relay_bps;
};

struct overlay_ops {
	/* The node with this key answered a request of ours from addr (a
	 * PONG to our PING, the end of a lookup that found it): addr is
	 * validated (doc/protocol.md 8.1), fit to become an endpoint. */
	void (*on_contact)(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr);
	/* Any authenticated message from key at addr: not proof of the
	 * address (a member can replay or spoof), so the owner pings back
	 * before trusting it. */
	void (*on_message)(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr);
	/* A NODES answer from via (at via_addr) named key as a node behind a
	 * NAT: via has a live path to it and can relay to it. */
	void (*on_reach)(void *ctx, const uint8_t key[32], const uint8_t via[32],
			 const union wg_sockaddr *via_addr);
	/* A WireGuard datagram from key, forwarded by the relay via at
	 * via_addr (reassembled when it came in fragments). */
	void (*on_relayed)(void *ctx, const uint8_t key[32], const uint8_t via[32],
			   const union wg_sockaddr *via_addr, const uint8_t *buf, size_t len);
	/* CANDIDATES from key, through the relay via (at via_addr) that saw
	 * key at seen_as; via NULL when it came directly from seen_as. */
	void (*on_candidates)(void *ctx, const uint8_t key[32], const struct ovl_candidates *c,
			      const uint8_t *via, const union wg_sockaddr *via_addr,
			      const union wg_sockaddr *seen_as);
	/* A PUNCH from key arrived from addr (already answered). */
	void (*on_punch)(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr);
	/* A PING from key arrived from addr (already answered).  From a
	 * public node it means that node has no live path to us (it pings
	 * back only then): it restarted, or our NAT mapping moved. */
	void (*on_ping)(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr);
	/* The relay answered our CHANNEL_BIND for dst: status (enum
	 * ovl_channel_status) and, when OK, the channel number. */
	void (*on_channel)(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
			   uint32_t channel);
};

int overlay_new(struct overlay **out, struct wg_device *dev, const struct overlay_config *cfg,
		const struct overlay_ops *ops, void *ctx);
/* Stops the timer and frees everything once the loop closed it. */
void overlay_free(struct overlay *ov);

/* Adds a bootstrap node (its address already resolved). */
int overlay_add_bootstrap(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr);
/* The same for a peer line's node: it seeds the routing table as a boot
 * node does, but is no trusted observer of our NAT mapping. */
int overlay_add_contact(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr);
/* Starts a lookup of key; on_contact reports it when the node itself
 * answers.  done, if not NULL, runs when the lookup ends (r is valid
 * during the call); overlay_cancel(arg) forgets every callback with arg. */
typedef void overlay_lookup_cb(void *arg, const struct kad_lookup_result *r);
int overlay_lookup(struct overlay *ov, const uint8_t key[32], overlay_lookup_cb *done, void *arg);
/* Lookups started by overlay_lookup, and those (of any caller's
 * KAD_KIND_USER) that ended, finding the key or not: for the metrics. */
struct overlay_lookup_stats {
	uint64_t started, found, not_found;
};
const struct overlay_lookup_stats *overlay_lookup_stats(const struct overlay *ov);
/* Asks the (up to three) PUBLIC nodes of our table nearest key, that we
 * heard from, for key at once, outside any lookup: where a lookup of a
 * NATed node ends, and their NODES name it (on_reach) when they have a
 * path to it.  Returns how many were asked. */
unsigned overlay_ask_public(struct overlay *ov, const uint8_t key[32]);
/* Sends a PING to key at addr; done, if not NULL, gets the round trip in
 * microseconds when the PONG arrives (never, if none does: the caller
 * times out and cancels). */
typedef void overlay_pong_cb(void *arg, const uint8_t key[32], uint32_t rtt_us);
int overlay_ping(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr,
		 overlay_pong_cb *done, void *arg);
void overlay_cancel(struct overlay *ov, void *arg);

/* Sends a WireGuard datagram to dst through the relay via at via_addr,
 * in as many RELAY fragments as it needs. */
int overlay_relay_send(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
		       const uint8_t dst[32], const uint8_t *buf, size_t len);
/* Asks the relay via at via_addr for a channel to dst (CHANNEL_BIND, also
 * to renew one); the answer comes through on_channel. */
int overlay_channel_bind(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
			 const uint8_t dst[32]);
/* Our members' keys: the relays we use forward to us only from these
 * (doc/protocol.md 9.3).  Call again when the network file changes. */
int overlay_set_peers(struct overlay *ov, const uint8_t (*keys)[32], size_t n);
/* Keys that are no members but may reach us through relays until the
 * next call (engine.h, ovl_engine_set_guests). */
int overlay_set_guests(struct overlay *ov, const uint8_t (*keys)[32], size_t n);
/* Channels bound at us as a relay and alive now. */
size_t overlay_channels_live(const struct overlay *ov);
/* Bindings ended for a quota, and taken for a lighter address. */
void overlay_channel_evictions(const struct overlay *ov, uint64_t *quota, uint64_t *fair);
/* Sends CANDIDATES to dst: through the relay via at via_addr when via
 * is not NULL, else directly to via_addr. */
int overlay_send_candidates(struct overlay *ov, const uint8_t dst[32], const uint8_t *via,
			    const union wg_sockaddr *via_addr, const struct ovl_candidates *c);
/* Sends a PUNCH to key at addr; the PONG that answers it, if any,
 * reports the address through on_contact (validated). */
int overlay_punch(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr);
/* Invitation messages (AUTH, AUTHED: proto/overlay/auth.h), opened and
 * authenticated, from sender at from, or through the relay via at from
 * (via not NULL); dgram_len is the (inner) datagram's size, which bounds
 * the answer.  reach hears what on_reach hears (key behind a NAT, via
 * can relay to it), for keys that are no members.  src/node/invite.c
 * takes them. */
typedef void overlay_invite_fn(void *ctx, const uint8_t sender[32], const uint8_t *via,
			       const union wg_sockaddr *from, size_t dgram_len, const uint8_t *plain,
			       size_t len);
typedef void overlay_invite_reach_fn(void *ctx, const uint8_t key[32], const uint8_t via[32],
				     const union wg_sockaddr *via_addr);
void overlay_set_invite(struct overlay *ov, overlay_invite_fn *fn, overlay_invite_reach_fn *reach,
			void *ctx);
/* To key at `to`, or through the relay via at `to` (via not NULL). */
int overlay_send_invite(struct overlay *ov, const uint8_t key[32], const uint8_t *via,
			const union wg_sockaddr *to, const uint8_t *plain, size_t len);
/* From now on we are behind a NAT (the node of `wh join`: engine.h,
 * ovl_engine_behind_nat). */
void overlay_behind_nat(struct overlay *ov);
/* Whether key said it forwards members' WireGuard datagrams (its flag
 * RELAY, from its PING or PONG). */
bool overlay_offers_relay(const struct overlay *ov, const uint8_t key[32]);
/* Whether we forward members' WireGuard datagrams (flag RELAY). */
bool overlay_relaying(const struct overlay *ov);

/* A datagram from the socket whose first byte is 0xff. */
/* Returns whether it was an authenticated message (the engine heard its
 * sender). */
bool overlay_input(struct overlay *ov, struct pkt *p);
/* The TCP relay path (src/node/tcppath.c): every datagram the engine
 * sends goes first to fn, which takes those for an address it carries on
 * a stream (true: sent or dropped there); buf NULL only asks whether it
 * would take to.  fn NULL: none. */
typedef bool overlay_divert_fn(void *ctx, const union wg_sockaddr *to, const uint8_t *buf, size_t len);
void overlay_set_divert(struct overlay *ov, overlay_divert_fn *fn, void *ctx);
/* Relay channel data to us (the device's relay_channel_forward, ctx the
 * overlay): true when p was readdressed to the channel's destination. */
bool overlay_channel_forward(void *ctx, struct pkt *p, uint32_t channel);

/* Stock WireGuard clients (doc/protocol.md 9.5). */
enum {
	OVERLAY_STOCK_SEEN = 64,	/* client addresses remembered with their relay */
	OVERLAY_STOCK_CLIENTS = 256,	/* client peers routed through a relay */
};
struct overlay_stock_stats {
	uint64_t rx, tx;		/* client datagrams in and out, as a member */
	uint64_t not_a_relay;		/* CLIENT_FROM_RELAY from no relay of ours */
	uint64_t refused_not_relay;	/* CLIENT_TO_RELAY to a node that is none */
};
struct strbuf;
/* As a member: the keys of the stock clients our network file lists (n
 * 0: none).  With any, we register with every boot node for them, and
 * our relays pass handshakes of those keys only; call it before
 * overlay_set_peers, which sends them.  Returns how many the relays get
 * (at most OVL_STOCK_CLIENTS_MAX, 32: the rest are refused there). */
size_t overlay_set_stock_clients(struct overlay *ov, const uint8_t (*keys)[32], size_t n);
/* As a relay: a WireGuard datagram that is not our device's (the device's
 * foreign op): WG_EXT_SEND readdressed to the member with the client
 * header, _TAKEN refused and counted, _NOT_MINE. */
enum wg_ext_verdict overlay_stock_foreign(struct overlay *ov, struct pkt *p);
/* As a relay: a CLIENT_TO_RELAY from a member; true when p was turned
 * into the inner datagram to the client. */
bool overlay_stock_to_client(struct overlay *ov, struct pkt *p);
/* As a member: a CLIENT_FROM_RELAY; true when it came from a relay we
 * registered with, and p is now the inner datagram from the client's
 * address (counted otherwise). */
bool overlay_stock_from_relay(struct overlay *ov, struct pkt *p);
/* As a member: the client peer key authenticated a datagram from client:
 * it is routed through the relay that address came through lately
 * (false: none). */
bool overlay_stock_client_rx(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *client);
/* As a member: a client peer's datagram into CLIENT_TO_RELAY to its
 * relay (WG_EXT_SEND), or WG_EXT_REFUSED. */
enum wg_ext_verdict overlay_stock_output(struct overlay *ov, const uint8_t key[32],
					 const union wg_sockaddr *client, struct pkt *p);
/* As a member: the relay a client peer's datagrams go through (false:
 * none yet). */
bool overlay_stock_relay_of(const struct overlay *ov, const uint8_t key[32], union wg_sockaddr *relay);
/* The "relay_clients" member of `wh inspect`. */
void overlay_stock_json(const struct overlay *ov, struct strbuf *b);

const struct kad_table *overlay_table(const struct overlay *ov);
/* Behind a NAT: the public nodes to keep our mapping open to (engine.h
 * ovl_engine_anchors); each PING to them checks that they are alive. */
size_t overlay_anchors(struct overlay *ov, size_t n, struct kad_contact *out);
/* What the overlay counts, for `wh show` and `wh inspect` (engine.h). */
const struct ovl_engine_stats *overlay_stats(const struct overlay *ov);
const struct ovl_secure *overlay_secure(const struct overlay *ov);
/* Our address as the last PONG reported it, if any. */
bool overlay_reflexive(const struct overlay *ov, union wg_sockaddr *out);

/* Behind an endpoint-dependent mapping that allocates predictably, the
 * ports of our flows to the peer's first n_pred addresses (its predicted
 * ones), those it will likely give our next flows, then those of our
 * flows to the peer's other addresses (proto/overlay/predict.h): at most
 * max, none when it cannot tell. */
unsigned overlay_predict(const struct overlay *ov, uint16_t local_port, const struct ovl_addr *peer,
			 unsigned n_peer, unsigned n_pred, union wg_sockaddr *out, unsigned max);

/* How our NAT maps our socket: the engine's enum ovl_nat_mapping (see
 * engine.h), under the names the node has always used. */
enum overlay_nat {
	OVERLAY_NAT_UNKNOWN,		/* no observer yet; one that saw us translated */
	OVERLAY_NAT_NONE,		/* reachable at our own address */
	OVERLAY_NAT_EIM,		/* endpoint-independent mapping */
	OVERLAY_NAT_EDM,		/* endpoint-dependent mapping */
};
/* count (may be NULL): the observers and their ports it rests on. */
enum overlay_nat overlay_nat_mapping(const struct overlay *ov, struct ovl_nat_count *count);
const char *overlay_nat_name(enum overlay_nat n);
/* How our NAT filters what comes in (doc/protocol.md 9.2): from the
 * probes a few PUBLIC nodes sent us from other ports and addresses, redone
 * every 10 minutes and when the mapping or the reflexive address changes.  observers: the mapping's when the
 * verdict was made. */
enum ovl_filtering overlay_nat_filtering(const struct overlay *ov, unsigned *observers);
/* Pings up to three nodes of the table at different IP addresses, so
 * that their PONGs tell our reflexive address and mapping. */
void overlay_probe_reflexive(struct overlay *ov);
/* RTT of a node in the table, in microseconds; 0 when unknown. */
uint32_t overlay_rtt_us(const struct overlay *ov, const uint8_t key[32]);

/* The one conversion between the daemon's socket addresses and the
 * overlay core's (struct ovl_addr): false for another family or port 0. */
bool overlay_addr_from_wg(const union wg_sockaddr *a, struct ovl_addr *k);
bool overlay_addr_to_wg(const struct ovl_addr *k, union wg_sockaddr *a);

#endif
