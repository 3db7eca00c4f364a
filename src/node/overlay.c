/* The overlay glued to the loop (see overlay.h).  Every datagram is
 * opened by the channel (authenticated sender, workbit, replay), decoded
 * strictly, and its sender offered to the routing table; DHT requests
 * are answered from the table; the lookups and the table's periodic work
 * run from one timer re-armed at the core's next deadline. */
#include "src/node/overlay.h"

#include "proto/overlay/channel.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/natfilter.h"
#include "proto/overlay/reasm.h"
#include "proto/overlay/relaychan.h"
#include "proto/wg/ratelimiter.h"
#include "src/wg/device.h"

#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	PINGS_TRACKED = 64,	/* PINGs whose PONG we wait for */
	FIND_NODE_PAD = 269,	/* pads FIND_NODE to 370 bytes: a full NODES back */
	AMPLIFICATION = 3,	/* answer <= 3 x request to an unvalidated address */
	OBSERVATIONS = 8,	/* reflexive addresses remembered */
	WAITERS_MAX = 64,	/* lookups with a completion callback */
	LIMITER_SLOTS = 512,	/* relay senders with a rate state */
	LIMITER_PROBE = 8,
	CLIENT_SLOTS = 2048,	/* NATed nodes a public node has a path to */
	CLIENT_PROBE = 8,
	RELAY_PPS_DEFAULT = 20000,	/* per source: packets ... */
	RELAY_BPS_DEFAULT = 25000000,	/* ... and bytes per second (200 Mbit/s) */
	CHANNEL_SLOTS = 4096,		/* relay channels bound at us */
};

#define NS_PER_S 1000000000ULL
#define LIVE_PATH_NS (60 * NS_PER_S)	/* a NATed node heard within this is reachable */
#define VALIDATED_NS (600 * NS_PER_S)	/* an answer validates its address this long */
#define LIMITER_BURST_NS (NS_PER_S / 5)	/* a sender may run 200 ms ahead of its rate */
#define CHANNEL_RECHECK_NS NS_PER_S	/* a channel's destination path is rechecked this often */

_Static_assert(sizeof(union wg_sockaddr) <= OVL_CHAN_DST_CACHE, "a channel caches a socket address");

/* Per-source relay limits as GCRA: each sender has a theoretical arrival
 * time per resource that every forwarded RELAY pushes forward by its
 * cost; a RELAY that would push it more than the burst ahead of now is
 * dropped. */
struct limiter {
	uint8_t key[32];
	uint64_t used_ns;		/* 0: free */
	uint64_t tat_pkts, tat_bytes;
};

/* A node behind a NAT that keeps a path to us open (a public node's
 * "clients"): kept apart from the routing table, whose buckets keep old
 * entries and would leave a newcomer in a replacement cache, so that a
 * rendezvous and relay can name and reach every one of them. */
struct client {
	uint8_t key[32];
	struct kad_addr addr;
	uint64_t seen_ns;		/* 0: free */
	uint64_t replied_ns;		/* its last answer from addr */
};

struct ping_slot {
	uint64_t nonce;		/* 0: free */
	uint8_t key[32];
	uint64_t sent_ns;
	overlay_pong_cb *done;
	void *arg;
};

struct waiter {
	uint64_t txid;
	overlay_lookup_cb *done;	/* NULL: free */
	void *arg;
};

/* NAT filtering (doc/protocol.md 9.2): the rounds of PROBE_REQ we send, and
 * the rate states of the PROBE_REQs we answer.  Only the natfilt_ and
 * probe_ functions below touch it. */
enum {
	NATFILT_ASKED = 3,		/* PUBLIC nodes asked per round */
	PROBE_LIMIT_SLOTS = 256,	/* per-requester rate states, by key hash */
};

struct natfilt_slot {
	uint64_t nonce;			/* 0: unused */
	uint8_t key[32];
	struct kad_addr addr;		/* where the PROBE_REQ went: its main socket */
	bool answered;			/* its ANSWER came, from addr */
	uint8_t sent;			/* enum ovl_probe_sent, as the ANSWER said */
	bool port_rx, ip_rx;		/* the probes that came, from where they should */
	bool ip_bad;			/* an OTHER_IP came from addr's IP: no OTHER_IP test */
};

struct natfilt {
	enum ovl_filtering verdict;	/* what `wh show` says */
	unsigned observers;		/* the mapping's observers when it was made */
	struct ovl_filter_evidence ev;
	struct natfilt_slot slot[NATFILT_ASKED];	/* the round in flight */
	uint64_t round_end_ns;		/* 0: no round in flight */
	uint64_t next_ns;		/* the next classification is due */
	uint64_t look_ns;		/* the next look for a change */
	enum overlay_nat mapping;	/* what the verdict was made for ... */
	struct kad_addr base;		/* ... and from which reflexive IP */
	uint8_t ip_capable[32];		/* an answerer that sent OTHER_IP: asked first */
	/* Answering: per requester-key hash and in all, as GCRA. */
	uint64_t tat_all, tat_key[PROBE_LIMIT_SLOTS];
};

