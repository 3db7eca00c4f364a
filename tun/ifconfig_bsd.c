/* tun/ifconfig.h on FreeBSD and macOS, written against their documented
 * interfaces (inet(4), route(4), and the structures of netinet/in_var.h,
 * netinet6/in6_var.h and net/route.h).  It is compiled on Linux for
 * syntax only, against declarations of those structures written in
 * test/platform/include (test/platform/syntax.sh): never run.
 *
 *   addresses  SIOCAIFADDR (struct in_aliasreq) and SIOCDIFADDR (struct
 *              ifreq) on an AF_INET datagram socket; SIOCAIFADDR_IN6
 *              (struct in6_aliasreq) and SIOCDIFADDR_IN6 (struct
 *              in6_ifreq) on an AF_INET6 one
 *   routes     one RTM_ADD or RTM_DELETE message written to a PF_ROUTE
 *              socket; the kernel's verdict is write(2)'s errno
 *              (route(4): EEXIST, ESRCH), so no reply is read
 *
 * FreeBSD's tun is put in broadcast mode by tun/tun_bsd.c, so an address
 * with a prefix length brings its on-link route with it, as on Linux.
 * macOS's utun is point-to-point: an IPv4 address needs a destination
 * (our own address, as wg-quick does there), and the route to the
 * prefix is added here, after the address. */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "tun/ifconfig.h"

/* Each sockaddr of a routing message starts at a multiple of this
 * (FreeBSD's SA_SIZE: a long; xnu's rtsock.c: 32 bits). */
#ifdef __APPLE__
#define RT_SA_ALIGN sizeof(uint32_t)
#else
#define RT_SA_ALIGN sizeof(long)
#endif

enum { RT_MSG_MAX = 512 };

union any_sa {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_dl dl;
};

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static void prefix_mask(uint8_t *mask, size_t len, uint8_t prefixlen)
{
	size_t i;

	memset(mask, 0, len);
	for (i = 0; i < (size_t)prefixlen / 8; ++i)
		mask[i] = 0xff;
	if (prefixlen % 8)
		mask[prefixlen / 8] = (uint8_t)(0xff << (8 - prefixlen % 8));
}

/* The checks of tun/ifconfig.h; for a route also no bits past the
 * prefix length. */
static int check_args(int ifindex, int family, const uint8_t *a, uint8_t prefixlen, bool route)
{
	size_t len = family_len(family), i;
	uint8_t mask[16];

	if (!len)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || ifindex > 0xffff || !a || prefixlen > len * 8)
		return -EINVAL;
	if (route) {
		prefix_mask(mask, len, prefixlen);
		for (i = 0; i < len; ++i)
			if (a[i] & ~mask[i])
				return -EINVAL;
	}
	return 0;
}

static void sa_set(union any_sa *s, int family, const uint8_t *a)
{
	memset(s, 0, sizeof(*s));
	if (family == AF_INET) {
		s->in4.sin_len = sizeof(s->in4);
		s->in4.sin_family = AF_INET;
		memcpy(&s->in4.sin_addr, a, 4);
	} else {
		s->in6.sin6_len = sizeof(s->in6);
		s->in6.sin6_family = AF_INET6;
		memcpy(&s->in6.sin6_addr, a, 16);
	}
}

static int open_socket(int domain, int type, int protocol)
{
	int fd;

#ifdef SOCK_CLOEXEC
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
#else
	fd = socket(domain, type, protocol);
#endif
	return fd < 0 ? -errno : fd;
}

/* One ioctl on a short-lived datagram socket of the family. */
static int family_ioctl(int family, unsigned long request, void *arg)
{
	int fd = open_socket(family, SOCK_DGRAM, 0), ret = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, request, arg) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int ifname_of(int ifindex, char name[IFNAMSIZ])
{
	if (!if_indextoname((unsigned)ifindex, name))
		return errno == ENXIO ? -ENODEV : -errno;
	return 0;
}

