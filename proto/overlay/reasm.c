/* Splitting and reassembly of relayed payloads; see reasm.h for the
 * design.  This file is the only writer of struct ovl_reasm.
 *
 * Invariants, kept by slot_take(), slot_drop() and chunk_take():
 *   - a slot is in use iff its count is nonzero; n_used counts them;
 *   - a slot in use holds n_have = popcount(have) chunks, 1..count-1,
 *     whose pool indices are chunk[i] for the bits i of have;
 *   - every pool index is either held by exactly one slot or on the
 *     free stack, so n_free + the chunks held = p.chunks;
 *   - next_expiry_ns <= first_ns + timeout_ns of every slot in use. */
#include "proto/overlay/reasm.h"
#include "proto/overlay/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(OVL_REASM_MAX_PAYLOAD == 9312, "doc/protocol.md, Limits");
_Static_assert(OVL_RELAY_MAX_FRAGMENTS <= 8, "the have bitmap is a uint8_t");
_Static_assert(OVL_RELAY_MAX_CHUNK <= UINT16_MAX, "chunk lengths are uint16_t");
_Static_assert(OVL_REASM_CHUNKS_MAX <= UINT16_MAX, "pool indices are uint16_t");

#define SEC 1000000000ull

void ovl_reasm_params_default(struct ovl_reasm_params *p)
{
	p->per_source = 4;
	p->total = 32;
	p->chunks = 64;
	p->timeout_ns = 2 * SEC;
}

/* ---- Splitting ---- */

unsigned ovl_frag_count(size_t len)
{
	if (len == 0 || len > OVL_REASM_MAX_PAYLOAD)
		return 0;
	return (unsigned)((len + OVL_RELAY_MAX_CHUNK - 1) / OVL_RELAY_MAX_CHUNK);
}

size_t ovl_frag_chunk(size_t len, unsigned index, size_t *offset)
{
	size_t off;

	if (index >= ovl_frag_count(len))
		return 0;
	off = (size_t)index * OVL_RELAY_MAX_CHUNK;
	*offset = off;
	return len - off < OVL_RELAY_MAX_CHUNK ? len - off : OVL_RELAY_MAX_CHUNK;
}

/* ---- Setup ---- */

int ovl_reasm_init(struct ovl_reasm *r, const struct ovl_reasm_params *params)
{
	memset(r, 0, sizeof(*r));
	if (params)
		r->p = *params;
	else
		ovl_reasm_params_default(&r->p);
	if (r->p.per_source < 1 || r->p.per_source > r->p.total ||
	    r->p.total > OVL_REASM_TOTAL_MAX || r->p.chunks < OVL_REASM_CHUNKS_MIN ||
	    r->p.chunks > OVL_REASM_CHUNKS_MAX || r->p.timeout_ns == 0)
		return -EINVAL;

	r->slot = calloc(r->p.total, sizeof(*r->slot));
	if (!r->slot)
		goto nomem;
	r->pool = malloc((size_t)r->p.chunks * sizeof(*r->pool));
	if (!r->pool)
		goto nomem;
	r->free_chunk = malloc((size_t)r->p.chunks * sizeof(*r->free_chunk));
	if (!r->free_chunk)
		goto nomem;
	r->out = malloc(OVL_REASM_MAX_PAYLOAD);
	if (!r->out)
		goto nomem;
	/* Pushed in reverse so that chunk 0 is taken first: only cosmetic. */
	for (unsigned i = 0; i < r->p.chunks; ++i)
		r->free_chunk[i] = (uint16_t)(r->p.chunks - 1 - i);
	r->n_free = r->p.chunks;
	r->next_expiry_ns = UINT64_MAX;
	return 0;

nomem:
	ovl_reasm_free(r);
	return -ENOMEM;
}

void ovl_reasm_free(struct ovl_reasm *r)
{
	free(r->out);
	free(r->free_chunk);
	free(r->pool);
	free(r->slot);
	r->out = NULL;
	r->free_chunk = NULL;
	r->pool = NULL;
	r->slot = NULL;
	r->n_used = r->n_free = 0;
}

