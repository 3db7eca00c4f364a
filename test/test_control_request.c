/* The control socket's request line (src/node/control_request.c): a table of
 * good lines and what they ask, a table of bad ones with the error each
 * must get (overlong, embedded NUL and other bytes, spacing, bad keys,
 * unknown verbs, extra arguments, empty), the reader's framing at its
 * limits, and random lines fed in random pieces checked against a naive
 * model of the grammar. */
#include "src/node/control_request.h"

#include "crypto/encoding.h"
#include "test/control_model.h"
#include "test/tap.h"

#include <locale.h>
#include <string.h>

/* One key in its four spellings: URL-safe unpadded (what `wh` prints),
 * URL-safe padded, standard padded (WireGuard's) and standard unpadded. */
#define KEY_URL "zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmQ"
#define KEY_URL_PAD KEY_URL "="
#define KEY_STD "zW+1lBeQ7IkT6NW6hL/NsV4eOPOwJi/rt1vO+omOEmQ="
#define KEY_STD_NOPAD "zW+1lBeQ7IkT6NW6hL/NsV4eOPOwJi/rt1vO+omOEmQ"
#define KEY_HEX "cd6fb5941790ec8913e8d5ba84bfcdb15e1e38f3b0262febb75bcefa898e1264"
/* The same key with non-zero bits after the last byte (not canonical). */
#define KEY_TRAILING_BITS "zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmR"

/* Lines are given with their lengths, so that they may hold NUL. */
#define L(s) s, sizeof(s) - 1

static const struct {
	const char *line;
	size_t len;
	enum control_verb verb;
	bool json;
	bool has_key;
	bool all;
	const char *target;	/* lookup, ping, resolve */
} good[] = {
	{ L("show"), CONTROL_SHOW, false, false, false, "" },
	{ L("show json"), CONTROL_SHOW, true, false, false, "" },
	{ L("show all"), CONTROL_SHOW, false, false, true, "" },
	{ L("show all json"), CONTROL_SHOW, true, false, true, "" },
	{ L("show json all"), CONTROL_SHOW, true, false, true, "" },
	{ L("inspect"), CONTROL_INSPECT, false, false, false, "" },
	{ L("names"), CONTROL_NAMES, false, false, false, "" },
	{ L("metrics"), CONTROL_METRICS, false, false, false, "" },
	{ L("reload"), CONTROL_RELOAD, false, false, false, "" },
	{ L("down"), CONTROL_DOWN, false, false, false, "" },
	{ L("client-info"), CONTROL_CLIENT_INFO, false, false, false, "" },
	{ L("lookup " KEY_URL), CONTROL_LOOKUP, false, true, false, KEY_URL },
	{ L("lookup " KEY_URL_PAD), CONTROL_LOOKUP, false, true, false, KEY_URL_PAD },
	{ L("lookup " KEY_STD), CONTROL_LOOKUP, false, true, false, KEY_STD },
	{ L("lookup " KEY_STD_NOPAD), CONTROL_LOOKUP, false, true, false, KEY_STD_NOPAD },
	{ L("ping " KEY_URL), CONTROL_PING, false, true, false, KEY_URL },
	{ L("ping " KEY_STD), CONTROL_PING, false, true, false, KEY_STD },
	{ L("resolve " KEY_URL), CONTROL_RESOLVE, false, true, false, KEY_URL },
	/* Hostnames: the word as given, no key.  Dotted names, capitals
	 * (the node compares without case) and names longer than a DNS
	 * label are the node's to judge, not the parser's. */
	{ L("lookup node_b"), CONTROL_LOOKUP, false, false, false, "node_b" },
	{ L("ping a.test"), CONTROL_PING, false, false, false, "a.test" },
	{ L("resolve Node-B.Example.Test"), CONTROL_RESOLVE, false, false, false,
	  "Node-B.Example.Test" },
	{ L("resolve " "a123456789012345678901234567890123456789012345678901234567890123456789."
	    "b123456789"), CONTROL_RESOLVE, false, false, false,
	  "a123456789012345678901234567890123456789012345678901234567890123456789.b123456789" },
	/* Near keys that are no keys: names, left for the node to refuse. */
	{ L("lookup notakey"), CONTROL_LOOKUP, false, false, false, "notakey" },
	{ L("lookup " KEY_HEX), CONTROL_LOOKUP, false, false, false, KEY_HEX },
	{ L("lookup " KEY_TRAILING_BITS), CONTROL_LOOKUP, false, false, false, KEY_TRAILING_BITS },
	{ L("lookup " KEY_URL "Q"), CONTROL_LOOKUP, false, false, false, KEY_URL "Q" },
};

