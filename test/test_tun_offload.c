/* TUN offloads for TCP (tun/tun_offload.c) against hand-built packets:
 * the TSO splitter, the completion of a pending checksum, the TCP GRO
 * coalescer and the checksum code itself, every checksum checked by the
 * naive RFC 1071 sum of test/tun_offload_test.h.  UDP (USO and UDP GRO)
 * is test_tun_offload_udp.c. */
#include "test/tun_offload_test.h"
#include "test/tap.h"

#include <errno.h>

/* ---- tests ---- */

static void test_csum(void)
{
	uint8_t buf[300];
	bool good = true;
	unsigned trial;

	for (trial = 0; trial < 2000 && good; ++trial) {
		size_t off = rnd8() % 9, len = rnd8() + (trial & 1), i;
		uint16_t mine, naive, stored;

		for (i = 0; i < sizeof(buf); ++i)
			buf[i] = rnd8();
		mine = csum_fold(csum_add(0, buf + off, len));
		naive = naive_fold(naive_sum(0, buf + off, len));
		memcpy(buf, &mine, 2);
		stored = be16(buf);
		good = stored == naive || (stored == 0xffff && naive == 0) || (stored == 0 && naive == 0xffff);
		if (!good)
			diag("len %zu off %zu: %04x vs %04x", len, off, stored, naive);
	}
	ok(good, "csum_add/csum_fold agree with the naive RFC 1071 sum (2000 random buffers, odd and even)");
}

static void test_split(unsigned version, size_t payload, uint16_t mss, uint8_t flags, uint8_t gso_type)
{
	static uint8_t pkt[70000], seg[2000];
	struct tcpspec s = { version, 1000000, 777, flags, 512, 12, payload, 7, 0 };
	size_t len = build_tcp(pkt, &s), l4 = version == 4 ? 20 : 40, hl = l4 + 32, got_len;
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, gso_type, (uint16_t)hl, mss, (uint16_t)l4, 16 };
	struct tso_split sp;
	unsigned want = (unsigned)((payload + mss - 1) / mss), i;
	bool good = true;
	int n;

	make_partial(pkt, len, l4, 16, 6);
	got_len = len;
	n = tso_split_begin(&sp, &h, pkt, &got_len);
	if (!ok(n == (int)want, "IPv%u TSO %zu bytes at MSS %u: %u segments (got %d)", version, payload, mss,
		want, n))
		return;
	for (i = 0; i < want && good; ++i) {
		ssize_t sl = tso_split_segment(&sp, i, seg, sizeof(seg));
		size_t plen = payload - i * mss < mss ? payload - i * mss : mss, k;
		const uint8_t *t = seg + l4;
		uint8_t f = flags;

		if (sl != (ssize_t)(hl + plen)) {
			diag("segment %u: length %zd, want %zu", i, sl, hl + plen);
			good = false;
			break;
		}
		if (i + 1 < want)
			f &= (uint8_t)~(FIN | PSH);
		if (i > 0)
			f &= (uint8_t)~CWR;
		if (version == 4) {
			good &= be16(seg + 2) == sl && be16(seg + 4) == 0x1234 + i && naive_ip4_ok(seg);
		} else {
			good &= be16(seg + 4) == sl - 40;
		}
		good &= be32(t + 4) == 1000000 + i * mss && be32(t + 8) == 777 && t[13] == f &&
			be16(t + 14) == 512 && t[12] == 0x80 && t[20] == 1 && t[31] == 0x5a;
		good &= naive_l4_ok(seg, (size_t)sl, 6);
		for (k = 0; k < plen; ++k)
			good &= seg[hl + k] == (uint8_t)(7 + i * mss + k);
		if (!good)
			diag("segment %u differs", i);
	}
	ok(good, "IPv%u TSO segments: lengths, %sIDs, seq, flags (FIN/PSH last, CWR first), checksums, payload",
	   version, version == 4 ? "IP header checksums, " : "");
}

