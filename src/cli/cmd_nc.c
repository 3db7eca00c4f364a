/* wh nc: zero-netcat (README "Zero-netcat").
 *
 * wh nc boot KEY ADDR:PORT [boot ...] [namespace NS] [workbit N] [OPTION...]
 *   (the listener) makes two keys of the workbit, its own and a one-time
 *   alias for the other side, starts an ephemeral node of a network of
 *   two (itself, and the alias as an `alias` member), listens on its
 *   overlay address, and prints on stderr the invitation string to paste
 *   on the other side; it accepts one connection, from the alias's
 *   address, once.
 * wh nc STRING [OPTION...]
 *   (the connector) reads the string (a mistyped, expired or forged one
 *   is refused), starts its own node under the alias key with the same
 *   network file, and connects to the listener's overlay address.
 * Then both copy stdin to the peer and the peer to stdout, over a TCP
 * connection inside the WireGuard tunnel (the kernel's TCP gives order,
 * retransmission and half-close): EOF on stdin sends a FIN; the end comes
 * when both directions have ended and the peer has acknowledged all we
 * sent.
 *
 * The node is `wh up -f` as a child of this process, in a process group
 * of its own, with PR_SET_PDEATHSIG: it is sent SIGTERM when this process
 * dies, however it dies (kill -9 too), and takes its interface and
 * control socket down with it.  Its network file and key reach it
 * through pipes (/dev/fd/N), its log goes to an anonymous memory file
 * (shown when it fails), and it tells us it is ready over an abstract
 * notify socket: nothing is written to the file system.
 *
 * The network file, the same on both sides, is derived from the string:
 *   name nc-HEX             8 hex digits of the listener's key
 *   subnet S/30             the /30 of the subnet option's block (default
 *                           100.64.0.0/10) that the listener's key picks
 *   namespace, workbit, boot lines of the string
 *   trust nc-listen S+1 LISTENER-KEY
 *   alias nc-connect S+2 ALIAS-KEY
 * The connection is TCP from S+2 to S+1, port NC_PORT. */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/x25519.h"
#include "proto/overlay/invite.h"
#include "src/io/sdnotify.h"
#include "src/node/node.h"
#include "src/node/overlay.h"
#include "src/wg/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

enum {
	NC_PORT = 62097,		/* the TCP port inside the tunnel */
	NC_TIMEOUT_S = 30,		/* reaching the listener; a silent peer */
	NC_EXPIRES_S = 3600,		/* the string's life by default */
	NC_EXPIRES_MAX_S = 30 * 86400,
	NC_START_MS = 30000,		/* the node is up within this */
	NC_STOP_MS = 10000,		/* and down within this, else SIGKILL */
	NC_TICK_MS = 250,		/* how often the node's life is checked */
	NC_BUF = 64 * 1024,
};

enum nc_opt {
	NC_BOOT,
	NC_NAMESPACE,
	NC_WORKBIT,
	NC_SUBNET,
	NC_EXPIRES,
	NC_TIMEOUT,
	NC_LISTEN_PORT,
	NC_VERBOSE,
	NC_OPT_MAX
};

const struct cli_option cmd_nc_options[] = {
	[NC_BOOT] = { "boot", "KEY ADDR:PORT", 2, "a boot node of the DHT (listener; up to 8, "
		      "at least one)" },
	[NC_NAMESPACE] = { "namespace", "NS", 1, "the boot nodes' namespace (listener; default "
			   "public)" },
	[NC_WORKBIT] = { "workbit", "N", 1, "the boot nodes' workbit (listener; default 8)" },
	[NC_SUBNET] = { "subnet", "A.B.C.D/N", 1, "the block the tunnel's /30 is taken from, the "
			"same on both sides (default 100.64.0.0/10)" },
	[NC_EXPIRES] = { "expires", "DURATION", 1, "how long the listener waits and the string "
			 "lives (default 1h)" },
	[NC_TIMEOUT] = { "timeout", "SECONDS", 1, "give up reaching the listener, or a silent "
			 "peer, after this (default 30)" },
	[NC_LISTEN_PORT] = { "listen-port", "N", 1, "the node's UDP port (default: any)" },
	[NC_VERBOSE] = { "-v", NULL, 0, "show the node's log on stderr" },
	{ NULL, NULL, 0, NULL },
};

