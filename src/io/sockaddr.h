/* Building socket addresses of the one address type (union wg_sockaddr,
 * packet.h): the wildcard address a socket binds to, and the port of an
 * address, for the UDP sockets (udpsock.c) and the TCP path's listener
 * and targets (src/node/tcppath.c). */
#ifndef WH_SRC_IO_SOCKADDR_H
#define WH_SRC_IO_SOCKADDR_H

#include "src/io/packet.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* The address of every interface of family (AF_INET or AF_INET6) at
 * port (host byte order; 0: any). */
static inline void wg_sockaddr_any(union wg_sockaddr *a, int family, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(port);
	} else {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
	}
}

/* Sets the port (host byte order) of an AF_INET or AF_INET6 address. */
static inline void wg_sockaddr_set_port(union wg_sockaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

#endif
