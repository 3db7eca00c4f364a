/* The per-member path core (see path.h; doc/protocol.md 9).  The
 * WireGuard endpoint always names where datagrams go (the relay's address
 * while relayed), so stock `wg show` tells the truth: the route and
 * make_direct actions are the only ways this file moves a path. */
#include "proto/overlay/path.h"

#include "proto/overlay/overlay.h"

#include <string.h>

#define NS (1000000000ULL)
#define S(x) ((uint64_t)(x) * NS)
#define ASK_MIN_NS ((uint64_t)OVL_PATH_CHANNEL_ASK_MIN_MS * 1000000ULL)

static void say(const struct ovl_path_ctx *c, const struct ovl_path *p, bool info, const char *msg)
{
	if (c->ops->log)
		c->ops->log(c->ctx, p->key, info, msg);
}

/* The one place the state moves: a summary of the path after an event. */
static void path_settle(struct ovl_path *p, const struct ovl_path_peer *f)
{
	enum ovl_path_state to;

	if (!f->routed && f->endpoint.family && (f->has_session || p->direct_ok_ns))
		to = OVL_PATH_DIRECT;
	else if (p->punch_rounds)
		to = OVL_PATH_PUNCHING;
	else if (f->routed && p->relay >= 0)
		to = p->state == OVL_PATH_DIRECT || p->state == OVL_PATH_FALLBACK ?
			     OVL_PATH_FALLBACK : OVL_PATH_RELAYED;
	else
		to = OVL_PATH_NONE;
	p->state = to;
}

static void plan_handshake(const struct ovl_path_ctx *c, struct ovl_path *p,
			   const struct ovl_path_peer *f, bool new_path)
{
	if (!f->has_session)
		c->ops->plan_handshake(c->ctx, p->key, new_path);
}

/* ---- relay candidates ---- */

static int find_relay(const struct ovl_path *p, const uint8_t key[32])
{
	unsigned i;

	for (i = 0; i < p->n_relays; ++i)
		if (!memcmp(p->relays[i].key, key, 32))
			return (int)i;
	return -1;
}

static int find_relay_addr(const struct ovl_path *p, const struct ovl_addr *a)
{
	unsigned i;

	for (i = 0; i < p->n_relays; ++i)
		if (ovl_addr_equal(&p->relays[i].addr, a))
			return (int)i;
	return -1;
}

/* Only another node can carry the pair's traffic: never ourselves, nor
 * the member itself (a NODES, RELAYED or CANDIDATES may name either as
 * the node that reaches it). */
static bool may_relay(const struct ovl_path_ctx *c, const struct ovl_path *p, const uint8_t via[32])
{
	return memcmp(via, p->key, 32) && !(c->self && !memcmp(via, c->self, 32));
}

/* Remembers that via reaches the member; the oldest candidate makes room.
 * -1 when via may not relay for it. */
static int add_relay(const struct ovl_path_ctx *c, struct ovl_path *p, const uint8_t via[32],
		     const struct ovl_addr *addr)
{
	int i;

	if (!may_relay(c, p, via))
		return -1;
	i = find_relay(p, via);
	if (i < 0) {
		if (p->n_relays < OVL_PATH_RELAYS) {
			i = (int)p->n_relays++;
		} else {
			unsigned j;

			for (i = 0, j = 1; j < p->n_relays; ++j)
				if ((int)j != p->relay && (i == p->relay ||
							   p->relays[j].named_ns < p->relays[i].named_ns))
					i = (int)j;
		}
		memset(&p->relays[i], 0, sizeof(p->relays[i]));
		memcpy(p->relays[i].key, via, 32);
	}
	p->relays[i].addr = *addr;
	p->relays[i].named_ns = c->now;
	return i;
}

static void drop_relay(struct ovl_path *p, int i)
{
	if (p->relay == i)
		p->relay = -1;
	else if (p->relay > i)
		--p->relay;
	memmove(&p->relays[i], &p->relays[i + 1], (p->n_relays - (unsigned)i - 1) * sizeof(p->relays[0]));
	--p->n_relays;
}

