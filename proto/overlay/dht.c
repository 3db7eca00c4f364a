/* The DHT side of the overlay engine (engine.h): FIND_NODE answered from
 * the table within the amplification budget (doc/protocol.md 8.2), NODES
 * taken only when they answer a FIND_NODE of ours (8.1) and fed to the
 * lookups, the lookups' sends and the owner's waiters.
 *
 * Hearsay (8.3): the keys a NODES names are checked for the workbit, one
 * key per address is taken from an answer, and an address that only
 * hearsay named gets one datagram from us until someone answers from it
 * (the hearsay ring), so that an answer naming a victim many times costs
 * the victim less than the answer did. */
#include "proto/overlay/engine_priv.h"

#include "crypto/workbit.h"
#include "proto/overlay/addr.h"

#include <errno.h>
#include <string.h>

enum {
	FIND_NODE_PAD = 269,	/* pads FIND_NODE to 370 bytes: 5 entries back */
	AMPLIFICATION = 1,	/* answer <= 1 x request to an unvalidated address */
};

/* An address is validated when the key answered a request of ours from
 * it (doc/protocol.md 8.1): the table marks such entries REPLIED. */
bool dht_entry_validated(const struct kad_entry *ke, uint64_t now)
{
	return (ke->flags & KAD_F_REPLIED) && ke->replied_ns && now - ke->replied_ns < VALIDATED_NS;
}

bool dht_validated(const struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *a,
		   uint64_t now)
{
	const struct kad_entry *ke = kad_table_find(&e->table, key);

	return ke && dht_entry_validated(ke, now) && ke->addr.family == a->family &&
	       ke->addr.port == a->port && !memcmp(ke->addr.ip, a->ip, 16);
}

/* Entries that fit in AMPLIFICATION x the request's size (8.2). */
size_t dht_nodes_budget(size_t request_len)
{
	size_t max = request_len * AMPLIFICATION, n;
	struct ovl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_NODES;
	for (n = 0; n < OVL_K; ++n) {
		uint8_t buf[OVL_MAX_PLAINTEXT];
		long len;

		m.u.nodes.count = (uint8_t)(n + 1);
		ovl_addr_set_v6(&m.u.nodes.nodes[n].addr, (const uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8 }, 1);
		len = ovl_msg_encode(buf, sizeof(buf), &m);
		if (len < 0 || (size_t)len + OVL_OVERHEAD > max)
			break;
	}
	return n;
}

void dht_answer_find_node(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
			  const struct ovl_find_node *q, size_t request_len, struct ovl_time t)
{
	struct kad_contact c[OVL_K];
	struct ovl_msg m;
	size_t n, i, budget = OVL_K;

	if (!dht_validated(e, sender, from, t.now_ns))
		budget = dht_nodes_budget(request_len);
	/* A node behind a NAT is named only while we have a live, validated
	 * path to it: the requester will relay through us (doc/protocol.md
	 * 8.3); the table's KAD_DEF_NAT rule, with the same bounds. */
	n = kad_table_answer(&e->table, q->target, OVL_K, c, t.now_ns);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_NODES;
	m.u.nodes.txid = q->txid;
	/* The target itself first, when it is a client of ours: whoever
	 * looks for it can meet it through us. */
	if (memcmp(q->target, sender, 32) && budget) {
		struct ovl_addr ka;

		if (relay_is_client(e, q->target) && relay_live_path(e, q->target, t.now_ns, &ka)) {
			struct ovl_node *o = &m.u.nodes.nodes[m.u.nodes.count++];

			memcpy(o->key, q->target, 32);
			o->addr = ka;
			o->flags = 0;
		}
	}
	for (i = 0; i < n; ++i) {
		struct ovl_node *o = &m.u.nodes.nodes[m.u.nodes.count];

		/* The requester knows where it is; the target may be listed. */
		if (!memcmp(c[i].key, sender, 32) ||
		    (m.u.nodes.count && !memcmp(c[i].key, m.u.nodes.nodes[0].key, 32)))
			continue;
		if (m.u.nodes.count == budget)
			break;
		memcpy(o->key, c[i].key, 32);
		o->addr = c[i].addr;
		o->flags = (uint8_t)(((c[i].flags & KAD_F_NATED) ? 0 : OVL_NODE_PUBLIC) |
				     ((c[i].flags & KAD_F_RELAY) ? OVL_NODE_RELAY : 0));
		++m.u.nodes.count;
	}
	++e->stats.finds_answered;
	engine_send(e, sender, from, &m, t.wall_ns);
}

