/* The UAPI request parser and get formatter (see uapi.h).
 *
 * The parser is a byte-driven state machine:
 *
 *   OP --"get=1\n"--> GET_END --"\n"--> OP        (UAPI_REQUEST_GET)
 *                             --other-> OP        (-EINVAL, as wireguard-go)
 *   OP --"set=1\n"--> SET --blank line--> OP      (UAPI_REQUEST_SET)
 *                         --bad line--> SKIP --blank line--> OP (the error)
 *   OP --anything else--> BROKEN                  (-EPROTO, for good)
 *
 * Lines are collected in a fixed buffer; a set line is handled when its
 * '\n' arrives, after dropping one '\r' before it (Go's line scanner does
 * the same, so "\r\n" is also a blank line).  Values are checked the way
 * wireguard-go checks them: Go's strconv.ParseUint for numbers (decimal
 * digits only, leading zeros allowed), encoding/hex for keys, and
 * net/netip's ParseAddrPort and ParsePrefix for endpoints and allowed IPs.
 * Nothing depends on the locale. */
#include "src/wg/uapi.h"

#include "crypto/encoding.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum uapi_parser_state {
	STATE_OP,	/* reading an operation line */
	STATE_GET_END,	/* "get=1\n" read: the blank line must follow */
	STATE_SET,	/* reading the key=value lines of a set request */
	STATE_SKIP,	/* a set request failed: discarding up to its blank line */
	STATE_BROKEN,	/* an unknown operation: nothing more is understood */
};

/* The operation lines are 6 bytes; anything longer is no operation. */
enum { MAX_OP_LINE = 16 };

_Static_assert((int)UAPI_KEY_LEN == (int)KEY_LEN, "UAPI keys are WireGuard keys");
_Static_assert(UAPI_MAX_LINE >= 2 * KEY_LEN + 32, "a key line fits");

/* The only place the parser's state moves. */
static void set_state(struct uapi_parser *p, enum uapi_parser_state s)
{
	p->state = s;
	p->line_len = 0;
}

void uapi_set_free(struct uapi_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n_peers; ++i)
		free(set->peers[i].allowed_ips);
	if (set->peers)
		sodium_memzero(set->peers, set->cap_peers * sizeof(*set->peers));
	free(set->peers);
	sodium_memzero(set, sizeof(*set));
	free(set);
}

void uapi_parser_init(struct uapi_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->max_request = UAPI_MAX_REQUEST;
	set_state(p, STATE_OP);
}

static void drop_set(struct uapi_parser *p)
{
	uapi_set_free(p->set);
	p->set = NULL;
	p->peer = NULL;
}

void uapi_parser_free(struct uapi_parser *p)
{
	drop_set(p);
	sodium_memzero(p->line, sizeof(p->line));
	p->line_len = 0;
}

bool uapi_parser_broken(const struct uapi_parser *p)
{
	return p->state == STATE_BROKEN;
}

bool uapi_parser_idle(const struct uapi_parser *p)
{
	return p->state == STATE_OP && p->line_len == 0;
}

/* ---- values ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's strconv.ParseUint(s, 10, bits): one or more decimal digits, no
 * sign, no spaces, leading zeros allowed, at most max. */
