/* Relaying in the overlay engine (engine.h; doc/protocol.md 9, 9.1 and
 * 9.3): the table of NATed clients a public node keeps a path to, the
 * members' PEERS it keeps (who may be relayed to whom), relay admission
 * under per-sender limits, RELAY forwarded as RELAYED, relay channels
 * bound (under per-key and per-address quotas) and their data forwarded,
 * and, as an end, our own PEERS sent to our relays, RELAYED payloads
 * taken in and our own RELAYs sent. */
#include "proto/overlay/engine_priv.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/peerfilter.h"
#include "proto/overlay/secure.h"
#include "proto/common/gcra.h"

#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
	LIMITER_SLOTS = 512,		/* relay senders with a rate state */
	CLIENT_SLOTS = 2048,		/* NATed nodes a public node has a path to */
	CHANNEL_SLOTS = 4096,		/* relay channels bound at us */
	RELAY_PPS_DEFAULT = 20000,	/* per source: packets ... */
	RELAY_BPS_DEFAULT = 25000000,	/* ... and bytes per second (200 Mbit/s) */
	REG_SLOTS = 1024,		/* members' PEERS a public node keeps ... */
	REG_ADDR_QUOTA = REG_SLOTS / 16,	/* ... from one IP address at most */
	/* Live channels per source key and per source IP address: one key
	 * or one address holds at most a sixteenth or an eighth of the table
	 * (doc/protocol.md 9.1). */
	CHANNEL_KEY_QUOTA = CHANNEL_SLOTS / 16,
	CHANNEL_ADDR_QUOTA = CHANNEL_SLOTS / 8,
};

#define LIMITER_BURST_NS (NS_PER_S / 5)	/* a sender may run 200 ms ahead of its rate */
#define CHANNEL_RECHECK_NS NS_PER_S	/* a channel's destination path is rechecked this often */
#define REG_LIFETIME_NS (120 * NS_PER_S)	/* a relay keeps a member's PEERS this long */
#define REG_REFRESH_NS (30 * NS_PER_S)	/* a member sends it again to a relay it uses */
#define REG_AGAIN_NS (2 * NS_PER_S)	/* at most this often when asked again */

_Static_assert(sizeof(struct ovl_addr) <= OVL_CHAN_DST_CACHE, "a channel caches its destination");

/* Per-source relay limits as GCRA: each sender has a theoretical arrival
 * time per resource that every forwarded RELAY pushes forward by its
 * cost; a RELAY that would push it more than the burst ahead of now is
 * dropped. */
struct limiter {
	uint8_t key[32];
	uint64_t used_ns;		/* 0: free */
	uint64_t tat_pkts, tat_bytes;
};

/* A member's PEERS, kept by a public node: the keys it may relay to it. */
struct reg {
	uint8_t key[32];
	uint64_t heard_ns;		/* 0: free */
	uint64_t seq;			/* e->reg_seq when it last came */
	struct ovl_addr from;		/* where it last came from */
	struct ovl_peers peers;
};

/* A node behind a NAT that keeps a path to us open (a public node's
 * "clients"): kept apart from the routing table, whose buckets keep old
 * entries and would leave a newcomer in a replacement cache, so that a
 * rendezvous and relay can name and reach every one of them. */
struct client {
	uint8_t key[32];
	struct ovl_addr addr;
	uint64_t seen_ns;		/* 0: free */
	uint64_t replied_ns;		/* its last answer from addr */
};

