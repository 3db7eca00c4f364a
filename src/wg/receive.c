/* The receiving half of the data plane.
 *
 * Datagrams arrive in batches.  Data messages (type 4) are opened at
 * once; handshake messages (types 1-3) go to the device's handshake
 * queue, drained on the loop within a budget (src/wg/device.c: a few a
 * turn, and at most a fixed share of the loop's time), so that a flood
 * of them cannot starve established sessions.  The queue's depth is what
 * "under load" means (as in the kernel: 1/8 of the queue, sticky for a
 * second).  Under load a message is checked as it arrives, within a
 * per-source and a global budget of checks (the rest are dropped
 * unchecked, counted): mac1 and mac2 (no Diffie-Hellman); an initiation
 * or response without a valid mac2 (a cookie we gave its source) gets a
 * cookie reply instead, one with it must pass the per-source rate limiter
 * to be queued.  So under a flood the queue holds only messages whose
 * senders proved their address, and the flood costs little more than
 * its reception. */
#include "src/wg/receive.h"

#include "proto/wg/ratelimiter.h"
#include "src/wg/crypt_pool.h"
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "src/wg/send.h"
#include "src/wg/tcpmss.h"
#include "src/wg/timers.h"
#include "tun/tun.h"

#include <sodium.h>
#include <string.h>

/* Roaming: the endpoint follows the outer source of every authenticated
 * message, and replies leave from the local address it arrived on. */
static void update_endpoint(struct wg_peer *peer, const union wg_sockaddr *src,
			    const union wg_pktinfo *local, bool has_local, bool routed,
			    uint64_t now)
{
	struct wg_device *dev = peer->dev;

	peer->last_rx_ns = now;
	/* A datagram on the owner's path says nothing of where the peer is
	 * (the owner may follow it there); a direct one ends a routed path:
	 * the peer reaches us, so we reach it. */
	if (routed) {
		if (dev->ext)
			dev->ext->routed_rx(dev->ext_ctx, peer, src);
		return;
	}
	peer->last_direct_rx_ns = peer->last_rx_ns;
	peer_roam(peer, src, has_local ? local : NULL);
}

static void enqueue_handshake(struct wg_device *dev, const struct pkt *p, bool macs_checked)
{
	struct hs_item *it;

	if (dev->hs_count == MAX_QUEUED_INCOMING_HANDSHAKES) {
		++dev->drops.handshake_queue_full;
		return;
	}
	it = &dev->hs_queue[(dev->hs_head + dev->hs_count) % MAX_QUEUED_INCOMING_HANDSHAKES];
	it->src = p->addr;
	memcpy(&it->local, &p->local, sizeof(it->local));
	it->has_local = p->has_local;
	it->macs_checked = macs_checked;
	it->routed = p->routed;
	it->len = (uint16_t)p->len;
	memcpy(it->msg, p->data, p->len);
	++dev->hs_count;
	if (dev->hs_count >= MAX_QUEUED_INCOMING_HANDSHAKES / 8)
		dev->under_load_until = wg_now(dev) + 1000000000ULL;
}

static const uint8_t *src_ip(const union wg_sockaddr *a)
{
	return a->sa.sa_family == AF_INET ? (const uint8_t *)&a->in4.sin_addr :
					    (const uint8_t *)&a->in6.sin6_addr;
}

/* A cookie reply to p, into the batch of datagrams the receive batch
 * sends at its end. */
static void cookie_reply(struct wg_device *dev, const struct pkt *p, const uint8_t *srcb,
			 size_t srclen, uint64_t now, struct pkt_batch *out)
{
	struct message_handshake_cookie *reply;
	struct pkt *r = pkt_get(&dev->pool);

	if (!r) {
		++dev->drops.pool_exhausted;
		return;
	}
	reply = (struct message_handshake_cookie *)r->data;
	if (!cookie_message_create(reply, p->data, p->len, le32_get(p->data + 4), &dev->cookie_checker,
				   srcb, srclen, now)) {
		pkt_put(&dev->pool, r);
		return;
	}
	r->len = sizeof(*reply);
	r->addr = p->addr;
	r->peer = NULL;
	r->has_local = false;
	r->routed = false;
	if (out->n == PKT_BATCH_MAX)
		device_send_batch(dev, out);
	out->p[out->n++] = r;
	++dev->drops.handshake_cookie_sent;
}

