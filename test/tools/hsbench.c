/* hsbench: what WireGuard handshakes cost one core in this build (issue
 * 6, "report handshakes per second per core").  Drives proto/wg's
 * sans-I/O handshake and cookie code in one thread, on a virtual clock
 * (so that the flood check of 50 initiations a second per peer does not
 * apply), and prints, for each operation, how many one core does per
 * second:
 *
 *   full handshake      both sides: initiation (mac1), its check, open
 *                       and accept, response (mac1), its check and
 *                       consumption, both sessions derived
 *   responder side      what a server does per handshake: check mac1,
 *                       open + accept the initiation, create the response,
 *                       derive the session
 *   refuse unknown key  an initiation with a valid mac1 from a key that is
 *                       no peer (a flood's cost before the cookie
 *                       mechanism applies): check mac1, open, look up
 *   cookie reply        under load: check mac1 (and the absent mac2),
 *                       create a cookie reply
 *
 *   hsbench [SECONDS]   (per operation, default 2)
 *
 * For benchmarks (doc/benchmarks.md); the test suite runs it for a moment
 * only to check that every operation succeeds. */
#include "crypto/crypto.h"
#include "crypto/x25519.h"
#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS 1000000000ULL

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct noise_static_identity *identity(void)
{
	struct noise_static_identity *id = sodium_malloc(sizeof(*id));

	if (!id)
		abort();
	memset(id, 0, sizeof(*id));
	x25519_generate(id->static_private);
	if (!x25519_public(id->static_public, id->static_private))
		abort();
	id->has_identity = true;
	return id;
}

struct side {
	struct noise_static_identity *id;
	struct noise_handshake hs;
	struct cookie_checker cc;
	struct cookie_maker cm;		/* toward the other side */
};

static struct side a, b;		/* a initiates, b responds */
static uint64_t vnow = 1000 * NS;	/* the virtual clock */
static uint64_t ts_sec = 1700000000;	/* initiation timestamps, rising */
static const uint8_t src[18] = { 198, 51, 100, 7, 0xca, 0x6c };

static void sides_init(void)
{
	static const uint8_t psk[32];

	a.id = identity();
	b.id = identity();
	if (!noise_handshake_init(&a.hs, a.id, b.id->static_public, psk) ||
	    !noise_handshake_init(&b.hs, b.id, a.id->static_public, psk))
		abort();
	cookie_checker_init(&a.cc, a.id->static_public);
	cookie_checker_init(&b.cc, b.id->static_public);
	cookie_maker_init(&a.cm, b.id->static_public);
	cookie_maker_init(&b.cm, a.id->static_public);
}

static void make_initiation(struct message_handshake_initiation *m)
{
	if (!noise_handshake_create_initiation(m, &a.hs, 1, NULL, ++ts_sec, 0))
		abort();
	cookie_add_mac_to_packet((uint8_t *)m, sizeof(*m), &a.cm, vnow);
}

/* The responder's part; false when something did not verify. */
static bool respond(const struct message_handshake_initiation *m,
		    struct message_handshake_response *r, struct noise_keypair *kp)
{
	struct noise_initiation_scratch s;

	vnow += NS;
	if (cookie_validate_packet(&b.cc, (const uint8_t *)m, sizeof(*m), src, sizeof(src), false,
				   vnow) != VALID_MAC_BUT_NO_COOKIE ||
	    !noise_initiation_open(&s, m, b.id) ||
	    memcmp(s.remote_static, a.id->static_public, 32) ||
	    !noise_initiation_accept(&b.hs, &s, vnow) ||
	    !noise_handshake_create_response(r, &b.hs, 2, NULL))
		return false;
	cookie_add_mac_to_packet((uint8_t *)r, sizeof(*r), &b.cm, vnow);
	return noise_handshake_begin_session(&b.hs, kp, vnow);
}

static bool full(void)
{
	struct message_handshake_initiation m;
	struct message_handshake_response r;
	struct noise_keypair ka, kb;

	make_initiation(&m);
	if (!respond(&m, &r, &kb) ||
	    cookie_validate_packet(&a.cc, (const uint8_t *)&r, sizeof(r), src, sizeof(src), false,
				   vnow) != VALID_MAC_BUT_NO_COOKIE ||
	    !noise_handshake_consume_response(&r, &a.hs) || !noise_handshake_begin_session(&a.hs, &ka, vnow))
		return false;
	/* Both ends hold the same keys, crosswise. */
	return !memcmp(ka.sending_key, kb.receiving_key, 32) && !memcmp(kb.sending_key, ka.receiving_key, 32);
}

