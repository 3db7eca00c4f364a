/* dhtsim: N instances of the real Kademlia core (proto/overlay/kademlia.c
 * and lookup.c, unchanged) in one process, on a virtual clock and a
 * virtual network, driven by one event queue (a binary heap).
 *
 *      boot0  boot1  boot2          the bootstrap nodes, up at t = 0
 *        \      |      /
 *   node3 ... nodeN-1               join one by one over join_span,
 *                                   knowing only the bootstrap nodes
 *   every link: one-way latency drawn once per pair, uniform in
 *   [lat_min, lat_max] ms, plus 0-5% jitter per datagram; every datagram
 *   lost with probability loss.
 *
 * Scenario:
 *   1. join: the bootstrap nodes at t = 0, the others staggered over
 *      join_span; each bootstraps (lookup of its own ID, then a refresh of
 *      every bucket) through the real driver, kad_lookups_tick().
 *   2. settle for `settle` minutes: liveness checks and bucket refreshes
 *      run as they would in the daemon.
 *   3. M lookups of random live targets from random live nodes, spread
 *      over lookup_span; success = the target itself answered.
 *   4. churn: `churn` percent of the non-bootstrap nodes leave silently
 *      and as many new nodes join, all at random moments in churn_span.
 *   5. right after, M more lookups of live targets.
 * The figures are printed as TAP diagnostics, the thresholds as TAP
 * tests.  The run is deterministic for a given seed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "proto/overlay/kademlia.h"
#include "proto/overlay/lookup.h"
#include "test/tap.h"

#define MSEC 1000000ull
#define SEC (1000 * MSEC)
#define MIN (60 * SEC)

/* ---- randomness: xoshiro256**, seeded by splitmix64 ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t res = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return res;
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; ++i) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		r->s[i] = z ^ (z >> 31);
	}
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static void rng_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t v = rng_next(ctx);
		size_t n = len < 8 ? len : 8;

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* ---- configuration ---- */

struct config {
	unsigned nodes, boot, lookups;
	double churn;		/* share of the non-bootstrap nodes replaced */
	double loss;		/* per datagram */
	unsigned lat_min_ms, lat_max_ms;
	uint64_t join_span, settle, lookup_span, churn_span;
	uint64_t seed;
	double min_success, min_success_churn;
	double max_hops_p95;
	bool verbose;
};

/* ---- the world ---- */

enum node_state { NODE_OFF, NODE_UP, NODE_GONE };

struct sim;

struct node {
	struct sim *sim;
	uint32_t id;
	uint8_t state;		/* enum node_state */
	uint8_t key[KAD_KEY_LEN];
	uint64_t tick_at;	/* the pending EV_TICK, UINT64_MAX if none */
	struct kad_table t;
	struct kad_lookups ls;
};

enum ev_kind { EV_TICK, EV_MSG, EV_JOIN, EV_LEAVE, EV_LOOKUP };

struct ev {
	uint64_t at;
	uint64_t seq;
	uint32_t kind;
	uint32_t arg;		/* node, or message slot */
};

enum msg_type { MSG_PING, MSG_PONG, MSG_FIND, MSG_NODES };

struct msg {
	uint32_t from, to;
	uint8_t type, n;
	uint64_t txid;
	union {
		uint8_t target[KAD_KEY_LEN];
		uint32_t nodes[KAD_K_MAX];
	} u;
	uint32_t next_free;
};

struct phase_stats {
	unsigned started, done, found, seen;
	uint64_t queries, answers, timeouts;
	unsigned hops_hist[32];
	unsigned rounds_max;
	uint64_t *lat_ms;	/* latency of the found ones */
	unsigned n_lat;
};

struct sim {
	struct config cfg;
	struct rng rng;		/* the scenario's choices and the network */
	struct rng node_rng;	/* handed to every node's core */
	struct node *node;
	uint32_t n_nodes, cap_nodes;
	uint64_t now;
	struct ev *heap;
	size_t n_heap, cap_heap;
	uint64_t seq;
	struct msg *msg;
	uint32_t n_msg, cap_msg, free_msg;
	struct kad_params kp;
	struct kad_lookup_params lp;
	uint32_t boot_ids[KAD_BOOT_MAX];
	/* counters */
	uint64_t sent[4], lost, dead_drops, events;
	int phase;		/* -1: no measurement */
	struct phase_stats ph[2];
	uint32_t *up;		/* the nodes up, for random picks */
	uint32_t n_up;
};