static bool parse_uint(uint64_t *out, const char *s, size_t len, uint64_t max)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; ++i) {
		unsigned d;

		if (!is_digit(s[i]))
			return false;
		d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool value_is(const char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* An interface, by number or by name, for an IPv6 scope.  Go keeps the
 * zone as text and looks it up when sending; a scope id is needed here,
 * and looking a name up is a local table read, not network I/O. */
static bool parse_zone(uint32_t *scope, const char *s, size_t len)
{
	char name[IF_NAMESIZE];
	uint64_t v;
	unsigned idx;

	if (len == 0)
		return false;
	if (parse_uint(&v, s, len, UINT32_MAX)) {
		*scope = (uint32_t)v;
		return true;
	}
	if (len >= sizeof(name) || memchr(s, '\0', len))
		return false;
	memcpy(name, s, len);
	name[len] = '\0';
	idx = if_nametoindex(name);
	if (idx == 0)
		return false;
	*scope = idx;
	return true;
}

/* Go's netip.ParseAddr: IPv4 dotted quad (no leading zeros) or IPv6 text
 * (with an optional "%zone" when zone is non-NULL).  Sets *family to
 * AF_INET or AF_INET6. */
static bool parse_addr(uint8_t addr[16], sa_family_t *family, uint32_t *zone,
		       const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	const char *pct;
	bool v6;

	if (zone)
		*zone = 0;
	if (len == 0 || memchr(s, '\0', len))
		return false;
	v6 = memchr(s, ':', len) != NULL;
	pct = memchr(s, '%', len);
	if (pct) {
		size_t zlen = len - (size_t)(pct - s) - 1;

		if (!v6 || !zone || !parse_zone(zone, pct + 1, zlen))
			return false;
		len = (size_t)(pct - s);
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (v6) {
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return false;
		*family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, buf, addr) != 1)
			return false;
		*family = AF_INET;
	}
	return true;
}

/* Go's netip.ParseAddrPort: "a.b.c.d:port" or "[ipv6]:port", the port
 * 0..65535; IPv6 needs the brackets and IPv4 must not have them. */
bool uapi_parse_endpoint(union wg_sockaddr *ss, const char *s, size_t len)
{
	const char *colon = memrchr(s, ':', len);
	const char *ip = s, *port;
	size_t iplen, portlen;
	uint8_t addr[16];
	sa_family_t family;
	uint32_t zone;
	uint64_t portnum;
	bool brackets = false;

	if (!colon)
		return false;
	iplen = (size_t)(colon - s);
	port = colon + 1;
	portlen = len - iplen - 1;
	if (iplen == 0 || portlen == 0)
		return false;
	if (ip[0] == '[') {
		if (iplen < 2 || ip[iplen - 1] != ']')
			return false;
		++ip;
		iplen -= 2;
		brackets = true;
	}
	if (!parse_uint(&portnum, port, portlen, UINT16_MAX))
		return false;
	if (!parse_addr(addr, &family, &zone, ip, iplen))
		return false;
	if (brackets != (family == AF_INET6))
		return false;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		ss->in4.sin_family = AF_INET;
		ss->in4.sin_port = htons((uint16_t)portnum);
		memcpy(&ss->in4.sin_addr, addr, 4);
	} else {
		ss->in6.sin6_family = AF_INET6;
		ss->in6.sin6_port = htons((uint16_t)portnum);
		memcpy(&ss->in6.sin6_addr, addr, 16);
		ss->in6.sin6_scope_id = zone;
	}
	return true;
}

/* Go's netip.ParsePrefix: "addr/bits", no zone, bits decimal without
 * sign or leading zeros, at most the address length. */
static bool parse_prefix(struct uapi_allowed_ip *aip, const char *s, size_t len)
{
	const char *slash = memrchr(s, '/', len);
	const char *bits;
	size_t iplen, bitslen;
	uint64_t cidr;

	if (!slash)
		return false;
	iplen = (size_t)(slash - s);
	bits = slash + 1;
	bitslen = len - iplen - 1;
	if (bitslen > 1 && bits[0] == '0')
		return false;
	if (!parse_addr(aip->addr, &aip->family, NULL, s, iplen))
		return false;
	if (!parse_uint(&cidr, bits, bitslen, aip->family == AF_INET ? 32 : 128))
		return false;
	aip->cidr = (uint8_t)cidr;
	return true;
}

/* ---- the set request ---- */

struct uapi_peer_set *uapi_set_add_peer(struct uapi_set *set,
					const uint8_t public_key[UAPI_KEY_LEN])
{
	struct uapi_peer_set *peer;

	if (set->n_peers == set->cap_peers) {
		size_t cap = set->cap_peers ? 2 * set->cap_peers : 4;
		struct uapi_peer_set *peers;

		/* Not realloc: the old array holds preshared keys to wipe. */
		if (cap > SIZE_MAX / sizeof(*peers))
			return NULL;
		peers = calloc(cap, sizeof(*peers));
		if (!peers)
			return NULL;
		if (set->peers) {
			memcpy(peers, set->peers, set->n_peers * sizeof(*peers));
			sodium_memzero(set->peers, set->cap_peers * sizeof(*peers));
			free(set->peers);
		}
		set->peers = peers;
		set->cap_peers = cap;
	}
	peer = &set->peers[set->n_peers++];
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->public_key, public_key, UAPI_KEY_LEN);
	return peer;
}

static int add_peer(struct uapi_parser *p, const uint8_t public_key[UAPI_KEY_LEN])
{
	p->peer = uapi_set_add_peer(p->set, public_key);
	return p->peer ? 0 : -ENOMEM;
}

