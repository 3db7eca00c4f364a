/* wireguard-wh [-f|--foreground] [-v|-q] IFNAME
 *
 * The userspace-implementation contract that wg-quick relies on, as
 * wireguard-go defines it: create the TUN interface IFNAME and the UAPI
 * socket /var/run/wireguard/IFNAME.sock, then return (the daemon carries
 * on in the background) unless told to stay in the foreground (-f, or
 * WG_PROCESS_FOREGROUND=1).  The daemon exits on SIGINT or SIGTERM, when
 * the interface is removed, or when its socket file is deleted.
 * LOG_LEVEL=error|info|verbose|debug sets how much it logs (stderr); -v
 * (debug) and -q (errors only) set it whatever LOG_LEVEL says, as they do
 * for `wh up`. */
#include "src/cli/cli.h"

#include "src/io/daemonize.h"
#include "src/io/logsink.h"
#include "src/wg/device.h"
#include "src/wg/uapi_server.h"
#include "tun/tun.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the command line asked for, handed to the daemon. */
struct daemon_args {
	const char *ifname;
	int log_level;		/* LOG_ERR, LOG_INFO, LOG_DBG; -1: LOG_LEVEL's */
};

struct daemon_ctx {
	struct wg_device dev;
	uv_signal_t sigint, sigterm;
	uv_timer_t watch;
	int exit_code;
};

static void on_closed_noop(uv_handle_t *h)
{
	(void)h;
}

static void shutdown_daemon(struct daemon_ctx *d, const char *why)
{
	if (d->dev.closing)
		return;
	dev_log(&d->dev, LOG_INFO, "shutting down: %s", why);
	uapi_server_stop(&d->dev);
	device_close(&d->dev);
	uv_signal_stop(&d->sigint);
	uv_signal_stop(&d->sigterm);
	uv_close((uv_handle_t *)&d->sigint, on_closed_noop);
	uv_close((uv_handle_t *)&d->sigterm, on_closed_noop);
	uv_timer_stop(&d->watch);
	uv_close((uv_handle_t *)&d->watch, on_closed_noop);
}

static void on_signal(uv_signal_t *h, int signum)
{
	shutdown_daemon(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_fatal(struct wg_device *dev, const char *why)
{
	shutdown_daemon(dev->data, why);
}

/* Once a second: the socket file and the interface's MTU, which wg-quick
 * and ip(8) change behind our back. */
static void on_watch(uv_timer_t *t)
{
	struct daemon_ctx *d = t->data;
	unsigned mtu;

	if (!uapi_server_socket_present(&d->dev)) {
		shutdown_daemon(d, "the UAPI socket was deleted");
		return;
	}
	if (d->dev.tun && tun_get_mtu(d->dev.tun, &mtu) == 0 && mtu >= 576)
		d->dev.mtu = mtu;
}

/* Everything up to the point where the interface and the socket exist.
 * Errors are printed and returned as an exit status. */
static int daemon_setup(struct daemon_ctx *d, uv_loop_t *loop, const struct daemon_args *args)
{
	const char *ifname = args->ifname;
	int ret;

	ret = device_init(&d->dev, loop, ifname);
	if (ret < 0) {
		fprintf(stderr, "wireguard-wh: cannot initialise the device: %s\n", strerror(-ret));
		return 1;
	}
	d->dev.log_level = args->log_level >= 0 ? (unsigned)args->log_level :
						  device_log_level_from_env();
	d->dev.log_journal = logsink_is_journal(2);
	d->dev.on_fatal = on_fatal;
	d->dev.data = d;
	ret = device_open_tun(&d->dev);
	if (ret < 0) {
		if (ret == -ENOENT)
			fprintf(stderr, "wireguard-wh: cannot open /dev/net/tun: the TUN driver is missing\n");
		else if (ret == -EEXIST || ret == -EBUSY)
			fprintf(stderr, "wireguard-wh: interface '%s' already exists and is not a free TUN device\n",
				ifname);
		else
			fprintf(stderr, "wireguard-wh: cannot create interface '%s': %s\n", ifname,
				strerror(-ret));
		goto fail;
	}
	ret = device_bind(&d->dev, 0);
	if (ret < 0) {
		fprintf(stderr, "wireguard-wh: cannot open the UDP sockets: %s\n", strerror(-ret));
		goto fail;
	}
	ret = uapi_server_start(&d->dev, NULL);
	if (ret < 0) {
		if (ret == -EADDRINUSE)
			fprintf(stderr, "wireguard-wh: %s/%s.sock is in use by another process\n",
				UAPI_SOCKET_DIR, d->dev.ifname);
		else
			fprintf(stderr, "wireguard-wh: cannot create the UAPI socket %s/%s.sock: %s\n",
				UAPI_SOCKET_DIR, d->dev.ifname, strerror(-ret));
		goto fail;
	}
	uv_signal_init(loop, &d->sigint);
	uv_signal_init(loop, &d->sigterm);
	d->sigint.data = d->sigterm.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_timer_init(loop, &d->watch);
	d->watch.data = d;
	uv_timer_start(&d->watch, on_watch, 1000, 1000);
	return 0;
fail:
	device_close(&d->dev);
	uv_run(loop, UV_RUN_DEFAULT);
	device_destroy(&d->dev);
	return 1;
}

static int run(void *arg, int ready_fd)
{
	const struct daemon_args *args = arg;
	struct daemon_ctx *d;
	uv_loop_t loop;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "wireguard-wh: out of memory\n");
		return 1;
	}
	uv_loop_init(&loop);
	ret = daemon_setup(d, &loop, args);
	if (ret) {
		uv_loop_close(&loop);
		free(d);
		return ret;
	}
	dev_log(&d->dev, LOG_INFO, "interface up, UDP port %u", d->dev.bound_port);
	daemonize_ready(ready_fd, d->dev.log_level >= LOG_DBG);
	uv_run(&loop, UV_RUN_DEFAULT);
	device_destroy(&d->dev);
	uv_loop_close(&loop);
	ret = d->exit_code;
	free(d);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "Usage: wireguard-wh [-f/--foreground] [-v | -q] INTERFACE-NAME\n");
	return EXIT_USAGE;
}

int cmd_wireguard(int argc, char **argv)
{
	struct daemon_args args = { .ifname = NULL, .log_level = -1 };
	bool foreground = false;
	const char *env;
	int i;

	for (i = 1; i < argc; ++i) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground"))
			foreground = true;
		else if (!strcmp(argv[i], "--version")) {
			printf("wireguard-wh %s\n", WH_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "-q")) {
			if (args.log_level >= 0) {
				fprintf(stderr, "wireguard-wh: one of -v and -q, once\n");
				return usage();
			}
			args.log_level = argv[i][1] == 'v' ? LOG_DBG : LOG_ERR;
		} else if (argv[i][0] == '-' || args.ifname)
			return usage();
		else
			args.ifname = argv[i];
	}
	if (!args.ifname)
		return usage();
	if (strlen(args.ifname) >= TUN_NAME_MAX || strchr(args.ifname, '/')) {
		fprintf(stderr, "wireguard-wh: invalid interface name '%s'\n", args.ifname);
		return EXIT_USAGE;
	}
	env = getenv("WG_PROCESS_FOREGROUND");
	if (env && !strcmp(env, "1"))
		foreground = true;
	signal(SIGPIPE, SIG_IGN);
	return daemonize_run(foreground, run, &args);
}
