/* libFuzzer harness for the name service core (proto/dns): any bytes as
 * a query, over UDP and over TCP, against the table of the seeds' network
 * (test/dns/seeds_net.h).  Besides the sanitizers' checks: an answer is a
 * response to the query (QR set, the query's ID), fits the size it was
 * allowed (512 without EDNS, 1232 at most over UDP), never offers
 * recursion, and carries the question back byte for byte when it carries
 * one. */
#include "proto/common/byteorder.h"
#include "proto/dns/dns.h"
#include "test/dns/seeds_net.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_table *table;

static void setup(void)
{
	struct dns_zone z = seeds_zone();

	if (dns_table_new(&table, &z, seeds_hosts, sizeof(seeds_hosts) / sizeof(seeds_hosts[0])) < 0)
		abort();
}

static void check(const uint8_t *q, size_t qlen, bool tcp)
{
	static uint8_t out[DNS_TCP_MAX];
	struct dns_result res;
	size_t len = dns_answer(table, q, qlen, tcp, out, sizeof(out), &res);
	uint16_t flags;

	if (!len) {
		if (res.answered)
			abort();
		return;
	}
	if (!res.answered || len < DNS_HEADER_LEN || qlen < DNS_HEADER_LEN)
		abort();
	if (!tcp && len > (res.edns ? DNS_EDNS_SIZE : DNS_UDP_SIZE))
		abort();
	flags = be16_get(out + 2);
	if (!(flags & DNS_F_QR) || (flags & DNS_F_RA) || memcmp(out, q, 2))
		abort();
	if (be16_get(out + 4) == 1) {
		/* The question: the query's bytes from offset 12, up to and
		 * including the type and class. */
		size_t n = DNS_HEADER_LEN;

		while (n < len && out[n])
			n += 1u + out[n];
		n += 5;
		if (n > len || n > qlen || memcmp(out + DNS_HEADER_LEN, q + DNS_HEADER_LEN,
						  n - DNS_HEADER_LEN))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!table)
		setup();
	check(data, size, false);
	check(data, size, true);
	return 0;
}
