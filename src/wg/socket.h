/* The device's UDP sockets (socket.c), inside src/wg: the parts of it
 * that device.c sets up and tears down.  The rest of its interface is
 * device.h's (device_bind, device_send*, device_input_routed). */
#ifndef WH_SRC_WG_SOCKET_H
#define WH_SRC_WG_SOCKET_H

#include "src/io/packet.h"

struct wg_device;

enum {
	/* With UDP GRO, as many datagrams per recvmmsg as without (a flood
	 * of small ones must fill the handshake queue as fast as before),
	 * each of which may hold 64 KiB of segments: a turn ends after
	 * UDP_BATCHES_PER_TURN * PKT_BATCH_MAX segments instead.  device_init
	 * allocates the receive buffers (gro_buf) of this size. */
	UDP_GRO_RECV_MAX = PKT_BATCH_MAX,
	UDP_GRO_BUF_SIZE = 65536,
};

/* Stops and closes the socket of family (AF_INET, AF_INET6), if open;
 * the fd closes with its poll handle. */
void socket_close(struct wg_device *dev, int family);

#endif