struct nc {
	bool listener;
	struct ovl_invite inv;		/* secret: the alias's key */
	uint8_t *sk;			/* sodium_malloc: our node's key */
	uint8_t listen_pk[32], alias_pk[32];
	uint32_t base;			/* the subnet option's block, host order */
	unsigned base_len;
	bool subnet_given;
	struct in_addr listen_ip, connect_ip;
	unsigned long timeout_s, expires_s, port;
	bool port_given, verbose;

	char ifname[16];
	pid_t node;			/* > 0 while the node runs */
	int log_fd;			/* its log (memfd); -1 */
	int sock;			/* the connection; -1 */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- options ---- */

static int parse_subnet(struct nc *c, const char *s)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long len;
	struct in_addr a;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1 || cli_parse_uint(slash + 1, 1, 30, &len) < 0)
		return -1;
	c->base_len = (unsigned)len;
	c->base = ntohl(a.s_addr) & (uint32_t)(0xffffffffULL << (32 - len));
	return 0;
}

static int parse_boot(struct nc *c, const char *key, const char *ep)
{
	struct ovl_invite_boot *b = &c->inv.boots[c->inv.n_boots];
	union wg_sockaddr a;

	if (c->inv.n_boots >= OVL_INVITE_MAX_BOOTS) {
		fprintf(stderr, "wh nc: at most %d boot nodes\n", OVL_INVITE_MAX_BOOTS);
		return -1;
	}
	if (!key_from_base64(b->key, key, strlen(key))) {
		fprintf(stderr, "wh nc: boot '%s': not a public key (base64 of 32 bytes)\n", key);
		return -1;
	}
	if (!uapi_parse_endpoint(&a, ep, strlen(ep)) || !overlay_addr_from_wg(&a, &b->addr) ||
	    !b->addr.port) {
		fprintf(stderr, "wh nc: boot '%s': not an address and port (192.0.2.1:62096, "
			"[2001:db8::1]:62096)\n", ep);
		return -1;
	}
	++c->inv.n_boots;
	return 0;
}

/* argv from a: the options; the listener alone takes boot, namespace
 * and workbit (the connector has them from the string). */
