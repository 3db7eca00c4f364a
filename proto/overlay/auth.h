/* Invitations on the wire (doc/protocol.md 6.6): AUTH and AUTHED, the
 * joiner's proof that it holds its real key, the inviter's ledger of
 * the aliases it made, and the joiner's side of the exchange.  Pure:
 * keys, bytes and the wall clock's seconds in; bytes out.
 *
 * The joiner seals AUTH under the alias key (the invitation's secret),
 * so only a holder of the invitation can send it; it names its real key
 * and proves it holds the real private key with a MAC under
 * X25519(real, inviter).  The inviter answers AUTHED: a refusal, or one
 * chunk of its network file at the offset asked for.  AUTH is
 * idempotent: once the alias is used by a real key, the same real key
 * gets the same answers, any other is refused (USED).
 *
 * Errors: decoders return false for any malformed message (counted by
 * the caller); encoders the length written or a negative errno. */
#ifndef WH_PROTO_OVERLAY_AUTH_H
#define WH_PROTO_OVERLAY_AUTH_H

#include "proto/overlay/overlay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OVL_AUTH_PROOF_LEN = 16,
	OVL_AUTH_LEN = 55,		/* type, real key, proof, offset, pad_len */
	OVL_AUTHED_HDR_LEN = 12,	/* type, status, total, offset, len */
	OVL_AUTHED_MAX_CHUNK = OVL_MAX_PLAINTEXT - OVL_AUTHED_HDR_LEN,	/* 1210 */
	/* An AUTH sent through a relay is one RELAY chunk on the wire
	 * (doc/protocol.md 6.6): its plaintext, and the AUTHED's chunk. */
	OVL_AUTH_RELAYED_PLAIN = OVL_RELAY_MAX_CHUNK - OVL_OVERHEAD,	/* 1106 */
	OVL_AUTHED_RELAYED_CHUNK = OVL_AUTH_RELAYED_PLAIN - OVL_AUTHED_HDR_LEN,	/* 1094 */
	OVL_AUTH_MAX_FILE = 1 << 20,	/* the largest network file sent */
	OVL_INVITES_MAX = 64,		/* live aliases an inviter keeps */
};

_Static_assert(OVL_OVERHEAD + OVL_AUTH_RELAYED_PLAIN == OVL_RELAY_MAX_CHUNK,
	       "a relayed AUTH is one RELAY chunk");

enum ovl_auth_status {
	OVL_AUTH_OK = 0,
	OVL_AUTH_EXPIRED = 1,		/* the invitation's time is over */
	OVL_AUTH_USED = 2,		/* already used by another key */
	OVL_AUTH_UNKNOWN = 3,		/* no such alias: forged, withdrawn, or expired */
	OVL_AUTH_WORKBIT = 4,		/* the real key is below the network's workbit */
	OVL_AUTH_FORGED = 5,		/* the proof of the real key is wrong */
	OVL_AUTH_FILE = 6,		/* the inviter could not write its network file */
	OVL_AUTH_TOO_LARGE = 7,		/* the network file is over OVL_AUTH_MAX_FILE */
	OVL_AUTH_STATUS_MAX,
};

struct ovl_auth {
	uint8_t real[32];
	uint8_t proof[OVL_AUTH_PROOF_LEN];
	uint32_t offset;		/* of the network file's chunk asked for */
	uint16_t pad_len;		/* zero bytes after the body */
};

/* chunk points into the decoded buffer (or the caller's bytes). */
struct ovl_authed {
	uint8_t status;			/* enum ovl_auth_status */
	uint32_t total;			/* the file's size; 0 unless OK */
	uint32_t offset;
	const uint8_t *chunk;
	uint16_t len;			/* offset + len <= total */
};

bool ovl_auth_decode(struct ovl_auth *a, const uint8_t *buf, size_t len);
long ovl_auth_encode(uint8_t *out, size_t outmax, const struct ovl_auth *a);
bool ovl_authed_decode(struct ovl_authed *a, const uint8_t *buf, size_t len);
long ovl_authed_encode(uint8_t *out, size_t outmax, const struct ovl_authed *a);

/* The proof: a MAC under X25519(sk, peer) of alias || real || inviter ||
 * ns.  The joiner computes it with (real_sk, inviter), the inviter checks
 * it with (its sk, real).  false: a DH output of zero. */
bool ovl_auth_proof(uint8_t out[OVL_AUTH_PROOF_LEN], const uint8_t sk[32], const uint8_t peer[32],
		    const uint8_t alias[32], const uint8_t real[32], const uint8_t inviter[32],
		    const char *ns);

/* ---- the inviter ---- */

struct ovl_invite_slot {
	uint8_t alias[32];
	uint64_t expires_s;		/* Unix seconds */
	bool used;
	uint8_t real[32];		/* who used it, when used */
};

/* The aliases of our network file (the owner sets them after each load)
 * and what we need to check an AUTH. */
