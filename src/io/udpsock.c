/* UDP sockets with their arrival addresses (see udpsock.h). */
#include "src/io/udpsock.h"

#include "src/io/sockaddr.h"
#include "src/io/udp_gso.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_buffers(int fd, int size, bool force)
{
	if (!force || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (!force || setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int udpsock_open(int family, uint16_t port, const struct udpsock_opt *opt, uint16_t *bound)
{
	union wg_sockaddr a;

	wg_sockaddr_any(&a, family, port);
	return udpsock_bind(&a, opt, bound);
}

int udpsock_bind(const union wg_sockaddr *at, const struct udpsock_opt *opt, uint16_t *bound)
{
	static const struct udpsock_opt none;
	int family = at->sa.sa_family, fd, one = 1, ret;
	union wg_sockaddr a = *at;
	socklen_t alen;

	if (!opt)
		opt = &none;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail_errno;
	} else if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		   setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
		goto fail_errno;
	}
	if (opt->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail_errno;
	if (opt->bufsize)
		set_buffers(fd, opt->bufsize, opt->force_buf);
	/* Without it, datagrams arrive one by one. */
	if (opt->gro && *opt->gro && udp_gro_enable(fd) < 0)
		*opt->gro = false;
	if (opt->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &opt->fwmark, sizeof(opt->fwmark)) < 0)
		goto fail_errno;
	if (bind(fd, &a.sa, wg_sockaddr_len(&a)) < 0)
		goto fail_errno;
	if (bound) {
		alen = sizeof(a);
		if (getsockname(fd, &a.sa, &alen) < 0)
			goto fail_errno;
		*bound = ntohs(family == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
	}
	return fd;
fail_errno:
	ret = -errno;
	close(fd);
	return ret;
}

int udpsock_arrival(const struct msghdr *m, union wg_pktinfo *local)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			memcpy(&local->v4, CMSG_DATA(c), sizeof(local->v4));
			return AF_INET;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			memcpy(&local->v6, CMSG_DATA(c), sizeof(local->v6));
			return AF_INET6;
		}
	}
	return 0;
}

unsigned udpsock_arrival_ifindex(int family, const union wg_pktinfo *local)
{
	return family == AF_INET ? (unsigned)local->v4.ipi_ifindex : local->v6.ipi6_ifindex;
}
