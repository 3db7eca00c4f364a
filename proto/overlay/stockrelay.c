/* A relay's table of stock WireGuard clients (see stockrelay.h and
 * doc/protocol.md 9.5). */
#include "proto/overlay/stockrelay.h"

#include "crypto/hash.h"
#include "proto/common/byteorder.h"
#include "proto/common/gcra.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define NS_PER_S UINT64_C(1000000000)

/* WireGuard's messages as the relay reads them (the whitepaper's layouts,
 * doc/protocol.md 9.5): the type word, the little-endian indices, mac1. */
enum {
	WG_INITIATION = 1, WG_RESPONSE = 2, WG_COOKIE = 3, WG_DATA = 4,
	WG_INITIATION_LEN = 148, WG_RESPONSE_LEN = 92, WG_COOKIE_LEN = 64,
	WG_DATA_MIN = 32,		/* a keepalive */
	WG_SENDER_AT = 4,		/* initiation, response */
	WG_RECEIVER_AT = 8,		/* response; cookie and data: 4 */
	WG_MAC1_LEN = 16,
};

/* Which side's index names an entry: the member's (the client sends to
 * it), the client's (the member sends to it), or a client's in a session
 * with another client (that one sends to it). */
enum side { TOWARD_MEMBER = 1, TOWARD_CLIENT = 2, TOWARD_PEER = 3 };

/* An entry's one state variable, moved only by confirm(). */
enum ent_state { ENT_PENDING = 1, ENT_LIVE = 2 };

struct ent {
	uint32_t index;			/* the receiver index that names it */
	uint8_t side;			/* enum side; 0: free */
	uint8_t state;			/* enum ent_state */
	uint8_t member;			/* slot in members[] */
	uint32_t gen;			/* the member slot's gen */
	uint32_t peer_index;		/* the other side's index (LIVE) */
	uint8_t cno;			/* 1 + the client's place in the member's list; 0: unknown */
	struct ovl_addr client, roam;	/* the client's address; a newer one */
	uint64_t roam_ns;
	uint64_t created_ns, used_ns;
	/* TOWARD_PEER: the address the partner client sends from (the
	 * responder's, while pending), and when it was last heard. */
	struct ovl_addr from;
	uint64_t heard_ns;
};

struct key {
	uint32_t index;
	uint8_t side;
};

static uint64_t hash_of(const struct ovl_stock *s, uint32_t index, uint8_t side)
{
	uint8_t k[5];

	le32_put(k, index);
	k[4] = side;
	return ovl_probetab_hash(&s->ents, k, sizeof(k));
}

static bool member_live(const struct ovl_stock_member *m, uint64_t now)
{
	return m->heard_ns && now - m->heard_ns < (uint64_t)OVL_STOCK_REG_S * NS_PER_S;
}

static bool ent_live(const struct ovl_stock *s, const struct ent *e, uint64_t now)
{
	const struct ovl_stock_member *m;

	if (!e->side)
		return false;
	m = &s->members[e->member];
	if (m->gen != e->gen || !member_live(m, now))
		return false;
	if (e->state == ENT_PENDING)
		return now - e->created_ns < (uint64_t)OVL_STOCK_PENDING_S * NS_PER_S;
	return now - e->used_ns < (uint64_t)OVL_STOCK_IDLE_S * NS_PER_S;
}

struct find_arg {
	const struct ovl_stock *s;
	struct key k;
	uint64_t now;
};

static bool ent_match(const void *p, const void *arg)
{
	const struct ent *e = p;
	const struct find_arg *a = arg;

	return e->side == a->k.side && e->index == a->k.index && ent_live(a->s, e, a->now);
}

/* Free and dead slots first, then pending entries, the oldest first,
 * then sessions, the least recently used first. */
static uint64_t ent_age(const void *p, const void *arg)
{
	const struct ent *e = p;
	const struct find_arg *a = arg;

	if (!ent_live(a->s, e, a->now))
		return 0;
	if (e->state == ENT_PENDING)
		return 1 + e->created_ns / 2;
	return (UINT64_C(1) << 63) + e->used_ns / 2;
}

