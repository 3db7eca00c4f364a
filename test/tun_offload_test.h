/* What the two TUN offload tests share (test_tun_offload.c, TCP: TSO and
 * TCP GRO; test_tun_offload_udp.c, UDP: USO and UDP GRO): the naive RFC
 * 1071 model every checksum is checked by, which shares no code with the
 * module, byte helpers, a reproducible generator and the TCP packet
 * builder (UDP batches mix in TCP packets too). */
#ifndef WH_TEST_TUN_OFFLOAD_TEST_H
#define WH_TEST_TUN_OFFLOAD_TEST_H

#include "tun/tun_offload.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- the naive model ---- */

__attribute__((unused))
static uint32_t naive_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

__attribute__((unused))
static uint16_t naive_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* true when the IPv4 header checksum of p verifies. */
__attribute__((unused))
static bool naive_ip4_ok(const uint8_t *p)
{
	return naive_fold(naive_sum(0, p, (size_t)(p[0] & 15) * 4)) == 0xffff;
}

/* true when the transport checksum (TCP or UDP) of an IP packet verifies. */
__attribute__((unused))
static bool naive_l4_ok(const uint8_t *p, size_t len, uint8_t proto)
{
	size_t l4 = (p[0] >> 4) == 4 ? (size_t)(p[0] & 15) * 4 : 40;
	uint32_t sum = 0;
	size_t l4len = len - l4;

	if ((p[0] >> 4) == 4)
		sum = naive_sum(sum, p + 12, 8);
	else
		sum = naive_sum(sum, p + 8, 32);
	sum += proto;
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	sum = naive_sum(sum, p + l4, l4len);
	return naive_fold(sum) == 0xffff;
}

__attribute__((unused))
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

__attribute__((unused))
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

__attribute__((unused))
static void wbe16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

__attribute__((unused))
static void wbe32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t rng = 12345;

__attribute__((unused))
static uint8_t rnd8(void)
{
	rng = rng * 1103515245u + 12345u;
	return (uint8_t)(rng >> 16);
}

/* ---- packet builders ---- */

enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16, CWR = 128 };

struct tcpspec {
	unsigned version;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	unsigned optlen;	/* bytes of TCP options, multiple of 4 */
	size_t payload;
	uint8_t fill;		/* payload byte i is fill + i */
	uint16_t sport;
};

/* Builds an IPv4 (192.0.2.1 -> 192.0.2.2, ID 0x1234, DF) or IPv6 (fd00::1
 * -> fd00::2) TCP packet with valid checksums; returns its length. */
__attribute__((unused))
static size_t build_tcp(uint8_t *p, const struct tcpspec *s)
{
	size_t l4 = s->version == 4 ? 20 : 40, thl = 20 + s->optlen, len = l4 + thl + s->payload, i;
	uint8_t *t = p + l4;
	uint32_t sum;

	memset(p, 0, l4 + thl);
	if (s->version == 4) {
		p[0] = 0x45;
		wbe16(p + 2, (unsigned)len);
		wbe16(p + 4, 0x1234);
		p[6] = 0x40;
		p[8] = 64;
		p[9] = 6;
		p[12] = 192, p[14] = 2, p[15] = 1;
		p[16] = 192, p[18] = 2, p[19] = 2;
		wbe16(p + 10, (uint16_t)~naive_fold(naive_sum(0, p, 20)));
	} else {
		p[0] = 0x60;
		wbe16(p + 4, (unsigned)(len - 40));
		p[6] = 6;
		p[7] = 64;
		p[8] = 0xfd, p[23] = 1;
		p[24] = 0xfd, p[39] = 2;
	}
	wbe16(t, s->sport ? s->sport : 40000);
	wbe16(t + 2, 5201);
	wbe32(t + 4, s->seq);
	wbe32(t + 8, s->ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = s->flags;
	wbe16(t + 14, s->win);
	for (i = 0; i < s->optlen; ++i)
		t[20 + i] = (uint8_t)(i == 0 ? 1 : 0x5a);	/* NOP, then junk */
	for (i = 0; i < s->payload; ++i)
		t[thl + i] = (uint8_t)(s->fill + i);
	/* The checksum, by the naive model. */
	sum = s->version == 4 ? naive_sum(0, p + 12, 8) : naive_sum(0, p + 8, 32);
	sum += 6 + (uint32_t)((len - l4) >> 16) + (uint32_t)((len - l4) & 0xffff);
	sum = naive_sum(sum, t, len - l4);
	wbe16(t + 16, (uint16_t)~naive_fold(sum));
	return len;
}

/* Turns a packet built with a full checksum into what the kernel hands
 * over with NEEDS_CSUM: the pseudo-header sum in the checksum field. */
__attribute__((unused))
static void make_partial(uint8_t *p, size_t len, size_t l4, size_t csum_off, uint8_t proto)
{
	uint32_t sum = (p[0] >> 4) == 4 ? naive_sum(0, p + 12, 8) : naive_sum(0, p + 8, 32);

	sum += proto + (uint32_t)((len - l4) >> 16) + (uint32_t)((len - l4) & 0xffff);
	wbe16(p + l4 + csum_off, naive_fold(sum));
}

#endif
