/* Iterative lookups and the table's driver; see lookup.h. */
#include "proto/overlay/lookup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MSEC 1000000ull
#define SEC (1000 * MSEC)

/* A candidate's state: NEW -> INFLIGHT -> ANSWERED, or INFLIGHT -> FAILED
 * on a timeout, then FAILED -> ANSWERED on a late answer or FAILED -> NEW
 * for another try at the exact target (whose late answer to an earlier
 * try, NEW -> ANSWERED, is as good).  Only cand_move() changes it. */
enum cand_state {
	CAND_NEW,
	CAND_INFLIGHT,
	CAND_ANSWERED,
	CAND_FAILED,
};

struct cand {
	struct kad_contact c;
	uint64_t sent_ns;
	uint8_t state;		/* enum cand_state */
	uint8_t depth;		/* see lookup.h, "Hops" */
	uint8_t tries;
	uint8_t path;		/* its disjoint path, < n_paths */
};

struct kad_lookup {
	uint64_t txid;
	uint8_t kind;		/* enum kad_lookup_kind */
	uint8_t flags;		/* enum kad_lookup_flags */
	bool found, seen;
	uint8_t n_paths;
	uint8_t ended;		/* bit p: path p has nothing left to ask */
	uint8_t named;		/* bit p: a node of path p named the target */
	uint8_t named_public;	/* bit p: ... and named it public */
	uint8_t target[KAD_KEY_LEN];
	struct kad_contact target_contact;
	uint64_t start_ns, found_ns;
	unsigned inflight, sent, replies, timeouts, hops, rounds;
	unsigned n;			/* cand[0 .. n), closest first */
	unsigned n_queried;
	/* Everyone asked, whole keys: a prefix would let a hostile node hide
	 * the target behind an invented key that shares it (issue 19). */
	uint8_t queried[KAD_QUERIES_MAX][KAD_KEY_LEN];
	struct cand cand[KAD_SHORTLIST_MAX];
};

void kad_lookup_params_default(struct kad_lookup_params *p)
{
	p->alpha = 3;
	p->shortlist = 40;
	p->max_queries = 64;
	p->target_tries = 4;
	p->query_timeout_ns = 1 * SEC;
	p->lookup_max_ns = 30 * SEC;
	p->max_lookups = 16;
	p->max_internal = 4;
	p->paths = 3;
}

static bool key_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, KAD_KEY_LEN) == 0;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int kad_lookups_init(struct kad_lookups *ls, struct kad_table *table,
		     const struct kad_lookup_params *params,
		     const struct kad_lookup_ops *ops, void *ctx)
{
	memset(ls, 0, sizeof(*ls));
	if (params)
		ls->p = *params;
	else
		kad_lookup_params_default(&ls->p);
	if (!table || !ops || !ops->find_node || !ops->ping || !ops->done ||
	    ls->p.alpha < 1 || ls->p.shortlist < table->p.k ||
	    ls->p.shortlist > KAD_SHORTLIST_MAX || ls->p.max_queries < 1 ||
	    ls->p.max_queries > KAD_QUERIES_MAX || ls->p.target_tries < 1 ||
	    ls->p.target_tries > 100 || ls->p.query_timeout_ns == 0 ||
	    ls->p.max_lookups < 1 || ls->p.max_lookups > 1024 ||
	    ls->p.max_internal > ls->p.max_lookups || ls->p.paths < 1 ||
	    ls->p.paths > KAD_PATHS_MAX || ls->p.paths > ls->p.shortlist)
		return -EINVAL;
	ls->slot = calloc(ls->p.max_lookups, sizeof(*ls->slot));
	if (!ls->slot)
		return -ENOMEM;
	ls->table = table;
	ls->ops = ops;
	ls->ctx = ctx;
	table->rng(table->rng_ctx, &ls->next_txid, sizeof(ls->next_txid));
	ls->next_ns = UINT64_MAX;
	return 0;
}

void kad_lookups_free(struct kad_lookups *ls)
{
	if (!ls->slot)
		return;
	for (unsigned i = 0; i < ls->p.max_lookups; ++i)
		free(ls->slot[i]);
	free(ls->slot);
	ls->slot = NULL;
	ls->n_active = ls->n_internal = 0;
}