size_t ovl_reasm_memory(const struct ovl_reasm *r)
{
	if (!r->slot)
		return 0;
	return r->p.total * sizeof(*r->slot) + r->p.chunks * sizeof(*r->pool) +
	       r->p.chunks * sizeof(*r->free_chunk) + OVL_REASM_MAX_PAYLOAD;
}

/* ---- Slots and chunks; only these move the invariants of the top ---- */

/* When a slot's time is up; saturates rather than wrap for a clock near
 * its end. */
static uint64_t slot_due(const struct ovl_reasm *r, const struct ovl_reasm_slot *s)
{
	return s->first_ns > UINT64_MAX - r->p.timeout_ns ? UINT64_MAX
							   : s->first_ns + r->p.timeout_ns;
}

static void slot_drop(struct ovl_reasm *r, struct ovl_reasm_slot *s)
{
	for (unsigned i = 0; i < OVL_RELAY_MAX_FRAGMENTS; ++i)
		if (s->have & (1u << i))
			r->free_chunk[r->n_free++] = s->chunk[i];
	memset(s, 0, sizeof(*s));
	--r->n_used;
}

/* The oldest slot in use, of src if src is not NULL, other than keep;
 * NULL if there is none. */
static struct ovl_reasm_slot *slot_oldest(struct ovl_reasm *r, const uint8_t *src,
					  const struct ovl_reasm_slot *keep)
{
	struct ovl_reasm_slot *old = NULL;

	for (unsigned i = 0; i < r->p.total; ++i) {
		struct ovl_reasm_slot *s = &r->slot[i];

		if (!s->count || s == keep)
			continue;
		if (src && memcmp(s->src, src, OVL_KEY_LEN) != 0)
			continue;
		if (!old || s->seq < old->seq)
			old = s;
	}
	return old;
}

static void evict(struct ovl_reasm *r, struct ovl_reasm_slot *s)
{
	slot_drop(r, s);
	++r->stats.evicted;
}

/* A free pool index, evicting the oldest payload other than keep when
 * there is none.  There always is one after that: keep holds at most
 * count - 2 <= 6 chunks when it needs another (the last one is never
 * stored), the pool has at least 7, and every other slot in use holds
 * at least one. */
static uint16_t chunk_take(struct ovl_reasm *r, const struct ovl_reasm_slot *keep)
{
	while (r->n_free == 0)
		evict(r, slot_oldest(r, NULL, keep));
	return r->free_chunk[--r->n_free];
}

static void chunk_store(struct ovl_reasm *r, struct ovl_reasm_slot *s, unsigned index,
			const uint8_t *chunk, size_t len)
{
	uint16_t c = chunk_take(r, s);

	memcpy(r->pool[c], chunk, len);
	s->chunk[index] = c;
	s->len[index] = (uint16_t)len;
	s->have |= (uint8_t)(1u << index);
	++s->n_have;
}

/* A new payload of src: makes room under both quotas, then takes a free
 * slot (there is one: n_used < total after the evictions). */
static struct ovl_reasm_slot *slot_take(struct ovl_reasm *r, const uint8_t src[OVL_KEY_LEN],
					const struct ovl_frag *frag, uint64_t now_ns)
{
	struct ovl_reasm_slot *s = NULL;

	if (ovl_reasm_in_progress(r, src) >= r->p.per_source)
		evict(r, slot_oldest(r, src, NULL));
	if (r->n_used >= r->p.total)
		evict(r, slot_oldest(r, NULL, NULL));
	for (unsigned i = 0; i < r->p.total; ++i)
		if (!r->slot[i].count) {
			s = &r->slot[i];
			break;
		}
	memcpy(s->src, src, OVL_KEY_LEN);
	s->id = frag->id;
	s->count = frag->count;
	s->first_ns = now_ns;
	s->seq = ++r->seq;
	++r->n_used;
	if (slot_due(r, s) < r->next_expiry_ns)
		r->next_expiry_ns = slot_due(r, s);
	return s;
}

/* ---- Reassembly ---- */

unsigned ovl_reasm_in_progress(const struct ovl_reasm *r, const uint8_t *src)
{
	unsigned n = 0;

	if (!src)
		return r->n_used;
	for (unsigned i = 0; i < r->p.total; ++i)
		if (r->slot[i].count && memcmp(r->slot[i].src, src, OVL_KEY_LEN) == 0)
			++n;
	return n;
}

