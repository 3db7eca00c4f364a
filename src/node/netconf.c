/* The network file parser, first pass: the line reader and each line on
 * its own.
 *
 * Two passes.  This first one streams the text through a bounded line
 * buffer (fed from a FILE* in chunks, or from memory) and checks each line
 * on its own: syntax, values, the directives' arity.  The second
 * (netconf_addr.c) runs once the whole file is known and does what
 * depends on more than one line: defaults, the subnet checks of static
 * addresses, repeats, derivations and collisions.
 *
 * Nothing here calls a locale-dependent function: characters are
 * classified by hand, numbers parsed by hand, IPv4 text formatted by hand.
 * inet_pton/inet_ntop for IPv6 do not consult the locale. */
#include "src/node/netconf.h"
#include "src/node/netconf_priv.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "proto/common/byteorder.h"
#include "proto/overlay/invite.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_TOKENS = 8,		/* the longest valid line has 6 */
	QUOTE_MAX = 64,		/* characters of a value shown in a message */
	KEY_SHOWN = 10,		/* characters of a bad key shown in a message */
	READ_CHUNK = 16384,
};

/* ---- messages ---- */

int netconf_fail(struct netconf_parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc)
		return p->rc;
	if (p->lenient) {
		/* A peer line's own error: the line is left out, the rest
		 * of the file goes on. */
		va_start(ap, fmt);
		netconf_note_v(p, line, fmt, ap);
		va_end(ap);
		return -EINVAL;
	}
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

int netconf_fail_errno(struct netconf_parser *p, int e)
{
	if (p->rc)
		return p->rc;
	p->rc = e == ENOMEM ? -ENOMEM : -e;
	if (p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->src, strerror(e));
	return p->rc;
}

#define QBUF (QUOTE_MAX * 4 + 8)
#define Q(buf, s) netconf_quote_n(buf, sizeof(buf), s, QUOTE_MAX)

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
	{ "client", NETCONF_CLIENT },
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

bool netconf_kind_has_addresses(enum netconf_kind kind)
{
	return netconf_kind_is_trusted(kind) || kind == NETCONF_CLIENT;
}

/* A directive with exactly one value. */
static int one_value(struct netconf_parser *p, char **tok, size_t ntok)
{
	char q[QBUF];

	if (ntok < 2)
		return netconf_fail(p, p->lineno, "\"%s\" needs a value", tok[0]);
	if (ntok > 2)
		return netconf_fail(p, p->lineno, "unexpected %s: \"%s\" takes one value", Q(q, tok[2]),
			    tok[0]);
	return 0;
}

static int set_once(struct netconf_parser *p, unsigned *line, const char *what)
{
	if (*line)
		return netconf_fail(p, p->lineno, "\"%s\" is already set on line %u", what, *line);
	*line = p->lineno;
	return 0;
}

/* "A.B.C.D/N" or "X:Y::/N" split at the slash; the prefix length checked
 * against 1..max. */
int netconf_parse_prefix(struct netconf_parser *p, const char *tok, bool v6, uint8_t *addr,
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
	if (!(v6 ? netconf_parse_ipv6(tok, alen, addr) : netconf_parse_ipv4(tok, alen, addr)))
		return netconf_fail(p, p->lineno, "%s is not an %s address", Q(q, a), v6 ? "IPv6" : "IPv4");
	if (!slash)
		return netconf_fail(p, p->lineno, "%s has no prefix length: write it as %s",
			    Q(q, tok), v6 ? "PREFIX/N, as fd00:1:2::/48" : "A.B.C.D/N, as 10.0.42.0/24");
	if (!netconf_parse_uint(slash + 1, strlen(slash + 1), max, &n) || n == 0 ||
	    (slash[1] == '0' && slash[2]))
		return netconf_fail(p, p->lineno, "%s is not a prefix length (1 to %lu)", Q(q, slash + 1), max);
	*prefix = (uint8_t)n;
	return 0;
}

static int do_name(struct netconf_parser *p, char **tok, size_t ntok)
{
	char q[QBUF];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_name, "name"))
		return p->rc;
	if (!netconf_valid_label(tok[1]))
		return netconf_fail(p, p->lineno,
			    "%s is not a valid network name: use 1 to 63 lowercase letters, "
			    "digits, '-' or '_'", Q(q, tok[1]));
	strcpy(p->conf->name, tok[1]);
	return 0;
}