static struct ent *find(const struct ovl_stock *s, uint32_t index, uint8_t side, uint64_t now,
			struct ent **victim)
{
	struct find_arg a = { s, { index, side }, now };

	return ovl_probetab_find(&s->ents, hash_of(s, index, side), ent_match, ent_age, &a,
				 (void **)victim);
}

int ovl_stock_init(struct ovl_stock *s, uint32_t slots, const uint8_t hash_key[16])
{
	memset(s, 0, sizeof(*s));
	s->init_cost_ns = NS_PER_S / OVL_STOCK_INIT_RATE;
	s->burst_ns = NS_PER_S / 5;
	return ovl_probetab_init(&s->ents, slots, sizeof(struct ent), hash_key);
}

void ovl_stock_free(struct ovl_stock *s)
{
	ovl_probetab_free(&s->ents);
	sodium_memzero(s->members, sizeof(s->members));
}

void ovl_stock_set_limits(struct ovl_stock *s, uint32_t pps, uint32_t bps)
{
	s->pkt_cost_ns = pps ? NS_PER_S / pps : 0;
	s->byte_cost_ps = bps ? NS_PER_S * 1000 / bps : 0;
}

static const char mac1_label[8] = { 'm', 'a', 'c', '1', '-', '-', '-', '-' };

/* The member's live registration with key (NULL: none; *free_slot: a
 * slot that holds none). */
static struct ovl_stock_member *member_of(struct ovl_stock *s, const uint8_t key[32], uint64_t now,
					  struct ovl_stock_member **free_slot)
{
	unsigned i;

	for (i = 0; i < OVL_STOCK_MEMBERS; ++i) {
		struct ovl_stock_member *c = &s->members[i];

		if (member_live(c, now) && !memcmp(c->key, key, 32))
			return c;
		if (free_slot && !*free_slot && !member_live(c, now))
			*free_slot = c;
	}
	return NULL;
}

bool ovl_stock_set_clients(struct ovl_stock *s, const uint8_t key[32], const struct ovl_addr *addr,
			   const uint8_t (*clients)[32], size_t n, uint64_t now)
{
	struct ovl_stock_member *m;
	size_t i;

	if (!ovl_stock_register(s, key, addr, now))
		return false;
	m = member_of(s, key, now, NULL);
	if (n > OVL_STOCK_CLIENTS_MAX)
		n = OVL_STOCK_CLIENTS_MAX;
	for (i = 0; i < n; ++i)
		blake2s_hash2(m->client_mac1[i], mac1_label, sizeof(mac1_label), clients[i], 32);
	/* Where the clients were seen holds for the same list only. */
	if (!m->listed || m->n_clients != n ||
	    m->list_hash != ovl_probetab_hash(&s->ents, m->client_mac1, n * 32))
		memset(m->client_seen_ns, 0, sizeof(m->client_seen_ns));
	m->list_hash = ovl_probetab_hash(&s->ents, m->client_mac1, n * 32);
	m->n_clients = (uint8_t)n;
	m->listed = true;
	return true;
}

bool ovl_stock_register(struct ovl_stock *s, const uint8_t key[32], const struct ovl_addr *addr,
			uint64_t now)
{
	struct ovl_stock_member *m = NULL, *free_slot = NULL;

	m = member_of(s, key, now, &free_slot);
	if (!m) {
		if (!free_slot) {
			++s->stats.reg_refused;
			return false;
		}
		m = free_slot;
		/* Whatever the slot's last holder left is void from now on. */
		++m->gen;
		memcpy(m->key, key, 32);
		blake2s_hash2(m->mac1_key, mac1_label, sizeof(mac1_label), key, 32);
		m->tat_pkts = m->tat_bytes = 0;
		m->listed = false;
		m->n_clients = 0;
		memset(m->client_seen_ns, 0, sizeof(m->client_seen_ns));
	}
	m->addr = *addr;
	m->heard_ns = now ? now : 1;
	++s->stats.registered;
	return true;
}

