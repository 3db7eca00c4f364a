/* The simulator's randomness and event queue; see simkit.h. */
#include "test/sim/simkit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t res = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return res;
}

uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; ++i)
		r->s[i] = mix64(seed += 0x9e3779b97f4a7c15ull);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

void rng_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t v = rng_next(ctx);
		size_t n = len < 8 ? len : 8;

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void evq_push(struct evq *q, uint64_t at, uint32_t kind, uint32_t arg)
{
	size_t i;

	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1 << 16;
		q->heap = realloc(q->heap, q->cap * sizeof(*q->heap));
		if (!q->heap) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
	i = q->n++;
	q->heap[i] = (struct ev){.at = at, .seq = q->seq++, .kind = kind, .arg = arg};
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct ev tmp;

		if (!ev_before(&q->heap[i], &q->heap[p]))
			break;
		tmp = q->heap[i];
		q->heap[i] = q->heap[p];
		q->heap[p] = tmp;
		i = p;
	}
}

struct ev evq_pop(struct evq *q)
{
	struct ev top = q->heap[0];
	size_t i = 0;

	q->heap[0] = q->heap[--q->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ev tmp;

		if (l < q->n && ev_before(&q->heap[l], &q->heap[m]))
			m = l;
		if (r < q->n && ev_before(&q->heap[r], &q->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = q->heap[i];
		q->heap[i] = q->heap[m];
		q->heap[m] = tmp;
		i = m;
	}
	return top;
}

void evq_free(struct evq *q)
{
	free(q->heap);
	q->heap = NULL;
	q->n = q->cap = 0;
}
