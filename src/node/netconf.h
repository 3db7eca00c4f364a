/* The network file: WireHub's one-directive-per-line grammar, parsed into a
 * struct netconf, with the overlay addresses every node derives the same
 * way.  doc/network-file.md is the user's reference; this is the C view.
 *
 *   name tutorial                 # network name (a DNS label)
 *   subnet 10.0.42.0/24           # IPv4 overlay subnet
 *   subnet6 fd12:3456:789a::/48   # optional; derived from the name if absent
 *   workbit 8                     # default 8
 *   namespace public              # default "public"
 *   boot P17zMwXJFbBdJEn05RFIMADw9TX5_m2xgf31OgNKX3w bootstrap.wirehub.io
 *   trust node_a zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmQ
 *   trust node_b 10.0.42.7 g878Bf9ZDc4IzFSUhWFTO1VYFVmHD5XfvEsVn83Dsho
 *
 * Peer lines are `KIND [HOSTNAME] [STATIC-IP...] KEY [ENDPOINT]`.  Unlike
 * WireHub, addresses do not depend on the order of the lines: a trusted
 * peer (trust, router, alias) without a static IPv4 gets one derived from
 * BLAKE2b-256 of its key, and every trusted peer gets an IPv6 address in
 * the subnet6 prefix the same way (formulas in doc/network-file.md).  Two
 * keys that derive the same address do not stop the network: the smaller
 * key keeps it and the other takes its next candidate, so the same set of
 * lines gives the same addresses on every node, in any order.
 *
 * A bad peer line costs only that line: it is left out, and the reason
 * kept in conf->notes ("FILE:LINE: ..."), as long as the file's
 * network-wide lines are sound and some peer line is left.  Otherwise the
 * parse fails.
 *
 * Errors (negative errno; a message in err when errlen > 0):
 *   -EINVAL  the text is wrong: "FILE:LINE: ..." names the file, the line
 *            and the offending value in quotes (control bytes escaped,
 *            long values cut, values that may be keys shortened);
 *   -ENOMEM  memory ran out;
 *   -errno   the file could not be opened or read: "FILE: strerror".
 * The parser reads line by line (at most NETCONF_MAX_LINE bytes a line,
 * NETCONF_MAX_PEERS peer lines), uses no locale-dependent function, and
 * accepts LF or CRLF line ends and a last line without one.  A NUL byte is
 * an error.
 *
 * The one thing the parse takes from outside the text is the wall clock:
 * an alias line with an expiry comment in the past is left out (an
 * invitation that expired is no member, in every copy of the file). */
#ifndef WH_SRC_NODE_NETCONF_H
#define WH_SRC_NODE_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
	NETCONF_KEY_LEN = 32,
	NETCONF_MAX_LINE = 4096,	/* bytes, without the line end */
	NETCONF_MAX_PEERS = 65536,
	NETCONF_MAX_LABEL = 63,		/* network name, a label of a DNS name */
	NETCONF_MAX_HOSTNAME = 253,	/* a member's hostname: a DNS name */
	NETCONF_MAX_NAMESPACE = 255,
	NETCONF_MAX_HOST = 253,		/* a DNS name in an endpoint */
	NETCONF_DEFAULT_PORT = 62096,
	NETCONF_DEFAULT_WORKBIT = 8,
	NETCONF_MAX_WORKBIT = 256,
	NETCONF_MAX_NOTES = 64,		/* left-out lines whose reason is kept */
	NETCONF_MAX_CANDIDATES = 64,	/* derived addresses tried per key */
	NETCONF_MAX_ROUTES = 65536,
};

/* What a peer line says about the peer.  trust, router and alias lines are
 * the "trusted" kinds: members of the network with overlay addresses.
 * client lines have overlay addresses and a name too, but are no members:
 * `client HOSTNAME [STATIC-IP...] KEY`, with a hostname and no endpoint. */
