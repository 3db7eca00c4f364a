/* TUN offloads, sans-I/O: see tun_offload.h for the kernel's contract. */
#include "tun/tun_offload.h"

#include <errno.h>
#include <string.h>

_Static_assert(VNET_HDR_LEN == 10, "struct virtio_net_hdr is 10 bytes");

/* Byte offsets in the IP and TCP headers (RFC 791, 8200, 9293). */
enum {
	IP4_HLEN_MIN = 20,
	IP4_TOS = 1, IP4_TOTLEN = 2, IP4_ID = 4, IP4_FRAG = 6, IP4_TTL = 8,
	IP4_PROTO = 9, IP4_CSUM = 10, IP4_SRC = 12,
	IP6_HLEN = 40,
	IP6_PLEN = 4, IP6_NEXT = 6, IP6_HOPS = 7, IP6_SRC = 8,
	TCP_HLEN_MIN = 20,
	TCP_SEQ = 4, TCP_ACK = 8, TCP_DOFF = 12, TCP_FLAGS = 13, TCP_WIN = 14,
	TCP_CSUM = 16,
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACKF = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
	UDP_HLEN = 8,
	UDP_LEN = 4, UDP_CSUM = 6,
	PROTO_TCP = 6, PROTO_UDP = 17,
	IP_MAX_LEN = 65535,
	/* A real MSS is at least 88 bytes (TCP_MIN_MSS): 64 KiB is then
	 * under 750 segments.  More is a header we refuse. */
	TSO_MAX_SEGS = 1024,
};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void vnet_hdr_decode(struct vnet_hdr *h, const uint8_t b[VNET_HDR_LEN])
{
	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = get16le(b + 2);
	h->gso_size = get16le(b + 4);
	h->csum_start = get16le(b + 6);
	h->csum_offset = get16le(b + 8);
}

void vnet_hdr_encode(uint8_t b[VNET_HDR_LEN], const struct vnet_hdr *h)
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	put16le(b + 2, h->hdr_len);
	put16le(b + 4, h->gso_size);
	put16le(b + 6, h->csum_start);
	put16le(b + 8, h->csum_offset);
}

/* ---- checksums ---- */

/* One's-complement sum in 64-bit words of the host's order: 2^16 = 1
 * modulo 2^16 - 1, so wider words and an end-around carry give the same
 * folded sum, byte-swapped on a little-endian host, which memcpy stores
 * back in network order.  Every piece but the last must have an even
 * length (a trailing odd byte is padded with zero after it, as RFC 1071
 * pads the whole message). */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		sum += w;
		sum += sum < w;
		p += 8;
		len -= 8;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		sum += w;
		sum += sum < w;
	}
	return sum;
}

uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, uint32_t l4len)
{
	/* The IPv6 layout (length in 32 bits, then zeros and the protocol)
	 * sums the same as IPv4's (zero, protocol, 16-bit length). */
	uint8_t tail[8] = { 0 };
	uint64_t sum;

	put32(tail, l4len);
	tail[7] = proto;
	if (version == 4)
		sum = csum_add(0, ip + IP4_SRC, 8);
	else
		sum = csum_add(0, ip + IP6_SRC, 32);
	return csum_add(sum, tail, sizeof(tail));
}

static void store_csum(uint8_t *field, uint16_t folded)
{
	memcpy(field, &folded, 2);
}

static void ip4_set_csum(uint8_t *ip, size_t ihl)
{
	ip[IP4_CSUM] = ip[IP4_CSUM + 1] = 0;
	store_csum(ip + IP4_CSUM, (uint16_t)~csum_fold(csum_add(0, ip, ihl)));
}

/* ---- splitting ---- */

