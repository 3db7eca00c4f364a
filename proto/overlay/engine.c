/* The overlay engine (see engine.h): setup, the dispatch of every
 * datagram, PING/PUNCH and the round trips of their PONGs, the owner's
 * plain requests and the periodic work.  Every datagram is opened by the
 * secure layer (authenticated sender, workbit, replay), decoded strictly, and
 * its sender offered to the routing table before its type is served. */
#include "proto/overlay/engine_priv.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/secure.h"

/* A relay's table of stock clients' entries (9.5): 4096 x 72 bytes. */
#define STOCK_SLOTS 4096

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- sending ---- */

/* PING sizes on the wire (8.2): a PONG back; a PONG and a PING back. */
enum {
	PING_PUBLIC_LEN = OVL_PONG_LEN,
	PING_NATED_LEN = 2 * OVL_PONG_LEN,
};

long engine_seal(struct ovl_engine *e, const uint8_t key[32], const struct ovl_msg *m,
		 uint64_t wall_ns, uint8_t buf[OVL_MAX_DATAGRAM])
{
	long plen = ovl_msg_encode(buf + OVL_HEADER_LEN, OVL_MAX_PLAINTEXT, m);

	if (plen < 0)
		return plen;
	return ovl_secure_seal(e->sec, key, buf + OVL_HEADER_LEN, (size_t)plen, wall_ns, buf,
				OVL_MAX_DATAGRAM);
}

/* Sends a sealed datagram (n: its length or a negative errno) from the
 * main socket, counted. */
static int send_sealed(struct ovl_engine *e, const struct ovl_addr *to, const uint8_t *buf, long n)
{
	int ret;

	if (n < 0)
		return (int)n;
	ovl_predict_flow_sent(&e->flows, to, e->now.now_ns);
	ret = e->ops->send(e->ctx, to, NULL, buf, (size_t)n);
	if (ret < 0)
		++e->stats.send_errors;
	else
		++e->stats.tx;
	return ret;
}

/* Encodes, seals and sends m to key at `to`, from the main socket. */
int engine_send(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		const struct ovl_msg *m, uint64_t wall_ns)
{
	uint8_t buf[OVL_MAX_DATAGRAM];

	return send_sealed(e, to, buf, engine_seal(e, key, m, wall_ns, buf));
}

int ovl_engine_send_invite(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
			   const uint8_t *via, const uint8_t *plain, size_t len, struct ovl_time t)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	long n;

	if (!len || plain[0] < OVL_MSG_INVITE_FIRST || plain[0] > OVL_MSG_INVITE_LAST)
		return -EINVAL;
	n = ovl_secure_seal(e->sec, key, plain, len, t.wall_ns, buf, sizeof(buf));
	if (!via || n < 0)
		return send_sealed(e, to, buf, n);
	/* Sealed to key, then carried by the relay as a rendezvous (9). */
	if ((size_t)n > OVL_RELAY_MAX_CHUNK)
		return -EMSGSIZE;
	return ovl_engine_relay_send(e, via, to, key, buf, (size_t)n, t);
}

void ovl_engine_behind_nat(struct ovl_engine *e)
{
	e->public_node = false;
	e->relay = false;
}

/* A random nonzero 64-bit number (nonces, txids). */
uint64_t engine_nonce(struct ovl_engine *e)
{
	uint64_t v;

	do
		e->rng(e->rng_ctx, &v, sizeof(v));
	while (!v);
	return v;
}

static uint8_t our_flags(const struct ovl_engine *e)
{
	if (!e->public_node)
		return 0;
	return OVL_NODE_PUBLIC | (e->relay ? OVL_NODE_RELAY : 0);
}

/* The table's flags for a node's own flags. */
unsigned engine_kad_flags(uint8_t node_flags)
{
	return ((node_flags & OVL_NODE_PUBLIC) ? 0 : KAD_F_NATED) |
	       ((node_flags & OVL_NODE_RELAY) ? KAD_F_RELAY : 0);
}

