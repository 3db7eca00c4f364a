/* TCP MSS clamping (src/wg/tcpmss.c) against a naive full checksum: SYNs of
 * both families with the MSS option at even and odd offsets, values above
 * and below the limit, non-SYNs, fragments, malformed options, a wrong
 * checksum that must stay wrong, and random packets that must come out
 * untouched or valid. */
#include "src/wg/tcpmss.h"
#include "test/tap.h"

/* The limits wh up asks for on a relayed path (src/node/datapath.h). */
enum { TCPMSS_RELAY_V4 = 1368, TCPMSS_RELAY_V6 = 1348 };

/* The Internet checksum of the pseudo-header and the segment, computed
 * from scratch: 0 when the checksum in the segment is right. */
static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t tcp_verify(const uint8_t *pkt)
{
	uint32_t s = 0;
	size_t seglen;
	const uint8_t *seg;

	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4;

		seglen = (size_t)(pkt[2] << 8 | pkt[3]) - ihl;
		seg = pkt + ihl;
		s = sum_bytes(pkt + 12, 8, s);
	} else {
		seglen = (size_t)(pkt[4] << 8 | pkt[5]);
		seg = pkt + 40;
		s = sum_bytes(pkt + 8, 32, s);
	}
	s += 6 + (uint32_t)seglen;
	s = sum_bytes(seg, seglen, s);
	return (uint16_t)~fold(s);
}

static void tcp_fill_checksum(uint8_t *pkt, uint8_t *tcp)
{
	uint16_t c;

	tcp[16] = tcp[17] = 0;
	c = tcp_verify(pkt);
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
}

/* Builds a TCP segment with the given options and payload; returns the
 * packet length. */
static size_t build(uint8_t *pkt, int family, uint8_t flags, const uint8_t *opts, size_t olen,
		    size_t payload)
{
	size_t ip = family == 4 ? 20 : 40, thl = 20 + olen, total = ip + thl + payload, i;
	uint8_t *tcp = pkt + ip;

	memset(pkt, 0, total);
	if (family == 4) {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(total >> 8);
		pkt[3] = (uint8_t)total;
		pkt[8] = 64;
		pkt[9] = 6;
		memcpy(pkt + 12, (const uint8_t[]){ 198, 19, 0, 1, 198, 19, 0, 2 }, 8);
	} else {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((thl + payload) >> 8);
		pkt[5] = (uint8_t)(thl + payload);
		pkt[6] = 6;
		pkt[7] = 64;
		pkt[8] = 0xfd;
		pkt[23] = 1;
		pkt[24] = 0xfd;
		pkt[39] = 2;
	}
	tcp[0] = 0x9c;
	tcp[1] = 0x40;
	tcp[2] = 0x00;
	tcp[3] = 0x50;
	tcp[7] = 0x11;
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = flags;
	tcp[14] = 0xfa;
	memcpy(tcp + 20, opts, olen);
	for (i = 0; i < payload; ++i)
		tcp[thl + i] = (uint8_t)(i * 7 + 3);
	tcp_fill_checksum(pkt, tcp);
	return total;
}

static uint16_t mss_at(const uint8_t *pkt, int family, size_t opt_off)
{
	const uint8_t *o = pkt + (family == 4 ? 20 : 40) + 20 + opt_off;

	return (uint16_t)(o[2] << 8 | o[3]);
}

