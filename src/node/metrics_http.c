/* The metrics listener's request head, sans I/O (metrics.h): bytes in,
 * the status of the answer out.  Only what a scraper sends is served:
 * GET (or HEAD) /metrics, HTTP/1.0 or 1.1, with any query string (Prometheus
 * adds none, curl users may).  The head is bounded (METRICS_HTTP_MAX); a
 * body is never read (the connection closes after the answer). */
#include "src/node/metrics.h"

#include <string.h>

void metrics_http_reader_init(struct metrics_http_reader *r)
{
	memset(r, 0, sizeof(*r));
}

/* The head ends at an empty line: "\r\n\r\n", or "\n\n" from a lenient
 * client (RFC 9112 2.2 lets a recipient take a bare LF as the end of a
 * line). */
static bool head_ended(const char *h, size_t len)
{
	if (len >= 2 && h[len - 1] == '\n' && h[len - 2] == '\n')
		return true;
	return len >= 4 && !memcmp(h + len - 4, "\r\n\r\n", 4);
}

size_t metrics_http_reader_feed(struct metrics_http_reader *r, const char *data, size_t len)
{
	size_t i;

	if (r->done)
		return len;
	for (i = 0; i < len; ++i) {
		if (r->len == sizeof(r->head)) {
			r->done = r->too_long = true;
			return len;
		}
		r->head[r->len++] = data[i];
		if (data[i] == '\n' && head_ended(r->head, r->len)) {
			r->done = true;
			return i + 1;
		}
	}
	return len;
}

enum metrics_http_status metrics_http_reader_status(const struct metrics_http_reader *r,
						    bool *head_only)
{
	*head_only = false;
	if (r->too_long)
		return METRICS_HTTP_TOO_LARGE;
	return metrics_http_parse(r->head, r->len, head_only);
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One line from *pos to its LF (the CR before it dropped): false at the
 * end of the head. */
static bool next_line(const char *h, size_t len, size_t *pos, const char **line, size_t *llen)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = h + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*llen = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *llen + (nl ? 1 : 0);
	if (*llen && (*line)[*llen - 1] == '\r')
		--*llen;
	return true;
}

static bool header_ok(const char *l, size_t len)
{
	size_t i;

	for (i = 0; i < len && l[i] != ':'; ++i)
		if (!is_tchar((unsigned char)l[i]))
			return false;
	if (i == 0 || i == len)
		return false;
	/* A field value: visible bytes, spaces, tabs and obs-text. */
	for (++i; i < len; ++i)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return false;
	return true;
}

enum metrics_http_status metrics_http_parse(const char *head, size_t len, bool *head_only)
{
	const char *line, *sp1, *sp2, *target;
	size_t llen, pos = 0, mlen, tlen, i;
	bool known_method;

	*head_only = false;
	if (!next_line(head, len, &pos, &line, &llen) || !llen)
		return METRICS_HTTP_BAD_REQUEST;
	sp1 = memchr(line, ' ', llen);
	if (!sp1)
		return METRICS_HTTP_BAD_REQUEST;
	mlen = (size_t)(sp1 - line);
	sp2 = memchr(sp1 + 1, ' ', llen - mlen - 1);
	if (!mlen || !sp2)
		return METRICS_HTTP_BAD_REQUEST;
	for (i = 0; i < mlen; ++i)
		if (!is_tchar((unsigned char)line[i]))
			return METRICS_HTTP_BAD_REQUEST;
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	if (!tlen || target[0] != '/')
		return METRICS_HTTP_BAD_REQUEST;
	for (i = 0; i < tlen; ++i)
		if ((unsigned char)target[i] <= ' ' || (unsigned char)target[i] >= 0x7f)
			return METRICS_HTTP_BAD_REQUEST;
	if ((size_t)(line + llen - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return (size_t)(line + llen - (sp2 + 1)) == 8 && !memcmp(sp2 + 1, "HTTP/", 5) ?
		       METRICS_HTTP_BAD_VERSION : METRICS_HTTP_BAD_REQUEST;
	if (sp2[8] != '0' && sp2[8] != '1')
		return sp2[8] >= '2' && sp2[8] <= '9' ? METRICS_HTTP_BAD_VERSION :
		       METRICS_HTTP_BAD_REQUEST;
	while (next_line(head, len, &pos, &line, &llen) && llen)
		if (!header_ok(line, llen))
			return METRICS_HTTP_BAD_REQUEST;
	known_method = (mlen == 3 && !memcmp(head, "GET", 3)) ||
		       (mlen == 4 && !memcmp(head, "HEAD", 4));
	if (!known_method)
		return METRICS_HTTP_BAD_METHOD;
	*head_only = mlen == 4;
	if ((tlen == 8 || (tlen > 8 && target[8] == '?')) && !memcmp(target, "/metrics", 8))
		return METRICS_HTTP_OK;
	return METRICS_HTTP_NOT_FOUND;
}

const char *metrics_http_reason(enum metrics_http_status s)
{
	switch (s) {
	case METRICS_HTTP_OK: return "OK";
	case METRICS_HTTP_BAD_REQUEST: return "Bad Request";
	case METRICS_HTTP_NOT_FOUND: return "Not Found";
	case METRICS_HTTP_BAD_METHOD: return "Method Not Allowed";
	case METRICS_HTTP_TOO_LARGE: return "Request Header Fields Too Large";
	case METRICS_HTTP_BAD_VERSION: return "HTTP Version Not Supported";
	}
	return "?";
}