struct overlay {
	struct wg_device *dev;
	struct ovl_channel *ch;
	struct kad_table table;
	struct kad_lookups lookups;
	bool table_ready, lookups_ready;
	uv_timer_t timer;
	const struct overlay_ops *ops;
	void *ctx;
	bool public_node;
	struct ping_slot pings[PINGS_TRACKED];
	unsigned ping_next;
	struct waiter waiters[WAITERS_MAX];
	struct waiter *starting;	/* the waiter of the lookup being started */
	union wg_sockaddr reflexive;
	struct observation {
		struct kad_addr observer;	/* the node that saw us */
		struct kad_addr seen;		/* as which address */
		uint64_t at_ns;			/* 0: empty */
	} obs[OBSERVATIONS];
	unsigned obs_next;
	bool relay;
	uint64_t relay_pkt_cost_ns, relay_byte_cost_ps;	/* per packet; per byte, in ps */
	struct limiter *limiters;		/* LIMITER_SLOTS */
	struct client *clients;			/* CLIENT_SLOTS, public nodes only */
	uint8_t limiter_hash_key[crypto_shorthash_KEYBYTES];
	uint16_t frag_id;			/* our fragmented payloads */
	struct ovl_reasm reasm;
	bool reasm_ready;
	struct ovl_chantab chans;		/* relays only */
	struct natfilt filt;
	struct overlay_stats stats;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

bool wg_sockaddr_to_kad(const union wg_sockaddr *a, struct kad_addr *k)
{
	memset(k, 0, sizeof(*k));
	if (a->sa.sa_family == AF_INET) {
		k->family = KAD_AF_INET;
		k->port = ntohs(a->in4.sin_port);
		memcpy(k->ip, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		k->port = ntohs(a->in6.sin6_port);
		if (!memcmp(&a->in6.sin6_addr, mapped, sizeof(mapped))) {
			k->family = KAD_AF_INET;
			memcpy(k->ip, (const uint8_t *)&a->in6.sin6_addr + 12, 4);
		} else {
			k->family = KAD_AF_INET6;
			memcpy(k->ip, &a->in6.sin6_addr, 16);
		}
	} else {
		return false;
	}
	return k->port != 0;
}

bool kad_addr_to_wg_sockaddr(const struct kad_addr *k, union wg_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (k->family == KAD_AF_INET) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(k->port);
		memcpy(&a->in4.sin_addr, k->ip, 4);
	} else if (k->family == KAD_AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(k->port);
		memcpy(&a->in6.sin6_addr, k->ip, 16);
	} else {
		return false;
	}
	return k->port != 0;
}

static void kad_to_ovl(const struct kad_addr *k, struct ovl_addr *o)
{
	if (k->family == KAD_AF_INET)
		ovl_addr_set_v4(o, k->ip, k->port);
	else
		ovl_addr_set_v6(o, k->ip, k->port);
}

static bool ovl_to_kad(const struct ovl_addr *o, struct kad_addr *k)
{
	struct sockaddr_storage ss;
	union wg_sockaddr a;
	unsigned n = ovl_addr_to_sockaddr(o, &ss);

	if (!n || n > sizeof(a))
		return false;
	memset(&a, 0, sizeof(a));
	memcpy(&a, &ss, n);
	return wg_sockaddr_to_kad(&a, k);
}

static void on_timer(uv_timer_t *t);
static void natfilt_tick(struct overlay *ov, uint64_t now);

/* The core says when it wants to run next; the timer follows (and the
 * NAT filtering classification's deadline). */
static void rearm(struct overlay *ov)
{
	uint64_t next = kad_lookups_deadline(&ov->lookups), now = wg_now(ov->dev), ms;

	if (ov->dev->closing)
		return;
	if (ov->filt.round_end_ns ? ov->filt.round_end_ns < next : ov->filt.look_ns < next)
		next = ov->filt.round_end_ns ? ov->filt.round_end_ns : ov->filt.look_ns;
	ms = next > now ? (next - now + 999999) / 1000000 : 0;
	if (ms > 60000)
		ms = 60000;
	uv_timer_start(&ov->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct overlay *ov = t->data;

	kad_lookups_tick(&ov->lookups, wg_now(ov->dev));
	natfilt_tick(ov, wg_now(ov->dev));
	rearm(ov);
}

/* Encodes, seals and sends m to key at addr. */
static int send_msg(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr,
		    const struct ovl_msg *m)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	long plen, n;
	int ret;

	plen = ovl_msg_encode(buf + OVL_HEADER_LEN, OVL_MAX_PLAINTEXT, m);
	if (plen < 0)
		return (int)plen;
	n = ovl_channel_seal(ov->ch, key, buf + OVL_HEADER_LEN, (size_t)plen, wall_ns(), buf,
			     sizeof(buf));
	if (n < 0)
		return (int)n;
	ret = device_send(ov->dev, addr, buf, (size_t)n);
	if (ret < 0)
		++ov->stats.send_errors;
	else
		++ov->stats.tx;
	return ret;
}

static uint8_t our_flags(const struct overlay *ov)
{
	if (!ov->public_node)
		return 0;
	return OVL_NODE_PUBLIC | (ov->relay ? OVL_NODE_RELAY : 0);
}

/* The table's flags for a node's own flags. */
static unsigned kad_flags_of(uint8_t node_flags)
{
	return ((node_flags & OVL_NODE_PUBLIC) ? 0 : KAD_F_NATED) |
	       ((node_flags & OVL_NODE_RELAY) ? KAD_F_RELAY : 0);
}

static int send_probe(struct overlay *ov, uint8_t type, const uint8_t key[32],
		      const union wg_sockaddr *addr, overlay_pong_cb *done, void *arg)
{
	struct ping_slot *slot = &ov->pings[ov->ping_next++ % PINGS_TRACKED];
	struct ovl_msg m;

	/* The oldest tracked ping is forgotten: its PONG, if it comes, is
	 * still an authenticated message, just without an RTT sample. */
	memset(slot, 0, sizeof(*slot));
	do
		randombytes_buf(&slot->nonce, sizeof(slot->nonce));
	while (!slot->nonce);
	memcpy(slot->key, key, 32);
	slot->sent_ns = wg_now(ov->dev);
	slot->done = done;
	slot->arg = arg;
	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == OVL_MSG_PUNCH) {
		m.u.punch.nonce = slot->nonce;
	} else {
		m.u.ping.nonce = slot->nonce;
		m.u.ping.flags = our_flags(ov);
	}
	return send_msg(ov, key, addr, &m);
}

static int send_ping(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr,
		     overlay_pong_cb *done, void *arg)
{
	return send_probe(ov, OVL_MSG_PING, key, addr, done, arg);
}

/* ---- lookup callbacks ---- */

static void lk_find_node(void *ctx, const struct kad_contact *to, uint64_t txid,
			 const uint8_t target[KAD_KEY_LEN])
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;
	struct ovl_msg m;

	if (!kad_addr_to_wg_sockaddr(&to->addr, &a))
		return;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_FIND_NODE;
	m.u.find_node.txid = txid;
	memcpy(m.u.find_node.target, target, 32);
	m.u.find_node.pad_len = FIND_NODE_PAD;
	send_msg(ov, to->key, &a, &m);
}

static void lk_ping(void *ctx, const struct kad_contact *to)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (kad_addr_to_wg_sockaddr(&to->addr, &a))
		send_ping(ov, to->key, &a, NULL, NULL);
}

static void lk_done(void *ctx, const struct kad_lookup_result *r)
{
	struct overlay *ov = ctx;
	unsigned i;

	if (r->kind == KAD_KIND_USER)
		dev_log(ov->dev, LOG_DBG, "lookup %016llx: found %d seen %d, %u sent, %u replies, "
			"%u timeouts", (unsigned long long)r->txid, r->found, r->seen, r->sent, r->replies,
			r->timeouts);
	else
		dev_log(ov->dev, LOG_DBG, "table lookup (kind %u): %u sent, %u replies, %u timeouts",
			r->kind, r->sent, r->replies, r->timeouts);
	if (r->found && r->kind == KAD_KIND_USER) {
		union wg_sockaddr a;

		if (kad_addr_to_wg_sockaddr(&r->target_contact.addr, &a) && ov->ops->on_contact)
			ov->ops->on_contact(ov->ctx, r->target, &a);
	}
	/* A lookup with nothing to ask ends inside kad_lookup_start, before
	 * its waiter knows the txid. */
	if (ov->starting && ov->starting->done && r->kind == KAD_KIND_USER) {
		struct waiter *w = ov->starting;
		overlay_lookup_cb *done = w->done;

		ov->starting = NULL;
		w->done = NULL;
		done(w->arg, r);
		return;
	}
	for (i = 0; i < WAITERS_MAX; ++i) {
		struct waiter *w = &ov->waiters[i];

		if (w->done && w->txid == r->txid) {
			overlay_lookup_cb *done = w->done;

			w->done = NULL;
			done(w->arg, r);
		}
	}
}

static const struct kad_lookup_ops lookup_ops = {
	.find_node = lk_find_node,
	.ping = lk_ping,
	.done = lk_done,
};

/* ---- input ---- */

/* An address is validated when the key answered a request of ours from
 * it (doc/protocol.md 8.1): the table marks such entries REPLIED. */
static bool entry_validated(const struct overlay *ov, const struct kad_entry *e)
{
	return (e->flags & KAD_F_REPLIED) && e->replied_ns &&
	       wg_now(ov->dev) - e->replied_ns < VALIDATED_NS;
}

static bool validated(const struct overlay *ov, const uint8_t key[32], const struct kad_addr *a)
{
	const struct kad_entry *e = kad_table_find(&ov->table, key);

	return e && entry_validated(ov, e) && e->addr.family == a->family &&
	       e->addr.port == a->port && !memcmp(e->addr.ip, a->ip, 16);
}

bool overlay_validated(const struct overlay *ov, const uint8_t key[32],
		       const union wg_sockaddr *addr)
{
	struct kad_addr k;

	return wg_sockaddr_to_kad(addr, &k) && validated(ov, key, &k);
}

static struct client *client_slot(struct overlay *ov, const uint8_t key[32], bool create)
{
	struct client *oldest = NULL;
	uint64_t h;
	unsigned i;

	if (!ov->clients)
		return NULL;
	crypto_shorthash((uint8_t *)&h, key, 32, ov->limiter_hash_key);
	h ^= 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < CLIENT_PROBE; ++i) {
		struct client *c = &ov->clients[(h + i) % CLIENT_SLOTS];

		if (c->seen_ns && !memcmp(c->key, key, 32))
			return c;
		if (!oldest || c->seen_ns < oldest->seen_ns)
			oldest = c;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->key, key, 32);
	return oldest;
}

/* An authenticated message from a NATed node (replied: it answers a
 * request of ours). */
static void client_heard(struct overlay *ov, const uint8_t key[32], const struct kad_addr *a,
			 bool replied, uint64_t now)
{
	struct client *c = client_slot(ov, key, true);

	if (!c)
		return;
	if (memcmp(&c->addr, a, sizeof(*a)) && !replied)
		c->replied_ns = 0;
	c->addr = *a;
	c->seen_ns = now;
	if (replied)
		c->replied_ns = now;
}