int uapi_peer_add_allowed_ip(struct uapi_peer_set *peer, const struct uapi_allowed_ip *aip)
{
	if (peer->n_allowed_ips == peer->cap_allowed_ips) {
		size_t cap = peer->cap_allowed_ips ? 2 * peer->cap_allowed_ips : 8;
		struct uapi_allowed_ip *a;

		if (cap > SIZE_MAX / sizeof(*a))
			return -ENOMEM;
		a = realloc(peer->allowed_ips, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		peer->allowed_ips = a;
		peer->cap_allowed_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = *aip;
	return 0;
}

static int device_line(struct uapi_set *set, const char *key, size_t klen,
		       const char *value, size_t vlen)
{
	uint64_t v;

	if (value_is(key, klen, "private_key")) {
		if (!key_from_hex(set->private_key, value, vlen))
			return -EINVAL;
		/* All zero removes the key; anything else is clamped, as
		 * wireguard-go and the kernel store it. */
		if (!ct_is_zero(set->private_key, UAPI_KEY_LEN)) {
			set->private_key[0] &= 248;
			set->private_key[31] = (uint8_t)((set->private_key[31] & 127) | 64);
		}
		set->has_private_key = true;
	} else if (value_is(key, klen, "listen_port")) {
		if (!parse_uint(&v, value, vlen, UINT16_MAX))
			return -EINVAL;
		set->listen_port = (uint16_t)v;
		set->has_listen_port = true;
	} else if (value_is(key, klen, "fwmark")) {
		if (!parse_uint(&v, value, vlen, UINT32_MAX))
			return -EINVAL;
		set->fwmark = (uint32_t)v;
		set->has_fwmark = true;
	} else if (value_is(key, klen, "replace_peers")) {
		if (!value_is(value, vlen, "true"))
			return -EINVAL;
		set->replace_peers = true;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int peer_line(struct uapi_peer_set *peer, const char *key, size_t klen,
		     const char *value, size_t vlen)
{
	uint64_t v;

	if (value_is(key, klen, "update_only")) {
		if (!value_is(value, vlen, "true"))
			return -EINVAL;
		peer->update_only = true;
	} else if (value_is(key, klen, "remove")) {
		if (!value_is(value, vlen, "true"))
			return -EINVAL;
		peer->remove = true;
	} else if (value_is(key, klen, "preshared_key")) {
		if (!key_from_hex(peer->preshared_key, value, vlen))
			return -EINVAL;
		peer->has_preshared_key = true;
	} else if (value_is(key, klen, "endpoint")) {
		if (!uapi_parse_endpoint(&peer->endpoint, value, vlen))
			return -EINVAL;
		peer->has_endpoint = true;
	} else if (value_is(key, klen, "persistent_keepalive_interval")) {
		if (!parse_uint(&v, value, vlen, UINT16_MAX))
			return -EINVAL;
		peer->persistent_keepalive_interval = (uint16_t)v;
		peer->has_persistent_keepalive = true;
	} else if (value_is(key, klen, "replace_allowed_ips")) {
		if (!value_is(value, vlen, "true"))
			return -EINVAL;
		peer->replace_allowed_ips = true;
		peer->n_allowed_ips = 0;
	} else if (value_is(key, klen, "allowed_ip")) {
		struct uapi_allowed_ip aip = { .remove = false };

		if (vlen > 0 && value[0] == '-') {
			aip.remove = true;
			++value;
			--vlen;
		}
		if (!parse_prefix(&aip, value, vlen))
			return -EINVAL;
		return uapi_peer_add_allowed_ip(peer, &aip);
	} else if (value_is(key, klen, "protocol_version")) {
		/* wireguard-go answers EINVAL here (the kernel's netlink
		 * answers EPROTONOSUPPORT). */
		if (!value_is(value, vlen, "1"))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* One line of a set request, without its newline. */
static int set_line(struct uapi_parser *p, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	const char *value;
	size_t klen, vlen;

	if (!eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	value = eq + 1;
	vlen = len - klen - 1;

	if (value_is(line, klen, "public_key")) {
		uint8_t key[UAPI_KEY_LEN];
		int ret;

		if (!key_from_hex(key, value, vlen))
			return -EINVAL;
		ret = add_peer(p, key);
		sodium_memzero(key, sizeof(key));
		return ret;
	}
	if (!p->peer)
		return device_line(p->set, line, klen, value, vlen);
	return peer_line(p->peer, line, klen, value, vlen);
}

static void wipe_line(struct uapi_parser *p)
{
	sodium_memzero(p->line, p->line_len);
	p->line_len = 0;
}

/* Ends a failed set request's parsing: its answer is err, given once the
 * rest of it has been read.  The line read so far decides whether the
 * next '\n' ends the request. */
static void fail_set(struct uapi_parser *p, int err)
{
	if (p->line_len == 0)
		p->skip_line = 0;
	else if (p->line_len == 1 && p->line[0] == '\r')
		p->skip_line = 1;
	else
		p->skip_line = 2;
	wipe_line(p);
	drop_set(p);
	p->error = err;
	set_state(p, STATE_SKIP);
}

/* ---- the byte loop ---- */

int uapi_parser_feed(struct uapi_parser *p, const char *data, size_t len, size_t *consumed,
		     struct uapi_set **set)
{
	size_t i = 0;
	int ret = UAPI_REQUEST_NONE;

	*set = NULL;
	if (p->state == STATE_BROKEN) {
		*consumed = len;
		return -EPROTO;
	}
	while (i < len && ret == UAPI_REQUEST_NONE) {
		char c = data[i++];

		switch (p->state) {
		case STATE_OP:
			if (c != '\n') {
				if (p->line_len == MAX_OP_LINE) {
					set_state(p, STATE_BROKEN);
					ret = -EPROTO;
					break;
				}
				p->line[p->line_len++] = c;
				break;
			}
			if (value_is(p->line, p->line_len, "get=1")) {
				set_state(p, STATE_GET_END);
			} else if (value_is(p->line, p->line_len, "set=1")) {
				p->set = calloc(1, sizeof(*p->set));
				if (!p->set) {
					set_state(p, STATE_SET);
					fail_set(p, -ENOMEM);
					break;
				}
				p->peer = NULL;
				p->request_len = 0;
				set_state(p, STATE_SET);
			} else {
				set_state(p, STATE_BROKEN);
				ret = -EPROTO;
			}
			break;

		case STATE_GET_END:
			/* wireguard-go reads exactly one more byte and goes on
			 * with the next one as a new operation either way. */
			ret = c == '\n' ? UAPI_REQUEST_GET : -EINVAL;
			set_state(p, STATE_OP);
			break;

		case STATE_SET: {
			size_t n;
			int err;

			/* Past a limit, this byte is read again as the first
			 * one of the discarded rest. */
			if (++p->request_len > p->max_request) {
				fail_set(p, -EMSGSIZE);
				--i;
				break;
			}
			if (c != '\n') {
				if (p->line_len == sizeof(p->line)) {
					fail_set(p, -EMSGSIZE);
					--i;
					break;
				}
				p->line[p->line_len++] = c;
				break;
			}
			n = p->line_len;
			if (n > 0 && p->line[n - 1] == '\r')
				--n;
			if (n == 0) {
				*set = p->set;
				p->set = NULL;
				p->peer = NULL;
				set_state(p, STATE_OP);
				ret = UAPI_REQUEST_SET;
				break;
			}
			err = set_line(p, p->line, n);
			wipe_line(p);
			if (err)
				fail_set(p, err);
			break;
		}

		case STATE_SKIP:
			if (c == '\n') {
				if (p->skip_line < 2) {
					ret = p->error;
					set_state(p, STATE_OP);
					break;
				}
				p->skip_line = 0;
			} else if (c == '\r' && p->skip_line == 0) {
				p->skip_line = 1;
			} else {
				p->skip_line = 2;
			}
			break;

		default:
			set_state(p, STATE_BROKEN);
			ret = -EPROTO;
			break;
		}
	}
	*consumed = i;
	return ret;
}

/* ---- the get answer ---- */

void uapi_buf_reset(struct uapi_buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->len);
	b->len = 0;
}

void uapi_buf_free(struct uapi_buf *b)
{
	uapi_buf_reset(b);
	free(b->data);
	b->data = NULL;
	b->cap = 0;
}

static int buf_append(struct uapi_buf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 1024;
		char *data;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		/* Not realloc: the old copy may hold keys. */
		data = malloc(cap);
		if (!data)
			return -ENOMEM;
		if (b->data) {
			memcpy(data, b->data, b->len);
			sodium_memzero(b->data, b->len);
			free(b->data);
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int buf_printf(struct uapi_buf *b, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return buf_append(b, line, (size_t)n);
}

static int buf_key(struct uapi_buf *b, const char *name, const uint8_t key[UAPI_KEY_LEN])
{
	char hex[KEY_HEX_LEN + 1];
	int ret;

	key_to_hex(hex, key);
	ret = buf_printf(b, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
	return ret;
}

/* IPv6 text as Go's netip.Addr.String writes it (RFC 5952: lowercase,
 * the longest run of two or more zero groups, the first on a tie, as
 * "::"; "::ffff:a.b.c.d" for IPv4-mapped addresses).  Unlike glibc's
 * inet_ntop, ::a.b.c.d is not written in dotted form. */
static void format_ip6(char out[INET6_ADDRSTRLEN], const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned g[8], best = 0, best_len = 0, i;
	char *o = out;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		snprintf(out, INET6_ADDRSTRLEN, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	for (i = 0; i < 8; ++i)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; ++i) {
		unsigned j = i;

		while (j < 8 && g[j] == 0)
			++j;
		if (j - i >= 2 && j - i > best_len) {
			best = i;
			best_len = j - i;
		}
	}
	for (i = 0; i < 8; ++i) {
		if (best_len && i == best) {
			*o++ = ':';
			*o++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && !(best_len && i == best + best_len))
			*o++ = ':';
		o += sprintf(o, "%x", g[i]);
	}
	*o = '\0';
}

static void format_addr(char out[INET6_ADDRSTRLEN], sa_family_t family, const uint8_t *addr)
{
	if (family == AF_INET)
		snprintf(out, INET6_ADDRSTRLEN, "%u.%u.%u.%u", addr[0], addr[1], addr[2], addr[3]);
	else
		format_ip6(out, addr);
}

int uapi_format_device(struct uapi_buf *out, const struct uapi_device_info *dev)
{
	int ret = 0;

	if (dev->has_private_key && !ct_is_zero(dev->private_key, UAPI_KEY_LEN))
		ret = buf_key(out, "private_key", dev->private_key);
	if (!ret && dev->listen_port)
		ret = buf_printf(out, "listen_port=%u\n", (unsigned)dev->listen_port);
	if (!ret && dev->fwmark)
		ret = buf_printf(out, "fwmark=%u\n", (unsigned)dev->fwmark);
	return ret;
}

int uapi_format_allowed_ip(struct uapi_buf *out, const struct uapi_allowed_ip *aip)
{
	char addr[INET6_ADDRSTRLEN];

	if (aip->family != AF_INET && aip->family != AF_INET6)
		return -EAFNOSUPPORT;
	format_addr(addr, aip->family, aip->addr);
	return buf_printf(out, "allowed_ip=%s/%u\n", addr, (unsigned)aip->cidr);
}

static int format_endpoint(struct uapi_buf *out, const union wg_sockaddr *ss)
{
	char addr[INET6_ADDRSTRLEN];

	if (ss->sa.sa_family == AF_INET) {
		const struct sockaddr_in *sin = &ss->in4;

		format_addr(addr, AF_INET, (const uint8_t *)&sin->sin_addr);
		return buf_printf(out, "endpoint=%s:%u\n", addr, (unsigned)ntohs(sin->sin_port));
	}
	if (ss->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = &ss->in6;

		format_ip6(addr, (const uint8_t *)&sin6->sin6_addr);
		if (sin6->sin6_scope_id)
			return buf_printf(out, "endpoint=[%s%%%u]:%u\n", addr,
					  (unsigned)sin6->sin6_scope_id,
					  (unsigned)ntohs(sin6->sin6_port));
		return buf_printf(out, "endpoint=[%s]:%u\n", addr, (unsigned)ntohs(sin6->sin6_port));
	}
	return 0;
}

int uapi_format_peer(struct uapi_buf *out, const struct uapi_peer_info *peer)
{
	size_t i;
	int ret;

	ret = buf_key(out, "public_key", peer->public_key);
	if (!ret)
		ret = buf_key(out, "preshared_key", peer->preshared_key);
	if (!ret)
		ret = buf_printf(out, "protocol_version=1\n");
	if (!ret)
		ret = format_endpoint(out, &peer->endpoint);
	if (!ret)
		ret = buf_printf(out, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%lld\n",
				 (long long)peer->last_handshake_sec,
				 (long long)peer->last_handshake_nsec);
	if (!ret)
		ret = buf_printf(out, "tx_bytes=%llu\nrx_bytes=%llu\n",
				 (unsigned long long)peer->tx_bytes,
				 (unsigned long long)peer->rx_bytes);
	if (!ret)
		ret = buf_printf(out, "persistent_keepalive_interval=%u\n",
				 (unsigned)peer->persistent_keepalive_interval);
	for (i = 0; !ret && i < peer->n_allowed_ips; ++i)
		ret = uapi_format_allowed_ip(out, &peer->allowed_ips[i]);
	return ret;
}

int uapi_format_errno(struct uapi_buf *out, int err)
{
	return buf_printf(out, "errno=%d\n\n", err);
}

int uapi_format_get(struct uapi_buf *out, const struct uapi_device_info *dev)
{
	size_t i;
	int ret;

	ret = uapi_format_device(out, dev);
	for (i = 0; !ret && i < dev->n_peers; ++i)
		ret = uapi_format_peer(out, &dev->peers[i]);
	if (!ret)
		ret = uapi_format_errno(out, 0);
	return ret;
}