static const struct kad_lookup_ops sim_ops;

/* ---- event queue ---- */

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void ev_push(struct sim *s, uint64_t at, uint32_t kind, uint32_t arg)
{
	size_t i;

	if (s->n_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? s->cap_heap * 2 : 1 << 16;
		s->heap = realloc(s->heap, s->cap_heap * sizeof(*s->heap));
		if (!s->heap) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
	i = s->n_heap++;
	s->heap[i] = (struct ev){.at = at, .seq = s->seq++, .kind = kind, .arg = arg};
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct ev tmp;

		if (!ev_before(&s->heap[i], &s->heap[p]))
			break;
		tmp = s->heap[i];
		s->heap[i] = s->heap[p];
		s->heap[p] = tmp;
		i = p;
	}
}

static struct ev ev_pop(struct sim *s)
{
	struct ev top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ev tmp;

		if (l < s->n_heap && ev_before(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->n_heap && ev_before(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = tmp;
		i = m;
	}
	return top;
}

/* ---- the network ---- */

static struct ovl_addr addr_of(uint32_t i)
{
	struct ovl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.port = 51820;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(i >> 16);
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	return a;
}

static uint32_t id_of(const struct ovl_addr *a)
{
	return (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
}

/* One-way latency of the link a-b: drawn once per pair (a hash of the
 * pair and the seed), uniform in [lat_min, lat_max]. */
static uint64_t link_latency(const struct sim *s, uint32_t a, uint32_t b)
{
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint64_t z = (lo << 32 | hi) ^ s->cfg.seed * 0x9e3779b97f4a7c15ull;
	unsigned span = s->cfg.lat_max_ms - s->cfg.lat_min_ms + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (s->cfg.lat_min_ms + z % span) * MSEC;
}

static struct msg *msg_alloc(struct sim *s, uint32_t *slot)
{
	if (s->free_msg != UINT32_MAX) {
		*slot = s->free_msg;
		s->free_msg = s->msg[*slot].next_free;
	} else {
		if (s->n_msg == s->cap_msg) {
			s->cap_msg = s->cap_msg ? s->cap_msg * 2 : 1 << 14;
			s->msg = realloc(s->msg, s->cap_msg * sizeof(*s->msg));
			if (!s->msg) {
				printf("Bail out! out of memory\n");
				exit(1);
			}
		}
		*slot = s->n_msg++;
	}
	return &s->msg[*slot];
}

static void msg_free(struct sim *s, uint32_t slot)
{
	s->msg[slot].next_free = s->free_msg;
	s->free_msg = slot;
}

/* Sends m (already filled) from m->from to m->to: lost, or delivered
 * after the link's latency and a little jitter. */
static void net_send(struct sim *s, uint32_t slot)
{
	struct msg *m = &s->msg[slot];
	uint64_t lat;

	++s->sent[m->type];
	if (rng_unit(&s->rng) < s->cfg.loss) {
		++s->lost;
		msg_free(s, slot);
		return;
	}
	lat = link_latency(s, m->from, m->to);
	lat += rng_below(&s->rng, lat / 20 + 1);
	ev_push(s, s->now + lat, EV_MSG, slot);
}

static void send_simple(struct sim *s, uint32_t from, uint32_t to, uint8_t type)
{
	uint32_t slot;
	struct msg *m = msg_alloc(s, &slot);

	m->from = from;
	m->to = to;
	m->type = type;
	m->n = 0;
	m->txid = 0;
	net_send(s, slot);
}

/* ---- the glue the daemon would have ---- */

/* After any event at a node: make sure a tick is queued by its deadline.
 * A tick queued for a later time stays in the heap and is skipped when
 * it comes up (tick_at no longer matches). */
static void node_schedule(struct sim *s, struct node *nd)
{
	uint64_t d = kad_lookups_deadline(&nd->ls);

	if (nd->state != NODE_UP || d >= nd->tick_at)
		return;
	if (d < s->now)
		d = s->now;
	nd->tick_at = d;
	ev_push(s, d, EV_TICK, nd->id);
}

static void op_find(void *ctx, const struct kad_contact *to, uint64_t txid,
		    const uint8_t target[KAD_KEY_LEN])
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	uint32_t slot;
	struct msg *m = msg_alloc(s, &slot);

	m->from = nd->id;
	m->to = id_of(&to->addr);
	m->type = MSG_FIND;
	m->n = 0;
	m->txid = txid;
	memcpy(m->u.target, target, KAD_KEY_LEN);
	net_send(s, slot);
}

static void op_ping(void *ctx, const struct kad_contact *to)
{
	struct node *nd = ctx;

	send_simple(nd->sim, nd->id, id_of(&to->addr), MSG_PING);
}

/* -v: why a lookup missed: how many live nodes hold the target in a
 * bucket (and could have named it), and how the lookup ended. */
static void explain_miss(struct sim *s, const struct node *nd, const struct kad_lookup_result *r)
{
	unsigned knowers = 0, heard = 0, closer = 0, target = UINT32_MAX;

	for (uint32_t i = 0; i < s->n_up; ++i) {
		const struct node *x = &s->node[s->up[i]];
		const struct kad_entry *e = kad_table_find(&x->t, r->target);

		if (!memcmp(x->key, r->target, KAD_KEY_LEN))
			target = x->id;
		if (!e)
			continue;
		++knowers;
		if ((e->flags & KAD_F_HEARD) && !e->fails)
			++heard;
	}
	for (size_t i = 0; i < r->n_closest; ++i)
		if (kad_table_find(&s->node[id_of(&r->closest[i].addr)].t, r->target))
			++closer;
	diag("miss: node %u -> %u: end %u, named %d, sent %u, replies %u, timeouts %u, "
	     "hops %u; %u nodes hold it (%u heard), %u of the %zu closest that answered do",
	     nd->id, target, r->end, r->seen, r->sent, r->replies, r->timeouts, r->hops,
	     knowers, heard, closer, r->n_closest);
}

static void op_done(void *ctx, const struct kad_lookup_result *r)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	struct phase_stats *ph;

	if (r->kind != KAD_KIND_USER || s->phase < 0)
		return;
	ph = &s->ph[s->phase];
	++ph->done;
	ph->queries += r->sent;
	ph->answers += r->replies;
	ph->timeouts += r->timeouts;
	if (r->seen)
		++ph->seen;
	if (r->rounds > ph->rounds_max)
		ph->rounds_max = r->rounds;
	if (!r->found) {
		if (s->cfg.verbose)
			explain_miss(s, nd, r);
		return;
	}
	++ph->found;
	++ph->hops_hist[r->hops < 31 ? r->hops : 31];
	ph->lat_ms[ph->n_lat++] = r->found_ns / MSEC;
}

static const struct kad_lookup_ops sim_ops = {op_find, op_ping, op_done};

static void deliver(struct sim *s, uint32_t slot)
{
	struct msg m = s->msg[slot];
	struct node *to = &s->node[m.to], *from = &s->node[m.from];
	struct ovl_addr fa = addr_of(m.from);

	msg_free(s, slot);
	if (m.to >= s->n_nodes || to->state != NODE_UP) {
		++s->dead_drops;
		return;
	}
	switch (m.type) {
	case MSG_PING:
		kad_table_heard(&to->t, from->key, &fa, 0, 0, s->now);
		send_simple(s, m.to, m.from, MSG_PONG);
		break;
	case MSG_PONG:
		kad_table_heard(&to->t, from->key, &fa, 0, 0, s->now);
		break;
	case MSG_FIND: {
		struct kad_contact c[KAD_K_MAX];
		size_t n;
		uint32_t rs;
		struct msg *r;

		kad_table_heard(&to->t, from->key, &fa, 0, 0, s->now);
		n = kad_table_closest(&to->t, m.u.target, s->kp.k, c, KAD_WANT_HEARD);
		r = msg_alloc(s, &rs);
		r->from = m.to;
		r->to = m.from;
		r->type = MSG_NODES;
		r->txid = m.txid;
		r->n = (uint8_t)n;
		for (size_t i = 0; i < n; ++i)
			r->u.nodes[i] = id_of(&c[i].addr);
		net_send(s, rs);
		break;
	}
	case MSG_NODES: {
		struct kad_contact c[KAD_K_MAX];

		for (unsigned i = 0; i < m.n; ++i) {
			memcpy(c[i].key, s->node[m.u.nodes[i]].key, KAD_KEY_LEN);
			c[i].addr = addr_of(m.u.nodes[i]);
			c[i].flags = KAD_F_HEARD;
		}
		kad_lookups_on_nodes(&to->ls, m.txid, from->key, &fa, 0, c, m.n, s->now);
		break;
	}
	}
	node_schedule(s, to);
}

/* ---- joining and leaving ---- */

static void up_add(struct sim *s, uint32_t id)
{
	s->up[s->n_up++] = id;
}

static void up_remove(struct sim *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->n_up; ++i)
		if (s->up[i] == id) {
			s->up[i] = s->up[--s->n_up];
			return;
		}
}

