/* The overlay core's addresses: see addr.h. */
#include "proto/overlay/addr.h"

#include "proto/overlay/overlay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t zero[16];

bool ovl_addr_valid(const struct ovl_addr *a)
{
	if (a->port == 0 || a->reserved)
		return false;
	switch (a->family) {
	case OVL_AF_INET:
		return memcmp(a->ip + 4, zero, 12) == 0;
	case OVL_AF_INET6:
		return memcmp(a->ip, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0;
	default:
		return false;
	}
}

bool ovl_addr_same_ip(const struct ovl_addr *a, const struct ovl_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, sizeof(a->ip));
}

bool ovl_addr_equal(const struct ovl_addr *a, const struct ovl_addr *b)
{
	return ovl_addr_same_ip(a, b) && a->port == b->port;
}

void ovl_addr_set_v4(struct ovl_addr *a, const uint8_t ip[4], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = OVL_AF_INET;
	memcpy(a->ip, ip, 4);
	a->port = port;
}

void ovl_addr_set_v6(struct ovl_addr *a, const uint8_t ip[16], uint16_t port)
{
	if (memcmp(ip, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		ovl_addr_set_v4(a, ip + 12, port);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->family = OVL_AF_INET6;
	memcpy(a->ip, ip, 16);
	a->port = port;
}

bool ovl_addr_from_sockaddr(struct ovl_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		ovl_addr_set_v4(a, (const uint8_t *)&sin->sin_addr, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		ovl_addr_set_v6(a, sin6->sin6_addr.s6_addr, ntohs(sin6->sin6_port));
	} else {
		return false;
	}
	return a->port != 0;
}

size_t ovl_addr_to_sockaddr(const struct ovl_addr *a, struct sockaddr *out, size_t outlen)
{
	if (!ovl_addr_valid(a))
		return 0;
	if (a->family == OVL_AF_INET) {
		struct sockaddr_in sin;

		if (outlen < sizeof(sin))
			return 0;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a->ip, 4);
		sin.sin_port = htons(a->port);
		memset(out, 0, outlen);
		memcpy(out, &sin, sizeof(sin));
		return sizeof(sin);
	} else {
		struct sockaddr_in6 sin6;

		if (outlen < sizeof(sin6))
			return 0;
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(sin6.sin6_addr.s6_addr, a->ip, 16);
		sin6.sin6_port = htons(a->port);
		memset(out, 0, outlen);
		memcpy(out, &sin6, sizeof(sin6));
		return sizeof(sin6);
	}
}

bool ovl_ip_usable(unsigned family, const uint8_t *ip)
{
	if (family == OVL_AF_INET)
		return ip[0] != 0 && ip[0] != 127 && !(ip[0] == 169 && ip[1] == 254) && ip[0] < 224;
	if (family != OVL_AF_INET6)
		return false;
	return memcmp(ip, zero, 16) &&				/* :: */
	       !(memcmp(ip, zero, 15) == 0 && ip[15] == 1) &&	/* ::1 */
	       !(ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) &&	/* fe80::/10 */
	       ip[0] != 0xff &&					/* ff00::/8 */
	       memcmp(ip, v4mapped_prefix, sizeof(v4mapped_prefix));
}
