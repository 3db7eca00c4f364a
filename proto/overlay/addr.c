/* Addresses in the overlay core: see addr.h. */
#include "proto/overlay/addr.h"

#include "proto/overlay/codec.h"
#include "proto/overlay/kademlia.h"

#include <string.h>

void ovl_kad_to_wire(const struct kad_addr *k, struct ovl_addr *o)
{
	if (k->family == KAD_AF_INET)
		ovl_addr_set_v4(o, k->ip, k->port);
	else
		ovl_addr_set_v6(o, k->ip, k->port);
}

bool ovl_kad_from_wire(const struct ovl_addr *o, struct kad_addr *k)
{
	memset(k, 0, sizeof(*k));
	if (!ovl_addr_valid(o))
		return false;
	if (o->family == OVL_AF_INET) {
		k->family = KAD_AF_INET;
		memcpy(k->ip, o->ip + 12, 4);
	} else {
		k->family = KAD_AF_INET6;
		memcpy(k->ip, o->ip, 16);
	}
	k->port = o->port;
	return true;
}

bool ovl_kad_valid(const struct kad_addr *a)
{
	return (a->family == KAD_AF_INET || a->family == KAD_AF_INET6) && a->port;
}

bool ovl_kad_same_ip(const struct kad_addr *a, const struct kad_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, sizeof(a->ip));
}

bool ovl_kad_equal(const struct kad_addr *a, const struct kad_addr *b)
{
	return ovl_kad_same_ip(a, b) && a->port == b->port;
}

bool ovl_ip_usable(unsigned kad_family, const uint8_t *ip)
{
	static const uint8_t zero[16];

	if (kad_family == KAD_AF_INET)
		return ip[0] != 0 && ip[0] != 127 && !(ip[0] == 169 && ip[1] == 254) && ip[0] < 224;
	if (kad_family != KAD_AF_INET6)
		return false;
	return memcmp(ip, zero, 16) &&				/* :: */
	       !(memcmp(ip, zero, 15) == 0 && ip[15] == 1) &&	/* ::1 */
	       !(ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) &&	/* fe80::/10 */
	       ip[0] != 0xff &&					/* ff00::/8 */
	       !(memcmp(ip, zero, 10) == 0 && ip[10] == 0xff && ip[11] == 0xff);
}
