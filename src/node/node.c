/* A node of an overlay network (see node.h): start-up, the interface, the
 * key, logging and shutdown.  The members and their discovery are in
 * node_members.c, reload in node_reload.c. */
#include "src/node/node_priv.h"

#include "src/node/invite.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "src/io/daemonize.h"
#include "src/io/sdnotify.h"
#include "src/io/logsink.h"
#include "src/node/dns.h"
#include "src/node/metrics.h"
#include "src/node/names.h"
#include "src/node/netconf.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"
#include "src/node/tcppath.h"
#include "src/node/portmap.h"
#include "src/node/routes.h"
#include "src/wg/peer.h"
#include "src/wg/send.h"
#include "src/wg/uapi.h"
#include "src/wg/uapi_server.h"
#include "tun/ifconfig.h"
#include "tun/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	TUNNEL_MTU = 1420,
};

#define NS (1000000000ULL)

int node_control_path(char *out, size_t len, const char *ifname)
{
	if ((size_t)snprintf(out, len, "%s/%s.sock", WH_CONTROL_DIR, ifname) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- the interface ---- */

/* The interface's addresses, on every system through tun/ifconfig.h. */
static int iface_addr(int ifindex, bool add, int family, const uint8_t *a, uint8_t prefix)
{
	return add ? ifc_addr_add(ifindex, family, a, prefix) :
		     ifc_addr_del(ifindex, family, a, prefix);
}

static int configure_interface(struct node *n, char *err, size_t errlen)
{
	int ifindex = (int)tun_ifindex(n->dev.tun), ret;

	ret = iface_addr(ifindex, true, AF_INET, n->ipv4, n->prefix4);
	if (ret < 0 && ret != -EEXIST)
		goto fail;
	ret = iface_addr(ifindex, true, AF_INET6, n->ipv6, n->prefix6);
	if (ret < 0 && ret != -EEXIST)
		goto fail;
	ret = tun_set_up(n->dev.tun, true);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot configure interface %s: %s", n->dev.ifname, strerror(-ret));
	return ret;
}

static void deconfigure_addresses(struct node *n)
{
	int ifindex = (int)tun_ifindex(n->dev.tun);

	iface_addr(ifindex, false, AF_INET, n->ipv4, n->prefix4);
	iface_addr(ifindex, false, AF_INET6, n->ipv6, n->prefix6);
}

void node_readdress(struct node *n, const uint8_t old4[4], uint8_t oldp4, const uint8_t old6[16],
		    uint8_t oldp6, char *err, size_t errlen)
{
	int ifindex = (int)tun_ifindex(n->dev.tun);

	iface_addr(ifindex, false, AF_INET, old4, oldp4);
	iface_addr(ifindex, false, AF_INET6, old6, oldp6);
	configure_interface(n, err, errlen);
}

/* Our own addresses and hostname, from our trust line. */
void node_take_self(struct node *n)
{
	const struct netconf_peer *self = netconf_find_self(n->conf, n->public_key);

	n->member = self != NULL;
	if (!self)
		return;
	memcpy(n->ipv4, self->ipv4, 4);
	memcpy(n->ipv6, self->ipv6, 16);
	n->prefix4 = n->conf->prefix;
	n->prefix6 = n->conf->prefix6;
	snprintf(n->hostname, sizeof(n->hostname), "%s", self->hostname);
}

/* The DHT drops every message of a key below the network's workbit, so
 * such a node would start and never join: refused, saying why. */
static int check_workbit(struct node *n, const char *key_path, char *err, size_t errlen)
{
	const struct netconf *c = n->conf;
	unsigned wb = workbit_of(n->public_key, c->ns, strlen(c->ns));

	if (wb >= c->workbit)
		return 0;
	snprintf(err, errlen, "%s: the key has workbit %u, below the network's workbit %u "
		 "(namespace '%s'): every node would drop its messages; make a key with "
		 "'wh genkey workbit %u%s%s'", key_path, wb, c->workbit, c->ns, c->workbit,
		 strcmp(c->ns, WORKBIT_DEFAULT_NAMESPACE) ? " namespace " : "",
		 strcmp(c->ns, WORKBIT_DEFAULT_NAMESPACE) ? c->ns : "");
	return -EINVAL;
}

/* ---- life cycle ---- */

static void on_closed_noop(uv_handle_t *h)
{
	(void)h;
}

void node_shutdown(struct node *n, const char *why)
{
	if (n->stopping)
		return;
	n->stopping = true;
	sdnotify_send("STOPPING=1");
	dev_log(&n->dev, LOG_INFO, "shutting down: %s", why);
	control_stop(n);
	metrics_listen_stop(n);
	node_dns_stop(n);
	uapi_server_stop(&n->dev);
	if (n->member && n->dev.tun)
		deconfigure_addresses(n);
	if (n->paths_ready)
		paths_stop(n);
	/* The router's mapping is removed on the thread pool; the loop runs
	 * until that is done (bounded). */
	if (n->portmap) {
		portmap_stop(n->portmap, NULL, NULL);
		n->portmap = NULL;
	}
	node_invite_stop(n);
	tcppath_stop(n);
	overlay_free(n->ov);
	n->ov = NULL;
	if (n->dev_ready)
		device_close(&n->dev);
	/* fd 2 back to the stderr we started with (or /dev/null): the pipe's
	 * handle must close for the loop to end. */
	logpipe_stop(n->logpipe, n->log_stream ? fileno(n->log_stream) : -1);
	n->logpipe = NULL;
	if (!n->handles_ready)
		return;
	uv_signal_stop(&n->sigint);
	uv_signal_stop(&n->sigterm);
	uv_close((uv_handle_t *)&n->sigint, on_closed_noop);
	uv_close((uv_handle_t *)&n->sigterm, on_closed_noop);
	uv_timer_stop(&n->discover);
	uv_close((uv_handle_t *)&n->discover, on_closed_noop);
}

static void on_shutdown_timer(uv_timer_t *t)
{
	struct node *n = t->data;

	node_shutdown(n, n->stop_reason);
}

void node_shutdown_soon(struct node *n, const char *why)
{
	n->stop_reason = why;
	uv_timer_stop(&n->discover);
	uv_timer_start(&n->discover, on_shutdown_timer, 100, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
	node_shutdown(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_fatal(struct wg_device *dev, const char *why)
{
	node_shutdown(dev->data, why);
}

static void on_portmap(void *ctx, const union wg_sockaddr *external, enum portmap_proto via)
{
	struct node *n = ctx;
	char a[80];

	if (external) {
		n->mapped = *external;
		dev_log(&n->dev, LOG_INFO, "port mapping by %s: %s", portmap_proto_name(via),
			wg_sockaddr_str(external, a, sizeof(a)));
	} else {
		memset(&n->mapped, 0, sizeof(n->mapped));
		dev_log(&n->dev, LOG_INFO, "port mapping lost");
	}
}

static void on_portmap_log(void *ctx, int level, const char *msg)
{
	struct node *n = ctx;

	dev_log(&n->dev, level <= 3 ? LOG_ERR : level <= 6 ? LOG_INFO : LOG_DBG, "port mapping: %s",
		msg);
}

static const struct portmap_ops portmap_ops = {
	.on_change = on_portmap,
	.on_log = on_portmap_log,
};

/* The private key file: a public key pasted in its place (in the form
 * `wh pubkey` prints, or one of the network file's keys) is refused, as
 * the node would silently run under a key nobody trusts; a file others
 * may read is warned about, as wg-quick does, in *warn. */
static int read_private_key(const char *path, const struct netconf *conf, uint8_t key[32],
			    char *warn, size_t warnlen, char *err, size_t errlen)
{
	char buf[128], label[264];
	struct stat st;
	size_t len = 0, i;
	ssize_t r;
	int fd, fl, ret = -EINVAL;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)))
		snprintf(warn, warnlen, "Warning: '%s' is %s accessible (mode %04o): a private key "
			 "should be its owner's alone (chmod 600)", path,
			 (st.st_mode & S_IRWXO) ? "world" : "group", (unsigned)(st.st_mode & 07777));
	/* `private-key <(...)`: a pipe is read blocking, before the loop. */
	fl = fcntl(fd, F_GETFL);
	if (!S_ISREG(st.st_mode) && fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		--len;
	if (len == KEY_B64URL_LEN && key_from_base64(key, buf, len)) {
		snprintf(err, errlen, "%s: holds a public key (43 URL-safe base64 characters, as "
			 "`wh pubkey` prints it), not a private key (44 characters, as `wh genkey` "
			 "prints it)", path);
		goto out;
	}
	if (len == sizeof(buf) || !key_from_base64(key, buf, len)) {
		snprintf(err, errlen, "%s: not a private key (44 base64 characters)", path);
		goto out;
	}
	for (i = 0; i < conf->n_peers; ++i) {
		if (!ct_equal(conf->peers[i].key, key, 32))
			continue;
		if (conf->peers[i].hostname[0])
			snprintf(label, sizeof(label), " '%s'", conf->peers[i].hostname);
		else
			label[0] = '\0';
		snprintf(err, errlen, "%s: holds the public key of %s%s (line %u of the network "
			 "file), not a private key", path, netconf_kind_name(conf->peers[i].kind), label,
			 conf->peers[i].line);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		sodium_memzero(key, 32);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* No private-key given: WireHub's public node under a new key, which must
 * meet the network's workbit for the others to hear it.  The search runs
 * before the loop does (nothing waits on it), on every core as `wh genkey`
 * searches; the key stays in sodium_malloc memory and dies with the
 * process, as WireHub kept it. */
static int make_key(struct node *n, const struct node_options *opt, char *err, size_t errlen)
{
	int ret;

	if (!opt->make_key) {
		snprintf(err, errlen, "no private key: use 'private-key FILE'");
		return -EINVAL;
	}
	if (n->conf->workbit > NODE_MAKE_KEY_MAX_WORKBIT) {
		snprintf(err, errlen, "no private-key given, and a new key for workbit %u is too "
			 "long a search to start with (at most %d): make one with 'wh genkey workbit "
			 "%u namespace %s' and give it as 'private-key FILE'", n->conf->workbit,
			 NODE_MAKE_KEY_MAX_WORKBIT, n->conf->workbit, n->conf->ns);
		return -EINVAL;
	}
	ret = opt->make_key(n->private_key, n->conf->workbit, n->conf->ns);
	if (ret < 0)
		snprintf(err, errlen, "no private-key given, and no new key could be made: %s",
			 strerror(-ret));
	return ret;
}

/* -v or -q, else LOG_LEVEL. */
static unsigned log_level(const struct node_options *opt)
{
	_Static_assert((int)NODE_LOG_ERROR == (int)LOG_ERR && (int)NODE_LOG_DEBUG == (int)LOG_DBG,
		       "one set of levels");
	return opt->log_level >= 0 ? (unsigned)opt->log_level : device_log_level_from_env();
}

static int node_setup(struct node *n, const struct node_options *opt, char *err, size_t errlen)
{
	struct overlay_config oc;
	const struct netconf_peer *mine;
	char b64[KEY_B64URL_LEN + 1], warn[PATH_MAX + 128] = "";
	bool regular = false;
	int ret, port;

	/* Read once here, before the loop runs: `wh up <(cat net.conf)`
	 * works.  A reload re-reads the path, so a regular file's is kept
	 * absolute; a pipe cannot be reloaded (node_reload says so). */
	ret = netconf_parse_once(opt->config_path, &regular, &n->conf, err, errlen);
	if (ret < 0)
		return ret;
	n->conf_once = !regular;
	if (!regular || !realpath(opt->config_path, n->conf_path))
		snprintf(n->conf_path, sizeof(n->conf_path), "%s", opt->config_path);
	snprintf(n->conf_name, sizeof(n->conf_name), "%s", opt->config_path);
	n->private_key = sodium_malloc(32);
	if (!n->private_key)
		return -ENOMEM;
	if (opt->private_key_path)
		ret = read_private_key(opt->private_key_path, n->conf, n->private_key, warn,
				       sizeof(warn), err, errlen);
	else
		ret = make_key(n, opt, err, errlen);
	if (ret < 0)
		return ret;
	x25519_clamp(n->private_key);
	x25519_public(n->public_key, n->private_key);
	ret = check_workbit(n, opt->private_key_path, err, errlen);
	if (ret < 0)
		return ret;
	/* A stock client runs no wh: its key as a node's would make it a
	 * DHT node, which a client line says it never is. */
	mine = netconf_find(n->conf, n->public_key);
	if (mine && mine->kind == NETCONF_CLIENT) {
		snprintf(err, errlen, "%.128s: the key is client \"%.64s\"'s (line %u of the network "
			 "file): a client line is a stock WireGuard client, which runs no wh (use a "
			 "member's key)", opt->private_key_path ? opt->private_key_path : "private key",
			 mine->hostname, mine->line);
		return -EINVAL;
	}
	node_take_self(n);

	key_to_base64url(b64, n->public_key);
	ret = device_init(&n->dev, &n->loop, opt->ifname ? opt->ifname : "");
	if (ret < 0)
		return ret;
	n->dev_ready = true;
	n->dev.log_level = log_level(opt);
	n->dev.log_stream = n->log_stream;
	n->dev.log_syslog = !opt->foreground;
	n->dev.log_journal = logsink_is_journal(n->log_stream ? fileno(n->log_stream) : 2);
	if (!opt->ifname)
		snprintf(n->dev.ifname, sizeof(n->dev.ifname), "wh-%.8s", b64);
	n->dev.data = n;
	n->dev.on_fatal = on_fatal;
	n->dev.mtu = TUNNEL_MTU;
	ret = device_set_private_key(&n->dev, n->private_key);
	if (ret < 0)
		return ret;
	if (warn[0])
		dev_log(&n->dev, LOG_ERR, "%s", warn);
	node_log_left_out(n);
	if (!opt->private_key_path)
		dev_log(&n->dev, LOG_INFO, "no private-key given: running as a public node with a "
			"new key %s (kept in memory only)", b64);
	else if (!n->member)
		dev_log(&n->dev, LOG_INFO, "the key of %s is in no trust line of %s: this node runs "
			"as a public node (not a member)", opt->private_key_path, n->conf_name);

	if (n->member) {
		ret = device_open_tun(&n->dev);
		if (ret < 0) {
			snprintf(err, errlen, "cannot create interface %s: %s", n->dev.ifname,
				 ret == -EEXIST ? "it exists and is not a free TUN device" : strerror(-ret));
			return ret;
		}
	}
	port = opt->listen_port >= 0 ? opt->listen_port : NETCONF_DEFAULT_PORT;
	ret = device_bind(&n->dev, (uint16_t)port);
	if (ret < 0) {
		snprintf(err, errlen, "cannot listen on UDP port %d: %s", port, strerror(-ret));
		return ret;
	}

	memset(&oc, 0, sizeof(oc));
	oc.private_key = n->private_key;
	oc.ns = n->conf->ns;
	oc.workbit = n->conf->workbit;
	oc.public_node = !n->member;
	oc.relay = opt->relay != NODE_RELAY_OFF;
	oc.relay_pps = opt->relay_pps;
	oc.relay_bps = opt->relay_bps;
	ret = overlay_new(&n->ov, &n->dev, &oc, &paths_overlay_ops, n);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the overlay: %s", strerror(-ret));
		return ret;
	}
	paths_init(n);
	n->paths_ready = true;
	ret = node_invite_start(n);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the invitations: %s", strerror(-ret));
		return ret;
	}

	ret = node_sync_members(n, NULL);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create the members as peers: %s", strerror(-ret));
		return ret;
	}
	/* A member asks its router to forward our port (UPnP IGD, NAT-PMP):
	 * a mapped port is a candidate any peer can reach. */
	if (n->member && opt->portmap != NODE_PORTMAP_OFF) {
		struct portmap_config pc;

		memset(&pc, 0, sizeof(pc));
		pc.internal_port = n->dev.bound_port;
		pc.description = "wh";
		ret = portmap_start(&n->portmap, &n->loop, &pc, &portmap_ops, n);
		if (ret < 0)
			dev_log(&n->dev, LOG_INFO, "no port mapping: %s", strerror(-ret));
	}
	if (n->member) {
		ret = configure_interface(n, err, errlen);
		if (ret < 0)
			return ret;
		routes_sync(n, NULL);
		/* `wg show` works on an overlay interface too. */
		node_uapi_policy_init(n);
		ret = uapi_server_start(&n->dev, &n->uapi_policy);
		if (ret < 0)
			dev_log(&n->dev, LOG_INFO, "no UAPI socket: %s", strerror(-ret));
		if (opt->dns != NODE_DNS_OFF && node_dns_start(n, opt->hosts_path) < 0) {
			snprintf(err, errlen, "cannot start the name service: out of memory");
			return -ENOMEM;
		}
	}
	if (mkdir(WH_CONTROL_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", WH_CONTROL_DIR, strerror(errno));
		return -errno;
	}
	ret = control_start(n);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create the control socket of %s: %s", n->dev.ifname,
			 ret == -EADDRINUSE ? "another node runs on it" : strerror(-ret));
		return ret;
	}
	ret = metrics_listen_start(n, &opt->metrics_addr);
	if (ret < 0) {
		snprintf(err, errlen, "cannot serve metrics: %s", strerror(-ret));
		return ret;
	}
	ret = names_sync(n);
	if (ret < 0) {
		snprintf(err, errlen, "cannot resolve the file's host names: %s", strerror(-ret));
		return ret;
	}
	ret = tcppath_start(n, opt->relay != NODE_RELAY_OFF);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the TCP relay path: %s", strerror(-ret));
		return ret;
	}

	uv_signal_init(&n->loop, &n->sigint);
	uv_signal_init(&n->loop, &n->sigterm);
	n->sigint.data = n->sigterm.data = n;
	uv_signal_start(&n->sigint, on_signal, SIGINT);
	uv_signal_start(&n->sigterm, on_signal, SIGTERM);
	uv_timer_init(&n->loop, &n->discover);
	n->discover.data = n;
	node_discover_start(n);
	n->handles_ready = true;
	return 0;
}

