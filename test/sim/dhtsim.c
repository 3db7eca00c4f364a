/* dhtsim: N instances of the real Kademlia core (proto/overlay/kademlia.c
 * and lookup.c, unchanged) in one process, on a virtual clock and a
 * virtual network, driven by one event queue (simkit.c: a binary heap
 * ordered by delivery time).
 *
 *      boot0  boot1  boot2          the bootstrap nodes, up at t = 0
 *        \      |      /
 *   node3 ... nodeN-1               join one by one over join_span,
 *                                   knowing only the bootstrap nodes
 *   every link: one-way latency drawn once per pair, uniform in
 *   [lat_min, lat_max] ms, plus 0-5% jitter per datagram; every datagram
 *   lost with the link's loss: `loss`, or with --link-loss a loss drawn
 *   once per pair, uniform in [0, 2 loss].
 *
 * The population (doc/dht-simulation.md):
 *   - honest public nodes, at addresses spread over 16.0.0.0-31.255.255.255
 *     (a million /24s: two share one rarely);
 *   - NATed nodes (--nat pct of the honest ones, never a bootstrap node):
 *     a datagram from a peer reaches one only if it sent to that peer
 *     within --nat-timeout s (an address-and-port-dependent filter; its
 *     mappings live in a cache of NAT_SLOTS peers, a collision forgets the
 *     older one).  Others learn it only from its own datagrams or from
 *     answers that name it.  As the daemon does (src/node/paths.c), it
 *     keeps its mapping open to the ANCHORS public nodes closest to its
 *     own key that it heard (kad_table_anchors: each PING is also a
 *     liveness check), with a PING every 0.4 timeout; an anchor
 *     asked for it names it first, as a relay names its client (dht.c);
 *   - hostile nodes, a share of each kind (--close, --silent, --victim
 *     pct of all nodes), packed --hostile-per24 to a /24 of 40.0.0.0/8.
 *     They join and keep tables with the real core like everyone and lie
 *     only when asked FIND_NODE: `close` answers with the colluders (the
 *     `close` nodes) nearest the target and with keys it invents next to
 *     the target, at its own IP address; `silent` answers PING but never
 *     FIND_NODE; `victim` answers with keys invented next to the target
 *     at the victim's IP address on random ports (the victim: one honest
 *     public node).  They never leave and are never a lookup's source or
 *     target.
 * Keys carry a model of the workbit: a key is good when its last byte is
 * a fixed function of five others (1 random key in 256 passes), which
 * the core checks through kad_params.key_ok; the nodes' keys are good,
 * the invented ones random.  --no-defences turns the core's defences off
 * (kad_params.defences = 0 and one lookup path), for comparison.
 *
 * Scenario:
 *   1. join: the bootstrap nodes at t = 0, the others staggered over
 *      join_span; each bootstraps (lookup of its own ID, then a refresh of
 *      every bucket) through the real driver, kad_lookups_tick().
 *   2. settle for `settle` minutes: liveness checks and bucket refreshes
 *      run as they would in the daemon.
 *   3. M lookups of random live honest targets from random live honest
 *      nodes, spread over lookup_span.  Success: the target itself
 *      answered, or (a NATed target) a node that had heard from it within
 *      its NAT's timeout named it: that node is its rendezvous, as the
 *      daemon's relays are (doc/protocol.md 8.3).
 *   4. churn: `churn` percent of the honest non-bootstrap nodes leave
 *      silently and as many new honest nodes join, at random moments in
 *      churn_span.
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

#include "test/sim/dhtsim.h"
#include "test/tap.h"

static const struct kad_lookup_ops sim_ops;

/* ---- the network ---- */

/* One-way latency of the link a-b: drawn once per pair (a hash of the
 * pair and the seed), uniform in [lat_min, lat_max]. */
static uint64_t link_hash(const struct sim *s, uint32_t a, uint32_t b)
{
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

	return mix64((lo << 32 | hi) ^ s->cfg.seed * 0x9e3779b97f4a7c15ull);
}

