/* The PCP codec (see pcp.h).  Every length is checked before the field
 * it covers is read; byte order is converted here and nowhere else. */
#include "proto/common/pcp.h"

#include "proto/common/byteorder.h"

#include <string.h>

/* Offsets in the common header (RFC 6887, figures 2 and 3) and in the
 * MAP data (figures 9 and 10), from the start of the message. */
enum {
	OFF_VERSION = 0,
	OFF_OPCODE = 1,
	OFF_RESULT = 3,		/* response */
	OFF_LIFETIME = 4,
	OFF_CLIENT_ADDR = 8,	/* request */
	OFF_EPOCH = 8,		/* response */
	OFF_NONCE = PCP_HEADER_LEN,
	OFF_PROTOCOL = OFF_NONCE + PCP_NONCE_LEN,
	OFF_INTERNAL_PORT = OFF_PROTOCOL + 4,
	OFF_EXTERNAL_PORT = OFF_INTERNAL_PORT + 2,
	OFF_EXTERNAL_ADDR = OFF_EXTERNAL_PORT + 2,
	/* A NAT-PMP answer (RFC 6886 3.5): version 0, opcode 128 + op,
	 * a 16-bit result code. */
	NATPMP_ANSWER_MIN = 4,
};

_Static_assert(OFF_EXTERNAL_ADDR + 16 == PCP_MAP_LEN, "MAP wire size");
_Static_assert(PCP_MAP_LEN % 4 == 0, "PCP messages are 4-aligned");

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void pcp_addr_from_v4(uint8_t out[16], const uint8_t v4[4])
{
	memcpy(out, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(out + 12, v4, 4);
}

bool pcp_addr_to_v4(const uint8_t addr[16], uint8_t v4[4])
{
	if (memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) != 0)
		return false;
	memcpy(v4, addr + 12, 4);
	return true;
}

static void put_request_header(uint8_t *buf, uint8_t opcode, uint32_t lifetime,
			       const uint8_t client_addr[16])
{
	memset(buf, 0, PCP_HEADER_LEN);
	buf[OFF_VERSION] = PCP_VERSION;
	buf[OFF_OPCODE] = opcode;	/* R = 0: a request */
	be32_put(buf + OFF_LIFETIME, lifetime);
	memcpy(buf + OFF_CLIENT_ADDR, client_addr, 16);
}

size_t pcp_encode_map(uint8_t *buf, size_t len, const struct pcp_map_request *q)
{
	if (len < PCP_MAP_LEN)
		return 0;
	put_request_header(buf, PCP_OP_MAP, q->lifetime, q->client_addr);
	memcpy(buf + OFF_NONCE, q->nonce, PCP_NONCE_LEN);
	buf[OFF_PROTOCOL] = q->protocol;
	memset(buf + OFF_PROTOCOL + 1, 0, 3);
	be16_put(buf + OFF_INTERNAL_PORT, q->internal_port);
	be16_put(buf + OFF_EXTERNAL_PORT, q->suggested_port);
	memcpy(buf + OFF_EXTERNAL_ADDR, q->suggested_addr, 16);
	return PCP_MAP_LEN;
}

size_t pcp_encode_announce(uint8_t *buf, size_t len, const uint8_t client_addr[16])
{
	/* Section 14.1: ANNOUNCE has no opcode data; lifetime 0. */
	if (len < PCP_HEADER_LEN)
		return 0;
	put_request_header(buf, PCP_OP_ANNOUNCE, 0, client_addr);
	return PCP_HEADER_LEN;
}

enum pcp_decode pcp_decode_response(const uint8_t *buf, size_t len, struct pcp_response *r)
{
	memset(r, 0, sizeof(*r));
	if (len >= NATPMP_ANSWER_MIN && buf[OFF_VERSION] == 0 && (buf[OFF_OPCODE] & PCP_RESPONSE_BIT)) {
		/* NAT-PMP's 16-bit result code; 1 is its "unsupported
		 * version".  Its answers are not 4-aligned PCP messages. */
		r->version = 0;
		r->opcode = buf[OFF_OPCODE] & (uint8_t)~PCP_RESPONSE_BIT;
		r->result = be16_get(buf + 2) > 0xff ? 0xff : (uint8_t)be16_get(buf + 2);
		return PCP_DEC_NATPMP;
	}
	if (len < PCP_HEADER_LEN || len > PCP_MAX_LEN || len % 4 != 0)
		return PCP_DEC_LENGTH;
	r->version = buf[OFF_VERSION];
	r->opcode = buf[OFF_OPCODE] & (uint8_t)~PCP_RESPONSE_BIT;
	r->result = buf[OFF_RESULT];
	r->lifetime = be32_get(buf + OFF_LIFETIME);
	r->epoch = be32_get(buf + OFF_EPOCH);
	if (!(buf[OFF_OPCODE] & PCP_RESPONSE_BIT))
		return PCP_DEC_REQUEST;
	if (r->version != PCP_VERSION)
		return PCP_DEC_VERSION;
	if (r->opcode == PCP_OP_MAP && len >= PCP_MAP_LEN) {
		r->has_map = true;
		memcpy(r->nonce, buf + OFF_NONCE, PCP_NONCE_LEN);
		r->protocol = buf[OFF_PROTOCOL];
		r->internal_port = be16_get(buf + OFF_INTERNAL_PORT);
		r->external_port = be16_get(buf + OFF_EXTERNAL_PORT);
		memcpy(r->external_addr, buf + OFF_EXTERNAL_ADDR, 16);
	}
	return PCP_DEC_OK;
}