static int do_subnet(struct netconf_parser *p, char **tok, size_t ntok)
{
	struct netconf *c = p->conf;
	uint8_t a[4];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_subnet, "subnet") ||
	    netconf_parse_prefix(p, tok[1], false, a, &c->prefix))
		return p->rc;
	/* Host bits are cleared: "10.0.42.1/24" is 10.0.42.0/24. */
	be32_put(c->subnet, be32_get(a) & netconf_mask4(c->prefix));
	c->has_subnet = true;
	return 0;
}

static int do_subnet6(struct netconf_parser *p, char **tok, size_t ntok)
{
	struct netconf *c = p->conf;
	uint8_t a[16], m[16];
	int i;

	if (one_value(p, tok, ntok) || set_once(p, &p->line_subnet6, "subnet6") ||
	    netconf_parse_prefix(p, tok[1], true, a, &c->prefix6))
		return p->rc;
	netconf_mask6(m, c->prefix6);
	for (i = 0; i < 16; ++i)
		c->subnet6[i] = a[i] & m[i];
	c->has_subnet6 = true;
	return 0;
}

static int do_workbit(struct netconf_parser *p, char **tok, size_t ntok)
{
	unsigned long v;
	char q[QBUF];

	if (one_value(p, tok, ntok) || set_once(p, &p->line_workbit, "workbit"))
		return p->rc;
	if (!netconf_parse_uint(tok[1], strlen(tok[1]), NETCONF_MAX_WORKBIT, &v))
		return netconf_fail(p, p->lineno, "%s is not a workbit (0 to %d)", Q(q, tok[1]),
			    NETCONF_MAX_WORKBIT);
	p->conf->workbit = (unsigned)v;
	return 0;
}

static int do_namespace(struct netconf_parser *p, char **tok, size_t ntok)
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
		return netconf_fail(p, p->lineno,
			    "%s is not a valid namespace: use 1 to %d printable ASCII characters",
			    Q(q, tok[1]), NETCONF_MAX_NAMESPACE);
	strcpy(p->conf->ns, tok[1]);
	return 0;
}

/* An endpoint: "host", "host:port", "A.B.C.D[:port]", "[v6][:port]", or a
 * bare IPv6 address (two colons or more, no port). */
static int parse_endpoint(struct netconf_parser *p, const char *tok, struct netconf_endpoint *ep)
{
	size_t n = strlen(tok), hlen;
	const char *host = tok, *port = NULL, *colon;
	unsigned long v;
	char q[QBUF], q2[QBUF];

	if (tok[0] == '[') {
		const char *close = strchr(tok, ']');

		if (!close)
			return netconf_fail(p, p->lineno, "%s is not an endpoint: no ']'", Q(q, tok));
		host = tok + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return netconf_fail(p, p->lineno, "%s is not an endpoint: expected ':' after ']'",
				    Q(q, tok));
		if (!netconf_parse_ipv6(host, hlen, ep->addr))
			return netconf_fail(p, p->lineno, "%s is not an endpoint: not an IPv6 address "
				    "in the brackets", Q(q, tok));
		ep->type = NETCONF_ENDPOINT_IPV6;
	} else if ((colon = strchr(tok, ':')) && strchr(colon + 1, ':')) {
		if (!netconf_parse_ipv6(tok, n, ep->addr))
			return netconf_fail(p, p->lineno, "%s is not an IPv6 address (write [ADDRESS]:PORT "
				    "for a port)", Q(q, tok));
		ep->type = NETCONF_ENDPOINT_IPV6;
	} else {
		hlen = colon ? (size_t)(colon - tok) : n;
		if (colon)
			port = colon + 1;
		if (netconf_all_digits_dots(tok, hlen)) {
			if (!netconf_parse_ipv4(tok, hlen, ep->addr)) {
				char a[QUOTE_MAX + 1];
				size_t l = hlen < QUOTE_MAX ? hlen : QUOTE_MAX;

				memcpy(a, tok, l);
				a[l] = '\0';
				return netconf_fail(p, p->lineno, "%s is not an IPv4 address", Q(q, a));
			}
			ep->type = NETCONF_ENDPOINT_IPV4;
		} else {
			if (!netconf_valid_dns_name(tok, hlen))
				return netconf_fail(p, p->lineno, "%s is not a valid endpoint host name",
					    Q(q, tok));
			memcpy(ep->host, tok, hlen);
			ep->host[hlen] = '\0';
			ep->type = NETCONF_ENDPOINT_NAME;
		}
	}
	if (port) {
		if (!netconf_parse_uint(port, strlen(port), 65535, &v) || v == 0 || port[0] == '0')
			return netconf_fail(p, p->lineno, "%s is not a port (1 to 65535) in endpoint %s",
				    Q(q, port), Q(q2, tok));
		ep->port = (uint16_t)v;
	} else {
		ep->port = NETCONF_DEFAULT_PORT;
	}
	if (ep->type == NETCONF_ENDPOINT_IPV4)
		netconf_format_ipv4(ep->host, ep->addr);
	else if (ep->type == NETCONF_ENDPOINT_IPV6)
		netconf_format_ipv6(ep->host, ep->addr);
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
		if (!netconf_is_alpha(tok[i]) && !netconf_is_digit(tok[i]) && !strchr("+/-_=", tok[i]))
			return false;
	return true;
}

