/* Peers: creation, lookup by public key, removal, keys and staging. */
#include "src/wg/peer.h"

#include "crypto/encoding.h"
#include "src/wg/device.h"
#include "src/wg/send.h"
#include "src/wg/timers.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static size_t key_bucket(const struct wg_device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, NOISE_PUBLIC_KEY_LEN, dev->peer_hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (dev->peer_hash_size - 1));
}

struct wg_peer *peer_lookup(struct wg_device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_peer *p;

	for (p = dev->peer_hash[key_bucket(dev, key)]; p; p = p->hash_next)
		if (!memcmp(p->public_key, key, NOISE_PUBLIC_KEY_LEN))
			return p;
	return NULL;
}

static int peer_hash_grow(struct wg_device *dev)
{
	struct wg_peer **old = dev->peer_hash, *p;
	size_t oldsize = dev->peer_hash_size, i;

	dev->peer_hash = calloc(oldsize * 2, sizeof(*dev->peer_hash));
	if (!dev->peer_hash) {
		dev->peer_hash = old;
		return -ENOMEM;
	}
	dev->peer_hash_size = oldsize * 2;
	for (p = dev->peers_head; p; p = p->list_next) {
		size_t b = key_bucket(dev, p->public_key);

		p->hash_next = dev->peer_hash[b];
		dev->peer_hash[b] = p;
	}
	(void)i;
	free(old);
	return 0;
}

int peer_create(struct wg_device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN], struct wg_peer **out)
{
	static const uint8_t zero_psk[NOISE_SYMMETRIC_KEY_LEN];
	struct wg_peer *peer;
	size_t b;

	if (dev->npeers >= MAX_PEERS_PER_DEVICE)
		return -ENOSPC;
	if (dev->identity->has_identity &&
	    ct_equal(key, dev->identity->static_public, NOISE_PUBLIC_KEY_LEN))
		return -EEXIST;
	if (peer_lookup(dev, key))
		return -EEXIST;
	if (dev->npeers >= dev->peer_hash_size && peer_hash_grow(dev) < 0)
		return -ENOMEM;
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	peer->dev = dev;
	memcpy(peer->public_key, key, NOISE_PUBLIC_KEY_LEN);
	/* A low-order key makes a peer that never completes a handshake,
	 * which is what the kernel does; it is not a configuration error. */
	noise_handshake_init(&peer->handshake, dev->identity, key, zero_psk);
	cookie_maker_init(&peer->cookie_maker, key);
	timers_init(peer);

	b = key_bucket(dev, key);
	peer->hash_next = dev->peer_hash[b];
	dev->peer_hash[b] = peer;
	peer->list_prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->list_next = peer;
	else
		dev->peers_head = peer;
	dev->peers_tail = peer;
	++dev->npeers;
	++dev->peers_gen;
	*out = peer;
	return 0;
}

static void clear_handshake(struct wg_peer *peer);

struct noise_keypair *keypair_alloc(void)
{
	return calloc(1, sizeof(struct noise_keypair));
}

void keypair_free(struct noise_keypair *kp)
{
	if (!kp)
		return;
	sodium_memzero(kp, sizeof(*kp));
	free(kp);
}

void peer_keypair_release(struct wg_peer *peer, struct noise_keypair *kp)
{
	struct index_entry *e;

	if (!kp)
		return;
	e = device_index_find(peer->dev, kp->local_index);
	if (e && e->kind == INDEX_KEYPAIR && e->keypair == kp)
		device_index_remove(peer->dev, kp->local_index);
	keypair_free(kp);
}

bool peer_begin_session(struct wg_peer *peer, uint32_t index)
{
	struct noise_keypair *kp = keypair_alloc(), *evicted[2];
	int n, i;

	if (!kp || !noise_handshake_begin_session(&peer->handshake, kp, wg_now(peer->dev))) {
		keypair_free(kp);
		return false;
	}
	device_index_to_keypair(peer->dev, index, kp);
	peer->hs_index = 0;
	n = noise_keypairs_install(&peer->keypairs, kp, evicted);
	for (i = 0; i < n; ++i)
		peer_keypair_release(peer, evicted[i]);
	timers_session_derived(peer);
	return true;
}

void peer_clear_keys(struct wg_peer *peer)
{
	struct noise_keypairs *k = &peer->keypairs;

	peer_keypair_release(peer, k->current_keypair);
	if (k->previous_keypair != k->current_keypair)
		peer_keypair_release(peer, k->previous_keypair);
	if (k->next_keypair != k->current_keypair && k->next_keypair != k->previous_keypair)
		peer_keypair_release(peer, k->next_keypair);
	k->current_keypair = k->previous_keypair = k->next_keypair = NULL;
	clear_handshake(peer);
}

static void clear_handshake(struct wg_peer *peer)
{
	struct index_entry *e;

	if (peer->hs_index) {
		e = device_index_find(peer->dev, peer->hs_index);
		if (e && e->kind == INDEX_HANDSHAKE && e->peer == peer)
			device_index_remove(peer->dev, peer->hs_index);
		peer->hs_index = 0;
	}
	noise_handshake_clear(&peer->handshake);
}

void peer_expire_current_keypairs(struct wg_peer *peer)
{
	clear_handshake(peer);
	if (peer->keypairs.current_keypair)
		peer->keypairs.current_keypair->sending_valid = false;
	if (peer->keypairs.next_keypair)
		peer->keypairs.next_keypair->sending_valid = false;
	peer->last_sent_handshake = 0;
}

