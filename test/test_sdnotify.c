/* The readiness datagram (src/io/sdnotify.c): $NOTIFY_SOCKET's names
 * against a table of addresses, then real sends to an abstract and a
 * path socket, and none without $NOTIFY_SOCKET.  No root needed. */
#include "src/io/sdnotify.h"
#include "test/tap.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const struct {
	const char *name;
	int ret;
	size_t path_len; /* bytes of sun_path in the address's length */
} vectors[] = {
	{ "/run/systemd/notify", 0, sizeof("/run/systemd/notify") },
	{ "@sd-notify", 0, sizeof("@sd-notify") - 1 },
	{ "relative/notify", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "@", -EINVAL, 0 },
	{ "vsock:2:1234", -EINVAL, 0 },
};

static void check_vectors(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	char name[200];
	size_t i;
	int r;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); ++i) {
		len = 0;
		r = sdnotify_addr(vectors[i].name, &sa, &len);
		ok(r == vectors[i].ret && (r < 0 || len == offsetof(struct sockaddr_un, sun_path) +
					   vectors[i].path_len),
		   "'%s': %d, length %u", vectors[i].name, r, (unsigned)len);
	}
	r = sdnotify_addr("@sd-notify", &sa, &len);
	ok(r == 0 && sa.sun_path[0] == '\0' && !memcmp(sa.sun_path + 1, "sd-notify", 9),
	   "'@' becomes the abstract namespace's NUL");
	/* sun_path holds 108 bytes: a path of 107 and its NUL, an abstract
	 * name of 108 with its leading NUL. */
	memset(name, 'a', sizeof(name));
	name[0] = '/';
	name[107] = '\0';
	ok(sdnotify_addr(name, &sa, &len) == 0, "a path of 107 bytes fits");
	name[107] = 'a';
	name[108] = '\0';
	ok(sdnotify_addr(name, &sa, &len) == -ENAMETOOLONG, "a path of 108 bytes is too long");
	name[0] = '@';
	ok(sdnotify_addr(name, &sa, &len) == 0, "an abstract name of 108 bytes fits");
	name[108] = 'a';
	name[109] = '\0';
	ok(sdnotify_addr(name, &sa, &len) == -ENAMETOOLONG, "an abstract name of 109 is too long");
}

/* Sends state to a listener bound at name and reads what arrives. */
static void check_send(const char *name, const char *state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char buf[256];
	ssize_t n = -1;
	int fd, r = -1;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && sdnotify_addr(name, &sa, &len) == 0 &&
	    bind(fd, (struct sockaddr *)&sa, len) == 0) {
		setenv("NOTIFY_SOCKET", name, 1);
		r = state ? sdnotify_send(state) : sdnotify_reloading();
		n = recv(fd, buf, sizeof(buf) - 1, 0);
	}
	if (n >= 0)
		buf[n] = '\0';
	if (state) {
		char shown[64];
		size_t i;

		/* The state's newlines shown as "|": a TAP line is one line. */
		snprintf(shown, sizeof(shown), "%s", state);
		for (i = 0; shown[i]; ++i)
			if (shown[i] == '\n')
				shown[i] = '|';
		ok(r == 1 && n == (ssize_t)strlen(state) && !memcmp(buf, state, (size_t)n),
		   "%s: '%s' arrives whole", name, shown);
	}
	else
		ok(r == 1 && n > 0 && !strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) &&
		   strtoull(buf + 27, NULL, 10) > 0, "%s: RELOADING=1 with MONOTONIC_USEC", name);
	if (fd >= 0)
		close(fd);
	if (name[0] == '/')
		unlink(name);
}

int main(void)
{
	char path[64], abstract[64];
	int r;

	check_vectors();

	snprintf(abstract, sizeof(abstract), "@wh-test-sdnotify-%ld", (long)getpid());
	check_send(abstract, "READY=1");
	check_send(abstract, "STOPPING=1");
	check_send(abstract, NULL);
	snprintf(path, sizeof(path), "/tmp/wh-test-sdnotify-%ld.sock", (long)getpid());
	unlink(path);
	check_send(path, "READY=1\nSTATUS=up");

	unsetenv("NOTIFY_SOCKET");
	ok(sdnotify_send("READY=1") == 0, "no NOTIFY_SOCKET: nothing is sent");
	setenv("NOTIFY_SOCKET", "relative", 1);
	ok(sdnotify_send("READY=1") == -EINVAL, "a relative NOTIFY_SOCKET: -EINVAL");
	setenv("NOTIFY_SOCKET", "@wh-test-sdnotify-nobody-listens", 1);
	r = sdnotify_send("READY=1");
	ok(r == -ECONNREFUSED, "no listener: %d (-ECONNREFUSED)", r);
	return tap_done();
}
