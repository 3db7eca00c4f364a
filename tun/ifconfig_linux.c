/* tun/ifconfig.h on Linux: rtnetlink requests (tun/netlink.c), whose
 * errors are already the kernel's errno as the interface promises. */
#include "tun/ifconfig.h"

#include "tun/netlink.h"

int ifc_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	return netlink_addr_add(ifindex, family, addr, prefixlen);
}

int ifc_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	return netlink_addr_del(ifindex, family, addr, prefixlen);
}

int ifc_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return netlink_route_add(ifindex, family, dst, prefixlen);
}

int ifc_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return netlink_route_del(ifindex, family, dst, prefixlen);
}