/* ---- routes ---- */

struct rt_request {
	union {
		struct rt_msghdr hdr;
		uint8_t bytes[RT_MSG_MAX];
	} u;
	size_t len;
};

static void request_put_sa(struct rt_request *m, const void *sa, size_t salen)
{
	size_t space = salen ? (salen + RT_SA_ALIGN - 1) & ~(RT_SA_ALIGN - 1) : RT_SA_ALIGN;

	memcpy(m->u.bytes + m->len, sa, salen);
	m->len += space;
}

/* RTM_ADD or RTM_DELETE of dst/prefixlen through the interface: the
 * gateway is the interface's link-level sockaddr, named by its index
 * alone (what `route add -interface` sends), so the route needs no
 * address of ours on the interface. */
static int route_msg(int type, int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	struct rt_request m;
	union any_sa d, mask, gw;
	uint8_t maskbytes[16];
	bool host = prefixlen == family_len(family) * 8;
	ssize_t n;
	int fd, off = 0, ret = 0;

	_Static_assert(sizeof(struct rt_msghdr) + 3 * sizeof(union any_sa) + 3 * sizeof(long) <=
		       RT_MSG_MAX, "routing message buffer");
	memset(&m, 0, sizeof(m));
	m.len = sizeof(m.u.hdr);
	m.u.hdr.rtm_version = RTM_VERSION;
	m.u.hdr.rtm_type = (u_char)type;
	m.u.hdr.rtm_index = (u_short)ifindex;
	m.u.hdr.rtm_flags = RTF_UP | RTF_STATIC | (host ? RTF_HOST : 0);
	m.u.hdr.rtm_addrs = RTA_DST | RTA_GATEWAY | (host ? 0 : RTA_NETMASK);
	m.u.hdr.rtm_seq = 1;

	/* In the order of their RTA_ bits: destination, gateway, mask. */
	sa_set(&d, family, dst);
	request_put_sa(&m, &d, d.sa.sa_len);
	memset(&gw, 0, sizeof(gw));
	gw.dl.sdl_len = sizeof(gw.dl);
	gw.dl.sdl_family = AF_LINK;
	gw.dl.sdl_index = (u_short)ifindex;
	request_put_sa(&m, &gw, gw.dl.sdl_len);
	if (!host) {
		prefix_mask(maskbytes, family_len(family), prefixlen);
		sa_set(&mask, family, maskbytes);
		request_put_sa(&m, &mask, mask.sa.sa_len);
	}
	m.u.hdr.rtm_msglen = (u_short)m.len;

	fd = open_socket(PF_ROUTE, SOCK_RAW, AF_UNSPEC);
	if (fd < 0)
		return fd;
	/* The kernel's copy of our own message is of no use to us. */
	(void)setsockopt(fd, SOL_SOCKET, SO_USELOOPBACK, &off, sizeof(off));
	n = write(fd, m.u.bytes, m.len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != m.len)
		ret = -EIO;
	close(fd);
	return ret;
}

int ifc_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	int ret = check_args(ifindex, family, dst, prefixlen, true);

	return ret < 0 ? ret : route_msg(RTM_ADD, ifindex, family, dst, prefixlen);
}

int ifc_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	int ret = check_args(ifindex, family, dst, prefixlen, true);

	return ret < 0 ? ret : route_msg(RTM_DELETE, ifindex, family, dst, prefixlen);
}

/* ---- addresses ---- */

static int addr4_add(const char *name, const uint8_t *a, uint8_t prefixlen)
{
	struct in_aliasreq ifra;
	union any_sa s;
	uint8_t mask[4];

	memset(&ifra, 0, sizeof(ifra));
	memcpy(ifra.ifra_name, name, IFNAMSIZ);
	sa_set(&s, AF_INET, a);
	ifra.ifra_addr = s.in4;
#ifdef __APPLE__
	ifra.ifra_dstaddr = s.in4;
#endif
	prefix_mask(mask, sizeof(mask), prefixlen);
	sa_set(&s, AF_INET, mask);
	ifra.ifra_mask = s.in4;
	return family_ioctl(AF_INET, SIOCAIFADDR, &ifra);
}