int relay_init(struct ovl_engine *e, const struct ovl_engine_config *cfg)
{
	uint8_t hk[OVL_PROBETAB_KEYBYTES];
	int ret;

	e->relay_pkt_cost_ns = NS_PER_S / (cfg->relay_pps ? cfg->relay_pps : RELAY_PPS_DEFAULT);
	e->relay_byte_cost_ps = NS_PER_S * 1000 / (cfg->relay_bps ? cfg->relay_bps : RELAY_BPS_DEFAULT);
	e->rng(e->rng_ctx, hk, sizeof(hk));
	ret = ovl_probetab_init(&e->limiters, LIMITER_SLOTS, sizeof(struct limiter), hk);
	if (ret < 0 || !cfg->public_node)
		goto out;
	e->rng(e->rng_ctx, hk, sizeof(hk));
	ret = ovl_probetab_init(&e->clients, cfg->client_slots ? cfg->client_slots : CLIENT_SLOTS,
				sizeof(struct client), hk);
	if (ret < 0)
		goto out;
	e->rng(e->rng_ctx, hk, sizeof(hk));
	ret = ovl_chantab_init(&e->chans, CHANNEL_SLOTS, hk);
	if (ret < 0)
		goto out;
	ovl_chantab_set_quotas(&e->chans, CHANNEL_KEY_QUOTA, CHANNEL_ADDR_QUOTA);
	e->rng(e->rng_ctx, hk, sizeof(hk));
	ret = ovl_probetab_init(&e->regs, REG_SLOTS, sizeof(struct reg), hk);
out:
	sodium_memzero(hk, sizeof(hk));
	return ret;
}

void relay_free(struct ovl_engine *e)
{
	free(e->peer_keys);
	e->peer_keys = NULL;
	free(e->guest_keys);
	e->guest_keys = NULL;
	ovl_probetab_free(&e->regs);
	ovl_chantab_free(&e->chans);
	ovl_probetab_free(&e->clients);
	ovl_probetab_free(&e->limiters);
}

/* ---- the client table ---- */

static bool client_match(const void *entry, const void *key)
{
	const struct client *c = entry;

	return c->seen_ns && !memcmp(c->key, key, 32);
}

static uint64_t client_age(const void *entry, const void *key)
{
	(void)key;
	return ((const struct client *)entry)->seen_ns;
}

static struct client *client_find(const struct ovl_engine *e, const uint8_t key[32], void **victim)
{
	return ovl_probetab_find(&e->clients, ovl_probetab_hash(&e->clients, key, 32), client_match,
				 client_age, key, victim);
}

bool relay_is_client(const struct ovl_engine *e, const uint8_t key[32])
{
	return client_find(e, key, NULL) != NULL;
}

/* An authenticated message from a NATed node (replied: it answers a
 * request of ours).  A newcomer takes the slot of the client heard least
 * lately in its probe range. */
void relay_client_heard(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *a,
			bool replied, uint64_t now)
{
	void *victim = NULL;
	struct client *c = client_find(e, key, &victim);

	if (!c) {
		if (!victim)
			return;
		c = victim;
		memset(c, 0, sizeof(*c));
		memcpy(c->key, key, 32);
	}
	if (memcmp(&c->addr, a, sizeof(*a)) && !replied)
		c->replied_ns = 0;
	c->addr = *a;
	c->seen_ns = now;
	if (replied)
		c->replied_ns = now;
}

size_t ovl_engine_clients_live(const struct ovl_engine *e, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&e->clients);
	size_t live = 0;

	for (i = 0; i < n; ++i) {
		const struct client *c = ovl_probetab_at(&e->clients, i);

		live += c->seen_ns && now - c->seen_ns < LIVE_PATH_NS;
	}
	return live;
}

/* A live (heard within LIVE_PATH_NS), validated address of key. */
bool relay_live_path(const struct ovl_engine *e, const uint8_t key[32], uint64_t now,
		     struct ovl_addr *out)
{
	const struct client *c = client_find(e, key, NULL);
	const struct kad_entry *ke;

	if (c && now - c->seen_ns < LIVE_PATH_NS && c->replied_ns &&
	    now - c->replied_ns < VALIDATED_NS) {
		*out = c->addr;
		return ovl_addr_valid(out);
	}
	ke = kad_table_find(&e->table, key);
	if (ke && (ke->flags & KAD_F_HEARD) && now - ke->last_seen_ns < LIVE_PATH_NS &&
	    dht_entry_validated(ke, now)) {
		*out = ke->addr;
		return ovl_addr_valid(out);
	}
	return false;
}