/* A live (heard within LIVE_PATH_NS), validated address of key. */
static bool live_path(struct overlay *ov, const uint8_t key[32], uint64_t now, struct kad_addr *out)
{
	const struct client *c = client_slot(ov, key, false);
	const struct kad_entry *e;

	if (c && now - c->seen_ns < LIVE_PATH_NS && c->replied_ns &&
	    now - c->replied_ns < VALIDATED_NS) {
		*out = c->addr;
		return true;
	}
	e = kad_table_find(&ov->table, key);
	if (e && (e->flags & KAD_F_HEARD) && now - e->last_seen_ns < LIVE_PATH_NS &&
	    entry_validated(ov, e)) {
		*out = e->addr;
		return true;
	}
	return false;
}

/* Entries that fit in AMPLIFICATION x the request's size (8.2). */
static size_t nodes_budget(size_t request_len)
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

static void answer_find_node(struct overlay *ov, const uint8_t sender[32],
			     const union wg_sockaddr *src, const struct kad_addr *from,
			     const struct ovl_find_node *q, size_t request_len)
{
	struct kad_contact c[OVL_K];
	struct ovl_msg m;
	size_t n, i, budget = OVL_K;

	if (!validated(ov, sender, from))
		budget = nodes_budget(request_len);
	n = kad_table_closest(&ov->table, q->target, OVL_K, c, KAD_WANT_HEARD);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_NODES;
	m.u.nodes.txid = q->txid;
	/* The target itself first, when it is a client of ours: whoever
	 * looks for it can meet it through us. */
	if (memcmp(q->target, sender, 32) && budget) {
		struct kad_addr ka;

		if (client_slot(ov, q->target, false) &&
		    live_path(ov, q->target, wg_now(ov->dev), &ka)) {
			struct ovl_node *o = &m.u.nodes.nodes[m.u.nodes.count++];

			memcpy(o->key, q->target, 32);
			kad_to_ovl(&ka, &o->addr);
			o->flags = 0;
		}
	}
	for (i = 0; i < n; ++i) {
		struct ovl_node *o = &m.u.nodes.nodes[m.u.nodes.count];

		const struct kad_entry *e;

		/* The requester knows where it is; the target may be listed. */
		if (!memcmp(c[i].key, sender, 32) ||
		    (m.u.nodes.count && !memcmp(c[i].key, m.u.nodes.nodes[0].key, 32)))
			continue;
		/* A node behind a NAT is named only while we have a live,
		 * validated path to it: the requester will relay through us
		 * (doc/protocol.md 8.3). */
		if (c[i].flags & KAD_F_NATED) {
			e = kad_table_find(&ov->table, c[i].key);
			if (!e || wg_now(ov->dev) - e->last_seen_ns > LIVE_PATH_NS ||
			    !entry_validated(ov, e))
				continue;
		}
		if (m.u.nodes.count == budget)
			break;
		memcpy(o->key, c[i].key, 32);
		kad_to_ovl(&c[i].addr, &o->addr);
		o->flags = (uint8_t)(((c[i].flags & KAD_F_NATED) ? 0 : OVL_NODE_PUBLIC) |
				     ((c[i].flags & KAD_F_RELAY) ? OVL_NODE_RELAY : 0));
		++m.u.nodes.count;
	}
	++ov->stats.finds_answered;
	send_msg(ov, sender, src, &m);
}

static void take_nodes(struct overlay *ov, const uint8_t sender[32], const struct kad_addr *from,
		       const union wg_sockaddr *src, unsigned from_flags, const struct ovl_nodes *r,
		       uint64_t now)
{
	struct kad_contact c[OVL_K];
	size_t n = 0, i;

	for (i = 0; i < r->count && n < OVL_K; ++i) {
		if (!ovl_to_kad(&r->nodes[i].addr, &c[n].addr))
			continue;
		memcpy(c[n].key, r->nodes[i].key, 32);
		c[n].flags = (uint8_t)kad_flags_of(r->nodes[i].flags);
		/* The responder has a live path to this NATed node: a
		 * rendezvous (and relay) for it. */
		if ((c[n].flags & KAD_F_NATED) && ov->ops->on_reach)
			ov->ops->on_reach(ov->ctx, c[n].key, sender, src);
		++n;
	}
	kad_lookups_on_nodes(&ov->lookups, r->txid, sender, from, from_flags, c, n, now);
}

static void record_observation(struct overlay *ov, const struct kad_addr *observer,
			       const struct ovl_addr *seen, uint64_t now)
{
	struct observation *o;
	struct kad_addr k;

	if (!ovl_to_kad(seen, &k))
		return;
	o = &ov->obs[ov->obs_next++ % OBSERVATIONS];
	kad_addr_to_wg_sockaddr(&k, &ov->reflexive);
	o->observer = *observer;
	o->seen = k;
	o->at_ns = now;
}

/* ---- relaying ---- */

static struct limiter *limiter_for(struct overlay *ov, const uint8_t key[32], uint64_t now)
{
	struct limiter *oldest = NULL;
	uint64_t h;
	unsigned i;

	crypto_shorthash((uint8_t *)&h, key, 32, ov->limiter_hash_key);
	for (i = 0; i < LIMITER_PROBE; ++i) {
		struct limiter *l = &ov->limiters[(h + i) % LIMITER_SLOTS];

		if (l->used_ns && !memcmp(l->key, key, 32))
			return l;
		if (!oldest || l->used_ns < oldest->used_ns)
			oldest = l;
	}
	/* A new sender takes the least recently used slot of its probe
	 * range: at worst an evicted sender starts again with a full
	 * burst, which the rate still bounds. */
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->key, key, 32);
	oldest->tat_pkts = oldest->tat_bytes = now;
	return oldest;
}

static bool relay_admit(struct overlay *ov, const uint8_t key[32], size_t bytes, uint64_t now)
{
	struct limiter *l = limiter_for(ov, key, now);
	uint64_t tp = l->tat_pkts, tb = l->tat_bytes;

	l->used_ns = now;
	if (!gcra_allow(&tp, now, ov->relay_pkt_cost_ns, LIMITER_BURST_NS) ||
	    !gcra_allow(&tb, now, bytes * ov->relay_byte_cost_ps / 1000, LIMITER_BURST_NS))
		return false;
	l->tat_pkts = tp;
	l->tat_bytes = tb;
	return true;
}

/* A RELAY from sender: forwarded as RELAYED to dst's live, validated
 * address, never anywhere the RELAY names (doc/protocol.md 9). */
