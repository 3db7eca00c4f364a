/* Splitting and reassembly of relayed payloads (proto/overlay/reasm.c)
 * against doc/protocol.md 6.5: the split of every length 1..9312 and
 * its round trip in order, in reverse, in random orders and with
 * duplicates; payloads of several sources and ids interleaved; the same
 * id from two sources; frag_id wraparound; the per-source, total and
 * chunk-pool bounds (oldest dropped first, counted); the timeout; a
 * disagreeing count; bad fields and lengths; chunks of any length.
 *
 *     sender --RELAY(id, index, count, chunk)--> relay
 *     relay --RELAYED(src, id, index, count, chunk)--> receiver
 *     receiver: ovl_reasm_input() -> PENDING ... COMPLETE(payload)
 *
 * Here the test plays sender and relay: it splits with ovl_frag_chunk()
 * and feeds the chunks straight to the reassembler. */
#include "proto/overlay/reasm.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/overlay.h"
#include "test/tap.h"

#include <errno.h>
#include <inttypes.h>

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * SEC)

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

/* xorshift64*: a fixed seed, so every run feeds the same orders. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Keys that differ in their last byte only, so that a comparison of
 * less than the whole key would mix sources. */
static void fill_key(uint8_t key[OVL_KEY_LEN], unsigned seed)
{
	memset(key, 0xa5, OVL_KEY_LEN);
	key[OVL_KEY_LEN - 1] = (uint8_t)seed;
}

/* Payload bytes that differ from payload to payload and from offset to
 * offset, so that a misplaced or foreign chunk shows. */
