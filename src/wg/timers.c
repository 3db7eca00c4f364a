/* The timers of a peer.  Every timer of the daemon's WireGuard part is
 * here, and nothing else arms or stops them: the rest of the code reports
 * events (timers_data_sent, ...) and this file decides.
 *
 * retransmit_handshake: armed when an initiation is sent, for
 *   REKEY_TIMEOUT plus up to 334 ms of jitter.  When it fires without a
 *   completed handshake it resends the initiation, up to
 *   MAX_TIMER_HANDSHAKES attempts (90 s); after that it gives up: stops
 *   the keepalive, drops the staged packets and schedules the keys' wipe.
 * send_keepalive: armed when data (not a keepalive) arrives, for
 *   KEEPALIVE_TIMEOUT; cancelled by anything we send.  So a peer that
 *   talks to us and hears nothing back gets a keepalive after 10 s.
 * new_handshake: armed when we send data, for KEEPALIVE_TIMEOUT +
 *   REKEY_TIMEOUT plus jitter; cancelled by anything authenticated we
 *   receive.  When it fires the peer has stopped answering: start a new
 *   handshake (the endpoint may have changed).
 * zero_key_material: armed when a session is derived, for 3 x
 *   REJECT_AFTER_TIME; wipes the handshake and every keypair.
 * persistent_keepalive: re-armed by any authenticated packet in either
 *   direction when the user configured an interval; sends a keepalive
 *   to keep NAT mappings open.
 */
#include "src/wg/timers.h"

#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "src/wg/send.h"

#include <sodium.h>
#include <time.h>

static uint64_t jitter_ms(void)
{
	return randombytes_uniform(REKEY_TIMEOUT_JITTER_MAX_JIFFIES_MS);
}

static bool pending(uv_timer_t *t)
{
	return uv_is_active((uv_handle_t *)t) != 0;
}

static void expired_zero_key_material(uv_timer_t *t);

static void expired_retransmit_handshake(uv_timer_t *t)
{
	struct wg_peer *peer = t->data;

	if (peer->is_dead)
		return;
	if (peer->timer_handshake_attempts > MAX_TIMER_HANDSHAKES) {
		dev_log(peer->dev, LOG_DBG, "handshake did not complete after %u attempts, giving up",
			MAX_TIMER_HANDSHAKES + 2);
		uv_timer_stop(&peer->timer_send_keepalive);
		peer_purge_staged(peer);
		/* Wipe the keys later unless a session is derived meanwhile. */
		if (!pending(&peer->timer_zero_key_material))
			uv_timer_start(&peer->timer_zero_key_material, expired_zero_key_material,
				       (uint64_t)REJECT_AFTER_TIME * 3 * 1000, 0);
		return;
	}
	++peer->timer_handshake_attempts;
	dev_log(peer->dev, LOG_DBG, "handshake did not complete after %d s, retrying (attempt %u)",
		REKEY_TIMEOUT, peer->timer_handshake_attempts + 1);
	/* The endpoint may have moved: forget the cached source address. */
	peer_clear_source(peer);
	send_handshake_initiation(peer, true);
}

static void expired_send_keepalive(uv_timer_t *t)
{
	struct wg_peer *peer = t->data;

	if (peer->is_dead)
		return;
	send_keepalive(peer);
	if (peer->timer_need_another_keepalive) {
		peer->timer_need_another_keepalive = false;
		uv_timer_start(&peer->timer_send_keepalive, expired_send_keepalive,
			       (uint64_t)KEEPALIVE_TIMEOUT * 1000, 0);
	}
}