/* A PING nobody waits on (done NULL) to key at `to` that left less than
 * PING_COALESCE_NS ago and is still unanswered: its PONG answers for a
 * new one too.  Every member relayed through one relay pings it (its
 * path's liveness, every tick while the traffic is quiet): one PING per
 * relay, not one per member, or, when the answers come seconds late (a
 * starved CPU), those PINGs push every PING whose PONG is on its way out
 * of the table, so that a relay that answers late is never heard and its
 * members replace it (issue 19). */
static bool ping_pending(const struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
			 uint64_t now)
{
	unsigned i;

	for (i = 0; i < PINGS_TRACKED; ++i) {
		const struct ovl_ping_slot *s = &e->pings[i];

		if (s->nonce && s->type == OVL_MSG_PING && !s->done && now - s->sent_ns < PING_COALESCE_NS &&
		    !memcmp(s->key, key, 32) && ovl_addr_equal(&s->to, to))
			return true;
	}
	return false;
}

/* Sends a PING or PUNCH of len bytes on the wire (at least its unpadded
 * size), tracked for its PONG. */
static int send_probe(struct ovl_engine *e, uint8_t type, const uint8_t key[32],
		      const struct ovl_addr *to, size_t len, ovl_engine_pong_cb *done, void *arg,
		      struct ovl_time t)
{
	struct ovl_ping_slot *slot;
	struct ovl_msg m;

	if (type == OVL_MSG_PING && !done && ping_pending(e, key, to, t.now_ns)) {
		++e->stats.pings_coalesced;
		return 0;
	}
	slot = &e->pings[e->ping_next++ % PINGS_TRACKED];
	/* The oldest tracked ping is forgotten: its PONG, if it comes, is
	 * still an authenticated message, just without an RTT sample. */
	memset(slot, 0, sizeof(*slot));
	slot->nonce = engine_nonce(e);
	slot->type = type;
	memcpy(slot->key, key, 32);
	slot->to = *to;
	slot->sent_ns = t.now_ns;
	slot->done = done;
	slot->arg = arg;
	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == OVL_MSG_PUNCH) {
		m.u.punch.nonce = slot->nonce;
		m.u.punch.pad_len = (uint16_t)(len - OVL_PUNCH_LEN);
	} else {
		m.u.ping.nonce = slot->nonce;
		m.u.ping.flags = our_flags(e);
		m.u.ping.pad_len = (uint16_t)(len - OVL_PING_LEN);
	}
	return engine_send(e, key, to, &m, t.wall_ns);
}

/* A PING is padded so that its answer is never larger (doc/protocol.md
 * 8.2): a PONG, and from a NATed node also the PING back that validates
 * it (take_ping). */
int engine_send_ping(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		     ovl_engine_pong_cb *done, void *arg, struct ovl_time t)
{
	return send_probe(e, OVL_MSG_PING, key, to, e->public_node ? PING_PUBLIC_LEN : PING_NATED_LEN,
			  done, arg, t);
}

/* The answer to a PING or PUNCH: the nonce, our flags, and the address
 * the request came from (the requester's reflexive address). */
static void send_pong(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		      uint64_t nonce, struct ovl_time t)
{
	struct ovl_msg r;

	memset(&r, 0, sizeof(r));
	r.type = OVL_MSG_PONG;
	r.u.pong.nonce = nonce;
	r.u.pong.flags = our_flags(e);
	r.u.pong.observed = *to;
	engine_send(e, key, to, &r, t.wall_ns);
}

/* A PONG from sender: the round trip of our PING or PUNCH it answers, if
 * any (0 otherwise); the slot is freed so that a replay matches nothing.
 * It answers only from the address the PING went to (8.1). */