static struct kad_lookup *lookup_by_txid(const struct kad_lookups *ls, uint64_t txid,
					 unsigned *idx)
{
	for (unsigned i = 0; i < ls->p.max_lookups; ++i)
		if (ls->slot[i] && ls->slot[i]->txid == txid) {
			if (idx)
				*idx = i;
			return ls->slot[i];
		}
	return NULL;
}

static bool is_target(const struct kad_lookup *l, const struct cand *c)
{
	return key_eq(c->c.key, l->target);
}

static void cand_move(struct kad_lookups *ls, struct kad_lookup *l, struct cand *c,
		      enum cand_state to, uint64_t now_ns)
{
	switch (to) {
	case CAND_INFLIGHT:
		if (c->state != CAND_NEW)
			return;
		c->sent_ns = now_ns;
		++c->tries;
		++l->inflight;
		++l->sent;
		++ls->stats.sent;
		if (l->n_queried < KAD_QUERIES_MAX)
			memcpy(l->queried[l->n_queried++], c->c.key, KAD_KEY_LEN);
		ls->next_ns = min64(ls->next_ns, now_ns + ls->p.query_timeout_ns);
		break;
	case CAND_ANSWERED:
		if (c->state == CAND_INFLIGHT)
			--l->inflight;
		else if (c->state == CAND_FAILED || (c->state == CAND_NEW && c->tries))
			++ls->stats.late;
		else
			return;
		++l->replies;
		++ls->stats.replies;
		break;
	case CAND_FAILED:
		if (c->state != CAND_INFLIGHT)
			return;
		--l->inflight;
		++l->timeouts;
		++ls->stats.timeouts;
		break;
	case CAND_NEW:
		if (c->state != CAND_FAILED)
			return;
		break;
	}
	c->state = (uint8_t)to;
	if (to == CAND_INFLIGHT)
		ls->ops->find_node(ls->ctx, &c->c, l->txid, l->target);
}

static bool was_queried(const struct kad_lookup *l, const uint8_t *key)
{
	for (unsigned i = 0; i < l->n_queried; ++i)
		if (key_eq(l->queried[i], key))
			return true;
	return false;
}

/* Whether c may join the shortlist beside l's candidates: a key the
 * table accepts, an address no candidate has (one address is asked once
 * per lookup: a reflection, issue 17), and within the subnet bounds. */
static bool cand_allowed(struct kad_lookups *ls, struct kad_lookup *l,
			 const struct kad_contact *c)
{
	const struct kad_params *tp = &ls->table->p;
	unsigned ip = 0, net = 0;
	bool same_ip;

	if (!kad_table_key_ok(ls->table, c->key)) {
		++ls->stats.bad_key;
		return false;
	}
	for (unsigned i = 0; i < l->n; ++i) {
		if (ovl_addr_equal(&l->cand[i].c.addr, &c->addr))
			return false;
		if (!(tp->defences & KAD_DEF_SUBNET) ||
		    !kad_same_subnet(&l->cand[i].c.addr, &c->addr, &same_ip))
			continue;
		ip += same_ip;
		if (++net >= tp->per_subnet || ip >= tp->per_ip) {
			++ls->stats.subnet_full;
			return false;
		}
	}
	return true;
}

/* Adds a contact to path `path` of the shortlist, sorted, evicting the
 * path's farthest candidate not in flight when the path has its share. */