static uint32_t node_new(struct sim *s)
{
	uint32_t id = s->n_nodes++;
	struct node *nd = &s->node[id];

	memset(nd, 0, sizeof(*nd));
	nd->sim = s;
	nd->id = id;
	nd->state = NODE_OFF;
	nd->tick_at = UINT64_MAX;
	rng_fill(&s->rng, nd->key, KAD_KEY_LEN);
	return id;
}

static void node_join(struct sim *s, uint32_t id)
{
	struct node *nd = &s->node[id];

	if (kad_table_init(&nd->t, nd->key, &s->kp, rng_fill, &s->node_rng, s->now) ||
	    kad_lookups_init(&nd->ls, &nd->t, &s->lp, &sim_ops, nd)) {
		printf("Bail out! node init\n");
		exit(1);
	}
	for (unsigned i = 0; i < s->cfg.boot; ++i) {
		struct kad_contact c;

		if (s->boot_ids[i] == id)
			continue;
		memcpy(c.key, s->node[s->boot_ids[i]].key, KAD_KEY_LEN);
		c.addr = addr_of(s->boot_ids[i]);
		c.flags = 0;
		kad_table_add_bootstrap(&nd->t, &c, s->now);
	}
	nd->state = NODE_UP;
	up_add(s, id);
	node_schedule(s, nd);
}