int tso_split_begin(struct tso_split *s, const struct vnet_hdr *h, uint8_t *pkt, size_t *lenp)
{
	size_t len = *lenp, l4off, l4hlen, payload, iplen;
	unsigned gso = h->gso_type & (uint8_t)~VNET_HDR_GSO_ECN;
	uint8_t proto;

	memset(s, 0, sizeof(*s));
	if (h->gso_type == VNET_HDR_GSO_NONE) {
		size_t start = h->csum_start, at;
		uint16_t v;

		if (!(h->flags & VNET_HDR_F_NEEDS_CSUM))
			return 0;
		/* The field holds the pseudo-header sum: summing over it
		 * and everything after csum_start gives the checksum. */
		at = start + h->csum_offset;
		if (start >= len || at > len - 2)
			return -EINVAL;
		v = (uint16_t)~csum_fold(csum_add(0, pkt + start, len - start));
		/* UDP sends a zero checksum as all ones (RFC 768). */
		if (v == 0 && h->csum_offset == UDP_CSUM)
			v = 0xffff;
		store_csum(pkt + at, v);
		return 0;
	}
	/* TCP with or without ECN; UDP_L4 (USO) for either IP version,
	 * never with the ECN bit (the kernel refuses it too). */
	if (gso == VNET_HDR_GSO_TCPV4 || gso == VNET_HDR_GSO_TCPV6)
		proto = PROTO_TCP;
	else if (h->gso_type == VNET_HDR_GSO_UDP_L4)
		proto = PROTO_UDP;
	else
		return -EINVAL;
	if (len < 1)
		return -EINVAL;
	s->version = pkt[0] >> 4;
	if (gso == VNET_HDR_GSO_TCPV4 || (proto == PROTO_UDP && s->version == 4)) {
		if (s->version != 4 || len < IP4_HLEN_MIN)
			return -EINVAL;
		l4off = (size_t)(pkt[0] & 0x0f) * 4;
		iplen = get16(pkt + IP4_TOTLEN);
		if (l4off < IP4_HLEN_MIN || pkt[IP4_PROTO] != proto ||
		    (get16(pkt + IP4_FRAG) & 0x3fff) != 0)
			return -EINVAL;
	} else {
		if (s->version != 6 || len < IP6_HLEN)
			return -EINVAL;
		/* No extension headers: the pseudo-header would need the
		 * final destination of a routing header. */
		l4off = IP6_HLEN;
		iplen = IP6_HLEN + (size_t)get16(pkt + IP6_PLEN);
		if (pkt[IP6_NEXT] != proto)
			return -EINVAL;
	}
	l4hlen = proto == PROTO_TCP ? TCP_HLEN_MIN : UDP_HLEN;
	if (iplen > len || l4off + l4hlen > iplen)
		return -EINVAL;
	len = iplen;
	if (proto == PROTO_TCP) {
		l4hlen = (size_t)(pkt[l4off + TCP_DOFF] >> 4) * 4;
		if (l4hlen < TCP_HLEN_MIN || l4off + l4hlen > len)
			return -EINVAL;
	}
	if (h->csum_start != l4off || !h->gso_size)
		return -EINVAL;
	payload = len - l4off - l4hlen;
	s->pkt = pkt;
	s->len = len;
	s->proto = proto;
	s->l4off = l4off;
	s->hlen = l4off + l4hlen;
	s->gso_size = h->gso_size;
	s->nsegs = payload ? (unsigned)((payload + s->gso_size - 1) / s->gso_size) : 1;
	if (s->nsegs > TSO_MAX_SEGS)
		return -EINVAL;
	if (proto == PROTO_TCP)
		s->seq = get32(pkt + l4off + TCP_SEQ);
	s->ip_id = s->version == 4 ? get16(pkt + IP4_ID) : 0;
	s->ecn = h->gso_type & VNET_HDR_GSO_ECN;
	*lenp = len;
	return (int)s->nsegs;
}

ssize_t tso_split_segment(const struct tso_split *s, unsigned i, uint8_t *out, size_t cap)
{
	size_t off, plen, total;
	uint8_t *l4 = out + s->l4off;
	unsigned csum_at;
	uint16_t v;
	uint64_t sum;

	if (i >= s->nsegs)
		return -EINVAL;
	off = s->hlen + (size_t)i * s->gso_size;
	plen = s->len - off < s->gso_size ? s->len - off : s->gso_size;
	total = s->hlen + plen;
	if (total > cap)
		return -EINVAL;
	memcpy(out, s->pkt, s->hlen);
	memcpy(out + s->hlen, s->pkt + off, plen);

	if (s->version == 4) {
		put16(out + IP4_TOTLEN, (uint16_t)total);
		put16(out + IP4_ID, (uint16_t)(s->ip_id + i));
		ip4_set_csum(out, s->l4off);
	} else {
		put16(out + IP6_PLEN, (uint16_t)(total - IP6_HLEN));
	}
	if (s->proto == PROTO_TCP) {
		put32(l4 + TCP_SEQ, s->seq + (uint32_t)(i * s->gso_size));
		/* As the kernel's tcp_gso_segment: FIN and PSH belong to
		 * the last segment, CWR to the first. */
		if (i + 1 < s->nsegs)
			l4[TCP_FLAGS] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			l4[TCP_FLAGS] &= (uint8_t)~TCP_CWR;
		csum_at = TCP_CSUM;
	} else {
		/* Each datagram its own length, as __udp_gso_segment. */
		put16(l4 + UDP_LEN, (uint16_t)(total - s->l4off));
		csum_at = UDP_CSUM;
	}
	l4[csum_at] = l4[csum_at + 1] = 0;
	sum = csum_pseudo(out, s->version, s->proto, (uint32_t)(total - s->l4off));
	sum = csum_add(sum, l4, total - s->l4off);
	v = (uint16_t)~csum_fold(sum);
	/* A computed zero goes as all ones in UDP (RFC 768, RFC 8200). */
	if (v == 0 && s->proto == PROTO_UDP)
		v = 0xffff;
	store_csum(l4 + csum_at, v);
	return (ssize_t)total;
}

