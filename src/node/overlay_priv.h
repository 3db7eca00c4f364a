/* The overlay's state, shared by overlay.c (the engine glued to the loop)
 * and overlay_stock.c (stock WireGuard clients' datagrams, as a relay and
 * as a member).  Nothing outside src/node/overlay*.c includes it. */
#ifndef WH_NODE_OVERLAY_PRIV_H
#define WH_NODE_OVERLAY_PRIV_H

#include "src/node/overlay.h"

#include "proto/overlay/engine.h"
#include "proto/overlay/probetab.h"

/* A client peer's relay, in the routes table (its key hashed: one probe
 * range per datagram).  seq: when it was set, 0 for a free slot. */
struct stock_route {
	uint8_t key[32];
	union wg_sockaddr relay;
	uint64_t seq;
};

struct overlay {
	struct wg_device *dev;
	struct ovl_engine *eng;
	uv_timer_t timer;
	const struct overlay_ops *ops;
	void *ctx;
	/* The datagram being handed to the engine: an address equal to its
	 * source goes back to the owner exactly as the socket reported it
	 * (an IPv6 scope id included). */
	const union wg_sockaddr *rx_addr;
	struct ovl_addr rx_kad;
	/* The boot nodes' addresses, which the device steers to its queue
	 * of known sources (src/wg/steer.c): under a flood of strangers'
	 * datagrams the DHT still hears the public nodes we chose. */
	union wg_sockaddr boot[KNOWN_EXTRA_MAX];
	size_t n_boot;
	struct overlay_lookup_stats lookups;
	/* A PUBLIC node's second port (doc/protocol.md 9.4); NULL when not
	 * public or when the port could not be had. */
	struct probeport *probe_port;
	/* Invitation messages go to src/node/invite.c (overlay_set_invite). */
	overlay_invite_fn *invite_fn;
	overlay_invite_reach_fn *invite_reach;
	void *invite_ctx;
	/* The TCP relay path's (overlay_set_divert), and whether the
	 * datagram being handed to the engine was authenticated. */
	overlay_divert_fn *divert;
	void *divert_ctx;
	bool rx_authed;
	uint8_t boot_key[KNOWN_EXTRA_MAX][32];	/* boot[i]'s */
	/* Stock clients through relays, as a member (doc/protocol.md 9.5):
	 * which relay a client address came through lately (before
	 * WireGuard authenticated it: a ring), and each client peer's relay
	 * (after; named by key, never by pointer). */
	struct stock_seen {
		union wg_sockaddr client, relay;
	} seen[OVERLAY_STOCK_SEEN];
	unsigned seen_next;
	size_t n_stock_clients;		/* the engine's: registered for them */
	struct ovl_probetab routes;	/* of struct stock_route, by key */
	uint64_t route_seq;		/* the last route set's stamp */
	struct overlay_stock_stats stock;
};

#endif