static uint64_t link_latency(const struct sim *s, uint32_t a, uint32_t b)
{
	unsigned span = s->cfg.lat_max_ms - s->cfg.lat_min_ms + 1;

	return (s->cfg.lat_min_ms + link_hash(s, a, b) % span) * MSEC;
}

static double link_loss(const struct sim *s, uint32_t a, uint32_t b)
{
	if (!s->cfg.link_loss)
		return s->cfg.loss;
	return 2 * s->cfg.loss * (double)(mix64(link_hash(s, a, b)) >> 11) / 9007199254740992.0;
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

/* Sends m (already filled) from m->from to m->to: it opens the sender's
 * NAT mapping, and is lost or delivered after the link's latency and a
 * little jitter. */
static void net_send(struct sim *s, uint32_t slot)
{
	struct msg *m = &s->msg[slot];
	uint64_t lat;

	++s->sent[m->type];
	nat_open(s, &s->node[m->from], m->to);
	if (rng_unit(&s->rng) < link_loss(s, m->from, m->to)) {
		++s->lost;
		msg_free(s, slot);
		return;
	}
	lat = link_latency(s, m->from, m->to);
	lat += rng_below(&s->rng, lat / 20 + 1);
	evq_push(&s->q, s->now + lat, EV_MSG, slot);
}

/* The node a datagram to contact c reaches, or UINT32_MAX: no node has
 * that key at that address (an invented contact; the datagram is counted,
 * and counted against the victim when it lands on the victim's IP). */
static uint32_t route(struct sim *s, uint32_t from, const struct kad_contact *c, uint8_t type)
{
	uint32_t to = node_at(s, &c->addr);

	if (to != UINT32_MAX && !memcmp(s->node[to].key, c->key, KAD_KEY_LEN))
		return to;
	++s->sent[type];
	++s->nowhere;
	if (s->victim != UINT32_MAX && ovl_addr_same_ip(&c->addr, &s->node[s->victim].addr))
		++s->victim_hits;
	(void)from;
	return UINT32_MAX;
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

/* After any event at a node: make sure its tick is queued by its
 * deadline.  Node ticks are the queue's keyed events: an earlier deadline
 * moves the node's one tick (simkit.h). */
static void node_schedule(struct sim *s, struct node *nd)
{
	uint64_t d = kad_lookups_deadline(&nd->ls);

	if (nd->state != NODE_UP || d >= nd->tick_at)
		return;
	if (d < s->now)
		d = s->now;
	nd->tick_at = d;
	evq_move(&s->q, d, nd->id);
}

static void op_find(void *ctx, const struct kad_contact *to, uint64_t txid,
		    const uint8_t target[KAD_KEY_LEN])
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	uint32_t slot, dst = route(s, nd->id, to, MSG_FIND);
	struct msg *m;

	if (dst == UINT32_MAX)
		return;
	m = msg_alloc(s, &slot);
	m->from = nd->id;
	m->to = dst;
	m->type = MSG_FIND;
	m->n = 0;
	m->txid = txid;
	memcpy(m->u.target, target, KAD_KEY_LEN);
	net_send(s, slot);
}

static void op_ping(void *ctx, const struct kad_contact *to)
{
	struct node *nd = ctx;
	uint32_t dst = route(nd->sim, nd->id, to, MSG_PING);

	if (dst != UINT32_MAX)
		send_simple(nd->sim, nd->id, dst, MSG_PING);
}

static struct ulk *ulk_find(struct node *nd, uint64_t txid)
{
	for (unsigned i = 0; i < ULK_MAX; ++i)
		if (nd->ulk[i].used && nd->ulk[i].txid == txid)
			return &nd->ulk[i];
	return NULL;
}

/* -v, a NATed target: its anchors (node_keep), whether each is honest
 * and up, whether its mapping to them is open, and whether the lookup
 * heard them among the closest. */
static void explain_anchors(struct sim *s, const struct kad_lookup_result *r, uint32_t target)
{
	const struct node *tg = &s->node[target];
	struct kad_contact c[ANCHORS];
	size_t n = kad_table_closest(&tg->t, tg->key, ANCHORS, c, KAD_WANT_HEARD | KAD_WANT_PUBLIC);

	for (size_t i = 0; i < n; ++i) {
		uint32_t a = node_at(s, &c[i].addr);
		bool asked = false;

		unsigned rank = 0;

		for (size_t j = 0; j < r->n_closest; ++j)
			asked |= !memcmp(r->closest[j].key, c[i].key, KAD_KEY_LEN);
		/* Live public nodes nearer the target than this anchor. */
		for (uint32_t j = 0; j < s->n_up; ++j) {
			const struct node *x = &s->node[s->up[j]];

			rank += !x->nated && x->id != target &&
				kad_distance_cmp(tg->key, x->key, c[i].key) < 0;
		}
		diag("  anchor %zu of %u: node %d (rank %u), %s, %s, mapping %s, %s the lookup's "
		     "closest", i, target, a == UINT32_MAX ? -1 : (int)a, rank,
		     a == UINT32_MAX ? "none" : s->node[a].kind == K_HONEST ? "honest" : "hostile",
		     a != UINT32_MAX && s->node[a].state == NODE_UP ? "up" : "gone",
		     a != UINT32_MAX && nat_passes(s, tg, a) ? "open" : "closed",
		     asked ? "among" : "not among");
	}
}

/* -v: why a lookup missed: how many live nodes hold the target in a
 * bucket (and could have named it), and how the lookup ended. */
static void explain_miss(struct sim *s, const struct node *nd, const struct kad_lookup_result *r,
			 uint32_t target)
{
	unsigned knowers = 0, heard = 0, closer = 0;

	for (uint32_t i = 0; i < s->n_up; ++i) {
		const struct node *x = &s->node[s->up[i]];
		const struct kad_entry *e = kad_table_find(&x->t, r->target);

		if (!e)
			continue;
		++knowers;
		if ((e->flags & KAD_F_HEARD) && !e->fails)
			++heard;
	}
	for (size_t i = 0; i < r->n_closest; ++i) {
		uint32_t c = node_at(s, &r->closest[i].addr);

		if (c != UINT32_MAX && kad_table_find(&s->node[c].t, r->target))
			++closer;
	}
	if (s->node[target].nated)
		explain_anchors(s, r, target);
	diag("miss: node %u%s -> %u%s: end %u, named %d, sent %u, replies %u, timeouts %u, "
	     "hops %u, disagree %d; %u honest nodes hold it (%u heard), %u of the %zu closest "
	     "that answered do", nd->id, nd->nated ? " (NATed)" : "", target,
	     s->node[target].nated ? " (NATed)" : "", r->end, r->seen, r->sent, r->replies,
	     r->timeouts, r->hops, r->paths_disagree, knowers, heard, closer, r->n_closest);
}

static void op_done(void *ctx, const struct kad_lookup_result *r)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	struct ulk *u = r->kind == KAD_KIND_USER ? ulk_find(nd, r->txid) : NULL;
	struct phase_stats *ph;
	bool reached = false, nat_target = false;
	uint32_t target = UINT32_MAX;

	if (!u && r->kind == KAD_KIND_USER && s->starting)
		u = s->starting;
	if (u) {
		reached = u->reached;
		target = u->target;
		nat_target = s->node[target].nated;
		u->used = false;
	}
	if (r->kind != KAD_KIND_USER || s->phase < 0 || !u)
		return;
	ph = &s->ph[s->phase];
	++ph->done;
	ph->queries += r->sent;
	ph->answers += r->replies;
	ph->timeouts += r->timeouts;
	ph->nat_targets += nat_target;
	ph->disagree += r->paths_disagree;
	ph->disagree_nat += r->paths_disagree && nat_target;
	if (r->seen)
		++ph->seen;
	if (r->rounds > ph->rounds_max)
		ph->rounds_max = r->rounds;
	if (!r->found && !reached) {
		if (s->cfg.verbose)
			explain_miss(s, nd, r, target);
		return;
	}
	++ph->found;
	ph->nat_found += nat_target;
	++ph->hops_hist[r->hops < 31 ? r->hops : 31];
	if (r->found)
		ph->lat_ms[ph->n_lat++] = r->found_ns / MSEC;
}

