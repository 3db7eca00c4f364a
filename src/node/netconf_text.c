/* The network file parser's lexical pieces: values quoted for messages,
 * addresses and keys as messages show them, and the character classes,
 * names, numbers and addresses read by hand (no locale: see netconf.c). */
#include "src/node/netconf.h"
#include "src/node/netconf_priv.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	QUOTE_MAX = 64,		/* characters of a value shown in a message */
};

/* Writes s in double quotes, bytes outside printable ASCII as \xNN, and
 * at most max characters of it (then "..."), so that a message never
 * carries control characters or an unbounded value. */
const char *netconf_quote_n(char *out, size_t outlen, const char *s, size_t max)
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


const char *netconf_quote(char out[NETCONF_QUOTE_BUF], const char *s)
{
	return netconf_quote_n(out, NETCONF_QUOTE_BUF, s, QUOTE_MAX);
}

void netconf_format_ipv4(char out[16], const uint8_t a[4])
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

void netconf_format_ipv6(char out[46], const uint8_t a[16])
{
	if (!inet_ntop(AF_INET6, a, out, 46))
		strcpy(out, "?");
}

void netconf_key_text(char out[KEY_B64_LEN + 1], const struct netconf_peer *peer)
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
const char *netconf_peer_label(char *out, size_t outlen, const struct netconf_peer *peer)
{
	char k[KEY_B64_LEN + 1];

	netconf_key_text(k, peer);
	if (peer->hostname[0])
		snprintf(out, outlen, "\"%s\" (%s)", peer->hostname, k);
	else
		snprintf(out, outlen, "\"%s\"", k);
	return out;
}

/* ---- lexical pieces ---- */

bool netconf_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

bool netconf_is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* A network name: 1..63 of [a-z0-9_-], not starting or ending with '-'
 * (a DNS label; '_' kept because WireHub's own examples use it). */
bool netconf_valid_label(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NETCONF_MAX_LABEL || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; ++i)
		if (!is_lower(s[i]) && !netconf_is_digit(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* A DNS name in an endpoint: labels of [A-Za-z0-9_-] (1..63, no '-' at
 * either end) joined by dots, 253 characters at most, one final dot
 * allowed. */
bool netconf_valid_dns_name(const char *s, size_t n)
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
		} else if (!netconf_is_alpha(s[i]) && !netconf_is_digit(s[i]) && s[i] != '-' && s[i] != '_') {
			return false;
		}
	}
	return true;
}


/* A member's hostname, a DNS name as WireHub's announcement wrote them
 * ("a.test"): at most 253 characters, labels of 1..63 letters, digits,
 * '-' or '_' (WireHub's own examples use "node_a"), no '-' at a label's
 * ends, no final dot, and a last label that is not all digits (so that
 * no hostname reads as an IPv4 address).  Letters are compared in either
 * case: out gets the name in lowercase. */
bool netconf_valid_hostname(const char *s, char out[NETCONF_MAX_HOSTNAME + 1])
{
	size_t n = strlen(s), i, last;

	if (n == 0 || n > NETCONF_MAX_HOSTNAME || s[n - 1] == '.' ||
	    !netconf_valid_dns_name(s, n))
		return false;
	last = n;
	while (last && s[last - 1] != '.')
		--last;
	if (netconf_all_digits_dots(s + last, n - last))
		return false;
	for (i = 0; i <= n; ++i)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	return true;
}

bool netconf_all_digits_dots(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; ++i)
		if (!netconf_is_digit(s[i]) && s[i] != '.')
			return false;
	return n > 0;
}

/* Unsigned decimal, digits only, value <= max. */
bool netconf_parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; ++i) {
		if (!netconf_is_digit(s[i]))
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
bool netconf_parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; ++part) {
		size_t start = i;
		unsigned long v;

		while (i < n && netconf_is_digit(s[i]))
			++i;
		if (i - start > 1 && s[start] == '0')
			return false;
		if (!netconf_parse_uint(s + start, i - start, 255, &v))
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

bool netconf_parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
	char tmp[46];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