static void test_split_plain(void)
{
	uint8_t p[200];
	size_t len, i, l = 20 + 8 + 51;
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_NONE, 0, 0, 20, 6 };
	struct vnet_hdr none = { 0, 0, 0, 0, 0, 0 };
	struct tso_split sp;
	uint32_t sum;

	/* UDP 192.0.2.1:5000 -> 192.0.2.2:53, odd payload, checksum pending. */
	memset(p, 0, sizeof(p));
	p[0] = 0x45, p[8] = 64, p[9] = 17;
	wbe16(p + 2, (unsigned)l);
	p[12] = 192, p[14] = 2, p[15] = 1, p[16] = 192, p[18] = 2, p[19] = 2;
	wbe16(p + 10, (uint16_t)~naive_fold(naive_sum(0, p, 20)));
	wbe16(p + 20, 5000), wbe16(p + 22, 53), wbe16(p + 24, (unsigned)(l - 20));
	for (i = 28; i < l; ++i)
		p[i] = (uint8_t)(i * 7);
	sum = naive_sum(0, p + 12, 8) + 17 + (uint32_t)(l - 20);
	wbe16(p + 26, naive_fold(sum));
	len = l;
	ok(tso_split_begin(&sp, &h, p, &len) == 0 && len == l && naive_l4_ok(p, l, 17),
	   "GSO_NONE with NEEDS_CSUM: a UDP checksum completed in place");
	len = l;
	memcpy(p + 26, "\xde\xad", 2);
	ok(tso_split_begin(&sp, &none, p, &len) == 0 && len == l && !memcmp(p + 26, "\xde\xad", 2),
	   "a zero header: the packet is left as it is");

	h.csum_start = (uint16_t)l;
	len = l;
	ok(tso_split_begin(&sp, &h, p, &len) == -EINVAL, "csum_start at the end is refused");
	h.csum_start = 20, h.csum_offset = (uint16_t)(l - 21);
	len = l;
	ok(tso_split_begin(&sp, &h, p, &len) == -EINVAL, "a checksum field past the end is refused");
}

static void test_split_bad(void)
{
	static uint8_t pkt[3000];
	struct tcpspec s4 = { 4, 1, 1, ACK, 100, 0, 2000, 0, 0 };
	struct tcpspec s6 = { 6, 1, 1, ACK, 100, 0, 2000, 0, 0 };
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 40, 1000, 20, 16 };
	struct tso_split sp;
	size_t len, l4len = build_tcp(pkt, &s4);

	len = l4len;
	h.gso_type = VNET_HDR_GSO_UDP;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "GSO_UDP (never negotiated) is refused");
	h.gso_type = 0x22;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "an unknown GSO type is refused");
	h.gso_type = VNET_HDR_GSO_TCPV6;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "TCPV6 on an IPv4 packet is refused");
	h.gso_type = VNET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "gso_size 0 is refused");
	h.gso_size = 1000;
	h.csum_start = 24;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "csum_start not at the TCP header is refused");
	h.csum_start = 20;
	len = 30;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a packet shorter than its IP length is refused");
	len = l4len;
	pkt[32] = 0x10;	/* data offset 1 */
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a TCP data offset under 5 is refused");
	pkt[32] = 0xf0;
	len = 70;
	wbe16(pkt + 2, 70);
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a TCP header past the packet is refused");
	build_tcp(pkt, &s4);
	len = l4len;
	h.gso_size = 1;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "2000 one-byte segments are refused");
	h.gso_size = 1000;
	pkt[6] |= 0x20;	/* MF */
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a fragment is refused");

	len = build_tcp(pkt, &s6);
	h.gso_type = VNET_HDR_GSO_TCPV6;
	h.csum_start = 40;
	pkt[6] = 0;	/* hop-by-hop options first */
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "IPv6 with an extension header is refused");
	pkt[6] = 6;
	len = build_tcp(pkt, &s6);
	ok(tso_split_begin(&sp, &h, pkt, &len) == 2, "the same IPv6 packet without it splits in two");
	/* The IP length rules: extra bytes after it are trimmed. */
	len = build_tcp(pkt, &s6) + 5;
	ok(tso_split_begin(&sp, &h, pkt, &len) == 2 && len == 40 + 20 + 2000,
	   "bytes after the IP length are not part of the packet");
}

