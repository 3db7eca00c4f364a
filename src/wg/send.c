/* The sending half: handshake initiations and responses, keepalives, and
 * the data path TUN -> allowed-IPs -> peer -> keypair -> UDP. */
#include "src/wg/send.h"

#include "crypto/encoding.h"
#include "src/wg/crypt_pool.h"
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "src/wg/tcpmss.h"
#include "src/wg/timers.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

/* The handshake index is registered anew for each message we create;
 * the previous one, if it still names this handshake, goes. */
static uint32_t renew_handshake_index(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct index_entry *e;

	if (peer->hs_index) {
		e = device_index_find(dev, peer->hs_index);
		if (e && e->kind == INDEX_HANDSHAKE && e->peer == peer)
			device_index_remove(dev, peer->hs_index);
	}
	peer->hs_index = device_index_insert(dev, INDEX_HANDSHAKE, peer, NULL);
	return peer->hs_index;
}

static void send_to_peer(struct wg_peer *peer, const void *buf, size_t len)
{
	if (!peer->endpoint.sa.sa_family)
		return;
	if (device_send_peer(peer->dev, peer, buf, len) == 0) {
		peer->tx_bytes += len;
		++peer->tx_packets;
	}
}

void send_handshake_initiation(struct wg_peer *peer, bool is_retry)
{
	struct wg_device *dev = peer->dev;
	struct message_handshake_initiation msg;
	struct timespec ts;
	uint64_t now = wg_now(dev);
	uint32_t index;

	if (!is_retry)
		peer->timer_handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT.  The retransmit timer
	 * runs on the loop's cached clock and may fire a little before this
	 * clock says 5 s have passed: then it is re-armed for the rest, so
	 * that the chain of retries never stops. */
	if (peer->last_sent_handshake &&
	    now - peer->last_sent_handshake < (uint64_t)REKEY_TIMEOUT * 1000000000ULL) {
		if (is_retry)
			timers_retransmit_in(peer, ((uint64_t)REKEY_TIMEOUT * 1000000000ULL -
						    (now - peer->last_sent_handshake)) / 1000000 + 1);
		return;
	}
	if (!dev->identity->has_identity || dev->closing)
		return;
	if (!peer->endpoint.sa.sa_family) {
		dev_log(dev, LOG_DBG, "no endpoint for a peer, cannot send a handshake initiation");
		return;
	}
	peer->last_sent_handshake = now;

	clock_gettime(CLOCK_REALTIME, &ts);
	index = renew_handshake_index(peer);
	if (!index || !noise_handshake_create_initiation(&msg, &peer->handshake, index, NULL,
							(uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec))
		return;
	cookie_add_mac_to_packet((uint8_t *)&msg, sizeof(msg), &peer->cookie_maker, now);
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, &msg, sizeof(msg));
	if (dev->log_level >= LOG_DBG) {
		char ep[80];

		dev_log(dev, LOG_DBG, "handshake initiation %s to %s%s", is_retry ? "retry" : "sent",
			wg_sockaddr_str(&peer->endpoint, ep, sizeof(ep)), peer->routed ? " (routed)" : "");
	}
	timers_handshake_initiated(peer);
	sodium_memzero(&msg, sizeof(msg));
}

void send_handshake_response(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct message_handshake_response msg;
	uint64_t now = wg_now(dev);
	uint32_t index;

	/* A response counts as a handshake sent: no crossing initiation
	 * for REKEY_TIMEOUT (the kernel and wireguard-go do the same). */
	peer->last_sent_handshake = now;
	index = renew_handshake_index(peer);
	if (!index || !noise_handshake_create_response(&msg, &peer->handshake, index, NULL))
		return;
	cookie_add_mac_to_packet((uint8_t *)&msg, sizeof(msg), &peer->cookie_maker, now);

	if (!peer_begin_session(peer, index))
		return;

	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, &msg, sizeof(msg));
}

void send_keepalive(struct wg_peer *peer)
{
	struct pkt *p;

	if (!peer->nstaged) {
		p = pkt_get(&peer->dev->pool);
		if (!p) {
			++peer->dev->drops.pool_exhausted;
			return;
		}
		peer_stage(peer, p);
	}
	send_staged(peer);
}

/* A batch of one peer's prepared messages, all of one keypair: only
 * their encryption is left, which touches nothing but each packet's own
 * bytes and reads the keypair's sending key. */
struct seal_job {
	const struct noise_keypair *kp;
	struct pkt_batch *b;
};