static const struct kad_lookup_ops sim_ops = {op_find, op_ping, op_done};

static void answer_find(struct sim *s, const struct msg *m, struct node *to)
{
	struct kad_contact c[ANSWER_MAX];
	uint32_t rs;
	struct msg *r;
	size_t n;

	if (to->kind == K_SILENT)
		return;
	if (to->kind == K_HONEST) {
		const struct kad_entry *e = kad_table_find(&to->t, m->u.target);
		uint32_t tg = e ? node_at(s, &e->addr) : UINT32_MAX;

		n = 0;
		/* Our client: a NATed node that keeps its path to us open. */
		if (tg != UINT32_MAX && s->node[tg].nated && s->node[tg].state == NODE_UP &&
		    !memcmp(s->node[tg].key, m->u.target, KAD_KEY_LEN) &&
		    nat_passes(s, &s->node[tg], to->id)) {
			memcpy(c[0].key, e->key, KAD_KEY_LEN);
			c[0].addr = e->addr;
			c[0].flags = KAD_F_NATED;
			n = 1;
		}
		if (n) {
			size_t m2 = kad_table_answer(&to->t, m->u.target, ANSWER_MAX - 1, c + 1,
						     s->now);

			/* The client is named once. */
			for (size_t i = 1; i <= m2; ++i)
				if (!memcmp(c[i].key, c[0].key, KAD_KEY_LEN))
					c[i--] = c[m2--];
			n += m2;
		} else {
			n = kad_table_answer(&to->t, m->u.target, ANSWER_MAX, c, s->now);
		}
	} else {
		n = hostile_answer(s, to, m->u.target, c);
	}
	r = msg_alloc(s, &rs);
	r->from = m->to;
	r->to = m->from;
	r->type = MSG_NODES;
	r->txid = m->txid;
	r->n = (uint8_t)n;
	for (size_t i = 0; i < n; ++i) {
		r->u.nodes[i] = c[i];
		/* The wire says whether a node is public; HEARD is ours. */
		r->u.nodes[i].flags &= KAD_F_NATED;
	}
	net_send(s, rs);
}