/* The member's relay limits, for a datagram of len bytes either way. */
static bool within_limits(struct ovl_stock *s, struct ovl_stock_member *m, size_t len, uint64_t now)
{
	uint64_t tat = m->tat_pkts;

	if (s->pkt_cost_ns && !gcra_allow(&tat, now, s->pkt_cost_ns, s->burst_ns))
		return false;
	if (s->byte_cost_ps &&
	    !gcra_allow(&m->tat_bytes, now, s->byte_cost_ps * len / 1000, s->burst_ns))
		return false;
	m->tat_pkts = tat;
	return true;
}

/* The slot of a client address among the known ones (the whole
 * address), and of its IP address among the strangers' budgets. */
static struct ovl_stock_known *known_slot(struct ovl_stock *s, const struct ovl_addr *a)
{
	return &s->known[ovl_probetab_hash(&s->ents, a, sizeof(*a)) % OVL_STOCK_KNOWN_SLOTS];
}

static uint64_t *src_slot(struct ovl_stock *s, const struct ovl_addr *a)
{
	uint8_t k[17];

	k[0] = a->family;
	memcpy(k + 1, a->ip, sizeof(a->ip));
	return &s->src_tat[ovl_probetab_hash(&s->ents, k, sizeof(k)) % OVL_STOCK_SRC_SLOTS];
}

/* A handshake completed (or a session roamed) from a: its rekeys from
 * there are no stranger's. */
static void known_mark(struct ovl_stock *s, const struct ovl_addr *a, uint64_t now)
{
	struct ovl_stock_known *k = known_slot(s, a);

	k->addr = *a;
	k->used_ns = now ? now : 1;
}

static bool known_source(struct ovl_stock *s, const struct ovl_addr *a, uint64_t now)
{
	const struct ovl_stock_known *k = known_slot(s, a);

	return k->used_ns && now - k->used_ns < (uint64_t)OVL_STOCK_IDLE_S * NS_PER_S &&
	       ovl_addr_equal(&k->addr, a);
}

/* Walks the table for the quotas of a new pending entry: the member's
 * entries, and for a stranger the member's and the client IP address's
 * pending ones. */
static bool within_quotas(const struct ovl_stock *s, unsigned member, const struct ovl_addr *client,
			  bool stranger, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&s->ents);
	unsigned per_member = 0, pending = 0, per_ip = 0;

	for (i = 0; i < n; ++i) {
		const struct ent *e = ovl_probetab_at(&s->ents, i);

		if (!ent_live(s, e, now))
			continue;
		if (e->member == member && ++per_member >= OVL_STOCK_PER_MEMBER)
			return false;
		if (!stranger || e->state != ENT_PENDING)
			continue;
		if (e->member == member && ++pending >= OVL_STOCK_PENDING_PER_MEMBER)
			return false;
		if (ovl_addr_same_ip(&e->client, client) && ++per_ip >= OVL_STOCK_PENDING_PER_IP)
			return false;
	}
	return true;
}

/* A new entry (index, side) in state; NULL when its probe range holds
 * only live entries that may not give way: a pending entry never ends a
 * session, and a session ends only pending entries. */
