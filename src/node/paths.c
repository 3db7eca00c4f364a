/* How each member is reached: directly, or through a relay while no
 * direct path works (doc/protocol.md 9).
 *
 *   lookup / NODES naming the member behind a NAT (on_reach)
 *       -> relay candidates; the nearest by RTT carries the WireGuard
 *          traffic at once (peer_set_routed: datapath.c sends), and
 *          CANDIDATES go through it
 *   CANDIDATES both ways -> PUNCH every 200 ms to every candidate, 20 rounds
 *   PONG to a PUNCH or PING (on_contact, a validated address)
 *       -> the endpoint becomes direct; the session carries on
 *   direct path silent while we send -> probe, then back to the relay, and
 *       a new exchange later; a silent relay -> the next one by RTT; no
 *       candidate left -> lookups of the member until one names a relay
 *
 * The WireGuard endpoint always names where datagrams go (the relay's
 * address while relayed), so stock `wg show` tells the truth. */
#include "src/node/paths.h"

#include "crypto/encoding.h"
#include "proto/overlay/addr.h"
#include "src/node/datapath.h"
#include "src/node/overlay.h"
#include "src/wg/peer.h"
#include "src/wg/send.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sodium.h>
#include <string.h>

#define NS (1000000000ULL)

enum {
	PUNCH_INTERVAL_MS = 200,
	PUNCH_ROUNDS = 20,
	PUNCH_ROUNDS_ANSWER = 5,	/* punching back at an unexpected PUNCH */
	EXCHANGE_MIN_S = 10,		/* CANDIDATES per member, at most this often */
	EXCHANGE_MAX_S = 300,		/* retries back off to this while relayed */
	RELAY_PING_S = 5,		/* a relay in use is pinged this often (a relay that
					 * restarted learns our path again at the next one) ... */
	RELAY_DEAD_S = 25,		/* ... and replaced after this silence */
	RELAY_SUSPECT_S = 4,		/* sending, nothing back this long: ask the relay */
	RELAY_PROBE_S = 3,		/* ... and replace it if it does not answer in this */
	RELAY_NAMED_S = 600,		/* a relay candidate is forgotten after this */
	RELAY_LOOKUP_S = 5,
	LIVE_RENDEZVOUS_S = 60,		/* a node named the member this recently */		/* no candidate left: look the member up */
	DIRECT_SUSPECT_S = 5,		/* sending, nothing back: probe the path */
	DIRECT_DEAD_S = 9,		/* ... and fall back to the relay */
	NAT_KEEPALIVE_S = 25,		/* below the usual 30 s UDP NAT timeout */
	ANCHORS = 3,			/* public nodes a NATed node keeps open */
	CHANNEL_RENEW_S = 10,		/* a relay channel in use is renewed this often */
	CHANNEL_RETRY_S = 2,		/* unanswered CHANNEL_BIND asked again after */
	CHANNEL_REFUSED_S = 30,		/* a refused one after */
	CHANNEL_SILENT_S = 2,		/* sending, nothing back this long: ask again */
};

/* The path changed before any session: the initiation that went the old
 * way is likely lost, so the next one may leave at once instead of after
 * WireGuard's 5 s retransmission (path changes are few and bounded). */
static void handshake_on_new_path(struct node *n, struct member *m, struct wg_peer *p)
{
	if (node_peer_has_session(p))
		return;
	/* Not more than once a second: several paths often prove themselves
	 * within milliseconds, and each new initiation would replace the
	 * handshake the other side is answering (and be dropped by its flood
	 * check), so that no session comes up until a retransmission. */
	if (p->last_sent_handshake && wg_now(&n->dev) - p->last_sent_handshake >= NS)
		p->last_sent_handshake = 0;
	node_plan_handshake(n, m);
}

/* ---- relay candidates ---- */

static uint64_t heard_ns(const struct node *n, const uint8_t key[32])
{
	const struct kad_entry *e = kad_table_find(overlay_table(n->ov), key);

	return e ? e->last_seen_ns : 0;
}

static int find_relay(const struct member *m, const uint8_t key[32])
{
	unsigned i;

	for (i = 0; i < m->n_relays; ++i)
		if (!memcmp(m->relays[i].key, key, 32))
			return (int)i;
	return -1;
}

