/* Invitations on a node (doc/protocol.md 6.6, README "Invitations"): the
 * glue of proto/overlay/auth.h and invite.h to the node's network file,
 * its overlay and its control socket.
 *
 * As an inviter (a member): `wh invite` makes an alias key of the
 * network's workbit on the thread pool, writes its alias line into the
 * network file (atomically: a temporary file, then rename, mode and owner
 * kept) and reloads, and answers the invitation string.  AUTHs are judged
 * against the file's alias lines (their expiry comments) and the trust
 * lines that replaced used ones; a first good one replaces the alias line
 * with the joiner's trust line the same way and reloads.
 *
 * As a joiner's node (the short-lived node `wh join` starts under the
 * alias key): `join` finds the inviter (a DHT lookup) and asks it for the
 * network file, chunk by chunk, until it has all of it or is refused.
 *
 * Errors: negative errno; what the user is told is in the done callback's
 * text. */
#ifndef WH_SRC_NODE_INVITE_H
#define WH_SRC_NODE_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node;

/* ok: text is the answer (the string; the file); else the reason. */
typedef void node_invite_done_fn(void *arg, bool ok, const char *text, size_t len);

enum {
	NODE_INVITE_DEFAULT_S = 3600,	/* an invitation's life by default */
	NODE_INVITE_MAX_WORKBIT = 24,	/* the alias key searched at most */
	NODE_JOIN_TIMEOUT_MS = 60000,	/* a join gives up after this */
};

/* After the overlay started; stop before it is freed. */
int node_invite_start(struct node *n);
void node_invite_stop(struct node *n);

/* Makes an invitation: hostname "" for none, expires_s 0 for the
 * default.  done runs once, later (never from within this call); a
 * negative errno with the reason in err when it cannot start. */
int node_invite_create(struct node *n, const char *hostname, uint32_t expires_s,
		       node_invite_done_fn *done, void *arg, char *err, size_t errlen);
/* Asks the inviter for the network file as real (proof: auth.h). */
int node_invite_join(struct node *n, const uint8_t inviter[32], const uint8_t real[32],
		     const uint8_t proof[16], node_invite_done_fn *done, void *arg, char *err,
		     size_t errlen);
/* The network file was reloaded: the ledger is read again at the next
 * AUTH. */
void node_invite_reloaded(struct node *n);
/* Forgets the callbacks with arg (its connection closed). */
void node_invite_cancel(struct node *n, void *arg);

#endif