/* Under load: within the checks' budget (per source, then global: past
 * it a message is dropped unchecked, so that a flood costs no more than
 * its reception), mac1 and mac2 are checked before anything is queued;
 * a message without a fresh cookie is answered with one, and a source
 * over its rate is dropped.  A message that came on the owner's path
 * needs no mac2: its source is where that path reached us (wh up: a
 * relay's address), where a cookie reply would not reach the sender (a
 * relay forwards only for authenticated overlay members, within
 * per-sender limits); the budgets and the rate limiter apply to that
 * address.  Returns true when the message
 * may be queued. */
static bool admit_under_load(struct wg_device *dev, const struct pkt *p, uint64_t now,
			     struct pkt_batch *out)
{
	uint8_t srcb[18];
	size_t srclen;
	enum cookie_mac_state mac;

	if (!device_handshake_check_allowed(dev, p->addr.sa.sa_family, src_ip(&p->addr), now)) {
		++dev->drops.handshake_shed;
		return false;
	}
	srclen = wg_sockaddr_cookie_src(&p->addr, srcb);
	mac = cookie_validate_packet(&dev->cookie_checker, p->data, p->len, srcb, srclen, !p->routed,
				     now);
	if (mac == INVALID_MAC) {
		++dev->drops.handshake_invalid;
		return false;
	}
	if (!p->routed && mac != VALID_MAC_WITH_COOKIE) {
		cookie_reply(dev, p, srcb, srclen, now, out);
		return false;
	}
	if (!ratelimiter_allow(dev->ratelimiter, p->addr.sa.sa_family, src_ip(&p->addr), now)) {
		++dev->drops.handshake_ratelimited;
		return false;
	}
	return true;
}

static void consume_cookie(struct wg_device *dev, const struct message_handshake_cookie *msg)
{
	struct index_entry *e = device_index_find(dev, le32_get(msg->receiver_index));

	if (!e || !cookie_message_consume(msg, &e->peer->cookie_maker, wg_now(dev))) {
		++dev->drops.cookie_invalid;
		dev_log(dev, LOG_DBG, "dropped an invalid cookie reply");
	}
	/* A cookie reply never moves the endpoint: it is not authenticated
	 * by the peer's static key. */
}

static void handle_initiation(struct wg_device *dev, const struct message_handshake_initiation *msg,
			      const struct hs_item *it)
{
	struct noise_initiation_scratch scratch;
	struct wg_peer *peer;
	bool ok;

	if (!noise_initiation_open(&scratch, msg, dev->identity)) {
		sodium_memzero(&scratch, sizeof(scratch));
		goto invalid;
	}
	peer = peer_lookup(dev, scratch.remote_static);
	if (!peer || peer->is_dead) {
		sodium_memzero(&scratch, sizeof(scratch));
		goto invalid;
	}
	ok = noise_initiation_accept(&peer->handshake, &scratch, wg_now(dev));
	if (!ok)
		goto invalid;
	update_endpoint(peer, &it->src, &it->local, it->has_local, it->routed, wg_now(dev));
	peer->rx_bytes += sizeof(*msg);
	++peer->rx_packets;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	dev_log(dev, LOG_DBG, "handshake initiation received%s, responding",
		it->routed ? " (routed)" : "");
	send_handshake_response(peer);
	return;
invalid:
	++dev->drops.handshake_invalid;
	dev_log(dev, LOG_DBG, "dropped an invalid handshake initiation");
}

static void handle_response(struct wg_device *dev, const struct message_handshake_response *msg,
			    const struct hs_item *it)
{
	struct index_entry *e = device_index_find(dev, le32_get(msg->receiver_index));
	struct wg_peer *peer;
	uint32_t index;

	if (!e || e->kind != INDEX_HANDSHAKE)
		goto invalid;
	peer = e->peer;
	index = e->index;
	if (!noise_handshake_consume_response(msg, &peer->handshake))
		goto invalid;
	update_endpoint(peer, &it->src, &it->local, it->has_local, it->routed, wg_now(dev));
	peer->rx_bytes += sizeof(*msg);
	++peer->rx_packets;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);

	if (!peer_begin_session(peer, index))
		return;
	dev_log(dev, LOG_DBG, "handshake response received%s: session up",
		it->routed ? " (routed)" : "");
	timers_handshake_complete(peer);
	/* The initiator confirms the session at once: staged data if any,
	 * a keepalive otherwise. */
	if (peer->nstaged)
		send_staged(peer);
	else
		send_keepalive(peer);
	return;
