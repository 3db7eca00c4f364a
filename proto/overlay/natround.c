/* NAT filtering rounds in the overlay engine (doc/protocol.md 9.2; the
 * verdict itself is natfilter.c's): PROBE_REQs answered as a PUBLIC node,
 * and our own classification, a few rounds of PROBE_REQ to PUBLIC nodes
 * whose probes tell how our NAT filters.  Only this file touches e->filt. */
#include "proto/overlay/engine_priv.h"

#include "proto/overlay/addr.h"
#include "proto/common/gcra.h"

#include <sodium.h>
#include <string.h>

#define NATFILT_WAIT_NS (2 * NS_PER_S)		/* a round's probes have arrived by then */
#define NATFILT_REDO_NS (600 * NS_PER_S)	/* a verdict is redone this often */
#define NATFILT_RETRY_NS (30 * NS_PER_S)	/* after no verdict */
#define NATFILT_LOOK_NS (2 * NS_PER_S)		/* how often a change is looked for */

/* ---- answering PROBE_REQ ---- */

/* A requester may ask about once a second (a burst of 4), all of them 100
 * times a second: each answer opens two sockets. */
static bool probe_admit(struct ovl_engine *e, const uint8_t key[32], uint64_t now)
{
	uint64_t h, all = e->filt.tat_all;

	crypto_shorthash((uint8_t *)&h, key, 32, e->filt.hash_key);
	if (!gcra_allow(&all, now, NS_PER_S / 100, NS_PER_S) ||
	    !gcra_allow(&e->filt.tat_key[h % PROBE_LIMIT_SLOTS], now, NS_PER_S, 4 * NS_PER_S))
		return false;
	e->filt.tat_all = all;
	return true;
}

/* Seals m and sends it from a fresh socket bound to from_ip. */
static bool probe_send_aux(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *from_ip,
			   const struct ovl_addr *to, const struct ovl_msg *m, uint64_t wall_ns)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	long n = engine_seal(e, key, m, wall_ns, buf);

	if (n < 0)
		return false;
	if (e->ops->send(e->ctx, to, from_ip, buf, (size_t)n) < 0) {
		++e->stats.send_errors;
		return false;
	}
	++e->stats.tx;
	return true;
}

/* A PROBE_REQ: a PUBLIC node sends OTHER_PORT from its IP address and
 * another port, OTHER_IP from a second address of that family if it has
 * one, both to the request's source address and never to any address the
 * request names (it names none), then the ANSWER from its main socket.
 * At most three PROBEs, no more bytes than the padded request. */
void natround_answer(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_rx *rx,
		     const struct ovl_probe_req *r, struct ovl_time t)
{
	struct ovl_addr main_ip, other;
	struct ovl_msg m;
	uint8_t sent = 0;

	if (!e->public_node || rx->len < OVL_PROBE_REQ_MIN || !probe_admit(e, sender, t.now_ns)) {
		++e->stats.probes_dropped;
		return;
	}
	/* The address the request came to, of its source's family. */
	memset(&main_ip, 0, sizeof(main_ip));
	if (rx->has_local && rx->local.family == rx->src.family) {
		main_ip.family = rx->src.family;
		memcpy(main_ip.ip, rx->local.ip, sizeof(main_ip.ip));
	}
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PROBE;
	m.u.probe.nonce = r->nonce;
	/* Which probes go is known before any is sealed: every PROBE says so. */
	if (main_ip.family) {
		sent |= OVL_PROBE_SENT_OTHER_PORT;
		if (e->ops->other_ip && e->ops->other_ip(e->ctx, &main_ip, rx->ifindex, &other) &&
		    other.family == main_ip.family && !ovl_addr_same_ip(&other, &main_ip) &&
		    ovl_ip_usable(other.family, other.ip)) {
			other.port = 0;
			sent |= OVL_PROBE_SENT_OTHER_IP;
		}
	}
	m.u.probe.sent = sent;
	if (sent & OVL_PROBE_SENT_OTHER_PORT) {
		m.u.probe.kind = OVL_PROBE_OTHER_PORT;
		if (!probe_send_aux(e, sender, &main_ip, &rx->src, &m, t.wall_ns))
			sent &= (uint8_t)~OVL_PROBE_SENT_OTHER_PORT;
	}
	if (sent & OVL_PROBE_SENT_OTHER_IP) {
		m.u.probe.kind = OVL_PROBE_OTHER_IP;
		if (!probe_send_aux(e, sender, &other, &rx->src, &m, t.wall_ns))
			sent &= (uint8_t)~OVL_PROBE_SENT_OTHER_IP;
	}
	m.u.probe.kind = OVL_PROBE_ANSWER;
	m.u.probe.sent = sent;
	if (engine_send(e, sender, &rx->src, &m, t.wall_ns) >= 0)
		++e->stats.probes_answered;
}