/* A FIND_NODE of ovl_engine_ask_public to key at addr, under txid. */
static struct ovl_asked *asked_find(const struct ovl_engine *e, const uint8_t key[32],
				    const struct ovl_addr *addr, uint64_t txid)
{
	unsigned i;

	for (i = 0; i < ASKED_MAX; ++i) {
		const struct ovl_asked *a = &e->asked[i];

		if (a->txid && a->txid == txid && !memcmp(a->key, key, 32) &&
		    ovl_addr_equal(&a->addr, addr))
			return (struct ovl_asked *)a;
	}
	return NULL;
}

bool dht_nodes_expected(const struct ovl_engine *e, const uint8_t sender[32],
			const struct ovl_addr *from, uint64_t txid)
{
	return kad_lookups_expects(&e->lookups, txid, sender, from) ||
	       asked_find(e, sender, from, txid);
}

/* Whether entry i of r may be used: a key of enough workbit, an address
 * no earlier entry of the answer has. */
static bool named_usable(const struct ovl_engine *e, const struct ovl_nodes *r, size_t i)
{
	size_t j;

	if (!ovl_addr_valid(&r->nodes[i].addr))
		return false;
	if (e->workbit && workbit_of(r->nodes[i].key, e->ns, e->ns_len) < e->workbit)
		return false;
	for (j = 0; j < i; ++j)
		if (ovl_addr_equal(&r->nodes[j].addr, &r->nodes[i].addr))
			return false;
	return true;
}

void dht_take_nodes(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		    unsigned from_flags, const struct ovl_nodes *r, uint64_t now)
{
	struct ovl_asked *asked = asked_find(e, sender, from, r->txid);
	struct kad_contact c[OVL_K];
	size_t n = 0, i;

	/* Its answer, once: a replay or a second answer finds nothing. */
	if (asked)
		asked->txid = 0;
	for (i = 0; i < r->count && n < OVL_K; ++i) {
		if (!named_usable(e, r, i)) {
			++e->stats.dropped_named;
			continue;
		}
		c[n].addr = r->nodes[i].addr;
		memcpy(c[n].key, r->nodes[i].key, 32);
		c[n].flags = (uint8_t)engine_kad_flags(r->nodes[i].flags);
		/* The responder has a live path to this NATed node: a
		 * rendezvous (and relay) for it. */
		if ((c[n].flags & KAD_F_NATED) && e->ops->on_reach)
			e->ops->on_reach(e->ctx, c[n].key, sender, from);
		++n;
	}
	/* An answer to ask_public is no lookup's: it validates its sender. */
	if (asked)
		kad_table_heard(&e->table, sender, from,
				(from_flags & (KAD_F_NATED | KAD_F_RELAY)) | KAD_F_REPLIED, 0, now);
	else
		kad_lookups_on_nodes(&e->lookups, r->txid, sender, from, from_flags, c, n, now);
}

/* Whether a datagram to key at `to` may leave: always to an address the
 * key spoke from (heard, so its owner answered or asked) and to a
 * configured bootstrap contact; to an address only hearsay named, once
 * per HEARSAY_NS (8.3). */
static bool hearsay_allow(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
			  uint64_t now)
{
	const struct kad_entry *ke = kad_table_find(&e->table, key);
	unsigned i;

	if ((ke && (ke->flags & KAD_F_HEARD) && ovl_addr_equal(&ke->addr, to)) ||
	    kad_table_is_bootstrap(&e->table, key, to))
		return true;
	for (i = 0; i < HEARSAY_MAX; ++i) {
		const struct ovl_hearsay *h = &e->hearsay[i];

		if (h->at_ns && now - h->at_ns < HEARSAY_NS && ovl_addr_equal(&h->addr, to)) {
			++e->stats.dropped_named;
			return false;
		}
	}
	e->hearsay[e->hearsay_next].addr = *to;
	e->hearsay[e->hearsay_next].at_ns = now ? now : 1;
	e->hearsay_next = (e->hearsay_next + 1) % HEARSAY_MAX;
	return true;
}

/* ---- the lookups' callbacks (they run inside a call that set e->now) ---- */

