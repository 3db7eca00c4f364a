/* A node's members (see node_priv.h): kept in key order, synced with the
 * device's peers at start and at every reload, and discovered through the
 * DHT by a tick that looks up those without a session. */
#include "src/node/node_priv.h"

#include "src/node/netconf.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"
#include "src/node/routes.h"
#include "src/node/names.h"
#include "src/wg/peer.h"
#include "src/wg/send.h"
#include "src/wg/uapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	DISCOVER_TICK_MS = 250,
	TICKS_PER_S = 1000 / DISCOVER_TICK_MS,
	LOOKUP_BACKOFF_MIN_S = 2,	/* a member with no session is looked */
	LOOKUP_BACKOFF_MAX_S = 60,	/* up again after this, doubling */
	IDLE_LOOKUPS_PER_TICK = 2,	/* members nothing waits for (on_discover) */
};

#define NS (1000000000ULL)

/* ---- members ---- */

/* The members are kept in the order of the file's index by key (netconf's
 * by_key: netconf_key_cmp), so that every lookup by key is
 * a binary search: the data path, the overlay's events and the sync of a
 * reload ask for members by key, and a file may list 65,536 of them. */
static int cmp_member_key(const void *key, const void *e)
{
	return netconf_key_cmp(key, (*(struct member *const *)e)->key);
}

struct member *node_member(struct node *n, const uint8_t key[32])
{
	struct member **m;

	if (!n->n_members)
		return NULL;
	m = bsearch(key, n->members, n->n_members, sizeof(*n->members), cmp_member_key);
	return m ? *m : NULL;
}

/* The member's WireGuard peer, looked up by key in the device's table:
 * the device owns and frees its peers, so the member keeps what it found
 * only while the device's peers_gen says that no peer came or went since
 * (a reload or a stock wg "remove" would otherwise leave it dangling).
 * The memo spares the ticks, which ask for every member (10,000 members:
 * four lookups a second each, most of a node's idle CPU). */
struct wg_peer *member_peer(struct node *n, const struct member *m)
{
	struct member *memo = (struct member *)m;	/* a cache, not the member's state */

	if (m->peer_gen != n->dev.peers_gen + 1) {
		memo->peer = peer_lookup(&n->dev, m->key);
		memo->peer_gen = n->dev.peers_gen + 1;
	}
	return m->peer;
}

bool node_peer_has_session(const struct wg_peer *peer)
{
	return node_peer_has_session_at(peer, wg_now(peer->dev));
}

bool node_peer_has_session_at(const struct wg_peer *peer, uint64_t now)
{
	return peer_has_session(peer, now);
}

/* Whether the file's entry is a member we hold as a WireGuard peer: a
 * public node serves the DHT only, and we are not our own peer.  A stock
 * client is one too (its kind kept on the record, struct member). */
static bool is_member_entry(const struct node *n, const struct netconf_peer *cp)
{
	return n->member && netconf_kind_has_addresses(cp->kind) &&
	       netconf_key_cmp(cp->key, n->public_key) != 0;
}

/* Whether the device already holds what the file says of cp (op: the old
 * file's line of the same key, or NULL): the same addresses and endpoint,
 * and no router on either side (routes may have moved between routers).
 * A reload then asks the device nothing for it, so that changing one line
 * of a big file costs one peer's work, not every member's. */
static bool member_unchanged(struct node *n, const struct netconf_peer *op,
			     const struct netconf_peer *cp)
{
	return op && is_member_entry(n, op) && op->kind != NETCONF_ROUTER &&
	       cp->kind != NETCONF_ROUTER && op->has_ipv4 == cp->has_ipv4 &&
	       op->has_ipv6 == cp->has_ipv6 && !memcmp(op->ipv4, cp->ipv4, 4) &&
	       !memcmp(op->ipv6, cp->ipv6, 16) &&
	       !memcmp(&op->endpoint, &cp->endpoint, sizeof(op->endpoint));
}

/* Asks the device to remove a member that left. */
static int request_remove(struct uapi_set *set, const uint8_t key[32])
{
	struct uapi_peer_set *ps = uapi_set_add_peer(set, key);

	if (!ps)
		return -ENOMEM;
	ps->remove = true;
	return 0;
}