static int find_relay_addr(const struct member *m, const union wg_sockaddr *a)
{
	unsigned i;

	for (i = 0; i < m->n_relays; ++i)
		if (wg_sockaddr_equal(&m->relays[i].addr, a))
			return (int)i;
	return -1;
}

/* Remembers that via reaches m; the oldest candidate makes room. */
static int add_relay(struct member *m, const uint8_t via[32], const union wg_sockaddr *addr,
		     uint64_t now)
{
	int i = find_relay(m, via);

	if (i < 0) {
		if (m->n_relays < MEMBER_RELAYS) {
			i = (int)m->n_relays++;
		} else {
			unsigned j;

			for (i = 0, j = 1; j < m->n_relays; ++j)
				if ((int)j != m->relay && (i == m->relay ||
							   m->relays[j].named_ns < m->relays[i].named_ns))
					i = (int)j;
		}
		memset(&m->relays[i], 0, sizeof(m->relays[i]));
		memcpy(m->relays[i].key, via, 32);
	}
	m->relays[i].addr = *addr;
	m->relays[i].named_ns = now;
	return i;
}

static void drop_relay(struct member *m, int i)
{
	if (m->relay == i)
		m->relay = -1;
	else if (m->relay > i)
		--m->relay;
	memmove(&m->relays[i], &m->relays[i + 1], (m->n_relays - (unsigned)i - 1) * sizeof(m->relays[0]));
	--m->n_relays;
}

