/* The five timers of each peer, driven by named events (see timers.c for
 * what each one does). */
#ifndef WH_SRC_WG_TIMERS_H
#define WH_SRC_WG_TIMERS_H

#include <stdint.h>

struct wg_peer;

/* Initialises the handles; timers_stop before the peer is freed, and
 * timers_close to release the handles (the peer is freed when
 * peer->open_timer_handles drops to zero). */
void timers_init(struct wg_peer *peer);
void timers_stop(struct wg_peer *peer);
void timers_close(struct wg_peer *peer, void (*all_closed)(struct wg_peer *peer));

void timers_data_sent(struct wg_peer *peer);
void timers_data_received(struct wg_peer *peer);
void timers_any_authenticated_packet_sent(struct wg_peer *peer);
void timers_any_authenticated_packet_received(struct wg_peer *peer);
void timers_handshake_initiated(struct wg_peer *peer);
/* Re-arms the retransmission for ms from now (a retry that came early). */
void timers_retransmit_in(struct wg_peer *peer, uint64_t ms);
void timers_handshake_complete(struct wg_peer *peer);
void timers_session_derived(struct wg_peer *peer);
void timers_any_authenticated_packet_traversal(struct wg_peer *peer);

#endif
