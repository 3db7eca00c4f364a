/* The network file parser and the overlay address derivations.
 *
 * Two passes.  The first streams the text through a bounded line buffer
 * (fed from a FILE* in chunks, or from memory) and checks each line on its
 * own: syntax, values, the directives' arity.  The second runs once the
 * whole file is known and does what depends on more than one line:
 * defaults, the subnet checks of static addresses, repeats, derivations
 * and collisions.  The second pass looks at line numbers only to name
 * them in messages; sorting by key or address, never by line, is what
 * makes the addresses (and the collision reported) independent of the
 * order of the lines.
 *
 * Nothing here calls a locale-dependent function: characters are
 * classified by hand, numbers parsed by hand, IPv4 text formatted by hand.
 * inet_pton/inet_ntop for IPv6 do not consult the locale. */
#include "src/node/netconf.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/workbit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The domain-separation labels of the derivations (doc/network-file.md). */
#define LABEL_SUBNET6 "wh-subnet6"
#define LABEL_IPV4 "wh-ipv4"
#define LABEL_IPV6 "wh-ipv6"

enum {
	MAX_TOKENS = 8,		/* the longest valid line has 6 */
	QUOTE_MAX = 64,		/* characters of a value shown in a message */
	KEY_SHOWN = 10,		/* characters of a bad key shown in a message */
	READ_CHUNK = 16384,
	ERR_MAX = 1024,
};

/* How a key was written, to show it the same way in messages. */
enum key_form {
	KEY_FORM_URL = 0,	/* 43 characters, URL-safe (WireHub's) */
	KEY_FORM_STD_PADDED,	/* 44 characters, standard (WireGuard's) */
	KEY_FORM_STD,		/* 43 characters, standard, unpadded */
};

struct parser {
	const char *src;		/* the file's name in messages */
	char *err;
	size_t errlen;
	int rc;				/* first error, 0 while none */
	struct netconf *conf;
	size_t cap_peers;
	unsigned lineno;		/* lines completed so far */
	/* The lines that set each network-wide directive, 0 when unset. */
	unsigned line_name, line_subnet, line_subnet6, line_workbit, line_ns;
	size_t len;
	char line[NETCONF_MAX_LINE + 2];	/* + a CR before the LF, + NUL */
};

/* ---- messages ---- */

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc)
		return p->rc;
	p->rc = -EINVAL;
	if (!p->errlen)
		return p->rc;
	if (line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->src, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->src);
	if (n < 0 || (size_t)n >= p->errlen)
		return p->rc;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return p->rc;
}

static int fail_errno(struct parser *p, int e)
{
	if (p->rc)
		return p->rc;
	p->rc = e == ENOMEM ? -ENOMEM : -e;
	if (p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->src, strerror(e));
	return p->rc;
}

/* Writes s in double quotes, bytes outside printable ASCII as \xNN, and
 * at most max characters of it (then "..."), so that a message never
 * carries control characters or an unbounded value. */
static const char *quote_n(char *out, size_t outlen, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; s[i] && o + 9 < outlen; ++i) {
		unsigned char c = (unsigned char)s[i];

		if (i == max) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

#define QBUF (QUOTE_MAX * 4 + 8)
#define Q(buf, s) quote_n(buf, sizeof(buf), s, QUOTE_MAX)

static void format_ipv4(char out[16], const uint8_t a[4])
{
	char *o = out;
	int i;

	for (i = 0; i < 4; ++i) {
		unsigned v = a[i];

		if (i)
			*o++ = '.';
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
	}
	*o = '\0';
}

static void format_ipv6(char out[46], const uint8_t a[16])
{
	if (!inet_ntop(AF_INET6, a, out, 46))
		strcpy(out, "?");
}

static void key_text(char out[KEY_B64_LEN + 1], const struct netconf_peer *peer)
{
	if (peer->key_form == KEY_FORM_URL) {
		key_to_base64url(out, peer->key);
	} else {
		key_to_base64(out, peer->key);
		if (peer->key_form == KEY_FORM_STD)
			out[KEY_B64URL_LEN] = '\0';
	}
}

/* A peer as messages name it: "hostname" (KEY), or the key alone. */
static const char *peer_label(char *out, size_t outlen, const struct netconf_peer *peer)
{
	char k[KEY_B64_LEN + 1];

	key_text(k, peer);
	if (peer->hostname[0])
		snprintf(out, outlen, "\"%s\" (%s)", peer->hostname, k);
	else
		snprintf(out, outlen, "\"%s\"", k);
	return out;
}

/* ---- lexical pieces ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* A network name or hostname: 1..63 of [a-z0-9_-], not starting or ending
 * with '-' (a DNS label; '_' kept because WireHub's own examples use it). */
static bool valid_label(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NETCONF_MAX_LABEL || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; ++i)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* A DNS name in an endpoint: labels of [A-Za-z0-9_-] (1..63, no '-' at
 * either end) joined by dots, 253 characters at most, one final dot
 * allowed. */
static bool valid_dns_name(const char *s, size_t n)
{
	size_t i, start = 0;

	if (n && s[n - 1] == '.')
		--n;
	if (n == 0 || n > NETCONF_MAX_HOST)
		return false;
	for (i = 0; i <= n; ++i) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > NETCONF_MAX_LABEL || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
		} else if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '_') {
			return false;
		}
	}
	return true;
}

static bool all_digits_dots(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; ++i)
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	return n > 0;
}

/* Unsigned decimal, digits only, value <= max. */
static bool parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; ++i) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Dotted-quad IPv4, four decimal parts of 0..255 without leading zeros
 * (which some parsers read as octal). */
