/* The overlay's secure layer (proto/overlay/secure.c): sealing and
 * opening both ways, tampering, replays and reordering, restarted
 * senders (a later clock, an earlier one, a carried-over floor), the
 * workbit checked before any DH, namespaces, malformed headers, the
 * optional skew bound, LRU eviction (checked against a naive model), and
 * the replay window against a naive model; the admission of unknown
 * senders: a flood of made-up keys within the DH budget, the negative
 * cache, cookie replies and mac2, the cookie reply's codec. */
#include "proto/overlay/secure.h"
#include "proto/overlay/codec.h"
#include "crypto/crypto.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "test/tap.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * SEC)

/* xorshift: reproducible choices for the model tests. */
static uint64_t rng = UINT64_C(0x2545f4914f6cdd1d);
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct node {
	uint8_t sk[32];
	uint8_t pk[32];
};

static void node_new(struct node *n)
{
	x25519_generate(n->sk);
	x25519_public(n->pk, n->sk);
}

/* A key whose workbit in ns is at least (want_strong) or below bits. */
static void node_with_workbit(struct node *n, const char *ns, unsigned bits, bool want_strong)
{
	for (;;) {
		node_new(n);
		if ((workbit_of(n->pk, ns, strlen(ns)) >= bits) == want_strong)
			return;
	}
}

static struct ovl_secure *secure(const struct node *n, const char *ns, unsigned workbit,
				size_t capacity)
{
	struct ovl_secure_config cfg = {
		.private_key = n->sk, .ns = ns, .ns_len = strlen(ns),
		.workbit = workbit, .capacity = capacity,
	};
	struct ovl_secure *ch = NULL;

	if (ovl_secure_new(&ch, &cfg) < 0)
		abort();
	return ch;
}

static struct ovl_secure *secure_cfg(const struct node *n, struct ovl_secure_config cfg)
{
	struct ovl_secure *ch = NULL;

	cfg.private_key = n->sk;
	if (!cfg.ns) {
		cfg.ns = "public";
		cfg.ns_len = 6;
	}
	if (ovl_secure_new(&ch, &cfg) < 0)
		abort();
	return ch;
}

struct dgram {
	uint8_t b[OVL_MAX_DATAGRAM];
	size_t len;
};

static const uint8_t ping_plain[] = { OVL_MSG_PING, 1, 2, 3, 4, 5, 6, 7, 8, 0 };

static struct dgram seal(struct ovl_secure *ch, const struct node *to, uint64_t now)
{
	struct dgram d;
	long n = ovl_secure_seal(ch, to->pk, ping_plain, sizeof(ping_plain), now, d.b, sizeof(d.b));

	if (n < 0)
		abort();
	d.len = (size_t)n;
	return d;
}

static enum ovl_drop open_(struct ovl_secure *ch, const struct dgram *d, uint64_t now)
{
	uint8_t sender[32], plain[OVL_MAX_PLAINTEXT];
	size_t len;

	return ovl_secure_open(ch, d->b, d->len, now, sender, plain, sizeof(plain), &len);
}

