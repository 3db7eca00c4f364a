/* A WireGuard peer: its keys, handshake, keypairs, endpoint, timers,
 * staged packets and counters.  Created and destroyed only through these
 * functions; the handshake and keypairs are assigned only by noise.c, the
 * timers only by timers.c. */
#ifndef WH_SRC_WG_PEER_H
#define WH_SRC_WG_PEER_H

#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"
#include "src/io/packet.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct wg_device;

struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *list_next, *list_prev;	/* device list */
	struct wg_peer *hash_next;		/* device key hash */

	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	struct noise_handshake handshake;	/* wiped with the peer (calloc'd, as the kernel kzallocs) */
	struct noise_keypairs keypairs;
	uint32_t hs_index;			/* index of the handshake under way */
	struct cookie_maker cookie_maker;

	union wg_sockaddr endpoint;		/* sa_family 0: none */
	/* The owner routes this peer (wh up: through a relay): its datagrams
	 * leave through the owner's output op instead of the socket, and
	 * endpoint holds the address they physically go to (what `wg show`
	 * says).  Any authenticated datagram that arrives directly ends it
	 * (roaming).  A flag here rather than a question to the owner: the
	 * batched send path tests it for every packet, and roaming clears it
	 * where the endpoint moves.  Everything else about the route is the
	 * owner's. */
	bool routed;
	/* While routed: the TCP MSS (0: none) the owner's path carries whole,
	 * to which SYNs to and from the peer are clamped (tcpmss.h). */
	uint16_t route_mss4, route_mss6;
	/* The local address the peer last reached us on, so that replies
	 * leave from it (a multihomed host must not answer from another
	 * address); cleared when the peer stops answering. */
	union wg_pktinfo src;
	bool src_valid;

	/* Packets waiting for a session (bounded by MAX_STAGED_PACKETS). */
	struct pkt *staged_head, *staged_tail;
	unsigned nstaged;

	/* Timers (timers.c owns these). */
	uv_timer_t timer_retransmit_handshake;
	uv_timer_t timer_send_keepalive;
	uv_timer_t timer_new_handshake;
	uv_timer_t timer_zero_key_material;
	uv_timer_t timer_persistent_keepalive;
	unsigned timer_handshake_attempts;
	bool timer_need_another_keepalive;
	bool sent_lastminute_handshake;
	unsigned open_timer_handles;		/* closes pending before free */
	void (*timers_closed)(struct wg_peer *peer);
	uint64_t last_sent_handshake;		/* ns; rate of initiations */
	uint16_t persistent_keepalive_interval;	/* s; 0 = off */

	/* Monotonic ns (0: never) of the last authenticated datagram from
	 * the peer, of the last one that came directly (not relayed), and of
	 * the last data sent to it: path liveness. */
	uint64_t last_rx_ns, last_direct_rx_ns, last_data_tx_ns;

	/* Counters, whole WireGuard messages. */
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_packets, tx_packets;	/* the same messages, counted */
	int64_t last_handshake_sec;		/* wall clock */
	long last_handshake_nsec;

	bool is_dead;
};

/* Creates a peer for key; -EINVAL for a low-order key is NOT an error:
 * the peer exists but never completes a handshake, as in the kernel.
 * -EEXIST when the key is ours or already a peer; -ENOMEM. */
int peer_create(struct wg_device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN],
		struct wg_peer **out);
struct wg_peer *peer_lookup(struct wg_device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
/* Unlinks, wipes and frees (after its timer handles close). */
void peer_remove(struct wg_peer *peer);
void peer_remove_all(struct wg_device *dev);

void peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Sets the endpoint (configuration: UAPI, the node's paths) and makes the
 * peer direct; the cached local source stays while the address does. */
void peer_set_endpoint(struct wg_peer *peer, const union wg_sockaddr *ep);
/* Roaming: an authenticated datagram arrived directly from ep on the local
 * address local (NULL: unknown).  Moves the endpoint through
 * peer_set_endpoint, then replies leave from local. */
void peer_roam(struct wg_peer *peer, const union wg_sockaddr *ep, const union wg_pktinfo *local);
/* The owner routes the peer (its output op sends), through via (the
 * endpoint), with SYNs clamped to mss4/mss6 (0: not clamped);
 * peer_set_endpoint makes it direct again. */
void peer_set_routed(struct wg_peer *peer, const union wg_sockaddr *via, uint16_t mss4,
		     uint16_t mss6);
/* Turning it on sends a keepalive at once (when the device is up). */
void peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval);

/* After our key changed: the handshake goes, the current and next
 * keypairs may no longer send (they still receive, so the remote's
 * traffic keeps arriving until the new handshake), and the next
 * initiation may leave at once. */
void peer_expire_current_keypairs(struct wg_peer *peer);
/* Wipes the handshake and every keypair (zero_key_material, key change). */
void peer_clear_keys(struct wg_peer *peer);
/* Whether the current keypair may still send (valid, within
 * REJECT_AFTER_MESSAGES and REJECT_AFTER_TIME): the peer has a session. */
bool peer_has_session(const struct wg_peer *peer, uint64_t now_ns);
/* Forgets the local address replies to this peer were sent from. */
void peer_clear_source(struct wg_peer *peer);
/* Drops all staged packets. */
void peer_purge_staged(struct wg_peer *peer);
/* Keypairs are allocated per session and wiped when released; release
 * also removes the keypair's index. */
struct noise_keypair *keypair_alloc(void);
void keypair_free(struct noise_keypair *kp);
void peer_keypair_release(struct wg_peer *peer, struct noise_keypair *kp);

/* Derives the session of a completed handshake whose local index is
 * index, repoints the index to the new keypair, installs it (initiator:
 * current; responder: next), releases what it evicts and arms the
 * zero_key_material timer.  false when the handshake is not complete. */
bool peer_begin_session(struct wg_peer *peer, uint32_t index);

/* Stages a packet (taking ownership); the oldest is dropped when full. */
void peer_stage(struct wg_peer *peer, struct pkt *p);

#endif
