/* Splitting and reassembly of relayed payloads (doc/protocol.md 6.5,
 * "Fragments"): sans-I/O.
 *
 * A payload (a WireGuard datagram, or an overlay datagram sealed to the
 * destination) of up to OVL_REASM_MAX_PAYLOAD = 8 x 1164 = 9312 bytes
 * travels in RELAY / RELAYED messages whose chunk is at most
 * OVL_RELAY_MAX_CHUNK bytes.  The sender splits it into
 * ovl_frag_count(len) chunks and tags each with (frag_id, frag_index,
 * frag_count); the relay copies the tags; the destination joins the
 * chunks of one (source key, frag_id) in index order.
 *
 * Splitting.  Chunks are full (OVL_RELAY_MAX_CHUNK bytes) except the
 * last, which carries the remainder: a 1452-byte WireGuard data message
 * goes as 1164 + 288.  The frag_id is the caller's u16 counter per
 * destination, advanced for each fragmented payload and wrapping; an
 * unfragmented payload has count 1, index 0 and id 0.
 *
 * Reassembly.  The protocol does not fix how a sender splits, so the
 * receiver accepts chunks of any length from 1 to OVL_RELAY_MAX_CHUNK at
 * any index: the payload is whatever the chunks of indices 0..count-1
 * add up to (at most 8 x 1164, so never over OVL_REASM_MAX_PAYLOAD).
 * Chunks may arrive in any order.  The first chunk of an index wins;
 * later ones are DUPLICATE and ignored.  A fragment whose count
 * disagrees with the earlier fragments of its (source, id) drops the
 * whole payload (MISMATCH), the fragment included: one of them is wrong
 * and there is no telling which.  A fragment with count 0 or above 8,
 * an index >= count (BAD_FRAG), or an empty or over-long chunk (BAD_LEN)
 * is ignored and changes nothing.  A fragment with count 1 is a whole
 * payload and is handed back as it is, without a copy, whatever its id.
 *
 * Bounds.  All memory is allocated by ovl_reasm_init(), none per packet:
 *   - `total` payload slots (metadata only, 88 bytes each), of
 *     which one source may hold at most `per_source`;
 *   - a pool of `chunks` chunk buffers of OVL_RELAY_MAX_CHUNK bytes
 *     shared by all payloads in progress;
 *   - one OVL_REASM_MAX_PAYLOAD output buffer into which a completed
 *     payload is joined.
 * The chunk that completes a payload is copied straight to the output
 * and never stored, so a payload in progress holds between 1 and 7
 * chunks, and a typical two-chunk one holds one.  The defaults (32
 * payloads, 4 per source, 64 chunks) take 86,752 bytes instead of the
 * 32 x 9312 = 298 KB of a full buffer per slot, and hold 32 payloads
 * of two chunks or 9 of eight at once.  When a new payload
 * finds its source's quota or all the slots taken, or a chunk finds
 * the pool empty, the oldest payload in progress (by its first
 * fragment; of that source, for the per-source quota) is dropped and
 * counted as evicted; the payload being added to is never the one
 * dropped.  A payload still incomplete timeout_ns after its first
 * fragment is dropped (expired) at the next call; a fragment arriving
 * later starts a new payload.
 *
 * Cost: every call looks through the slots linearly (32 by default):
 * cheaper than a hash at this size, and bounded.  Source keys are public,
 * so they are compared with memcmp.
 *
 * Time is a caller-supplied monotonic clock in nanoseconds.  Only
 * reasm.c writes a struct ovl_reasm (STYLE rule 1); the fields are in
 * this header so that it can be embedded.  Nothing here logs.
 *
 * Errors: ovl_reasm_init() returns 0, -EINVAL (a parameter out of
 * range) or -ENOMEM; ovl_reasm_input() returns an enum ovl_reasm_result,
 * every one of which is also counted in the stats. */
#ifndef WH_PROTO_OVERLAY_REASM_H
#define WH_PROTO_OVERLAY_REASM_H

#include "proto/overlay/overlay.h"

#include <stddef.h>
#include <stdint.h>

struct ovl_frag;

enum ovl_reasm_limits {
	OVL_REASM_MAX_PAYLOAD = OVL_RELAY_MAX_FRAGMENTS * OVL_RELAY_MAX_CHUNK, /* 9312 */
	/* Upper bounds on the parameters, so that indices fit their fields. */
	OVL_REASM_TOTAL_MAX = 4096,
	OVL_REASM_CHUNKS_MAX = 65535,
	/* A payload in progress holds at most this many chunks (the last
	 * one completes it); the pool must have room for one of them. */
	OVL_REASM_CHUNKS_MIN = OVL_RELAY_MAX_FRAGMENTS - 1,
};

/* How many chunks a payload of len bytes is sent in: 1..8, or 0 when len
 * is 0 or above OVL_REASM_MAX_PAYLOAD (it cannot be relayed). */
unsigned ovl_frag_count(size_t len);

/* Where chunk `index` of a payload of len bytes lies: stores its offset
 * and returns its length (1..OVL_RELAY_MAX_CHUNK), or returns 0 when
 * index >= ovl_frag_count(len). */
