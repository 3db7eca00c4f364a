/* The overlay's name service, sans-I/O: a DNS query in, the answer out,
 * from a table of the network's members that the caller builds
 * (doc/names.md is the user's reference).
 *
 * Wire format (RFC 1035 4.1): a 12-byte header, then the question, answer,
 * authority and additional sections; integers big-endian, converted only
 * in answer.c.  A query must hold one question whose name is written out
 * in labels (no compression pointer: a question comes first, so nothing
 * precedes it to point at), no answer and no authority records, and in
 * the additional section at most one OPT record (EDNS0, RFC 6891) beside
 * any others, which are skipped.
 *
 * What is answered (authoritative, AA=1, never recursive, RA=0):
 *   a member's name     A, AAAA (ANY: both); another type: NODATA
 *                       (NOERROR, no answer, and no SOA: doc/names.md)
 *   an overlay address  PTR in in-addr.arpa / ip6.arpa
 *   a name below which members are (the network's name itself): NODATA
 *   an unknown name under the network's suffix, an unknown single
 *   label, an unknown address in the overlay's subnets: NXDOMAIN
 *   anything else (example.com, 8.8.8.8's PTR, class CH, AXFR): REFUSED
 *   a malformed query: FORMERR; an opcode other than QUERY: NOTIMP;
 *   an EDNS version other than 0: BADVERS
 * and no answer at all to a message shorter than a header or one with
 * QR set (a response: answering it could start a loop between two
 * servers).  An answer that does not fit the UDP size (512, or what the
 * query's OPT offers, at most DNS_EDNS_SIZE) is sent truncated: TC=1 and
 * the question alone, so that the client asks again over TCP.
 *
 * Names match case-insensitively; answers repeat the question's bytes
 * (compression pointers to it), so a client's 0x20 case randomisation
 * sees its own case. */
#ifndef WH_PROTO_DNS_DNS_H
#define WH_PROTO_DNS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DNS_HEADER_LEN = 12,
	DNS_MAX_NAME = 255,		/* wire bytes of a name, RFC 1035 3.1 */
	DNS_MAX_LABEL = 63,
	DNS_UDP_SIZE = 512,		/* without EDNS, RFC 1035 4.2.1 */
	/* The largest UDP answer we send, whatever the query offers: what
	 * fits an IPv6 minimum MTU (DNS flag day 2020). */
	DNS_EDNS_SIZE = 1232,
	DNS_TCP_MAX = 65535,		/* a length-prefixed message over TCP */
	DNS_TTL = 10,			/* seconds: see doc/names.md */
};

/* Header flags (the 16 bits after the ID). */
enum {
	DNS_F_QR = 0x8000,
	DNS_F_OPCODE = 0x7800,
	DNS_F_AA = 0x0400,
	DNS_F_TC = 0x0200,
	DNS_F_RD = 0x0100,
	DNS_F_RA = 0x0080,
	DNS_F_AD = 0x0020,
	DNS_F_CD = 0x0010,
	DNS_F_RCODE = 0x000f,
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

enum {
	DNS_CLASS_IN = 1,
	DNS_OPT_DO = 0x8000,		/* in the OPT record's TTL's low 16 bits */
};

/* Response codes; BADVERS is an extended one (the OPT record carries its
 * upper 8 bits), so it is 16 here. */
enum dns_rcode {
	DNS_NOERROR = 0,
	DNS_FORMERR = 1,
	DNS_SERVFAIL = 2,
	DNS_NXDOMAIN = 3,
	DNS_NOTIMP = 4,
	DNS_REFUSED = 5,
	DNS_BADVERS = 16,
	DNS_RCODE_COUNT = 17,
};

/* One member as the caller knows it: its hostname as the network file
 * writes it (labels of [a-z0-9_-] joined by dots) and its overlay
 * addresses, network byte order. */
struct dns_host {
	const char *name;
	bool has_ipv4, has_ipv6;
	uint8_t ipv4[4];
	uint8_t ipv6[16];
};

/* The zone: the network's name (the suffix: a member `h` is also
 * `h.NETWORK`; NULL or "" for none) and the overlay's subnets, whose
 * reverse names are ours (an unknown address in them is NXDOMAIN). */
struct dns_zone {
	const char *suffix;
	bool has_net4, has_net6;
	uint8_t net4[4], prefix4;
	uint8_t net6[16], prefix6;
	uint32_t ttl;			/* 0: DNS_TTL */
};

struct dns_table;

/* Builds the table (a copy: hosts and the zone's strings may go after).
 * Hosts without a name have no name in it, only their addresses; a host
 * whose full name cannot be a DNS name (an empty label, over 255 bytes
 * on the wire with the suffix) is left out and counted
 * (dns_table_skipped).  0, -EINVAL (the suffix is no name) or -ENOMEM. */
int dns_table_new(struct dns_table **out, const struct dns_zone *zone,
		  const struct dns_host *hosts, size_t n_hosts);
void dns_table_free(struct dns_table *t);
size_t dns_table_size(const struct dns_table *t);
size_t dns_table_skipped(const struct dns_table *t);
/* Whether addr (16 bytes when ipv6, else 4) is a member's overlay
 * address, named or not: who may ask.  O(log n). */
bool dns_table_has_addr(const struct dns_table *t, bool ipv6, const uint8_t *addr);

/* A hostname's two names, as the table answers them: full (under the
 * suffix, or as written when it already ends with it) and bare (without
 * the suffix); for a hosts file.  With no suffix both are the hostname.
 * 0, -EINVAL (not a name) or -ENAMETOOLONG (a buffer is too small). */
int dns_full_name(const char *hostname, const char *suffix, char *full, size_t full_cap,
		  char *bare, size_t bare_cap);

/* What dns_answer did, for the caller's counters. */
struct dns_result {
	bool answered;		/* false: nothing to send (see above) */
	enum dns_rcode rcode;	/* when answered */
	bool truncated;		/* TC=1 */
	bool edns;		/* the query had an OPT record */
	uint16_t ancount;
};

/* Answers the query of qlen bytes into out (cap bytes).  tcp: the answer
 * may take up to cap bytes (at most DNS_TCP_MAX); else the UDP size of
 * the query limits it.  Returns the answer's length, 0 when there is
 * none.  cap must be at least DNS_UDP_SIZE. */
size_t dns_answer(const struct dns_table *t, const uint8_t *q, size_t qlen, bool tcp,
		  uint8_t *out, size_t cap, struct dns_result *res);

/* "noerror", "nxdomain", ... (the counters' names); "other" for a value
 * this file does not name. */
const char *dns_rcode_name(enum dns_rcode rcode);

#endif
