/* The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake as WireGuard uses it,
 * and the transport keypairs it yields.  Sans-I/O: every function takes
 * the time it needs (monotonic nanoseconds; the wall clock only for the
 * TAI64N label) and the local indices the caller allocated; nothing here
 * reads a clock, touches a socket or allocates an index.
 *
 * Ownership: only this file assigns a handshake's state and a keypair's
 * keys.  The caller (the device) serialises calls per peer.
 *
 * Errors: bool, as for every crypto predicate; a false return leaves the
 * handshake as it was (state is committed only after every check). */
#ifndef WH_PROTO_WG_NOISE_H
#define WH_PROTO_WG_NOISE_H

#include "proto/wg/messages.h"
#include "proto/wg/replay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Our own key pair.  The owner keeps it in sodium_malloc memory. */
struct noise_static_identity {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* One per peer. */
struct noise_handshake {
	enum noise_handshake_state state;
	uint64_t last_initiation_consumption;	/* ns; 0 = never */
	const struct noise_static_identity *static_identity;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	/* DH(s_local, s_remote), computed the first time a handshake needs
	 * it (noise_handshake_static_ready): a device of 10,000 peers comes
	 * up without 10,000 DHs.  INVALID: a low-order remote key, or no
	 * identity yet. */
	enum { NOISE_SS_UNKNOWN, NOISE_SS_VALID, NOISE_SS_INVALID } static_static;
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint32_t local_index;			/* ours, in messages we send */
	uint32_t remote_index;			/* theirs */
};

struct noise_keypair {
	uint8_t sending_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t sending_counter;
	struct replay_counter receiving_counter;
	uint64_t birthdate;			/* ns */
	uint32_t local_index;
	uint32_t remote_index;
	bool i_am_the_initiator;
	bool sending_valid;
	bool receiving_valid;
};

/* current: the one we send with; previous: still accepted on receive;
 * next: the responder's fresh keypair, promoted on first receipt. */
struct noise_keypairs {
	struct noise_keypair *current_keypair;
	struct noise_keypair *previous_keypair;
	struct noise_keypair *next_keypair;
};

/* Zeroes hs and sets the peer's keys (psk NULL: all zeros); no DH: ss
 * is computed when a handshake first needs it.  Returns false when the
 * remote key is low-order (it is still stored: the peer then never
 * completes a handshake, as in the kernel). */
bool noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]);
/* Our identity changed: ss is computed again when next needed. */
void noise_handshake_precompute(struct noise_handshake *hs);
/* Computes ss if it is not yet (one DH), and says whether it is valid. */
bool noise_handshake_static_ready(struct noise_handshake *hs);
void noise_handshake_set_preshared_key(struct noise_handshake *hs,
				       const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Wipes ephemeral state and returns to HANDSHAKE_ZEROED.  local_index is
 * left as it was, for the caller to unindex. */
void noise_handshake_clear(struct noise_handshake *hs);

/* Initiator.  ephemeral_private may be NULL (a fresh one is generated) or
 * injected (vectors).  unix_sec/nsec: the wall clock for TAI64N.  The
 * macs are left zero: the caller adds them (cookie_add_mac_to_packet). */
bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs, uint32_t local_index,
				       const uint8_t *ephemeral_private,
				       uint64_t unix_sec, uint32_t nsec);

/* Responder, in two steps so that the caller can find the peer by the
 * initiator's static key between them without this file knowing peers. */
struct noise_initiation_scratch {
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];	/* output of step 1 */
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];	/* for step 2 */
	uint32_t sender_index;
};
/* Step 1: e, es, s.  Fills scratch (including remote_static) or false. */
bool noise_initiation_open(struct noise_initiation_scratch *scratch,
			   const struct message_handshake_initiation *src,
			   const struct noise_static_identity *id);
/* Step 2: ss, {t}, the timestamp and flood checks, then commits
 * HANDSHAKE_CONSUMED_INITIATION.  Wipes scratch either way. */
bool noise_initiation_accept(struct noise_handshake *hs, struct noise_initiation_scratch *scratch,
			     uint64_t now_ns);

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs, uint32_t local_index,
				     const uint8_t *ephemeral_private);