/* Shows only the start of a bad key: it may be a private key pasted by
 * mistake, and messages end up in logs. */
static const char *quote_key(char *out, size_t outlen, const char *tok)
{
	return netconf_quote_n(out, outlen, tok, KEY_SHOWN);
}

static struct netconf_peer *new_peer(struct netconf_parser *p)
{
	struct netconf *c = p->conf;

	if (c->n_peers == NETCONF_MAX_PEERS) {
		netconf_fail(p, p->lineno, "more than %d peers", NETCONF_MAX_PEERS);
		return NULL;
	}
	if (c->n_peers == p->cap_peers) {
		size_t cap = p->cap_peers ? p->cap_peers * 2 : 16;
		struct netconf_peer *n = realloc(c->peers, cap * sizeof(*n));

		if (!n) {
			netconf_fail_errno(p, ENOMEM);
			return NULL;
		}
		c->peers = n;
		p->cap_peers = cap;
	}
	return memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
}

static int peer_line(struct netconf_parser *p, struct netconf_peer *peer, enum netconf_kind kind,
		     char **tok, size_t ntok);

/* The expiry of an alias line, from its comment in exactly the form `wh
 * invite` writes (OVL_INVITE_NOTE_EXPIRES and 1 to 19 digits, trailing
 * blanks allowed): 0 for any other comment, or none. */
static uint64_t alias_expiry(const char *c, size_t len)
{
	static const size_t elen = sizeof(OVL_INVITE_NOTE_EXPIRES) - 1;
	uint64_t v = 0;

	while (len && (c[len - 1] == ' ' || c[len - 1] == '\t'))
		--len;
	if (len <= elen || len - elen > 19 || memcmp(c, OVL_INVITE_NOTE_EXPIRES, elen))
		return 0;
	for (size_t i = elen; i < len; ++i) {
		if (!netconf_is_digit(c[i]))
			return 0;
		v = v * 10 + (uint64_t)(c[i] - '0');
	}
	return v;
}

/* An alias line whose invitation expired is left out: its key is no
 * member, and its line is kept in expired_lines for the node to remove
 * from the file. */
static int alias_line(struct netconf_parser *p, struct netconf_peer *peer)
{
	struct netconf *c = p->conf;
	char k[KEY_B64_LEN + 1];

	peer->expires_s = p->comment ? alias_expiry(p->comment, p->comment_len) : 0;
	if (!peer->expires_s || peer->expires_s > p->now_s) {
		if (peer->expires_s && (!c->alias_next_expiry || peer->expires_s < c->alias_next_expiry))
			c->alias_next_expiry = peer->expires_s;
		return 0;
	}
	if (c->n_expired == p->cap_expired) {
		size_t cap = p->cap_expired ? p->cap_expired * 2 : 4;
		unsigned *v = realloc(c->expired_lines, cap * sizeof(*v));

		if (!v)
			return netconf_fail_errno(p, ENOMEM);
		c->expired_lines = v;
		p->cap_expired = cap;
	}
	c->expired_lines[c->n_expired++] = p->lineno;
	netconf_key_text(k, peer);
	return netconf_fail(p, p->lineno, "alias %s: its invitation expired %llu s ago (at %llu): "
			    "no member", k, (unsigned long long)(p->now_s - peer->expires_s),
			    (unsigned long long)peer->expires_s);
}

