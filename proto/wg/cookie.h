/* mac1, mac2 and cookie replies (whitepaper section 5.4.4, 5.4.7).
 *
 * The checker belongs to the device (our own public key, the rotating
 * cookie secret); a maker belongs to each peer (the peer's keys and the
 * last cookie it sent us).  Sources are opaque byte strings that the
 * caller forms from the outer address: IPv4 4 bytes + port 2 bytes
 * big-endian, IPv6 16 + 2.  Time is monotonic nanoseconds. */
#ifndef WH_PROTO_WG_COOKIE_H
#define WH_PROTO_WG_COOKIE_H

#include "proto/wg/messages.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birthdate;	/* ns; meaningful when has_secret */
	bool has_secret;		/* false: generated on first use */
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_cookie_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct cookie_maker {
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birthdate;	/* 0 = none */
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
	bool is_valid;			/* cookie fresh when received */
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_cookie_key[NOISE_SYMMETRIC_KEY_LEN];
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE,
};

/* Derives the keys from our own public key (call again when it changes;
 * an all-zero key when there is no identity). */
void cookie_checker_init(struct cookie_checker *cc, const uint8_t local_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *cm, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN]);

/* msg is a handshake message (initiation or response) of len bytes whose
 * last 32 bytes are its macs.  Checks mac1, and mac2 against the cookie of
 * src when check_cookie is set. */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *cc, const uint8_t *msg,
					     size_t len, const uint8_t *src, size_t srclen,
					     bool check_cookie, uint64_t now_ns);

/* Writes mac1, and mac2 when the maker holds a cookie younger than
 * COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY; remembers mac1. */
void cookie_add_mac_to_packet(uint8_t *msg, size_t len, struct cookie_maker *cm, uint64_t now_ns);

/* A cookie reply to msg (whose sender index is index) from src; false
 * (nothing written) when len is too short to hold the macs. */
bool cookie_message_create(struct message_handshake_cookie *dst, const uint8_t *msg, size_t len,
			   uint32_t index, struct cookie_checker *cc, const uint8_t *src,
			   size_t srclen, uint64_t now_ns);

/* Takes a cookie reply addressed to the peer that owns cm; false when we
 * never sent a mac1 or it does not decrypt. */
bool cookie_message_consume(const struct message_handshake_cookie *src, struct cookie_maker *cm,
			    uint64_t now_ns);

#endif