size_t ovl_frag_chunk(size_t len, unsigned index, size_t *offset);

enum ovl_reasm_result {
	OVL_REASM_COMPLETE = 0,	/* *out, *out_len: the whole payload */
	OVL_REASM_PENDING,	/* stored; the payload waits for more */
	OVL_REASM_DUPLICATE,	/* that index is already here: ignored */
	OVL_REASM_BAD_FRAG,	/* count 0 or > 8, index >= count: ignored */
	OVL_REASM_BAD_LEN,	/* chunk empty or over OVL_RELAY_MAX_CHUNK: ignored */
	OVL_REASM_MISMATCH,	/* count disagrees with the payload's: both dropped */
	OVL_REASM_RESULT_MAX,
};

struct ovl_reasm_params {
	unsigned per_source;	/* payloads in progress per source: 4 */
	unsigned total;		/* payloads in progress in all: 32 */
	unsigned chunks;	/* chunk buffers shared by them: 64 */
	uint64_t timeout_ns;	/* an incomplete payload lives: 2 s */
};

struct ovl_reasm_stats {
	uint64_t single;	/* unfragmented payloads passed through */
	uint64_t complete;	/* payloads reassembled */
	uint64_t pending;	/* fragments stored */
	uint64_t duplicate;
	uint64_t bad_frag;
	uint64_t bad_len;
	uint64_t mismatch;	/* payloads dropped for a disagreeing count */
	uint64_t evicted;	/* payloads dropped to make room */
	uint64_t expired;	/* payloads dropped after timeout_ns */
};

/* One payload in progress; free when count is 0. */
struct ovl_reasm_slot {
	uint8_t src[OVL_KEY_LEN];
	uint64_t first_ns;	/* its first fragment arrived */
	uint64_t seq;		/* creation order: the smallest is the oldest */
	uint16_t id;
	uint8_t count;		/* frag_count, 2..8; 0: the slot is free */
	uint8_t have;		/* bit i: chunk i is stored */
	uint8_t n_have;
	uint16_t chunk[OVL_RELAY_MAX_FRAGMENTS];	/* pool index of chunk i */
	uint16_t len[OVL_RELAY_MAX_FRAGMENTS];		/* length of chunk i */
};

struct ovl_reasm {
	struct ovl_reasm_params p;
	struct ovl_reasm_slot *slot;	/* p.total of them */
	unsigned n_used;		/* slots in use */
	uint8_t (*pool)[OVL_RELAY_MAX_CHUNK];	/* p.chunks buffers */
	uint16_t *free_chunk;		/* stack of free pool indices */
	unsigned n_free;
	uint8_t *out;			/* OVL_REASM_MAX_PAYLOAD: the last COMPLETE */
	uint64_t seq;			/* the last slot's creation number */
	uint64_t next_expiry_ns;	/* no slot expires before this */
	struct ovl_reasm_stats stats;
};

void ovl_reasm_params_default(struct ovl_reasm_params *p);

/* Allocates everything the reassembler will use; params NULL means the
 * defaults.  Returns 0, -EINVAL (per_source 0 or above total, total
 * above OVL_REASM_TOTAL_MAX, chunks outside OVL_REASM_CHUNKS_MIN..
 * OVL_REASM_CHUNKS_MAX, timeout_ns 0) or -ENOMEM. */
int ovl_reasm_init(struct ovl_reasm *r, const struct ovl_reasm_params *params);
void ovl_reasm_free(struct ovl_reasm *r);

/* A RELAYED's payload arrived: chunk[0 .. len) from src with the
 * fragment fields frag.  On OVL_REASM_COMPLETE, *out and *out_len are
 * the whole payload: the caller's chunk itself for an unfragmented one,
 * else the reassembler's output buffer, valid until the next call.  They
 * are left alone on any other result. */
enum ovl_reasm_result ovl_reasm_input(struct ovl_reasm *r, const uint8_t src[OVL_KEY_LEN],
				      const struct ovl_frag *frag, const uint8_t *chunk,
				      size_t len, uint64_t now_ns, const uint8_t **out,
				      size_t *out_len);

/* Drops the payloads whose time is up and returns a time no later than
 * the next one's, or UINT64_MAX when none is in progress.  No caller has to:
 * the memory is fixed, and ovl_reasm_input() drops whatever is due
 * first; it keeps the counters current for a caller that reads them. */
uint64_t ovl_reasm_expire(struct ovl_reasm *r, uint64_t now_ns);

/* Payloads in progress from src, or in all when src is NULL. */
unsigned ovl_reasm_in_progress(const struct ovl_reasm *r, const uint8_t *src);
/* Chunk buffers held by payloads in progress. */
static inline unsigned ovl_reasm_chunks_held(const struct ovl_reasm *r)
{
	return r->p.chunks - r->n_free;
}
/* Bytes of heap the reassembler holds. */
size_t ovl_reasm_memory(const struct ovl_reasm *r);
const char *ovl_reasm_result_name(enum ovl_reasm_result res);

#endif
