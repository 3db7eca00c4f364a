/* The subcommands that talk to a running node over its control socket
 * (src/node/control.c has the server side):
 *
 *   wh show [IFACE|all] [all] [json]   wh inspect IFACE
 *   wh lookup IFACE NAME|KEY           wh ping IFACE NAME|KEY
 *   wh resolve IFACE NAME|KEY          wh reload IFACE
 *   wh metrics IFACE
 *   wh down IFACE
 *
 * NAME is a hostname of the node's network file; the node tells names
 * from keys (src/node/control_request.h).
 * Each sends one request line and prints the answer; an answer that
 * starts with "error: " goes to stderr and the exit status is 1.  `wh down`
 * then waits until the node's process has exited (its UDP port and
 * interface are free when it returns), DOWN_WAIT_S at most. */
#include "src/cli/cli.h"

#include "src/node/control_request.h"
#include "src/node/node.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { DOWN_WAIT_S = 15 };

/* The process on the other end of a connected Unix socket, as a pidfd
 * where the system has them (Linux 5.3 and later; it cannot name another
 * process if the PID is reused), else by its PID alone (*pidfd -1).
 * false when the peer cannot be known. */
static bool peer_process(int fd, pid_t *pid, int *pidfd)
{
#ifdef SO_PEERCRED
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return false;
	*pid = cred.pid;
#ifdef SYS_pidfd_open
	*pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
#else
	*pidfd = -1;
#endif
	return true;
#else
	(void)fd;
	(void)pid;
	*pidfd = -1;
	return false;
#endif
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits until the process has exited: true when it did within wait_ms.
 * A pidfd becomes readable when the process exits; without one, the PID
 * is polled every 20 ms (kill with signal 0 fails with ESRCH once it is
 * gone). */
static bool wait_exit(pid_t pid, int pidfd, unsigned wait_ms)
{
	uint64_t end = now_ms() + wait_ms;

	for (;;) {
		uint64_t now = now_ms();
		int left = now >= end ? 0 : (int)(end - now);

		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			int r = poll(&p, 1, left);

			if (r > 0)
				return true;
			if (r < 0 && errno == EINTR)
				continue;
			return false;
		}
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		if (!left)
			return false;
		poll(NULL, 0, left < 20 ? left : 20);
	}
}

/* request()'s answer in `wh show all` when the socket is root's. */
enum { REQUEST_DENIED = -2 };

/* Sends request to the node of ifname; the answer goes to stdout (or
 * stderr for an error).  Returns the exit status.  With wait_exit_ms, a
 * request that succeeded returns only once the node's process has exited
 * (or fails after that long, saying so).  With skip_stale (`wh show
 * all`), -1 for a socket no node listens on, REQUEST_DENIED for one we
 * may not connect to. */

