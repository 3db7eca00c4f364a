/* TCP MSS clamping for relayed paths.
 *
 * A relay carries at most OVL_RELAY_MAX_CHUNK (1164) bytes of a WireGuard
 * datagram in one RELAY; a full-size tunnel packet (1420 bytes, 1452 on
 * the wire) travels in two fragments, which doubles the datagrams, the
 * seals and the sends of every hop.  Lowering the MSS that TCP SYNs
 * announce, on packets to and from a relayed peer, makes both ends send
 * segments whose datagrams fit one RELAY.  Pure: no state, no I/O.
 *
 * The MSS option of a SYN (IPv4, or IPv6 without extension headers; not a
 * fragment) is lowered to the limit for its family when it is above it;
 * the TCP checksum is updated incrementally (RFC 1624), so a segment whose
 * checksum was wrong stays wrong.  Anything else, malformed input
 * included, is left untouched. */
#ifndef WH_SRC_TCPMSS_H
#define WH_SRC_TCPMSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inner IP packets of at most TCPMSS_RELAY_IP bytes make WireGuard
 * datagrams (16-byte header, padding to 16, 16-byte tag) of at most 1152
 * bytes: one RELAY chunk.  The MSS leaves room for the IP and TCP headers
 * (TCP options come out of the MSS, as every stack does). */
enum {
	TCPMSS_RELAY_IP = 1120,
	TCPMSS_RELAY_V4 = TCPMSS_RELAY_IP - 20 - 20,	/* 1080 */
	TCPMSS_RELAY_V6 = TCPMSS_RELAY_IP - 40 - 20,	/* 1060 */
};

/* Clamps the MSS of the SYN in pkt[0 .. len); true when it changed. */
bool tcp_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss4, uint16_t mss6);

#endif