static int do_peer(struct netconf_parser *p, enum netconf_kind kind, char **tok, size_t ntok)
{
	struct netconf_peer *peer = new_peer(p);

	if (!peer)
		return p->rc;
	/* From here an error costs the line alone (netconf_fail notes it). */
	p->lenient = true;
	p->peer_lines++;
	peer_line(p, peer, kind, tok, ntok);
	p->lenient = false;
	return p->rc;
}

static int peer_line(struct netconf_parser *p, struct netconf_peer *peer, enum netconf_kind kind,
		     char **tok, size_t ntok)
{
	bool has_key = false, has_endpoint = false, trusted = netconf_kind_has_addresses(kind);
	char q[QBUF], q2[QBUF], host[NETCONF_MAX_HOSTNAME + 1];
	size_t i;

	peer->kind = kind;
	peer->line = p->lineno;
	for (i = 1; i < ntok; ++i) {
		const char *t = tok[i];
		uint8_t key[NETCONF_KEY_LEN], form;

		if (decode_key(t, key, &form)) {
			if (has_key)
				return netconf_fail(p, p->lineno, "a second public key %s", Q(q, t));
			memcpy(peer->key, key, sizeof(key));
			peer->key_form = form;
			has_key = true;
		} else if (has_key && has_endpoint && kind == NETCONF_BOOT && !strcmp(t, "tcp")) {
			/* A boot node's TCP port (doc/protocol.md 9.6). */
			unsigned long port;

			if (peer->tcp_port)
				return netconf_fail(p, p->lineno, "a second \"tcp\" port");
			if (i + 1 >= ntok || !netconf_parse_uint(tok[i + 1], strlen(tok[i + 1]), 65535, &port) || !port)
				return netconf_fail(p, p->lineno, "\"tcp\" needs a port (1 to 65535)%s%s",
					    i + 1 < ntok ? ", not " : "", i + 1 < ntok ? Q(q, tok[i + 1]) : "");
			peer->tcp_port = (uint16_t)port;
			++i;
		} else if (has_key) {
			/* After the key: the endpoint, then nothing.  A stock
			 * client is reached through a relay, never at an
			 * address of the file. */
			if (kind == NETCONF_CLIENT)
				return netconf_fail(p, p->lineno, "unexpected %s: a \"client\" line takes "
					    "no endpoint (the client reaches the members through a "
					    "relay)", Q(q, t));
			if (has_endpoint)
				return netconf_fail(p, p->lineno, "unexpected %s after the endpoint", Q(q, t));
			if (parse_endpoint(p, t, &peer->endpoint))
				return -EINVAL;
			has_endpoint = true;
		} else if (strchr(t, ':')) {
			/* Before the key: a static address, or the hostname. */
			if (!netconf_parse_ipv6(t, strlen(t), peer->ipv6))
				return netconf_fail(p, p->lineno, "%s is not an IPv6 address", Q(q, t));
			if (!trusted)
				goto static_on_untrusted;
			if (peer->static6)
				return netconf_fail(p, p->lineno, "a second static IPv6 address %s", Q(q, t));
			peer->static6 = peer->has_ipv6 = true;
		} else if (netconf_all_digits_dots(t, strlen(t)) ||
			   (netconf_is_digit(t[0]) && strchr(t, '.') && !netconf_valid_hostname(t, host))) {
			if (!netconf_parse_ipv4(t, strlen(t), peer->ipv4))
				return netconf_fail(p, p->lineno, "%s is not an IPv4 address", Q(q, t));
			if (!trusted)
				goto static_on_untrusted;
			if (peer->static4)
				return netconf_fail(p, p->lineno, "a second static IPv4 address %s", Q(q, t));
			peer->static4 = peer->has_ipv4 = true;
		} else if (!strchr(t, '.') && looks_like_key(t)) {
			return netconf_fail(p, p->lineno, "%s (%zu characters) is not a valid public key: "
				    "expected 32 bytes in base64, 43 or 44 characters",
				    quote_key(q, sizeof(q), t), strlen(t));
		} else if (netconf_valid_hostname(t, host)) {
			if (peer->hostname[0])
				return netconf_fail(p, p->lineno, "a second hostname %s (the first is %s)",
					    Q(q, t), Q(q2, peer->hostname));
			memcpy(peer->hostname, host, sizeof(host));
		} else {
			return netconf_fail(p, p->lineno,
				    "%s is not a valid hostname: use a DNS name of at most 253 "
				    "characters, labels of 1 to 63 letters, digits, '-' or '_'", Q(q, t));
		}
		continue;
static_on_untrusted:
		return netconf_fail(p, p->lineno,
			    "%s: only trust, router, alias and client lines take a static address",
			    Q(q, t));
	}
	if (!has_key)
		return netconf_fail(p, p->lineno, "\"%s\" line has no public key", tok[0]);
	if (kind == NETCONF_BOOT && !has_endpoint)
		return netconf_fail(p, p->lineno, "\"boot\" line needs an endpoint after the key "
			    "(HOST[:PORT])");
	/* A client is chosen by its name (wh client-config) and named in
	 * the name service. */
	if (kind == NETCONF_CLIENT && !peer->hostname[0])
		return netconf_fail(p, p->lineno, "\"client\" line needs a hostname before the key");
	if (!has_endpoint)
		peer->endpoint.port = NETCONF_DEFAULT_PORT;
	if (kind == NETCONF_ALIAS && alias_line(p, peer) < 0)
		return -EINVAL;
	p->conf->n_peers++;
	return 0;
}

