/* The overlay core's one address type, struct ovl_addr: the Kademlia
 * table's, the codec's and the engine's alike.  The codec converts it to
 * and from the wire's form (IPv4 as ::ffff:a.b.c.d, the port big-endian);
 * the daemon converts it to and from its socket addresses at its edge
 * (src/node/overlay.h).  Also the one rule for which IP addresses are
 * usable as endpoints and probe sources.  Pure functions. */
#ifndef WH_PROTO_OVERLAY_ADDR_H
#define WH_PROTO_OVERLAY_ADDR_H

#include "proto/overlay/overlay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* A transport address.  One form per address: IPv4 has family
 * OVL_AF_INET and its 4 bytes first, the rest zero; an IPv4-mapped IPv6
 * address is IPv4.  The Kademlia table stores it and compares it for
 * equality only. */
struct ovl_addr {
	uint8_t family;		/* enum ovl_addr_family (overlay.h); 0: none */
	uint8_t reserved;	/* zero */
	uint16_t port;		/* host byte order */
	uint8_t ip[16];
};

/* A known family in its one form and a nonzero port: an address a
 * datagram can go to (what the codec demands on both sides). */
bool ovl_addr_valid(const struct ovl_addr *a);
/* Same family and IP address, whatever the ports. */
bool ovl_addr_same_ip(const struct ovl_addr *a, const struct ovl_addr *b);
/* Same family, IP address and port. */
bool ovl_addr_equal(const struct ovl_addr *a, const struct ovl_addr *b);
void ovl_addr_set_v4(struct ovl_addr *a, const uint8_t ip[4], uint16_t port);
/* An IPv4-mapped ip becomes an IPv4 address. */
void ovl_addr_set_v6(struct ovl_addr *a, const uint8_t ip[16], uint16_t port);
/* From AF_INET or AF_INET6; false for anything else or port 0. */
bool ovl_addr_from_sockaddr(struct ovl_addr *a, const struct sockaddr *sa);
/* Fills out (AF_INET or AF_INET6, at most outlen bytes, zeroed first) and
 * returns its length, or 0 when a is not valid or out too small. */
size_t ovl_addr_to_sockaddr(const struct ovl_addr *a, struct sockaddr *out, size_t outlen);

/* Whether an IP address (4 bytes for OVL_AF_INET, 16 for OVL_AF_INET6)
 * can reach or be reached from another host: not unspecified, loopback,
 * link-local, multicast, or (IPv4) the reserved 240.0.0.0/4 and the
 * broadcast address; an IPv6 address never IPv4-mapped.  The one rule
 * for NAT traversal candidates and NAT filtering probe sources. */
bool ovl_ip_usable(unsigned family, const uint8_t *ip);

#endif