static bool parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; ++part) {
		size_t start = i;
		unsigned long v;

		while (i < n && is_digit(s[i]))
			++i;
		if (i - start > 1 && s[start] == '0')
			return false;
		if (!parse_uint(s + start, i - start, 255, &v))
			return false;
		out[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return false;
			++i;
		}
	}
	return i == n;
}

static bool parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
	char tmp[46];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

static uint32_t load_be32(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static void store_be32(uint8_t a[4], uint32_t v)
{
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

static uint32_t mask4(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* mask[i] has the first prefix bits of the 128 set. */
static void mask6(uint8_t mask[16], unsigned prefix)
{
	unsigned i;

	for (i = 0; i < 16; ++i) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * i : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

static bool in_subnet6(const uint8_t a[16], const uint8_t net[16], unsigned prefix)
{
	uint8_t m[16];
	int i;

	mask6(m, prefix);
	for (i = 0; i < 16; ++i)
		if ((a[i] & m[i]) != net[i])
			return false;
	return true;
}

static bool host_part_zero6(const uint8_t a[16], unsigned prefix)
{
	uint8_t m[16];
	int i;

	mask6(m, prefix);
	for (i = 0; i < 16; ++i)
		if (a[i] & (uint8_t)~m[i])
			return false;
	return true;
}

/* ---- derivations ---- */

/* BLAKE2b-256(label || 0 || ns || 0 || name || 0 || key): the one hash
 * behind every derived value, with lengths fixed by the NUL separators
 * (none of the strings can hold a NUL). */
static void derive_hash(uint8_t out[32], const char *label, const char *ns, const char *name,
			const uint8_t *key)
{
	uint8_t buf[16 + NETCONF_MAX_NAMESPACE + NETCONF_MAX_LABEL + 3];
	size_t nl = strlen(label), nn = strlen(ns), nm = strlen(name), o = 0;
	static const uint8_t none[1];

	memcpy(buf + o, label, nl + 1);
	o += nl + 1;
	memcpy(buf + o, ns, nn + 1);
	o += nn + 1;
	memcpy(buf + o, name, nm + 1);
	o += nm + 1;
	blake2b_256(out, buf, o, key ? key : none, key ? NETCONF_KEY_LEN : 0);
}

bool netconf_derive_subnet6(const char *ns, const char *name, uint8_t out[16])
{
	uint8_t h[32];

	if (!name[0] || strlen(name) > NETCONF_MAX_LABEL || strlen(ns) > NETCONF_MAX_NAMESPACE)
		return false;
	derive_hash(h, LABEL_SUBNET6, ns, name, NULL);
	/* RFC 4193: fd00::/8, then a 40-bit global ID, as a /48. */
	memset(out, 0, 16);
	out[0] = 0xfd;
	memcpy(out + 1, h, 5);
	return true;
}

bool netconf_derive_ipv4(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[4])
{
	uint8_t h[32];
	uint64_t v = 0, count;
	unsigned hostbits;
	int i;

	if (!conf->has_subnet || conf->prefix > 30)
		return false;
	hostbits = 32u - conf->prefix;
	/* Hosts 1 .. 2^hostbits - 2: never the network or broadcast address. */
	count = ((uint64_t)1 << hostbits) - 2;
	derive_hash(h, LABEL_IPV4, conf->ns, conf->name, key);
	for (i = 0; i < 8; ++i)
		v = v << 8 | h[i];
	store_be32(out, load_be32(conf->subnet) | (uint32_t)(v % count + 1));
	return true;
}

bool netconf_derive_ipv6(const struct netconf *conf, const uint8_t key[NETCONF_KEY_LEN],
			 uint8_t out[16])
{
	uint8_t h[32], m[16];
	int i;

	if (!conf->has_subnet6)
		return false;
	derive_hash(h, LABEL_IPV6, conf->ns, conf->name, key);
	mask6(m, conf->prefix6);
	for (i = 0; i < 16; ++i)
		out[i] = (uint8_t)((conf->subnet6[i] & m[i]) | (h[i] & ~m[i]));
	/* The all-zero host part is the subnet-router anycast address. */
	if (host_part_zero6(out, conf->prefix6))
		out[15] |= 1;
	return true;
}

/* ---- directives ---- */

static const struct {
	const char *name;
	enum netconf_kind kind;
} kinds[] = {
	{ "boot", NETCONF_BOOT },
	{ "peer", NETCONF_PEER },
	{ "trust", NETCONF_TRUST },
	{ "router", NETCONF_ROUTER },
	{ "alias", NETCONF_ALIAS },
};

const char *netconf_kind_name(enum netconf_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "?";
}

bool netconf_kind_is_trusted(enum netconf_kind kind)
{
	return kind == NETCONF_TRUST || kind == NETCONF_ROUTER || kind == NETCONF_ALIAS;
}

/* A directive with exactly one value. */
static int one_value(struct parser *p, char **tok, size_t ntok)
{
	char q[QBUF];

	if (ntok < 2)
		return fail(p, p->lineno, "\"%s\" needs a value", tok[0]);
	if (ntok > 2)
		return fail(p, p->lineno, "unexpected %s: \"%s\" takes one value", Q(q, tok[2]),
			    tok[0]);
	return 0;
}

static int set_once(struct parser *p, unsigned *line, const char *what)
{
	if (*line)
		return fail(p, p->lineno, "\"%s\" is already set on line %u", what, *line);
	*line = p->lineno;
	return 0;
}

/* "A.B.C.D/N" or "X:Y::/N" split at the slash; the prefix length checked
 * against 1..max. */
static int parse_prefix(struct parser *p, const char *tok, bool v6, uint8_t *addr,
			uint8_t *prefix)
{
	const char *slash = strchr(tok, '/');
	size_t alen = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned long max = v6 ? 120 : 32, n;
	char q[QBUF], a[QUOTE_MAX + 1];

	if (alen > QUOTE_MAX)
		alen = QUOTE_MAX;
	memcpy(a, tok, alen);
	a[alen] = '\0';
	if (!(v6 ? parse_ipv6(tok, alen, addr) : parse_ipv4(tok, alen, addr)))
		return fail(p, p->lineno, "%s is not an %s address", Q(q, a), v6 ? "IPv6" : "IPv4");
	if (!slash)
		return fail(p, p->lineno, "%s has no prefix length: write it as %s",
			    Q(q, tok), v6 ? "PREFIX/N, as fd00:1:2::/48" : "A.B.C.D/N, as 10.0.42.0/24");
	if (!parse_uint(slash + 1, strlen(slash + 1), max, &n) || n == 0 ||
	    (slash[1] == '0' && slash[2]))
		return fail(p, p->lineno, "%s is not a prefix length (1 to %lu)", Q(q, slash + 1), max);
	*prefix = (uint8_t)n;
	return 0;
}

static int do_name(struct parser *p, char **tok, size_t ntok)
{
	char q[QBUF];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_name, "name"))
		return p->rc;
	if (!valid_label(tok[1]))
		return fail(p, p->lineno,
			    "%s is not a valid network name: use 1 to 63 lowercase letters, "
			    "digits, '-' or '_'", Q(q, tok[1]));
	strcpy(p->conf->name, tok[1]);
	return 0;
}

static int do_subnet(struct parser *p, char **tok, size_t ntok)
{
	struct netconf *c = p->conf;
	uint8_t a[4];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_subnet, "subnet") ||
	    parse_prefix(p, tok[1], false, a, &c->prefix))
		return p->rc;
	/* Host bits are cleared: "10.0.42.1/24" is 10.0.42.0/24. */
	store_be32(c->subnet, load_be32(a) & mask4(c->prefix));
	c->has_subnet = true;
	return 0;
}