invalid:
	++dev->drops.handshake_invalid;
	dev_log(dev, LOG_DBG, "dropped an invalid handshake response");
}

static void process_handshake(struct wg_device *dev, struct hs_item *it)
{
	uint8_t srcb[18];
	size_t srclen = wg_sockaddr_cookie_src(&it->src, srcb);
	enum message_type type = wg_message_type(it->msg, it->len);
	enum cookie_mac_state mac;
	uint64_t now = wg_now(dev);

	if (!dev->identity->has_identity)
		return;
	if (!it->macs_checked) {
		/* Queued while not under load: mac1 is enough (checked before
		 * any Diffie-Hellman). */
		mac = cookie_validate_packet(&dev->cookie_checker, it->msg, it->len, srcb, srclen,
					     false, now);
		if (mac == INVALID_MAC) {
			++dev->drops.handshake_invalid;
			dev_log(dev, LOG_DBG, "dropped a handshake message with an invalid mac1");
			return;
		}
	}
	if (type == MESSAGE_HANDSHAKE_INITIATION)
		handle_initiation(dev, (const struct message_handshake_initiation *)it->msg, it);
	else
		handle_response(dev, (const struct message_handshake_response *)it->msg, it);
}

unsigned receive_handshakes(struct wg_device *dev, unsigned budget, uint64_t deadline_ns)
{
	while (dev->hs_count && budget--) {
		struct hs_item *it = &dev->hs_queue[dev->hs_head];

		dev->hs_head = (dev->hs_head + 1) % MAX_QUEUED_INCOMING_HANDSHAKES;
		--dev->hs_count;
		process_handshake(dev, it);
		sodium_memzero(it, sizeof(*it));
		if (wg_now(dev) >= deadline_ns)
			break;
	}
	return dev->hs_count;
}

/* A data message of a receive batch between its three passes: looked up
 * and checked on the loop, opened (anywhere), then accepted on the loop. */
enum rx_kind {
	RX_DATA,		/* a data message, opened in pass 2 */
	RX_EXT,			/* the owner's, for its input op in its turn */
	RX_OTHER,		/* any other WireGuard message (or junk) */
	RX_FOREIGN,		/* data under no index of ours: the owner's foreign op */
};

struct rx_data {
	enum rx_kind kind;
	struct noise_keypair *kp;	/* RX_DATA */
	uint32_t index;			/* the receiver index kp was found by */
	uint64_t counter;
	bool opened;			/* authenticated and decrypted */
};

struct open_job {
	struct pkt_batch *b;
	struct rx_data *d;
	unsigned slot[PKT_BATCH_MAX];	/* the batch positions to open */
};

/* The pure step: tag check and decryption in place (the plaintext lands
 * where the ciphertext was), reading only the keypair's receiving key. */
static void open_one(void *ctx, unsigned i)
{
	struct open_job *job = ctx;
	unsigned k = job->slot[i];
	struct pkt *p = job->b->p[k];
	struct rx_data *d = &job->d[k];

	d->opened = noise_transport_open_crypt(d->kp, p->data + sizeof(struct message_data), p->data,
					       p->len, d->counter);
}

/* First pass for a data message: its keypair by receiver index, and the
 * checks that need no key.  False when it is dropped (counted). */