static uint32_t take_pong(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
			  const struct ovl_pong *pong, uint64_t now)
{
	unsigned i;

	for (i = 0; i < PINGS_TRACKED; ++i) {
		struct ovl_ping_slot *s = &e->pings[i];
		uint64_t d_ns;
		uint32_t rtt_us;

		if (!s->nonce || s->nonce != pong->nonce || memcmp(s->key, sender, 32) ||
		    !ovl_addr_equal(&s->to, from))
			continue;
		d_ns = now - s->sent_ns;
		rtt_us = d_ns / 1000 ? (uint32_t)(d_ns / 1000) : 1;
		s->nonce = 0;
		if (s->done)
			s->done(s->arg, sender, rtt_us);
		/* Our address as this node saw it; only from the answer to
		 * our own PING, so that a replayed PONG cannot plant an
		 * address. */
		natobs_record(e, sender, from, &pong->observed, now);
		return rtt_us;
	}
	return 0;
}

/* A CHANNEL_BIND of ours left (relay.c): its CHANNEL_BOUND is expected
 * from that relay at that address, for that destination.  A request
 * asked again (every tick while the channel is silent) takes the slot of
 * the one before, which its answer would take too: copies would push the
 * other destinations' requests out before answers that come seconds
 * late (a starved CPU, issue 19). */
void engine_bind_sent(struct ovl_engine *e, const uint8_t relay[32], const struct ovl_addr *addr,
		      const uint8_t dst[32], uint64_t now)
{
	struct ovl_bind_slot *s = NULL;
	unsigned i;

	for (i = 0; i < BINDS_ASKED && !s; ++i)
		if (e->binds[i].sent_ns && now - e->binds[i].sent_ns < BIND_ANSWER_NS &&
		    !memcmp(e->binds[i].relay, relay, 32) && !memcmp(e->binds[i].dst, dst, 32) &&
		    ovl_addr_equal(&e->binds[i].addr, addr))
			s = &e->binds[i];
	if (!s)
		s = &e->binds[e->bind_next++ % BINDS_ASKED];
	memcpy(s->relay, relay, 32);
	memcpy(s->dst, dst, 32);
	s->addr = *addr;
	s->sent_ns = now ? now : 1;
}

/* Whether a CHANNEL_BOUND answers a CHANNEL_BIND of ours (8.1); every
 * bind it answers is then forgotten, so that it counts once. */
static bool take_bind_answer(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
			     const struct ovl_channel_bound *r, uint64_t now)
{
	bool found = false;
	unsigned i;

	for (i = 0; i < BINDS_ASKED; ++i) {
		struct ovl_bind_slot *s = &e->binds[i];

		if (!s->sent_ns || now - s->sent_ns >= BIND_ANSWER_NS || memcmp(s->relay, sender, 32) ||
		    memcmp(s->dst, r->dst, 32) || !ovl_addr_equal(&s->addr, from))
			continue;
		s->sent_ns = 0;
		found = true;
	}
	return found;
}

/* ---- input ---- */

/* What the sender says of itself (PING, PONG); other messages keep what
 * the table knows, and a stranger counts as behind a NAT until it says
 * otherwise. */
static unsigned sender_flags(const struct ovl_engine *e, const uint8_t sender[32],
			     const struct ovl_msg *m)
{
	const struct kad_entry *ke;

	if (m->type == OVL_MSG_PING)
		return engine_kad_flags(m->u.ping.flags);
	if (m->type == OVL_MSG_PONG)
		return engine_kad_flags(m->u.pong.flags);
	ke = kad_table_find(&e->table, sender);
	return ke ? (ke->flags & (KAD_F_NATED | KAD_F_RELAY)) : KAD_F_NATED;
}

/* The bytes we may send to `from` in answer to a request of len bytes
 * from sender: all we like once the address is validated, else no more
 * than the request (doc/protocol.md 8.2). */
static size_t answer_budget(const struct ovl_engine *e, const uint8_t sender[32],
			    const struct ovl_addr *from, size_t len, uint64_t now)
{
	return dht_validated(e, sender, from, now) ? SIZE_MAX : len;
}

/* The fixed size of the answer to a request of this type (0: none, or
 * one that dht.c fits to the budget itself). */
