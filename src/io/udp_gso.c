/* UDP GSO and GRO: see udp_gso.h. */
#include "src/io/udp_gso.h"

#include "src/io/packet.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

_Static_assert(UDP_GSO_CMSG_SPACE >= CMSG_SPACE(sizeof(uint16_t)), "UDP_SEGMENT cmsg room");
_Static_assert(UDP_GRO_CMSG_SPACE >= CMSG_SPACE(sizeof(int)), "UDP_GRO cmsg room");

unsigned udp_gso_run(struct pkt *const *p, unsigned n)
{
	size_t size = p[0]->len, total = size;
	unsigned i;

	if (!size || size > UDP_GSO_MAX_BYTES)
		return 1;
	for (i = 1; i < n && i < UDP_GSO_MAX_SEGS; ++i) {
		const struct pkt *q = p[i];

		if (q->peer != p[0]->peer || !q->len || q->len > size ||
		    total + q->len > UDP_GSO_MAX_BYTES || !wg_sockaddr_equal(&q->addr, &p[0]->addr))
			break;
		total += q->len;
		/* A shorter datagram ends the run. */
		if (q->len < size) {
			++i;
			break;
		}
	}
	return i;
}

#ifdef UDP_SEGMENT
int udp_gso_add_cmsg(struct msghdr *m, char *cbuf, size_t cbuflen, uint16_t size)
{
	size_t used = m->msg_control ? m->msg_controllen : 0;
	struct cmsghdr *c;

	if (used + CMSG_SPACE(sizeof(size)) > cbuflen)
		return -ENOSPC;
	c = (struct cmsghdr *)(void *)(cbuf + used);
	memset(c, 0, CMSG_SPACE(sizeof(size)));
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(c), &size, sizeof(size));
	m->msg_control = cbuf;
	m->msg_controllen = used + CMSG_SPACE(sizeof(size));
	return 0;
}

int udp_gro_enable(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? -errno : 0;
}

void udp_gro_disable(int fd)
{
	int zero = 0;

	setsockopt(fd, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
}

size_t udp_gro_segment_size(struct msghdr *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	}
	return 0;
}
#else
int udp_gso_add_cmsg(struct msghdr *m, char *cbuf, size_t cbuflen, uint16_t size)
{
	(void)m, (void)cbuf, (void)cbuflen, (void)size;
	return -EOPNOTSUPP;
}

int udp_gro_enable(int fd)
{
	(void)fd;
	return -EOPNOTSUPP;
}

void udp_gro_disable(int fd)
{
	(void)fd;
}

size_t udp_gro_segment_size(struct msghdr *m)
{
	(void)m;
	return 0;
}
#endif
