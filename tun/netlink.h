/* Interface configuration over rtnetlink (Linux), without any child
 * process: addresses, routes, the up flag and the MTU of an interface
 * given by index (tun_ifindex).
 *
 * Every call opens a NETLINK_ROUTE socket, sends one request with
 * NLM_F_ACK, waits for the kernel's answer and closes the socket.  It
 * returns 0 or the kernel's negative errno unchanged: -EEXIST when the
 * address or route is already there, -EADDRNOTAVAIL or -ESRCH when the
 * one to delete is not, -EPERM without CAP_NET_ADMIN.  The caller
 * decides which of them matter.  Argument errors are -EINVAL, an
 * unknown family -EAFNOSUPPORT, no answer within a few seconds
 * -ETIMEDOUT.
 *
 * Addresses are in network byte order: 4 bytes for AF_INET, 16 for
 * AF_INET6. */
#ifndef WH_TUN_NETLINK_H
#define WH_TUN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

/* Adds addr/prefixlen.  IPv6 addresses are added with IFA_F_NODAD: a
 * tunnel has no neighbours to detect duplicates with, and the address is
 * never tentative.  Note that Linux inserts the local route of a new
 * IPv6 address from a work queue shortly after the acknowledgement, so
 * the first packets addressed to it may still be dropped. */
int netlink_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);
int netlink_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);

/* A route to dst/prefixlen through the interface, without gateway, in
 * the main table.  dst must have no bits set past prefixlen (the kernel
 * answers -EINVAL otherwise); prefixlen 0 is the default route. */
int netlink_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);
int netlink_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);

int netlink_link_set_up(int ifindex, bool up);
int netlink_link_set_mtu(int ifindex, unsigned mtu);
/* Deletes the interface itself (RTM_DELLINK). */
int netlink_link_del(int ifindex);

#endif
