/* TCP MSS clamping for peers whose path carries less than the tunnel.
 *
 * The device's owner may route a peer over a path of its own that adds a
 * header (wh up: a relay channel, doc/protocol.md 9.1), so that a
 * full-size tunnel packet no longer fits one datagram there.  Lowering the
 * MSS that TCP SYNs announce, on packets to and from such a peer, makes
 * both ends send segments that fit; the owner says how far
 * (peer_set_routed), the device applies it.  Pure: no state, no I/O.
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

/* Clamps the MSS of the SYN in pkt[0 .. len) to mss4 (IPv4) or mss6
 * (IPv6); a limit of 0 leaves that family alone.  True when it changed. */
bool tcp_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss4, uint16_t mss6);

#endif