static const struct {
	const char *line;
	size_t len;
	enum control_error want;
	const char *why;
} bad[] = {
	{ L(""), CONTROL_ERR_EMPTY, "empty" },
	{ L(" "), CONTROL_ERR_MALFORMED, "a lone space" },
	{ L("show "), CONTROL_ERR_MALFORMED, "trailing space" },
	{ L(" show"), CONTROL_ERR_MALFORMED, "leading space" },
	{ L("show  json"), CONTROL_ERR_MALFORMED, "two spaces" },
	{ L("show\tjson"), CONTROL_ERR_MALFORMED, "a tab" },
	{ L("show\r"), CONTROL_ERR_MALFORMED, "a CR before the LF" },
	{ L("show\njson"), CONTROL_ERR_MALFORMED, "a LF inside the line" },
	{ L("show\0json"), CONTROL_ERR_MALFORMED, "embedded NUL" },
	{ L("show\0"), CONTROL_ERR_MALFORMED, "trailing NUL" },
	{ L("\0"), CONTROL_ERR_MALFORMED, "a lone NUL" },
	{ L("show\x7f"), CONTROL_ERR_MALFORMED, "DEL" },
	{ L("show \xc3\xa9"), CONTROL_ERR_MALFORMED, "UTF-8" },
	{ L("\x1b[2Jshow"), CONTROL_ERR_MALFORMED, "an escape sequence" },
	{ L("frobnicate"), CONTROL_ERR_UNKNOWN, "unknown verb" },
	{ L("SHOW"), CONTROL_ERR_UNKNOWN, "verbs are lower case" },
	{ L("sho"), CONTROL_ERR_UNKNOWN, "a prefix of a verb" },
	{ L("showjson"), CONTROL_ERR_UNKNOWN, "a verb run on" },
	{ L("shows"), CONTROL_ERR_UNKNOWN, "a verb with a letter more" },
	{ L("get=1"), CONTROL_ERR_UNKNOWN, "a UAPI request" },
	{ L("json show"), CONTROL_ERR_UNKNOWN, "words swapped" },
	{ L("show JSON"), CONTROL_ERR_ARGUMENT, "show: JSON in capitals" },
	{ L("show yaml"), CONTROL_ERR_ARGUMENT, "show: not json" },
	{ L("show json json"), CONTROL_ERR_ARGUMENT, "show: json twice" },
	{ L("show all all"), CONTROL_ERR_ARGUMENT, "show: all twice" },
	{ L("show all json all"), CONTROL_ERR_ARGUMENT, "show: three arguments" },
	{ L("show ALL"), CONTROL_ERR_ARGUMENT, "show: ALL in capitals" },
	{ L("names json"), CONTROL_ERR_ARGUMENT, "names: an argument" },
	{ L("metrics json"), CONTROL_ERR_ARGUMENT, "metrics: an argument" },
	{ L("resolve"), CONTROL_ERR_KEY, "resolve: no target" },
	{ L("resolve a b"), CONTROL_ERR_ARGUMENT, "resolve: two words" },
	{ L("resolve node\x01"), CONTROL_ERR_MALFORMED, "resolve: a control byte" },
	{ L("show " KEY_URL), CONTROL_ERR_ARGUMENT, "show: a key" },
	{ L("inspect now"), CONTROL_ERR_ARGUMENT, "inspect: an argument" },
	{ L("inspect json"), CONTROL_ERR_ARGUMENT, "inspect: json" },
	{ L("reload -f"), CONTROL_ERR_ARGUMENT, "reload: an argument" },
	{ L("down now please"), CONTROL_ERR_ARGUMENT, "down: two arguments" },
	{ L("lookup"), CONTROL_ERR_KEY, "lookup: no key" },
	{ L("ping"), CONTROL_ERR_KEY, "ping: no key" },
	{ L("ping " KEY_URL " " KEY_URL), CONTROL_ERR_ARGUMENT, "ping: two keys" },
	{ L("lookup " KEY_URL " json"), CONTROL_ERR_ARGUMENT, "lookup: a key and more" },
	{ L("lookup " KEY_URL " "), CONTROL_ERR_MALFORMED, "lookup: a trailing space" },
	{ L("lookup  " KEY_URL), CONTROL_ERR_MALFORMED, "lookup: two spaces" },
	{ L("ping " KEY_URL "\0"), CONTROL_ERR_MALFORMED, "ping: NUL after the key" },
};

