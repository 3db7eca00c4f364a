/* wh genkey [workbit N] [namespace NS] [threads N]
 *
 * Prints a private key (standard base64) whose public key has at least N
 * workbits in namespace NS.  The search runs on every core by default;
 * each thread draws independent random keys, so the expected number of
 * tries is 2^N whatever the thread count.  On a terminal, a search that
 * takes more than a second shows its progress on stderr. */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct search {
	unsigned want;
	const char *ns;
	size_t nslen;
	atomic_bool found;
	atomic_ullong tries;
	pthread_mutex_t lock;
	uint8_t *sk;		/* the caller's (sodium_malloc), written once under lock */
};

static void *search_thread(void *arg)
{
	struct search *s = arg;
	uint8_t sk[32], pk[32];
	unsigned long long local = 0;

	while (!atomic_load_explicit(&s->found, memory_order_relaxed)) {
		x25519_generate(sk);
		if (!x25519_public(pk, sk))
			continue;
		if (++local == 256) {
			atomic_fetch_add_explicit(&s->tries, local, memory_order_relaxed);
			local = 0;
		}
		if (workbit_of(pk, s->ns, s->nslen) < s->want)
			continue;
		pthread_mutex_lock(&s->lock);
		if (!atomic_load(&s->found)) {
			memcpy(s->sk, sk, 32);
			atomic_store(&s->found, true);
		}
		pthread_mutex_unlock(&s->lock);
	}
	sodium_memzero(sk, sizeof(sk));
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_key_search(uint8_t *sk, unsigned want, const char *ns, unsigned long nthreads,
		   bool progress)
{
	struct search s;
	pthread_t tids[256];
	unsigned long started = 0, i;
	double t0;
	int ret = -1;

	if (!nthreads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		nthreads = n > 0 ? (unsigned long)n : 1;
	}
	if (nthreads > 256)
		nthreads = 256;
	memset(&s, 0, sizeof(s));
	s.want = want;
	s.ns = ns;
	s.nslen = strlen(ns);
	s.sk = sk;
	atomic_init(&s.found, false);
	atomic_init(&s.tries, 0);
	pthread_mutex_init(&s.lock, NULL);

	/* workbit 0 needs no search, and small ones finish before threads
	 * would pay for themselves: search inline below 8 bits. */
	if (want < 8)
		nthreads = 0;
	for (i = 0; i < nthreads; ++i) {
		if (pthread_create(&tids[i], NULL, search_thread, &s) != 0)
			break;
		++started;
	}
	if (nthreads && !started)
		goto out;
	if (!started) {
		search_thread(&s);
	} else {
		t0 = now_seconds();
		while (!atomic_load(&s.found)) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			double el;

			nanosleep(&ts, NULL);
			el = now_seconds() - t0;
			if (progress && el > 1.0 && !atomic_load(&s.found)) {
				unsigned long long t = atomic_load(&s.tries);
				double expected = 1.0;	/* 2^want, exactly: no libm */
				unsigned k;

				for (k = 0; k < want; ++k)
					expected *= 2.0;
				fprintf(stderr, "\rwh genkey: %llu keys tried (%.0f/s), %.3g expected for workbit %u",
					t, (double)t / el, expected, want);
			}
		}
		for (i = 0; i < started; ++i)
			pthread_join(tids[i], NULL);
		if (progress && now_seconds() - t0 > 1.0)
			fputs("\r\033[K", stderr);
	}
	ret = 0;
out:
	pthread_mutex_destroy(&s.lock);
	return ret;
}

int cli_make_key(uint8_t *sk, unsigned workbit, const char *ns)
{
	return cli_key_search(sk, workbit, ns, 0, isatty(STDERR_FILENO)) < 0 ? -EAGAIN : 0;
}

int cmd_genkey(int argc, char **argv)
{
	unsigned long want = 0, nthreads = 0, v;
	const char *ns = WORKBIT_DEFAULT_NAMESPACE;
	char out[KEY_B64_LEN + 1];
	uint8_t *sk;
	int ret = 1;
	int a;

	for (a = 1; a < argc; a += 2) {
		if (a + 1 >= argc) {
			fprintf(stderr, "wh genkey: '%s' needs a value\n", argv[a]);
			return EXIT_USAGE;
		}
		if (!strcmp(argv[a], "workbit")) {
			if (cli_parse_uint(argv[a + 1], 0, 256, &v) < 0) {
				fprintf(stderr, "wh genkey: workbit '%s' is not a number from 0 to 256\n",
					argv[a + 1]);
				return EXIT_USAGE;
			}
			want = v;
		} else if (!strcmp(argv[a], "namespace")) {
			ns = argv[a + 1];
		} else if (!strcmp(argv[a], "threads")) {
			if (cli_parse_uint(argv[a + 1], 1, 256, &v) < 0) {
				fprintf(stderr, "wh genkey: threads '%s' is not a number from 1 to 256\n",
					argv[a + 1]);
				return EXIT_USAGE;
			}
			nthreads = v;
		} else {
			fprintf(stderr, "wh genkey: unknown argument '%s'\n", argv[a]);
			return EXIT_USAGE;
		}
	}
	sk = sodium_malloc(32);
	if (!sk) {
		fprintf(stderr, "wh genkey: out of memory\n");
		return 1;
	}
	if (cli_key_search(sk, (unsigned)want, ns, nthreads, isatty(STDERR_FILENO)) < 0) {
		fprintf(stderr, "wh genkey: cannot start a search thread\n");
		goto out;
	}
	key_to_base64(out, sk);
	puts(out);
	sodium_memzero(out, sizeof(out));
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	sodium_free(sk);
	return ret;
}
