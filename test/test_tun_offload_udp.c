/* TUN offloads for UDP (tun/tun_offload.c) against hand-built packets:
 * the USO splitter and the UDP GRO coalescer, every checksum checked by
 * the naive RFC 1071 sum of test/tun_offload_test.h.  The coalescer is
 * also checked against a naive model of the kernel's side: its output,
 * cut back into datagrams the slow way, must be the input.  TCP is
 * test_tun_offload.c. */
#include "test/tun_offload_test.h"
#include "test/tap.h"

#include <errno.h>

/* ---- UDP (USO) ---- */

struct udpspec {
	unsigned version;
	uint16_t sport, dport;
	size_t payload;
	uint8_t fill;		/* payload byte i is fill + i */
	uint16_t id;		/* IPv4 ID */
	uint8_t tos, ttl;	/* IPv4 TOS / IPv6 traffic class; TTL / hop limit */
	bool no_df;
};

/* Writes the UDP checksum of a built packet by the naive model (a zero
 * result goes as all ones). */
static void naive_udp_csum(uint8_t *p, size_t len)
{
	size_t l4 = (p[0] >> 4) == 4 ? (size_t)(p[0] & 15) * 4 : 40;
	uint32_t sum = (p[0] >> 4) == 4 ? naive_sum(0, p + 12, 8) : naive_sum(0, p + 8, 32);
	uint16_t v;

	p[l4 + 6] = p[l4 + 7] = 0;
	sum += 17 + (uint32_t)((len - l4) >> 16) + (uint32_t)((len - l4) & 0xffff);
	sum = naive_sum(sum, p + l4, len - l4);
	v = (uint16_t)~naive_fold(sum);
	wbe16(p + l4 + 6, v ? v : 0xffff);
}

static void naive_ip4_csum(uint8_t *p)
{
	p[10] = p[11] = 0;
	wbe16(p + 10, (uint16_t)~naive_fold(naive_sum(0, p, (size_t)(p[0] & 15) * 4)));
}

/* Builds an IPv4 (192.0.2.1 -> 192.0.2.2) or IPv6 (fd00::1 -> fd00::2)
 * UDP datagram with valid checksums; returns its length. */
static size_t build_udp(uint8_t *p, const struct udpspec *s)
{
	size_t l4 = s->version == 4 ? 20 : 40, len = l4 + 8 + s->payload, i;
	uint8_t *u = p + l4;

	memset(p, 0, l4 + 8);
	if (s->version == 4) {
		p[0] = 0x45;
		p[1] = s->tos;
		wbe16(p + 2, (unsigned)len);
		wbe16(p + 4, s->id);
		p[6] = s->no_df ? 0 : 0x40;
		p[8] = s->ttl ? s->ttl : 64;
		p[9] = 17;
		p[12] = 192, p[14] = 2, p[15] = 1;
		p[16] = 192, p[18] = 2, p[19] = 2;
		naive_ip4_csum(p);
	} else {
		p[0] = (uint8_t)(0x60 | s->tos >> 4);
		p[1] = (uint8_t)(s->tos << 4);
		wbe16(p + 4, (unsigned)(len - 40));
		p[6] = 17;
		p[7] = s->ttl ? s->ttl : 64;
		p[8] = 0xfd, p[23] = 1;
		p[24] = 0xfd, p[39] = 2;
	}
	wbe16(u, s->sport ? s->sport : 40000);
	wbe16(u + 2, s->dport ? s->dport : 5201);
	wbe16(u + 4, (unsigned)(len - l4));
	for (i = 0; i < s->payload; ++i)
		u[8 + i] = (uint8_t)(s->fill + i);
	naive_udp_csum(p, len);
	return len;
}

/* The kernel's cutting of a UDP_L4 super-packet (__udp_gso_segment and
 * inet_gso_segment), the slow way: the head's headers on every piece,
 * lengths of the piece, IPv4 IDs counted up, checksums from scratch.
 * Returns the number of datagrams written to out[]. */
