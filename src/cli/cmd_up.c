/* wh up CONFIG [private-key FILE] [interface NAME] [listen-port N]
 *              [relay on|off] [relay-limit PPS BYTES_PER_S] [portmap on|off]
 *              [dns on|off] [hosts FILE] [-f]
 *
 * Starts a node of the network the file describes and returns once it is
 * up, printing the interface's name (with -f it stays in the
 * foreground).  See src/node/node.h. */
#include "src/cli/cli.h"

#include "src/node/node.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cmd_up(int argc, char **argv)
{
	struct node_options opt;
	unsigned long v;
	int a;

	memset(&opt, 0, sizeof(opt));
	opt.listen_port = -1;
	for (a = 1; a < argc; ++a) {
		const char *w = argv[a];

		if (!strcmp(w, "-f") || !strcmp(w, "--foreground")) {
			opt.foreground = true;
			continue;
		}
		if (!strcmp(w, "relay")) {
			if (a + 1 >= argc || (strcmp(argv[a + 1], "on") && strcmp(argv[a + 1], "off"))) {
				fprintf(stderr, "wh up: 'relay' needs 'on' or 'off'\n");
				return EXIT_USAGE;
			}
			opt.relay = !strcmp(argv[++a], "on") ? NODE_RELAY_ON : NODE_RELAY_OFF;
			continue;
		}
		if (!strcmp(w, "portmap")) {
			if (a + 1 >= argc || (strcmp(argv[a + 1], "on") && strcmp(argv[a + 1], "off"))) {
				fprintf(stderr, "wh up: 'portmap' needs 'on' or 'off'\n");
				return EXIT_USAGE;
			}
			opt.portmap = !strcmp(argv[++a], "on") ? NODE_PORTMAP_ON : NODE_PORTMAP_OFF;
			continue;
		}
		if (!strcmp(w, "dns")) {
			if (a + 1 >= argc || (strcmp(argv[a + 1], "on") && strcmp(argv[a + 1], "off"))) {
				fprintf(stderr, "wh up: 'dns' needs 'on' or 'off'\n");
				return EXIT_USAGE;
			}
			opt.dns = !strcmp(argv[++a], "on") ? NODE_DNS_ON : NODE_DNS_OFF;
			continue;
		}
		if (!strcmp(w, "hosts")) {
			if (a + 1 >= argc || !argv[a + 1][0]) {
				fprintf(stderr, "wh up: 'hosts' needs a file (the members' names are kept "
					"in a block of it)\n");
				return EXIT_USAGE;
			}
			opt.hosts_path = argv[++a];
			continue;
		}
		if (!strcmp(w, "relay-limit")) {
			unsigned long pps, bps;

			if (a + 2 >= argc || cli_parse_uint(argv[a + 1], 1, 100000000, &pps) < 0 ||
			    cli_parse_uint(argv[a + 2], 1, 100000000000UL, &bps) < 0) {
				fprintf(stderr, "wh up: 'relay-limit' needs packets and bytes per second "
					"(1..1e8, 1..1e11)\n");
				return EXIT_USAGE;
			}
			opt.relay_pps = (uint32_t)pps;
			opt.relay_bps = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
			a += 2;
			continue;
		}
		if (!strcmp(w, "private-key") || !strcmp(w, "interface") ||
		    !strcmp(w, "listen-port")) {
			if (a + 1 >= argc) {
				fprintf(stderr, "wh up: '%s' needs a value\n", w);
				return EXIT_USAGE;
			}
			if (!strcmp(w, "private-key")) {
				opt.private_key_path = argv[++a];
			} else if (!strcmp(w, "interface")) {
				opt.ifname = argv[++a];
				if (!*opt.ifname || strlen(opt.ifname) > 15 || strchr(opt.ifname, '/')) {
					fprintf(stderr, "wh up: invalid interface name '%s'\n", opt.ifname);
					return EXIT_USAGE;
				}
			} else {
				if (cli_parse_uint(argv[++a], 0, 65535, &v) < 0) {
					fprintf(stderr, "wh up: listen-port '%s' is not a port number\n", argv[a]);
					return EXIT_USAGE;
				}
				opt.listen_port = (int)v;
			}
			continue;
		}
		if (opt.config_path || w[0] == '-') {
			fprintf(stderr, "wh up: unexpected argument '%s'\n", w);
			return EXIT_USAGE;
		}
		opt.config_path = w;
	}
	if (!opt.config_path) {
		fprintf(stderr, "Usage: wh up CONFIG [private-key FILE] [interface NAME] [listen-port N]\n"
				"             [relay on|off] [relay-limit PPS BYTES_PER_S] [portmap on|off]\n"
				"             [dns on|off] [hosts FILE] [-f]\n");
		return EXIT_USAGE;
	}
	return node_main(&opt);
}