static int do_subnet6(struct parser *p, char **tok, size_t ntok)
{
	struct netconf *c = p->conf;
	uint8_t a[16], m[16];
	int i;

	if (one_value(p, tok, ntok) || set_once(p, &p->line_subnet6, "subnet6") ||
	    parse_prefix(p, tok[1], true, a, &c->prefix6))
		return p->rc;
	mask6(m, c->prefix6);
	for (i = 0; i < 16; ++i)
		c->subnet6[i] = a[i] & m[i];
	c->has_subnet6 = true;
	return 0;
}

static int do_workbit(struct parser *p, char **tok, size_t ntok)
{
	unsigned long v;
	char q[QBUF];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_workbit, "workbit"))
		return p->rc;
	if (!parse_uint(tok[1], strlen(tok[1]), NETCONF_MAX_WORKBIT, &v))
		return fail(p, p->lineno, "%s is not a workbit (0 to %d)", Q(q, tok[1]),
			    NETCONF_MAX_WORKBIT);
	p->conf->workbit = (unsigned)v;
	return 0;
}

static int do_namespace(struct parser *p, char **tok, size_t ntok)
{
	size_t n, i;
	char q[QBUF];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_ns, "namespace"))
		return p->rc;
	n = strlen(tok[1]);
	for (i = 0; i < n; ++i)
		if ((unsigned char)tok[1][i] < 0x21 || (unsigned char)tok[1][i] > 0x7e)
			break;
	if (n > NETCONF_MAX_NAMESPACE || i < n)
		return fail(p, p->lineno,
			    "%s is not a valid namespace: use 1 to %d printable ASCII characters",
			    Q(q, tok[1]), NETCONF_MAX_NAMESPACE);
	strcpy(p->conf->ns, tok[1]);
	return 0;
}

/* An endpoint: "host", "host:port", "A.B.C.D[:port]", "[v6][:port]", or a
 * bare IPv6 address (two colons or more, no port). */
static int parse_endpoint(struct parser *p, const char *tok, struct netconf_endpoint *ep)
{
	size_t n = strlen(tok), hlen;
	const char *host = tok, *port = NULL, *colon;
	unsigned long v;
	char q[QBUF], q2[QBUF];

	if (tok[0] == '[') {
		const char *close = strchr(tok, ']');

		if (!close)
			return fail(p, p->lineno, "%s is not an endpoint: no ']'", Q(q, tok));
		host = tok + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return fail(p, p->lineno, "%s is not an endpoint: expected ':' after ']'",
				    Q(q, tok));
		if (!parse_ipv6(host, hlen, ep->addr))
			return fail(p, p->lineno, "%s is not an endpoint: not an IPv6 address "
				    "in the brackets", Q(q, tok));
		ep->type = NETCONF_ENDPOINT_IPV6;
	} else if ((colon = strchr(tok, ':')) && strchr(colon + 1, ':')) {
		if (!parse_ipv6(tok, n, ep->addr))
			return fail(p, p->lineno, "%s is not an IPv6 address (write [ADDRESS]:PORT "
				    "for a port)", Q(q, tok));
		ep->type = NETCONF_ENDPOINT_IPV6;
	} else {
		hlen = colon ? (size_t)(colon - tok) : n;
		if (colon)
			port = colon + 1;
		if (all_digits_dots(tok, hlen)) {
			if (!parse_ipv4(tok, hlen, ep->addr)) {
				char a[QUOTE_MAX + 1];
				size_t l = hlen < QUOTE_MAX ? hlen : QUOTE_MAX;

				memcpy(a, tok, l);
				a[l] = '\0';
				return fail(p, p->lineno, "%s is not an IPv4 address", Q(q, a));
			}
			ep->type = NETCONF_ENDPOINT_IPV4;
		} else {
			if (!valid_dns_name(tok, hlen))
				return fail(p, p->lineno, "%s is not a valid endpoint host name",
					    Q(q, tok));
			memcpy(ep->host, tok, hlen);
			ep->host[hlen] = '\0';
			ep->type = NETCONF_ENDPOINT_NAME;
		}
	}
	if (port) {
		if (!parse_uint(port, strlen(port), 65535, &v) || v == 0 || port[0] == '0')
			return fail(p, p->lineno, "%s is not a port (1 to 65535) in endpoint %s",
				    Q(q, port), Q(q2, tok));
		ep->port = (uint16_t)v;
	} else {
		ep->port = NETCONF_DEFAULT_PORT;
	}
	if (ep->type == NETCONF_ENDPOINT_IPV4)
		format_ipv4(ep->host, ep->addr);
	else if (ep->type == NETCONF_ENDPOINT_IPV6)
		format_ipv6(ep->host, ep->addr);
	return 0;
}

