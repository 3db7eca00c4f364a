/* libFuzzer harness for the reassembly of relayed payloads
 * (proto/overlay/reasm.c), checked against a deliberately naive model of
 * doc/protocol.md 6.5 and reasm.h written here from the rules alone: a
 * plain list of payloads in progress, scanned for everything.
 *
 * Input: 4 bytes of parameters, then records of 7 bytes:
 *
 *   0  per_source = 1 + b % 4        0  source: b % 6; variant: b >> 4
 *   1  total = per_source + b % 6    1  id: b & 7, or 0xfffc + (b & 7)
 *   2  chunks = 7 + b % 10                when bit 4 is set (wraps to 3)
 *   3  timeout = (1 + b % 8) x 250ms  2  index: b % 8, raw if bit 7 set
 *                                    3  count: b % 9, raw if bit 7 set
 *                                    4  length, u16 big-endian: % 1166,
 *                                       raw 0..32767 if bit 15 is set
 *                                    6  time step: b x 20 ms
 *
 * A chunk's bytes are derived from (source, id, index, variant), so the
 * harness can rebuild what a payload must be; duplicates of an index
 * with another variant must not change it.  After every record the
 * result, the completed payload, every counter, the payloads in
 * progress (per source and in all) and the chunks held must be the
 * model's, and within the bounds in use. */
#include "proto/overlay/codec.h"
#include "proto/overlay/reasm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSEC UINT64_C(1000000)
#define T0 (UINT64_C(1700000000000) * MSEC)
#define N_SRC 6
#define MODEL_MAX 16		/* >= the largest total the input can ask for */

struct model_payload {
	bool used;
	unsigned src;
	uint16_t id;
	unsigned count;
	unsigned have;		/* bit i: chunk i is here */
	size_t len[OVL_RELAY_MAX_FRAGMENTS];
	unsigned variant[OVL_RELAY_MAX_FRAGMENTS];
	uint64_t first_ns;
	uint64_t seq;
};

struct model {
	struct ovl_reasm_params p;
	struct model_payload pl[MODEL_MAX];
	uint64_t seq;
	struct ovl_reasm_stats stats;
	/* The last COMPLETE's payload, as the model builds it. */
	uint8_t out[OVL_REASM_MAX_PAYLOAD];
	size_t out_len;
};

static void chunk_bytes(uint8_t *buf, size_t len, unsigned src, uint16_t id, unsigned index,
			unsigned variant)
{
	uint32_t h = (src + 1) * 0x9e3779b1u ^ (id + 1u) * 0x85ebca6bu ^
		     (index + 1) * 0xc2b2ae35u ^ (variant + 1) * 0x27d4eb2fu;

	for (size_t j = 0; j < len; ++j)
		buf[j] = (uint8_t)((h >> (j % 4 * 8)) + j / 4);
}

static unsigned popcount(unsigned x)
{
	return (unsigned)__builtin_popcount(x);
}

static unsigned model_of_src(const struct model *m, unsigned src)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MODEL_MAX; ++i)
		n += m->pl[i].used && m->pl[i].src == src;
	return n;
}

static unsigned model_used(const struct model *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MODEL_MAX; ++i)
		n += m->pl[i].used;
	return n;
}

static unsigned model_held(const struct model *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MODEL_MAX; ++i)
		if (m->pl[i].used)
			n += popcount(m->pl[i].have);
	return n;
}

/* The oldest payload in progress, of src unless src < 0, other than
 * keep; -1 if none. */
static int model_oldest(const struct model *m, int src, int keep)
{
	int old = -1;

	for (int i = 0; i < MODEL_MAX; ++i) {
		const struct model_payload *q = &m->pl[i];

		if (!q->used || i == keep || (src >= 0 && q->src != (unsigned)src))
			continue;
		if (old < 0 || q->seq < m->pl[old].seq)
			old = i;
	}
	return old;
}

static void model_evict(struct model *m, int i)
{
	if (i < 0)
		abort();	/* the rules say there is always one */
	m->pl[i].used = false;
	++m->stats.evicted;
}