static size_t answer_len(uint8_t type)
{
	switch (type) {
	case OVL_MSG_PING:
	case OVL_MSG_PUNCH:
		return OVL_PONG_LEN;
	case OVL_MSG_CHANNEL_BIND:
		return OVL_CHANNEL_BOUND_LEN;
	default:
		return 0;
	}
}

static void take_ping(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		      unsigned flags, const struct ovl_ping *q, size_t budget, struct ovl_time t)
{
	++e->stats.pings_answered;
	send_pong(e, sender, from, q->nonce, t);
	if (e->ops->on_ping)
		e->ops->on_ping(e->ctx, sender, from);
	/* A node behind a NAT keeps its mapping to us open with PINGs; ours
	 * back validate its address, so that we may name it in NODES and
	 * relay to it.  Its PING pays for the PONG and ours (8.2). */
	if ((flags & KAD_F_NATED) && budget >= PING_NATED_LEN) {
		struct ovl_addr ka;

		if (!relay_live_path(e, sender, t.now_ns, &ka) || memcmp(&ka, from, sizeof(ka)))
			send_probe(e, OVL_MSG_PING, sender, from, PING_PUBLIC_LEN, NULL, NULL, t);
	}
}

/* budget: the bytes we may answer with (answer_budget). */
static void dispatch(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_rx *rx,
		     const struct ovl_msg *m, unsigned flags, size_t budget, struct ovl_time t)
{
	const struct ovl_addr *from = &rx->src;

	switch (m->type) {
	case OVL_MSG_PING:
		take_ping(e, sender, from, flags, &m->u.ping, budget, t);
		break;
	case OVL_MSG_PUNCH:
		++e->stats.punches_answered;
		send_pong(e, sender, from, m->u.punch.nonce, t);
		if (e->ops->on_punch)
			e->ops->on_punch(e->ctx, sender, from);
		break;
	case OVL_MSG_PONG:
		break;
	case OVL_MSG_FIND_NODE:
		dht_answer_find_node(e, sender, from, &m->u.find_node, rx->len, t);
		break;
	case OVL_MSG_NODES:
		dht_take_nodes(e, sender, from, flags, &m->u.nodes, t.now_ns);
		break;
	case OVL_MSG_RELAY:
		relay_forward(e, sender, from, &m->u.relay, t);
		break;
	case OVL_MSG_RELAYED:
		relay_take_relayed(e, sender, from, &m->u.relayed, t);
		break;
	case OVL_MSG_CANDIDATES:
		if (e->ops->on_candidates)
			e->ops->on_candidates(e->ctx, sender, &m->u.candidates, NULL, from, from);
		break;
	case OVL_MSG_CHANNEL_BIND:
		relay_take_channel_bind(e, sender, from, &m->u.channel_bind, t);
		break;
	case OVL_MSG_CHANNEL_BOUND:
		relay_take_channel_bound(e, sender, &m->u.channel_bound);
		break;
	case OVL_MSG_PEERS:
		relay_take_peers(e, sender, from, &m->u.peers, t);
		/* A member that takes stock clients through us (9.5), at the
		 * address its authenticated PEERS came from. */
		if (m->u.peers.stock && e->stock_ready)
			ovl_stock_register(&e->stock, sender, from, t.now_ns);
		break;
	case OVL_MSG_STOCK_CLIENTS:
		/* The same, with the clients its file lists: we pass only
		 * those (9.5). */
		if (e->stock_ready)
			ovl_stock_set_clients(&e->stock, sender, from,
					      (const uint8_t (*)[32])m->u.stock_clients.keys,
					      m->u.stock_clients.count, t.now_ns);
		else
			++e->stats.unhandled;
		break;
	default:
		++e->stats.unhandled;
		break;
	}
}

