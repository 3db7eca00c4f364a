/* Interface configuration, one interface over every system: the
 * addresses of an interface and the routes through it.  The interface is
 * given by index (tun_ifindex); addresses are in network byte order, 4
 * bytes for AF_INET and 16 for AF_INET6.
 *
 *   Linux    rtnetlink (tun/netlink.c), through tun/ifconfig_linux.c
 *   FreeBSD  SIOCAIFADDR / SIOCAIFADDR_IN6 on a datagram socket, and
 *   macOS    RTM_ADD / RTM_DELETE on a PF_ROUTE socket (tun/ifconfig_bsd.c)
 *
 * The link's up flag and its MTU need no function here: SIOCSIFFLAGS and
 * SIOCSIFMTU are the same on every system (tun_set_up and tun_set_mtu in
 * tun/tun.h).
 *
 * Every call returns 0 or a negative errno, the same on every system for
 * what callers tell apart: -EEXIST when the route is already there, and
 * -EEXIST or 0 when the address is (FreeBSD and macOS update an address
 * in place), -EADDRNOTAVAIL (an address) or -ESRCH (a route) when the one
 * to remove is not, -EPERM without the privilege to change the interface,
 * -EINVAL for a bad argument (an index of 0, a prefix length past the
 * family's bits, a route with bits set past its prefix length),
 * -EAFNOSUPPORT for a family other than AF_INET and AF_INET6. */
#ifndef WH_TUN_IFCONFIG_H
#define WH_TUN_IFCONFIG_H

#include <stdint.h>

/* Adds addr/prefixlen to the interface, with the on-link route to its
 * prefix that each system's kernel adds with it (on macOS, whose utun is
 * point-to-point, ifc_addr_add adds that route itself).  IPv6 addresses
 * skip duplicate address detection: a tunnel has no neighbours. */
int ifc_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);
int ifc_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);

/* A route to dst/prefixlen through the interface, without a gateway, in
 * the main table; prefixlen 0 is the default route. */
int ifc_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);
int ifc_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);

#endif