/* ---- coalescing ---- */

/* What gro_add learns of a packet. */
struct l4_info {
	uint8_t proto;		/* TCP or UDP with readable ports, else 0 */
	bool candidate;		/* may be coalesced */
	unsigned version;
	size_t l4off, hlen, payload;
	uint32_t seq;		/* TCP */
	uint8_t flags;		/* TCP */
};

static void parse_tcp(const uint8_t *p, size_t len, struct l4_info *t)
{
	size_t doff = (size_t)(p[t->l4off + TCP_DOFF] >> 4) * 4;

	if (doff < TCP_HLEN_MIN || t->l4off + doff > len)
		return;
	t->hlen = t->l4off + doff;
	t->payload = len - t->hlen;
	t->seq = get32(p + t->l4off + TCP_SEQ);
	t->flags = p[t->l4off + TCP_FLAGS];
	t->candidate = t->payload > 0 && (t->flags & TCP_ACKF) &&
		       !(t->flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG | TCP_CWR));
}

/* A datagram whose UDP length is its IP payload's and which carries a
 * checksum (IPv4's "none", zero, would come out of the kernel's cutting
 * with one: such a datagram stays alone and as it is). */
static void parse_udp(const uint8_t *p, size_t len, struct l4_info *t)
{
	const uint8_t *u = p + t->l4off;

	t->hlen = t->l4off + UDP_HLEN;
	t->payload = len - t->hlen;
	t->candidate = t->payload > 0 && get16(u + UDP_LEN) == len - t->l4off &&
		       (u[UDP_CSUM] | u[UDP_CSUM + 1]) != 0;
}

static void parse(const uint8_t *p, size_t len, bool udp, struct l4_info *t)
{
	uint8_t proto;

	memset(t, 0, sizeof(*t));
	if (len < 1)
		return;
	t->version = p[0] >> 4;
	if (t->version == 4) {
		/* No IP options: the kernel's GRO keeps none either. */
		if (len < IP4_HLEN_MIN + UDP_HLEN || p[0] != 0x45)
			return;
		proto = p[IP4_PROTO];
		/* Not a fragment, and the IP length is the packet's. */
		if ((get16(p + IP4_FRAG) & 0x3fff) != 0 || get16(p + IP4_TOTLEN) != len)
			return;
		t->l4off = IP4_HLEN_MIN;
	} else if (t->version == 6) {
		/* An extension header is another next-header value, so
		 * such a packet is neither TCP nor UDP here. */
		if (len < IP6_HLEN + UDP_HLEN || (size_t)get16(p + IP6_PLEN) + IP6_HLEN != len)
			return;
		proto = p[IP6_NEXT];
		t->l4off = IP6_HLEN;
	} else {
		return;
	}
	if (proto == PROTO_TCP && len >= t->l4off + TCP_HLEN_MIN) {
		t->proto = PROTO_TCP;
		parse_tcp(p, len, t);
	} else if (proto == PROTO_UDP && udp) {
		/* Without USO a datagram is no flow of ours: alone. */
		t->proto = PROTO_UDP;
		parse_udp(p, len, t);
	}
}

/* Same protocol, addresses and ports (the flow). */
static bool same_flow(const uint8_t *a, uint8_t proto_a, const uint8_t *b, const struct l4_info *t)
{
	size_t addr = t->version == 4 ? IP4_SRC : IP6_SRC;
	size_t alen = t->version == 4 ? 8 : 32;

	return proto_a == t->proto && (a[0] >> 4) == (b[0] >> 4) && !memcmp(a + addr, b + addr, alen) &&
	       !memcmp(a + t->l4off, b + t->l4off, 4);
}