/* Feeds packets to a coalescer; checks the items' packet counts. */
struct gro_case {
	const char *what;
	unsigned n;
	struct tcpspec pkts[8];
	unsigned nitems;
	unsigned counts[8];
};

static void run_gro_case(const struct gro_case *c, uint8_t bufs[][2000])
{
	struct gro_batch g;
	struct vnet_hdr h;
	unsigned i;
	bool good = true;

	gro_init(&g, true);
	for (i = 0; i < c->n; ++i) {
		size_t len = build_tcp(bufs[i], &c->pkts[i]);

		gro_add(&g, bufs[i], len);
	}
	good = g.nitems == c->nitems;
	for (i = 0; good && i < g.nitems; ++i)
		good = gro_finish(&g, i, &h) == c->counts[i];
	ok(good, "GRO: %s (%u items)", c->what, g.nitems);
}

static void test_gro(unsigned version)
{
	static uint8_t bufs[8][2000], out[20000];
	struct tcpspec s = { version, 5000, 99, ACK, 1000, 12, 1000, 0, 0 };
	struct gro_batch g;
	struct vnet_hdr h;
	size_t l4 = version == 4 ? 20 : 40, hl = l4 + 32, len, total = 0;
	unsigned i, cnt;
	int j;
	bool good = true;
	uint32_t sum;

	/* Four full segments and a short one with PSH: one packet. */
	gro_init(&g, true);
	for (i = 0; i < 5; ++i) {
		s.seq = 5000 + i * 1000;
		s.payload = i < 4 ? 1000 : 300;
		s.flags = i < 4 ? ACK : ACK | PSH;
		s.fill = (uint8_t)(i * 1000);
		len = build_tcp(bufs[i], &s);
		gro_add(&g, bufs[i], len);
	}
	if (!ok(g.nitems == 1, "IPv%u GRO: five contiguous segments are one item (got %u)", version, g.nitems))
		return;
	cnt = gro_finish(&g, 0, &h);
	ok(cnt == 5 && h.flags == VNET_HDR_F_NEEDS_CSUM &&
	   h.gso_type == (version == 4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6) &&
	   h.gso_size == 1000 && h.csum_start == l4 && h.csum_offset == 16 && h.hdr_len == hl,
	   "IPv%u GRO: virtio header TCPV%u, NEEDS_CSUM, gso_size 1000, csum at %zu+16", version, version, l4);
	/* What writev would hand the kernel. */
	memcpy(out, g.data[0], g.len[0]);
	total = g.len[0];
	for (j = g.next[0]; j >= 0; j = g.next[j]) {
		memcpy(out + total, g.data[j] + hl, g.len[j] - hl);
		total += g.len[j] - hl;
	}
	good = total == hl + 4300;
	if (version == 4)
		good &= be16(out + 2) == total && naive_ip4_ok(out);
	else
		good &= be16(out + 4) == total - 40;
	good &= out[l4 + 13] == (ACK | PSH) && be32(out + l4 + 4) == 5000;
	for (i = 0; i < 4300 && good; ++i)
		good = out[hl + i] == (uint8_t)i;
	ok(good, "IPv%u GRO: lengths, %sPSH of the last, payload in order", version,
	   version == 4 ? "header checksum, " : "");
	/* The kernel's side of CHECKSUM_PARTIAL: sum from csum_start with
	 * the field as we left it; the result must be the real checksum. */
	sum = version == 4 ? naive_sum(0, out + 12, 8) : naive_sum(0, out + 8, 32);
	sum += 6 + (uint32_t)(total - l4);
	ok(be16(out + l4 + 16) == naive_fold(sum), "IPv%u GRO: the TCP checksum field holds the pseudo-header sum",
	   version);
	wbe16(out + l4 + 16, (uint16_t)~naive_fold(naive_sum(0, out + l4, total - l4) ));
	ok(naive_l4_ok(out, total, 6), "IPv%u GRO: completed as the kernel would, the checksum verifies", version);
}

