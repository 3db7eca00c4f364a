/* Invitations on the wire (auth.h, doc/protocol.md 6.6): the AUTH and
 * AUTHED codec, the proof of the real key, the inviter's ledger and the
 * joiner's side. */
#include "proto/overlay/auth.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "proto/common/byteorder.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char proof_label[] = "wh overlay v1 auth";

/* ---- codec ---- */

bool ovl_auth_decode(struct ovl_auth *a, const uint8_t *buf, size_t len)
{
	if (len < OVL_AUTH_LEN || buf[0] != OVL_MSG_AUTH)
		return false;
	memcpy(a->real, buf + 1, 32);
	memcpy(a->proof, buf + 33, OVL_AUTH_PROOF_LEN);
	a->offset = be32_get(buf + 49);
	a->pad_len = be16_get(buf + 53);
	if (len != OVL_AUTH_LEN + (size_t)a->pad_len)
		return false;
	return ct_is_zero(buf + OVL_AUTH_LEN, a->pad_len);
}

long ovl_auth_encode(uint8_t *out, size_t outmax, const struct ovl_auth *a)
{
	size_t len = OVL_AUTH_LEN + (size_t)a->pad_len;

	if (len > OVL_MAX_PLAINTEXT || len > outmax)
		return -EMSGSIZE;
	out[0] = OVL_MSG_AUTH;
	memcpy(out + 1, a->real, 32);
	memcpy(out + 33, a->proof, OVL_AUTH_PROOF_LEN);
	be32_put(out + 49, a->offset);
	be16_put(out + 53, a->pad_len);
	memset(out + OVL_AUTH_LEN, 0, a->pad_len);
	return (long)len;
}

/* A refusal carries no file; an OK chunk lies within the file. */
static bool authed_valid(const struct ovl_authed *a)
{
	if (a->status >= OVL_AUTH_STATUS_MAX || a->len > OVL_AUTHED_MAX_CHUNK)
		return false;
	if (a->status != OVL_AUTH_OK)
		return !a->total && !a->offset && !a->len;
	return a->total <= OVL_AUTH_MAX_FILE && a->offset <= a->total &&
	       a->len <= a->total - a->offset && (a->len || a->offset == a->total);
}

bool ovl_authed_decode(struct ovl_authed *a, const uint8_t *buf, size_t len)
{
	if (len < OVL_AUTHED_HDR_LEN || buf[0] != OVL_MSG_AUTHED)
		return false;
	a->status = buf[1];
	a->total = be32_get(buf + 2);
	a->offset = be32_get(buf + 6);
	a->len = be16_get(buf + 10);
	a->chunk = buf + OVL_AUTHED_HDR_LEN;
	return len == OVL_AUTHED_HDR_LEN + (size_t)a->len && authed_valid(a);
}

long ovl_authed_encode(uint8_t *out, size_t outmax, const struct ovl_authed *a)
{
	size_t len = OVL_AUTHED_HDR_LEN + (size_t)a->len;

	if (!authed_valid(a))
		return -EINVAL;
	if (len > outmax)
		return -EMSGSIZE;
	out[0] = OVL_MSG_AUTHED;
	out[1] = a->status;
	be32_put(out + 2, a->total);
	be32_put(out + 6, a->offset);
	be16_put(out + 10, a->len);
	if (a->len)
		memcpy(out + OVL_AUTHED_HDR_LEN, a->chunk, a->len);
	return (long)len;
}

/* ---- the proof ---- */

bool ovl_auth_proof(uint8_t out[OVL_AUTH_PROOF_LEN], const uint8_t sk[32], const uint8_t peer[32],
		    const uint8_t alias[32], const uint8_t real[32], const uint8_t inviter[32],
		    const char *ns)
{
	uint8_t ss[32], k[BLAKE2S_HASH_LEN], msg[96 + 255];
	size_t nslen = strnlen(ns, 255);
	bool ret = false;

	if (!x25519_shared(ss, sk, peer))
		goto out;
	blake2s_hash2(k, proof_label, sizeof(proof_label) - 1, ss, sizeof(ss));
	memcpy(msg, alias, 32);
	memcpy(msg + 32, real, 32);
	memcpy(msg + 64, inviter, 32);
	memcpy(msg + 96, ns, nslen);
	blake2s_mac16(out, k, sizeof(k), msg, 96 + nslen);
	ret = true;
out:
	sodium_memzero(ss, sizeof(ss));
	sodium_memzero(k, sizeof(k));
	return ret;
}

/* ---- the inviter ---- */