/* Everything but lengths, IDs, checksums, sequence numbers and PSH must
 * be equal for two segments to be one (the kernel's tcp_gro_receive and
 * udp_gro_receive_segment; for UDP only the IP fields remain). */
static bool headers_match(const uint8_t *a, const uint8_t *b, const struct l4_info *t)
{
	const uint8_t *ta = a + t->l4off, *tb = b + t->l4off;

	if (t->version == 4) {
		if (a[IP4_TOS] != b[IP4_TOS] || a[IP4_TTL] != b[IP4_TTL] ||
		    (a[IP4_FRAG] >> 5) != (b[IP4_FRAG] >> 5))
			return false;
	} else {
		if (memcmp(a, b, 4) || a[IP6_HOPS] != b[IP6_HOPS])
			return false;
	}
	if (t->proto == PROTO_UDP)
		return true;
	return ta[TCP_DOFF] == tb[TCP_DOFF] &&
	       !memcmp(ta + TCP_ACK, tb + TCP_ACK, 4) &&
	       (ta[TCP_FLAGS] & ~TCP_PSH) == (tb[TCP_FLAGS] & ~TCP_PSH) &&
	       !memcmp(ta + TCP_WIN, tb + TCP_WIN, 2) &&
	       !memcmp(ta + TCP_HLEN_MIN, tb + TCP_HLEN_MIN, t->hlen - t->l4off - TCP_HLEN_MIN);
}

/* The checksums a receiving kernel would check: once coalesced with
 * CHECKSUM_PARTIAL it no longer does, so a bad segment stays alone. */
static bool checksums_ok(const uint8_t *p, size_t len, const struct l4_info *t)
{
	uint64_t sum;

	if (t->version == 4 && csum_fold(csum_add(0, p, IP4_HLEN_MIN)) != 0xffff)
		return false;
	sum = csum_pseudo(p, t->version, t->proto, (uint32_t)(len - t->l4off));
	sum = csum_add(sum, p + t->l4off, len - t->l4off);
	return csum_fold(sum) == 0xffff;
}

void gro_init(struct gro_batch *g, bool udp)
{
	g->n = 0;
	g->nitems = 0;
	g->udp = udp;
}

static void new_item(struct gro_batch *g, unsigned idx, const struct l4_info *t)
{
	struct gro_item *it = &g->items[g->nitems++];

	memset(it, 0, sizeof(*it));
	it->head = it->tail = idx;
	it->count = 1;
	it->len = g->len[idx];
	if (t->candidate) {
		it->flow = true;
		it->proto = t->proto;
		it->hlen = t->hlen;
		it->gso_size = t->payload;
		it->next_seq = t->seq + (uint32_t)t->payload;
		it->closed = t->proto == PROTO_TCP && (t->flags & TCP_PSH);
	}
}

/* Whether packet t may follow the item's last packet. */
static bool may_join(const struct gro_item *it, const struct l4_info *t)
{
	if (it->closed || !t->candidate || t->hlen != it->hlen || t->payload > it->gso_size ||
	    it->len + t->payload > IP_MAX_LEN)
		return false;
	if (t->proto == PROTO_TCP)
		return t->seq == it->next_seq;
	return it->count < GRO_UDP_MAX_SEGS;
}

/* IPv6 extension headers (RFC 8200 4, IANA's list): behind one of them
 * the transport protocol is not in the fixed header. */
static bool ip6_ext_header(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 50 || nh == 51 || nh == 60 ||
	       nh == 135 || nh == 139 || nh == 140 || nh == 253 || nh == 254;
}

/* A packet that is no flow of ours (a fragment, IPv4 options, IPv6
 * extension headers) may still be part of one: no item of its addresses
 * and protocol (of any protocol, behind IPv6 extension headers) grows
 * past it, so that it keeps its place.  Other protocols (ICMP) are no
 * part of a TCP or UDP flow and close nothing. */
