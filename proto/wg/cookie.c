/* mac1, mac2 and cookie replies: the DoS mitigation of WireGuard
 * (whitepaper section 5.4.4 and 5.4.7).
 *
 * Every handshake message ends in two 16-byte macs.  mac1 proves that the
 * sender knows the receiver's public key, so that a scanner learns
 * nothing; it is always checked, and checked before any DH.  mac2 proves
 * that the sender can receive at its source address: the responder, when
 * under load, answers a message without a good mac2 with a cookie reply
 * (the cookie encrypted to the sender, bound to the mac1 it answers), and
 * the sender then uses that cookie as the mac2 key.
 *
 * Lifetimes, as in the kernel's cookie.c:
 *   - the checker's random secret is replaced once it is
 *     COOKIE_SECRET_MAX_AGE old, lazily when a cookie is next made;
 *   - a maker uses its cookie for mac2 while it is younger than
 *     COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, so that it never sends
 *     a cookie the responder has just rotated away;
 *   - a cookie reply is taken only when a mac1 was sent since the last one,
 *     and only if it authenticates with that mac1 as associated data;
 *     taking it clears have_sent_mac1, so each mac1 earns one cookie. */
#include "proto/wg/cookie.h"

#include "crypto/aead.h"
#include "crypto/hash.h"

#include <sodium.h>
#include <string.h>

#define NSEC_PER_SEC UINT64_C(1000000000)

enum { COOKIE_KEY_LABEL_LEN = 8 };
static const char mac1_label[COOKIE_KEY_LABEL_LEN + 1] = "mac1----";
static const char cookie_label[COOKIE_KEY_LABEL_LEN + 1] = "cookie--";

_Static_assert(sizeof(struct message_macs) == 2 * COOKIE_LEN, "wire size");
_Static_assert((int)COOKIE_NONCE_LEN == (int)XAEAD_NONCE_LEN, "cookie nonce is XChaCha20's");

/* The same rule as the kernel's: a thing born at birth_ns has expired once
 * birth + max_age seconds is not in the future. */
static bool has_expired(uint64_t birth_ns, uint64_t max_age_sec, uint64_t now_ns)
{
	return birth_ns + max_age_sec * NSEC_PER_SEC <= now_ns;
}

/* key = HASH(label || public key) */
static void label_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char *label,
		      const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	blake2s_hash2(key, label, COOKIE_KEY_LABEL_LEN, pub, NOISE_PUBLIC_KEY_LEN);
}

/* mac1 covers every byte before it; mac2 every byte before it, mac1
 * included.  Callers have checked len >= sizeof(struct message_macs). */
static void compute_mac1(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	blake2s_mac16(mac, key, NOISE_SYMMETRIC_KEY_LEN, msg, len - sizeof(struct message_macs));
}

static void compute_mac2(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t cookie[COOKIE_LEN])
{
	blake2s_mac16(mac, cookie, COOKIE_LEN, msg, len - COOKIE_LEN);
}

/* The cookie of a source: keyed by the current secret, which is replaced
 * first when it is too old (or was never made). */
static void make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *cc,
			const uint8_t *src, size_t srclen, uint64_t now_ns)
{
	if (!cc->has_secret || has_expired(cc->secret_birthdate, COOKIE_SECRET_MAX_AGE, now_ns)) {
		randombytes_buf(cc->secret, sizeof(cc->secret));
		cc->secret_birthdate = now_ns;
		cc->has_secret = true;
	}
	blake2s_mac16(cookie, cc->secret, sizeof(cc->secret), src, srclen);
}

void cookie_checker_init(struct cookie_checker *cc, const uint8_t local_public[NOISE_PUBLIC_KEY_LEN])
{
	/* A new identity also starts a new secret: cookies handed out under
	 * the old key are worthless anyway. */
	sodium_memzero(cc, sizeof(*cc));
	if (!local_public || sodium_is_zero(local_public, NOISE_PUBLIC_KEY_LEN))
		return;
	label_key(cc->message_mac1_key, mac1_label, local_public);
	label_key(cc->message_cookie_key, cookie_label, local_public);
}

