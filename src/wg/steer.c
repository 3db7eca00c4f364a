/* The kernel's choice of receive queue for each datagram that reaches the
 * device's port (see steer.h), and the known sources written into it.
 *
 * SO_ATTACH_REUSEPORT_CBPF runs a classic BPF program for each datagram
 * with the packet's data starting at the UDP payload; its return value is
 * an index into the port's sockets in the order they were bound: 0 data,
 * 1 control, 2 known.  The source address is read through the network
 * header (SKF_NET_OFF: the IPv4 source at 12, the IPv6 one at 8).  A load
 * that fails ends a classic program with 0, the data queue, which reads
 * everything: the worst a kernel without it does is not steer. */
#include "src/wg/steer.h"

#include "src/wg/device.h"
#include "src/wg/peer.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { Q_DATA = 0, Q_CONTROL = 1, Q_KNOWN = 2 };

/* Where the shape checks' verdict "data" is, and where the
 * source-address checks begin (see steer_build). */
#define DATA_AT 13
#define SRC_AT 14

static size_t put(struct sock_filter *c, size_t i, uint16_t code, uint8_t jt, uint8_t jf,
		  uint32_t k)
{
	c[i].code = code;
	c[i].jt = jt;
	c[i].jf = jf;
	c[i].k = k;
	return i + 1;
}

/* The shape checks: WireGuard transport data (the first word 4, 0, 0, 0,
 * at least 32 bytes, a keepalive's size), relay channel datagrams that
 * carry it (0xfe, the inner first word 4, 0, 0, 0 at offset 8,
 * doc/protocol.md 9.1) and stock clients' datagrams between a relay and
 * a member that carry it (0xfe, dir 3 or 4, the inner first word at
 * offset 24, 9.5: a member's replies to its clients must not queue
 * behind a flood of strangers' initiations at the relay) to the data
 * queue; everything else on to the source checks at SRC_AT.  (A load
 * past the datagram's end returns 0, the data queue: no worse than the
 * junk of type 4 that goes there anyway.) */
static size_t put_shape(struct sock_filter *c)
{
	size_t i = 0;

	i = put(c, i, BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);			/* 0 */
	i = put(c, i, BPF_JMP | BPF_JGE | BPF_K, 0, SRC_AT - 2, 32);		/* 1 */
	i = put(c, i, BPF_LD | BPF_W | BPF_ABS, 0, 0, 0);			/* 2 */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, DATA_AT - 4, 0, 0x04000000);	/* 3 */
	i = put(c, i, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 24);			/* 4 */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, 0, SRC_AT - 6, 0xfe);		/* 5 */
	i = put(c, i, BPF_LD | BPF_W | BPF_ABS, 0, 0, 8);			/* 6 */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, DATA_AT - 8, 0, 0x04000000);	/* 7 */
	i = put(c, i, BPF_LD | BPF_B | BPF_ABS, 0, 0, 1);			/* 8: dir */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 3);			/* 9 */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, 0, SRC_AT - 11, 4);		/* 10 */
	i = put(c, i, BPF_LD | BPF_W | BPF_ABS, 0, 0, 24);			/* 11 */
	i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, 0, SRC_AT - 13, 0x04000000);	/* 12 */
	i = put(c, i, BPF_RET | BPF_K, 0, 0, Q_DATA);				/* 13 */
	return i;
}