/* ---- classifying our own NAT ---- */

static enum ovl_filter_mapping mapping_of(enum ovl_nat_mapping n)
{
	if (n == OVL_NAT_NONE)
		return OVL_FILTER_MAPPING_NONE;
	if (n == OVL_NAT_EIM || n == OVL_NAT_EDM)
		return OVL_FILTER_MAPPING_NAT;
	return OVL_FILTER_MAPPING_UNKNOWN;
}

struct pick {
	struct ovl_engine *e;
	unsigned n;
};

static bool ask(struct ovl_engine *e, const struct kad_entry *ke)
{
	struct ovl_natfilt_slot *s;
	struct ovl_msg m;
	unsigned i;

	if (!(ke->flags & KAD_F_HEARD) || (ke->flags & KAD_F_NATED) || !ovl_addr_valid(&ke->addr))
		return false;
	for (i = 0; i < NATFILT_ASKED; ++i) {
		if (!e->filt.slot[i].nonce)
			break;
		/* One per IP address: two nodes on one host are one test. */
		if (ovl_addr_same_ip(&e->filt.slot[i].addr, &ke->addr))
			return false;
	}
	if (i == NATFILT_ASKED)
		return false;
	s = &e->filt.slot[i];
	memset(s, 0, sizeof(*s));
	s->nonce = engine_nonce(e);
	memcpy(s->key, ke->key, 32);
	s->addr = ke->addr;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PROBE_REQ;
	m.u.probe_req.nonce = s->nonce;
	m.u.probe_req.pad_len = OVL_PROBE_REQ_PAD;
	if (engine_send(e, ke->key, &ke->addr, &m, e->now.wall_ns) < 0) {
		s->nonce = 0;
		return false;
	}
	return true;
}

static void pick_entry(void *ctx, unsigned bucket, const struct kad_entry *ke)
{
	struct pick *p = ctx;

	(void)bucket;
	if (p->n < NATFILT_ASKED && ask(p->e, ke))
		++p->n;
}

/* A round: PROBE_REQ to up to three PUBLIC nodes at different addresses,
 * first the last one that could send OTHER_IP. */
static bool round_start(struct ovl_engine *e, uint64_t now)
{
	struct pick p = { .e = e, .n = 0 };
	const struct kad_entry *ke;
	static const uint8_t none[32];

	memset(e->filt.slot, 0, sizeof(e->filt.slot));
	if (memcmp(e->filt.ip_capable, none, 32) &&
	    (ke = kad_table_find(&e->table, e->filt.ip_capable)) && ask(e, ke))
		++p.n;
	kad_table_walk(&e->table, pick_entry, &p);
	if (!p.n)
		return false;
	e->filt.round_end_ns = now + NATFILT_WAIT_NS;
	return true;
}

/* A PROBE from key, received at our main socket from `from`: counted for
 * the round in flight when it comes from where its kind says. */
void natround_take(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *from,
		   const struct ovl_probe *pr)
{
	struct ovl_natfilt_slot *s = NULL;
	unsigned i;

	for (i = 0; i < NATFILT_ASKED && !s; ++i)
		if (e->filt.slot[i].nonce && e->filt.slot[i].nonce == pr->nonce &&
		    !memcmp(e->filt.slot[i].key, key, 32))
			s = &e->filt.slot[i];
	if (!s || !e->filt.round_end_ns) {
		++e->stats.probes_unexpected;
		return;
	}
	switch (pr->kind) {
	case OVL_PROBE_ANSWER:
		if (ovl_addr_equal(from, &s->addr)) {
			s->answered = true;
			s->sent = pr->sent;
		}
		break;
	case OVL_PROBE_OTHER_PORT:
		if (ovl_addr_same_ip(from, &s->addr) && from->port != s->addr.port)
			s->port_rx = true;
		break;
	case OVL_PROBE_OTHER_IP:
		/* From the answerer's main address after all (a NAT of its
		 * own): not a test of our filtering by address. */
		if (from->family == s->addr.family && !ovl_addr_same_ip(from, &s->addr))
			s->ip_rx = true;
		else
			s->ip_bad = true;
		break;
	default:
		++e->stats.probes_unexpected;
		break;
	}
}