/* The candidate with the lowest measured RTT (unmeasured ones last). */
static int best_relay(struct node *n, const struct member *m, int except)
{
	uint64_t best_rtt = UINT64_MAX;
	int best = -1;
	unsigned i;

	for (i = 0; i < m->n_relays; ++i) {
		uint64_t rtt = overlay_rtt_us(n->ov, m->relays[i].key);

		if ((int)i == except)
			continue;
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

static bool channel_valid(const struct relay_cand *r, uint64_t now)
{
	return r->chan && now - r->chan_ns < (uint64_t)OVL_CHAN_LIFETIME_S * NS;
}

/* The data plane (datapath.c) sends in the channel of the relay in use
 * whenever that relay has a number: it keeps one only while it is
 * valid, so that the data path need not read the clock. */
static void channel_apply(struct member *m, uint64_t now)
{
	struct relay_cand *r;

	if (m->relay < 0)
		return;
	r = &m->relays[m->relay];
	if (r->chan && !channel_valid(r, now))
		r->chan = 0;
}

/* A relay that restarted lost its channels and answers nothing for an
 * unknown one (doc/protocol.md 9.1): our channel data vanishes until the
 * next renewal, 10 s away.  What we see is traffic going out with nothing
 * coming back, and no word from the relay about the channel meanwhile.
 * (Without a channel, an unanswered or NO_PATH request is repeated every
 * 2 s anyway, and a lasting refusal is not worth asking again sooner.) */
static bool channel_silent(const struct wg_peer *p, const struct relay_cand *r, uint64_t now)
{	uint64_t back = p->last_rx_ns > r->chan_ns ? p->last_rx_ns : r->chan_ns;

	return r->chan && p->last_data_tx_ns &&
	       now - p->last_data_tx_ns < (uint64_t)CHANNEL_SILENT_S * NS &&
	       now - back >= (uint64_t)CHANNEL_SILENT_S * NS;
}

static void channel_ask(struct node *n, struct member *m, struct relay_cand *r, uint64_t now)
{
	r->chan_asked_ns = now;
	overlay_channel_bind(n->ov, r->key, &r->addr, m->key);
}

/* Asks the relay in use for a channel to m, or to renew it, when due. */
static void channel_tick(struct node *n, struct member *m, const struct wg_peer *p, uint64_t now)
{
	struct relay_cand *r = &m->relays[m->relay];
	uint64_t every = r->chan ? CHANNEL_RENEW_S : r->chan_refused ? CHANNEL_REFUSED_S : CHANNEL_RETRY_S;

	if (r->chan && !channel_valid(r, now)) {
		r->chan = 0;	/* renewals unanswered for a lifetime */
		channel_apply(m, now);
	}
	/* Silent: ask at once (then every 2 s while it lasts).  A relay that
	 * restarted answers with a new number, or refuses while it has no
	 * path to the member yet, which sends our traffic wrapped in RELAY
	 * until it binds; one that is fine confirms the number.  The PING
	 * makes a relay that forgot us validate our address (it pings back),
	 * which the other side's CHANNEL_BIND to us needs. */
	if (channel_silent(p, r, now)) {
		every = CHANNEL_RETRY_S;
		if (!r->chan_asked_ns || now - r->chan_asked_ns >= every * NS) {
			dev_log(&n->dev, LOG_DBG, "member %s: nothing back through the relay channel, "
				"binding again", m->hostname);
			overlay_ping(n->ov, r->key, &r->addr, NULL, NULL);
		}
	}
	if (r->chan_asked_ns && now - r->chan_asked_ns < every * NS)
		return;
	channel_ask(n, m, r, now);
}

static void on_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	struct node *n = ctx;
	struct member *m = node_member(n, dst);
	uint64_t now = wg_now(&n->dev);
	struct relay_cand *r;
	int i;

	if (!m || (i = find_relay(m, relay)) < 0)
		return;
	r = &m->relays[i];
	/* No path is a passing state (the relay has not heard the member
	 * since it started, or lately): asked again like an unanswered
	 * request.  The other refusals last. */
	r->chan_refused = status != OVL_CHANNEL_OK && status != OVL_CHANNEL_NO_PATH;
	if (n->dev.log_level >= LOG_DBG && (status != OVL_CHANNEL_OK || r->chan != channel))
		dev_log(&n->dev, LOG_DBG, "member %s: relay channel %s (status %u, number %08x)",
			m->hostname, status == OVL_CHANNEL_OK ? "bound" : "refused", status, channel);
	r->chan = status == OVL_CHANNEL_OK ? channel : 0;
	r->chan_ns = now;
	if (m->relay == i)
		channel_apply(m, now);
}

static void use_relay(struct node *n, struct member *m, struct wg_peer *p, int i, uint64_t now)
{
	char b64[KEY_B64URL_LEN + 1];

	if (m->relay != i || !p->routed) {
		key_to_base64url(b64, m->relays[i].key);
		dev_log(&n->dev, LOG_DBG, "member %s: relayed through %.8s", m->hostname, b64);
		/* Its liveness is judged from now on: pinged at the next tick. */
		m->relays[i].since_ns = now;
		m->relays[i].pinged_ns = 0;
	}
	m->relay = i;
	peer_set_routed(p, &m->relays[i].addr, DATAPATH_RELAY_MSS4, DATAPATH_RELAY_MSS6);
	channel_apply(m, now);
	if (!m->relayed_at_ns)
		m->relayed_at_ns = now;
	if (!channel_valid(&m->relays[i], now))
		channel_tick(n, m, p, now);
}

/* ---- candidates and punching ---- */

static bool addr_usable(const union wg_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ovl_ip_usable(OVL_AF_INET, (const uint8_t *)&a->in4.sin_addr);
	if (a->sa.sa_family == AF_INET6)
		return ovl_ip_usable(OVL_AF_INET6, a->in6.sin6_addr.s6_addr);
	return false;
}

static void add_candidate(struct ovl_candidates *c, uint8_t type, const union wg_sockaddr *a)
{
	struct ovl_candidate *e;
	unsigned i;

	if (c->count == OVL_MAX_CANDIDATES || !addr_usable(a))
		return;
	e = &c->cands[c->count];
	if (!ovl_addr_from_sockaddr(&e->addr, &a->sa))
		return;
	for (i = 0; i < c->count; ++i)
		if (ovl_addr_equal(&c->cands[i].addr, &e->addr))
			return;
	e->type = type;
	++c->count;
}

/* Our candidates: a port mapping, the reflexive address, then the
 * addresses of our interfaces (not the tunnel's) with our port. */
static void our_candidates(struct node *n, struct ovl_candidates *c)
{
	struct ifaddrs *ifa, *i;
	union wg_sockaddr a;

	memset(c, 0, sizeof(*c));
	if (n->mapped.sa.sa_family)
		add_candidate(c, OVL_CAND_MAPPED, &n->mapped);
	if (overlay_reflexive(n->ov, &a))
		add_candidate(c, OVL_CAND_REFLEXIVE, &a);
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || !strcmp(i->ifa_name, n->dev.ifname))
			continue;
		memset(&a, 0, sizeof(a));
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(&a.in4, i->ifa_addr, sizeof(a.in4));
			a.in4.sin_port = htons(n->dev.bound_port);
		} else if (i->ifa_addr->sa_family == AF_INET6 && n->dev.sock6 >= 0) {
			memcpy(&a.in6, i->ifa_addr, sizeof(a.in6));
			a.in6.sin6_port = htons(n->dev.bound_port);
			a.in6.sin6_scope_id = 0;
		} else {
			continue;
		}
		add_candidate(c, OVL_CAND_LAN, &a);
	}
	freeifaddrs(ifa);
}

static void add_punch_target(struct member *m, const union wg_sockaddr *a)
{
	unsigned i;

	if (!addr_usable(a))
		return;
	for (i = 0; i < m->n_cands; ++i)
		if (wg_sockaddr_equal(&m->cands[i], a))
			return;
	if (m->n_cands == MEMBER_CANDS)
		return;
	m->cands[m->n_cands++] = *a;
}

static void start_punching(struct node *n, struct member *m, unsigned rounds)
{
	if (m->punch_rounds < rounds)
		m->punch_rounds = rounds;
	if (!uv_is_active((uv_handle_t *)&n->punch))
		uv_timer_start(&n->punch, paths_punch_tick, 0, PUNCH_INTERVAL_MS);
}

/* A direct address validated in the last seconds, before any session:
 * kept rather than traded for the next candidate that answers. */
static bool direct_fresh(const struct member *m, const struct wg_peer *p, uint64_t now)
{
	return !p->routed && p->endpoint.sa.sa_family && m->direct_ok_ns &&
	       now - m->direct_ok_ns < 5 * NS;
}

static bool direct_alive(const struct member *m, const struct wg_peer *p, uint64_t now)
{	uint64_t last = p->last_direct_rx_ns > m->direct_ok_ns ? p->last_direct_rx_ns : m->direct_ok_ns;

	return !p->routed && p->endpoint.sa.sa_family && node_peer_has_session(p) && last &&
	       now - last < (uint64_t)DIRECT_DEAD_S * NS;
}

/* Sends our candidates to m through its relay (a new exchange). */
static void exchange(struct node *n, struct member *m, uint64_t now)
{
	const uint8_t *via;
	const union wg_sockaddr *via_addr;
	struct ovl_candidates c;

	/* Through the relay in use, else through the last node that named
	 * the member (doc/protocol.md 9: any node with a live path to it). */
	if (m->relay >= 0) {
		via = m->relays[m->relay].key;
		via_addr = &m->relays[m->relay].addr;
	} else if (m->rv_ns && now - m->rv_ns < LIVE_RENDEZVOUS_S * NS) {
		via = m->rv_key;
		via_addr = &m->rv_addr;
	} else {
		return;
	}
	if (now < m->next_exchange_ns)
		return;
	our_candidates(n, &c);
	randombytes_buf(&c.txid, sizeof(c.txid));
	m->txid = c.txid;
	m->exchange_backoff_ns = m->exchange_backoff_ns ? m->exchange_backoff_ns * 2 :
							 (uint64_t)EXCHANGE_MIN_S * NS;
	if (m->exchange_backoff_ns > (uint64_t)EXCHANGE_MAX_S * NS)
		m->exchange_backoff_ns = (uint64_t)EXCHANGE_MAX_S * NS;
	m->next_exchange_ns = now + m->exchange_backoff_ns;
	overlay_send_candidates(n->ov, m->key, via, via_addr, &c);
}

void paths_punch_tick(uv_timer_t *t)
{
	struct node *n = t->data;
	bool any = false;
	size_t i;
	unsigned j;

	for (i = 0; i < n->n_members; ++i) {
		struct member *m = &n->members[i];

		struct wg_peer *p = member_peer(n, m);

		if (!m->punch_rounds || !p)
			continue;
		if (direct_alive(m, p, wg_now(&n->dev))) {
			m->punch_rounds = 0;
			continue;
		}
		--m->punch_rounds;
		for (j = 0; j < m->n_cands; ++j)
			overlay_punch(n->ov, m->key, &m->cands[j]);
		any |= m->punch_rounds > 0;
	}
	if (!any)
		uv_timer_stop(t);
}

/* ---- overlay events ---- */

static void on_contact(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);
	struct wg_peer *p = m ? member_peer(n, m) : NULL;
	uint64_t now;

	if (!p)
		return;
	now = wg_now(&n->dev);
	if (!p->routed && wg_sockaddr_equal(&p->endpoint, addr)) {
		m->direct_ok_ns = now;
		if (!node_peer_has_session(p))
			node_plan_handshake(n, m);
		return;
	}
	/* A validated direct address: taken when there is no session or it
	 * is relayed (the upgrade), or the direct one died; the first one
	 * that answers wins. */
	if ((node_peer_has_session(p) && !p->routed && direct_alive(m, p, now)) || direct_fresh(m, p, now))
		return;
	if (n->dev.log_level >= LOG_DBG) {
		char a[80];

		dev_log(&n->dev, LOG_DBG, "member %s: direct path %s", m->hostname,
			wg_sockaddr_str(addr, a, sizeof(a)));
	}
	peer_set_endpoint(p, addr);
	m->direct_ok_ns = now;
	m->punch_rounds = 0;
	if (!m->direct_at_ns)
		m->direct_at_ns = now;
	m->exchange_backoff_ns = 0;
	if (node_peer_has_session(p))
		send_keepalive(p);	/* the other side roams to us at once */
	else
		handshake_on_new_path(n, m, p);
}

/* A member wrote to us: if it has no session, ping it back there, and
 * its PONG (on_contact) proves the address. */
static void on_message(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);
	const struct wg_peer *p = m ? member_peer(n, m) : NULL;

	if (!p || node_peer_has_session(p) || wg_sockaddr_equal(&p->endpoint, addr))
		return;
	overlay_ping(n->ov, key, addr, NULL, NULL);
}

static void on_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		     const union wg_sockaddr *via_addr)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);
	uint64_t now = wg_now(&n->dev);
	struct wg_peer *p = m ? member_peer(n, m) : NULL;
	int i;

	if (!p)
		return;
	memcpy(m->rv_key, via, 32);
	m->rv_addr = *via_addr;
	m->rv_ns = now;
	/* A node that does not relay is a rendezvous only. */
	if (overlay_offers_relay(n->ov, via))
		add_relay(m, via, via_addr, now);
	if (node_peer_has_session(p) || (m->relay >= 0 && p->routed) || direct_fresh(m, p, now))
		return;
	/* No path yet: start relayed when a relay is known, and exchange
	 * candidates (through it, or through the rendezvous). */
	i = best_relay(n, m, -1);
	if (i >= 0) {
		use_relay(n, m, p, i, now);
		m->next_exchange_ns = 0;
		handshake_on_new_path(n, m, p);
	}
	exchange(n, m, now);
}

static void on_relayed(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const union wg_sockaddr *via_addr, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);

	if (!m)
		return;
	/* The relay is a candidate; the datagram itself decides (once it
	 * authenticates, in paths_relayed_rx) whether we follow it there. */
	add_relay(m, via, via_addr, wg_now(&n->dev));
	device_input_routed(&n->dev, via_addr, buf, len);
}

