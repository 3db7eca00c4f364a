/* TCP MSS clamping for relayed paths.
 *
 * A relay channel (doc/protocol.md 9.1) adds 8 bytes to a WireGuard
 * datagram: a full-size tunnel packet (1420 bytes, 1452 on the wire)
 * would make a 1508-byte IPv6 datagram, which a 1500-byte path cannot
 * carry, and goes wrapped in RELAY fragments instead (two datagrams, two
 * more seals per hop).  Lowering the MSS that TCP SYNs announce, on
 * packets to and from a relayed peer, makes both ends send segments that
 * fit one channel datagram over IPv4 and IPv6.  Pure: no state, no I/O.
 *
 * The MSS option of a SYN (IPv4, or IPv6 without extension headers; not a
 * fragment) is lowered to the limit for its family when it is above it;
 * the TCP checksum is updated incrementally (RFC 1624), so a segment whose
 * checksum was wrong stays wrong.  Anything else, malformed input
 * included, is left untouched. */
#ifndef WH_SRC_WG_TCPMSS_H
#define WH_SRC_WG_TCPMSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inner IP packets of at most TCPMSS_RELAY_IP bytes (a multiple of 16:
 * WireGuard pads to 16) make WireGuard datagrams of at most 1440 bytes
 * (16-byte header, 16-byte tag), channel datagrams of 1448 bytes, 1496
 * on an IPv6 path.  The MSS leaves room for the IP and TCP headers (TCP
 * options come out of the MSS, as every stack does). */
enum {
	TCPMSS_RELAY_IP = 1408,
	TCPMSS_RELAY_V4 = TCPMSS_RELAY_IP - 20 - 20,	/* 1368 */
	TCPMSS_RELAY_V6 = TCPMSS_RELAY_IP - 40 - 20,	/* 1348 */
};
_Static_assert(TCPMSS_RELAY_IP % 16 == 0 && 16 + TCPMSS_RELAY_IP + 16 + 8 + 40 + 8 <= 1500,
	       "a clamped segment fits one relay channel datagram over IPv6");

/* Clamps the MSS of the SYN in pkt[0 .. len); true when it changed. */
bool tcp_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss4, uint16_t mss6);

#endif
