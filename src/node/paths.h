/* How each member of the network is reached: directly or through a
 * relay, with candidate exchange and hole punching between them.  The
 * decisions and the state are the path core's (proto/overlay/path.h,
 * struct ovl_path in each struct member); this is its glue to the
 * overlay, the device and the loop (paths.c), on the node's loop. */
#ifndef WH_SRC_NODE_PATHS_H
#define WH_SRC_NODE_PATHS_H

#include "src/node/node_priv.h"

struct overlay_ops;

/* The overlay's events go to paths.c. */
extern const struct overlay_ops paths_overlay_ops;

/* Installs the node's data path on the device (datapath.c) and starts
 * the punch timer; paths_stop undoes it (the timer closes with the
 * loop). */
void paths_init(struct node *n);
void paths_stop(struct node *n);
/* An authenticated datagram from peer came through the relay at
 * relay_addr (the device's routed_rx, by way of datapath.c). */
void paths_relayed_rx(struct node *n, struct wg_peer *peer, const union wg_sockaddr *relay_addr);
/* Whether a channel datagram (FROM_RELAY) from src may be ours: src is
 * the address of a relay we asked a channel of (datapath.c's classify). */
bool paths_channel_source(struct node *n, const union wg_sockaddr *src);
/* A new member's path state. */
void paths_member_init(struct member *m);
/* Once a second: relay and direct-path liveness, exchanges, keepalives. */
void paths_tick(struct node *n, uint64_t now);
/* The node's way out changed (tcppath.c: back on UDP): every member's
 * path tries punching again at once (ovl_path_on_network). */
void paths_network_changed(struct node *n);
void paths_punch_tick(uv_timer_t *t);
/* "direct", "relayed" (relay_key gets the relay's key in base64url) or
 * "none". */
const char *paths_describe(struct node *n, const struct member *m, char *relay_key, size_t len);

#endif