static void test_good(void)
{
	uint8_t want_key[KEY_LEN];
	size_t i;

	if (!key_from_base64(want_key, KEY_URL, strlen(KEY_URL)))
		abort();
	for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
		struct control_request req;
		enum control_error e;

		memset(&req, 0xa5, sizeof(req));
		e = control_request_parse(&req, good[i].line, good[i].len);
		if (!ok(e == CONTROL_OK, "good: '%s'", good[i].line)) {
			diag("got error %d (%s)", e, control_error_text(e));
			continue;
		}
		ok(req.verb == good[i].verb && req.json == good[i].json && req.all == good[i].all,
		   "good: '%s': verb %d, json %d, all %d", good[i].line, req.verb, req.json,
		   req.all);
		ok(req.has_key == good[i].has_key && !strcmp(req.target, good[i].target),
		   "good: '%s': target '%s', key %d", good[i].line, req.target, req.has_key);
		if (good[i].has_key)
			ok_mem(req.key, want_key, KEY_LEN, "good: the key");
	}
}

static void test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
		struct control_request req;
		enum control_error e = control_request_parse(&req, bad[i].line, bad[i].len);

		ok(e == bad[i].want, "bad: %s: error %d (%s), want %d", bad[i].why, e,
		   control_error_text(e), bad[i].want);
	}
}

/* The longest line is CONTROL_LINE_MAX bytes, for the parser and the
 * reader alike. */
static void test_long(void)
{
	char line[CONTROL_LINE_MAX + 2];
	struct control_request req;
	struct control_reader r;

	memset(line, 'x', sizeof(line));
	ok(control_request_parse(&req, line, CONTROL_LINE_MAX) == CONTROL_ERR_UNKNOWN,
	   "parse: %d bytes are read", CONTROL_LINE_MAX);
	ok(control_request_parse(&req, line, CONTROL_LINE_MAX + 1) == CONTROL_ERR_TOO_LONG,
	   "parse: %d bytes are too long", CONTROL_LINE_MAX + 1);

	/* "show" padded with spaces to the limit: well framed, then refused
	 * for its spacing, not its length. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "show", 4);
	line[CONTROL_LINE_MAX] = '\n';
	control_reader_init(&r);
	ok(control_reader_feed(&r, line, CONTROL_LINE_MAX + 1), "reader: %d bytes and LF",
	   CONTROL_LINE_MAX);
	ok(!r.too_long && r.len == CONTROL_LINE_MAX, "reader: the line is whole");
	ok(control_reader_request(&r, &req) == CONTROL_ERR_MALFORMED,
	   "reader: the longest line is parsed");

	/* One byte more is refused at once, before its LF comes. */
	control_reader_init(&r);
	ok(!control_reader_feed(&r, line, CONTROL_LINE_MAX), "reader: the limit, no LF yet");
	ok(control_reader_feed(&r, "x", 1), "reader: one byte over the limit completes");
	ok(control_reader_request(&r, &req) == CONTROL_ERR_TOO_LONG, "reader: too long");
	ok(control_reader_feed(&r, "\n", 1) && control_reader_request(&r, &req) ==
	   CONTROL_ERR_TOO_LONG, "reader: a late LF changes nothing");

	/* In one piece, with the LF in the same read. */
	memset(line, 'y', sizeof(line));
	line[CONTROL_LINE_MAX + 1] = '\n';
	control_reader_init(&r);
	ok(control_reader_feed(&r, line, sizeof(line)) && control_reader_request(&r, &req) ==
	   CONTROL_ERR_TOO_LONG, "reader: %d bytes and LF in one read", CONTROL_LINE_MAX + 1);
}

