/* wh up CONFIG [private-key FILE] [interface NAME] [listen-port N]
 *              [relay on|off] [relay-limit PPS BYTES_PER_S] [portmap on|off]
 *              [dns on|off] [hosts FILE] [metrics ADDR:PORT]
 *              [metrics-expose ADDR:PORT] [-v|-q] [-f]
 *
 * Starts a node of the network the file describes and returns once it is
 * up, printing the interface's name (with -f it stays in the
 * foreground).  Without private-key the node runs as a public node under
 * a new key that meets the network's workbit, kept in memory only.  See
 * src/node/node.h.
 *
 * The options are the table below: the parser, `wh help` and the shell
 * completion (`wh completion options up`) all read it. */
#include "src/cli/cli.h"

#include "src/node/node.h"
#include "src/wg/uapi.h"

#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum up_opt {
	UP_PRIVATE_KEY,
	UP_INTERFACE,
	UP_LISTEN_PORT,
	UP_RELAY,
	UP_RELAY_LIMIT,
	UP_PORTMAP,
	UP_DNS,
	UP_HOSTS,
	UP_METRICS,
	UP_METRICS_EXPOSE,
	UP_VERBOSE,
	UP_QUIET,
	UP_FOREGROUND,
	UP_MAX
};

const struct cli_option cmd_up_options[] = {
	[UP_PRIVATE_KEY] = { "private-key", "FILE", 1, "the node's private key (wh genkey); "
			     "without it a public node with a new key" },
	[UP_INTERFACE] = { "interface", "NAME", 1, "the interface (default wh- and 8 characters "
			   "of the key)" },
	[UP_LISTEN_PORT] = { "listen-port", "N", 1, "the UDP port (default 62096)" },
	[UP_RELAY] = { "relay", "on|off", 1, "a public node relays for members (default on)" },
	[UP_RELAY_LIMIT] = { "relay-limit", "PPS BYTES_PER_S", 2, "the relay's limits per sender "
			     "(default 20000 25000000)" },
	[UP_PORTMAP] = { "portmap", "on|off", 1, "ask the router for a port mapping (PCP, NAT-PMP, "
			 "then UPnP IGD; default on)" },
	[UP_DNS] = { "dns", "on|off", 1, "answer DNS for the members on our overlay addresses "
		     "(doc/names.md; default on)" },
	[UP_HOSTS] = { "hosts", "FILE", 1, "keep the members' names in a block of this hosts file" },
	[UP_METRICS] = { "metrics", "ADDR:PORT", 1, "serve GET /metrics (Prometheus) on a loopback "
			 "address (doc/metrics.md; default off)" },
	[UP_METRICS_EXPOSE] = { "metrics-expose", "ADDR:PORT", 1, "the same on any address: the "
				"metrics name the members' keys" },
	[UP_VERBOSE] = { "-v", NULL, 0, "log debug lines too (as LOG_LEVEL=debug)" },
	[UP_QUIET] = { "-q", NULL, 0, "log errors only (as LOG_LEVEL=error)" },
	[UP_FOREGROUND] = { "-f", NULL, 0, "stay in the foreground (also --foreground)" },
	{ NULL, NULL, 0, NULL },
};

/* The listener's address: a loopback one unless exposed is said. */
static int metrics_addr(const char *opt, const char *v, bool exposed, struct sockaddr_storage *out)
{
	union wg_sockaddr a;
	bool loopback;

	if (!uapi_parse_endpoint(&a, v, strlen(v)) ||
	    (a.sa.sa_family == AF_INET6 ? !a.in6.sin6_port : !a.in4.sin_port)) {
		fprintf(stderr, "wh up: '%s' needs an address and a port (127.0.0.1:9586, "
			"[::1]:9586), not '%s'\n", opt, v);
		return -1;
	}
	loopback = a.sa.sa_family == AF_INET ?
		   (ntohl(a.in4.sin_addr.s_addr) >> 24) == 127 :
		   IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr);
	if (!loopback && !exposed) {
		fprintf(stderr, "wh up: 'metrics %s' is not a loopback address: the metrics name "
			"the members' keys and traffic; say 'metrics-expose %s' to serve them there\n",
			v, v);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, &a, a.sa.sa_family == AF_INET ? sizeof(a.in4) : sizeof(a.in6));
	return 0;
}

static int on_off(const char *opt, const char *v, bool *on)
{
	if (strcmp(v, "on") && strcmp(v, "off")) {
		fprintf(stderr, "wh up: '%s' needs 'on' or 'off', not '%s'\n", opt, v);
		return -1;
	}
	*on = !strcmp(v, "on");
	return 0;
}