static void test_both_ways(void)
{
	struct node a, b;
	struct ovl_secure *ca, *cb;
	uint8_t plain[OVL_MAX_PLAINTEXT], sender[32], msg[OVL_MAX_PLAINTEXT];
	struct dgram d;
	size_t len = 0;
	long n;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);

	d = seal(ca, &b, T0);
	ok(d.len == sizeof(ping_plain) + OVL_OVERHEAD, "datagram = plaintext + 58 bytes");
	ok(d.b[0] == 0xff && d.b[1] == 1 && !memcmp(d.b + 2, a.pk, 32),
	   "header: ff, version 1, the sender's public key");
	ok(be64_get(d.b + 34) == T0, "first counter = the sender's clock at creation");
	ok(ovl_secure_open(cb, d.b, d.len, T0, sender, plain, sizeof(plain), &len) == OVL_ACCEPT &&
	   len == sizeof(ping_plain) && !memcmp(plain, ping_plain, len) && !memcmp(sender, a.pk, 32),
	   "A -> B opens to the plaintext, sender A");
	d = seal(ca, &b, T0 + 5);
	ok(be64_get(d.b + 34) == T0 + 1, "the counter grows by one per datagram, not with the clock");

	/* B answers with the largest plaintext there is. */
	for (size_t i = 0; i < sizeof(msg); ++i)
		msg[i] = (uint8_t)i;
	n = ovl_secure_seal(cb, a.pk, msg, OVL_MAX_PLAINTEXT, T0 + 7 * SEC, d.b, sizeof(d.b));
	ok(n == OVL_MAX_DATAGRAM, "a 1222-byte plaintext seals to exactly 1280 bytes");
	d.len = (size_t)n;
	ok(ovl_secure_open(ca, d.b, d.len, T0, sender, plain, sizeof(plain), &len) == OVL_ACCEPT &&
	   len == OVL_MAX_PLAINTEXT && !memcmp(plain, msg, len) && !memcmp(sender, b.pk, 32),
	   "B -> A opens (a receiver an hour behind does not care)");
	ok(ovl_secure_stats(cb)->dh == 1 && ovl_secure_stats(ca)->dh == 1,
	   "one DH per side for the pair");

	/* In place, both ways. */
	memcpy(d.b + OVL_HEADER_LEN, ping_plain, sizeof(ping_plain));
	n = ovl_secure_seal(ca, b.pk, d.b + OVL_HEADER_LEN, sizeof(ping_plain), T0, d.b, sizeof(d.b));
	ok(n == (long)(sizeof(ping_plain) + OVL_OVERHEAD), "sealed in place");
	ok(ovl_secure_open(cb, d.b, (size_t)n, T0, sender, d.b + OVL_HEADER_LEN,
			    sizeof(d.b) - OVL_HEADER_LEN, &len) == OVL_ACCEPT &&
	   !memcmp(d.b + OVL_HEADER_LEN, ping_plain, sizeof(ping_plain)), "opened in place");

	/* Sealing errors. */
	ok(ovl_secure_seal(ca, a.pk, ping_plain, 10, T0, d.b, sizeof(d.b)) == -EINVAL, "no seal to ourselves");
	memset(msg, 0, 32);
	ok(ovl_secure_seal(ca, msg, ping_plain, 10, T0, d.b, sizeof(d.b)) == -EINVAL,
	   "no seal to a low-order key");
	ok(ovl_secure_seal(ca, b.pk, ping_plain, 0, T0, d.b, sizeof(d.b)) == -EMSGSIZE, "no empty plaintext");
	ok(ovl_secure_seal(ca, b.pk, plain, OVL_MAX_PLAINTEXT + 1, T0, d.b, sizeof(d.b)) == -EMSGSIZE,
	   "no plaintext over 1222 bytes");
	ok(ovl_secure_seal(ca, b.pk, ping_plain, 10, T0, d.b, 10 + OVL_OVERHEAD - 1) == -EMSGSIZE,
	   "no output buffer too small");
	d = seal(ca, &b, T0);
	ok(ovl_secure_open(cb, d.b, d.len, T0, sender, plain, d.len - OVL_OVERHEAD - 1, &len) ==
	   OVL_DROP_BUFFER, "a plaintext buffer too small is a drop, not an overflow");
	ok(open_(cb, &d, T0) == OVL_ACCEPT, "and the datagram still opens after it");

	ovl_secure_free(ca);
	ovl_secure_free(cb);
}

static void test_tamper(void)
{
	struct node a, b;
	struct ovl_secure *ca, *cb;
	struct dgram d, t;
	size_t i;
	unsigned bit, accepted = 0;
	uint64_t auth_before;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);
	d = seal(ca, &b, T0);
	for (i = 0; i < d.len; ++i)
		for (bit = 0; bit < 8; ++bit) {
			t = d;
			t.b[i] ^= (uint8_t)(1u << bit);
			if (open_(cb, &t, T0) == OVL_ACCEPT)
				++accepted;
		}
	ok(accepted == 0, "none of the %zu one-bit changes of a datagram opens", d.len * 8);
	auth_before = ovl_secure_stats(cb)->open_results[OVL_DROP_AUTH];
	ok(auth_before == 8 * (d.len - 2), "tampered key, counter or ciphertext: authentication failure");
	ok(!ovl_secure_has_peer(cb, a.pk), "forgeries create no state");
	ok(open_(cb, &d, T0) == OVL_ACCEPT, "the genuine datagram opens after them");
	t = seal(ca, &b, T0);
	t.len -= 1;
	ok(open_(cb, &t, T0) == OVL_DROP_AUTH, "a truncated datagram fails authentication");

	t = d;
	t.b[0] = 4;
	ok(open_(cb, &t, T0) == OVL_DROP_NOT_OVERLAY, "byte 0 not ff");
	t.b[0] = 0xff;
	t.b[1] = 0;
	ok(open_(cb, &t, T0) == OVL_DROP_VERSION, "version 0 (WireHub's ff 00 00 00) dropped");
	t.b[1] = 2;
	ok(open_(cb, &t, T0) == OVL_DROP_VERSION, "version 2 dropped");
	t.len = OVL_MIN_DATAGRAM - 1;
	ok(open_(cb, &t, T0) == OVL_DROP_SHORT, "58 bytes: short");
	t.len = OVL_MAX_DATAGRAM + 1;
	ok(open_(cb, &t, T0) == OVL_DROP_LONG, "1281 bytes: long");
	t = seal(cb, &a, T0);
	ok(open_(cb, &t, T0) == OVL_DROP_SELF, "our own datagram reflected back");
	t = d;
	memset(t.b + 2, 0, 32);
	ok(open_(cb, &t, T0) == OVL_DROP_BAD_KEY, "an all-zero (low-order) sender key");
	ovl_secure_free(ca);
	ovl_secure_free(cb);
}

