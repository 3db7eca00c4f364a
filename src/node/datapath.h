/* The node's path beside the WireGuard device's (struct
 * wg_device_ext_ops): the overlay's datagrams on the shared socket (first
 * byte 0xff), relay channels (0xfe, doc/protocol.md 9.1) both as an end
 * and as a relay, and the output of peers whose path is relayed (the path
 * core decides which, through paths.c and peer_set_routed).  Part of the node, on its loop. */
#ifndef WH_SRC_NODE_DATAPATH_H
#define WH_SRC_NODE_DATAPATH_H

#include "proto/overlay/overlay.h"

#include <stdint.h>

struct node;

/* A relayed peer's TCP is clamped to what one channel datagram carries
 * over a 1500-byte path.  Inner IP packets of at most DATAPATH_RELAY_IP
 * bytes (a multiple of 16: WireGuard pads to 16) make WireGuard
 * datagrams of at most 1440 bytes (16-byte header, 16-byte tag), channel
 * datagrams of 1448 bytes, 1496 on an IPv6 path; a full-size tunnel
 * packet (1420 bytes) would go wrapped in RELAY fragments instead (two
 * datagrams, two more seals per hop).  The MSS leaves room for the IP
 * and TCP headers (TCP options come out of the MSS, as every stack
 * does). */
enum {
	DATAPATH_PATH_MTU = 1500,	/* what a channel datagram must fit */
	DATAPATH_RELAY_IP = 1408,
	DATAPATH_RELAY_MSS4 = DATAPATH_RELAY_IP - 20 - 20,	/* 1368 */
	DATAPATH_RELAY_MSS6 = DATAPATH_RELAY_IP - 40 - 20,	/* 1348 */
};
/* A stock client's datagrams carry a 24-byte header between member and
 * relay (doc/protocol.md 9.5): 1392-byte inner packets fit. */
enum {
	DATAPATH_CLIENT_IP = 1392,
	DATAPATH_CLIENT_MSS4 = DATAPATH_CLIENT_IP - 20 - 20,	/* 1352 */
	DATAPATH_CLIENT_MSS6 = DATAPATH_CLIENT_IP - 40 - 20,	/* 1332 */
};
_Static_assert(16 + DATAPATH_CLIENT_IP + 16 + OVL_CHAN_CLIENT_HEADER_LEN + 40 + 8 <= DATAPATH_PATH_MTU,
	       "a clamped segment of a stock client fits one datagram over IPv6");
_Static_assert(DATAPATH_RELAY_IP % 16 == 0 &&
		       16 + DATAPATH_RELAY_IP + 16 + OVL_CHAN_HEADER_LEN + 40 + 8 <= DATAPATH_PATH_MTU,
	       "a clamped segment fits one relay channel datagram over IPv6");

/* Installs the node's path on its device (after the overlay exists);
 * datapath_stop removes it (before the overlay goes). */
void datapath_start(struct node *n);
void datapath_stop(struct node *n);

#endif
