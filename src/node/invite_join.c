/* Invitations on a node, the joiner's side (invite.h, doc/protocol.md
 * 6.6): the node `wh join` starts under the alias key finds the inviter,
 * directly and through the relays that name it in the DHT, and asks it
 * for the network file, chunk by chunk. */
#include "src/node/invite_priv.h"

#include "src/node/node_priv.h"

#include "proto/overlay/auth.h"
#include "src/node/overlay.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void join_end(struct node_invite *ni, bool ok, const char *text, size_t len)
{
	node_invite_done_fn *done = ni->jn_done;

	ni->joining = false;
	ni->jn_done = NULL;
	uv_timer_stop(&ni->timer);
	if (done)
		done(ni->jn_arg, ok, text, len);
}

/* An AUTH one way: padded to a full datagram directly, to one RELAY
 * chunk through a relay (doc/protocol.md 6.6). */
static void join_send(struct node_invite *ni, const struct join_way *w)
{
	uint8_t out[OVL_MAX_PLAINTEXT];
	long m = ovl_joiner_auth(&ni->j, w->relayed ? OVL_AUTH_RELAYED_PLAIN : OVL_MAX_PLAINTEXT,
				 out, sizeof(out));

	if (m > 0)
		overlay_send_invite(ni->n->ov, ni->j.inviter, w->relayed ? w->via : NULL, &w->addr,
				    out, (size_t)m);
}

/* After a silence: every way we know (the inviter's NAT may filter the
 * direct one, and a relay may have lost its path to it). */
static void join_send_all(struct node_invite *ni)
{
	struct join_way direct = { .relayed = false };

	if (ni->have_addr) {
		direct.addr = ni->inviter_addr;
		join_send(ni, &direct);
	}
	for (unsigned i = 0; i < ni->n_relays; ++i)
		join_send(ni, &ni->relays[i]);
}

void invite_join_take(struct node_invite *ni, const uint8_t sender[32], const uint8_t *via,
		      const union wg_sockaddr *from, const uint8_t *plain, size_t len)
{
	char msg[160];

	if (!ni->joining || !ovl_joiner_take(&ni->j, sender, plain, len))
		return;
	/* The inviter answered this way: keep asking this way. */
	ni->answered.relayed = via != NULL;
	if (via) {
		memcpy(ni->answered.via, via, 32);
	} else {
		ni->inviter_addr = *from;
		ni->have_addr = true;
	}
	ni->answered.addr = *from;
	ni->have_answered = true;
	if (ni->j.state == OVL_JOIN_DONE) {
		join_end(ni, true, (const char *)ni->jfile, ni->j.total);
	} else if (ni->j.state == OVL_JOIN_REFUSED) {
		snprintf(msg, sizeof(msg), "the inviter refused: %s",
			 ovl_auth_status_name(ni->j.status));
		join_end(ni, false, msg, strlen(msg));
	} else {
		join_send(ni, &ni->answered);
	}
}

/* overlay_invite_reach_fn: via can reach key behind its NAT.  For the
 * inviter, via becomes a way to it (the newest replaces the oldest); it
 * is pinged, so that it pings us back and validates our address (we run
 * behind a NAT: node_invite_join), which it needs to relay the answer. */
void invite_join_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const union wg_sockaddr *via_addr)
{
	struct node_invite *ni = ctx;
	struct join_way *w;
	unsigned i;

	if (!ni->n || !ni->joining || sodium_memcmp(key, ni->j.inviter, 32) != 0)
		return;
	for (i = 0; i < ni->n_relays; ++i)
		if (!memcmp(ni->relays[i].via, via, 32))
			break;
	if (i < ni->n_relays && !memcmp(&ni->relays[i].addr, via_addr, sizeof(*via_addr)))
		return;		/* known: the ticks use it */
	if (i == JOIN_RELAYS) {
		memmove(&ni->relays[0], &ni->relays[1], (JOIN_RELAYS - 1) * sizeof(ni->relays[0]));
		i = JOIN_RELAYS - 1;
	} else if (i == ni->n_relays) {
		++ni->n_relays;
	}
	w = &ni->relays[i];
	w->relayed = true;
	memcpy(w->via, via, 32);
	w->addr = *via_addr;
	overlay_ping(ni->n->ov, via, via_addr, NULL, NULL);
	join_send(ni, w);
}

