/* Worker threads for the data path's AEAD: see crypt_pool.h for the
 * contract.
 *
 * One job at a time.  crypt_pool_run publishes it under the lock (a new
 * generation), wakes the workers, and takes items itself; each item is
 * claimed by an atomic increment of `next`, so that every item is done
 * exactly once whoever gets to it.  A worker joins a job only while it
 * is published and counts itself in `busy`; the caller, out of items,
 * waits for busy to drop to zero and then withdraws the job, so that a
 * worker that wakes late finds nothing and no worker outlives the call.
 * The lock's hand-offs order the workers' writes to the packets before
 * the caller reads them. */
#include "src/wg/crypt_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct crypt_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* workers: a job was published, or stop */
	pthread_cond_t idle;		/* the caller: busy dropped to zero */
	/* Under lock: */
	uint64_t generation;
	crypt_pool_fn *fn;		/* NULL: no job */
	void *ctx;
	unsigned n;
	atomic_uint busy;		/* workers inside the current job (changed under lock) */
	bool stop;
	/* Claimed by atomic increment, reset only while no job is out. */
	atomic_uint next;
	atomic_uint_fast64_t items_by_workers;
	/* The caller's (the loop's) own: */
	uint64_t batches_parallel, batches_inline, items_total;
	unsigned min_batch;
	unsigned nworkers;		/* started */
	pthread_t threads[CRYPT_POOL_MAX_WORKERS];
};

/* Spins of the caller waiting for the last items in the workers' hands
 * before it sleeps: about 10 microseconds. */
enum { CRYPT_POOL_SPIN = 512 };

static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static unsigned take_items(struct crypt_pool *pool, crypt_pool_fn *fn, void *ctx, unsigned n)
{
	unsigned i, done = 0;

	while ((i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed)) < n) {
		fn(ctx, i);
		++done;
	}
	return done;
}

static void *worker_main(void *arg)
{
	struct crypt_pool *pool = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		crypt_pool_fn *fn;
		void *ctx;
		unsigned n, done;

		while (!pool->stop && (!pool->fn || pool->generation == seen))
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (pool->stop)
			break;
		seen = pool->generation;
		fn = pool->fn;
		ctx = pool->ctx;
		n = pool->n;
		atomic_fetch_add_explicit(&pool->busy, 1, memory_order_relaxed);
		pthread_mutex_unlock(&pool->lock);

		done = take_items(pool, fn, ctx, n);
		if (done)
			atomic_fetch_add_explicit(&pool->items_by_workers, done, memory_order_relaxed);

		pthread_mutex_lock(&pool->lock);
		if (atomic_fetch_sub_explicit(&pool->busy, 1, memory_order_release) == 1)
			pthread_cond_signal(&pool->idle);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void stop_workers(struct crypt_pool *pool)
{
	unsigned i;

	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nworkers; ++i)
		pthread_join(pool->threads[i], NULL);
	pool->nworkers = 0;
}

int crypt_pool_new(struct crypt_pool **out, unsigned nworkers, unsigned min_batch)
{
	struct crypt_pool *pool;
	sigset_t all, old;
	int ret = 0;

	*out = NULL;
	if (!nworkers)
		return 0;
	if (nworkers > CRYPT_POOL_MAX_WORKERS)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->idle, NULL);
	atomic_init(&pool->next, 0);
	atomic_init(&pool->busy, 0);
	atomic_init(&pool->items_by_workers, 0);
	pool->min_batch = min_batch ? min_batch : 1;

	/* The workers inherit a mask that blocks every signal: signals
	 * are the loop's (libuv's signal handles). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (pool->nworkers < nworkers) {
		ret = -pthread_create(&pool->threads[pool->nworkers], NULL, worker_main, pool);
		if (ret)
			break;
		pthread_setname_np(pool->threads[pool->nworkers], "wh-crypt");
		++pool->nworkers;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		crypt_pool_free(pool);
		return ret;
	}
	*out = pool;
	return 0;
}

void crypt_pool_free(struct crypt_pool *pool)
{
	if (!pool)
		return;
	stop_workers(pool);
	pthread_cond_destroy(&pool->idle);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void crypt_pool_run(struct crypt_pool *pool, crypt_pool_fn *fn, void *ctx, unsigned n)
{
	unsigned i;

	if (!pool || n < pool->min_batch) {
		for (i = 0; i < n; ++i)
			fn(ctx, i);
		if (pool) {
			++pool->batches_inline;
			pool->items_total += n;
		}
		return;
	}
	++pool->batches_parallel;
	pool->items_total += n;

	pthread_mutex_lock(&pool->lock);
	atomic_store_explicit(&pool->next, 0, memory_order_relaxed);
	pool->fn = fn;
	pool->ctx = ctx;
	pool->n = n;
	++pool->generation;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);

	take_items(pool, fn, ctx, n);

	/* The barrier: every item claimed, now wait for those in hand.
	 * Each worker has one item at most left, a microsecond or two of
	 * work: a short spin spares a sleep and a wake-up (the lock then
	 * confirms, as a worker may join late and find nothing). */
	for (i = 0; i < CRYPT_POOL_SPIN && atomic_load_explicit(&pool->busy, memory_order_acquire); ++i)
		spin_pause();
	pthread_mutex_lock(&pool->lock);
	while (atomic_load_explicit(&pool->busy, memory_order_relaxed))
		pthread_cond_wait(&pool->idle, &pool->lock);
	pool->fn = NULL;
	pool->ctx = NULL;
	pthread_mutex_unlock(&pool->lock);
}

void crypt_pool_stats(const struct crypt_pool *pool, struct crypt_pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!pool)
		return;
	st->workers = pool->nworkers;
	st->batches_parallel = pool->batches_parallel;
	st->batches_inline = pool->batches_inline;
	st->items_total = pool->items_total;
	st->items_by_workers = atomic_load_explicit(
		&((struct crypt_pool *)pool)->items_by_workers, memory_order_relaxed);
}

static unsigned env_unsigned(const char *name, unsigned dflt, unsigned lo, unsigned hi)
{
	const char *v = getenv(name);
	unsigned long x;
	char *end;

	if (!v || !*v)
		return dflt;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return dflt;
	return (unsigned)x;
}

void crypt_pool_env(unsigned *nworkers, unsigned *min_batch)
{
	*nworkers = env_unsigned("WH_CRYPTO_THREADS", CRYPT_POOL_DEFAULT_WORKERS, 0,
				 CRYPT_POOL_MAX_WORKERS);
	*min_batch = env_unsigned("WH_CRYPTO_MIN_BATCH", CRYPT_POOL_DEFAULT_MIN_BATCH, 1, 1u << 20);
}
