/* The glue between the overlay, the WireGuard device and the path core
 * (proto/overlay/path.h, which holds every member's path state and
 * decides; doc/protocol.md 9).  Here: the overlay's events become core
 * calls, with the facts of the member's peer read from the device, and
 * the core's actions become overlay_* and peer_* calls.  Also what needs
 * the system: our candidate addresses (getifaddrs) and the punch timer. */
#include "src/node/paths.h"

#include "crypto/encoding.h"
#include "proto/overlay/addr.h"
#include "proto/overlay/path.h"
#include "proto/overlay/predict.h"
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
	ANCHORS = 3,			/* public nodes a NATed node keeps open */
};

static const struct ovl_path_ops path_ops;

/* The peer's facts for the core; false when the device has no peer for
 * the member (then it is skipped), and for a stock client, which has no
 * path of the core (it runs no wh: no lookup, no punching). */
static bool peer_facts(struct node *n, const struct member *m, struct ovl_path_peer *f)
{
	const struct wg_peer *p = member_peer(n, m);

	memset(f, 0, sizeof(*f));
	if (!p || m->client)
		return false;
	f->has_session = node_peer_has_session(p);
	f->routed = p->routed;
	f->handshaking = p->timer_handshake_attempts > 0;
	if (p->endpoint.sa.sa_family && !overlay_addr_from_wg(&p->endpoint, &f->endpoint))
		memset(&f->endpoint, 0, sizeof(f->endpoint));
	f->last_rx_ns = p->last_rx_ns;
	f->last_direct_rx_ns = p->last_direct_rx_ns;
	f->last_data_tx_ns = p->last_data_tx_ns;
	f->keepalive_s = p->persistent_keepalive_interval;
	return true;
}

static struct ovl_path_ctx path_ctx(struct node *n)
{
	struct ovl_path_ctx c = {
		.ops = &path_ops, .ctx = n, .now = wg_now(&n->dev), .self = n->public_key,
	};

	return c;
}

/* The member of key with its peer's facts, or NULL. */
static struct member *member_facts(struct node *n, const uint8_t key[32], struct ovl_path_peer *f)
{
	struct member *m = node_member(n, key);

	return m && peer_facts(n, m, f) ? m : NULL;
}

static bool to_ovl(const union wg_sockaddr *a, struct ovl_addr *k)
{
	memset(k, 0, sizeof(*k));
	return a && overlay_addr_from_wg(a, k);
}

/* ---- our candidates ---- */

static bool wg_addr_usable(const union wg_sockaddr *a)
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

	if (c->count == OVL_MAX_CANDIDATES || !wg_addr_usable(a))
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

/* Our candidates: the ports our NAT will likely give our punches (first
 * and in ascending order, doc/protocol.md 9.7: two predictable NATs then
 * open matching flows), a port mapping, the reflexive address, then the
 * addresses of our interfaces (not the tunnel's) with our port. */
static void our_candidates(struct node *n, const struct ovl_path *peer, struct ovl_candidates *c)
{
	union wg_sockaddr a, pred[OVL_MAX_CANDIDATES / 2 + 3];
	struct ifaddrs *ifa, *i;
	unsigned k, np;

	memset(c, 0, sizeof(*c));
	np = overlay_predict(n->ov, n->dev.bound_port, peer ? peer->cands : NULL,
			     peer ? peer->n_cands : 0, peer ? peer->n_pred : 0, pred,
			     OVL_MAX_CANDIDATES / 2 + 3);
	for (k = 0; k < np; ++k)
		add_candidate(c, OVL_CAND_PREDICTED, &pred[k]);
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


/* ---- the core's actions ---- */

static struct wg_peer *peer_of(struct node *n, const uint8_t key[32])
{
	struct member *m = node_member(n, key);

	return m ? member_peer(n, m) : NULL;
}

static void act_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct node *n = ctx;
	union wg_sockaddr a;

	if (overlay_addr_to_wg(addr, &a))
		overlay_ping(n->ov, key, &a, NULL, NULL);
}

static void act_punch(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	struct node *n = ctx;
	union wg_sockaddr a;

	if (overlay_addr_to_wg(addr, &a))
		overlay_punch(n->ov, member, &a);
}

static void act_punch_start(void *ctx)
{
	struct node *n = ctx;

	if (!uv_is_active((uv_handle_t *)&n->punch))
		uv_timer_start(&n->punch, paths_punch_tick, 0, OVL_PATH_PUNCH_INTERVAL_MS);
}

