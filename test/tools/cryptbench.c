/* The crypto pool's gain in isolation (doc/benchmarks.md, "Crypto worker
 * threads"): batches of data messages sealed in place through
 * crypt_pool_run, without and with workers, for several batch sizes and
 * two message sizes.  Prints, per cell, the payload rate (wall clock)
 * and the CPU time per GB of the whole process, so that the hand-off's
 * cost shows as well as its gain.  The suite runs it briefly and checks
 * only that it ran.  Usage: cryptbench [SECONDS_PER_CELL] [MAX_WORKERS] */
#include "proto/wg/noise.h"
#include "src/wg/crypt_pool.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_BATCH = 64, ROOM = 1500 };

struct job {
	const struct noise_keypair *kp;
	uint8_t (*buf)[ROOM];
	size_t len;
};

static void seal_item(void *ctx, unsigned i)
{
	struct job *j = ctx;

	noise_transport_seal_crypt(j->kp, j->buf[i], j->len);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const unsigned batches[] = { 1, 2, 4, 8, 16, 32, 44, 64 };
	static const size_t payloads[] = { 1420, 64 };
	static uint8_t buf[MAX_BATCH][ROOM];
	static struct noise_keypair kp;
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	unsigned max_workers = argc > 2 ? (unsigned)atoi(argv[2]) : 1, w, bi, pi, i;

	if (sodium_init() < 0 || secs <= 0)
		return 1;
	randombytes_buf(kp.sending_key, sizeof(kp.sending_key));
	kp.sending_valid = true;
	printf("%-8s %-7s %-6s %12s %10s %10s\n", "payload", "workers", "batch", "MB/s (wall)",
	       "CPU s/GB", "batches");
	for (pi = 0; pi < sizeof(payloads) / sizeof(payloads[0]); ++pi) {
		for (w = 0; w <= max_workers; ++w) {
			struct crypt_pool *pool;

			if (crypt_pool_new(&pool, w, 1) < 0)
				return 1;
			for (bi = 0; bi < sizeof(batches) / sizeof(batches[0]); ++bi) {
				struct job j = { &kp, buf, 0 };
				unsigned n = batches[bi];
				double t0, c0, t, c;
				uint64_t runs = 0;
				ssize_t len = 0;

				for (i = 0; i < n; ++i)
					len = noise_transport_seal_prepare(&kp, buf[i], buf[i] + 16,
									   payloads[pi], 0, 0);
				if (len < 0)
					return 1;
				j.len = (size_t)len;
				t0 = clock_s(CLOCK_MONOTONIC);
				c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
				do {
					unsigned k;

					for (k = 0; k < 64; ++k)
						crypt_pool_run(pool, seal_item, &j, n);
					runs += 64;
				} while ((t = clock_s(CLOCK_MONOTONIC) - t0) < secs);
				c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
				{
					double bytes = (double)runs * n * (double)payloads[pi];

					printf("%-8zu %-7u %-6u %12.0f %10.2f %10llu\n", payloads[pi], w, n,
					       bytes / t / 1e6, c / (bytes / 1e9), (unsigned long long)runs);
				}
			}
			crypt_pool_free(pool);
		}
	}
	return 0;
}
