/* Addresses in the overlay core: the table's struct kad_addr, its wire
 * form (struct ovl_addr), and the one rule for which IP addresses are
 * usable as endpoints and probe sources.  Pure functions. */
#ifndef WH_PROTO_OVERLAY_ADDR_H
#define WH_PROTO_OVERLAY_ADDR_H

#include <stdbool.h>
#include <stdint.h>

struct kad_addr;
struct ovl_addr;

/* The wire form of a table address, and back (false when o is not valid:
 * unknown family, not canonical, port 0). */
void ovl_kad_to_wire(const struct kad_addr *k, struct ovl_addr *o);
bool ovl_kad_from_wire(const struct ovl_addr *o, struct kad_addr *k);

/* A known family and a port: an address a datagram can go to. */
bool ovl_kad_valid(const struct kad_addr *a);
/* Same family and IP address, whatever the ports. */
bool ovl_kad_same_ip(const struct kad_addr *a, const struct kad_addr *b);
/* Same family, IP address and port. */
bool ovl_kad_equal(const struct kad_addr *a, const struct kad_addr *b);

/* Whether an IP address (4 bytes for KAD_AF_INET, 16 for KAD_AF_INET6)
 * can reach or be reached from another host: not unspecified, loopback,
 * link-local, multicast, or (IPv4) the reserved 240.0.0.0/4 and the
 * broadcast address; an IPv6 address never IPv4-mapped.  The one rule
 * for NAT traversal candidates and NAT filtering probe sources. */
bool ovl_ip_usable(unsigned kad_family, const uint8_t *ip);

#endif