/* A line a library printed on our fd 2 (miniupnpc's perror, for one). */
static void on_stderr_line(void *ctx, const char *line)
{
	struct node *n = ctx;

	if (n->dev_ready)
		dev_log(&n->dev, LOG_INFO, "stderr: %s", line);
}

/* Logs: to stderr, and to syslog (facility daemon, ident "wh") once the
 * node runs as a daemon, whose stderr is gone after start-up.  What
 * libraries print on fd 2 comes back through dev_log, prefixed; at debug
 * level fd 2 is left alone, so that sanitizer and crash reports, which
 * a pipe read by the loop would lose, reach it. */
static void log_start(struct node *n, const struct node_options *opt)
{
	int saved = -1;

	if (!opt->foreground)
		logsink_syslog_open("wh");
	if (log_level(opt) < LOG_DBG &&
	    logpipe_start(&n->logpipe, &n->loop, on_stderr_line, n, &saved) == 0) {
		n->log_stream = fdopen(saved, "w");
		if (n->log_stream) {
			setvbuf(n->log_stream, NULL, _IOLBF, 0);
		} else {
			/* Our log would go into the pipe and come back: none. */
			logpipe_stop(n->logpipe, saved);
			n->logpipe = NULL;
			close(saved);
		}
	}
}

/* The daemon detached: its stderr stays only at debug level. */
static void log_detach(struct node *n)
{
	if (n->dev.log_level >= LOG_DBG && !n->logpipe)
		return;
	n->dev.log_stream_off = true;
	n->dev.log_stream = NULL;
	if (n->log_stream)
		fclose(n->log_stream);
	n->log_stream = NULL;
}