void ovl_invites_init(struct ovl_invites *inv, const uint8_t sk[32], const uint8_t pk[32],
		      const char *ns, unsigned workbit)
{
	memset(inv, 0, sizeof(*inv));
	memcpy(inv->sk, sk, 32);
	memcpy(inv->pk, pk, 32);
	inv->ns = ns;
	inv->workbit = workbit;
}

void ovl_invites_clear(struct ovl_invites *inv)
{
	sodium_memzero(inv, sizeof(*inv));
}

static struct ovl_invite_slot *find(struct ovl_invites *inv, const uint8_t alias[32])
{
	for (unsigned i = 0; i < inv->n; ++i)
		if (sodium_memcmp(inv->slot[i].alias, alias, 32) == 0)
			return &inv->slot[i];
	return NULL;
}

const struct ovl_invite_slot *ovl_invites_find(const struct ovl_invites *inv,
					       const uint8_t alias[32])
{
	return find((struct ovl_invites *)inv, alias);
}

int ovl_invites_set(struct ovl_invites *inv, const uint8_t alias[32], uint64_t expires_s,
		    const uint8_t *real)
{
	struct ovl_invite_slot *s = find(inv, alias);

	if (!s) {
		if (inv->n == OVL_INVITES_MAX)
			return -ENOSPC;
		s = &inv->slot[inv->n++];
		memcpy(s->alias, alias, 32);
	}
	s->expires_s = expires_s;
	s->used = real != NULL;
	if (real)
		memcpy(s->real, real, 32);
	else
		memset(s->real, 0, 32);
	return 0;
}

static enum ovl_auth_status judge(struct ovl_invites *inv, const uint8_t alias[32],
				  const struct ovl_auth *a, uint64_t now_s, bool *first)
{
	struct ovl_invite_slot *s = find(inv, alias);
	uint8_t proof[OVL_AUTH_PROOF_LEN];

	*first = false;
	if (!s)
		return OVL_AUTH_UNKNOWN;
	/* One DH per AUTH, and only for an alias we made: a stranger cannot
	 * make us pay it. */
	if (!ovl_auth_proof(proof, inv->sk, a->real, alias, a->real, inv->pk, inv->ns) ||
	    sodium_memcmp(proof, a->proof, sizeof(proof)) != 0)
		return OVL_AUTH_FORGED;
	/* A retransmission after our answer gets the same answer, also
	 * after the expiry: the join happened before it. */
	if (s->used)
		return sodium_memcmp(s->real, a->real, 32) == 0 ? OVL_AUTH_OK : OVL_AUTH_USED;
	if (now_s >= s->expires_s)
		return OVL_AUTH_EXPIRED;
	if (workbit_of(a->real, inv->ns, strlen(inv->ns)) < inv->workbit)
		return OVL_AUTH_WORKBIT;
	*first = true;
	return OVL_AUTH_OK;
}

enum ovl_auth_status ovl_invites_judge(struct ovl_invites *inv, const uint8_t alias[32],
				       const struct ovl_auth *a, uint64_t now_s, bool *first)
{
	enum ovl_auth_status st = judge(inv, alias, a, now_s, first);

	if (st == OVL_AUTH_OK)
		++inv->taken;
	else
		++inv->refused;
	return st;
}

long ovl_invites_answer(uint8_t *out, size_t outmax, enum ovl_auth_status status,
			const uint8_t *file, size_t file_len, uint32_t offset, size_t max_chunk)
{
	struct ovl_authed a = { .status = (uint8_t)status };

	if (status == OVL_AUTH_OK && file_len > OVL_AUTH_MAX_FILE)
		a.status = OVL_AUTH_TOO_LARGE;
	if (a.status == OVL_AUTH_OK) {
		size_t n = file_len - (offset < file_len ? offset : file_len);

		if (max_chunk > OVL_AUTHED_MAX_CHUNK)
			max_chunk = OVL_AUTHED_MAX_CHUNK;
		if (offset > file_len || (!max_chunk && n))
			return -EINVAL;
		a.total = (uint32_t)file_len;
		a.offset = offset;
		a.len = (uint16_t)(n < max_chunk ? n : max_chunk);
		a.chunk = file + offset;
	}
	return ovl_authed_encode(out, outmax, &a);
}

