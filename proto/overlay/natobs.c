/* Our reflexive address and the NAT mapping classification (engine.h):
 * the addresses observers saw us at, from their PONGs to our PINGs and
 * from the MAP_SEENs a PUBLIC node sends from its second port to our
 * MAP_PROBEs (doc/protocol.md 9.4), and that second port's answers as a
 * PUBLIC node. */
#include "proto/overlay/engine_priv.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/secure.h"

#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAP_ANSWER_NS (10 * NS_PER_S)	/* a MAP_SEEN counts this long after its MAP_PROBE */

/* The observers we chose (the boot nodes) and our network's members (the
 * peers set, relay.c); anyone while neither is known (a node not
 * configured, the simulator). */
static bool trusted(const struct ovl_engine *e, const uint8_t key[32])
{
	size_t i;
	bool found = false;

	if (!e->n_observers && !e->n_peer_keys)
		return true;
	for (i = 0; i < e->n_observers; ++i)
		found |= sodium_memcmp(e->observers[i], key, 32) == 0;
	return found || relay_is_peer(e, key);
}

int ovl_engine_trust_observer(struct ovl_engine *e, const uint8_t key[32], bool trust)
{
	size_t i;

	for (i = 0; i < e->n_observers; ++i) {
		if (sodium_memcmp(e->observers[i], key, 32))
			continue;
		if (!trust)
			memcpy(e->observers[i], e->observers[--e->n_observers], 32);
		return 0;
	}
	if (!trust)
		return 0;
	if (e->n_observers == e->cap_observers) {
		size_t cap = e->cap_observers ? 2 * e->cap_observers : 16;
		uint8_t(*grown)[32] = realloc(e->observers, cap * 32);

		if (!grown)
			return -ENOMEM;
		e->observers = grown;
		e->cap_observers = cap;
	}
	memcpy(e->observers[e->n_observers++], key, 32);
	return 0;
}

/* Takes what a trusted observer saw at `observer` (one of its ports) as
 * that port's observation, replacing its last one, so that frequent PONGs
 * from one port never push another port's observation out; a new port
 * takes an empty slot or the stalest. */
static bool observe(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *observer,
		    const struct ovl_addr *seen, uint64_t now)
{
	struct ovl_observation *o = NULL;
	unsigned i;

	if (!ovl_addr_valid(seen))
		return false;
	if (!trusted(e, key)) {
		++e->stats.observations_untrusted;
		return false;
	}
	for (i = 0; i < OBSERVATIONS && !o; ++i)
		if (e->obs[i].at_ns && ovl_addr_equal(&e->obs[i].observer, observer))
			o = &e->obs[i];
	for (i = 0; i < OBSERVATIONS && !o; ++i)
		if (!e->obs[i].at_ns)
			o = &e->obs[i];
	if (!o) {
		o = &e->obs[0];
		for (i = 1; i < OBSERVATIONS; ++i)
			if (e->obs[i].at_ns < o->at_ns)
				o = &e->obs[i];
	}
	o->observer = *observer;
	o->seen = *seen;
	o->at_ns = now ? now : 1;
	return true;
}

/* A PONG's observed address: an observation, and our reflexive address
 * (what the main ports of the nodes we talk to see). */
void natobs_record(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *observer,
		   const struct ovl_addr *seen, uint64_t now)
{
	if (observe(e, key, observer, seen, now))
		e->reflexive = *seen;
}

bool ovl_engine_reflexive(const struct ovl_engine *e, struct ovl_addr *out)
{
	if (!e->reflexive.family)
		return false;
	*out = e->reflexive;
	return true;
}

enum ovl_nat_mapping ovl_engine_nat_mapping(const struct ovl_engine *e, uint64_t now,
					    struct ovl_nat_count *count)
{
	const struct ovl_observation *seen[OBSERVATIONS];
	unsigned n = 0, ips = 0, i, j;
	bool differ = false;

	/* The last observation of each address an observer answered from
	 * (one slot each): a PUBLIC node's main and second ports are two. */
	for (i = 0; i < OBSERVATIONS; ++i) {
		const struct ovl_observation *o = &e->obs[i];
		bool new_ip = true;

		if (!o->at_ns || now - o->at_ns > OBSERVATION_NS)
			continue;
		for (j = 0; j < n; ++j)
			new_ip &= !ovl_addr_same_ip(&seen[j]->observer, &o->observer);
		ips += new_ip;
		seen[n++] = o;
	}
	if (count) {
		count->observers = ips;
		count->ports = n;
	}
	if (!n)
		return OVL_NAT_UNKNOWN;
	for (i = 1; i < n; ++i)
		differ |= !ovl_addr_equal(&seen[i]->seen, &seen[0]->seen);
	if (differ)
		return OVL_NAT_EDM;
	/* Seen at our own address and port: nothing translates us, which
	 * one observer proves; telling the two kinds of mapping apart takes
	 * two destinations, two observers or one PUBLIC node's two ports. */
	if (e->ops->own_address && e->ops->own_address(e->ctx, &seen[0]->seen))
		return OVL_NAT_NONE;
	return n < 2 ? OVL_NAT_UNKNOWN : OVL_NAT_EIM;
}

/* ---- MAP_PROBE and MAP_SEEN (doc/protocol.md 9.4) ---- */