/* ---- who may be relayed to a member (doc/protocol.md 9.3) ---- */

static bool reg_match(const void *entry, const void *key)
{
	const struct reg *r = entry;

	return r->heard_ns && !memcmp(r->key, key, 32);
}

static uint64_t reg_age(const void *entry, const void *key)
{
	(void)key;
	return ((const struct reg *)entry)->heard_ns;
}

static struct reg *reg_find(const struct ovl_engine *e, const uint8_t key[32], uint64_t now,
			    void **victim)
{
	struct reg *r = ovl_probetab_find(&e->regs, ovl_probetab_hash(&e->regs, key, 32), reg_match,
					  reg_age, key, victim);

	return r && now - r->heard_ns < REG_LIFETIME_NS ? r : NULL;
}

/* Before a new registration from addr: when that IP address already
 * holds its quota of live ones, its own oldest ends (one walk). */
static void reg_quota(struct ovl_engine *e, const struct ovl_addr *addr, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&e->regs), count = 0;
	struct reg *oldest = NULL;

	for (i = 0; i < n; ++i) {
		struct reg *r = ovl_probetab_at(&e->regs, i);

		if (!r->heard_ns || now - r->heard_ns >= REG_LIFETIME_NS ||
		    !ovl_addr_same_ip(&r->from, addr))
			continue;
		++count;
		if (!oldest || r->seq < oldest->seq)
			oldest = r;
	}
	if (count >= REG_ADDR_QUOTA)
		oldest->heard_ns = 0;
}

/* A member's PEERS: kept (replacing its last) while it is refreshed; a
 * newcomer over its address's quota ends that address's oldest, and takes
 * a slot of its probe range that is free or whose PEERS expired, never
 * another live one's. */
void relay_take_peers(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		      const struct ovl_peers *p, struct ovl_time t)
{
	uint64_t h = ovl_probetab_hash(&e->regs, sender, 32);
	void *victim = NULL;
	struct reg *r;

	if (!e->public_node) {
		++e->stats.peers_dropped;
		return;
	}
	r = reg_find(e, sender, t.now_ns, NULL);
	if (!r) {
		reg_quota(e, from, t.now_ns);
		/* Its own expired entry, else a free or expired slot. */
		r = ovl_probetab_find(&e->regs, h, reg_match, reg_age, sender, &victim);
		if (!r) {
			r = victim;
			if (!r || (r->heard_ns && t.now_ns - r->heard_ns < REG_LIFETIME_NS)) {
				++e->stats.peers_dropped;
				return;
			}
		}
		memset(r, 0, sizeof(*r));
		memcpy(r->key, sender, 32);
	}
	r->peers = *p;
	r->from = *from;
	r->heard_ns = t.now_ns;
	r->seq = ++e->reg_seq;
	++e->stats.peers_taken;
}

static int peer_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

bool relay_is_peer(const struct ovl_engine *e, const uint8_t key[32])
{
	return e->n_peer_keys && bsearch(key, e->peer_keys, e->n_peer_keys, 32, peer_key_cmp);
}

/* A member, or a guest (an alias whose joiner may still ask us). */
static bool peer_or_guest(const struct ovl_engine *e, const uint8_t key[32])
{
	return relay_is_peer(e, key) ||
	       (e->n_guest_keys && bsearch(key, e->guest_keys, e->n_guest_keys, 32, peer_key_cmp));
}

/* Whether dst named src in its PEERS; *named: whether dst registered any. */
static bool relay_named(const struct ovl_engine *e, const uint8_t dst[32], const uint8_t src[32],
			uint64_t now, bool *named)
{
	const struct reg *r = reg_find(e, dst, now, NULL);

	*named = r != NULL;
	return r && ovl_peerfilter_has(&r->peers, src);
}

/* Replaces one of our key sets (sorted, for relay_is_peer); the relays
 * that hold our PEERS get the new one at once. */