long ovl_invites_take(struct ovl_invites *inv, const uint8_t alias[32], const uint8_t *plain,
		      size_t len, size_t dgram_len, uint64_t now_s, ovl_invites_commit_fn *commit,
		      void *arg, uint8_t *out, size_t outmax)
{
	struct ovl_auth a;
	enum ovl_auth_status st;
	const uint8_t *file = NULL;
	size_t file_len = 0, room;
	bool first;

	if (!ovl_auth_decode(&a, plain, len))
		return -EBADMSG;
	st = ovl_invites_judge(inv, alias, &a, now_s, &first);
	if (st == OVL_AUTH_OK) {
		if (commit(arg, alias, a.real, first, &file, &file_len) < 0)
			st = OVL_AUTH_FILE;
		else if (first)
			ovl_invites_set(inv, alias, find(inv, alias)->expires_s, a.real);
	}
	/* No answer larger than the AUTH (8.2): its padding pays for it. */
	room = dgram_len > OVL_OVERHEAD + OVL_AUTHED_HDR_LEN ?
		dgram_len - OVL_OVERHEAD - OVL_AUTHED_HDR_LEN : 0;
	if (st == OVL_AUTH_OK && a.offset > file_len)
		return -EINVAL;
	if (st == OVL_AUTH_OK && !room && a.offset < file_len)
		return -EMSGSIZE;
	return ovl_invites_answer(out, outmax, st, file, file_len, a.offset, room);
}

/* ---- the joiner ---- */

void ovl_joiner_start(struct ovl_joiner *j, const uint8_t inviter[32], const uint8_t real[32],
		      const uint8_t proof[OVL_AUTH_PROOF_LEN], uint8_t *file)
{
	memset(j, 0, sizeof(*j));
	memcpy(j->inviter, inviter, 32);
	memcpy(j->auth.real, real, 32);
	memcpy(j->auth.proof, proof, OVL_AUTH_PROOF_LEN);
	j->file = file;
	j->state = OVL_JOIN_ASKING;
}

bool ovl_joiner_init(struct ovl_joiner *j, const uint8_t inviter[32], const uint8_t alias[32],
		     const uint8_t real_sk[32], const char *ns, uint8_t *file)
{
	uint8_t real[32], proof[OVL_AUTH_PROOF_LEN];

	if (!x25519_public(real, real_sk) ||
	    !ovl_auth_proof(proof, real_sk, inviter, alias, real, inviter, ns))
		return false;
	ovl_joiner_start(j, inviter, real, proof, file);
	return true;
}

long ovl_joiner_auth(struct ovl_joiner *j, size_t plain_max, uint8_t *out, size_t outmax)
{
	if (j->state != OVL_JOIN_ASKING || plain_max < OVL_AUTH_LEN || plain_max > OVL_MAX_PLAINTEXT)
		return -EINVAL;
	j->auth.offset = j->got;
	j->auth.pad_len = (uint16_t)(plain_max - OVL_AUTH_LEN);
	return ovl_auth_encode(out, outmax, &j->auth);
}

bool ovl_joiner_take(struct ovl_joiner *j, const uint8_t sender[32], const uint8_t *buf,
		     size_t len)
{
	struct ovl_authed a;

	if (j->state != OVL_JOIN_ASKING || sodium_memcmp(sender, j->inviter, 32) != 0 ||
	    !ovl_authed_decode(&a, buf, len))
		return false;
	if (a.status != OVL_AUTH_OK) {
		j->status = a.status;
		j->state = OVL_JOIN_REFUSED;
		return true;
	}
	/* Chunks in order, one at a time: the file must not change size
	 * between them. */
	if (a.offset != j->got || (j->got && a.total != j->total))
		return false;
	j->total = a.total;
	memcpy(j->file + j->got, a.chunk, a.len);
	j->got += a.len;
	if (j->got == j->total)
		j->state = OVL_JOIN_DONE;
	return true;
}

const char *ovl_auth_status_name(uint8_t status)
{
	static const char *const names[OVL_AUTH_STATUS_MAX] = {
		[OVL_AUTH_OK] = "accepted",
		[OVL_AUTH_EXPIRED] = "the invitation has expired",
		[OVL_AUTH_USED] = "the invitation was already used",
		[OVL_AUTH_UNKNOWN] = "the inviter has no such invitation (forged, withdrawn, or expired)",
		[OVL_AUTH_WORKBIT] = "the key is below the network's workbit",
		[OVL_AUTH_FORGED] = "the proof of the real key is wrong",
		[OVL_AUTH_FILE] = "the inviter cannot write its network file",
		[OVL_AUTH_TOO_LARGE] = "the network file is too large to send",
	};

	return status < OVL_AUTH_STATUS_MAX ? names[status] : "an unknown refusal";
}