static unsigned naive_uso_cut(const uint8_t *sp, size_t len, size_t gso, uint8_t out[][2000], size_t *lens)
{
	size_t l4 = (sp[0] >> 4) == 4 ? (size_t)(sp[0] & 15) * 4 : 40, hl = l4 + 8, off;
	unsigned n = 0;

	for (off = hl; off < len; off += gso, ++n) {
		size_t plen = len - off < gso ? len - off : gso, tot = hl + plen;
		uint8_t *d = out[n];

		memcpy(d, sp, hl);
		memcpy(d + hl, sp + off, plen);
		if ((sp[0] >> 4) == 4) {
			wbe16(d + 2, (unsigned)tot);
			wbe16(d + 4, (unsigned)(be16(sp + 4) + n));
			naive_ip4_csum(d);
		} else {
			wbe16(d + 4, (unsigned)(tot - 40));
		}
		wbe16(d + l4 + 4, (unsigned)(tot - l4));
		naive_udp_csum(d, tot);
		lens[n] = tot;
	}
	return n;
}

/* What writev hands the kernel for item k. */
static size_t gather(struct gro_batch *g, unsigned k, uint8_t *out)
{
	unsigned head = g->items[k].head;
	size_t total = g->len[head];
	int j;

	memcpy(out, g->data[head], total);
	for (j = g->next[head]; j >= 0; j = g->next[j]) {
		memcpy(out + total, g->data[j] + g->items[k].hlen, g->len[j] - g->items[k].hlen);
		total += g->len[j] - g->items[k].hlen;
	}
	return total;
}

static void test_uso_split(unsigned version, size_t payload, uint16_t gso)
{
	static uint8_t pkt[70000], seg[2000];
	struct udpspec s = { version, 4000, 443, payload, 9, 0x2000, 0, 0, false };
	size_t len = build_udp(pkt, &s), l4 = version == 4 ? 20 : 40, hl = l4 + 8, got_len;
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_UDP_L4, (uint16_t)hl, gso, (uint16_t)l4, 6 };
	struct tso_split sp;
	unsigned want = (unsigned)((payload + gso - 1) / gso), i;
	bool good = true;
	int n;

	make_partial(pkt, len, l4, 6, 17);
	got_len = len;
	n = tso_split_begin(&sp, &h, pkt, &got_len);
	if (!ok(n == (int)want, "IPv%u USO %zu bytes at gso_size %u: %u datagrams (got %d)", version, payload,
		gso, want, n))
		return;
	for (i = 0; i < want && good; ++i) {
		ssize_t sl = tso_split_segment(&sp, i, seg, sizeof(seg));
		size_t plen = payload - i * gso < gso ? payload - i * gso : gso, k;
		const uint8_t *u = seg + l4;

		if (sl != (ssize_t)(hl + plen)) {
			diag("datagram %u: length %zd, want %zu", i, sl, hl + plen);
			good = false;
			break;
		}
		if (version == 4)
			good &= be16(seg + 2) == sl && be16(seg + 4) == 0x2000 + i && naive_ip4_ok(seg) &&
				seg[9] == 17;
		else
			good &= be16(seg + 4) == sl - 40 && seg[6] == 17;
		good &= be16(u) == 4000 && be16(u + 2) == 443 && be16(u + 4) == sl - (ssize_t)l4 &&
			be16(u + 6) != 0 && naive_l4_ok(seg, (size_t)sl, 17);
		for (k = 0; k < plen; ++k)
			good &= seg[hl + k] == (uint8_t)(9 + i * gso + k);
		if (!good)
			diag("datagram %u differs", i);
	}
	ok(good, "IPv%u USO datagrams: lengths (IP and UDP), %sports, checksums, payload", version,
	   version == 4 ? "IDs, header checksums, " : "");
}