static void test_replay_and_order(void)
{
	struct node a, b;
	struct ovl_secure *ca, *cb;
	static struct dgram d[1300];
	unsigned i, bad = 0;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);
	for (i = 0; i < 1300; ++i)
		d[i] = seal(ca, &b, T0);

	ok(open_(cb, &d[0], T0) == OVL_ACCEPT, "first");
	ok(open_(cb, &d[0], T0) == OVL_DROP_REPLAY, "the same datagram again: replay");
	/* 1..99 in reverse, then every other of 100..199 twice. */
	for (i = 99; i >= 1; --i)
		bad += open_(cb, &d[i], T0) != OVL_ACCEPT;
	ok(bad == 0, "99 datagrams in reverse order accepted");
	for (i = 1; i < 100; ++i)
		bad += open_(cb, &d[i], T0) != OVL_DROP_REPLAY;
	ok(bad == 0, "and each of them refused a second time");

	/* The window's edge: 1299 accepted, then 1299 - 1024 = 275 is out
	 * of it and 276 is the oldest still in it. */
	ok(open_(cb, &d[1299], T0) == OVL_ACCEPT, "a jump ahead by 1200");
	ok(open_(cb, &d[275], T0) == OVL_DROP_REPLAY, "1024 behind the top: outside the window");
	ok(open_(cb, &d[276], T0) == OVL_ACCEPT, "1023 behind the top: inside, unseen, accepted");
	ok(open_(cb, &d[276], T0) == OVL_DROP_REPLAY, "and not twice");
	ok(ovl_secure_stats(cb)->open_results[OVL_DROP_REPLAY] == 1 + 99 + 2,
	   "every replay counted");
	ovl_secure_free(ca);
	ovl_secure_free(cb);
}

static void test_restart(void)
{
	struct node a, b;
	struct ovl_secure *ca, *ca2, *cb;
	struct dgram d;
	uint64_t floor;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);
	for (int i = 0; i < 5; ++i) {
		d = seal(ca, &b, T0);
		open_(cb, &d, T0);
	}
	floor = ovl_secure_counter_floor(ca);
	ok(floor == T0 + 5, "the floor is one past the last counter sent");
	ovl_secure_free(ca);

	/* A restarts a second later: its counters start ahead. */
	ca2 = secure(&a, "public", 0, 0);
	d = seal(ca2, &b, T0 + SEC);
	ok(open_(cb, &d, T0 + SEC) == OVL_ACCEPT, "a restarted sender with a later clock is accepted");
	ovl_secure_free(ca2);

	/* A restarts with its clock stepped back 10 s. */
	ca2 = secure(&a, "public", 0, 0);
	d = seal(ca2, &b, T0 - 10 * SEC);
	ok(open_(cb, &d, T0 + 2 * SEC) == OVL_DROP_REPLAY,
	   "a restarted sender whose clock went back is behind the window");
	ok(open_(cb, &d, T0 + SEC + OVL_RX_IDLE_RESET_SEC * SEC - 1) == OVL_DROP_REPLAY,
	   "still so 1 ns before the window's idle reset");
	ok(open_(cb, &d, T0 + SEC + OVL_RX_IDLE_RESET_SEC * SEC) == OVL_ACCEPT,
	   "after 180 s without an accepted datagram the window starts again");
	ok(open_(cb, &d, T0 + SEC + OVL_RX_IDLE_RESET_SEC * SEC) == OVL_DROP_REPLAY,
	   "from that datagram on");
	ovl_secure_free(ca2);

	/* ... unless it carries its floor over the restart. */
	ca2 = secure_cfg(&a, (struct ovl_secure_config){ .counter_floor = T0 + 10 * SEC });
	d = seal(ca2, &b, T0 - 3600 * SEC);
	ok(be64_get(d.b + 34) == T0 + 10 * SEC, "a saved floor beats a clock an hour behind");
	ok(open_(cb, &d, T0 + 200 * SEC) == OVL_ACCEPT, "and is accepted at once");
	ovl_secure_free(ca2);
	ovl_secure_free(cb);
}

static void test_workbit_and_namespace(void)
{
	struct node strong, weak, b, c;
	struct ovl_secure *cs, *cw, *cb, *cc;
	struct dgram d;
	uint64_t dh;

	node_with_workbit(&strong, "public", 6, true);
	node_with_workbit(&weak, "public", 6, false);
	node_new(&b);
	cs = secure(&strong, "public", 0, 0);
	cw = secure(&weak, "public", 0, 0);
	cb = secure(&b, "public", 6, 0);

	d = seal(cw, &b, T0);
	dh = ovl_secure_stats(cb)->dh;
	ok(open_(cb, &d, T0) == OVL_DROP_WORKBIT, "a sender below workbit 6 is dropped");
	ok(ovl_secure_stats(cb)->dh == dh, "before any DH");
	ok(ovl_secure_stats(cb)->open_results[OVL_DROP_WORKBIT] == 1 && !ovl_secure_has_peer(cb, weak.pk),
	   "counted, and no state kept");
	/* Even when we sealed to it first (state exists), it is not heard. */
	seal(cb, &weak, T0);
	d = seal(cw, &b, T0);
	ok(open_(cb, &d, T0) == OVL_DROP_WORKBIT, "a weak key we wrote to is still not heard");
	d = seal(cs, &b, T0);
	ok(open_(cb, &d, T0) == OVL_ACCEPT, "a sender at or above workbit 6 is accepted");

	/* Another namespace: other keys, so nothing authenticates. */
	node_new(&c);
	cc = secure(&c, "other", 0, 0);
	d = seal(cs, &c, T0);
	ok(open_(cc, &d, T0) == OVL_DROP_AUTH, "a datagram from namespace 'public' fails in 'other'");
	ovl_secure_free(cc);
	cc = secure(&c, "publi", 0, 0);
	ok(open_(cc, &d, T0) == OVL_DROP_AUTH, "and in 'publi' (a prefix)");
	ovl_secure_free(cc);
	cc = secure(&c, "public", 0, 0);
	ok(open_(cc, &d, T0) == OVL_ACCEPT, "and opens in 'public'");
	ovl_secure_free(cc);

	ovl_secure_free(cs);
	ovl_secure_free(cw);
	ovl_secure_free(cb);
}

