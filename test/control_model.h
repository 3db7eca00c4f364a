/* A deliberately plain model of the control request grammar
 * (src/node/control_request.h), for test_control_request.c and
 * fuzz/fuzz_control.c to check the parser against: a line is good when it
 * is one of the fixed requests, or "lookup ", "ping " or "resolve " and
 * then one word of printable characters other than space (a key when
 * key_from_base64 takes it), or an invitation's "invite" or "join" line
 * (control_model_invite_join). */
#ifndef WH_TEST_CONTROL_MODEL_H
#define WH_TEST_CONTROL_MODEL_H

#include "crypto/encoding.h"
#include "src/node/control_request.h"

#include <stdbool.h>
#include <string.h>

/* line's words, split at single spaces: false when a byte is not
 * printable ASCII or a word is empty (a leading, trailing or doubled
 * space) or there are more than max. */
__attribute__((unused))
static bool control_model_words(const char *line, size_t len, const char **w, size_t *wl,
				size_t max, size_t *n)
{
	size_t i, start = 0;

	*n = 0;
	for (i = 0; i <= len; ++i) {
		if (i < len && ((unsigned char)line[i] < ' ' || (unsigned char)line[i] > '~'))
			return false;
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || *n == max)
			return false;
		w[*n] = line + start;
		wl[(*n)++] = i - start;
		start = i + 1;
	}
	return true;
}

__attribute__((unused))
static bool control_model_is(const char *w, size_t wl, const char *name)
{
	return wl == strlen(name) && !memcmp(w, name, wl);
}

/* "invite [HOST] [expires SECONDS]", HOST any word but "expires",
 * SECONDS 1 to 7 digits worth 1 to CONTROL_INVITE_MAX_S; "join INVITER
 * REAL PROOF", two keys in base64 and 32 hex digits. */
__attribute__((unused))
static bool control_model_invite_join(const char *line, size_t len, struct control_request *want)
{
	const char *w[8];
	size_t wl[8], n, i, k = 1;
	unsigned long long v = 0;

	if (!control_model_words(line, len, w, wl, 8, &n))
		return false;
	if (control_model_is(w[0], wl[0], "join")) {
		want->verb = CONTROL_JOIN;
		if (n != 4 || !key_from_base64(want->key, w[1], wl[1]) ||
		    !key_from_base64(want->real, w[2], wl[2]) || wl[3] != 32)
			return false;
		for (i = 0; i < 32; ++i) {
			char c = w[3][i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0)
				return false;
			want->proof[i / 2] = (uint8_t)(want->proof[i / 2] << 4 | d);
		}
		want->has_key = true;
		return true;
	}
	want->verb = CONTROL_INVITE;
	if (n > 1 && !control_model_is(w[1], wl[1], "expires")) {
		memcpy(want->target, w[1], wl[1]);
		k = 2;
	}
	if (k == n)
		return true;
	if (n - k != 2 || !control_model_is(w[k], wl[k], "expires") || wl[k + 1] > 7)
		return false;
	for (i = 0; i < wl[k + 1]; ++i) {
		if (w[k + 1][i] < '0' || w[k + 1][i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(w[k + 1][i] - '0');
	}
	if (v < 1 || v > CONTROL_INVITE_MAX_S)
		return false;
	want->expires_s = (uint32_t)v;
	return true;
}

/* true when line (len bytes, without its LF) is good; *want is then the
 * request it asks for. */
__attribute__((unused))
static bool control_model_parse(const char *line, size_t len, struct control_request *want)
{
	static const struct {
		const char *text;
		enum control_verb verb;
		bool json, all;
	} fixed[] = {
		{ "show", CONTROL_SHOW, false, false },
		{ "show json", CONTROL_SHOW, true, false },
		{ "show all", CONTROL_SHOW, false, true },
		{ "show all json", CONTROL_SHOW, true, true },
		{ "show json all", CONTROL_SHOW, true, true },
		{ "inspect", CONTROL_INSPECT, false, false },
		{ "names", CONTROL_NAMES, false, false },
		{ "metrics", CONTROL_METRICS, false, false },
		{ "reload", CONTROL_RELOAD, false, false },
		{ "down", CONTROL_DOWN, false, false },
		{ "client-info", CONTROL_CLIENT_INFO, false, false },
	};
	static const struct {
		const char *prefix;
		enum control_verb verb;
	} keyed[] = {
		{ "lookup ", CONTROL_LOOKUP },
		{ "ping ", CONTROL_PING },
		{ "resolve ", CONTROL_RESOLVE },
	};
	size_t i, n;

	memset(want, 0, sizeof(*want));
	if (len > CONTROL_LINE_MAX)
		return false;
	if ((len >= 6 && !memcmp(line, "invite", 6) && (len == 6 || line[6] == ' ')) ||
	    (len >= 4 && !memcmp(line, "join", 4) && (len == 4 || line[4] == ' ')))
		return control_model_invite_join(line, len, want);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); ++i) {
		if (len == strlen(fixed[i].text) && !memcmp(line, fixed[i].text, len)) {
			want->verb = fixed[i].verb;
			want->json = fixed[i].json;
			want->all = fixed[i].all;
			return true;
		}
	}
	for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); ++i) {
		n = strlen(keyed[i].prefix);
		if (len > n && !memcmp(line, keyed[i].prefix, n)) {
			size_t j;

			want->verb = keyed[i].verb;
			for (j = n; j < len; ++j)
				if ((unsigned char)line[j] <= ' ' || (unsigned char)line[j] > '~')
					return false;
			memcpy(want->target, line + n, len - n);
			want->has_key = key_from_base64(want->key, line + n, len - n);
			if (!want->has_key)
				memset(want->key, 0, sizeof(want->key));
			return true;
		}
	}
	return false;
}

#endif