static void on_candidates(void *ctx, const uint8_t key[32], const struct ovl_candidates *c,
			  const uint8_t *via, const union wg_sockaddr *via_addr,
			  const union wg_sockaddr *seen_as)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);
	uint64_t now = wg_now(&n->dev);
	struct wg_peer *p = m ? member_peer(n, m) : NULL;
	unsigned i;
	int r = -1;

	/* An answer to no exchange of ours is ignored. */
	if (!p || ((c->flags & OVL_CANDIDATES_REPLY) && c->txid != m->txid))
		return;
	if (via && overlay_offers_relay(n->ov, via))
		r = add_relay(m, via, via_addr, now);
	if (via) {
		memcpy(m->rv_key, via, 32);
		m->rv_addr = *via_addr;
		m->rv_ns = now;
	}
	/* A new exchange replaces the addresses of the last one (the peer
	 * may have moved; a symmetric NAT shows a new port each time). */
	if (c->txid != m->cands_txid) {
		m->n_cands = 0;
		m->cands_txid = c->txid;
	}
	for (i = 0; i < c->count; ++i) {
		union wg_sockaddr a;

		if (!overlay_addr_to_wg(&c->cands[i].addr, &a) || c->cands[i].type < OVL_CAND_LAN ||
		    c->cands[i].type > OVL_CAND_MAPPED)
			continue;
		add_punch_target(m, &a);
	}
	if (seen_as)
		add_punch_target(m, seen_as);
	if (n->dev.log_level >= LOG_DBG) {
		char list[256] = "", one[64];

		for (i = 0; i < m->n_cands; ++i) {
			wg_sockaddr_str(&m->cands[i], one, sizeof(one));
			snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s", one);
		}
		dev_log(&n->dev, LOG_DBG, "member %s: %u candidates%s, punching%s", m->hostname,
			c->count, (c->flags & OVL_CANDIDATES_REPLY) ? " (reply)" : "", list);
	}
	if (!(c->flags & OVL_CANDIDATES_REPLY)) {
		struct ovl_candidates mine;

		our_candidates(n, &mine);
		mine.txid = c->txid;
		mine.flags = OVL_CANDIDATES_REPLY;
		overlay_send_candidates(n->ov, key, via, via_addr, &mine);
	}
	if (!direct_alive(m, p, now))
		start_punching(n, m, PUNCH_ROUNDS);
	/* No session yet: the relay that brought this carries the handshake. */
	if (r >= 0 && !node_peer_has_session(p) && !p->routed && !direct_fresh(m, p, now)) {
		use_relay(n, m, p, r, now);
		handshake_on_new_path(n, m, p);
	}
}

static void on_punch(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct member *m = node_member(n, key);
	const struct wg_peer *p = m ? member_peer(n, m) : NULL;

	if (!p || direct_alive(m, p, wg_now(&n->dev)))
		return;
	/* A NAT that maps per destination shows its port only here. */
	add_punch_target(m, addr);
	start_punching(n, m, PUNCH_ROUNDS_ANSWER);
}

/* A public node pings a member back only when it has no live path to it:
 * a relay of ours that does so restarted (or our mapping moved), and the
 * channels we bound there are gone or bound to an old address.  Asked
 * again at once, not at the next renewal (at most every 2 s). */
static void on_ping(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	uint64_t now = wg_now(&n->dev);
	size_t i;

	for (i = 0; i < n->n_members; ++i) {
		struct member *m = &n->members[i];
		const struct wg_peer *p = member_peer(n, m);
		struct relay_cand *r;

		if (!p || !p->routed || m->relay < 0)
			continue;
		r = &m->relays[m->relay];
		if (memcmp(r->key, key, 32) || !wg_sockaddr_equal(&r->addr, addr) ||
		    (r->chan_asked_ns && now - r->chan_asked_ns < (uint64_t)CHANNEL_RETRY_S * NS))
			continue;
		dev_log(&n->dev, LOG_DBG, "member %s: the relay pinged us (it lost our path), "
			"binding again", m->hostname);
		channel_ask(n, m, r, now);
	}
}

const struct overlay_ops paths_overlay_ops = {
	.on_contact = on_contact,
	.on_message = on_message,
	.on_reach = on_reach,
	.on_relayed = on_relayed,
	.on_candidates = on_candidates,
	.on_punch = on_punch,
	.on_ping = on_ping,
	.on_channel = on_channel,
};

/* ---- the data plane's events ---- */

/* An authenticated datagram came through a relay: follow the peer there
 * unless our direct path to it is alive. */
void paths_relayed_rx(struct node *n, struct wg_peer *p, const union wg_sockaddr *relay_addr)
{
	struct member *m = node_member(n, p->public_key);
	uint64_t now = wg_now(&n->dev);
	int i;

	if (!m)
		return;
	i = find_relay_addr(m, relay_addr);
	if (i < 0 || (p->routed && m->relay == i))
		return;
	if (!p->routed && (direct_alive(m, p, now) || direct_fresh(m, p, now)))
		return;
	use_relay(n, m, p, i, now);
}

