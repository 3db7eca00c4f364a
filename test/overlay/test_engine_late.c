/* Late answers through the overlay engine (issue 19): on a machine whose
 * CPU is overloaded, answers come seconds late, and a member with many
 * relayed members pings its relays many times a second (each member's
 * path pings its relay, every tick while the traffic is quiet).  A relay
 * whose PONGs come late is alive: its PONGs must still be heard, or the
 * path core takes it for silent and replaces it (path.c tick_relayed).
 *
 * Topology:
 *
 *   A 10.0.0.1:51820 (member, NATed) --- B1..B4 192.0.2.1-4:51820
 *                                        (public relays)
 *
 * A's datagrams reach the relays at once; every answer back to A is held
 * for DELAY, the time a starved process takes to read it. */
#include <sodium.h>
#include <string.h>

#include "proto/overlay/kademlia.h"
#include "test/overlay/engine_sim.h"
#include "test/tap.h"

enum { RELAYS = 4, HELD = 1024 };

static struct {
	struct dgram d;
	uint64_t due;
} held[HELD];
static unsigned n_held;

static struct node *node_at(const struct ovl_addr *a)
{
	unsigned i;

	for (i = 0; i < n_nodes; ++i)
		if (ovl_addr_equal(&nodes[i]->addr, a))
			return nodes[i];
	return NULL;
}

/* Moves the queue: datagrams to `late` are held for delay, the others
 * delivered now (their answers queue and move in turn); then the held
 * ones that are due reach `late`. */
static void pump(struct node *late, uint64_t delay)
{
	unsigned i;

	while (qn) {
		struct dgram d = q[0];
		struct node *to;

		memmove(&q[0], &q[1], (qn - 1) * sizeof(q[0]));
		--qn;
		if (ovl_addr_equal(&d.to, &late->addr)) {
			if (n_held < HELD) {
				held[n_held].d = d;
				held[n_held].due = now + delay;
				++n_held;
			}
			continue;
		}
		to = node_at(&d.to);
		if (to)
			input(to, &d.src, d.buf, d.len);
	}
	for (i = 0; i < n_held;) {
		if (held[i].due > now) {
			++i;
			continue;
		}
		input(late, &held[i].d.src, held[i].d.buf, held[i].d.len);
		held[i] = held[--n_held];
	}
}

/* A pings the relays in turn, pings_per_s a second for secs seconds, its
 * answers `delay` late: how long ago at the end A last heard relay 0. */
static uint64_t heard_ago(unsigned pings_per_s, uint64_t delay, unsigned secs,
			  uint64_t *unsolicited, uint64_t *pings_sent)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct node *b[RELAYS];
	const struct kad_entry *ke;
	uint64_t end, step = SEC / pings_per_s, ago, tx;
	unsigned i, k = 0;

	for (i = 0; i < RELAYS; ++i)
		b[i] = node_new(v4(192, 0, 2, (uint8_t)(i + 1), 51820), true, true, 1000, 64);
	/* Acquainted on a fast network first. */
	for (i = 0; i < RELAYS; ++i)
		ovl_engine_ping(a->e, b[i]->pub, &b[i]->addr, NULL, NULL, tnow());
	run(NULL, false);
	n_held = 0;
	tx = ovl_engine_stats(a->e)->tx;
	end = now + (uint64_t)secs * SEC;
	while (now < end) {
		now += step;
		ovl_engine_ping(a->e, b[k]->pub, &b[k]->addr, NULL, NULL, tnow());
		k = (k + 1) % RELAYS;
		pump(a, delay);
	}
	ke = kad_table_find(ovl_engine_table(a->e), b[0]->pub);
	ago = ke ? now - ke->last_seen_ns : UINT64_MAX;
	*unsolicited = ovl_engine_stats(a->e)->dropped_unsolicited;
	/* A sends nothing but these PINGs and its PONGs to the relays'
	 * PINGs back (none: they validated it while acquainted). */
	*pings_sent = ovl_engine_stats(a->e)->tx - tx;
	net_reset();
	n_held = 0;
	return ago;
}

static void test_late_pongs(void)
{
	uint64_t ago, drops, sent;

	ago = heard_ago(10, 3 * SEC, 60, &drops, &sent);
	ok(ago <= 4 * SEC, "10 PINGs a second, PONGs 3 s late: relay heard %llu ms ago (%llu dropped)",
	   (unsigned long long)(ago / MS), (unsigned long long)drops);
	ago = heard_ago(50, 3 * SEC, 60, &drops, &sent);
	ok(ago <= 4 * SEC, "50 PINGs a second, PONGs 3 s late: relay heard %llu ms ago (%llu dropped)",
	   (unsigned long long)(ago / MS), (unsigned long long)drops);
	/* Asked 50 times a second for 4 relays: one PING per relay and half
	 * second left, whatever the number of askers. */
	ok(sent <= 60 * RELAYS * 2 + RELAYS,
	   "... and %llu PINGs went in 60 s (asked for %u; at most 2 a second per relay)",
	   (unsigned long long)sent, 50 * 60);
}

/* A member asks a relay for a channel to M1 once, then for one to M2 at
 * every tick and half second (the channel is silent) while the answers
 * lag: the answer for M1, when it comes, still counts. */
static void test_late_bound(void)
{
	struct node *a = node_new(v4(10, 0, 0, 1, 51820), false, false, 0, 0);
	struct bare x;
	struct ovl_msg m;
	const uint8_t m1[32] = { 0x31 }, m2[32] = { 0x32 };
	unsigned i;

	bare_new(&x, v4(192, 0, 2, 9, 51820));
	ovl_engine_channel_bind(a->e, x.pub, &x.addr, m1, tnow());
	for (i = 0; i < 40; ++i) {
		now += 100 * MS;
		ovl_engine_channel_bind(a->e, x.pub, &x.addr, m2, tnow());
	}
	qn = 0;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BOUND;
	memcpy(m.u.channel_bound.dst, m1, 32);
	m.u.channel_bound.status = OVL_CHANNEL_OK;
	m.u.channel_bound.channel = 7;
	m.u.channel_bound.lifetime_s = OVL_CHAN_LIFETIME_S;
	bare_send(&x, a, &m);
	ok(a->channels == 1 && a->last_channel == 7 && ovl_engine_stats(a->e)->dropped_unsolicited == 0,
	   "a CHANNEL_BOUND 4 s late, after 40 asks for another channel, counts (%llu dropped)",
	   (unsigned long long)ovl_engine_stats(a->e)->dropped_unsolicited);
	ovl_secure_free(x.sec);
	net_reset();
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	test_late_pongs();
	test_late_bound();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