static void test_uso_split_bad(void)
{
	static uint8_t pkt[3000];
	struct udpspec s4 = { 4, 0, 0, 2000, 0, 1, 0, 0, false };
	struct udpspec s6 = { 6, 0, 0, 2000, 0, 1, 0, 0, false };
	struct tcpspec t4 = { 4, 1, 1, ACK, 100, 0, 2000, 0, 0 };
	struct vnet_hdr h = { VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_UDP_L4, 28, 1000, 20, 6 };
	struct tso_split sp;
	size_t len, l4len = build_udp(pkt, &s4);

	len = l4len;
	ok(tso_split_begin(&sp, &h, pkt, &len) == 2, "IPv4 UDP_L4: 2000 bytes at 1000 are two datagrams");
	h.gso_type = VNET_HDR_GSO_UDP_L4 | VNET_HDR_GSO_ECN;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "UDP_L4 with the ECN bit is refused");
	h.gso_type = VNET_HDR_GSO_UDP_L4;
	h.csum_start = 22;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "UDP_L4 with csum_start not at the UDP header is refused");
	h.csum_start = 20;
	h.gso_size = 0;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "UDP_L4 with gso_size 0 is refused");
	h.gso_size = 1;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "2000 one-byte datagrams are refused");
	h.gso_size = 1000;
	len = 27;
	wbe16(pkt + 2, 27);
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a UDP header past the packet is refused");
	len = build_udp(pkt, &s4);
	pkt[6] |= 0x20;
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "a UDP_L4 fragment is refused");
	len = build_tcp(pkt, &t4);
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "UDP_L4 on a TCP packet is refused");
	/* IPv4 options are copied onto every datagram. */
	{
		static uint8_t opt[3000], seg[1100];
		size_t olen;
		ssize_t sl;

		len = build_udp(pkt, &s4);
		opt[0] = 0x46;
		memcpy(opt + 1, pkt + 1, 19);
		memcpy(opt + 20, "\x01\x01\x01\x00", 4);	/* NOP NOP NOP EOL */
		memcpy(opt + 24, pkt + 20, len - 20);
		olen = len + 4;
		wbe16(opt + 2, (unsigned)olen);
		naive_ip4_csum(opt);
		h.csum_start = 24;
		h.hdr_len = 32;
		ok(tso_split_begin(&sp, &h, opt, &olen) == 2 && (sl = tso_split_segment(&sp, 1, seg, sizeof(seg))) == 1032 &&
		   naive_ip4_ok(seg) && !memcmp(seg + 20, "\x01\x01\x01\x00", 4) && naive_l4_ok(seg, 1032, 17) &&
		   be16(seg + 28) == 1008,
		   "IPv4 with options: each datagram keeps them, lengths and checksums right");
	}
	len = build_udp(pkt, &s6);
	h.csum_start = 40;
	h.hdr_len = 48;
	ok(tso_split_begin(&sp, &h, pkt, &len) == 2, "IPv6 UDP_L4: two datagrams");
	pkt[6] = 0;	/* hop-by-hop options first */
	ok(tso_split_begin(&sp, &h, pkt, &len) == -EINVAL, "IPv6 UDP_L4 with an extension header is refused");
}

/* Feeds datagrams to a coalescer; checks the items' packet counts. */
struct udp_case {
	const char *what;
	unsigned n;
	struct udpspec pkts[8];
	unsigned nitems;
	unsigned counts[8];
	void (*mangle)(uint8_t *p, size_t *len, unsigned i);
};

static void mangle_zero_csum(uint8_t *p, size_t *len, unsigned i)
{
	(void)len;
	if (i == 1)
		p[26] = p[27] = 0;
}

static void mangle_bad_csum(uint8_t *p, size_t *len, unsigned i)
{
	(void)len;
	if (i == 1)
		p[30] ^= 0x40;
}

static void mangle_udp_len(uint8_t *p, size_t *len, unsigned i)
{
	(void)len;
	if (i == 1) {
		wbe16(p + 24, be16(p + 24) - 1);
		naive_udp_csum(p, *len);
	}
}

static void mangle_mf(uint8_t *p, size_t *len, unsigned i)
{
	(void)len;
	if (i == 1) {
		p[6] |= 0x20;
		naive_ip4_csum(p);
	}
}

static void mangle_frag_off(uint8_t *p, size_t *len, unsigned i)
{
	(void)len;
	if (i == 1) {
		p[7] = 1;
		naive_ip4_csum(p);
	}
}

/* Gives an IPv4 packet 4 bytes of options (the transport checksum does
 * not cover them). */
static void ip4_add_options(uint8_t *p, size_t *len)
{
	memmove(p + 24, p + 20, *len - 20);
	memcpy(p + 20, "\x01\x01\x01\x00", 4);	/* NOP NOP NOP EOL */
	*len += 4;
	p[0] = 0x46;
	wbe16(p + 2, (unsigned)*len);
	naive_ip4_csum(p);
}

static void mangle_ip4_options(uint8_t *p, size_t *len, unsigned i)
{
	if (i == 1)
		ip4_add_options(p, len);
}

/* Puts an 8-byte hop-by-hop header in front of IPv6 datagram 1's UDP. */
static void mangle_ip6_ext(uint8_t *p, size_t *len, unsigned i)
{
	if (i != 1)
		return;
	memmove(p + 48, p + 40, *len - 40);
	memset(p + 40, 0, 8);
	p[40] = 17;	/* next header */
	p[42] = 1, p[43] = 4;	/* PadN */
	p[6] = 0;
	*len += 8;
	wbe16(p + 4, (unsigned)(*len - 40));
}

