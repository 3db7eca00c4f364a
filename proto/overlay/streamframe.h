/* Datagrams framed on a byte stream (doc/protocol.md 9.6, the TCP relay
 * path): sans-I/O.
 *
 *   frame:  u16 length (big-endian, 1..OVL_STREAM_MAX_FRAME) || datagram
 *
 * A datagram is what would have gone in one UDP datagram on the shared
 * socket: an overlay datagram (0xff), a relay channel datagram (0xfe) or
 * a WireGuard datagram (1-4); the framing does not look inside.  The
 * reader takes the stream in chunks of any size, split anywhere, and
 * hands back one whole datagram at a time: pointing into the caller's
 * chunk when the frame lies wholly in it and nothing was held back,
 * else copied into its own buffer (at most one frame).  A length of 0
 * or over the bound is a protocol error: the stream cannot be resynced,
 * so the reader stays failed and its owner closes the connection. */
#ifndef WH_PROTO_OVERLAY_STREAMFRAME_H
#define WH_PROTO_OVERLAY_STREAMFRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
	OVL_STREAM_HEADER_LEN = 2,
	/* Above any datagram of the shared socket: a WireGuard datagram of
	 * a 1500-byte path with its channel header, or an overlay datagram
	 * (at most 1280). */
	OVL_STREAM_MAX_FRAME = 2048,
};

enum ovl_stream_result {
	OVL_STREAM_MORE,	/* all of the input taken; no whole frame yet */
	OVL_STREAM_FRAME,	/* a frame: *frame, *frame_len; more input may follow */
	OVL_STREAM_ERROR,	/* a length of 0 or over the bound: close the stream */
};

struct ovl_stream_reader {
	uint8_t hdr[OVL_STREAM_HEADER_LEN];
	size_t hdr_have;	/* header bytes held */
	size_t need;		/* the frame's length, once the header is whole */
	size_t have;		/* datagram bytes held in buf */
	int failed;
	uint8_t buf[OVL_STREAM_MAX_FRAME];
};

void ovl_stream_reader_init(struct ovl_stream_reader *r);
/* Reads from in (len bytes) until a frame is whole or the input is used
 * up; *used says how many bytes it took.  Call again with the rest while
 * it says FRAME.  A frame handed back is valid until the next call. */
enum ovl_stream_result ovl_stream_read(struct ovl_stream_reader *r, const uint8_t *in, size_t len,
				       size_t *used, const uint8_t **frame, size_t *frame_len);
/* The header of a frame of len bytes into out; 0 when len cannot be
 * framed (0 or over the bound), else OVL_STREAM_HEADER_LEN. */
size_t ovl_stream_header(uint8_t out[OVL_STREAM_HEADER_LEN], size_t len);

#endif
