/* libFuzzer harness for datagrams framed on a stream
 * (proto/overlay/streamframe.c), checked against a naive model of
 * doc/protocol.md 9.6 written here: the whole stream at once, a u16
 * length and its bytes, until a length of 0 or over the bound.
 *
 * Input: byte 0 seeds the chunk sizes (1 + a xorshift draw % (1 + 4 x
 * byte 0)), the rest is the stream.  The reader, fed in those chunks,
 * must hand back exactly the model's frames in order, fail exactly where
 * the model fails, and never take more than it was given. */
#include "proto/overlay/streamframe.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ovl_stream_reader reader;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *s;
	size_t n, at = 0, m = 0, span;
	uint32_t x;
	int model_failed = 0;

	if (size < 1)
		return 0;
	span = 1 + 4 * (size_t)data[0];
	x = 0x9e3779b9u ^ data[0];
	s = data + 1;
	n = size - 1;
	ovl_stream_reader_init(&reader);
	while (at < n) {
		size_t chunk, end, used;
		const uint8_t *f;
		size_t fl;
		enum ovl_stream_result r;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		chunk = 1 + x % span;
		end = at + chunk > n ? n : at + chunk;
		while (at < end) {
			r = ovl_stream_read(&reader, s + at, end - at, &used, &f, &fl);
			if (used > end - at)
				abort();
			at += used;
			if (r == OVL_STREAM_MORE) {
				if (at != end)
					abort();
				break;
			}
			/* The model's next frame, from the stream as a whole. */
			if (m + 2 > n)
				abort();
			{
				size_t want = ((size_t)s[m] << 8) | s[m + 1];

				if (want == 0 || want > OVL_STREAM_MAX_FRAME) {
					if (r != OVL_STREAM_ERROR || at != m + 2)
						abort();
					model_failed = 1;
					break;
				}
				if (r != OVL_STREAM_FRAME || fl != want || m + 2 + want != at ||
				    memcmp(f, s + m + 2, want))
					abort();
				m += 2 + want;
			}
		}
		if (model_failed)
			break;
	}
	/* Whatever is left unread by the model is an unfinished frame. */
	if (!model_failed && m < n) {
		size_t want = n - m >= 2 ? (((size_t)s[m] << 8) | s[m + 1]) : 1;

		if (n - m >= 2 && (want == 0 || want > OVL_STREAM_MAX_FRAME))
			abort();
		if (n - m >= 2 + want)
			abort();
	}
	return 0;
}
