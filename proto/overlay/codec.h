/* The overlay message codec: typed structs <-> the plaintext of an overlay
 * datagram (type byte || body), as doc/protocol.md specifies them.  Pure:
 * no keys, no time, no allocation.
 *
 * Decoding is strict: every length is checked before a field is read, a
 * message must end exactly where its fields say (every variable part has
 * an explicit count or length: truncations and trailing bytes are both
 * refused), counts are bounded, padding is zero, addresses are in their
 * one canonical form.  So a
 * message that decodes encodes back to the same bytes.
 *
 * Errors: decoding returns an enum ovl_decode result (a remote peer's
 * bytes, counted by the caller); encoding returns the length written or a
 * negative errno (-EINVAL for a struct that breaks a rule, -EMSGSIZE when
 * the message or the output buffer is too small or too large). */
#ifndef WH_PROTO_OVERLAY_CODEC_H
#define WH_PROTO_OVERLAY_CODEC_H

#include "proto/overlay/addr.h"
#include "proto/overlay/overlay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct ovl_ping {
	uint64_t nonce;
	uint8_t flags;
	uint16_t pad_len;		/* zero bytes after the body */
};

struct ovl_pong {
	uint64_t nonce;
	uint8_t flags;
	struct ovl_addr observed;
};

struct ovl_find_node {
	uint64_t txid;
	uint8_t target[OVL_KEY_LEN];
	uint16_t pad_len;
};

struct ovl_node {
	uint8_t key[OVL_KEY_LEN];
	struct ovl_addr addr;
	uint8_t flags;
};

struct ovl_nodes {
	uint64_t txid;
	uint8_t count;
	struct ovl_node nodes[OVL_K];
};

struct ovl_frag {
	uint16_t id;
	uint8_t index;
	uint8_t count;
};

/* payload points into the decoded buffer (or the caller's bytes when
 * encoding): it lives as long as they do. */
struct ovl_relay {
	uint8_t dst[OVL_KEY_LEN];
	struct ovl_frag frag;
	const uint8_t *payload;
	size_t payload_len;
};

struct ovl_relayed {
	uint8_t src[OVL_KEY_LEN];
	struct ovl_addr src_addr;
	struct ovl_frag frag;
	const uint8_t *payload;
	size_t payload_len;
};

struct ovl_candidate {
	uint8_t type;			/* enum ovl_candidate_type */
	struct ovl_addr addr;
};

struct ovl_candidates {
	uint64_t txid;
	uint8_t flags;
	uint8_t count;
	struct ovl_candidate cands[OVL_MAX_CANDIDATES];
};

struct ovl_punch {
	uint64_t nonce;
	uint16_t pad_len;		/* zero bytes after the body */
};

struct ovl_channel_bind {
	uint8_t dst[OVL_KEY_LEN];
	uint16_t pad_len;		/* zero bytes after the body */
};

struct ovl_channel_bound {
	uint8_t dst[OVL_KEY_LEN];
	uint8_t status;			/* enum ovl_channel_status */
	uint32_t channel;		/* nonzero exactly when status is OK */
	uint16_t lifetime_s;		/* 0 unless OK */
};

struct ovl_probe_req {
	uint64_t nonce;
	uint16_t pad_len;		/* zero bytes after the body */
};

struct ovl_probe {
	uint64_t nonce;
	uint8_t kind;			/* enum ovl_probe_kind; never 0 */
	uint8_t sent;			/* enum ovl_probe_sent bits */
};

/* MAP_PROBE and MAP_SEEN (doc/protocol.md 9.4). */
struct ovl_map_probe {
	uint64_t nonce;
	uint16_t pad_len;		/* zero bytes after the body */
};

struct ovl_map_seen {
	uint64_t nonce;
	struct ovl_addr observed;
};

/* PEERS (doc/protocol.md 9.3): a Bloom filter of the keys a member
 * accepts relayed traffic from (proto/overlay/peerfilter.h reads and
 * fills it). */
struct ovl_peers {
	uint8_t hashes;			/* 1..OVL_PEERS_MAX_HASHES */
	bool stock;			/* the member takes stock clients through us (9.5) */
	uint8_t salt[16];
	uint8_t filter[OVL_PEERS_FILTER_LEN];
};

struct ovl_stock_clients {
	uint8_t count;			/* 1..OVL_STOCK_CLIENTS_MAX */
	uint8_t keys[OVL_STOCK_CLIENTS_MAX][OVL_KEY_LEN];
};