/* The candidate with the lowest measured RTT (unmeasured ones last). */
static int best_relay(const struct ovl_path_ctx *c, const struct ovl_path *p)
{
	uint64_t best_rtt = UINT64_MAX;
	int best = -1;
	unsigned i;

	for (i = 0; i < p->n_relays; ++i) {
		uint64_t rtt = c->ops->rtt_us(c->ctx, p->relays[i].key);

		if (!rtt)
			rtt = UINT32_MAX;
		if (rtt < best_rtt) {
			best_rtt = rtt;
			best = (int)i;
		}
	}
	return best;
}

/* ---- relay channels ---- */

static bool channel_valid(const struct ovl_path_relay *r, uint64_t now)
{
	return r->chan && now - r->chan_ns < S(OVL_CHAN_LIFETIME_S);
}

/* The data path sends in the channel of the relay in use whenever that
 * relay has a number: it keeps one only while it is valid. */
static void channel_apply(struct ovl_path *p, uint64_t now)
{
	struct ovl_path_relay *r;

	if (p->relay < 0)
		return;
	r = &p->relays[p->relay];
	if (r->chan && !channel_valid(r, now))
		r->chan = 0;
}

/* A silence shorter than the round trip we measured to the relay says
 * nothing (answers come seconds late from a starved machine, issue 19):
 * the silences below count from min_ns or that RTT, whichever is longer. */
static uint64_t lag(const struct ovl_path_ctx *c, const struct ovl_path_relay *r, uint64_t min_ns)
{
	uint64_t rtt = c->ops->rtt_us(c->ctx, r->key) * 1000;

	return rtt > min_ns ? rtt : min_ns;
}

/* A relay that restarted lost its channels and answers nothing for an
 * unknown one (doc/protocol.md 9.1): our channel data vanishes until the
 * next renewal, 10 s away.  What we see is traffic going out with nothing
 * coming back, and no word from the relay about the channel meanwhile.
 * (Without a channel, an unanswered or NO_PATH request is repeated every
 * 2 s anyway, and a lasting refusal is not worth asking again sooner.) */
static bool channel_silent(const struct ovl_path_ctx *c, const struct ovl_path_peer *f,
			   const struct ovl_path_relay *r, uint64_t now)
{
	uint64_t back = f->last_rx_ns > r->chan_ns ? f->last_rx_ns : r->chan_ns;

	return r->chan && f->last_data_tx_ns && now - f->last_data_tx_ns < S(OVL_PATH_SENDING_S) &&
	       now - back >= lag(c, r, S(OVL_PATH_CHANNEL_SILENT_S));
}

/* Traffic that came through the relay stopped: the relay may have
 * restarted, and then it has no path to us until we send it something,
 * so that nothing of the member's reaches us, and a member that only
 * answers sends nothing that would tell (its channel_silent never
 * holds).  The first sign is this quiet: ping the relay every tick while
 * it lasts, so that a restarted relay hears us within a second, pings
 * us back (it lost our path) and we bind again at once
 * (ovl_path_on_public_ping).  Bounded: at most BUSY_S - QUIET_S pings
 * after each pause of the traffic. */
static bool relay_quiet(const struct ovl_path_ctx *c, const struct ovl_path_peer *f,
			const struct ovl_path_relay *r, uint64_t now)
{
	uint64_t rx = f->last_rx_ns > r->since_ns ? f->last_rx_ns : 0;

	return rx && now - rx >= lag(c, r, S(OVL_PATH_RELAY_QUIET_S)) &&
	       now - rx < S(OVL_PATH_RELAY_BUSY_S);
}

static void channel_ask(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_relay *r)
{
	r->chan_asked_ns = c->now;
	c->ops->channel_bind(c->ctx, r->key, &r->addr, p->key);
}

