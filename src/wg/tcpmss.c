/* TCP MSS clamping (see tcpmss.h). */
#include "src/wg/tcpmss.h"

#include <string.h>

enum {
	IPPROTO_TCP_NUM = 6,
	TCP_FLAG_SYN = 0x02,
	TCP_OPT_END = 0,
	TCP_OPT_NOP = 1,
	TCP_OPT_MSS = 2,
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), one 16-bit word at a time. */
static uint16_t csum_update(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~hc + (uint32_t)(uint16_t)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP segment tcp[0 .. len): lowers its SYN's MSS to mss. */
static bool clamp_segment(uint8_t *tcp, size_t len, uint16_t mss)
{
	size_t hlen, off;

	if (!mss || len < 20 || !(tcp[13] & TCP_FLAG_SYN))
		return false;
	hlen = (size_t)(tcp[12] >> 4) * 4;
	if (hlen < 20 || hlen > len)
		return false;
	for (off = 20; off < hlen;) {
		uint8_t kind = tcp[off];
		size_t olen;

		if (kind == TCP_OPT_END)
			return false;
		if (kind == TCP_OPT_NOP) {
			++off;
			continue;
		}
		if (off + 1 >= hlen)
			return false;
		olen = tcp[off + 1];
		if (olen < 2 || off + olen > hlen)
			return false;
		if (kind == TCP_OPT_MSS) {
			uint8_t before[4], *w;
			size_t start = (off + 2) & ~(size_t)1, i;
			uint16_t hc;

			if (olen != 4 || be16(tcp + off + 2) <= mss)
				return false;
			/* The value may sit at an odd offset: update the checksum
			 * over the aligned words it touches (at most two). */
			memset(before, 0, sizeof(before));
			memcpy(before, tcp + start, start + 4 <= len ? 4 : len - start);
			tcp[off + 2] = (uint8_t)(mss >> 8);
			tcp[off + 3] = (uint8_t)mss;
			hc = be16(tcp + 16);
			for (i = 0; i < 4 && start + i + 1 < len; i += 2) {
				w = tcp + start + i;
				hc = csum_update(hc, be16(before + i), be16(w));
			}
			tcp[16] = (uint8_t)(hc >> 8);
			tcp[17] = (uint8_t)hc;
			return true;
		}
		off += olen;
	}
	return false;
}

bool tcp_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss4, uint16_t mss6)
{
	if (len < 1)
		return false;
	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4, total;

		if (len < 20 || ihl < 20)
			return false;
		total = be16(pkt + 2);
		/* Not a fragment (offset 0, MF clear): the options are whole. */
		if (total > len || total < ihl || pkt[9] != IPPROTO_TCP_NUM || (be16(pkt + 6) & 0x3fff))
			return false;
		return clamp_segment(pkt + ihl, total - ihl, mss4);
	}
	if ((pkt[0] >> 4) == 6) {
		size_t plen;

		if (len < 40 || pkt[6] != IPPROTO_TCP_NUM)
			return false;
		plen = be16(pkt + 4);
		if (40 + plen > len)
			return false;
		return clamp_segment(pkt + 40, plen, mss6);
	}
	return false;
}