static void test_reader(void)
{
	static const char text[] = "ping " KEY_STD "\nshow json\n";
	struct control_request req;
	struct control_reader r;
	size_t i;

	control_reader_init(&r);
	ok(!control_reader_feed(&r, "", 0), "reader: nothing yet");
	ok(!control_reader_feed(&r, "sh", 2) && !control_reader_feed(&r, "ow json", 7),
	   "reader: no LF, not complete");
	ok(control_reader_feed(&r, "\nreload\n", 8), "reader: LF completes");
	ok(control_reader_request(&r, &req) == CONTROL_OK && req.verb == CONTROL_SHOW && req.json,
	   "reader: pieces join to 'show json'");
	ok(control_reader_feed(&r, "down\n", 5) && control_reader_request(&r, &req) == CONTROL_OK &&
	   req.verb == CONTROL_SHOW, "reader: a second line is ignored");

	/* One byte at a time. */
	control_reader_init(&r);
	for (i = 0; i < sizeof(text) - 1; ++i)
		if (control_reader_feed(&r, text + i, 1))
			break;
	ok(i == strlen("ping " KEY_STD), "reader: byte by byte, complete at the first LF");
	ok(control_reader_request(&r, &req) == CONTROL_OK && req.verb == CONTROL_PING,
	   "reader: byte by byte, ping");

	control_reader_init(&r);
	ok(control_reader_feed(&r, "\n", 1) && control_reader_request(&r, &req) == CONTROL_ERR_EMPTY,
	   "reader: a lone LF is empty");
	control_reader_init(&r);
	ok(control_reader_feed(&r, "show\0json\n", 10) &&
	   control_reader_request(&r, &req) == CONTROL_ERR_MALFORMED,
	   "reader: NUL before the LF is kept and refused");
}

static void test_error_texts(void)
{
	unsigned e, f;
	bool distinct = true;

	for (e = 1; e < CONTROL_ERR_MAX; ++e)
		for (f = e + 1; f < CONTROL_ERR_MAX; ++f)
			distinct &= strcmp(control_error_text(e), control_error_text(f)) != 0;
	ok(distinct, "every error has its own text");
	ok(!strcmp(control_error_text(CONTROL_ERR_MAX), "?") &&
	   !strcmp(control_error_text((enum control_error)-1), "?"), "out of range: '?'");
	/* What the daemon answered before the parser was its own file. */
	ok(!strcmp(control_error_text(CONTROL_ERR_UNKNOWN), "unknown request") &&
	   !strcmp(control_error_text(CONTROL_ERR_KEY),
		   "expected a hostname or a public key (base64)") &&
	   !strcmp(control_error_text(CONTROL_ERR_TOO_LONG), "request too long") &&
	   !strcmp(control_error_text(CONTROL_ERR_MALFORMED), "malformed request"),
	   "the answers' texts are kept");
}

/* Lines built of pieces that come near the good ones, fed in random
 * pieces: the result must not depend on the pieces, and must be the
 * model's. */
static void test_random(void)
{
	static const char *const parts[] = { "show", "json", "all", "inspect", "lookup", "ping",
		"resolve", "names", "reload", "down", " ", " ", " ", KEY_URL, KEY_STD, KEY_STD_NOPAD,
		KEY_TRAILING_BITS, "node_b", "a.test", "=", "\n", "\r", "x", "\t", "metrics",
		"invite", "join", "expires", "3600", "0", "client-info", "2592001", "00c0ffee00c0ffee00c0ffee00c0FFEE" };
	unsigned iter, mismatches = 0, oks = 0, pieces_differ = 0;

	for (iter = 0; iter < 200000; ++iter) {
		char text[600];
		size_t len = 0, n_parts = 1 + tap_rand() % 4, i, lf, fed;
		struct control_request req, want;
		struct control_reader r;
		enum control_error whole, chunked;
		bool model;

		for (i = 0; i < n_parts; ++i) {
			const char *p = parts[tap_rand() % (sizeof(parts) / sizeof(parts[0]))];

			memcpy(text + len, p, strlen(p));
			len += strlen(p);
		}
		if (tap_rand() % 16 == 0)
			text[tap_rand() % len] = (char)(tap_rand() % 256);
		text[len++] = '\n';

		/* The line, as the reader frames it: up to the first LF. */
		lf = (size_t)((const char *)memchr(text, '\n', len) - text);
		whole = control_request_parse(&req, text, lf);
		model = control_model_parse(text, lf, &want);
		if (model != (whole == CONTROL_OK) ||
		    (model && (req.verb != want.verb || req.json != want.json ||
			       req.all != want.all || req.has_key != want.has_key ||
			       strcmp(req.target, want.target) ||
			       memcmp(req.key, want.key, KEY_LEN) || req.expires_s != want.expires_s ||
			       memcmp(req.real, want.real, KEY_LEN) ||
			       memcmp(req.proof, want.proof, sizeof(req.proof))))) {
			if (++mismatches <= 5)
				diag("model: '%.*s': parser %d, model %d", (int)lf, text, whole, model);
		}
		oks += model;

		control_reader_init(&r);
		for (fed = 0; fed < len;) {
			size_t piece = 1 + tap_rand() % (len - fed);

			if (control_reader_feed(&r, text + fed, piece))
				break;
			fed += piece;
		}
		chunked = r.done ? control_reader_request(&r, &req) : CONTROL_ERR_MAX;
		if (chunked != whole && ++pieces_differ <= 5)
			diag("pieces: '%.*s': whole %d, in pieces %d", (int)lf, text, whole, chunked);
	}
	ok(mismatches == 0, "random: the parser agrees with the model (%u good lines)", oks);
	ok(oks > 1000, "random: good lines were made");
	ok(pieces_differ == 0, "random: pieces do not change the result");
}

