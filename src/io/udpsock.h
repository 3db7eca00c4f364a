/* UDP sockets bound to a port, with the local address of each datagram
 * kept (IP_PKTINFO, IPV6_PKTINFO): the one way the daemon opens them and
 * reads where a datagram arrived, for the device's port (src/wg/socket.c),
 * the second port of a public node (src/node/probeport.c) and the name
 * service (src/node/dns.c).
 *
 * Errors: negative errno. */
#ifndef WH_SRC_IO_UDPSOCK_H
#define WH_SRC_IO_UDPSOCK_H

#include "src/io/packet.h"

#include <stdbool.h>
#include <stdint.h>

struct msghdr;

struct udpsock_opt {
	uint32_t fwmark;	/* SO_MARK; 0: none */
	int bufsize;		/* receive and send buffers; 0: the kernel's */
	bool force_buf;		/* SO_RCVBUFFORCE first (needs CAP_NET_ADMIN) */
	bool reuseport;		/* SO_REUSEPORT, before the bind */
	bool *gro;		/* in: ask for UDP GRO; out: whether it is on */
};

/* A non-blocking socket of family (AF_INET, or AF_INET6 and IPv6 only)
 * bound to port on every address (0: a free one, which *bound says when
 * not NULL), with the local address of each datagram reported.  opt may
 * be NULL (all defaults). */
int udpsock_open(int family, uint16_t port, const struct udpsock_opt *opt, uint16_t *bound);
/* The same bound to the address and port at (one address of the host). */
int udpsock_bind(const union wg_sockaddr *at, const struct udpsock_opt *opt, uint16_t *bound);

/* Where the datagram of m arrived, as its IP_PKTINFO or IPV6_PKTINFO
 * says (the address it came to and the interface): AF_INET or AF_INET6,
 * or 0 when the kernel did not say. */
int udpsock_arrival(const struct msghdr *m, union wg_pktinfo *local);

/* The interface index in an arrival of family. */
unsigned udpsock_arrival_ifindex(int family, const union wg_pktinfo *local);

#endif