/* The member's CANDIDATES came through relay i while our traffic goes
 * elsewhere: it moved there (it replaced a relay it found silent, and
 * tells us through the new one at once).  Its data comes in i's channel
 * as soon as its own binding is granted, and we take FROM_RELAY only
 * from a relay we asked a channel of (doc/protocol.md 9.1, step 4), so
 * without an ask of ours it would be dropped unread and never move us
 * (ovl_path_on_relayed_rx): only a handshake, wrapped in RELAY, would,
 * when WireGuard starts one 15 s after the last datagram it received.
 * However the relay answers, the ask makes it a source we take channel
 * data from.  Not while a number of i's is valid, nor twice within
 * CHANNEL_ASK_MIN_MS, nor within CHANNEL_REFUSED_S of a lasting refusal
 * (the member's CANDIDATES come at most every EXCHANGE_MIN_S anyway). */
static void channel_prepare(const struct ovl_path_ctx *c, struct ovl_path *p, int i)
{
	struct ovl_path_relay *r = &p->relays[i];
	uint64_t every = r->chan_refused ? S(OVL_PATH_CHANNEL_REFUSED_S) : ASK_MIN_NS;

	if (channel_valid(r, c->now) || (r->chan_asked_ns && c->now - r->chan_asked_ns < every))
		return;
	say(c, p, false, "CANDIDATES through another relay: binding there too");
	channel_ask(c, p, r);
}

/* Asks the relay in use for a channel to the member, or to renew it,
 * when due. */
static void channel_tick(const struct ovl_path_ctx *c, struct ovl_path *p, const struct ovl_path_peer *f)
{
	struct ovl_path_relay *r = &p->relays[p->relay];
	uint64_t now = c->now;
	uint64_t every = r->chan ? OVL_PATH_CHANNEL_RENEW_S :
			 r->chan_refused ? OVL_PATH_CHANNEL_REFUSED_S : OVL_PATH_CHANNEL_RETRY_S;

	if (r->chan && !channel_valid(r, now)) {
		r->chan = 0;	/* renewals unanswered for a lifetime */
		channel_apply(p, now);
	}
	/* Silent: ask at once, and at every tick while it lasts.  A relay
	 * that restarted answers with a new number, or refuses while it has
	 * no path to the member yet (its next tick asks again), which sends
	 * our traffic wrapped in RELAY meanwhile: that passes as soon as the
	 * relay has the member's path, without waiting for a binding.  One
	 * that is fine confirms the number.  The PING (tick_relayed) makes a
	 * relay that forgot us validate our address (it pings back), which
	 * the other side's CHANNEL_BIND to us needs. */
	if (channel_silent(c, f, r, now)) {
		if (r->chan_asked_ns && now - r->chan_asked_ns < ASK_MIN_NS)
			return;
		say(c, p, false, "nothing back through the relay channel, binding again");
		channel_ask(c, p, r);
		return;
	}
	if (r->chan_asked_ns && now - r->chan_asked_ns < S(every))
		return;
	channel_ask(c, p, r);
}

void ovl_path_on_channel(const struct ovl_path_ctx *c, struct ovl_path *p, const uint8_t relay[32],
			 uint8_t status, uint32_t channel)
{
	struct ovl_path_relay *r;
	int i = find_relay(p, relay);

	if (i < 0)
		return;
	r = &p->relays[i];
	/* No path is a passing state (the relay has not heard the member
	 * since it started, or lately): asked again like an unanswered
	 * request.  The other refusals last (DENIED see on_relayed). */
	r->chan_refused = status != OVL_CHANNEL_OK && status != OVL_CHANNEL_NO_PATH ? status : 0;
	if (status != OVL_CHANNEL_OK || r->chan != channel)
		say(c, p, false, status == OVL_CHANNEL_OK ? "relay channel bound" : "relay channel refused");
	r->chan = status == OVL_CHANNEL_OK ? channel : 0;
	r->chan_ns = c->now;
	if (p->relay == i)
		channel_apply(p, c->now);
}

