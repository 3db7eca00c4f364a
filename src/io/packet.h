/* Packet buffers and batches.  Every packet that crosses the daemon lives
 * in a buffer taken from the device's pool and travels in a batch from
 * one stage to the next (TUN read -> encrypt -> UDP send; UDP receive ->
 * decrypt -> TUN write), so that batched syscalls, offloads and worker
 * threads can be added stage by stage.  Buffers are recycled, never freed
 * on the packet path.
 *
 * A buffer leaves room in front of the packet (PKT_HEADROOM) for the
 * WireGuard data header and, in front of that, PKT_ROUTE_ROOM bytes for a
 * header of the device owner's path (wh up: a relay channel header,
 * doc/protocol.md 9.1), and behind it for padding and the tag, so that a
 * plaintext can be sealed and sent on the owner's path without moving
 * it. */
#ifndef WH_SRC_IO_PACKET_H
#define WH_SRC_IO_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct wg_peer;

enum {
	PKT_ROUTE_ROOM = 8,		/* the owner's path header */
	PKT_HEADROOM = PKT_ROUTE_ROOM + 16,	/* + struct message_data */
	PKT_TAILROOM = 16 + 16,		/* padding up to 15 + AEAD tag */
	PKT_MAX_IP = 65535,
	PKT_BUF_SIZE = PKT_HEADROOM + PKT_MAX_IP + PKT_TAILROOM,
	PKT_BATCH_MAX = 64,
};

/* An outer address, IPv4 or IPv6. */
union wg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* A local address and interface, as IP_PKTINFO and IPV6_PKTINFO carry
 * them: where a datagram arrived, or where one must leave from. */
union wg_pktinfo {
	struct in_pktinfo v4;
	struct in6_pktinfo v6;
};

struct pkt {
	struct pkt *next;		/* pool free list, peer staging queue */
	uint8_t *data;			/* start of the current contents */
	size_t len;
	union wg_sockaddr addr;		/* outer source or destination */
	struct wg_peer *peer;		/* the peer it is sent to, if any */
	/* The local address a datagram arrived on (IP_PKTINFO), or the one
	 * it must leave from. */
	union wg_pktinfo local;
	bool has_local;
	bool routed;			/* came on the owner's path: no roaming */
	uint8_t buf[PKT_BUF_SIZE];
};

struct pkt_pool {
	struct pkt *free;
	size_t nfree;
	size_t nallocated;
	size_t max;			/* bound on buffers ever allocated */
};

struct pkt_batch {
	struct pkt *p[PKT_BATCH_MAX];
	unsigned n;
};

void pkt_pool_init(struct pkt_pool *pool, size_t max);
void pkt_pool_destroy(struct pkt_pool *pool);
/* NULL when the pool is exhausted (the caller drops and counts). */
struct pkt *pkt_get(struct pkt_pool *pool);
void pkt_put(struct pkt_pool *pool, struct pkt *p);
/* Resets data to the headroom offset. */
static inline void pkt_reset(struct pkt *p)
{
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->next = NULL;
}

/* sockaddr helpers shared by the UAPI, the endpoint logic and logs. */
socklen_t wg_sockaddr_len(const union wg_sockaddr *a);
int wg_sockaddr_equal(const union wg_sockaddr *a, const union wg_sockaddr *b);
/* Writes "a.b.c.d:p" or "[v6]:p" into buf (at least 64 bytes). */
const char *wg_sockaddr_str(const union wg_sockaddr *a, char *buf, size_t len);
/* The source bytes the cookie is computed over: address then port. */
size_t wg_sockaddr_cookie_src(const union wg_sockaddr *a, uint8_t out[18]);

#endif