void ovl_engine_input(struct ovl_engine *e, const struct ovl_rx *rx, struct ovl_time t)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], sender[32], reply[OVL_COOKIE_REPLY_LEN];
	const struct ovl_addr *from = &rx->src;
	struct ovl_secure_src src = { .addr = ovl_addr_valid(&rx->src) ? &rx->src : NULL,
				      .now_ns = t.now_ns, .reply = reply };
	struct ovl_msg m;
	size_t plen = 0, budget;
	unsigned flags;
	uint32_t rtt_us = 0;
	enum ovl_decode d;

	e->now = t;
	++e->stats.rx;
	if (ovl_secure_open_from(e->sec, rx->data, rx->len, &src, t.wall_ns, sender, plain,
				  sizeof(plain), &plen) != OVL_ACCEPT) {
		/* An unknown sender under load: ask it to prove its address. */
		if (src.reply_len && e->ops->send(e->ctx, from, NULL, reply, src.reply_len) >= 0)
			++e->stats.tx;
		++e->stats.dropped_secure;
		return;
	}
	if (!ovl_addr_valid(from))
		return;
	/* Invitations are the owner's (auth.h): an alias is no DHT node. */
	if (plain[0] >= OVL_MSG_INVITE_FIRST && plain[0] <= OVL_MSG_INVITE_LAST) {
		if (e->ops->on_invite)
			e->ops->on_invite(e->ctx, sender, rx, plain, plen);
		else
			++e->stats.unhandled;
		return;
	}
	d = ovl_msg_decode(&m, plain, plen);
	if (d != OVL_DECODE_OK) {
		if (d == OVL_DECODE_UNKNOWN_TYPE)
			++e->stats.unhandled;
		else
			++e->stats.dropped_decode;
		goto out;
	}
	/* NAT filtering probes come from auxiliary sockets: they never touch
	 * the table, validation or endpoints (doc/protocol.md 9.2). */
	if (m.type == OVL_MSG_PROBE_REQ) {
		natround_answer(e, sender, rx, &m.u.probe_req, t);
		return;
	}
	if (m.type == OVL_MSG_PROBE) {
		natround_take(e, sender, from, &m.u.probe);
		return;
	}
	/* A MAP_SEEN comes from a PUBLIC node's second port, and a MAP_PROBE
	 * belongs on ours (9.4): neither touches the table either. */
	if (m.type == OVL_MSG_MAP_SEEN) {
		natobs_take_seen(e, sender, from, &m.u.map_seen, t.now_ns);
		return;
	}
	if (m.type == OVL_MSG_MAP_PROBE) {
		++e->stats.map_unexpected;
		return;
	}
	/* A request whose answer would be larger than itself, to an address
	 * not validated, is not answered: amplification (8.2). */
	budget = answer_len(m.type) ? answer_budget(e, sender, from, rx->len, t.now_ns) : SIZE_MAX;
	if (budget < answer_len(m.type)) {
		++e->stats.dropped_short;
		return;
	}
	/* An answer counts only if it answers a request of ours to that key,
	 * from the address the request went to (8.1); anything else changes
	 * nothing: no table entry, no validation, no relay. */
	if ((m.type == OVL_MSG_NODES && !dht_nodes_expected(e, sender, from, m.u.nodes.txid)) ||
	    (m.type == OVL_MSG_PONG && !(rtt_us = take_pong(e, sender, from, &m.u.pong, t.now_ns))) ||
	    (m.type == OVL_MSG_CHANNEL_BOUND &&
	     !take_bind_answer(e, sender, from, &m.u.channel_bound, t.now_ns))) {
		++e->stats.dropped_unsolicited;
		return;
	}
	flags = sender_flags(e, sender, &m);
	if (rtt_us)
		flags |= KAD_F_REPLIED;
	kad_table_heard(&e->table, sender, from, flags, rtt_us, t.now_ns);
	if (flags & KAD_F_NATED)
		relay_client_heard(e, sender, from, flags & KAD_F_REPLIED, t.now_ns);
	if ((flags & KAD_F_REPLIED) && e->ops->on_contact)
		e->ops->on_contact(e->ctx, sender, from);
	dispatch(e, sender, rx, &m, flags, budget, t);