static int addr4_del(const char *name, const uint8_t *a)
{
	struct ifreq ifr;
	union any_sa s;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	sa_set(&s, AF_INET, a);
	memcpy(&ifr.ifr_addr, &s.in4, sizeof(s.in4));
	return family_ioctl(AF_INET, SIOCDIFADDR, &ifr);
}

static int addr6_add(const char *name, const uint8_t *a, uint8_t prefixlen)
{
	struct in6_aliasreq ifra;
	union any_sa s;
	uint8_t mask[16];

	memset(&ifra, 0, sizeof(ifra));
	memcpy(ifra.ifra_name, name, IFNAMSIZ);
	sa_set(&s, AF_INET6, a);
	ifra.ifra_addr = s.in6;
	prefix_mask(mask, sizeof(mask), prefixlen);
	sa_set(&s, AF_INET6, mask);
	ifra.ifra_prefixmask = s.in6;
	ifra.ifra_flags = IN6_IFF_NODAD;
	ifra.ifra_lifetime.ia6t_vltime = ND6_INFINITE_LIFETIME;
	ifra.ifra_lifetime.ia6t_pltime = ND6_INFINITE_LIFETIME;
	return family_ioctl(AF_INET6, SIOCAIFADDR_IN6, &ifra);
}

static int addr6_del(const char *name, const uint8_t *a)
{
	struct in6_ifreq ifr;
	union any_sa s;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	sa_set(&s, AF_INET6, a);
	ifr.ifr_ifru.ifru_addr = s.in6;
	return family_ioctl(AF_INET6, SIOCDIFADDR_IN6, &ifr);
}

#ifdef __APPLE__
/* The route to the address's prefix, which a point-to-point utun does
 * not get with the address.  A host prefix needs none. */
static int prefix_route(bool add, int ifindex, int family, const uint8_t *a, uint8_t prefixlen)
{
	uint8_t net[16], mask[16];
	size_t len = family_len(family), i;
	int ret;

	if (prefixlen == len * 8)
		return 0;
	prefix_mask(mask, len, prefixlen);
	for (i = 0; i < len; ++i)
		net[i] = a[i] & mask[i];
	ret = route_msg(add ? RTM_ADD : RTM_DELETE, ifindex, family, net, prefixlen);
	if (ret == (add ? -EEXIST : -ESRCH))
		ret = 0;
	return ret;
}
#endif

/* The checks of an address request, and the interface's name for it. */
static int addr_request(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen,
			char name[IFNAMSIZ])
{
	int ret = check_args(ifindex, family, addr, prefixlen, false);

	return ret < 0 ? ret : ifname_of(ifindex, name);
}

int ifc_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	char name[IFNAMSIZ];
	int ret = addr_request(ifindex, family, addr, prefixlen, name);

	if (ret < 0)
		return ret;
	ret = family == AF_INET ? addr4_add(name, addr, prefixlen) :
				  addr6_add(name, addr, prefixlen);
#ifdef __APPLE__
	if (ret == 0 || ret == -EEXIST) {
		int r = prefix_route(true, ifindex, family, addr, prefixlen);

		if (r < 0)
			ret = r;
	}
#endif
	return ret;
}

int ifc_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	char name[IFNAMSIZ];
	int ret = addr_request(ifindex, family, addr, prefixlen, name);

	if (ret < 0)
		return ret;
#ifdef __APPLE__
	(void)prefix_route(false, ifindex, family, addr, prefixlen);
#endif
	return family == AF_INET ? addr4_del(name, addr) : addr6_del(name, addr);
}
