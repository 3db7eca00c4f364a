/* The invitation string of `wh invite` / `wh join` (doc/protocol.md
 * 6.6): what a newcomer needs to join a network, in one pasted line.
 * Pure: no clock (the expiry is compared by the caller), no I/O.
 *
 * Binary form (big-endian), then URL-safe base64 without padding:
 *
 *   0   1   version     1
 *   1   32  inviter     the inviter's public key
 *   33  32  alias_sk    the one-time alias private key (secret)
 *   65  8   expires     u64, Unix seconds
 *   73  2   workbit     u16, the network's workbit (0..256)
 *   75  1   ns_len      1..255
 *   76  ns_len  ns      the namespace's bytes
 *   ..  1   boots       0..OVL_INVITE_MAX_BOOTS
 *   ..  boots x (32-byte key, 19-byte address, 6.3)
 *   ..  4   check       the first 4 bytes of keyed BLAKE2s-256 of every
 *                       byte before it (key: "wh invitation v1")
 *
 * The check tells a mistyped string (any change of a character) from a
 * forged one (a string whose check is right but whose alias the inviter
 * never made): the first is refused here, the second by the inviter.
 *
 * Errors: parsing returns an enum ovl_invite_err (the user's bytes);
 * encoding returns the length written or a negative errno. */
#ifndef WH_PROTO_OVERLAY_INVITE_H
#define WH_PROTO_OVERLAY_INVITE_H

#include "proto/overlay/addr.h"

#include <stddef.h>
#include <stdint.h>

enum {
	OVL_INVITE_VERSION = 1,
	OVL_INVITE_MAX_BOOTS = 8,
	OVL_INVITE_CHECK_LEN = 4,
	OVL_INVITE_FIXED_LEN = 76,	/* version .. ns_len */
	OVL_INVITE_BOOT_LEN = 32 + 19,
	OVL_INVITE_MAX_BIN = OVL_INVITE_FIXED_LEN + 255 + 1 +
			     OVL_INVITE_MAX_BOOTS * OVL_INVITE_BOOT_LEN + OVL_INVITE_CHECK_LEN,
	/* base64url of the largest binary form, and a terminator */
	OVL_INVITE_MAX_TEXT = (OVL_INVITE_MAX_BIN * 4 + 2) / 3 + 1,
};

struct ovl_invite_boot {
	uint8_t key[32];
	struct ovl_addr addr;
};

struct ovl_invite {
	uint8_t inviter[32];
	uint8_t alias_sk[32];		/* secret: wipe after use */
	uint64_t expires_s;		/* Unix seconds */
	uint16_t workbit;
	uint8_t ns_len;			/* 1..255 */
	char ns[256];			/* ns_len bytes and a terminator */
	uint8_t n_boots;
	struct ovl_invite_boot boots[OVL_INVITE_MAX_BOOTS];
};

enum ovl_invite_err {
	OVL_INVITE_OK = 0,
	OVL_INVITE_ERR_BASE64,		/* not URL-safe base64, or too long */
	OVL_INVITE_ERR_VERSION,		/* a version this build does not read */
	OVL_INVITE_ERR_TRUNCATED,
	OVL_INVITE_ERR_TRAILING,
	OVL_INVITE_ERR_FIELD,		/* namespace length, workbit, boot count */
	OVL_INVITE_ERR_ADDR,		/* a boot address not in its one form */
	OVL_INVITE_ERR_CHECK,		/* mistyped: the check does not match */
	OVL_INVITE_ERR_MAX,
};

/* Parses text (len bytes, surrounding blanks allowed) into *inv.  On any
 * error *inv is wiped. */
enum ovl_invite_err ovl_invite_parse(struct ovl_invite *inv, const char *text, size_t len);
/* Writes the string and a terminator into out; returns its length, or
 * -EINVAL (a field out of range), -EMSGSIZE (out too small). */
long ovl_invite_format(char *out, size_t outmax, const struct ovl_invite *inv);
/* A sentence for the user. */
const char *ovl_invite_strerror(enum ovl_invite_err err);

/* The inviter keeps its invitations in its network file, as comments
 * (doc/network-file.md): an alias line's "# wh invite: expires SECONDS"
 * (Unix time), and the trust line that replaced a used alias, "# wh
 * invite: joined with alias KEY" (URL-safe base64).  parse reads the
 * comment of one line (len bytes, no newline). */
#define OVL_INVITE_NOTE_EXPIRES "# wh invite: expires "
#define OVL_INVITE_NOTE_JOINED "# wh invite: joined with alias "

enum ovl_invite_note {
	OVL_INVITE_NOTE_NONE = 0,	/* no such comment */
	OVL_INVITE_NOTE_EXPIRES_AT,	/* *expires_s set */
	OVL_INVITE_NOTE_JOINED_WITH,	/* alias set */
};

enum ovl_invite_note ovl_invite_note_parse(const char *line, size_t len, uint64_t *expires_s,
					   uint8_t alias[32]);

#endif