static int process_line(struct netconf_parser *p, char *line, size_t len)
{
	char *tok[MAX_TOKENS];
	size_t ntok = 0, i = 0;
	char q[QBUF];

	/* Split on spaces and tabs; a word starting with '#' starts a comment. */
	p->comment = NULL;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			++i;
		if (i < len && line[i] == '#') {
			p->comment = line + i;
			p->comment_len = len - i;
		}
		if (i == len || line[i] == '#')
			break;
		if (ntok == MAX_TOKENS)
			return netconf_fail(p, p->lineno, "too many words (more than %d)", MAX_TOKENS);
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
	if (!strcmp(tok[0], "route"))
		return netconf_route_line(p, tok, ntok);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i)
		if (!strcmp(tok[0], kinds[i].name))
			return do_peer(p, kinds[i].kind, tok, ntok);
	return netconf_fail(p, p->lineno, "unknown directive %s", Q(q, tok[0]));
}

/* ---- the line reader ---- */

static int end_line(struct netconf_parser *p)
{
	size_t len = p->len;
	size_t i;
	char q[16];

	p->lineno++;
	p->len = 0;
	if (len && p->line[len - 1] == '\r')
		--len;
	if (len > NETCONF_MAX_LINE)
		return netconf_fail(p, p->lineno, "line is longer than %d bytes", NETCONF_MAX_LINE);
	/* Control bytes are refused everywhere but in comments, where they
	 * are harmless; the tokenizer stops at the comment, so check up to it. */
	for (i = 0; i < len; ++i) {
		unsigned char c = (unsigned char)p->line[i];

		if (c == '#' && (i == 0 || p->line[i - 1] == ' ' || p->line[i - 1] == '\t'))
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return netconf_fail(p, p->lineno, "control character %s", netconf_quote_n(q, sizeof(q),
				    (char[]){ (char)c, 0 }, 1));
	}
	p->line[len] = '\0';
	return process_line(p, p->line, len);
}

/* Feeds bytes to the line reader; returns p->rc. */
static int feed(struct netconf_parser *p, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n && !p->rc; ++i) {
		char c = data[i];

		if (c == '\n') {
			end_line(p);
		} else if (c == '\0') {
			netconf_fail(p, p->lineno + 1, "NUL byte at column %zu", p->len + 1);
		} else if (p->len == NETCONF_MAX_LINE + 1) {
			/* Room for a CR is kept; anything more is too long. */
			netconf_fail(p, p->lineno + 1, "line is longer than %d bytes", NETCONF_MAX_LINE);
		} else {
			p->line[p->len++] = c;
		}
	}
	return p->rc;
}

/* ---- entry points ---- */

