/* The overlay's wire formats and protocol constants (doc/protocol.md,
 * "wh overlay protocol, version 1"): the one place they are written.
 *
 * Every overlay datagram is
 *
 *     header (42 bytes, cleartext, the AEAD's associated data)
 *     ciphertext of (type byte || body) and a 16-byte Poly1305 tag
 *
 * Every message is self-delimiting (explicit counts and lengths), so a
 * receiver refuses both truncated and over-long plaintexts.
 *
 * All multi-byte integers on the wire are big-endian (network order); the
 * codec (codec.c) and the secure layer (secure.c) convert them through the
 * be16/be32/be64 helpers of proto/common/byteorder.h, nothing else touches
 * byte order.  Structs are
 * byte layouts made only of byte arrays (alignment 1), never cast from a
 * buffer before its length has been checked. */
#ifndef WH_PROTO_OVERLAY_OVERLAY_H
#define WH_PROTO_OVERLAY_OVERLAY_H

#include "proto/common/byteorder.h"

#include <stddef.h>
#include <stdint.h>

enum ovl_sizes {
	OVL_MAGIC = 0xff,		/* byte 0: the shared socket's demultiplexer */
	OVL_VERSION = 1,		/* byte 1 */
	OVL_KEY_LEN = 32,		/* X25519 public keys = node IDs */
	OVL_HEADER_LEN = 42,		/* magic, version, sender key, counter */
	OVL_TAG_LEN = 16,
	OVL_OVERHEAD = OVL_HEADER_LEN + OVL_TAG_LEN,
	OVL_MAX_DATAGRAM = 1280,	/* IPv6 minimum link MTU: never fragmented */
	OVL_MAX_PLAINTEXT = OVL_MAX_DATAGRAM - OVL_OVERHEAD,	/* type + body: 1222 */
	OVL_MIN_DATAGRAM = OVL_OVERHEAD + 1,	/* the type byte at least */
	OVL_ADDR_LEN = 19,
	OVL_NAMESPACE_MAX = 255,
};

/* DHT and NAT-traversal limits (doc/protocol.md, "Limits"). */
enum ovl_limits {
	OVL_K = 20,			/* bucket size, entries in NODES */
	OVL_ALPHA = 3,			/* parallel requests of a lookup */
	OVL_MAX_CANDIDATES = 16,
	OVL_RELAY_MAX_FRAGMENTS = 8,
	/* A relay chunk must fit in a RELAYED datagram of 1280 bytes:
	 * 1222 - type 1 - source 32 - source address 19 - fragment 4 -
	 * length 2. */
	OVL_RELAY_MAX_CHUNK = 1164,
	OVL_REPLAY_WINDOW = 1024,	/* counters remembered behind the highest */
	OVL_RX_IDLE_RESET_SEC = 180,	/* a silent sender's window is forgotten */
};

/* The first byte of the plaintext.  Ranges are assigned by purpose so
 * that later features get numbers without renumbering (doc/protocol.md,
 * "Message types"); unassigned numbers are dropped and counted. */
