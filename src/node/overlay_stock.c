/* Stock WireGuard clients' datagrams (doc/protocol.md 9.5).  As a relay:
 * a client's datagram goes to its member with a CLIENT_FROM_RELAY header,
 * a member's CLIENT_TO_RELAY datagram to its client bare
 * (proto/overlay/stockrelay.c decides).  As a member: which relay each
 * client peer's datagrams came through, and our answers sent back the
 * same way. */
#include "src/node/overlay_priv.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/stockrelay.h"
#include "src/node/strbuf.h"
#include "src/wg/device.h"

#include <string.h>

/* Room for a header of hl bytes in front of p's datagram: in the
 * headroom, else by moving the datagram up within its buffer. */
static bool header_room(struct pkt *p, size_t hl)
{
	size_t room = (size_t)(p->data - p->buf);

	if (room < hl) {
		if ((size_t)(p->data - p->buf) + p->len + (hl - room) > sizeof(p->buf))
			return false;
		memmove(p->data + (hl - room), p->data, p->len);
		p->data += hl - room;
	}
	p->data -= hl;
	p->len += hl;
	return true;
}

enum wg_ext_verdict overlay_stock_foreign(struct overlay *ov, struct pkt *p)
{
	struct ovl_stock *s = ovl_engine_stock(ov->eng);
	struct ovl_addr from, to;

	if (!s || !overlay_addr_from_wg(&p->addr, &from))
		return WG_EXT_NOT_MINE;
	switch (ovl_stock_from_client(s, p->data, p->len, &from, wg_now(ov->dev), &to)) {
	case OVL_STOCK_FORWARD:
		if (!header_room(p, OVL_CHAN_CLIENT_HEADER_LEN))
			return WG_EXT_TAKEN;
		ovl_chan_client_write(p->data, OVL_CHAN_CLIENT_FROM_RELAY, &from);
		break;
	case OVL_STOCK_TO_CLIENT:
		/* Client to client: bare, as it came. */
		break;
	case OVL_STOCK_REFUSED:
		return WG_EXT_TAKEN;
	default:
		return WG_EXT_NOT_MINE;
	}
	if (!overlay_addr_to_wg(&to, &p->addr))
		return WG_EXT_TAKEN;
	p->peer = NULL;
	p->has_local = false;
	p->routed = false;
	return WG_EXT_SEND;
}

bool overlay_stock_to_client(struct overlay *ov, struct pkt *p)
{
	struct ovl_stock *s = ovl_engine_stock(ov->eng);
	struct ovl_addr from, client;
	uint8_t dir;
	size_t hl = ovl_chan_client_parse(p->data, p->len, &dir, &client);

	if (!hl || dir != OVL_CHAN_CLIENT_TO_RELAY || !s || !overlay_addr_from_wg(&p->addr, &from)) {
		++ov->stock.refused_not_relay;
		return false;
	}
	if (ovl_stock_from_member(s, &from, &client, p->data + hl, p->len - hl, wg_now(ov->dev)) !=
		    OVL_STOCK_FORWARD ||
	    !overlay_addr_to_wg(&client, &p->addr))
		return false;
	p->data += hl;
	p->len -= hl;
	p->peer = NULL;
	p->has_local = false;
	return true;
}

bool overlay_stock_from_relay(struct overlay *ov, struct pkt *p)
{
	struct ovl_addr relay, client;
	struct stock_seen *seen;
	uint8_t dir;
	size_t hl = ovl_chan_client_parse(p->data, p->len, &dir, &client);

	/* Only from a relay we registered with: from anyone else the inner
	 * datagram would skip the cookie defence as a relayed one. */
	if (!hl || dir != OVL_CHAN_CLIENT_FROM_RELAY || !overlay_addr_from_wg(&p->addr, &relay) ||
	    !ovl_engine_registered_at(ov->eng, &relay, wg_now(ov->dev))) {
		++ov->stock.not_a_relay;
		return false;
	}
	seen = &ov->seen[ov->seen_next];
	if (!overlay_addr_to_wg(&client, &seen->client))
		return false;
	seen->relay = p->addr;
	ov->seen_next = (ov->seen_next + 1) % OVERLAY_STOCK_SEEN;
	p->addr = seen->client;
	p->data += hl;
	p->len -= hl;
	++ov->stock.rx;
	return true;
}