static void cand_add(struct kad_lookups *ls, struct kad_lookup *l,
		     const struct kad_contact *c, unsigned depth, unsigned path)
{
	unsigned pos, in_path = 0, cap = ls->p.shortlist / l->n_paths;

	for (unsigned i = 0; i < l->n; ++i)
		if (key_eq(l->cand[i].c.key, c->key)) {
			if (depth < l->cand[i].depth)
				l->cand[i].depth = (uint8_t)depth;
			return;
		}
	if (was_queried(l, c->key) || !cand_allowed(ls, l, c))
		return;
	for (unsigned i = 0; i < l->n; ++i)
		in_path += l->cand[i].path == path;
	if (in_path >= cap) {
		int v = (int)l->n - 1;

		while (v >= 0 && (l->cand[v].path != path || l->cand[v].state == CAND_INFLIGHT))
			--v;
		if (v < 0 || kad_distance_cmp(l->target, c->key, l->cand[v].c.key) >= 0)
			return;
		memmove(&l->cand[v], &l->cand[v + 1], (l->n - 1 - (unsigned)v) * sizeof(l->cand[0]));
		--l->n;
	}
	pos = l->n;
	while (pos > 0 && kad_distance_cmp(l->target, c->key, l->cand[pos - 1].c.key) < 0)
		--pos;
	memmove(&l->cand[pos + 1], &l->cand[pos], (l->n - pos) * sizeof(l->cand[0]));
	memset(&l->cand[pos], 0, sizeof(l->cand[0]));
	l->cand[pos].c = *c;
	l->cand[pos].state = CAND_NEW;
	l->cand[pos].depth = (uint8_t)(depth > UINT8_MAX ? UINT8_MAX : depth);
	l->cand[pos].path = (uint8_t)path;
	++l->n;
}

/* A path that named the target public against one that ended without
 * anyone in it naming the target.  A NATed target is named only by the
 * nodes it keeps a path open to (its anchors), so paths that miss them
 * converge without it: no sign of an attack.  A hostile namer cannot hide
 * the disagreement by calling a public target NATed: an honest path that
 * names it names it public. */
static bool paths_disagree(const struct kad_lookup *l)
{
	return l->named_public && (l->ended & (uint8_t)~l->named);
}

/* A node of path p named the target, NATed or not. */
static void target_named(struct kad_lookup *l, unsigned p, unsigned flags)
{
	l->named |= (uint8_t)(1u << p);
	if (!(flags & KAD_F_NATED))
		l->named_public |= (uint8_t)(1u << p);
}

static void lookup_result(const struct kad_lookups *ls, const struct kad_lookup *l,
			  enum kad_lookup_end end, uint64_t now_ns, struct kad_lookup_result *r)
{
	memset(r, 0, sizeof(*r));
	r->txid = l->txid;
	r->kind = l->kind;
	r->end = (uint8_t)end;
	memcpy(r->target, l->target, KAD_KEY_LEN);
	r->found = l->found;
	r->seen = l->seen;
	r->paths_disagree = paths_disagree(l);
	r->target_contact = l->target_contact;
	r->hops = l->hops;
	r->rounds = l->rounds;
	r->sent = l->sent;
	r->replies = l->replies;
	r->timeouts = l->timeouts;
	r->elapsed_ns = now_ns - l->start_ns;
	r->found_ns = l->found ? l->found_ns - l->start_ns : 0;
	for (unsigned i = 0; i < l->n && r->n_closest < ls->table->p.k; ++i)
		if (l->cand[i].state == CAND_ANSWERED)
			r->closest[r->n_closest++] = l->cand[i].c;
}

static void lookup_release(struct kad_lookups *ls, unsigned idx)
{
	struct kad_lookup *l = ls->slot[idx];

	if (l->kind != KAD_KIND_USER)
		--ls->n_internal;
	--ls->n_active;
	ls->slot[idx] = NULL;
	free(l);
}

/* Ends lookup idx: the slot is freed before done() runs, so that done()
 * may start another lookup. */
static void lookup_finish(struct kad_lookups *ls, unsigned idx, enum kad_lookup_end end,
			  uint64_t now_ns)
{
	struct kad_lookup *l = ls->slot[idx];
	struct kad_lookup_result r;

	lookup_result(ls, l, end, now_ns, &r);
	lookup_release(ls, idx);
	++ls->stats.finished;
	if (r.paths_disagree)
		++ls->stats.disagreed;
	if (r.found)
		++ls->stats.found;
	/* The paper's join: once our own neighbourhood is known, refresh
	 * every bucket farther away. */
	if (r.kind == KAD_KIND_BOOTSTRAP && r.replies)
		kad_table_bootstrapped(ls->table, now_ns);
	ls->ops->done(ls->ctx, &r);
}

/* KAD_DEF_NAT: a NATed candidate other than the target is asked only if
 * our table heard it lately (it would drop a stranger's datagram). */