static void on_lookup(void *arg, const struct kad_lookup_result *r)
{
	struct node_invite *ni = arg;
	union wg_sockaddr a;

	if (!ni->joining || ni->have_addr || !r->seen ||
	    !overlay_addr_to_wg(&r->target_contact.addr, &a))
		return;
	ni->inviter_addr = a;
	ni->have_addr = true;
	join_send_all(ni);
}

/* What the table knows of the inviter, else a lookup; and the public
 * nodes nearest its key, where a lookup of a node behind a NAT ends:
 * their answers name the relays that reach it (on_reach). */
static void join_find(struct node_invite *ni)
{
	const struct kad_entry *e = kad_table_find(overlay_table(ni->n->ov), ni->j.inviter);
	union wg_sockaddr a;

	overlay_ask_public(ni->n->ov, ni->j.inviter);
	if (e && overlay_addr_to_wg(&e->addr, &a)) {
		on_lookup(ni, &(struct kad_lookup_result){ .seen = true, .target_contact.addr = e->addr });
		return;
	}
	overlay_lookup(ni->n->ov, ni->j.inviter, on_lookup, ni);
}

static void on_tick(uv_timer_t *t)
{
	struct node_invite *ni = t->data;

	if (!ni->joining)
		return;
	if (++ni->ticks * JOIN_TICK_MS >= NODE_JOIN_TIMEOUT_MS) {
		static const char msg[] = "no answer from the inviter within 60 s (is it up, and "
					  "reachable from here? the boot nodes of the invitation? "
					  "through a relay, a string already used or never made "
					  "gets no answer either)";

		join_end(ni, false, msg, sizeof(msg) - 1);
		return;
	}
	if (ni->j.got == ni->last_got)
		join_send_all(ni);
	if ((!ni->have_addr || !ni->n_relays) && ni->ticks % LOOKUP_EVERY_TICKS == 0)
		join_find(ni);
	/* The relays keep a path to us only while they hear us. */
	if (ni->ticks % RELAY_PING_TICKS == 0)
		for (unsigned i = 0; i < ni->n_relays; ++i)
			overlay_ping(ni->n->ov, ni->relays[i].via, &ni->relays[i].addr, NULL, NULL);
	ni->last_got = ni->j.got;
}

int node_invite_join(struct node *n, const uint8_t inviter[32], const uint8_t real[32],
		     const uint8_t proof[16], node_invite_done_fn *done, void *arg, char *err,
		     size_t errlen)
{
	struct node_invite *ni = n->invite;

	if (!ni || ni->joining) {
		snprintf(err, errlen, "a join is already under way on this node");
		return -EBUSY;
	}
	if (n->member) {
		snprintf(err, errlen, "a member cannot join: wh join runs its own node");
		return -EINVAL;
	}
	if (!ni->jfile && !(ni->jfile = malloc(OVL_AUTH_MAX_FILE + 1))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* The inviter is the one key the relays may pass to us, and we are
	 * no public node: the relays that reach the inviter must keep a
	 * validated path to us to relay its answers (doc/protocol.md 6.6). */
	if (overlay_set_peers(n->ov, (const uint8_t (*)[32])inviter, 1) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	overlay_behind_nat(n->ov);
	ovl_joiner_start(&ni->j, inviter, real, proof, ni->jfile);
	ni->joining = true;
	ni->have_addr = false;
	ni->n_relays = 0;
	ni->have_answered = false;
	ni->ticks = 0;
	ni->last_got = 0;
	ni->jn_done = done;
	ni->jn_arg = arg;
	uv_timer_start(&ni->timer, on_tick, JOIN_TICK_MS, JOIN_TICK_MS);
	join_find(ni);
	return 0;
}