static void fill_payload(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; ++i) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static void shuffle(unsigned *a, unsigned n)
{
	for (unsigned i = n; i > 1; --i) {
		unsigned j = (unsigned)(rnd() % i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

static struct ovl_reasm r;
static uint8_t payload[OVL_REASM_MAX_PAYLOAD];
static uint8_t scratch[OVL_RELAY_MAX_CHUNK];

/* Feeds chunk `index` of payload p (len bytes) from src as fragment
 * (id, index, count). */
static enum ovl_reasm_result feed(const uint8_t *src, uint16_t id, unsigned index,
				  const uint8_t *p, size_t len, uint64_t now,
				  const uint8_t **out, size_t *out_len)
{
	struct ovl_frag f = { .id = id, .index = (uint8_t)index,
			      .count = (uint8_t)ovl_frag_count(len) };
	size_t off = 0, n = ovl_frag_chunk(len, index, &off);

	return ovl_reasm_input(&r, src, &f, p + off, n, now, out, out_len);
}

static void reset(const struct ovl_reasm_params *p)
{
	ovl_reasm_free(&r);
	if (ovl_reasm_init(&r, p) != 0)
		abort();
}

static void test_split(void)
{
	static const struct {
		size_t len;
		unsigned count;
	} v[] = {
		{ 0, 0 }, { 1, 1 }, { 1163, 1 }, { 1164, 1 }, { 1165, 2 }, { 1452, 2 },
		{ 2328, 2 }, { 2329, 3 }, { 8148, 7 }, { 8149, 8 }, { 9311, 8 },
		{ 9312, 8 }, { 9313, 0 }, { 65536, 0 }, { SIZE_MAX, 0 },
	};
	unsigned bad = 0, bad_len = 0;
	size_t off, n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); ++i)
		if (ovl_frag_count(v[i].len) != v[i].count) {
			diag("ovl_frag_count(%zu) = %u, want %u", v[i].len,
			     ovl_frag_count(v[i].len), v[i].count);
			++bad;
		}
	ok(bad == 0, "ovl_frag_count: %zu lengths at and around the chunk boundaries",
	   sizeof(v) / sizeof(v[0]));

	/* Every length: the chunks tile [0, len) in order, all full but the
	 * last, each within the limit; no chunk past the count. */
	for (size_t len = 1; len <= OVL_REASM_MAX_PAYLOAD; ++len) {
		unsigned count = ovl_frag_count(len);
		size_t at = 0;

		for (unsigned i = 0; i < count; ++i) {
			n = ovl_frag_chunk(len, i, &off);
			if (off != at || n < 1 || n > OVL_RELAY_MAX_CHUNK ||
			    (i + 1 < count && n != OVL_RELAY_MAX_CHUNK))
				break;
			at += n;
		}
		if (at != len || ovl_frag_chunk(len, count, &off) != 0 ||
		    ovl_frag_chunk(len, 255, &off) != 0) {
			if (!bad_len)
				diag("first bad split at length %zu", len);
			++bad_len;
		}
	}
	ok(bad_len == 0, "ovl_frag_chunk: full chunks then the remainder, for 1..9312");
	ok(ovl_frag_chunk(1452, 0, &off) == 1164 && off == 0 &&
	   ovl_frag_chunk(1452, 1, &off) == 288 && off == 1164,
	   "1452 bytes (a full-MTU WireGuard data message) go as 1164 + 288");
	ok(ovl_frag_chunk(0, 0, &off) == 0 && ovl_frag_chunk(9313, 0, &off) == 0,
	   "no chunk of an empty or too long payload");
}

enum order { IN_ORDER, REVERSE, RANDOM, DUPLICATES, N_ORDERS };
static const char *const order_name[N_ORDERS] = { "in order", "in reverse",
						  "in random orders", "with duplicates" };

/* Every length 1..9312 split and reassembled in one order; ids run on
 * from 65000, so they wrap past 65535 along the way. */
static void test_round_trips(enum order mode)
{
	uint8_t src[OVL_KEY_LEN];
	uint16_t id = 65000;
	unsigned bad = 0, dups = 0, wrapped = 0;
	struct ovl_reasm_params p;

	ovl_reasm_params_default(&p);
	reset(&p);
	fill_key(src, 1);
	for (size_t len = 1; len <= OVL_REASM_MAX_PAYLOAD; ++len) {
		unsigned count = ovl_frag_count(len), order[OVL_RELAY_MAX_FRAGMENTS];
		const uint8_t *out = NULL;
		size_t out_len = 0;
		bool fail = false;

		fill_payload(payload, len, (unsigned)len);
		for (unsigned i = 0; i < count; ++i)
			order[i] = mode == REVERSE ? count - 1 - i : i;
		if (mode == RANDOM || mode == DUPLICATES)
			shuffle(order, count);
		if (count > 1 && id == 0)
			++wrapped;
		for (unsigned k = 0; k < count && !fail; ++k) {
			enum ovl_reasm_result res = feed(src, count > 1 ? id : 0, order[k], payload,
							 len, T0, &out, &out_len);

			if (res != (k + 1 == count ? OVL_REASM_COMPLETE : OVL_REASM_PENDING)) {
				fail = true;
				break;
			}
			/* After a new chunk that does not complete the payload, one of
			 * the chunks already here again, with other bytes: ignored. */
			if (mode == DUPLICATES && k + 1 < count) {
				unsigned d = order[rnd() % (k + 1)];
				size_t off, n = ovl_frag_chunk(len, d, &off);
				struct ovl_frag f = { .id = id, .index = (uint8_t)d,
						      .count = (uint8_t)count };

				memset(scratch, 0xee, n);
				if (ovl_reasm_input(&r, src, &f, scratch, n, T0, &out, &out_len) !=
				    OVL_REASM_DUPLICATE)
					fail = true;
				++dups;
			}
		}
		if (fail || out_len != len || memcmp(out, payload, len) != 0 ||
		    (count == 1 && out != payload) || (count > 1 && out == payload) ||
		    ovl_reasm_in_progress(&r, NULL) != 0 || ovl_reasm_chunks_held(&r) != 0) {
			if (!bad)
				diag("first failure at length %zu (%u chunks)", len, count);
			++bad;
		}
		if (count > 1)
			++id;
	}
	ok(bad == 0, "every length 1..9312 reassembles %s", order_name[mode]);
	ok(r.stats.single == OVL_RELAY_MAX_CHUNK &&
	   r.stats.complete == OVL_REASM_MAX_PAYLOAD - OVL_RELAY_MAX_CHUNK &&
	   r.stats.duplicate == dups && r.stats.evicted == 0 && r.stats.expired == 0 &&
	   r.stats.mismatch == 0 && wrapped == 1,
	   "%s: %" PRIu64 " passed through uncopied, %" PRIu64 " reassembled, %" PRIu64
	   " duplicates ignored, frag_id wrapped", order_name[mode], r.stats.single,
	   r.stats.complete, r.stats.duplicate);
}

/* Three sources with four payloads each (the per-source quota), their
 * fragments interleaved at random; the ids repeat across sources. */
static void test_interleaved(void)
{
	enum { N_SRC = 3, N_ID = 4, N = N_SRC * N_ID };
	static const size_t lens[N_ID] = { 9312, 1452, 2329, 5000 };
	static uint8_t pl[N][OVL_REASM_MAX_PAYLOAD];
	uint8_t src[N_SRC][OVL_KEY_LEN];
	unsigned seq[N * OVL_RELAY_MAX_FRAGMENTS], n_seq = 0, next[N] = { 0 };
	unsigned perm[N][OVL_RELAY_MAX_FRAGMENTS];
	unsigned complete = 0, bad = 0;

	reset(NULL);
	for (unsigned s = 0; s < N_SRC; ++s)
		fill_key(src[s], 10 + s);
	for (unsigned q = 0; q < N; ++q) {
		fill_payload(pl[q], lens[q % N_ID], 100 + q);
		for (unsigned i = 0; i < ovl_frag_count(lens[q % N_ID]); ++i) {
			perm[q][i] = i;
			seq[n_seq++] = q;
		}
		shuffle(perm[q], ovl_frag_count(lens[q % N_ID]));
	}
	shuffle(seq, n_seq);
	for (unsigned k = 0; k < n_seq; ++k) {
		unsigned q = seq[k], s = q / N_ID;
		size_t len = lens[q % N_ID], out_len = 0;
		const uint8_t *out = NULL;
		/* The fragments of one payload go in a random index order too. */
		unsigned count = ovl_frag_count(len), index = perm[q][next[q]++];
		enum ovl_reasm_result res = feed(src[s], (uint16_t)(q % N_ID + 7), index, pl[q],
						 len, T0 + k, &out, &out_len);

		if (res == OVL_REASM_COMPLETE) {
			++complete;
			if (next[q] != count || out_len != len || memcmp(out, pl[q], len) != 0)
				++bad;
		} else if (res != OVL_REASM_PENDING || next[q] == count) {
			++bad;
		}
	}
	ok(complete == N && bad == 0 && r.stats.evicted == 0,
	   "%u payloads of %u sources interleaved, same ids across sources: all whole "
	   "(%u complete, %u wrong)", N, N_SRC, complete, bad);
}

/* The same frag_id from two sources, with different counts: no mismatch,
 * no mixing. */
static void test_same_id_two_sources(void)
{
	uint8_t a[OVL_KEY_LEN], b[OVL_KEY_LEN];
	static uint8_t pa[3000], pb[1500];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	bool good = true;

	reset(NULL);
	fill_key(a, 20);
	fill_key(b, 21);
	fill_payload(pa, sizeof(pa), 1);
	fill_payload(pb, sizeof(pb), 2);
	good &= feed(a, 99, 0, pa, sizeof(pa), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(b, 99, 1, pb, sizeof(pb), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(a, 99, 1, pa, sizeof(pa), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(b, 99, 0, pb, sizeof(pb), T0, &out, &out_len) == OVL_REASM_COMPLETE;
	ok(good && out_len == sizeof(pb) && memcmp(out, pb, sizeof(pb)) == 0,
	   "same frag_id from two sources: the second source's payload is its own");
	good = feed(a, 99, 2, pa, sizeof(pa), T0, &out, &out_len) == OVL_REASM_COMPLETE;
	ok(good && out_len == sizeof(pa) && memcmp(out, pa, sizeof(pa)) == 0 &&
	   r.stats.mismatch == 0 && r.stats.duplicate == 0,
	   "... and so is the first's, with its own count");
}

/* Ids 65535 and 0 in progress at once from one source stay apart. */
static void test_id_wrap(void)
{
	uint8_t a[OVL_KEY_LEN];
	static uint8_t p1[2000], p2[2000];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	uint16_t id = UINT16_MAX;
	uint16_t id1 = id++, id2 = id;
	bool good = true;

	reset(NULL);
	fill_key(a, 30);
	fill_payload(p1, sizeof(p1), 3);
	fill_payload(p2, sizeof(p2), 4);
	good &= id1 == 65535 && id2 == 0;
	good &= feed(a, id1, 0, p1, sizeof(p1), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(a, id2, 0, p2, sizeof(p2), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(a, id2, 1, p2, sizeof(p2), T0, &out, &out_len) == OVL_REASM_COMPLETE &&
		out_len == sizeof(p2) && memcmp(out, p2, sizeof(p2)) == 0;
	good &= feed(a, id1, 1, p1, sizeof(p1), T0, &out, &out_len) == OVL_REASM_COMPLETE &&
		out_len == sizeof(p1) && memcmp(out, p1, sizeof(p1)) == 0;
	ok(good, "frag_id 65535 and its successor 0 in progress together stay apart");
}

/* Two-chunk payloads (a full-MTU WireGuard message) whose first chunk
 * only is sent, so that they stay in progress. */
static enum ovl_reasm_result start(const uint8_t *src, uint16_t id, uint64_t now)
{
	fill_payload(payload, 1452, id);
	return feed(src, id, 0, payload, 1452, now, NULL, NULL);
}

static bool finish(const uint8_t *src, uint16_t id, uint64_t now, enum ovl_reasm_result want)
{
	const uint8_t *out = NULL;
	size_t out_len = 0;
	enum ovl_reasm_result res;

	fill_payload(payload, 1452, id);
	res = feed(src, id, 1, payload, 1452, now, &out, &out_len);
	if (res != want)
		return false;
	return res != OVL_REASM_COMPLETE || (out_len == 1452 && memcmp(out, payload, 1452) == 0);
}

static void test_per_source_bound(void)
{
	uint8_t a[OVL_KEY_LEN], b[OVL_KEY_LEN];
	bool good = true;

	reset(NULL);
	fill_key(a, 40);
	fill_key(b, 41);
	good &= start(b, 1, T0) == OVL_REASM_PENDING;
	for (uint16_t id = 1; id <= 4; ++id)
		good &= start(a, id, T0 + id) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 0 && ovl_reasm_in_progress(&r, a) == 4,
	   "per source: 4 payloads in progress fit");
	good = start(a, 5, T0 + 5) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 1 && ovl_reasm_in_progress(&r, a) == 4 &&
	   ovl_reasm_in_progress(&r, NULL) == 5,
	   "a fifth one from the same source evicts one of its own, counted");
	good = true;
	for (uint16_t id = 2; id <= 5; ++id)
		good &= finish(a, id, T0 + 10, OVL_REASM_COMPLETE);
	good &= finish(b, 1, T0 + 10, OVL_REASM_COMPLETE);
	ok(good, "the newer four and the other source's payload complete");
	ok(finish(a, 1, T0 + 10, OVL_REASM_PENDING),
	   "the oldest was the one evicted: its last chunk starts a new payload");
}

static void test_total_bound(void)
{
	uint8_t src[9][OVL_KEY_LEN];
	bool good = true;

	reset(NULL);
	for (unsigned s = 0; s < 9; ++s)
		fill_key(src[s], 50 + s);
	for (unsigned s = 0; s < 8; ++s)
		for (uint16_t id = 0; id < 4; ++id)
			good &= start(src[s], id, T0 + s * 4 + id) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 0 && ovl_reasm_in_progress(&r, NULL) == 32,
	   "in all: 32 payloads in progress fit");
	good = start(src[8], 0, T0 + 100) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 1 && ovl_reasm_in_progress(&r, NULL) == 32 &&
	   ovl_reasm_in_progress(&r, src[0]) == 3 && ovl_reasm_in_progress(&r, src[8]) == 1,
	   "a 33rd evicts the oldest of all (the first source's first), counted");
	good = true;
	for (unsigned s = 0; s < 8; ++s)
		for (uint16_t id = s ? 0 : 1; id < 4; ++id)
			good &= finish(src[s], id, T0 + 200, OVL_REASM_COMPLETE);
	good &= finish(src[8], 0, T0 + 200, OVL_REASM_COMPLETE);
	ok(good && r.stats.complete == 32, "the 32 others complete");
	ok(finish(src[0], 0, T0 + 200, OVL_REASM_PENDING) && r.stats.evicted == 1,
	   "the evicted one's last chunk starts a new payload");
}

static void test_chunk_bound(void)
{
	struct ovl_reasm_params p;
	uint8_t x[OVL_KEY_LEN], y[OVL_KEY_LEN], z[OVL_KEY_LEN];
	static uint8_t big[OVL_REASM_MAX_PAYLOAD];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	bool good = true;

	ovl_reasm_params_default(&p);
	p.chunks = OVL_REASM_CHUNKS_MIN;
	reset(&p);
	fill_key(x, 60);
	fill_key(y, 61);
	fill_key(z, 62);
	fill_payload(big, sizeof(big), 5);

	/* Y (8 chunks) first, then X (2 chunks), then the rest of Y: the
	 * pool of 7 runs dry at Y's seventh chunk, and the oldest payload,
	 * Y, is the one being added to, so X goes. */
	good &= feed(y, 1, 0, big, sizeof(big), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= start(x, 1, T0 + 1) == OVL_REASM_PENDING;
	for (unsigned i = 1; i < 6; ++i)
		good &= feed(y, 1, i, big, sizeof(big), T0 + 2, &out, &out_len) ==
			OVL_REASM_PENDING;
	ok(good && ovl_reasm_chunks_held(&r) == 7 && r.stats.evicted == 0,
	   "chunk pool of 7: full, nothing evicted yet");
	good = feed(y, 1, 6, big, sizeof(big), T0 + 3, &out, &out_len) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 1 && ovl_reasm_in_progress(&r, x) == 0 &&
	   ovl_reasm_in_progress(&r, y) == 1 && ovl_reasm_chunks_held(&r) == 7,
	   "a chunk for the oldest payload evicts the next oldest, not itself");
	good = feed(y, 1, 7, big, sizeof(big), T0 + 4, &out, &out_len) == OVL_REASM_COMPLETE;
	ok(good && out_len == sizeof(big) && memcmp(out, big, sizeof(big)) == 0 &&
	   ovl_reasm_chunks_held(&r) == 0, "the 9312-byte payload completes");

	/* Y again (7 chunks held), then a new payload from Z needs one. */
	good = true;
	for (unsigned i = 0; i < 7; ++i)
		good &= feed(y, 2, i, big, sizeof(big), T0 + 5, &out, &out_len) ==
			OVL_REASM_PENDING;
	good &= start(z, 1, T0 + 6) == OVL_REASM_PENDING;
	ok(good && r.stats.evicted == 2 && ovl_reasm_in_progress(&r, y) == 0 &&
	   ovl_reasm_chunks_held(&r) == 1, "a new payload with the pool full evicts the oldest");
	ok(finish(z, 1, T0 + 7, OVL_REASM_COMPLETE), "and completes");
	ok(feed(y, 2, 7, big, sizeof(big), T0 + 8, &out, &out_len) == OVL_REASM_PENDING,
	   "the evicted one's last chunk starts a new payload");
}

static void test_timeout(void)
{
	uint8_t a[OVL_KEY_LEN];

	reset(NULL);
	fill_key(a, 70);
	ok(ovl_reasm_expire(&r, T0) == UINT64_MAX, "nothing in progress: no deadline");
	start(a, 1, T0);
	ok(ovl_reasm_expire(&r, T0 + 1) == T0 + 2 * SEC, "the deadline is 2 s after the first chunk");
	ok(finish(a, 1, T0 + 2 * SEC - 1, OVL_REASM_COMPLETE) && r.stats.expired == 0,
	   "completed 1 ns before the timeout");

	start(a, 2, T0);
	ok(finish(a, 2, T0 + 2 * SEC, OVL_REASM_PENDING) && r.stats.expired == 1,
	   "incomplete after 2 s: dropped, counted, and the late chunk starts anew");
	ok(finish(a, 2, T0 + 2 * SEC, OVL_REASM_DUPLICATE),
	   "the late chunk is what the new payload holds");
	{
		const uint8_t *out = NULL;
		size_t out_len = 0;

		fill_payload(payload, 1452, 2);
		ok(feed(a, 2, 0, payload, 1452, T0 + 3 * SEC, &out, &out_len) ==
			   OVL_REASM_COMPLETE && out_len == 1452 &&
			   memcmp(out, payload, 1452) == 0 && r.stats.expired == 1,
		   "chunk 0 again completes the new payload");
	}
	start(a, 3, T0 + 3 * SEC);
	ok(ovl_reasm_expire(&r, T0 + 5 * SEC - 1) == T0 + 5 * SEC && r.stats.expired == 1 &&
	   ovl_reasm_in_progress(&r, NULL) == 1, "not dropped before its deadline");
	ok(ovl_reasm_expire(&r, T0 + 5 * SEC) == UINT64_MAX && r.stats.expired == 2 &&
	   ovl_reasm_in_progress(&r, NULL) == 0 && ovl_reasm_chunks_held(&r) == 0,
	   "ovl_reasm_expire() drops it at its deadline and frees its chunks");
}

static void test_mismatch(void)
{
	uint8_t a[OVL_KEY_LEN];
	static uint8_t p3[3000];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	struct ovl_frag f = { .id = 5, .index = 1, .count = 2 };
	bool good;

	reset(NULL);
	fill_key(a, 80);
	fill_payload(p3, sizeof(p3), 6);
	good = feed(a, 5, 0, p3, sizeof(p3), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= ovl_reasm_input(&r, a, &f, p3 + 1164, 1164, T0, &out, &out_len) ==
		OVL_REASM_MISMATCH;
	ok(good && r.stats.mismatch == 1 && ovl_reasm_in_progress(&r, NULL) == 0 &&
	   ovl_reasm_chunks_held(&r) == 0,
	   "a count that disagrees with the earlier fragment's drops the payload");
	good = feed(a, 5, 1, p3, sizeof(p3), T0, &out, &out_len) == OVL_REASM_PENDING;
	good &= feed(a, 5, 2, p3, sizeof(p3), T0, &out, &out_len) == OVL_REASM_PENDING;
	ok(good, "the fragments after it start a new payload (chunk 0 is gone)");
	good = feed(a, 5, 0, p3, sizeof(p3), T0, &out, &out_len) == OVL_REASM_COMPLETE;
	ok(good && out_len == sizeof(p3) && memcmp(out, p3, sizeof(p3)) == 0,
	   "which completes when chunk 0 comes again");
}

static void test_bad(void)
{
	static const struct {
		uint8_t index, count;
		size_t len;
		enum ovl_reasm_result want;
		const char *what;
	} v[] = {
		{ 0, 0, 100, OVL_REASM_BAD_FRAG, "count 0" },
		{ 0, 9, 100, OVL_REASM_BAD_FRAG, "count 9" },
		{ 8, 255, 100, OVL_REASM_BAD_FRAG, "count 255" },
		{ 2, 2, 100, OVL_REASM_BAD_FRAG, "index = count" },
		{ 1, 1, 100, OVL_REASM_BAD_FRAG, "index 1 of an unfragmented payload" },
		{ 200, 8, 100, OVL_REASM_BAD_FRAG, "index 200" },
		{ 0, 2, 0, OVL_REASM_BAD_LEN, "empty chunk" },
		{ 1, 2, 1165, OVL_REASM_BAD_LEN, "chunk of 1165 bytes" },
		{ 0, 1, 0, OVL_REASM_BAD_LEN, "empty unfragmented payload" },
		{ 0, 1, 1165, OVL_REASM_BAD_LEN, "unfragmented payload over a chunk" },
	};
	uint8_t a[OVL_KEY_LEN];
	static uint8_t buf[2000];
	unsigned bad = 0;
	uint64_t before = 0;
	const uint8_t *out = NULL;
	size_t out_len = 0;

	reset(NULL);
	fill_key(a, 90);
	fill_payload(payload, 2000, 7);
	/* A payload of the same (source, id) in progress, which bad
	 * fragments must leave alone. */
	start(a, 3, T0);
	before = r.stats.pending;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		struct ovl_frag f = { .id = 3, .index = v[i].index, .count = v[i].count };
		enum ovl_reasm_result res =
			ovl_reasm_input(&r, a, &f, buf, v[i].len, T0, &out, &out_len);

		if (res != v[i].want) {
			diag("%s: %s, want %s", v[i].what, ovl_reasm_result_name(res),
			     ovl_reasm_result_name(v[i].want));
			++bad;
		}
	}
	ok(bad == 0 && out == NULL && out_len == 0,
	   "bad index, count and length: refused, no output");
	ok(r.stats.bad_frag == 6 && r.stats.bad_len == 4, "... and counted by reason");
	ok(ovl_reasm_in_progress(&r, NULL) == 1 && ovl_reasm_chunks_held(&r) == 1 &&
	   r.stats.pending == before && finish(a, 3, T0, OVL_REASM_COMPLETE),
	   "... and the payload in progress with the same id is untouched");
	ok(strcmp(ovl_reasm_result_name(OVL_REASM_MISMATCH), "fragment count mismatch") == 0 &&
	   strcmp(ovl_reasm_result_name(OVL_REASM_RESULT_MAX), "?") == 0,
	   "result names");
}

/* The receiver does not assume the sender's split: chunks of 100, 1164
 * and 5 bytes join to 1269, in any order. */
static void test_any_split(void)
{
	static const size_t cl[3] = { 100, 1164, 5 };
	static const unsigned orders[3][3] = { { 0, 1, 2 }, { 2, 0, 1 }, { 1, 2, 0 } };
	uint8_t a[OVL_KEY_LEN];
	unsigned bad = 0;

	reset(NULL);
	fill_key(a, 95);
	fill_payload(payload, 1269, 8);
	for (unsigned o = 0; o < 3; ++o) {
		const uint8_t *out = NULL;
		size_t out_len = 0;
		enum ovl_reasm_result res = OVL_REASM_RESULT_MAX;

		for (unsigned k = 0; k < 3; ++k) {
			unsigned i = orders[o][k];
			struct ovl_frag f = { .id = (uint16_t)o, .index = (uint8_t)i, .count = 3 };
			size_t off = i == 0 ? 0 : i == 1 ? 100 : 1264;

			res = ovl_reasm_input(&r, a, &f, payload + off, cl[i], T0, &out, &out_len);
			if (res != (k == 2 ? OVL_REASM_COMPLETE : OVL_REASM_PENDING))
				break;
		}
		if (res != OVL_REASM_COMPLETE || out_len != 1269 || memcmp(out, payload, 1269) != 0)
			++bad;
	}
	ok(bad == 0, "chunks of unequal lengths (100, 1164, 5) join in index order");
}

static void test_init(void)
{
	static const struct ovl_reasm_params bad[] = {
		{ 0, 32, 64, 2 * SEC },
		{ 33, 32, 64, 2 * SEC },
		{ 4, OVL_REASM_TOTAL_MAX + 1, 64, 2 * SEC },
		{ 4, 32, OVL_REASM_CHUNKS_MIN - 1, 2 * SEC },
		{ 4, 32, OVL_REASM_CHUNKS_MAX + 1, 2 * SEC },
		{ 4, 32, 64, 0 },
	};
	struct ovl_reasm t;
	unsigned n = 0;
	size_t mem;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		if (ovl_reasm_init(&t, &bad[i]) == -EINVAL)
			++n;
		ovl_reasm_free(&t);
	}
	ok(n == sizeof(bad) / sizeof(bad[0]), "parameters out of range: -EINVAL");
	ok(ovl_reasm_init(&t, NULL) == 0 && t.p.per_source == 4 && t.p.total == 32 &&
	   t.p.chunks == 64 && t.p.timeout_ns == 2 * SEC,
	   "defaults: 4 per source, 32 in all, 64 chunks, 2 s");
	mem = ovl_reasm_memory(&t);
	ok(mem > 64 * OVL_RELAY_MAX_CHUNK && mem < 90 * 1024,
	   "defaults take %zu bytes (under 90 KiB), all at init", mem);
	ovl_reasm_free(&t);
	ok(ovl_reasm_memory(&t) == 0, "freed");
}

int main(void)
{
	test_split();
	for (enum order o = 0; o < N_ORDERS; ++o)
		test_round_trips(o);
	test_interleaved();
	test_same_id_two_sources();
	test_id_wrap();
	test_per_source_bound();
	test_total_bound();
	test_chunk_bound();
	test_timeout();
	test_mismatch();
	test_bad();
	test_any_split();
	test_init();
	ovl_reasm_free(&r);
	return tap_done();
}