static int begin(struct netconf_parser *p, const char *name, char *err, size_t errlen)
{
	memset(p, 0, offsetof(struct netconf_parser, line));
	p->src = name ? name : "(network file)";
	p->err = err;
	p->errlen = err ? errlen : 0;
	if (p->errlen)
		err[0] = '\0';
	p->conf = calloc(1, sizeof(*p->conf));
	if (!p->conf)
		return netconf_fail_errno(p, ENOMEM);
	p->conf->workbit = NETCONF_DEFAULT_WORKBIT;
	strcpy(p->conf->ns, WORKBIT_DEFAULT_NAMESPACE);
	p->now_s = (uint64_t)time(NULL);
	return 0;
}

static int end(struct netconf_parser *p, struct netconf **out)
{
	/* A last line without its line end. */
	if (!p->rc && p->len)
		end_line(p);
	if (!p->rc)
		netconf_finish(p);
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
	struct netconf_parser p;

	if (!begin(&p, name, err, errlen))
		feed(&p, buf, len);
	return end(&p, out);
}

int netconf_parse_stream(FILE *f, const char *name, struct netconf **out,
			 char *err, size_t errlen)
{
	struct netconf_parser p;
	char buf[READ_CHUNK];

	if (!begin(&p, name, err, errlen)) {
		for (;;) {
			size_t n = fread(buf, 1, sizeof(buf), f);

			if (n && feed(&p, buf, n))
				break;
			if (n < sizeof(buf)) {
				if (ferror(f))
					netconf_fail_errno(&p, errno ? errno : EIO);
				break;
			}
		}
	}
	return end(&p, out);
}

/* Reads fd to its end into the parser, at most NETCONF_FILE_MAX bytes. */
static int parse_fd(int fd, const char *name, struct netconf **out, char *err, size_t errlen)
{
	struct netconf_parser p;
	char buf[READ_CHUNK];
	size_t total = 0;

	if (!begin(&p, name, err, errlen)) {
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				netconf_fail_errno(&p, errno);
				break;
			}
			if (n == 0)
				break;
			total += (size_t)n;
			if (total > NETCONF_FILE_MAX) {
				netconf_fail(&p, 0, "larger than %u bytes", NETCONF_FILE_MAX);
				break;
			}
			if (feed(&p, buf, (size_t)n))
				break;
		}
	}
	return end(&p, out);
}

/* Opening never blocks (O_NONBLOCK: a FIFO without a writer would hold
 * the caller, which on reload is the node's loop); what is not a regular
 * file is refused unless streams are allowed, and then read blocking. */
static int parse_path(const char *path, const char *name, bool streams, bool *regular,
		      struct netconf **out, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc, fl;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", name, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (regular)
		*regular = S_ISREG(st.st_mode);
	if (S_ISDIR(st.st_mode) || (!S_ISREG(st.st_mode) && !streams)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file", name);
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (S_ISREG(st.st_mode) && st.st_size > NETCONF_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than %u bytes", name, NETCONF_FILE_MAX);
		close(fd);
		return -EFBIG;
	}
	fl = fcntl(fd, F_GETFL);
	if (!S_ISREG(st.st_mode) && fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	rc = parse_fd(fd, name, out, err, errlen);
	close(fd);
	return rc;
}

int netconf_parse_endpoint(const char *what, const char *text, struct netconf_endpoint *ep,
			   char *err, size_t errlen)
{
	struct netconf_parser p;

	memset(&p, 0, offsetof(struct netconf_parser, line));
	memset(ep, 0, sizeof(*ep));
	p.src = what;
	p.err = err;
	p.errlen = err ? errlen : 0;
	if (strlen(text) > NETCONF_MAX_LINE)
		return netconf_fail(&p, 0, "longer than %d bytes", NETCONF_MAX_LINE);
	return parse_endpoint(&p, text, ep);
}

int netconf_parse_file(const char *path, struct netconf **out, char *err, size_t errlen)
{
	return parse_path(path, path, false, NULL, out, err, errlen);
}

int netconf_parse_file_as(const char *path, const char *name, struct netconf **out, char *err,
			  size_t errlen)
{
	return parse_path(path, name, false, NULL, out, err, errlen);
}

int netconf_parse_once(const char *path, bool *regular, struct netconf **out, char *err,
		       size_t errlen)
{
	return parse_path(path, path, true, regular, out, err, errlen);
}

void netconf_free(struct netconf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_notes; ++i)
		free(conf->notes[i].text);
	free(conf->notes);
	free(conf->peers);
	free(conf->routes);
	free(conf->expired_lines);
	free(conf->by_key);
	free(conf->by_hostname);
	free(conf);
}

