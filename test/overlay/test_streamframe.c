/* Datagrams framed on a stream (proto/overlay/streamframe.c) against
 * doc/protocol.md 9.6: a stream of frames of many lengths (1, 2, the
 * bound, and between) read back whole when the stream is cut once at
 * every byte, cut into single bytes, and cut into random chunks; the
 * no-copy case; lengths 0 and over the bound fail for good; a stream
 * that ends inside a frame hands back nothing of it. */
#include "proto/overlay/streamframe.h"
#include "test/tap.h"

#include <stdlib.h>
#include <string.h>

#define NFRAMES 9

static const size_t lens[NFRAMES] = { 1, 2, 148, 1280, OVL_STREAM_MAX_FRAME, 32, 1452, 3, 1500 };

static uint8_t stream[NFRAMES * (OVL_STREAM_MAX_FRAME + 2)];
static size_t stream_len;

static void build(void)
{
	size_t i, j;

	stream_len = 0;
	for (i = 0; i < NFRAMES; ++i) {
		stream_len += ovl_stream_header(stream + stream_len, lens[i]);
		for (j = 0; j < lens[i]; ++j)
			stream[stream_len++] = (uint8_t)(i * 31 + j * 7);
	}
}

static bool frame_is(size_t i, const uint8_t *f, size_t n)
{
	size_t j;

	if (n != lens[i])
		return false;
	for (j = 0; j < n; ++j)
		if (f[j] != (uint8_t)(i * 31 + j * 7))
			return false;
	return true;
}

/* Feeds the stream in the chunks cuts[] says (ncuts cut points, in
 * order); true when exactly the frames come back, in order. */
static bool feed_cut(const size_t *cuts, size_t ncuts)
{
	struct ovl_stream_reader *r = tap_malloc(sizeof(*r));
	size_t got = 0, at = 0, k, end;
	bool good = true;

	ovl_stream_reader_init(r);
	for (k = 0; k <= ncuts && good; ++k) {
		end = k < ncuts ? cuts[k] : stream_len;
		while (at < end) {
			const uint8_t *f = NULL;
			size_t used = 0, fl = 0;
			enum ovl_stream_result res = ovl_stream_read(r, stream + at, end - at, &used, &f, &fl);

			if (res == OVL_STREAM_ERROR || used > end - at || (res == OVL_STREAM_MORE && used != end - at)) {
				good = false;
				break;
			}
			at += used;
			if (res == OVL_STREAM_FRAME) {
				if (got >= NFRAMES || !frame_is(got, f, fl))
					good = false;
				++got;
			}
		}
	}
	free(r);
	return good && got == NFRAMES;
}

static void test_every_cut(void)
{
	size_t c, bad = 0;

	for (c = 0; c <= stream_len; ++c)
		if (!feed_cut(&c, 1))
			++bad;
	ok(bad == 0, "the stream cut once at each of its %zu bytes: every frame whole (%zu bad)",
	   stream_len + 1, bad);
}

static void test_two_cuts(void)
{
	size_t a, b, bad = 0, runs = 0, cuts[2];

	/* Every pair of cuts around the headers of frames 1 and 2. */
	for (a = 0; a < 3 + 2 + 5; ++a)
		for (b = a; b < a + 160 && b <= stream_len; ++b) {
			cuts[0] = a;
			cuts[1] = b;
			++runs;
			if (!feed_cut(cuts, 2))
				++bad;
		}
	ok(bad == 0, "%zu pairs of cuts near the first headers: every frame whole", runs);
}

static void test_bytes(void)
{
	size_t *cuts = tap_malloc(stream_len * sizeof(*cuts)), i;

	for (i = 0; i < stream_len; ++i)
		cuts[i] = i + 1;
	ok(feed_cut(cuts, stream_len - 1), "the stream one byte at a time");
	free(cuts);
}

static void test_random(void)
{
	size_t cuts[64], n, i, bad = 0, run;

	for (run = 0; run < 2000; ++run) {
		n = (size_t)(tap_rand() % 64);
		for (i = 0; i < n; ++i)
			cuts[i] = (size_t)(tap_rand() % (stream_len + 1));
		/* in order */
		for (i = 1; i < n; ++i) {
			size_t j = i, v = cuts[i];

			while (j > 0 && cuts[j - 1] > v) {
				cuts[j] = cuts[j - 1];
				--j;
			}
			cuts[j] = v;
		}
		if (!feed_cut(cuts, n))
			++bad;
	}
	ok(bad == 0, "2000 random chunkings: every frame whole (%zu bad)", bad);
}

static void test_no_copy(void)
{
	struct ovl_stream_reader r;
	const uint8_t *f = NULL;
	size_t used, fl;

	ovl_stream_reader_init(&r);
	ok(ovl_stream_read(&r, stream, stream_len, &used, &f, &fl) == OVL_STREAM_FRAME && f == stream + 2 &&
	   fl == 1 && used == 3, "a frame wholly in the chunk is handed back in place");
}

static void test_bad_lengths(void)
{
	struct ovl_stream_reader r;
	const uint8_t *f;
	size_t used, fl;
	uint8_t zero[4] = { 0, 0, 0xff, 0xff }, big[2] = { 0x08, 0x01 }, hdr[2];

	ok(ovl_stream_header(hdr, 0) == 0 && ovl_stream_header(hdr, OVL_STREAM_MAX_FRAME + 1) == 0 &&
	   ovl_stream_header(hdr, OVL_STREAM_MAX_FRAME) == 2 && hdr[0] == 0x08 && hdr[1] == 0x00,
	   "the writer frames 1..%d bytes only, big-endian", OVL_STREAM_MAX_FRAME);
	ovl_stream_reader_init(&r);
	ok(ovl_stream_read(&r, zero, 1, &used, &f, &fl) == OVL_STREAM_MORE && used == 1 &&
	   ovl_stream_read(&r, zero + 1, 3, &used, &f, &fl) == OVL_STREAM_ERROR,
	   "a length of 0, split across chunks, is an error");
	ok(ovl_stream_read(&r, stream, stream_len, &used, &f, &fl) == OVL_STREAM_ERROR && used == 0,
	   "and the reader stays failed");
	ovl_stream_reader_init(&r);
	ok(ovl_stream_read(&r, big, 2, &used, &f, &fl) == OVL_STREAM_ERROR,
	   "a length of %d (over the bound) is an error", OVL_STREAM_MAX_FRAME + 1);
}

static void test_truncated(void)
{
	struct ovl_stream_reader r;
	const uint8_t *f;
	size_t used, fl, at = 0, frames = 0;
	enum ovl_stream_result res;

	ovl_stream_reader_init(&r);
	/* Frames 0 and 1 whole (3 + 4 bytes), then 100 bytes of frame 2. */
	while ((res = ovl_stream_read(&r, stream + at, 7 + 2 + 100 - at, &used, &f, &fl)) == OVL_STREAM_FRAME) {
		at += used;
		++frames;
	}
	ok(res == OVL_STREAM_MORE && frames == 2 && r.have == 100,
	   "a stream that stops inside a frame: the whole frames, then nothing (%zu frames)", frames);
}

int main(void)
{
	build();
	test_every_cut();
	test_two_cuts();
	test_bytes();
	test_random();
	test_no_copy();
	test_bad_lengths();
	test_truncated();
	return tap_done();
}