out:
	if (e->ops->on_message)
		e->ops->on_message(e->ctx, sender, from);
}

/* ---- setup ---- */

static void table_rng(void *ctx, void *buf, size_t len)
{
	struct ovl_engine *e = ctx;

	e->rng(e->rng_ctx, buf, len);
}

int ovl_engine_new(struct ovl_engine **out, const struct ovl_engine_config *cfg,
		   const struct ovl_engine_ops *ops, void *ctx, uint64_t now_ns)
{
	struct ovl_secure_config cc;
	struct kad_params kp;
	struct ovl_engine *e;
	uint8_t pub[32];
	int ret;

	if (!cfg->rng || !ops->send)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ops = ops;
	e->ctx = ctx;
	e->rng = cfg->rng;
	e->rng_ctx = cfg->rng_ctx;
	e->public_node = cfg->public_node;
	e->relay = cfg->relay && cfg->public_node;
	e->rng(e->rng_ctx, e->filt.hash_key, sizeof(e->filt.hash_key));
	ret = relay_init(e, cfg);
	if (ret < 0)
		goto fail;
	if (e->relay) {
		uint8_t hk[OVL_PROBETAB_KEYBYTES];

		e->rng(e->rng_ctx, hk, sizeof(hk));
		ret = ovl_stock_init(&e->stock, STOCK_SLOTS, hk);
		sodium_memzero(hk, sizeof(hk));
		if (ret < 0)
			goto fail;
		e->stock_ready = true;
		/* The relay's per-sender limits (relay_init), per member. */
		ovl_stock_set_limits(&e->stock, (uint32_t)(NS_PER_S / e->relay_pkt_cost_ns),
				     (uint32_t)(NS_PER_S * 1000 / e->relay_byte_cost_ps));
	}
	ret = ovl_reasm_init(&e->reasm, NULL);
	if (ret < 0)
		goto fail;
	e->reasm_ready = true;
	memset(&cc, 0, sizeof(cc));
	cc.private_key = cfg->private_key;
	cc.ns = cfg->ns;
	cc.ns_len = strlen(cfg->ns);
	cc.workbit = cfg->workbit;
	ret = ovl_secure_new(&e->sec, &cc);
	if (ret < 0)
		goto fail;
	ovl_secure_public_key(e->sec, pub);
	/* The secure layer checked the namespace's length. */
	e->workbit = cfg->workbit;
	e->ns_len = cc.ns_len;
	memcpy(e->ns, cfg->ns, cc.ns_len);
	kad_params_default(&kp);
	/* A lost first datagram to the bootstrap node (a NAT setting up its
	 * mapping, ARP) should cost a second, not five: the lookup already
	 * waited a second for its answer.  The backoff still doubles. */
	kp.boot_min_ns = NS_PER_S;
	ret = kad_table_init(&e->table, pub, &kp, table_rng, e, now_ns);
	if (ret < 0)
		goto fail;
	e->table_ready = true;
	ret = kad_lookups_init(&e->lookups, &e->table, NULL, &engine_lookup_ops, e);
	if (ret < 0)
		goto fail;
	e->lookups_ready = true;
	*out = e;
	return 0;
fail:
	ovl_engine_free(e);
	return ret;
}

void ovl_engine_free(struct ovl_engine *e)
{
	if (!e)
		return;
	if (e->lookups_ready)
		kad_lookups_free(&e->lookups);
	if (e->table_ready)
		kad_table_free(&e->table);
	ovl_secure_free(e->sec);
	if (e->reasm_ready)
		ovl_reasm_free(&e->reasm);
	relay_free(e);
	if (e->stock_ready)
		ovl_stock_free(&e->stock);
	free(e->observers);
	sodium_memzero(e->filt.hash_key, sizeof(e->filt.hash_key));
	free(e);
}

/* ---- time ---- */