enum netconf_kind {
	NETCONF_BOOT = 0,	/* DHT bootstrap node; has an endpoint */
	NETCONF_PEER,		/* a DHT node we know of; not a member */
	NETCONF_TRUST,		/* a member of the network */
	NETCONF_ROUTER,		/* a member that routes beyond the subnet */
	NETCONF_ALIAS,		/* a one-time invitation key standing for a member */
	NETCONF_CLIENT,		/* a stock WireGuard client: addresses, no wh */
};

enum netconf_endpoint_type {
	NETCONF_ENDPOINT_NONE = 0,
	NETCONF_ENDPOINT_IPV4,
	NETCONF_ENDPOINT_IPV6,
	NETCONF_ENDPOINT_NAME,	/* a DNS name, left for the daemon to resolve */
};

struct netconf_endpoint {
	enum netconf_endpoint_type type;
	uint16_t port;			/* host byte order; NETCONF_DEFAULT_PORT if unwritten */
	uint8_t addr[16];		/* numeric types: network order, IPv4 in addr[0..3] */
	char host[NETCONF_MAX_HOST + 1];	/* the name, or the address as text (no brackets) */
};

struct netconf_peer {
	enum netconf_kind kind;
	uint8_t key[NETCONF_KEY_LEN];	/* public key (for alias: the alias key) */
	char hostname[NETCONF_MAX_HOSTNAME + 1];	/* lowercase; "" when the line has none */
	/* Overlay addresses, network byte order.  has_ipv4 and has_ipv6 are
	 * true exactly for the kinds with addresses (trusted and client); static4/static6 tell whether
	 * the line wrote the address or it was derived from the key. */
	bool has_ipv4, has_ipv6;
	bool static4, static6;
	uint8_t ipv4[4];
	uint8_t ipv6[16];
	struct netconf_endpoint endpoint;
	uint16_t tcp_port;		/* boot: "tcp PORT", the TCP relay path; 0: none */
	unsigned line;			/* 1-based line of the peer's line */
	/* alias: the expiry its "# wh invite: expires SECONDS" comment gives
	 * (Unix seconds); 0 when it has none (it never expires). */
	uint64_t expires_s;
	uint8_t key_form;		/* private: how the key was written, for messages */
	bool left_out;			/* private to the second pass */
};

/* A line left out of the network, and why: "FILE:LINE: message". */
struct netconf_note {
	unsigned line;
	char *text;
};

struct netconf {
	char name[NETCONF_MAX_LABEL + 1];	/* "" when the file has no name line */
	char ns[NETCONF_MAX_NAMESPACE + 1];	/* namespace; default "public" */
	unsigned workbit;			/* default NETCONF_DEFAULT_WORKBIT */
	bool has_subnet;
	uint8_t subnet[4];			/* network address (host bits cleared) */
	uint8_t prefix;				/* 1..32 */
	/* Present when the file has a subnet6 line, or else derived from the
	 * name when there is one (subnet6_derived). */
	bool has_subnet6, subnet6_derived;
	uint8_t subnet6[16];
	uint8_t prefix6;			/* 1..120 */
	struct netconf_peer *peers;		/* in file order, the sound lines only */
	size_t n_peers;
	/* The peer lines left out (bad on their own, or losing to another
	 * line by the rules of doc/network-file.md): the first
	 * NETCONF_MAX_NOTES reasons in line order, and how many in all. */
	struct netconf_note *notes;
	size_t n_notes;
	size_t n_left_out;
	struct netconf_route *routes;		/* in file order, the sound lines only */
	size_t n_routes;
	/* Invitations (doc/network-file.md "Alias lines"): an alias line whose
	 * expiry had passed when the file was read is left out (no member),
	 * and its line number kept here, in file order, so that the node can
	 * remove it from the file; alias_next_expiry is the earliest expiry
	 * of the alias lines kept (0: none), when the node reads it again. */
	unsigned *expired_lines;
	size_t n_expired;
	uint64_t alias_next_expiry;
	/* Private to the parser: sorted indexes for the lookups (built by
	 * netconf_addr.c, searched by netconf_diff.c). */
	struct netconf_peer **by_key;
	struct netconf_peer **by_hostname;
	size_t n_hostnames;
};