static void use_relay(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f, int i)
{
	bool changed = p->relay != i || !f->routed;

	p->relay = i;
	if (changed) {
		say(c, p, false, "relayed");
		/* Its liveness is judged from now on: pinged at the next tick. */
		p->relays[i].since_ns = c->now;
		p->relays[i].pinged_ns = 0;
	}
	c->ops->route(c->ctx, p->key, &p->relays[i].addr);
	f->routed = true;
	f->endpoint = p->relays[i].addr;
	channel_apply(p, c->now);
	if (!p->relayed_at_ns)
		p->relayed_at_ns = c->now;
	if (!channel_valid(&p->relays[i], c->now))
		channel_tick(c, p, f);
}

/* ---- candidates and punching ---- */

static bool addr_usable(const struct ovl_addr *a)
{
	return ovl_addr_valid(a) && ovl_ip_usable(a->family, a->ip);
}

static void add_punch_target(struct ovl_path *p, const struct ovl_addr *a)
{
	unsigned i;

	if (!addr_usable(a))
		return;
	for (i = 0; i < p->n_cands; ++i)
		if (ovl_addr_equal(&p->cands[i], a))
			return;
	if (p->n_cands == OVL_PATH_CANDS)
		return;
	p->cands[p->n_cands++] = *a;
}

static void start_punching(const struct ovl_path_ctx *c, struct ovl_path *p, unsigned rounds)
{
	if (p->punch_rounds < rounds)
		p->punch_rounds = rounds;
	c->ops->punch_start(c->ctx);
}

/* A direct address validated in the last seconds, before any session:
 * kept rather than traded for the next candidate that answers. */
static bool direct_fresh(const struct ovl_path *p, const struct ovl_path_peer *f, uint64_t now)
{
	return !f->routed && f->endpoint.family && p->direct_ok_ns &&
	       now - p->direct_ok_ns < S(OVL_PATH_DIRECT_FRESH_S);
}

static bool direct_alive(const struct ovl_path *p, const struct ovl_path_peer *f, uint64_t now)
{
	uint64_t last = f->last_direct_rx_ns > p->direct_ok_ns ? f->last_direct_rx_ns : p->direct_ok_ns;

	return !f->routed && f->endpoint.family && f->has_session && last &&
	       now - last < S(OVL_PATH_DIRECT_DEAD_S);
}

/* Sends our candidates to the member through its relay (a new exchange). */
static void exchange(const struct ovl_path_ctx *c, struct ovl_path *p)
{
	const uint8_t *via;
	const struct ovl_addr *via_addr;
	uint64_t now = c->now;

	/* Through the relay in use, else through the last node that named
	 * the member (doc/protocol.md 9: any node with a live path to it). */
	if (p->relay >= 0) {
		via = p->relays[p->relay].key;
		via_addr = &p->relays[p->relay].addr;
	} else if (p->rv_ns && now - p->rv_ns < S(OVL_PATH_RENDEZVOUS_S)) {
		via = p->rv_key;
		via_addr = &p->rv_addr;
	} else {
		return;
	}
	if (now < p->next_exchange_ns)
		return;
	c->ops->rng(c->ctx, &p->txid, sizeof(p->txid));
	p->exchange_backoff_ns = p->exchange_backoff_ns ? p->exchange_backoff_ns * 2 :
							 S(OVL_PATH_EXCHANGE_MIN_S);
	if (p->exchange_backoff_ns > S(OVL_PATH_EXCHANGE_MAX_S))
		p->exchange_backoff_ns = S(OVL_PATH_EXCHANGE_MAX_S);
	p->next_exchange_ns = now + p->exchange_backoff_ns;
	c->ops->send_candidates(c->ctx, p->key, via, via_addr, p->txid, 0);
}

/* Another relay takes over from one that went silent: our traffic goes
 * there at once, and so do our CANDIDATES, which tell the other side
 * where we are (it binds there too, ovl_path_on_candidates, so that our
 * channel data passes its check of the source and moves it). */
static void take_over(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		      int i)
{
	use_relay(c, p, f, i);
	p->next_exchange_ns = 0;
	exchange(c, p);
}