static void act_send_candidates(void *ctx, const uint8_t member[32], const uint8_t via[32],
				const struct ovl_addr *via_addr, uint64_t txid, uint8_t flags)
{
	struct node *n = ctx;
	struct member *m = node_member(n, member);
	struct ovl_candidates c;
	union wg_sockaddr a;
	bool has_via = via_addr && overlay_addr_to_wg(via_addr, &a);

	our_candidates(n, m ? &m->path : NULL, &c);
	c.txid = txid;
	c.flags = flags;
	if (m && n->dev.log_level >= LOG_DBG) {
		char list[256] = "", one[64];
		unsigned i;

		for (i = 0; i < c.count; ++i) {
			union wg_sockaddr w;

			if (overlay_addr_to_wg(&c.cands[i].addr, &w)) {
				wg_sockaddr_str(&w, one, sizeof(one));
				snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s%s", one,
					 c.cands[i].type == OVL_CAND_PREDICTED ? "*" : "");
			}
		}
		dev_log(&n->dev, LOG_DBG, "member %s: sending %u candidates%s (* predicted):%s",
			m->hostname, c.count, (flags & OVL_CANDIDATES_REPLY) ? " (reply)" : "", list);
	}
	overlay_send_candidates(n->ov, member, via, has_via ? &a : NULL, &c);
}

static void act_channel_bind(void *ctx, const uint8_t relay[32], const struct ovl_addr *relay_addr,
			     const uint8_t member[32])
{
	struct node *n = ctx;
	union wg_sockaddr a;

	if (overlay_addr_to_wg(relay_addr, &a))
		overlay_channel_bind(n->ov, relay, &a, member);
}

static void act_make_direct(void *ctx, const uint8_t member[32], const struct ovl_addr *addr)
{
	struct node *n = ctx;
	struct wg_peer *p = peer_of(n, member);
	union wg_sockaddr a;

	if (p && overlay_addr_to_wg(addr, &a))
		peer_set_endpoint(p, &a);
}

static void act_route(void *ctx, const uint8_t member[32], const struct ovl_addr *relay_addr)
{
	struct node *n = ctx;
	struct wg_peer *p = peer_of(n, member);
	union wg_sockaddr a;

	if (p && overlay_addr_to_wg(relay_addr, &a))
		peer_set_routed(p, &a, DATAPATH_RELAY_MSS4, DATAPATH_RELAY_MSS6);
}

static void act_plan_handshake(void *ctx, const uint8_t member[32], bool new_path)
{
	struct node *n = ctx;
	struct member *m = node_member(n, member);
	struct wg_peer *p = m ? member_peer(n, m) : NULL;

	if (!p)
		return;
	/* On a new path, not more than once a second: several paths often
	 * prove themselves within milliseconds, and each new initiation would
	 * replace the handshake the other side is answering (and be dropped
	 * by its flood check), so that no session comes up until a
	 * retransmission.  Otherwise the next initiation may leave at once
	 * instead of after WireGuard's 5 s retransmission. */
	if (new_path && p->last_sent_handshake && wg_now(&n->dev) - p->last_sent_handshake >= NS)
		p->last_sent_handshake = 0;
	node_plan_handshake(n, m);
}

static void act_keepalive(void *ctx, const uint8_t member[32])
{
	struct wg_peer *p = peer_of(ctx, member);

	if (p)
		send_keepalive(p);
}

static void act_set_keepalive(void *ctx, const uint8_t member[32], uint16_t interval_s)
{
	struct wg_peer *p = peer_of(ctx, member);

	if (p)
		peer_set_persistent_keepalive(p, interval_s);
}

/* No relay candidate left: look the member up; the NODES answers name new
 * ones (on_reach).  The node's own lookups (on_discover) wait until the
 * session ends, minutes away, so ask here while it lives.  A lookup that
 * reaches only dead nodes also evicts them, which sends the table back to
 * the bootstrap nodes: the way to a relay the table had not heard of. */
static void act_lookup(void *ctx, const uint8_t member[32], bool at_once)
{
	struct node *n = ctx;
	struct member *m = node_member(n, member);
	uint64_t now = wg_now(&n->dev);

	if (!m)
		return;
	if (at_once)
		m->next_lookup_ns = now;
	if (now < m->next_lookup_ns)
		return;
	if (overlay_lookup(n->ov, m->key, NULL, NULL) == 0) {
		overlay_ask_public(n->ov, m->key);	/* where the lookup ends */
		m->next_lookup_ns = now + (uint64_t)OVL_PATH_RELAY_LOOKUP_S * NS;
	}
}

static uint64_t act_rtt_us(void *ctx, const uint8_t key[32])
{
	struct node *n = ctx;

	return overlay_rtt_us(n->ov, key);
}

static uint64_t act_heard_ns(void *ctx, const uint8_t key[32])
{
	struct node *n = ctx;
	const struct kad_entry *e = kad_table_find(overlay_table(n->ov), key);

	return e ? e->last_seen_ns : 0;
}

static void act_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void act_log(void *ctx, const uint8_t member[32], bool info, const char *msg)
{
	struct node *n = ctx;
	struct member *m = node_member(n, member);
	const struct ovl_path_relay *r = m ? ovl_path_relay_in_use(&m->path) : NULL;
	char b64[KEY_B64URL_LEN + 1] = "-";

	if (!m || (!info && n->dev.log_level < LOG_DBG))
		return;
	if (r)
		key_to_base64url(b64, r->key);
	dev_log(&n->dev, info ? LOG_INFO : LOG_DBG, "member %s: %s (relay %.8s)", m->hostname, msg, b64);
}

static const struct ovl_path_ops path_ops = {
	.ping = act_ping,
	.punch = act_punch,
	.punch_start = act_punch_start,
	.send_candidates = act_send_candidates,
	.channel_bind = act_channel_bind,
	.make_direct = act_make_direct,
	.route = act_route,
	.plan_handshake = act_plan_handshake,
	.keepalive = act_keepalive,
	.set_keepalive = act_set_keepalive,
	.lookup = act_lookup,
	.rtt_us = act_rtt_us,
	.heard_ns = act_heard_ns,
	.rng = act_rng,
	.log = act_log,
};

/* ---- overlay events ---- */

static void on_contact(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, key, &f);
	struct ovl_addr a;

	if (m && to_ovl(addr, &a))
		ovl_path_on_contact(&c, &m->path, &f, &a);
}

static void on_message(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, key, &f);
	struct ovl_addr a;

	if (m && to_ovl(addr, &a))
		ovl_path_on_message(&c, &m->path, &f, &a);
}

static void on_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		     const union wg_sockaddr *via_addr)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, key, &f);
	struct ovl_addr a;

	if (m && to_ovl(via_addr, &a))
		ovl_path_on_reach(&c, &m->path, &f, via, &a, overlay_offers_relay(n->ov, via));
}

static void on_relayed(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const union wg_sockaddr *via_addr, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct member *m = node_member(n, key);
	struct ovl_addr a;

	if (!m)
		return;
	if (to_ovl(via_addr, &a))
		ovl_path_on_relayed(&c, &m->path, via, &a);
	device_input_routed(&n->dev, via_addr, buf, len);
}

static void on_candidates(void *ctx, const uint8_t key[32], const struct ovl_candidates *cs,
			  const uint8_t *via, const union wg_sockaddr *via_addr,
			  const union wg_sockaddr *seen_as)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, key, &f);
	struct ovl_addr cands[OVL_MAX_CANDIDATES], va, seen;
	unsigned i, k = 0, n_pred = 0;
	bool has_via;

	if (!m)
		return;
	/* The addresses of the types we punch, in the daemon's one form. */
	for (i = 0; i < cs->count; ++i) {
		union wg_sockaddr a;

		if (!overlay_addr_to_wg(&cs->cands[i].addr, &a) || cs->cands[i].type < OVL_CAND_LAN ||
		    cs->cands[i].type > OVL_CAND_PREDICTED || !to_ovl(&a, &cands[k]))
			continue;
		if (cs->cands[i].type == OVL_CAND_PREDICTED && n_pred == k)
			++n_pred;	/* the leading ones */
		++k;
	}
	has_via = via && to_ovl(via_addr, &va);
	ovl_path_on_candidates(&c, &m->path, &f, cs->txid, cs->flags, cands, k, n_pred,
			       has_via ? via : NULL,
			       has_via ? &va : NULL, has_via && overlay_offers_relay(n->ov, via),
			       to_ovl(seen_as, &seen) ? &seen : NULL);
	if (n->dev.log_level >= LOG_DBG) {
		char list[256] = "", one[64];

		for (i = 0; i < m->path.n_cands; ++i) {
			union wg_sockaddr a;

			if (overlay_addr_to_wg(&m->path.cands[i], &a)) {
				wg_sockaddr_str(&a, one, sizeof(one));
				snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s", one);
			}
		}
		dev_log(&n->dev, LOG_DBG, "member %s: %u candidates%s, punching%s", m->hostname,
			cs->count, (cs->flags & OVL_CANDIDATES_REPLY) ? " (reply)" : "", list);
	}
}

static void on_punch(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, key, &f);
	struct ovl_addr a;

	if (m && to_ovl(addr, &a))
		ovl_path_on_punch(&c, &m->path, &f, &a);
}

static void on_ping(void *ctx, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_addr a;
	size_t i;

	if (!to_ovl(addr, &a))
		return;
	/* Only a member relayed through a relay matters: the others cost a
	 * load each, not a lookup of their peer. */
	for (i = 0; i < n->n_members; ++i) {
		struct member *m = n->members[i];
		struct ovl_path_peer f;

		if (m->path.relay >= 0 && peer_facts(n, m, &f))
			ovl_path_on_public_ping(&c, &m->path, &f, key, &a);
	}
}