static bool decode_key(const char *tok, uint8_t key[NETCONF_KEY_LEN], uint8_t *form)
{
	size_t n = strlen(tok);

	if (!key_from_base64(key, tok, n))
		return false;
	if (n == KEY_B64_LEN)
		*form = KEY_FORM_STD_PADDED;
	else if (strchr(tok, '-') || strchr(tok, '_'))
		*form = KEY_FORM_URL;
	else if (strchr(tok, '+') || strchr(tok, '/'))
		*form = KEY_FORM_STD;
	else
		*form = KEY_FORM_URL;	/* the same in both alphabets */
	return true;
}

/* A token close to a key's length made of base64 characters, which is
 * more likely a mangled key than anything else. */
static bool looks_like_key(const char *tok)
{
	size_t n = strlen(tok), i;

	if (n < 40 || n > 48)
		return false;
	for (i = 0; i < n; ++i)
		if (!is_alpha(tok[i]) && !is_digit(tok[i]) && !strchr("+/-_=", tok[i]))
			return false;
	return true;
}

/* Shows only the start of a bad key: it may be a private key pasted by
 * mistake, and messages end up in logs. */
static const char *quote_key(char *out, size_t outlen, const char *tok)
{
	return quote_n(out, outlen, tok, KEY_SHOWN);
}

static struct netconf_peer *new_peer(struct parser *p)
{
	struct netconf *c = p->conf;

	if (c->n_peers == NETCONF_MAX_PEERS) {
		fail(p, p->lineno, "more than %d peers", NETCONF_MAX_PEERS);
		return NULL;
	}
	if (c->n_peers == p->cap_peers) {
		size_t cap = p->cap_peers ? p->cap_peers * 2 : 16;
		struct netconf_peer *n = realloc(c->peers, cap * sizeof(*n));

		if (!n) {
			fail_errno(p, ENOMEM);
			return NULL;
		}
		c->peers = n;
		p->cap_peers = cap;
	}
	return memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
}

static int do_peer(struct parser *p, enum netconf_kind kind, char **tok, size_t ntok)
{
	struct netconf_peer *peer = new_peer(p);
	bool has_key = false, has_endpoint = false, trusted = netconf_kind_is_trusted(kind);
	char q[QBUF];
	size_t i;

	if (!peer)
		return p->rc;
	peer->kind = kind;
	peer->line = p->lineno;
	for (i = 1; i < ntok; ++i) {
		const char *t = tok[i];
		uint8_t key[NETCONF_KEY_LEN], form;

		if (decode_key(t, key, &form)) {
			if (has_key)
				return fail(p, p->lineno, "a second public key %s", Q(q, t));
			memcpy(peer->key, key, sizeof(key));
			peer->key_form = form;
			has_key = true;
		} else if (has_key) {
			/* After the key: the endpoint, then nothing. */
			if (has_endpoint)
				return fail(p, p->lineno, "unexpected %s after the endpoint", Q(q, t));
			if (parse_endpoint(p, t, &peer->endpoint))
				return p->rc;
			has_endpoint = true;
		} else if (strchr(t, ':')) {
			/* Before the key: a static address, or the hostname. */
			if (!parse_ipv6(t, strlen(t), peer->ipv6))
				return fail(p, p->lineno, "%s is not an IPv6 address", Q(q, t));
			if (!trusted)
				goto static_on_untrusted;
			if (peer->static6)
				return fail(p, p->lineno, "a second static IPv6 address %s", Q(q, t));
			peer->static6 = peer->has_ipv6 = true;
		} else if (is_digit(t[0]) && strchr(t, '.')) {
			if (!parse_ipv4(t, strlen(t), peer->ipv4))
				return fail(p, p->lineno, "%s is not an IPv4 address", Q(q, t));
			if (!trusted)
				goto static_on_untrusted;
			if (peer->static4)
				return fail(p, p->lineno, "a second static IPv4 address %s", Q(q, t));
			peer->static4 = peer->has_ipv4 = true;
		} else if (valid_label(t)) {
			if (peer->hostname[0])
				return fail(p, p->lineno, "a second hostname %s (the first is \"%s\")",
					    Q(q, t), peer->hostname);
			strcpy(peer->hostname, t);
		} else if (looks_like_key(t)) {
			return fail(p, p->lineno, "%s (%zu characters) is not a valid public key: "
				    "expected 32 bytes in base64, 43 or 44 characters",
				    quote_key(q, sizeof(q), t), strlen(t));
		} else {
			return fail(p, p->lineno,
				    "%s is not a valid hostname: use 1 to 63 lowercase letters, "
				    "digits, '-' or '_'", Q(q, t));
		}
		continue;
static_on_untrusted:
		return fail(p, p->lineno,
			    "%s: only trust, router and alias lines take a static address",
			    Q(q, t));
	}
	if (!has_key)
		return fail(p, p->lineno, "\"%s\" line has no public key", tok[0]);
	if (kind == NETCONF_BOOT && !has_endpoint)
		return fail(p, p->lineno, "\"boot\" line needs an endpoint after the key "
			    "(HOST[:PORT])");
	if (!has_endpoint)
		peer->endpoint.port = NETCONF_DEFAULT_PORT;
	p->conf->n_peers++;
	return 0;
}

