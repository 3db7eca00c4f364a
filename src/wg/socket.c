/* The device's outer UDP sockets: bind (one port for both families),
 * batched send (sendmmsg, UDP GSO) and batched receive (recvmmsg, UDP
 * GRO) into the device's packet pool, with the local address a datagram
 * came to kept so that replies leave from it.  What the datagrams mean is
 * receive.c's and send.c's. */
#include "src/wg/socket.h"

#include "src/io/udp_gso.h"
#include "src/io/udpsock.h"
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "src/wg/receive.h"
#include "src/wg/steer.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	UDP_BATCHES_PER_TURN = 4,
	/* The control queue is read one batch a turn: a flood of control
	 * datagrams costs the loop at most that, and what the loop does not
	 * read the kernel drops when the queue is full, on the sender's
	 * time, counted (device_socket_stats). */
	CTL_BATCHES_PER_TURN = 1,
	SOCKET_BUFFER_SIZE = 7 << 20,
	/* Handshakes and overlay messages are small and few: 2 MiB holds
	 * some 2,000 of them, and bounds the kernel memory a flood pins. */
	CTL_BUFFER_SIZE = 2 << 20,
};

/* ---- sockets ---- */

static void on_poll_closed(uv_handle_t *h);
static void on_udp_readable(uv_poll_t *h, int status, int events);

static int open_socket(int family, uint16_t port, uint32_t fwmark, int bufsize, bool reuseport,
		       bool *gro, uint16_t *bound)
{
	struct udpsock_opt o = {
		.fwmark = fwmark, .bufsize = bufsize, .force_buf = true, .reuseport = reuseport, .gro = gro,
	};

	return udpsock_open(family, port, &o, bound);
}

/* Opens family's sockets on port: *data, and *ctl and *known beside it
 * (-1 when the kernel would not steer: *data then takes everything).  A
 * probe without SO_REUSEPORT binds first, to find the port (0: a free
 * one) and to fail as a plain bind would when anything holds the port,
 * another node's steered sockets included; then the data, control and
 * known sockets bind it with SO_REUSEPORT, in that order (the steering
 * program's indexes, steer.c), and the program goes on the group.  (The
 * kernel lets another process of the same user join the group later
 * only if it sets SO_REUSEPORT itself; no WireGuard implementation
 * does.) */
static int open_family(int family, uint16_t port, uint32_t fwmark, bool steer, bool *gro,
		       uint16_t *bound, int *data, int *ctl, int *known)
{
	uint16_t p, p2;
	int fd, fd2;

	*data = *ctl = *known = -1;
	if (!steer) {
		fd = open_socket(family, port, fwmark, SOCKET_BUFFER_SIZE, false, gro, bound);
		if (fd < 0)
			return fd;
		*data = fd;
		return 0;
	}
	fd = open_socket(family, port, 0, 0, false, NULL, &p);
	if (fd < 0)
		return fd;
	close(fd);
	fd = open_socket(family, p, fwmark, SOCKET_BUFFER_SIZE, true, gro, bound);
	if (fd < 0)
		return fd;
	*data = fd;
	fd = open_socket(family, p, fwmark, CTL_BUFFER_SIZE, true, NULL, &p2);
	if (fd < 0)
		return 0;
	fd2 = open_socket(family, p, fwmark, CTL_BUFFER_SIZE, true, NULL, &p2);
	if (fd2 < 0 || steer_attach(*data, family) < 0) {
		close(fd);
		if (fd2 >= 0)
			close(fd2);
		return 0;
	}
	*ctl = fd;
	*known = fd2;
	return 0;
}

static uv_poll_t *start_poll(struct wg_device *dev, int fd)
{
	uv_poll_t *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	uv_poll_init(dev->loop, h, fd);
	h->data = dev;
	uv_poll_start(h, UV_READABLE, on_udp_readable);
	return h;
}