static int parse_options(struct nc *c, int argc, char **argv, int a)
{
	unsigned long v;
	int o;

	for (; a < argc; ++a) {
		const char *w = argv[a];

		for (o = 0; o < NC_OPT_MAX; ++o)
			if (!strcmp(w, cmd_nc_options[o].name))
				break;
		if (o == NC_OPT_MAX) {
			fprintf(stderr, "wh nc: unexpected argument '%s'\n", w);
			return -1;
		}
		if (a + cmd_nc_options[o].n_args >= argc) {
			fprintf(stderr, "wh nc: '%s' needs %s\n", w, cmd_nc_options[o].arg);
			return -1;
		}
		if (!c->listener && (o == NC_BOOT || o == NC_NAMESPACE || o == NC_WORKBIT ||
				     o == NC_EXPIRES)) {
			fprintf(stderr, "wh nc: '%s' is the listener's: the string carries it\n", w);
			return -1;
		}
		switch ((enum nc_opt)o) {
		case NC_BOOT:
			if (parse_boot(c, argv[a + 1], argv[a + 2]) < 0)
				return -1;
			break;
		case NC_NAMESPACE:
			v = strlen(argv[a + 1]);
			if (!v || v > 255) {
				fprintf(stderr, "wh nc: namespace '%s': 1 to 255 characters\n",
					argv[a + 1]);
				return -1;
			}
			for (const char *p = argv[a + 1]; *p; ++p)
				if (*p <= ' ' || *p > '~') {
					fprintf(stderr, "wh nc: namespace '%s': printable ASCII, no "
						"blanks\n", argv[a + 1]);
					return -1;
				}
			memcpy(c->inv.ns, argv[a + 1], v + 1);
			c->inv.ns_len = (uint8_t)v;
			break;
		case NC_WORKBIT:
			if (cli_parse_uint(argv[a + 1], 0, NODE_MAKE_KEY_MAX_WORKBIT, &v) < 0) {
				fprintf(stderr, "wh nc: workbit '%s': 0 to %d\n", argv[a + 1],
					NODE_MAKE_KEY_MAX_WORKBIT);
				return -1;
			}
			c->inv.workbit = (uint16_t)v;
			break;
		case NC_SUBNET:
			if (parse_subnet(c, argv[a + 1]) < 0) {
				fprintf(stderr, "wh nc: subnet '%s': an IPv4 block A.B.C.D/N, N from 1 "
					"to 30\n", argv[a + 1]);
				return -1;
			}
			c->subnet_given = true;
			break;
		case NC_EXPIRES:
			if (!cli_parse_duration(argv[a + 1], NC_EXPIRES_MAX_S, &c->expires_s)) {
				fprintf(stderr, "wh nc: expires '%s': a duration from 1s to 30d (N, "
					"Ns, Nm, Nh or Nd)\n", argv[a + 1]);
				return -1;
			}
			break;
		case NC_TIMEOUT:
			if (cli_parse_uint(argv[a + 1], 1, 86400, &c->timeout_s) < 0) {
				fprintf(stderr, "wh nc: timeout '%s': seconds, 1 to 86400\n",
					argv[a + 1]);
				return -1;
			}
			break;
		case NC_LISTEN_PORT:
			if (cli_parse_uint(argv[a + 1], 0, 65535, &c->port) < 0) {
				fprintf(stderr, "wh nc: listen-port '%s' is not a port number\n",
					argv[a + 1]);
				return -1;
			}
			c->port_given = true;
			break;
		case NC_VERBOSE:
			c->verbose = true;
			break;
		case NC_OPT_MAX:
			break;
		}
		a += cmd_nc_options[o].n_args;
	}
	return 0;
}

/* ---- the network of two ---- */

/* The /30 the listener's key picks in the block, and its two hosts. */
static void addresses(struct nc *c)
{
	uint32_t bits = 30 - c->base_len, pick, net;

	pick = (uint32_t)c->listen_pk[0] << 24 | (uint32_t)c->listen_pk[1] << 16 |
	       (uint32_t)c->listen_pk[2] << 8 | c->listen_pk[3];
	pick = bits ? pick & (uint32_t)((1ULL << bits) - 1) : 0;
	net = c->base | pick << 2;
	c->listen_ip.s_addr = htonl(net + 1);
	c->connect_ip.s_addr = htonl(net + 2);
}