static int set_keys(struct ovl_engine *e, uint8_t (**set)[32], size_t *count,
		    const uint8_t (*keys)[32], size_t n, struct ovl_time t)
{
	uint8_t (*copy)[32] = calloc(n ? n : 1, sizeof(*copy));
	unsigned i;

	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, keys, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), peer_key_cmp);
	free(*set);
	*set = copy;
	*count = n;
	if (!++e->peers_gen)
		++e->peers_gen;
	for (i = 0; i < PEERS_SENT_SLOTS; ++i) {
		struct ovl_peers_sent *ps = &e->peers_sent[i];

		if (ps->sent_ns && t.now_ns - ps->sent_ns < REG_LIFETIME_NS)
			ovl_engine_register_peers(e, ps->key, &ps->addr, true, t);
	}
	return 0;
}

int ovl_engine_set_peers(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n, struct ovl_time t)
{
	return set_keys(e, &e->peer_keys, &e->n_peer_keys, keys, n, t);
}

int ovl_engine_set_guests(struct ovl_engine *e, const uint8_t (*keys)[32], size_t n,
			  struct ovl_time t)
{
	return set_keys(e, &e->guest_keys, &e->n_guest_keys, keys, n, t);
}

/* Each relay gets a filter under a salt of its own: one that reads its
 * PEERS could search offline for a key that passes it, but that key would
 * pass this relay's filter only. */
static int send_peers(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *addr,
		      struct ovl_time t)
{
	uint8_t salt[16];
	struct ovl_msg m;
	size_t i;
	int ret;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PEERS;
	e->rng(e->rng_ctx, salt, sizeof(salt));
	ovl_peerfilter_init(&m.u.peers, e->n_peer_keys + e->n_guest_keys, salt);
	for (i = 0; i < e->n_peer_keys; ++i)
		ovl_peerfilter_add(&m.u.peers, e->peer_keys[i]);
	for (i = 0; i < e->n_guest_keys; ++i)
		ovl_peerfilter_add(&m.u.peers, e->guest_keys[i]);
	ret = engine_send(e, key, addr, &m, t.wall_ns);
	/* Our stock clients, if any, right after (9.5): the relay passes
	 * handshakes with those keys only. */
	if (ret >= 0 && e->n_stock_clients) {
		memset(&m, 0, sizeof(m));
		m.type = OVL_MSG_STOCK_CLIENTS;
		m.u.stock_clients.count = e->n_stock_clients;
		memcpy(m.u.stock_clients.keys, e->stock_clients, (size_t)e->n_stock_clients * 32);
		ret = engine_send(e, key, addr, &m, t.wall_ns);
	}
	return ret;
}

void ovl_engine_register_peers(struct ovl_engine *e, const uint8_t key[32],
			       const struct ovl_addr *addr, bool again, struct ovl_time t)
{
	struct ovl_peers_sent *ps = NULL, *oldest = &e->peers_sent[0];
	uint64_t wait = again ? REG_AGAIN_NS : REG_REFRESH_NS;
	unsigned i;

	if (!e->peers_gen || !ovl_engine_offers_relay(e, key))
		return;
	for (i = 0; i < PEERS_SENT_SLOTS && !ps; ++i) {
		struct ovl_peers_sent *s = &e->peers_sent[i];

		if (s->sent_ns && !memcmp(s->key, key, 32))
			ps = s;
		else if (s->sent_ns < oldest->sent_ns)
			oldest = s;
	}
	/* Asked again (from an address nobody validated): only a relay that
	 * holds our peers at that very address, so that a spoofed PING never
	 * points a 1 kB answer elsewhere. */
	if (again && (!ps || !ovl_addr_equal(&ps->addr, addr)))
		return;
	/* Asking again is held back by the last answer to it, not by a
	 * refresh: a relay that restarts as our refresh comes due gets that
	 * refresh while it is down, and pings us back a second later. */
	if (ps && ps->gen == e->peers_gen && ovl_addr_equal(&ps->addr, addr)) {
		uint64_t last = again ? ps->again_ns : ps->sent_ns;

		if (last && t.now_ns - last < wait)
			return;
	}
	if (!ps) {
		ps = oldest;
		memset(ps, 0, sizeof(*ps));
		memcpy(ps->key, key, 32);
	}
	if (send_peers(e, key, addr, t) < 0)
		return;
	ps->addr = *addr;
	ps->sent_ns = t.now_ns;
	if (again)
		ps->again_ns = t.now_ns;
	ps->gen = e->peers_gen;
	++e->stats.peers_sent;
}