static void run_udp_case(const struct udp_case *c, bool udp)
{
	static uint8_t bufs[8][2000];
	struct gro_batch g;
	struct vnet_hdr h;
	unsigned i;
	bool good;

	gro_init(&g, udp);
	for (i = 0; i < c->n; ++i) {
		size_t len = build_udp(bufs[i], &c->pkts[i]);

		if (c->mangle)
			c->mangle(bufs[i], &len, i);
		gro_add(&g, bufs[i], len);
	}
	good = g.nitems == c->nitems;
	for (i = 0; good && i < g.nitems; ++i)
		good = gro_finish(&g, i, &h) == c->counts[i] &&
		       h.gso_type == (c->counts[i] > 1 ? VNET_HDR_GSO_UDP_L4 : VNET_HDR_GSO_NONE);
	ok(good, "UDP GRO: %s (%u items)", c->what, g.nitems);
}

static void test_udp_gro_rules(void)
{
#define U(v_, sp_, pay_) { v_, sp_, 0, pay_, 0, 0, 0, 0, false }
#define UX(v_, pay_, tos_, ttl_, nodf_) { v_, 0, 0, pay_, 0, 0, tos_, ttl_, nodf_ }
	const struct udp_case cases[] = {
		{ "equal datagrams and a short last one are one item", 4,
		  { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500), U(4, 0, 100) }, 1, { 4 }, NULL },
		{ "nothing joins after a short datagram", 3, { U(4, 0, 500), U(4, 0, 100), U(4, 0, 500) },
		  2, { 2, 1 }, NULL },
		{ "a larger datagram does not join a smaller one", 2, { U(6, 0, 500), U(6, 0, 600) },
		  2, { 1, 1 }, NULL },
		{ "different source ports are different flows", 4,
		  { U(4, 1, 500), U(4, 2, 500), U(4, 1, 500), U(4, 2, 500) }, 2, { 2, 2 }, NULL },
		{ "interleaved IPv6 flows keep their order", 5,
		  { U(6, 1, 300), U(6, 2, 300), U(6, 1, 300), U(6, 1, 200), U(6, 1, 300) }, 3, { 3, 1, 1 }, NULL },
		{ "a different TOS starts a new item", 2, { UX(4, 500, 0, 0, false), UX(4, 500, 4, 0, false) },
		  2, { 1, 1 }, NULL },
		{ "a different TTL starts a new item", 2, { UX(4, 500, 0, 64, false), UX(4, 500, 0, 63, false) },
		  2, { 1, 1 }, NULL },
		{ "a different DF bit starts a new item", 2, { UX(4, 500, 0, 0, false), UX(4, 500, 0, 0, true) },
		  2, { 1, 1 }, NULL },
		{ "a different IPv6 traffic class starts a new item", 2,
		  { UX(6, 500, 0, 0, false), UX(6, 500, 0x20, 0, false) }, 2, { 1, 1 }, NULL },
		{ "a different hop limit starts a new item", 2, { UX(6, 500, 0, 9, false), UX(6, 500, 0, 10, false) },
		  2, { 1, 1 }, NULL },
		{ "a zero (absent) IPv4 checksum stays alone", 3, { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) },
		  3, { 1, 1, 1 }, mangle_zero_csum },
		{ "a bad UDP checksum stays alone", 3, { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) },
		  3, { 1, 1, 1 }, mangle_bad_csum },
		{ "a UDP length that is not the IP payload's stays alone", 3,
		  { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) }, 3, { 1, 1, 1 }, mangle_udp_len },
		{ "a fragment (MF) stays alone", 3, { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) },
		  3, { 1, 1, 1 }, mangle_mf },
		{ "a fragment (offset) stays alone", 3, { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) },
		  3, { 1, 1, 1 }, mangle_frag_off },
		{ "IPv4 with options stays alone", 3, { U(4, 0, 500), U(4, 0, 500), U(4, 0, 500) },
		  3, { 1, 1, 1 }, mangle_ip4_options },
		{ "IPv6 with an extension header stays alone", 3, { U(6, 0, 500), U(6, 0, 500), U(6, 0, 500) },
		  3, { 1, 1, 1 }, mangle_ip6_ext },
		{ "IPv4 and IPv6 are not one flow", 2, { U(4, 0, 500), U(6, 0, 500) }, 2, { 1, 1 }, NULL },
	};