/* Leaves silently: no goodbye, its datagrams are dropped from now on. */
static void node_leave(struct sim *s, uint32_t id)
{
	struct node *nd = &s->node[id];

	if (nd->state != NODE_UP)
		return;
	nd->state = NODE_GONE;
	up_remove(s, id);
	kad_lookups_free(&nd->ls);
	kad_table_free(&nd->t);
}

static void start_lookup(struct sim *s)
{
	uint32_t src, dst;
	struct node *nd;
	uint64_t txid;

	if (s->n_up < 2)
		return;
	src = s->up[rng_below(&s->rng, s->n_up)];
	do
		dst = s->up[rng_below(&s->rng, s->n_up)];
	while (dst == src);
	nd = &s->node[src];
	++s->ph[s->phase].started;
	if (kad_lookup_start(&nd->ls, s->node[dst].key, KAD_LOOKUP_STOP_ON_FOUND, s->now,
			     &txid) < 0) {
		/* No slot: counted as a failure; does not happen with 16 slots. */
		return;
	}
	node_schedule(s, nd);
}

static void run_until(struct sim *s, uint64_t until)
{
	while (s->n_heap && s->heap[0].at <= until) {
		struct ev e = ev_pop(s);
		struct node *nd;

		s->now = e.at;
		++s->events;
		switch (e.kind) {
		case EV_MSG:
			deliver(s, e.arg);
			break;
		case EV_TICK:
			nd = &s->node[e.arg];
			if (nd->state != NODE_UP || nd->tick_at != e.at)
				break;
			nd->tick_at = UINT64_MAX;
			kad_lookups_tick(&nd->ls, s->now);
			node_schedule(s, nd);
			break;
		case EV_JOIN:
			node_join(s, e.arg);
			break;
		case EV_LEAVE:
			node_leave(s, e.arg);
			break;
		case EV_LOOKUP:
			start_lookup(s);
			break;
		}
	}
	s->now = until;
}

