/* wh completion bash|zsh             the completion script for the shell
 * wh completion verbs                the subcommands, one a line
 * wh completion options VERB         VERB's keyword options, one a line
 * wh completion interfaces           the interfaces of running nodes
 * wh completion hostnames IFACE      the hostnames of IFACE's network
 *
 * The scripts (packaging/completion/, built in as strings) call the lists
 * back on the wh they complete, so that verbs and options come from the
 * same tables as the parser and the help (commands.c, cmd_up.c) and
 * never drift from them. */
#include "src/cli/cli.h"

#include "src/node/node.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool print_live(void *ctx, const char *ifname)
{
	struct sockaddr_un sun;
	int fd, r;

	/* A socket left by a node that died is no interface (as `wh show`
	 * skips it); one we may not connect to is still a node's. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (node_control_path(sun.sun_path, sizeof(sun.sun_path), ifname) < 0)
		return true;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == 0 || errno != ECONNREFUSED)
		printf("%s\n", ifname);
	close(fd);
	return true;
}

int cmd_completion(int argc, char **argv)
{
	const char *what = argc >= 2 ? argv[1] : "";
	const struct cli_option *o;
	size_t i;

	if (argc == 2 && !strcmp(what, "bash")) {
		fputs(cli_completion_bash, stdout);
	} else if (argc == 2 && !strcmp(what, "zsh")) {
		fputs(cli_completion_zsh, stdout);
	} else if (argc == 2 && !strcmp(what, "verbs")) {
		for (i = 0; i < cli_n_subcommands; ++i)
			printf("%s\n", cli_subcommands[i].name);
	} else if (argc == 3 && !strcmp(what, "options")) {
		for (i = 0; i < cli_n_subcommands; ++i)
			if (!strcmp(argv[2], cli_subcommands[i].name))
				break;
		if (i == cli_n_subcommands) {
			fprintf(stderr, "wh completion: unknown command '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		for (o = cli_subcommands[i].options; o && o->name; ++o)
			printf("%s\n", o->name);
	} else if (argc == 2 && !strcmp(what, "interfaces")) {
		return cli_each_iface(print_live, NULL) < 0 ? 1 : 0;
	} else if (argc == 3 && !strcmp(what, "hostnames")) {
		return cli_ctl_names(argv[2]);
	} else {
		fprintf(stderr, "Usage: wh completion bash|zsh\n"
				"       wh completion verbs|interfaces|options VERB|hostnames IFACE\n");
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