static bool ipv6_available(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Closes what open_family opened: fd[] is data4, ctl4, known4, data6,
 * ctl6, known6, with their poll handles in h[] where started. */
static void close_unstarted(int fd[6], uv_poll_t *h[6])
{
	unsigned i;

	for (i = 0; i < 6; ++i) {
		if (h[i]) {
			h[i]->data = (void *)(intptr_t)fd[i];
			uv_close((uv_handle_t *)h[i], on_poll_closed);
		} else if (fd[i] >= 0) {
			close(fd[i]);
		}
		fd[i] = -1;
		h[i] = NULL;
	}
}

int device_bind(struct wg_device *dev, uint16_t port)
{
	int fd[6] = { -1, -1, -1, -1, -1, -1 }, attempt, ret = 0;
	uv_poll_t *h[6] = { NULL, NULL, NULL, NULL, NULL, NULL };
	uint16_t b4 = 0, b6 = 0;
	bool want6 = ipv6_available(), gro = dev->udp_gro;
	unsigned i;

	/* With port 0 the IPv4 sockets pick a port and the IPv6 ones must
	 * get the same; retry a few times when it is taken for IPv6. */
	for (attempt = 0; attempt < 32; ++attempt) {
		ret = open_family(AF_INET, port, dev->fwmark, dev->want_steer, &gro, &b4, &fd[0], &fd[1],
				  &fd[2]);
		if (ret < 0 || !want6)
			break;
		ret = open_family(AF_INET6, b4, dev->fwmark, dev->want_steer, &gro, &b6, &fd[3], &fd[4],
				  &fd[5]);
		if (ret == 0)
			break;
		close_unstarted(fd, h);
		if (port || ret != -EADDRINUSE)
			break;
	}
	if (ret < 0) {
		close_unstarted(fd, h);
		return ret;
	}
	for (i = 0; i < 6; ++i) {
		if (fd[i] >= 0 && !(h[i] = start_poll(dev, fd[i]))) {
			/* Nothing was started yet on the loop but the poll
			 * handles themselves; close them the libuv way. */
			close_unstarted(fd, h);
			return -ENOMEM;
		}
	}
	/* The data sockets are read the same way: without GRO on one, none. */
	if (dev->udp_gro && !gro) {
		udp_gro_disable(fd[0]);
		if (fd[3] >= 0)
			udp_gro_disable(fd[3]);
		dev->udp_gro = false;
	}
	socket_close(dev, AF_INET);
	socket_close(dev, AF_INET6);
	dev->sock4 = fd[0];
	dev->ctl4 = fd[1];
	dev->prio4 = fd[2];
	dev->sock6 = fd[3];
	dev->ctl6 = fd[4];
	dev->prio6 = fd[5];
	dev->poll4 = h[0];
	dev->ctl_poll4 = h[1];
	dev->prio_poll4 = h[2];
	dev->poll6 = h[3];
	dev->ctl_poll6 = h[4];
	dev->prio_poll6 = h[5];
	dev->listen_port = port;
	dev->bound_port = b4;
	/* The new sockets' program knows no one yet. */
	dev->known4 = dev->known6 = 0;
	dev->known_dirty = true;
	device_refresh_known(dev);
	if (dev->ctl_paused && dev->ctl_poll4)
		uv_poll_stop(dev->ctl_poll4);
	if (dev->ctl_paused && dev->ctl_poll6)
		uv_poll_stop(dev->ctl_poll6);
	return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
	int fd = (int)(intptr_t)h->data;

	if (fd >= 0)
		close(fd);
	free(h);
}

/* The poll handle owns its socket: both go in the close callback. */
static void close_one(uv_poll_t **h, int *fd)
{
	if (*h) {
		uv_poll_stop(*h);
		(*h)->data = (void *)(intptr_t)*fd;
		uv_close((uv_handle_t *)*h, on_poll_closed);
		*h = NULL;
	} else if (*fd >= 0) {
		close(*fd);
	}
	*fd = -1;
}

void socket_close(struct wg_device *dev, int family)
{
	if (family == AF_INET) {
		close_one(&dev->poll4, &dev->sock4);
		close_one(&dev->ctl_poll4, &dev->ctl4);
		close_one(&dev->prio_poll4, &dev->prio4);
	} else {
		close_one(&dev->poll6, &dev->sock6);
		close_one(&dev->ctl_poll6, &dev->ctl6);
		close_one(&dev->prio_poll6, &dev->prio6);
	}
}

static uint64_t queue_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

void device_socket_stats(const struct wg_device *dev, struct wg_socket_stats *st)
{
	st->data4_queue_drops = queue_drops(dev->sock4);
	st->ctl4_queue_drops = queue_drops(dev->ctl4);
	st->data6_queue_drops = queue_drops(dev->sock6);
	st->ctl6_queue_drops = queue_drops(dev->ctl6);
	st->known4_queue_drops = queue_drops(dev->prio4);
	st->known6_queue_drops = queue_drops(dev->prio6);
	st->steered4 = dev->ctl4 >= 0;
	st->steered6 = dev->ctl6 >= 0;
	st->known4 = dev->known4;
	st->known6 = dev->known6;
	st->control_read_rate = dev->ctl_cost_ns ? 1000000000ULL / dev->ctl_cost_ns : 0;
	st->control_reads = dev->ctl_reads;
	st->control_pauses = dev->ctl_pauses;
}

/* ---- the strangers' budget ---- */

/* A burst of this many strangers' datagrams passes at once. */
enum { CTL_BURST_MS = 100 };

static void ctl_poll_set(struct wg_device *dev, bool on)
{
	uv_poll_t *h[2] = { dev->ctl_poll4, dev->ctl_poll6 };
	unsigned i;

	for (i = 0; i < 2; ++i)
		if (h[i] && on)
			uv_poll_start(h[i], UV_READABLE, on_udp_readable);
		else if (h[i])
			uv_poll_stop(h[i]);
	dev->ctl_paused = !on;
}

static void on_ctl_timer(uv_timer_t *t)
{
	struct wg_device *dev = t->data;

	if (!dev->closing)
		ctl_poll_set(dev, true);
}

void device_set_control_budget(struct wg_device *dev, uint64_t per_second)
{
	dev->ctl_cost_ns = per_second ? 1000000000ULL / per_second : 0;
	dev->ctl_tat = 0;
	if (dev->ctl_paused) {
		uv_timer_stop(&dev->ctl_timer);
		ctl_poll_set(dev, true);
	}
}

/* Before a batch from the strangers' queue: whether the budget has room
 * for it; if not, the queue's polls pause until it has. */
static bool ctl_budget_allows(struct wg_device *dev, uint64_t now)
{
	uint64_t burst = (uint64_t)CTL_BURST_MS * 1000000, wait;

	if (!dev->ctl_cost_ns)
		return true;
	if (dev->ctl_tat < now)
		dev->ctl_tat = now;
	if (dev->ctl_tat + dev->ctl_cost_ns <= now + burst)
		return true;
	wait = (dev->ctl_tat + dev->ctl_cost_ns * PKT_BATCH_MAX - now - burst) / 1000000 + 1;
	ctl_poll_set(dev, false);
	++dev->ctl_pauses;
	uv_timer_start(&dev->ctl_timer, on_ctl_timer, wait, 0);
	return false;
}

/* ---- sending ---- */

/* Fills msg with the destination and, when known, the local source. */
static void prepare_msg(struct msghdr *m, struct iovec *iov, const union wg_sockaddr *to,
			const union wg_pktinfo *local, bool has_local, char *cbuf, size_t cbuflen)
{
	struct cmsghdr *c;

	memset(m, 0, sizeof(*m));
	m->msg_name = (void *)&to->sa;
	m->msg_namelen = wg_sockaddr_len(to);
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	if (!has_local)
		return;
	memset(cbuf, 0, cbuflen);
	m->msg_control = cbuf;
	if (to->sa.sa_family == AF_INET) {
		struct in_pktinfo pi = local->v4;

		/* Leave from the address it arrived on; let routing pick
		 * the interface. */
		pi.ipi_spec_dst = pi.ipi_addr;
		pi.ipi_ifindex = 0;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = local->v6;

		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

static int sock_for(const struct wg_device *dev, const union wg_sockaddr *to)
{
	if (to->sa.sa_family == AF_INET)
		return dev->sock4;
	if (to->sa.sa_family == AF_INET6)
		return dev->sock6;
	return -1;
}

static int send_one(struct wg_device *dev, const union wg_sockaddr *to,
		    const union wg_pktinfo *local, bool *has_local, const void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr m;
	int fd = sock_for(dev, to);
	ssize_t n;

	if (fd < 0)
		return -EAFNOSUPPORT;
	prepare_msg(&m, &iov, to, local, *has_local, cbuf, sizeof(cbuf));
	do
		n = sendmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && *has_local && (errno == EINVAL || errno == EADDRNOTAVAIL || errno == ENETUNREACH)) {
		/* The cached source address is gone: forget it, retry. */
		*has_local = false;
		prepare_msg(&m, &iov, to, local, false, cbuf, sizeof(cbuf));
		n = sendmsg(fd, &m, 0);
	}
	if (n < 0) {
		++dev->drops.send_errors;
		return -errno;
	}
	return 0;
}

/* A datagram for a peer the owner routes, outside a batch (handshakes,
 * cookie-less keepalives): copied into a buffer with the owner's
 * headroom, handed to its output op, sent here when it readdressed it. */
static int ext_send(struct wg_device *dev, struct wg_peer *peer, const void *buf, size_t len)
{
	struct pkt *p;
	int ret = -ENOTCONN;

	if (!dev->ext)
		goto out;
	ret = -EMSGSIZE;
	if (len > PKT_BUF_SIZE - PKT_HEADROOM)
		goto out;
	ret = -ENOBUFS;
	p = pkt_get(&dev->pool);
	if (!p)
		goto out;
	memcpy(p->data, buf, len);
	p->len = len;
	p->addr = peer->endpoint;
	p->peer = peer;
	p->has_local = false;
	switch (dev->ext->output(dev->ext_ctx, peer, p)) {
	case WG_EXT_SEND: {
		bool no_local = false;

		++dev->ext_tx;
		ret = send_one(dev, &p->addr, NULL, &no_local, p->data, p->len);
		pkt_put(&dev->pool, p);
		return ret;	/* send_one counted a failure */
	}
	case WG_EXT_TAKEN:
		ret = 0;
		break;
	default:
		ret = -ENOTCONN;
		break;
	}
	pkt_put(&dev->pool, p);
out:
	if (ret < 0)
		++dev->drops.send_errors;
	return ret;
}

int device_send(struct wg_device *dev, const union wg_sockaddr *addr, const void *buf, size_t len)
{
	bool no_local = false;

	return send_one(dev, addr, NULL, &no_local, buf, len);
}

int device_send_peer(struct wg_device *dev, struct wg_peer *peer, const void *buf, size_t len)
{
	if (peer->routed)
		return ext_send(dev, peer, buf, len);
	return send_one(dev, &peer->endpoint, &peer->src, &peer->src_valid, buf, len);
}

/* A segmented send failed with err: was it the segmentation?  EIO is the
 * kernel saying the route cannot checksum a segmented datagram; EINVAL a
 * segment larger than the path allows (or a stale source address, which
 * the retry of the first datagram alone has just told apart).  GSO stays
 * off for the rest of the device's life. */
static void gso_failed(struct wg_device *dev, int err, bool had_local, const struct pkt *p)
{
	if (err != EIO && !(err == EINVAL && (!had_local || (p->peer && p->peer->src_valid))))
		return;
	dev->udp_gso = false;
	dev_log(dev, LOG_INFO, "UDP segmentation offload refused (%s): sending datagrams one by one",
		strerror(err));
}

/* A packet of the batch for a peer the owner routes: the owner writes
 * its header into the headroom and readdresses it, and it stays in the
 * batch (true), or sends it its own way or refuses it (false: the device
 * recycles it). */
static bool ext_output(struct wg_device *dev, struct pkt *p)
{
	enum wg_ext_verdict v = dev->ext ? dev->ext->output(dev->ext_ctx, p->peer, p) : WG_EXT_REFUSED;

	if (v == WG_EXT_SEND) {
		++dev->ext_tx;
		return true;
	}
	if (v != WG_EXT_TAKEN)
		++dev->drops.send_errors;
	return false;
}

void device_send_batch(struct wg_device *dev, struct pkt_batch *b)
{
	struct mmsghdr mm[PKT_BATCH_MAX];
	struct iovec iov[PKT_BATCH_MAX];
	char cbuf[PKT_BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + UDP_GSO_CMSG_SPACE];
	unsigned first[PKT_BATCH_MAX], count[PKT_BATCH_MAX];
	unsigned i, j, start = 0, kept = 0;

	/* Routed peers' packets go where the owner says. */
	for (i = 0; i < b->n; ++i) {
		struct pkt *p = b->p[i];

		if (p->peer && p->peer->routed && !ext_output(dev, p))
			pkt_put(&dev->pool, p);
		else
			b->p[kept++] = p;
	}
	b->n = kept;

	/* sendmmsg takes one socket: send runs of the same family.  With
	 * UDP GSO, one message carries a run of datagrams for one peer. */
	while (start < b->n) {
		int fam = b->p[start]->addr.sa.sa_family;
		int fd = sock_for(dev, &b->p[start]->addr);
		unsigned n = 0, done = 0, end;

		for (i = start; i < b->n && b->p[i]->addr.sa.sa_family == fam; i += count[n++]) {
			struct pkt *p = b->p[i];
			bool has_local = p->peer ? p->peer->src_valid : false;
			unsigned run = dev->udp_gso ? udp_gso_run(b->p + i, b->n - i) : 1;

			for (j = 0; j < run; ++j) {
				iov[i + j].iov_base = b->p[i + j]->data;
				iov[i + j].iov_len = b->p[i + j]->len;
			}
			prepare_msg(&mm[n].msg_hdr, &iov[i], &p->addr,
				    p->peer ? &p->peer->src : NULL, has_local,
				    cbuf[n], sizeof(cbuf[n]));
			mm[n].msg_hdr.msg_iovlen = run;
			if (run > 1 && udp_gso_add_cmsg(&mm[n].msg_hdr, cbuf[n], sizeof(cbuf[n]),
							(uint16_t)p->len) < 0) {
				mm[n].msg_hdr.msg_iovlen = 1;
				run = 1;
			}
			first[n] = i;
			count[n] = run;
		}
		end = i;
		while (fd >= 0 && done < n) {
			int r = sendmmsg(fd, mm + done, n - done, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				/* Retry the failing message's datagrams alone, which
				 * also drops a stale source address; then go on. */
				int err = r < 0 ? errno : EIO;
				struct pkt *p0 = b->p[first[done]];
				bool had_local = p0->peer && p0->peer->src_valid;

				for (j = first[done]; j < first[done] + count[done]; ++j) {
					struct pkt *p = b->p[j];

					/* (A routed peer's datagram is already
					 * the owner's, for p->addr.) */
					if (p->peer && !p->peer->routed)
						device_send_peer(dev, p->peer, p->data, p->len);
					else
						device_send(dev, &p->addr, p->data, p->len);
				}
				if (count[done] > 1 && dev->udp_gso)
					gso_failed(dev, err, had_local, p0);
				++done;
				continue;
			}
			done += (unsigned)r;
		}
		if (fd < 0)
			dev->drops.send_errors += end - start;
		for (i = start; i < end; ++i)
			pkt_put(&dev->pool, b->p[i]);
		start = end;
	}
	b->n = 0;
}

/* ---- receiving ---- */

static void read_local(struct msghdr *m, struct pkt *p)
{
	p->has_local = udpsock_arrival(m, &p->local) != 0;
}

/* Adds p to the batch for receive_batch, passing a full batch on first. */
static void rx_add(struct wg_device *dev, struct pkt_batch *out, struct pkt *p)
{
	if (out->n == PKT_BATCH_MAX)
		receive_batch(dev, out);
	out->p[out->n++] = p;
}

/* UDP GRO: one recvmmsg into the device's own 64 KiB buffers (so that the
 * pool's buffers, of which only the pages a packet touches are resident,
 * stay small), then each datagram, which may hold several (the cmsg's
 * segment size, the last one maybe shorter), cut into one packet each, in
 * order.  Adds the packets made to *segs; returns true when every buffer
 * was filled (more may wait). */
static bool udp_read_gro(struct wg_device *dev, int fd, unsigned *segs)
{
	struct mmsghdr mm[UDP_GRO_RECV_MAX];
	struct iovec iov[UDP_GRO_RECV_MAX];
	union wg_sockaddr from[UDP_GRO_RECV_MAX];
	char cbuf[UDP_GRO_RECV_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
				    UDP_GRO_CMSG_SPACE];
	struct pkt_batch out;
	unsigned i;
	int r;

	for (i = 0; i < UDP_GRO_RECV_MAX; ++i) {
		iov[i].iov_base = dev->gro_buf + (size_t)i * UDP_GRO_BUF_SIZE;
		iov[i].iov_len = UDP_GRO_BUF_SIZE;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = cbuf[i];
		mm[i].msg_hdr.msg_controllen = sizeof(cbuf[i]);
	}
	do
		r = recvmmsg(fd, mm, UDP_GRO_RECV_MAX, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return false;
	out.n = 0;
	for (i = 0; i < (unsigned)r; ++i) {
		const uint8_t *d = iov[i].iov_base;
		size_t len = mm[i].msg_len, seg = udp_gro_segment_size(&mm[i].msg_hdr), off = 0;

		if (!seg || seg > len)
			seg = len;
		do {
			size_t n = len - off < seg ? len - off : seg;
			struct pkt *p = pkt_get(&dev->pool);

			if (!p) {
				++dev->drops.pool_exhausted;
				break;
			}
			memcpy(p->data, d + off, n);
			p->len = n;
			p->addr = from[i];
			p->peer = NULL;
			p->routed = false;
			read_local(&mm[i].msg_hdr, p);
			rx_add(dev, &out, p);
			++*segs;
			off += n;
		} while (off < len);
	}
	if (out.n)
		receive_batch(dev, &out);
	return (unsigned)r == UDP_GRO_RECV_MAX;
}

static void on_udp_readable(uv_poll_t *h, int status, int events)
{
	struct wg_device *dev = h->data;
	bool stranger = h == dev->ctl_poll4 || h == dev->ctl_poll6;
	bool ctl = stranger || h == dev->prio_poll4 || h == dev->prio_poll6;
	struct mmsghdr mm[PKT_BATCH_MAX];
	struct iovec iov[PKT_BATCH_MAX];
	char cbuf[PKT_BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct pkt_batch b;
	unsigned i, turn;
	uv_os_fd_t fd;
	int r;

	if (status < 0 || uv_fileno((uv_handle_t *)h, &fd) < 0)
		return;
	if (dev->udp_gro && !ctl) {
		unsigned segs = 0;

		while (segs < UDP_BATCHES_PER_TURN * PKT_BATCH_MAX && udp_read_gro(dev, fd, &segs))
			;
		return;
	}
	for (turn = 0; turn < (ctl ? CTL_BATCHES_PER_TURN : UDP_BATCHES_PER_TURN); ++turn) {
		if (stranger && !ctl_budget_allows(dev, wg_now(dev)))
			return;
		for (b.n = 0; b.n < PKT_BATCH_MAX; ++b.n) {
			struct pkt *p = pkt_get(&dev->pool);

			if (!p)
				break;
			b.p[b.n] = p;
			iov[b.n].iov_base = p->data;
			iov[b.n].iov_len = PKT_BUF_SIZE - PKT_HEADROOM;
			memset(&mm[b.n], 0, sizeof(mm[b.n]));
			mm[b.n].msg_hdr.msg_name = &p->addr;
			mm[b.n].msg_hdr.msg_namelen = sizeof(p->addr);
			mm[b.n].msg_hdr.msg_iov = &iov[b.n];
			mm[b.n].msg_hdr.msg_iovlen = 1;
			mm[b.n].msg_hdr.msg_control = cbuf[b.n];
			mm[b.n].msg_hdr.msg_controllen = sizeof(cbuf[b.n]);
		}
		if (!b.n) {
			/* No buffer: the poll is level-triggered, so read and
			 * drop one datagram rather than spin on it. */
			char scratch[64];

			if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) >= 0)
				++dev->drops.pool_exhausted;
			return;
		}
		do
			r = recvmmsg(fd, mm, b.n, MSG_DONTWAIT, NULL);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			for (i = 0; i < b.n; ++i)
				pkt_put(&dev->pool, b.p[i]);
			return;
		}
		for (i = (unsigned)r; i < b.n; ++i)
			pkt_put(&dev->pool, b.p[i]);
		b.n = (unsigned)r;
		if (stranger) {
			dev->ctl_reads += b.n;
			dev->ctl_tat += dev->ctl_cost_ns * b.n;
		}
		for (i = 0; i < b.n; ++i) {
			b.p[i]->len = mm[i].msg_len;
			b.p[i]->peer = NULL;
			b.p[i]->routed = false;
			read_local(&mm[i].msg_hdr, b.p[i]);
		}
		receive_batch(dev, &b);
		if ((unsigned)r < PKT_BATCH_MAX)
			return;
	}
}

void device_input_routed(struct wg_device *dev, const union wg_sockaddr *via,
			 const uint8_t *buf, size_t len)
{
	struct pkt_batch b;
	struct pkt *p;

	if (len > PKT_BUF_SIZE - PKT_HEADROOM) {
		++dev->drops.bad_length;
		return;
	}
	p = pkt_get(&dev->pool);
	if (!p) {
		++dev->drops.pool_exhausted;
		return;
	}
	memcpy(p->data, buf, len);
	p->len = len;
	p->addr = *via;
	p->peer = NULL;
	p->has_local = false;
	p->routed = true;
	b.p[0] = p;
	b.n = 1;
	receive_batch(dev, &b);
}

int device_set_fwmark(struct wg_device *dev, uint32_t mark)
{
	int fds[6] = { dev->sock4, dev->sock6, dev->ctl4, dev->ctl6, dev->prio4, dev->prio6 }, i;

	for (i = 0; i < 6; ++i)
		if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	dev->fwmark = mark;
	return 0;
}