/* Asks the device to create or update the member of cp (op: the old
 * file's line of its key, or NULL): its allowed IPs replaced by its
 * overlay addresses and routes, and a static endpoint from the file
 * given while it has no session.  Nothing when the device already has it
 * all (member_unchanged). */
static int request_member(struct node *n, struct uapi_set *set, const struct member *om,
			  const struct netconf_peer *op, const struct netconf_peer *cp)
{
	/* A member that stays has its peer (member_peer's memo: no lookup
	 * while no peer came or went); a new one has none yet. */
	const struct wg_peer *peer = om ? member_peer(n, om) : NULL;
	struct uapi_allowed_ip a;
	struct uapi_peer_set *ps;
	union wg_sockaddr ep;
	bool session;

	names_endpoint_numeric(cp, &ep);
	session = ep.sa.sa_family && peer && node_peer_has_session(peer);
	if (peer && member_unchanged(n, op, cp) && !(ep.sa.sa_family && !session))
		return 0;
	ps = uapi_set_add_peer(set, cp->key);
	if (!ps)
		return -ENOMEM;
	ps->replace_allowed_ips = true;
	memset(&a, 0, sizeof(a));
	if (cp->has_ipv4) {
		a.family = AF_INET;
		a.cidr = 32;
		memcpy(a.addr, cp->ipv4, 4);
		if (uapi_peer_add_allowed_ip(ps, &a) < 0)
			return -ENOMEM;
	}
	if (cp->has_ipv6) {
		a.family = AF_INET6;
		a.cidr = 128;
		memcpy(a.addr, cp->ipv6, 16);
		if (uapi_peer_add_allowed_ip(ps, &a) < 0)
			return -ENOMEM;
	}
	if (cp->kind == NETCONF_ROUTER && routes_allowed_ips(n->conf, cp, ps) < 0)
		return -ENOMEM;
	if (ep.sa.sa_family && !session) {
		ps->has_endpoint = true;
		ps->endpoint = ep;
	}
	return 0;
}

/* The old file's line of key, walking old's key order alongside the new
 * file's (*k: the walk's position): a merge, one comparison a step. */
static const struct netconf_peer *old_line(const struct netconf *old, size_t *k,
					   const uint8_t key[32])
{
	while (old && *k < old->n_peers) {
		const struct netconf_peer *op = netconf_by_key(old, *k);
		int c = netconf_key_cmp(op->key, key);

		if (c > 0)
			return NULL;
		++*k;
		if (c == 0)
			return op;
	}
	return NULL;
}

/* The members' keys go to the overlay, which gives them to the relays we
 * use: they forward to us from these keys only (doc/protocol.md 9.3).
 * The stock clients' keys (client lines) go apart: with any, we register
 * with the boot nodes for stock clients, and they pass handshakes of
 * those keys only (9.5). */