bool ovl_path_punch_tick(const struct ovl_path_ctx *c, struct ovl_path *p, const struct ovl_path_peer *f)
{
	unsigned j;

	if (!p->punch_rounds)
		return false;
	if (direct_alive(p, f, c->now)) {
		p->punch_rounds = 0;
		path_settle(p, f);
		return false;
	}
	--p->punch_rounds;
	for (j = 0; j < p->n_cands; ++j)
		c->ops->punch(c->ctx, p->key, &p->cands[j]);
	path_settle(p, f);
	return p->punch_rounds > 0;
}

/* ---- events ---- */

void ovl_path_init(struct ovl_path *p, const uint8_t key[32])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, 32);
	p->relay = -1;
	p->state = OVL_PATH_NONE;
}

void ovl_path_on_contact(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
			 const struct ovl_addr *addr)
{
	uint64_t now = c->now;

	if (!f->routed && ovl_addr_equal(&f->endpoint, addr)) {
		p->direct_ok_ns = now;
		plan_handshake(c, p, f, false);
		goto out;
	}
	/* A validated direct address: taken when there is no session or it
	 * is relayed (the upgrade), or the direct one died; the first one
	 * that answers wins. */
	if ((f->has_session && !f->routed && direct_alive(p, f, now)) || direct_fresh(p, f, now))
		goto out;
	say(c, p, false, "direct path");
	c->ops->make_direct(c->ctx, p->key, addr);
	f->routed = false;
	f->endpoint = *addr;
	p->direct_ok_ns = now;
	p->punch_rounds = 0;
	if (!p->direct_at_ns)
		p->direct_at_ns = now;
	p->exchange_backoff_ns = 0;
	if (f->has_session)
		c->ops->keepalive(c->ctx, p->key);	/* the other side roams to us at once */
	else
		plan_handshake(c, p, f, true);
out:
	path_settle(p, f);
}

/* A member wrote to us: if it has no session, ping it back there, and
 * its PONG (on_contact) proves the address. */
void ovl_path_on_message(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
			 const struct ovl_addr *addr)
{
	if (f->has_session || ovl_addr_equal(&f->endpoint, addr))
		return;
	c->ops->ping(c->ctx, p->key, addr);
}

void ovl_path_on_reach(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		       const uint8_t via[32], const struct ovl_addr *via_addr, bool via_relays)
{
	int i;

	if (c->self && !memcmp(via, c->self, 32))
		return;		/* we are no rendezvous of our own */
	memcpy(p->rv_key, via, 32);
	p->rv_addr = *via_addr;
	p->rv_ns = c->now;
	/* A node that does not relay is a rendezvous only. */
	if (via_relays)
		add_relay(c, p, via, via_addr);
	/* Relayed, but our relay went silent with no candidate left (the
	 * lookup of the member tick_relayed started names new ones): the
	 * first one takes over now, not at the next tick. */
	if (f->has_session && f->routed && p->relay < 0 && (i = best_relay(c, p)) >= 0) {
		take_over(c, p, f, i);
		goto out;
	}
	if (f->has_session || (p->relay >= 0 && f->routed) || direct_fresh(p, f, c->now))
		goto out;
	/* No path yet: start relayed when a relay is known, and exchange
	 * candidates (through it, or through the rendezvous). */
	i = best_relay(c, p);
	if (i >= 0) {
		use_relay(c, p, f, i);
		p->next_exchange_ns = 0;
		plan_handshake(c, p, f, true);
	}
	exchange(c, p);
out:
	path_settle(p, f);
}

void ovl_path_on_relayed(const struct ovl_path_ctx *c, struct ovl_path *p, const uint8_t via[32],
			 const struct ovl_addr *via_addr)
{
	/* The relay is a candidate; the datagram itself decides (once it
	 * authenticates, in ovl_path_on_relayed_rx) whether we follow it. */
	int i = add_relay(c, p, via, via_addr);
	struct ovl_path_relay *r;

	if (i < 0)
		return;
	/* DENIED: the member's PEERS there did not name us.  A member sends
	 * through a relay only after registering its PEERS with it (9.3), so
	 * its traffic here says that list names us now (a member added to
	 * its network file): asked again like an unanswered request, within
	 * CHANNEL_RETRY_S of the last ask, not CHANNEL_REFUSED_S. */
	r = &p->relays[i];
	if (r->chan_refused == OVL_CHANNEL_DENIED)
		r->chan_refused = 0;
}

