/* A query in, its answer out (dns.h says what is answered). */
#include "proto/common/byteorder.h"
#include "proto/dns/table_priv.h"

#include <string.h>

/* A bounds-checked reader over the query. */
struct rd {
	const uint8_t *b;
	size_t len, off;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->len - r->off < 1)
		return false;
	*v = r->b[r->off++];
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->len - r->off < 2)
		return false;
	*v = be16_get(r->b + r->off);
	r->off += 2;
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return false;
	*v = be32_get(r->b + r->off);
	r->off += 4;
	return true;
}

static bool rd_skip(struct rd *r, size_t n)
{
	if (r->len - r->off < n)
		return false;
	r->off += n;
	return true;
}

/* A writer that stops at its limit and remembers that it did. */
struct wr {
	uint8_t *b;
	size_t len, cap;
	bool full;
};

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2];

	be16_put(b, v);
	wr_bytes(w, b, 2);
}

static void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	wr_bytes(w, b, 4);
}

/* The query as parsed. */
struct query {
	uint16_t id, flags;
	size_t qname_off, qname_len;	/* the question's name, wire form */
	struct dns_label labels[DNS_MAX_NAME / 2 + 1];
	size_t n_labels;
	uint16_t qtype, qclass;
	bool edns;
	uint16_t udp_size;		/* what the OPT record offers */
	uint8_t edns_version;
	bool edns_do;
};

/* A name written out in labels, none a pointer. */
static bool read_qname(struct rd *r, struct query *q)
{
	size_t start = r->off;

	q->n_labels = 0;
	for (;;) {
		uint8_t len;

		if (!rd_u8(r, &len))
			return false;
		if (len == 0)
			break;
		if (len > DNS_MAX_LABEL)	/* 0xc0 pointers, 0x40/0x80 reserved */
			return false;
		if (q->n_labels == sizeof(q->labels) / sizeof(q->labels[0]))
			return false;
		q->labels[q->n_labels].p = r->b + r->off;
		q->labels[q->n_labels].len = len;
		if (!rd_skip(r, len))
			return false;
		++q->n_labels;
	}
	q->qname_off = start;
	q->qname_len = r->off - start;
	return q->qname_len <= DNS_MAX_NAME;
}

/* A name in another section, skipped: a pointer may end it there. */
static bool skip_name(struct rd *r)
{
	size_t total = 0;

	for (;;) {
		uint8_t len;

		if (!rd_u8(r, &len))
			return false;
		if ((len & 0xc0) == 0xc0)
			return rd_skip(r, 1);
		if (len > DNS_MAX_LABEL)
			return false;
		if (len == 0)
			return true;
		total += 1u + len;
		if (total > DNS_MAX_NAME || !rd_skip(r, len))
			return false;
	}
}

/* The OPT record's options: each code, length and data must fit its
 * RDATA exactly; none is acted on (RFC 6891 6.1.2: unknown ones are
 * ignored; a COOKIE is too, as a server without cookies may). */
static bool check_options(struct rd *r, uint16_t rdlen)
{
	struct rd o = { r->b + r->off, rdlen, 0 };

	if (r->len - r->off < rdlen)
		return false;
	while (o.off < o.len) {
		uint16_t code, len;

		if (!rd_u16(&o, &code) || !rd_u16(&o, &len) || !rd_skip(&o, len))
			return false;
	}
	return rd_skip(r, rdlen);
}

/* The additional section: at most one OPT record, whose name is the
 * root (RFC 6891 6.1.1); other records are skipped. */