/* invite [HOSTNAME] [expires SECONDS] and join INVITER REAL PROOF. */
static void test_invite_join(void)
{
	static const char proof[] = "00112233445566778899aabbccddeeff";
	struct control_request r;
	char line[CONTROL_LINE_MAX + 1];

	ok(control_request_parse(&r, L("invite")) == CONTROL_OK && r.verb == CONTROL_INVITE &&
	   !r.target[0] && !r.expires_s, "invite: no hostname, the default expiry");
	ok(control_request_parse(&r, L("invite jn")) == CONTROL_OK && !strcmp(r.target, "jn") &&
	   !r.expires_s, "invite jn");
	ok(control_request_parse(&r, L("invite jn expires 2")) == CONTROL_OK &&
	   !strcmp(r.target, "jn") && r.expires_s == 2, "invite jn expires 2");
	ok(control_request_parse(&r, L("invite expires 2592000")) == CONTROL_OK && !r.target[0] &&
	   r.expires_s == CONTROL_INVITE_MAX_S, "invite expires 30 days, no hostname");
	ok(control_request_parse(&r, L("invite jn expires 2592001")) == CONTROL_ERR_ARGUMENT &&
	   control_request_parse(&r, L("invite jn expires 0")) == CONTROL_ERR_ARGUMENT &&
	   control_request_parse(&r, L("invite jn expires 1h")) == CONTROL_ERR_ARGUMENT &&
	   control_request_parse(&r, L("invite jn expires")) == CONTROL_ERR_ARGUMENT &&
	   control_request_parse(&r, L("invite jn later 5")) == CONTROL_ERR_ARGUMENT &&
	   control_request_parse(&r, L("invite jn expires 5 x")) == CONTROL_ERR_ARGUMENT,
	   "invite: a bad expiry or a word more, refused");
	snprintf(line, sizeof(line), "join %s %s %s", KEY_URL, KEY_STD, proof);
	ok(control_request_parse(&r, line, strlen(line)) == CONTROL_OK && r.verb == CONTROL_JOIN &&
	   r.has_key && r.proof[0] == 0x00 && r.proof[15] == 0xff && !memcmp(r.key, r.real, 32),
	   "join INVITER REAL PROOF");
	snprintf(line, sizeof(line), "join %s %s %.31s", KEY_URL, KEY_URL, proof);
	ok(control_request_parse(&r, line, strlen(line)) == CONTROL_ERR_ARGUMENT,
	   "join: a proof of 31 hex digits, refused");
	snprintf(line, sizeof(line), "join %s notakey %s", KEY_URL, proof);
	ok(control_request_parse(&r, line, strlen(line)) == CONTROL_ERR_ARGUMENT,
	   "join: a real key that is none, refused");
	ok(control_request_parse(&r, L("join " KEY_URL)) == CONTROL_ERR_KEY,
	   "join: keys missing");
}

int main(void)
{
	/* Nothing may depend on the locale. */
	if (!setlocale(LC_ALL, "tr_TR.UTF-8"))
		setlocale(LC_ALL, "C.UTF-8");

	test_good();
	test_bad();
	test_long();
	test_reader();
	test_error_texts();
	test_random();
	test_invite_join();
	return tap_done();
}
