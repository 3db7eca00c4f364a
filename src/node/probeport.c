/* A PUBLIC node's second port (see probeport.h): two plain sockets, one
 * per family, read a few datagrams a turn; what a datagram means is the
 * engine's, through the owner's callback. */
#include "src/node/probeport.h"

#include "src/io/udpsock.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	/* A flood of this port costs the loop at most this many datagrams a
	 * turn; the kernel drops the rest when the small queue is full. */
	PROBEPORT_BUDGET = 8,
	PROBEPORT_RCVBUF = 64 << 10,
	PROBEPORT_DGRAM_MAX = 1280,	/* OVL_MAX_DATAGRAM: nothing longer is answered */
};

struct probeport_sock {
	uv_poll_t poll;
	int fd;				/* -1: not open */
	struct probeport *pp;
};

struct probeport {
	struct probeport_sock s[2];	/* IPv4, IPv6 */
	unsigned open_handles;		/* polls not yet closed by the loop */
	probeport_input_cb *input;
	void *ctx;
};

static int open_sock(int family, uint16_t port)
{
	struct udpsock_opt o = { .bufsize = PROBEPORT_RCVBUF };

	return udpsock_open(family, port, &o, NULL);
}

/* Where the datagram of m arrived (IP_PKTINFO, IPV6_PKTINFO). */
static bool local_of(struct msghdr *m, union wg_pktinfo *local)
{
	int family = udpsock_arrival(m, local);

	if (!family)
		return false;
	/* Leave from the address it came to; routing picks the interface. */
	if (family == AF_INET) {
		local->v4.ipi_spec_dst = local->v4.ipi_addr;
		local->v4.ipi_ifindex = 0;
	}
	return true;
}

/* Sends the answer to `to` from the address the request came to. */
static void answer(int fd, const union wg_sockaddr *to, const union wg_pktinfo *local, bool has_local,
		   const uint8_t *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m;
	struct cmsghdr *c;

	memset(&m, 0, sizeof(m));
	m.msg_name = (void *)&to->sa;
	m.msg_namelen = wg_sockaddr_len(to);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (has_local) {
		bool v4 = to->sa.sa_family == AF_INET;
		size_t n = v4 ? sizeof(local->v4) : sizeof(local->v6);

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(n);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
		c->cmsg_type = v4 ? IP_PKTINFO : IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(n);
		memcpy(CMSG_DATA(c), v4 ? (const void *)&local->v4 : (const void *)&local->v6, n);
	}
	/* A lost answer is a lost datagram: the member asks again later. */
	(void)sendmsg(fd, &m, 0);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct probeport_sock *s = h->data;
	unsigned i;

	(void)events;
	if (status < 0)
		return;
	for (i = 0; i < PROBEPORT_BUDGET; ++i) {
		uint8_t buf[PROBEPORT_DGRAM_MAX + 1], out[PROBEPORT_DGRAM_MAX];
		char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		union wg_sockaddr src;
		union wg_pktinfo local;
		struct msghdr m;
		bool has_local;
		ssize_t n;
		size_t r;

		memset(&m, 0, sizeof(m));
		memset(&src, 0, sizeof(src));
		m.msg_name = &src;
		m.msg_namelen = sizeof(src);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		n = recvmsg(s->fd, &m, 0);
		if (n < 0)
			break;
		/* Longer than any overlay datagram: read, not answered. */
		if ((size_t)n > PROBEPORT_DGRAM_MAX || (m.msg_flags & MSG_TRUNC))
			continue;
		memset(&local, 0, sizeof(local));
		has_local = local_of(&m, &local);
		r = s->pp->input(s->pp->ctx, &src, &local, has_local, buf, (size_t)n, out, sizeof(out));
		if (r)
			answer(s->fd, &src, &local, has_local, out, r);
	}
}

static void on_closed(uv_handle_t *h)
{
	struct probeport_sock *s = h->data;
	struct probeport *pp = s->pp;

	close(s->fd);
	s->fd = -1;
	if (--pp->open_handles == 0)
		free(pp);
}

int probeport_open(struct probeport **out, uv_loop_t *loop, uint16_t port, probeport_input_cb *input,
		   void *ctx)
{
	struct probeport *pp;
	int fd[2], i;

	fd[0] = open_sock(AF_INET, port);
	if (fd[0] < 0)
		return fd[0];
	/* IPv6 as the main port has it: where the host has none, IPv4 alone. */
	fd[1] = open_sock(AF_INET6, port);
	if (fd[1] == -EADDRINUSE) {
		close(fd[0]);
		return -EADDRINUSE;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		close(fd[0]);
		if (fd[1] >= 0)
			close(fd[1]);
		return -ENOMEM;
	}
	pp->input = input;
	pp->ctx = ctx;
	for (i = 0; i < 2; ++i) {
		struct probeport_sock *s = &pp->s[i];

		s->fd = fd[i] >= 0 ? fd[i] : -1;
		s->pp = pp;
		if (s->fd < 0)
			continue;
		uv_poll_init(loop, &s->poll, s->fd);
		s->poll.data = s;
		uv_poll_start(&s->poll, UV_READABLE, on_readable);
		++pp->open_handles;
	}
	*out = pp;
	return 0;
}

void probeport_close(struct probeport *pp)
{
	unsigned i;

	if (!pp)
		return;
	for (i = 0; i < 2; ++i) {
		if (pp->s[i].fd < 0)
			continue;
		uv_poll_stop(&pp->s[i].poll);
		uv_close((uv_handle_t *)&pp->s[i].poll, on_closed);
	}
}