static void test_skew(void)
{
	struct node a, b;
	struct ovl_secure *ca, *cb;
	struct dgram d;

	node_new(&a);
	node_new(&b);
	cb = secure_cfg(&b, (struct ovl_secure_config){ .max_ahead_ns = 60 * SEC });
	ca = secure(&a, "public", 0, 0);
	d = seal(ca, &b, T0 + 61 * SEC);
	ok(open_(cb, &d, T0) == OVL_DROP_SKEW, "with the bound on: 61 s ahead dropped");
	ok(open_(cb, &d, T0 + SEC) == OVL_ACCEPT, "60 s ahead accepted");
	ovl_secure_free(ca);
	ovl_secure_free(cb);

	ca = secure_cfg(&a, (struct ovl_secure_config){ 0 });
	cb = secure_cfg(&b, (struct ovl_secure_config){ 0 });
	d = seal(ca, &b, T0 + 3650 * 86400 * SEC);
	ok(open_(cb, &d, T0) == OVL_ACCEPT, "bound off (default): a clock ten years ahead works");
	ovl_secure_free(ca);
	ovl_secure_free(cb);

	ca = secure_cfg(&a, (struct ovl_secure_config){ 0 });
	{
		uint8_t out[128];

		ok(ovl_secure_seal(ca, b.pk, ping_plain, 10, UINT64_MAX - 1, out, sizeof(out)) > 0,
		   "counter 2^64 - 2 sent");
		ok(ovl_secure_seal(ca, b.pk, ping_plain, 10, UINT64_MAX - 1, out, sizeof(out)) == -EOVERFLOW,
		   "then the counter is exhausted: 2^64 - 1 is never sent");
	}
	ovl_secure_free(ca);
}

/* LRU eviction against a naive model: an array in recency order. */
static void test_eviction(void)
{
	enum { CAP = 8, N = 24 };
	static struct node peers[N];
	struct node b;
	struct ovl_secure *cb, *cp[N];
	int model[CAP], used = 0, i, step, mism = 0;
	uint64_t evictions = 0;
	struct dgram d;

	node_new(&b);
	cb = secure(&b, "public", 0, CAP);
	for (i = 0; i < N; ++i) {
		node_new(&peers[i]);
		cp[i] = secure(&peers[i], "public", 0, 0);
	}

	/* Three peers, capacity 2: the first is evicted, wiped, re-derived. */
	{
		struct ovl_secure *small = secure(&b, "public", 0, 2);
		struct dgram first = seal(cp[0], &b, T0);

		ok(open_(small, &first, T0) == OVL_ACCEPT, "peer 0 in");
		d = seal(cp[1], &b, T0);
		open_(small, &d, T0);
		d = seal(cp[2], &b, T0);
		open_(small, &d, T0);
		ok(ovl_secure_stats(small)->evictions == 1 && !ovl_secure_has_peer(small, peers[0].pk) &&
		   ovl_secure_has_peer(small, peers[1].pk) && ovl_secure_has_peer(small, peers[2].pk),
		   "peer 2 evicts peer 0, the least recently used");
		d = seal(cp[0], &b, T0);
		ok(open_(small, &d, T0) == OVL_ACCEPT && ovl_secure_stats(small)->dh == 4,
		   "peer 0 comes back: keys derived again");
		ovl_secure_forget(small, peers[0].pk);
		ok(!ovl_secure_has_peer(small, peers[0].pk), "forget drops a peer");
		ok(open_(small, &first, T0) == OVL_ACCEPT,
		   "the documented residual: after its state is gone, an old datagram opens once");
		ovl_secure_free(small);
	}

	/* A sender that evicted its receiver's state keeps counting up. */
	{
		struct ovl_secure *small = secure(&b, "public", 0, 1);
		struct ovl_secure *rx = secure(&peers[1], "public", 0, 0);
		struct dgram x = seal(small, &peers[1], T0), y;

		open_(rx, &x, T0);
		seal(small, &peers[2], T0);
		y = seal(small, &peers[1], T0);
		ok(be64_get(y.b + 34) > be64_get(x.b + 34) && open_(rx, &y, T0) == OVL_ACCEPT,
		   "re-created send state starts above the floor, same clock");
		ovl_secure_free(small);
		ovl_secure_free(rx);
	}

	for (step = 0; step < 3000; ++step) {
		int p = (int)(next() % N), j, at = -1;

		d = seal(cp[p], &b, T0 + (uint64_t)step);
		if (open_(cb, &d, T0 + (uint64_t)step) != OVL_ACCEPT)
			++mism;
		for (j = 0; j < used; ++j)
			if (model[j] == p)
				at = j;
		if (at < 0) {
			if (used == CAP) {
				--used;
				++evictions;
			}
			at = used++;
		}
		for (j = at; j > 0; --j)
			model[j] = model[j - 1];
		model[0] = p;
		for (j = 0; j < N; ++j) {
			bool in = false;

			for (int k = 0; k < used; ++k)
				in |= model[k] == j;
			if (in != ovl_secure_has_peer(cb, peers[j].pk))
				++mism;
		}
	}
	ok(mism == 0 && ovl_secure_stats(cb)->evictions == evictions,
	   "3000 random senders into 8 slots: the table is the naive LRU model (%" PRIu64 " evictions)",
	   evictions);
	for (i = 0; i < N; ++i)
		ovl_secure_free(cp[i]);
	ovl_secure_free(cb);
}

/* The secure layer's replay protection against a naive model, the set of
 * accepted counters (doc/protocol.md 5.2): one sender's consecutive
 * datagrams delivered in a random order with duplicates, losses, jumps
 * and stragglers at the window's edge; each must be accepted exactly when
 * the model says its counter is new, and refused as a replay otherwise. */
static void test_window_model(void)
{
	enum { M = 20000, STEPS = 20000, PING_LEN = OVL_OVERHEAD + sizeof(ping_plain) };
	/* Only the PING's bytes of each datagram: 20000 full buffers would
	 * be 25 MB. */
	static uint8_t d[M][PING_LEN];
	static bool seen[M];
	struct dgram one;
	struct node a, b;
	struct ovl_secure *ca, *cb;
	unsigned i, top = 0, mism = 0, acc = 0, step;
	bool any = false;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);
	for (i = 0; i < M; ++i) {
		one = seal(ca, &b, T0);
		if (one.len != PING_LEN)
			abort();
		memcpy(d[i], one.b, PING_LEN);
	}
	for (step = 0; step < STEPS && top < M - 1; ++step) {
		uint64_t r = next();
		unsigned x = (unsigned)((r >> 2) % 1100), age;
		long c;
		bool want;
		enum ovl_drop got;

		switch (r % 4) {
		case 0:		/* behind the top, around the window's edge */
			c = (long)top - x;
			break;
		case 1:		/* the last counter in the window, the first two out */
			age = OVL_REPLAY_WINDOW - 1 + x % 3;
			c = (long)top - (long)age;
			break;
		case 2:		/* a little ahead */
			c = (long)top + 1 + x % 16;
			break;
		default:	/* now and then a jump past the whole window */
			c = (long)top + (x % 64 ? x % 5 : OVL_REPLAY_WINDOW + x % 200);
			break;
		}
		if (c < 0)
			c = 0;
		if (c > M - 1)
			c = M - 1;
		want = !any || (unsigned)c > top ||
		       (top - (unsigned)c < OVL_REPLAY_WINDOW && !seen[c]);
		memcpy(one.b, d[c], PING_LEN);
		one.len = PING_LEN;
		got = open_(cb, &one, T0);
		if (got != (want ? OVL_ACCEPT : OVL_DROP_REPLAY) && mism++ < 5)
			diag("datagram top%+ld: %s, the model says %s", c - (long)top,
			     ovl_drop_name(got), want ? "new" : "replay");
		if (want) {
			seen[c] = true;
			if (!any || (unsigned)c > top)
				top = (unsigned)c;
			any = true;
			++acc;
		}
	}
	ok(mism == 0 && acc > 1000,
	   "%u datagrams in a random order: the secure layer agrees with the naive set (%u accepted)",
	   step, acc);
	ovl_secure_free(ca);
	ovl_secure_free(cb);
}

/* ---- admission of unknown senders (doc/protocol.md 4.1) ---- */

static struct ovl_addr addr_v4(uint8_t net, uint8_t host, uint16_t port)
{
	const uint8_t ip[4] = { 198, 51, net, host };
	struct ovl_addr a;

	ovl_addr_set_v4(&a, ip, port);
	return a;
}

/* A made-up sender key of enough workbit (no private key: what an
 * attacker finds with about 2^bits BLAKE2b). */
static void fake_key(uint8_t key[32], const char *ns, unsigned bits)
{
	do
		randombytes_buf(key, 32);
	while (workbit_of(key, ns, strlen(ns)) < bits);
}

/* A PING as a node sends it (type, nonce, flags, pad_len: 70 bytes on
 * the wire), the smallest datagram that earns a cookie reply. */
static const uint8_t ping70[] = { OVL_MSG_PING, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0 };

static struct dgram seal70(struct ovl_secure *ch, const struct node *to, uint64_t now)
{
	struct dgram d;
	long n = ovl_secure_seal(ch, to->pk, ping70, sizeof(ping70), now, d.b, sizeof(d.b));

	if (n < 0)
		abort();
	d.len = (size_t)n;
	return d;
}

/* A forged PING-sized datagram from key: a header and random bytes. */
static struct dgram forge(const uint8_t key[32], uint64_t counter)
{
	struct dgram d;

	d.len = sizeof(ping70) + OVL_OVERHEAD;
	randombytes_buf(d.b, d.len);
	d.b[0] = OVL_MAGIC;
	d.b[1] = OVL_VERSION;
	memcpy(d.b + 2, key, 32);
	be64_put(d.b + 34, counter);
	return d;
}

struct opened {
	enum ovl_drop d;
	uint8_t reply[OVL_COOKIE_REPLY_LEN];
	size_t reply_len;
};

static struct opened open_at(struct ovl_secure *ch, const struct dgram *d, const struct ovl_addr *a,
			     uint64_t mono_ns)
{
	uint8_t sender[32], plain[OVL_MAX_PLAINTEXT];
	struct opened o;
	struct ovl_secure_src src = { .addr = a, .now_ns = mono_ns, .reply = o.reply };
	size_t len;

	o.d = ovl_secure_open_from(ch, d->b, d->len, &src, T0 + mono_ns, sender, plain,
				   sizeof(plain), &len);
	o.reply_len = src.reply_len;
	return o;
}

static struct dgram as_dgram(const uint8_t *b, size_t len)
{
	struct dgram d;

	memcpy(d.b, b, len);
	d.len = len;
	return d;
}

/* A flood of forged datagrams from made-up keys of enough workbit and
 * spoofed sources costs at most the budget's DH; beyond it they get
 * cookie replies no larger than themselves, as many as the cookie budget
 * allows (the rest are dropped unanswered and counted), and nothing is
 * kept; a member's datagrams open all along, at no DH. */
static void test_flood_budget(void)
{
	enum { K = 200, N = 2000, SOURCES = 100, RATE = 100, BURST = 50, CRATE = 500, CBURST = 100 };
	struct ovl_secure_config cfg = { .workbit = 4, .dh_rate = RATE, .dh_burst = BURST,
					 .cookie_rate = CRATE, .cookie_burst = CBURST };
	static uint8_t keys[K][32];
	struct node b, m;
	struct ovl_secure *cb, *cm;
	struct ovl_addr ma = addr_v4(100, 200, 5000), sa;
	unsigned i, bad_reply = 0, replies = 0, member_ok = 0, loads = 0;
	uint64_t dh, t = 0;
	struct opened o;
	struct dgram d;

	node_new(&b);
	node_with_workbit(&m, "public", 4, true);
	cb = secure_cfg(&b, cfg);
	cm = secure(&m, "public", 0, 0);
	for (i = 0; i < K; ++i)
		fake_key(keys[i], "public", 4);
	d = seal(cm, &b, T0);
	ok(open_at(cb, &d, &ma, 0).d == OVL_ACCEPT, "a member is heard before the flood");
	dh = ovl_secure_stats(cb)->dh;

	/* N datagrams over one second. */
	for (i = 0; i < N; ++i) {
		t = (uint64_t)i * (SEC / N);
		sa = addr_v4(100, (uint8_t)(1 + i % SOURCES), (uint16_t)(1000 + i));
		d = forge(keys[i % K], T0 + i);
		o = open_at(cb, &d, &sa, t);
		if (o.d == OVL_DROP_LOAD || o.d == OVL_DROP_FAILED) {
			++loads;
			if (o.reply_len) {
				++replies;
				if (o.reply_len > d.len)
					++bad_reply;
			}
		}
		if (i % 20 == 0) {
			d = seal(cm, &b, T0 + t);
			if (open_at(cb, &d, &ma, t).d == OVL_ACCEPT)
				++member_ok;
		}
	}
	dh = ovl_secure_stats(cb)->dh - dh;
	ok(dh <= BURST + RATE * (t / SEC + 1),
	   "%u forged datagrams from %u made-up keys cost %" PRIu64 " DH (budget %u + %u/s)", N, K,
	   dh, BURST, RATE);
	ok(loads >= N - dh && replies > 0 && bad_reply == 0,
	   "the other %u were refused, %u with a cookie reply no larger than themselves", loads,
	   replies);
	ok(replies <= CBURST + CRATE * (t / SEC + 1) &&
	   ovl_secure_stats(cb)->cookie_shed == loads - replies,
	   "cookie replies within their budget (%u, at most %u + %u/s), the %" PRIu64
	   " others dropped unanswered and counted", replies, CBURST, CRATE,
	   ovl_secure_stats(cb)->cookie_shed);
	ok(member_ok == N / 20, "a member's %u datagrams all opened during the flood", member_ok);
	for (i = 0; i < K; ++i)
		if (ovl_secure_has_peer(cb, keys[i]))
			break;
	ok(i == K, "no state for any made-up key");
	ovl_secure_free(cb);
	ovl_secure_free(cm);
}

/* The same made-up key from the same address costs one DH, however
 * often it comes (within OVL_SECURE_NEGATIVE_SEC). */
static void test_negative(void)
{
	struct node b;
	struct ovl_secure *cb;
	struct ovl_addr sa = addr_v4(100, 7, 4444), other = addr_v4(100, 8, 4444);
	uint8_t key[32];
	struct opened o;
	struct dgram d;
	uint64_t dh;
	unsigned i, failed = 0;

	node_new(&b);
	cb = secure(&b, "public", 0, 0);
	fake_key(key, "public", 0);
	dh = ovl_secure_stats(cb)->dh;
	d = forge(key, T0);
	ok(open_at(cb, &d, &sa, SEC).d == OVL_DROP_AUTH, "a forgery from a made-up key fails");
	for (i = 0; i < 100; ++i) {
		d = forge(key, T0 + 1 + i);
		o = open_at(cb, &d, &sa, SEC + i);
		failed += o.d == OVL_DROP_FAILED && o.reply_len == OVL_COOKIE_REPLY_LEN;
	}
	ok(ovl_secure_stats(cb)->dh == dh + 1 && failed == 100,
	   "the same made-up key twice (101 times) costs one DH (%" PRIu64 "); the rest get cookies",
	   ovl_secure_stats(cb)->dh - dh);
	d = forge(key, T0 + 200);
	ok(open_at(cb, &d, &other, SEC).d == OVL_DROP_AUTH && ovl_secure_stats(cb)->dh == dh + 2,
	   "from another address it is another pair");
	d = forge(key, T0 + 300);
	ok(open_at(cb, &d, &sa, SEC + OVL_SECURE_NEGATIVE_SEC * SEC).d == OVL_DROP_AUTH,
	   "forgotten after %d s", OVL_SECURE_NEGATIVE_SEC);
	ovl_secure_free(cb);
}

/* Under load a new node is heard once it proves its address with the
 * cookie it was sent; the cookie is good from that address and for that
 * key only, and a cookie reply opens only at whoever sent what it
 * answers. */
static void test_cookie_under_load(void)
{
	struct ovl_secure_config cfg = { .dh_rate = 1, .dh_burst = 1 };
	struct node a, b, c;
	struct ovl_secure *ca, *cb, *cc;
	struct ovl_addr aa = addr_v4(100, 10, 5555), elsewhere = addr_v4(100, 11, 5555);
	uint8_t key[32];
	struct opened o, o2;
	struct dgram d, d2, r;
	uint64_t dh;

	node_new(&a);
	node_new(&b);
	node_new(&c);
	ca = secure(&a, "public", 0, 0);
	cb = secure_cfg(&b, cfg);
	cc = secure(&c, "public", 0, 0);

	/* The budget (one DH) goes to a made-up key. */
	fake_key(key, "public", 0);
	d = forge(key, T0);
	ok(open_at(cb, &d, &elsewhere, SEC).d == OVL_DROP_AUTH, "the one DH of the budget spent");

	d = seal70(ca, &b, T0 + SEC);
	dh = ovl_secure_stats(cb)->dh;
	o = open_at(cb, &d, &aa, SEC);
	ok(o.d == OVL_DROP_LOAD && ovl_secure_stats(cb)->dh == dh, "under load: a new key costs no DH");
	ok(o.reply_len == OVL_COOKIE_REPLY_LEN && o.reply_len <= d.len && o.reply[1] == 0x41,
	   "it gets a cookie reply of %zu bytes for its %zu", o.reply_len, d.len);
	/* One byte shorter than the reply: no answer at all, as no request
	 * may draw more bytes than it had (doc/protocol.md 8.2); every
	 * datagram a node sends a stranger is 70 bytes or more. */
	d2.len = (size_t)ovl_secure_seal(cc, b.pk, ping70, sizeof(ping70) - 1, T0 + SEC, d2.b,
					 sizeof(d2.b));
	o2 = open_at(cb, &d2, &elsewhere, SEC);
	ok(d2.len == OVL_COOKIE_REPLY_LEN - 1 && o2.d == OVL_DROP_LOAD && o2.reply_len == 0 &&
	   ovl_secure_stats(cb)->dh == dh, "a datagram of %zu bytes under load: no DH, no reply (%zu)",
	   d2.len, o2.reply_len);
	r = as_dgram(o.reply, o.reply_len);
	ok(open_(cc, &r, T0) == OVL_DROP_BAD_COOKIE, "the reply is no use to another node");
	r.b[50] ^= 1;
	ok(open_(ca, &r, T0) == OVL_DROP_BAD_COOKIE, "a damaged reply is refused");
	r.b[50] ^= 1;
	ok(open_(ca, &r, T0 + SEC) == OVL_DROP_COOKIE, "the sender takes its cookie");

	d = seal70(ca, &b, T0 + SEC + 1);
	ok(d.len == sizeof(ping70) + OVL_OVERHEAD + OVL_MAC_LEN && d.b[1] == 0x81,
	   "and seals with mac2 (16 bytes more, flag 0x80)");
	o2 = open_at(cb, &d, &elsewhere, SEC + 2);
	ok(o2.d == OVL_DROP_LOAD, "the cookie proves nothing from another address");
	o2 = open_at(cb, &d, &aa, SEC + 2);
	ok(o2.d == OVL_ACCEPT && ovl_secure_stats(cb)->mac2_valid == 1,
	   "from its address it is heard under load");
	/* c proves its address at the same moment: the proven datagrams'
	 * global budget (one DH here) is spent, so it waits a second. */
	d2 = seal70(cc, &b, T0 + SEC + 2);
	o2 = open_at(cb, &d2, &elsewhere, SEC + 2);
	r = as_dgram(o2.reply, o2.reply_len);
	ok(o2.d == OVL_DROP_LOAD && open_(cc, &r, T0 + SEC) == OVL_DROP_COOKIE,
	   "another new node gets its cookie");
	d2 = seal70(cc, &b, T0 + SEC + 3);
	ok(open_at(cb, &d2, &elsewhere, SEC + 3).d == OVL_DROP_LOAD,
	   "proven, but over the proven datagrams' global budget");
	ok(open_at(cb, &d2, &elsewhere, 2 * SEC + 3).d == OVL_ACCEPT, "and heard a second later");
	ovl_secure_forget(cb, c.pk);
	d2 = seal(cb, &a, T0 + SEC + 3);
	ok(open_(ca, &d2, T0 + SEC + 3) == OVL_ACCEPT, "and answered");
	d = seal70(ca, &b, T0 + SEC + 4);
	ok(d.len == sizeof(ping70) + OVL_OVERHEAD && open_at(cb, &d, &aa, SEC + 4).d == OVL_ACCEPT,
	   "once answered, no more mac2");

	/* A cookie proves only the address it was made for. */
	ovl_secure_forget(cb, a.pk);
	d = seal70(cc, &b, T0 + SEC + 5);
	ok(open_at(cb, &d, &aa, SEC + 5).d == OVL_DROP_LOAD, "c's cookie, from a's address, proves nothing");
	ovl_secure_free(ca);
	ovl_secure_free(cb);
	ovl_secure_free(cc);
}