void ovl_engine_tick(struct ovl_engine *e, struct ovl_time t)
{
	e->now = t;
	kad_lookups_tick(&e->lookups, t.now_ns);
	natround_tick(e, t);
}

uint64_t ovl_engine_deadline(const struct ovl_engine *e)
{
	uint64_t next = kad_lookups_deadline(&e->lookups), f = natround_deadline(e);

	return f < next ? f : next;
}

/* ---- the owner's requests ---- */

int ovl_engine_add_bootstrap(struct ovl_engine *e, const uint8_t key[32],
			     const struct ovl_addr *addr, uint64_t now_ns)
{
	struct kad_contact c;

	memset(&c, 0, sizeof(c));
	memcpy(c.key, key, 32);
	if (!ovl_addr_valid(addr))
		return -EINVAL;
	c.addr = *addr;
	return kad_table_add_bootstrap(&e->table, &c, now_ns);
}

int ovl_engine_ping(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		    ovl_engine_pong_cb *done, void *arg, struct ovl_time t)
{
	return engine_send_ping(e, key, to, done, arg, t);
}

int ovl_engine_punch(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		     struct ovl_time t)
{
	return send_probe(e, OVL_MSG_PUNCH, key, to, OVL_PONG_LEN, NULL, NULL, t);
}

void ovl_engine_cancel(struct ovl_engine *e, void *arg)
{
	unsigned i;

	for (i = 0; i < WAITERS_MAX; ++i)
		if (e->waiters[i].done && e->waiters[i].arg == arg)
			e->waiters[i].done = NULL;
	for (i = 0; i < PINGS_TRACKED; ++i)
		if (e->pings[i].done && e->pings[i].arg == arg)
			e->pings[i].done = NULL;
}

bool ovl_engine_offers_relay(const struct ovl_engine *e, const uint8_t key[32])
{
	const struct kad_entry *ke = kad_table_find(&e->table, key);

	return ke && (ke->flags & KAD_F_RELAY);
}

bool ovl_engine_relaying(const struct ovl_engine *e)
{
	return e->relay;
}

uint32_t ovl_engine_rtt_us(const struct ovl_engine *e, const uint8_t key[32])
{
	const struct kad_entry *ke = kad_table_find(&e->table, key);

	return ke ? ke->srtt_us : 0;
}

const struct kad_table *ovl_engine_table(const struct ovl_engine *e)
{
	return &e->table;
}

size_t ovl_engine_anchors(struct ovl_engine *e, size_t n, struct kad_contact *out, uint64_t now_ns)
{
	return kad_table_anchors(&e->table, n, out, now_ns);
}

const struct ovl_engine_stats *ovl_engine_stats(const struct ovl_engine *e)
{
	return &e->stats;
}

const struct ovl_secure *ovl_engine_secure(const struct ovl_engine *e)
{
	return e->sec;
}

/* ---- stock WireGuard clients (doc/protocol.md 9.5) ---- */

struct ovl_stock *ovl_engine_stock(struct ovl_engine *e)
{
	return e->stock_ready ? &e->stock : NULL;
}

size_t ovl_engine_set_stock_clients(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n)
{
	if (n > OVL_STOCK_CLIENTS_MAX)
		n = OVL_STOCK_CLIENTS_MAX;
	if (n)
		memcpy(e->stock_clients, keys, n * 32);
	e->n_stock_clients = (uint8_t)n;
	return n;
}

bool ovl_engine_registered_at(const struct ovl_engine *e, const struct ovl_addr *addr, uint64_t now_ns)
{
	unsigned i;

	for (i = 0; i < PEERS_SENT_SLOTS; ++i) {
		const struct ovl_peers_sent *ps = &e->peers_sent[i];

		if (ps->sent_ns && now_ns - ps->sent_ns < (uint64_t)OVL_STOCK_REG_S * NS_PER_S &&
		    ovl_addr_equal(&ps->addr, addr))
			return true;
	}
	return false;
}
