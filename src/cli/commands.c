/* The table of wh's subcommands and the help it prints: main.c dispatches
 * on it, cmd_completion.c completes from it. */
#include "src/cli/cli.h"

#include <stdio.h>

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

const struct subcommand cli_subcommands[] = {
	{ "show", cmd_show, "[IFACE|all] [all|light] [json]",
	  "the nodes and their members (what `wh` alone does); all: with the DHT table", NULL },
	{ "up", cmd_up, "CONFIG [OPTION...]", "start a node of the network in CONFIG",
	  cmd_up_options },
	{ "down", cmd_down, "IFACE", "stop the node on IFACE", NULL },
	{ "reload", cmd_reload, "IFACE", "apply the changed network file (keeps the old if bad)",
	  NULL },
	{ "lookup", cmd_lookup, "IFACE HOSTNAME|KEY", "find a node in the DHT", NULL },
	{ "ping", cmd_ping, "IFACE HOSTNAME|KEY", "ping a node over the overlay", NULL },
	{ "resolve", cmd_resolve, "IFACE HOSTNAME|KEY",
	  "a hostname's key and overlay addresses, or a key's hostname (JSON)", NULL },
	{ "inspect", cmd_inspect, "IFACE", "the whole state of a node, as JSON", NULL },
	{ "metrics", cmd_metrics, "IFACE",
	  "the node's metrics in the Prometheus text format (doc/metrics.md)", NULL },
	{ "invite", cmd_invite, "IFACE [HOSTNAME] [expires DURATION]",
	  "print a one-time invitation to the network (default: expires 1h)", NULL },
	{ "client-config", cmd_clientcfg, "IFACE|FILE HOSTNAME [OPTION...]",
	  "print the wg-quick file of a stock WireGuard client (a client line)",
	  cmd_clientcfg_options },
	{ "join", cmd_join, "INVITATION [private-key F] [file PATH] [interface NAME]",
	  "join a network with an invitation, then run as its member", NULL },
	{ "nc", cmd_nc, "boot KEY ADDR:PORT [OPTION...] | STRING [OPTION...]",
	  "zero-netcat: pipe stdin and stdout to one peer through a string (README)",
	  cmd_nc_options },
	{ "genkey", cmd_genkey, "[workbit N] [namespace NS] [threads N]",
	  "print a new private key, searching for one with N workbits", NULL },
	{ "pubkey", cmd_pubkey, "< private-key",
	  "print the public key (URL-safe base64) of the private key on stdin", NULL },
	{ "workbit", cmd_workbit, "[namespace NS] < public-key",
	  "print the workbit of the public key on stdin", NULL },
	{ "orchid", cmd_orchid, "[namespace NS] < public-key",
	  "print the ORCHIDv1 IPv6 address of the public key on stdin", NULL },
	{ "wireguard", cmd_wireguard, "[-f] IFNAME",
	  "run as a plain userspace WireGuard (as wireguard-wh / wireguard-go)", NULL },
	{ "completion", cmd_completion, "bash|zsh",
	  "print the shell completion script (source it, or see packaging/completion)", NULL },
	{ "help", cmd_help, "", "show this help (also --help, -h)", NULL },
	{ "version", cmd_version, "", "print the version (also --version)", NULL },
};

const size_t cli_n_subcommands = sizeof(cli_subcommands) / sizeof(cli_subcommands[0]);

void cli_usage(FILE *f)
{
	const struct cli_option *o;
	size_t i;

	fprintf(f, "Usage: wh [<command> [arguments]]\n\nCommands:\n");
	for (i = 0; i < cli_n_subcommands; ++i) {
		const struct subcommand *c = &cli_subcommands[i];

		fprintf(f, "  %-10s %s\n  %-10s   %s\n", c->name, c->usage, "", c->help);
		/* One line per option, from the table its parser reads. */
		for (o = c->options; o && o->name; ++o) {
			char word[48];

			snprintf(word, sizeof(word), "%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			fprintf(f, "  %-10s     %-28s %s\n", "", word, o->help);
		}
	}
	fprintf(f, "\n  wh alone is wh show.  HOSTNAME is a name of the node's network file.\n"
		   "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	cli_usage(stdout);
	return 0;
}


static int cmd_version(int argc, char **argv)
{
	printf("wh %s\n", WH_VERSION);
	return 0;
}
