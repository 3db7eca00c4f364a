/* The node's path beside the WireGuard device (see datapath.h).
 *
 *   socket --> device: first byte 1-4 WireGuard, else classify:
 *       0xff                    --> the overlay, in batch order (input)
 *       0xfe from a relay       --> header off: a WireGuard datagram that
 *                                   came relayed (no roaming; the path core may
 *                                   follow the peer to that relay); only
 *                                   from a relay we asked a channel of, else
 *                                   dropped (drops.ext_refused)
 *       0xfe to us as a relay   --> the overlay readdresses it (input),
 *                                   the device sends it with its batch
 *       0xfe, dir 3, from a relay we registered with
 *                               --> a stock client's WireGuard datagram
 *                                   from the client's address (9.5)
 *       0xfe, dir 4 to us as a relay --> the overlay's table of stock
 *                                   clients readdresses it to the client
 *   WireGuard datagram for no one of ours (foreign) --> a relay's stock
 *       client: to its member with the client header, or dropped
 *   device --> relayed peer (output): data that fits a 1500-byte path goes
 *       in the relay's channel, its header written in the packet's
 *       headroom, sent in the device's batch; anything else goes wrapped
 *       in RELAY by the overlay.  A stock client's peer: everything in
 *       CLIENT_TO_RELAY to the relay it came through. */
#include "src/node/datapath.h"

#include "proto/overlay/codec.h"
#include "proto/wg/messages.h"
#include "src/node/node_priv.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"
#include "src/node/tcppath.h"
#include "src/wg/peer.h"

_Static_assert((int)PKT_ROUTE_ROOM >= (int)OVL_CHAN_HEADER_LEN, "room for a relay channel header");

/* Runs before any message of the batch is authenticated: it reads the
 * header and nothing else. */
static enum wg_ext_verdict classify(void *ctx, struct pkt *p)
{
	struct node *n = ctx;
	uint32_t channel;
	uint8_t dir;
	size_t hl;

	if (p->data[0] != OVL_MAGIC && p->data[0] != OVL_CHAN_MAGIC)
		return WG_EXT_NOT_MINE;
	if (!n->ov)
		return WG_EXT_REFUSED;
	/* Only a stream speaks for a TCP path's pseudo-address (9.6). */
	if (n->tcp && tcppath_pseudo(&p->addr))
		return WG_EXT_REFUSED;
	if (p->data[0] == OVL_MAGIC)
		return WG_EXT_LATER;
	if (p->len > 1 && p->data[1] == OVL_CHAN_CLIENT_TO_RELAY)
		return WG_EXT_LATER;	/* to us as a relay of stock clients */
	if (p->len > 1 && p->data[1] == OVL_CHAN_CLIENT_FROM_RELAY)
		return overlay_stock_from_relay(n->ov, p) ? WG_EXT_INNER : WG_EXT_REFUSED;
	hl = ovl_chan_parse(p->data, p->len, &dir, &channel);
	if (!hl)
		return WG_EXT_BAD;
	if (dir != OVL_CHAN_FROM_RELAY)
		return WG_EXT_LATER;	/* to us as a relay */
	/* Relay framing only from a relay we asked a channel of: from anyone
	 * else the inner datagram is an initiation that skips the cookie
	 * defence (it came relayed) and costs a Diffie-Hellman, or data
	 * that costs an AEAD check, for nothing (doc/protocol.md 9.1).
	 * Counted as drops.ext_refused (`wh inspect`: not_a_relay). */
	if (!paths_channel_source(n, &p->addr))
		return WG_EXT_REFUSED;
	p->data += hl;
	p->len -= hl;
	return WG_EXT_INNER;
}

static enum wg_ext_verdict input(void *ctx, struct pkt *p)
{
	struct node *n = ctx;
	uint32_t channel;
	uint8_t dir;