int main(void)
{
	/* MSS 1460 first (aligned), then after one NOP (odd offset), with
	 * SACK-permitted, timestamps and window scale around it. */
	static const uint8_t opt_even[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
	static const uint8_t opt_odd[] = { 1, 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 0 };
	static const uint8_t opt_small[] = { 2, 4, 0x03, 0xe8, 1, 1, 1, 0 };	/* 1000 */
	static const uint8_t opt_none[] = { 1, 1, 4, 2 };
	static const uint8_t opt_bad_len[] = { 3, 0, 2, 4, 0x05, 0xb4, 0, 0 };
	static const uint8_t opt_overrun[] = { 1, 1, 2, 9 };
	static const uint8_t opt_after_end[] = { 0, 0, 0, 0, 2, 4, 0x05, 0xb4 };
	uint8_t pkt[2048], copy[2048];
	int fam, payload;
	size_t len, i;
	unsigned r, changed = 0, valid_kept = 0, trials = 20000;

	for (fam = 4; fam <= 6; fam += 2) {
		uint16_t lim = fam == 4 ? TCPMSS_RELAY_V4 : TCPMSS_RELAY_V6;

		for (payload = 0; payload <= 1; ++payload) {
			len = build(pkt, fam, 0x02, opt_even, sizeof(opt_even), (size_t)payload);
			ok(tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) &&
				   mss_at(pkt, fam, 0) == lim && tcp_verify(pkt) == 0,
			   "IPv%d SYN, MSS 1460 at an even offset, payload %d: clamped to %u, checksum valid",
			   fam, payload, lim);
			len = build(pkt, fam, 0x12, opt_odd, sizeof(opt_odd), (size_t)payload);
			ok(tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) &&
				   mss_at(pkt, fam, 1) == lim && tcp_verify(pkt) == 0,
			   "IPv%d SYN-ACK, MSS 1460 at an odd offset, payload %d: clamped, checksum valid",
			   fam, payload);
		}
		len = build(pkt, fam, 0x02, opt_small, sizeof(opt_small), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d SYN with MSS 1000: below the limit, untouched", fam);
		len = build(pkt, fam, 0x10, opt_even, sizeof(opt_even), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d ACK (no SYN) with an MSS option: untouched", fam);
		len = build(pkt, fam, 0x02, opt_none, sizeof(opt_none), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d SYN without MSS: untouched", fam);
		len = build(pkt, fam, 0x02, opt_bad_len, sizeof(opt_bad_len), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d SYN with an option of length 0: untouched", fam);
		len = build(pkt, fam, 0x02, opt_overrun, sizeof(opt_overrun), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d SYN with an option running past the header: untouched", fam);
		len = build(pkt, fam, 0x02, opt_after_end, sizeof(opt_after_end), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
		   "IPv%d SYN with MSS after end-of-options: untouched", fam);
		/* A limit of 0 leaves the family alone: a SYN above the
		 * other family's limit passes untouched. */
		len = build(pkt, fam, 0x02, opt_even, sizeof(opt_even), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len, fam == 4 ? 0 : TCPMSS_RELAY_V4, fam == 4 ? TCPMSS_RELAY_V6 : 0) &&
			   !memcmp(pkt, copy, len),
		   "IPv%d SYN, MSS 1460, limit 0 for IPv%d: untouched", fam, fam);
		/* A wrong checksum stays wrong by the same amount. */
		len = build(pkt, fam, 0x02, opt_even, sizeof(opt_even), 0);
		pkt[(fam == 4 ? 20 : 40) + 17] ^= 0x40;
		ok(tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && tcp_verify(pkt) != 0,
		   "IPv%d SYN with a wrong checksum: clamped, and the checksum is still wrong", fam);
		/* Truncated: the IP length says more than there is. */
		len = build(pkt, fam, 0x02, opt_even, sizeof(opt_even), 0);
		memcpy(copy, pkt, len);
		ok(!tcp_mss_clamp(pkt, len - 1, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) &&
			   !memcmp(pkt, copy, len),
		   "IPv%d SYN one byte shorter than its IP length: untouched", fam);
	}
	/* An IPv4 fragment (MF set) is left alone. */
	len = build(pkt, 4, 0x02, opt_even, sizeof(opt_even), 0);
	pkt[6] = 0x20;
	memcpy(copy, pkt, len);
	ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
	   "IPv4 first fragment: untouched");
	/* UDP is not TCP. */
	len = build(pkt, 4, 0x02, opt_even, sizeof(opt_even), 0);
	pkt[9] = 17;
	memcpy(copy, pkt, len);
	ok(!tcp_mss_clamp(pkt, len, TCPMSS_RELAY_V4, TCPMSS_RELAY_V6) && !memcmp(pkt, copy, len),
	   "protocol 17: untouched");
	ok(!tcp_mss_clamp(pkt, 0, 1000, 1000), "empty: nothing");

	/* Random SYNs with random options: a change keeps a valid checksum
	 * valid and touches only the MSS value and the checksum. */
	srand(7);
	for (r = 0; r < trials; ++r) {
		uint8_t opts[40];
		size_t olen = (size_t)(rand() % 11) * 4, ip;
		int f = rand() & 1 ? 4 : 6;
		bool c;

		for (i = 0; i < olen; ++i)
			opts[i] = (uint8_t)(rand() % 5 == 0 ? 2 : rand() % 4 == 0 ? 4 : rand());
		len = build(pkt, f, (uint8_t)(rand() & 0x3f), opts, olen, (size_t)(rand() % 3));
		ip = f == 4 ? 20 : 40;
		memcpy(copy, pkt, len);
		c = tcp_mss_clamp(pkt, len, 536, 536);
		if (!c) {
			if (memcmp(pkt, copy, len)) {
				diag("trial %u: unchanged result but bytes differ", r);
				break;
			}
			continue;
		}
		++changed;
		if (tcp_verify(pkt) != 0) {
			diag("trial %u: checksum invalid after the clamp (olen %zu)", r, olen);
			break;
		}
		++valid_kept;
		{
			size_t d[3], nd = 0, j;
			bool found = false;

			for (i = 0; i < len && nd < 3; ++i)
				if (pkt[i] != copy[i] && i != ip + 16 && i != ip + 17)
					d[nd++] = i;
			/* The changed bytes (one or two) are an MSS option's value,
			 * now 536. */
			for (j = nd ? (d[0] ? d[0] - 1 : 0) : 0; nd && nd < 3 && j <= d[0]; ++j)
				if (j >= 2 && j + 1 < len && pkt[j - 2] == 2 && pkt[j - 1] == 4 &&
				    (pkt[j] << 8 | pkt[j + 1]) == 536 && d[nd - 1] <= j + 1)
					found = true;
			if (!found) {
				diag("trial %u: %zu bytes changed outside an MSS value", r, nd);
				break;
			}
		}
	}
	ok(r == trials, "%u random SYNs: untouched or clamped with a valid checksum (%u clamped)",
	   trials, changed);
	ok(changed > 100 && valid_kept == changed, "the random SYNs exercised the clamp (%u times)",
	   changed);
	return tap_done();
}
