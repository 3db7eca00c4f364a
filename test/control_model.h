/* A deliberately plain model of the control request grammar
 * (src/node/control_request.h), for test_control_request.c and
 * fuzz/fuzz_control.c to check the parser against: a line is good when it
 * is one of the five fixed requests, or "lookup " or "ping " and then
 * exactly the text of a key. */
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
		bool json;
	} fixed[] = {
		{ "show", CONTROL_SHOW, false },
		{ "show json", CONTROL_SHOW, true },
		{ "inspect", CONTROL_INSPECT, false },
		{ "reload", CONTROL_RELOAD, false },
		{ "down", CONTROL_DOWN, false },
	};
	static const struct {
		const char *prefix;
		enum control_verb verb;
	} keyed[] = {
		{ "lookup ", CONTROL_LOOKUP },
		{ "ping ", CONTROL_PING },
	};
	size_t i, n;

	memset(want, 0, sizeof(*want));
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); ++i) {
		if (len == strlen(fixed[i].text) && !memcmp(line, fixed[i].text, len)) {
			want->verb = fixed[i].verb;
			want->json = fixed[i].json;
			return true;
		}
	}
	for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); ++i) {
		n = strlen(keyed[i].prefix);
		if (len > n && !memcmp(line, keyed[i].prefix, n)) {
			want->verb = keyed[i].verb;
			/* key_from_base64 takes a length; a NUL in the text
			 * would end it for any C caller, so it is refused. */
			return !memchr(line + n, '\0', len - n) &&
			       key_from_base64(want->key, line + n, len - n);
		}
	}
	return false;
}

#endif
