/* A minimal TAP producer for the unit and vector tests: meson reads the
 * "ok N" / "not ok N" lines and the closing plan. */
#ifndef WH_TEST_TAP_H
#define WH_TEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_count, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	++tap_count;
	if (!cond)
		++tap_failed;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused))
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Memory a test cannot run without: when there is none, the run stops
 * with TAP's "Bail out!" rather than writing through a null pointer. */
__attribute__((unused, malloc))
static void *tap_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		printf("Bail out! out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/* A small deterministic generator (xorshift64*), so that failures repeat;
 * for tests that have none of their own. */
__attribute__((unused)) static uint64_t tap_rng_state = 0x9e3779b97f4a7c15ULL;

__attribute__((unused))
static uint64_t tap_rand(void)
{
	tap_rng_state ^= tap_rng_state >> 12;
	tap_rng_state ^= tap_rng_state << 25;
	tap_rng_state ^= tap_rng_state >> 27;
	return tap_rng_state * 2685821657736338717ULL;
}

/* Decodes hex into out; returns the byte count or -1. */
__attribute__((unused))
static long tap_unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; ++i) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

/* Compares memory and prints both sides in hex when they differ. */
__attribute__((unused))
static bool ok_mem(const void *got, const void *want, size_t len, const char *name)
{
	bool same = memcmp(got, want, len) == 0;

	ok(same, "%s", name);
	if (!same) {
		size_t i;

		printf("#   got:  ");
		for (i = 0; i < len; ++i)
			printf("%02x", ((const uint8_t *)got)[i]);
		printf("\n#   want: ");
		for (i = 0; i < len; ++i)
			printf("%02x", ((const uint8_t *)want)[i]);
		printf("\n");
	}
	return same;
}

/* Compares got with the bytes the hex string spells. */
__attribute__((unused))
static bool ok_hex(const void *got, size_t len, const char *hex, const char *name)
{
	uint8_t want[4096];
	long n = tap_unhex(want, sizeof(want), hex);

	if (n != (long)len)
		return ok(false, "%s (vector length %ld, got %zu)", name, n, len);
	return ok_mem(got, want, len, name);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failed)
		printf("# %u of %u failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif
