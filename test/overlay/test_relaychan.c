/* A relay's channel table (proto/overlay/relaychan.c) and the relay
 * channel header (codec.c, doc/protocol.md 9.1): numbers stable across
 * renewals and distinct per pair and per table key; lookups only from
 * the bound address and only while the binding lives; a renewal from a
 * new address moves it; expiry and reuse; a full probe range refuses;
 * 20,000 random bindings against a naive model of what must be live;
 * the header's every malformed form refused. */
#include "proto/overlay/codec.h"
#include "proto/overlay/peerfilter.h"
#include "proto/overlay/relaychan.h"
#include "test/tap.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * SEC)
#define LIFE (60 * SEC)

/* test/tap.h's xorshift64*, a fixed seed: every run the same sequence. */
#define rnd tap_rand

/* Keys that differ in their last byte only. */
static void fill_key(uint8_t key[OVL_KEY_LEN], unsigned seed)
{
	memset(key, 0x5a, OVL_KEY_LEN);
	key[OVL_KEY_LEN - 2] = (uint8_t)(seed >> 8);
	key[OVL_KEY_LEN - 1] = (uint8_t)seed;
}

static struct ovl_addr addr4(uint8_t last, uint16_t port)
{
	struct ovl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.port = port;
	a.ip[0] = 198;
	a.ip[1] = 51;
	a.ip[2] = 100;
	a.ip[3] = last;
	return a;
}

static void test_basics(void)
{
	static const uint8_t hk[16] = { 1, 2, 3 }, hk2[16] = { 9 };
	struct ovl_chantab t, t2;
	uint8_t a[32], b[32], c[32];
	struct ovl_addr aa = addr4(1, 51820), moved = addr4(1, 40000), other = addr4(2, 51820);
	enum ovl_chan_miss why = 0;
	struct ovl_chan *e, *e2;
	bool fresh = false;
	uint32_t id;

	ok(ovl_chantab_init(&t, 100, hk) == -EINVAL, "slots must be a power of two");
	ok(ovl_chantab_init(&t, 4, hk) == -EINVAL, "slots below the probe range refused");
	ok(ovl_chantab_init(&t, 64, hk) == 0, "init 64 slots");
	ok(ovl_chantab_init(&t2, 64, hk2) == 0, "a second table, another key");
	fill_key(a, 1);
	fill_key(b, 2);
	fill_key(c, 3);
	id = ovl_chantab_number(&t, a, b);
	ok(id != 0, "a number is never 0");
	ok(ovl_chantab_number(&t, b, a) != id, "the pair is ordered: b->a has another number");
	ok(ovl_chantab_number(&t, a, c) != id, "a->c has another number");
	ok(ovl_chantab_number(&t2, a, b) != id, "another table key gives another number");

	ok(!ovl_chantab_lookup(&t, id, &aa, T0, &why) && why == OVL_CHAN_UNKNOWN,
	   "nothing bound yet: unknown");
	e = ovl_chantab_bind(&t, a, b, &aa, T0, LIFE, &fresh);
	ok(e && e->id == id && fresh, "bind a->b: the pair's number, fresh");
	ok(e && !memcmp(e->src, a, 32) && !memcmp(e->dst, b, 32), "the entry names source and destination");
	ok(ovl_chantab_lookup(&t, id, &aa, T0 + SEC, &why) == e, "found from the bound address");
	ok(!ovl_chantab_lookup(&t, id, &other, T0 + SEC, &why) && why == OVL_CHAN_WRONG_SOURCE,
	   "another IP: refused (wrong source)");
	ok(!ovl_chantab_lookup(&t, id, &moved, T0 + SEC, &why) && why == OVL_CHAN_WRONG_SOURCE,
	   "another port: refused (wrong source)");
	ok(!ovl_chantab_lookup(&t, id ^ 1, &aa, T0 + SEC, &why) && why == OVL_CHAN_UNKNOWN,
	   "another number: unknown");
	ok(!ovl_chantab_lookup(&t, 0, &aa, T0 + SEC, &why) && why == OVL_CHAN_UNKNOWN, "number 0: unknown");

	e->checked_ns = 77;
	e2 = ovl_chantab_bind(&t, a, b, &moved, T0 + 30 * SEC, LIFE, &fresh);
	ok(e2 == e && !fresh && e2->id == id, "renewal: same entry, same number, not fresh");
	ok(e2 && e2->checked_ns == 77, "renewal keeps the owner's cache");
	ok(!ovl_chantab_lookup(&t, id, &aa, T0 + 31 * SEC, &why) && why == OVL_CHAN_WRONG_SOURCE,
	   "after a renewal from a new address the old one is refused");
	ok(ovl_chantab_lookup(&t, id, &moved, T0 + 31 * SEC, &why) == e, "and the new one accepted");
	ok(ovl_chantab_lookup(&t, id, &moved, T0 + 30 * SEC + LIFE - 1, &why) == e,
	   "alive until its lifetime after the renewal");
	ok(!ovl_chantab_lookup(&t, id, &moved, T0 + 30 * SEC + LIFE, &why) && why == OVL_CHAN_UNKNOWN,
	   "expired at its lifetime: unknown");
	ok(ovl_chantab_live(&t, T0 + 30 * SEC + LIFE) == 0, "nothing live after expiry");
	e2 = ovl_chantab_bind(&t, a, b, &aa, T0 + 200 * SEC, LIFE, &fresh);
	ok(e2 && fresh && e2->id == id && e2->checked_ns == 0, "bound again after expiry: fresh, cache cleared");
	ovl_chantab_unbind(e2);
	ok(!ovl_chantab_lookup(&t, id, &aa, T0 + 201 * SEC, &why), "unbind ends it at once");
	ovl_chantab_free(&t);
	ovl_chantab_free(&t2);
}

/* Every binding of a full probe range refused; room again on expiry. */
static void test_full(void)
{
	static const uint8_t hk[16] = { 7 };
	struct ovl_chantab t;
	struct ovl_addr aa = addr4(9, 1000);
	uint8_t src[32], dst[32];
	unsigned bound = 0, refused = 0, i;
	bool fresh;

	ok(ovl_chantab_init(&t, 8, hk) == 0, "a table of 8 slots");
	fill_key(src, 100);
	for (i = 0; i < 40; ++i) {
		fill_key(dst, 200 + i);
		if (ovl_chantab_bind(&t, src, dst, &aa, T0, LIFE, &fresh))
			++bound;
		else
			++refused;
	}
	ok(bound == 8 && refused == 32, "8 slots: 8 bound, 32 refused (got %u, %u)", bound, refused);
	ok(ovl_chantab_live(&t, T0) == 8, "8 live");
	fill_key(dst, 999);
	ok(ovl_chantab_bind(&t, src, dst, &aa, T0 + LIFE, LIFE, &fresh) != NULL,
	   "once they expire, a new binding finds room");
	ovl_chantab_free(&t);
}

/* Random bindings, renewals, lookups and time steps against a model that
 * remembers every binding's address and expiry: a lookup succeeds
 * exactly when the model says the pair is live from that address (the
 * table may refuse a binding when full: the model then keeps nothing). */
struct model {
	bool used;
	struct ovl_addr addr;
	uint64_t expires;
	uint32_t id;
};

static void test_model(void)
{
	static const uint8_t hk[16] = { 0x42 };
	enum { KEYS = 8, ROUNDS = 20000 };
	static struct model m[KEYS][KEYS];
	struct ovl_chantab t;
	uint64_t now = T0;
	unsigned r, bad = 0, lookups = 0, hits = 0, refused = 0;

	/* 64 pairs in 32 slots: some bindings must be refused. */
	ok(ovl_chantab_init(&t, 32, hk) == 0, "a table of 32 slots");
	for (r = 0; r < ROUNDS; ++r) {
		unsigned s = (unsigned)(rnd() % KEYS), d = (unsigned)(rnd() % KEYS), op = (unsigned)(rnd() % 10);
		struct ovl_addr a = addr4((uint8_t)(rnd() % 2), 1000);
		uint8_t sk[32], dk[32];
		enum ovl_chan_miss why;
		struct ovl_chan *e;
		bool fresh, want;

		fill_key(sk, s);
		fill_key(dk, 0x100 + d);
		now += rnd() % (2 * SEC);
		if (op < 3) {
			e = ovl_chantab_bind(&t, sk, dk, &a, now, LIFE, &fresh);
			if (!e) {
				/* Only a pair that is not live may be refused
				 * (a live one is found and renewed). */
				++refused;
				if (m[s][d].used && now < m[s][d].expires)
					++bad;
				continue;
			}
			if (e->id != ovl_chantab_number(&t, sk, dk) ||
			    fresh != !(m[s][d].used && now < m[s][d].expires))
				++bad;
			m[s][d] = (struct model){ true, a, now + LIFE, e->id };
		} else {
			uint32_t id = ovl_chantab_number(&t, sk, dk);

			want = m[s][d].used && now < m[s][d].expires &&
			       !memcmp(&m[s][d].addr, &a, sizeof(a));
			e = ovl_chantab_lookup(&t, id, &a, now, &why);
			++lookups;
			hits += e != NULL;
			if ((e != NULL) != want || (e && (memcmp(e->src, sk, 32) || memcmp(e->dst, dk, 32))))
				++bad;
		}
	}
	ok(bad == 0, "%u rounds: %u lookups (%u hits), %u refusals, %u disagreements with the model",
	   ROUNDS, lookups, hits, refused, bad);
	ok(hits > 100 && lookups - hits > 100 && refused > 20, "every outcome exercised");
	ovl_chantab_free(&t);
}

/* Issue 17, finding 7: a table of 4096 with the relay's quotas (256 per
 * key, 512 per address).  One key binding 4096 destinations, then 2,000
 * keys from one address binding 3 each in one clock tick, leave room:
 * another member's 200 bindings are all granted, and the flooders hold no more than their
 * quotas, their own oldest bindings ended first. */
static void test_quotas(void)
{
	static const uint8_t hk[16] = { 0x17 };
	struct ovl_addr flood = addr4(66, 1000), member = addr4(7, 51820);
	uint8_t src[32], dst[32], mine[32];
	struct ovl_chantab t;
	unsigned i, j, granted = 0, by_flood = 0;
	uint64_t now = T0;
	enum ovl_chan_miss why;
	bool fresh;

	ok(ovl_chantab_init(&t, 4096, hk) == 0, "a table of 4096");
	ovl_chantab_set_quotas(&t, 256, 512);
	fill_key(src, 0x4000);
	for (i = 0; i < 4096; ++i) {
		fill_key(dst, 0x8000 + i);
		ovl_chantab_bind(&t, src, dst, &flood, now + i, LIFE, &fresh);
	}
	ok(t.walks <= 4096, "one walk of the table per fresh binding at most: %" PRIu64
	   " for 4096 (each over the key's quota)", t.walks);
	ok(ovl_chantab_live(&t, now + 4096) <= 256, "one key binding 4096: %zu live (quota 256)",
	   ovl_chantab_live(&t, now + 4096));
	fill_key(dst, 0x8000 + 4095);
	ok(ovl_chantab_lookup(&t, ovl_chantab_number(&t, src, dst), &flood, now + 4096, &why) != NULL,
	   "its newest binding lives");
	fill_key(dst, 0x8000);
	ok(ovl_chantab_lookup(&t, ovl_chantab_number(&t, src, dst), &flood, now + 4096, &why) == NULL,
	   "its oldest one was ended for it");
	now += 4096;
	for (i = 0; i < 2000; ++i) {
		struct ovl_addr a = flood;

		a.port = (uint16_t)(2000 + i);
		fill_key(src, 0x1000 + i);
		for (j = 0; j < 3; ++j) {
			fill_key(dst, 0x9000 + j);
			/* All in one clock tick, as a burst can be. */
			ovl_chantab_bind(&t, src, dst, &a, now, LIFE, &fresh);
		}
	}
	for (i = 0; i < 4096; ++i) {
		const struct ovl_chan *c = ovl_probetab_at(&t.tab, i);

		by_flood += c->id && now < c->expires_ns && c->src_addr.ip[3] == 66;
	}
	ok(by_flood <= 512, "2,000 keys from one address binding 3 each: %u live (quota 512)", by_flood);
	fill_key(mine, 0x7777);
	for (i = 0; i < 200; ++i) {
		fill_key(dst, 0xa000 + i);
		granted += ovl_chantab_bind(&t, mine, dst, &member, now, LIFE, &fresh) != NULL;
	}
	ok(granted == 200, "after both floods, a member's 200 bindings are granted (%u)", granted);
	ovl_chantab_free(&t);
}

/* The table full from several addresses (net-relayopen found that eight
 * addresses at their quota of 512 fill 4096): a binding from an address
 * with fewer channels takes the slot of one from the heaviest address of
 * its probe range, so a member is granted; among equals (every address
 * holding one) nothing is taken and the binding is refused. */
static void test_fair_share(void)
{
	static const uint8_t hk[16] = { 0x27 };
	struct ovl_addr member = addr4(7, 51820), other = addr4(8, 51820);
	uint8_t src[32], dst[32], mine[32];
	struct ovl_chantab t;
	unsigned a, k, d, granted = 0, live_member = 0, i;
	uint64_t now = T0, walks;
	bool fresh;

	ok(ovl_chantab_init(&t, 4096, hk) == 0, "a table of 4096");
	ovl_chantab_set_quotas(&t, 256, 512);
	for (a = 0; a < 8; ++a) {
		struct ovl_addr at = addr4((uint8_t)(100 + a), 4000);

		for (k = 0; k < 3; ++k) {
			fill_key(src, 0x1000 + a * 16 + k);
			for (d = 0; d < 200; ++d) {
				fill_key(dst, 0x8000 + d);
				ovl_chantab_bind(&t, src, dst, &at, now, LIFE, &fresh);
			}
		}
	}
	ok(ovl_chantab_live(&t, now) >= 3600, "eight addresses fill the table: %zu live of 4096 (ranges full)",
	   ovl_chantab_live(&t, now));
	fill_key(mine, 0x7777);
	walks = t.walks;
	for (d = 0; d < 20; ++d) {
		fill_key(dst, 0xa000 + d);
		granted += ovl_chantab_bind(&t, mine, dst, &member, now, LIFE, &fresh) != NULL;
	}
	ok(granted == 20, "a member's 20 bindings are granted in the full table (%u)", granted);
	ok(t.walks - walks == 20, "one walk of the table for each, quotas and fair share together (%" PRIu64
	   " for 20)", t.walks - walks);
	fill_key(src, 0x6666);
	fill_key(dst, 0xb000);
	ok(ovl_chantab_bind(&t, src, dst, &other, now, LIFE, &fresh) != NULL,
	   "and another member's first");
	for (i = 0; i < 4096; ++i) {
		const struct ovl_chan *c = ovl_probetab_at(&t.tab, i);

		live_member += c->id && now < c->expires_ns && c->src_addr.ip[3] == 7;
	}
	ok(live_member == 20, "none of the member's bindings was taken by the other (%u)", live_member);
	ovl_chantab_free(&t);

	/* 4096 addresses with one channel each: no address is heavier than a
	 * newcomer would be, nothing is taken. */
	ok(ovl_chantab_init(&t, 4096, hk) == 0, "a new table of 4096");
	ovl_chantab_set_quotas(&t, 256, 512);
	for (i = 0; i < 8192; ++i) {
		struct ovl_addr at = addr4((uint8_t)i, (uint16_t)(1 + i / 256));

		at.ip[2] = (uint8_t)(i >> 8);
		fill_key(src, 0x2000 + i);
		fill_key(dst, 0x9000);
		ovl_chantab_bind(&t, src, dst, &at, now, LIFE, &fresh);
	}
	{
		size_t before = ovl_chantab_live(&t, now);
		unsigned refused = 0;

		for (i = 0; i < 64; ++i) {
			struct ovl_addr at = addr4((uint8_t)i, 9);

			at.ip[1] = 52;
			fill_key(src, 0x5000 + i);
			refused += ovl_chantab_bind(&t, src, dst, &at, now, LIFE, &fresh) == NULL;
		}
		ok(refused > 0 && ovl_chantab_live(&t, now) == before + 64 - refused,
		   "one channel an address everywhere: %u of 64 newcomers refused, none evicted (%zu live)",
		   refused, ovl_chantab_live(&t, now));
	}
	ovl_chantab_free(&t);
}