/* ---- admission ---- */

static bool limiter_match(const void *entry, const void *key)
{
	const struct limiter *l = entry;

	return l->used_ns && !memcmp(l->key, key, 32);
}

static uint64_t limiter_age(const void *entry, const void *key)
{
	(void)key;
	return ((const struct limiter *)entry)->used_ns;
}

static bool relay_admit(struct ovl_engine *e, const uint8_t key[32], size_t bytes, uint64_t now)
{
	void *victim = NULL;
	struct limiter *l = ovl_probetab_find(&e->limiters, ovl_probetab_hash(&e->limiters, key, 32),
					      limiter_match, limiter_age, key, &victim);
	uint64_t tp, tb;

	/* A new sender takes the least recently used slot of its probe
	 * range: at worst an evicted sender starts again with a full
	 * burst, which the rate still bounds. */
	if (!l) {
		l = victim;
		memset(l, 0, sizeof(*l));
		memcpy(l->key, key, 32);
		l->tat_pkts = l->tat_bytes = now;
	}
	tp = l->tat_pkts;
	tb = l->tat_bytes;
	l->used_ns = now;
	if (!gcra_allow(&tp, now, e->relay_pkt_cost_ns, LIMITER_BURST_NS) ||
	    !gcra_allow(&tb, now, bytes * e->relay_byte_cost_ps / 1000, LIMITER_BURST_NS))
		return false;
	l->tat_pkts = tp;
	l->tat_bytes = tb;
	return true;
}

/* ---- RELAY ---- */

/* A RELAY from sender: forwarded as RELAYED to dst's live, validated
 * address, never anywhere the RELAY names (doc/protocol.md 9). */
