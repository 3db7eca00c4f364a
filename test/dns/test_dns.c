/* The name service core (proto/dns): queries as dig sends them and
 * hand-built ones, each answer checked byte by byte or by its fields; the
 * name table against a naive model on random names.
 *
 * Where the vectors come from: the ones marked "dig" are queries of dig
 * 9.18.49 (Debian 12's bind9-dnsutils), captured on 2026-12-05 with a
 * Python UDP listener on 127.0.0.1 (`dig @127.0.0.1 -p 53053 +tries=1
 * node_b A` and so on); they carry EDNS (UDP size 1232) and a client
 * COOKIE option, and the AD bit dig sets.  The others are built here. */
#include "proto/common/byteorder.h"
#include "proto/dns/dns.h"
#include "test/dns/seeds_net.h"
#include "test/tap.h"

#include <errno.h>

static struct dns_table *table;

static const struct dns_host *const hosts = seeds_hosts;
#define N_HOSTS (sizeof(seeds_hosts) / sizeof(seeds_hosts[0]))

static struct dns_zone zone(void)
{
	return seeds_zone();
}

struct reply {
	uint8_t b[DNS_TCP_MAX];
	size_t len;
	struct dns_result res;
	uint16_t flags, qd, an, ns, ar;
};

/* The query goes in a heap buffer of its exact length, so that the
 * sanitizer build sees any read past its end. */
static void ask_raw(const uint8_t *q, size_t qlen, bool tcp, struct reply *r)
{
	uint8_t *exact = tap_malloc(qlen ? qlen : 1);

	memcpy(exact, q, qlen);
	memset(r, 0, sizeof(*r));
	r->len = dns_answer(table, exact, qlen, tcp, r->b, tcp ? sizeof(r->b) : DNS_EDNS_SIZE,
			    &r->res);
	free(exact);
	if (r->len >= DNS_HEADER_LEN) {
		r->flags = be16_get(r->b + 2);
		r->qd = be16_get(r->b + 4);
		r->an = be16_get(r->b + 6);
		r->ns = be16_get(r->b + 8);
		r->ar = be16_get(r->b + 10);
	}
}

static void ask_hex(const char *hex, bool tcp, struct reply *r)
{
	uint8_t q[1024];
	long n = tap_unhex(q, sizeof(q), hex);

	ask_raw(q, n < 0 ? 0 : (size_t)n, tcp, r);
}

/* A query built here: a dotted name ("" for the root), type, EDNS or
 * not (udp size 0: none). */
static size_t build(uint8_t *q, uint16_t id, uint16_t flags, const char *name, uint16_t type,
		    uint16_t class, uint16_t udp)
{
	size_t off = DNS_HEADER_LEN;
	const char *s = name;

	memset(q, 0, DNS_HEADER_LEN);
	be16_put(q, id);
	be16_put(q + 2, flags);
	be16_put(q + 4, 1);
	be16_put(q + 10, udp ? 1 : 0);
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		q[off++] = (uint8_t)len;
		memcpy(q + off, s, len);
		off += len;
		s += len + (dot != NULL);
	}
	q[off++] = 0;
	be16_put(q + off, type);
	be16_put(q + off + 2, class);
	off += 4;
	if (udp) {
		q[off++] = 0;
		be16_put(q + off, DNS_TYPE_OPT);
		be16_put(q + off + 2, udp);
		memset(q + off + 4, 0, 6);
		off += 10;
	}
	return off;
}

static void ask(const char *name, uint16_t type, struct reply *r)
{
	uint8_t q[600];

	ask_raw(q, build(q, 0x1234, DNS_F_RD, name, type, DNS_CLASS_IN, 1232), false, r);
}

static unsigned rcode_of(const struct reply *r)
{
	unsigned ext = 0;

	/* The OPT record's extended bits, when it is the last record. */
	if (r->ar && r->len >= 11 && be16_get(r->b + r->len - 10) == DNS_TYPE_OPT)
		ext = r->b[r->len - 6];
	return ext << 4 | (r->flags & DNS_F_RCODE);
}