/* The network file (malloc), the same text on both sides. */
static char *network_file(struct nc *c, size_t *len)
{
	char lk[KEY_B64URL_LEN + 1], ak[KEY_B64URL_LEN + 1], net[INET_ADDRSTRLEN];
	char lip[INET_ADDRSTRLEN], cip[INET_ADDRSTRLEN];
	struct in_addr n = { .s_addr = htonl(ntohl(c->listen_ip.s_addr) - 1) };
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	key_to_base64url(lk, c->listen_pk);
	key_to_base64url(ak, c->alias_pk);
	inet_ntop(AF_INET, &n, net, sizeof(net));
	inet_ntop(AF_INET, &c->listen_ip, lip, sizeof(lip));
	inet_ntop(AF_INET, &c->connect_ip, cip, sizeof(cip));
	fprintf(f, "name nc-%02x%02x%02x%02x\nsubnet %s/30\nnamespace %s\nworkbit %u\n",
		c->listen_pk[0], c->listen_pk[1], c->listen_pk[2], c->listen_pk[3], net, c->inv.ns,
		c->inv.workbit);
	cli_invite_boot_lines(f, &c->inv);
	fprintf(f, "trust nc-listen %s %s\nalias nc-connect %s %s\n", lip, lk, cip, ak);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- the node ---- */

/* A pipe whose read end the node inherits, holding len bytes. */
static int pipe_with(const void *data, size_t len)
{
	int p[2];

	if (len > 60000 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (write(p[1], data, len) != (ssize_t)len) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

static void show_node_log(struct nc *c)
{
	char buf[4096];
	ssize_t r;

	if (c->log_fd < 0 || lseek(c->log_fd, 0, SEEK_SET) < 0)
		return;
	fprintf(stderr, "wh nc: the node's log:\n");
	fflush(stderr);
	while ((r = read(c->log_fd, buf, sizeof(buf))) > 0)
		if (write(2, buf, (size_t)r) < 0)
			break;
}

/* The node stopped by itself: reaped, with a word. */
static bool node_gone(struct nc *c)
{
	int status;

	if (c->node <= 0 || waitpid(c->node, &status, WNOHANG) != c->node)
		return false;
	c->node = 0;
	fprintf(stderr, "wh nc: the node stopped (%s %d)\n", WIFEXITED(status) ? "exit" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	show_node_log(c);
	return true;
}

static void exec_node(struct nc *c, const char *self, int conf_fd, int key_fd, int notify_fd,
		      const char *notify, pid_t parent)
{
	char conf[32], key[32], port[16];
	int null = open("/dev/null", O_RDONLY);

	/* SIGTERM when we die, however: the node must not outlive us. */
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	close(notify_fd);
	if (null >= 0)
		dup2(null, 0);
	dup2(c->verbose ? 2 : c->log_fd, 1);
	if (!c->verbose)
		dup2(c->log_fd, 2);
	/* The pipes' read ends are passed on by number. */
	fcntl(conf_fd, F_SETFD, 0);
	fcntl(key_fd, F_SETFD, 0);
	snprintf(conf, sizeof(conf), "/dev/fd/%d", conf_fd);
	snprintf(key, sizeof(key), "/dev/fd/%d", key_fd);
	snprintf(port, sizeof(port), "%lu", c->port_given ? c->port : 0);
	setenv("NOTIFY_SOCKET", notify, 1);
	execl(self, "wh", "up", conf, "private-key", key, "interface", c->ifname, "listen-port",
	      port, "dns", "off", "-f", (char *)NULL);
	_exit(127);
}

/* Starts the node and waits for its READY=1. */
static int node_start(struct nc *c, const char *self, const char *conf, size_t conf_len)
{
	char notify[64], b64[KEY_B64_LEN + 2], msg[256];
	struct sockaddr_un sa;
	socklen_t sa_len;
	long long deadline = now_ms() + NC_START_MS;
	int conf_fd = -1, key_fd = -1, nfd = -1, ret = -1;
	pid_t parent = getpid();

	snprintf(c->ifname, sizeof(c->ifname), "whnc%ld", (long)parent % 100000000L);
	snprintf(notify, sizeof(notify), "@wh-nc-%ld-%08x", (long)parent, randombytes_random());
	key_to_base64(b64, c->sk);
	strcat(b64, "\n");
	conf_fd = pipe_with(conf, conf_len);
	key_fd = pipe_with(b64, strlen(b64));
	sodium_memzero(b64, sizeof(b64));
	c->log_fd = memfd_create("wh-nc-node-log", MFD_CLOEXEC);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (conf_fd < 0 || key_fd < 0 || c->log_fd < 0 || nfd < 0 ||
	    sdnotify_addr(notify, &sa, &sa_len) < 0 || bind(nfd, (struct sockaddr *)&sa, sa_len) < 0) {
		fprintf(stderr, "wh nc: cannot prepare the node: %s\n", strerror(errno));
		goto out;
	}
	c->node = fork();
	if (c->node == 0)
		exec_node(c, self, conf_fd, key_fd, nfd, notify, parent);
	if (c->node < 0) {
		c->node = 0;
		fprintf(stderr, "wh nc: cannot start the node: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		ssize_t r;

		if (cli_stopped || node_gone(c))
			goto out;
		if (now_ms() >= deadline) {
			fprintf(stderr, "wh nc: the node was not up within %d s\n", NC_START_MS / 1000);
			show_node_log(c);
			goto out;
		}
		if (poll(&p, 1, NC_TICK_MS) <= 0)
			continue;
		r = recv(nfd, msg, sizeof(msg) - 1, 0);
		if (r <= 0)
			continue;
		msg[r] = '\0';
		if (strstr(msg, "READY=1")) {
			ret = 0;
			break;
		}
	}
out:
	if (conf_fd >= 0)
		close(conf_fd);
	if (key_fd >= 0)
		close(key_fd);
	if (nfd >= 0)
		close(nfd);
	return ret;
}

/* SIGTERM and its exit awaited (SIGKILL after NC_STOP_MS): it removes
 * its interface and control socket. */
static void node_stop(struct nc *c)
{
	long long deadline = now_ms() + NC_STOP_MS;
	int status;

	if (c->node <= 0)
		return;
	kill(c->node, SIGTERM);
	while (waitpid(c->node, &status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(c->node, SIGKILL);
			waitpid(c->node, &status, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	c->node = 0;
}

/* ---- the connection ---- */

/* A silent peer (its node gone) is noticed within the timeout. */
static void tcp_options(struct nc *c, int fd)
{
	int one = 1, idle = 5, intvl = 5, cnt = (int)(c->timeout_s / 5) + 1;
	unsigned user = (unsigned)(c->timeout_s * 1000);

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof(user));
}

static int tcp_socket(struct nc *c, struct in_addr ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = ip, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -1;
	/* The address is the interface's: bound there, the connection
	 * never leaves through another one. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->ifname, (socklen_t)strlen(c->ifname));
	tcp_options(c, fd);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_tunnel(struct nc *c)
{
	int lfd = tcp_socket(c, c->listen_ip, NC_PORT);

	if (lfd < 0 || listen(lfd, 1) < 0) {
		fprintf(stderr, "wh nc: cannot listen on the tunnel: %s\n", strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	return lfd;
}

/* The listener: one connection, from the alias's address, until the
 * string expires; lfd is closed. */
static int accept_one(struct nc *c, int lfd, long long deadline)
{
	int ret = -1;

	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		int fd;

		if (cli_stopped || node_gone(c))
			goto out;
		if (now_ms() >= deadline) {
			fprintf(stderr, "wh nc: nobody came before the string expired\n");
			goto out;
		}
		if (poll(&p, 1, NC_TICK_MS) <= 0)
			continue;
		fd = accept4(lfd, (struct sockaddr *)&from, &flen, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		if (from.sin_family != AF_INET || from.sin_addr.s_addr != c->connect_ip.s_addr) {
			close(fd);
			continue;
		}
		tcp_options(c, fd);
		c->sock = fd;
		ret = 0;
		break;
	}
out:
	/* Once: no second connection is taken. */
	close(lfd);
	return ret;
}

/* The connector: SYN after SYN (a fresh one each second while the
 * tunnel's path is being found) until the timeout. */
static int connect_listener(struct nc *c)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = c->listen_ip,
				  .sin_port = htons(NC_PORT) };
	long long deadline = now_ms() + (long long)c->timeout_s * 1000;

	while (!cli_stopped && !node_gone(c) && now_ms() < deadline) {
		long long until = now_ms() + 1000;
		int fd = tcp_socket(c, c->connect_ip, 0), err = 0;
		socklen_t elen = sizeof(err);

		if (fd < 0) {
			fprintf(stderr, "wh nc: cannot make a socket on the tunnel: %s\n",
				strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS)
			err = errno;
		while (!err && !cli_stopped && now_ms() < until) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, (int)(until - now_ms())) <= 0)
				continue;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
			if (!err) {
				c->sock = fd;
				return 0;
			}
		}
		close(fd);
		if (err == ECONNREFUSED) {
			fprintf(stderr, "wh nc: the listener refused the connection: its string was "
				"used (it accepts one connection, once)\n");
			return -1;
		}
		if (err && err != ETIMEDOUT)
			poll(NULL, 0, 200);
	}
	if (!cli_stopped && c->node > 0)
		fprintf(stderr, "wh nc: cannot reach the listener within %lu s (it has ended, the "
			"string was used, or no path was found)\n", c->timeout_s);
	return -1;
}

struct buf {
	char data[NC_BUF];
	size_t len, off;
};

static int unacked(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) < 0 ? 0 : n;
}

/* stdin -> peer, peer -> stdout, until both have ended; 0 when all was
 * carried and the peer acknowledged what we sent. */
static int pump(struct nc *c)
{
	static struct buf up, down;	/* stdin -> sock, sock -> stdout */
	bool in_eof = false, sock_eof = false, shut = false;
	long long deadline;

	while (!(shut && sock_eof && down.len == 0)) {
		struct pollfd p[3] = {
			{ .fd = in_eof || up.len ? -1 : 0, .events = POLLIN },
			{ .fd = c->sock, .events = (short)((up.len ? POLLOUT : 0) |
							   (sock_eof || down.len ? 0 : POLLIN)) },
			{ .fd = down.len ? 1 : -1, .events = POLLOUT },
		};
		ssize_t r;

		if (cli_stopped || node_gone(c))
			return -1;
		if (in_eof && !up.len && !shut) {
			shutdown(c->sock, SHUT_WR);
			shut = true;
			continue;
		}
		if (poll(p, 3, NC_TICK_MS) < 0)
			continue;
		if (p[0].revents) {
			r = read(0, up.data, sizeof(up.data));
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "wh nc: cannot read the input: %s\n", strerror(errno));
				return -1;
			}
			if (r == 0)
				in_eof = true;
			up.len = r > 0 ? (size_t)r : 0;
			up.off = 0;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && !sock_eof && !down.len) {
			r = recv(c->sock, down.data, sizeof(down.data), 0);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "wh nc: the connection broke: %s\n", strerror(errno));
				return -1;
			}
			if (r == 0)
				sock_eof = true;
			down.len = r > 0 ? (size_t)r : 0;
			down.off = 0;
		}
		if (up.len && p[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
			r = send(c->sock, up.data + up.off, up.len, 0);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "wh nc: the connection broke: %s\n", strerror(errno));
				return -1;
			}
			if (r > 0) {
				up.off += (size_t)r;
				up.len -= (size_t)r;
			}
		}
		if (down.len && p[2].revents) {
			r = write(1, down.data + down.off, down.len);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "wh nc: cannot write the output: %s\n", strerror(errno));
				return -1;
			}
			if (r > 0) {
				down.off += (size_t)r;
				down.len -= (size_t)r;
			}
		}
	}
	/* Our last bytes and FIN acknowledged before the node goes. */
	deadline = now_ms() + (long long)c->timeout_s * 1000;
	while (unacked(c->sock) > 0 && now_ms() < deadline && !cli_stopped)
		poll(NULL, 0, 10);
	if (unacked(c->sock) > 0) {
		fprintf(stderr, "wh nc: the peer did not acknowledge the last %d bytes\n",
			unacked(c->sock));
		return -1;
	}
	return 0;
}