void relay_forward(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		   const struct ovl_relay *r, struct ovl_time t)
{
	bool rendezvous = r->frag.count == 1 && r->payload[0] == OVL_MAGIC, named;
	struct ovl_addr to;
	struct ovl_msg m;

	if (!memcmp(r->dst, sender, 32) || !memcmp(r->dst, e->table.own, 32)) {
		++e->stats.relay_dropped_bad;
		return;
	}
	/* Rendezvous messages are forwarded by every node; WireGuard
	 * traffic only by relays. */
	if (!rendezvous && !e->relay) {
		++e->stats.relay_dropped_off;
		return;
	}
	/* Only from a key dst named; a rendezvous also to a node that named
	 * none with us (it may be reached through any node that knows it). */
	if (!relay_named(e, r->dst, sender, t.now_ns, &named) && (!rendezvous || named)) {
		++e->stats.relay_dropped_peer;
		return;
	}
	if (!relay_live_path(e, r->dst, t.now_ns, &to)) {
		++e->stats.relay_dropped_no_path;
		return;
	}
	if (!relay_admit(e, sender, r->payload_len, t.now_ns)) {
		++e->stats.relay_dropped_rate;
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_RELAYED;
	memcpy(m.u.relayed.src, sender, 32);
	m.u.relayed.src_addr = *from;
	m.u.relayed.frag = r->frag;
	m.u.relayed.payload = r->payload;
	m.u.relayed.payload_len = r->payload_len;
	if (engine_send(e, r->dst, &to, &m, t.wall_ns) >= 0) {
		++e->stats.relay_forwarded;
		e->stats.relay_bytes += r->payload_len;
	}
}

/* ---- relay channels ---- */

/* A CHANNEL_BIND from sender (doc/protocol.md 9.1): bound (or renewed)
 * from the address it came from, to dst's live, validated path, under
 * the same rules as a RELAY of WireGuard traffic; answered either way. */
void relay_take_channel_bind(struct ovl_engine *e, const uint8_t sender[32],
			     const struct ovl_addr *from, const struct ovl_channel_bind *q,
			     struct ovl_time t)
{
	struct ovl_addr to;
	struct ovl_msg m;
	struct ovl_chan *c;
	bool fresh, named;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BOUND;
	memcpy(m.u.channel_bound.dst, q->dst, 32);
	if (!e->relay) {
		m.u.channel_bound.status = OVL_CHANNEL_OFF;
	} else if (!memcmp(q->dst, sender, 32) || !memcmp(q->dst, e->table.own, 32)) {
		m.u.channel_bound.status = OVL_CHANNEL_BAD;
	} else if (!relay_named(e, q->dst, sender, t.now_ns, &named)) {
		/* A dst that registered nothing with us may not have yet
		 * (we restarted): NO_PATH, which the requester asks again in
		 * 2 s, as for a dst we have not heard since we started. */
		m.u.channel_bound.status = named ? OVL_CHANNEL_DENIED : OVL_CHANNEL_NO_PATH;
		++e->stats.channel_denied;
	} else if (!relay_live_path(e, q->dst, t.now_ns, &to)) {
		m.u.channel_bound.status = OVL_CHANNEL_NO_PATH;
	} else if (!(c = ovl_chantab_bind(&e->chans, sender, q->dst, from, t.now_ns,
					  (uint64_t)OVL_CHAN_LIFETIME_S * NS_PER_S, &fresh))) {
		m.u.channel_bound.status = OVL_CHANNEL_FULL;
	} else {
		memcpy(c->dst_cache, &to, sizeof(to));
		c->checked_ns = t.now_ns;
		m.u.channel_bound.status = OVL_CHANNEL_OK;
		m.u.channel_bound.channel = c->id;
		m.u.channel_bound.lifetime_s = OVL_CHAN_LIFETIME_S;
	}
	++e->stats.channel_binds;
	engine_send(e, sender, from, &m, t.wall_ns);
}

/* Channel data to us as a relay (per datagram): the channel must be live
 * and bound from this address, its destination's path live and validated
 * (rechecked every second), the sender within its limits. */
bool ovl_engine_channel_forward(struct ovl_engine *e, uint32_t channel, const struct ovl_addr *from,
				size_t payload_len, uint64_t now, struct ovl_addr *to)
{
	enum ovl_chan_miss why;
	struct ovl_chan *c;

	if (!e->relay) {
		++e->stats.relay_dropped_off;
		return false;
	}
	if (!(c = ovl_chantab_lookup(&e->chans, channel, from, now, &why))) {
		++e->stats.channel_dropped;
		return false;
	}
	if (now - c->checked_ns >= CHANNEL_RECHECK_NS) {
		if (!relay_live_path(e, c->dst, now, to)) {
			ovl_chantab_unbind(c);
			++e->stats.relay_dropped_no_path;
			return false;
		}
		memcpy(c->dst_cache, to, sizeof(*to));
		c->checked_ns = now;
	}
	if (!relay_admit(e, c->src, payload_len, now)) {
		++e->stats.relay_dropped_rate;
		return false;
	}
	memcpy(to, c->dst_cache, sizeof(*to));
	++e->stats.relay_forwarded;
	++e->stats.channel_forwarded;
	e->stats.relay_bytes += payload_len;
	return true;
}

size_t ovl_engine_channels_live(const struct ovl_engine *e, uint64_t now)
{
	return ovl_chantab_live(&e->chans, now);
}

void ovl_engine_channel_evictions(const struct ovl_engine *e, uint64_t *quota, uint64_t *fair)
{
	*quota = e->chans.quota_evictions;
	*fair = e->chans.fair_evictions;
}

void relay_take_channel_bound(struct ovl_engine *e, const uint8_t sender[32],
			      const struct ovl_channel_bound *r)
{
	if (r->status == OVL_CHANNEL_OK)
		++e->stats.channels_granted;
	else
		++e->stats.channels_refused;
	if (e->ops->on_channel)
		e->ops->on_channel(e->ctx, sender, r->dst, r->status, r->channel);
}

int ovl_engine_channel_bind(struct ovl_engine *e, const uint8_t via[32],
			    const struct ovl_addr *via_addr, const uint8_t dst[32], struct ovl_time t)
{
	struct ovl_msg m;

	/* The relay forwards dst's answers to us only from keys we named. */
	ovl_engine_register_peers(e, via, via_addr, false, t);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BIND;
	memcpy(m.u.channel_bind.dst, dst, 32);
	/* As long as its answer (doc/protocol.md 8.2). */
	m.u.channel_bind.pad_len = OVL_CHANNEL_BOUND_LEN - OVL_CHANNEL_BIND_LEN;
	engine_bind_sent(e, via, via_addr, dst, t.now_ns);
	return engine_send(e, via, via_addr, &m, t.wall_ns);
}

/* ---- as an end ---- */

/* An overlay datagram that src sealed to us and a relay forwarded: a
 * CANDIDATES, or an invitation message (doc/protocol.md 6.6).  Taken only
 * from one of our peers (the members; for the node of `wh join`, the
 * inviter), checked in the clear header before any DH: the relay passed
 * it because we named its sender, or because we registered nothing with
 * it, and a stranger's key would otherwise cost us a DH per datagram. */
static void take_relayed_overlay(struct ovl_engine *e, const uint8_t via[32],
				 const struct ovl_addr *via_addr, const struct ovl_relayed *r,
				 const uint8_t *payload, size_t len, struct ovl_time t)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], inner[32];
	struct ovl_addr seen;
	struct ovl_msg m;
	size_t plen = 0;
	bool seen_ok;
	struct ovl_secure_src from_relay = { .now_ns = t.now_ns };	/* no address to prove */

	if (len < OVL_HEADER_LEN ||
	    memcmp(payload + offsetof(struct ovl_wire_header, sender), r->src, 32) ||
	    !peer_or_guest(e, r->src) ||
	    ovl_secure_open_from(e->sec, payload, len, &from_relay, t.wall_ns, inner, plain,
				 sizeof(plain), &plen) != OVL_ACCEPT ||
	    memcmp(inner, r->src, 32)) {
		++e->stats.relayed_dropped;
		return;
	}
	if (plen && plain[0] >= OVL_MSG_INVITE_FIRST && plain[0] <= OVL_MSG_INVITE_LAST &&
	    e->ops->on_invite) {
		struct ovl_rx rx = { .data = payload, .len = len, .src = *via_addr, .via = via };

		e->ops->on_invite(e->ctx, r->src, &rx, plain, plen);
		return;
	}
	if (ovl_msg_decode(&m, plain, plen) != OVL_DECODE_OK || m.type != OVL_MSG_CANDIDATES) {
		++e->stats.relayed_dropped;
		return;
	}
	seen = r->src_addr;
	seen_ok = ovl_addr_valid(&seen);
	if (e->ops->on_candidates)
		e->ops->on_candidates(e->ctx, r->src, &m.u.candidates, via, via_addr,
				      seen_ok ? &seen : NULL);
}

