/* The cross-platform userspace API (UAPI) that stock `wg` and `wg-quick`
 * speak over /var/run/wireguard/<iface>.sock, as a sans-I/O parser of
 * requests and a formatter of `get` answers.
 *
 * A connection carries a sequence of requests:
 *
 *   get=1\n\n                    answered with the device's state, then
 *                                errno=0\n\n
 *   set=1\nkey=value\n...\n\n    answered with errno=N\n\n, N a negative
 *                                errno or 0
 *
 * The daemon feeds every byte it reads to uapi_parser_feed(), which stops
 * after each complete request so that answers go out in order.  A set
 * request is returned whole, parsed and validated, so that the daemon
 * applies it at once or not at all (wireguard-go applies each line as it
 * reads it, and keeps the lines before a bad one).
 *
 * Keys and values follow wireguard-go's device/uapi.go exactly: private_key,
 * listen_port, fwmark and replace_peers before the first public_key; after
 * it, per peer, remove, update_only, preshared_key, endpoint,
 * persistent_keepalive_interval, replace_allowed_ips, allowed_ip and
 * protocol_version.  A device key after the first public_key, or a peer key
 * before it, is an unknown key.  Keys are 64 hex digits, numbers are plain
 * decimal, flags are exactly "true", endpoints are numeric (`wg` resolves
 * host names itself).
 *
 * Errors (negative errno, what the daemon writes after "errno="):
 *   -EPROTO   a set line without '=' (as wireguard-go), or an unknown
 *             operation line (the connection is then unusable: see
 *             uapi_parser_broken);
 *   -EINVAL   an unknown key, a bad value, or "get=1\n" not followed by the
 *             blank line;
 *   -EMSGSIZE a line longer than UAPI_MAX_LINE, or a set request longer
 *             than the parser's max_request;
 *   -ENOMEM   memory ran out.
 * After an error inside a set request the parser discards the rest of that
 * request, up to its blank line, before reporting the error, so that the
 * client (which writes the whole request before reading) gets its answer
 * and the connection stays usable for the next request.
 *
 * Secrets (the private key, preshared keys, and the text they came in or go
 * out as) are wiped when freed. */
#ifndef WH_SRC_WG_UAPI_H
#define WH_SRC_WG_UAPI_H

#include "src/io/packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	UAPI_KEY_LEN = 32,
	/* Longest line kept; the longest meaningful one is an endpoint with
	 * an IPv6 address and an interface name, under 100 bytes. */
	UAPI_MAX_LINE = 4096,
};

/* Default upper bound on the bytes of one set request.  131,073 IPv6
 * allowed IPs of the longest form take 7.2 MB of text. */
#define UAPI_MAX_REQUEST ((size_t)16 << 20)

/* What uapi_parser_feed() found. */
enum uapi_request {
	UAPI_REQUEST_NONE = 0,	/* more bytes are needed */
	UAPI_REQUEST_GET = 1,
	UAPI_REQUEST_SET = 2,
};

/* One allowed IP, in a set request (an operation) or in a get answer. */
struct uapi_allowed_ip {
	uint8_t addr[16];	/* network byte order; IPv4 in addr[0..3] */
	sa_family_t family;	/* AF_INET or AF_INET6 */
	uint8_t cidr;		/* <= 32 for AF_INET, <= 128 for AF_INET6 */
	bool remove;		/* set only: "allowed_ip=-prefix" removes it */
};

/* The changes one "public_key=" section asks for.  Fields without a has_
 * flag default to false/empty.  The daemon applies, in this order: if
 * remove, remove the peer (if present) and ignore everything else; if
 * update_only and the peer does not exist, ignore the section; create the
 * peer if needed; then preshared key, endpoint, keepalive; if
 * replace_allowed_ips, clear the peer's allowed IPs; then the allowed-IP
 * operations in order (an insertion takes the prefix from any other peer,
 * the trie masks host bits).  A section whose key is the device's own
 * public key is ignored, as wireguard-go does. */
struct uapi_peer_set {
	uint8_t public_key[UAPI_KEY_LEN];
	bool remove;
	bool update_only;
	bool has_preshared_key;
	uint8_t preshared_key[UAPI_KEY_LEN];	/* secret; all zero = none */
	bool has_endpoint;
	/* AF_INET or AF_INET6 (port in network order; IPv4-mapped IPv6 and
	 * link-local scope ids are kept as written). */
	union wg_sockaddr endpoint;
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive_interval;	/* seconds, 0 = off */
	/* When replace_allowed_ips follows allowed_ip lines, those lines are
	 * dropped: wireguard-go would add them and clear them again. */
	bool replace_allowed_ips;
	struct uapi_allowed_ip *allowed_ips;	/* in request order */
	size_t n_allowed_ips;
	size_t cap_allowed_ips;			/* private to uapi.c */
};

/* A complete set request.  Device fields first; the peers in the order the
 * request named them (a key may appear in several sections; apply them in
 * order).  When a key repeats within a section, the last value wins. */
struct uapi_set {
	bool has_private_key;
	uint8_t private_key[UAPI_KEY_LEN];	/* secret, clamped; all zero removes it */
	bool has_listen_port;
	uint16_t listen_port;
	bool has_fwmark;
	uint32_t fwmark;			/* 0 = off */
	bool replace_peers;			/* remove every peer before the sections */
	struct uapi_peer_set *peers;
	size_t n_peers;
	size_t cap_peers;			/* private to uapi.c */
};