/* ---- the two sides ---- */

static int listener_keys(struct nc *c)
{
	if (!c->inv.n_boots) {
		fprintf(stderr, "wh nc: at least one 'boot KEY ADDR:PORT': the two sides find "
			"each other through the DHT\n");
		return -1;
	}
	if (cli_make_key(c->sk, c->inv.workbit, c->inv.ns) < 0 ||
	    cli_make_key(c->inv.alias_sk, c->inv.workbit, c->inv.ns) < 0) {
		fprintf(stderr, "wh nc: cannot make the keys\n");
		return -1;
	}
	x25519_clamp(c->sk);
	x25519_clamp(c->inv.alias_sk);
	x25519_public(c->listen_pk, c->sk);
	x25519_public(c->alias_pk, c->inv.alias_sk);
	memcpy(c->inv.inviter, c->listen_pk, 32);
	c->inv.expires_s = (uint64_t)time(NULL) + c->expires_s;
	return 0;
}

static void print_string(struct nc *c)
{
	char s[OVL_INVITE_MAX_TEXT + 1], net[INET_ADDRSTRLEN + 4];
	struct in_addr b = { .s_addr = htonl(c->base) };

	if (ovl_invite_format(s, sizeof(s), &c->inv) < 0)
		return;
	inet_ntop(AF_INET, &b, net, sizeof(net));
	fprintf(stderr, "wh nc: waiting for one connection; on the other side run:\n"
		"wh nc %s", s);
	if (c->subnet_given)
		fprintf(stderr, " subnet %s/%u", net, c->base_len);
	fprintf(stderr, "\n");
	fflush(stderr);
	sodium_memzero(s, sizeof(s));
}

