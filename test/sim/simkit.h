/* What the DHT simulator (dhtsim.c) needs besides the core: a seeded
 * random generator (xoshiro256**, seeded by splitmix64) and the event
 * queue, a binary heap ordered by time, then by the order of insertion,
 * so that a run is deterministic for a given seed. */
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
};

/* Exits with a TAP "Bail out!" when memory runs out. */
void evq_push(struct evq *q, uint64_t at, uint32_t kind, uint32_t arg);
/* The earliest event; q->n must be > 0. */
struct ev evq_pop(struct evq *q);
void evq_free(struct evq *q);

#endif
