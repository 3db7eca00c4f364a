/* The request line of the control socket (src/node/control.c serves it,
 * src/cli/cmd_ctl.c sends it), as a sans-I/O reader and parser: bytes in, a
 * request or an error out, no node and no libuv, so that the unit test
 * and test/fuzz/fuzz_control.c drive it alone.
 *
 * A connection carries one line of printable ASCII words separated by
 * single spaces, ended by '\n' (what follows the '\n' is ignored):
 *
 *   show [all] [json] | inspect | names | metrics | reload | down | client-info
 *   lookup TARGET | ping TARGET | resolve TARGET
 *   invite [HOSTNAME] [expires SECONDS] | join INVITER REAL PROOF
 *
 * show's words come in any order, each at most once ("all" adds the DHT
 * table, bucket by bucket).  TARGET is one word: a hostname of the
 * network file or a public key in base64, either alphabet, padded or not
 * (key_from_base64).  The parser cannot tell a hostname from an unknown
 * word (only the node's network file can), so it keeps the word as given
 * and says whether it is also a key; the node looks the word up as a
 * hostname first, then as a key.  Anything else is refused with one of
 * the errors below; the daemon answers "error: " and the error's text. */
#ifndef WH_SRC_NODE_CONTROL_REQUEST_H
#define WH_SRC_NODE_CONTROL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	/* The longest request line, without its '\n': room for a DNS
	 * name's 253 bytes after "resolve ", and some to spare. */
	CONTROL_LINE_MAX = 320,
	CONTROL_KEY_LEN = 32,
	CONTROL_INVITE_MAX_S = 30 * 86400,	/* the longest invitation */
};

enum control_verb {
	CONTROL_SHOW = 1,
	CONTROL_INSPECT,
	CONTROL_LOOKUP,
	CONTROL_PING,
	CONTROL_RELOAD,
	CONTROL_DOWN,
	CONTROL_RESOLVE,
	CONTROL_NAMES,
	CONTROL_METRICS,
	CONTROL_INVITE,		/* a member makes an invitation (src/node/invite.c) */
	CONTROL_JOIN,		/* wh join's node asks the inviter (src/node/invite.c) */
	CONTROL_CLIENT_INFO,	/* what wh client-config needs: the file, the name service */
};

/* Why a line was refused; control_error_text() gives the answer's text. */
enum control_error {
	CONTROL_OK = 0,
	CONTROL_ERR_TOO_LONG,	/* more than CONTROL_LINE_MAX bytes before '\n' */
	CONTROL_ERR_MALFORMED,	/* a byte outside ' '..'~', or a word left empty */
	CONTROL_ERR_EMPTY,	/* nothing before the '\n' */
	CONTROL_ERR_UNKNOWN,	/* not one of the verbs */
	CONTROL_ERR_KEY,	/* lookup, ping or resolve without a target */
	CONTROL_ERR_ARGUMENT,	/* an argument the verb does not take */
	CONTROL_ERR_MAX
};

struct control_request {
	enum control_verb verb;
	bool json;			/* show json */
	bool all;			/* show all */
	/* lookup, ping, resolve: the word as given (NUL-terminated), and
	 * its key when it is one (else the key is all zero). */
	char target[CONTROL_LINE_MAX + 1];
	bool has_key;
	uint8_t key[CONTROL_KEY_LEN];
	/* invite: target is the HOSTNAME ("" for none), expires_s 0 for the
	 * default.  join: key is the inviter's, real the joiner's real key,
	 * proof its proof (proto/overlay/auth.h). */
	uint32_t expires_s;
	uint8_t real[CONTROL_KEY_LEN];
	uint8_t proof[16];
};

/* The bytes of one connection until its line is complete. */
struct control_reader {
	char line[CONTROL_LINE_MAX];
	size_t len;
	bool done;	/* the '\n' came, or the line grew too long */
	bool too_long;
};

/* Starts a reader (all zero is a started reader too). */
void control_reader_init(struct control_reader *r);

/* Takes the next len bytes read from the connection; true once the line
 * is complete: its '\n' has come, or it is too long to be a request (then
 * there is no need to wait for the rest).  Bytes fed after that are
 * ignored. */
bool control_reader_feed(struct control_reader *r, const char *data, size_t len);

/* The request of a complete reader (control_reader_feed returned true). */
enum control_error control_reader_request(const struct control_reader *r,
					  struct control_request *req);

/* Parses one line of len bytes, without its '\n'; any bytes are allowed,
 * NUL among them.  On CONTROL_OK *req holds the request; otherwise *req is
 * left unspecified. */
enum control_error control_request_parse(struct control_request *req, const char *line,
					 size_t len);

/* "unknown request" and the like; "?" for a value out of range. */
const char *control_error_text(enum control_error e);

#endif
