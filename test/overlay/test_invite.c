/* Invitations (doc/protocol.md 6.6): the invitation string
 * (proto/overlay/invite.h), the AUTH/AUTHED codec, and the exchange
 * between two engines of the simulated network (engine_sim.h) with the
 * inviter's ledger and the joiner's side of proto/overlay/auth.h.
 *
 * Topology (engines' addresses):
 *
 *   I 192.0.2.1:51820 (the inviter, a member)
 *   J 198.51.100.7:51820 (the joiner's node, under the alias key)
 *   R 203.0.113.9:51820 (a public relay; in test_relayed both I and J
 *     are NATed nodes that keep a path to R, and every AUTH and AUTHED
 *     goes through R, never from I to J: doc/protocol.md 6.6)
 *
 * The inviter's network file is a string in memory here; its owner's
 * commit replaces the alias line with the joiner's trust line, or fails
 * as an unwritable file does. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/workbit.h"
#include "proto/overlay/addr.h"
#include "proto/overlay/auth.h"
#include "proto/overlay/invite.h"
#include "test/overlay/engine_sim.h"
#include "test/tap.h"

enum { WORKBIT = 6 };

/* ---- the string ---- */

static void sample(struct ovl_invite *inv, unsigned boots)
{
	memset(inv, 0, sizeof(*inv));
	randombytes_buf(inv->inviter, 32);
	randombytes_buf(inv->alias_sk, 32);
	inv->expires_s = 1764979200;
	inv->workbit = 8;
	inv->ns_len = 6;
	memcpy(inv->ns, "public", 7);
	inv->n_boots = (uint8_t)boots;
	for (unsigned i = 0; i < boots; ++i) {
		uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i };

		randombytes_buf(inv->boots[i].key, 32);
		if (i % 2)
			ovl_addr_set_v6(&inv->boots[i].addr, ip6, (uint16_t)(62096 + i));
		else
			inv->boots[i].addr = v4(198, 51, 100, (uint8_t)(7 + i), 62096);
	}
}

static bool same(const struct ovl_invite *a, const struct ovl_invite *b)
{
	if (memcmp(a->inviter, b->inviter, 32) || memcmp(a->alias_sk, b->alias_sk, 32) ||
	    a->expires_s != b->expires_s || a->workbit != b->workbit || a->ns_len != b->ns_len ||
	    memcmp(a->ns, b->ns, a->ns_len) || a->n_boots != b->n_boots)
		return false;
	for (unsigned i = 0; i < a->n_boots; ++i)
		if (memcmp(a->boots[i].key, b->boots[i].key, 32) ||
		    !ovl_addr_equal(&a->boots[i].addr, &b->boots[i].addr))
			return false;
	return true;
}

