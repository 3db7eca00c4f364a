/* The control socket's request line: see control_request.h. */
#include "src/node/control_request.h"

#include "crypto/encoding.h"

#include <sodium.h>
#include <string.h>

_Static_assert((int)CONTROL_KEY_LEN == (int)KEY_LEN, "a control key is a public key");

/* What each verb takes after it. */
enum takes {
	TAKES_NOTHING,
	TAKES_SHOW,	/* "all" and "json", each optional, in any order */
	TAKES_TARGET,	/* exactly one word: a hostname or a key */
	TAKES_INVITE,	/* [HOSTNAME] [expires SECONDS] */
	TAKES_JOIN,	/* INVITER REAL PROOF: two keys and 32 hex digits */
};

static const struct {
	const char *name;
	enum control_verb verb;
	enum takes takes;
} verbs[] = {
	{ "show", CONTROL_SHOW, TAKES_SHOW },
	{ "inspect", CONTROL_INSPECT, TAKES_NOTHING },
	{ "lookup", CONTROL_LOOKUP, TAKES_TARGET },
	{ "ping", CONTROL_PING, TAKES_TARGET },
	{ "resolve", CONTROL_RESOLVE, TAKES_TARGET },
	{ "names", CONTROL_NAMES, TAKES_NOTHING },
	{ "metrics", CONTROL_METRICS, TAKES_NOTHING },
	{ "reload", CONTROL_RELOAD, TAKES_NOTHING },
	{ "down", CONTROL_DOWN, TAKES_NOTHING },
	{ "invite", CONTROL_INVITE, TAKES_INVITE },
	{ "join", CONTROL_JOIN, TAKES_JOIN },
	{ "client-info", CONTROL_CLIENT_INFO, TAKES_NOTHING },
};

/* The most words a good line has: "invite HOST expires N". */
enum { WORDS_MAX = 4 };

static const char *const error_texts[CONTROL_ERR_MAX] = {
	[CONTROL_OK] = "ok",
	[CONTROL_ERR_TOO_LONG] = "request too long",
	[CONTROL_ERR_MALFORMED] = "malformed request",
	[CONTROL_ERR_EMPTY] = "empty request",
	[CONTROL_ERR_UNKNOWN] = "unknown request",
	[CONTROL_ERR_KEY] = "expected a hostname or a public key (base64)",
	[CONTROL_ERR_ARGUMENT] = "unexpected argument",
};

const char *control_error_text(enum control_error e)
{
	if ((unsigned)e >= CONTROL_ERR_MAX)
		return "?";
	return error_texts[e];
}

void control_reader_init(struct control_reader *r)
{
	memset(r, 0, sizeof(*r));
}

bool control_reader_feed(struct control_reader *r, const char *data, size_t len)
{
	const char *nl;

	if (r->done)
		return true;
	nl = memchr(data, '\n', len);
	if (nl)
		len = (size_t)(nl - data);
	/* Too long is told at once, not at the '\n' that may never come. */
	if (len > sizeof(r->line) - r->len) {
		r->too_long = true;
		r->done = true;
		return true;
	}
	memcpy(r->line + r->len, data, len);
	r->len += len;
	r->done = nl != NULL;
	return r->done;
}

enum control_error control_reader_request(const struct control_reader *r,
					  struct control_request *req)
{
	if (r->too_long)
		return CONTROL_ERR_TOO_LONG;
	return control_request_parse(req, r->line, r->len);
}

/* The word that starts at *pos, up to the next space or the end; *pos is
 * moved past the space.  Returns its length. */
static size_t next_word(const char *line, size_t len, size_t *pos, const char **word)
{
	const char *sp;
	size_t n;

	*word = line + *pos;
	sp = memchr(*word, ' ', len - *pos);
	n = sp ? (size_t)(sp - *word) : len - *pos;
	*pos += n + (sp != NULL);
	return n;
}

static bool word_is(const char *word, size_t n, const char *name)
{
	return n == strlen(name) && !memcmp(word, name, n);
}

/* invite's words: an optional hostname (any word but "expires") and an
 * optional "expires SECONDS" (1 to 30 days), in this order. */
