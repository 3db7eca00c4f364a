/* libFuzzer harness for the TUN offload core (tun/tun_offload.c): what the
 * local kernel hands us through the TUN (a virtio header and a packet) and
 * what the coalescer parses (decrypted packets from a peer).  Neither may
 * crash or write out of bounds whatever the bytes; beyond that:
 *   - every segment the splitter produces (TCP or UDP) fits its buffer,
 *     carries the super-packet's headers and a TCP or UDP checksum that
 *     verifies, and a UDP datagram its own length;
 *   - the coalescer places every packet in exactly one item, in the order
 *     added, and no coalesced packet exceeds 64 KiB nor, for UDP, 64
 *     datagrams;
 *   - a coalesced item, given back to the splitter with the header the
 *     coalescer made, splits into as many segments as it took packets,
 *     each with the payload of its packet.
 * Input: one byte picks the mode (bit 0: splitter; bit 1: the coalescer
 * takes UDP too); splitter: 10-byte virtio header, then the packet;
 * coalescer: packets, each preceded by a 2-byte length. */
#include "tun/tun_offload.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pkt[70000], seg[70000], whole[70000];

static void fuzz_split(const uint8_t *data, size_t size)
{
	struct vnet_hdr h;
	struct tso_split s;
	size_t len;
	int n, i;

	if (size < VNET_HDR_LEN)
		return;
	vnet_hdr_decode(&h, data);
	len = size - VNET_HDR_LEN;
	if (len > sizeof(pkt))
		return;
	memcpy(pkt, data + VNET_HDR_LEN, len);
	n = tso_split_begin(&s, &h, pkt, &len);
	if (n <= 0)
		return;
	if (len > size - VNET_HDR_LEN)
		abort();
	for (i = 0; i < n; ++i) {
		/* A small buffer first: refused, never overrun. */
		ssize_t sl = tso_split_segment(&s, (unsigned)i, seg, s.hlen);
		uint64_t sum;

		if (sl > (ssize_t)s.hlen)
			abort();
		sl = tso_split_segment(&s, (unsigned)i, seg, sizeof(seg));
		if (sl < (ssize_t)s.hlen || (size_t)sl > len)
			abort();
		sum = csum_pseudo(seg, s.version, s.proto, (uint32_t)((size_t)sl - s.l4off));
		sum = csum_add(sum, seg + s.l4off, (size_t)sl - s.l4off);
		if (csum_fold(sum) != 0xffff)
			abort();
		if (s.proto == 17 && (size_t)(seg[s.l4off + 4] << 8 | seg[s.l4off + 5]) != (size_t)sl - s.l4off)
			abort();
	}
	if (tso_split_segment(&s, (unsigned)n, seg, sizeof(seg)) >= 0)
		abort();
}

/* Splits coalesced item k again: as many segments as packets, each with
 * its packet's payload. */
static void resplit(const struct gro_batch *g, unsigned k, const struct vnet_hdr *h, size_t total)
{
	const struct gro_item *it = &g->items[k];
	struct tso_split s;
	size_t len = total;
	int n, i, j = (int)it->head;

	memcpy(pkt, whole, total);
	n = tso_split_begin(&s, h, pkt, &len);
	if (n != (int)it->count || len != total || s.hlen != it->hlen)
		abort();
	for (i = 0; i < n; ++i, j = g->next[j]) {
		ssize_t sl = tso_split_segment(&s, (unsigned)i, seg, sizeof(seg));

		if (j < 0 || sl != (ssize_t)g->len[j] ||
		    memcmp(seg + it->hlen, g->data[j] + it->hlen, g->len[j] - it->hlen))
			abort();
	}
}

static void fuzz_gro(const uint8_t *data, size_t size, bool udp)
{
	static uint8_t bufs[GRO_MAX][2048];
	struct gro_batch g;
	unsigned n = 0, k, seen = 0;
	int last = -1;

	gro_init(&g, udp);
	while (size >= 2 && n < GRO_MAX) {
		size_t len = (size_t)(data[0] << 8 | data[1]) % sizeof(bufs[0]);

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		memcpy(bufs[n], data, len);
		if (!gro_add(&g, bufs[n], len))
			abort();
		data += len;
		size -= len;
		++n;
	}
	for (k = 0; k < g.nitems; ++k) {
		struct vnet_hdr h;
		unsigned cnt = gro_finish(&g, k, &h), c = 0;
		size_t total = 0;
		int j;

		if (!udp && h.gso_type == VNET_HDR_GSO_UDP_L4)
			abort();
		if (h.gso_type == VNET_HDR_GSO_UDP_L4 && cnt > GRO_UDP_MAX_SEGS)
			abort();

		/* Items start in the order their heads were added. */
		if ((int)g.items[k].head <= last)
			abort();
		last = (int)g.items[k].head;
		for (j = (int)g.items[k].head; j >= 0; j = g.next[j]) {
			size_t from = j == (int)g.items[k].head ? 0 : g.items[k].hlen;

			if (total + g.len[j] - from > sizeof(whole))
				abort();
			memcpy(whole + total, g.data[j] + from, g.len[j] - from);
			total += g.len[j] - from;
			++c;
		}
		if (c != cnt || (cnt > 1 && (total > 65535 || h.gso_size == 0 || h.hdr_len != g.items[k].hlen)))
			abort();
		if (cnt > 1)
			resplit(&g, k, &h, total);
		seen += c;
	}
	if (seen != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_split(data + 1, size - 1);
	else
		fuzz_gro(data + 1, size - 1, data[0] & 2);
	return 0;
}