enum pcp_decode pcp_decode_map_answer(const uint8_t *buf, size_t len,
				      const struct pcp_map_request *q, struct pcp_response *r)
{
	enum pcp_decode d = pcp_decode_response(buf, len, r);

	if (d != PCP_DEC_OK)
		return d;
	/* An UNSUPP_VERSION or UNSUPP_OPCODE answer may not echo our
	 * opcode data; it carries no nonce to check. */
	if (r->opcode != PCP_OP_MAP)
		return PCP_DEC_OPCODE;
	if (!r->has_map)
		return r->result == PCP_SUCCESS ? PCP_DEC_SHORT_MAP : PCP_DEC_OK;
	/* Section 11.4: the nonce, protocol and internal port must be the
	 * request's.  The nonce is what tells our answer from a forged or
	 * stale one. */
	if (memcmp(r->nonce, q->nonce, PCP_NONCE_LEN) != 0)
		return PCP_DEC_NONCE;
	if (r->protocol != q->protocol || r->internal_port != q->internal_port)
		return PCP_DEC_MISMATCH;
	return PCP_DEC_OK;
}

bool pcp_epoch_update(struct pcp_epoch *e, uint32_t server_epoch, uint64_t now_s)
{
	bool ok = true;

	if (e->valid) {
		int64_t server_delta = (int64_t)server_epoch - (int64_t)e->server;
		int64_t client_delta = (int64_t)now_s - (int64_t)e->client_s;

		/* Section 8.5: the epoch may lag by a second; otherwise both
		 * clocks must have advanced alike, within 2 s plus 1/16. */
		if (server_delta < -1)
			ok = false;
		else if (client_delta + 2 < server_delta - server_delta / 16 ||
			 server_delta + 2 < client_delta - client_delta / 16)
			ok = false;
	}
	e->valid = true;
	e->server = server_epoch;
	e->client_s = now_s;
	return ok;
}

const char *pcp_result_name(uint8_t result)
{
	switch (result) {
	case PCP_SUCCESS: return "SUCCESS";
	case PCP_UNSUPP_VERSION: return "UNSUPP_VERSION";
	case PCP_NOT_AUTHORIZED: return "NOT_AUTHORIZED";
	case PCP_MALFORMED_REQUEST: return "MALFORMED_REQUEST";
	case PCP_UNSUPP_OPCODE: return "UNSUPP_OPCODE";
	case PCP_UNSUPP_OPTION: return "UNSUPP_OPTION";
	case PCP_MALFORMED_OPTION: return "MALFORMED_OPTION";
	case PCP_NETWORK_FAILURE: return "NETWORK_FAILURE";
	case PCP_NO_RESOURCES: return "NO_RESOURCES";
	case PCP_UNSUPP_PROTOCOL: return "UNSUPP_PROTOCOL";
	case PCP_USER_EX_QUOTA: return "USER_EX_QUOTA";
	case PCP_CANNOT_PROVIDE_EXTERNAL: return "CANNOT_PROVIDE_EXTERNAL";
	case PCP_ADDRESS_MISMATCH: return "ADDRESS_MISMATCH";
	case PCP_EXCESSIVE_REMOTE_PEERS: return "EXCESSIVE_REMOTE_PEERS";
	}
	return "unknown result";
}

const char *pcp_decode_name(enum pcp_decode d)
{
	switch (d) {
	case PCP_DEC_OK: return "ok";
	case PCP_DEC_LENGTH: return "bad length";
	case PCP_DEC_REQUEST: return "a request, not a response";
	case PCP_DEC_NATPMP: return "a NAT-PMP answer";
	case PCP_DEC_VERSION: return "another PCP version";
	case PCP_DEC_OPCODE: return "another opcode";
	case PCP_DEC_SHORT_MAP: return "a MAP answer without its data";
	case PCP_DEC_NONCE: return "another nonce";
	case PCP_DEC_MISMATCH: return "another protocol or internal port";
	}
	return "?";
}