static void seal_one(void *ctx, unsigned i)
{
	struct seal_job *job = ctx;
	struct pkt *p = job->b->p[i];

	noise_transport_seal_crypt(job->kp, p->data, p->len);
}

/* Encrypts a prepared batch (on the crypto workers when it is big enough)
 * and sends it, in the order the nonces were taken. */
static void seal_and_send(struct wg_device *dev, const struct noise_keypair *kp, struct pkt_batch *b)
{
	struct seal_job job = { kp, b };

	crypt_pool_run(dev->crypt, seal_one, &job, b->n);
	device_send_batch(dev, b);
	b->n = 0;
}

void send_staged(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct noise_keypair *kp = peer->keypairs.current_keypair;
	uint64_t now = wg_now(dev);
	struct pkt_batch b;
	struct pkt *p;
	bool sent_data = false, sent_any = false;

	if (!peer_has_session(peer, now) || !peer->endpoint.sa.sa_family) {
		send_handshake_initiation(peer, false);
		return;
	}

	b.n = 0;
	while ((p = peer->staged_head)) {
		bool keepalive = p->len == 0;
		ssize_t n;

		/* The owner's path may carry less than the tunnel: TCP to
		 * a routed peer is told to fit it (tcpmss.h). */
		if (peer->routed && p->len)
			tcp_mss_clamp(p->data, p->len, peer->route_mss4, peer->route_mss6);
		/* In place: the header goes in the headroom and the
		 * ciphertext over the plaintext.  The nonce is taken here, in
		 * order; the encryption follows for the whole batch. */
		n = noise_transport_seal_prepare(kp, p->buf + PKT_ROUTE_ROOM, p->data, p->len, dev->mtu, now);
		if (n < 0)
			break;	/* exhausted or expired: a handshake follows */
		peer->staged_head = p->next;
		if (!peer->staged_head)
			peer->staged_tail = NULL;
		--peer->nstaged;
		--dev->nstaged;
		p->data = p->buf + PKT_ROUTE_ROOM;
		p->len = (size_t)n;
		p->addr = peer->endpoint;
		p->peer = peer;
		peer->tx_bytes += p->len;
		++peer->tx_packets;
		sent_any = true;
		if (!keepalive)
			sent_data = true;
		b.p[b.n++] = p;
		if (b.n == PKT_BATCH_MAX)
			seal_and_send(dev, kp, &b);
	}
	if (b.n)
		seal_and_send(dev, kp, &b);

	if (sent_any) {
		timers_any_authenticated_packet_traversal(peer);
		timers_any_authenticated_packet_sent(peer);
		if (sent_data)
			timers_data_sent(peer);
	}
	if (peer->staged_head ||
	    kp->sending_counter > REKEY_AFTER_MESSAGES ||
	    (kp->i_am_the_initiator &&
	     now - kp->birthdate > (uint64_t)REKEY_AFTER_TIME * 1000000000ULL))
		send_handshake_initiation(peer, false);
}

/* The destination address of an IP packet, or NULL when it is too short
 * or not IPv4/IPv6. */
static const uint8_t *ip_destination(const uint8_t *pkt, size_t len, int *family)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		return pkt + 16;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		return pkt + 24;
	}
	return NULL;
}

void send_from_tun(struct wg_device *dev, struct pkt_batch *b)
{
	struct wg_peer *touched[PKT_BATCH_MAX];
	unsigned ntouched = 0, i, j;

	for (i = 0; i < b->n; ++i) {
		struct pkt *p = b->p[i];
		const uint8_t *dst;
		struct wg_peer *peer;
		int family;

		dst = ip_destination(p->data, p->len, &family);
		peer = dst ? allowedips_lookup(&dev->allowedips, family, dst) : NULL;
		if (!peer || peer->is_dead) {
			++dev->drops.tun_no_route;
			pkt_put(&dev->pool, p);
			continue;
		}
		/* No endpoint: nowhere to send it, and staging it would pin a
		 * buffer until the peer gets one (the kernel drops too). */
		if (!peer->endpoint.sa.sa_family) {
			++dev->drops.no_endpoint;
			pkt_put(&dev->pool, p);
			continue;
		}
		peer_stage(peer, p);
		for (j = 0; j < ntouched && touched[j] != peer; ++j)
			;
		if (j == ntouched)
			touched[ntouched++] = peer;
	}
	b->n = 0;
	for (j = 0; j < ntouched; ++j)
		send_staged(touched[j]);
}