static bool read_additional(struct rd *r, struct query *q, uint16_t count)
{
	uint16_t i;

	for (i = 0; i < count; ++i) {
		size_t name_at = r->off;
		uint16_t type, class, rdlen;
		uint32_t ttl;

		if (!skip_name(r) || !rd_u16(r, &type) || !rd_u16(r, &class) || !rd_u32(r, &ttl) ||
		    !rd_u16(r, &rdlen))
			return false;
		if (type != DNS_TYPE_OPT) {
			if (!rd_skip(r, rdlen))
				return false;
			continue;
		}
		if (q->edns || r->off - name_at != 11 || r->b[name_at] != 0)
			return false;
		q->edns = true;
		q->udp_size = class;
		q->edns_version = (uint8_t)(ttl >> 16);
		q->edns_do = (ttl & DNS_OPT_DO) != 0;
		if (!check_options(r, rdlen))
			return false;
	}
	return true;
}

/* The header, the question and the additional section; the rcode to
 * answer with when they are wrong (the answer then carries no
 * question). */
static enum dns_rcode parse(const uint8_t *b, size_t len, struct query *q)
{
	struct rd r = { b, len, DNS_HEADER_LEN };
	uint16_t qd = be16_get(b + 4), an = be16_get(b + 6), ns = be16_get(b + 8);
	uint16_t ar = be16_get(b + 10);

	q->id = be16_get(b);
	q->flags = be16_get(b + 2);
	if ((q->flags & DNS_F_OPCODE) != 0)
		return DNS_NOTIMP;
	if (qd != 1 || an != 0 || ns != 0)
		return DNS_FORMERR;
	if (!read_qname(&r, q) || !rd_u16(&r, &q->qtype) || !rd_u16(&r, &q->qclass))
		return DNS_FORMERR;
	if (!read_additional(&r, q, ar) || r.off != r.len)
		return DNS_FORMERR;
	if (q->qtype == DNS_TYPE_OPT)
		return DNS_FORMERR;
	return DNS_NOERROR;
}

/* ---- names ---- */

static bool label_is(const struct dns_label *l, const char *s)
{
	size_t i, n = strlen(s);

	if (l->len != n)
		return false;
	for (i = 0; i < n; ++i) {
		uint8_t c = l->p[i];

		if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != (uint8_t)s[i])
			return false;
	}
	return true;
}