static void expired_new_handshake(uv_timer_t *t)
{
	struct wg_peer *peer = t->data;

	if (peer->is_dead)
		return;
	dev_log(peer->dev, LOG_DBG, "no reply for %d s after sending data, new handshake",
		KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
	peer_clear_source(peer);
	send_handshake_initiation(peer, false);
}

static void expired_zero_key_material(uv_timer_t *t)
{
	struct wg_peer *peer = t->data;

	if (peer->is_dead)
		return;
	dev_log(peer->dev, LOG_DBG, "zeroing the keys of a peer after %d s without a new session",
		REJECT_AFTER_TIME * 3);
	peer_clear_keys(peer);
}

static void expired_persistent_keepalive(uv_timer_t *t)
{
	struct wg_peer *peer = t->data;

	if (peer->is_dead)
		return;
	if (peer->persistent_keepalive_interval)
		send_keepalive(peer);
}

#define FOR_EACH_TIMER(peer, t)                                                    \
	for (uv_timer_t *const *_tp = (uv_timer_t *const[]){                       \
		     &(peer)->timer_retransmit_handshake, &(peer)->timer_send_keepalive, \
		     &(peer)->timer_new_handshake, &(peer)->timer_zero_key_material,  \
		     &(peer)->timer_persistent_keepalive, NULL };                     \
	     ((t) = *_tp) != NULL; ++_tp)

void timers_init(struct wg_peer *peer)
{
	uv_timer_t *t;

	FOR_EACH_TIMER(peer, t) {
		uv_timer_init(peer->dev->loop, t);
		t->data = peer;
	}
}

void timers_stop(struct wg_peer *peer)
{
	uv_timer_t *t;

	FOR_EACH_TIMER(peer, t)
		uv_timer_stop(t);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct wg_peer *peer = h->data;

	if (--peer->open_timer_handles == 0)
		peer->timers_closed(peer);
}

void timers_close(struct wg_peer *peer, void (*all_closed)(struct wg_peer *peer))
{
	uv_timer_t *t;

	peer->timers_closed = all_closed;
	peer->open_timer_handles = 5;
	FOR_EACH_TIMER(peer, t)
		uv_close((uv_handle_t *)t, on_timer_closed);
}

void timers_data_sent(struct wg_peer *peer)
{
	peer->last_data_tx_ns = wg_now(peer->dev);
	if (!pending(&peer->timer_new_handshake))
		uv_timer_start(&peer->timer_new_handshake, expired_new_handshake,
			       (uint64_t)(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * 1000 + jitter_ms(), 0);
}

void timers_data_received(struct wg_peer *peer)
{
	if (!pending(&peer->timer_send_keepalive))
		uv_timer_start(&peer->timer_send_keepalive, expired_send_keepalive,
			       (uint64_t)KEEPALIVE_TIMEOUT * 1000, 0);
	else
		peer->timer_need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	uv_timer_stop(&peer->timer_send_keepalive);
}

void timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	uv_timer_stop(&peer->timer_new_handshake);
}

void timers_handshake_initiated(struct wg_peer *peer)
{
	uv_timer_start(&peer->timer_retransmit_handshake, expired_retransmit_handshake,
		       (uint64_t)REKEY_TIMEOUT * 1000 + jitter_ms(), 0);
}

void timers_retransmit_in(struct wg_peer *peer, uint64_t ms)
{
	uv_timer_start(&peer->timer_retransmit_handshake, expired_retransmit_handshake, ms, 0);
}

void timers_handshake_complete(struct wg_peer *peer)
{
	struct timespec ts;

	uv_timer_stop(&peer->timer_retransmit_handshake);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	peer->last_handshake_sec = ts.tv_sec;
	peer->last_handshake_nsec = ts.tv_nsec;
}

void timers_session_derived(struct wg_peer *peer)
{
	uv_timer_start(&peer->timer_zero_key_material, expired_zero_key_material,
		       (uint64_t)REJECT_AFTER_TIME * 3 * 1000, 0);
}

void timers_any_authenticated_packet_traversal(struct wg_peer *peer)
{
	if (peer->persistent_keepalive_interval)
		uv_timer_start(&peer->timer_persistent_keepalive, expired_persistent_keepalive,
			       (uint64_t)peer->persistent_keepalive_interval * 1000, 0);
}