void ovl_path_on_candidates(const struct ovl_path_ctx *c, struct ovl_path *p,
			    struct ovl_path_peer *f, uint64_t txid, uint8_t flags,
			    const struct ovl_addr *cands, unsigned n, unsigned n_pred,
			    const uint8_t *via,
			    const struct ovl_addr *via_addr, bool via_relays,
			    const struct ovl_addr *seen_as)
{
	unsigned i;
	int r = -1;
	bool fresh;

	/* An answer to no exchange of ours is ignored. */
	if ((flags & OVL_CANDIDATES_REPLY) && txid != p->txid)
		return;
	if (via && via_relays)
		r = add_relay(c, p, via, via_addr);
	if (via) {
		memcpy(p->rv_key, via, 32);
		p->rv_addr = *via_addr;
		p->rv_ns = c->now;
	}
	/* A new exchange replaces the addresses of the last one (the peer
	 * may have moved; a symmetric NAT shows a new port each time). */
	if (txid != p->cands_txid) {
		p->n_cands = 0;
		p->n_pred = 0;
		p->cands_txid = txid;
	}
	fresh = p->n_cands == 0;
	for (i = 0; i < n; ++i) {
		add_punch_target(p, &cands[i]);
		/* The peer's predicted ports lead a fresh list (9.7, step 3). */
		if (fresh && i < n_pred)
			p->n_pred = p->n_cands;
	}
	if (seen_as)
		add_punch_target(p, seen_as);
	if (!(flags & OVL_CANDIDATES_REPLY))
		c->ops->send_candidates(c->ctx, p->key, via, via_addr, txid, OVL_CANDIDATES_REPLY);
	if (!direct_alive(p, f, c->now))
		start_punching(c, p, OVL_PATH_PUNCH_ROUNDS);
	/* No session yet: the relay that brought this carries the handshake. */
	if (r >= 0 && !f->has_session && !f->routed && !direct_fresh(p, f, c->now)) {
		use_relay(c, p, f, r);
		plan_handshake(c, p, f, true);
	}
	/* Relayed elsewhere: the member's traffic may come through this one
	 * from now on. */
	if (r >= 0 && f->routed && r != p->relay)
		channel_prepare(c, p, r);
	path_settle(p, f);
}

void ovl_path_on_predictable(const struct ovl_path_ctx *c, struct ovl_path *p,
			     struct ovl_path_peer *f)
{
	/* Only after an exchange (its candidates had no prediction) and
	 * while relayed: a member with no relay exchanges on its own. */
	if (!p->txid || !f->routed || p->relay < 0 || direct_alive(p, f, c->now))
		return;
	p->next_exchange_ns = 0;
	exchange(c, p);
	path_settle(p, f);
}

void ovl_path_on_punch(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		       const struct ovl_addr *addr)
{
	if (direct_alive(p, f, c->now))
		return;
	/* A NAT that maps per destination shows its port only here. */
	add_punch_target(p, addr);
	start_punching(c, p, OVL_PATH_PUNCH_ROUNDS_ANSWER);
	path_settle(p, f);
}

/* A public node pings a member back only when it has no live path to it:
 * a relay of ours that does so restarted (or our mapping moved), and the
 * channels we bound there are gone or bound to an old address.  Asked
 * again at once, not at the next renewal (at most every 2 s). */
void ovl_path_on_public_ping(const struct ovl_path_ctx *c, struct ovl_path *p,
			     struct ovl_path_peer *f, const uint8_t key[32],
			     const struct ovl_addr *addr)
{
	struct ovl_path_relay *r;

	if (!f->routed || p->relay < 0)
		return;
	r = &p->relays[p->relay];
	if (memcmp(r->key, key, 32) || !ovl_addr_equal(&r->addr, addr) ||
	    (r->chan_asked_ns && c->now - r->chan_asked_ns < ASK_MIN_NS))
		return;
	say(c, p, false, "the relay pinged us (it lost our path), binding again");
	channel_ask(c, p, r);
}