static bool lookup_data(struct wg_device *dev, struct pkt *p, struct rx_data *d, uint64_t now)
{
	uint32_t index = le32_get(p->data + 4);
	struct index_entry *e = device_index_find(dev, index);

	if (!e && dev->ext && dev->ext->foreign && !p->routed) {
		d->kind = RX_FOREIGN;	/* maybe a relay's stock client's */
		return false;
	}
	if (!e || e->kind != INDEX_KEYPAIR) {
		++dev->drops.data_unknown_index;
		return false;
	}
	if (!noise_transport_open_check(e->keypair, p->data, p->len, now, &d->counter)) {
		++dev->drops.data_invalid;
		dev_log(dev, LOG_DBG,
			"dropped a data message before authentication (length, keypair not valid or expired)");
		return false;
	}
	d->kp = e->keypair;
	d->index = index;
	return true;
}

/* Last pass for an opened data message, in batch order: the replay
 * window, then what an authenticated message does to its peer.  On
 * success the packet holds the inner IP packet (or nothing for a
 * keepalive) and the peer is returned. */
static struct wg_peer *accept_data(struct wg_device *dev, struct pkt *p, const struct rx_data *d,
				   size_t *wire_len, uint64_t now)
{
	struct index_entry *e = device_index_find(dev, d->index);
	struct noise_keypair *kp, *evicted = NULL;
	struct wg_peer *peer;
	size_t msglen = p->len, plain_len = p->len - MESSAGE_MINIMUM_LENGTH;

	if (!d->opened) {
		++dev->drops.data_invalid;
		dev_log(dev, LOG_DBG, "dropped a data message that did not authenticate");
		return NULL;
	}
	/* An earlier message of the batch may have retired the keypair
	 * (a promotion evicts the previous one). */
	if (!e || e->kind != INDEX_KEYPAIR || e->keypair != d->kp) {
		sodium_memzero(p->data + sizeof(struct message_data), plain_len);
		++dev->drops.data_unknown_index;
		return NULL;
	}
	peer = e->peer;
	kp = d->kp;
	if (!noise_transport_open_finish(kp, p->data + sizeof(struct message_data), plain_len,
					 d->counter)) {
		++dev->drops.data_invalid;
		dev_log(dev, LOG_DBG, "dropped a replayed data message");
		return NULL;
	}
	p->data += sizeof(struct message_data);
	p->len = plain_len;

	if (noise_keypairs_received_with(&peer->keypairs, kp, &evicted)) {
		if (evicted)
			peer_keypair_release(peer, evicted);
		timers_handshake_complete(peer);
		/* The responder's first confirmed session: send what waited. */
		if (peer->nstaged)
			send_staged(peer);
	}
	update_endpoint(peer, &p->addr, &p->local, p->has_local, p->routed, now);
	*wire_len = msglen;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);

	/* The initiator renews a session that is about to expire on
	 * receive, once, so that an idle sender still gets a fresh key. */
	kp = peer->keypairs.current_keypair;
	if (kp && kp->sending_valid && kp->i_am_the_initiator && !peer->sent_lastminute_handshake &&
	    now - kp->birthdate > (uint64_t)(REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) * 1000000000ULL) {
		peer->sent_lastminute_handshake = true;
		send_handshake_initiation(peer, false);
	}
	return peer;
}

/* The inner source must be one of the peer's allowed IPs. */
static bool source_allowed(struct wg_device *dev, struct wg_peer *peer, const uint8_t *ip, size_t len)
{
	if ((ip[0] >> 4) == 4 && len >= 20)
		return allowedips_lookup(&dev->allowedips, AF_INET, ip + 12) == peer;
	if ((ip[0] >> 4) == 6 && len >= 40)
		return allowedips_lookup(&dev->allowedips, AF_INET6, ip + 8) == peer;
	return false;
}

/* First pass for a datagram whose first byte is no WireGuard type: the
 * owner's classify op says whether it is its own, and may take its
 * header off one that came on its path (0: go on with it as a WireGuard
 * datagram).  1: the owner's, for input in pass 3.  -1: drop. */
static int ext_classify(struct wg_device *dev, struct pkt *p)
{
	switch (dev->ext ? dev->ext->classify(dev->ext_ctx, p) : WG_EXT_NOT_MINE) {
	case WG_EXT_INNER:
		p->routed = true;
		++dev->ext_rx;
		return 0;
	case WG_EXT_LATER:
		return 1;
	case WG_EXT_BAD:
		++dev->drops.ext_bad;
		return -1;
	case WG_EXT_REFUSED:
		++dev->drops.ext_refused;
		return -1;
	default:
		++dev->drops.unknown_type;
		return -1;
	}
}

