/* udpprobe: the probe of the NAT lab (test/net/natlab.sh, doc/nat-lab.md).
 *
 *   udpprobe serve PORT...
 *	Answers every "probe ID" datagram on each PORT with "seen IP:PORT ID",
 *	the source address it observed.  A "send IP:PORT TOKEN COUNT" datagram
 *	from 127.0.0.1 (sent by `udpprobe ask`) makes it send "hello TOKEN"
 *	COUNT times to IP:PORT from that same socket, then acknowledge with
 *	"sent"; that is how a test sends unsolicited packets from a public
 *	host's exact ip:port.  Prints "ready" once every port is bound.
 *
 *   udpprobe ask PORT IP:PORT TOKEN [COUNT]
 *	Asks the local server on PORT to send TOKEN to IP:PORT; exits 0 once
 *	the server acknowledged (retrying for 3 s), 1 otherwise.
 *
 *   udpprobe client [-b IP:PORT] [-t SECONDS] [-l SECONDS] [SERVER...]
 *	From one bound socket (-b, default any address, a random port), probes
 *	each SERVER (IP:PORT) in turn, retransmitting every 200 ms for up to -t
 *	seconds (default 3) each, and prints "local IP:PORT", then
 *	"seen SERVER OBSERVED" (or "seen SERVER none") per server, then "ready".
 *	With -l, it then listens for SECONDS and prints "recv SOURCE TOKEN"
 *	for every "hello TOKEN" datagram.  Exits 1 if a server did not answer.
 *
 *   udpprobe stun IP:PORT MAPPED_IP
 *	A minimal STUN (RFC 5389) binding responder that reports MAPPED_IP and
 *	the request's source port as the mapped address (MAPPED-ADDRESS and
 *	XOR-MAPPED-ADDRESS).  miniupnpd, told to learn its external address by
 *	STUN, then sees "the WAN address itself, port unchanged" and enables
 *	port forwarding even though the WAN address is in a reserved range.
 *
 * Everything is IPv4 and printed line by line, flushed, so that a test can
 * poll the output file.  For tests only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_SERVE = 16,
	MSG_MAX = 512,
	STUN_HDR = 20,
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_RESPONSE = 0x0101,
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_LEN = 12,
	STUN_RESPONSE = STUN_HDR + 2 * STUN_ATTR_LEN,
};

static const uint32_t stun_magic = 0x2112A442;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* parse_endpoint: "A.B.C.D:PORT" into sa. */
static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	size_t n;
	uint16_t port;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 || parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	sa->sin_port = htons(port);
	return 0;
}

static const char *fmt_endpoint(const struct sockaddr_in *sa, char *buf, size_t len)
{
	char host[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sa->sin_port));
	return buf;
}

