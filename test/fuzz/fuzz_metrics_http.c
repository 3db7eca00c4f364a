/* libFuzzer harness for the metrics listener's request head
 * (src/node/metrics_http.c) and the text format's label escaping
 * (src/node/metrics.c).
 *
 * The first byte of the input chooses how the rest is cut into reads;
 * the rest is what a client sent.  The reader must frame it the same in
 * pieces as in one read, never keep more than METRICS_HTTP_MAX bytes,
 * and give a status the listener knows; 200 only for a head that starts
 * "GET /metrics" or "HEAD /metrics", and an answer without a body only
 * to HEAD.
 * The parser also gets the whole input as one head, from an exact-size
 * heap copy so that ASan sees any overread.  The input as a label value
 * must come out escaped: printable ASCII only, every quote and backslash
 * behind a backslash. */
#include "src/node/metrics.h"
#include "src/node/strbuf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_status(enum metrics_http_status st, bool head_only, const char *head, size_t len)
{
	if (!strcmp(metrics_http_reason(st), "?"))
		abort();
	if (head_only && (len < 5 || memcmp(head, "HEAD ", 5)))
		abort();
	if (st == METRICS_HTTP_OK &&
	    !(len >= 13 && !memcmp(head, "GET /metrics", 12) && !head_only) &&
	    !(len >= 14 && !memcmp(head, "HEAD /metrics", 13) && head_only))
		abort();
}

static void check_label(const char *text, size_t len)
{
	struct strbuf b = { 0 };
	char *z = malloc(len + 1), *out;
	size_t olen, i;

	if (!z)
		return;
	memcpy(z, text, len);
	z[len] = '\0';
	metrics_label_value(&b, z);
	out = strbuf_take(&b, &olen);
	for (i = 0; out && i < olen; ++i) {
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			abort();
		if (out[i] == '\\') {
			if (i + 1 >= olen || !strchr("\\\"n", out[i + 1]))
				abort();
			++i;
		} else if (out[i] == '"') {
			abort();
		}
	}
	free(out);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_http_reader *whole, *pieces;
	enum metrics_http_status sw, sp;
	bool hw, hp;
	const char *text;
	size_t len, fed = 0, used_whole, used = 0;
	uint32_t rng;
	char *copy;

	if (size < 1)
		return 0;
	rng = data[0] * 2654435761u + 1;
	text = (const char *)data + 1;
	len = size - 1;
	whole = malloc(sizeof(*whole));
	pieces = malloc(sizeof(*pieces));
	if (!whole || !pieces)
		goto out;
	metrics_http_reader_init(whole);
	metrics_http_reader_init(pieces);
	used_whole = metrics_http_reader_feed(whole, text, len);
	while (fed < len && !pieces->done) {
		size_t piece;

		rng = rng * 1103515245u + 12345u;
		piece = 1 + (rng >> 16) % 97;
		if (piece > len - fed)
			piece = len - fed;
		used += metrics_http_reader_feed(pieces, text + fed, piece);
		fed += piece;
	}
	if (whole->done != pieces->done || whole->len != pieces->len ||
	    whole->too_long != pieces->too_long || memcmp(whole->head, pieces->head, whole->len) ||
	    whole->len > METRICS_HTTP_MAX || used_whole > len)
		abort();
	/* Pieces fed whole after the end count as used; the head's own
	 * bytes are the same. */
	if (whole->done && !whole->too_long && used_whole != whole->len)
		abort();
	if (whole->done) {
		sw = metrics_http_reader_status(whole, &hw);
		sp = metrics_http_reader_status(pieces, &hp);
		if (sw != sp || hw != hp)
			abort();
		if (!whole->too_long)
			check_status(sw, hw, whole->head, whole->len);
		else if (sw != METRICS_HTTP_TOO_LARGE)
			abort();
	}
	copy = malloc(len ? len : 1);
	if (copy) {
		memcpy(copy, text, len);
		sw = metrics_http_parse(copy, len, &hw);
		check_status(sw, hw, copy, len);
		free(copy);
	}
	check_label(text, len);
out:
	free(whole);
	free(pieces);
	return 0;
}