	if (p->data[0] == OVL_MAGIC) {
		/* An answer over UDP: the TCP path (9.6) goes back to UDP. */
		if (overlay_input(n->ov, p) && n->tcp)
			tcppath_udp_heard(n, &p->addr);
		return WG_EXT_TAKEN;
	}
	if (p->data[1] == OVL_CHAN_CLIENT_TO_RELAY)
		return overlay_stock_to_client(n->ov, p) ? WG_EXT_SEND : WG_EXT_TAKEN;
	/* Channel data to us as a relay (classify checked the header): the
	 * overlay checks the channel and its limits, counts what it refuses,
	 * and rewrites the header for the destination. */
	ovl_chan_parse(p->data, p->len, &dir, &channel);
	if (!overlay_channel_forward(n->ov, p, channel))
		return WG_EXT_TAKEN;
	/* To a member on a TCP path: on its stream (9.6). */
	if (n->tcp && tcppath_divert(n, &p->addr, p->data, p->len))
		return WG_EXT_TAKEN;
	return WG_EXT_SEND;
}

/* A relayed peer's datagram: in the relay's channel when one is bound
 * (the path core keeps a relay's number only while it is valid), the datagram
 * is a data message, and it fits a 1500-byte path with its 8-byte header
 * (doc/protocol.md 9.1); handshakes and what does not fit go wrapped. */
static enum wg_ext_verdict output(void *ctx, struct wg_peer *peer, struct pkt *p)
{
	struct node *n = ctx;
	struct member *m = node_member(n, peer->public_key);
	const struct ovl_path_relay *r = m ? ovl_path_relay_in_use(&m->path) : NULL;
	union wg_sockaddr relay_addr;
	size_t outer = peer->endpoint.sa.sa_family == AF_INET6 ? 40 + 8 : 20 + 8;

	/* A stock client (a client line, or a peer stock wg added): through
	 * the relay it came by (9.5). */
	if ((!m || m->client) && n->ov)
		return overlay_stock_output(n->ov, peer->public_key, &peer->endpoint, p);
	if (!r || !n->ov)
		return WG_EXT_REFUSED;
	if (r->chan && p->data[0] == MESSAGE_DATA && (size_t)(p->data - p->buf) >= OVL_CHAN_HEADER_LEN &&
	    p->len + OVL_CHAN_HEADER_LEN + outer <= DATAPATH_PATH_MTU) {
		p->data -= OVL_CHAN_HEADER_LEN;
		p->len += OVL_CHAN_HEADER_LEN;
		ovl_chan_write(p->data, OVL_CHAN_TO_RELAY, r->chan);
		p->addr = peer->endpoint;
		/* The relay on our TCP path (9.6): on the stream. */
		if (n->tcp && tcppath_divert(n, &p->addr, p->data, p->len))
			return WG_EXT_TAKEN;
		return WG_EXT_SEND;
	}
	if (!overlay_addr_to_wg(&r->addr, &relay_addr) ||
	    overlay_relay_send(n->ov, r->key, &relay_addr, m->key, p->data, p->len) < 0)
		return WG_EXT_REFUSED;
	return WG_EXT_TAKEN;
}

static void routed_rx(void *ctx, struct wg_peer *peer, const union wg_sockaddr *via)
{
	struct node *n = ctx;
	const struct member *m = node_member(n, peer->public_key);

	if (m && !m->client) {
		paths_relayed_rx(n, peer, via);
		return;
	}
	/* A stock client's peer (9.5): via is the client's address, as the
	 * relay saw it; its endpoint follows authenticated datagrams, as
	 * WireGuard's roaming does, and replies go through that relay. */
	if (n->ov && overlay_stock_client_rx(n->ov, peer->public_key, via) &&
	    (!peer->routed || !wg_sockaddr_equal(&peer->endpoint, via)))
		peer_set_routed(peer, via, DATAPATH_CLIENT_MSS4, DATAPATH_CLIENT_MSS6);
}

static enum wg_ext_verdict foreign(void *ctx, struct pkt *p)
{
	struct node *n = ctx;

	return n->ov ? overlay_stock_foreign(n->ov, p) : WG_EXT_NOT_MINE;
}

static const struct wg_device_ext_ops datapath_ops = {
	.classify = classify,
	.input = input,
	.output = output,
	.routed_rx = routed_rx,
	.foreign = foreign,
};

void datapath_start(struct node *n)
{
	device_set_ext(&n->dev, &datapath_ops, n);
}

void datapath_stop(struct node *n)
{
	device_set_ext(&n->dev, NULL, NULL);
}