/* A prefix routed through a member of kind router, beyond the subnet:
 * `route 203.0.113.0/24 via gw`.  The router's WireGuard peer allows it
 * (every other member routes it into the tunnel); the router forwards it
 * (its admin enables IP forwarding). */
struct netconf_route {
	bool v6;
	uint8_t addr[16];		/* network order, host bits cleared */
	uint8_t prefix;
	size_t router;			/* index in peers of the router's line */
	uint8_t router_key[NETCONF_KEY_LEN];	/* and its key */
	unsigned line;
	/* Private to the parser: the router as written, until resolved. */
	char via[NETCONF_MAX_HOSTNAME + 1];
	bool left_out;
};

/* The largest network file read (about 100,000 members). */
#define NETCONF_FILE_MAX (16u << 20)

/* path is opened read-only without blocking and named in messages as
 * given; it must be a regular file of at most NETCONF_FILE_MAX bytes (what
 * `wh reload` reads on the node's loop: a FIFO would block it).  On
 * success *out holds the network (free it with netconf_free) and 0 is
 * returned; on error *out is NULL. */
int netconf_parse_file(const char *path, struct netconf **out, char *err, size_t errlen);
/* The same, with name in the messages instead of path: `wh reload` reads
 * the absolute path and names the file as `wh up` was given it. */
int netconf_parse_file_as(const char *path, const char *name, struct netconf **out, char *err,
			  size_t errlen);
/* The same, except that a pipe, FIFO or character device is read to its
 * end too (blocking: for `wh up <(cat net.conf)`, before the loop runs);
 * *regular tells which it was. */
int netconf_parse_once(const char *path, bool *regular, struct netconf **out, char *err,
		       size_t errlen);
/* The same, from an open stream read to its end; name is used in messages. */
int netconf_parse_stream(FILE *f, const char *name, struct netconf **out,
			 char *err, size_t errlen);
/* One endpoint as a peer line writes it (HOST[:PORT], A.B.C.D[:PORT],
 * [IPV6][:PORT], a bare IPv6 address), for options that name one (wh
 * client-config's relay): 0, or -EINVAL with "WHAT: message" in err. */
int netconf_parse_endpoint(const char *what, const char *text, struct netconf_endpoint *ep,
			   char *err, size_t errlen);
/* The same, from len bytes of memory (no terminating NUL needed). */
int netconf_parse_buffer(const char *name, const char *buf, size_t len,
			 struct netconf **out, char *err, size_t errlen);
void netconf_free(struct netconf *conf);

/* "boot", "peer", "trust", "router" or "alias". */
const char *netconf_kind_name(enum netconf_kind kind);
/* trust, router and alias. */
bool netconf_kind_is_trusted(enum netconf_kind kind);
/* The kinds with overlay addresses and a name: the trusted ones and
 * client (a stock WireGuard client, which runs no wh: never a DHT node,
 * a relay or a boot node; every member holds it as a WireGuard peer). */
bool netconf_kind_has_addresses(enum netconf_kind kind);

/* The peer with this key, or NULL.  O(log n). */
const struct netconf_peer *netconf_find(const struct netconf *conf,
					const uint8_t key[NETCONF_KEY_LEN]);
/* Peer i (0 <= i < n_peers) in the order of the keys (netconf_key_cmp),
 * the order netconf_find searches: a reader that keeps its own table in
 * this order finds its entries by the same binary search. */
const struct netconf_peer *netconf_by_key(const struct netconf *conf, size_t i);
/* The order of keys, for every table kept by key: bytes compared from
 * the first (memcmp).  Public keys are not secret, so no constant-time
 * compare (sodium_compare cost a 10,000-member reload a third of its
 * time). */