static int node_run(void *arg, int ready_fd)
{
	const struct node_options *opt = arg;
	struct node *n;
	char err[512] = "";
	size_t i;
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n)
		return 1;
	uv_loop_init(&n->loop);
	log_start(n, opt);
	ret = node_setup(n, opt, err, sizeof(err));
	if (ret < 0) {
		fprintf(n->log_stream ? n->log_stream : stderr, "wh up: %s\n",
			err[0] ? err : strerror(-ret));
		if (!opt->foreground) {
			char line[600];

			snprintf(line, sizeof(line), "wh up: %s", err[0] ? err : strerror(-ret));
			logsink_syslog(LOG_ERR, line);
		}
		n->exit_code = 1;
		node_shutdown(n, "start-up failed");
	} else {
		char b64[KEY_B64URL_LEN + 1];

		key_to_base64url(b64, n->public_key);
		dev_log(&n->dev, LOG_INFO, "up: %s%s%s, key %s, UDP port %u, %zu members",
			n->member ? "member" : "public node", n->hostname[0] ? " " : "", n->hostname,
			b64, n->dev.bound_port, n->n_members);
		if (!opt->foreground)
			printf("%s\n", n->dev.ifname);
		fflush(stdout);
		if (ready_fd >= 0)
			log_detach(n);
		/* fd 2 is our pipe (or, at debug level, the caller's stderr). */
		daemonize_ready(ready_fd, n->logpipe || n->dev.log_level >= LOG_DBG);
		/* The interface has its addresses and routes, the control
		 * socket listens: wh@.service is started. */
		sdnotify_send("READY=1");
	}
	uv_run(&n->loop, UV_RUN_DEFAULT);
	if (n->dev_ready) {
		dev_log(&n->dev, n->exit_code ? LOG_ERR : LOG_INFO, "exit %d", n->exit_code);
		device_destroy(&n->dev);
	}
	uv_loop_close(&n->loop);
	names_free(n);
	for (i = 0; i < n->n_members; ++i)
		free(n->members[i]);
	free(n->members);
	netconf_free(n->conf);
	if (n->private_key)
		sodium_free(n->private_key);
	if (n->log_stream)
		fclose(n->log_stream);
	ret = n->exit_code;
	free(n);
	return ret;
}

int node_main(const struct node_options *opt)
{
	signal(SIGPIPE, SIG_IGN);
	return daemonize_run(opt->foreground, node_run, (void *)opt);
}