/* The round in flight is over: its evidence counted, the verdict made,
 * another round or the next classification planned. */
static void round_end(struct ovl_engine *e, uint64_t now)
{
	struct ovl_natfilt *f = &e->filt;
	bool answered = false, port_sent = false, ip_sent = false, port_rx = false, ip_rx = false;
	bool again;
	enum ovl_filtering v;
	unsigned i;

	for (i = 0; i < NATFILT_ASKED; ++i) {
		const struct ovl_natfilt_slot *s = &f->slot[i];

		if (!s->nonce)
			continue;
		answered |= s->answered;
		port_sent |= s->answered && (s->sent & OVL_PROBE_SENT_OTHER_PORT);
		ip_sent |= s->answered && (s->sent & OVL_PROBE_SENT_OTHER_IP) && !s->ip_bad;
		port_rx |= s->port_rx;
		ip_rx |= s->ip_rx && !s->ip_bad;
		if (s->answered && (s->sent & OVL_PROBE_SENT_OTHER_IP) && !s->ip_bad)
			memcpy(f->ip_capable, s->key, 32);
	}
	f->ev.rounds++;
	f->ev.answered += answered;
	f->ev.port_sent += port_sent;
	f->ev.ip_sent += ip_sent;
	f->ev.port_rx += port_rx;
	f->ev.ip_rx += ip_rx;
	memset(f->slot, 0, sizeof(f->slot));
	f->round_end_ns = 0;
	v = ovl_filter_classify(mapping_of(f->mapping), &f->ev, &again);
	if (again && round_start(e, now))
		return;
	/* A periodic redo keeps the old verdict until it has a new one. */
	if (v != OVL_FILTER_UNKNOWN || f->ev.rounds >= OVL_FILTER_ROUNDS_MAX)
		f->verdict = v;
	f->next_ns = now + (v == OVL_FILTER_UNKNOWN ? NATFILT_RETRY_NS : NATFILT_REDO_NS);
}

/* Starts a classification for the mapping and reflexive address we now
 * have: at once when there is no NAT to test or nothing known. */
static void classify_start(struct ovl_engine *e, enum ovl_nat_mapping mapping, unsigned observers,
			   uint64_t now)
{
	struct ovl_natfilt *f = &e->filt;
	bool again;

	f->mapping = mapping;
	f->observers = observers;
	memset(&f->base, 0, sizeof(f->base));
	ovl_engine_reflexive(e, &f->base);
	memset(&f->ev, 0, sizeof(f->ev));
	if (mapping_of(mapping) != OVL_FILTER_MAPPING_NAT) {
		f->verdict = ovl_filter_classify(mapping_of(mapping), &f->ev, &again);
		f->next_ns = now + NATFILT_REDO_NS;
		return;
	}
	/* No PUBLIC node known yet: the next look tries again. */
	f->next_ns = now;
	round_start(e, now);
}

/* Runs from the engine's tick: ends a round whose wait is over; every 2
 * seconds looks whether a classification is due, or the mapping or the
 * reflexive IP address changed (roaming: the old verdict is dropped). */
void natround_tick(struct ovl_engine *e, struct ovl_time t)
{
	struct ovl_natfilt *f = &e->filt;
	enum ovl_nat_mapping mapping;
	struct ovl_addr k;
	struct ovl_nat_count count = { 0, 0 };

	e->now = t;
	if (f->round_end_ns) {
		if (t.now_ns >= f->round_end_ns)
			round_end(e, t.now_ns);
		return;
	}
	if (t.now_ns < f->look_ns)
		return;
	f->look_ns = t.now_ns + NATFILT_LOOK_NS;
	mapping = ovl_engine_nat_mapping(e, t.now_ns, &count);
	memset(&k, 0, sizeof(k));
	ovl_engine_reflexive(e, &k);
	if (mapping != f->mapping || (k.family && f->base.family && !ovl_addr_same_ip(&k, &f->base))) {
		f->verdict = OVL_FILTER_UNKNOWN;
		classify_start(e, mapping, count.observers, t.now_ns);
	} else if (t.now_ns >= f->next_ns) {
		classify_start(e, mapping, count.observers, t.now_ns);
	}
}

uint64_t natround_deadline(const struct ovl_engine *e)
{
	return e->filt.round_end_ns ? e->filt.round_end_ns : e->filt.look_ns;
}

enum ovl_filtering ovl_engine_nat_filtering(const struct ovl_engine *e, unsigned *observers)
{
	if (observers)
		*observers = e->filt.observers;
	return e->filt.verdict;
}