static int process_line(struct parser *p, char *line, size_t len)
{
	char *tok[MAX_TOKENS];
	size_t ntok = 0, i = 0;
	char q[QBUF];

	/* Split on spaces and tabs; a word starting with '#' starts a comment. */
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			++i;
		if (i == len || line[i] == '#')
			break;
		if (ntok == MAX_TOKENS)
			return fail(p, p->lineno, "too many words (more than %d)", MAX_TOKENS);
		tok[ntok++] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			++i;
		line[i++] = '\0';	/* line has room for one byte past len */
	}
	if (ntok == 0)
		return 0;

	if (!strcmp(tok[0], "name"))
		return do_name(p, tok, ntok);
	if (!strcmp(tok[0], "subnet"))
		return do_subnet(p, tok, ntok);
	if (!strcmp(tok[0], "subnet6"))
		return do_subnet6(p, tok, ntok);
	if (!strcmp(tok[0], "workbit"))
		return do_workbit(p, tok, ntok);
	if (!strcmp(tok[0], "namespace"))
		return do_namespace(p, tok, ntok);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i)
		if (!strcmp(tok[0], kinds[i].name))
			return do_peer(p, kinds[i].kind, tok, ntok);
	return fail(p, p->lineno, "unknown directive %s", Q(q, tok[0]));
}

/* ---- the line reader ---- */

static int end_line(struct parser *p)
{
	size_t len = p->len;
	size_t i;
	char q[16];

	p->lineno++;
	p->len = 0;
	if (len && p->line[len - 1] == '\r')
		--len;
	if (len > NETCONF_MAX_LINE)
		return fail(p, p->lineno, "line is longer than %d bytes", NETCONF_MAX_LINE);
	/* Control bytes are refused everywhere but in comments, where they
	 * are harmless; the tokenizer stops at the comment, so check up to it. */
	for (i = 0; i < len; ++i) {
		unsigned char c = (unsigned char)p->line[i];

		if (c == '#' && (i == 0 || p->line[i - 1] == ' ' || p->line[i - 1] == '\t'))
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, p->lineno, "control character %s", quote_n(q, sizeof(q),
				    (char[]){ (char)c, 0 }, 1));
	}
	p->line[len] = '\0';
	return process_line(p, p->line, len);
}

/* Feeds bytes to the line reader; returns p->rc. */
static int feed(struct parser *p, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n && !p->rc; ++i) {
		char c = data[i];

		if (c == '\n') {
			end_line(p);
		} else if (c == '\0') {
			fail(p, p->lineno + 1, "NUL byte at column %zu", p->len + 1);
		} else if (p->len == NETCONF_MAX_LINE + 1) {
			/* Room for a CR is kept; anything more is too long. */
			fail(p, p->lineno + 1, "line is longer than %d bytes", NETCONF_MAX_LINE);
		} else {
			p->line[p->len++] = c;
		}
	}
	return p->rc;
}

/* ---- after the last line ---- */

static int cmp_key(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = sodium_compare(x->key, y->key, NETCONF_KEY_LEN);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_hostname(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = strcmp(x->hostname, y->hostname);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Addresses sorted with the key as tie-break, never the line: the pair a
 * collision message names is then the same in any order of the lines. */
static int cmp_ipv4(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv4, y->ipv4, 4);

	return c ? c : sodium_compare(x->key, y->key, NETCONF_KEY_LEN);
}

static int cmp_ipv6(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv6, y->ipv6, 16);

	return c ? c : sodium_compare(x->key, y->key, NETCONF_KEY_LEN);
}

/* In v, sorted so that equal values are adjacent with lines ascending,
 * finds the repeated value whose second line comes first in the file:
 * *first is the earlier line, *second the repeat.  eq tells equal values. */
static bool first_repeat(struct netconf_peer **v, size_t n,
			 bool (*eq)(const struct netconf_peer *, const struct netconf_peer *),
			 const struct netconf_peer **first, const struct netconf_peer **second)
{
	size_t i, group = 0;
	bool found = false;

	for (i = 1; i < n; ++i) {
		if (!eq(v[i], v[group])) {
			group = i;
			continue;
		}
		if (i == group + 1 && (!found || v[i]->line < (*second)->line)) {
			*first = v[group];
			*second = v[i];
			found = true;
		}
	}
	return found;
}

static bool eq_key(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return sodium_memcmp(a->key, b->key, NETCONF_KEY_LEN) == 0;
}

static bool eq_hostname(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !strcmp(a->hostname, b->hostname);
}

static bool eq_ipv4(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !memcmp(a->ipv4, b->ipv4, 4);
}

static bool eq_ipv6(const struct netconf_peer *a, const struct netconf_peer *b)
{
	return !memcmp(a->ipv6, b->ipv6, 16);
}

/* Fills v with the peers that pass keep; returns how many. */
static size_t select_peers(struct netconf *c, struct netconf_peer **v,
			   bool (*keep)(const struct netconf_peer *))
{
	size_t i, n = 0;

	for (i = 0; i < c->n_peers; ++i)
		if (keep(&c->peers[i]))
			v[n++] = &c->peers[i];
	return n;
}

static bool has_hostname(const struct netconf_peer *peer)
{
	return peer->hostname[0] != '\0';
}

static bool has_static4(const struct netconf_peer *peer)
{
	return peer->static4;
}

static bool has_static6(const struct netconf_peer *peer)
{
	return peer->static6;
}

static bool has_ipv4(const struct netconf_peer *peer)
{
	return peer->has_ipv4;
}