/* ---- reporting ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static unsigned hops_pct(const struct phase_stats *ph, double q)
{
	unsigned want = (unsigned)ceil(q * ph->found), acc = 0;

	for (unsigned h = 0; h < 32; ++h) {
		acc += ph->hops_hist[h];
		if (acc >= want && acc)
			return h;
	}
	return 31;
}

static double hops_mean(const struct phase_stats *ph)
{
	double sum = 0;

	for (unsigned h = 0; h < 32; ++h)
		sum += (double)h * ph->hops_hist[h];
	return ph->found ? sum / ph->found : 0;
}

static void report_phase(struct sim *s, const char *name, struct phase_stats *ph,
			 double threshold)
{
	double success = ph->started ? 100.0 * ph->found / ph->started : 0;
	uint64_t p50 = 0, p95 = 0, max = 0;
	double mean = 0;

	qsort(ph->lat_ms, ph->n_lat, sizeof(*ph->lat_ms), cmp_u64);
	if (ph->n_lat) {
		p50 = ph->lat_ms[(ph->n_lat - 1) / 2];
		p95 = ph->lat_ms[(size_t)((ph->n_lat - 1) * 0.95)];
		max = ph->lat_ms[ph->n_lat - 1];
		for (unsigned i = 0; i < ph->n_lat; ++i)
			mean += (double)ph->lat_ms[i];
		mean /= ph->n_lat;
	}
	diag("%s: %u lookups, %u done, %u found (%.3f%%), %u named",
	     name, ph->started, ph->done, ph->found, success, ph->seen);
	diag("%s: hops mean %.2f p50 %u p95 %u max %u; rounds max %u", name, hops_mean(ph),
	     hops_pct(ph, 0.5), hops_pct(ph, 0.95), hops_pct(ph, 1.0), ph->rounds_max);
	diag("%s: per lookup %.1f queries, %.1f messages (queries + answers), %.2f timeouts",
	     name, ph->done ? (double)ph->queries / ph->done : 0,
	     ph->done ? (double)(ph->queries + ph->answers) / ph->done : 0,
	     ph->done ? (double)ph->timeouts / ph->done : 0);
	diag("%s: latency to the target's answer: mean %.0f ms, p50 %llu, p95 %llu, max %llu",
	     name, mean, (unsigned long long)p50, (unsigned long long)p95,
	     (unsigned long long)max);
	ok(ph->done == ph->started, "%s: every lookup ended (%u of %u)", name, ph->done,
	   ph->started);
	ok(success >= threshold, "%s: success %.3f%% >= %.2f%%", name, success, threshold);
	ok(hops_pct(ph, 0.95) <= s->cfg.max_hops_p95, "%s: hops p95 %u <= %.0f", name,
	   hops_pct(ph, 0.95), s->cfg.max_hops_p95);
}

struct table_census {
	uint64_t entries, heard, dead;
	unsigned min, max;
	size_t memory;
};

static void census(struct sim *s, struct table_census *c)
{
	memset(c, 0, sizeof(*c));
	c->min = UINT32_MAX;
	for (uint32_t i = 0; i < s->n_up; ++i) {
		const struct kad_table *t = &s->node[s->up[i]].t;
		unsigned n = kad_table_size(t);

		c->entries += n;
		c->heard += t->n_heard;
		c->memory += kad_table_memory(t);
		if (n < c->min)
			c->min = n;
		if (n > c->max)
			c->max = n;
		for (unsigned bi = 0; bi < t->n_buckets; ++bi)
			for (unsigned j = 0; j < t->b[bi].n; ++j) {
				uint32_t id = id_of(&t->b[bi].e[j].addr);

				if (s->node[id].state != NODE_UP)
					++c->dead;
			}
	}
}

static void report_census(struct sim *s, const char *when)
{
	struct table_census c;

	census(s, &c);
	diag("%s: %u nodes up; table entries mean %.1f (min %u, max %u), %.1f%% heard, "
	     "%.2f%% pointing at departed nodes; tables %.1f KiB each",
	     when, s->n_up, (double)c.entries / s->n_up, c.min, c.max,
	     100.0 * (double)c.heard / (double)c.entries,
	     100.0 * (double)c.dead / (double)c.entries,
	     (double)c.memory / s->n_up / 1024);
}

static void traffic_mark(const struct sim *s, uint64_t out[4])
{
	memcpy(out, s->sent, sizeof(s->sent));
}

static void report_traffic(const struct sim *s, const uint64_t before[4], uint64_t span,
			   const char *when)
{
	double secs = (double)span / SEC, n = s->n_up;

	diag("%s: per node per minute: %.2f PING, %.2f FIND_NODE (refresh and other upkeep)",
	     when, (double)(s->sent[MSG_PING] - before[MSG_PING]) / n / secs * 60,
	     (double)(s->sent[MSG_FIND] - before[MSG_FIND]) / n / secs * 60);
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: dhtsim [-v] [-n nodes] [-b boot] [-l lookups] [-c churn-pct] [-p loss-pct] [-s seed]\n"
		"              [--lat-min ms] [--lat-max ms] [--join-span s] [--settle min]\n"
		"              [--lookup-span s] [--churn-span s] [--min-success pct]\n"
		"              [--min-success-churn pct] [--max-hops-p95 n]\n");
	exit(2);
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"lat-min", required_argument, NULL, 1},
		{"lat-max", required_argument, NULL, 2},
		{"join-span", required_argument, NULL, 3},
		{"settle", required_argument, NULL, 4},
		{"lookup-span", required_argument, NULL, 5},
		{"churn-span", required_argument, NULL, 6},
		{"min-success", required_argument, NULL, 7},
		{"min-success-churn", required_argument, NULL, 8},
		{"max-hops-p95", required_argument, NULL, 9},
		{NULL, 0, NULL, 0},
	};
	struct sim *s = calloc(1, sizeof(*s));
	struct config *cfg = &s->cfg;
	uint64_t t, traffic[4];
	uint32_t n_churn, total;
	double wall0 = now_wall();
	struct rusage ru;
	char name[32];
	int o;

	*cfg = (struct config){
		.nodes = 10000, .boot = 3, .lookups = 10000, .churn = 0.20, .loss = 0.01,
		.lat_min_ms = 10, .lat_max_ms = 200,
		.join_span = 10 * MIN, .settle = 20 * MIN, .lookup_span = 100 * SEC,
		.churn_span = 5 * MIN, .seed = 1,
		.min_success = 99.9, .min_success_churn = 99.0, .max_hops_p95 = 6,
	};
	while ((o = getopt_long(argc, argv, "n:b:l:c:p:s:v", opts, NULL)) != -1) {
		switch (o) {
		case 'n': cfg->nodes = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': cfg->boot = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': cfg->lookups = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': cfg->churn = strtod(optarg, NULL) / 100; break;
		case 'p': cfg->loss = strtod(optarg, NULL) / 100; break;
		case 's': cfg->seed = strtoull(optarg, NULL, 10); break;
		case 'v': cfg->verbose = true; break;
		case 1: cfg->lat_min_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 2: cfg->lat_max_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 3: cfg->join_span = strtoull(optarg, NULL, 10) * SEC; break;
		case 4: cfg->settle = strtoull(optarg, NULL, 10) * MIN; break;
		case 5: cfg->lookup_span = strtoull(optarg, NULL, 10) * SEC; break;
		case 6: cfg->churn_span = strtoull(optarg, NULL, 10) * SEC; break;
		case 7: cfg->min_success = strtod(optarg, NULL); break;
		case 8: cfg->min_success_churn = strtod(optarg, NULL); break;
		case 9: cfg->max_hops_p95 = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (cfg->nodes < 2 || cfg->nodes > (1u << 23) || cfg->boot < 1 ||
	    cfg->boot > KAD_BOOT_MAX || cfg->boot > cfg->nodes || cfg->churn < 0 ||
	    cfg->churn > 1 || cfg->lat_max_ms < cfg->lat_min_ms || cfg->loss < 0 ||
	    cfg->loss >= 1)
		usage();

	rng_seed(&s->rng, cfg->seed);
	rng_seed(&s->node_rng, cfg->seed ^ 0x5eed);
	kad_params_default(&s->kp);
	kad_lookup_params_default(&s->lp);
	s->free_msg = UINT32_MAX;
	s->phase = -1;
	n_churn = (uint32_t)((cfg->nodes - cfg->boot) * cfg->churn);
	total = cfg->nodes + n_churn;
	s->cap_nodes = total;
	s->node = calloc(total, sizeof(*s->node));
	s->up = calloc(total, sizeof(*s->up));
	for (int p = 0; p < 2; ++p)
		s->ph[p].lat_ms = calloc(cfg->lookups + 1, sizeof(uint64_t));
	if (!s->node || !s->up || !s->ph[0].lat_ms || !s->ph[1].lat_ms) {
		printf("Bail out! out of memory\n");
		return 1;
	}
	diag("dhtsim: %u nodes (%u bootstrap), %u lookups per phase, churn %.0f%% (%u nodes), "
	     "loss %.1f%%, latency %u-%u ms, seed %llu",
	     cfg->nodes, cfg->boot, cfg->lookups, cfg->churn * 100, n_churn, cfg->loss * 100,
	     cfg->lat_min_ms, cfg->lat_max_ms, (unsigned long long)cfg->seed);
	diag("core: k %u, cache %u, alpha %u, query timeout %llu ms, stale/refresh %llu min",
	     s->kp.k, s->kp.cache, s->lp.alpha,
	     (unsigned long long)(s->lp.query_timeout_ns / MSEC),
	     (unsigned long long)(s->kp.stale_ns / MIN));

	/* 1. Join. */
	for (unsigned i = 0; i < cfg->nodes; ++i)
		node_new(s);
	for (unsigned i = 0; i < cfg->boot; ++i)
		s->boot_ids[i] = i;
	for (unsigned i = 0; i < cfg->nodes; ++i)
		ev_push(s, i < cfg->boot ? 0 : cfg->join_span * (i - cfg->boot) / (cfg->nodes - cfg->boot),
			EV_JOIN, i);
	t = cfg->join_span;
	run_until(s, t);
	report_census(s, "after joining");

	/* 2. Settle; measure the upkeep over its last 10 minutes. */
	run_until(s, t + cfg->settle - (cfg->settle > 10 * MIN ? 10 * MIN : 0));
	traffic_mark(s, traffic);
	t += cfg->settle;
	run_until(s, t);
	report_census(s, "settled");
	report_traffic(s, traffic, cfg->settle > 10 * MIN ? 10 * MIN : cfg->settle, "settled");
	ok(s->n_up == cfg->nodes, "all %u nodes up", cfg->nodes);

	/* 3. Lookups without churn. */
	s->phase = 0;
	for (unsigned i = 0; i < cfg->lookups; ++i)
		ev_push(s, t + cfg->lookup_span * i / cfg->lookups, EV_LOOKUP, 0);
	t += cfg->lookup_span + s->lp.lookup_max_ns + SEC;
	run_until(s, t);
	s->phase = -1;
	report_phase(s, "no churn", &s->ph[0], cfg->min_success);

	/* 4. Churn: n_churn non-bootstrap nodes leave, as many join. */
	if (n_churn) {
		uint32_t *pool = malloc(sizeof(uint32_t) * cfg->nodes), n_pool = 0;

		for (uint32_t i = cfg->boot; i < cfg->nodes; ++i)
			pool[n_pool++] = i;
		for (uint32_t i = 0; i < n_churn; ++i) {
			uint32_t j = i + (uint32_t)rng_below(&s->rng, n_pool - i), tmp = pool[i];

			pool[i] = pool[j];
			pool[j] = tmp;
			ev_push(s, t + rng_below(&s->rng, cfg->churn_span), EV_LEAVE, pool[i]);
			ev_push(s, t + rng_below(&s->rng, cfg->churn_span), EV_JOIN, node_new(s));
		}
		free(pool);
		t += cfg->churn_span;
		run_until(s, t);
		report_census(s, "right after churn");

		/* 5. Lookups right after the churn. */
		s->phase = 1;
		for (unsigned i = 0; i < cfg->lookups; ++i)
			ev_push(s, t + cfg->lookup_span * i / cfg->lookups, EV_LOOKUP, 0);
		t += cfg->lookup_span + s->lp.lookup_max_ns + SEC;
		run_until(s, t);
		s->phase = -1;
		snprintf(name, sizeof(name), "%.0f%% churn", cfg->churn * 100);
		report_phase(s, name, &s->ph[1], cfg->min_success_churn);
	}

	getrusage(RUSAGE_SELF, &ru);
	diag("datagrams: %llu PING, %llu PONG, %llu FIND_NODE, %llu NODES; %llu lost, "
	     "%llu to departed nodes",
	     (unsigned long long)s->sent[MSG_PING], (unsigned long long)s->sent[MSG_PONG],
	     (unsigned long long)s->sent[MSG_FIND], (unsigned long long)s->sent[MSG_NODES],
	     (unsigned long long)s->lost, (unsigned long long)s->dead_drops);
	diag("run: %.1f virtual minutes, %llu events, %.1f s wall, peak RSS %ld MiB",
	     (double)t / MIN, (unsigned long long)s->events, now_wall() - wall0,
	     ru.ru_maxrss / 1024);

	for (uint32_t i = 0; i < s->n_nodes; ++i)
		if (s->node[i].state == NODE_UP)
			node_leave(s, i);
	for (int p = 0; p < 2; ++p)
		free(s->ph[p].lat_ms);
	free(s->node);
	free(s->up);
	free(s->heap);
	free(s->msg);
	free(s);
	return tap_done();
}