static void test_gro_rules(void)
{
	static uint8_t bufs[8][2000];
	const struct tcpspec a = { 4, 100, 9, ACK, 50, 0, 500, 0, 0 };
#define P(seq_, ack_, flags_, win_, pay_, port_) { 4, seq_, ack_, flags_, win_, 0, pay_, 0, port_ }
	const struct gro_case cases[] = {
		{ "a different ack starts a new item", 2, { P(100, 9, ACK, 50, 500, 0), P(600, 10, ACK, 50, 500, 0) },
		  2, { 1, 1 } },
		{ "a gap in the sequence starts a new item", 2,
		  { P(100, 9, ACK, 50, 500, 0), P(601, 9, ACK, 50, 500, 0) }, 2, { 1, 1 } },
		{ "a different window starts a new item", 2,
		  { P(100, 9, ACK, 50, 500, 0), P(600, 9, ACK, 51, 500, 0) }, 2, { 1, 1 } },
		{ "nothing joins after PSH", 3,
		  { P(100, 9, ACK | PSH, 50, 500, 0), P(600, 9, ACK, 50, 500, 0), P(1100, 9, ACK, 50, 500, 0) },
		  2, { 1, 2 } },
		{ "nothing joins after a short segment", 3,
		  { P(100, 9, ACK, 50, 500, 0), P(600, 9, ACK, 50, 200, 0), P(800, 9, ACK, 50, 500, 0) },
		  2, { 2, 1 } },
		{ "a larger segment does not join a smaller one", 2,
		  { P(100, 9, ACK, 50, 500, 0), P(600, 9, ACK, 50, 600, 0) }, 2, { 1, 1 } },
		{ "two interleaved flows make two items", 4,
		  { P(100, 9, ACK, 50, 500, 1), P(100, 9, ACK, 50, 500, 2), P(600, 9, ACK, 50, 500, 1),
		    P(600, 9, ACK, 50, 500, 2) }, 2, { 2, 2 } },
		{ "a FIN stays alone and keeps its place", 3,
		  { P(100, 9, ACK, 50, 500, 0), P(600, 9, ACK | FIN, 50, 0, 0), P(600, 9, ACK, 50, 500, 0) },
		  3, { 1, 1, 1 } },
		{ "a pure ACK of the flow is not merged over", 3,
		  { P(100, 9, ACK, 50, 500, 0), P(600, 9, ACK, 50, 0, 0), P(600, 9, ACK, 50, 500, 0) },
		  3, { 1, 1, 1 } },
		{ "SYN and CWR segments are never coalesced", 3,
		  { P(100, 9, ACK | CWR, 50, 500, 0), P(600, 9, ACK, 50, 500, 0), P(1100, 9, ACK | SYN, 50, 500, 0) },
		  3, { 1, 1, 1 } },
	};
#undef P
	unsigned i;
	struct gro_batch g;
	size_t len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
		run_gro_case(&cases[i], bufs);

	/* A segment with a bad checksum is written alone, untouched. */
	{
		struct tcpspec b = a;
		struct vnet_hdr h;

		gro_init(&g, true);
		len = build_tcp(bufs[0], &b);
		gro_add(&g, bufs[0], len);
		b.seq += 500;
		len = build_tcp(bufs[1], &b);
		bufs[1][60] ^= 1;
		gro_add(&g, bufs[1], len);
		b.seq += 500;
		len = build_tcp(bufs[2], &b);
		gro_add(&g, bufs[2], len);
		ok(g.nitems == 3 && gro_finish(&g, 1, &h) == 1 && h.gso_type == 0 && h.flags == 0,
		   "GRO: a segment with a bad TCP checksum is not coalesced (%u items)", g.nitems);
	}
	/* A head with a bad checksum takes nothing. */
	{
		struct tcpspec b = a;

		gro_init(&g, true);
		len = build_tcp(bufs[0], &b);
		bufs[0][50] ^= 1;
		gro_add(&g, bufs[0], len);
		b.seq += 500;
		len = build_tcp(bufs[1], &b);
		gro_add(&g, bufs[1], len);
		ok(g.nitems == 2, "GRO: nothing joins a head whose checksum is bad (%u items)", g.nitems);
	}
	/* Non-TCP and garbage go through as single items. */
	{
		static uint8_t junk[3][64];

		memset(junk, 0, sizeof(junk));
		junk[0][0] = 0x45;
		junk[1][0] = 0x60;
		junk[2][0] = 0x99;
		gro_init(&g, true);
		gro_add(&g, junk[0], 64);
		gro_add(&g, junk[1], 3);
		gro_add(&g, junk[2], 0);
		ok(g.nitems == 3, "GRO: packets that are not TCP are single items");
	}
	/* The batch holds GRO_MAX packets and says so. */
	{
		bool full_ok = true;

		gro_init(&g, true);
		for (i = 0; i < GRO_MAX; ++i)
			full_ok &= gro_add(&g, bufs[0], 10);
		ok(full_ok && !gro_add(&g, bufs[0], 10), "GRO: the batch takes %d packets, then refuses", GRO_MAX);
	}
}