static uint32_t word(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A search tree over the sorted IPv4 addresses addrs[lo, hi), the source
 * in A: a stranger's datagram costs about 2 log2(n) instructions, not 2n.
 * An inner node: "A > addrs[mid - 1]" goes on to a jump to the right half
 * (BPF_JA's offset is 32 bits, a conditional jump's only 8), else skips
 * it into the left half; a leaf compares its few addresses in turn. */
static size_t put_tree(struct sock_filter *c, size_t i, const uint8_t (*addrs)[16], size_t lo,
		       size_t hi)
{
	size_t mid, ja;

	if (hi - lo <= 4) {
		for (; lo < hi; ++lo) {
			i = put(c, i, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, word(addrs[lo]));
			i = put(c, i, BPF_RET | BPF_K, 0, 0, Q_KNOWN);
		}
		return put(c, i, BPF_RET | BPF_K, 0, 0, Q_CONTROL);
	}
	mid = lo + (hi - lo) / 2;
	i = put(c, i, BPF_JMP | BPF_JGT | BPF_K, 0, 1, word(addrs[mid - 1]));
	ja = i;
	i = put(c, i, BPF_JMP | BPF_JA, 0, 0, 0);
	i = put_tree(c, i, addrs, lo, mid);
	c[ja].k = (uint32_t)(i - ja - 1);
	return put_tree(c, i, addrs, mid, hi);
}

size_t steer_build(struct sock_filter *code, int family, const uint8_t (*addrs)[16], size_t n)
{
	size_t i = put_shape(code), a;
	unsigned w;

	if (family == AF_INET && n) {
		i = put(code, i, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 12));
		return put_tree(code, i, addrs, 0, n);
	} else if (family == AF_INET6) {
		/* Each address: its four words in turn, a mismatch jumping to
		 * the next address's first load, 9 instructions on. */
		for (a = 0; a < n; ++a) {
			for (w = 0; w < 4; ++w) {
				i = put(code, i, BPF_LD | BPF_W | BPF_ABS, 0, 0,
					(uint32_t)(SKF_NET_OFF + 8 + 4 * (int)w));
				i = put(code, i, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(7 - 2 * w),
					word(addrs[a] + 4 * w));
			}
			i = put(code, i, BPF_RET | BPF_K, 0, 0, Q_KNOWN);
		}
	}
	return put(code, i, BPF_RET | BPF_K, 0, 0, Q_CONTROL);
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Adds sa's address to the family's list (v4: the first 4 bytes). */
static void collect(const union wg_sockaddr *sa, uint8_t (*v4)[16], size_t *n4,
		    uint8_t (*v6)[16], size_t *n6)
{
	if (sa->sa.sa_family == AF_INET && *n4 < KNOWN4_MAX) {
		memset(v4[*n4], 0, 16);
		memcpy(v4[(*n4)++], &sa->in4.sin_addr, 4);
	} else if (sa->sa.sa_family == AF_INET6 && *n6 < KNOWN6_MAX) {
		memcpy(v6[(*n6)++], &sa->in6.sin6_addr, 16);
	}
}

static size_t unique(uint8_t (*a)[16], size_t n)
{
	size_t i, out = 0;

	qsort(a, n, 16, cmp16);
	for (i = 0; i < n; ++i)
		if (!out || memcmp(a[out - 1], a[i], 16))
			memmove(a[out++], a[i], 16);
	return out;
}

static int attach(int fd, int family, const uint8_t (*addrs)[16], size_t n)
{
	struct sock_filter *code;
	struct sock_fprog prog;
	size_t per = family == AF_INET ? 4 : 9;	/* IPv4: leaves and inner nodes */
	int ret = 0;

	if (fd < 0)
		return 0;
	code = malloc((SRC_AT + 2 + per * n) * sizeof(*code));
	if (!code)
		return -ENOMEM;
	prog.len = (unsigned short)steer_build(code, family, addrs, n);
	prog.filter = code;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		ret = -errno;
	free(code);
	return ret;
}

int steer_attach(int fd, int family)
{
	return attach(fd, family, NULL, 0);
}

void device_set_known_sources(struct wg_device *dev, const union wg_sockaddr *a, size_t n)
{
	union wg_sockaddr *copy = NULL;

	if (n > KNOWN_EXTRA_MAX)
		n = KNOWN_EXTRA_MAX;
	if (n && !(copy = malloc(n * sizeof(*copy))))
		return;
	if (n)
		memcpy(copy, a, n * sizeof(*copy));
	free(dev->known_extra);
	dev->known_extra = copy;
	dev->n_known_extra = n;
	dev->known_dirty = true;
}

void device_refresh_known(struct wg_device *dev)
{
	uint8_t (*v4)[16], (*v6)[16];
	const struct wg_peer *p;
	size_t n4 = 0, n6 = 0, i;
	int r = 0;

	if (!dev->known_dirty || (dev->prio4 < 0 && dev->prio6 < 0))
		return;
	v4 = malloc(KNOWN4_MAX * 16);
	v6 = malloc(KNOWN6_MAX * 16);
	if (!v4 || !v6)
		goto out;
	/* The owner's first: its list is short and names what the peers'
	 * endpoints may not (the overlay's boot nodes). */
	for (i = 0; i < dev->n_known_extra; ++i)
		collect(&dev->known_extra[i], v4, &n4, v6, &n6);
	for (p = dev->peers_head; p; p = p->list_next)
		collect(&p->endpoint, v4, &n4, v6, &n6);
	n4 = unique(v4, n4);
	n6 = unique(v6, n6);
	/* A failure keeps the old program (the kernel replaces it whole or
	 * not at all); said once, tried again at the next change. */
	dev->known_dirty = false;
	if (dev->prio4 >= 0 && (r = attach(dev->sock4, AF_INET, (const uint8_t (*)[16])v4, n4)) == 0)
		dev->known4 = (unsigned)n4;
	if (!r && dev->prio6 >= 0 && (r = attach(dev->sock6, AF_INET6, (const uint8_t (*)[16])v6, n6)) == 0)
		dev->known6 = (unsigned)n6;
	if (r < 0)
		dev_log(dev, LOG_ERR, "cannot update the receive steering: %s", strerror(-r));
out:
	free(v4);
	free(v6);
}
