#include "src/cli/cli.h"

#include "crypto/encoding.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_read_key_stdin(uint8_t key[32], const char *what)
{
	/* Room for a key, a newline and enough junk to report it as such. */
	char buf[128];
	size_t len = 0;
	ssize_t n;
	int ret = -1;

	for (;;) {
		n = read(STDIN_FILENO, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "wh %s: cannot read stdin: %s\n", what, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			fprintf(stderr, "wh %s: input on stdin is too long for a key\n", what);
			goto out;
		}
	}
	/* One trailing line ending is allowed, nothing else. */
	if (len && buf[len - 1] == '\n')
		--len;
	if (len && buf[len - 1] == '\r')
		--len;
	if (len == 0) {
		fprintf(stderr, "wh %s: no key on stdin\n", what);
		goto out;
	}
	if (memchr(buf, '\n', len)) {
		fprintf(stderr, "wh %s: trailing data after the key on stdin\n", what);
		goto out;
	}
	if (len != KEY_B64_LEN && len != KEY_B64URL_LEN) {
		fprintf(stderr, "wh %s: a key is 44 base64 characters (or 43 URL-safe); got %zu\n",
			what, len);
		goto out;
	}
	if (!key_from_base64(key, buf, len)) {
		fprintf(stderr, "wh %s: the key on stdin is not valid base64\n", what);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p = s;

	if (!*p)
		return -1;
	for (; *p; ++p) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (max - (unsigned long)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

bool cli_parse_duration(const char *s, unsigned long max, unsigned long *out)
{
	size_t len = strlen(s);
	unsigned long mult = 1, v;
	char num[16];

	if (!len || len >= sizeof(num))
		return false;
	switch (s[len - 1]) {
	case 's': mult = 1; --len; break;
	case 'm': mult = 60; --len; break;
	case 'h': mult = 3600; --len; break;
	case 'd': mult = 86400; --len; break;
	default: break;
	}
	memcpy(num, s, len);
	num[len] = '\0';
	if (cli_parse_uint(num, 1, max, &v) < 0 || v * mult > max)
		return false;
	*out = v * mult;
	return true;
}

volatile sig_atomic_t cli_stopped;

static void on_stop_signal(int sig)
{
	cli_stopped = sig;
}

void cli_catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