/* Whether via may bring us RELAYED (doc/protocol.md 9, what a member
 * accepts): only a node we keep a path with, one that answered a request
 * of ours from via_addr within a live path's time.  That is every node
 * that can relay to us at all: a relay forwards only to a live, validated
 * path, which we keep open by pinging it (the relay a member uses, every
 * 5 s; the public nodes a NATed node anchors at, every 25 s).  A
 * WireGuard payload moreover only from a node that offers relaying.  Any
 * other overlay key, however much workbit it has, would otherwise hand
 * our WireGuard handshakes that skip the cookie defence (they came
 * relayed) and cost a Diffie-Hellman each. */
static bool relayed_from_our_relay(const struct ovl_engine *e, const uint8_t via[32],
				   const struct ovl_addr *via_addr, bool wireguard, uint64_t now)
{
	const struct kad_entry *ke = kad_table_find(&e->table, via);

	return ke && (ke->flags & KAD_F_REPLIED) && ke->replied_ns &&
	       now - ke->replied_ns < LIVE_PATH_NS && ovl_addr_equal(&ke->addr, via_addr) &&
	       (!wireguard || (ke->flags & KAD_F_RELAY));
}

void relay_take_relayed(struct ovl_engine *e, const uint8_t via[32], const struct ovl_addr *via_addr,
			const struct ovl_relayed *r, struct ovl_time t)
{
	const uint8_t *payload = r->payload;
	size_t len = r->payload_len;
	enum ovl_reasm_result res;
	bool wireguard;

	/* Checked before reassembly, so that a stranger's fragments take no
	 * slot; a fragment's first byte is its payload's only in the first. */
	wireguard = r->frag.count > 1 || (len && r->payload[0] != OVL_MAGIC);
	if (!relayed_from_our_relay(e, via, via_addr, wireguard, t.now_ns)) {
		++e->stats.relayed_dropped;
		return;
	}
	res = ovl_reasm_input(&e->reasm, r->src, &r->frag, r->payload, r->payload_len, t.now_ns,
			      &payload, &len);
	if (res == OVL_REASM_PENDING)
		return;
	if (res != OVL_REASM_COMPLETE) {
		++e->stats.relayed_dropped;
		return;
	}
	++e->stats.relayed_rx;
	if (payload[0] == OVL_MAGIC && r->frag.count == 1)
		take_relayed_overlay(e, via, via_addr, r, payload, len, t);
	else if (payload[0] >= 1 && payload[0] <= 4 && e->ops->on_relayed)
		e->ops->on_relayed(e->ctx, r->src, via, via_addr, payload, len);
	else
		++e->stats.relayed_dropped;
}