/* Split, then coalesce: the super-packet comes back. */
static void test_roundtrip(unsigned version)
{
	static uint8_t pkt[70000], segs[64][2000], again[70000];
	struct tcpspec s = { version, 42, 4242, ACK | PSH, 300, 12, 40000, 3, 0 };
	size_t len = build_tcp(pkt, &s), l4 = version == 4 ? 20 : 40, hl = l4 + 32, total, orig_len = len;
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, version == 4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6,
			      (uint16_t)hl, 1368, (uint16_t)l4, 16 };
	struct tso_split sp;
	struct gro_batch g;
	struct vnet_hdr out;
	int n, i, j;

	make_partial(pkt, len, l4, 16, 6);
	n = tso_split_begin(&sp, &h, pkt, &len);
	gro_init(&g, true);
	for (i = 0; i < n; ++i) {
		ssize_t sl = tso_split_segment(&sp, (unsigned)i, segs[i], sizeof(segs[i]));

		gro_add(&g, segs[i], (size_t)sl);
	}
	if (!ok(n == 30 && g.nitems == 1 && gro_finish(&g, 0, &out) == 30 && out.gso_size == 1368,
		"IPv%u: 40000 bytes split at MSS 1368 (30 segments) coalesce back into one", version))
		return;
	memcpy(again, g.data[0], g.len[0]);
	total = g.len[0];
	for (j = g.next[0]; j >= 0; j = g.next[j]) {
		memcpy(again + total, g.data[j] + hl, g.len[j] - hl);
		total += g.len[j] - hl;
	}
	/* Equal but for the checksum fields (the original's IPv4 ID is the
	 * head's; the TCP field is a pseudo-header sum in both). */
	ok(total == orig_len && !memcmp(again + hl, pkt + hl, total - hl) &&
	   !memcmp(again + l4, pkt + l4, 16) && again[l4 + 13] == (ACK | PSH) &&
	   be16(again + l4 + 16) == be16(pkt + l4 + 16),
	   "IPv%u: the coalesced packet is the original super-packet", version);
}

int main(void)
{
	test_csum();
	test_split(4, 5000, 1000, ACK | PSH | CWR, VNET_HDR_GSO_TCPV4 | VNET_HDR_GSO_ECN);
	test_split(4, 64000, 1448, ACK | FIN, VNET_HDR_GSO_TCPV4);
	test_split(6, 4500, 1000, ACK | PSH, VNET_HDR_GSO_TCPV6);
	test_split(6, 63000, 1368, ACK | CWR | FIN | PSH, VNET_HDR_GSO_TCPV6 | VNET_HDR_GSO_ECN);
	test_split(4, 1000, 1000, ACK, VNET_HDR_GSO_TCPV4);
	test_split_plain();
	test_split_bad();
	test_gro(4);
	test_gro(6);
	test_gro_rules();
	test_roundtrip(4);
	test_roundtrip(6);
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
