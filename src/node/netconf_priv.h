/* What the two passes of the network file parser share (netconf.c reads
 * the lines, netconf_addr.c derives and checks the addresses): the
 * parser's state, its messages, and the address arithmetic.  Private to
 * the parser; nothing outside src/node/netconf*.c includes it. */
#ifndef WH_SRC_NODE_NETCONF_PRIV_H
#define WH_SRC_NODE_NETCONF_PRIV_H

#include "crypto/encoding.h"
#include "src/node/netconf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a key was written, to show it the same way in messages. */
enum key_form {
	KEY_FORM_URL = 0,	/* 43 characters, URL-safe (WireHub's) */
	KEY_FORM_STD_PADDED,	/* 44 characters, standard (WireGuard's) */
	KEY_FORM_STD,		/* 43 characters, standard, unpadded */
};

/* The state of one parse, on the caller's stack. */
struct netconf_parser {
	const char *src;		/* the file's name in messages */
	char *err;
	size_t errlen;
	int rc;				/* first error, 0 while none */
	struct netconf *conf;
	size_t cap_peers, cap_routes;
	unsigned lineno;		/* lines completed so far */
	/* While a peer line is read, its errors leave the line out (a note)
	 * instead of failing the parse; peer_lines counts them all. */
	bool lenient;
	size_t peer_lines;
	/* The lines that set each network-wide directive, 0 when unset. */
	unsigned line_name, line_subnet, line_subnet6, line_workbit, line_ns;
	/* The wall clock when the parse began (Unix seconds): alias lines
	 * whose expiry it passed are left out.  comment: the line's comment
	 * from its '#' (NULL: none), while the line is read. */
	uint64_t now_s;
	const char *comment;
	size_t comment_len, cap_expired;
	size_t len;
	char line[NETCONF_MAX_LINE + 2];	/* + a CR before the LF, + NUL */
};

/* Records the first error, "FILE:LINE: message" (no LINE when line is
 * 0), and returns it (-EINVAL); later errors are ignored.  While a peer
 * or route line is read (lenient), the error leaves that line out
 * instead (a note) and the parse goes on. */
int netconf_fail(struct netconf_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for errno e (ENOMEM or a read error): "FILE: strerror". */
int netconf_fail_errno(struct netconf_parser *p, int e);
/* Leaves a peer line out of the network: keeps "FILE:LINE: message" in
 * conf->notes (the first NETCONF_MAX_NOTES by line) and counts it.  Out
 * of memory fails the parse. */
void netconf_note_v(struct netconf_parser *p, unsigned line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Leaves a line out once: *left_out marks it, a note says why. */
void netconf_leave_out(struct netconf_parser *p, bool *left_out, unsigned line, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

/* A value in double quotes as messages show it: control bytes escaped,
 * cut after 64 characters. */
enum { NETCONF_QUOTE_BUF = 64 * 4 + 8 };
const char *netconf_quote(char out[NETCONF_QUOTE_BUF], const char *s);
/* "A.B.C.D/N" or "X:Y::/N" (v6), the length checked; host bits kept. */
int netconf_parse_prefix(struct netconf_parser *p, const char *tok, bool v6, uint8_t *addr,
			 uint8_t *prefix);
/* netconf_route.c: a "route PREFIX via ROUTER" line (first pass), and
 * the routes resolved to their routers once the peers are final. */
int netconf_route_line(struct netconf_parser *p, char **tok, size_t ntok);
int netconf_routes_finish(struct netconf_parser *p);

/* netconf_text.c: the lexical pieces.  netconf_quote_n: s in double
 * quotes, bytes outside printable ASCII as \xNN, at most max characters
 * (then "..."). */
const char *netconf_quote_n(char *out, size_t outlen, const char *s, size_t max);
bool netconf_is_digit(char c);
bool netconf_is_alpha(char c);
/* A network name: a DNS label of [a-z0-9_-]. */
bool netconf_valid_label(const char *s);
/* A DNS name in an endpoint (labels joined by dots, one final dot). */
bool netconf_valid_dns_name(const char *s, size_t n);
/* A hostname of the file (out: in lowercase); never reads as IPv4. */
bool netconf_valid_hostname(const char *s, char out[NETCONF_MAX_HOSTNAME + 1]);
bool netconf_all_digits_dots(const char *s, size_t n);
/* Unsigned decimal, digits only, value <= max. */
bool netconf_parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out);
/* Dotted-quad IPv4 without leading zeros; IPv6 text (inet_pton). */
bool netconf_parse_ipv4(const char *s, size_t n, uint8_t out[4]);
bool netconf_parse_ipv6(const char *s, size_t n, uint8_t out[16]);

/* Addresses and keys as messages show them. */
void netconf_format_ipv4(char out[16], const uint8_t a[4]);
void netconf_format_ipv6(char out[46], const uint8_t a[16]);
void netconf_key_text(char out[KEY_B64_LEN + 1], const struct netconf_peer *peer);
/* A peer as messages name it: "hostname" (KEY), or the key alone. */
const char *netconf_peer_label(char *out, size_t outlen, const struct netconf_peer *peer);

/* The netmask of an IPv4 prefix length, in host order. */
uint32_t netconf_mask4(unsigned prefix);
/* mask[i] has the first prefix bits of the 128 set. */
void netconf_mask6(uint8_t mask[16], unsigned prefix);

/* The second pass, once every line was read without error. */
int netconf_finish(struct netconf_parser *p);

#endif