int ovl_engine_relay_send(struct ovl_engine *e, const uint8_t via[32], const struct ovl_addr *via_addr,
			  const uint8_t dst[32], const uint8_t *buf, size_t len, struct ovl_time t)
{
	unsigned count = ovl_frag_count(len), i;
	struct ovl_msg m;
	int ret = 0;

	if (!count)
		return -EMSGSIZE;
	ovl_engine_register_peers(e, via, via_addr, false, t);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_RELAY;
	memcpy(m.u.relay.dst, dst, 32);
	m.u.relay.frag.count = (uint8_t)count;
	if (count > 1) {
		if (!++e->frag_id)
			++e->frag_id;
		m.u.relay.frag.id = e->frag_id;
	}
	for (i = 0; i < count && ret >= 0; ++i) {
		size_t off = 0, clen = ovl_frag_chunk(len, i, &off);

		m.u.relay.frag.index = (uint8_t)i;
		m.u.relay.payload = buf + off;
		m.u.relay.payload_len = clen;
		ret = engine_send(e, via, via_addr, &m, t.wall_ns);
		if (ret >= 0)
			++e->stats.relay_tx;
	}
	return ret < 0 ? ret : 0;
}

int ovl_engine_send_candidates(struct ovl_engine *e, const uint8_t dst[32], const uint8_t *via,
			       const struct ovl_addr *via_addr, const struct ovl_candidates *c,
			       struct ovl_time t)
{
	uint8_t inner[OVL_MAX_DATAGRAM];
	struct ovl_msg m;
	long n;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CANDIDATES;
	m.u.candidates = *c;
	if (!via)
		return engine_send(e, dst, via_addr, &m, t.wall_ns);
	/* Sealed to dst, then carried by the relay. */
	n = engine_seal(e, dst, &m, t.wall_ns, inner);
	if (n < 0)
		return (int)n;
	if ((size_t)n > OVL_RELAY_MAX_CHUNK)
		return -EMSGSIZE;
	return ovl_engine_relay_send(e, via, via_addr, dst, inner, (size_t)n, t);
}