static void on_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	struct node *n = ctx;
	struct ovl_path_ctx c = path_ctx(n);
	struct member *m = node_member(n, dst);

	if (m)
		ovl_path_on_channel(&c, &m->path, relay, status, channel);
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

void paths_relayed_rx(struct node *n, struct wg_peer *peer, const union wg_sockaddr *relay_addr)
{
	struct ovl_path_ctx c = path_ctx(n);
	struct ovl_path_peer f;
	struct member *m = member_facts(n, peer->public_key, &f);
	struct ovl_addr a;

	if (m && to_ovl(relay_addr, &a))
		ovl_path_on_relayed_rx(&c, &m->path, &f, &a);
}

bool paths_channel_source(struct node *n, const union wg_sockaddr *src)
{
	struct ovl_addr a;
	size_t i;

	if (!to_ovl(src, &a))
		return false;
	/* The member the last channel datagram came for first: a relay's
	 * datagrams come in runs.  The index only speeds the search up (it
	 * is checked like any other), so a reload that moved the members
	 * cannot make it wrong. */
	i = n->chan_src_hint;
	if (i < n->n_members && ovl_path_channel_source(&n->members[i]->path, &a))
		return true;
	for (i = 0; i < n->n_members; ++i)
		if (n->members[i]->path.n_relays &&
		    ovl_path_channel_source(&n->members[i]->path, &a)) {
			n->chan_src_hint = i;
			return true;
		}
	return false;
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
	ovl_path_init(&m->path, m->key);
}

void paths_punch_tick(uv_timer_t *t)
{
	struct node *n = t->data;
	struct ovl_path_ctx c = path_ctx(n);
	bool any = false;
	size_t i;

	for (i = 0; i < n->n_members; ++i) {
		struct member *m = n->members[i];
		struct ovl_path_peer f;

		if (m->path.punch_rounds && peer_facts(n, m, &f))
			any |= ovl_path_punch_tick(&c, &m->path, &f);
	}
	if (!any)
		uv_timer_stop(t);
}

/* ---- once a second ---- */

void paths_tick(struct node *n, uint64_t now)
{
	struct ovl_path_ctx c = path_ctx(n);
	bool natted = overlay_nat_mapping(n->ov, NULL) != OVERLAY_NAT_NONE;
	union wg_sockaddr pred[OVL_PREDICT_WINDOW + 1];
	bool predictable = natted && overlay_predict(n->ov, n->dev.bound_port, NULL, 0, 0, pred,
						     OVL_PREDICT_WINDOW + 1) > 0;
	size_t i;
	unsigned j;

	c.now = now;	/* the caller's clock, as for the whole tick */
	for (i = 0; i < n->n_members; ++i) {
		struct member *m = n->members[i];
		struct ovl_path_peer f;

		if (!peer_facts(n, m, &f))
			continue;
		/* Our mapping turned out endpoint-dependent and predictable
		 * (about 2 s after start, after the first exchange): the
		 * members still relayed hear our window now, not 10 s later. */
		if (predictable && !n->predictable)
			ovl_path_on_predictable(&c, &m->path, &f);
		ovl_path_tick(&c, &m->path, &f, natted);
	}
	n->predictable = predictable;
	/* Behind a NAT, the public nodes nearest our key (where lookups of
	 * us end) must be able to reach us: keep those mappings open.  An
	 * anchor that stops answering these PINGs is evicted after
	 * max_fails of them and the next public node takes its place; with
	 * none heard, the boot nodes are asked again (kademlia.h). */
	if (natted && n->member && ovl_path_anchors_due(&n->anchors_next_ns, now)) {
		struct kad_contact k[ANCHORS];
		size_t cnt = overlay_anchors(n->ov, ANCHORS, k);

		for (j = 0; j < cnt; ++j)
			act_ping(n, k[j].key, &k[j].addr);
	}
}

void paths_network_changed(struct node *n)
{
	size_t i;

	for (i = 0; i < n->n_members; ++i)
		ovl_path_on_network(&n->members[i]->path);
}

const char *paths_describe(struct node *n, const struct member *m, char *relay_key, size_t len)
{
	const struct wg_peer *p = member_peer(n, m);
	const struct ovl_path_relay *r = ovl_path_relay_in_use(&m->path);

	if (relay_key && len)
		relay_key[0] = 0;
	if (!p)
		return "none";
	if (p->routed && r) {
		if (relay_key && len > KEY_B64URL_LEN)
			key_to_base64url(relay_key, r->key);
		return "relayed";
	}
	/* Relayed with no relay left: the endpoint is a dead relay's. */
	if (!p->routed && node_peer_has_session(p) && p->endpoint.sa.sa_family)
		return "direct";
	return "none";
}