static bool route_match(const void *e, const void *arg)
{
	const struct stock_route *r = e;

	return r->seq && !memcmp(r->key, arg, 32);
}

/* The oldest route of a full range goes first (it comes back with its
 * client's next datagram). */
static uint64_t route_age(const void *e, const void *arg)
{
	(void)arg;
	return ((const struct stock_route *)e)->seq;
}

static struct stock_route *stock_route_find(const struct overlay *ov, const uint8_t key[32],
					    struct stock_route **victim)
{
	return ovl_probetab_find(&ov->routes, ovl_probetab_hash(&ov->routes, key, 32), route_match,
				 route_age, key, (void **)victim);
}

bool overlay_stock_client_rx(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *client)
{
	struct stock_route *r, *victim = NULL;
	unsigned i, j;

	for (i = 0; i < OVERLAY_STOCK_SEEN; ++i) {
		/* The latest first. */
		j = (ov->seen_next + OVERLAY_STOCK_SEEN - 1 - i) % OVERLAY_STOCK_SEEN;
		if (wg_sockaddr_equal(&ov->seen[j].client, client))
			break;
	}
	if (i == OVERLAY_STOCK_SEEN)
		return false;
	r = stock_route_find(ov, key, &victim);
	if (!r) {
		r = victim;
		memcpy(r->key, key, 32);
	}
	r->seq = ++ov->route_seq;
	r->relay = ov->seen[j].relay;
	return true;
}

bool overlay_stock_relay_of(const struct overlay *ov, const uint8_t key[32], union wg_sockaddr *relay)
{
	const struct stock_route *r = stock_route_find(ov, key, NULL);

	if (r)
		*relay = r->relay;
	return r != NULL;
}

enum wg_ext_verdict overlay_stock_output(struct overlay *ov, const uint8_t key[32],
					 const union wg_sockaddr *client, struct pkt *p)
{
	const struct stock_route *r = stock_route_find(ov, key, NULL);
	struct ovl_addr c;

	if (!r || !overlay_addr_from_wg(client, &c) || !header_room(p, OVL_CHAN_CLIENT_HEADER_LEN))
		return WG_EXT_REFUSED;
	ovl_chan_client_write(p->data, OVL_CHAN_CLIENT_TO_RELAY, &c);
	p->addr = r->relay;
	p->has_local = false;
	++ov->stock.tx;
	return WG_EXT_SEND;
}

void overlay_stock_json(const struct overlay *ov, struct strbuf *b)
{
	struct ovl_stock *s = ovl_engine_stock(ov->eng);
	size_t members = 0, pending = 0, sessions = 0;
	struct ovl_stock_stats st;

	memset(&st, 0, sizeof(st));
	if (s) {
		ovl_stock_count(s, wg_now(ov->dev), &members, &pending, &sessions);
		st = s->stats;
	}
	strbuf_printf(b,
		      "\"relay_clients\": {\"registered\": %zu, \"pending\": %zu, \"sessions\": %zu, "
		      "\"registrations\": %llu, \"registrations_refused\": %llu, "
		      "\"to_member\": %llu, \"to_member_bytes\": %llu, \"to_client\": %llu, "
		      "\"to_client_bytes\": %llu, \"no_member\": %llu, \"unknown_index\": %llu, "
		      "\"refused\": %llu, \"limited\": %llu, \"roamed\": %llu, "
		      "\"client_to_client\": %llu, \"client_to_client_bytes\": %llu, "
		      "\"member_rx\": %llu, \"member_tx\": %llu, \"not_a_relay\": %llu}",
		      members, pending, sessions, (unsigned long long)st.registered,
		      (unsigned long long)st.reg_refused, (unsigned long long)st.to_member,
		      (unsigned long long)st.to_member_bytes, (unsigned long long)st.to_client,
		      (unsigned long long)st.to_client_bytes, (unsigned long long)st.no_member,
		      (unsigned long long)st.unknown_index,
		      (unsigned long long)(st.refused + ov->stock.refused_not_relay),
		      (unsigned long long)st.limited, (unsigned long long)st.roamed,
		      (unsigned long long)st.to_peer, (unsigned long long)st.to_peer_bytes,
		      (unsigned long long)ov->stock.rx, (unsigned long long)ov->stock.tx,
		      (unsigned long long)ov->stock.not_a_relay);
}
