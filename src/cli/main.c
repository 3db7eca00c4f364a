/* wh: the command-line entry point.  Subcommands live one per file and are
 * listed in the table of commands.c, with their one-line help; `wh help`
 * and the shell completion (cmd_completion.c) read the same table. */
#include "src/cli/cli.h"

#include "crypto/crypto.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static char show[] = "show";
	static char *show_argv[] = { show, NULL };
	size_t i;

	if (crypto_layer_init() < 0) {
		fprintf(stderr, "wh: cannot initialise libsodium\n");
		return 1;
	}
	/* Called as wireguard-wh, the binary is a drop-in userspace
	 * WireGuard for wg-quick. */
	if (!strcmp(basename(argv[0]), "wireguard-wh"))
		return cmd_wireguard(argc, argv);
	/* WireHub's habit: `wh` alone shows every node. */
	if (argc < 2)
		return cmd_show(1, show_argv);
	if (!strcmp(argv[1], "--version"))
		argv[1] = (char *)"version";
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		argv[1] = (char *)"help";
	for (i = 0; i < cli_n_subcommands; ++i)
		if (!strcmp(argv[1], cli_subcommands[i].name))
			return cli_subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wh: unknown command '%s' (see 'wh help')\n", argv[1]);
	return EXIT_USAGE;
}