/* An authenticated datagram came through a relay: follow the peer there
 * unless our direct path to it is alive. */
void ovl_path_on_relayed_rx(const struct ovl_path_ctx *c, struct ovl_path *p,
			    struct ovl_path_peer *f, const struct ovl_addr *relay_addr)
{
	int i = find_relay_addr(p, relay_addr);

	if (i < 0 || (f->routed && p->relay == i))
		return;
	if (!f->routed && (direct_alive(p, f, c->now) || direct_fresh(p, f, c->now)))
		return;
	use_relay(c, p, f, i);
	path_settle(p, f);
}

/* ---- once a second ---- */

/* Relayed, but the relay went silent with no other candidate: the first
 * candidate a lookup brings carries the traffic.  (No candidate: the
 * lookups of the member bring new ones through on_reach.) */
static void tick_orphaned(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f)
{
	int i = best_relay(c, p);

	if (i < 0) {
		c->ops->lookup(c->ctx, p->key, false);
		return;
	}
	take_over(c, p, f, i);
}

/* How long a relay's answer to our probe may take: RELAY_PROBE_S, or
 * twice the round trip we measured to it when that is longer (a relay
 * on a starved machine answers seconds late, and is alive: issue 19),
 * never more than RELAY_DEAD_S. */
static uint64_t probe_wait(const struct ovl_path_ctx *c, const struct ovl_path_relay *r)
{
	uint64_t wait = 2 * c->ops->rtt_us(c->ctx, r->key) * 1000;

	if (wait < S(OVL_PATH_RELAY_PROBE_S))
		return S(OVL_PATH_RELAY_PROBE_S);
	return wait < S(OVL_PATH_RELAY_DEAD_S) ? wait : S(OVL_PATH_RELAY_DEAD_S);
}

/* While traffic goes through the relay and nothing comes back, the relay
 * (or the peer) may be gone: a relay that does not answer a PING within
 * probe_wait then is dead, without waiting for RELAY_DEAD_S. */
static bool relay_failed_probe(const struct ovl_path_ctx *c, const struct ovl_path_peer *f,
			       struct ovl_path_relay *r, uint64_t heard)
{
	uint64_t now = c->now;
	bool sending = f->last_data_tx_ns && now - f->last_data_tx_ns < S(OVL_PATH_SENDING_S);
	uint64_t back = f->last_rx_ns > r->since_ns ? f->last_rx_ns : r->since_ns;

	if (!sending || now - back < S(OVL_PATH_RELAY_SUSPECT_S))
		return false;
	if (r->probed_ns < back) {
		/* Suspect since now: one PING, answered or not. */
		r->probed_ns = now;
		c->ops->ping(c->ctx, r->key, &r->addr);
		return false;
	}
	return now - r->probed_ns >= probe_wait(c, r) && heard < r->probed_ns;
}

static void tick_relayed(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f)
{
	struct ovl_path_relay *r = &p->relays[p->relay];
	uint64_t now = c->now, heard = c->ops->heard_ns(c->ctx, r->key);
	int next;

	/* Every RELAY_PING_S; every tick while our traffic through it goes
	 * unanswered or the member's stopped coming (a relay that restarted
	 * learns our path from this PING, doc/protocol.md 9.1). */
	if (!r->pinged_ns || now - r->pinged_ns >= S(OVL_PATH_RELAY_PING_S) ||
	    ((channel_silent(c, f, r, now) || relay_quiet(c, f, r, now)) &&
	     now - r->pinged_ns >= ASK_MIN_NS)) {
		r->pinged_ns = now;
		c->ops->ping(c->ctx, r->key, &r->addr);
	}
	channel_tick(c, p, f);
	/* Silent since before our pings began, for long enough, or silent
	 * to a probe while our traffic through it goes unanswered: dead. */
	if ((now - r->since_ns > S(OVL_PATH_RELAY_DEAD_S) &&
	     (!heard || now - heard > S(OVL_PATH_RELAY_DEAD_S))) ||
	    relay_failed_probe(c, f, r, heard)) {
		say(c, p, true, "the relay is silent: replacing it");
		drop_relay(p, p->relay);
		next = best_relay(c, p);
		if (next >= 0)
			take_over(c, p, f, next);
		else
			c->ops->lookup(c->ctx, p->key, true);
		return;
	}
	exchange(c, p);
}

