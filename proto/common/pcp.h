/* The Port Control Protocol (RFC 6887), sans-I/O: the MAP and ANNOUNCE
 * requests a client sends, the responses it reads, and the check of the
 * server's epoch that tells a restarted gateway (section 8.5).  Bytes in,
 * bytes out; the caller owns the socket, the clock and the randomness
 * (the 96-bit mapping nonce).
 *
 * Every message (section 7) is a 24-byte common header and opcode data:
 *
 *   request:  version 2 | R=0, opcode | reserved (16) | requested
 *             lifetime (32) | the client's IP address (128)
 *   response: version 2 | R=1, opcode | reserved (8) | result code (8) |
 *             lifetime (32) | epoch time (32) | reserved (96)
 *   MAP data (section 11.1, 36 bytes): nonce (96) | protocol (8) |
 *             reserved (24) | internal port (16) | suggested, in a
 *             response assigned, external port (16) and address (128)
 *
 * All integers are big-endian; IPv4 addresses travel as IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d, section 5).  Messages are a multiple of 4
 * bytes and at most 1100 (section 7); options, which we never send, are
 * skipped in responses.
 *
 * Version negotiation (section 9): a NAT-PMP-only gateway (RFC 6886)
 * answers our version 2 with its own "unsupported version" answer,
 * version 0, opcode 128 and result 1 (PCP_DEC_NATPMP), so the client goes
 * on with NAT-PMP; a PCP server that speaks another version answers
 * UNSUPP_VERSION with the highest version it speaks (PCP_DEC_VERSION). */
#ifndef WH_PROTO_COMMON_PCP_H
#define WH_PROTO_COMMON_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	PCP_SERVER_PORT = 5351,		/* shared with NAT-PMP */
	PCP_VERSION = 2,
	PCP_MAX_LEN = 1100,		/* section 7 */
	PCP_HEADER_LEN = 24,
	PCP_MAP_DATA_LEN = 36,
	PCP_MAP_LEN = PCP_HEADER_LEN + PCP_MAP_DATA_LEN,
	PCP_NONCE_LEN = 12,
	PCP_RESPONSE_BIT = 0x80,
	PCP_PROTO_UDP = 17,		/* IANA protocol number */
};

enum pcp_opcode {
	PCP_OP_ANNOUNCE = 0,
	PCP_OP_MAP = 1,
	PCP_OP_PEER = 2,
};

/* Section 7.4. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* A MAP request (section 11.1).  lifetime 0 deletes the mapping of the
 * nonce, protocol and internal port (section 15). */
struct pcp_map_request {
	uint8_t client_addr[16];	/* the request's source address, mapped */
	uint32_t lifetime;		/* seconds */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;		/* PCP_PROTO_UDP */
	uint16_t internal_port;
	uint16_t suggested_port;	/* 0: no preference */
	uint8_t suggested_addr[16];	/* ::ffff:0.0.0.0: any IPv4 */
};

/* A decoded response.  The MAP fields are set when has_map. */
struct pcp_response {
	uint8_t version;
	uint8_t opcode;			/* without the response bit */
	uint8_t result;			/* enum pcp_result */
	uint32_t lifetime;		/* of the mapping, or of the error */
	uint32_t epoch;			/* the server's seconds since its start */
	bool has_map;
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;		/* assigned */
	uint8_t external_addr[16];	/* assigned */
};

enum pcp_decode {
	PCP_DEC_OK,
	PCP_DEC_LENGTH,		/* shorter than a header, not 4-aligned, or over 1100 */
	PCP_DEC_REQUEST,	/* the response bit is clear */
	PCP_DEC_NATPMP,		/* a NAT-PMP answer (version 0): no PCP here */
	PCP_DEC_VERSION,	/* another PCP version; response.version is it */
	PCP_DEC_OPCODE,		/* not the opcode asked */
	PCP_DEC_SHORT_MAP,	/* a successful MAP answer without its data */
	PCP_DEC_NONCE,		/* MAP data of another nonce: not our answer */
	PCP_DEC_MISMATCH,	/* our nonce, another protocol or internal port */
};

/* Encoders: write the request into buf (len bytes available); return its
 * length, or 0 when buf is too small. */
size_t pcp_encode_map(uint8_t *buf, size_t len, const struct pcp_map_request *q);
size_t pcp_encode_announce(uint8_t *buf, size_t len, const uint8_t client_addr[16]);

/* Decodes any response: header, and MAP data when the opcode is MAP and
 * the data is there.  PCP_DEC_NATPMP and PCP_DEC_VERSION fill version
 * and result. */
enum pcp_decode pcp_decode_response(const uint8_t *buf, size_t len, struct pcp_response *r);
/* Decodes the answer to the MAP request q: also checks the opcode and,
 * where MAP data is present (always on success), the nonce, protocol and
 * internal port against q. */
enum pcp_decode pcp_decode_map_answer(const uint8_t *buf, size_t len,
				      const struct pcp_map_request *q, struct pcp_response *r);

/* IPv4-mapped IPv6 addresses; v4 in network order (4 bytes). */
void pcp_addr_from_v4(uint8_t out[16], const uint8_t v4[4]);
/* False when addr is not IPv4-mapped. */
bool pcp_addr_to_v4(const uint8_t addr[16], uint8_t v4[4]);

/* The server's epoch as the client last saw it (section 8.5). */
struct pcp_epoch {
	bool valid;
	uint32_t server;	/* epoch time of the last response */
	uint64_t client_s;	/* our clock (seconds) when it arrived */
};

/* Takes the epoch of a new response at client time now_s.  Returns false
 * when the server must have lost its state (it restarted: its epoch went
 * back, or ran apart from our clock by more than section 8.5 allows), so
 * the client must re-create its mappings.  The first response is always
 * consistent.  Either way e holds the new epoch afterwards. */
bool pcp_epoch_update(struct pcp_epoch *e, uint32_t server_epoch, uint64_t now_s);

const char *pcp_result_name(uint8_t result);
const char *pcp_decode_name(enum pcp_decode d);

#endif