/* Asks the PUBLIC node key at addr where its second port sees us: a
 * chosen observer only, since its answer is an observation. */
static void send_map_probe(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct ovl_map_slot *s;
	struct ovl_msg m;

	if (addr->port > UINT16_MAX - OVL_PROBE_PORT_OFFSET || !trusted(e, key))
		return;
	s = &e->maps[e->map_next++ % MAP_PROBES_TRACKED];
	memset(s, 0, sizeof(*s));
	s->nonce = engine_nonce(e);
	memcpy(s->key, key, 32);
	s->to = *addr;
	s->to.port = (uint16_t)(addr->port + OVL_PROBE_PORT_OFFSET);
	s->sent_ns = e->now.now_ns;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_MAP_PROBE;
	m.u.map_probe.nonce = s->nonce;
	m.u.map_probe.pad_len = OVL_MAP_PROBE_PAD;
	if (engine_send(e, key, &s->to, &m, e->now.wall_ns) < 0)
		s->nonce = 0;
	else
		++e->stats.map_sent;
}

/* A MAP_SEEN on our main socket: an observation when it answers a
 * MAP_PROBE of ours to that key, from the port it went to, lately; the
 * probe is then forgotten, so that a replay matches nothing. */
void natobs_take_seen(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *from,
		      const struct ovl_map_seen *r, uint64_t now)
{
	unsigned i;

	for (i = 0; i < MAP_PROBES_TRACKED; ++i) {
		struct ovl_map_slot *s = &e->maps[i];

		if (!s->nonce || s->nonce != r->nonce || memcmp(s->key, key, 32) ||
		    !ovl_addr_equal(&s->to, from) || now - s->sent_ns >= MAP_ANSWER_NS)
			continue;
		s->nonce = 0;
		/* An observation, not our reflexive address: behind an
		 * endpoint-dependent NAT that is what other nodes' main
		 * ports see, not this port. */
		observe(e, key, from, &r->observed, now);
		return;
	}
	++e->stats.map_unexpected;
}

size_t ovl_engine_probe_port_input(struct ovl_engine *e, const struct ovl_rx *rx, struct ovl_time t,
				   uint8_t out[OVL_MAX_DATAGRAM])
{
	uint8_t plain[OVL_MAX_PLAINTEXT], sender[32];
	struct ovl_secure_src src = { .addr = &rx->src, .now_ns = t.now_ns, .reply = NULL };
	const size_t key_at = offsetof(struct ovl_wire_header, sender);
	struct ovl_msg m;
	uint64_t nonce;
	size_t plen = 0;
	long n;

	e->now = t;
	++e->stats.rx;
	/* Cheapest first: a sender we hold no keys for would cost a DH, and
	 * this port gives none (nor a cookie); a request shorter than its
	 * answer is not opened at all. */
	if (!e->public_node || !ovl_addr_valid(&rx->src) || rx->len < OVL_MAP_SEEN_LEN ||
	    rx->data[0] != OVL_MAGIC || !ovl_secure_has_peer(e->sec, rx->data + key_at))
		goto drop;
	if (ovl_secure_open_from(e->sec, rx->data, rx->len, &src, t.wall_ns, sender, plain,
				  sizeof(plain), &plen) != OVL_ACCEPT ||
	    ovl_msg_decode(&m, plain, plen) != OVL_DECODE_OK || m.type != OVL_MSG_MAP_PROBE)
		goto drop;
	nonce = m.u.map_probe.nonce;
	memset(&m.u, 0, sizeof(m.u));
	m.type = OVL_MSG_MAP_SEEN;
	m.u.map_seen.nonce = nonce;
	m.u.map_seen.observed = rx->src;
	n = engine_seal(e, sender, &m, t.wall_ns, out);
	/* Never more than the request (8.2), a cookie's mac2 included. */
	if (n < 0 || (size_t)n > rx->len)
		goto drop;
	++e->stats.map_answered;
	++e->stats.tx;
	return (size_t)n;
drop:
	++e->stats.map_dropped;
	return 0;
}

struct probe_ctx {
	struct ovl_engine *e;
	struct ovl_addr picked[3];
	unsigned n;
};

static void probe_entry(void *ctx, unsigned bucket, const struct kad_entry *ke)
{
	struct probe_ctx *p = ctx;
	unsigned i;

	(void)bucket;
	if (p->n == 3 || !(ke->flags & KAD_F_HEARD) || (ke->flags & KAD_F_NATED))
		return;
	for (i = 0; i < p->n; ++i)
		if (ovl_addr_same_ip(&p->picked[i], &ke->addr))
			return;
	if (!ovl_addr_valid(&ke->addr))
		return;
	p->picked[p->n++] = ke->addr;
	engine_send_ping(p->e, ke->key, &ke->addr, NULL, NULL, p->e->now);
	send_map_probe(p->e, ke->key, &ke->addr);
}

/* Pings up to three PUBLIC nodes of the table at different IP addresses,
 * so that their PONGs tell our reflexive address and mapping, and asks
 * the chosen observers among them at their second port too. */
void ovl_engine_probe_reflexive(struct ovl_engine *e, struct ovl_time t)
{
	struct probe_ctx p;

	memset(&p, 0, sizeof(p));
	p.e = e;
	e->now = t;
	kad_table_walk(&e->table, probe_entry, &p);
}
