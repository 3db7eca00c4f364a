/* The crypto worker pool (src/wg/crypt_pool.c) and the split transport steps
 * it runs (proto/wg/noise.c):
 *   - every item of a run is done exactly once, whatever the number of
 *     workers, the batch size and the inline threshold, and all are done
 *     when crypt_pool_run returns (the barrier);
 *   - the workers really take items, and the stats count what they did;
 *   - pools start and stop cleanly, again and again, leaving no thread;
 *   - a batch sealed in steps on the pool is byte for byte what
 *     noise_transport_seal makes one message at a time, and opening it in
 *     steps on the pool gives the plaintexts back in batch order, with a
 *     forged message and a replayed counter refused;
 *   - the environment switches. */
#include "proto/wg/noise.h"
#include "src/wg/crypt_pool.h"
#include "test/tap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <time.h>

enum { MAX_ITEMS = 256 };

struct count_job {
	atomic_uint hits[MAX_ITEMS];
	uint64_t out[MAX_ITEMS];
	pthread_t who[MAX_ITEMS];
	unsigned sleep_us;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void count_one(void *ctx, unsigned i)
{
	struct count_job *job = ctx;

	atomic_fetch_add(&job->hits[i], 1);
	job->out[i] = mix(i + 1);
	job->who[i] = pthread_self();
	if (job->sleep_us) {
		struct timespec ts = { 0, (long)job->sleep_us * 1000 };

		nanosleep(&ts, NULL);
	}
}

static void job_reset(struct count_job *job)
{
	unsigned i;

	for (i = 0; i < MAX_ITEMS; ++i)
		atomic_init(&job->hits[i], 0);
	memset(job->out, 0, sizeof(job->out));
}

/* Every item once and its result in place when the run returns. */
static bool all_once(const struct count_job *job, unsigned n)
{
	unsigned i;

	for (i = 0; i < MAX_ITEMS; ++i) {
		unsigned want = i < n ? 1 : 0;

		if (atomic_load(&job->hits[i]) != want)
			return false;
		if (i < n && job->out[i] != mix(i + 1))
			return false;
	}
	return true;
}

static unsigned thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			++n;
	closedir(d);
	return n;
}

static void test_exactly_once(void)
{
	static const unsigned workers[] = { 0, 1, 2, 3, 8 };
	static const unsigned min_batch[] = { 1, 8, 64 };
	static struct count_job job;
	unsigned w, m, round;

	for (w = 0; w < sizeof(workers) / sizeof(workers[0]); ++w) {
		for (m = 0; m < sizeof(min_batch) / sizeof(min_batch[0]); ++m) {
			struct crypt_pool *pool;
			struct crypt_pool_stats st;
			uint64_t total = 0;
			bool good = true;
			int r = crypt_pool_new(&pool, workers[w], min_batch[m]);

			if (!ok(r == 0 && (workers[w] == 0) == (pool == NULL),
				"pool with %u workers, min batch %u: started", workers[w], min_batch[m]))
				continue;
			for (round = 0; round < 300; ++round) {
				unsigned n = (unsigned)(mix(round * 7 + w * 131 + m) % (MAX_ITEMS + 1));

				if (round < 3)
					n = round;	/* 0, 1, 2 items */
				job_reset(&job);
				crypt_pool_run(pool, count_one, &job, n);
				total += n;
				if (!all_once(&job, n)) {
					good = false;
					diag("round %u, %u items: an item missed or done twice", round, n);
					break;
				}
			}
			ok(good, "%u workers, min batch %u: 300 runs of 0-%u items, each item once, "
			   "all done at return", workers[w], min_batch[m], MAX_ITEMS);
			crypt_pool_stats(pool, &st);
			if (pool)
				ok(st.workers == workers[w] && st.items_total == total &&
				   st.items_by_workers <= total &&
				   st.batches_parallel + st.batches_inline == 300,
				   "stats: %u workers, %llu items (%llu by workers), %llu parallel + %llu inline runs",
				   st.workers, (unsigned long long)st.items_total,
				   (unsigned long long)st.items_by_workers,
				   (unsigned long long)st.batches_parallel,
				   (unsigned long long)st.batches_inline);
			crypt_pool_free(pool);
		}
	}
}

/* Slow items: the workers must take some of them, and the stats must
 * count exactly the items done on a thread other than the caller's. */
