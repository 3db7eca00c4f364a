/* What the DHT simulator (dhtsim.c) needs besides the core: a seeded
 * random generator (xoshiro256**, seeded by splitmix64) and the event
 * queue, a binary heap ordered by time, then by the order of insertion,
 * so that a run is deterministic for a given seed.
 *
 * Events of one kind may be keyed (evq_keyed): at most one event per arg
 * is in the heap, and evq_move() moves it instead of pushing another.
 * The simulator keys its node ticks: each node has one next deadline, and
 * with a plain heap every earlier deadline left the later event behind as
 * a stale entry (at 100,000 nodes, hundreds of millions of them: the heap
 * outgrew the tables and every push and pop paid for its depth). */
#ifndef WH_TEST_SIM_SIMKIT_H
#define WH_TEST_SIM_SIMKIT_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); 0 for n = 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* kad_rng_fn: fills buf from the struct rng at ctx. */
void rng_fill(void *ctx, void *buf, size_t len);
/* A fixed mix of x (splitmix64's finaliser): per-link draws. */
uint64_t mix64(uint64_t x);

struct ev {
	uint64_t at;
	uint64_t seq;
	uint32_t kind;
	uint32_t arg;
};

struct evq {
	struct ev *heap;
	size_t n, cap;
	uint64_t seq;
	uint32_t keyed;		/* the keyed kind, UINT32_MAX: none */
	uint32_t *pos;		/* keyed event of arg a at heap[pos[a] - 1]; 0: none */
	uint32_t n_pos;
};

/* Sets the queue up empty, keying events of `kind` with args below
 * n_args (kind UINT32_MAX: none keyed). */
void evq_init(struct evq *q, uint32_t kind, uint32_t n_args);

/* Exits with a TAP "Bail out!" when memory runs out. */
void evq_push(struct evq *q, uint64_t at, uint32_t kind, uint32_t arg);
/* The keyed event of arg now happens at `at`, ordered as if pushed now;
 * pushed if there is none. */
void evq_move(struct evq *q, uint64_t at, uint32_t arg);
/* The earliest event; q->n must be > 0. */
struct ev evq_pop(struct evq *q);
void evq_free(struct evq *q);

#endif
