/* A deliberately plain model of the control request grammar
 * (src/node/control_request.h), for test_control_request.c and
 * fuzz/fuzz_control.c to check the parser against: a line is good when it
 * is one of the fixed requests, or "lookup ", "ping " or "resolve " and
 * then one word of printable characters other than space (a key when
 * key_from_base64 takes it). */
#ifndef WH_TEST_CONTROL_MODEL_H
#define WH_TEST_CONTROL_MODEL_H

#include "crypto/encoding.h"
#include "src/node/control_request.h"

#include <stdbool.h>
#include <string.h>

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
