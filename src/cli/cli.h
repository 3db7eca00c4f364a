/* The wh command line: one file per subcommand, dispatched from the
 * table in main.c.
 *
 * Exit codes of every subcommand:
 *   0  success
 *   1  the operation failed (bad input on stdin, I/O error, daemon error)
 *   2  usage error (unknown subcommand, bad argument)
 */
#ifndef WH_SRC_CLI_CLI_H
#define WH_SRC_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

enum { EXIT_USAGE = 2 };

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the subcommand */
	const char *usage;			/* arguments, after the name */
	const char *help;			/* one line */
};

int cmd_genkey(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_workbit(int argc, char **argv);
int cmd_orchid(int argc, char **argv);
int cmd_wireguard(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_ping(int argc, char **argv);

/* Reads one key from stdin (either base64 alphabet, optional trailing
 * newline).  On failure prints "wh WHAT: ..." naming what was wrong and
 * returns -1. */
int cli_read_key_stdin(uint8_t key[32], const char *what);

/* Parses a decimal integer in [min, max]; -1 when it is not one. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