static void tick_direct(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f)
{
	uint64_t now = c->now;
	uint64_t last = f->last_direct_rx_ns > p->direct_ok_ns ? f->last_direct_rx_ns : p->direct_ok_ns;
	bool sending = (f->last_data_tx_ns && now - f->last_data_tx_ns < S(OVL_PATH_SENDING_S)) ||
		       f->handshaking;
	int i;

	if (!sending || !last || now - last < S(OVL_PATH_DIRECT_SUSPECT_S))
		return;
	if (now - last < S(OVL_PATH_DIRECT_DEAD_S)) {
		/* Silent while we send: ask the path itself. */
		c->ops->ping(c->ctx, p->key, &f->endpoint);
		return;
	}
	i = p->relay >= 0 ? p->relay : best_relay(c, p);
	if (i < 0) {
		c->ops->lookup(c->ctx, p->key, false);
		return;
	}
	say(c, p, true, "direct path silent, back to the relay");
	use_relay(c, p, f, i);
	p->direct_ok_ns = 0;
	p->exchange_backoff_ns = 0;
	p->next_exchange_ns = now + S(OVL_PATH_EXCHANGE_MIN_S);
	c->ops->keepalive(c->ctx, p->key);
}

void ovl_path_on_network(struct ovl_path *p)
{
	p->exchange_backoff_ns = 0;
	p->next_exchange_ns = 0;
}

void ovl_path_tick(const struct ovl_path_ctx *c, struct ovl_path *p, struct ovl_path_peer *f,
		   bool natted)
{
	uint16_t ka;
	unsigned j;

	/* Relay candidates nobody named for a long time go. */
	for (j = 0; j < p->n_relays; ++j)
		if ((int)j != p->relay && c->now - p->relays[j].named_ns > S(OVL_PATH_RELAY_NAMED_S))
			drop_relay(p, (int)j--);
	if (f->routed && p->relay >= 0)
		tick_relayed(c, p, f);
	else if (f->routed)
		tick_orphaned(c, p, f);
	else if (f->has_session)
		tick_direct(c, p, f);
	else if (p->relay < 0)
		exchange(c, p);	/* no relay: punching is the only way */
	/* Keepalives only as NAT mappings need: a direct path from behind a
	 * NAT; never between public nodes, never relayed (the relay's pings
	 * keep that mapping). */
	ka = natted && !f->routed && f->has_session ? OVL_PATH_NAT_KEEPALIVE_S : 0;
	if (f->keepalive_s != ka) {
		c->ops->set_keepalive(c->ctx, p->key, ka);
		f->keepalive_s = ka;
	}
	path_settle(p, f);
}

bool ovl_path_anchors_due(uint64_t *next_ns, uint64_t now)
{
	if (now < *next_ns)
		return false;
	*next_ns = now + S(OVL_PATH_NAT_KEEPALIVE_S);
	return true;
}

const struct ovl_path_relay *ovl_path_relay_in_use(const struct ovl_path *p)
{
	return p->relay >= 0 ? &p->relays[p->relay] : NULL;
}

bool ovl_path_channel_source(const struct ovl_path *p, const struct ovl_addr *addr)
{
	unsigned i;

	for (i = 0; i < p->n_relays; ++i)
		if ((p->relays[i].chan || p->relays[i].chan_asked_ns) &&
		    ovl_addr_equal(&p->relays[i].addr, addr))
			return true;
	return false;
}
