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

static void oom(void)
{
	printf("Bail out! out of memory\n");
	exit(1);
}

void evq_init(struct evq *q, uint32_t kind, uint32_t n_args)
{
	memset(q, 0, sizeof(*q));
	q->keyed = kind;
	if (kind == UINT32_MAX)
		return;
	q->pos = calloc(n_args ? n_args : 1, sizeof(*q->pos));
	if (!q->pos)
		oom();
	q->n_pos = n_args;
}

/* Puts e at heap[i] and notes where a keyed event went. */
static void place(struct evq *q, size_t i, const struct ev *e)
{
	q->heap[i] = *e;
	if (e->kind == q->keyed)
		q->pos[e->arg] = (uint32_t)(i + 1);
}

/* Moves e, which belongs at or above heap[i], up to its place. */
static void sift_up(struct evq *q, size_t i, struct ev e)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_before(&e, &q->heap[p]))
			break;
		place(q, i, &q->heap[p]);
		i = p;
	}
	place(q, i, &e);
}

/* Moves e, which belongs at or below heap[i], down to its place. */
static void sift_down(struct evq *q, size_t i, struct ev e)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct ev *best = &e;

		if (l < q->n && ev_before(&q->heap[l], best)) {
			m = l;
			best = &q->heap[l];
		}
		if (r < q->n && ev_before(&q->heap[r], best))
			m = r;
		if (m == i)
			break;
		place(q, i, &q->heap[m]);
		i = m;
	}
	place(q, i, &e);
}

void evq_push(struct evq *q, uint64_t at, uint32_t kind, uint32_t arg)
{
	if (kind == q->keyed && arg >= q->n_pos)
		oom();
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1 << 16;
		q->heap = realloc(q->heap, q->cap * sizeof(*q->heap));
		if (!q->heap)
			oom();
	}
	sift_up(q, q->n++, (struct ev){.at = at, .seq = q->seq++, .kind = kind, .arg = arg});
}

void evq_move(struct evq *q, uint64_t at, uint32_t arg)
{
	struct ev e;
	size_t i;

	if (arg >= q->n_pos || !q->pos[arg]) {
		evq_push(q, at, q->keyed, arg);
		return;
	}
	i = q->pos[arg] - 1;
	e = q->heap[i];
	e.at = at;
	e.seq = q->seq++;
	if (i > 0 && ev_before(&e, &q->heap[(i - 1) / 2]))
		sift_up(q, i, e);
	else
		sift_down(q, i, e);
}

struct ev evq_pop(struct evq *q)
{
	struct ev top = q->heap[0];

	if (top.kind == q->keyed)
		q->pos[top.arg] = 0;
	if (--q->n)
		sift_down(q, 0, q->heap[q->n]);
	return top;
}

void evq_free(struct evq *q)
{
	free(q->heap);
	free(q->pos);
	q->heap = NULL;
	q->pos = NULL;
	q->n = q->cap = 0;
	q->n_pos = 0;
}