static bool same_endpoint(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static int bound_socket(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* recv_text: one datagram as a NUL-terminated string (truncated to fit). */
static ssize_t recv_text(int fd, char *buf, size_t len, struct sockaddr_in *from)
{
	socklen_t fl = sizeof(*from);
	ssize_t n;

	n = recvfrom(fd, buf, len - 1, 0, (struct sockaddr *)from, &fl);
	if (n < 0)
		return -errno;
	if (fl != sizeof(*from) || from->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	buf[n] = '\0';
	return n;
}

static void send_text(int fd, const struct sockaddr_in *to, const char *text)
{
	if (sendto(fd, text, strlen(text), 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		fprintf(stderr, "udpprobe: sendto: %s\n", strerror(errno));
}

/* ------------------------------------------------------------ serve */

static void serve_one(int fd, uint16_t port)
{
	char buf[MSG_MAX], out[MSG_MAX], src[32], dst[32];
	char target[64], token[64];
	struct sockaddr_in from, to;
	unsigned count;

	if (recv_text(fd, buf, sizeof(buf), &from) < 0)
		return;
	fmt_endpoint(&from, src, sizeof(src));
	if (strncmp(buf, "probe ", 6) == 0 && strlen(buf) < 80) {
		snprintf(out, sizeof(out), "seen %s %.80s", src, buf + 6);
		send_text(fd, &from, out);
		printf("port %u: probe from %s\n", (unsigned)port, src);
	} else if (strncmp(buf, "send ", 5) == 0 &&
		   from.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
		/* Only the local controller may make the server send. */
		if (sscanf(buf, "send %63s %63s %u", target, token, &count) != 3 ||
		    parse_endpoint(target, &to) < 0 || count == 0 || count > 100) {
			send_text(fd, &from, "error");
			return;
		}
		snprintf(out, sizeof(out), "hello %s", token);
		for (unsigned i = 0; i < count; i++)
			send_text(fd, &to, out);
		send_text(fd, &from, "sent");
		printf("port %u: sent %s x%u to %s\n", (unsigned)port, token, count,
		       fmt_endpoint(&to, dst, sizeof(dst)));
	} else {
		printf("port %u: ignored a datagram from %s\n", (unsigned)port, src);
	}
	fflush(stdout);
}

static int cmd_serve(int argc, char **argv)
{
	struct pollfd pfd[MAX_SERVE];
	uint16_t ports[MAX_SERVE];
	int n = argc;

	if (n < 1 || n > MAX_SERVE) {
		fprintf(stderr, "usage: udpprobe serve PORT... (at most %d)\n", MAX_SERVE);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };

		if (parse_port(argv[i], &ports[i]) < 0) {
			fprintf(stderr, "udpprobe: bad port \"%s\"\n", argv[i]);
			return 2;
		}
		sa.sin_port = htons(ports[i]);
		pfd[i].fd = bound_socket(&sa);
		if (pfd[i].fd < 0) {
			fprintf(stderr, "udpprobe: bind port %u: %s\n", (unsigned)ports[i],
				strerror(-pfd[i].fd));
			return 1;
		}
		pfd[i].events = POLLIN;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("udpprobe: poll");
			return 1;
		}
		for (int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				serve_one(pfd[i].fd, ports[i]);
	}
}

/* ------------------------------------------------------------ ask */

static int cmd_ask(int argc, char **argv)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, server = { .sin_family = AF_INET };
	struct sockaddr_in target, from;
	char msg[MSG_MAX], buf[MSG_MAX];
	uint16_t port, count = 1;
	double deadline, next = 0;
	int fd, rc = 1;

	if (argc < 3 || argc > 4 || parse_port(argv[0], &port) < 0 ||
	    parse_endpoint(argv[1], &target) < 0 || strlen(argv[2]) > 60 ||
	    (argc == 4 && (parse_port(argv[3], &count) < 0 || count == 0 || count > 100))) {
		fprintf(stderr, "usage: udpprobe ask PORT IP:PORT TOKEN [COUNT]\n");
		return 2;
	}
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server.sin_port = htons(port);
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = bound_socket(&any);
	if (fd < 0) {
		fprintf(stderr, "udpprobe: socket: %s\n", strerror(-fd));
		return 1;
	}
	snprintf(msg, sizeof(msg), "send %s %s %u", argv[1], argv[2], (unsigned)count);
	deadline = now_s() + 3.0;
	for (double t = now_s(); t < deadline; t = now_s()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (t >= next) {
			send_text(fd, &server, msg);
			next = t + 0.5;
		}
		if (poll(&p, 1, 50) > 0 && recv_text(fd, buf, sizeof(buf), &from) >= 0 &&
		    same_endpoint(&from, &server)) {
			rc = strcmp(buf, "sent") == 0 ? 0 : 1;
			break;
		}
	}
	if (rc != 0)
		fprintf(stderr, "udpprobe: the server on port %u did not send\n", (unsigned)port);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ client */

/* client_handle: a datagram that is not the awaited answer; "hello TOKEN"
 * is reported, anything else ignored. */
static void client_handle(const char *buf, const struct sockaddr_in *from)
{
	char src[32];

	if (strncmp(buf, "hello ", 6) != 0 || strlen(buf) > 80)
		return;
	printf("recv %s %s\n", fmt_endpoint(from, src, sizeof(src)), buf + 6);
	fflush(stdout);
}

/* client_probe: ask one server what source it sees; prints the answer. */
static bool client_probe(int fd, const char *arg, const struct sockaddr_in *server,
			 unsigned id, double timeout)
{
	char msg[64], want[32], buf[MSG_MAX], seen[64], sid[32];
	struct sockaddr_in from;
	double deadline = now_s() + timeout, next = 0;

	snprintf(msg, sizeof(msg), "probe %u", id);
	snprintf(want, sizeof(want), "%u", id);
	for (double t = now_s(); t < deadline; t = now_s()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (t >= next) {
			send_text(fd, server, msg);
			next = t + 0.2;
		}
		if (poll(&p, 1, 20) <= 0 || recv_text(fd, buf, sizeof(buf), &from) < 0)
			continue;
		if (same_endpoint(&from, server) &&
		    sscanf(buf, "seen %63s %31s", seen, sid) == 2 && strcmp(sid, want) == 0) {
			printf("seen %s %s\n", arg, seen);
			fflush(stdout);
			return true;
		}
		client_handle(buf, &from);
	}
	printf("seen %s none\n", arg);
	fflush(stdout);
	return false;
}

static int cmd_client(int argc, char **argv)
{
	struct sockaddr_in local = { .sin_family = AF_INET }, server, from;
	double timeout = 3.0, listen_for = 0;
	socklen_t ll = sizeof(local);
	char buf[MSG_MAX], addr[32];
	int fd, i, rc = 0;

	for (i = 0; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "-b") == 0) {
			if (parse_endpoint(argv[i + 1], &local) < 0)
				goto usage;
		} else if (strcmp(argv[i], "-t") == 0) {
			timeout = atof(argv[i + 1]);
		} else if (strcmp(argv[i], "-l") == 0) {
			listen_for = atof(argv[i + 1]);
		} else {
			goto usage;
		}
	}
	if (timeout <= 0 || timeout > 60 || listen_for < 0 || listen_for > 600)
		goto usage;
	for (int j = i; j < argc; j++)
		if (parse_endpoint(argv[j], &server) < 0)
			goto usage;

	fd = bound_socket(&local);
	if (fd < 0) {
		fprintf(stderr, "udpprobe: bind %s: %s\n", fmt_endpoint(&local, addr, sizeof(addr)),
			strerror(-fd));
		return 1;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		printf("local %s\n", fmt_endpoint(&local, addr, sizeof(addr)));
	for (int j = i; j < argc; j++) {
		parse_endpoint(argv[j], &server);
		if (!client_probe(fd, argv[j], &server, (unsigned)(j - i + 1), timeout))
			rc = 1;
	}
	printf("ready\n");
	fflush(stdout);

	if (listen_for > 0) {
		double stop = now_s() + listen_for;

		for (double t = now_s(); t < stop; t = now_s()) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int ms = (int)((stop - t) * 1000) + 1;

			if (poll(&p, 1, ms) > 0 && recv_text(fd, buf, sizeof(buf), &from) >= 0)
				client_handle(buf, &from);
		}
		printf("done\n");
	}
	close(fd);
	return rc;

usage:
	fprintf(stderr, "usage: udpprobe client [-b IP:PORT] [-t SECONDS] [-l SECONDS] "
			"[SERVER_IP:PORT...]\n");
	return 2;
}

/* ------------------------------------------------------------ stun */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* put_address: one IPv4 (XOR-)MAPPED-ADDRESS attribute, host byte order in. */
static void put_address(uint8_t *p, uint16_t type, uint16_t port, uint32_t addr)
{
	put16(p, type);
	put16(p + 2, 8);
	p[4] = 0;
	p[5] = 1; /* IPv4 */
	put16(p + 6, port);
	put32(p + 8, addr);
}

static int cmd_stun(int argc, char **argv)
{
	_Static_assert(STUN_RESPONSE == 44, "wire size");
	struct sockaddr_in sa, from;
	struct in_addr mapped;
	uint8_t req[MSG_MAX], resp[STUN_RESPONSE];
	uint32_t maddr;
	int fd;

	if (argc != 2 || parse_endpoint(argv[0], &sa) < 0 ||
	    inet_pton(AF_INET, argv[1], &mapped) != 1) {
		fprintf(stderr, "usage: udpprobe stun IP:PORT MAPPED_IP\n");
		return 2;
	}
	maddr = ntohl(mapped.s_addr);
	fd = bound_socket(&sa);
	if (fd < 0) {
		fprintf(stderr, "udpprobe: bind: %s\n", strerror(-fd));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
		uint16_t port;
		char src[32];

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("udpprobe: recvfrom");
			return 1;
		}
		/* A binding request: a 20-byte header whose length covers no
		 * more than was received; attributes (CHANGE-REQUEST) are not
		 * honoured, every answer comes from the one bound address. */
		if (fl != sizeof(from) || n < STUN_HDR || get16(req) != STUN_BINDING_REQUEST ||
		    get32(req + 4) != stun_magic || (size_t)get16(req + 2) + STUN_HDR > (size_t)n)
			continue;
		port = ntohs(from.sin_port);
		put16(resp, STUN_BINDING_RESPONSE);
		put16(resp + 2, 2 * STUN_ATTR_LEN);
		memcpy(resp + 4, req + 4, 16); /* magic cookie, transaction id */
		put_address(resp + STUN_HDR, STUN_ATTR_MAPPED_ADDRESS, port, maddr);
		put_address(resp + STUN_HDR + STUN_ATTR_LEN, STUN_ATTR_XOR_MAPPED_ADDRESS,
			    port ^ (uint16_t)(stun_magic >> 16), maddr ^ stun_magic);
		if (sendto(fd, resp, sizeof(resp), 0, (struct sockaddr *)&from, sizeof(from)) < 0)
			perror("udpprobe: sendto");
		printf("stun: binding request from %s\n", fmt_endpoint(&from, src, sizeof(src)));
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ask") == 0)
		return cmd_ask(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "stun") == 0)
		return cmd_stun(argc - 2, argv + 2);
	fprintf(stderr, "usage: udpprobe serve|ask|client|stun ...\n");
	return 2;
}