static bool has_ipv6(const struct netconf_peer *peer)
{
	return peer->has_ipv6;
}

static int cmp_static4(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv4, y->ipv4, 4);

	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_static6(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;
	int c = memcmp(x->ipv6, y->ipv6, 16);

	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static bool is_trusted(const struct netconf_peer *peer)
{
	return netconf_kind_is_trusted(peer->kind);
}

static bool any_peer(const struct netconf_peer *peer)
{
	(void)peer;
	return true;
}

/* Static addresses must lie in their subnet, and be host addresses. */
static int check_statics(struct parser *p)
{
	struct netconf *c = p->conf;
	char a[46], s[46];
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *peer = &c->peers[i];

		if (peer->static4) {
			uint32_t v = load_be32(peer->ipv4), m = mask4(c->prefix);

			format_ipv4(a, peer->ipv4);
			format_ipv4(s, c->subnet);
			if ((v & m) != load_be32(c->subnet))
				return fail(p, peer->line, "\"%s\" is outside the subnet %s/%u (line %u)",
					    a, s, c->prefix, p->line_subnet);
			if (c->prefix <= 30 && (v == (v & m) || v == (v | ~m)))
				return fail(p, peer->line, "\"%s\" is the %s address of the subnet "
					    "%s/%u, not a host address", a,
					    v == (v & m) ? "network" : "broadcast", s, c->prefix);
		}
		if (peer->static6) {
			format_ipv6(a, peer->ipv6);
			format_ipv6(s, c->subnet6);
			if (!in_subnet6(peer->ipv6, c->subnet6, c->prefix6))
				return fail(p, peer->line, "\"%s\" is outside the subnet6 %s/%u%s", a,
					    s, c->prefix6, c->subnet6_derived ?
					    " (derived from the name; a \"subnet6\" line chooses another)" :
					    "");
			if (host_part_zero6(peer->ipv6, c->prefix6))
				return fail(p, peer->line, "\"%s\" is the subnet6 prefix itself, not "
					    "a host address", a);
		}
	}
	return 0;
}

/* Keys, hostnames and static addresses are each used once; a repeat names
 * both lines. */
static int check_repeats(struct parser *p, struct netconf_peer **v)
{
	struct netconf *c = p->conf;
	const struct netconf_peer *a = NULL, *b = NULL;
	char t[KEY_B64_LEN + 46];
	size_t n;

	n = select_peers(c, v, any_peer);
	qsort(v, n, sizeof(*v), cmp_key);
	if (first_repeat(v, n, eq_key, &a, &b)) {
		key_text(t, b);
		return fail(p, b->line, "public key \"%s\" is already on line %u", t, a->line);
	}
	n = select_peers(c, v, has_hostname);
	qsort(v, n, sizeof(*v), cmp_hostname);
	if (first_repeat(v, n, eq_hostname, &a, &b))
		return fail(p, b->line, "hostname \"%s\" is already on line %u", b->hostname, a->line);
	n = select_peers(c, v, has_static4);
	qsort(v, n, sizeof(*v), cmp_static4);
	if (first_repeat(v, n, eq_ipv4, &a, &b)) {
		format_ipv4(t, b->ipv4);
		return fail(p, b->line, "static address \"%s\" is already on line %u", t, a->line);
	}
	n = select_peers(c, v, has_static6);
	qsort(v, n, sizeof(*v), cmp_static6);
	if (first_repeat(v, n, eq_ipv6, &a, &b)) {
		format_ipv6(t, b->ipv6);
		return fail(p, b->line, "static address \"%s\" is already on line %u", t, a->line);
	}
	return 0;
}

static int derive_addresses(struct parser *p)
{
	struct netconf *c = p->conf;
	char lb[160], s[16];
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		struct netconf_peer *peer = &c->peers[i];

		if (!is_trusted(peer))
			continue;
		if (!peer->static4) {
			if (!netconf_derive_ipv4(c, peer->key, peer->ipv4)) {
				format_ipv4(s, c->subnet);
				return fail(p, peer->line, "the subnet %s/%u has no room for derived "
					    "addresses: give %s a static address", s, c->prefix,
					    peer_label(lb, sizeof(lb), peer));
			}
			peer->has_ipv4 = true;
		}
		if (!peer->static6) {
			/* has_subnet6 holds: trusted peers need a name. */
			netconf_derive_ipv6(c, peer->key, peer->ipv6);
			peer->has_ipv6 = true;
		}
	}
	return 0;
}

/* Two peers with one address: at least one derived it (static repeats are
 * caught before).  The peers are sorted by address then key, so the first
 * colliding pair, and so the message, is the same in any line order. */
static int check_collisions(struct parser *p, struct netconf_peer **v, bool v6)
{
	struct netconf *c = p->conf;
	const struct netconf_peer *x = NULL, *y = NULL;
	char a[46], l1[160], l2[160];
	size_t n, i;

	n = select_peers(c, v, v6 ? has_ipv6 : has_ipv4);
	qsort(v, n, sizeof(*v), v6 ? cmp_ipv6 : cmp_ipv4);
	for (i = 1; i < n && !x; ++i)
		if (v6 ? eq_ipv6(v[i - 1], v[i]) : eq_ipv4(v[i - 1], v[i])) {
			x = v[i - 1];
			y = v[i];
		}
	if (!x)
		return 0;
	if (v6)
		format_ipv6(a, x->ipv6);
	else
		format_ipv4(a, x->ipv4);
	if ((v6 ? x->static6 : x->static4) || (v6 ? y->static6 : y->static4)) {
		const struct netconf_peer *st = (v6 ? x->static6 : x->static4) ? x : y;
		const struct netconf_peer *dv = st == x ? y : x;

		return fail(p, dv->line, "%s derives %s, the static address of %s on line %u: "
			    "give it a static address", peer_label(l1, sizeof(l1), dv), a,
			    peer_label(l2, sizeof(l2), st), st->line);
	}
	if (x->line < y->line) {
		const struct netconf_peer *t = x;

		x = y;
		y = t;
	}
	return fail(p, x->line, "%s and %s on line %u both derive %s: give one of them a "
		    "static address", peer_label(l1, sizeof(l1), x),
		    peer_label(l2, sizeof(l2), y), y->line, a);
}