static void test_workers_take_items(void)
{
	static struct count_job job;
	struct crypt_pool *pool;
	struct crypt_pool_stats st;
	uint64_t by_others = 0;
	unsigned round, i;
	pthread_t self = pthread_self();

	unsigned before = thread_count();	/* a sanitizer may have its own */

	if (!ok(crypt_pool_new(&pool, 2, 1) == 0 && pool, "pool of 2 workers"))
		return;
	ok(thread_count() == before + 2, "2 more threads while it runs (%u, %u before)",
	   thread_count(), before);
	job.sleep_us = 500;
	for (round = 0; round < 40; ++round) {
		job_reset(&job);
		crypt_pool_run(pool, count_one, &job, 16);
		for (i = 0; i < 16; ++i)
			if (!pthread_equal(job.who[i], self))
				++by_others;
	}
	job.sleep_us = 0;
	crypt_pool_stats(pool, &st);
	ok(by_others > 0, "the workers took %llu of 640 slow items",
	   (unsigned long long)by_others);
	ok(st.items_by_workers == by_others && st.batches_parallel == 40,
	   "stats count them (%llu) and 40 parallel runs",
	   (unsigned long long)st.items_by_workers);
	crypt_pool_free(pool);
	/* Below the threshold: all on the caller. */
	if (!ok(crypt_pool_new(&pool, 2, 32) == 0 && pool, "a pool with a threshold of 32"))
		return;
	job_reset(&job);
	crypt_pool_run(pool, count_one, &job, 31);
	for (i = 0, by_others = 0; i < 31; ++i)
		if (!pthread_equal(job.who[i], self))
			++by_others;
	crypt_pool_stats(pool, &st);
	ok(all_once(&job, 31) && by_others == 0 && st.batches_inline == 1 && st.batches_parallel == 0,
	   "31 items under a threshold of 32: inline, on the caller");
	crypt_pool_free(pool);
}

static void test_shutdown(void)
{
	static struct count_job job;
	unsigned before = thread_count(), i;
	bool good = true;

	for (i = 0; i < 50; ++i) {
		struct crypt_pool *pool;

		if (crypt_pool_new(&pool, 1 + i % 4, 1) < 0) {
			good = false;
			break;
		}
		if (i % 2) {
			job_reset(&job);
			crypt_pool_run(pool, count_one, &job, 1 + i);
			good = good && all_once(&job, 1 + i);
		}
		crypt_pool_free(pool);
	}
	ok(good, "50 pools started, some run, freed");
	ok(thread_count() == before, "no thread left behind (%u, %u before)", thread_count(), before);
	crypt_pool_free(NULL);
	ok(true, "freeing NULL is fine");
	{
		struct crypt_pool *pool = (struct crypt_pool *)&job;

		ok(crypt_pool_new(&pool, CRYPT_POOL_MAX_WORKERS + 1, 1) == -EINVAL && !pool,
		   "too many workers: -EINVAL");
	}
}

/* ---- the transport steps on the pool ---- */

enum { NMSG = 48, MSG_ROOM = 2048 };

struct seal_batch {
	const struct noise_keypair *kp;
	uint8_t *msg[NMSG];
	size_t len[NMSG];
	uint64_t counter[NMSG];
	bool opened[NMSG];
};

static void seal_item(void *ctx, unsigned i)
{
	struct seal_batch *s = ctx;

	noise_transport_seal_crypt(s->kp, s->msg[i], s->len[i]);
}

static void open_item(void *ctx, unsigned i)
{
	struct seal_batch *s = ctx;

	s->opened[i] = noise_transport_open_crypt(s->kp, s->msg[i] + 16, s->msg[i], s->len[i],
						  s->counter[i]);
}

static void keypair_make(struct noise_keypair *kp, const uint8_t key[32], uint64_t now)
{
	memset(kp, 0, sizeof(*kp));
	memcpy(kp->sending_key, key, 32);
	memcpy(kp->receiving_key, key, 32);
	kp->birthdate = now;
	kp->local_index = 0x11223344;
	kp->remote_index = 0x11223344;	/* we send to ourselves */
	kp->sending_valid = kp->receiving_valid = true;
	replay_counter_init(&kp->receiving_counter);
}

