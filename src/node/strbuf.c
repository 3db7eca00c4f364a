#include "src/node/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct strbuf *b, size_t more)
{
	size_t need, ncap;
	char *n;

	if (b->failed)
		return false;
	need = b->len + more + 1;
	if (need <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(b->data, ncap);
	if (!n) {
		b->failed = true;
		return false;
	}
	b->data = n;
	b->cap = ncap;
	return true;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void strbuf_json_str(struct strbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_printf(b, "\"");
	for (; *p; ++p) {
		if (*p == '"' || *p == '\\')
			strbuf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			strbuf_printf(b, "\\u%04x", *p);
		else
			strbuf_printf(b, "%c", *p);
	}
	strbuf_printf(b, "\"");
}

char *strbuf_take(struct strbuf *b, size_t *len)
{
	char *d = b->failed ? NULL : b->data;

	if (!d && !b->failed) {
		d = calloc(1, 1);
		*len = 0;
	} else {
		*len = b->len;
	}
	if (b->failed)
		free(b->data);
	memset(b, 0, sizeof(*b));
	return d;
}
