/* The subcommands that talk to a running node over its control socket
 * (src/node/control.c has the server side):
 *
 *   wh show [IFACE|all] [json]     wh inspect IFACE
 *   wh lookup IFACE KEY            wh ping IFACE KEY
 *   wh reload IFACE                wh down IFACE
 *
 * Each sends one request line and prints the answer; an answer that
 * starts with "error: " goes to stderr and the exit status is 1. */
#include "src/cli/cli.h"

#include "src/node/node.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Sends request to the node of ifname; the answer goes to stdout (or
 * stderr for an error).  Returns the exit status. */
static int request(const char *what, const char *ifname, const char *req, bool skip_stale)
{
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
		fprintf(stderr, "wh %s: no node runs on '%s' (%s: %s)\n", what, ifname, sun.sun_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, req, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "wh %s: cannot send the request: %s\n", what, strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first)
			error = n >= 7 && !memcmp(buf, "error: ", 7);
		first = false;
		fwrite(buf, 1, (size_t)n, error ? stderr : stdout);
	}
	close(fd);
	if (first) {
		fprintf(stderr, "wh %s: the node on '%s' closed without answering\n", what, ifname);
		return 1;
	}
	return error ? 1 : 0;
}

/* wh show [IFACE|all] [json] */
int cmd_show(int argc, char **argv)
{
	const char *ifname = NULL;
	bool json = false;
	struct dirent *de;
	DIR *d;
	int a, r, ret = 0, shown = 0;

	for (a = 1; a < argc; ++a) {
		if (!strcmp(argv[a], "json") || !strcmp(argv[a], "--json"))
			json = true;
		else if (!ifname)
			ifname = argv[a];
		else {
			fprintf(stderr, "Usage: wh show [IFACE|all] [json]\n");
			return EXIT_USAGE;
		}
	}
	if (ifname && strcmp(ifname, "all"))
		return request("show", ifname, json ? "show json" : "show", false);
	d = opendir(WH_CONTROL_DIR);
	if (!d) {
		fprintf(stderr, "wh show: no node runs here\n");
		return 1;
	}
	if (json)
		printf("[\n");
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char name[16];

		if (l < 6 || l - 5 > 15 || strcmp(de->d_name + l - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
		if (json && shown)
			printf(",\n");
		fflush(stdout);
		r = request("show", name, json ? "show json" : "show", true);
		if (r < 0) {
			/* Nothing was printed: undo the separator. */
			if (json && shown)
				printf("\n");
			continue;
		}
		ret |= r;
		++shown;
		if (!json)
			printf("\n");
	}
	closedir(d);
	if (json)
		printf("]\n");
	if (!shown && !json)
		fprintf(stderr, "wh show: no node runs here\n");
	return ret ? 1 : 0;
}

static int iface_verb(int argc, char **argv, const char *verb, bool with_key)
{
	char req[256];

	if (argc != (with_key ? 3 : 2)) {
		fprintf(stderr, "Usage: wh %s IFACE%s\n", verb, with_key ? " KEY" : "");
		return EXIT_USAGE;
	}
	if (with_key) {
		if (strlen(argv[2]) > 64 || strpbrk(argv[2], " \n")) {
			fprintf(stderr, "wh %s: '%s' is not a key\n", verb, argv[2]);
			return EXIT_USAGE;
		}
		snprintf(req, sizeof(req), "%s %s", verb, argv[2]);
	} else {
		snprintf(req, sizeof(req), "%s", verb);
	}
	return request(verb, argv[1], req, false);
}

int cmd_inspect(int argc, char **argv)
{
	return iface_verb(argc, argv, "inspect", false);
}

int cmd_reload(int argc, char **argv)
{
	return iface_verb(argc, argv, "reload", false);
}

int cmd_down(int argc, char **argv)
{
	return iface_verb(argc, argv, "down", false);
}

int cmd_lookup(int argc, char **argv)
{
	return iface_verb(argc, argv, "lookup", true);
}

int cmd_ping(int argc, char **argv)
{
	return iface_verb(argc, argv, "ping", true);
}