void peer_purge_staged(struct wg_peer *peer)
{
	struct pkt *p;

	while ((p = peer->staged_head)) {
		peer->staged_head = p->next;
		--peer->dev->nstaged;
		pkt_put(&peer->dev->pool, p);
	}
	peer->staged_tail = NULL;
	peer->nstaged = 0;
}

/* Staged packets of all peers together hold at most this share of the
 * pool, so that receiving always finds buffers. */
#define STAGED_MAX(dev) ((dev)->pool.max / 2)

/* The device's staging is full: the peer holding the most staged
 * packets (among this one and the first peers of the list: a bounded
 * scan) gives up its oldest, so that peers whose handshakes never
 * complete cannot crowd out the ones that work. */
static void stage_evict(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer *victim = peer, *q;
	struct pkt *old;
	unsigned scanned = 0;

	for (q = dev->peers_head; q && scanned < 256; q = q->list_next, ++scanned)
		if (q->nstaged > victim->nstaged)
			victim = q;
	old = victim->staged_head;
	if (!old)
		return;
	victim->staged_head = old->next;
	if (!victim->staged_head)
		victim->staged_tail = NULL;
	--victim->nstaged;
	--dev->nstaged;
	++dev->drops.staged_full;
	pkt_put(&dev->pool, old);
}

void peer_stage(struct wg_peer *peer, struct pkt *p)
{
	struct wg_device *dev = peer->dev;

	if (dev->nstaged >= STAGED_MAX(dev))
		stage_evict(dev, peer);
	++dev->nstaged;
	p->next = NULL;
	if (peer->staged_tail)
		peer->staged_tail->next = p;
	else
		peer->staged_head = p;
	peer->staged_tail = p;
	if (++peer->nstaged > MAX_STAGED_PACKETS) {
		struct pkt *old = peer->staged_head;

		peer->staged_head = old->next;
		--peer->nstaged;
		--dev->nstaged;
		pkt_put(&peer->dev->pool, old);
	}
}

bool peer_has_session(const struct wg_peer *peer, uint64_t now_ns)
{
	const struct noise_keypair *kp = peer->keypairs.current_keypair;

	return kp && kp->sending_valid && kp->sending_counter < REJECT_AFTER_MESSAGES &&
	       now_ns - kp->birthdate < (uint64_t)REJECT_AFTER_TIME * 1000000000ULL;
}

void peer_clear_source(struct wg_peer *peer)
{
	peer->src_valid = false;
}

void peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	noise_handshake_set_preshared_key(&peer->handshake, psk);
}

/* The one place the endpoint moves, for the UAPI, the node's paths and
 * roaming alike.  As in the kernel's wg_socket_set_peer_endpoint, the
 * cached local source is forgotten only when the address changes: the
 * reply path to an unchanged address is still good.  Setting it makes
 * the peer direct again. */
void peer_set_endpoint(struct wg_peer *peer, const union wg_sockaddr *ep)
{
	peer->routed = false;
	if (!wg_sockaddr_equal(&peer->endpoint, ep)) {
		peer->endpoint = *ep;
		peer->src_valid = false;
		peer->dev->known_dirty = true;	/* the known sources moved */
	}
}

void peer_roam(struct wg_peer *peer, const union wg_sockaddr *ep, const union wg_pktinfo *local)
{
	peer_set_endpoint(peer, ep);
	/* Replies leave from where the peer reached us; when that is unknown
	 * the kernel picks, rather than us keeping an address the peer may
	 * no longer reach. */
	if (local) {
		peer->src = *local;
		peer->src_valid = true;
	} else {
		peer->src_valid = false;
	}
}

void peer_set_routed(struct wg_peer *peer, const union wg_sockaddr *via, uint16_t mss4,
		     uint16_t mss6)
{
	peer_set_endpoint(peer, via);
	peer->routed = true;
	peer->route_mss4 = mss4;
	peer->route_mss6 = mss6;
}

void peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval)
{
	bool was_off = !peer->persistent_keepalive_interval;

	peer->persistent_keepalive_interval = interval;
	if (interval && was_off && peer->dev->bound_port && peer->endpoint.sa.sa_family)
		send_keepalive(peer);
}

static void peer_free(struct wg_peer *peer)
{
	sodium_memzero(peer, sizeof(*peer));
	free(peer);
}

void peer_remove(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	struct wg_peer **pp;

	if (peer->is_dead)
		return;
	peer->is_dead = true;
	dev->known_dirty |= peer->endpoint.sa.sa_family != 0;
	for (pp = &dev->peer_hash[key_bucket(dev, peer->public_key)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	}
	if (peer->list_prev)
		peer->list_prev->list_next = peer->list_next;
	else
		dev->peers_head = peer->list_next;
	if (peer->list_next)
		peer->list_next->list_prev = peer->list_prev;
	else
		dev->peers_tail = peer->list_prev;
	--dev->npeers;
	++dev->peers_gen;

	allowedips_remove_by_peer(&dev->allowedips, peer);
	peer_clear_keys(peer);
	peer_purge_staged(peer);
	timers_stop(peer);
	/* The timer handles are freed by the loop; the peer goes with the
	 * last of them. */
	timers_close(peer, peer_free);
}

void peer_remove_all(struct wg_device *dev)
{
	while (dev->peers_head)
		peer_remove(dev->peers_head);
}