static void dig_vectors(void)
{
	struct reply r;

	/* dig: node_b A (id 1eb3, RD and AD set, EDNS 1232, a cookie). */
	ask_hex("1eb301200001000000000001066e6f64655f62000001000100002904d000000000000c000a0008a845"
		"318fe29068e8", false, &r);
	ok_hex(r.b, r.len,
	       "1eb385000001000100000001066e6f64655f620000010001"
	       "c00c000100010000000a0004c6336407"
	       "00002904d0000000000000",
	       "dig node_b A: A 198.51.100.7, AA, RD copied, AD and RA clear, OPT 1232, no cookie");
	ok(r.res.rcode == DNS_NOERROR && r.res.edns && r.res.ancount == 1, "... counted as noerror");

	/* dig: Node_B.TeSt AAAA: the question's case comes back. */
	ask_hex("5a0e01200001000000000001064e6f64655f42045465537400001c000100002904d000000000000c000a"
		"0008d651852e4851eaf7", false, &r);
	ok_hex(r.b, r.len,
	       "5a0e85000001000100000001064e6f64655f42045465537400001c0001"
	       "c00c001c00010000000a001020010db8000000000000000000000007"
	       "00002904d0000000000000",
	       "dig Node_B.TeSt AAAA: 2001:db8::7 under the question's own case");

	/* dig: -x 198.51.100.7 */
	ask_hex("3588012000010000000000010137033130300235310331393807696e2d61646472046172706100000c0001"
		"00002904d000000000000c000a0008ef08f156975b2d14", false, &r);
	ok_hex(r.b, r.len,
	       "3588850000010001000000010137033130300235310331393807696e2d61646472046172706100000c0001"
	       "c00c000c00010000000a000d066e6f64655f62047465737400"
	       "00002904d0000000000000",
	       "dig -x 198.51.100.7: PTR node_b.test");

	/* dig: example.com A: not ours, and no recursion. */
	ask_hex("cb3101200001000000000001076578616d706c6503636f6d000001000100002904d000000000000c000a"
		"0008c78083dd9eb1db26", false, &r);
	ok_hex(r.b, r.len,
	       "cb3181050001000000000001076578616d706c6503636f6d0000010001"
	       "00002904d0000000000000",
	       "dig example.com A: REFUSED, AA clear, RA clear");

	/* dig +noedns node_b A */
	ask_hex("74b401200001000000000000066e6f64655f620000010001", false, &r);
	ok_hex(r.b, r.len,
	       "74b485000001000100000000066e6f64655f620000010001"
	       "c00c000100010000000a0004c6336407",
	       "dig +noedns node_b A: no OPT in the answer");

	/* dig -x 2001:db8::1 */
	ask_hex("8068012000010000000000010131013001300130013001300130013001300130013001300130013001300130"
		"013001300130013001300130013001300138016201640130013101300130013203697036046172706100000c"
		"000100002904d000000000000c000a000804e1e0e511661d8f", false, &r);
	ok(r.len && rcode_of(&r) == DNS_NOERROR && r.an == 1, "dig -x 2001:db8::1: one answer");
	ok(r.len > 30 && !memcmp(r.b + r.len - 11 - 8, "\x01" "a" "\x04" "test" "\x00", 8),
	   "... PTR a.test (a hostname that ends with the network's name is not suffixed again)");
}

struct name_case {
	const char *name;
	uint16_t type;
	unsigned rcode;
	uint16_t an;
	bool aa;
	const char *why;
};