/* A decimal label 0..max without leading zeros, or a hex nibble. */
static bool label_number(const struct dns_label *l, unsigned base, unsigned max, unsigned *v)
{
	unsigned x = 0;
	size_t i;

	if (!l->len || l->len > 3 || (base == 10 && l->len > 1 && l->p[0] == '0'))
		return false;
	for (i = 0; i < l->len; ++i) {
		uint8_t c = l->p[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		x = x * base + d;
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

/* Whether the first bits of a (bits long) and the prefix net/plen agree
 * on the bits both cover: the reverse name may hold our addresses. */
static bool prefix_overlaps(const uint8_t *a, unsigned bits, const uint8_t *net, unsigned plen)
{
	unsigned n = bits < plen ? bits : plen, i;

	for (i = 0; i < n; ++i) {
		unsigned byte = i / 8, mask = 0x80u >> (i % 8);

		if ((a[byte] & mask) != (net[byte] & mask))
			return false;
	}
	return true;
}

/* What the answer section gets, and the rcode. */
struct answer {
	enum dns_rcode rcode;
	bool aa;
	size_t first, last;		/* entries, or address indexes */
	enum { ANS_NONE, ANS_NAME, ANS_PTR4, ANS_PTR6 } kind;
};

/* The entries that have addr and a name. */
static bool named_addr(const struct dns_table *t, bool v6, const uint8_t *addr, size_t *first,
		       size_t *last)
{
	const struct dns_addr_ix *v = v6 ? t->by6 : t->by4;
	size_t i;

	if (!dns_table_find_addr(t, v6, addr, first, last))
		return false;
	for (i = *first; i < *last; ++i)
		if (v[i].ix != DNS_NO_ENTRY)
			return true;
	return false;
}

/* in-addr.arpa (4 labels of octets, least significant first) and
 * ip6.arpa (32 nibbles); fewer labels name a prefix. */
static void answer_reverse(const struct dns_table *t, const struct query *q, bool v6,
			   struct answer *a)
{
	size_t n = q->n_labels - 2, i, full = v6 ? 32 : 4;
	unsigned bits_each = v6 ? 4 : 8;
	uint8_t addr[16];
	bool has_net = v6 ? t->zone.has_net6 : t->zone.has_net4;
	const uint8_t *net = v6 ? t->zone.net6 : t->zone.net4;
	unsigned plen = v6 ? t->zone.prefix6 : t->zone.prefix4;

	a->rcode = DNS_REFUSED;
	if (n > full)
		return;
	memset(addr, 0, sizeof(addr));
	for (i = 0; i < n; ++i) {
		/* Label n-1-i is the i-th octet (nibble) from the top. */
		unsigned v;

		if (!label_number(&q->labels[n - 1 - i], v6 ? 16 : 10, v6 ? 15 : 255, &v) ||
		    (v6 && q->labels[n - 1 - i].len != 1))
			return;
		if (v6)
			addr[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
		else
			addr[i] = (uint8_t)v;
	}
	if (!has_net || !prefix_overlaps(addr, (unsigned)n * bits_each, net, plen))
		return;
	a->aa = true;
	if (n < full) {
		a->rcode = DNS_NOERROR;	/* a prefix of ours: names below it */
		return;
	}
	if (!named_addr(t, v6, addr, &a->first, &a->last)) {
		/* Full address: only the subnet itself is ours. */
		a->rcode = prefix_overlaps(addr, plen, net, plen) ? DNS_NXDOMAIN : DNS_REFUSED;
		a->aa = a->rcode == DNS_NXDOMAIN;
		return;
	}
	a->rcode = DNS_NOERROR;
	a->kind = v6 ? ANS_PTR6 : ANS_PTR4;
}

/* Whether the question's name ends with the suffix. */
static bool under_suffix(const struct dns_table *t, const char *key, size_t key_len)
{
	if (!t->suffix_key_len)
		return false;
	if (key_len < t->suffix_key_len || memcmp(key, t->suffix_key, t->suffix_key_len))
		return false;
	return key_len == t->suffix_key_len || key[t->suffix_key_len] == DNS_KEY_SEP;
}

static void answer_forward(const struct dns_table *t, const struct query *q, struct answer *a)
{
	char key[DNS_KEY_MAX * 2];
	size_t key_len = 0;
	bool valid = dns_key_from_labels(q->labels, q->n_labels, key, DNS_KEY_MAX, &key_len);
	enum dns_find f = DNS_FIND_NONE;

	if (valid) {
		f = dns_table_find(t, key, key_len, &a->first, &a->last);
		/* A bare name is looked up under the suffix too. */
		if (f == DNS_FIND_NONE && t->suffix_key_len &&
		    t->suffix_key_len + 1 + key_len <= DNS_KEY_MAX) {
			char k2[DNS_KEY_MAX];

			memcpy(k2, t->suffix_key, t->suffix_key_len);
			k2[t->suffix_key_len] = DNS_KEY_SEP;
			memcpy(k2 + t->suffix_key_len + 1, key, key_len);
			f = dns_table_find(t, k2, t->suffix_key_len + 1 + key_len, &a->first,
					   &a->last);
		}
	}
	if (f == DNS_FIND_NAME) {
		a->rcode = DNS_NOERROR;
		a->aa = true;
		a->kind = ANS_NAME;
		return;
	}
	if (f == DNS_FIND_BELOW || (valid && t->suffix_key_len && key_len == t->suffix_key_len &&
				    under_suffix(t, key, key_len))) {
		a->rcode = DNS_NOERROR;	/* the network's name, or above a member */
		a->aa = true;
		return;
	}
	/* Names of ours that are not there; not a resolver for the rest.
	 * A name with bytes no member's name holds is checked for the
	 * suffix by its labels alone. */
	if (!valid) {
		const struct dns_label *l = q->labels;
		size_t n = q->n_labels;
		bool ours = n == 1;

		if (!ours && t->suffix_key_len) {
			/* key of the last labels only */
			size_t k, kl = 0;

			for (k = 1; k < n && !ours; ++k)
				if (dns_key_from_labels(l + n - k, k, key, DNS_KEY_MAX, &kl) &&
				    kl == t->suffix_key_len && !memcmp(key, t->suffix_key, kl))
					ours = true;
		}
		a->rcode = ours ? DNS_NXDOMAIN : DNS_REFUSED;
	} else {
		a->rcode = q->n_labels == 1 || under_suffix(t, key, key_len) ? DNS_NXDOMAIN :
										 DNS_REFUSED;
	}
	a->aa = a->rcode == DNS_NXDOMAIN;
}

static void answer_question(const struct dns_table *t, const struct query *q, struct answer *a)
{
	size_t n = q->n_labels;

	memset(a, 0, sizeof(*a));
	a->rcode = DNS_REFUSED;
	/* Class IN only; no zone transfers; the root is not ours. */
	if (q->qclass != DNS_CLASS_IN || q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR ||
	    n == 0)
		return;
	if (n >= 2 && label_is(&q->labels[n - 1], "arpa")) {
		if (label_is(&q->labels[n - 2], "in-addr"))
			answer_reverse(t, q, false, a);
		else if (label_is(&q->labels[n - 2], "ip6"))
			answer_reverse(t, q, true, a);
		return;
	}
	answer_forward(t, q, a);
}

/* ---- the answer ---- */

static void write_header(struct wr *w, const struct query *q, uint16_t flags, uint16_t qd,
			 uint16_t an, uint16_t ar)
{
	wr_u16(w, q->id);
	wr_u16(w, flags);
	wr_u16(w, qd);
	wr_u16(w, an);
	wr_u16(w, 0);
	wr_u16(w, ar);
}

/* A record whose name is the question's (a pointer to offset 12). */
static void write_rr(struct wr *w, uint16_t type, uint32_t ttl, const void *rdata, size_t len)
{
	wr_u16(w, 0xc000 | DNS_HEADER_LEN);
	wr_u16(w, type);
	wr_u16(w, DNS_CLASS_IN);
	wr_u32(w, ttl);
	wr_u16(w, (uint16_t)len);
	wr_bytes(w, rdata, len);
}

static uint16_t write_answers(struct wr *w, const struct dns_table *t, const struct query *q,
			      const struct answer *a)
{
	uint16_t count = 0;
	bool any = q->qtype == DNS_TYPE_ANY;
	size_t i;

	for (i = a->first; i < a->last; ++i) {
		const struct dns_entry *e;
		size_t ix;

		switch (a->kind) {
		case ANS_NAME:
			e = &t->e[i];
			if (e->has_ipv4 && (any || q->qtype == DNS_TYPE_A)) {
				write_rr(w, DNS_TYPE_A, t->zone.ttl, e->ipv4, 4);
				++count;
			}
			if (e->has_ipv6 && (any || q->qtype == DNS_TYPE_AAAA)) {
				write_rr(w, DNS_TYPE_AAAA, t->zone.ttl, e->ipv6, 16);
				++count;
			}
			break;
		case ANS_PTR4:
		case ANS_PTR6:
			ix = (a->kind == ANS_PTR4 ? t->by4 : t->by6)[i].ix;
			if (ix == DNS_NO_ENTRY)
				break;
			e = &t->e[ix];
			if (any || q->qtype == DNS_TYPE_PTR) {
				write_rr(w, DNS_TYPE_PTR, t->zone.ttl, e->wire, e->wire_len);
				++count;
			}
			break;
		case ANS_NONE:
			break;
		}
	}
	return count;
}

/* The OPT record of the answer: our UDP size, the upper bits of the
 * rcode, version 0, the DO bit copied (RFC 3225 3). */
static void write_opt(struct wr *w, const struct query *q, enum dns_rcode rcode)
{
	uint8_t root = 0;

	wr_bytes(w, &root, 1);
	wr_u16(w, DNS_TYPE_OPT);
	wr_u16(w, DNS_EDNS_SIZE);
	wr_u32(w, (uint32_t)(rcode >> 4) << 24 | (q->edns_do ? DNS_OPT_DO : 0));
	wr_u16(w, 0);
}

static size_t write_answer(const struct dns_table *t, const uint8_t *qb, const struct query *q,
			   const struct answer *a, bool with_answers, struct wr *w,
			   struct dns_result *res)
{
	uint16_t flags = DNS_F_QR | (q->flags & (DNS_F_RD | DNS_F_CD)) | (a->rcode & DNS_F_RCODE);
	uint16_t an = 0;

	if (a->aa)
		flags |= DNS_F_AA;
	if (!with_answers)
		flags |= DNS_F_TC;
	w->len = 0;
	w->full = false;
	write_header(w, q, flags, 1, 0, q->edns);
	wr_bytes(w, qb + q->qname_off, q->qname_len);
	wr_u16(w, q->qtype);
	wr_u16(w, q->qclass);
	if (with_answers)
		an = write_answers(w, t, q, a);
	if (q->edns)
		write_opt(w, q, a->rcode);
	if (w->full)
		return 0;
	be16_put(w->b + 6, an);
	res->ancount = an;
	res->truncated = !with_answers;
	return w->len;
}

/* An answer with no question: FORMERR, NOTIMP. */
static size_t write_bare(const struct query *q, enum dns_rcode rcode, struct wr *w)
{
	write_header(w, q, (uint16_t)(DNS_F_QR | (q->flags & (DNS_F_OPCODE | DNS_F_RD)) | rcode), 0, 0,
		     0);
	return w->full ? 0 : w->len;
}

size_t dns_answer(const struct dns_table *t, const uint8_t *qb, size_t qlen, bool tcp,
		  uint8_t *out, size_t cap, struct dns_result *res)
{
	struct wr w = { out, 0, cap, false };
	struct query q;
	struct answer a;
	enum dns_rcode rc;
	size_t len;

	memset(res, 0, sizeof(*res));
	if (qlen < DNS_HEADER_LEN || (be16_get(qb + 2) & DNS_F_QR) || cap < DNS_UDP_SIZE)
		return 0;
	memset(&q, 0, sizeof(q));
	rc = parse(qb, qlen, &q);
	res->answered = true;
	res->edns = q.edns;
	res->rcode = rc;
	if (rc != DNS_NOERROR)
		return write_bare(&q, rc, &w);
	/* The size the answer may take. */
	if (tcp) {
		w.cap = cap < DNS_TCP_MAX ? cap : DNS_TCP_MAX;
	} else {
		size_t udp = DNS_UDP_SIZE;

		if (q.edns && q.udp_size > udp)
			udp = q.udp_size < DNS_EDNS_SIZE ? q.udp_size : DNS_EDNS_SIZE;
		w.cap = udp < cap ? udp : cap;
	}
	if (q.edns && q.edns_version != 0) {
		memset(&a, 0, sizeof(a));
		a.rcode = DNS_BADVERS;
	} else {
		answer_question(t, &q, &a);
	}
	res->rcode = a.rcode;
	len = write_answer(t, qb, &q, &a, true, &w, res);
	if (!len)
		len = write_answer(t, qb, &q, &a, false, &w, res);
	if (!len)
		res->answered = false;
	return len;
}

const char *dns_rcode_name(enum dns_rcode rcode)
{
	switch (rcode) {
	case DNS_NOERROR: return "noerror";
	case DNS_FORMERR: return "formerr";
	case DNS_SERVFAIL: return "servfail";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NOTIMP: return "notimp";
	case DNS_REFUSED: return "refused";
	case DNS_BADVERS: return "badvers";
	default: return "other";
	}
}