int cmd_nc(int argc, char **argv)
{
	struct nc c = { .log_fd = -1, .sock = -1, .timeout_s = NC_TIMEOUT_S,
			.expires_s = NC_EXPIRES_S };
	char self[PATH_MAX], *conf = NULL;
	size_t conf_len = 0;
	ssize_t sl;
	int ret = 1;

	/* A first word that is no option is the string. */
	c.listener = true;
	if (argc >= 2) {
		c.listener = false;
		for (const struct cli_option *o = cmd_nc_options; o->name; ++o)
			if (!strcmp(argv[1], o->name))
				c.listener = true;
	}
	c.sk = sodium_malloc(32);
	if (!c.sk)
		return 1;
	memcpy(c.inv.ns, "public", 7);
	c.inv.ns_len = 6;
	c.inv.workbit = 8;
	parse_subnet(&c, "100.64.0.0/10");
	if (c.listener) {
		if (parse_options(&c, argc, argv, 1) < 0) {
			ret = EXIT_USAGE;
			goto usage;
		}
		if (listener_keys(&c) < 0)
			goto out;
	} else {
		if (cli_invite_read("nc", argv[1], &c.inv, c.alias_pk) < 0)
			goto out;
		if (parse_options(&c, argc, argv, 2) < 0) {
			ret = EXIT_USAGE;
			goto usage;
		}
		memcpy(c.sk, c.inv.alias_sk, 32);
		memcpy(c.listen_pk, c.inv.inviter, 32);
	}
	addresses(&c);
	conf = network_file(&c, &conf_len);
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!conf || sl <= 0) {
		fprintf(stderr, "wh nc: cannot prepare the node: %s\n", strerror(errno));
		goto out;
	}
	self[sl] = '\0';
	cli_catch_stop_signals();
	signal(SIGPIPE, SIG_IGN);
	if (node_start(&c, self, conf, conf_len) < 0)
		goto out;
	if (c.listener) {
		int lfd = listen_tunnel(&c);

		if (lfd < 0)
			goto out;
		print_string(&c);
		if (accept_one(&c, lfd, now_ms() + (long long)c.expires_s * 1000) < 0)
			goto out;
	} else if (connect_listener(&c) < 0) {
		goto out;
	}
	ret = pump(&c) < 0;
out:
	if (cli_stopped) {
		fprintf(stderr, "wh nc: stopped by signal %d\n", (int)cli_stopped);
		ret = 128 + (int)cli_stopped;
	}
	if (c.sock >= 0)
		close(c.sock);
	node_stop(&c);
	if (c.log_fd >= 0)
		close(c.log_fd);
	free(conf);
	sodium_free(c.sk);
	sodium_memzero(&c.inv, sizeof(c.inv));
	return ret;
usage:
	fprintf(stderr, "Usage: wh nc boot KEY ADDR:PORT [boot KEY ADDR:PORT...] [namespace NS] "
		"[workbit N] [OPTION...]\n       wh nc STRING [OPTION...]\n");
	goto out;
}