static enum control_error parse_invite(struct control_request *req, const char *const *words,
				       const size_t *lens, size_t n)
{
	size_t i = 0;

	if (n > 0 && !word_is(words[0], lens[0], "expires")) {
		memcpy(req->target, words[0], lens[0]);
		req->target[lens[0]] = '\0';
		i = 1;
	}
	if (i < n) {
		uint64_t v = 0;

		if (n - i != 2 || !word_is(words[i], lens[i], "expires") || lens[i + 1] > 7)
			return CONTROL_ERR_ARGUMENT;
		for (size_t k = 0; k < lens[i + 1]; ++k) {
			if (words[i + 1][k] < '0' || words[i + 1][k] > '9')
				return CONTROL_ERR_ARGUMENT;
			v = v * 10 + (uint64_t)(words[i + 1][k] - '0');
		}
		if (v < 1 || v > CONTROL_INVITE_MAX_S)
			return CONTROL_ERR_ARGUMENT;
		req->expires_s = (uint32_t)v;
	}
	return CONTROL_OK;
}

enum control_error control_request_parse(struct control_request *req, const char *line,
					 size_t len)
{
	const char *words[WORDS_MAX + 1];
	size_t lens[WORDS_MAX + 1], n_words = 0, pos = 0, i, v;

	if (len == 0)
		return CONTROL_ERR_EMPTY;
	if (len > CONTROL_LINE_MAX)
		return CONTROL_ERR_TOO_LONG;
	/* Printable ASCII only: no NUL, no '\r', no tab, nothing a
	 * terminal would act on if the line were ever shown. */
	for (i = 0; i < len; ++i)
		if ((unsigned char)line[i] < ' ' || (unsigned char)line[i] > '~')
			return CONTROL_ERR_MALFORMED;
	/* Single spaces between words: a leading, trailing or doubled space
	 * leaves an empty word.  A word past WORDS_MAX is always one too
	 * many, so reading stops there. */
	while (pos < len && n_words < WORDS_MAX + 1) {
		lens[n_words] = next_word(line, len, &pos, &words[n_words]);
		if (lens[n_words] == 0)
			return CONTROL_ERR_MALFORMED;
		++n_words;
	}
	if (line[len - 1] == ' ')
		return CONTROL_ERR_MALFORMED;

	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); ++v)
		if (word_is(words[0], lens[0], verbs[v].name))
			break;
	if (v == sizeof(verbs) / sizeof(verbs[0]))
		return CONTROL_ERR_UNKNOWN;

	memset(req, 0, sizeof(*req));
	req->verb = verbs[v].verb;
	switch (verbs[v].takes) {
	case TAKES_NOTHING:
		if (n_words > 1)
			return CONTROL_ERR_ARGUMENT;
		break;
	case TAKES_SHOW:
		if (n_words > 3)
			return CONTROL_ERR_ARGUMENT;
		for (i = 1; i < n_words; ++i) {
			bool *flag = word_is(words[i], lens[i], "json") ? &req->json :
				     word_is(words[i], lens[i], "all") ? &req->all : NULL;

			if (!flag || *flag)
				return CONTROL_ERR_ARGUMENT;
			*flag = true;
		}
		break;
	case TAKES_TARGET:
		if (n_words < 2)
			return CONTROL_ERR_KEY;
		if (n_words > 2)
			return CONTROL_ERR_ARGUMENT;
		/* Fits: the word is shorter than the line. */
		memcpy(req->target, words[1], lens[1]);
		req->target[lens[1]] = '\0';
		req->has_key = key_from_base64(req->key, words[1], lens[1]);
		if (!req->has_key)
			memset(req->key, 0, sizeof(req->key));
		break;
	case TAKES_INVITE:
		return parse_invite(req, words + 1, lens + 1, n_words - 1);
	case TAKES_JOIN:
		if (n_words != 4)
			return n_words < 4 ? CONTROL_ERR_KEY : CONTROL_ERR_ARGUMENT;
		if (!key_from_base64(req->key, words[1], lens[1]) ||
		    !key_from_base64(req->real, words[2], lens[2]) || lens[3] != 32 ||
		    sodium_hex2bin(req->proof, sizeof(req->proof), words[3], lens[3], NULL, NULL,
				   NULL) != 0)
			return CONTROL_ERR_ARGUMENT;
		req->has_key = true;
		break;
	}
	return CONTROL_OK;
}
