#include "src/io/packet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pkt_pool_init(struct pkt_pool *pool, size_t max)
{
	memset(pool, 0, sizeof(*pool));
	pool->max = max;
}

void pkt_pool_destroy(struct pkt_pool *pool)
{
	struct pkt *p;

	while ((p = pool->free)) {
		pool->free = p->next;
		free(p);
	}
	pool->nfree = 0;
}

struct pkt *pkt_get(struct pkt_pool *pool)
{
	struct pkt *p = pool->free;

	if (p) {
		pool->free = p->next;
		--pool->nfree;
	} else {
		if (pool->nallocated >= pool->max)
			return NULL;
		/* Only the pages a packet touches become resident, so a
		 * 64 KiB buffer costs one or two pages at a 1420-byte MTU. */
		p = malloc(sizeof(*p));
		if (!p)
			return NULL;
		++pool->nallocated;
	}
	pkt_reset(p);
	return p;
}

void pkt_put(struct pkt_pool *pool, struct pkt *p)
{
	p->next = pool->free;
	pool->free = p;
	++pool->nfree;
}

socklen_t wg_sockaddr_len(const union wg_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(a->in4);
	case AF_INET6:
		return sizeof(a->in6);
	default:
		return 0;
	}
}

int wg_sockaddr_equal(const union wg_sockaddr *a, const union wg_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return 1;
}

const char *wg_sockaddr_str(const union wg_sockaddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a->in4.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

size_t wg_sockaddr_cookie_src(const union wg_sockaddr *a, uint8_t out[18])
{
	if (a->sa.sa_family == AF_INET) {
		memcpy(out, &a->in4.sin_addr, 4);
		memcpy(out + 4, &a->in4.sin_port, 2);
		return 6;
	}
	if (a->sa.sa_family == AF_INET6) {
		memcpy(out, &a->in6.sin6_addr, 16);
		memcpy(out + 16, &a->in6.sin6_port, 2);
		return 18;
	}
	return 0;
}