static bool nat_unreachable(struct kad_lookups *ls, const struct kad_lookup *l,
			    const struct cand *c, uint64_t now_ns)
{
	const struct kad_entry *e;

	if (!(ls->table->p.defences & KAD_DEF_NAT) || !(c->c.flags & KAD_F_NATED) ||
	    c->state != CAND_NEW || c->tries || is_target(l, c))
		return false;
	e = kad_table_find(ls->table, c->c.key);
	return !e || !(e->flags & KAD_F_HEARD) || now_ns - e->last_seen_ns >= ls->table->p.nat_live_ns;
}

/* Sends what path p may send; true if it has candidates left to hear
 * from.  *live counts its candidates that did not fail. */
static bool path_advance(struct kad_lookups *ls, struct kad_lookup *l, unsigned p,
			 uint64_t now_ns, unsigned *live)
{
	unsigned d = l->n_paths, k = (ls->table->p.k + d - 1) / d, n_live = 0, inflight = 0;
	unsigned alpha = ls->p.alpha / d ? ls->p.alpha / d : 1;
	bool pending = false;

	for (unsigned i = 0; i < l->n; ++i)
		inflight += l->cand[i].path == p && l->cand[i].state == CAND_INFLIGHT;
	for (unsigned i = 0; i < l->n && n_live < k; ++i) {
		struct cand *c = &l->cand[i];

		if (c->path != p || c->state == CAND_FAILED)
			continue;
		if (nat_unreachable(ls, l, c, now_ns)) {
			++ls->stats.nat_skipped;
			continue;
		}
		++n_live;
		if (c->state == CAND_ANSWERED)
			continue;
		pending = true;
		if (c->state == CAND_NEW && l->sent < ls->p.max_queries &&
		    (inflight < alpha || is_target(l, c))) {
			cand_move(ls, l, c, CAND_INFLIGHT, now_ns);
			++inflight;
		}
	}
	*live += n_live;
	return pending;
}

/* Sends what may be sent and ends the lookup when it is over.  Returns
 * false if the lookup ended (and was freed). */
static bool lookup_advance(struct kad_lookups *ls, unsigned idx, uint64_t now_ns)
{
	struct kad_lookup *l = ls->slot[idx];
	unsigned live = 0;
	bool pending = false;

	if (l->found && (l->flags & KAD_LOOKUP_STOP_ON_FOUND)) {
		lookup_finish(ls, idx, KAD_END_FOUND, now_ns);
		return false;
	}
	for (unsigned p = 0; p < l->n_paths; ++p) {
		if (path_advance(ls, l, p, now_ns, &live))
			pending = true;
		else
			l->ended |= (uint8_t)(1u << p);
	}
	if (!pending) {
		lookup_finish(ls, idx, live ? KAD_END_CONVERGED : KAD_END_EXHAUSTED, now_ns);
		return false;
	}
	if (l->inflight == 0) {
		/* Candidates are left but nothing may be sent. */
		lookup_finish(ls, idx, KAD_END_QUERY_CAP, now_ns);
		return false;
	}
	return true;
}