static int finish(struct parser *p)
{
	struct netconf *c = p->conf;
	struct netconf_peer **v = NULL;
	size_t i;

	/* A last line without its line end. */
	if (!p->rc && p->len)
		end_line(p);
	if (p->rc)
		return p->rc;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *peer = &c->peers[i];

		if (!is_trusted(peer))
			continue;
		if (!c->name[0])
			return fail(p, peer->line, "a \"%s\" line needs the network's name: add a "
				    "\"name\" line", netconf_kind_name(peer->kind));
		if (!c->has_subnet)
			return fail(p, peer->line, "a \"%s\" line needs the network's subnet: add a "
				    "\"subnet A.B.C.D/N\" line", netconf_kind_name(peer->kind));
		break;
	}
	if (!c->has_subnet6 && c->name[0]) {
		netconf_derive_subnet6(c->ns, c->name, c->subnet6);
		c->prefix6 = 48;
		c->has_subnet6 = c->subnet6_derived = true;
	}

	v = malloc((c->n_peers + 1) * sizeof(*v));
	c->by_key = malloc((c->n_peers + 1) * sizeof(*c->by_key));
	if (!v || !c->by_key) {
		fail_errno(p, ENOMEM);
		goto out;
	}
	if (check_statics(p) || check_repeats(p, v) || derive_addresses(p) ||
	    check_collisions(p, v, false) || check_collisions(p, v, true))
		goto out;

	select_peers(c, c->by_key, any_peer);
	qsort(c->by_key, c->n_peers, sizeof(*c->by_key), cmp_key);
	c->n_hostnames = select_peers(c, v, has_hostname);
	c->by_hostname = malloc((c->n_hostnames + 1) * sizeof(*c->by_hostname));
	if (!c->by_hostname) {
		fail_errno(p, ENOMEM);
		goto out;
	}
	memcpy(c->by_hostname, v, c->n_hostnames * sizeof(*v));
	qsort(c->by_hostname, c->n_hostnames, sizeof(*v), cmp_hostname);
out:
	free(v);
	return p->rc;
}

/* ---- entry points ---- */

static int begin(struct parser *p, const char *name, char *err, size_t errlen)
{
	memset(p, 0, offsetof(struct parser, line));
	p->src = name ? name : "(network file)";
	p->err = err;
	p->errlen = err ? errlen : 0;
	if (p->errlen)
		err[0] = '\0';
	p->conf = calloc(1, sizeof(*p->conf));
	if (!p->conf)
		return fail_errno(p, ENOMEM);
	p->conf->workbit = NETCONF_DEFAULT_WORKBIT;
	strcpy(p->conf->ns, WORKBIT_DEFAULT_NAMESPACE);
	return 0;
}

static int end(struct parser *p, struct netconf **out)
{
	if (!p->rc)
		finish(p);
	if (p->rc) {
		netconf_free(p->conf);
		*out = NULL;
		return p->rc;
	}
	*out = p->conf;
	return 0;
}

int netconf_parse_buffer(const char *name, const char *buf, size_t len,
			 struct netconf **out, char *err, size_t errlen)
{
	struct parser p;

	if (!begin(&p, name, err, errlen))
		feed(&p, buf, len);
	return end(&p, out);
}

int netconf_parse_stream(FILE *f, const char *name, struct netconf **out,
			 char *err, size_t errlen)
{
	struct parser p;
	char buf[READ_CHUNK];

	if (!begin(&p, name, err, errlen)) {
		for (;;) {
			size_t n = fread(buf, 1, sizeof(buf), f);

			if (n && feed(&p, buf, n))
				break;
			if (n < sizeof(buf)) {
				if (ferror(f))
					fail_errno(&p, errno ? errno : EIO);
				break;
			}
		}
	}
	return end(&p, out);
}

int netconf_parse_file(const char *path, struct netconf **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc, e;

	if (!f) {
		e = errno;
		*out = NULL;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOMEM ? -ENOMEM : -e;
	}
	rc = netconf_parse_stream(f, path, out, err, errlen);
	fclose(f);
	return rc;
}

void netconf_free(struct netconf *conf)
{
	if (!conf)
		return;
	free(conf->peers);
	free(conf->by_key);
	free(conf->by_hostname);
	free(conf);
}

/* ---- lookups ---- */

static int cmp_find_key(const void *k, const void *e)
{
	const struct netconf_peer *peer = *(const struct netconf_peer *const *)e;

	return sodium_compare(k, peer->key, NETCONF_KEY_LEN);
}

static int cmp_find_hostname(const void *k, const void *e)
{
	const struct netconf_peer *peer = *(const struct netconf_peer *const *)e;

	return strcmp(k, peer->hostname);
}

const struct netconf_peer *netconf_find(const struct netconf *conf,
					const uint8_t key[NETCONF_KEY_LEN])
{
	struct netconf_peer **e;

	if (!conf || !conf->n_peers)
		return NULL;
	e = bsearch(key, conf->by_key, conf->n_peers, sizeof(*e), cmp_find_key);
	return e ? *e : NULL;
}

const struct netconf_peer *netconf_find_hostname(const struct netconf *conf,
						 const char *hostname)
{
	struct netconf_peer **e;

	if (!conf || !conf->n_hostnames || !hostname[0])
		return NULL;
	e = bsearch(hostname, conf->by_hostname, conf->n_hostnames, sizeof(*e),
		    cmp_find_hostname);
	return e ? *e : NULL;
}