#undef U
#undef UX
	static uint8_t bufs[GRO_MAX][2000];
	struct gro_batch g;
	struct vnet_hdr h;
	unsigned i, n;
	bool good;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
		run_udp_case(&cases[i], true);
	{
		struct udp_case off = cases[0];

		off.what = "without USO every datagram is alone";
		off.nitems = 4;
		off.counts[0] = off.counts[1] = off.counts[2] = off.counts[3] = 1;
		run_udp_case(&off, false);
	}
	/* A TCP segment and a UDP datagram of the same addresses and ports. */
	{
		struct udpspec u = { 4, 40000, 5201, 500, 0, 0, 0, 0, false };
		struct tcpspec t = { 4, 100, 9, ACK, 50, 0, 500, 0, 0 };
		size_t len;

		gro_init(&g, true);
		len = build_udp(bufs[0], &u);
		gro_add(&g, bufs[0], len);
		len = build_tcp(bufs[1], &t);
		gro_add(&g, bufs[1], len);
		t.seq += 500;
		len = build_tcp(bufs[2], &t);
		gro_add(&g, bufs[2], len);
		len = build_udp(bufs[3], &u);
		gro_add(&g, bufs[3], len);
		good = g.nitems == 2 && gro_finish(&g, 0, &h) == 2 && h.gso_type == VNET_HDR_GSO_UDP_L4 &&
		       gro_finish(&g, 1, &h) == 2 && h.gso_type == VNET_HDR_GSO_TCPV4;
		ok(good, "GRO: TCP and UDP of the same ports are two flows, each coalesced (%u items)", g.nitems);
	}
	/* A TCP segment with IPv4 options between two of its flow's: no
	 * flow of ours, but nothing of its addresses may pass it. */
	{
		struct tcpspec t = { 4, 100, 9, ACK, 50, 0, 500, 0, 0 };
		size_t len;

		gro_init(&g, true);
		for (i = 0; i < 3; ++i, t.seq += 500) {
			len = build_tcp(bufs[i], &t);
			if (i == 1) {
				ip4_add_options(bufs[i], &len);
				good = naive_ip4_ok(bufs[i]) && naive_l4_ok(bufs[i], len, 6);
			}
			gro_add(&g, bufs[i], len);
		}
		ok(good && g.nitems == 3,
		   "GRO: a TCP segment with IPv4 options stays alone and keeps its place (%u items)", g.nitems);
	}
	/* Another protocol between the same hosts is no part of the run. */
	{
		struct udpspec u = { 4, 0, 0, 500, 0, 0, 0, 0, false };
		size_t len;

		gro_init(&g, true);
		for (i = 0; i < 3; ++i) {
			len = build_udp(bufs[i], &u);
			if (i == 1) {
				bufs[i][9] = 1;	/* ICMP */
				naive_ip4_csum(bufs[i]);
			}
			gro_add(&g, bufs[i], len);
		}
		ok(g.nitems == 2 && gro_finish(&g, 0, &h) == 2 && gro_finish(&g, 1, &h) == 1,
		   "UDP GRO: an ICMP packet of the same hosts does not cut the run (%u items)", g.nitems);
	}
	/* Without USO a datagram between the segments of a TCP flow of the
	 * same hosts does not cut the TCP run either. */
	{
		struct udpspec u = { 4, 0, 0, 500, 0, 0, 0, 0, false };
		struct tcpspec t = { 4, 100, 9, ACK, 50, 0, 500, 0, 0 };
		size_t len;

		gro_init(&g, false);
		len = build_tcp(bufs[0], &t);
		gro_add(&g, bufs[0], len);
		len = build_udp(bufs[1], &u);
		gro_add(&g, bufs[1], len);
		t.seq += 500;
		len = build_tcp(bufs[2], &t);
		gro_add(&g, bufs[2], len);
		ok(g.nitems == 2 && gro_finish(&g, 0, &h) == 2 && h.gso_type == VNET_HDR_GSO_TCPV4,
		   "GRO without USO: a UDP datagram does not cut a TCP run of the same hosts (%u items)", g.nitems);
	}
	/* 64 datagrams of 1000 bytes: one write (the kernel's limit is 64). */
	gro_init(&g, true);
	for (i = 0; i < GRO_MAX; ++i) {
		struct udpspec u = { 4, 0, 0, 1000, (uint8_t)i, (uint16_t)i, 0, 0, false };

		gro_add(&g, bufs[i], build_udp(bufs[i], &u));
	}
	ok(g.nitems == 1 && gro_finish(&g, 0, &h) == GRO_UDP_MAX_SEGS && g.items[0].len == 20 + 8 + 64000,
	   "UDP GRO: %d datagrams of 1000 bytes are one item of 64028 bytes", GRO_MAX);
	/* 1400-byte datagrams: 46 fit in 64 KiB, the 47th starts anew. */
	gro_init(&g, true);
	for (i = 0; i < 50; ++i) {
		struct udpspec u = { 6, 0, 0, 1400, (uint8_t)i, 0, 0, 0, false };

		gro_add(&g, bufs[i], build_udp(bufs[i], &u));
	}
	n = g.nitems;
	ok(n == 2 && gro_finish(&g, 0, &h) == 46 && g.items[0].len <= 65535 && gro_finish(&g, 1, &h) == 4,
	   "UDP GRO: 50 IPv6 datagrams of 1400 bytes are 46 + 4 (64 KiB)");
}