enum ovl_msg_type {
	OVL_MSG_INVALID = 0x00,
	/* 0x01-0x0f: liveness and the DHT */
	OVL_MSG_PING = 0x01,
	OVL_MSG_PONG = 0x02,
	OVL_MSG_FIND_NODE = 0x03,
	OVL_MSG_NODES = 0x04,
	OVL_MSG_PROBE_REQ = 0x05,	/* NAT filtering: send me probes */
	OVL_MSG_PROBE = 0x06,		/* NAT filtering: a probe, or the answer */
	/* 0x10-0x1f: relaying and NAT traversal */
	OVL_MSG_RELAY = 0x10,
	OVL_MSG_RELAYED = 0x11,
	OVL_MSG_CANDIDATES = 0x12,
	OVL_MSG_PUNCH = 0x13,
	OVL_MSG_CHANNEL_BIND = 0x14,
	OVL_MSG_CHANNEL_BOUND = 0x15,
	OVL_MSG_PEERS = 0x16,		/* a member's peers, for its relays (9.3) */
	OVL_MSG_MAP_PROBE = 0x17,	/* NAT mapping: to a PUBLIC node's second port (9.4) */
	OVL_MSG_MAP_SEEN = 0x18,	/* its answer from that port: where it saw us */
	OVL_MSG_STOCK_CLIENTS = 0x19,	/* a member's stock clients, for a relay (9.5) */
	/* Reserved, not yet specified: */
	OVL_MSG_INVITE_FIRST = 0x20,	/* 0x20-0x2f invitations: AUTH 0x20, AUTHED 0x21 */
	OVL_MSG_AUTH = 0x20,		/* a joiner's real key, under the alias (auth.h) */
	OVL_MSG_AUTHED = 0x21,		/* the inviter's answer: a refusal or a file chunk */
	OVL_MSG_INVITE_LAST = 0x2f,
	OVL_MSG_STREAM_FIRST = 0x30,	/* 0x30-0x3f streams (netcat over the overlay) */
	OVL_MSG_STREAM_LAST = 0x3f,
	OVL_MSG_NAMES_FIRST = 0x40,	/* 0x40-0x4f names and DNS */
	OVL_MSG_NAMES_LAST = 0x4f,
	/* 0x50-0xef future versions of this protocol; 0xf0-0xfe experiments
	 * that never leave a private network; 0xff never assigned. */
	OVL_MSG_PRIVATE_FIRST = 0xf0,
	OVL_MSG_PRIVATE_LAST = 0xfe,
};

/* What a node says about itself (PING, PONG) or about another (NODES).
 * Hints only; unknown bits are kept by the codec and ignored. */
enum ovl_node_flags {
	OVL_NODE_PUBLIC = 0x01,		/* reachable at its address unsolicited */
	OVL_NODE_RELAY = 0x02,		/* forwards RELAY for members */
};

enum ovl_candidates_flags {
	OVL_CANDIDATES_REPLY = 0x01,	/* the answer: do not answer it */
};

/* Candidate types; 0 is invalid, unknown nonzero ones are kept by the
 * codec and ignored by receivers. */
enum ovl_candidate_type {
	OVL_CAND_LAN = 1,		/* an address of one of the host's interfaces */
	OVL_CAND_REFLEXIVE = 2,		/* as seen by another node (PONG, RELAYED) */
	OVL_CAND_MAPPED = 3,		/* a UPnP IGD / NAT-PMP / PCP port mapping */
	OVL_CAND_PREDICTED = 4,		/* a port our NAT will likely allocate next (9.7) */
};

/* A relay's answer to CHANNEL_BIND (doc/protocol.md 9.1). */
enum ovl_channel_status {
	OVL_CHANNEL_OK = 0,		/* bound: the channel number follows */
	OVL_CHANNEL_OFF = 1,		/* this node does not relay WireGuard traffic */
	OVL_CHANNEL_NO_PATH = 2,	/* no live, validated path to the destination */
	OVL_CHANNEL_BAD = 3,		/* to the sender itself, or to the relay */
	OVL_CHANNEL_FULL = 4,		/* no room for another channel now */
	OVL_CHANNEL_DENIED = 5,		/* the destination did not name the requester (9.3) */
};

/* Relay channel data (doc/protocol.md 9.1): not an overlay message but a
 * datagram of its own on the shared socket, told apart by byte 0, that
 * carries one WireGuard datagram through a relay with 8 bytes of
 * overhead and no cryptography of its own (WireGuard authenticates it end
 * to end; the relay knows the sender by the channel number it handed out
 * over the authenticated overlay and the address it was bound from). */