const struct netconf_peer *netconf_find_self(const struct netconf *conf,
					     const uint8_t public_key[NETCONF_KEY_LEN])
{
	const struct netconf_peer *peer = netconf_find(conf, public_key);

	return peer && netconf_kind_is_trusted(peer->kind) ? peer : NULL;
}

/* ---- diff ---- */

static bool same_endpoint(const struct netconf_endpoint *a, const struct netconf_endpoint *b)
{
	if (a->type != b->type || a->port != b->port || strcmp(a->host, b->host))
		return false;
	if (a->type == NETCONF_ENDPOINT_IPV4)
		return !memcmp(a->addr, b->addr, 4);
	if (a->type == NETCONF_ENDPOINT_IPV6)
		return !memcmp(a->addr, b->addr, 16);
	return true;
}

static unsigned peer_changes(const struct netconf_peer *a, const struct netconf_peer *b)
{
	unsigned what = 0;

	if (a->kind != b->kind)
		what |= NETCONF_PEER_KIND;
	if (strcmp(a->hostname, b->hostname))
		what |= NETCONF_PEER_HOSTNAME;
	if (a->has_ipv4 != b->has_ipv4 || (a->has_ipv4 && memcmp(a->ipv4, b->ipv4, 4)))
		what |= NETCONF_PEER_IPV4;
	if (a->has_ipv6 != b->has_ipv6 || (a->has_ipv6 && memcmp(a->ipv6, b->ipv6, 16)))
		what |= NETCONF_PEER_IPV6;
	if (!same_endpoint(&a->endpoint, &b->endpoint))
		what |= NETCONF_PEER_ENDPOINT;
	if (a->static4 != b->static4 || a->static6 != b->static6)
		what |= NETCONF_PEER_STATIC;
	return what;
}

static int cmp_line(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_change_line(const void *a, const void *b)
{
	const struct netconf_change *x = a, *y = b;

	return x->new_peer->line < y->new_peer->line ? -1 : x->new_peer->line > y->new_peer->line;
}

int netconf_diff(const struct netconf *old_conf, const struct netconf *new_conf,
		 struct netconf_diff *diff)
{
	size_t no, nn, i = 0, j = 0;
	struct netconf empty;

	/* NULL stands for an empty file, which has the defaults. */
	memset(&empty, 0, sizeof(empty));
	strcpy(empty.ns, WORKBIT_DEFAULT_NAMESPACE);
	empty.workbit = NETCONF_DEFAULT_WORKBIT;
	memset(diff, 0, sizeof(*diff));
	if (!old_conf)
		old_conf = &empty;
	if (!new_conf)
		new_conf = &empty;
	no = old_conf->n_peers;
	nn = new_conf->n_peers;

	if (strcmp(old_conf->name, new_conf->name))
		diff->what |= NETCONF_DIFF_NAME;
	if (old_conf->has_subnet != new_conf->has_subnet ||
	    (old_conf->has_subnet && (old_conf->prefix != new_conf->prefix ||
				      memcmp(old_conf->subnet, new_conf->subnet, 4))))
		diff->what |= NETCONF_DIFF_SUBNET;
	if (old_conf->has_subnet6 != new_conf->has_subnet6 ||
	    (old_conf->has_subnet6 && (old_conf->prefix6 != new_conf->prefix6 ||
				       memcmp(old_conf->subnet6, new_conf->subnet6, 16))))
		diff->what |= NETCONF_DIFF_SUBNET6;
	if (old_conf->workbit != new_conf->workbit)
		diff->what |= NETCONF_DIFF_WORKBIT;
	if (strcmp(old_conf->ns, new_conf->ns))
		diff->what |= NETCONF_DIFF_NAMESPACE;

	diff->added = malloc((nn + 1) * sizeof(*diff->added));
	diff->removed = malloc((no + 1) * sizeof(*diff->removed));
	diff->changed = malloc(((no < nn ? no : nn) + 1) * sizeof(*diff->changed));
	if (!diff->added || !diff->removed || !diff->changed) {
		netconf_diff_free(diff);
		return -ENOMEM;
	}

	/* Both key indexes are sorted the same way: merge them. */
	while (i < no || j < nn) {
		const struct netconf_peer *a = i < no ? old_conf->by_key[i] : NULL;
		const struct netconf_peer *b = j < nn ? new_conf->by_key[j] : NULL;
		int c = !a ? 1 : !b ? -1 : sodium_compare(a->key, b->key, NETCONF_KEY_LEN);

		if (c < 0) {
			diff->removed[diff->n_removed++] = a;
			++i;
		} else if (c > 0) {
			diff->added[diff->n_added++] = b;
			++j;
		} else {
			unsigned what = peer_changes(a, b);

			if (what) {
				struct netconf_change *ch = &diff->changed[diff->n_changed++];

				ch->old_peer = a;
				ch->new_peer = b;
				ch->what = what;
			}
			++i;
			++j;
		}
	}
	qsort(diff->added, diff->n_added, sizeof(*diff->added), cmp_line);
	qsort(diff->removed, diff->n_removed, sizeof(*diff->removed), cmp_line);
	qsort(diff->changed, diff->n_changed, sizeof(*diff->changed), cmp_change_line);
	return 0;
}

bool netconf_diff_empty(const struct netconf_diff *diff)
{
	return !diff->what && !diff->n_added && !diff->n_removed && !diff->n_changed;
}

void netconf_diff_free(struct netconf_diff *diff)
{
	free(diff->added);
	free(diff->removed);
	free(diff->changed);
	memset(diff, 0, sizeof(*diff));
}