/* A NODES for a followed user lookup: a NATed target named by a node it
 * spoke to within its NAT's timeout has a rendezvous. */
static void follow_nodes(struct sim *s, struct node *to, const struct msg *m)
{
	struct ulk *u = ulk_find(to, m->txid);
	const struct node *tg;

	if (!u || u->reached)
		return;
	tg = &s->node[u->target];
	if (!tg->nated || tg->state != NODE_UP || !nat_passes(s, tg, m->from))
		return;
	for (unsigned i = 0; i < m->n; ++i)
		if (!memcmp(m->u.nodes[i].key, tg->key, KAD_KEY_LEN)) {
			u->reached = true;
			return;
		}
}

static void deliver(struct sim *s, uint32_t slot)
{
	struct msg *m = &s->msg[slot];
	struct node *to = &s->node[m->to], *from = &s->node[m->from];
	unsigned fl = from->nated ? KAD_F_NATED : 0;

	if (to->state != NODE_UP) {
		++s->dead_drops;
		goto out;
	}
	if (!nat_passes(s, to, m->from)) {
		++s->nat_drops;
		goto out;
	}
	switch (m->type) {
	case MSG_PING:
		kad_table_heard(&to->t, from->key, &from->addr, fl, 0, s->now);
		send_simple(s, m->to, m->from, MSG_PONG);
		break;
	case MSG_PONG:
		kad_table_heard(&to->t, from->key, &from->addr, fl, 0, s->now);
		break;
	case MSG_FIND:
		kad_table_heard(&to->t, from->key, &from->addr, fl, 0, s->now);
		answer_find(s, m, to);
		break;
	case MSG_NODES:
		follow_nodes(s, to, m);
		kad_lookups_on_nodes(&to->ls, m->txid, from->key, &from->addr, fl, m->u.nodes,
				     m->n, s->now);
		break;
	}
	node_schedule(s, to);
out:
	msg_free(s, slot);
}

