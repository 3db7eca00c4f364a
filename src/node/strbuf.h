/* A growable text buffer with printf-style appends and JSON string
 * escaping, for `wh show` and `wh inspect`.  An allocation failure makes
 * the buffer sticky-failed, and strbuf_take then gives NULL, instead of
 * losing text silently. */
#ifndef WH_SRC_NODE_STRBUF_H
#define WH_SRC_NODE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included; control bytes and non-ASCII
 * bytes are escaped (\u00XX), so any input gives valid JSON. */
void strbuf_json_str(struct strbuf *b, const char *s);
/* Hands the text over (NUL-terminated; *len without the NUL) and resets
 * the buffer; NULL after a failure. */
char *strbuf_take(struct strbuf *b, size_t *len);

#endif