static inline int netconf_key_cmp(const uint8_t a[NETCONF_KEY_LEN], const uint8_t b[NETCONF_KEY_LEN])
{
	return memcmp(a, b, NETCONF_KEY_LEN);
}
/* The peer with this hostname (letters in either case), or NULL.
 * O(log n). */
const struct netconf_peer *netconf_find_hostname(const struct netconf *conf,
						 const char *hostname);
/* The route of exactly this prefix (addr: 4 or 16 bytes), or NULL. */
const struct netconf_route *netconf_find_route(const struct netconf *conf, bool v6,
					       const uint8_t *addr, uint8_t prefix);
/* Our own entry, given our public key: a node learns its overlay addresses
 * and hostname from its own trust (router, alias) line.  NULL when the
 * file does not list us, or lists us only as boot or peer (then we are a
 * DHT node with no overlay address). */
const struct netconf_peer *netconf_find_self(const struct netconf *conf,
					     const uint8_t public_key[NETCONF_KEY_LEN]);

/* What differs between two parses of the network file, for `wh reload`.
 * Network-wide changes are bits in what; peers are matched by key. */
enum {
	NETCONF_DIFF_NAME = 1 << 0,
	NETCONF_DIFF_SUBNET = 1 << 1,
	NETCONF_DIFF_SUBNET6 = 1 << 2,
	NETCONF_DIFF_WORKBIT = 1 << 3,
	NETCONF_DIFF_NAMESPACE = 1 << 4,
};

/* What changed in a peer whose key is in both files (its line number
 * moving is not a change). */
enum {
	NETCONF_PEER_KIND = 1 << 0,
	NETCONF_PEER_HOSTNAME = 1 << 1,
	NETCONF_PEER_IPV4 = 1 << 2,	/* address, or whether it has one */
	NETCONF_PEER_IPV6 = 1 << 3,
	NETCONF_PEER_ENDPOINT = 1 << 4,
	NETCONF_PEER_STATIC = 1 << 5,	/* static4/static6 flipped */
};

struct netconf_change {
	const struct netconf_peer *old_peer;
	const struct netconf_peer *new_peer;
	unsigned what;			/* NETCONF_PEER_* bits, never 0 */
};

/* Pointers borrow from the two networks: keep both alive while it is used. */
struct netconf_diff {
	unsigned what;				/* NETCONF_DIFF_* bits */
	const struct netconf_peer **added;	/* in new, in its file order */
	size_t n_added;
	const struct netconf_peer **removed;	/* in old, in its file order */
	size_t n_removed;
	struct netconf_change *changed;		/* in the new file's order */
	size_t n_changed;
};

/* Fills *diff (0) or returns -ENOMEM with *diff empty.  Either network may
 * be NULL, standing for an empty file. */
int netconf_diff(const struct netconf *old_conf, const struct netconf *new_conf,
		 struct netconf_diff *diff);
/* true when the diff holds no change at all. */
bool netconf_diff_empty(const struct netconf_diff *diff);
void netconf_diff_free(struct netconf_diff *diff);

/* The derivations, exposed for `wh show` and the tests.  Each returns
 * false when it has no answer (no room in the subnet, no name). */
bool netconf_derive_subnet6(const char *ns, const char *name, uint8_t out[16]);
bool netconf_derive_ipv4(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[4]);
bool netconf_derive_ipv6(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[16]);
/* A key's candidate n (0 .. NETCONF_MAX_CANDIDATES - 1): candidate 0 is
 * the address above, the next ones are where the key goes when a smaller
 * key or a static address holds the one before. */
bool netconf_derive_ipv4_candidate(const struct netconf *conf,
				   const uint8_t key[NETCONF_KEY_LEN], unsigned n, uint8_t out[4]);
bool netconf_derive_ipv6_candidate(const struct netconf *conf,
				   const uint8_t key[NETCONF_KEY_LEN], unsigned n, uint8_t out[16]);

#endif