void cookie_maker_init(struct cookie_maker *cm, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(cm, sizeof(*cm));
	label_key(cm->message_mac1_key, mac1_label, remote_public);
	label_key(cm->message_cookie_key, cookie_label, remote_public);
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *cc, const uint8_t *msg,
					     size_t len, const uint8_t *src, size_t srclen,
					     bool check_cookie, uint64_t now_ns)
{
	const struct message_macs *macs;
	enum cookie_mac_state ret = INVALID_MAC;
	uint8_t computed[COOKIE_LEN];
	uint8_t cookie[COOKIE_LEN];

	if (len < sizeof(struct message_macs))
		return INVALID_MAC;
	macs = (const struct message_macs *)(msg + len - sizeof(*macs));

	compute_mac1(computed, msg, len, cc->message_mac1_key);
	if (sodium_memcmp(computed, macs->mac1, COOKIE_LEN) != 0)
		goto out;
	ret = VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(cookie, cc, src, srclen, now_ns);
	compute_mac2(computed, msg, len, cookie);
	if (sodium_memcmp(computed, macs->mac2, COOKIE_LEN) != 0)
		goto out;
	ret = VALID_MAC_WITH_COOKIE;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

void cookie_add_mac_to_packet(uint8_t *msg, size_t len, struct cookie_maker *cm, uint64_t now_ns)
{
	struct message_macs *macs;

	if (len < sizeof(struct message_macs))
		return;
	macs = (struct message_macs *)(msg + len - sizeof(*macs));

	compute_mac1(macs->mac1, msg, len, cm->message_mac1_key);
	memcpy(cm->last_mac1_sent, macs->mac1, COOKIE_LEN);
	cm->have_sent_mac1 = true;

	if (cm->is_valid &&
	    !has_expired(cm->cookie_birthdate, COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now_ns))
		compute_mac2(macs->mac2, msg, len, cm->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
}

bool cookie_message_create(struct message_handshake_cookie *dst, const uint8_t *msg, size_t len,
			   uint32_t index, struct cookie_checker *cc, const uint8_t *src,
			   size_t srclen, uint64_t now_ns)
{
	const struct message_macs *macs;
	uint8_t cookie[COOKIE_LEN];

	if (len < sizeof(struct message_macs))
		return false;
	macs = (const struct message_macs *)(msg + len - sizeof(*macs));

	le32_put(dst->header.type, MESSAGE_HANDSHAKE_COOKIE);
	le32_put(dst->receiver_index, index);
	randombytes_buf(dst->nonce, sizeof(dst->nonce));

	make_cookie(cookie, cc, src, srclen, now_ns);
	/* Bound to the mac1 it answers, so that only the sender of that
	 * message (who knows the mac1 it sent) can use the reply. */
	xaead_seal(dst->encrypted_cookie, cookie, COOKIE_LEN, macs->mac1, COOKIE_LEN,
		   dst->nonce, cc->message_cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
	return true;
}

bool cookie_message_consume(const struct message_handshake_cookie *src, struct cookie_maker *cm,
			    uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	bool ret = false;

	if (le32_get(src->header.type) != MESSAGE_HANDSHAKE_COOKIE)
		goto out;
	/* Unsolicited, or a second reply to the same mac1. */
	if (!cm->have_sent_mac1)
		goto out;
	if (!xaead_open(cookie, src->encrypted_cookie, sizeof(src->encrypted_cookie),
			cm->last_mac1_sent, COOKIE_LEN, src->nonce, cm->message_cookie_key))
		goto out;

	memcpy(cm->cookie, cookie, COOKIE_LEN);
	cm->cookie_birthdate = now_ns;
	cm->is_valid = true;
	cm->have_sent_mac1 = false;
	ret = true;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}