static struct ent *add(struct ovl_stock *s, uint32_t index, uint8_t side, enum ent_state state,
		       unsigned member, const struct ovl_addr *client, uint64_t now)
{
	struct ent *e, *victim = NULL;

	e = find(s, index, side, now, &victim);
	if (!e) {
		e = victim;
		if (!e)
			return NULL;
		if (ent_live(s, e, now) && (state == ENT_PENDING || e->state == ENT_LIVE))
			return NULL;
	} else if (e->state == ENT_LIVE &&
		   (e->member != member || !ovl_addr_equal(&e->client, client))) {
		/* Another session's index: one chance in 2^32, or a guess. */
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->index = index;
	e->side = side;
	e->state = (uint8_t)state;
	e->member = (uint8_t)member;
	e->gen = s->members[member].gen;
	e->client = *client;
	e->created_ns = e->used_ns = now;
	return e;
}

/* The member's session with its listed client cno (0: unknown) is at
 * addr, as its WireGuard authenticated. */
static void seen_at(struct ovl_stock *s, unsigned member, uint8_t cno, const struct ovl_addr *addr,
		    uint64_t now)
{
	struct ovl_stock_member *m = &s->members[member];

	if (!cno || cno > m->n_clients)
		return;
	m->client_addr[cno - 1] = *addr;
	m->client_seen_ns[cno - 1] = now ? now : 1;
}

/* A handshake answered: the pending entry becomes a session, and its
 * partner, under the answerer's index, is made. */
static bool confirm(struct ovl_stock *s, struct ent *pending, uint32_t answer_index, uint64_t now)
{
	uint8_t other = pending->side == TOWARD_MEMBER ? TOWARD_CLIENT : TOWARD_MEMBER;
	struct ovl_addr client = pending->client;
	uint32_t index = pending->index;
	unsigned member = pending->member;
	uint8_t cno = pending->cno;
	struct ent *e;

	if (pending->state != ENT_PENDING)
		return false;
	e = add(s, answer_index, other, ENT_LIVE, member, &client, now);
	/* add() may have reused the pending entry's own slot: look again. */
	pending = find(s, index, other == TOWARD_MEMBER ? TOWARD_CLIENT : TOWARD_MEMBER, now, NULL);
	if (!e || !pending) {
		++s->stats.limited;
		return false;
	}
	e->peer_index = index;
	e->cno = cno;
	pending->state = ENT_LIVE;
	pending->peer_index = answer_index;
	pending->used_ns = now;
	known_mark(s, &client, now);
	seen_at(s, member, cno, &client, now);
	return true;
}

static struct ent *partner(const struct ovl_stock *s, const struct ent *e, uint64_t now)
{
	uint8_t side = e->side == TOWARD_PEER	  ? TOWARD_PEER
		       : e->side == TOWARD_MEMBER ? TOWARD_CLIENT
						  : TOWARD_MEMBER;

	if (e->state != ENT_LIVE)
		return NULL;
	return find(s, e->peer_index, side, now, NULL);
}

static int message_type(const uint8_t *msg, size_t len)
{
	if (len < 4 || msg[1] || msg[2] || msg[3])
		return 0;
	switch (msg[0]) {
	case WG_INITIATION:
		return len == WG_INITIATION_LEN ? WG_INITIATION : 0;
	case WG_RESPONSE:
		return len == WG_RESPONSE_LEN ? WG_RESPONSE : 0;
	case WG_COOKIE:
		return len == WG_COOKIE_LEN ? WG_COOKIE : 0;
	case WG_DATA:
		return len >= WG_DATA_MIN ? WG_DATA : 0;
	default:
		return 0;
	}
}

static bool any_member(const struct ovl_stock *s, uint64_t now)
{
	unsigned i;

	for (i = 0; i < OVL_STOCK_MEMBERS; ++i)
		if (member_live(&s->members[i], now))
			return true;
	return false;
}

/* The registered member whose mac1 key the initiation's mac1 is under;
 * -1 for none. */
static int mac1_member(const struct ovl_stock *s, const uint8_t *msg, uint64_t now)
{
	size_t at = WG_INITIATION_LEN - 2 * WG_MAC1_LEN;
	uint8_t mac[WG_MAC1_LEN];
	unsigned i;

	for (i = 0; i < OVL_STOCK_MEMBERS; ++i) {
		const struct ovl_stock_member *m = &s->members[i];

		if (!member_live(m, now))
			continue;
		blake2s_mac16(mac, m->mac1_key, sizeof(m->mac1_key), msg, at);
		if (!sodium_memcmp(mac, msg + at, WG_MAC1_LEN))
			return (int)i;
	}
	return -1;
}

/* Client to client (see stockrelay.h). */

static bool fresh(uint64_t seen_ns, uint64_t now)
{
	return seen_ns && now - seen_ns < (uint64_t)OVL_STOCK_IDLE_S * NS_PER_S;
}

/* The listed client whose mac1 key a handshake message's mac1 is under:
 * the member slot that lists it with the address seen latest (*addr;
 * with addr, only a fresh one will do), or -1.  Each distinct list is
 * checked once (the members of a network list the same clients), at most
 * OVL_STOCK_C2C_TRIES keyed BLAKE2s in all. */
static int listed_mac1(const struct ovl_stock *s, const uint8_t *msg, size_t len, uint64_t now,
		       struct ovl_addr *addr)
{
	size_t at = len - 2 * WG_MAC1_LEN;
	uint64_t tried[OVL_STOCK_MEMBERS], best_ns = 0;
	uint8_t mac[WG_MAC1_LEN];
	const uint8_t *key = NULL;
	unsigned i, j, k, n_tried = 0, tries = 0;
	int best = -1;

	for (i = 0; i < OVL_STOCK_MEMBERS && !key; ++i) {
		const struct ovl_stock_member *m = &s->members[i];

		if (!member_live(m, now) || !m->listed)
			continue;
		for (k = 0; k < n_tried && tried[k] != m->list_hash; ++k)
			;
		if (k < n_tried)
			continue;
		tried[n_tried++] = m->list_hash;
		for (j = 0; j < m->n_clients && !key && tries < OVL_STOCK_C2C_TRIES; ++j, ++tries) {
			blake2s_mac16(mac, m->client_mac1[j], 32, msg, at);
			if (!sodium_memcmp(mac, msg + at, WG_MAC1_LEN))
				key = m->client_mac1[j];
		}
	}
	for (i = 0; key && i < OVL_STOCK_MEMBERS; ++i) {
		const struct ovl_stock_member *m = &s->members[i];

		if (!member_live(m, now) || !m->listed)
			continue;
		for (j = 0; j < m->n_clients; ++j) {
			uint64_t seen = fresh(m->client_seen_ns[j], now) ? m->client_seen_ns[j] : 0;

			if (memcmp(m->client_mac1[j], key, 32) || (addr && !seen) ||
			    (best >= 0 && seen <= best_ns))
				continue;
			best = (int)i;
			best_ns = seen;
			if (addr)
				*addr = m->client_addr[j];
		}
	}
	return best;
}

/* A known client's initiation under a listed client's mac1 (no
 * member's): to that client's address, pending under the initiator's
 * index until the answer comes from there. */
static enum ovl_stock_verdict peer_initiation(struct ovl_stock *s, const uint8_t *msg, size_t len,
					      const struct ovl_addr *from, uint64_t now,
					      struct ovl_addr *to)
{
	struct ovl_addr dest;
	struct ent *e;
	int m = listed_mac1(s, msg, len, now, &dest);

	if (m < 0 || ovl_addr_equal(&dest, from)) {
		++s->stats.no_member;
		return OVL_STOCK_REFUSED;
	}
	if (!within_quotas(s, (unsigned)m, from, false, now) ||
	    !within_limits(s, &s->members[m], len, now) ||
	    !(e = add(s, le32_get(msg + WG_SENDER_AT), TOWARD_PEER, ENT_PENDING, (unsigned)m, from,
		      now))) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	e->from = dest;
	e->heard_ns = now;
	*to = dest;
	++s->stats.to_peer;
	s->stats.to_peer_bytes += len;
	return OVL_STOCK_TO_CLIENT;
}

/* The responder's answer to the pending entry e (under the initiator's
 * index): its mac1 is under a listed client's key, the initiator's; the
 * session's second entry goes under the responder's index. */
static bool peer_confirm(struct ovl_stock *s, struct ent *e, const uint8_t *msg, size_t len,
			 uint64_t now)
{
	struct ovl_addr a = e->client, b = e->from;
	uint32_t ia = e->index, ib = le32_get(msg + WG_SENDER_AT);
	unsigned mb = e->member;
	int ma = listed_mac1(s, msg, len, now, NULL);
	struct ent *n;

	if (ma < 0) {
		++s->stats.refused;
		return false;
	}
	n = add(s, ib, TOWARD_PEER, ENT_LIVE, mb, &b, now);
	e = find(s, ia, TOWARD_PEER, now, NULL);
	if (!n || !e || e->state != ENT_PENDING) {
		++s->stats.limited;
		return false;
	}
	n->peer_index = ia;
	n->from = a;
	n->heard_ns = now;
	e->state = ENT_LIVE;
	e->peer_index = ib;
	e->member = (uint8_t)ma;
	e->gen = s->members[ma].gen;
	e->used_ns = e->heard_ns = now;
	known_mark(s, &a, now);
	known_mark(s, &b, now);
	return true;
}

/* A client's datagram under another client's index: only from its
 * partner's address, or from a new one once that has been quiet (a
 * rebind: the session moves); the rest goes on without moving it. */
static enum ovl_stock_verdict peer_by_index(struct ovl_stock *s, const uint8_t *msg, size_t len,
					    int type, uint32_t index, const struct ovl_addr *from,
					    uint64_t now, struct ovl_addr *to)
{
	struct ent *e = find(s, index, TOWARD_PEER, now, NULL), *p;
	bool moved = false;

	if (!e || (type == WG_DATA && e->state != ENT_LIVE) ||
	    (type == WG_RESPONSE && e->state != ENT_PENDING)) {
		++s->stats.unknown_index;
		return OVL_STOCK_REFUSED;
	}
	if (!ovl_addr_equal(from, &e->from)) {
		if (e->state != ENT_LIVE) {
			++s->stats.refused;
			return OVL_STOCK_REFUSED;
		}
		moved = now - e->heard_ns >= (uint64_t)OVL_STOCK_C2C_QUIET_MS * 1000000;
	}
	if (!within_limits(s, &s->members[e->member], len, now)) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	if (type == WG_RESPONSE) {
		if (!peer_confirm(s, e, msg, len, now))
			return OVL_STOCK_REFUSED;
		e = find(s, index, TOWARD_PEER, now, NULL);
		if (!e)
			return OVL_STOCK_REFUSED;
	}
	p = partner(s, e, now);
	if (moved) {
		e->from = *from;
		if (p)
			p->client = *from;
		known_mark(s, from, now);
		++s->stats.roamed;
	}
	if (ovl_addr_equal(from, &e->from)) {
		e->heard_ns = now;
		e->used_ns = now;
		if (p)
			p->used_ns = now;
	}
	*to = e->client;
	++s->stats.to_peer;
	s->stats.to_peer_bytes += len;
	return OVL_STOCK_TO_CLIENT;
}

/* A client's datagram of a session (or one pending on the member's
 * initiation) from from: the entry under the member's index. */
static enum ovl_stock_verdict client_by_index(struct ovl_stock *s, const uint8_t *msg, size_t len,
					      int type, const struct ovl_addr *from, uint64_t now,
					      struct ovl_addr *to)
{
	uint32_t index = le32_get(msg + (type == WG_RESPONSE ? WG_RECEIVER_AT : 4));
	struct ent *e = find(s, index, TOWARD_MEMBER, now, NULL), *p;
	struct ovl_stock_member *m;

	if (!e)
		return peer_by_index(s, msg, len, type, index, from, now, to);
	if ((type == WG_DATA && e->state != ENT_LIVE) ||
	    (type == WG_RESPONSE && e->state != ENT_PENDING)) {
		++s->stats.unknown_index;
		return OVL_STOCK_REFUSED;
	}
	m = &s->members[e->member];
	if (!within_limits(s, m, len, now)) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	if (type == WG_RESPONSE) {
		if (!confirm(s, e, le32_get(msg + WG_SENDER_AT), now))
			return OVL_STOCK_REFUSED;
		e = find(s, index, TOWARD_MEMBER, now, NULL);
	}
	p = e ? partner(s, e, now) : NULL;
	/* A new source address: the member's WireGuard judges it; if it
	 * authenticates, the member's answers name it (roaming). */
	if (p && !ovl_addr_equal(from, &p->client)) {
		p->roam = *from;
		p->roam_ns = now ? now : 1;
	}
	if (e)
		e->used_ns = now;
	if (p)
		p->used_ns = now;
	*to = m->addr;
	++s->stats.to_member;
	s->stats.to_member_bytes += len;
	return OVL_STOCK_FORWARD;
}

enum ovl_stock_verdict ovl_stock_from_client(struct ovl_stock *s, const uint8_t *msg, size_t len,
					     const struct ovl_addr *from, uint64_t now,
					     struct ovl_addr *to)
{
	int type = message_type(msg, len), member;
	struct ovl_stock_member *m;
	bool known;

	if (!any_member(s, now))
		return OVL_STOCK_NOT_MINE;
	if (!type) {
		++s->stats.unknown_index;
		return OVL_STOCK_REFUSED;
	}
	if (type != WG_INITIATION)
		return client_by_index(s, msg, len, type, from, now, to);
	/* Each initiation costs a mac1 per member: within budgets, a
	 * stranger's apart from a known client's rekey (see stockrelay.h). */
	known = known_source(s, from, now);
	if (!known && !gcra_allow(src_slot(s, from), now, NS_PER_S / OVL_STOCK_INIT_PER_SRC,
				  NS_PER_S)) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	if (!gcra_allow(known ? &s->known_tat : &s->init_tat, now, s->init_cost_ns, s->burst_ns)) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	member = mac1_member(s, msg, now);
	if (member < 0 && known)
		return peer_initiation(s, msg, len, from, now, to);
	if (member < 0) {
		++s->stats.no_member;
		return OVL_STOCK_REFUSED;
	}
	m = &s->members[member];
	if (!within_quotas(s, (unsigned)member, from, !known, now) ||
	    (known && !within_limits(s, m, len, now)) ||
	    !add(s, le32_get(msg + WG_SENDER_AT), TOWARD_CLIENT, ENT_PENDING, (unsigned)member, from,
		 now)) {
		++s->stats.limited;
		return OVL_STOCK_REFUSED;
	}
	*to = m->addr;
	++s->stats.to_member;
	s->stats.to_member_bytes += len;
	return OVL_STOCK_FORWARD;
}

/* Whether the client was heard from client lately in e's session. */
static bool roamed_to(const struct ent *e, const struct ovl_addr *client, uint64_t now)
{
	return e->roam_ns && now - e->roam_ns < (uint64_t)OVL_STOCK_ROAM_S * NS_PER_S &&
	       ovl_addr_equal(&e->roam, client);
}

/* The member's session with the client at client, by a walk (for the
 * member's own initiations: one per session every two minutes). */
static struct ent *session_of(const struct ovl_stock *s, unsigned member,
			      const struct ovl_addr *client, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&s->ents);

	for (i = 0; i < n; ++i) {
		struct ent *e = ovl_probetab_at(&s->ents, i);

		if (e->side == TOWARD_CLIENT && e->state == ENT_LIVE && e->member == member &&
		    ent_live(s, e, now) && (ovl_addr_equal(&e->client, client) || roamed_to(e, client, now)))
			return e;
	}
	return NULL;
}