int cmd_up_parse(int argc, char **argv, struct node_options *opt)
{
	unsigned long v, pps, bps;
	bool on;
	int a, o;

	memset(opt, 0, sizeof(*opt));
	opt->listen_port = -1;
	opt->log_level = -1;
	for (a = 1; a < argc; ++a) {
		const char *w = argv[a];

		for (o = 0; o < UP_MAX; ++o)
			if (!strcmp(w, cmd_up_options[o].name))
				break;
		if (!strcmp(w, "--foreground"))
			o = UP_FOREGROUND;
		if (o == UP_MAX) {
			if (opt->config_path || w[0] == '-') {
				fprintf(stderr, "wh up: unexpected argument '%s'\n", w);
				return EXIT_USAGE;
			}
			opt->config_path = w;
			continue;
		}
		if (a + cmd_up_options[o].n_args >= argc) {
			fprintf(stderr, "wh up: '%s' needs %s\n", w, cmd_up_options[o].arg);
			return EXIT_USAGE;
		}
		switch ((enum up_opt)o) {
		case UP_FOREGROUND:
			opt->foreground = true;
			break;
		case UP_VERBOSE:
		case UP_QUIET:
			if (opt->log_level >= 0) {
				fprintf(stderr, "wh up: one of -v and -q, once\n");
				return EXIT_USAGE;
			}
			opt->log_level = o == UP_VERBOSE ? NODE_LOG_DEBUG : NODE_LOG_ERROR;
			break;
		case UP_METRICS:
		case UP_METRICS_EXPOSE:
			if (opt->metrics_addr.ss_family) {
				fprintf(stderr, "wh up: one metrics address\n");
				return EXIT_USAGE;
			}
			if (metrics_addr(w, argv[a + 1], o == UP_METRICS_EXPOSE, &opt->metrics_addr) < 0)
				return EXIT_USAGE;
			break;
		case UP_RELAY:
			if (on_off(w, argv[a + 1], &on) < 0)
				return EXIT_USAGE;
			opt->relay = on ? NODE_RELAY_ON : NODE_RELAY_OFF;
			break;
		case UP_PORTMAP:
			if (on_off(w, argv[a + 1], &on) < 0)
				return EXIT_USAGE;
			opt->portmap = on ? NODE_PORTMAP_ON : NODE_PORTMAP_OFF;
			break;
		case UP_DNS:
			if (on_off(w, argv[a + 1], &on) < 0)
				return EXIT_USAGE;
			opt->dns = on ? NODE_DNS_ON : NODE_DNS_OFF;
			break;
		case UP_HOSTS:
			if (!argv[a + 1][0]) {
				fprintf(stderr, "wh up: 'hosts' needs a file\n");
				return EXIT_USAGE;
			}
			opt->hosts_path = argv[a + 1];
			break;
		case UP_RELAY_LIMIT:
			if (cli_parse_uint(argv[a + 1], 1, 100000000, &pps) < 0 ||
			    cli_parse_uint(argv[a + 2], 1, 100000000000UL, &bps) < 0) {
				fprintf(stderr, "wh up: 'relay-limit' needs packets and bytes per second "
					"(1..1e8, 1..1e11)\n");
				return EXIT_USAGE;
			}
			opt->relay_pps = (uint32_t)pps;
			opt->relay_bps = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
			break;
		case UP_PRIVATE_KEY:
			opt->private_key_path = argv[a + 1];
			break;
		case UP_INTERFACE:
			opt->ifname = argv[a + 1];
			if (!*opt->ifname || strlen(opt->ifname) > 15 || strchr(opt->ifname, '/')) {
				fprintf(stderr, "wh up: invalid interface name '%s'\n", opt->ifname);
				return EXIT_USAGE;
			}
			break;
		case UP_LISTEN_PORT:
			if (cli_parse_uint(argv[a + 1], 0, 65535, &v) < 0) {
				fprintf(stderr, "wh up: listen-port '%s' is not a port number\n",
					argv[a + 1]);
				return EXIT_USAGE;
			}
			opt->listen_port = (int)v;
			break;
		case UP_MAX:
			break;
		}
		a += cmd_up_options[o].n_args;
	}
	if (!opt->config_path) {
		fprintf(stderr, "Usage: wh up CONFIG");
		for (o = 0; o < UP_MAX; ++o)
			fprintf(stderr, " [%s%s%s]", cmd_up_options[o].name,
				cmd_up_options[o].arg ? " " : "",
				cmd_up_options[o].arg ? cmd_up_options[o].arg : "");
		fprintf(stderr, "\n");
		return EXIT_USAGE;
	}
	/* A key found at start when none is given (node.h). */
	opt->make_key = cli_make_key;
	return 0;
}

int cmd_up(int argc, char **argv)
{
	struct node_options opt;
	int ret = cmd_up_parse(argc, argv, &opt);

	return ret ? ret : node_main(&opt);
}