uint64_t ovl_reasm_expire(struct ovl_reasm *r, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	if (r->n_used == 0)
		r->next_expiry_ns = UINT64_MAX;
	if (now_ns < r->next_expiry_ns)
		return r->next_expiry_ns;
	for (unsigned i = 0; i < r->p.total; ++i) {
		struct ovl_reasm_slot *s = &r->slot[i];
		uint64_t due;

		if (!s->count)
			continue;
		due = slot_due(r, s);
		if (now_ns >= due) {
			slot_drop(r, s);
			++r->stats.expired;
		} else if (due < next) {
			next = due;
		}
	}
	r->next_expiry_ns = next;
	return next;
}

static struct ovl_reasm_slot *slot_find(struct ovl_reasm *r, const uint8_t src[OVL_KEY_LEN],
					uint16_t id)
{
	for (unsigned i = 0; i < r->p.total; ++i) {
		struct ovl_reasm_slot *s = &r->slot[i];

		if (s->count && s->id == id && memcmp(s->src, src, OVL_KEY_LEN) == 0)
			return s;
	}
	return NULL;
}

/* Joins s's chunks and the last one (index, chunk, len) into r->out in
 * index order; returns the payload's length. */
static size_t join(struct ovl_reasm *r, const struct ovl_reasm_slot *s, unsigned index,
		   const uint8_t *chunk, size_t len)
{
	size_t off = 0;

	for (unsigned i = 0; i < s->count; ++i) {
		const uint8_t *src = i == index ? chunk : r->pool[s->chunk[i]];
		size_t n = i == index ? len : s->len[i];

		memcpy(r->out + off, src, n);
		off += n;
	}
	return off;
}

enum ovl_reasm_result ovl_reasm_input(struct ovl_reasm *r, const uint8_t src[OVL_KEY_LEN],
				      const struct ovl_frag *frag, const uint8_t *chunk,
				      size_t len, uint64_t now_ns, const uint8_t **out,
				      size_t *out_len)
{
	struct ovl_reasm_slot *s;

	ovl_reasm_expire(r, now_ns);

	if (frag->count < 1 || frag->count > OVL_RELAY_MAX_FRAGMENTS ||
	    frag->index >= frag->count) {
		++r->stats.bad_frag;
		return OVL_REASM_BAD_FRAG;
	}
	if (len < 1 || len > OVL_RELAY_MAX_CHUNK) {
		++r->stats.bad_len;
		return OVL_REASM_BAD_LEN;
	}
	if (frag->count == 1) {
		++r->stats.single;
		*out = chunk;
		*out_len = len;
		return OVL_REASM_COMPLETE;
	}

	s = slot_find(r, src, frag->id);
	if (!s) {
		s = slot_take(r, src, frag, now_ns);
	} else if (s->count != frag->count) {
		slot_drop(r, s);
		++r->stats.mismatch;
		return OVL_REASM_MISMATCH;
	} else if (s->have & (1u << frag->index)) {
		++r->stats.duplicate;
		return OVL_REASM_DUPLICATE;
	}

	if (s->n_have + 1 == s->count) {
		*out_len = join(r, s, frag->index, chunk, len);
		*out = r->out;
		slot_drop(r, s);
		++r->stats.complete;
		return OVL_REASM_COMPLETE;
	}
	chunk_store(r, s, frag->index, chunk, len);
	++r->stats.pending;
	return OVL_REASM_PENDING;
}

const char *ovl_reasm_result_name(enum ovl_reasm_result res)
{
	static const char *const names[OVL_REASM_RESULT_MAX] = {
		[OVL_REASM_COMPLETE] = "complete",
		[OVL_REASM_PENDING] = "pending",
		[OVL_REASM_DUPLICATE] = "duplicate",
		[OVL_REASM_BAD_FRAG] = "bad fragment fields",
		[OVL_REASM_BAD_LEN] = "bad chunk length",
		[OVL_REASM_MISMATCH] = "fragment count mismatch",
	};

	if ((unsigned)res >= OVL_REASM_RESULT_MAX)
		return "?";
	return names[res];
}