/* A real node whose first datagram was forged in its name, from its own
 * address, is not locked out: it is asked for a cookie and then heard. */
static void test_not_locked_out(void)
{
	struct node a, b;
	struct ovl_secure *ca, *cb;
	struct ovl_addr aa = addr_v4(100, 20, 6000);
	struct opened o;
	struct dgram d, r;

	node_new(&a);
	node_new(&b);
	ca = secure(&a, "public", 0, 0);
	cb = secure(&b, "public", 0, 0);
	d = forge(a.pk, T0);
	ok(open_at(cb, &d, &aa, SEC).d == OVL_DROP_AUTH, "a forgery in a's name from a's address");
	d = seal70(ca, &b, T0 + SEC);
	o = open_at(cb, &d, &aa, SEC + 1);
	ok(o.d == OVL_DROP_FAILED && o.reply_len, "a's own datagram then needs a proof of address");
	r = as_dgram(o.reply, o.reply_len);
	ok(open_(ca, &r, T0 + SEC) == OVL_DROP_COOKIE, "a takes the cookie");
	d = seal70(ca, &b, T0 + SEC + 2);
	ok(open_at(cb, &d, &aa, SEC + 2).d == OVL_ACCEPT, "and is heard at its next datagram");
	ovl_secure_free(ca);
	ovl_secure_free(cb);
}

/* The cookie reply's codec: one length, one version byte, fields back. */
static void test_cookie_reply_codec(void)
{
	struct ovl_cookie_reply r, r2;
	uint8_t buf[OVL_COOKIE_REPLY_LEN + 1], out[OVL_COOKIE_REPLY_LEN];

	randombytes_buf(&r, sizeof(r));
	ovl_cookie_reply_write(buf, &r);
	ok(buf[0] == 0xff && buf[1] == 0x41 && !memcmp(buf + 2, r.sender, 32) &&
	   !memcmp(buf + 34, r.salt, 4) && !memcmp(buf + 38, r.sealed, 32),
	   "cookie reply: ff 41, sender, salt, sealed cookie (70 bytes)");
	ok(ovl_cookie_reply_parse(&r2, buf, OVL_COOKIE_REPLY_LEN) && !memcmp(&r, &r2, sizeof(r)),
	   "parses back");
	ovl_cookie_reply_write(out, &r2);
	ok(!memcmp(out, buf, sizeof(out)), "and writes the same bytes");
	ok(!ovl_cookie_reply_parse(&r2, buf, OVL_COOKIE_REPLY_LEN - 1) &&
	   !ovl_cookie_reply_parse(&r2, buf, OVL_COOKIE_REPLY_LEN + 1), "69 and 71 bytes refused");
	buf[1] = 0x01;
	ok(!ovl_cookie_reply_parse(&r2, buf, OVL_COOKIE_REPLY_LEN), "another byte 1 refused");
	buf[1] = 0x41;
	buf[0] = 0xfe;
	ok(!ovl_cookie_reply_parse(&r2, buf, OVL_COOKIE_REPLY_LEN), "another byte 0 refused");
}

int main(void)
{
	if (crypto_layer_init() < 0)
		return 1;
	test_both_ways();
	test_tamper();
	test_replay_and_order();
	test_restart();
	test_workbit_and_namespace();
	test_skew();
	test_eviction();
	test_window_model();
	test_cookie_reply_codec();
	test_negative();
	test_not_locked_out();
	test_cookie_under_load();
	test_flood_budget();
	return tap_done();
}