/* Initiator: the caller found hs by the response's receiver index. */
bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs);

/* Derives the transport keys from a completed handshake (state
 * CREATED_RESPONSE or CONSUMED_RESPONSE) into *kp, wipes the handshake,
 * and returns false in any other state.  kp->local_index is the
 * handshake's local index. */
bool noise_handshake_begin_session(struct noise_handshake *hs, struct noise_keypair *kp,
				   uint64_t now_ns);

/* Installs kp into the slots (the initiator: as current, old current to
 * previous; the responder: as next) and returns the keypairs the caller
 * must free/unindex (up to 2 written to *evicted, count returned). */
int noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp,
			   struct noise_keypair *evicted[2]);
/* A packet authenticated under kp: promotes next to current when kp is
 * next.  Returns true when kp was promoted (the evicted keypair in
 * *evicted, may be NULL). */
bool noise_keypairs_received_with(struct noise_keypairs *kps, struct noise_keypair *kp,
				  struct noise_keypair **evicted);

/* Transport data.  seal: pads plaintext (len bytes) to a multiple of 16
 * bounded by mtu (noise_padded_len; plain may already sit at dst + 16),
 * writes a type-4 message to dst (room for
 * message_data_len(padded)) and returns its length, or -1 when the
 * keypair must not send (invalid, counter exhausted, older than
 * REJECT_AFTER_TIME).  A zero-length plaintext is a keepalive. */
ssize_t noise_transport_seal(struct noise_keypair *kp, uint8_t *dst, const uint8_t *plain,
			     size_t len, unsigned mtu, uint64_t now_ns);
/* open: authenticates and decrypts msg (len >= 32, already looked up by
 * its receiver index) into dst (room for len - 32), then checks the
 * replay window.  Returns the plaintext length (padding still on; see
 * wg_ip_trim) or -1 (bad tag, replay, expired keypair). */
ssize_t noise_transport_open(struct noise_keypair *kp, uint8_t *dst, const uint8_t *msg,
			     size_t len, uint64_t now_ns);

/* The same in steps, for a caller that runs the AEAD of many messages on
 * other threads (src/wg/crypt_pool.c) while it alone owns the keypairs.
 * Steps that move a keypair's state (the sending counter, validity, the
 * replay window) run on the owner's thread, in message order; the
 * _crypt steps only read the keys and touch the message's own bytes, so
 * that any number may run at once while the keypair stays put.
 *
 * seal_prepare: everything of seal but the encryption (the nonce taken,
 * padding and header written); returns the message length or -1.
 * seal_crypt: encrypts a prepared message of that length in place. */
ssize_t noise_transport_seal_prepare(struct noise_keypair *kp, uint8_t *dst, const uint8_t *plain,
				     size_t len, unsigned mtu, uint64_t now_ns);
void noise_transport_seal_crypt(const struct noise_keypair *kp, uint8_t *msg, size_t len);
/* open_check: the checks before authentication (length, index, keypair
 * valid and not expired), *counter set from the header.
 * open_crypt: authenticates and decrypts into dst (room for len - 32).
 * open_finish: after open_crypt succeeded, the replay window (dst wiped
 * when the counter is refused). */
bool noise_transport_open_check(struct noise_keypair *kp, const uint8_t *msg, size_t len,
				uint64_t now_ns, uint64_t *counter);
bool noise_transport_open_crypt(const struct noise_keypair *kp, uint8_t *dst, const uint8_t *msg,
				size_t len, uint64_t counter);
bool noise_transport_open_finish(struct noise_keypair *kp, uint8_t *dst, size_t plain_len,
				 uint64_t counter);

/* Length of the IP packet at the head of a decrypted plaintext (from the
 * IPv4 total length or IPv6 payload length + 40), or -1 when it is not a
 * well-formed IPv4/IPv6 header that fits in len. */
ssize_t wg_ip_trim(const uint8_t *plain, size_t len);