/* The owner's datagram in its turn of the batch: it uses it, or
 * readdresses it to be sent with the batch's replies (out).  Takes the
 * packet. */
static void ext_input(struct wg_device *dev, struct pkt *p, struct pkt_batch *out)
{
	if (dev->ext->input(dev->ext_ctx, p) != WG_EXT_SEND) {
		pkt_put(&dev->pool, p);
		return;
	}
	if (out->n == PKT_BATCH_MAX)
		device_send_batch(dev, out);
	out->p[out->n++] = p;
}

/* Whether a handshake message that came directly is for someone else:
 * an initiation whose mac1 is not under our key, a response or cookie
 * reply to an index of none of ours.  Only asked when the owner has a
 * foreign op. */
static bool foreign_handshake(struct wg_device *dev, const struct pkt *p, uint64_t now)
{
	uint8_t srcb[18];
	size_t srclen;

	switch (wg_message_type(p->data, p->len)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		srclen = wg_sockaddr_cookie_src(&p->addr, srcb);
		return cookie_validate_packet(&dev->cookie_checker, p->data, p->len, srcb, srclen, false,
					      now) == INVALID_MAC;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return !device_index_find(dev, le32_get(p->data + 8));
	case MESSAGE_HANDSHAKE_COOKIE:
		return !device_index_find(dev, le32_get(p->data + 4));
	default:
		return false;
	}
}

/* A datagram for someone else, to the owner's foreign op: true when the
 * owner took it (sent with the batch's replies, out, or counted); false
 * when the device goes on with it. */
static bool ext_foreign(struct wg_device *dev, struct pkt *p, struct pkt_batch *out)
{
	switch (dev->ext->foreign(dev->ext_ctx, p)) {
	case WG_EXT_SEND:
		++dev->ext_tx;
		if (out->n == PKT_BATCH_MAX)
			device_send_batch(dev, out);
		out->p[out->n++] = p;
		return true;
	case WG_EXT_TAKEN:
		pkt_put(&dev->pool, p);
		return true;
	default:
		return false;
	}
}

/* Delivers an accepted data message: keepalives counted, the inner
 * packet checked against the peer's allowed IPs and given to the TUN.
 * Takes the packet. */
static void deliver_data(struct wg_device *dev, struct wg_peer *peer, struct pkt *p, size_t wire_len)
{
	ssize_t iplen;

	if (p->len == 0) {
		/* A keepalive: counted, never delivered. */
		peer->rx_bytes += wire_len;
		++peer->rx_packets;
		goto drop;
	}
	timers_data_received(peer);
	iplen = wg_ip_trim(p->data, p->len);
	if (iplen <= 0) {
		++dev->drops.data_bad_inner;
		goto drop;
	}
	p->len = (size_t)iplen;
	if (!source_allowed(dev, peer, p->data, p->len)) {
		++dev->drops.data_source_mismatch;
		dev_log(dev, LOG_DBG, "dropped a packet whose inner source is not the peer's");
		goto drop;
	}
	/* Counted as the kernel does: what passed every check. */
	peer->rx_bytes += wire_len;
	++peer->rx_packets;
	/* Both ends of TCP over a routed path send what fits it, whichever
	 * side opened the connection (the owner set the limits). */
	if (peer->routed)
		tcp_mss_clamp(p->data, p->len, peer->route_mss4, peer->route_mss6);
	if (dev->tun) {
		device_tun_output(dev, p);	/* takes the packet */
		return;
	}
drop:
	pkt_put(&dev->pool, p);
}

/* Any message but data, in its turn of the batch.  Takes the packet;
 * what it sends (the owner's readdressed datagrams, cookie replies) joins
 * out, sent at the end of the batch.  Returns true when it queued a
 * handshake. */
static bool receive_other(struct wg_device *dev, struct pkt *p, enum rx_kind kind, uint64_t now,
			  struct pkt_batch *out)
{
	bool queued = false;