static void close_same_addresses(struct gro_batch *g, const uint8_t *p, size_t len)
{
	unsigned version = len ? p[0] >> 4 : 0, k;
	size_t addr = version == 4 ? IP4_SRC : IP6_SRC, alen = version == 4 ? 8 : 32;
	uint8_t proto;
	bool any;

	if ((version != 4 || len < IP4_HLEN_MIN) && (version != 6 || len < IP6_HLEN))
		return;
	proto = version == 4 ? p[IP4_PROTO] : p[IP6_NEXT];
	any = version == 6 && ip6_ext_header(proto);
	if (!any && proto != PROTO_TCP && proto != PROTO_UDP)
		return;
	for (k = 0; k < g->nitems; ++k) {
		struct gro_item *it = &g->items[k];
		const uint8_t *h = g->data[it->head];

		if (it->flow && !it->closed && (any || it->proto == proto) && (h[0] >> 4) == version &&
		    !memcmp(h + addr, p + addr, alen))
			it->closed = true;
	}
}

bool gro_add(struct gro_batch *g, uint8_t *data, size_t len)
{
	struct l4_info t;
	struct gro_item *it = NULL;
	unsigned idx, k;

	if (g->n == GRO_MAX)
		return false;
	idx = g->n++;
	g->data[idx] = data;
	g->len[idx] = len;
	g->next[idx] = -1;
	parse(data, len, g->udp, &t);
	if (!t.proto) {
		close_same_addresses(g, data, len);
		new_item(g, idx, &t);
		return true;
	}
	/* The latest item of the flow, if any: only it may grow, so that
	 * the flow's packets keep their order. */
	for (k = g->nitems; k-- > 0;) {
		if (g->items[k].flow && same_flow(g->data[g->items[k].head], g->items[k].proto, data, &t)) {
			it = &g->items[k];
			break;
		}
	}
	if (it && may_join(it, &t) && headers_match(g->data[it->head], data, &t)) {
		if (!it->verified) {
			struct l4_info h;

			parse(g->data[it->head], g->len[it->head], g->udp, &h);
			if (!checksums_ok(g->data[it->head], g->len[it->head], &h)) {
				it->closed = true;
				goto alone;
			}
			it->verified = true;
		}
		if (!checksums_ok(data, len, &t)) {
			t.candidate = false;
			goto alone;
		}
		g->next[it->tail] = (int)idx;
		it->tail = idx;
		++it->count;
		it->len += t.payload;
		it->next_seq += (uint32_t)t.payload;
		if (t.payload < it->gso_size || (t.proto == PROTO_TCP && (t.flags & TCP_PSH)))
			it->closed = true;
		return true;
	}
alone:
	/* Whatever follows in this flow goes after this packet. */
	if (it)
		it->closed = true;
	new_item(g, idx, &t);
	return true;
}

unsigned gro_finish(struct gro_batch *g, unsigned k, struct vnet_hdr *h)
{
	struct gro_item *it = &g->items[k];
	uint8_t *p = g->data[it->head];
	unsigned version = p[0] >> 4;
	size_t l4off = version == 4 ? IP4_HLEN_MIN : IP6_HLEN;
	uint8_t *l4 = p + l4off;
	unsigned csum_at;

	memset(h, 0, sizeof(*h));
	if (it->count == 1)
		return 1;
	if (version == 4) {
		put16(p + IP4_TOTLEN, (uint16_t)it->len);
		ip4_set_csum(p, IP4_HLEN_MIN);
	} else {
		put16(p + IP6_PLEN, (uint16_t)(it->len - IP6_HLEN));
	}
	if (it->proto == PROTO_TCP) {
		h->gso_type = version == 4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6;
		l4[TCP_FLAGS] |= g->data[it->tail][l4off + TCP_FLAGS] & TCP_PSH;
		csum_at = TCP_CSUM;
	} else {
		/* The length of the whole, which the kernel's cutting
		 * takes out of the checksum and replaces per datagram. */
		h->gso_type = VNET_HDR_GSO_UDP_L4;
		put16(l4 + UDP_LEN, (uint16_t)(it->len - l4off));
		csum_at = UDP_CSUM;
	}
	/* CHECKSUM_PARTIAL: the pseudo-header sum, not complemented; the
	 * kernel treats the segment as checked (we checked every part). */
	store_csum(l4 + csum_at,
		   csum_fold(csum_pseudo(p, version, it->proto, (uint32_t)(it->len - l4off))));
	h->flags = VNET_HDR_F_NEEDS_CSUM;
	h->hdr_len = (uint16_t)it->hlen;
	h->gso_size = (uint16_t)it->gso_size;
	h->csum_start = (uint16_t)l4off;
	h->csum_offset = (uint16_t)csum_at;
	return it->count;
}