/* A NATed node's keepalive to its anchors (the top comment). */
static void node_keep(struct sim *s, uint32_t id)
{
	struct node *nd = &s->node[id];
	struct kad_contact c[ANCHORS];
	size_t n;

	if (nd->state != NODE_UP || !nd->nated)
		return;
	n = kad_table_anchors(&nd->t, ANCHORS, c, s->now);
	for (size_t i = 0; i < n; ++i)
		op_ping(nd, &c[i]);
	evq_push(&s->q, s->now + s->cfg.nat_timeout * 2 / 5, EV_KEEP, id);
	node_schedule(s, nd);
}

/* ---- joining and leaving ---- */

static void up_add(struct sim *s, uint32_t id)
{
	if (s->node[id].kind == K_HONEST)
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

/* A new node of the given kind; honest ones may be NATed. */
static uint32_t node_new(struct sim *s, enum node_kind kind, bool boot)
{
	uint32_t id = s->n_nodes++;
	struct node *nd = &s->node[id];

	memset(nd, 0, sizeof(*nd));
	nd->sim = s;
	nd->id = id;
	nd->state = NODE_OFF;
	nd->kind = (uint8_t)kind;
	nd->tick_at = UINT64_MAX;
	rng_fill(&s->rng, nd->key, KAD_KEY_LEN);
	nd->key[31] = key_check_byte(nd->key);
	if (kind == K_HONEST) {
		nd->addr = addr_honest(id);
		nd->nated = !boot && rng_unit(&s->rng) < s->cfg.nat;
	} else {
		nd->addr = addr_hostile(s, s->n_hostile);
		s->hostile[s->n_hostile++] = id;
	}
	if (nd->nated) {
		nd->map = calloc(NAT_SLOTS, sizeof(*nd->map));
		if (!nd->map) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
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
		c.addr = s->node[s->boot_ids[i]].addr;
		c.flags = 0;
		kad_table_add_bootstrap(&nd->t, &c, s->now);
	}
	nd->state = NODE_UP;
	up_add(s, id);
	node_schedule(s, nd);
	if (nd->nated)
		evq_push(&s->q, s->now + s->cfg.nat_timeout * 2 / 5, EV_KEEP, id);
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
	free(nd->map);
	nd->map = NULL;
	nd->nated = false;
}

static void start_lookup(struct sim *s)
{
	struct ulk *u = NULL;
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
	for (unsigned i = 0; i < ULK_MAX && !u; ++i)
		if (!nd->ulk[i].used)
			u = &nd->ulk[i];
	/* No slot to follow it, or none in the core: counted as a failure;
	 * neither happens in these runs (ULK_MAX and 16 slots). */
	if (!u)
		return;
	u->used = true;
	u->reached = false;
	u->target = dst;
	u->txid = 0;
	s->starting = u;
	if (kad_lookup_start(&nd->ls, s->node[dst].key, KAD_LOOKUP_STOP_ON_FOUND, s->now,
			     &txid) < 0) {
		s->starting = NULL;
		u->used = false;
		return;
	}
	s->starting = NULL;
	/* done() ran inside the start: the slot is no longer ours. */
	if (u->used)
		u->txid = txid;
	node_schedule(s, nd);
}

static void run_until(struct sim *s, uint64_t until)
{
	while (s->q.n && s->q.heap[0].at <= until) {
		struct ev e = evq_pop(&s->q);
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
		case EV_KEEP:
			node_keep(s, e.arg);
			break;
		}
	}
	s->now = until;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: dhtsim [-v] [-n nodes] [-b boot] [-l lookups] [-c churn-pct] [-p loss-pct] [-s seed]\n"
		"              [--link-loss] [--lat-min ms] [--lat-max ms] [--join-span s] [--settle min]\n"
		"              [--lookup-span s] [--churn-span s] [--min-success pct]\n"
		"              [--min-success-churn pct] [--max-hops-p95 n]\n"
		"              [--nat pct] [--nat-timeout s] [--close pct] [--silent pct] [--victim pct]\n"
		"              [--hostile-per24 n] [--no-defences] [--paths d] [--target-tries n]\n");
	exit(2);
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parse(struct config *cfg, int argc, char **argv)
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
		{"nat", required_argument, NULL, 10},
		{"nat-timeout", required_argument, NULL, 11},
		{"close", required_argument, NULL, 12},
		{"silent", required_argument, NULL, 13},
		{"victim", required_argument, NULL, 14},
		{"hostile-per24", required_argument, NULL, 15},
		{"no-defences", no_argument, NULL, 16},
		{"paths", required_argument, NULL, 17},
		{"link-loss", no_argument, NULL, 18},
		{"target-tries", required_argument, NULL, 19},
		{NULL, 0, NULL, 0},
	};
	double h;
	int o;

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
		case 10: cfg->nat = strtod(optarg, NULL) / 100; break;
		case 11: cfg->nat_timeout = strtoull(optarg, NULL, 10) * SEC; break;
		case 12: cfg->hostile[K_CLOSE] = strtod(optarg, NULL) / 100; break;
		case 13: cfg->hostile[K_SILENT] = strtod(optarg, NULL) / 100; break;
		case 14: cfg->hostile[K_VICTIM] = strtod(optarg, NULL) / 100; break;
		case 15: cfg->per24 = (unsigned)strtoul(optarg, NULL, 10); break;
		case 16: cfg->defences = false; break;
		case 17: cfg->paths = (unsigned)strtoul(optarg, NULL, 10); break;
		case 18: cfg->link_loss = true; break;
		case 19: cfg->target_tries = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	h = cfg->hostile[K_CLOSE] + cfg->hostile[K_SILENT] + cfg->hostile[K_VICTIM];
	if (cfg->nodes < 2 || cfg->nodes > (1u << 23) || cfg->boot < 1 ||
	    cfg->boot > KAD_BOOT_MAX || cfg->boot > cfg->nodes || cfg->churn < 0 ||
	    cfg->churn > 1 || cfg->lat_max_ms < cfg->lat_min_ms || cfg->loss < 0 ||
	    cfg->loss >= 0.5 || cfg->nat < 0 || cfg->nat > 1 || h < 0 || h > 0.9 ||
	    cfg->hostile[K_CLOSE] < 0 || cfg->hostile[K_SILENT] < 0 ||
	    cfg->hostile[K_VICTIM] < 0 || cfg->per24 < 1 || cfg->per24 > 254 ||
	    cfg->paths > KAD_PATHS_MAX || cfg->nat_timeout < SEC || cfg->target_tries > 100)
		usage();
}