struct ovl_invites {
	uint8_t sk[32], pk[32];		/* ours; sk wiped by ovl_invites_clear */
	const char *ns;			/* the owner's, outlives this */
	unsigned workbit;
	unsigned n;
	struct ovl_invite_slot slot[OVL_INVITES_MAX];
	uint64_t taken, refused;	/* AUTHs answered OK, refused */
};

void ovl_invites_init(struct ovl_invites *inv, const uint8_t sk[32], const uint8_t pk[32],
		      const char *ns, unsigned workbit);
void ovl_invites_clear(struct ovl_invites *inv);
/* Adds or updates an alias; real NULL: not used yet.  -ENOSPC when full. */
int ovl_invites_set(struct ovl_invites *inv, const uint8_t alias[32], uint64_t expires_s,
		    const uint8_t *real);
const struct ovl_invite_slot *ovl_invites_find(const struct ovl_invites *inv,
					       const uint8_t alias[32]);
/* Judges an AUTH from alias at now_s: OVL_AUTH_OK with *first set when
 * the alias is still to be consumed (the owner then writes its file and
 * calls ovl_invites_set with the real key; if it cannot, it answers
 * OVL_AUTH_FILE and the alias stays live), OK with *first false for the
 * real key that used it already, or the refusal. */
enum ovl_auth_status ovl_invites_judge(struct ovl_invites *inv, const uint8_t alias[32],
				       const struct ovl_auth *a, uint64_t now_s, bool *first);
/* The AUTHED plaintext for status, or for OK the chunk of file at
 * offset, of at most max_chunk bytes (what the AUTH paid for: 8.2).
 * Returns its length or a negative errno. */
long ovl_invites_answer(uint8_t *out, size_t outmax, enum ovl_auth_status status,
			const uint8_t *file, size_t file_len, uint32_t offset, size_t max_chunk);

/* What the owner does for an accepted AUTH: first, the alias is still to
 * be consumed: write the network file with the real key's trust line in
 * place of the alias (and reload); not first, a retransmission.  Either
 * way it points *file at the network file as it now is.  A negative errno
 * when the file could not be written: the alias then stays live. */
typedef int ovl_invites_commit_fn(void *arg, const uint8_t alias[32], const uint8_t real[32],
				  bool first, const uint8_t **file, size_t *file_len);

/* The whole of an AUTH from alias (plain: its plaintext; dgram_len: the
 * size of the datagram it came in, which bounds the answer, 8.2): writes
 * the AUTHED plaintext to answer into out and returns its length, or a
 * negative errno for a malformed AUTH (not answered). */
long ovl_invites_take(struct ovl_invites *inv, const uint8_t alias[32], const uint8_t *plain,
		      size_t len, size_t dgram_len, uint64_t now_s, ovl_invites_commit_fn *commit,
		      void *arg, uint8_t *out, size_t outmax);

/* ---- the joiner ---- */

enum ovl_join_state {
	OVL_JOIN_ASKING,		/* AUTHs go out, chunks come in */
	OVL_JOIN_DONE,			/* the whole file is in */
	OVL_JOIN_REFUSED,		/* the inviter said no: see status */
};

struct ovl_joiner {
	enum ovl_join_state state;
	uint8_t inviter[32];
	struct ovl_auth auth;		/* what we send, at the offset we need */
	uint8_t status;			/* the refusal */
	uint8_t *file;			/* the owner's buffer of OVL_AUTH_MAX_FILE bytes */
	uint32_t total, got;
};

/* real_sk: the joiner's real private key; file: a buffer of
 * OVL_AUTH_MAX_FILE bytes the owner keeps.  false: a DH output of zero. */
bool ovl_joiner_init(struct ovl_joiner *j, const uint8_t inviter[32], const uint8_t alias[32],
		     const uint8_t real_sk[32], const char *ns, uint8_t *file);
/* The same with the real key and its proof made elsewhere (wh join
 * makes the proof, its node asks). */
void ovl_joiner_start(struct ovl_joiner *j, const uint8_t inviter[32], const uint8_t real[32],
		      const uint8_t proof[OVL_AUTH_PROOF_LEN], uint8_t *file);
/* The next AUTH's plaintext, padded to plain_max bytes (at most
 * OVL_MAX_PLAINTEXT: sent directly; OVL_AUTH_RELAYED_PLAIN: through a
 * relay), so that its datagram pays for an AUTHED as large; its length or
 * a negative errno. */
long ovl_joiner_auth(struct ovl_joiner *j, size_t plain_max, uint8_t *out, size_t outmax);
/* An AUTHED from sender: true when it moved the exchange (a new chunk,
 * the end, a refusal); false for anything else (another sender, a chunk
 * we did not ask for, a malformed one). */
bool ovl_joiner_take(struct ovl_joiner *j, const uint8_t sender[32], const uint8_t *buf,
		     size_t len);

const char *ovl_auth_status_name(uint8_t status);

#endif