enum ovl_chan_sizes {
	OVL_CHAN_MAGIC = 0xfe,		/* byte 0 */
	OVL_CHAN_TO_RELAY = 0x01,	/* byte 1: sender -> relay */
	OVL_CHAN_FROM_RELAY = 0x02,	/* byte 1: relay -> destination */
	/* A stock WireGuard client's datagram (9.5): relay -> member, with
	 * the client's address; member -> relay, to the client's address. */
	OVL_CHAN_CLIENT_FROM_RELAY = 0x03,
	OVL_CHAN_CLIENT_TO_RELAY = 0x04,
	OVL_CHAN_HEADER_LEN = 8,
	OVL_CHAN_CLIENT_HEADER_LEN = 24,
	OVL_CHAN_LIFETIME_S = 60,	/* a binding lives this long unless renewed */
};

struct ovl_wire_chan_header {
	uint8_t magic;			/* OVL_CHAN_MAGIC */
	uint8_t dir;			/* OVL_CHAN_TO_RELAY or OVL_CHAN_FROM_RELAY */
	uint8_t zero[2];		/* sent as 0, ignored */
	uint8_t channel[4];		/* big-endian; to a relay: the bound number;
					 * from a relay: 0 */
};

/* The header of a stock client's datagram (doc/protocol.md 9.5). */
struct ovl_wire_chan_client_header {
	uint8_t magic;			/* OVL_CHAN_MAGIC */
	uint8_t dir;			/* OVL_CHAN_CLIENT_FROM_RELAY or _TO_RELAY */
	uint8_t family;			/* OVL_AF_INET or OVL_AF_INET6 */
	uint8_t zero1;			/* sent as 0, ignored */
	uint8_t port[2];		/* big-endian, never 0 */
	uint8_t zero2[2];		/* sent as 0, ignored */
	uint8_t ip[16];			/* IPv4: 4 bytes, then 12 zero bytes */
};

/* What a PROBE is (doc/protocol.md 6.5, 9): the answer to PROBE_REQ
 * from the answerer's main socket, or a probe from one of its auxiliary
 * sockets.  0 is invalid; unknown nonzero kinds are kept by the codec
 * and ignored by receivers. */
enum ovl_probe_kind {
	OVL_PROBE_ANSWER = 1,		/* from the main socket: says what was sent */
	OVL_PROBE_OTHER_PORT = 2,	/* from the main IP address, another port */
	OVL_PROBE_OTHER_IP = 3,		/* from another IP address of the answerer */
};

/* The "sent" bits of a PROBE: which probes the answerer sent. */
enum ovl_probe_sent {
	OVL_PROBE_SENT_OTHER_PORT = 0x01,
	OVL_PROBE_SENT_OTHER_IP = 0x02,
};

/* The family byte of an address, on the wire and in struct ovl_addr
 * (proto/overlay/addr.h); OVL_AF_NONE (no address) never goes on the wire. */
enum ovl_addr_family {
	OVL_AF_NONE = 0,
	OVL_AF_INET = 4,		/* on the wire 16 address bytes: ::ffff:a.b.c.d */
	OVL_AF_INET6 = 6,		/* 16 address bytes, never IPv4-mapped */
};

struct ovl_wire_header {
	uint8_t magic;			/* OVL_MAGIC */
	uint8_t version;		/* OVL_VERSION */
	uint8_t sender[OVL_KEY_LEN];	/* the sender's static X25519 public key */
	uint8_t counter[8];		/* big-endian; also the AEAD nonce */
};

/* Byte 1 of a datagram is the version, alone or with one of these flags
 * (doc/protocol.md 2 and 4.1): the admission of unknown senders under
 * load, after WireGuard's mac2 and cookie reply. */
enum ovl_header_flags {
	OVL_HDR_MAC2 = 0x80,		/* a 16-byte mac2 follows the tag */
	OVL_HDR_COOKIE = 0x40,		/* a cookie reply, not a sealed message */
};

enum ovl_cookie_sizes {
	OVL_MAC_LEN = 16,		/* mac2 */
	OVL_COOKIE_LEN = 16,
	OVL_COOKIE_SALT_LEN = 4,
	OVL_COOKIE_REPLY_LEN = 70,	/* no larger than a PING it answers */
};

/* A cookie reply: the proof of address a sender must add (as mac2) to
 * be heard by a node under load, sealed with a key only the sender of
 * the datagram it answers can compute. */
