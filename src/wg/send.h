/* The sending half of the data plane: handshake messages, keepalives and
 * the data path from TUN to UDP. */
#ifndef WH_SRC_WG_SEND_H
#define WH_SRC_WG_SEND_H

#include <stdbool.h>

struct wg_device;
struct wg_peer;
struct pkt_batch;

/* Sends an initiation unless one went out less than REKEY_TIMEOUT ago;
 * a retry keeps counting attempts, a fresh one resets them. */
void send_handshake_initiation(struct wg_peer *peer, bool is_retry);
void send_handshake_response(struct wg_peer *peer);
void send_keepalive(struct wg_peer *peer);
/* Seals and sends every staged packet under the current keypair, or
 * starts a handshake when there is none. */
void send_staged(struct wg_peer *peer);
/* Packets read from the TUN device: routed by destination and staged. */
void send_from_tun(struct wg_device *dev, struct pkt_batch *b);

#endif