/* Whether another session of e's member, from e's client address, saw
 * the client at client lately: the client's datagram that roamed may
 * have used another keypair than the member's answer (around a rekey,
 * each side sends on the newest keypair it may use, which need not be
 * the same one).  A walk, only when an address differs. */
static bool sibling_roamed_to(const struct ovl_stock *s, const struct ent *e,
			      const struct ovl_addr *client, uint64_t now)
{
	uint32_t i, n = ovl_probetab_slots(&s->ents);

	for (i = 0; i < n; ++i) {
		const struct ent *o = ovl_probetab_at(&s->ents, i);

		if (o != e && o->side == TOWARD_CLIENT && o->state == ENT_LIVE &&
		    o->member == e->member && ent_live(s, o, now) &&
		    ovl_addr_equal(&o->client, &e->client) && roamed_to(o, client, now))
			return true;
	}
	return false;
}

/* Whether the member may send to client in the session of e: its
 * address, or the one the client roamed to lately (in this session or
 * another of the same client address), which the session moves to. */
static bool may_send(struct ovl_stock *s, struct ent *e, const struct ovl_addr *client, uint64_t now)
{
	struct ent *p;

	if (ovl_addr_equal(&e->client, client)) {
		seen_at(s, e->member, e->cno, client, now);
		return true;
	}
	if (!roamed_to(e, client, now) && !sibling_roamed_to(s, e, client, now))
		return false;
	e->client = *client;
	e->roam_ns = 0;
	p = partner(s, e, now);
	if (p)
		p->client = *client;
	known_mark(s, client, now);
	seen_at(s, e->member, e->cno, client, now);
	++s->stats.roamed;
	return true;
}