static int lookup_start(struct kad_lookups *ls, const uint8_t target[KAD_KEY_LEN],
			unsigned flags, enum kad_lookup_kind kind, uint64_t now_ns,
			uint64_t *txid)
{
	struct kad_contact seed[KAD_SHORTLIST_MAX];
	struct kad_lookup *l;
	unsigned idx;
	size_t n;

	if (!kad_table_key_ok(ls->table, target))
		return -EINVAL;
	if (ls->n_active >= ls->p.max_lookups ||
	    (kind != KAD_KIND_USER && ls->n_internal >= ls->p.max_internal)) {
		++ls->stats.busy;
		return -EBUSY;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (idx = 0; ls->slot[idx]; ++idx)
		;
	do
		l->txid = ls->next_txid++;
	while (l->txid == 0 || lookup_by_txid(ls, l->txid, NULL));
	l->kind = (uint8_t)kind;
	l->flags = (uint8_t)flags;
	l->n_paths = (uint8_t)ls->p.paths;
	memcpy(l->target, target, KAD_KEY_LEN);
	l->start_ns = now_ns;
	ls->slot[idx] = l;
	++ls->n_active;
	if (kind != KAD_KIND_USER)
		++ls->n_internal;
	++ls->stats.started;
	if (txid)
		*txid = l->txid;
	ls->next_ns = min64(ls->next_ns, now_ns + ls->p.lookup_max_ns);

	kad_table_touch(ls->table, target, now_ns);
	n = kad_table_closest(ls->table, target, ls->p.shortlist, seed, KAD_WANT_ANY);
	/* The seeds are dealt to the paths, closest first. */
	for (size_t i = 0; i < n; ++i) {
		cand_add(ls, l, &seed[i], 0, (unsigned)(i % l->n_paths));
		if (key_eq(seed[i].key, target) && !l->seen) {
			l->seen = true;
			l->hops = 0;
			l->target_contact = seed[i];
		}
	}
	lookup_advance(ls, idx, now_ns);
	return 0;
}

int kad_lookup_start(struct kad_lookups *ls, const uint8_t target[KAD_KEY_LEN],
		     unsigned flags, uint64_t now_ns, uint64_t *txid)
{
	return lookup_start(ls, target, flags, KAD_KIND_USER, now_ns, txid);
}

/* The candidate of l that from_key at from_addr answers for, if it was
 * asked (in flight, failed, or waiting for another try). */
static struct cand *cand_asked(const struct kad_lookup *l, const uint8_t *from_key,
			       const struct ovl_addr *from_addr)
{
	for (unsigned i = 0; i < l->n; ++i) {
		const struct cand *c = &l->cand[i];

		if (!key_eq(c->c.key, from_key))
			continue;
		if (c->state == CAND_ANSWERED || (c->state == CAND_NEW && !c->tries) ||
		    !ovl_addr_equal(&c->c.addr, from_addr))
			return NULL;
		return (struct cand *)c;
	}
	return NULL;
}

bool kad_lookups_expects(const struct kad_lookups *ls, uint64_t txid,
			 const uint8_t from_key[KAD_KEY_LEN], const struct ovl_addr *from_addr)
{
	const struct kad_lookup *l = lookup_by_txid(ls, txid, NULL);

	return l && cand_asked(l, from_key, from_addr);
}

void kad_lookups_on_nodes(struct kad_lookups *ls, uint64_t txid,
			  const uint8_t from_key[KAD_KEY_LEN],
			  const struct ovl_addr *from_addr, unsigned from_flags,
			  const struct kad_contact *nodes, size_t n, uint64_t now_ns)
{
	struct kad_lookup *l;
	struct cand *c = NULL;
	unsigned idx, depth, path;
	uint32_t rtt_us;

	l = lookup_by_txid(ls, txid, &idx);
	if (l)
		c = cand_asked(l, from_key, from_addr);
	if (!c) {
		/* Not an answer we wait for: it proves nothing (8.1). */
		++ls->stats.ignored;
		return;
	}
	rtt_us = now_ns > c->sent_ns ? (uint32_t)min64((now_ns - c->sent_ns) / 1000, UINT32_MAX) : 1;
	kad_table_heard(ls->table, from_key, from_addr,
			(from_flags & (KAD_F_NATED | KAD_F_RELAY)) | KAD_F_REPLIED, rtt_us, now_ns);
	cand_move(ls, l, c, CAND_ANSWERED, now_ns);
	c->c.addr = *from_addr;
	c->c.flags = (uint8_t)((from_flags & KAD_F_NATED) | KAD_F_HEARD);
	depth = c->depth;
	path = c->path;
	if (depth + 1 > l->rounds)
		l->rounds = depth + 1;
	if (is_target(l, c)) {
		target_named(l, path, from_flags);
		l->found = true;
		l->found_ns = now_ns;
		l->target_contact = c->c;
		if (!l->seen) {
			l->seen = true;
			l->hops = depth;
		}
	}
	if (n > KAD_NODES_MAX)
		n = KAD_NODES_MAX;
	/* c may move while the shortlist changes; it is not used below. */
	for (size_t i = 0; i < n; ++i) {
		const struct kad_contact *nc = &nodes[i];

		if (key_eq(nc->key, ls->table->own) || key_eq(nc->key, from_key))
			continue;
		if (nc->addr.family != OVL_AF_INET && nc->addr.family != OVL_AF_INET6)
			continue;
		kad_table_learned(ls->table, nc, now_ns);
		if (key_eq(nc->key, l->target))
			target_named(l, path, nc->flags);
		if (key_eq(nc->key, l->target) && !l->seen) {
			l->seen = true;
			l->hops = depth + 1;
			l->target_contact = *nc;
			l->target_contact.flags &= KAD_F_NATED;
		}
		cand_add(ls, l, nc, depth + 1, path);
	}
	lookup_advance(ls, idx, now_ns);
}

/* Expires l's queries; false if the lookup ended. */
static bool lookup_expire(struct kad_lookups *ls, unsigned idx, uint64_t now_ns)
{
	struct kad_lookup *l = ls->slot[idx];
	bool changed = false;

	if (now_ns - l->start_ns >= ls->p.lookup_max_ns) {
		lookup_finish(ls, idx, KAD_END_TIME_CAP, now_ns);
		return false;
	}
	for (unsigned i = 0; i < l->n; ++i) {
		struct cand *c = &l->cand[i];

		if (c->state != CAND_INFLIGHT || now_ns - c->sent_ns < ls->p.query_timeout_ns)
			continue;
		cand_move(ls, l, c, CAND_FAILED, now_ns);
		kad_table_timeout(ls->table, c->c.key, now_ns);
		/* One lost datagram must not hide the very node we look for. */
		if (is_target(l, c) && c->tries < ls->p.target_tries)
			cand_move(ls, l, c, CAND_NEW, now_ns);
		changed = true;
	}
	return changed ? lookup_advance(ls, idx, now_ns) : true;
}

static uint64_t lookup_deadline(const struct kad_lookups *ls, const struct kad_lookup *l)
{
	uint64_t next = l->start_ns + ls->p.lookup_max_ns;

	for (unsigned i = 0; i < l->n; ++i)
		if (l->cand[i].state == CAND_INFLIGHT)
			next = min64(next, l->cand[i].sent_ns + ls->p.query_timeout_ns);
	return next;
}

uint64_t kad_lookups_tick(struct kad_lookups *ls, uint64_t now_ns)
{
	struct kad_actions a;
	unsigned free_internal = 0;
	uint64_t txid;

	if (ls->n_internal < ls->p.max_internal && ls->n_active < ls->p.max_lookups) {
		free_internal = ls->p.max_internal - ls->n_internal;
		if (free_internal > ls->p.max_lookups - ls->n_active)
			free_internal = ls->p.max_lookups - ls->n_active;
	}
	/* A bootstrap lookup needs a slot of its own. */
	if (free_internal)
		--free_internal;
	kad_tick(ls->table, now_ns, free_internal, &a);
	for (unsigned i = 0; i < a.n_check; ++i) {
		++ls->stats.pings;
		ls->ops->ping(ls->ctx, &a.check[i]);
	}
	for (unsigned i = 0; i < a.n_refresh; ++i)
		lookup_start(ls, a.refresh[i], 0, KAD_KIND_REFRESH, now_ns, &txid);
	if (a.bootstrap) {
		bool running = false;

		for (unsigned i = 0; i < ls->p.max_lookups; ++i)
			if (ls->slot[i] && ls->slot[i]->kind == KAD_KIND_BOOTSTRAP)
				running = true;
		if (!running)
			lookup_start(ls, ls->table->own, 0, KAD_KIND_BOOTSTRAP, now_ns, &txid);
	}

	ls->next_ns = UINT64_MAX;
	for (unsigned i = 0; i < ls->p.max_lookups; ++i) {
		if (!ls->slot[i] || !lookup_expire(ls, i, now_ns))
			continue;
		/* done() callbacks may have started lookups; they lowered
		 * next_ns themselves. */
		if (ls->slot[i])
			ls->next_ns = min64(ls->next_ns, lookup_deadline(ls, ls->slot[i]));
	}
	return kad_lookups_deadline(ls);
}

uint64_t kad_lookups_deadline(const struct kad_lookups *ls)
{
	return min64(ls->next_ns, ls->table->next_ns);
}