static void test_transport_steps(void)
{
	static uint8_t bufs[NMSG][MSG_ROOM], ref[NMSG][MSG_ROOM], plain[NMSG][MSG_ROOM];
	static struct noise_keypair kp_steps, kp_ref;
	static struct seal_batch s;
	size_t plen[NMSG];
	uint64_t now = 1000000000ULL;
	uint8_t key[32];
	struct crypt_pool *pool;
	unsigned i;
	bool same = true, back = true;
	uint64_t counter;

	randombytes_buf(key, sizeof(key));
	keypair_make(&kp_steps, key, now);
	keypair_make(&kp_ref, key, now);
	if (!ok(crypt_pool_new(&pool, 2, 1) == 0, "pool for the transport steps"))
		return;

	/* Seal: nonces taken in order on this thread, encryption on the pool. */
	s.kp = &kp_steps;
	for (i = 0; i < NMSG; ++i) {
		ssize_t n, m;

		plen[i] = i == 0 ? 0 : 1 + (size_t)randombytes_uniform(1400);
		randombytes_buf(plain[i], plen[i]);
		memcpy(bufs[i] + 16, plain[i], plen[i]);	/* in place, as the device does */
		n = noise_transport_seal_prepare(&kp_steps, bufs[i], bufs[i] + 16, plen[i], 1420, now);
		m = noise_transport_seal(&kp_ref, ref[i], plain[i], plen[i], 1420, now);
		s.msg[i] = bufs[i];
		s.len[i] = (size_t)n;
		same = same && n > 0 && n == m;
	}
	crypt_pool_run(pool, seal_item, &s, NMSG);
	for (i = 0; i < NMSG && same; ++i)
		same = memcmp(bufs[i], ref[i], s.len[i]) == 0;
	ok(same, "%u messages sealed in steps on the pool = sealed one by one", NMSG);

	/* A forged tag in message 5, and message 9 a copy of message 7. */
	bufs[5][s.len[5] - 1] ^= 1;
	memcpy(bufs[9], bufs[7], s.len[7]);
	s.len[9] = s.len[7];

	/* Open: checks in order here, decryption on the pool, window here. */
	for (i = 0; i < NMSG; ++i) {
		back = back && noise_transport_open_check(&kp_steps, bufs[i], s.len[i], now, &counter);
		s.counter[i] = counter;
	}
	ok(back, "every message passes the checks before authentication");
	crypt_pool_run(pool, open_item, &s, NMSG);
	back = true;
	for (i = 0; i < NMSG; ++i) {
		size_t pl = s.len[i] - 32;
		bool fin;

		if (i == 5) {
			ok(!s.opened[i], "the forged message does not authenticate");
			continue;
		}
		fin = s.opened[i] && noise_transport_open_finish(&kp_steps, bufs[i] + 16, pl, s.counter[i]);
		if (i == 9) {
			ok(s.opened[i] && !fin, "the replayed message authenticates, the window refuses it");
			continue;
		}
		back = back && fin && wg_ip_trim(bufs[i] + 16, pl) != 0 &&
		       memcmp(bufs[i] + 16, plain[i], plen[i]) == 0;
	}
	ok(back, "the others open, in batch order, to their plaintexts");
	ok(noise_transport_open(&kp_ref, ref[3] + 16, ref[3], s.len[3], now) == (ssize_t)(s.len[3] - 32) &&
	   memcmp(ref[3] + 16, plain[3], plen[3]) == 0 &&
	   noise_transport_open(&kp_ref, ref[3] + 16, ref[3], s.len[3], now) == -1,
	   "noise_transport_open (the steps in one) opens, and refuses a replay");
	crypt_pool_free(pool);
}

static void test_env(void)
{
	unsigned w, m;

	unsetenv("WH_CRYPTO_THREADS");
	unsetenv("WH_CRYPTO_MIN_BATCH");
	crypt_pool_env(&w, &m);
	ok(w == CRYPT_POOL_DEFAULT_WORKERS && m == CRYPT_POOL_DEFAULT_MIN_BATCH, "defaults: %u, %u", w, m);
	setenv("WH_CRYPTO_THREADS", "3", 1);
	setenv("WH_CRYPTO_MIN_BATCH", "16", 1);
	crypt_pool_env(&w, &m);
	ok(w == 3 && m == 16, "WH_CRYPTO_THREADS=3 WH_CRYPTO_MIN_BATCH=16");
	setenv("WH_CRYPTO_THREADS", "0", 1);
	crypt_pool_env(&w, &m);
	ok(w == 0, "WH_CRYPTO_THREADS=0: off");
	setenv("WH_CRYPTO_THREADS", "many", 1);
	setenv("WH_CRYPTO_MIN_BATCH", "0", 1);
	crypt_pool_env(&w, &m);
	ok(w == CRYPT_POOL_DEFAULT_WORKERS && m == CRYPT_POOL_DEFAULT_MIN_BATCH,
	   "values that do not parse or are out of range: the defaults");
	unsetenv("WH_CRYPTO_THREADS");
	unsetenv("WH_CRYPTO_MIN_BATCH");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_exactly_once();
	test_workers_take_items();
	test_shutdown();
	test_transport_steps();
	test_env();
	return tap_done();
}