/* The population: bootstrap nodes first, then honest and hostile nodes
 * in a random order; the colluders sorted by key. */
static void populate(struct sim *s)
{
	const struct config *cfg = &s->cfg;
	uint32_t n_h[4] = {0};

	for (unsigned k = K_CLOSE; k <= K_VICTIM; ++k)
		n_h[k] = (uint32_t)(cfg->nodes * cfg->hostile[k]);
	for (unsigned i = 0; i < cfg->nodes; ++i) {
		enum node_kind kind = K_HONEST;
		uint32_t left = cfg->nodes - i, r;

		if (i >= cfg->boot) {
			r = (uint32_t)rng_below(&s->rng, left);
			for (unsigned k = K_CLOSE; k <= K_VICTIM; ++k) {
				if (r < n_h[k]) {
					kind = (enum node_kind)k;
					--n_h[k];
					break;
				}
				r -= n_h[k];
			}
		}
		node_new(s, kind, i < cfg->boot);
	}
	for (unsigned i = 0; i < cfg->boot; ++i)
		s->boot_ids[i] = i;
	for (uint32_t i = 0; i < s->n_hostile; ++i)
		if (s->node[s->hostile[i]].kind == K_CLOSE)
			s->colluders[s->n_colluders++] = s->hostile[i];
	qsort_r(s->colluders, s->n_colluders, sizeof(uint32_t), key_cmp_id, s);
	s->victim = UINT32_MAX;
	for (uint32_t i = cfg->boot; i < cfg->nodes && s->victim == UINT32_MAX; ++i)
		if (s->node[i].kind == K_HONEST && !s->node[i].nated)
			s->victim = i;
}

