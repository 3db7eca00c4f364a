/* tun/ifconfig.h where it is not written yet (OpenBSD, whose routing
 * messages and address requests differ from FreeBSD's in ways
 * tun/ifconfig_bsd.c does not handle): every call says so, and `wh up` as
 * a member refuses to start with that error.  wireguard-wh needs none of
 * it. */
#include "tun/ifconfig.h"

#include <errno.h>

int ifc_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	return -EOPNOTSUPP;
}

int ifc_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	return -EOPNOTSUPP;
}

int ifc_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return -EOPNOTSUPP;
}

int ifc_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return -EOPNOTSUPP;
}