void paths_init(struct node *n)
{
	datapath_start(n);
	uv_timer_init(&n->loop, &n->punch);
	n->punch.data = n;
}

void paths_stop(struct node *n)
{
	datapath_stop(n);
	uv_timer_stop(&n->punch);
	uv_close((uv_handle_t *)&n->punch, NULL);
}

void paths_member_init(struct member *m)
{
	m->relay = -1;
}

/* ---- once a second ---- */

/* No relay candidate left: look the member up; the NODES answers name new
 * ones (on_reach).  The node's own lookups (on_discover) wait until the
 * session ends, minutes away, so ask here while it lives.  A lookup that
 * reaches only dead nodes also evicts them, which sends the table back to
 * the bootstrap nodes: the way to a relay the table had not heard of. */
static void find_relays(struct node *n, struct member *m, uint64_t now)
{
	if (now < m->next_lookup_ns)
		return;
	if (overlay_lookup(n->ov, m->key, NULL, NULL) == 0) {
		overlay_ask_public(n->ov, m->key);	/* where the lookup ends */
		m->next_lookup_ns = now + (uint64_t)RELAY_LOOKUP_S * NS;
	}
}

/* Relayed, but the relay went silent with no other candidate: the first
 * candidate a lookup brings carries the traffic. */
static void tick_orphaned(struct node *n, struct member *m, struct wg_peer *p, uint64_t now)
{
	int i = best_relay(n, m, -1);

	if (i < 0) {
		find_relays(n, m, now);
		return;
	}
	use_relay(n, m, p, i, now);
	m->next_exchange_ns = 0;	/* tell the other side at once */
}

/* While traffic goes through the relay and nothing comes back, the relay
 * (or the peer) may be gone: a relay that does not answer a PING within
 * RELAY_PROBE_S then is dead, without waiting for RELAY_DEAD_S. */
static bool relay_failed_probe(struct node *n, const struct wg_peer *p, struct relay_cand *r,
			       uint64_t heard, uint64_t now)
{
	bool sending = p->last_data_tx_ns && now - p->last_data_tx_ns < 3 * NS;
	uint64_t back = p->last_rx_ns > r->since_ns ? p->last_rx_ns : r->since_ns;

	if (!sending || now - back < (uint64_t)RELAY_SUSPECT_S * NS)
		return false;
	if (r->probed_ns < back) {
		/* Suspect since now: one PING, answered or not. */
		r->probed_ns = now;
		overlay_ping(n->ov, r->key, &r->addr, NULL, NULL);
		return false;
	}
	return now - r->probed_ns >= (uint64_t)RELAY_PROBE_S * NS && heard < r->probed_ns;
}

static void tick_relayed(struct node *n, struct member *m, struct wg_peer *p, uint64_t now)
{
	struct relay_cand *r = &m->relays[m->relay];
	uint64_t heard = heard_ns(n, r->key);
	int next;

	if (!r->pinged_ns || now - r->pinged_ns >= (uint64_t)RELAY_PING_S * NS) {
		r->pinged_ns = now;
		overlay_ping(n->ov, r->key, &r->addr, NULL, NULL);
	}
	channel_tick(n, m, p, now);
	/* Silent since before our pings began, for long enough, or silent
	 * to a probe while our traffic through it goes unanswered: dead. */
	if ((now - r->since_ns > (uint64_t)RELAY_DEAD_S * NS &&
	     (!heard || now - heard > (uint64_t)RELAY_DEAD_S * NS)) ||
	    relay_failed_probe(n, p, r, heard, now)) {
		char b64[KEY_B64URL_LEN + 1];

		key_to_base64url(b64, r->key);
		dev_log(&n->dev, LOG_INFO, "relay %.8s is silent: replacing it", b64);
		drop_relay(m, m->relay);
		next = best_relay(n, m, -1);
		if (next >= 0) {
			use_relay(n, m, p, next, now);
			m->next_exchange_ns = 0;	/* tell the other side at once */
		} else {
			m->next_lookup_ns = now;
			find_relays(n, m, now);
		}
		return;
	}
	exchange(n, m, now);
}