/* One flow's equal datagrams and a short one: the header, the lengths,
 * the pseudo-header sum, and the kernel's cutting gives them back. */
static void test_udp_gro(unsigned version)
{
	static uint8_t bufs[8][2000], out[20000], cut[8][2000];
	size_t l4 = version == 4 ? 20 : 40, hl = l4 + 8, total, lens[8], orig[8];
	struct gro_batch g;
	struct vnet_hdr h;
	unsigned i, n;
	uint32_t sum;
	bool good = true;

	gro_init(&g, true);
	for (i = 0; i < 6; ++i) {
		struct udpspec u = { version, 7000, 53, i < 5 ? 1200 : 333, (uint8_t)(i * 31), (uint16_t)(900 + i),
				     0, 0, false };

		orig[i] = build_udp(bufs[i], &u);
		memcpy(cut[i], bufs[i], orig[i]);	/* a copy: gro_finish rewrites the head */
		gro_add(&g, bufs[i], orig[i]);
	}
	if (!ok(g.nitems == 1 && gro_finish(&g, 0, &h) == 6, "IPv%u UDP GRO: six datagrams are one item", version))
		return;
	ok(h.flags == VNET_HDR_F_NEEDS_CSUM && h.gso_type == VNET_HDR_GSO_UDP_L4 && h.gso_size == 1200 &&
	   h.csum_start == l4 && h.csum_offset == 6 && h.hdr_len == hl,
	   "IPv%u UDP GRO: virtio header UDP_L4, NEEDS_CSUM, gso_size 1200, csum at %zu+6", version, l4);
	total = gather(&g, 0, out);
	good = total == hl + 5 * 1200 + 333 && be16(out + l4 + 4) == total - l4;
	if (version == 4)
		good &= be16(out + 2) == total && naive_ip4_ok(out) && be16(out + 4) == 900;
	else
		good &= be16(out + 4) == total - 40;
	ok(good, "IPv%u UDP GRO: IP and UDP lengths of the whole%s", version,
	   version == 4 ? ", header checksum, the head's ID" : "");
	sum = version == 4 ? naive_sum(0, out + 12, 8) : naive_sum(0, out + 8, 32);
	sum += 17 + (uint32_t)(total - l4);
	ok(be16(out + l4 + 6) == naive_fold(sum), "IPv%u UDP GRO: the checksum field holds the pseudo-header sum",
	   version);
	/* The kernel, slowly: the pieces are the datagrams we were given
	 * (their IDs were consecutive, so to the byte). */
	{
		static uint8_t pieces[8][2000];

		n = naive_uso_cut(out, total, h.gso_size, pieces, lens);
		good = n == 6;
		for (i = 0; good && i < n; ++i)
			good = lens[i] == orig[i] && !memcmp(pieces[i], cut[i], orig[i]);
		ok(good, "IPv%u UDP GRO: cut as the kernel does, the six datagrams come back to the byte", version);
	}
	/* And our own splitter, given the super-packet as the kernel would
	 * hand it over (the same contract both ways). */
	{
		struct tso_split sp;
		static uint8_t seg[2000];
		size_t slen = total;
		int ns = tso_split_begin(&sp, &h, out, &slen);

		good = ns == 6;
		for (i = 0; good && i < 6; ++i)
			good = tso_split_segment(&sp, i, seg, sizeof(seg)) == (ssize_t)orig[i] &&
			       !memcmp(seg, cut[i], orig[i]);
		ok(good, "IPv%u: the coalesced packet splits back into the same datagrams", version);
	}
}