	if (kind == RX_EXT) {
		ext_input(dev, p, out);
		return false;
	}
	if (kind == RX_FOREIGN) {
		if (!ext_foreign(dev, p, out)) {
			++dev->drops.data_unknown_index;
			pkt_put(&dev->pool, p);
		}
		return false;
	}
	if (dev->ext && dev->ext->foreign && !p->routed && foreign_handshake(dev, p, now) &&
	    ext_foreign(dev, p, out))
		return false;
	switch (wg_message_type(p->data, p->len)) {
	case MESSAGE_HANDSHAKE_COOKIE:
		/* Cheap (one XChaCha20-Poly1305 open): done at once. */
		consume_cookie(dev, (const struct message_handshake_cookie *)p->data);
		break;
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (device_under_load(dev, now)) {
			if (!admit_under_load(dev, p, now, out))
				break;
			enqueue_handshake(dev, p, true);
		} else {
			enqueue_handshake(dev, p, false);
		}
		queued = true;
		break;
	default:
		if (p->data[0] >= 1 && p->data[0] <= 4)
			++dev->drops.bad_length;
		else
			++dev->drops.unknown_type;
		break;
	}
	pkt_put(&dev->pool, p);
	return queued;
}

/* Three passes over a batch, so that the AEAD of its data messages can run
 * on the crypto workers (src/wg/crypt_pool.h) while the loop alone moves
 * state:
 *   1. on the loop: the owner's datagrams told apart (the headers of its
 *      path taken off), data messages looked up by receiver index and
 *      checked (keypair valid, not expired);
 *   2. anywhere: the data messages authenticated and decrypted in place;
 *   3. on the loop, in batch order: everything else as it comes (the
 *      owner's datagrams to its input op), and for
 *      each data message the replay window (only after authentication),
 *      keypair promotion, endpoint, timers, allowed IPs, the TUN.
 * Pass 3 sees the messages in the order they arrived, so a peer's
 * packets reach the TUN in the order they came, as when the batch was
 * handled one message at a time. */
void receive_batch(struct wg_device *dev, struct pkt_batch *b)
{
	struct rx_data d[PKT_BATCH_MAX];
	struct open_job job;
	bool queued_handshakes = false;
	struct pkt_batch out;
	uint64_t now = wg_now(dev);
	unsigned i, nopen = 0;

	out.n = 0;
	job.b = b;
	job.d = d;

	for (i = 0; i < b->n; ++i) {
		struct pkt *p = b->p[i];

		d[i].kind = RX_OTHER;
		d[i].kp = NULL;
		d[i].opened = false;
		if (p->len == 0) {
			++dev->drops.bad_length;
			goto drop;
		}
		if (p->data[0] < MESSAGE_HANDSHAKE_INITIATION || p->data[0] > MESSAGE_DATA) {
			int r = ext_classify(dev, p);

			if (r < 0)
				goto drop;
			if (r > 0) {
				d[i].kind = RX_EXT;
				continue;
			}
		}
		if (wg_message_type(p->data, p->len) != MESSAGE_DATA)
			continue;	/* pass 3 */
		if (!lookup_data(dev, p, &d[i], now)) {
			if (d[i].kind == RX_FOREIGN)
				continue;	/* pass 3 */
			goto drop;
		}
		d[i].kind = RX_DATA;
		job.slot[nopen++] = i;
		continue;
drop:
		pkt_put(&dev->pool, p);
		b->p[i] = NULL;
	}

	crypt_pool_run(dev->crypt, open_one, &job, nopen);

	for (i = 0; i < b->n; ++i) {
		struct pkt *p = b->p[i];
		struct wg_peer *peer;
		size_t wire_len = 0;

		if (!p)
			continue;
		if (d[i].kind != RX_DATA) {
			if (receive_other(dev, p, d[i].kind, now, &out))
				queued_handshakes = true;
			continue;
		}
		peer = accept_data(dev, p, &d[i], &wire_len, now);
		if (!peer) {
			pkt_put(&dev->pool, p);
			continue;
		}
		deliver_data(dev, peer, p, wire_len);
	}
	b->n = 0;
	if (out.n)
		device_send_batch(dev, &out);
	device_tun_flush(dev);
	if (queued_handshakes)
		device_kick_handshakes(dev);
}