typedef bool op_fn(unsigned i);

static struct message_handshake_initiation *pre;	/* pre-made initiations */
static unsigned npre;
static struct message_handshake_initiation stranger;	/* from a key that is no peer */
static uint8_t stranger_pub[32];

static bool op_full(unsigned i)
{
	(void)i;
	return full();
}

static bool op_responder(unsigned i)
{
	struct message_handshake_response r;
	struct noise_keypair kp;

	/* Initiations made beforehand, timestamps rising; when they run out
	 * the clock of the run is what it is (the caller stops). */
	return i < npre && respond(&pre[i], &r, &kp);
}

static bool op_refuse(unsigned i)
{
	struct noise_initiation_scratch s;
	bool ok;

	(void)i;
	if (cookie_validate_packet(&b.cc, (const uint8_t *)&stranger, sizeof(stranger), src, sizeof(src),
				   false, vnow) != VALID_MAC_BUT_NO_COOKIE ||
	    !noise_initiation_open(&s, &stranger, b.id))
		return false;
	/* It opens to the stranger's key, which the lookup does not find
	 * (it is not a's, the one peer). */
	ok = !memcmp(s.remote_static, stranger_pub, 32) && memcmp(s.remote_static, a.id->static_public, 32);
	sodium_memzero(&s, sizeof(s));
	return ok;
}

static bool op_cookie(unsigned i)
{
	struct message_handshake_cookie c;

	(void)i;
	return cookie_validate_packet(&b.cc, (const uint8_t *)&stranger, sizeof(stranger), src, sizeof(src),
				      true, vnow) == VALID_MAC_BUT_NO_COOKIE &&
	       cookie_message_create(&c, (const uint8_t *)&stranger, sizeof(stranger), 7, &b.cc, src,
				     sizeof(src), vnow);
}

static int run(const char *name, op_fn *op, double seconds, unsigned max)
{
	double t0 = wall(), t;
	unsigned n = 0;

	do {
		unsigned k;

		for (k = 0; k < 16 && n < max; ++k, ++n)
			if (!op(n)) {
				fprintf(stderr, "hsbench: %s failed at %u\n", name, n);
				return 1;
			}
		t = wall() - t0;
	} while (t < seconds && n < max);
	printf("%-20s %10.0f /s  %8.1f us each  (%u in %.2f s)\n", name, n / t, t * 1e6 / n, n, t);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	struct noise_static_identity *other;
	struct noise_handshake hs;
	struct cookie_maker cm;
	unsigned i;
	int bad = 0;

	if (argc > 2 || seconds <= 0 || crypto_layer_init() < 0) {
		fprintf(stderr, "usage: hsbench [SECONDS]\n");
		return 2;
	}
	sides_init();
	/* A stranger's initiation, valid mac1. */
	other = identity();
	memcpy(stranger_pub, other->static_public, 32);
	if (!noise_handshake_init(&hs, other, b.id->static_public, (const uint8_t[32]){ 0 }))
		abort();
	if (!noise_handshake_create_initiation(&stranger, &hs, 9, NULL, ts_sec, 0))
		abort();
	cookie_maker_init(&cm, b.id->static_public);
	cookie_add_mac_to_packet((uint8_t *)&stranger, sizeof(stranger), &cm, vnow);
	sodium_free(other);

	printf("one core, %.1f s per operation (proto/wg, libsodium %s)\n", seconds,
	       sodium_version_string());
	bad |= run("full handshake", op_full, seconds, ~0u);
	/* Enough initiations for the responder's run (it does about twice
	 * as many per second as full handshakes): made now, untimed. */
	npre = (unsigned)(seconds * 40000);
	if (npre > 400000)
		npre = 400000;
	pre = malloc(npre * sizeof(*pre));
	if (!pre)
		return 1;
	for (i = 0; i < npre; ++i)
		make_initiation(&pre[i]);
	bad |= run("responder side", op_responder, seconds, npre);
	bad |= run("refuse unknown key", op_refuse, seconds, ~0u);
	bad |= run("cookie reply", op_cookie, seconds, ~0u);
	free(pre);
	sodium_free(a.id);
	sodium_free(b.id);
	return bad;
}