static int member_keys_to_relays(struct node *n)
{
	uint8_t (*keys)[32];
	size_t i, count = 0, clients = 0;
	int ret;

	if (!n->member)
		return 0;
	keys = calloc(n->n_members ? n->n_members : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	/* Members from the front, clients from the back. */
	for (i = 0; i < n->n_members; ++i)
		if (n->members[i]->client)
			memcpy(keys[n->n_members - ++clients], n->members[i]->key, 32);
		else
			memcpy(keys[count++], n->members[i]->key, 32);
	overlay_set_stock_clients(n->ov, (const uint8_t (*)[32])keys + count, clients);
	ret = overlay_set_peers(n->ov, (const uint8_t (*)[32])keys, count);
	free(keys);
	return ret;
}

/* Frees the members of v[0..n) that are not in keep (a pointer of both
 * lists is one member). */
static void free_members_not_in(struct member **v, size_t n, struct member **keep, size_t nk)
{
	size_t i, k = 0;

	for (i = 0; i < n; ++i) {
		while (k < nk && netconf_key_cmp(keep[k]->key, v[i]->key) < 0)
			++k;
		if (k == nk || keep[k] != v[i])
			free(v[i]);
	}
}

/* Rebuilds the member list from the file (old: the file it replaces, or
 * NULL at start): existing WireGuard peers (and their sessions) are kept,
 * new ones created, missing ones removed, through the UAPI's own applier
 * (src/wg/uapi_server.h).  The node is the only creator and remover of
 * its members' peers: stock wg may not touch them (src/node/uapi_policy.c).
 *
 * The old list, the old file and the new file are all in key order
 * (netconf_by_key), so one merge walks them together: a reload costs one
 * comparison per line, and asks the device only for what changed.  The
 * list holds pointers: a member that stays is the same allocation, with
 * its discovery and path state, and only the list of pointers is new. */
int node_sync_members(struct node *n, const struct netconf *old)
{
	struct uapi_set *set = calloc(1, sizeof(*set));
	struct member **nm = calloc(n->conf->n_peers ? n->conf->n_peers : 1, sizeof(*nm));
	size_t i = 0, j = 0, k = 0, count = 0;
	int ret = -ENOMEM;

	if (!set || !nm)
		goto out;
	while (i < n->n_members || j < n->conf->n_peers) {
		const struct netconf_peer *cp = j < n->conf->n_peers ? netconf_by_key(n->conf, j) : NULL;
		struct member *om = i < n->n_members ? n->members[i] : NULL;
		int c = !cp ? -1 : !om ? 1 : netconf_key_cmp(om->key, cp->key);

		if (c < 0 || (c == 0 && !is_member_entry(n, cp))) {
			/* A member that left the file, or is no member now. */
			ret = request_remove(set, om->key);
			if (ret < 0)
				goto out;
			++i;
			j += c == 0;
			continue;
		}
		++j;
		if (c == 0)
			++i;
		if (!is_member_entry(n, cp))
			continue;
		ret = request_member(n, set, c == 0 ? om : NULL, old_line(old, &k, cp->key), cp);
		if (ret < 0)
			goto out;
		if (c == 0) {
			nm[count] = om;
		} else {
			nm[count] = calloc(1, sizeof(**nm));
			if (!nm[count]) {
				ret = -ENOMEM;
				goto out;
			}
			memcpy(nm[count]->key, cp->key, 32);
			paths_member_init(nm[count]);
		}
		++count;
	}
	ret = uapi_apply_set(&n->dev, set, NULL);
	if (ret < 0)
		goto out;
	for (i = 0; i < set->n_peers; ++i)
		if (!set->peers[i].remove && !peer_lookup(&n->dev, set->peers[i].public_key)) {
			ret = -ENOENT;	/* applied above: cannot happen */
			goto out;
		}
	/* Applied: hostnames are taken, members that left are freed. */
	for (i = 0, j = 0; i < count && j < n->conf->n_peers; ++j) {
		const struct netconf_peer *cp = netconf_by_key(n->conf, j);

		if (netconf_key_cmp(cp->key, nm[i]->key))
			continue;
		snprintf(nm[i]->hostname, sizeof(nm[i]->hostname), "%s", cp->hostname);
		nm[i]->client = cp->kind == NETCONF_CLIENT;
		++i;
	}
	free_members_not_in(n->members, n->n_members, nm, count);
	free(n->members);
	n->members = nm;
	n->n_members = count;
	nm = NULL;
	ret = member_keys_to_relays(n);
out:
	if (nm)
		free_members_not_in(nm, count, n->members, n->n_members);
	free(nm);
	uapi_set_free(set);
	return ret;
}

/* ---- discovery ---- */

/* Two members that find each other at the same moment would both
 * initiate, and crossed initiations leave both sides responders until the
 * retransmission 5 s later.  So the one with the lower key initiates at
 * once and the other a second later, only if still needed. */
void node_plan_handshake(struct node *n, struct member *m)
{
	uint64_t now = wg_now(&n->dev);

	if (memcmp(n->public_key, m->key, 32) < 0) {
		struct wg_peer *p = member_peer(n, m);

		m->initiate_at_ns = 0;
		if (p)
			send_handshake_initiation(p, false);
	} else if (!m->initiate_at_ns) {
		m->initiate_at_ns = now + NS;
	}
}

/* Every tick: members without a session are looked up, with a doubling
 * back-off, so that a node that is down costs little.  A member we have
 * packets for (staged in its peer, waiting for a session) is looked up as
 * soon as its back-off allows; the others, that nothing asks for, share a
 * budget of IDLE_LOOKUPS_PER_TICK, taken in turn from a cursor that goes
 * round the list, so that a file of 10,000 members costs a bounded rate
 * of lookups at idle (a few per second), not one per member per minute.
 * A small file never meets the budget: its members are looked up as
 * before. */
static void discover_member(struct node *n, struct member *m, uint64_t now, bool joined,
			    unsigned *idle_budget)
{
	struct wg_peer *p = m->client ? NULL : member_peer(n, m);

	if (!p)
		return;	/* a stock client (in no DHT), or not (yet) in the device */
	/* A session whose relay died with no other one known needs a
	 * lookup as much as no session does. */
	if (node_peer_has_session_at(p, now) && !(p->routed && !ovl_path_relay_in_use(&m->path))) {
		m->lookup_backoff_ns = 0;
		m->initiate_at_ns = 0;
		return;
	}
	if (m->initiate_at_ns && now >= m->initiate_at_ns && p->endpoint.sa.sa_family) {
		m->initiate_at_ns = 0;
		send_handshake_initiation(p, false);
	}
	if (now < m->next_lookup_ns || !joined)
		return;
	if (!p->nstaged) {
		if (!*idle_budget)
			return;
		--*idle_budget;
	}
	if (overlay_lookup(n->ov, m->key, NULL, NULL) < 0)
		return;	/* busy: next tick */
	/* The public nodes we know are asked at once too: the lookup
	 * may spend its first seconds on nodes that left. */
	dev_log(&n->dev, LOG_DBG, "looking up member %s (%u public nodes asked)", m->hostname,
		overlay_ask_public(n->ov, m->key));
	/* A known endpoint is tried too (a static one, or the last). */
	if (p->endpoint.sa.sa_family)
		node_plan_handshake(n, m);
	m->lookup_backoff_ns = m->lookup_backoff_ns ? m->lookup_backoff_ns * 2 :
						      LOOKUP_BACKOFF_MIN_S * NS;
	if (m->lookup_backoff_ns > LOOKUP_BACKOFF_MAX_S * NS)
		m->lookup_backoff_ns = LOOKUP_BACKOFF_MAX_S * NS;
	m->next_lookup_ns = now + m->lookup_backoff_ns;
}

static void on_discover(uv_timer_t *t)
{
	struct node *n = t->data;
	uint64_t now = wg_now(&n->dev);
	unsigned idle_budget = IDLE_LOOKUPS_PER_TICK;
	bool joined;
	size_t i, start;

	/* Our reflexive address and NAT mapping: asked of a few DHT nodes
	 * soon after start (once the bootstrap answered) and every minute. */
	++n->ticks;
	if (n->ticks == 2 * TICKS_PER_S || n->ticks == 5 * TICKS_PER_S ||
	    n->ticks % (60 * TICKS_PER_S) == 0)
		overlay_probe_reflexive(n->ov);
	if (n->ticks % TICKS_PER_S == 0) {
		paths_tick(n, now);
		names_tick(n, now);
	}
	/* Lookups wait until some node of the DHT answered us (the bootstrap
	 * node, usually): before that they would find nothing and back off.
	 * Not until the whole bootstrap lookup ends: nodes that left lately
	 * can keep it waiting for seconds. */
	joined = overlay_table(n->ov)->n_heard > 0 || !overlay_table(n->ov)->n_boot;
	if (!n->n_members)
		return;
	start = n->discover_next % n->n_members;
	for (i = 0; i < n->n_members; ++i) {
		unsigned before = idle_budget;
		size_t at = (start + i) % n->n_members;

		discover_member(n, n->members[at], now, joined, &idle_budget);
		/* The next tick's idle lookups start after the last one. */
		if (idle_budget != before)
			n->discover_next = at + 1;
	}
}

void node_discover_start(struct node *n)
{
	uv_timer_start(&n->discover, on_discover, 0, DISCOVER_TICK_MS);
}