static int request_to(const char *what, const char *ifname, const char *req, bool skip_stale,
		      unsigned wait_exit_ms, FILE *sink)
{
	pid_t pid = 0;
	int pidfd = -1;
	bool known = false;
	struct sockaddr_un sun;
	char buf[4096];
	bool first = true, error = false;
	ssize_t n;
	size_t len = strlen(req);
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ifname) > 15 || strchr(ifname, '/') ||
	    node_control_path(sun.sun_path, sizeof(sun.sun_path), ifname) < 0) {
		fprintf(stderr, "wh %s: invalid interface name '%s'\n", what, ifname);
		return EXIT_USAGE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		/* `wh show all`: a socket left by a node that died is not a
		 * node; say nothing of it. */
		if (skip_stale && errno == ECONNREFUSED) {
			close(fd);
			return -1;
		}
		/* The socket is root's (0700): that is no absent node. */
		if (errno == EACCES || errno == EPERM) {
			fprintf(stderr, "wh %s: permission denied: run as root (%s: %s)\n", what,
				sun.sun_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return skip_stale ? REQUEST_DENIED : 1;
		}
		fprintf(stderr, "wh %s: no node runs on '%s' (%s: %s)\n", what, ifname, sun.sun_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* Before the request: the process is pinned while it cannot have
	 * exited yet. */
	if (wait_exit_ms)
		known = peer_process(fd, &pid, &pidfd);
	if (write(fd, req, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "wh %s: cannot send the request: %s\n", what, strerror(errno));
		close(fd);
		if (pidfd >= 0)
			close(pidfd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first)
			error = n >= 7 && !memcmp(buf, "error: ", 7);
		first = false;
		fwrite(buf, 1, (size_t)n, error ? stderr : sink);
	}
	close(fd);
	if (first || error) {
		if (first)
			fprintf(stderr, "wh %s: the node on '%s' closed without answering\n", what,
				ifname);
		if (pidfd >= 0)
			close(pidfd);
		return 1;
	}
	if (wait_exit_ms) {
		bool gone = known && wait_exit(pid, pidfd, wait_exit_ms);

		if (pidfd >= 0)
			close(pidfd);
		if (!known) {
			fprintf(stderr, "wh %s: cannot tell which process runs the node on '%s'; "
				"not waiting for it to exit\n", what, ifname);
			return 1;
		}
		if (!gone) {
			fprintf(stderr, "wh %s: the node on '%s' (pid %ld) has not exited after %u s\n",
				what, ifname, (long)pid, wait_exit_ms / 1000);
			return 1;
		}
	}
	return 0;
}

static int request(const char *what, const char *ifname, const char *req, bool skip_stale,
		   unsigned wait_exit_ms)
{
	return request_to(what, ifname, req, skip_stale, wait_exit_ms, stdout);
}

int cli_ctl_request(const char *what, const char *ifname, const char *req, unsigned wait_exit_ms,
		    FILE *sink)
{
	return request_to(what, ifname, req, false, wait_exit_ms, sink);
}

/* Calls fn for the name of every interface with a control socket, until
 * it returns false; -1 when the directory cannot be read. */
int cli_each_iface(bool (*fn)(void *ctx, const char *ifname), void *ctx)
{
	struct dirent *de;
	DIR *d = opendir(WH_CONTROL_DIR);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char name[16];

		if (l < 6 || l - 5 > 15 || strcmp(de->d_name + l - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
		if (!fn(ctx, name))
			break;
	}
	closedir(d);
	return 0;
}

struct show_every {
	const char *req;
	bool json, denied;
	int ret, shown;
};

static bool show_one(void *ctx, const char *name)
{
	struct show_every *s = ctx;
	int r;

	if (s->json && s->shown)
		printf(",\n");
	fflush(stdout);
	r = request("show", name, s->req, true, 0);
	if (r == REQUEST_DENIED) {
		/* Every other socket is root's too: said once. */
		if (s->json && s->shown)
			printf("\n");
		s->ret = 1;
		s->denied = true;
		return false;
	}
	if (r < 0) {
		/* Nothing was printed: undo the separator. */
		if (s->json && s->shown)
			printf("\n");
		return true;
	}
	s->ret |= r;
	++s->shown;
	if (!s->json)
		printf("\n");
	return true;
}

/* wh show [IFACE|all] [all|light] [json]: with no interface (or "all" in
 * its place) every node runs here is shown; "all" after the interface,
 * or alone, adds the DHT table (WireHub's `wh show IFACE all`). */
int cmd_show(int argc, char **argv)
{
	const char *ifname = NULL, *pos[2];
	bool json = false, all = false;
	struct show_every s;
	int a, n_pos = 0;
	char req[32];

	for (a = 1; a < argc; ++a) {
		if (!strcmp(argv[a], "json") || !strcmp(argv[a], "--json"))
			json = true;
		else if (n_pos < 2)
			pos[n_pos++] = argv[a];
		else
			goto usage;
	}
	if (n_pos == 1 && !strcmp(pos[0], "all")) {
		all = true;
	} else if (n_pos >= 1) {
		if (strcmp(pos[0], "all"))
			ifname = pos[0];
		if (n_pos == 2 && !strcmp(pos[1], "all"))
			all = true;
		else if (n_pos == 2 && strcmp(pos[1], "light"))
			goto usage;
	}
	snprintf(req, sizeof(req), "show%s%s", all ? " all" : "", json ? " json" : "");
	if (ifname)
		return request("show", ifname, req, false, 0);
	memset(&s, 0, sizeof(s));
	s.req = req;
	s.json = json;
	if (json)
		printf("[\n");
	if (cli_each_iface(show_one, &s) < 0) {
		fprintf(stderr, "wh show: no node runs here\n");
		return 1;
	}
	if (json)
		printf("]\n");
	if (!s.shown && !json && !s.denied)
		fprintf(stderr, "wh show: no node runs here\n");
	return s.ret ? 1 : 0;
usage:
	fprintf(stderr, "Usage: wh show [IFACE|all] [all|light] [json]\n");
	return EXIT_USAGE;
}

static int iface_verb(int argc, char **argv, const char *verb, bool with_target,
		      unsigned wait_exit_ms)
{
	char req[CONTROL_LINE_MAX + 1];
	const char *t = with_target && argc == 3 ? argv[2] : "";
	size_t i;

	if (argc != (with_target ? 3 : 2)) {
		fprintf(stderr, "Usage: wh %s IFACE%s\n", verb, with_target ? " HOSTNAME|KEY" : "");
		return EXIT_USAGE;
	}
	/* A hostname or a key is one word of printable ASCII (what the
	 * request line carries); anything else names nothing. */
	for (i = 0; t[i]; ++i)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] > '~')
			break;
	if (with_target && (!*t || t[i] || strlen(verb) + 1 + i > CONTROL_LINE_MAX)) {
		fprintf(stderr, "wh %s: '%s' is neither a hostname nor a public key\n", verb, t);
		return EXIT_USAGE;
	}
	snprintf(req, sizeof(req), "%s%s%s", verb, with_target ? " " : "", t);
	return request(verb, argv[1], req, false, wait_exit_ms);
}

int cmd_inspect(int argc, char **argv)
{
	return iface_verb(argc, argv, "inspect", false, 0);
}

int cmd_reload(int argc, char **argv)
{
	return iface_verb(argc, argv, "reload", false, 0);
}

int cmd_down(int argc, char **argv)
{
	return iface_verb(argc, argv, "down", false, DOWN_WAIT_S * 1000);
}

int cmd_lookup(int argc, char **argv)
{
	return iface_verb(argc, argv, "lookup", true, 0);
}

int cmd_ping(int argc, char **argv)
{
	return iface_verb(argc, argv, "ping", true, 0);
}

int cmd_resolve(int argc, char **argv)
{
	return iface_verb(argc, argv, "resolve", true, 0);
}

int cmd_metrics(int argc, char **argv)
{
	return iface_verb(argc, argv, "metrics", false, 0);
}

/* The network's hostnames, for shell completion (`wh completion
 * hostnames IFACE`): the node's answer to "names". */
int cli_ctl_names(const char *ifname)
{
	return request("completion", ifname, "names", false, 0);
}