/* Whether a member's handshake message (a response or an initiation, to
 * the client: its mac1 is under the client's key) is to a client the
 * member listed: 1 + its place in the list, 0 for a member that listed
 * none (any client), -1 for no.  One keyed BLAKE2s per listed client, at
 * most OVL_STOCK_CLIENTS_MAX, for a datagram of a registered member. */
static int client_listed(const struct ovl_stock_member *m, const uint8_t *msg, size_t len)
{
	size_t at = len - 2 * WG_MAC1_LEN;
	uint8_t mac[WG_MAC1_LEN];
	unsigned i;

	if (!m->listed)
		return 0;
	for (i = 0; i < m->n_clients; ++i) {
		blake2s_mac16(mac, m->client_mac1[i], 32, msg, at);
		if (!sodium_memcmp(mac, msg + at, WG_MAC1_LEN))
			return (int)i + 1;
	}
	return -1;
}

enum ovl_stock_verdict ovl_stock_from_member(struct ovl_stock *s, const struct ovl_addr *from,
					     const struct ovl_addr *client, const uint8_t *msg,
					     size_t len, uint64_t now)
{
	int type = message_type(msg, len);
	struct ovl_stock_member *m = NULL;
	struct ent *e;
	unsigned i;
	int cno = 0;

	for (i = 0; i < OVL_STOCK_MEMBERS && !m; ++i)
		if (member_live(&s->members[i], now) && ovl_addr_equal(&s->members[i].addr, from))
			m = &s->members[i];
	if (!m || !type)
		goto refused;
	/* A handshake with a client the member's file does not list: R
	 * passes nothing back, whatever the member's WireGuard answered. */
	if ((type == WG_RESPONSE || type == WG_INITIATION) && (cno = client_listed(m, msg, len)) < 0)
		goto refused;
	i = (unsigned)(m - s->members);
	switch (type) {
	case WG_RESPONSE:
		/* Only to the very address a pending initiation came from. */
		e = find(s, le32_get(msg + WG_RECEIVER_AT), TOWARD_CLIENT, now, NULL);
		if (!e || e->state != ENT_PENDING || e->member != i || !ovl_addr_equal(&e->client, client))
			goto refused;
		if (!within_limits(s, m, len, now))
			goto limited;
		e->cno = (uint8_t)cno;
		if (!confirm(s, e, le32_get(msg + WG_SENDER_AT), now))
			return OVL_STOCK_REFUSED;
		break;
	case WG_INITIATION:
		/* A rekey of a session with that client. */
		e = session_of(s, i, client, now);
		if (!e || !may_send(s, e, client, now))
			goto refused;
		if (!within_limits(s, m, len, now))
			goto limited;
		e = add(s, le32_get(msg + WG_SENDER_AT), TOWARD_MEMBER, ENT_PENDING, i, client, now);
		if (!e)
			goto limited;
		e->cno = (uint8_t)cno;
		break;
	default:
		/* Cookie replies and data, by the client's index. */
		e = find(s, le32_get(msg + 4), TOWARD_CLIENT, now, NULL);
		if (!e || e->member != i || (type == WG_DATA && e->state != ENT_LIVE) ||
		    !may_send(s, e, client, now))
			goto refused;
		if (!within_limits(s, m, len, now))
			goto limited;
		e->used_ns = now;
		break;
	}
	++s->stats.to_client;
	s->stats.to_client_bytes += len;
	return OVL_STOCK_FORWARD;
refused:
	++s->stats.refused;
	return OVL_STOCK_REFUSED;
limited:
	++s->stats.limited;
	return OVL_STOCK_REFUSED;
}

void ovl_stock_count(const struct ovl_stock *s, uint64_t now, size_t *members, size_t *pending,
		     size_t *sessions)
{
	uint32_t i, n = ovl_probetab_slots(&s->ents);

	*members = *pending = *sessions = 0;
	for (i = 0; i < OVL_STOCK_MEMBERS; ++i)
		if (member_live(&s->members[i], now))
			++*members;
	for (i = 0; i < n; ++i) {
		const struct ent *e = ovl_probetab_at(&s->ents, i);

		if (!ent_live(s, e, now))
			continue;
		if (e->state == ENT_PENDING)
			++*pending;
		else if (e->side == TOWARD_CLIENT || (e->side == TOWARD_PEER && e->index < e->peer_index))
			++*sessions;
	}
}
