/* wh: the command-line entry point.  Subcommands live one per file and are
 * listed in the table below, with their one-line help. */
#include "src/cli/cli.h"

#include "crypto/crypto.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "genkey", cmd_genkey, "[workbit N] [namespace NS] [threads N]",
	  "print a new private key, searching for one with N workbits" },
	{ "pubkey", cmd_pubkey, "< private-key",
	  "print the public key (URL-safe base64) of the private key on stdin" },
	{ "workbit", cmd_workbit, "[namespace NS] < public-key",
	  "print the workbit of the public key on stdin" },
	{ "orchid", cmd_orchid, "[namespace NS] < public-key",
	  "print the ORCHIDv1 IPv6 address of the public key on stdin" },
	{ "up", cmd_up, "CONFIG [private-key F] [interface I] [listen-port N] [-f]",
	  "start a node of the network in CONFIG" },
	{ "down", cmd_down, "IFACE", "stop the node on IFACE" },
	{ "reload", cmd_reload, "IFACE", "apply the changed network file (keeps the old if bad)" },
	{ "show", cmd_show, "[IFACE|all] [json]", "show the nodes and their peers" },
	{ "inspect", cmd_inspect, "IFACE", "the whole state of a node, as JSON" },
	{ "lookup", cmd_lookup, "IFACE KEY", "find KEY in the DHT" },
	{ "ping", cmd_ping, "IFACE KEY", "ping KEY over the overlay" },
	{ "wireguard", cmd_wireguard, "[-f] IFNAME",
	  "run as a plain userspace WireGuard (as wireguard-wh / wireguard-go)" },
	{ "help", cmd_help, "", "show this help" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: wh <command> [arguments]\n\nCommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i)
		fprintf(f, "  %-8s %-40s %s\n", subcommands[i].name, subcommands[i].usage,
			subcommands[i].help);
	fprintf(f, "\n  --version                                         print the version\n"
		   "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (crypto_layer_init() < 0) {
		fprintf(stderr, "wh: cannot initialise libsodium\n");
		return 1;
	}
	/* Called as wireguard-wh, the binary is a drop-in userspace
	 * WireGuard for wg-quick. */
	if (!strcmp(basename(argv[0]), "wireguard-wh"))
		return cmd_wireguard(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("wh %s\n", WH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wh: unknown command '%s' (see 'wh help')\n", argv[1]);
	return EXIT_USAGE;
}
