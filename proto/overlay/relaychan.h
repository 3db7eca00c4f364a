/* A relay's channel table (doc/protocol.md 9.1): sans-I/O.
 *
 * A member asks a relay, over the authenticated overlay (CHANNEL_BIND),
 * for a channel to a destination; the relay answers with a 32-bit number
 * (CHANNEL_BOUND) and from then on forwards the member's relay channel
 * datagrams (8-byte header + one WireGuard datagram) that carry that
 * number and come from the address the binding was made from.  The relay
 * does no cryptography per datagram: WireGuard authenticates the payload
 * end to end, and the channel number is a secret of the member's and the
 * relay's that travelled encrypted.
 *
 * Numbers.  A channel's number is a keyed hash (SipHash, a key of the
 * table's own) of (source key, destination key), never 0: a renewal gets
 * the same number, an outsider cannot guess one, and no index by pair is
 * needed.  Two pairs with one number (one chance in 2^32 per pair) cannot
 * both be bound: the second is refused as FULL while the first lives.
 *
 * Quotas (issue 17, finding 7).  With quotas set, one source key holds at
 * most key_quota live channels and one source IP address (any port)
 * addr_quota: a new binding over either quota ends the owner's own
 * binding that was renewed least lately, never another's, so that one key
 * or one address cannot fill the table for the others.  A fresh binding
 * walks the table once to count (renewals and datagrams do not), and
 * that one walk also serves the fair share below.
 * With quotas set, a full probe range is shared fairly between source
 * addresses: a binding from an address with fewer live channels takes the
 * slot of the range's binding whose address holds the most, when that
 * address holds at least two more (so that a few addresses at their
 * quota, which can fill the table, never keep a member out; among equals
 * nothing moves, and the binding is refused).
 *
 * Bounds.  `slots` entries (a power of two) allocated once; an entry
 * lives `lifetime` after its last binding and is reused after that.  A
 * binding whose probe range (8 slots from its number) holds only live
 * entries of other pairs is refused (FULL).  Nothing is allocated per
 * datagram. */
#ifndef WH_PROTO_OVERLAY_RELAYCHAN_H
#define WH_PROTO_OVERLAY_RELAYCHAN_H

#include "proto/overlay/kademlia.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/probetab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OVL_CHANTAB_PROBE = OVL_PROBETAB_PROBE,
	/* Room for the owner's cached socket address of the destination. */
	OVL_CHAN_DST_CACHE = 28,
};

struct ovl_chan {
	uint32_t id;			/* 0: never used */
	uint8_t src[OVL_KEY_LEN], dst[OVL_KEY_LEN];
	struct ovl_addr src_addr;	/* where the binding came from */
	uint64_t expires_ns;
	uint64_t seq;			/* the table's count of bindings at its last */
	/* The owner's: the destination's address as last checked, and when
	 * (the relay rechecks its path now and then, not per datagram). */
	uint8_t dst_cache[OVL_CHAN_DST_CACHE];
	uint64_t checked_ns;
};

/* The channels live in the overlay's one probe table, placed by their
 * number (itself a keyed hash). */
struct ovl_chantab {
	struct ovl_probetab tab;
	uint32_t key_quota, addr_quota;	/* 0: none */
	uint64_t seq;			/* bindings and renewals so far: their order */
	/* Bindings ended for a quota (the owner's own oldest), and taken
	 * for a binder from a lighter address in a full range. */
	uint64_t quota_evictions, fair_evictions;
	uint64_t walks;			/* of the whole table, by fresh bindings */
};

enum ovl_chan_miss {
	OVL_CHAN_UNKNOWN = 1,		/* no live channel has this number */
	OVL_CHAN_WRONG_SOURCE,		/* it is bound from another address */
};

/* slots: a power of two (>= OVL_CHANTAB_PROBE); hash_key: 16 secret
 * random bytes.  0 or -ENOMEM / -EINVAL. */
int ovl_chantab_init(struct ovl_chantab *t, uint32_t slots, const uint8_t hash_key[16]);
void ovl_chantab_free(struct ovl_chantab *t);
/* Live channels per source key and per source IP address (0: no quota;
 * none after init). */
void ovl_chantab_set_quotas(struct ovl_chantab *t, uint32_t key_quota, uint32_t addr_quota);

/* The number the pair (src, dst) has in this table, bound or not. */
uint32_t ovl_chantab_number(const struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
			    const uint8_t dst[OVL_KEY_LEN]);

/* Binds (src -> dst) from src_addr until now + lifetime_ns, or renews it
 * (a renewal from a new address moves the binding there: the request is
 * authenticated).  *fresh tells whether the entry is new (its cache
 * fields are zero).  NULL when the table has no room (FULL). */
struct ovl_chan *ovl_chantab_bind(struct ovl_chantab *t, const uint8_t src[OVL_KEY_LEN],
				  const uint8_t dst[OVL_KEY_LEN], const struct ovl_addr *src_addr,
				  uint64_t now, uint64_t lifetime_ns, bool *fresh);

/* The live channel numbered id whose binding came from addr; NULL (and
 * *why) otherwise.  Called per datagram: no allocation, at most
 * OVL_CHANTAB_PROBE slots looked at. */
struct ovl_chan *ovl_chantab_lookup(struct ovl_chantab *t, uint32_t id, const struct ovl_addr *from,
				    uint64_t now, enum ovl_chan_miss *why);

/* Ends a binding at once (its destination became unreachable). */
void ovl_chantab_unbind(struct ovl_chan *c);

/* Live bindings (a walk over the table: for statistics). */
size_t ovl_chantab_live(const struct ovl_chantab *t, uint64_t now);

#endif