static enum ovl_reasm_result model_input(struct model *m, unsigned src, uint16_t id,
					 unsigned index, unsigned count, size_t len,
					 unsigned variant, uint64_t now)
{
	int at = -1;
	struct model_payload *q;

	for (int i = 0; i < MODEL_MAX; ++i)
		if (m->pl[i].used && now >= m->pl[i].first_ns + m->p.timeout_ns) {
			m->pl[i].used = false;
			++m->stats.expired;
		}
	if (count < 1 || count > 8 || index >= count) {
		++m->stats.bad_frag;
		return OVL_REASM_BAD_FRAG;
	}
	if (len < 1 || len > OVL_RELAY_MAX_CHUNK) {
		++m->stats.bad_len;
		return OVL_REASM_BAD_LEN;
	}
	if (count == 1) {
		++m->stats.single;
		chunk_bytes(m->out, len, src, id, index, variant);
		m->out_len = len;
		return OVL_REASM_COMPLETE;
	}
	for (int i = 0; i < MODEL_MAX; ++i)
		if (m->pl[i].used && m->pl[i].src == src && m->pl[i].id == id)
			at = i;
	if (at >= 0 && m->pl[at].count != count) {
		m->pl[at].used = false;
		++m->stats.mismatch;
		return OVL_REASM_MISMATCH;
	}
	if (at >= 0 && m->pl[at].have & 1u << index) {
		++m->stats.duplicate;
		return OVL_REASM_DUPLICATE;
	}
	if (at < 0) {
		if (model_of_src(m, src) >= m->p.per_source)
			model_evict(m, model_oldest(m, (int)src, -1));
		if (model_used(m) >= m->p.total)
			model_evict(m, model_oldest(m, -1, -1));
		for (int i = 0; i < MODEL_MAX && at < 0; ++i)
			if (!m->pl[i].used)
				at = i;
		q = &m->pl[at];
		memset(q, 0, sizeof(*q));
		q->used = true;
		q->src = src;
		q->id = id;
		q->count = count;
		q->first_ns = now;
		q->seq = ++m->seq;
	}
	q = &m->pl[at];
	q->len[index] = len;
	q->variant[index] = variant;
	if (popcount(q->have) + 1 == count) {
		m->out_len = 0;
		for (unsigned i = 0; i < count; ++i) {
			chunk_bytes(m->out + m->out_len, q->len[i], src, id, i, q->variant[i]);
			m->out_len += q->len[i];
		}
		q->used = false;
		++m->stats.complete;
		return OVL_REASM_COMPLETE;
	}
	while (model_held(m) >= m->p.chunks)
		model_evict(m, model_oldest(m, -1, at));
	q->have |= 1u << index;
	++m->stats.pending;
	return OVL_REASM_PENDING;
}

static void check(bool cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	static uint8_t chunk[32768];
	uint8_t keys[N_SRC][OVL_KEY_LEN];
	struct ovl_reasm r;
	uint64_t now = T0;

	if (size < 4)
		return 0;
	memset(&m, 0, sizeof(m));
	m.p.per_source = 1 + data[0] % 4;
	m.p.total = m.p.per_source + data[1] % 6;
	m.p.chunks = OVL_REASM_CHUNKS_MIN + data[2] % 10;
	m.p.timeout_ns = (1 + data[3] % 8) * 250 * MSEC;
	check(m.p.total <= MODEL_MAX);
	if (ovl_reasm_init(&r, &m.p) != 0)
		abort();
	/* Keys that differ in their last byte only. */
	for (unsigned s = 0; s < N_SRC; ++s) {
		memset(keys[s], 0x5a, OVL_KEY_LEN);
		keys[s][OVL_KEY_LEN - 1] = (uint8_t)s;
	}

	for (size_t at = 4; at + 7 <= size; at += 7) {
		const uint8_t *b = data + at;
		unsigned src = b[0] % N_SRC, variant = b[0] >> 4;
		uint16_t id = b[1] & 0x10 ? (uint16_t)(0xfffc + (b[1] & 7)) : (uint16_t)(b[1] & 7);
		unsigned index = b[2] & 0x80 ? b[2] : b[2] % 8u;
		unsigned count = b[3] & 0x80 ? b[3] : b[3] % 9u;
		unsigned v = (unsigned)b[4] << 8 | b[5];
		size_t len = v & 0x8000 ? v & 0x7fff : v % (OVL_RELAY_MAX_CHUNK + 2);
		struct ovl_frag f = { .id = id, .index = (uint8_t)index, .count = (uint8_t)count };
		const uint8_t *out = NULL;
		size_t out_len = 0;
		enum ovl_reasm_result got, want;

		now += b[6] * 20 * MSEC;
		chunk_bytes(chunk, len, src, id, index, variant);
		got = ovl_reasm_input(&r, keys[src], &f, chunk, len, now, &out, &out_len);
		want = model_input(&m, src, id, index, count, len, variant, now);
		check(got == want);
		if (got == OVL_REASM_COMPLETE) {
			check(out_len == m.out_len && memcmp(out, m.out, out_len) == 0);
			check(count == 1 ? out == chunk : out != chunk);
			check(out_len <= OVL_REASM_MAX_PAYLOAD);
		} else {
			check(out == NULL && out_len == 0);
		}
		check(memcmp(&r.stats, &m.stats, sizeof(m.stats)) == 0);
		check(ovl_reasm_in_progress(&r, NULL) == model_used(&m));
		check(model_used(&m) <= m.p.total);
		for (unsigned s = 0; s < N_SRC; ++s) {
			check(ovl_reasm_in_progress(&r, keys[s]) == model_of_src(&m, s));
			check(model_of_src(&m, s) <= m.p.per_source);
		}
		check(ovl_reasm_chunks_held(&r) == model_held(&m));
		check(model_held(&m) <= m.p.chunks);
	}
	ovl_reasm_free(&r);
	return 0;
}
