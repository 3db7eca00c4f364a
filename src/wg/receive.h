/* The receiving half: datagrams from the UDP sockets, demultiplexed on
 * their first byte. */
#ifndef WH_SRC_WG_RECEIVE_H
#define WH_SRC_WG_RECEIVE_H

#include <stdint.h>

struct wg_device;
struct pkt_batch;

/* Takes ownership of the packets (each p->addr is the outer source). */
void receive_batch(struct wg_device *dev, struct pkt_batch *b);
/* Processes up to budget queued handshake messages, stopping after the
 * first that ends at or after deadline_ns (wg_now's clock); returns how
 * many remain. */
unsigned receive_handshakes(struct wg_device *dev, unsigned budget, uint64_t deadline_ns);

#endif