/* The filter of PEERS: every key added is found; strangers pass at about
 * the stated rate; another salt, other bits. */
static void test_peerfilter(void)
{
	static const uint8_t salt[16] = { 0x5a, 1 }, salt2[16] = { 0x5a, 2 };
	struct ovl_peers p, p2;
	uint8_t key[32];
	unsigned i, missing = 0, passed = 0;

	ok(ovl_peerfilter_hashes(500) == 11 && ovl_peerfilter_hashes(1) == OVL_PEERS_MAX_HASHES &&
	   ovl_peerfilter_hashes(10000) == 1, "hashes: 11 for 500 keys, 16 at most, 1 at least");
	ovl_peerfilter_init(&p, 500, salt);
	ovl_peerfilter_init(&p2, 500, salt2);
	fill_key(key, 1);
	ok(!ovl_peerfilter_has(&p, key), "an empty filter holds nothing");
	for (i = 0; i < 500; ++i) {
		fill_key(key, i);
		key[0] = 0x11;
		ovl_peerfilter_add(&p, key);
		ovl_peerfilter_add(&p2, key);
	}
	for (i = 0; i < 500; ++i) {
		fill_key(key, i);
		key[0] = 0x11;
		missing += !ovl_peerfilter_has(&p, key);
	}
	ok(missing == 0, "all 500 keys added are found");
	for (i = 0; i < 100000; ++i) {
		fill_key(key, i);
		key[0] = 0x22;
		key[1] = (uint8_t)(i >> 16);
		passed += ovl_peerfilter_has(&p, key);
	}
	ok(passed < 100, "100,000 strangers: %u pass (stated: about 1 in 2,600)", passed);
	ok(memcmp(p.filter, p2.filter, sizeof(p.filter)), "another salt sets other bits");
	memset(&p, 0, sizeof(p));
	ok(!ovl_peerfilter_has(&p, key), "a filter never set (0 hashes) holds nothing");
}

static void test_header(void)
{
	uint8_t buf[64], dir = 0;
	uint32_t ch = 0;

	memset(buf, 0, sizeof(buf));
	ovl_chan_write(buf, OVL_CHAN_TO_RELAY, 0xa1b2c3d4);
	ok(buf[0] == 0xfe && buf[1] == 1 && buf[2] == 0 && buf[3] == 0 && buf[4] == 0xa1 &&
	   buf[5] == 0xb2 && buf[6] == 0xc3 && buf[7] == 0xd4, "header bytes: fe 01 00 00, channel big-endian");
	buf[8] = 4;
	ok(ovl_chan_parse(buf, 12, &dir, &ch) == 8 && dir == OVL_CHAN_TO_RELAY && ch == 0xa1b2c3d4,
	   "parsed back");
	ok(ovl_chan_parse(buf, 11, &dir, &ch) == 0, "shorter than header + 4: refused");
	buf[8] = 0;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "inner type 0 refused");
	buf[8] = 5;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "inner type 5 refused");
	buf[8] = 0xff;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "an overlay datagram inside refused");
	buf[8] = 1;
	buf[1] = 3;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "unknown direction refused");
	buf[1] = 0;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "direction 0 refused");
	ovl_chan_write(buf, OVL_CHAN_TO_RELAY, 0);
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "to a relay with channel 0 refused");
	ovl_chan_write(buf, OVL_CHAN_FROM_RELAY, 5);
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "from a relay with a channel number refused");
	ovl_chan_write(buf, OVL_CHAN_FROM_RELAY, 0);
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 8 && dir == OVL_CHAN_FROM_RELAY && ch == 0,
	   "from a relay, channel 0: accepted");
	buf[2] = 7;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 8, "reserved bytes are ignored");
	buf[0] = 0xff;
	ok(ovl_chan_parse(buf, 40, &dir, &ch) == 0, "another first byte refused");
}

int main(void)
{
	test_basics();
	test_full();
	test_model();
	test_quotas();
	test_fair_share();
	test_peerfilter();
	test_header();
	return tap_done();
}