static void relay_forward(struct overlay *ov, const uint8_t sender[32], const union wg_sockaddr *src,
			  const struct ovl_relay *r, uint64_t now)
{
	bool rendezvous = r->frag.count == 1 && r->payload[0] == OVL_MAGIC;
	struct kad_addr ka;
	union wg_sockaddr to;
	struct ovl_msg m;

	if (!memcmp(r->dst, sender, 32) || !memcmp(r->dst, ov->table.own, 32)) {
		++ov->stats.relay_dropped_bad;
		return;
	}
	/* Rendezvous messages are forwarded by every node; WireGuard
	 * traffic only by relays. */
	if (!rendezvous && !ov->relay) {
		++ov->stats.relay_dropped_off;
		return;
	}
	if (!live_path(ov, r->dst, now, &ka) || !kad_addr_to_wg_sockaddr(&ka, &to)) {
		++ov->stats.relay_dropped_no_path;
		return;
	}
	if (!relay_admit(ov, sender, r->payload_len, now)) {
		++ov->stats.relay_dropped_rate;
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_RELAYED;
	memcpy(m.u.relayed.src, sender, 32);
	ovl_addr_from_sockaddr(&m.u.relayed.src_addr, &src->sa);
	m.u.relayed.frag = r->frag;
	m.u.relayed.payload = r->payload;
	m.u.relayed.payload_len = r->payload_len;
	if (send_msg(ov, r->dst, &to, &m) >= 0) {
		++ov->stats.relay_forwarded;
		ov->stats.relay_bytes += r->payload_len;
	}
}

/* A CHANNEL_BIND from sender (doc/protocol.md 9.1): bound (or renewed)
 * from the address it came from, to dst's live, validated path, under
 * the same rules as a RELAY of WireGuard traffic; answered either way. */
static void take_channel_bind(struct overlay *ov, const uint8_t sender[32], const union wg_sockaddr *src,
			      const struct kad_addr *from, const struct ovl_channel_bind *q, uint64_t now)
{
	struct ovl_msg m;
	struct kad_addr ka;
	union wg_sockaddr to;
	struct ovl_chan *c;
	bool fresh;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BOUND;
	memcpy(m.u.channel_bound.dst, q->dst, 32);
	if (!ov->relay) {
		m.u.channel_bound.status = OVL_CHANNEL_OFF;
	} else if (!memcmp(q->dst, sender, 32) || !memcmp(q->dst, ov->table.own, 32)) {
		m.u.channel_bound.status = OVL_CHANNEL_BAD;
	} else if (!live_path(ov, q->dst, now, &ka) || !kad_addr_to_wg_sockaddr(&ka, &to)) {
		m.u.channel_bound.status = OVL_CHANNEL_NO_PATH;
	} else if (!(c = ovl_chantab_bind(&ov->chans, sender, q->dst, from, now,
					  (uint64_t)OVL_CHAN_LIFETIME_S * NS_PER_S, &fresh))) {
		m.u.channel_bound.status = OVL_CHANNEL_FULL;
	} else {
		memcpy(c->dst_cache, &to, sizeof(to));
		c->checked_ns = now;
		m.u.channel_bound.status = OVL_CHANNEL_OK;
		m.u.channel_bound.channel = c->id;
		m.u.channel_bound.lifetime_s = OVL_CHAN_LIFETIME_S;
	}
	++ov->stats.channel_binds;
	send_msg(ov, sender, src, &m);
}

/* Channel data to us as a relay (the device's hook, per datagram): the
 * channel must be live and bound from this address, its destination's
 * path live and validated (rechecked every second), the sender within
 * its limits; then the header says "from a relay" and the datagram goes
 * to the destination, untouched otherwise. */
bool overlay_channel_forward(void *ctx, struct pkt *p, uint32_t channel)
{
	struct overlay *ov = ctx;
	uint64_t now = wg_now(ov->dev);
	enum ovl_chan_miss why;
	struct kad_addr from, ka;
	union wg_sockaddr to;
	struct ovl_chan *c;

	if (!ov->relay) {
		++ov->stats.relay_dropped_off;
		return false;
	}
	if (!wg_sockaddr_to_kad(&p->addr, &from) ||
	    !(c = ovl_chantab_lookup(&ov->chans, channel, &from, now, &why))) {
		++ov->stats.channel_dropped;
		return false;
	}
	if (now - c->checked_ns >= CHANNEL_RECHECK_NS) {
		if (!live_path(ov, c->dst, now, &ka) || !kad_addr_to_wg_sockaddr(&ka, &to)) {
			ovl_chantab_unbind(c);
			++ov->stats.relay_dropped_no_path;
			return false;
		}
		memcpy(c->dst_cache, &to, sizeof(to));
		c->checked_ns = now;
	}
	if (!relay_admit(ov, c->src, p->len - OVL_CHAN_HEADER_LEN, now)) {
		++ov->stats.relay_dropped_rate;
		return false;
	}
	ovl_chan_write(p->data, OVL_CHAN_FROM_RELAY, 0);
	memcpy(&p->addr, c->dst_cache, sizeof(p->addr));
	p->peer = NULL;
	p->has_local = false;
	++ov->stats.relay_forwarded;
	++ov->stats.channel_forwarded;
	ov->stats.relay_bytes += p->len - OVL_CHAN_HEADER_LEN;
	return true;
}

static void take_channel_bound(struct overlay *ov, const uint8_t sender[32],
			       const struct ovl_channel_bound *r)
{
	if (r->status == OVL_CHANNEL_OK)
		++ov->stats.channels_granted;
	else
		++ov->stats.channels_refused;
	if (ov->ops->on_channel)
		ov->ops->on_channel(ov->ctx, sender, r->dst, r->status, r->channel);
}

/* An overlay datagram that src sealed to us and a relay forwarded: only
 * CANDIDATES travel this way. */
static void take_relayed_overlay(struct overlay *ov, const uint8_t via[32],
				 const union wg_sockaddr *via_addr, const struct ovl_relayed *r,
				 const uint8_t *payload, size_t len)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], inner[32];
	union wg_sockaddr seen;
	struct sockaddr_storage ss;
	struct ovl_msg m;
	size_t plen = 0;
	unsigned sl;

	if (ovl_channel_open(ov->ch, payload, len, wall_ns(), inner, plain, sizeof(plain), &plen) !=
		    OVL_ACCEPT ||
	    memcmp(inner, r->src, 32) || ovl_msg_decode(&m, plain, plen) != OVL_DECODE_OK ||
	    m.type != OVL_MSG_CANDIDATES) {
		++ov->stats.relayed_dropped;
		return;
	}
	memset(&seen, 0, sizeof(seen));
	sl = ovl_addr_to_sockaddr(&r->src_addr, &ss);
	if (sl && sl <= sizeof(seen))
		memcpy(&seen, &ss, sl);
	if (ov->ops->on_candidates)
		ov->ops->on_candidates(ov->ctx, r->src, &m.u.candidates, via, via_addr,
				       seen.sa.sa_family ? &seen : NULL);
}

static void take_relayed(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
			 const struct ovl_relayed *r, uint64_t now)
{
	const uint8_t *payload = r->payload;
	size_t len = r->payload_len;

	enum ovl_reasm_result res;

	res = ovl_reasm_input(&ov->reasm, r->src, &r->frag, r->payload, r->payload_len, now,
			      &payload, &len);
	if (res == OVL_REASM_PENDING)
		return;
	if (res != OVL_REASM_COMPLETE) {
		++ov->stats.relayed_dropped;
		return;
	}
	++ov->stats.relayed_rx;
	if (payload[0] == OVL_MAGIC && r->frag.count == 1)
		take_relayed_overlay(ov, via, via_addr, r, payload, len);
	else if (payload[0] >= 1 && payload[0] <= 4 && ov->ops->on_relayed)
		ov->ops->on_relayed(ov->ctx, r->src, via, via_addr, payload, len);
	else
		++ov->stats.relayed_dropped;
}

/* The answer to a PING or PUNCH: the nonce, our flags, and the address
 * the request came from (the requester's reflexive address). */
static void send_pong(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *to,
		      uint64_t nonce)
{
	struct ovl_msg r;

	memset(&r, 0, sizeof(r));
	r.type = OVL_MSG_PONG;
	r.u.pong.nonce = nonce;
	r.u.pong.flags = our_flags(ov);
	ovl_addr_from_sockaddr(&r.u.pong.observed, &to->sa);
	send_msg(ov, key, to, &r);
}

/* ---- NAT filtering: answering PROBE_REQ ---- */

static bool same_ip(const struct kad_addr *a, const struct kad_addr *b);

/* A requester may ask about once a second (a burst of 4), all of them 100
 * times a second: each answer opens two sockets. */
static bool probe_admit(struct overlay *ov, const uint8_t key[32], uint64_t now)
{
	uint64_t h, all = ov->filt.tat_all;

	crypto_shorthash((uint8_t *)&h, key, 32, ov->limiter_hash_key);
	if (!gcra_allow(&all, now, NS_PER_S / 100, NS_PER_S) ||
	    !gcra_allow(&ov->filt.tat_key[h % PROBE_LIMIT_SLOTS], now, NS_PER_S, 4 * NS_PER_S))
		return false;
	ov->filt.tat_all = all;
	return true;
}

/* Whether ip (4 or 16 bytes of family af) may source an OTHER_IP probe to
 * the internet: not loopback, link-local, multicast or unspecified. */
static bool probe_usable_ip(int af, const uint8_t *ip)
{
	static const uint8_t zero[16];

	if (af == AF_INET)
		return ip[0] != 127 && ip[0] != 0 && (ip[0] & 0xf0) != 0xe0 &&
		       !(ip[0] == 169 && ip[1] == 254);
	return memcmp(ip, zero, 16) && !(ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) &&
	       ip[0] != 0xff && !(memcmp(ip, zero, 15) == 0 && ip[15] == 1) &&
	       !(memcmp(ip, zero, 10) == 0 && ip[10] == 0xff && ip[11] == 0xff);
}

/* Another address of the family of main on the interface the request
 * came in on (ifindex): the source of an OTHER_IP probe.  Only that
 * interface, so that the probe takes the path the request came by. */
