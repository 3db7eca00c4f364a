/* Datagrams framed on a byte stream (see streamframe.h). */
#include "proto/overlay/streamframe.h"

#include "proto/common/byteorder.h"

#include <string.h>

void ovl_stream_reader_init(struct ovl_stream_reader *r)
{
	r->hdr_have = 0;
	r->need = 0;
	r->have = 0;
	r->failed = 0;
}

size_t ovl_stream_header(uint8_t out[OVL_STREAM_HEADER_LEN], size_t len)
{
	if (len == 0 || len > OVL_STREAM_MAX_FRAME)
		return 0;
	be16_put(out, (uint16_t)len);
	return OVL_STREAM_HEADER_LEN;
}

enum ovl_stream_result ovl_stream_read(struct ovl_stream_reader *r, const uint8_t *in, size_t len,
				       size_t *used, const uint8_t **frame, size_t *frame_len)
{
	size_t off = 0, take;

	*used = 0;
	if (r->failed)
		return OVL_STREAM_ERROR;
	while (r->hdr_have < OVL_STREAM_HEADER_LEN) {
		if (off == len) {
			*used = off;
			return OVL_STREAM_MORE;
		}
		r->hdr[r->hdr_have++] = in[off++];
		if (r->hdr_have == OVL_STREAM_HEADER_LEN) {
			r->need = be16_get(r->hdr);
			if (r->need == 0 || r->need > OVL_STREAM_MAX_FRAME) {
				r->failed = 1;
				*used = off;
				return OVL_STREAM_ERROR;
			}
			r->have = 0;
		}
	}
	/* The whole frame in this chunk and nothing held: no copy. */
	if (r->have == 0 && len - off >= r->need) {
		*frame = in + off;
		*frame_len = r->need;
		*used = off + r->need;
		r->hdr_have = 0;
		return OVL_STREAM_FRAME;
	}
	take = r->need - r->have;
	if (take > len - off)
		take = len - off;
	memcpy(r->buf + r->have, in + off, take);
	r->have += take;
	off += take;
	*used = off;
	if (r->have < r->need)
		return OVL_STREAM_MORE;
	*frame = r->buf;
	*frame_len = r->need;
	r->hdr_have = 0;
	r->have = 0;
	return OVL_STREAM_FRAME;
}
