/* The filter of PEERS (doc/protocol.md 9.3), sans-I/O: the keys a member
 * accepts relayed traffic from, as a Bloom filter of 8192 bits that a
 * relay tests a sender's key against.
 *
 * Bit positions: SipHash-2-4 (crypto_shorthash) of the 32-byte key under
 * the filter's 16-byte salt gives 8 bytes, read little-endian as h; with
 * h1 its low and h2 its high 32 bits (h2 made odd), hash i (0 <= i <
 * hashes) sets bit (h1 + i * h2) mod 8192.  The member draws the salt at
 * random each time it builds the filter, so that nobody who has not seen
 * the (encrypted) PEERS can search offline for keys that pass it.
 *
 * False positives: with n keys and the best count of hashes (8192 / n x
 * ln 2, within 1..16) about 0.6185^(8192 / n): 1 in 2,600 for 500 keys,
 * 1 in 50 for 1,000; a stranger's key passes with that chance, once per
 * salt (it cannot try again with another key without a new DH at the
 * member for each). */
#ifndef WH_PROTO_OVERLAY_PEERFILTER_H
#define WH_PROTO_OVERLAY_PEERFILTER_H

#include "proto/overlay/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The count of hashes for n keys. */
unsigned ovl_peerfilter_hashes(size_t n);
/* An empty filter sized for n keys, under salt. */
void ovl_peerfilter_init(struct ovl_peers *p, size_t n, const uint8_t salt[16]);
void ovl_peerfilter_add(struct ovl_peers *p, const uint8_t key[OVL_KEY_LEN]);
/* Whether key was added (or is a false positive); false for a filter with
 * no hashes (never set). */
bool ovl_peerfilter_has(const struct ovl_peers *p, const uint8_t key[OVL_KEY_LEN]);

#endif