static bool probe_other_ip(const union wg_sockaddr *main_ip, unsigned ifindex, union wg_sockaddr *out)
{
	char name[IF_NAMESIZE];
	struct ifaddrs *ifa, *i;
	bool found = false;
	int af = main_ip->sa.sa_family;

	if (!ifindex || !if_indextoname(ifindex, name) || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		const uint8_t *ip, *mine;
		size_t n = af == AF_INET ? 4 : 16;

		if (!i->ifa_addr || i->ifa_addr->sa_family != af || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, name))
			continue;
		if (af == AF_INET) {
			ip = (const uint8_t *)&((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
			mine = (const uint8_t *)&main_ip->in4.sin_addr;
		} else {
			ip = ((const struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr.s6_addr;
			mine = main_ip->in6.sin6_addr.s6_addr;
		}
		if (!memcmp(ip, mine, n) || !probe_usable_ip(af, ip))
			continue;
		memset(out, 0, sizeof(*out));
		out->sa.sa_family = (sa_family_t)af;
		if (af == AF_INET)
			memcpy(&out->in4.sin_addr, ip, 4);
		else
			memcpy(&out->in6.sin6_addr, ip, 16);
		found = true;
	}
	freeifaddrs(ifa);
	return found;
}

/* Sends a sealed datagram from a fresh socket bound to from's IP address
 * (port 0: the kernel picks one, never our main port, which is bound). */
static bool probe_send_aux(struct overlay *ov, const union wg_sockaddr *from,
			   const union wg_sockaddr *to, const uint8_t *buf, size_t len)
{
	union wg_sockaddr b = *from;
	bool ok = false;
	int fd;

	fd = socket(from->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (b.sa.sa_family == AF_INET)
		b.in4.sin_port = 0;
	else
		b.in6.sin6_port = 0;
	if (bind(fd, &b.sa, wg_sockaddr_len(&b)) < 0)
		goto out;
	ok = sendto(fd, buf, len, 0, &to->sa, wg_sockaddr_len(to)) == (ssize_t)len;
out:
	if (fd >= 0)
		close(fd);
	if (ok)
		++ov->stats.tx;
	else
		++ov->stats.send_errors;
	return ok;
}

static long probe_seal(struct overlay *ov, const uint8_t key[32], const struct ovl_msg *m,
		       uint8_t buf[OVL_MAX_DATAGRAM])
{
	long plen = ovl_msg_encode(buf + OVL_HEADER_LEN, OVL_MAX_PLAINTEXT, m);

	if (plen < 0)
		return plen;
	return ovl_channel_seal(ov->ch, key, buf + OVL_HEADER_LEN, (size_t)plen, wall_ns(), buf,
				OVL_MAX_DATAGRAM);
}

/* A PROBE_REQ: a PUBLIC node sends OTHER_PORT from its IP address and
 * another port, OTHER_IP from a second address of that family if it has
 * one, both to the request's source address and never to any address the
 * request names (it names none), then the ANSWER from its main socket.
 * At most three PROBEs, no more bytes than the padded request. */
static void probe_answer(struct overlay *ov, const uint8_t sender[32], const struct pkt *p,
			 const struct ovl_probe_req *r, uint64_t now)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	union wg_sockaddr main_ip, other;
	unsigned ifindex = 0;
	struct ovl_msg m;
	uint8_t sent = 0;
	long n;

	if (!ov->public_node || p->len < OVL_PROBE_REQ_MIN || !probe_admit(ov, sender, now)) {
		++ov->stats.probes_dropped;
		return;
	}
	memset(&main_ip, 0, sizeof(main_ip));
	if (p->has_local && p->addr.sa.sa_family == AF_INET) {
		main_ip.in4.sin_family = AF_INET;
		main_ip.in4.sin_addr = p->local.v4.ipi_addr;
		ifindex = (unsigned)p->local.v4.ipi_ifindex;
	} else if (p->has_local && p->addr.sa.sa_family == AF_INET6) {
		main_ip.in6.sin6_family = AF_INET6;
		main_ip.in6.sin6_addr = p->local.v6.ipi6_addr;
		ifindex = p->local.v6.ipi6_ifindex;
	}
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PROBE;
	m.u.probe.nonce = r->nonce;
	/* Which probes go is known before any is sealed: every PROBE says so. */
	if (main_ip.sa.sa_family) {
		sent |= OVL_PROBE_SENT_OTHER_PORT;
		if (probe_other_ip(&main_ip, ifindex, &other))
			sent |= OVL_PROBE_SENT_OTHER_IP;
	}
	m.u.probe.sent = sent;
	if (sent & OVL_PROBE_SENT_OTHER_PORT) {
		m.u.probe.kind = OVL_PROBE_OTHER_PORT;
		n = probe_seal(ov, sender, &m, buf);
		if (n < 0 || !probe_send_aux(ov, &main_ip, &p->addr, buf, (size_t)n))
			sent &= (uint8_t)~OVL_PROBE_SENT_OTHER_PORT;
	}
	if (sent & OVL_PROBE_SENT_OTHER_IP) {
		m.u.probe.kind = OVL_PROBE_OTHER_IP;
		n = probe_seal(ov, sender, &m, buf);
		if (n < 0 || !probe_send_aux(ov, &other, &p->addr, buf, (size_t)n))
			sent &= (uint8_t)~OVL_PROBE_SENT_OTHER_IP;
	}
	m.u.probe.kind = OVL_PROBE_ANSWER;
	m.u.probe.sent = sent;
	if (send_msg(ov, sender, &p->addr, &m) >= 0)
		++ov->stats.probes_answered;
}

/* ---- NAT filtering: classifying our own NAT ---- */

#define NATFILT_WAIT_NS (2 * NS_PER_S)		/* a round's probes have arrived by then */
#define NATFILT_REDO_NS (600 * NS_PER_S)	/* a verdict is redone this often */
#define NATFILT_RETRY_NS (30 * NS_PER_S)	/* after no verdict */
#define NATFILT_LOOK_NS (2 * NS_PER_S)		/* how often a change is looked for */

static enum ovl_filter_mapping natfilt_mapping_of(enum overlay_nat n)
{
	if (n == OVERLAY_NAT_NONE)
		return OVL_FILTER_MAPPING_NONE;
	if (n == OVERLAY_NAT_EIM || n == OVERLAY_NAT_EDM)
		return OVL_FILTER_MAPPING_NAT;
	return OVL_FILTER_MAPPING_UNKNOWN;
}

struct natfilt_pick {
	struct overlay *ov;
	unsigned n;
};

static bool natfilt_ask(struct overlay *ov, const struct kad_entry *e)
{
	struct natfilt_slot *s;
	union wg_sockaddr a;
	struct ovl_msg m;
	unsigned i;

	if (!(e->flags & KAD_F_HEARD) || (e->flags & KAD_F_NATED) ||
	    !kad_addr_to_wg_sockaddr(&e->addr, &a))
		return false;
	for (i = 0; i < NATFILT_ASKED; ++i) {
		if (!ov->filt.slot[i].nonce)
			break;
		/* One per IP address: two nodes on one host are one test. */
		if (same_ip(&ov->filt.slot[i].addr, &e->addr))
			return false;
	}
	if (i == NATFILT_ASKED)
		return false;
	s = &ov->filt.slot[i];
	memset(s, 0, sizeof(*s));
	do
		randombytes_buf(&s->nonce, sizeof(s->nonce));
	while (!s->nonce);
	memcpy(s->key, e->key, 32);
	s->addr = e->addr;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PROBE_REQ;
	m.u.probe_req.nonce = s->nonce;
	m.u.probe_req.pad_len = OVL_PROBE_REQ_PAD;
	if (send_msg(ov, e->key, &a, &m) < 0) {
		s->nonce = 0;
		return false;
	}
	return true;
}

static void natfilt_pick_entry(void *ctx, unsigned bucket, const struct kad_entry *e)
{
	struct natfilt_pick *p = ctx;

	(void)bucket;
	if (p->n < NATFILT_ASKED && natfilt_ask(p->ov, e))
		++p->n;
}

/* A round: PROBE_REQ to up to three PUBLIC nodes at different addresses,
 * first the last one that could send OTHER_IP. */
static bool natfilt_round(struct overlay *ov, uint64_t now)
{
	struct natfilt_pick p = { .ov = ov, .n = 0 };
	const struct kad_entry *e;
	static const uint8_t none[32];

	memset(ov->filt.slot, 0, sizeof(ov->filt.slot));
	if (memcmp(ov->filt.ip_capable, none, 32) &&
	    (e = kad_table_find(&ov->table, ov->filt.ip_capable)) && natfilt_ask(ov, e))
		++p.n;
	kad_table_walk(&ov->table, natfilt_pick_entry, &p);
	if (!p.n)
		return false;
	ov->filt.round_end_ns = now + NATFILT_WAIT_NS;
	return true;
}

/* A PROBE from key, received at our main socket from `from`: counted for
 * the round in flight when it comes from where its kind says. */
static void natfilt_take(struct overlay *ov, const uint8_t key[32], const struct kad_addr *from,
			 const struct ovl_probe *pr)
{
	struct natfilt_slot *s = NULL;
	unsigned i;

	for (i = 0; i < NATFILT_ASKED && !s; ++i)
		if (ov->filt.slot[i].nonce && ov->filt.slot[i].nonce == pr->nonce &&
		    !memcmp(ov->filt.slot[i].key, key, 32))
			s = &ov->filt.slot[i];
	if (!s || !ov->filt.round_end_ns) {
		++ov->stats.probes_unexpected;
		return;
	}
	switch (pr->kind) {
	case OVL_PROBE_ANSWER:
		if (same_ip(from, &s->addr) && from->port == s->addr.port) {
			s->answered = true;
			s->sent = pr->sent;
		}
		break;
	case OVL_PROBE_OTHER_PORT:
		if (same_ip(from, &s->addr) && from->port != s->addr.port)
			s->port_rx = true;
		break;
	case OVL_PROBE_OTHER_IP:
		/* From the answerer's main address after all (a NAT of its
		 * own): not a test of our filtering by address. */
		if (from->family == s->addr.family && !same_ip(from, &s->addr))
			s->ip_rx = true;
		else
			s->ip_bad = true;
		break;
	default:
		++ov->stats.probes_unexpected;
		break;
	}
}

/* The round in flight is over: its evidence counted, the verdict made,
 * another round or the next classification planned. */
static void natfilt_round_end(struct overlay *ov, uint64_t now)
{
	struct natfilt *f = &ov->filt;
	bool answered = false, port_sent = false, ip_sent = false, port_rx = false, ip_rx = false;
	bool again;
	enum ovl_filtering v;
	unsigned i;

	for (i = 0; i < NATFILT_ASKED; ++i) {
		const struct natfilt_slot *s = &f->slot[i];

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
	v = ovl_filter_classify(natfilt_mapping_of(f->mapping), &f->ev, &again);
	if (again && natfilt_round(ov, now))
		return;
	/* A periodic redo keeps the old verdict until it has a new one. */
	if (v != OVL_FILTER_UNKNOWN || f->ev.rounds >= OVL_FILTER_ROUNDS_MAX)
		f->verdict = v;
	f->next_ns = now + (v == OVL_FILTER_UNKNOWN ? NATFILT_RETRY_NS : NATFILT_REDO_NS);
}

/* Starts a classification for the mapping and reflexive address we now
 * have: at once when there is no NAT to test or nothing known. */
static void natfilt_start(struct overlay *ov, enum overlay_nat mapping, unsigned observers,
			  uint64_t now)
{
	struct natfilt *f = &ov->filt;
	union wg_sockaddr r;
	bool again;

	f->mapping = mapping;
	f->observers = observers;
	memset(&f->base, 0, sizeof(f->base));
	if (overlay_reflexive(ov, &r))
		wg_sockaddr_to_kad(&r, &f->base);
	memset(&f->ev, 0, sizeof(f->ev));
	if (natfilt_mapping_of(mapping) != OVL_FILTER_MAPPING_NAT) {
		f->verdict = ovl_filter_classify(natfilt_mapping_of(mapping), &f->ev, &again);
		f->next_ns = now + NATFILT_REDO_NS;
		return;
	}
	/* No PUBLIC node known yet: the next look tries again. */
	f->next_ns = now;
	natfilt_round(ov, now);
}

/* Runs from the overlay's timer: ends a round whose wait is over; every
 * 2 seconds looks whether a classification is due, or the mapping or the
 * reflexive IP address changed (roaming: the old verdict is dropped). */
static void natfilt_tick(struct overlay *ov, uint64_t now)
{
	struct natfilt *f = &ov->filt;
	enum overlay_nat mapping;
	union wg_sockaddr r;
	struct kad_addr k;
	unsigned observers = 0;

	if (f->round_end_ns) {
		if (now >= f->round_end_ns)
			natfilt_round_end(ov, now);
		return;
	}
	if (now < f->look_ns)
		return;
	f->look_ns = now + NATFILT_LOOK_NS;
	mapping = overlay_nat_mapping(ov, &observers);
	memset(&k, 0, sizeof(k));
	if (overlay_reflexive(ov, &r))
		wg_sockaddr_to_kad(&r, &k);
	if (mapping != f->mapping || (k.family && f->base.family && !same_ip(&k, &f->base))) {
		f->verdict = OVL_FILTER_UNKNOWN;
		natfilt_start(ov, mapping, observers, now);
	} else if (now >= f->next_ns) {
		natfilt_start(ov, mapping, observers, now);
	}
}

void overlay_input(struct overlay *ov, struct pkt *p)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], sender[32];
	uint64_t now = wg_now(ov->dev);
	struct kad_addr from;
	struct ovl_msg m;
	size_t plen = 0;
	unsigned flags = 0;
	uint32_t rtt_us = 0;
	enum ovl_decode d;
	unsigned i;

	++ov->stats.rx;
	if (ovl_channel_open(ov->ch, p->data, p->len, wall_ns(), sender, plain, sizeof(plain),
			     &plen) != OVL_ACCEPT) {
		++ov->stats.dropped_channel;
		return;
	}
	if (!wg_sockaddr_to_kad(&p->addr, &from))
		return;
	d = ovl_msg_decode(&m, plain, plen);
	if (d != OVL_DECODE_OK) {
		if (d == OVL_DECODE_UNKNOWN_TYPE)
			++ov->stats.unhandled;
		else
			++ov->stats.dropped_decode;
		goto out;
	}
	/* NAT filtering probes come from auxiliary sockets: they never touch
	 * the table, validation or endpoints (doc/protocol.md 9.2). */
	if (m.type == OVL_MSG_PROBE_REQ || m.type == OVL_MSG_PROBE) {
		if (m.type == OVL_MSG_PROBE_REQ)
			probe_answer(ov, sender, p, &m.u.probe_req, now);
		else
			natfilt_take(ov, sender, &from, &m.u.probe);
		rearm(ov);
		return;
	}

	/* What the sender says of itself (PING, PONG); other messages keep
	 * what the table knows, and a stranger counts as behind a NAT until
	 * it says otherwise. */
	if (m.type == OVL_MSG_PING) {
		flags = kad_flags_of(m.u.ping.flags);
	} else if (m.type == OVL_MSG_PONG) {
		flags = kad_flags_of(m.u.pong.flags);
	} else {
		const struct kad_entry *e = kad_table_find(&ov->table, sender);

		flags = e ? (e->flags & (KAD_F_NATED | KAD_F_RELAY)) : KAD_F_NATED;
	}
	/* The round trip of a PONG. */
	if (m.type == OVL_MSG_PONG) {
		for (i = 0; i < PINGS_TRACKED; ++i) {
			struct ping_slot *s = &ov->pings[i];

			if (s->nonce && s->nonce == m.u.pong.nonce && !memcmp(s->key, sender, 32)) {
				uint64_t d_ns = now - s->sent_ns;

				rtt_us = d_ns / 1000 ? (uint32_t)(d_ns / 1000) : 1;
				s->nonce = 0;
				if (s->done)
					s->done(s->arg, sender, rtt_us);
				/* Our address as this node saw it; only from the
				 * answer to our own PING, so that a replayed PONG
				 * cannot plant an address. */
				record_observation(ov, &from, &m.u.pong.observed, now);
				flags |= KAD_F_REPLIED;
				break;
			}
		}
	}
	kad_table_heard(&ov->table, sender, &from, flags, rtt_us, now);
	if (flags & KAD_F_NATED)
		client_heard(ov, sender, &from, flags & KAD_F_REPLIED, now);
	if ((flags & KAD_F_REPLIED) && ov->ops->on_contact)
		ov->ops->on_contact(ov->ctx, sender, &p->addr);

	switch (m.type) {
	case OVL_MSG_PING: {
		++ov->stats.pings_answered;
		send_pong(ov, sender, &p->addr, m.u.ping.nonce);
		if (ov->ops->on_ping)
			ov->ops->on_ping(ov->ctx, sender, &p->addr);
		/* A node behind a NAT keeps its mapping to us open with PINGs;
		 * ours back (no larger than its own) validate its address, so
		 * that we may name it in NODES and relay to it. */
		if (flags & KAD_F_NATED) {
			struct kad_addr ka;

			if (!live_path(ov, sender, now, &ka) || memcmp(&ka, &from, sizeof(ka)))
				send_ping(ov, sender, &p->addr, NULL, NULL);
		}
		break;
	}
	case OVL_MSG_PUNCH:
		++ov->stats.punches_answered;
		send_pong(ov, sender, &p->addr, m.u.punch.nonce);
		if (ov->ops->on_punch)
			ov->ops->on_punch(ov->ctx, sender, &p->addr);
		break;
	case OVL_MSG_PONG:
		break;
	case OVL_MSG_FIND_NODE:
		answer_find_node(ov, sender, &p->addr, &from, &m.u.find_node, p->len);
		break;
	case OVL_MSG_NODES:
		take_nodes(ov, sender, &from, &p->addr, flags, &m.u.nodes, now);
		break;
	case OVL_MSG_RELAY:
		relay_forward(ov, sender, &p->addr, &m.u.relay, now);
		break;
	case OVL_MSG_RELAYED:
		take_relayed(ov, sender, &p->addr, &m.u.relayed, now);
		break;
	case OVL_MSG_CANDIDATES:
		if (ov->ops->on_candidates)
			ov->ops->on_candidates(ov->ctx, sender, &m.u.candidates, NULL, &p->addr,
					       &p->addr);
		break;
	case OVL_MSG_CHANNEL_BIND:
		take_channel_bind(ov, sender, &p->addr, &from, &m.u.channel_bind, now);
		break;
	case OVL_MSG_CHANNEL_BOUND:
		take_channel_bound(ov, sender, &m.u.channel_bound);
		break;
	default:
		++ov->stats.unhandled;
		break;
	}
out:
	if (ov->ops->on_message)
		ov->ops->on_message(ov->ctx, sender, &p->addr);
	rearm(ov);
}

/* ---- the owner's calls ---- */

int overlay_new(struct overlay **out, struct wg_device *dev, const struct overlay_config *cfg,
		const struct overlay_ops *ops, void *ctx)
{
	struct ovl_channel_config cc;
	struct kad_params kp;
	struct overlay *ov;
	uint8_t pub[32];
	int ret;

	ov = calloc(1, sizeof(*ov));
	if (!ov)
		return -ENOMEM;
	ov->dev = dev;
	ov->ops = ops;
	ov->ctx = ctx;
	ov->public_node = cfg->public_node;
	ov->relay = cfg->relay && cfg->public_node;
	ov->dev = dev;
	ov->relay_pkt_cost_ns = NS_PER_S / (cfg->relay_pps ? cfg->relay_pps : RELAY_PPS_DEFAULT);
	ov->relay_byte_cost_ps = NS_PER_S * 1000 / (cfg->relay_bps ? cfg->relay_bps : RELAY_BPS_DEFAULT);
	ov->limiters = calloc(LIMITER_SLOTS, sizeof(*ov->limiters));
	if (!ov->limiters) {
		free(ov);
		return -ENOMEM;
	}
	randombytes_buf(ov->limiter_hash_key, sizeof(ov->limiter_hash_key));
	if (cfg->public_node) {
		uint8_t hk[16];

		ov->clients = calloc(CLIENT_SLOTS, sizeof(*ov->clients));
		randombytes_buf(hk, sizeof(hk));
		if (!ov->clients || ovl_chantab_init(&ov->chans, CHANNEL_SLOTS, hk) < 0) {
			free(ov->clients);
			free(ov->limiters);
			free(ov);
			return -ENOMEM;
		}
		sodium_memzero(hk, sizeof(hk));
	}
	ret = ovl_reasm_init(&ov->reasm, NULL);
	if (ret < 0) {
		ovl_chantab_free(&ov->chans);
		free(ov->limiters);
		free(ov->clients);
		free(ov);
		return ret;
	}
	ov->reasm_ready = true;

	memset(&cc, 0, sizeof(cc));
	cc.private_key = cfg->private_key;
	cc.ns = cfg->ns;
	cc.ns_len = strlen(cfg->ns);
	cc.workbit = cfg->workbit;
	ret = ovl_channel_new(&ov->ch, &cc);
	if (ret < 0)
		goto fail;
	ovl_channel_public_key(ov->ch, pub);
	kad_params_default(&kp);
	/* A lost first datagram to the bootstrap node (a NAT setting up its
	 * mapping, ARP) should cost a second, not five: the lookup already
	 * waited a second for its answer.  The backoff still doubles. */
	kp.boot_min_ns = NS_PER_S;
	ret = kad_table_init(&ov->table, pub, &kp, rng, NULL, wg_now(dev));
	if (ret < 0)
		goto fail;
	ov->table_ready = true;
	ret = kad_lookups_init(&ov->lookups, &ov->table, NULL, &lookup_ops, ov);
	if (ret < 0)
		goto fail;
	ov->lookups_ready = true;
	uv_timer_init(dev->loop, &ov->timer);
	ov->timer.data = ov;
	uv_timer_start(&ov->timer, on_timer, 0, 0);
	*out = ov;
	return 0;
fail:
	if (ov->table_ready)
		kad_table_free(&ov->table);
	ovl_channel_free(ov->ch);
	ovl_reasm_free(&ov->reasm);
	ovl_chantab_free(&ov->chans);
	free(ov->limiters);
	free(ov->clients);
	free(ov);
	return ret;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct overlay *ov = h->data;

	kad_lookups_free(&ov->lookups);
	kad_table_free(&ov->table);
	ovl_channel_free(ov->ch);
	ovl_reasm_free(&ov->reasm);
	ovl_chantab_free(&ov->chans);
	free(ov->limiters);
	free(ov->clients);
	free(ov);
}

void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	uv_timer_stop(&ov->timer);
	uv_close((uv_handle_t *)&ov->timer, on_timer_closed);
}

int overlay_add_bootstrap(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct kad_contact c;
	int ret;

	memset(&c, 0, sizeof(c));
	memcpy(c.key, key, 32);
	if (!wg_sockaddr_to_kad(addr, &c.addr))
		return -EINVAL;
	ret = kad_table_add_bootstrap(&ov->table, &c, wg_now(ov->dev));
	rearm(ov);
	return ret;
}

int overlay_lookup(struct overlay *ov, const uint8_t key[32], overlay_lookup_cb *done, void *arg)
{
	struct waiter *w = NULL;
	uint64_t txid;
	unsigned i;
	int ret;

	if (done) {
		for (i = 0; i < WAITERS_MAX && !w; ++i)
			if (!ov->waiters[i].done)
				w = &ov->waiters[i];
		if (!w)
			return -EBUSY;
		/* Claimed before the start: done() may run inside it. */
		w->done = done;
		w->arg = arg;
		w->txid = 0;
	}
	ov->starting = w;
	ret = kad_lookup_start(&ov->lookups, key, KAD_LOOKUP_STOP_ON_FOUND, wg_now(ov->dev), &txid);
	ov->starting = NULL;
	if (ret < 0) {
		if (w)
			w->done = NULL;
		return ret;
	}
	if (w && w->done)
		w->txid = txid;
	rearm(ov);
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
unsigned overlay_ask_public(struct overlay *ov, const uint8_t key[32])
{
	struct kad_contact c[3];
	size_t n = kad_table_closest(&ov->table, key, 3, c, KAD_WANT_HEARD | KAD_WANT_PUBLIC), i;
	uint64_t txid;

	for (i = 0; i < n; ++i) {
		do
			randombytes_buf(&txid, sizeof(txid));
		while (!txid);
		lk_find_node(ov, &c[i], txid, key);
	}
	return (unsigned)n;
}

int overlay_ping(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr,
		 overlay_pong_cb *done, void *arg)
{
	return send_ping(ov, key, addr, done, arg);
}

int overlay_channel_bind(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
			 const uint8_t dst[32])
{
	struct ovl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BIND;
	memcpy(m.u.channel_bind.dst, dst, 32);
	return send_msg(ov, via, via_addr, &m);
}

size_t overlay_channels_live(const struct overlay *ov)
{
	return ovl_chantab_live(&ov->chans, wg_now(ov->dev));
}

int overlay_relay_send(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
		       const uint8_t dst[32], const uint8_t *buf, size_t len)
{
	unsigned count = ovl_frag_count(len), i;
	struct ovl_msg m;
	int ret = 0;

	if (!count)
		return -EMSGSIZE;
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_RELAY;
	memcpy(m.u.relay.dst, dst, 32);
	m.u.relay.frag.count = (uint8_t)count;
	if (count > 1) {
		if (!++ov->frag_id)
			++ov->frag_id;
		m.u.relay.frag.id = ov->frag_id;
	}
	for (i = 0; i < count && ret >= 0; ++i) {
		size_t off = 0, clen = ovl_frag_chunk(len, i, &off);

		m.u.relay.frag.index = (uint8_t)i;
		m.u.relay.payload = buf + off;
		m.u.relay.payload_len = clen;
		ret = send_msg(ov, via, via_addr, &m);
		if (ret >= 0)
			++ov->stats.relay_tx;
	}
	return ret < 0 ? ret : 0;
}

int overlay_send_candidates(struct overlay *ov, const uint8_t dst[32], const uint8_t *via,
			    const union wg_sockaddr *via_addr, const struct ovl_candidates *c)
{
	uint8_t inner[OVL_MAX_DATAGRAM];
	struct ovl_msg m;
	long plen, n;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CANDIDATES;
	m.u.candidates = *c;
	if (!via)
		return send_msg(ov, dst, via_addr, &m);
	/* Sealed to dst, then carried by the relay. */
	plen = ovl_msg_encode(inner + OVL_HEADER_LEN, OVL_MAX_PLAINTEXT, &m);
	if (plen < 0)
		return (int)plen;
	n = ovl_channel_seal(ov->ch, dst, inner + OVL_HEADER_LEN, (size_t)plen, wall_ns(), inner,
			     sizeof(inner));
	if (n < 0)
		return (int)n;
	if ((size_t)n > OVL_RELAY_MAX_CHUNK)
		return -EMSGSIZE;
	return overlay_relay_send(ov, via, via_addr, dst, inner, (size_t)n);
}

bool overlay_offers_relay(const struct overlay *ov, const uint8_t key[32])
{
	const struct kad_entry *e = kad_table_find(&ov->table, key);

	return e && (e->flags & KAD_F_RELAY);
}

bool overlay_relaying(const struct overlay *ov)
{
	return ov->relay;
}

int overlay_punch(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr)
{
	return send_probe(ov, OVL_MSG_PUNCH, key, addr, NULL, NULL);
}

void overlay_cancel(struct overlay *ov, void *arg)
{
	unsigned i;

	for (i = 0; i < WAITERS_MAX; ++i)
		if (ov->waiters[i].done && ov->waiters[i].arg == arg)
			ov->waiters[i].done = NULL;
	for (i = 0; i < PINGS_TRACKED; ++i)
		if (ov->pings[i].done && ov->pings[i].arg == arg)
			ov->pings[i].done = NULL;
}

const struct kad_table *overlay_table(const struct overlay *ov)
{
	return &ov->table;
}

const struct overlay_stats *overlay_stats(const struct overlay *ov)
{
	return &ov->stats;
}

const struct ovl_channel *overlay_channel(const struct overlay *ov)
{
	return ov->ch;
}

bool overlay_reflexive(const struct overlay *ov, union wg_sockaddr *out)
{
	if (!ov->reflexive.sa.sa_family)
		return false;
	*out = ov->reflexive;
	return true;
}

static bool same_ip(const struct kad_addr *a, const struct kad_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, 16);
}

/* Whether a is an address of this host, with our port. */
static bool is_own_address(const struct overlay *ov, const struct kad_addr *a)
{
	struct ifaddrs *ifa, *i;
	bool own = false;

	if (a->port != ov->dev->bound_port || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !own; i = i->ifa_next) {
		union wg_sockaddr s;
		struct kad_addr k;

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&s, 0, sizeof(s));
		memcpy(&s, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(s.in4) : sizeof(s.in6));
		if (s.sa.sa_family == AF_INET)
			s.in4.sin_port = htons(a->port);
		else
			s.in6.sin6_port = htons(a->port);
		own = wg_sockaddr_to_kad(&s, &k) && same_ip(&k, a);
	}
	freeifaddrs(ifa);
	return own;
}