/* The generic IKpsk2 steps the WireGuard messages are built from,
 * parameterised over prologue, payloads and ephemerals so that the
 * published Noise vector drives the same code.
 *
 *   -> e, es, s, ss, {payload}	message 1 = e || enc(s) || enc(payload)
 *   <- e, ee, se, psk, {payload}	message 2 = e || enc(payload)
 *
 * Each step works on a noise_symmetric the caller owns (a copy, so that a
 * failure leaves the handshake untouched) and fails only on an all-zero
 * DH result or an AEAD that does not authenticate.  The ss input is the
 * precomputed DH(s_i, s_r); an all-zero one is refused.  Ephemeral
 * private keys are clamped by the X25519 layer. */
struct noise_symmetric {
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t hash[NOISE_HASH_LEN];
};

enum noise_ik_offsets {
	NOISE_IK_MSG1_STATIC = NOISE_PUBLIC_KEY_LEN,
	NOISE_IK_MSG1_PAYLOAD = NOISE_PUBLIC_KEY_LEN + noise_encrypted_len(NOISE_PUBLIC_KEY_LEN),
	NOISE_IK_MSG2_PAYLOAD = NOISE_PUBLIC_KEY_LEN,
};
#define noise_ik_msg1_len(payload_len) (NOISE_IK_MSG1_PAYLOAD + noise_encrypted_len(payload_len))
#define noise_ik_msg2_len(payload_len) (NOISE_IK_MSG2_PAYLOAD + noise_encrypted_len(payload_len))

/* ck = HASH(protocol name); h = HASH(ck || prologue); h = HASH(h || s_r).
 * WireGuard's prologue is its identifier "WireGuard v1 zx2c4 Jason@zx2c4.com". */
void noise_symmetric_init(struct noise_symmetric *ss, const void *prologue, size_t prologue_len,
			  const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN]);

/* Initiator: writes noise_ik_msg1_len(payload_len) bytes to msg. */
bool noise_ik_write_msg1(struct noise_symmetric *ss, uint8_t *msg,
			 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t static_public[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t static_static[NOISE_PUBLIC_KEY_LEN],
			 const void *payload, size_t payload_len);
/* Responder, step 1 (e, es, s) over the first NOISE_IK_MSG1_PAYLOAD bytes
 * of msg: yields the initiator's ephemeral and static keys. */
bool noise_ik_read_msg1_static(struct noise_symmetric *ss, uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			       uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *msg,
			       const uint8_t static_private[NOISE_PUBLIC_KEY_LEN]);
/* Responder, step 2 (ss, {payload}): encrypted holds the last
 * noise_encrypted_len(payload_len) bytes of message 1 (from offset
 * NOISE_IK_MSG1_PAYLOAD); the payload is decrypted into payload. */
bool noise_ik_read_msg1_payload(struct noise_symmetric *ss, void *payload, const uint8_t *encrypted,
				size_t payload_len, const uint8_t static_static[NOISE_PUBLIC_KEY_LEN]);
/* Responder: writes noise_ik_msg2_len(payload_len) bytes to msg. */
bool noise_ik_write_msg2(struct noise_symmetric *ss, uint8_t *msg,
			 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN],
			 const void *payload, size_t payload_len);
/* Initiator: reads noise_ik_msg2_len(payload_len) bytes of msg; yields the
 * responder's ephemeral key and the payload. */
bool noise_ik_read_msg2(struct noise_symmetric *ss, uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			void *payload, const uint8_t *msg, size_t payload_len,
			const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			const uint8_t static_private[NOISE_PUBLIC_KEY_LEN],
			const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Split: (T1, T2) = KDF2(ck, ""); the initiator sends with T1.  Fills
 * kp's keys, zeroes its counters and marks it valid, born at now_ns;
 * the indices are left to the caller. */
void noise_keypair_derive(struct noise_keypair *kp, const struct noise_symmetric *ss,
			  bool i_am_the_initiator, uint64_t now_ns);

/* The padded plaintext length noise_transport_seal uses for len bytes:
 * len rounded up to a multiple of 16, but never past mtu (mtu 0: no
 * bound), and never below len. */
size_t noise_padded_len(size_t len, unsigned mtu);

#endif