struct ovl_wire_cookie_reply {
	uint8_t magic;			/* OVL_MAGIC */
	uint8_t version;		/* OVL_VERSION | OVL_HDR_COOKIE */
	uint8_t sender[OVL_KEY_LEN];	/* who answers: the cookie is for it */
	uint8_t salt[OVL_COOKIE_SALT_LEN];
	uint8_t sealed[OVL_COOKIE_LEN + OVL_TAG_LEN];
};
_Static_assert(sizeof(struct ovl_wire_cookie_reply) == OVL_COOKIE_REPLY_LEN, "wire size");

struct ovl_wire_addr {
	uint8_t family;			/* enum ovl_addr_family */
	uint8_t ip[16];
	uint8_t port[2];		/* big-endian, never 0 */
};

struct ovl_wire_ping {
	uint8_t nonce[8];
	uint8_t flags;			/* the sender's enum ovl_node_flags */
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_pong {
	uint8_t nonce[8];		/* the PING's or the PUNCH's */
	uint8_t flags;			/* the responder's enum ovl_node_flags */
	struct ovl_wire_addr observed;	/* the pinger's address as the responder saw it */
};

struct ovl_wire_find_node {
	uint8_t txid[8];
	uint8_t target[OVL_KEY_LEN];
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_nodes {
	uint8_t txid[8];
	uint8_t count;			/* 0..OVL_K entries follow */
};

struct ovl_wire_node {
	uint8_t key[OVL_KEY_LEN];
	struct ovl_wire_addr addr;
	uint8_t flags;			/* enum ovl_node_flags, as the responder knows it */
};

struct ovl_wire_frag {
	uint8_t id[2];			/* big-endian, per sender, 0 when count is 1 */
	uint8_t index;			/* 0..count-1 */
	uint8_t count;			/* 1..OVL_RELAY_MAX_FRAGMENTS */
};

struct ovl_wire_relay {
	uint8_t dst[OVL_KEY_LEN];
	struct ovl_wire_frag frag;
	uint8_t payload_len[2];		/* big-endian, 1..OVL_RELAY_MAX_CHUNK */
	/* then payload_len bytes of opaque payload */
};

struct ovl_wire_relayed {
	uint8_t src[OVL_KEY_LEN];
	struct ovl_wire_addr src_addr;	/* the source as the relay saw it */
	struct ovl_wire_frag frag;
	uint8_t payload_len[2];		/* big-endian, 1..OVL_RELAY_MAX_CHUNK */
	/* then payload_len bytes of opaque payload */
};

struct ovl_wire_candidates {
	uint8_t txid[8];
	uint8_t flags;			/* enum ovl_candidates_flags */
	uint8_t count;			/* 0..OVL_MAX_CANDIDATES entries follow */
};

struct ovl_wire_candidate {
	uint8_t type;			/* enum ovl_candidate_type */
	struct ovl_wire_addr addr;
};

struct ovl_wire_punch {
	uint8_t nonce[8];
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_channel_bind {
	uint8_t dst[OVL_KEY_LEN];	/* where the channel's datagrams go */
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_channel_bound {
	uint8_t dst[OVL_KEY_LEN];	/* the CHANNEL_BIND's */
	uint8_t status;			/* enum ovl_channel_status */
	uint8_t channel[4];		/* big-endian; nonzero exactly when status is OK */
	uint8_t lifetime[2];		/* big-endian seconds; 0 unless OK */
};

/* PEERS (doc/protocol.md 9.3): the keys a member accepts relayed
 * traffic from, as a Bloom filter under a salt of the member's. */
enum {
	OVL_PEERS_FILTER_LEN = 1024,	/* bytes: 8192 bits */
	OVL_PEERS_MAX_HASHES = 16,
	OVL_PEERS_STOCK = 0x80,		/* in hashes: relay stock clients to me (9.5) */
};

struct ovl_wire_peers {
	uint8_t hashes;			/* bits set per key, 1..OVL_PEERS_MAX_HASHES;
					 * OVL_PEERS_STOCK: stock clients too (9.5) */
	uint8_t salt[16];		/* the SipHash-2-4 key of the filter */
	uint8_t filter[OVL_PEERS_FILTER_LEN];	/* bit i: byte i / 8, mask 1 << (i % 8) */
};

/* STOCK_CLIENTS (doc/protocol.md 9.5): the WireGuard keys of the stock
 * clients a member's network file lists; count keys of OVL_KEY_LEN bytes
 * follow. */
enum { OVL_STOCK_CLIENTS_MAX = 32 };

struct ovl_wire_stock_clients {
	uint8_t count;			/* 1..OVL_STOCK_CLIENTS_MAX */
};

struct ovl_wire_probe_req {
	uint8_t nonce[8];
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_probe {
	uint8_t nonce[8];		/* the PROBE_REQ's */
	uint8_t kind;			/* enum ovl_probe_kind */
	uint8_t sent;			/* enum ovl_probe_sent bits */
};

/* MAP_PROBE and MAP_SEEN (doc/protocol.md 9.4): a PUBLIC node's second
 * port, its main port + 1, answers where it saw the sender. */
enum { OVL_PROBE_PORT_OFFSET = 1 };

struct ovl_wire_map_probe {
	uint8_t nonce[8];
	uint8_t pad_len[2];		/* big-endian; that many zero bytes follow */
};

struct ovl_wire_map_seen {
	uint8_t nonce[8];		/* the MAP_PROBE's */
	struct ovl_wire_addr observed;	/* its source address as the answerer saw it */
};

_Static_assert(sizeof(struct ovl_wire_header) == OVL_HEADER_LEN, "wire size");
_Static_assert(sizeof(struct ovl_wire_map_probe) == 10, "wire size");
_Static_assert(sizeof(struct ovl_wire_map_seen) == 27, "wire size");
_Static_assert(sizeof(struct ovl_wire_chan_header) == OVL_CHAN_HEADER_LEN, "wire size");
_Static_assert(sizeof(struct ovl_wire_chan_client_header) == OVL_CHAN_CLIENT_HEADER_LEN, "wire size");
_Static_assert(sizeof(struct ovl_wire_channel_bind) == 34, "wire size");
_Static_assert(sizeof(struct ovl_wire_channel_bound) == 39, "wire size");
_Static_assert(offsetof(struct ovl_wire_header, counter) == 34, "wire offset");
_Static_assert(sizeof(struct ovl_wire_addr) == OVL_ADDR_LEN, "wire size");
_Static_assert(sizeof(struct ovl_wire_ping) == 11, "wire size");
_Static_assert(sizeof(struct ovl_wire_pong) == 28, "wire size");
_Static_assert(sizeof(struct ovl_wire_find_node) == 42, "wire size");
_Static_assert(sizeof(struct ovl_wire_nodes) == 9, "wire size");
_Static_assert(sizeof(struct ovl_wire_node) == 52, "wire size");
_Static_assert(sizeof(struct ovl_wire_frag) == 4, "wire size");
_Static_assert(sizeof(struct ovl_wire_relay) == 38, "wire size");
_Static_assert(sizeof(struct ovl_wire_relayed) == 57, "wire size");
_Static_assert(sizeof(struct ovl_wire_candidates) == 10, "wire size");
_Static_assert(sizeof(struct ovl_wire_candidate) == 20, "wire size");
_Static_assert(sizeof(struct ovl_wire_punch) == 10, "wire size");
_Static_assert(sizeof(struct ovl_wire_probe_req) == 10, "wire size");
_Static_assert(sizeof(struct ovl_wire_peers) == 1041, "wire size");
_Static_assert(1 + sizeof(struct ovl_wire_peers) <= OVL_MAX_PLAINTEXT, "PEERS fits in 1280 bytes");
_Static_assert(sizeof(struct ovl_wire_probe) == 10, "wire size");
_Static_assert(sizeof(struct ovl_wire_stock_clients) == 1, "wire size");
_Static_assert(1 + sizeof(struct ovl_wire_stock_clients) + OVL_STOCK_CLIENTS_MAX * OVL_KEY_LEN <=
	       OVL_MAX_PLAINTEXT, "a full STOCK_CLIENTS fits in 1280 bytes");

/* Anti-amplification of PROBE_REQ (doc/protocol.md 8.2): a request is
 * answered by at most three PROBEs (the answer, OTHER_PORT, OTHER_IP), so
 * it must be at least as long on the wire as those three together. */
enum ovl_probe_sizes {
	OVL_PROBE_DATAGRAM = OVL_OVERHEAD + 1 + 10,		/* 69 */
	OVL_PROBE_REQ_MIN = 3 * OVL_PROBE_DATAGRAM,		/* 207 */
	OVL_PROBE_REQ_PAD = OVL_PROBE_REQ_MIN - OVL_OVERHEAD - 1 - 10,	/* 138 */
};
_Static_assert(OVL_PROBE_DATAGRAM == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_probe),
	       "a PROBE's datagram size");
_Static_assert(OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_probe_req) + OVL_PROBE_REQ_PAD ==
	       OVL_PROBE_REQ_MIN, "a padded PROBE_REQ pays for three PROBEs");
/* Anti-amplification of PING, PUNCH and CHANNEL_BIND (8.2): sizes on the
 * wire; a request from an address that is not validated is answered only
 * when it is at least as long as its answer. */
enum ovl_ping_sizes {
	OVL_PING_LEN = OVL_OVERHEAD + 1 + 11,		/* 70 */
	OVL_PUNCH_LEN = OVL_OVERHEAD + 1 + 10,		/* 69 */
	OVL_PONG_LEN = OVL_OVERHEAD + 1 + 28,		/* 87 */
	OVL_CHANNEL_BOUND_LEN = OVL_OVERHEAD + 1 + 39,	/* 98: a CHANNEL_BIND's answer */
	OVL_CHANNEL_BIND_LEN = OVL_OVERHEAD + 1 + 34,	/* 93 */
};
_Static_assert(OVL_PING_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_ping), "PING size");
_Static_assert(OVL_PUNCH_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_punch), "PUNCH size");
_Static_assert(OVL_PONG_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_pong), "PONG size");
_Static_assert(OVL_CHANNEL_BIND_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_channel_bind),
	       "CHANNEL_BIND size");