enum overlay_nat overlay_nat_mapping(const struct overlay *ov, unsigned *observers)
{
	const struct observation *seen[OBSERVATIONS];
	uint64_t now = wg_now(ov->dev);
	unsigned n = 0, i, j;
	bool differ = false;

	/* The freshest observation of each observer IP address. */
	for (i = 0; i < OBSERVATIONS; ++i) {
		const struct observation *o = &ov->obs[(ov->obs_next + OBSERVATIONS - 1 - i) % OBSERVATIONS];
		bool dup = false;

		if (!o->at_ns || now - o->at_ns > 600ULL * 1000000000ULL)
			continue;
		for (j = 0; j < n && !dup; ++j)
			dup = same_ip(&seen[j]->observer, &o->observer);
		if (!dup)
			seen[n++] = o;
	}
	if (observers)
		*observers = n;
	if (!n)
		return OVERLAY_NAT_UNKNOWN;
	for (i = 1; i < n; ++i)
		differ |= !same_ip(&seen[i]->seen, &seen[0]->seen) || seen[i]->seen.port != seen[0]->seen.port;
	if (differ)
		return OVERLAY_NAT_EDM;
	/* Seen at our own address and port: nothing translates us, which
	 * one observer proves (a network with one public node has no
	 * second); telling the two kinds of mapping apart takes two. */
	if (is_own_address(ov, &seen[0]->seen))
		return OVERLAY_NAT_NONE;
	return n < 2 ? OVERLAY_NAT_UNKNOWN : OVERLAY_NAT_EIM;
}