static void name_cases(void)
{
	static const struct name_case cases[] = {
		{ "node_b", DNS_TYPE_A, DNS_NOERROR, 1, true, "bare hostname" },
		{ "node_b.test", DNS_TYPE_A, DNS_NOERROR, 1, true, "hostname under the suffix" },
		{ "NODE_B.TEST", DNS_TYPE_AAAA, DNS_NOERROR, 1, true, "upper case" },
		{ "node_b", DNS_TYPE_ANY, DNS_NOERROR, 2, true, "ANY: A and AAAA" },
		{ "a.test", DNS_TYPE_A, DNS_NOERROR, 1, true, "a.test as written" },
		{ "a", DNS_TYPE_A, DNS_NOERROR, 1, true, "a.test without the suffix" },
		{ "a.test.test", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "no double suffix" },
		{ "c.sub", DNS_TYPE_A, DNS_NOERROR, 1, true, "a dotted hostname, bare" },
		{ "c.sub.test", DNS_TYPE_A, DNS_NOERROR, 1, true, "a dotted hostname, suffixed" },
		{ "c.sub", DNS_TYPE_AAAA, DNS_NOERROR, 0, true, "no IPv6: NODATA" },
		{ "node_b", 15 /* MX */, DNS_NOERROR, 0, true, "a known name, another type: NODATA" },
		{ "node_b", DNS_TYPE_PTR, DNS_NOERROR, 0, true, "PTR of a forward name: NODATA" },
		{ "test", DNS_TYPE_A, DNS_NOERROR, 0, true, "the network's name: NODATA" },
		{ "test", DNS_TYPE_SOA, DNS_NOERROR, 0, true, "its SOA: NODATA (none is served)" },
		{ "sub", DNS_TYPE_A, DNS_NOERROR, 0, true, "above a member (sub.test): NODATA" },
		{ "sub.test", DNS_TYPE_A, DNS_NOERROR, 0, true, "the same, suffixed" },
		{ "nope", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "unknown bare name" },
		{ "nope.test", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "unknown name under the suffix" },
		{ "x.node_b.test", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "below a member" },
		{ "a*b.test", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "odd bytes under the suffix" },
		{ "a*b", DNS_TYPE_A, DNS_NXDOMAIN, 0, true, "odd bytes, one label" },
		{ "a*b.example", DNS_TYPE_A, DNS_REFUSED, 0, false, "odd bytes elsewhere" },
		{ "example.com", DNS_TYPE_A, DNS_REFUSED, 0, false, "a public name" },
		{ "node_b.example", DNS_TYPE_A, DNS_REFUSED, 0, false, "a member's label elsewhere" },
		{ "", DNS_TYPE_NS, DNS_REFUSED, 0, false, "the root" },
		{ "test", DNS_TYPE_AXFR, DNS_REFUSED, 0, false, "no zone transfer" },
		{ "7.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_NOERROR, 1, true, "PTR" },
		{ "7.100.51.198.IN-ADDR.ARPA", DNS_TYPE_PTR, DNS_NOERROR, 1, true, "PTR, upper case" },
		{ "7.100.51.198.in-addr.arpa", DNS_TYPE_A, DNS_NOERROR, 0, true, "A of a PTR name" },
		{ "99.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_NXDOMAIN, 0, true,
		  "unknown address in the subnet" },
		{ "10.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_NXDOMAIN, 0, true,
		  "a member without hostname has no name" },
		{ "8.8.8.8.in-addr.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "an outside address" },
		{ "100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_NOERROR, 0, true, "our /24: NODATA" },
		{ "198.in-addr.arpa", DNS_TYPE_PTR, DNS_NOERROR, 0, true, "a prefix above ours" },
		{ "10.in-addr.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "another prefix" },
		{ "in-addr.arpa", DNS_TYPE_PTR, DNS_NOERROR, 0, true, "the reverse tree's top" },
		{ "07.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "leading zero" },
		{ "256.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "octet > 255" },
		{ "1.7.100.51.198.in-addr.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "five labels" },
		{ "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6.arpa",
		  DNS_TYPE_PTR, DNS_NOERROR, 1, true, "ip6.arpa PTR, upper-case nibbles" },
		{ "8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		  DNS_TYPE_PTR, DNS_NXDOMAIN, 0, true, "unknown IPv6 in the subnet" },
		{ "8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		  DNS_TYPE_PTR, DNS_REFUSED, 0, false, "IPv6 outside the /64" },
		{ "8.b.d.0.1.0.0.2.ip6.arpa", DNS_TYPE_PTR, DNS_NOERROR, 0, true, "an IPv6 prefix" },
		{ "10.b.d.0.1.0.0.2.ip6.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "not a nibble" },
		{ "foo.arpa", DNS_TYPE_PTR, DNS_REFUSED, 0, false, "another arpa" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
		const struct name_case *c = &cases[i];
		struct reply r;

		ask(c->name, c->type, &r);
		ok(r.len && rcode_of(&r) == c->rcode && r.an == c->an &&
			   !!(r.flags & DNS_F_AA) == c->aa && !(r.flags & DNS_F_RA) && r.qd == 1,
		   "%s (%s %u): %s, %u answers, AA %d (got rcode %u, %u answers, flags %04x)", c->why,
		   c->name, c->type, dns_rcode_name(c->rcode), c->an, c->aa, rcode_of(&r), r.an,
		   r.flags);
	}
}

static void check_rcode(const uint8_t *q, size_t len, int want, const char *why)
{
	struct reply r;

	ask_raw(q, len, false, &r);
	if (want < 0)
		ok(r.len == 0 && !r.res.answered, "%s: no answer (got %zu bytes)", why, r.len);
	else
		ok(r.len >= DNS_HEADER_LEN && (int)rcode_of(&r) == want && (int)r.res.rcode == want &&
			   (r.flags & DNS_F_QR),
		   "%s: %s (got %u)", why, dns_rcode_name((enum dns_rcode)want), rcode_of(&r));
}

static void malformed(void)
{
	uint8_t q[700], t[700];
	size_t n = build(q, 7, DNS_F_RD, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 0), m, i;
	struct reply r;

	check_rcode(q, n, DNS_NOERROR, "the well-formed base query");
	check_rcode(q, 11, -1, "11 bytes");
	check_rcode(q, 0, -1, "nothing");
	memcpy(t, q, n);
	t[2] |= 0x80;
	check_rcode(t, n, -1, "QR set: a response is never answered");
	memcpy(t, q, n);
	t[2] |= 2 << 3;
	check_rcode(t, n, DNS_NOTIMP, "opcode STATUS");
	ask_raw(t, n, false, &r);
	ok(r.len == DNS_HEADER_LEN && r.qd == 0 && ((r.flags >> 11) & 15) == 2,
	   "... a bare header, opcode copied");
	memcpy(t, q, n);
	t[2] |= 5 << 3;
	check_rcode(t, n, DNS_NOTIMP, "opcode UPDATE");
	memcpy(t, q, n);
	be16_put(t + 4, 2);
	check_rcode(t, n, DNS_FORMERR, "two questions");
	memcpy(t, q, n);
	be16_put(t + 4, 0);
	check_rcode(t, n, DNS_FORMERR, "no question");
	memcpy(t, q, n);
	be16_put(t + 6, 1);
	check_rcode(t, n, DNS_FORMERR, "an answer record in a query");
	check_rcode(q, n - 1, DNS_FORMERR, "the question cut short");
	check_rcode(q, DNS_HEADER_LEN + 3, DNS_FORMERR, "the name cut short");
	memcpy(t, q, n);
	t[n] = 0;
	check_rcode(t, n + 1, DNS_FORMERR, "a byte after the message");
	/* A compression pointer as the question's name (to itself). */
	memcpy(t, q, DNS_HEADER_LEN);
	t[12] = 0xc0, t[13] = 12;
	be16_put(t + 14, 1), be16_put(t + 16, 1);
	check_rcode(t, 18, DNS_FORMERR, "a pointer in the question");
	t[12] = 0x40;
	check_rcode(t, 18, DNS_FORMERR, "a reserved label type");
	/* A label of 64 bytes. */
	memcpy(t, q, DNS_HEADER_LEN);
	t[12] = 64;
	memset(t + 13, 'a', 64);
	t[77] = 0;
	be16_put(t + 78, 1), be16_put(t + 80, 1);
	check_rcode(t, 82, DNS_FORMERR, "a 64-byte label");
	/* Names of 256 and 255 bytes: 3 labels of 63, one of 62 or 61,
	 * the root. */
	for (i = 62; i >= 61; --i) {
		size_t k;

		memcpy(t, q, DNS_HEADER_LEN);
		m = DNS_HEADER_LEN;
		for (k = 0; k < 4; ++k) {
			t[m] = (uint8_t)(k < 3 ? 63 : i);
			memset(t + m + 1, 'a', t[m]);
			m += 1u + t[m];
		}
		t[m++] = 0;
		be16_put(t + m, 1), be16_put(t + m + 2, 1);
		check_rcode(t, m + 4, i == 62 ? DNS_FORMERR : DNS_REFUSED,
			    i == 62 ? "a 256-byte name" : "a 255-byte name (not ours)");
	}

	/* The question's class. */
	n = build(t, 8, 0, "node_b", DNS_TYPE_A, 3 /* CH */, 0);
	check_rcode(t, n, DNS_REFUSED, "class CH");
	n = build(t, 8, 0, "node_b", DNS_TYPE_OPT, DNS_CLASS_IN, 0);
	check_rcode(t, n, DNS_FORMERR, "type OPT in the question");

	/* EDNS. */
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 1232);
	memcpy(t + n, t + n - 11, 11);
	be16_put(t + 10, 2);
	check_rcode(t, n + 11, DNS_FORMERR, "two OPT records");
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 1232);
	t[n - 5] = 1;	/* version 1 */
	check_rcode(t, n, DNS_BADVERS, "EDNS version 1");
	ask_raw(t, n, false, &r);
	ok(r.an == 0 && r.ar == 1 && (r.flags & DNS_F_RCODE) == 0, "... no answer, the OPT says 16");
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 1232);
	t[n - 4] = 0x80;	/* DO */
	ask_raw(t, n, false, &r);
	ok(r.len && r.ar == 1 && r.b[r.len - 4] == 0x80, "the DO bit is copied");
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 1232);
	be16_put(t + n - 2, 4);	/* rdlen 4: an option of code 10, length 0 */
	memcpy(t + n, "\x00\x0a\x00\x00", 4);
	check_rcode(t, n + 4, DNS_NOERROR, "an empty option");
	be16_put(t + n + 2, 1);
	check_rcode(t, n + 4, DNS_FORMERR, "an option longer than the record");
	be16_put(t + n - 2, 9);
	check_rcode(t, n + 4, DNS_FORMERR, "a record longer than the message");
	/* The OPT's name must be the root; other records are skipped, a
	 * pointer in their name too. */
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 1232);
	memmove(t + n - 9, t + n - 10, 10);	/* the root name becomes a pointer */
	t[n - 11] = 0xc0, t[n - 10] = 12;
	check_rcode(t, n + 1, DNS_FORMERR, "an OPT with a name");
	n = build(t, 9, 0, "node_b", DNS_TYPE_A, DNS_CLASS_IN, 0);
	be16_put(t + 10, 1);
	memcpy(t + n, "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x00\x00\x01\x00", 13);
	check_rcode(t, n + 13, DNS_NOERROR, "a TXT record in the additional section, skipped");
	check_rcode(t, n + 12, DNS_FORMERR, "... cut short");
}

static void truncation(void)
{
	struct dns_host many[50];
	struct dns_table *saved = table;
	struct dns_zone z = zone();
	uint8_t q[600];
	struct reply r;
	size_t i, n;

	memset(many, 0, sizeof(many));
	for (i = 0; i < 50; ++i) {
		many[i].name = "many";
		many[i].has_ipv6 = true;
		many[i].ipv6[0] = 0x20, many[i].ipv6[1] = 1, many[i].ipv6[15] = (uint8_t)i;
	}
	ok(dns_table_new(&table, &z, many, 50) == 0, "a table of 50 hosts of one name");
	n = build(q, 1, 0, "many", DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	ask_raw(q, n, false, &r);
	ok(r.len <= DNS_UDP_SIZE && (r.flags & DNS_F_TC) && r.an == 0 && r.qd == 1 &&
		   r.res.truncated,
	   "50 AAAA over UDP without EDNS: TC, the question alone (%zu bytes)", r.len);
	n = build(q, 1, 0, "many", DNS_TYPE_AAAA, DNS_CLASS_IN, 4096);
	ask_raw(q, n, false, &r);
	ok(r.len <= DNS_EDNS_SIZE && (r.flags & DNS_F_TC) && r.an == 0 && r.ar == 1,
	   "... with EDNS 4096: still TC (1232 at most), OPT kept (%zu bytes)", r.len);
	n = build(q, 1, 0, "many", DNS_TYPE_A, DNS_CLASS_IN, 0);
	ask_raw(q, n, false, &r);
	ok(r.len && !(r.flags & DNS_F_TC) && r.an == 0, "A of the same: NODATA fits");
	n = build(q, 1, 0, "many", DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	ask_raw(q, n, true, &r);
	ok(r.len > DNS_EDNS_SIZE && !(r.flags & DNS_F_TC) && r.an == 50,
	   "over TCP: all 50 (%zu bytes)", r.len);
	n = build(q, 1, 0, "many", DNS_TYPE_AAAA, DNS_CLASS_IN, 100);
	ask_raw(q, n, false, &r);
	ok(r.len <= DNS_UDP_SIZE && (r.flags & DNS_F_TC), "an EDNS size below 512 counts as 512");
	dns_table_free(table);
	table = saved;
}

static void table_errors(void)
{
	struct dns_zone z = zone();
	struct dns_host h = { "a..b", true, false, { 1 }, { 0 } };
	struct dns_table *t = NULL;
	char longname[300];

	ok(dns_table_new(&t, &z, &h, 1) == 0 && dns_table_size(t) == 0 && dns_table_skipped(t) == 1,
	   "a name with an empty label is left out, counted");
	dns_table_free(t);
	memset(longname, 'a', sizeof(longname));
	longname[sizeof(longname) - 1] = 0;
	h.name = longname;
	ok(dns_table_new(&t, &z, &h, 1) == 0 && dns_table_skipped(t) == 1,
	   "a name over 255 bytes is left out");
	dns_table_free(t);
	memset(longname, 0, sizeof(longname));
	for (int i = 0; i < 4; ++i)
		memcpy(longname + i * 61, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", 61);
	longname[4 * 61 - 1] = 0;	/* 243 characters */
	h.name = longname;
	ok(dns_table_new(&t, &z, &h, 1) == 0 && dns_table_skipped(t) == 1,
	   "... and one the suffix makes too long");
	dns_table_free(t);
	z.suffix = "a..b";
	ok(dns_table_new(&t, &z, hosts, 1) == -EINVAL && !t, "a suffix that is no name: -EINVAL");
	z.suffix = "test";
	h.name = "A_b";
	ok(dns_table_new(&t, &z, &h, 1) == 0 && dns_table_size(t) == 1,
	   "upper case in a hostname is folded");
	ok(t && dns_table_has_addr(t, false, h.ipv4), "dns_table_has_addr: a member's IPv4");
	ok(t && !dns_table_has_addr(t, true, h.ipv6), "... not an IPv6 it does not have");
	ok(dns_table_has_addr(table, false, hosts[3].ipv4),
	   "... and a member's without a hostname (who may ask)");
	dns_table_free(t);
	z.suffix = NULL;
	h.name = "solo";
	ok(dns_table_new(&t, &z, &h, 1) == 0, "no suffix");
	if (t) {
		struct dns_table *saved = table;
		struct reply r;

		table = t;
		ask("solo", DNS_TYPE_A, &r);
		ok(rcode_of(&r) == DNS_NOERROR && r.an == 1, "... the bare name answers");
		ask("other", DNS_TYPE_A, &r);
		ok(rcode_of(&r) == DNS_NXDOMAIN, "... another single label: NXDOMAIN");
		ask("solo.test", DNS_TYPE_A, &r);
		ok(rcode_of(&r) == DNS_REFUSED, "... two labels: REFUSED");
		table = saved;
		dns_table_free(t);
	}
}

/* ---- the table against a naive model ---- */

static const char *const model_labels[] = { "a", "b", "ab", "test", "x-y" };

static void random_name(char *out, size_t cap, unsigned max_labels)
{
	unsigned n = 1 + (unsigned)(tap_rand() % max_labels), i;

	out[0] = 0;
	for (i = 0; i < n; ++i) {
		if (i)
			strncat(out, ".", cap - strlen(out) - 1);
		strncat(out, model_labels[tap_rand() % 5], cap - strlen(out) - 1);
	}
}

static bool ends_with_dot(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);

	return a > b && s[a - b - 1] == '.' && !strcmp(s + a - b, sfx);
}

/* The rule of doc/names.md, written plainly: a member's full name is
 * its hostname, with ".test" added unless it already ends so; a query
 * Q names it when Q or Q.test is its full name. */
static void model_answer(char names[][64], size_t n, const char *q, unsigned *rcode, unsigned *an)
{
	char full[600], qs[600];
	size_t i, k;
	bool below = false;

	*an = 0;
	for (k = 0; k < 2 && !*an && !below; ++k) {
		snprintf(qs, sizeof(qs), k ? "%s.test" : "%s", q);
		for (i = 0; i < n; ++i) {
			if (ends_with_dot(names[i], "test"))
				snprintf(full, sizeof(full), "%s", names[i]);
			else
				snprintf(full, sizeof(full), "%s.test", names[i]);
			if (!strcmp(full, qs))
				++*an;
			else if (ends_with_dot(full, qs))
				below = true;
		}
	}
	if (*an || below || !strcmp(q, "test"))
		*rcode = DNS_NOERROR;
	else if (!strchr(q, '.') || ends_with_dot(q, "test"))
		*rcode = DNS_NXDOMAIN;
	else
		*rcode = DNS_REFUSED;
}

static void model(void)
{
	struct dns_table *saved = table;
	unsigned round, bad = 0, queries = 0;

	for (round = 0; round < 200; ++round) {
		char names[8][64];
		struct dns_host h[8];
		struct dns_zone z = zone();
		size_t n = 1 + tap_rand() % 8, i;

		memset(h, 0, sizeof(h));
		for (i = 0; i < n; ++i) {
			random_name(names[i], sizeof(names[i]), 3);
			h[i].name = names[i];
			h[i].has_ipv4 = true;
			h[i].ipv4[3] = (uint8_t)i;
		}
		if (dns_table_new(&table, &z, h, n) < 0) {
			++bad;
			continue;
		}
		for (i = 0; i < 30; ++i) {
			char q[64];
			unsigned rc, an;
			struct reply r;

			random_name(q, sizeof(q), 4);
			model_answer(names, n, q, &rc, &an);
			ask(q, DNS_TYPE_A, &r);
			++queries;
			if (rcode_of(&r) != rc || r.an != an) {
				if (bad++ < 5)
					diag("query %s: model %u/%u, table %u/%u", q, rc, an, rcode_of(&r),
					     r.an);
			}
		}
		dns_table_free(table);
	}
	table = saved;
	ok(bad == 0, "the table agrees with the naive model on %u random queries (%u differ)",
	   queries, bad);
}

static void full_names(void)
{
	static const struct {
		const char *host, *suffix, *full, *bare;
	} v[] = {
		{ "node_b", "test", "node_b.test", "node_b" },
		{ "a.test", "test", "a.test", "a" },
		{ "test", "test", "test.test", "test" },
		{ "c.sub", "test", "c.sub.test", "c.sub" },
		{ "solo", "", "solo", "solo" },
		{ "solo", NULL, "solo", "solo" },
	};
	char full[300], bare[300];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i)
		ok(dns_full_name(v[i].host, v[i].suffix, full, sizeof(full), bare, sizeof(bare)) == 0 &&
			   !strcmp(full, v[i].full) && !strcmp(bare, v[i].bare),
		   "dns_full_name %s in %s: %s and %s", v[i].host, v[i].suffix ? v[i].suffix : "(none)",
		   v[i].full, v[i].bare);
	ok(dns_full_name("a..b", "test", full, sizeof(full), bare, sizeof(bare)) == -EINVAL,
	   "dns_full_name: an empty label");
	ok(dns_full_name("node_b", "test", full, 11, bare, sizeof(bare)) == -ENAMETOOLONG,
	   "dns_full_name: no room");
}

int main(void)
{
	struct dns_zone z = zone();

	if (!ok(dns_table_new(&table, &z, hosts, N_HOSTS) == 0 &&
		   dns_table_size(table) == 3,
		"the table of the seeds' network: 3 named hosts"))
		return tap_done();
	dig_vectors();
	name_cases();
	malformed();
	truncation();
	table_errors();
	full_names();
	model();
	dns_table_free(table);
	return tap_done();
}
