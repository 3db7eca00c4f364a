/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper
 * section 5.4), the transport keypairs it yields, and the data messages
 * sealed with them.
 *
 * Two layers:
 *   - the generic IKpsk2 steps (noise_ik_*), which know nothing of
 *     WireGuard's framing: they run the token sequence over a
 *     noise_symmetric (ck, h) and write or read the Noise message bytes
 *     e || enc(s) || enc(payload) and e || enc(payload);
 *   - the WireGuard messages, which run those steps with WireGuard's
 *     prologue and payloads (a TAI64N label, then nothing) directly over
 *     the contiguous fields of the wire structs, and commit the result into
 *     the peer's noise_handshake only once every check has passed.
 * The published Noise vector drives the first layer through the same
 * functions, so one implementation serves both.
 *
 * Every step works on local copies of ck and h; secrets on the stack are
 * wiped on every path out. */
#include "proto/wg/noise.h"

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/tai64n.h"
#include "crypto/x25519.h"
#include "proto/common/byteorder.h"

#include <limits.h>
#include <sodium.h>
#include <string.h>

#define NSEC_PER_SEC UINT64_C(1000000000)

static const char handshake_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier_name[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* The WireGuard messages are the Noise messages with a header in front
 * and the macs behind: the Noise bytes are contiguous in the wire structs,
 * so the generic steps write into them directly. */
_Static_assert(offsetof(struct message_handshake_initiation, encrypted_static) ==
	       offsetof(struct message_handshake_initiation, unencrypted_ephemeral) + NOISE_IK_MSG1_STATIC,
	       "initiation layout is e || enc(s) || enc(t)");
_Static_assert(offsetof(struct message_handshake_initiation, encrypted_timestamp) ==
	       offsetof(struct message_handshake_initiation, unencrypted_ephemeral) + NOISE_IK_MSG1_PAYLOAD,
	       "initiation layout is e || enc(s) || enc(t)");
_Static_assert(offsetof(struct message_handshake_initiation, macs) ==
	       offsetof(struct message_handshake_initiation, unencrypted_ephemeral) +
	       noise_ik_msg1_len(NOISE_TIMESTAMP_LEN), "initiation layout is e || enc(s) || enc(t)");
_Static_assert(offsetof(struct message_handshake_response, encrypted_nothing) ==
	       offsetof(struct message_handshake_response, unencrypted_ephemeral) + NOISE_IK_MSG2_PAYLOAD,
	       "response layout is e || enc()");
_Static_assert(offsetof(struct message_handshake_response, macs) ==
	       offsetof(struct message_handshake_response, unencrypted_ephemeral) + noise_ik_msg2_len(0),
	       "response layout is e || enc()");
_Static_assert((int)NOISE_TIMESTAMP_LEN == (int)TAI64N_LEN, "timestamp is TAI64N");
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)X25519_KEY_LEN, "keys are X25519");
_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)AEAD_KEY_LEN, "keys are ChaCha20's");
_Static_assert((int)NOISE_HASH_LEN == (int)BLAKE2S_HASH_LEN, "hash is BLAKE2s-256");

/* The kernel's rule: born at birth_ns, expired once birth + max_age
 * seconds is not in the future. */
static bool has_expired(uint64_t birth_ns, uint64_t max_age_sec, uint64_t now_ns)
{
	return birth_ns + max_age_sec * NSEC_PER_SEC <= now_ns;
}

/* h = HASH(h || data) */
static void mix_hash(struct noise_symmetric *ss, const void *data, size_t len)
{
	blake2s_hash2(ss->hash, ss->hash, NOISE_HASH_LEN, data, len);
}

/* ck = KDF1(ck, e); h = HASH(h || e): the e token, which in a psk
 * handshake also mixes the ephemeral into the chaining key. */
static void mix_ephemeral(struct noise_symmetric *ss, const uint8_t e[NOISE_PUBLIC_KEY_LEN])
{
	hkdf_blake2s(ss->chaining_key, NULL, NULL, ss->chaining_key, e, NOISE_PUBLIC_KEY_LEN);
	mix_hash(ss, e, NOISE_PUBLIC_KEY_LEN);
}

