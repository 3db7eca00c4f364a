/* Handshake rate limiting under load: one token bucket per source.
 *
 * A bucket holds up to a burst of packets' worth of nanoseconds; it
 * refills at one nanosecond per nanosecond and each packet costs 1 s /
 * the rate (20 and 5 by default, the kernel's).  A source seen for the
 * first time is allowed and starts with a full bucket less one packet,
 * so a burst passes and the next one waits for a refill.
 *
 * Sources are an IPv4 address or the /64 of an IPv6 address (a host
 * usually owns a whole /64, so counting its addresses apart would let it
 * multiply its rate).  The table is chained through 32-bit indices into
 * one entry array that is allocated zeroed up front and handed out
 * lazily, so its pages cost memory only once sources fill them, and no
 * allocation happens on the packet path.  Buckets are chosen by SipHash
 * under a key drawn at creation: a remote host cannot predict which of
 * its addresses collide, so it cannot make one chain long. */
#include "proto/wg/ratelimiter.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum {
	NSEC_PER_SEC = 1000000000,
	IDLE_NS = NSEC_PER_SEC,
	SOURCE_LEN = 9,		/* family tag, then up to 8 address bytes */
	MIN_BUCKETS = 16,
};

_Static_assert(NSEC_PER_SEC % RATELIMITER_PACKETS_PER_SECOND == 0, "exact packet cost");

#define NONE UINT32_MAX

struct entry {
	uint64_t last_ns;
	uint64_t tokens;		/* nanoseconds of credit, <= token_max */
	uint8_t source[SOURCE_LEN];	/* zero-padded, compared whole */
	uint32_t next;			/* chain or free list; NONE ends it */
};

struct ratelimiter {
	uint8_t key[crypto_shorthash_KEYBYTES];
	uint64_t packet_cost;		/* ns of credit a packet takes */
	uint64_t token_max;		/* the burst, in ns of credit */
	uint32_t *buckets;		/* heads of the chains */
	size_t bucket_mask;
	struct entry *entries;		/* max_entries slots */
	size_t max_entries;
	size_t used;			/* slots ever handed out */
	size_t count;			/* live entries */
	uint32_t free_list;		/* slots returned by gc */
};

static size_t round_up_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct ratelimiter *ratelimiter_new(size_t max_entries)
{
	return ratelimiter_new_rate(max_entries, RATELIMITER_PACKETS_PER_SECOND,
				    RATELIMITER_PACKETS_BURSTABLE);
}

struct ratelimiter *ratelimiter_new_rate(size_t max_entries, unsigned per_second, unsigned burst)
{
	struct ratelimiter *rl;
	size_t nbuckets, i;

	/* Indices are 32 bits with one value reserved for "none". */
	if (max_entries == 0 || max_entries >= NONE || per_second == 0 ||
	    per_second > NSEC_PER_SEC || NSEC_PER_SEC % per_second != 0 || burst == 0) {
		errno = EINVAL;
		return NULL;
	}
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		goto err;
	/* Eight sources per chain when full, as the kernel sizes it. */
	nbuckets = round_up_pow2(max_entries / 8);
	if (nbuckets < MIN_BUCKETS)
		nbuckets = MIN_BUCKETS;
	rl->buckets = malloc(nbuckets * sizeof(*rl->buckets));
	if (!rl->buckets)
		goto err_rl;
	rl->entries = calloc(max_entries, sizeof(*rl->entries));
	if (!rl->entries)
		goto err_buckets;
	for (i = 0; i < nbuckets; ++i)
		rl->buckets[i] = NONE;
	rl->bucket_mask = nbuckets - 1;
	rl->max_entries = max_entries;
	rl->free_list = NONE;
	rl->packet_cost = NSEC_PER_SEC / per_second;
	rl->token_max = rl->packet_cost * burst;
	crypto_shorthash_keygen(rl->key);
	return rl;

err_buckets:
	free(rl->buckets);
err_rl:
	free(rl);
err:
	errno = ENOMEM;
	return NULL;
}

void ratelimiter_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	sodium_memzero(rl->key, sizeof(rl->key));
	free(rl->entries);
	free(rl->buckets);
	free(rl);
}

/* The bucket key of a source: which family, then the bytes that name
 * the source within it. */
static bool source_of(uint8_t out[SOURCE_LEN], int family, const uint8_t *addr)
{
	memset(out, 0, SOURCE_LEN);
	switch (family) {
	case AF_INET:
		out[0] = 4;
		memcpy(out + 1, addr, 4);
		return true;
	case AF_INET6:
		/* Only the /64: see the top of the file. */
		out[0] = 6;
		memcpy(out + 1, addr, 8);
		return true;
	default:
		return false;
	}
}

static size_t bucket_of(const struct ratelimiter *rl, const uint8_t source[SOURCE_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	crypto_shorthash(h, source, SOURCE_LEN, rl->key);
	for (i = 0; i < sizeof(h); ++i)
		v = v << 8 | h[i];
	return (size_t)(v & rl->bucket_mask);
}

bool ratelimiter_allow(struct ratelimiter *rl, int family, const uint8_t *addr, uint64_t now_ns)
{
	uint8_t source[SOURCE_LEN];
	struct entry *e;
	uint64_t tokens;
	size_t b;
	uint32_t i;

	if (!source_of(source, family, addr))
		return false;
	b = bucket_of(rl, source);
	for (i = rl->buckets[b]; i != NONE; i = e->next) {
		e = &rl->entries[i];
		if (memcmp(e->source, source, SOURCE_LEN) != 0)
			continue;
		/* A clock that steps back refills nothing. */
		tokens = e->tokens;
		if (now_ns > e->last_ns)
			tokens += now_ns - e->last_ns;
		if (tokens > rl->token_max)
			tokens = rl->token_max;
		e->last_ns = now_ns;
		if (tokens < rl->packet_cost) {
			e->tokens = tokens;
			return false;
		}
		e->tokens = tokens - rl->packet_cost;
		return true;
	}

	/* A new source; when the table is full it is refused rather than
	 * evicting someone, so a flood of fresh addresses cannot reset the
	 * buckets of the sources already limited. */
	if (rl->free_list != NONE) {
		i = rl->free_list;
		rl->free_list = rl->entries[i].next;
	} else if (rl->used < rl->max_entries) {
		i = (uint32_t)rl->used++;
	} else {
		return false;
	}
	e = &rl->entries[i];
	memcpy(e->source, source, SOURCE_LEN);
	e->last_ns = now_ns;
	e->tokens = rl->token_max - rl->packet_cost;
	e->next = rl->buckets[b];
	rl->buckets[b] = i;
	++rl->count;
	return true;
}

void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns)
{
	uint32_t *link, i;
	size_t b;

	for (b = 0; b <= rl->bucket_mask; ++b) {
		link = &rl->buckets[b];
		while ((i = *link) != NONE) {
			struct entry *e = &rl->entries[i];

			if (now_ns > e->last_ns && now_ns - e->last_ns > IDLE_NS) {
				*link = e->next;
				e->next = rl->free_list;
				rl->free_list = i;
				--rl->count;
			} else {
				link = &e->next;
			}
		}
	}
}

size_t ratelimiter_count(const struct ratelimiter *rl)
{
	return rl->count;
}
