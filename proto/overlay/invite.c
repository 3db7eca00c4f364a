/* The invitation string (invite.h): a bounds-checked reader over the
 * decoded bytes, and the writer that lays them out. */
#include "proto/overlay/invite.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "proto/common/byteorder.h"
#include "proto/overlay/codec.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char check_key[] = "wh invitation v1";

static void check_of(uint8_t out[OVL_INVITE_CHECK_LEN], const uint8_t *bin, size_t len)
{
	uint8_t h[BLAKE2S_HASH_LEN];

	blake2s_hash(h, sizeof(h), bin, len, (const uint8_t *)check_key, sizeof(check_key) - 1);
	memcpy(out, h, OVL_INVITE_CHECK_LEN);
}

/* A cursor over the decoded bytes: every read checks the length first. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->left < n)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum ovl_invite_err parse_bin(struct ovl_invite *inv, const uint8_t *bin, size_t len)
{
	struct rd r = { bin, len };
	const uint8_t *p;
	uint8_t sum[OVL_INVITE_CHECK_LEN];

	if (len < 1)
		return OVL_INVITE_ERR_TRUNCATED;
	/* The check first: a mistyped string is said to be one, whatever
	 * field the typo fell in. */
	if (len < OVL_INVITE_FIXED_LEN + 1 + OVL_INVITE_CHECK_LEN)
		return bin[0] != OVL_INVITE_VERSION ? OVL_INVITE_ERR_VERSION : OVL_INVITE_ERR_TRUNCATED;
	check_of(sum, bin, len - OVL_INVITE_CHECK_LEN);
	if (sodium_memcmp(sum, bin + len - OVL_INVITE_CHECK_LEN, OVL_INVITE_CHECK_LEN) != 0)
		return OVL_INVITE_ERR_CHECK;
	r.left -= OVL_INVITE_CHECK_LEN;

	p = take(&r, 1);
	if (p[0] != OVL_INVITE_VERSION)
		return OVL_INVITE_ERR_VERSION;
	memcpy(inv->inviter, take(&r, 32), 32);
	memcpy(inv->alias_sk, take(&r, 32), 32);
	inv->expires_s = be64_get(take(&r, 8));
	inv->workbit = be16_get(take(&r, 2));
	inv->ns_len = *take(&r, 1);
	if (inv->workbit > 256 || inv->ns_len == 0)
		return OVL_INVITE_ERR_FIELD;
	if (!(p = take(&r, inv->ns_len)))
		return OVL_INVITE_ERR_TRUNCATED;
	memcpy(inv->ns, p, inv->ns_len);
	inv->ns[inv->ns_len] = '\0';
	for (size_t i = 0; i < inv->ns_len; ++i)
		if (inv->ns[i] < 0x20 || inv->ns[i] > 0x7e)
			return OVL_INVITE_ERR_FIELD;
	if (!(p = take(&r, 1)))
		return OVL_INVITE_ERR_TRUNCATED;
	inv->n_boots = *p;
	if (inv->n_boots > OVL_INVITE_MAX_BOOTS)
		return OVL_INVITE_ERR_FIELD;
	for (unsigned i = 0; i < inv->n_boots; ++i) {
		if (!(p = take(&r, OVL_INVITE_BOOT_LEN)))
			return OVL_INVITE_ERR_TRUNCATED;
		memcpy(inv->boots[i].key, p, 32);
		if (!ovl_wire_addr_read(&inv->boots[i].addr, p + 32))
			return OVL_INVITE_ERR_ADDR;
	}
	return r.left ? OVL_INVITE_ERR_TRAILING : OVL_INVITE_OK;
}

enum ovl_invite_err ovl_invite_parse(struct ovl_invite *inv, const char *text, size_t len)
{
	uint8_t bin[OVL_INVITE_MAX_BIN + 3];
	enum ovl_invite_err err;
	long n;

	memset(inv, 0, sizeof(*inv));
	while (len && is_blank(text[0])) {
		++text;
		--len;
	}
	while (len && is_blank(text[len - 1]))
		--len;
	n = len <= OVL_INVITE_MAX_TEXT ? base64_decode(bin, sizeof(bin), text, len, true) : -1;
	if (n <= 0)
		err = OVL_INVITE_ERR_BASE64;
	else if ((size_t)n > OVL_INVITE_MAX_BIN)
		err = OVL_INVITE_ERR_TRAILING;
	else
		err = parse_bin(inv, bin, (size_t)n);
	sodium_memzero(bin, sizeof(bin));
	if (err != OVL_INVITE_OK)
		sodium_memzero(inv, sizeof(*inv));
	return err;
}

long ovl_invite_format(char *out, size_t outmax, const struct ovl_invite *inv)
{
	uint8_t bin[OVL_INVITE_MAX_BIN];
	size_t n = 0, tlen;
	long ret = -EINVAL;

	if (inv->workbit > 256 || inv->ns_len == 0 || inv->n_boots > OVL_INVITE_MAX_BOOTS)
		return -EINVAL;
	bin[n++] = OVL_INVITE_VERSION;
	memcpy(bin + n, inv->inviter, 32);
	n += 32;
	memcpy(bin + n, inv->alias_sk, 32);
	n += 32;
	be64_put(bin + n, inv->expires_s);
	n += 8;
	be16_put(bin + n, inv->workbit);
	n += 2;
	bin[n++] = inv->ns_len;
	memcpy(bin + n, inv->ns, inv->ns_len);
	n += inv->ns_len;
	bin[n++] = inv->n_boots;
	for (unsigned i = 0; i < inv->n_boots; ++i) {
		memcpy(bin + n, inv->boots[i].key, 32);
		if (!ovl_wire_addr_write(bin + n + 32, &inv->boots[i].addr))
			goto out;
		n += OVL_INVITE_BOOT_LEN;
	}
	check_of(bin + n, bin, n);
	n += OVL_INVITE_CHECK_LEN;
	tlen = base64_encoded_len(n, true);
	if (tlen > outmax) {
		ret = -EMSGSIZE;
		goto out;
	}
	base64_encode(out, outmax, bin, n, true);
	ret = (long)strlen(out);
out:
	sodium_memzero(bin, sizeof(bin));
	return ret;
}

const char *ovl_invite_strerror(enum ovl_invite_err err)
{
	static const char *const msg[OVL_INVITE_ERR_MAX] = {
		[OVL_INVITE_OK] = "a valid invitation",
		[OVL_INVITE_ERR_BASE64] = "not an invitation (not URL-safe base64 of the right size)",
		[OVL_INVITE_ERR_VERSION] = "an invitation of a version this wh does not read",
		[OVL_INVITE_ERR_TRUNCATED] = "a truncated invitation",
		[OVL_INVITE_ERR_TRAILING] = "an invitation with bytes after its end",
		[OVL_INVITE_ERR_FIELD] = "a malformed invitation (namespace, workbit or boot count)",
		[OVL_INVITE_ERR_ADDR] = "a malformed invitation (a boot node's address)",
		[OVL_INVITE_ERR_CHECK] = "a mistyped invitation: its check does not match "
					 "(copy it again, whole)",
	};

	return (unsigned)err < OVL_INVITE_ERR_MAX ? msg[err] : "an invalid invitation";
}

/* The comment of a line: from a '#' that starts a word to the end,
 * trailing blanks dropped. */
static const char *comment_of(const char *line, size_t len, size_t *clen)
{
	for (size_t i = 0; i < len; ++i) {
		if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
			*clen = len - i;
			while (*clen && is_blank(line[i + *clen - 1]))
				--*clen;
			return line + i;
		}
	}
	return NULL;
}

enum ovl_invite_note ovl_invite_note_parse(const char *line, size_t len, uint64_t *expires_s,
					   uint8_t alias[32])
{
	static const size_t elen = sizeof(OVL_INVITE_NOTE_EXPIRES) - 1;
	static const size_t jlen = sizeof(OVL_INVITE_NOTE_JOINED) - 1;
	size_t clen = 0;
	const char *c = comment_of(line, len, &clen);

	if (!c)
		return OVL_INVITE_NOTE_NONE;
	if (clen > elen && !memcmp(c, OVL_INVITE_NOTE_EXPIRES, elen) && clen - elen <= 19) {
		uint64_t v = 0;

		for (size_t i = elen; i < clen; ++i) {
			if (c[i] < '0' || c[i] > '9')
				return OVL_INVITE_NOTE_NONE;
			v = v * 10 + (uint64_t)(c[i] - '0');
		}
		*expires_s = v;
		return OVL_INVITE_NOTE_EXPIRES_AT;
	}
	if (clen > jlen && !memcmp(c, OVL_INVITE_NOTE_JOINED, jlen) &&
	    key_from_base64(alias, c + jlen, clen - jlen))
		return OVL_INVITE_NOTE_JOINED_WITH;
	return OVL_INVITE_NOTE_NONE;
}
