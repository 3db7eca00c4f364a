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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

struct node_options;

enum { EXIT_USAGE = 2 };

/* A keyword option of a subcommand and its arguments: one table per
 * subcommand serves its parser, `wh help` and the shell completion. */
struct cli_option {
	const char *name;
	const char *arg;	/* the arguments as help shows them; NULL: a flag */
	int n_args;
	const char *help;	/* one line */
};

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the subcommand */
	const char *usage;			/* arguments, after the name */
	const char *help;			/* one line */
	const struct cli_option *options;	/* NULL-terminated; NULL: none */
};

/* The subcommands, in the order help lists them (main.c). */
extern const struct subcommand cli_subcommands[];
extern const size_t cli_n_subcommands;
/* The help: every subcommand, its arguments and options. */
void cli_usage(FILE *f);

/* wh up's options, and its parser alone: 0 with *opt filled, or
 * EXIT_USAGE after saying why on stderr. */
extern const struct cli_option cmd_up_options[];
int cmd_up_parse(int argc, char **argv, struct node_options *opt);

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
int cmd_resolve(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_invite(int argc, char **argv);
int cmd_join(int argc, char **argv);
int cmd_nc(int argc, char **argv);
extern const struct cli_option cmd_nc_options[];
/* wh client-config (cmd_clientcfg.c) and its options. */
extern const struct cli_option cmd_clientcfg_options[];
int cmd_clientcfg(int argc, char **argv);

/* Searches a private key whose public key has at least want workbits in
 * namespace ns, on nthreads threads (0: one per core), showing progress
 * on stderr when asked and the search is long; sk is 32 bytes of
 * sodium_malloc memory.  -1 when no search thread could start. */
int cli_key_search(uint8_t *sk, unsigned want, const char *ns, unsigned long nthreads,
		   bool progress);
/* The same with the defaults, for wh up without a key (node.h's
 * make_key): 0 or -EAGAIN. */
int cli_make_key(uint8_t *sk, unsigned workbit, const char *ns);

/* packaging/completion/wh.bash and wh.zsh (completion_scripts.c.in). */
extern const char cli_completion_bash[];
extern const char cli_completion_zsh[];

/* Calls fn for every interface with a control socket in WH_CONTROL_DIR
 * until it returns false; -1 when the directory cannot be read. */
int cli_each_iface(bool (*fn)(void *ctx, const char *ifname), void *ctx);
/* Prints the hostnames of the network of the node on ifname; the exit
 * status. */
int cli_ctl_names(const char *ifname);
/* Sends req to the node on ifname; its answer goes to sink (an error to
 * stderr).  wait_exit_ms as `wh down` waits.  The exit status. */
int cli_ctl_request(const char *what, const char *ifname, const char *req, unsigned wait_exit_ms,
		    FILE *sink);

/* Reads one key from stdin (either base64 alphabet, optional trailing
 * newline).  On failure prints "wh WHAT: ..." naming what was wrong and
 * returns -1. */
int cli_read_key_stdin(uint8_t key[32], const char *what);

/* Parses a decimal integer in [min, max]; -1 when it is not one. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* SIGINT, SIGTERM and SIGHUP set cli_stopped to the signal's number,
 * without SA_RESTART: a blocking wait returns EINTR, and the command
 * stops what it started on its way out (wh join, wh nc). */
extern volatile sig_atomic_t cli_stopped;
void cli_catch_stop_signals(void);
/* N, Ns, Nm, Nh or Nd: seconds, from 1 s to max. */
bool cli_parse_duration(const char *s, unsigned long max, unsigned long *out);

/* An invitation string (wh join, wh nc; src/cli/invitation.c): parses
 * text into *inv and the alias's public key, or says on stderr, as "wh
 * PROG: ...", why it is mistyped, expired or forged, and returns -1. */
struct ovl_invite;
int cli_invite_read(const char *prog, const char *text, struct ovl_invite *inv,
		    uint8_t alias_pk[32]);
/* The invitation's boot nodes as network-file lines; -1 on a write error. */
int cli_invite_boot_lines(FILE *f, const struct ovl_invite *inv);

#endif