static void check_phase(struct sim *s, const char *name, struct phase_stats *ph,
			double threshold)
{
	unsigned hops95;
	double success = report_phase(s, name, ph, &hops95);

	ok(ph->done == ph->started, "%s: every lookup ended (%u of %u)", name, ph->done,
	   ph->started);
	ok(success >= threshold, "%s: success %.3f%% >= %.2f%%", name, success, threshold);
	ok(hops95 <= s->cfg.max_hops_p95, "%s: hops p95 %u <= %.0f", name, hops95,
	   s->cfg.max_hops_p95);
}

static void lookups_phase(struct sim *s, int phase, uint64_t *t)
{
	s->phase = phase;
	s->ph[phase].victim0 = s->victim_hits;
	for (unsigned i = 0; i < s->cfg.lookups; ++i)
		evq_push(&s->q, *t + s->cfg.lookup_span * i / s->cfg.lookups, EV_LOOKUP, 0);
	*t += s->cfg.lookup_span + s->lp.lookup_max_ns + SEC;
	run_until(s, *t);
	s->phase = -1;
}

int main(int argc, char **argv)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct config *cfg = &s->cfg;
	uint64_t t, traffic[4];
	uint32_t n_churn, total;
	double wall0 = now_wall();
	struct rusage ru;
	char name[32];

	*cfg = (struct config){
		.nodes = 10000, .boot = 3, .lookups = 10000, .churn = 0.20, .loss = 0.01,
		.lat_min_ms = 10, .lat_max_ms = 200,
		.join_span = 10 * MIN, .settle = 20 * MIN, .lookup_span = 100 * SEC,
		.churn_span = 5 * MIN, .seed = 1,
		.min_success = 99.9, .min_success_churn = 99.0, .max_hops_p95 = 6,
		.nat_timeout = 60 * SEC, .per24 = 16, .defences = true,
	};
	parse(cfg, argc, argv);

	rng_seed(&s->rng, cfg->seed);
	rng_seed(&s->node_rng, cfg->seed ^ 0x5eed);
	kad_params_default(&s->kp);
	kad_lookup_params_default(&s->lp);
	s->kp.key_ok = key_good;
	if (!cfg->defences) {
		s->kp.defences = 0;
		s->lp.paths = 1;
	}
	if (cfg->paths)
		s->lp.paths = cfg->paths;
	if (cfg->target_tries)
		s->lp.target_tries = cfg->target_tries;
	s->free_msg = UINT32_MAX;
	s->phase = -1;
	n_churn = (uint32_t)((cfg->nodes - cfg->boot) * cfg->churn *
			     (1 - cfg->hostile[K_CLOSE] - cfg->hostile[K_SILENT] - cfg->hostile[K_VICTIM]));
	total = cfg->nodes + n_churn;
	s->cap_nodes = total;
	evq_init(&s->q, EV_TICK, total);
	s->node = calloc(total, sizeof(*s->node));
	s->up = calloc(total, sizeof(*s->up));
	s->hostile = calloc(cfg->nodes, sizeof(*s->hostile));
	s->colluders = calloc(cfg->nodes, sizeof(*s->colluders));
	for (int p = 0; p < 2; ++p)
		s->ph[p].lat_ms = calloc(cfg->lookups + 1, sizeof(uint64_t));
	if (!s->node || !s->up || !s->hostile || !s->colluders || !s->ph[0].lat_ms ||
	    !s->ph[1].lat_ms) {
		printf("Bail out! out of memory\n");
		return 1;
	}
	diag("dhtsim: %u nodes (%u bootstrap), %u lookups per phase, churn %.0f%% (%u nodes), "
	     "loss %.1f%%%s, latency %u-%u ms, seed %llu",
	     cfg->nodes, cfg->boot, cfg->lookups, cfg->churn * 100, n_churn, cfg->loss * 100,
	     cfg->link_loss ? " (mean; per link 0 to twice that)" : "",
	     cfg->lat_min_ms, cfg->lat_max_ms, (unsigned long long)cfg->seed);
	diag("population: %.0f%% of honest nodes NATed (timeout %llu s); hostile: close %.0f%%, "
	     "silent %.0f%%, victim %.0f%% of all nodes, %u per /24",
	     cfg->nat * 100, (unsigned long long)(cfg->nat_timeout / SEC),
	     cfg->hostile[K_CLOSE] * 100, cfg->hostile[K_SILENT] * 100,
	     cfg->hostile[K_VICTIM] * 100, cfg->per24);
	diag("core: k %u, cache %u, alpha %u, paths %u, tries at the target %u, query timeout "
	     "%llu ms, stale/refresh %llu min, defences %s",
	     s->kp.k, s->kp.cache, s->lp.alpha, s->lp.paths, s->lp.target_tries,
	     (unsigned long long)(s->lp.query_timeout_ns / MSEC),
	     (unsigned long long)(s->kp.stale_ns / MIN), cfg->defences ? "on" : "off");

	/* 1. Join. */
	populate(s);
	for (unsigned i = 0; i < cfg->nodes; ++i)
		evq_push(&s->q, i < cfg->boot ? 0 :
			 cfg->join_span * (i - cfg->boot) / (cfg->nodes - cfg->boot), EV_JOIN, i);
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
	ok(s->n_up + s->n_hostile == cfg->nodes, "all %u nodes up", cfg->nodes);

	/* 3. Lookups without churn. */
	lookups_phase(s, 0, &t);
	check_phase(s, "no churn", &s->ph[0], cfg->min_success);

	/* 4. Churn: n_churn honest non-bootstrap nodes leave, as many join. */
	if (n_churn) {
		uint32_t *pool = malloc(sizeof(uint32_t) * cfg->nodes), n_pool = 0;

		for (uint32_t i = cfg->boot; i < cfg->nodes; ++i)
			if (s->node[i].kind == K_HONEST && i != s->victim)
				pool[n_pool++] = i;
		for (uint32_t i = 0; i < n_churn && i < n_pool; ++i) {
			uint32_t j = i + (uint32_t)rng_below(&s->rng, n_pool - i), tmp = pool[i];

			pool[i] = pool[j];
			pool[j] = tmp;
			evq_push(&s->q, t + rng_below(&s->rng, cfg->churn_span), EV_LEAVE, pool[i]);
			evq_push(&s->q, t + rng_below(&s->rng, cfg->churn_span), EV_JOIN,
				 node_new(s, K_HONEST, false));
		}
		free(pool);
		t += cfg->churn_span;
		run_until(s, t);
		report_census(s, "right after churn");

		/* 5. Lookups right after the churn. */
		lookups_phase(s, 1, &t);
		snprintf(name, sizeof(name), "%.0f%% churn", cfg->churn * 100);
		check_phase(s, name, &s->ph[1], cfg->min_success_churn);
	}

	getrusage(RUSAGE_SELF, &ru);
	diag("datagrams: %llu PING, %llu PONG, %llu FIND_NODE, %llu NODES; %llu lost, "
	     "%llu to departed nodes, %llu stopped by NATs, %llu to invented contacts "
	     "(%llu on the victim's IP)",
	     (unsigned long long)s->sent[MSG_PING], (unsigned long long)s->sent[MSG_PONG],
	     (unsigned long long)s->sent[MSG_FIND], (unsigned long long)s->sent[MSG_NODES],
	     (unsigned long long)s->lost, (unsigned long long)s->dead_drops,
	     (unsigned long long)s->nat_drops, (unsigned long long)s->nowhere,
	     (unsigned long long)s->victim_hits);
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
	free(s->hostile);
	free(s->colluders);
	evq_free(&s->q);
	free(s->msg);
	free(s);
	return tap_done();
}
