/* The device: sockets, TUN, the index table and the loop glue.  See
 * device.h for the data flow. */
#include "src/wg/device.h"

#include "crypto/encoding.h"
#include "crypto/x25519.h"
#include "proto/overlay/codec.h"
#include "proto/common/gcra.h"
#include "proto/wg/ratelimiter.h"
#include "src/wg/crypt_pool.h"
#include "src/wg/peer.h"
#include "src/wg/receive.h"
#include "src/wg/send.h"
#include "tun/tun_offload.h"
#include "src/io/udp_gso.h"
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum {
	HANDSHAKES_PER_TURN = 32,	/* handshake budget of one loop turn */
	/* At most this share (1/n) of the loop's time goes to handshake
	 * messages over any stretch longer than HS_CREDIT_MAX_NS * n: the
	 * rest stays for established sessions during a flood.  A turn of
	 * the drain ends once it has used HS_TURN_MAX_NS. */
	HS_TIME_SHARE_DIV = 4,
	HS_CREDIT_MAX_NS = 20000000,
	HS_TURN_MAX_NS = 500000,
	/* Under load, handshake messages checked (mac1, mac2: two or three
	 * BLAKE2s, and a cookie reply or the queue) as they arrive: so many
	 * a second per source address (/64 in IPv6), so many over all; the
	 * rest are dropped unchecked.  A few percent of a core at most. */
	HS_CHECKS_PER_SOURCE = 64,
	HS_CHECKS_BURST_PER_SOURCE = 16,
	HS_CHECKS_PER_SECOND = 32768,
	HS_CHECKS_BURST = 2048,
	UDP_BATCHES_PER_TURN = 4,
	/* With UDP GRO, as many datagrams per recvmmsg as without (a flood
	 * of small ones must fill the handshake queue as fast as before),
	 * each of which may hold 64 KiB of segments: the turn ends after
	 * UDP_BATCHES_PER_TURN * PKT_BATCH_MAX segments instead. */
	UDP_GRO_RECV_MAX = PKT_BATCH_MAX,
	UDP_GRO_BUF_SIZE = 65536,
	TUN_BUF_SIZE = 65536,
	TUN_PACKETS_PER_TURN = PKT_BATCH_MAX,
	RATELIMITER_MAX_ENTRIES = 8192,
	PKT_POOL_MAX = 4096,
	LOG_DEBUG_BURST = 20,		/* debug lines per second */
	SOCKET_BUFFER_SIZE = 7 << 20,
	/* The path a relay channel datagram must fit (as WireGuard's own
	 * 1420-byte default assumes): larger ones go wrapped, fragmented. */
	RELAY_CHANNEL_PATH_MTU = 1500,
};

_Static_assert((int)PKT_RELAY_ROOM >= (int)OVL_CHAN_HEADER_LEN, "room for a relay channel header");

uint64_t wg_now(const struct wg_device *dev)
{
	(void)dev;
	/* Never zero, so that 0 can mean "never" in timestamps. */
	return uv_hrtime() + 1;
}