_Static_assert(OVL_CHANNEL_BOUND_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_channel_bound),
	       "CHANNEL_BOUND size");
/* Anti-amplification of MAP_PROBE (8.2): answered only when it is at
 * least as long as its MAP_SEEN, from any address. */
enum ovl_map_sizes {
	OVL_MAP_SEEN_LEN = OVL_OVERHEAD + 1 + 27,		/* 86 */
	OVL_MAP_PROBE_PAD = OVL_MAP_SEEN_LEN - OVL_OVERHEAD - 1 - 10,	/* 17 */
};
_Static_assert(OVL_MAP_SEEN_LEN == OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_map_seen),
	       "MAP_SEEN size");
_Static_assert(OVL_OVERHEAD + 1 + sizeof(struct ovl_wire_map_probe) + OVL_MAP_PROBE_PAD ==
	       OVL_MAP_SEEN_LEN, "a padded MAP_PROBE pays for its answer");
/* The largest fixed-size answers fit in one datagram. */
_Static_assert(1 + sizeof(struct ovl_wire_nodes) + OVL_K * sizeof(struct ovl_wire_node) <=
	       OVL_MAX_PLAINTEXT, "a full NODES fits in 1280 bytes");
_Static_assert(1 + sizeof(struct ovl_wire_candidates) +
	       OVL_MAX_CANDIDATES * sizeof(struct ovl_wire_candidate) <= OVL_MAX_PLAINTEXT,
	       "a full CANDIDATES fits in 1280 bytes");
_Static_assert(1 + sizeof(struct ovl_wire_relayed) + OVL_RELAY_MAX_CHUNK == OVL_MAX_PLAINTEXT,
	       "a full relay chunk fits a RELAYED exactly");

#endif