/* Random traffic against the model: datagrams of three flows (two IPv4,
 * one IPv6) in runs of equal sizes, some short, some damaged; whatever
 * the coalescer makes of them, cut as the kernel cuts, must be each
 * flow's datagrams in order, and every coalesced item must be one the
 * kernel accepts. */
static void test_udp_gro_random(void)
{
	static uint8_t bufs[GRO_MAX][2000], copy[GRO_MAX][2000], out[70000], pieces[GRO_MAX][2000];
	size_t lens[GRO_MAX], plens[GRO_MAX];
	unsigned trial, bad_items = 0, mismatches = 0, coalesced = 0;

	for (trial = 0; trial < 3000; ++trial) {
		struct gro_batch g;
		unsigned n = 1 + rnd8() % GRO_MAX, i, k, flow_of[GRO_MAX];
		unsigned next_in[3] = { 0, 0, 0 };	/* per flow: datagrams seen on output */
		unsigned idx_of[3][GRO_MAX], count_of[3] = { 0, 0, 0 };
		uint16_t id[3] = { 100, 5000, 0 };
		size_t size[3] = { 1 + rnd8() % 200u, 1 + rnd8() * 5u, 1 + rnd8() % 64u };

		gro_init(&g, true);
		for (i = 0; i < n; ++i) {
			unsigned f = rnd8() % 3, r = rnd8();
			struct udpspec u = { f == 2 ? 6 : 4, (uint16_t)(1000 + f), 53, size[f], rnd8(), id[f]++, 0, 0,
					     false };

			if (r < 20)
				u.payload = size[f] / 2;	/* short */
			else if (r < 30)
				size[f] = u.payload = 1 + rnd8() * 4u;	/* a new size */
			lens[i] = build_udp(bufs[i], &u);
			if (r >= 250)
				bufs[i][lens[i] - 1] ^= 0x10;	/* damaged */
			memcpy(copy[i], bufs[i], lens[i]);
			flow_of[i] = f;
			idx_of[f][count_of[f]++] = i;
			gro_add(&g, bufs[i], lens[i]);
		}
		for (k = 0; k < g.nitems; ++k) {
			struct vnet_hdr h;
			unsigned cnt = gro_finish(&g, k, &h), head = g.items[k].head, f = flow_of[head], np, j;
			size_t total = gather(&g, k, out);

			if (cnt == 1) {
				np = 1;
				plens[0] = total;
				memcpy(pieces[0], out, total);
			} else {
				++coalesced;
				if (h.gso_type != VNET_HDR_GSO_UDP_L4 || cnt > GRO_UDP_MAX_SEGS || total > 65535 ||
				    total - h.hdr_len > (size_t)h.gso_size * GRO_UDP_MAX_SEGS ||
				    total - h.hdr_len <= h.gso_size)
					++bad_items;
				np = naive_uso_cut(out, total, h.gso_size, pieces, plens);
				if (np != cnt)
					++bad_items;
			}
			for (j = 0; j < np; ++j) {
				unsigned want = next_in[f] < count_of[f] ? idx_of[f][next_in[f]] : GRO_MAX;

				++next_in[f];
				if (want == GRO_MAX || plens[j] != lens[want] || memcmp(pieces[j], copy[want], lens[want]))
					++mismatches;
			}
		}
		for (k = 0; k < 3; ++k)
			if (next_in[k] != count_of[k])
				++mismatches;
	}
	ok(bad_items == 0, "UDP GRO, 3000 random batches: every coalesced item is one the kernel takes (%u bad)",
	   bad_items);
	ok(mismatches == 0 && coalesced > 1000,
	   "UDP GRO, 3000 random batches: cut as the kernel does, each flow's datagrams in order, to the byte "
	   "(%u items coalesced, %u mismatches)", coalesced, mismatches);
}

int main(void)
{
	test_uso_split(4, 6000, 1200);
	test_uso_split(4, 64000, 1000);
	test_uso_split(6, 1000, 1000);
	test_uso_split(6, 6337, 64);
	test_uso_split(4, 1, 1400);
	test_uso_split_bad();
	test_udp_gro(4);
	test_udp_gro(6);
	test_udp_gro_rules();
	test_udp_gro_random();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
