/* libFuzzer harness for the invitation formats (doc/protocol.md 6.6):
 * the invitation string (proto/overlay/invite.c) and the AUTH and AUTHED
 * messages (proto/overlay/auth.c).
 *
 * Input: one byte that picks the parser, then its bytes:
 *   0 mod 4  the invitation string: whatever parses must format back to
 *            a string that parses to the same fields;
 *   1 mod 4  AUTH: whatever decodes must encode back to the same bytes;
 *   2 mod 4  AUTHED: the same, and a joiner fed it never writes past its
 *            buffer nor counts more than the file's size;
 *   3 mod 4  a network file's line with the inviter's comment. */
#include "proto/common/byteorder.h"
#include "proto/overlay/auth.h"
#include "proto/overlay/invite.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void string(const uint8_t *data, size_t size)
{
	struct ovl_invite inv, back;
	char text[OVL_INVITE_MAX_TEXT];
	long n;

	if (ovl_invite_parse(&inv, (const char *)data, size) != OVL_INVITE_OK)
		return;
	n = ovl_invite_format(text, sizeof(text), &inv);
	if (n <= 0 || ovl_invite_parse(&back, text, (size_t)n) != OVL_INVITE_OK)
		abort();
	if (memcmp(inv.inviter, back.inviter, 32) || memcmp(inv.alias_sk, back.alias_sk, 32) ||
	    inv.expires_s != back.expires_s || inv.workbit != back.workbit ||
	    inv.ns_len != back.ns_len || memcmp(inv.ns, back.ns, inv.ns_len) ||
	    inv.n_boots != back.n_boots)
		abort();
}

static void auth(const uint8_t *data, size_t size)
{
	struct ovl_auth a;
	uint8_t out[OVL_MAX_PLAINTEXT];
	long n;

	if (!ovl_auth_decode(&a, data, size))
		return;
	n = ovl_auth_encode(out, sizeof(out), &a);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size))
		abort();
}

static void authed(const uint8_t *data, size_t size)
{
	static uint8_t file[OVL_AUTH_MAX_FILE];
	static const uint8_t inviter[32] = { 1 };
	struct ovl_authed a;
	struct ovl_joiner j;
	uint8_t out[OVL_MAX_PLAINTEXT];
	long n;

	if (ovl_authed_decode(&a, data, size)) {
		n = ovl_authed_encode(out, sizeof(out), &a);
		if (n < 0 || (size_t)n != size || memcmp(out, data, size))
			abort();
	}
	/* A joiner part-way through a file takes it as the next chunk. */
	memset(&j, 0, sizeof(j));
	memcpy(j.inviter, inviter, 32);
	j.state = OVL_JOIN_ASKING;
	j.file = file;
	if (size >= 10) {
		j.got = be32_get(data + 6);
		j.total = be32_get(data + 2);
		if (j.got > j.total || j.total > OVL_AUTH_MAX_FILE)
			j.got = j.total = 0;
	}
	ovl_joiner_take(&j, inviter, data, size);
	if (j.got > j.total || j.total > OVL_AUTH_MAX_FILE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		string(data + 1, size - 1);
		break;
	case 1:
		auth(data + 1, size - 1);
		break;
	case 3: {
		uint64_t exp;
		uint8_t alias[32];

		ovl_invite_note_parse((const char *)data + 1, size - 1, &exp, alias);
		break;
	}
	default:
		authed(data + 1, size - 1);
		break;
	}
	return 0;
}