static void lk_find_node(void *ctx, const struct kad_contact *to, uint64_t txid,
			 const uint8_t target[KAD_KEY_LEN])
{
	struct ovl_engine *e = ctx;
	struct ovl_msg m;

	if (!ovl_addr_valid(&to->addr) || !hearsay_allow(e, to->key, &to->addr, e->now.now_ns))
		return;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_FIND_NODE;
	m.u.find_node.txid = txid;
	memcpy(m.u.find_node.target, target, 32);
	m.u.find_node.pad_len = FIND_NODE_PAD;
	engine_send(e, to->key, &to->addr, &m, e->now.wall_ns);
}

static void lk_ping(void *ctx, const struct kad_contact *to)
{
	struct ovl_engine *e = ctx;

	if (ovl_addr_valid(&to->addr) && hearsay_allow(e, to->key, &to->addr, e->now.now_ns))
		engine_send_ping(e, to->key, &to->addr, NULL, NULL, e->now);
}

static void lk_done(void *ctx, const struct kad_lookup_result *r)
{
	struct ovl_engine *e = ctx;
	unsigned i;

	if (e->ops->on_lookup_done)
		e->ops->on_lookup_done(e->ctx, r);
	if (r->found && r->kind == KAD_KIND_USER && ovl_addr_valid(&r->target_contact.addr) &&
	    e->ops->on_contact)
		e->ops->on_contact(e->ctx, r->target, &r->target_contact.addr);
	/* A lookup with nothing to ask ends inside kad_lookup_start, before
	 * its waiter knows the txid. */
	if (e->starting && e->starting->done && r->kind == KAD_KIND_USER) {
		struct ovl_waiter *w = e->starting;
		ovl_engine_lookup_cb *done = w->done;

		e->starting = NULL;
		w->done = NULL;
		done(w->arg, r);
		return;
	}
	for (i = 0; i < WAITERS_MAX; ++i) {
		struct ovl_waiter *w = &e->waiters[i];

		if (w->done && w->txid == r->txid) {
			ovl_engine_lookup_cb *done = w->done;

			w->done = NULL;
			done(w->arg, r);
		}
	}
}

const struct kad_lookup_ops engine_lookup_ops = {
	.find_node = lk_find_node,
	.ping = lk_ping,
	.done = lk_done,
};

int ovl_engine_lookup(struct ovl_engine *e, const uint8_t key[32], ovl_engine_lookup_cb *done,
		      void *arg, struct ovl_time t)
{
	struct ovl_waiter *w = NULL;
	uint64_t txid;
	unsigned i;
	int ret;

	e->now = t;
	if (done) {
		for (i = 0; i < WAITERS_MAX && !w; ++i)
			if (!e->waiters[i].done)
				w = &e->waiters[i];
		if (!w)
			return -EBUSY;
		/* Claimed before the start: done() may run inside it. */
		w->done = done;
		w->arg = arg;
		w->txid = 0;
	}
	e->starting = w;
	ret = kad_lookup_start(&e->lookups, key, KAD_LOOKUP_STOP_ON_FOUND, t.now_ns, &txid);
	e->starting = NULL;
	if (ret < 0) {
		if (w)
			w->done = NULL;
		return ret;
	}
	if (w && w->done)
		w->txid = txid;
	return 0;
}

/* A lookup asks the alpha nodes nearest the key first and waits a second
 * for each that does not answer.  Nodes that left lately (a public node
 * names a NATed one for a minute after it last heard it) are often nearer
 * the key than the public node the member keeps a path to, so a lookup of
 * a member that just came up could spend seconds on them before it asked
 * that node (doc/nat-lab.md, the NAT matrix).  The public nodes we heard
 * are asked at once instead; the answer, under a txid no lookup owns,
 * only names the member to on_reach and refreshes the table. */
unsigned ovl_engine_ask_public(struct ovl_engine *e, const uint8_t key[32], struct ovl_time t)
{
	struct kad_contact c[3];
	size_t n = kad_table_closest(&e->table, key, 3, c, KAD_WANT_HEARD | KAD_WANT_PUBLIC), i;

	e->now = t;
	for (i = 0; i < n; ++i) {
		struct ovl_asked *a = &e->asked[e->asked_next++ % ASKED_MAX];

		/* The oldest question is forgotten: its answer is dropped. */
		a->txid = engine_nonce(e);
		memcpy(a->key, c[i].key, 32);
		a->addr = c[i].addr;
		lk_find_node(e, &c[i], a->txid, key);
	}
	return (unsigned)n;
}