const char *overlay_nat_name(enum overlay_nat n)
{
	switch (n) {
	case OVERLAY_NAT_NONE:
		return "none";
	case OVERLAY_NAT_EIM:
		return "endpoint-independent";
	case OVERLAY_NAT_EDM:
		return "endpoint-dependent";
	default:
		return "unknown";
	}
}

struct probe_ctx {
	struct overlay *ov;
	struct kad_addr picked[3];
	unsigned n;
};

static void probe_entry(void *ctx, unsigned bucket, const struct kad_entry *e)
{
	struct probe_ctx *p = ctx;
	union wg_sockaddr a;
	unsigned i;

	(void)bucket;
	if (p->n == 3 || !(e->flags & KAD_F_HEARD) || (e->flags & KAD_F_NATED))
		return;
	for (i = 0; i < p->n; ++i)
		if (same_ip(&p->picked[i], &e->addr))
			return;
	if (!kad_addr_to_wg_sockaddr(&e->addr, &a))
		return;
	p->picked[p->n++] = e->addr;
	send_ping(p->ov, e->key, &a, NULL, NULL);
}

void overlay_probe_reflexive(struct overlay *ov)
{
	struct probe_ctx p;

	memset(&p, 0, sizeof(p));
	p.ov = ov;
	kad_table_walk(&ov->table, probe_entry, &p);
	rearm(ov);
}

enum ovl_filtering overlay_nat_filtering(const struct overlay *ov, unsigned *observers)
{
	if (observers)
		*observers = ov->filt.observers;
	return ov->filt.verdict;
}

uint32_t overlay_rtt_us(const struct overlay *ov, const uint8_t key[32])
{
	const struct kad_entry *e = kad_table_find(&ov->table, key);

	return e ? e->srtt_us : 0;
}
