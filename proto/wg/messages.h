/* WireGuard's wire formats and protocol constants: the one place they
 * are written.  All integers on the wire are little-endian; the codec
 * converts them (le32/le64 of proto/common/byteorder.h), nothing else
 * touches byte order.  A message's length is checked against its type
 * before any of its fields is read (wg_message_type). */
#ifndef WH_PROTO_WG_MESSAGES_H
#define WH_PROTO_WG_MESSAGES_H

#include "proto/common/byteorder.h"

#include <stddef.h>
#include <stdint.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

/* Seconds and counts from the protocol (whitepaper section 6 and the
 * kernel's messages.h). */
#define REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))
enum wg_limits {
	REKEY_TIMEOUT = 5,
	REKEY_TIMEOUT_JITTER_MAX_JIFFIES_MS = 334,	/* jitter up to HZ/3 */
	REKEY_AFTER_TIME = 120,
	REKEY_ATTEMPT_TIME = 90,
	REJECT_AFTER_TIME = 180,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1 << 20,
	KEEPALIVE_TIMEOUT = 10,
	MAX_TIMER_HANDSHAKES = 90 / 5,	/* REKEY_ATTEMPT_TIME / REKEY_TIMEOUT */
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_PACKETS = 1024,
	COOKIE_SECRET_MAX_AGE = 120,
	COOKIE_SECRET_LATENCY = 5,
	WG_DEFAULT_MTU = 1420,
	WG_DEFAULT_PORT = 51820,
};

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* Every field is a byte array or a u32/u64 stored little-endian through
 * the helpers below; structs are packed byte layouts, never cast from a
 * buffer before its length has been checked. */
struct message_header {
	/* The first byte is the type, the next three are zero; compared as
	 * one little-endian u32, so nonzero reserved bytes make it invalid. */
	uint8_t type[4];
};

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
};

struct message_handshake_initiation {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
};

struct message_handshake_response {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
};

struct message_handshake_cookie {
	struct message_header header;
	uint8_t receiver_index[4];
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
};

struct message_data {
	struct message_header header;
	uint8_t key_idx[4];
	uint8_t counter[8];
	uint8_t encrypted_data[];
};

_Static_assert(sizeof(struct message_header) == 4, "wire size");
_Static_assert(sizeof(struct message_handshake_initiation) == 148, "wire size");
_Static_assert(sizeof(struct message_handshake_response) == 92, "wire size");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "wire size");
_Static_assert(sizeof(struct message_data) == 16, "wire size");
_Static_assert(offsetof(struct message_handshake_initiation, macs) == 116, "wire offset");
_Static_assert(offsetof(struct message_handshake_response, macs) == 60, "wire offset");

#define message_data_len(plain_len) (noise_encrypted_len(plain_len) + sizeof(struct message_data))
enum message_alignments {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = message_data_len(0),
};

/* The first byte of every datagram on the shared socket: 1-4 are
 * WireGuard's, OVERLAY_FIRST_BYTE is the overlay's (a later protocol),
 * anything else is dropped and counted. */
enum { OVERLAY_FIRST_BYTE = 0xff };

/* The message type of a datagram whose length fits that type exactly
 * (types 1-3) or at least (type 4); MESSAGE_INVALID otherwise. */
static inline enum message_type wg_message_type(const uint8_t *buf, size_t len)
{
	uint32_t type;

	if (len < sizeof(struct message_header))
		return MESSAGE_INVALID;
	type = le32_get(buf);
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == sizeof(struct message_handshake_initiation) ? MESSAGE_HANDSHAKE_INITIATION : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == sizeof(struct message_handshake_response) ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == sizeof(struct message_handshake_cookie) ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return len >= MESSAGE_MINIMUM_LENGTH ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

#endif