static void tick_direct(struct node *n, struct member *m, struct wg_peer *p, uint64_t now)
{
	uint64_t last = p->last_direct_rx_ns > m->direct_ok_ns ? p->last_direct_rx_ns : m->direct_ok_ns;
	bool sending = (p->last_data_tx_ns && now - p->last_data_tx_ns < 3 * NS) ||
		       p->timer_handshake_attempts > 0;
	int i;

	if (!sending || !last || now - last < (uint64_t)DIRECT_SUSPECT_S * NS)
		return;
	if (now - last < (uint64_t)DIRECT_DEAD_S * NS) {
		/* Silent while we send: ask the path itself. */
		overlay_ping(n->ov, m->key, &p->endpoint, NULL, NULL);
		return;
	}
	i = m->relay >= 0 ? m->relay : best_relay(n, m, -1);
	if (i < 0) {
		find_relays(n, m, now);
		return;
	}
	dev_log(&n->dev, LOG_INFO, "member %s: direct path silent, back to the relay", m->hostname);
	use_relay(n, m, p, i, now);
	m->direct_ok_ns = 0;
	m->exchange_backoff_ns = 0;
	m->next_exchange_ns = now + (uint64_t)EXCHANGE_MIN_S * NS;
	send_keepalive(p);
}

void paths_tick(struct node *n, uint64_t now)
{
	enum overlay_nat nat = overlay_nat_mapping(n->ov, NULL);
	bool natted = nat != OVERLAY_NAT_NONE;
	size_t i;
	unsigned j;

	for (i = 0; i < n->n_members; ++i) {
		struct member *m = &n->members[i];
		struct wg_peer *p = member_peer(n, m);
		uint16_t ka;

		if (!p)
			continue;
		/* Relay candidates nobody named for a long time go. */
		for (j = 0; j < m->n_relays; ++j)
			if ((int)j != m->relay && now - m->relays[j].named_ns > (uint64_t)RELAY_NAMED_S * NS)
				drop_relay(m, (int)j--);
		if (p->routed && m->relay >= 0)
			tick_relayed(n, m, p, now);
		else if (p->routed)
			tick_orphaned(n, m, p, now);
		else if (node_peer_has_session(p))
			tick_direct(n, m, p, now);
		else if (m->relay < 0)
			exchange(n, m, now);	/* no relay: punching is the only way */
		/* Keepalives only as NAT mappings need: a direct path from
		 * behind a NAT; never between public nodes, never relayed (the
		 * relay's pings keep that mapping). */
		ka = natted && !p->routed && node_peer_has_session(p) ? NAT_KEEPALIVE_S : 0;
		if (p->persistent_keepalive_interval != ka)
			peer_set_persistent_keepalive(p, ka);
	}
	/* Behind a NAT, the public nodes nearest our key (where lookups of
	 * us end) must be able to reach us: keep those mappings open. */
	if (natted && n->member && now >= n->anchors_next_ns) {
		struct kad_contact c[ANCHORS];
		size_t k = kad_table_closest(overlay_table(n->ov), n->public_key, ANCHORS, c,
					     KAD_WANT_HEARD | KAD_WANT_PUBLIC);

		n->anchors_next_ns = now + (uint64_t)NAT_KEEPALIVE_S * NS;
		for (j = 0; j < k; ++j) {
			union wg_sockaddr a;

			if (overlay_addr_to_wg(&c[j].addr, &a))
				overlay_ping(n->ov, c[j].key, &a, NULL, NULL);
		}
	}
}

const char *paths_describe(struct node *n, const struct member *m, char *relay_key, size_t len)
{
	const struct wg_peer *p = member_peer(n, m);

	if (relay_key && len)
		relay_key[0] = 0;
	if (!p)
		return "none";
	if (p->routed && m->relay >= 0) {
		if (relay_key && len > KEY_B64URL_LEN)
			key_to_base64url(relay_key, m->relays[m->relay].key);
		return "relayed";
	}
	/* Relayed with no relay left: the endpoint is a dead relay's. */
	if (!p->routed && node_peer_has_session(p) && p->endpoint.sa.sa_family)
		return "direct";
	return "none";
}
