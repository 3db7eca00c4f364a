/* Worker threads for the data path's AEAD (issue 6), fork-join per batch.
 *
 * The loop thread stays the single owner of every peer, keypair and
 * packet: it does all that moves state (nonces, replay windows, timers,
 * endpoints, I/O) in order, and hands the pool only pure work on a
 * batch's own packet buffers.  crypt_pool_run() calls fn(ctx, i) once
 * for every i in [0, n): the workers and the calling thread take items
 * one at a time from a shared counter, and the call returns only when
 * every item is done (a barrier), so that when the loop carries on no
 * worker touches anything and the batch is still in its order.  Items
 * must not depend on one another.
 *
 * The switch: WH_CRYPTO_THREADS=N workers (0 = none: everything on the
 * loop, as without this file), read by the device at start; batches of
 * fewer than WH_CRYPTO_MIN_BATCH items run inline (the hand-off costs a
 * wake-up or two).  The defaults and the measurements behind them are in
 * doc/benchmarks.md, "Crypto worker threads".
 *
 * Errors: negative errno from crypt_pool_new; running never fails. */
#ifndef WH_SRC_WG_CRYPT_POOL_H
#define WH_SRC_WG_CRYPT_POOL_H

#include <stdint.h>

struct crypt_pool;

typedef void crypt_pool_fn(void *ctx, unsigned i);

enum {
	CRYPT_POOL_MAX_WORKERS = 64,
	CRYPT_POOL_DEFAULT_WORKERS = 0,
	CRYPT_POOL_DEFAULT_MIN_BATCH = 8,
};

/* Starts nworkers threads (named "wh-crypt", every signal blocked);
 * batches below min_batch items run inline.  *out NULL for 0 workers. */
int crypt_pool_new(struct crypt_pool **out, unsigned nworkers, unsigned min_batch);
/* Joins the workers and frees the pool; NULL is fine. */
void crypt_pool_free(struct crypt_pool *pool);

/* fn(ctx, i) once for each i < n, in parallel when pool is not NULL and
 * n is at least its min_batch; returns when all are done.  Called by one
 * thread at a time (the loop). */
void crypt_pool_run(struct crypt_pool *pool, crypt_pool_fn *fn, void *ctx, unsigned n);

struct crypt_pool_stats {
	unsigned workers;
	uint64_t batches_parallel;	/* runs handed to the workers */
	uint64_t batches_inline;	/* runs below min_batch, or no pool */
	uint64_t items_by_workers;	/* items a worker (not the caller) did */
	uint64_t items_total;
};
void crypt_pool_stats(const struct crypt_pool *pool, struct crypt_pool_stats *st);

/* The settings from the environment: WH_CRYPTO_THREADS (0 to
 * CRYPT_POOL_MAX_WORKERS, else the default) and WH_CRYPTO_MIN_BATCH
 * (at least 1). */
void crypt_pool_env(unsigned *nworkers, unsigned *min_batch);

#endif