struct ovl_msg {
	uint8_t type;			/* enum ovl_msg_type */
	union {
		struct ovl_ping ping;
		struct ovl_pong pong;
		struct ovl_find_node find_node;
		struct ovl_nodes nodes;
		struct ovl_relay relay;
		struct ovl_relayed relayed;
		struct ovl_candidates candidates;
		struct ovl_punch punch;
		struct ovl_channel_bind channel_bind;
		struct ovl_channel_bound channel_bound;
		struct ovl_probe_req probe_req;
		struct ovl_probe probe;
		struct ovl_peers peers;
		struct ovl_stock_clients stock_clients;
		struct ovl_map_probe map_probe;
		struct ovl_map_seen map_seen;
	} u;
};

enum ovl_decode {
	OVL_DECODE_OK = 0,
	OVL_DECODE_EMPTY,		/* no type byte */
	OVL_DECODE_UNKNOWN_TYPE,	/* m->type is set; the body is not read */
	OVL_DECODE_TRUNCATED,		/* shorter than its type or its count says */
	OVL_DECODE_TRAILING,		/* bytes after the end of the message */
	OVL_DECODE_TOO_LONG,		/* over OVL_MAX_PLAINTEXT, or a relay chunk over its limit */
	OVL_DECODE_BAD_COUNT,		/* a count above its limit */
	OVL_DECODE_BAD_ADDR,		/* unknown family, non-canonical, port 0 */
	OVL_DECODE_BAD_FIELD,		/* nonzero padding, bad fragment, type or kind 0 */
	OVL_DECODE_MAX,
};

/* Decodes buf (the plaintext an ovl_secure_open produced).  On anything
 * but OVL_DECODE_OK the contents of *m other than m->type are undefined. */
enum ovl_decode ovl_msg_decode(struct ovl_msg *m, const uint8_t *buf, size_t len);

/* Writes the plaintext of m into out; returns its length (at most
 * OVL_MAX_PLAINTEXT) or a negative errno. */
long ovl_msg_encode(uint8_t *out, size_t outmax, const struct ovl_msg *m);

/* Relay channel data (not an overlay message: see overlay.h).  parse
 * checks the header of buf (byte 0 already OVL_CHAN_MAGIC or not) and
 * that a WireGuard message type follows; it returns the header's length
 * with *dir and *channel set, or 0 for anything malformed.  write puts a
 * header into out[0 .. OVL_CHAN_HEADER_LEN). */
size_t ovl_chan_parse(const uint8_t *buf, size_t len, uint8_t *dir, uint32_t *channel);
void ovl_chan_write(uint8_t out[OVL_CHAN_HEADER_LEN], uint8_t dir, uint32_t channel);
/* A stock client's datagram (doc/protocol.md 9.5): parse checks the
 * header (dir CLIENT_FROM_RELAY or CLIENT_TO_RELAY, a valid address) and
 * that a WireGuard message type follows; it returns
 * OVL_CHAN_CLIENT_HEADER_LEN with *dir and *client set, or 0.  write puts
 * a header for client (valid) into out. */
size_t ovl_chan_client_parse(const uint8_t *buf, size_t len, uint8_t *dir, struct ovl_addr *client);
void ovl_chan_client_write(uint8_t out[OVL_CHAN_CLIENT_HEADER_LEN], uint8_t dir,
			   const struct ovl_addr *client);

/* The cookie reply (doc/protocol.md 4.1): not an overlay message but a
 * datagram of its own, told apart by byte 1 (OVL_VERSION |
 * OVL_HDR_COOKIE), in clear but for the sealed cookie.  parse checks the
 * length and the first two bytes and copies the fields out (false for
 * anything else); write lays a reply out. */
struct ovl_cookie_reply {
	uint8_t sender[OVL_KEY_LEN];
	uint8_t salt[OVL_COOKIE_SALT_LEN];
	uint8_t sealed[OVL_COOKIE_LEN + OVL_TAG_LEN];
};

bool ovl_cookie_reply_parse(struct ovl_cookie_reply *r, const uint8_t *buf, size_t len);
void ovl_cookie_reply_write(uint8_t out[OVL_COOKIE_REPLY_LEN], const struct ovl_cookie_reply *r);

const char *ovl_msg_type_name(uint8_t type);

/* An address in its 19-byte wire form (doc/protocol.md 6.3), for formats
 * outside the messages: read is false for anything but the one form. */
bool ovl_wire_addr_read(struct ovl_addr *a, const uint8_t w[OVL_ADDR_LEN]);
bool ovl_wire_addr_write(uint8_t w[OVL_ADDR_LEN], const struct ovl_addr *a);

#endif