static void test_string(void)
{
	static const unsigned boot_counts[] = { 0, 1, 2, OVL_INVITE_MAX_BOOTS };
	struct ovl_invite inv, back;
	char text[OVL_INVITE_MAX_TEXT], typo[OVL_INVITE_MAX_TEXT + 8];
	unsigned typos_ok = 0, typos_check = 0;
	long n;

	for (size_t k = 0; k < sizeof(boot_counts) / sizeof(boot_counts[0]); ++k) {
		sample(&inv, boot_counts[k]);
		n = ovl_invite_format(text, sizeof(text), &inv);
		ok(n > 0 && ovl_invite_parse(&back, text, (size_t)n) == OVL_INVITE_OK &&
		   same(&inv, &back), "%u boot nodes: the string (%ld characters) reads back",
		   boot_counts[k], n);
	}
	sample(&inv, 1);
	n = ovl_invite_format(text, sizeof(text), &inv);
	/* Every character changed to every other of the alphabet: a typo is
	 * told as one, never read as another invitation. */
	for (long i = 0; i < n; ++i) {
		static const char alpha[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

		for (const char *c = alpha; *c; ++c) {
			enum ovl_invite_err err;

			if (*c == text[i])
				continue;
			memcpy(typo, text, (size_t)n + 1);
			typo[i] = *c;
			err = ovl_invite_parse(&back, typo, (size_t)n);
			typos_ok += err == OVL_INVITE_OK;
			typos_check += err == OVL_INVITE_ERR_CHECK;
		}
	}
	ok(typos_ok == 0 && typos_check > 0,
	   "every one-character typo is refused (%u of them as mistyped, none read)", typos_check);
	ok(ovl_invite_parse(&back, text, (size_t)n - 1) != OVL_INVITE_OK &&
	   ovl_invite_parse(&back, text, (size_t)n - 6) != OVL_INVITE_OK,
	   "a truncated string is refused");
	snprintf(typo, sizeof(typo), "  %s\n", text);
	ok(ovl_invite_parse(&back, typo, strlen(typo)) == OVL_INVITE_OK && same(&inv, &back),
	   "blanks around the string are ignored");
	ok(ovl_invite_parse(&back, "", 0) == OVL_INVITE_ERR_BASE64 &&
	   ovl_invite_parse(&back, "a b", 3) == OVL_INVITE_ERR_BASE64 &&
	   ovl_invite_parse(&back, "abc+/=", 6) == OVL_INVITE_ERR_BASE64,
	   "not URL-safe base64: refused as no invitation");
	ok(ovl_invite_strerror(OVL_INVITE_ERR_CHECK)[0] && ovl_invite_strerror(OVL_INVITE_ERR_MAX)[0],
	   "every error has a sentence");

	/* A forgery keeps the form: a changed alias secret with its check
	 * redone reads as an invitation; only the inviter can refuse it. */
	randombytes_buf(inv.alias_sk, 32);
	n = ovl_invite_format(typo, sizeof(typo), &inv);
	ok(n > 0 && ovl_invite_parse(&back, typo, (size_t)n) == OVL_INVITE_OK,
	   "a forged string (another alias, its check redone) parses: the inviter refuses it");

	inv.workbit = 257;
	ok(ovl_invite_format(text, sizeof(text), &inv) == -EINVAL, "workbit 257: not written");
	inv.workbit = 8;
	inv.ns_len = 0;
	ok(ovl_invite_format(text, sizeof(text), &inv) == -EINVAL, "an empty namespace: not written");
	inv.ns_len = 6;
	ok(ovl_invite_format(text, 20, &inv) == -EMSGSIZE, "a buffer too small: -EMSGSIZE");
}

/* A binary form with any version, its check right: told apart. */
static void test_string_version(void)
{
	struct ovl_invite inv, back;
	uint8_t bin[OVL_INVITE_MAX_BIN];
	char text[OVL_INVITE_MAX_TEXT];
	long n, blen;

	sample(&inv, 0);
	n = ovl_invite_format(text, sizeof(text), &inv);
	blen = sodium_base642bin(bin, sizeof(bin), text, (size_t)n, NULL, (size_t *)&blen, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 ? blen : -1;
	ok(blen == OVL_INVITE_FIXED_LEN + 6 + 1 + OVL_INVITE_CHECK_LEN,
	   "the binary form is %ld bytes, as the layout says", blen);
	bin[0] = 2;
	{
		uint8_t h[32];

		blake2s_hash(h, sizeof(h), bin, (size_t)blen - 4, (const uint8_t *)"wh invitation v1", 16);
		memcpy(bin + blen - 4, h, 4);
	}
	sodium_bin2base64(text, sizeof(text), bin, (size_t)blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ok(ovl_invite_parse(&back, text, strlen(text)) == OVL_INVITE_ERR_VERSION,
	   "version 2 with a right check: refused as a version this build does not read");
}

/* The comments the inviter keeps in its network file. */
static void test_notes(void)
{
	static const char key[] = "zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmQ";
	static const struct {
		const char *line;
		enum ovl_invite_note want;
		uint64_t expires;
	} v[] = {
		{ "alias jn KEY # wh invite: expires 1764980000", OVL_INVITE_NOTE_EXPIRES_AT, 1764980000 },
		{ "alias jn KEY\t# wh invite: expires 7  ", OVL_INVITE_NOTE_EXPIRES_AT, 7 },
		{ "# wh invite: expires 12", OVL_INVITE_NOTE_EXPIRES_AT, 12 },
		{ "alias jn KEY # wh invite: expires ", OVL_INVITE_NOTE_NONE, 0 },
		{ "alias jn KEY # wh invite: expires 12x", OVL_INVITE_NOTE_NONE, 0 },
		{ "alias jn KEY # wh invite: expires 123456789012345678901", OVL_INVITE_NOTE_NONE, 0 },
		{ "alias jn KEY#wh invite: expires 12", OVL_INVITE_NOTE_NONE, 0 },
		{ "alias jn KEY # a comment of the admin", OVL_INVITE_NOTE_NONE, 0 },
		{ "alias jn KEY", OVL_INVITE_NOTE_NONE, 0 },
		{ "trust jn KEY # wh invite: joined with alias notakey", OVL_INVITE_NOTE_NONE, 0 },
	};
	char line[200];
	uint8_t alias[32], want[32];
	uint64_t exp;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		exp = 0;
		ok(ovl_invite_note_parse(v[i].line, strlen(v[i].line), &exp, alias) == v[i].want &&
		   exp == v[i].expires, "note: '%s'", v[i].line);
	}
	snprintf(line, sizeof(line), "trust jn 198.19.0.5 KEY " OVL_INVITE_NOTE_JOINED "%s", key);
	sodium_base642bin(want, 32, key, strlen(key), NULL, NULL, NULL,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ok(ovl_invite_note_parse(line, strlen(line), &exp, alias) == OVL_INVITE_NOTE_JOINED_WITH &&
	   !memcmp(alias, want, 32), "note: a trust line names the alias it replaced");
}

/* ---- AUTH and AUTHED ---- */

static void test_codec(void)
{
	struct ovl_auth a = { .offset = 1210, .pad_len = 3 }, b;
	struct ovl_authed d = { .status = OVL_AUTH_OK, .total = 10, .offset = 4, .len = 6 }, e;
	uint8_t buf[OVL_MAX_PLAINTEXT], file[10] = "0123456789";
	long n;

	randombytes_buf(a.real, 32);
	randombytes_buf(a.proof, sizeof(a.proof));
	n = ovl_auth_encode(buf, sizeof(buf), &a);
	ok(n == OVL_AUTH_LEN + 3 && ovl_auth_decode(&b, buf, (size_t)n) &&
	   !memcmp(&a, &b, sizeof(a)), "AUTH: %ld bytes, reads back", n);
	ok(!ovl_auth_decode(&b, buf, (size_t)n - 1) && !ovl_auth_decode(&b, buf, (size_t)n + 1),
	   "AUTH: truncated or trailing, refused");
	buf[n - 1] = 1;
	ok(!ovl_auth_decode(&b, buf, (size_t)n), "AUTH: nonzero padding refused");
	a.pad_len = OVL_MAX_PLAINTEXT;
	ok(ovl_auth_encode(buf, sizeof(buf), &a) == -EMSGSIZE, "AUTH: over the largest plaintext");

	d.chunk = file + 4;
	n = ovl_authed_encode(buf, sizeof(buf), &d);
	ok(n == OVL_AUTHED_HDR_LEN + 6 && ovl_authed_decode(&e, buf, (size_t)n) &&
	   e.total == 10 && e.offset == 4 && e.len == 6 && !memcmp(e.chunk, "456789", 6),
	   "AUTHED: a chunk reads back");
	buf[5] = 9;	/* total 9 < offset + len */
	ok(!ovl_authed_decode(&e, buf, (size_t)n), "AUTHED: a chunk past the file's end refused");
	d = (struct ovl_authed){ .status = OVL_AUTH_USED, .len = 1, .chunk = file };
	ok(ovl_authed_encode(buf, sizeof(buf), &d) == -EINVAL, "AUTHED: a refusal with data is not written");
	d.len = 0;
	n = ovl_authed_encode(buf, sizeof(buf), &d);
	ok(n == OVL_AUTHED_HDR_LEN && ovl_authed_decode(&e, buf, (size_t)n) &&
	   e.status == OVL_AUTH_USED, "AUTHED: a refusal reads back");
	buf[1] = OVL_AUTH_STATUS_MAX;
	ok(!ovl_authed_decode(&e, buf, (size_t)n), "AUTHED: an unknown status refused");
	ok(ovl_auth_status_name(OVL_AUTH_EXPIRED)[0] && ovl_auth_status_name(0xff)[0],
	   "every status has a sentence");
}

/* ---- the exchange through two engines ---- */

struct inviter {
	struct node *n;
	struct ovl_invites inv;
	char file[4096];		/* the network file */
	size_t len;
	bool unwritable;
	/* Relayed: the first commit moves the alias from the members to
	 * the guests (guests false: to nothing), as src/node/invite.c does. */
	bool relayed, guests;
	unsigned commits, firsts;
};

struct joiner {
	struct node *n;
	struct ovl_joiner j;
	uint8_t file[OVL_AUTH_MAX_FILE];
};

static struct inviter I;
static struct joiner J;

static void key_text(char out[65], const uint8_t k[32])
{
	sodium_bin2hex(out, 65, k, 32);
}

/* The owner's commit: the alias line becomes the real key's trust line. */
static int commit(void *arg, const uint8_t alias[32], const uint8_t real[32], bool first,
		  const uint8_t **file, size_t *file_len)
{
	struct inviter *v = arg;

	++v->commits;
	if (first) {
		char ak[65], rk[65], line[200], *at;

		if (v->unwritable)
			return -EACCES;
		key_text(ak, alias);
		key_text(rk, real);
		snprintf(line, sizeof(line), "alias c %s\n", ak);
		at = strstr(v->file, line);
		if (!at)
			return -ENOENT;
		snprintf(line, sizeof(line), "trust c %s\n", rk);
		memcpy(at, line, strlen(line));	/* the same length */
		++v->firsts;
		if (v->relayed) {
			ovl_engine_set_peers(v->n->e, (const uint8_t (*)[32])real, 1, tnow());
			ovl_engine_set_guests(v->n->e, (const uint8_t (*)[32])alias, v->guests, tnow());
		}
	}
	*file = (const uint8_t *)v->file;
	*file_len = v->len;
	return 0;
}

static void on_invite(struct node *n, const uint8_t sender[32], const struct ovl_rx *rx,
		      const uint8_t *plain, size_t len)
{
	uint8_t out[OVL_MAX_PLAINTEXT];
	long m;

	if (n == I.n) {
		m = ovl_invites_take(&I.inv, sender, plain, len, rx->len, wall0 / SEC, commit, &I,
				     out, sizeof(out));
		if (m > 0)
			ovl_engine_send_invite(n->e, sender, &rx->src, rx->via, out, (size_t)m,
					       tnow());
	} else if (n == J.n) {
		ovl_joiner_take(&J.j, sender, plain, len);
	}
}

static uint8_t inviter_sk[32];

static void inviter_setup(const uint8_t alias_pk[32], uint64_t expires_s)
{
	char ak[65];
	size_t at;

	randombytes_buf(inviter_sk, 32);
	memset(&I, 0, sizeof(I));
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	ovl_invites_init(&I.inv, inviter_sk, I.n->pub, NS, WORKBIT);
	ovl_invites_set(&I.inv, alias_pk, expires_s, NULL);
	/* A file of three chunks, the alias line in the middle. */
	key_text(ak, alias_pk);
	at = (size_t)snprintf(I.file, sizeof(I.file), "name t\nsubnet 10.9.0.0/16\n");
	while (at < 1500)
		at += (size_t)snprintf(I.file + at, sizeof(I.file) - at, "# padding %zu\n", at);
	at += (size_t)snprintf(I.file + at, sizeof(I.file) - at, "alias c %s\n", ak);
	while (at < 3000)
		at += (size_t)snprintf(I.file + at, sizeof(I.file) - at, "# more %zu\n", at);
	I.len = at;
}

/* The joiner's node under alias_sk, asking with real_sk. */
static void joiner_setup(const uint8_t alias_sk[32], const uint8_t real_sk[32])
{
	uint8_t alias_pk[32];

	crypto_scalarmult_base(alias_pk, alias_sk);
	J.n = node_new_key(v4(198, 51, 100, 7, 51820), alias_sk);
	ok(ovl_joiner_init(&J.j, I.n->pub, alias_pk, real_sk, NS, J.file), "the joiner is set up");
}

/* AUTHs until the exchange ends (or 20 rounds). */
static unsigned exchange(void)
{
	uint8_t out[OVL_MAX_PLAINTEXT];
	unsigned rounds = 0;

	while (J.j.state == OVL_JOIN_ASKING && rounds < 20) {
		long m = ovl_joiner_auth(&J.j, OVL_MAX_PLAINTEXT, out, sizeof(out));

		if (m < 0 || ovl_engine_send_invite(J.n->e, I.n->pub, &I.n->addr, NULL, out, (size_t)m,
						    tnow()) < 0)
			break;
		run(NULL, false);
		++rounds;
	}
	return rounds;
}

/* A key of at least (or, below: under) the workbit. */
static void key_with(uint8_t sk[32], bool enough)
{
	uint8_t pk[32];

	do {
		randombytes_buf(sk, 32);
		crypto_scalarmult_base(pk, sk);
	} while ((workbit_of(pk, NS, strlen(NS)) >= WORKBIT) != enough);
}

static void alias_key(uint8_t sk[32], uint8_t pk[32])
{
	randombytes_buf(sk, 32);
	crypto_scalarmult_base(pk, sk);
}

static void test_join(void)
{
	uint8_t alias_sk[32], alias_pk[32], real_sk[32], real_pk[32], other_sk[32];
	char before[4096], rk[65];
	const struct ovl_invite_slot *s;
	unsigned rounds;

	alias_key(alias_sk, alias_pk);
	inviter_setup(alias_pk, wall0 / SEC + 3600);
	memcpy(before, I.file, I.len + 1);
	key_with(real_sk, true);
	crypto_scalarmult_base(real_pk, real_sk);

	joiner_setup(alias_sk, real_sk);
	rounds = exchange();
	key_text(rk, real_pk);
	ok(J.j.state == OVL_JOIN_DONE && J.j.got == I.len && !memcmp(J.file, I.file, I.len),
	   "good join: the whole file (%zu bytes) in %u AUTHs", I.len, rounds);
	ok(rounds == 3, "three chunks, one AUTH each");
	ok(I.firsts == 1 && strstr(I.file, rk) && memcmp(I.file, before, I.len) != 0,
	   "the alias line became the real key's trust line, once");
	s = ovl_invites_find(&I.inv, alias_pk);
	ok(s && s->used && !memcmp(s->real, real_pk, 32), "the alias is used by the real key");

	/* A retransmission after success: the same answers. */
	net_reset();
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	joiner_setup(alias_sk, real_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_DONE && !memcmp(J.file, I.file, I.len) && I.firsts == 1,
	   "the same real key again: the same file, nothing written");

	/* Another real key with the used alias. */
	net_reset();
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	memcpy(before, I.file, I.len + 1);
	key_with(other_sk, true);
	joiner_setup(alias_sk, other_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_REFUSED && J.j.status == OVL_AUTH_USED && !J.j.got,
	   "another key with the used alias: refused, used (%s)", ovl_auth_status_name(J.j.status));
	ok(!memcmp(before, I.file, I.len), "the inviter's file is unchanged");
	net_reset();
}

static void test_refusals(void)
{
	uint8_t alias_sk[32], alias_pk[32], real_sk[32], low_sk[32], forged_sk[32], forged_pk[32];
	char before[4096];
	const struct ovl_invite_slot *s;

	/* Expired. */
	alias_key(alias_sk, alias_pk);
	inviter_setup(alias_pk, wall0 / SEC - 1);
	memcpy(before, I.file, I.len + 1);
	key_with(real_sk, true);
	joiner_setup(alias_sk, real_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_REFUSED && J.j.status == OVL_AUTH_EXPIRED && !I.commits &&
	   !memcmp(before, I.file, I.len), "expired: refused, the file unchanged");
	net_reset();

	/* A forged alias secret: a key the inviter never made. */
	alias_key(alias_sk, alias_pk);
	inviter_setup(alias_pk, wall0 / SEC + 3600);
	memcpy(before, I.file, I.len + 1);
	alias_key(forged_sk, forged_pk);
	joiner_setup(forged_sk, real_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_REFUSED && J.j.status == OVL_AUTH_UNKNOWN && !I.commits &&
	   !memcmp(before, I.file, I.len), "a forged alias secret: refused (%s), the file unchanged",
	   ovl_auth_status_name(J.j.status));
	net_reset();

	/* Below the workbit: refused, and the alias stays live. */
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	key_with(low_sk, false);
	joiner_setup(alias_sk, low_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_REFUSED && J.j.status == OVL_AUTH_WORKBIT && !I.commits,
	   "a real key below the workbit: refused");
	s = ovl_invites_find(&I.inv, alias_pk);
	ok(s && !s->used, "the alias is still live");
	net_reset();

	/* A file that cannot be written: refused, the alias stays live. */
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	I.unwritable = true;
	joiner_setup(alias_sk, real_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_REFUSED && J.j.status == OVL_AUTH_FILE,
	   "an unwritable file: refused (%s)", ovl_auth_status_name(J.j.status));
	s = ovl_invites_find(&I.inv, alias_pk);
	ok(s && !s->used && !memcmp(before, I.file, I.len), "the alias is still live, the file unchanged");
	net_reset();

	/* Then the same invitation works. */
	I.n = node_new_key(v4(192, 0, 2, 1, 51820), inviter_sk);
	I.unwritable = false;
	joiner_setup(alias_sk, real_sk);
	exchange();
	ok(J.j.state == OVL_JOIN_DONE && I.firsts == 1, "once the file is writable, the join succeeds");
	net_reset();
}

/* A wrong proof, a replayed AUTH, and an AUTH too short to pay for a
 * chunk. */
static void test_proof_replay(void)
{
	uint8_t alias_sk[32], alias_pk[32], real_sk[32], out[OVL_MAX_PLAINTEXT], ans[OVL_MAX_PLAINTEXT];
	struct ovl_auth a;
	struct ovl_authed d;
	struct dgram auth;
	uint64_t dropped;
	long m;
	bool first;

	alias_key(alias_sk, alias_pk);
	inviter_setup(alias_pk, wall0 / SEC + 3600);
	key_with(real_sk, true);
	joiner_setup(alias_sk, real_sk);

	m = ovl_joiner_auth(&J.j, OVL_MAX_PLAINTEXT, out, sizeof(out));
	ok(m == OVL_MAX_PLAINTEXT && ovl_auth_decode(&a, out, (size_t)m),
	   "the joiner's AUTH fills a datagram (%ld bytes of plaintext)", m);
	a.proof[0] ^= 1;
	ok(ovl_invites_judge(&I.inv, alias_pk, &a, wall0 / SEC, &first) == OVL_AUTH_FORGED,
	   "a wrong proof of the real key: refused as forged");
	randombytes_buf(a.real, 32);
	a.proof[0] ^= 1;
	ok(ovl_invites_judge(&I.inv, alias_pk, &a, wall0 / SEC, &first) == OVL_AUTH_FORGED,
	   "a proof for another real key: refused as forged");

	/* A replayed datagram is dropped by the secure layer. */
	ovl_engine_send_invite(J.n->e, I.n->pub, &I.n->addr, NULL, out, (size_t)m, tnow());
	auth = q[0];
	run(NULL, false);
	dropped = ovl_engine_stats(I.n->e)->dropped_secure;
	input(I.n, &auth.src, auth.buf, auth.len);
	ok(ovl_engine_stats(I.n->e)->dropped_secure == dropped + 1 && qn == 0,
	   "a replayed AUTH is dropped, not answered");

	/* A short AUTH gets a chunk no larger than itself. */
	a = J.j.auth;
	a.offset = 0;
	a.pad_len = 0;
	m = ovl_auth_encode(out, sizeof(out), &a);
	m = ovl_invites_take(&I.inv, alias_pk, out, (size_t)m, (size_t)m + OVL_OVERHEAD,
			     wall0 / SEC, commit, &I, ans, sizeof(ans));
	ok(m > 0 && m <= OVL_AUTH_LEN && ovl_authed_decode(&d, ans, (size_t)m) &&
	   d.status == OVL_AUTH_OK && d.len == OVL_AUTH_LEN - OVL_AUTHED_HDR_LEN,
	   "an unpadded AUTH gets %ld bytes back, no more than it sent (8.2)", m);
	ok(ovl_invites_take(&I.inv, alias_pk, out, 10, 100, wall0 / SEC, commit, &I, ans,
			    sizeof(ans)) == -EBADMSG, "a malformed AUTH is not answered");
	net_reset();
}

/* ---- through a relay ---- */

static struct node *R;

/* AUTHs through R until the exchange ends (or 20 rounds); whether any
 * datagram went straight between I and J. */
static unsigned exchange_relayed(bool *direct)
{
	uint8_t out[OVL_MAX_PLAINTEXT];
	unsigned rounds = 0, i;

	*direct = false;
	while (J.j.state == OVL_JOIN_ASKING && rounds < 20) {
		long m = ovl_joiner_auth(&J.j, OVL_AUTH_RELAYED_PLAIN, out, sizeof(out));

		if (m < 0 || ovl_engine_send_invite(J.n->e, I.n->pub, &R->addr, R->pub, out, (size_t)m,
						    tnow()) < 0)
			break;
		for (i = 0; i < qn; ++i)
			*direct |= ovl_addr_equal(&q[i].to, &I.n->addr) ||
				   ovl_addr_equal(&q[i].to, &J.n->addr);
		run(NULL, false);
		++rounds;
		now += 10 * MS;
	}
	return rounds;
}

/* I and J behind NATs, each with a validated path at R (a PING, R's PING
 * back, the PONG); I's PEERS at R name the alias (a member of I's file),
 * J's the inviter (node_invite_join). */
static void relayed_setup(const uint8_t alias_sk[32], const uint8_t alias_pk[32],
			  const uint8_t real_sk[32], bool guests)
{
	inviter_setup(alias_pk, wall0 / SEC + 3600);
	I.relayed = true;
	I.guests = guests;
	joiner_setup(alias_sk, real_sk);
	R = node_new(v4(203, 0, 113, 9, 51820), true, true, 0, 0);
	ovl_engine_set_peers(I.n->e, (const uint8_t (*)[32])alias_pk, 1, tnow());
	ovl_engine_set_peers(J.n->e, (const uint8_t (*)[32])I.n->pub, 1, tnow());
	ovl_engine_behind_nat(J.n->e);
	ovl_engine_ping(I.n->e, R->pub, &R->addr, NULL, NULL, tnow());
	ovl_engine_ping(J.n->e, R->pub, &R->addr, NULL, NULL, tnow());
	run(NULL, false);
	ovl_engine_register_peers(I.n->e, R->pub, &R->addr, false, tnow());
	ovl_engine_register_peers(J.n->e, R->pub, &R->addr, false, tnow());
	run(NULL, false);
}

static void test_relayed(void)
{
	uint8_t alias_sk[32], alias_pk[32], real_sk[32], out[OVL_MAX_PLAINTEXT];
	uint64_t dropped, secure, fwd;
	unsigned rounds;
	bool direct;
	long m;

	alias_key(alias_sk, alias_pk);
	key_with(real_sk, true);
	relayed_setup(alias_sk, alias_pk, real_sk, true);
	m = ovl_joiner_auth(&J.j, OVL_MAX_PLAINTEXT, out, sizeof(out));
	ok(ovl_engine_send_invite(J.n->e, I.n->pub, &R->addr, R->pub, out, (size_t)m, tnow()) ==
	   -EMSGSIZE && qn == 0, "a full-size AUTH does not fit one RELAY: not sent");
	m = ovl_joiner_auth(&J.j, OVL_AUTH_RELAYED_PLAIN, out, sizeof(out));
	ok(m == OVL_AUTH_RELAYED_PLAIN && m + OVL_OVERHEAD == OVL_RELAY_MAX_CHUNK,
	   "a relayed AUTH is one RELAY chunk (%ld bytes of plaintext)", m);
	fwd = ovl_engine_stats(R->e)->relay_forwarded;
	rounds = exchange_relayed(&direct);
	ok(J.j.state == OVL_JOIN_DONE && J.j.total == I.len && !memcmp(J.file, I.file, I.len),
	   "the joiner has the whole file through the relay (%u AUTHs, chunks of at most %d)",
	   rounds, OVL_AUTHED_RELAYED_CHUNK);
	ok(rounds == (I.len + OVL_AUTHED_RELAYED_CHUNK - 1) / OVL_AUTHED_RELAYED_CHUNK &&
	   I.firsts == 1, "one chunk per AUTH, the alias consumed once");
	ok(!direct && ovl_engine_stats(R->e)->relay_forwarded == fwd + 2 * rounds,
	   "every AUTH and AUTHED went through the relay, none between I and J");
	net_reset();

	/* Without the used alias among I's guests, the relay drops the
	 * AUTHs for the rest of the file: I's PEERS no longer name it. */
	alias_key(alias_sk, alias_pk);
	relayed_setup(alias_sk, alias_pk, real_sk, false);
	dropped = ovl_engine_stats(R->e)->relay_dropped_peer;
	exchange_relayed(&direct);
	ok(J.j.state == OVL_JOIN_ASKING && J.j.got == OVL_AUTHED_RELAYED_CHUNK &&
	   ovl_engine_stats(R->e)->relay_dropped_peer > dropped,
	   "without the guest, the relay drops the AUTHs after the first chunk (%u bytes in)",
	   J.j.got);
	net_reset();

	/* A stranger's AUTH: the relay forwards a rendezvous only from a key
	 * the destination named (I named the alias), and a node takes a
	 * relayed datagram only from a peer, before any DH. */
	alias_key(alias_sk, alias_pk);
	relayed_setup(alias_sk, alias_pk, real_sk, true);
	{
		uint8_t other_sk[32], other_pk[32];
		struct node *X;

		alias_key(other_sk, other_pk);
		X = node_new_key(v4(198, 51, 100, 8, 51820), other_sk);
		ovl_engine_behind_nat(X->e);
		ovl_engine_ping(X->e, R->pub, &R->addr, NULL, NULL, tnow());
		run(NULL, false);
		dropped = ovl_engine_stats(R->e)->relay_dropped_peer;
		m = ovl_joiner_auth(&J.j, OVL_AUTH_RELAYED_PLAIN, out, sizeof(out));
		ovl_engine_send_invite(X->e, I.n->pub, &R->addr, R->pub, out, (size_t)m, tnow());
		run(NULL, false);
		ok(ovl_engine_stats(R->e)->relay_dropped_peer == dropped + 1 && I.commits == 0,
		   "a stranger's AUTH to the inviter: dropped by the relay");
		/* To J, which named only the inviter at R: dropped there too. */
		dropped = ovl_engine_stats(R->e)->relay_dropped_peer;
		ovl_engine_send_invite(X->e, J.n->pub, &R->addr, R->pub, out, (size_t)m, tnow());
		run(NULL, false);
		ok(ovl_engine_stats(R->e)->relay_dropped_peer == dropped + 1,
		   "a stranger's message to the joiner: dropped by the relay");
		/* X named nothing at R: the relay passes J's message to X, which
		 * drops it before a DH (J is none of its peers). */
		dropped = ovl_engine_stats(X->e)->relayed_dropped;
		secure = ovl_engine_stats(X->e)->dropped_secure;
		ovl_engine_send_invite(J.n->e, X->pub, &R->addr, R->pub, out, (size_t)m, tnow());
		run(NULL, false);
		ok(ovl_engine_stats(X->e)->relayed_dropped == dropped + 1 &&
		   ovl_engine_stats(X->e)->dropped_secure == secure,
		   "a relayed message from a key that is no peer: dropped before it is opened");
	}
	net_reset();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	sim_on_invite = on_invite;
	test_string();
	test_string_version();
	test_notes();
	test_codec();
	test_join();
	test_refusals();
	test_proof_replay();
	test_relayed();
	return tap_done();
}