void dev_log(struct wg_device *dev, unsigned level, const char *fmt, ...)
{
	va_list ap;

	if (level > dev->log_level)
		return;
	if (level == LOG_DBG) {
		uint64_t now = wg_now(dev);

		if (now - dev->log_tokens_at > 1000000000ULL) {
			dev->log_tokens_at = now;
			dev->log_tokens = LOG_DEBUG_BURST;
		}
		if (!dev->log_tokens)
			return;
		--dev->log_tokens;
	}
	/* At debug level, the monotonic clock in ms: the order and spacing
	 * of events is what a debug log is read for. */
	if (dev->log_level >= LOG_DBG) {
		uint64_t t = wg_now(dev);

		fprintf(stderr, "[%llu.%03llu] ", (unsigned long long)(t / 1000000000ULL),
			(unsigned long long)(t / 1000000ULL % 1000));
	}
	fprintf(stderr, "%s: ", dev->ifname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

unsigned device_log_level_from_env(void)
{
	const char *l = getenv("LOG_LEVEL");

	if (!l)
		return LOG_INFO;
	if (!strcmp(l, "error") || !strcmp(l, "silent"))
		return LOG_ERR;
	if (!strcmp(l, "verbose") || !strcmp(l, "debug"))
		return LOG_DBG;
	return LOG_INFO;
}

/* ---- index table ---- */

static size_t index_bucket(const struct wg_device *dev, uint32_t index)
{
	/* Indices are random, so their low bits spread evenly. */
	return index & (dev->index_hash_size - 1);
}

static int index_grow(struct wg_device *dev)
{
	size_t nsize = dev->index_hash_size * 2, i;
	struct index_entry **n = calloc(nsize, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (i = 0; i < dev->index_hash_size; ++i) {
		struct index_entry *e = dev->index_hash[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = n[e->index & (nsize - 1)];
			n[e->index & (nsize - 1)] = e;
		}
	}
	free(dev->index_hash);
	dev->index_hash = n;
	dev->index_hash_size = nsize;
	return 0;
}

struct index_entry *device_index_find(struct wg_device *dev, uint32_t index)
{
	struct index_entry *e;

	for (e = dev->index_hash[index_bucket(dev, index)]; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

uint32_t device_index_insert(struct wg_device *dev, enum index_kind kind,
			     struct wg_peer *peer, struct noise_keypair *kp)
{
	struct index_entry *e;
	uint32_t index;

	if (dev->nindices >= dev->index_hash_size && index_grow(dev) < 0)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;
	do
		index = randombytes_random();
	while (!index || device_index_find(dev, index));
	e->index = index;
	e->kind = kind;
	e->peer = peer;
	e->keypair = kp;
	e->next = dev->index_hash[index_bucket(dev, index)];
	dev->index_hash[index_bucket(dev, index)] = e;
	++dev->nindices;
	return index;
}

void device_index_remove(struct wg_device *dev, uint32_t index)
{
	struct index_entry **pp = &dev->index_hash[index_bucket(dev, index)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->index == index) {
			struct index_entry *e = *pp;

			*pp = e->next;
			free(e);
			--dev->nindices;
			return;
		}
	}
}

void device_index_to_keypair(struct wg_device *dev, uint32_t index, struct noise_keypair *kp)
{
	struct index_entry *e = device_index_find(dev, index);

	if (e) {
		e->kind = INDEX_KEYPAIR;
		e->keypair = kp;
	}
	kp->local_index = index;
}

/* ---- sockets ---- */

static void close_socket(struct wg_device *dev, int family);
static void on_poll_closed(uv_handle_t *h);
static void on_udp_readable(uv_poll_t *h, int status, int events);

static int open_socket(int family, uint16_t port, uint32_t fwmark, bool *gro, uint16_t *bound)
{
	union wg_sockaddr a;
	socklen_t alen;
	int fd, one = 1, ret, bufsize = SOCKET_BUFFER_SIZE;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	/* Large buffers absorb bursts while the loop is busy sealing or
	 * opening a batch (the kernel caps the plain request at rmem_max;
	 * the FORCE variants need CAP_NET_ADMIN, which we have). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	/* Without it, datagrams arrive one by one, as before. */
	if (*gro && udp_gro_enable(fd) < 0)
		*gro = false;
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0) {
		ret = -errno;
		goto fail;
	}
	if (bind(fd, &a.sa, wg_sockaddr_len(&a)) < 0) {
		ret = -errno;
		goto fail;
	}
	alen = sizeof(a);
	if (getsockname(fd, &a.sa, &alen) < 0) {
		ret = -errno;
		goto fail;
	}
	*bound = ntohs(family == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
	return fd;
fail:
	close(fd);
	return ret;
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

int device_bind(struct wg_device *dev, uint16_t port)
{
	int fd4 = -1, fd6 = -1, attempt, ret = 0;
	uv_poll_t *p4, *p6;
	uint16_t b4 = 0, b6 = 0;
	bool want6 = ipv6_available(), gro = dev->udp_gro;

	/* With port 0 the IPv4 socket picks a port and the IPv6 one must
	 * get the same; retry a few times when it is taken for IPv6. */
	for (attempt = 0; attempt < 32; ++attempt) {
		fd4 = open_socket(AF_INET, port, dev->fwmark, &gro, &b4);
		if (fd4 < 0) {
			ret = fd4;
			break;
		}
		if (!want6)
			break;
		fd6 = open_socket(AF_INET6, b4, dev->fwmark, &gro, &b6);
		if (fd6 >= 0)
			break;
		ret = fd6;
		close(fd4);
		fd4 = -1;
		if (port || ret != -EADDRINUSE)
			break;
	}
	if (fd4 < 0 || (want6 && fd6 < 0)) {
		if (fd4 >= 0)
			close(fd4);
		return ret ? ret : -EADDRINUSE;
	}

	p4 = start_poll(dev, fd4);
	p6 = fd6 >= 0 ? start_poll(dev, fd6) : NULL;
	if (!p4 || (fd6 >= 0 && !p6)) {
		/* Nothing was started yet on the loop but the poll handles
		 * themselves; close them the libuv way. */
		if (p4) {
			p4->data = (void *)(intptr_t)fd4;
			uv_close((uv_handle_t *)p4, on_poll_closed);
		} else {
			close(fd4);
		}
		if (fd6 >= 0)
			close(fd6);
		return -ENOMEM;
	}
	/* Both sockets are read the same way: without GRO on one, none. */
	if (dev->udp_gro && !gro) {
		udp_gro_disable(fd4);
		if (fd6 >= 0)
			udp_gro_disable(fd6);
		dev->udp_gro = false;
	}
	close_socket(dev, AF_INET);
	close_socket(dev, AF_INET6);
	dev->sock4 = fd4;
	dev->sock6 = fd6;
	dev->poll4 = p4;
	dev->poll6 = p6;
	dev->listen_port = port;
	dev->bound_port = b4;
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
static void close_socket(struct wg_device *dev, int family)
{
	uv_poll_t **h = family == AF_INET ? &dev->poll4 : &dev->poll6;
	int *fd = family == AF_INET ? &dev->sock4 : &dev->sock6;

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

/* ---- sending ---- */

/* Fills msg with the destination and, when known, the local source. */
static void prepare_msg(struct msghdr *m, struct iovec *iov, const union wg_sockaddr *to,
			const void *local, bool has_local, char *cbuf, size_t cbuflen)
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
		struct in_pktinfo pi;

		memcpy(&pi, local, sizeof(pi));
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
		struct in6_pktinfo pi;

		memcpy(&pi, local, sizeof(pi));
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

static int send_one(struct wg_device *dev, const union wg_sockaddr *to, const void *local,
		    bool *has_local, const void *buf, size_t len)
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

/* A relayed peer's datagram goes to the owner's relay hook. */
static int relay_out(struct wg_device *dev, struct wg_peer *peer, const void *buf, size_t len)
{
	int ret = dev->relay_output ? dev->relay_output(dev->relay_ctx, peer, buf, len) : -ENOTCONN;

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
	if (peer->relayed)
		return relay_out(dev, peer, buf, len);
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

/* A relayed peer's data packet goes in the relay's channel when one is
 * bound and the datagram, with its 8-byte header, fits a 1500-byte path
 * (doc/protocol.md 9.1): the header goes in the headroom in front of the
 * sealed packet, which is sent to the relay (the endpoint) in the batch
 * like any other.  false: the owner's relay hook wraps it instead. */
static bool relay_channel_wrap(struct wg_device *dev, struct pkt *p)
{
	const struct wg_peer *peer = p->peer;
	size_t outer = peer->endpoint.sa.sa_family == AF_INET6 ? 40 + 8 : 20 + 8;

	if (!peer->relay_channel || (size_t)(p->data - p->buf) < OVL_CHAN_HEADER_LEN ||
	    p->len + OVL_CHAN_HEADER_LEN + outer > RELAY_CHANNEL_PATH_MTU)
		return false;
	p->data -= OVL_CHAN_HEADER_LEN;
	p->len += OVL_CHAN_HEADER_LEN;
	ovl_chan_write(p->data, OVL_CHAN_TO_RELAY, peer->relay_channel);
	p->addr = peer->endpoint;
	++dev->relay_channel_tx;
	return true;
}

void device_send_batch(struct wg_device *dev, struct pkt_batch *b)
{
	struct mmsghdr mm[PKT_BATCH_MAX];
	struct iovec iov[PKT_BATCH_MAX];
	char cbuf[PKT_BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + UDP_GSO_CMSG_SPACE];
	unsigned first[PKT_BATCH_MAX], count[PKT_BATCH_MAX];
	unsigned i, j, start = 0, kept = 0;

	/* Relayed peers' packets go in the relay's channel, or through the
	 * relay hook. */
	for (i = 0; i < b->n; ++i) {
		struct pkt *p = b->p[i];

		if (p->peer && p->peer->relayed && !relay_channel_wrap(dev, p)) {
			relay_out(dev, p->peer, p->data, p->len);
			pkt_put(&dev->pool, p);
		} else {
			b->p[kept++] = p;
		}
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
				    p->peer ? (const void *)&p->peer->src : NULL, has_local,
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

					/* (A channel datagram is already wrapped
					 * for its relay, at p->addr.) */
					if (p->peer && !p->peer->relayed)
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
	struct cmsghdr *c;

	p->has_local = false;
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			memcpy(&p->local.v4, CMSG_DATA(c), sizeof(p->local.v4));
			p->has_local = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			memcpy(&p->local.v6, CMSG_DATA(c), sizeof(p->local.v6));
			p->has_local = true;
		}
	}
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
			p->relayed = false;
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
	int fd = h == dev->poll4 ? dev->sock4 : dev->sock6;
	struct mmsghdr mm[PKT_BATCH_MAX];
	struct iovec iov[PKT_BATCH_MAX];
	char cbuf[PKT_BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct pkt_batch b;
	unsigned i, turn;
	int r;

	if (status < 0)
		return;
	if (dev->udp_gro) {
		unsigned segs = 0;

		while (segs < UDP_BATCHES_PER_TURN * PKT_BATCH_MAX && udp_read_gro(dev, fd, &segs))
			;
		return;
	}
	for (turn = 0; turn < UDP_BATCHES_PER_TURN; ++turn) {
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
		for (i = 0; i < b.n; ++i) {
			b.p[i]->len = mm[i].msg_len;
			b.p[i]->peer = NULL;
			b.p[i]->relayed = false;
			read_local(&mm[i].msg_hdr, b.p[i]);
		}
		receive_batch(dev, &b);
		if ((unsigned)r < PKT_BATCH_MAX)
			return;
	}
}

void device_input_relayed(struct wg_device *dev, const union wg_sockaddr *relay_addr,
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
	p->addr = *relay_addr;
	p->peer = NULL;
	p->has_local = false;
	p->relayed = true;
	b.p[0] = p;
	b.n = 1;
	receive_batch(dev, &b);
}

/* ---- TUN ---- */

/* Adds p to the batch for send_from_tun, passing a full batch on first. */
static void tx_add(struct wg_device *dev, struct pkt_batch *b, struct pkt *p)
{
	if (b->n == PKT_BATCH_MAX)
		send_from_tun(dev, b);
	b->p[b->n++] = p;
}

/* With TUN offloads: each read brings a virtio header and a packet, which
 * may be a TCP or (with USO) UDP super-packet (up to 64 KiB) to cut into
 * segments, each of which then takes the ordinary path (allowed-IPs,
 * peer, seal). */
static void tun_read_offload(struct wg_device *dev)
{
	struct pkt_batch b;
	unsigned total = 0;

	b.n = 0;
	while (total < TUN_PACKETS_PER_TURN) {
		uint8_t vh[VNET_HDR_LEN], *buf = dev->tun_buf;
		struct iovec iov[2] = { { vh, sizeof(vh) }, { buf, TUN_BUF_SIZE } };
		struct vnet_hdr hdr;
		struct tso_split split;
		struct pkt *p;
		size_t len;
		ssize_t n;
		int nsegs, i;

		/* Read into the device's buffer, then copy each packet or
		 * segment into a pool buffer (the pool's stay small). */
		n = tun_readv(dev->tun, iov, 2);
		if (n < 0) {
			if (n != -EAGAIN && dev->on_fatal && !dev->closing)
				dev->on_fatal(dev, "the TUN device failed");
			break;
		}
		++total;
		len = (size_t)n - (n >= (ssize_t)sizeof(vh) ? sizeof(vh) : (size_t)n);
		if ((size_t)n <= sizeof(vh) || len >= TUN_BUF_SIZE) {
			++dev->drops.tun_bad_offload;
			continue;
		}
		vnet_hdr_decode(&hdr, vh);
		nsegs = tso_split_begin(&split, &hdr, buf, &len);
		if (nsegs < 0) {
			++dev->drops.tun_bad_offload;
			dev_log(dev, LOG_DBG, "dropped a TUN packet with a bad virtio header (gso type %u)",
				hdr.gso_type);
			continue;
		}
		if (nsegs == 0) {
			/* A plain packet, its checksum completed if it asked. */
			if (len > PKT_MAX_IP)
				continue;
			p = pkt_get(&dev->pool);
			if (!p) {
				++dev->drops.pool_exhausted;
				break;
			}
			memcpy(p->data, buf, len);
			p->len = len;
			tx_add(dev, &b, p);
			continue;
		}
		for (i = 0; i < nsegs; ++i) {
			ssize_t sl;

			p = pkt_get(&dev->pool);
			if (!p) {
				dev->drops.pool_exhausted += (unsigned)(nsegs - i);
				break;
			}
			sl = tso_split_segment(&split, (unsigned)i, p->data, PKT_MAX_IP);
			if (sl < 0) {
				pkt_put(&dev->pool, p);
				++dev->drops.tun_bad_offload;
				break;
			}
			p->len = (size_t)sl;
			tx_add(dev, &b, p);
		}
		total += (unsigned)nsegs - 1;
	}
	if (b.n)
		send_from_tun(dev, &b);
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct wg_device *dev = h->data;
	struct pkt_batch b;
	ssize_t n;

	if (status < 0)
		return;
	if (dev->tun_vnet) {
		tun_read_offload(dev);
		return;
	}
	b.n = 0;
	for (;;) {
		struct pkt *p = pkt_get(&dev->pool);

		if (!p) {
			/* As for the sockets: drop one packet, do not spin. */
			char scratch[64];

			if (tun_read(dev->tun, scratch, sizeof(scratch)) >= 0)
				++dev->drops.pool_exhausted;
			break;
		}
		/* Room for padding and the tag behind the packet. */
		n = tun_read(dev->tun, p->data, PKT_MAX_IP);
		if (n <= 0) {
			pkt_put(&dev->pool, p);
			if (n < 0 && n != -EAGAIN && dev->on_fatal && !dev->closing)
				dev->on_fatal(dev, "the TUN device failed");
			break;
		}
		p->len = (size_t)n;
		b.p[b.n++] = p;
		if (b.n == PKT_BATCH_MAX) {
			send_from_tun(dev, &b);
			break;	/* let the sockets have a turn */
		}
	}
	if (b.n)
		send_from_tun(dev, &b);
}

void device_tun_output(struct wg_device *dev, struct pkt *p)
{
	if (!dev->tun_vnet) {
		tun_write(dev->tun, p->data, p->len);
		pkt_put(&dev->pool, p);
		return;
	}
	if (dev->tun_out.n == PKT_BATCH_MAX)
		device_tun_flush(dev);
	dev->tun_out.p[dev->tun_out.n++] = p;
}

/* Writes the queued packets, each run of one TCP flow's segments (or, with
 * USO, of one UDP flow's datagrams) as one super-packet: its head's
 * headers and the others' payloads, gathered by writev without a copy. */
void device_tun_flush(struct wg_device *dev)
{
	struct gro_batch g;
	struct iovec iov[PKT_BATCH_MAX + 1];
	uint8_t vh[VNET_HDR_LEN];
	unsigned i, k;

	if (!dev->tun_out.n)
		return;
	gro_init(&g, dev->tun_uso);
	for (i = 0; i < dev->tun_out.n; ++i)
		gro_add(&g, dev->tun_out.p[i]->data, dev->tun_out.p[i]->len);
	for (k = 0; k < g.nitems; ++k) {
		struct vnet_hdr hdr;
		unsigned cnt = gro_finish(&g, k, &hdr), head = g.items[k].head;
		int j, niov = 2;
		ssize_t n;

		vnet_hdr_encode(vh, &hdr);
		iov[0].iov_base = vh;
		iov[0].iov_len = sizeof(vh);
		iov[1].iov_base = g.data[head];
		iov[1].iov_len = g.len[head];
		for (j = g.next[head]; j >= 0; j = g.next[j]) {
			iov[niov].iov_base = g.data[j] + g.items[k].hlen;
			iov[niov].iov_len = g.len[j] - g.items[k].hlen;
			++niov;
		}
		n = tun_writev(dev->tun, iov, niov);
		if (n < 0 && n != -EAGAIN && cnt > 1) {
			dev->drops.tun_write_errors += cnt;
			if (!dev->tun_write_error_logged) {
				dev->tun_write_error_logged = true;
				dev_log(dev, LOG_ERR, "the TUN refused a coalesced packet: %s",
					strerror((int)-n));
			}
		}
	}
	for (i = 0; i < dev->tun_out.n; ++i)
		pkt_put(&dev->pool, dev->tun_out.p[i]);
	dev->tun_out.n = 0;
}

int device_open_tun(struct wg_device *dev)
{
	int ret;

	ret = dev->want_tun_offload ? tun_open_offload(&dev->tun, dev->ifname) :
				      tun_open(&dev->tun, dev->ifname);
	if (ret < 0)
		return ret;
	dev->tun_vnet = tun_has_vnet_hdr(dev->tun);
	/* UDP super-packets both ways; without them UDP goes one datagram
	 * per read and write as before. */
	if (dev->tun_vnet && dev->want_tun_uso) {
		int r = tun_enable_uso(dev->tun);

		dev->tun_uso = r == 0;
		if (r < 0)
			dev_log(dev, LOG_INFO, "TUN UDP segmentation offload refused (%s): one UDP datagram per write",
				strerror(-r));
	}
	if (dev->tun_vnet) {
		dev->tun_buf = malloc(TUN_BUF_SIZE);
		if (!dev->tun_buf) {
			tun_close(dev->tun);
			dev->tun = NULL;
			return -ENOMEM;
		}
	}
	if (dev->want_tun_offload && !dev->tun_vnet)
		dev_log(dev, LOG_INFO, "TUN offloads not available: one packet per read and write");
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", tun_name(dev->tun));
	tun_set_mtu(dev->tun, dev->mtu);
	uv_poll_init(dev->loop, &dev->tun_poll, tun_fd(dev->tun));
	dev->tun_poll.data = dev;
	uv_poll_start(&dev->tun_poll, UV_READABLE, on_tun_readable);
	dev->tun_poll_active = true;
	return 0;
}

/* ---- handshakes, housekeeping ---- */

bool device_under_load(const struct wg_device *dev, uint64_t now)
{
	return dev->hs_count >= MAX_QUEUED_INCOMING_HANDSHAKES / 8 || now < dev->under_load_until;
}

/* The drain's credit: loop time it may still spend on handshakes.  It
 * grows by 1/HS_TIME_SHARE_DIV of the time passed, up to
 * HS_CREDIT_MAX_NS, and the drain spends it; the first message after a
 * quiet spell finds a full credit, so only a sustained stream waits. */
static void hs_credit_refill(struct wg_device *dev, uint64_t now)
{
	if (now > dev->hs_credit_at) {
		uint64_t grown = (now - dev->hs_credit_at) / HS_TIME_SHARE_DIV;

		/* The credit is never far below zero (one turn's overrun), so
		 * twice the cap fills it from anywhere without overflow. */
		if (grown > 2 * (uint64_t)HS_CREDIT_MAX_NS)
			grown = 2 * (uint64_t)HS_CREDIT_MAX_NS;
		dev->hs_credit_ns += (int64_t)grown;
		if (dev->hs_credit_ns > HS_CREDIT_MAX_NS)
			dev->hs_credit_ns = HS_CREDIT_MAX_NS;
	}
	dev->hs_credit_at = now;
}

bool device_handshake_check_allowed(struct wg_device *dev, int family, const uint8_t *addr,
				    uint64_t now)
{
	const uint64_t cost = 1000000000ULL / HS_CHECKS_PER_SECOND;

	/* The source's budget first, so that one flooding address spends
	 * only its own, not everyone's. */
	if (ratelimiter_allow(dev->check_limiter, family, addr, now) &&
	    gcra_allow(&dev->check_tat, now, cost, cost * HS_CHECKS_BURST))
		return true;
	dev->under_load_until = now + 1000000000ULL;
	return false;
}

static void on_hs_timer(uv_timer_t *t)
{
	device_kick_handshakes(t->data);
}

static void on_hs_idle(uv_idle_t *h)
{
	struct wg_device *dev = h->data;
	uint64_t now = wg_now(dev), spent;
	unsigned left;

	hs_credit_refill(dev, now);
	if (dev->hs_credit_ns <= 0) {
		/* Out of credit: sleep until it has grown back (the idle
		 * handle would spin the loop meanwhile). */
		uint64_t wait_ms = ((uint64_t)-dev->hs_credit_ns * HS_TIME_SHARE_DIV) / 1000000 + 1;

		uv_idle_stop(h);
		dev->hs_idle_active = false;
		uv_timer_start(&dev->hs_timer, on_hs_timer, wait_ms, 0);
		return;
	}
	left = receive_handshakes(dev, HANDSHAKES_PER_TURN, now + HS_TURN_MAX_NS);
	spent = wg_now(dev) - now;
	dev->hs_credit_ns -= (int64_t)spent;
	if (!left) {
		uv_idle_stop(h);
		dev->hs_idle_active = false;
	}
}

void device_kick_handshakes(struct wg_device *dev)
{
	if (!dev->hs_idle_active && !dev->closing && !uv_is_active((uv_handle_t *)&dev->hs_timer)) {
		uv_idle_start(&dev->hs_idle, on_hs_idle);
		dev->hs_idle_active = true;
	}
}

static void on_housekeeping(uv_timer_t *t)
{
	struct wg_device *dev = t->data;

	ratelimiter_gc(dev->ratelimiter, wg_now(dev));
	ratelimiter_gc(dev->check_limiter, wg_now(dev));
	/* The TUN interface was deleted under us: exit, as wireguard-go. */
	if (dev->tun && !tun_exists(dev->tun) && dev->on_fatal)
		dev->on_fatal(dev, "the interface was removed");
}

/* An offload switch: set to anything but "" or "0" turns it off. */
static bool env_off(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

int device_init(struct wg_device *dev, uv_loop_t *loop, const char *ifname)
{
	static const uint8_t zero[NOISE_PUBLIC_KEY_LEN];
	unsigned nworkers, min_batch;
	int r;

	memset(dev, 0, sizeof(*dev));
	dev->loop = loop;
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifname);
	dev->sock4 = dev->sock6 = -1;
	dev->mtu = WG_DEFAULT_MTU;
	dev->log_level = LOG_INFO;
	dev->want_tun_offload = !env_off("WH_NO_TUN_OFFLOAD");
	dev->want_tun_uso = dev->want_tun_offload && !env_off("WH_NO_TUN_USO");
	dev->udp_gso = !env_off("WH_NO_UDP_GSO");
	dev->udp_gro = dev->udp_gso && !env_off("WH_NO_UDP_GRO");
	/* Touched only as datagrams arrive: idle, it costs no memory. */
	if (dev->udp_gro) {
		dev->gro_buf = malloc((size_t)UDP_GRO_RECV_MAX * UDP_GRO_BUF_SIZE);
		if (!dev->gro_buf)
			dev->udp_gro = false;
	}

	crypt_pool_env(&nworkers, &min_batch);
	r = crypt_pool_new(&dev->crypt, nworkers, min_batch);
	if (r < 0) {
		/* Slower, not broken: everything stays on the loop. */
		dev_log(dev, LOG_ERR, "cannot start %u crypto worker threads: %s", nworkers, strerror(-r));
		dev->crypt = NULL;
	}

	dev->identity = sodium_malloc(sizeof(*dev->identity));
	if (!dev->identity)
		goto enomem;
	memset(dev->identity, 0, sizeof(*dev->identity));
	cookie_checker_init(&dev->cookie_checker, zero);
	dev->ratelimiter = ratelimiter_new(RATELIMITER_MAX_ENTRIES);
	dev->check_limiter = ratelimiter_new_rate(RATELIMITER_MAX_ENTRIES, HS_CHECKS_PER_SOURCE,
						  HS_CHECKS_BURST_PER_SOURCE);
	if (!dev->ratelimiter || !dev->check_limiter)
		goto enomem;
	dev->peer_hash_size = 64;
	dev->peer_hash = calloc(dev->peer_hash_size, sizeof(*dev->peer_hash));
	dev->index_hash_size = 64;
	dev->index_hash = calloc(dev->index_hash_size, sizeof(*dev->index_hash));
	dev->hs_queue = calloc(MAX_QUEUED_INCOMING_HANDSHAKES, sizeof(*dev->hs_queue));
	if (!dev->peer_hash || !dev->index_hash || !dev->hs_queue)
		goto enomem;
	randombytes_buf(dev->peer_hash_key, sizeof(dev->peer_hash_key));
	if (allowedips_init(&dev->allowedips) < 0)
		goto enomem;
	pkt_pool_init(&dev->pool, PKT_POOL_MAX);

	uv_idle_init(loop, &dev->hs_idle);
	dev->hs_idle.data = dev;
	uv_timer_init(loop, &dev->hs_timer);
	dev->hs_timer.data = dev;
	dev->hs_credit_ns = HS_CREDIT_MAX_NS;
	dev->hs_credit_at = wg_now(dev);
	uv_timer_init(loop, &dev->housekeeping);
	dev->housekeeping.data = dev;
	uv_timer_start(&dev->housekeeping, on_housekeeping, 1000, 1000);
	return 0;
enomem:
	crypt_pool_free(dev->crypt);
	dev->crypt = NULL;
	free(dev->hs_queue);
	free(dev->index_hash);
	free(dev->peer_hash);
	ratelimiter_free(dev->ratelimiter);
	ratelimiter_free(dev->check_limiter);
	if (dev->identity)
		sodium_free(dev->identity);
	return -ENOMEM;
}

int device_set_fwmark(struct wg_device *dev, uint32_t mark)
{
	int fds[2] = { dev->sock4, dev->sock6 }, i;

	for (i = 0; i < 2; ++i)
		if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	dev->fwmark = mark;
	return 0;
}

int device_set_private_key(struct wg_device *dev, const uint8_t *key)
{
	struct noise_static_identity *id = dev->identity;
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct wg_peer *peer, *next;

	if (!key || ct_is_zero(key, NOISE_PUBLIC_KEY_LEN)) {
		sodium_memzero(id, sizeof(*id));
		memset(pub, 0, sizeof(pub));
	} else {
		uint8_t clamped[NOISE_PUBLIC_KEY_LEN];

		memcpy(clamped, key, sizeof(clamped));
		x25519_clamp(clamped);
		if (id->has_identity && ct_equal(id->static_private, clamped, sizeof(clamped))) {
			sodium_memzero(clamped, sizeof(clamped));
			return 0;	/* unchanged: keep every session */
		}
		if (!x25519_public(pub, clamped)) {
			sodium_memzero(clamped, sizeof(clamped));
			return -EINVAL;
		}
		/* A peer with our own public key cannot exist. */
		peer = peer_lookup(dev, pub);
		if (peer)
			peer_remove(peer);
		memcpy(id->static_private, clamped, sizeof(clamped));
		memcpy(id->static_public, pub, sizeof(pub));
		id->has_identity = true;
		sodium_memzero(clamped, sizeof(clamped));
	}
	cookie_checker_init(&dev->cookie_checker, pub);
	for (peer = dev->peers_head; peer; peer = next) {
		next = peer->list_next;
		noise_handshake_precompute(&peer->handshake);
		/* Sessions under the old key stop sending; what waited for
		 * a key (a keepalive staged before it) goes now. */
		peer_expire_current_keypairs(peer);
		if (id->has_identity && peer->nstaged)
			send_staged(peer);
	}
	return 0;
}

static void on_handle_closed_noop(uv_handle_t *h)
{
	(void)h;
}

void device_close(struct wg_device *dev)
{
	if (dev->closing)
		return;
	dev->closing = true;
	peer_remove_all(dev);
	close_socket(dev, AF_INET);
	close_socket(dev, AF_INET6);
	if (dev->tun_poll_active) {
		uv_poll_stop(&dev->tun_poll);
		uv_close((uv_handle_t *)&dev->tun_poll, on_handle_closed_noop);
		dev->tun_poll_active = false;
	}
	uv_idle_stop(&dev->hs_idle);
	uv_close((uv_handle_t *)&dev->hs_idle, on_handle_closed_noop);
	uv_timer_stop(&dev->hs_timer);
	uv_close((uv_handle_t *)&dev->hs_timer, on_handle_closed_noop);
	uv_timer_stop(&dev->housekeeping);
	uv_close((uv_handle_t *)&dev->housekeeping, on_handle_closed_noop);
}

/* After the loop has run out: frees what the handles no longer use. */
void device_destroy(struct wg_device *dev)
{
	size_t i;

	if (dev->tun)
		tun_close(dev->tun);
	dev->tun = NULL;
	for (i = 0; i < dev->index_hash_size; ++i) {
		struct index_entry *e = dev->index_hash[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(dev->index_hash);
	free(dev->peer_hash);
	if (dev->hs_queue) {
		sodium_memzero(dev->hs_queue, MAX_QUEUED_INCOMING_HANDSHAKES * sizeof(*dev->hs_queue));
		free(dev->hs_queue);
	}
	free(dev->gro_buf);
	dev->gro_buf = NULL;
	free(dev->tun_buf);
	dev->tun_buf = NULL;
	allowedips_free(&dev->allowedips);
	ratelimiter_free(dev->ratelimiter);
	ratelimiter_free(dev->check_limiter);
	crypt_pool_free(dev->crypt);
	dev->crypt = NULL;
	pkt_pool_destroy(&dev->pool);
	sodium_memzero(&dev->cookie_checker, sizeof(dev->cookie_checker));
	sodium_free(dev->identity);
	dev->identity = NULL;
}
