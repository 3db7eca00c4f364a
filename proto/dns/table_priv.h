/* The name table's layout, shared by table.c (which builds and searches
 * it) and answer.c (which reads the entries found); nothing else sees it.
 *
 * A name's key is its labels in reverse order, lowercased, joined by the
 * byte 0x01 ("a.test" -> "test\1a").  0x01 sorts below every byte a label
 * may hold ([a-z0-9_-]), so in key order the names below a name N follow
 * N at once: one binary search tells whether N is a member's name, a name
 * with members below it (an empty non-terminal, RFC 8020: NODATA, not
 * NXDOMAIN), or neither. */
#ifndef WH_PROTO_DNS_TABLE_PRIV_H
#define WH_PROTO_DNS_TABLE_PRIV_H

#include "proto/dns/dns.h"

enum {
	DNS_KEY_SEP = 0x01,
	DNS_KEY_MAX = DNS_MAX_NAME,	/* a key is never longer than its name */
};

struct dns_entry {
	char *key;
	size_t key_len;
	uint8_t wire[DNS_MAX_NAME];	/* the full name in wire form (PTR) */
	size_t wire_len;
	bool has_ipv4, has_ipv6;
	uint8_t ipv4[4];
	uint8_t ipv6[16];
};

/* An address and the entry that has it (DNS_NO_ENTRY: a member with
 * no hostname). */
#define DNS_NO_ENTRY ((size_t)-1)

struct dns_addr_ix {
	uint8_t addr[16];		/* IPv4 in the first 4 bytes */
	size_t ix;
};

struct dns_table {
	struct dns_entry *e;		/* sorted by key */
	size_t n;
	size_t skipped;			/* hosts whose name could not be one */
	struct dns_addr_ix *by4, *by6;	/* sorted by address */
	size_t n4, n6;
	struct dns_zone zone;		/* suffix points to suffix_text */
	char suffix_text[DNS_MAX_NAME + 1];
	char suffix_key[DNS_KEY_MAX];	/* key of the suffix; 0 bytes: none */
	size_t suffix_key_len;
};

/* One label of a name as the query holds it (not NUL-terminated). */
struct dns_label {
	const uint8_t *p;
	uint8_t len;
};

enum dns_find {
	DNS_FIND_NONE = 0,
	DNS_FIND_NAME,		/* [*first, *last) hold the name */
	DNS_FIND_BELOW,		/* no such name, but names below it */
};

/* The key of n labels (in the name's order), lowercased; false when a
 * label holds a byte no member's name can (then no member matches). */
bool dns_key_from_labels(const struct dns_label *labels, size_t n, char *out, size_t cap,
			 size_t *len);
enum dns_find dns_table_find(const struct dns_table *t, const char *key, size_t key_len,
			     size_t *first, size_t *last);
/* Entries whose address is addr: indexes [*first, *last) of by4/by6. */
bool dns_table_find_addr(const struct dns_table *t, bool ipv6, const uint8_t *addr, size_t *first,
			 size_t *last);

#endif
