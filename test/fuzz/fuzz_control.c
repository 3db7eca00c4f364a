/* libFuzzer harness for the control socket's request line
 * (src/node/control_request.c).
 *
 * The first byte of the input chooses how the rest is cut into reads; the
 * rest is what a client wrote to the socket.  The reader must frame it the
 * same in pieces as in one read (the line up to the first LF, or too long
 * past CONTROL_LINE_MAX bytes), the parser must take exactly the lines the
 * plain model in test/control_model.h takes, with the same request, and
 * every error must have its text.  The parser also gets the whole input as
 * one line, from an exact-size heap copy so that ASan sees any overread. */
#include "src/node/control_request.h"

#include "test/control_model.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_request(const struct control_request *a, const struct control_request *b)
{
	return a->verb == b->verb && a->json == b->json && a->all == b->all &&
	       a->has_key == b->has_key && !strcmp(a->target, b->target) &&
	       !memcmp(a->key, b->key, sizeof(a->key)) && a->expires_s == b->expires_s &&
	       !memcmp(a->real, b->real, sizeof(a->real)) &&
	       !memcmp(a->proof, b->proof, sizeof(a->proof));
}

static enum control_error parse_checked(const char *line, size_t len, struct control_request *req)
{
	struct control_request want;
	enum control_error e = control_request_parse(req, line, len);
	bool model = control_model_parse(line, len, &want);

	if (model != (e == CONTROL_OK) || (model && !same_request(req, &want)))
		abort();
	if (!strcmp(control_error_text(e), "?"))
		abort();
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_reader whole, pieces;
	struct control_request a, b;
	enum control_error ea, eb;
	const char *text, *nl;
	uint32_t rng;
	size_t len, fed, piece, line_len;
	char *copy;
	bool done;

	if (size < 1 || size > 4096)
		return 0;
	rng = data[0] | 0x100u;
	text = (const char *)data + 1;
	len = size - 1;

	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, text, len);
	parse_checked(copy, len, &a);
	free(copy);

	control_reader_init(&whole);
	done = control_reader_feed(&whole, text, len);
	nl = memchr(text, '\n', len);
	line_len = nl ? (size_t)(nl - text) : len;
	if (whole.too_long != (line_len > CONTROL_LINE_MAX) ||
	    done != (nl != NULL || whole.too_long) || whole.done != done)
		abort();
	if (!whole.too_long && (whole.len != line_len || memcmp(whole.line, text, line_len)))
		abort();

	/* The same bytes in reads of 1 to 64 bytes. */
	control_reader_init(&pieces);
	for (fed = 0; fed < len; fed += piece) {
		rng = rng * 1103515245u + 12345u;
		piece = 1 + (rng >> 16) % 64;
		if (piece > len - fed)
			piece = len - fed;
		if (control_reader_feed(&pieces, text + fed, piece))
			break;
	}
	if (pieces.done != whole.done || pieces.too_long != whole.too_long ||
	    (!whole.too_long && (pieces.len != whole.len ||
				 memcmp(pieces.line, whole.line, whole.len))))
		abort();
	if (!done)
		return 0;

	ea = control_reader_request(&whole, &a);
	eb = control_reader_request(&pieces, &b);
	if (ea != eb || (ea == CONTROL_OK && !same_request(&a, &b)))
		abort();
	if (whole.too_long ? ea != CONTROL_ERR_TOO_LONG : ea != parse_checked(whole.line, whole.len, &b))
		abort();
	return 0;
}
