/* Invitations on a node, inside src/node (invite.h): the state both
 * sides share, owned by invite.c (created, timers, freed); the joiner's
 * side is invite_join.c. */
#ifndef WH_SRC_NODE_INVITE_PRIV_H
#define WH_SRC_NODE_INVITE_PRIV_H

#include "proto/overlay/auth.h"
#include "src/io/packet.h"
#include "src/node/invite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct node;

enum {
	FILE_MAX = 16 << 20,		/* as the network file's reader */
	JOIN_TICK_MS = 1000,		/* AUTH again after a silence this long */
	LOOKUP_EVERY_TICKS = 3,
	EXPIRY_MAX_WAIT_MS = 60000,	/* the wall clock is read again this often */
	EXPIRY_SLACK_MS = 50,		/* after the second: time() may lag a tick */
	REFUSED_LOG_MS = 10000,		/* at most one refusal logged this often */
	JOIN_RELAYS = 3,		/* relays the joiner tries at once */
	RELAY_PING_TICKS = 5,		/* the joiner pings them this often */
	GUESTS_MAX = 16,		/* aliases used lately, still heard through relays */
	GUEST_MS = 600000,		/* for this long after their use */
};

/* One way to the inviter: through the relay via at addr (the joiner's
 * node heard that via can reach it: on_reach), or directly at addr. */
struct join_way {
	bool relayed;
	uint8_t via[32];
	union wg_sockaddr addr;
};

/* An alias used lately: its joiner may still ask for the rest of the
 * file, or again for a lost chunk, through a relay, which forwards to us
 * only from keys our PEERS name (doc/protocol.md 6.6). */
struct guest {
	uint8_t alias[32];
	uint64_t until_ms;		/* loop time; 0: free */
};

struct node_invite {
	struct node *n;			/* NULL once stopped */
	struct ovl_invites ledger;
	bool ledger_ok;			/* read from the file as it now is */
	uint8_t *file;			/* the network file as last read */
	size_t file_len;

	/* An invitation being made: its alias key on the thread pool. */
	uv_work_t work;
	bool working;
	uint8_t alias_sk[32];
	unsigned want;
	char ns[256];
	char hostname[254];
	uint32_t expires_s;
	node_invite_done_fn *mk_done;
	void *mk_arg;

	/* A join under way (wh join's node): the inviter's address the DHT
	 * gave (direct), the relays that can reach it, the way the last
	 * answer came. */
	bool joining;
	struct ovl_joiner j;
	uint8_t *jfile;
	bool have_addr;
	union wg_sockaddr inviter_addr;
	struct join_way relays[JOIN_RELAYS];
	unsigned n_relays;
	struct join_way answered;
	bool have_answered;
	uv_timer_t timer;
	bool timer_open;
	unsigned ticks;
	uint32_t last_got;
	node_invite_done_fn *jn_done;
	void *jn_arg;

	/* The expiry of unused invitations: at the earliest expiry of the
	 * file's alias lines, and just after the start and each reload, the
	 * expired alias lines leave the file and the node reloads (the
	 * parse already leaves them out of the members). */
	uv_timer_t expiry;
	bool expiry_open;
	bool own_reload;		/* ours: no check again right away */
	bool expiry_failed;		/* the file could not be written: said once */

	/* AUTHs refused (a forged, expired, used string): counted, and
	 * logged at most once per REFUSED_LOG_MS. */
	uint64_t refused;
	uint64_t refused_logged_ms;

	/* The aliases used lately (guests of the overlay), and the timer that
	 * ends the oldest. */
	struct guest guests[GUESTS_MAX];
	uv_timer_t guest_timer;
	bool guest_open;
};

/* The joiner's side (invite_join.c): an AUTHED from sender at from, or
 * through the relay via at from; and overlay_invite_reach_fn. */
void invite_join_take(struct node_invite *ni, const uint8_t sender[32], const uint8_t *via,
		      const union wg_sockaddr *from, const uint8_t *plain, size_t len);
void invite_join_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const union wg_sockaddr *via_addr);

#endif