/* (ck, key) = KDF2(ck, dh), or ck = KDF1(ck, dh) when key is NULL; false
 * for an all-zero DH result (a low-order point), which is never mixed. */
static bool mix_dh_result(struct noise_symmetric *ss, uint8_t *key, const uint8_t dh[NOISE_PUBLIC_KEY_LEN])
{
	if (sodium_is_zero(dh, NOISE_PUBLIC_KEY_LEN))
		return false;
	hkdf_blake2s(ss->chaining_key, key, NULL, ss->chaining_key, dh, NOISE_PUBLIC_KEY_LEN);
	return true;
}

static bool mix_dh(struct noise_symmetric *ss, uint8_t *key, const uint8_t private[NOISE_PUBLIC_KEY_LEN],
		   const uint8_t public[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	bool ret;

	ret = x25519_shared(dh, private, public) && mix_dh_result(ss, key, dh);
	sodium_memzero(dh, sizeof(dh));
	return ret;
}

/* (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau) */
static void mix_psk(struct noise_symmetric *ss, uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	hkdf_blake2s(ss->chaining_key, tau, key, ss->chaining_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(ss, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

/* EncryptAndHash with nonce 0: every handshake key encrypts once. */
static void encrypt_and_hash(struct noise_symmetric *ss, uint8_t *dst, const void *src, size_t len,
			     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	aead_seal(dst, src, len, ss->hash, NOISE_HASH_LEN, 0, key);
	mix_hash(ss, dst, noise_encrypted_len(len));
}

/* DecryptAndHash with nonce 0; dst may be NULL when len is 0. */
static bool decrypt_and_hash(struct noise_symmetric *ss, void *dst, const uint8_t *src, size_t len,
			     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t none[1];

	if (!aead_open(dst ? dst : none, src, noise_encrypted_len(len), ss->hash, NOISE_HASH_LEN, 0, key))
		return false;
	mix_hash(ss, src, noise_encrypted_len(len));
	return true;
}

void noise_symmetric_init(struct noise_symmetric *ss, const void *prologue, size_t prologue_len,
			  const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	/* The protocol name is longer than a hash, so it is hashed. */
	blake2s_hash(ss->chaining_key, NOISE_HASH_LEN, handshake_name, strlen(handshake_name), NULL, 0);
	blake2s_hash2(ss->hash, ss->chaining_key, NOISE_HASH_LEN, prologue, prologue_len);
	/* The pre-message: <- s */
	mix_hash(ss, responder_static, NOISE_PUBLIC_KEY_LEN);
}

bool noise_ik_write_msg1(struct noise_symmetric *ss, uint8_t *msg,
			 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t static_public[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t static_static[NOISE_PUBLIC_KEY_LEN],
			 const void *payload, size_t payload_len)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* e */
	if (!x25519_public(msg, ephemeral_private))
		goto out;
	mix_ephemeral(ss, msg);
	/* es */
	if (!mix_dh(ss, key, ephemeral_private, remote_static))
		goto out;
	/* s */
	encrypt_and_hash(ss, msg + NOISE_IK_MSG1_STATIC, static_public, NOISE_PUBLIC_KEY_LEN, key);
	/* ss */
	if (!mix_dh_result(ss, key, static_static))
		goto out;
	/* {payload} */
	encrypt_and_hash(ss, msg + NOISE_IK_MSG1_PAYLOAD, payload, payload_len, key);
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

bool noise_ik_read_msg1_static(struct noise_symmetric *ss, uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			       uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *msg,
			       const uint8_t static_private[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* e */
	memcpy(remote_ephemeral, msg, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(ss, remote_ephemeral);
	/* es */
	if (!mix_dh(ss, key, static_private, remote_ephemeral))
		goto out;
	/* s */
	if (!decrypt_and_hash(ss, remote_static, msg + NOISE_IK_MSG1_STATIC, NOISE_PUBLIC_KEY_LEN, key))
		goto out;
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

bool noise_ik_read_msg1_payload(struct noise_symmetric *ss, void *payload, const uint8_t *encrypted,
				size_t payload_len, const uint8_t static_static[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* ss */
	if (!mix_dh_result(ss, key, static_static))
		goto out;
	/* {payload} */
	if (!decrypt_and_hash(ss, payload, encrypted, payload_len, key))
		goto out;
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

bool noise_ik_write_msg2(struct noise_symmetric *ss, uint8_t *msg,
			 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN],
			 const void *payload, size_t payload_len)
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* e */
	if (!x25519_public(msg, ephemeral_private))
		goto out;
	mix_ephemeral(ss, msg);
	/* ee */
	if (!mix_dh(ss, NULL, ephemeral_private, remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ss, NULL, ephemeral_private, remote_static))
		goto out;
	/* psk */
	mix_psk(ss, key, psk);
	/* {payload} */
	encrypt_and_hash(ss, msg + NOISE_IK_MSG2_PAYLOAD, payload, payload_len, key);
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

bool noise_ik_read_msg2(struct noise_symmetric *ss, uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN],
			void *payload, const uint8_t *msg, size_t payload_len,
			const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			const uint8_t static_private[NOISE_PUBLIC_KEY_LEN],
			const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* e */
	memcpy(remote_ephemeral, msg, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(ss, remote_ephemeral);
	/* ee */
	if (!mix_dh(ss, NULL, ephemeral_private, remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ss, NULL, static_private, remote_ephemeral))
		goto out;
	/* psk */
	mix_psk(ss, key, psk);
	/* {payload} */
	if (!decrypt_and_hash(ss, payload, msg + NOISE_IK_MSG2_PAYLOAD, payload_len, key))
		goto out;
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	return ret;
}

void noise_keypair_derive(struct noise_keypair *kp, const struct noise_symmetric *ss,
			  bool i_am_the_initiator, uint64_t now_ns)
{
	uint8_t t1[NOISE_SYMMETRIC_KEY_LEN], t2[NOISE_SYMMETRIC_KEY_LEN];

	/* Split: the initiator sends with T1 and receives with T2. */
	hkdf_blake2s(t1, t2, NULL, ss->chaining_key, NULL, 0);
	memcpy(kp->sending_key, i_am_the_initiator ? t1 : t2, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(kp->receiving_key, i_am_the_initiator ? t2 : t1, NOISE_SYMMETRIC_KEY_LEN);
	kp->sending_counter = 0;
	replay_counter_init(&kp->receiving_counter);
	kp->birthdate = now_ns;
	kp->i_am_the_initiator = i_am_the_initiator;
	kp->sending_valid = true;
	kp->receiving_valid = true;
	sodium_memzero(t1, sizeof(t1));
	sodium_memzero(t2, sizeof(t2));
}

/* The u-coordinates of Curve25519's points of small order, and their
 * encodings at or above p that still fit 255 bits (p, p + 1); X25519
 * ignores bit 255.  A public key is one of them exactly when a DH with it
 * gives zero, whatever the scalar (a clamped scalar is a multiple of the
 * cofactor); comparing costs no DH, so that adding a peer costs none.
 * (D. J. Bernstein, https://cr.yp.to/ecdh.html; test_noise checks the
 * list against the DH for each entry and for random keys.) */
static bool key_is_low_order(const uint8_t public[NOISE_PUBLIC_KEY_LEN])
{
	static const uint8_t low[7][NOISE_PUBLIC_KEY_LEN] = {
		{ 0 },
		{ 1 },
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
		{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
		  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
		  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	};
	unsigned i, j;

	for (i = 0; i < 7; ++i) {
		uint8_t d = (public[31] & 0x7f) ^ low[i][31];

		for (j = 0; j < 31; ++j)
			d |= public[j] ^ low[i][j];
		if (!d)
			return true;
	}
	return false;
}

void noise_handshake_precompute(struct noise_handshake *hs)
{
	hs->static_static = NOISE_SS_UNKNOWN;
	sodium_memzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

bool noise_handshake_static_ready(struct noise_handshake *hs)
{
	const struct noise_static_identity *id = hs->static_identity;
	bool valid;

	if (hs->static_static == NOISE_SS_UNKNOWN) {
		valid = id && id->has_identity &&
			x25519_shared(hs->precomputed_static_static, id->static_private, hs->remote_static);
		if (!valid)
			sodium_memzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
		hs->static_static = valid ? NOISE_SS_VALID : NOISE_SS_INVALID;
	}
	return hs->static_static == NOISE_SS_VALID;
}

void noise_handshake_set_preshared_key(struct noise_handshake *hs,
				       const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		sodium_memzero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

bool noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	sodium_memzero(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
	hs->static_identity = id;
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_preshared_key(hs, preshared_key);
	noise_handshake_precompute(hs);
	return !key_is_low_order(remote_static);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	sodium_memzero(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	sodium_memzero(hs->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	sodium_memzero(hs->hash, NOISE_HASH_LEN);
	sodium_memzero(hs->chaining_key, NOISE_HASH_LEN);
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

static bool has_identity(const struct noise_handshake *hs)
{
	return hs->static_identity && hs->static_identity->has_identity;
}

static void handshake_symmetric(struct noise_symmetric *ss, const struct noise_handshake *hs)
{
	memcpy(ss->chaining_key, hs->chaining_key, NOISE_HASH_LEN);
	memcpy(ss->hash, hs->hash, NOISE_HASH_LEN);
}

static void handshake_commit_symmetric(struct noise_handshake *hs, const struct noise_symmetric *ss)
{
	memcpy(hs->chaining_key, ss->chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, ss->hash, NOISE_HASH_LEN);
}

/* A fresh ephemeral, or the injected one (vectors). */
static void ephemeral_take(uint8_t e[NOISE_PUBLIC_KEY_LEN], const uint8_t *injected)
{
	if (injected) {
		memcpy(e, injected, NOISE_PUBLIC_KEY_LEN);
		x25519_clamp(e);
	} else {
		x25519_generate(e);
	}
}

bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs, uint32_t local_index,
				       const uint8_t *ephemeral_private,
				       uint64_t unix_sec, uint32_t nsec)
{
	const struct noise_static_identity *id = hs->static_identity;
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	uint8_t e[NOISE_PUBLIC_KEY_LEN];
	struct noise_symmetric ss;
	bool ret = false;

	memset(dst, 0, sizeof(*dst));
	if (!has_identity(hs) || !noise_handshake_static_ready(hs))
		goto out;

	ephemeral_take(e, ephemeral_private);
	tai64n_encode(timestamp, unix_sec, nsec);
	noise_symmetric_init(&ss, identifier_name, strlen(identifier_name), hs->remote_static);
	le32_put(dst->header.type, MESSAGE_HANDSHAKE_INITIATION);
	le32_put(dst->sender_index, local_index);
	/* e, es, s, ss, {t} */
	if (!noise_ik_write_msg1(&ss, dst->unencrypted_ephemeral, e, id->static_public, hs->remote_static,
				 hs->precomputed_static_static, timestamp, sizeof(timestamp))) {
		memset(dst, 0, sizeof(*dst));
		goto out;
	}

	memcpy(hs->ephemeral_private, e, NOISE_PUBLIC_KEY_LEN);
	handshake_commit_symmetric(hs, &ss);
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ret = true;
out:
	sodium_memzero(e, sizeof(e));
	sodium_memzero(&ss, sizeof(ss));
	return ret;
}

bool noise_initiation_open(struct noise_initiation_scratch *scratch,
			   const struct message_handshake_initiation *src,
			   const struct noise_static_identity *id)
{
	struct noise_symmetric ss;
	bool ret = false;

	sodium_memzero(scratch, sizeof(*scratch));
	if (!id || !id->has_identity || le32_get(src->header.type) != MESSAGE_HANDSHAKE_INITIATION)
		goto out;

	noise_symmetric_init(&ss, identifier_name, strlen(identifier_name), id->static_public);
	/* e, es, s */
	if (!noise_ik_read_msg1_static(&ss, scratch->remote_ephemeral, scratch->remote_static,
				       src->unencrypted_ephemeral, id->static_private))
		goto out;

	memcpy(scratch->chaining_key, ss.chaining_key, NOISE_HASH_LEN);
	memcpy(scratch->hash, ss.hash, NOISE_HASH_LEN);
	memcpy(scratch->encrypted_timestamp, src->encrypted_timestamp, sizeof(src->encrypted_timestamp));
	scratch->sender_index = le32_get(src->sender_index);
	ret = true;
out:
	if (!ret)
		sodium_memzero(scratch, sizeof(*scratch));
	sodium_memzero(&ss, sizeof(ss));
	return ret;
}

bool noise_initiation_accept(struct noise_handshake *hs, struct noise_initiation_scratch *scratch,
			     uint64_t now_ns)
{
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	struct noise_symmetric ss;
	bool replay, flood, ret = false;

	memcpy(ss.chaining_key, scratch->chaining_key, NOISE_HASH_LEN);
	memcpy(ss.hash, scratch->hash, NOISE_HASH_LEN);
	if (!has_identity(hs) ||
	    sodium_memcmp(hs->remote_static, scratch->remote_static, NOISE_PUBLIC_KEY_LEN) != 0 ||
	    !noise_handshake_static_ready(hs))
		goto out;
	/* ss, {t} */
	if (!noise_ik_read_msg1_payload(&ss, timestamp, scratch->encrypted_timestamp, sizeof(timestamp),
					hs->precomputed_static_static))
		goto out;

	/* The timestamp must move forward (a replayed initiation would
	 * otherwise reset the session), and the peer may not make us do
	 * the responder's DHs more often than INITIATIONS_PER_SECOND. */
	replay = memcmp(timestamp, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0;
	flood = hs->last_initiation_consumption != 0 &&
		hs->last_initiation_consumption + NSEC_PER_SEC / INITIATIONS_PER_SECOND > now_ns;
	if (replay || flood)
		goto out;

	sodium_memzero(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->remote_ephemeral, scratch->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	handshake_commit_symmetric(hs, &ss);
	hs->remote_index = scratch->sender_index;
	if (now_ns > hs->last_initiation_consumption)
		hs->last_initiation_consumption = now_ns;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ret = true;
out:
	sodium_memzero(scratch, sizeof(*scratch));
	sodium_memzero(&ss, sizeof(ss));
	sodium_memzero(timestamp, sizeof(timestamp));
	return ret;
}

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs, uint32_t local_index,
				     const uint8_t *ephemeral_private)
{
	uint8_t e[NOISE_PUBLIC_KEY_LEN];
	struct noise_symmetric ss;
	bool ret = false;

	memset(dst, 0, sizeof(*dst));
	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return false;

	ephemeral_take(e, ephemeral_private);
	handshake_symmetric(&ss, hs);
	le32_put(dst->header.type, MESSAGE_HANDSHAKE_RESPONSE);
	le32_put(dst->sender_index, local_index);
	le32_put(dst->receiver_index, hs->remote_index);
	/* e, ee, se, psk, {} */
	if (!noise_ik_write_msg2(&ss, dst->unencrypted_ephemeral, e, hs->remote_ephemeral,
				 hs->remote_static, hs->preshared_key, NULL, 0)) {
		memset(dst, 0, sizeof(*dst));
		goto out;
	}

	memcpy(hs->ephemeral_private, e, NOISE_PUBLIC_KEY_LEN);
	handshake_commit_symmetric(hs, &ss);
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ret = true;
out:
	sodium_memzero(e, sizeof(e));
	sodium_memzero(&ss, sizeof(ss));
	return ret;
}

bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs)
{
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	struct noise_symmetric ss;
	bool ret = false;

	if (!has_identity(hs) || hs->state != HANDSHAKE_CREATED_INITIATION ||
	    le32_get(src->header.type) != MESSAGE_HANDSHAKE_RESPONSE ||
	    le32_get(src->receiver_index) != hs->local_index)
		return false;

	handshake_symmetric(&ss, hs);
	/* e, ee, se, psk, {} */
	if (!noise_ik_read_msg2(&ss, remote_ephemeral, NULL, src->unencrypted_ephemeral, 0,
				hs->ephemeral_private, hs->static_identity->static_private,
				hs->preshared_key))
		goto out;

	memcpy(hs->remote_ephemeral, remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	handshake_commit_symmetric(hs, &ss);
	hs->remote_index = le32_get(src->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = true;
out:
	sodium_memzero(&ss, sizeof(ss));
	sodium_memzero(remote_ephemeral, sizeof(remote_ephemeral));
	return ret;
}

bool noise_handshake_begin_session(struct noise_handshake *hs, struct noise_keypair *kp,
				   uint64_t now_ns)
{
	struct noise_symmetric ss;

	if (hs->state != HANDSHAKE_CREATED_RESPONSE && hs->state != HANDSHAKE_CONSUMED_RESPONSE)
		return false;

	handshake_symmetric(&ss, hs);
	noise_keypair_derive(kp, &ss, hs->state == HANDSHAKE_CONSUMED_RESPONSE, now_ns);
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	noise_handshake_clear(hs);
	sodium_memzero(&ss, sizeof(ss));
	return true;
}

int noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp,
			   struct noise_keypair *evicted[2])
{
	struct noise_keypair *gone[2] = { NULL, NULL };
	int i, n = 0;

	if (!kp)
		return 0;
	if (kp->i_am_the_initiator) {
		/* Usable at once: the responder has proven it holds it.  A
		 * pending next keypair (we were responder to a crossing
		 * handshake) becomes previous, so packets under it are still
		 * accepted; otherwise the old current does. */
		if (kps->next_keypair) {
			gone[0] = kps->current_keypair;
			gone[1] = kps->previous_keypair;
			kps->previous_keypair = kps->next_keypair;
			kps->next_keypair = NULL;
		} else {
			gone[0] = kps->previous_keypair;
			kps->previous_keypair = kps->current_keypair;
		}
		kps->current_keypair = kp;
	} else {
		/* Not usable for sending until the initiator shows it has
		 * it by sending under it; the older previous goes. */
		gone[0] = kps->next_keypair;
		gone[1] = kps->previous_keypair;
		kps->next_keypair = kp;
		kps->previous_keypair = NULL;
	}
	for (i = 0; i < 2; ++i)
		if (gone[i])
			evicted[n++] = gone[i];
	return n;
}

bool noise_keypairs_received_with(struct noise_keypairs *kps, struct noise_keypair *kp,
				  struct noise_keypair **evicted)
{
	if (evicted)
		*evicted = NULL;
	if (!kp || kps->next_keypair != kp)
		return false;
	if (evicted)
		*evicted = kps->previous_keypair;
	kps->previous_keypair = kps->current_keypair;
	kps->current_keypair = kp;
	kps->next_keypair = NULL;
	return true;
}

size_t noise_padded_len(size_t len, unsigned mtu)
{
	size_t padded;

	if (len > SIZE_MAX - MESSAGE_PADDING_MULTIPLE)
		return len;
	padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	if (mtu && padded > mtu)
		padded = len > mtu ? len : mtu;
	return padded;
}

ssize_t noise_transport_seal_prepare(struct noise_keypair *kp, uint8_t *dst, const uint8_t *plain,
				     size_t len, unsigned mtu, uint64_t now_ns)
{
	struct message_data *msg = (struct message_data *)dst;
	size_t padded = noise_padded_len(len, mtu);
	uint64_t nonce;

	if (!kp || !kp->sending_valid)
		return -1;
	if (has_expired(kp->birthdate, REJECT_AFTER_TIME, now_ns) ||
	    kp->sending_counter >= REJECT_AFTER_MESSAGES) {
		kp->sending_valid = false;
		return -1;
	}
	if (padded > (size_t)SSIZE_MAX - MESSAGE_MINIMUM_LENGTH)
		return -1;
	nonce = kp->sending_counter++;

	/* The plaintext may already sit where the ciphertext goes. */
	if (len)
		memmove(msg->encrypted_data, plain, len);
	memset(msg->encrypted_data + len, 0, padded - len);
	le32_put(msg->header.type, MESSAGE_DATA);
	le32_put(msg->key_idx, kp->remote_index);
	le64_put(msg->counter, nonce);
	return (ssize_t)message_data_len(padded);
}

void noise_transport_seal_crypt(const struct noise_keypair *kp, uint8_t *msg, size_t len)
{
	struct message_data *data = (struct message_data *)msg;
	size_t padded = len - MESSAGE_MINIMUM_LENGTH;

	aead_seal(data->encrypted_data, data->encrypted_data, padded, NULL, 0,
		  le64_get(data->counter), kp->sending_key);
}

ssize_t noise_transport_seal(struct noise_keypair *kp, uint8_t *dst, const uint8_t *plain,
			     size_t len, unsigned mtu, uint64_t now_ns)
{
	ssize_t n = noise_transport_seal_prepare(kp, dst, plain, len, mtu, now_ns);

	if (n >= 0)
		noise_transport_seal_crypt(kp, dst, (size_t)n);
	return n;
}

bool noise_transport_open_check(struct noise_keypair *kp, const uint8_t *msg, size_t len,
				uint64_t now_ns, uint64_t *counter)
{
	const struct message_data *data;

	if (!kp || len < MESSAGE_MINIMUM_LENGTH || len > (size_t)SSIZE_MAX)
		return false;
	data = (const struct message_data *)msg;
	if (le32_get(data->header.type) != MESSAGE_DATA || le32_get(data->key_idx) != kp->local_index)
		return false;
	if (!kp->receiving_valid)
		return false;
	if (has_expired(kp->birthdate, REJECT_AFTER_TIME, now_ns) ||
	    replay_counter_exhausted(&kp->receiving_counter)) {
		kp->receiving_valid = false;
		return false;
	}
	*counter = le64_get(data->counter);
	return true;
}

bool noise_transport_open_crypt(const struct noise_keypair *kp, uint8_t *dst, const uint8_t *msg,
				size_t len, uint64_t counter)
{
	const struct message_data *data = (const struct message_data *)msg;
	size_t plain_len = len - MESSAGE_MINIMUM_LENGTH;

	return aead_open(dst, data->encrypted_data, noise_encrypted_len(plain_len), NULL, 0, counter,
			 kp->receiving_key);
}

bool noise_transport_open_finish(struct noise_keypair *kp, uint8_t *dst, size_t plain_len,
				 uint64_t counter)
{
	/* Only an authenticated counter may move the window. */
	if (!replay_counter_validate(&kp->receiving_counter, counter)) {
		sodium_memzero(dst, plain_len);
		return false;
	}
	return true;
}

ssize_t noise_transport_open(struct noise_keypair *kp, uint8_t *dst, const uint8_t *msg,
			     size_t len, uint64_t now_ns)
{
	uint64_t counter;

	if (!noise_transport_open_check(kp, msg, len, now_ns, &counter) ||
	    !noise_transport_open_crypt(kp, dst, msg, len, counter) ||
	    !noise_transport_open_finish(kp, dst, len - MESSAGE_MINIMUM_LENGTH, counter))
		return -1;
	return (ssize_t)(len - MESSAGE_MINIMUM_LENGTH);
}

ssize_t wg_ip_trim(const uint8_t *plain, size_t len)
{
	enum { IPV4_HEADER_LEN = 20, IPV6_HEADER_LEN = 40 };
	size_t ip_len;

	if (len >= IPV4_HEADER_LEN && plain[0] >> 4 == 4) {
		size_t ihl = (size_t)(plain[0] & 0x0f) * 4;

		ip_len = be16_get(plain + 2);	/* total length */
		if (ihl < IPV4_HEADER_LEN || ip_len < ihl)
			return -1;
	} else if (len >= IPV6_HEADER_LEN && plain[0] >> 4 == 6) {
		ip_len = be16_get(plain + 4) + IPV6_HEADER_LEN;	/* payload length */
	} else {
		return -1;
	}
	if (ip_len > len)
		return -1;
	return (ssize_t)ip_len;
}