/* Wipes the secrets and frees set and everything it holds; NULL is fine. */
void uapi_set_free(struct uapi_set *set);
/* Building a set request in code (the node applies its network file
 * through the same function as the UAPI, uapi_apply_set): a calloc'd
 * struct uapi_set, then these.  A new zeroed section for public_key, or
 * NULL when out of memory; an allowed IP appended to a section, 0 or
 * -ENOMEM. */
struct uapi_peer_set *uapi_set_add_peer(struct uapi_set *set,
					const uint8_t public_key[UAPI_KEY_LEN]);
int uapi_peer_add_allowed_ip(struct uapi_peer_set *peer, const struct uapi_allowed_ip *aip);

/* Parser state.  Embed it in the connection; every field is private to
 * uapi.c except max_request, which the owner may lower after init. */
struct uapi_parser {
	int state;		/* enum uapi_parser_state in uapi.c */
	int error;		/* the answer to the request being discarded */
	int skip_line;		/* while discarding: 0 line start, 1 "\r" seen, 2 text */
	size_t line_len;
	size_t request_len;
	size_t max_request;	/* default UAPI_MAX_REQUEST */
	struct uapi_set *set;	/* the set request being parsed, or NULL */
	struct uapi_peer_set *peer;	/* its current section, or NULL (device part) */
	char line[UAPI_MAX_LINE];	/* may hold a key in hex: wiped after each line */
};

void uapi_parser_init(struct uapi_parser *p);
/* Frees a set request in progress and wipes the line buffer. */
void uapi_parser_free(struct uapi_parser *p);

/* Consumes bytes from data[0..len) up to the end of the next request, and
 * stores the number consumed in *consumed; call again with the rest.
 * Returns
 *   UAPI_REQUEST_NONE (0)  all len bytes consumed, no request complete yet;
 *   UAPI_REQUEST_GET       answer with uapi_format_get() or the
 *                          uapi_format_* pieces;
 *   UAPI_REQUEST_SET       *set holds the request (the caller owns it: apply
 *                          it, answer errno=0 or the error applying it gave,
 *                          then uapi_set_free());
 *   a negative errno       answer with uapi_format_errno(); then, if
 *                          uapi_parser_broken(), close the connection.
 * *set is NULL unless UAPI_REQUEST_SET is returned. */
int uapi_parser_feed(struct uapi_parser *p, const char *data, size_t len, size_t *consumed,
		     struct uapi_set **set);

/* true when the connection cannot go on (an unknown operation line, as
 * wireguard-go closes the connection); every later feed consumes all its
 * bytes and returns -EPROTO. */
bool uapi_parser_broken(const struct uapi_parser *p);
/* true between requests: at end of file, anything else means a request
 * was cut short (it is dropped, never applied). */
bool uapi_parser_idle(const struct uapi_parser *p);

/* A growable output buffer.  It may hold keys: uapi_buf_free() wipes it,
 * and growing wipes the old copy.  Zero-initialise before first use. */
struct uapi_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Wipes and frees the contents; the buffer is empty and reusable after. */
void uapi_buf_free(struct uapi_buf *b);
/* Empties the buffer (wiping what it held) but keeps its memory. */
void uapi_buf_reset(struct uapi_buf *b);

/* What a get answer reports, filled by the daemon.  Pointers are borrowed
 * for the duration of the call; the caller wipes its copies of keys. */
struct uapi_peer_info {
	uint8_t public_key[UAPI_KEY_LEN];
	uint8_t preshared_key[UAPI_KEY_LEN];	/* all zero = none (still printed) */
	union wg_sockaddr endpoint;	/* sa_family AF_UNSPEC = none */
	int64_t last_handshake_sec;		/* wall clock; 0 = never */
	int64_t last_handshake_nsec;
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint16_t persistent_keepalive_interval;
	const struct uapi_allowed_ip *allowed_ips;	/* remove is ignored */
	size_t n_allowed_ips;
};

struct uapi_device_info {
	bool has_private_key;			/* printed only when set and nonzero */
	uint8_t private_key[UAPI_KEY_LEN];
	uint16_t listen_port;			/* printed only when nonzero */
	uint32_t fwmark;			/* printed only when nonzero */
	const struct uapi_peer_info *peers;
	size_t n_peers;
};

/* The whole get answer, as wireguard-go's IpcGetOperation writes it,
 * followed by "errno=0\n\n".  Appends to out; 0, -ENOMEM, or -EAFNOSUPPORT
 * for an allowed IP of another family (out then holds a truncated answer:
 * reset it).  IPv6 text is Go's (RFC 5952, "::ffff:a.b.c.d" for mapped
 * addresses); a link-local scope is written as its number. */
int uapi_format_get(struct uapi_buf *out, const struct uapi_device_info *dev);

/* The same answer in pieces, for a daemon that walks its own tables:
 * the device lines; per peer its lines, including the allowed_ips array
 * it may carry, then any number of further allowed_ip lines; at last
 * uapi_format_errno(out, 0).  Each appends; 0 or -ENOMEM. */
int uapi_format_device(struct uapi_buf *out, const struct uapi_device_info *dev);
int uapi_format_peer(struct uapi_buf *out, const struct uapi_peer_info *peer);
int uapi_format_allowed_ip(struct uapi_buf *out, const struct uapi_allowed_ip *aip);
/* "errno=N\n\n": err is 0 or a negative errno. */
int uapi_format_errno(struct uapi_buf *out, int err);

/* "a.b.c.d:port" or "[ipv6]:port" (Go's netip.ParseAddrPort, as stock
 * wg writes an endpoint); also the address of wh up's metrics listener. */
bool uapi_parse_endpoint(union wg_sockaddr *ss, const char *s, size_t len);

#endif
