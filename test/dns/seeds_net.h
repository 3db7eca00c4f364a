/* The name table both test_dns and fuzz_dns answer from: the seeds'
 * network (WireHub's announcement) with documentation addresses.
 * `a.test` already ends with the network's name, `node_b` does not,
 * `c.sub` is dotted and has no IPv6, and the last member has no
 * hostname (its addresses are a member's, with no name). */
#ifndef WH_TEST_DNS_SEEDS_NET_H
#define WH_TEST_DNS_SEEDS_NET_H

#include "proto/dns/dns.h"

#include <string.h>

static const struct dns_host seeds_hosts[] = {
	{ "a.test", true, true, { 198, 51, 100, 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
	{ "node_b", true, true, { 198, 51, 100, 7 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 } },
	{ "c.sub", true, false, { 198, 51, 100, 9 }, { 0 } },
	{ "", true, true, { 198, 51, 100, 10 }, { 0 } },
};

/* Network "test", 198.51.100.0/24 and 2001:db8::/64. */
static inline struct dns_zone seeds_zone(void)
{
	struct dns_zone z;

	memset(&z, 0, sizeof(z));
	z.suffix = "test";
	z.has_net4 = z.has_net6 = true;
	z.net4[0] = 198, z.net4[1] = 51, z.net4[2] = 100, z.prefix4 = 24;
	z.net6[0] = 0x20, z.net6[1] = 0x01, z.net6[2] = 0x0d, z.net6[3] = 0xb8, z.prefix6 = 64;
	return z;
}

#endif
