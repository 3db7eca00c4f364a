/* The wh command line's pure parts (src/cli): wh up's option table against
 * its parser (every option in the table parses with the arguments this
 * test gives it, and the test knows every option in the table), the
 * refusals, and the help and completion lists against the tables they are
 * made from, so that `wh --help` and the completion name every verb and
 * every option the parser takes. */
#include "src/cli/cli.h"

#include "src/node/node.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* Arguments for every option of wh up, and what each must set. */
static const struct {
	const char *name;
	const char *args[2];
} up_samples[] = {
	{ "private-key", { "/tmp/sk" } },
	{ "interface", { "wh-test0" } },
	{ "listen-port", { "4242" } },
	{ "relay", { "off" } },
	{ "relay-limit", { "100", "200000" } },
	{ "portmap", { "off" } },
	{ "dns", { "off" } },
	{ "hosts", { "/tmp/hosts" } },
	{ "metrics", { "127.0.0.1:9586" } },
	{ "metrics-expose", { "[2001:db8::1]:9586" } },
	{ "-v", { NULL } },
	{ "-q", { NULL } },
	{ "-f", { NULL } },
};

static int parse(struct node_options *opt, const char *const *words)
{
	char *argv[24];
	int argc = 0;

	argv[argc++] = (char *)"up";
	while (*words && argc < 23)
		argv[argc++] = (char *)*words++;
	argv[argc] = NULL;
	return cmd_up_parse(argc, argv, opt);
}

static void test_up_table(void)
{
	const struct cli_option *o;
	size_t i, n_table = 0;

	for (o = cmd_up_options; o->name; ++o, ++n_table) {
		struct node_options opt;
		const char *words[5] = { "net.conf", o->name };
		bool known = false;

		for (i = 0; i < sizeof(up_samples) / sizeof(up_samples[0]); ++i) {
			if (strcmp(up_samples[i].name, o->name))
				continue;
			known = true;
			words[2] = up_samples[i].args[0];
			words[3] = words[2] ? up_samples[i].args[1] : NULL;
		}
		if (!ok(known, "up: the test knows option '%s'", o->name))
			continue;
		ok(o->n_args == (words[2] ? (words[3] ? 2 : 1) : 0), "up: '%s' takes %d arguments",
		   o->name, o->n_args);
		ok(parse(&opt, words) == 0, "up: '%s' parses", o->name);
		ok(!strcmp(opt.config_path, "net.conf"), "up: '%s': the config stays", o->name);
	}
	ok(n_table == sizeof(up_samples) / sizeof(up_samples[0]), "up: %zu options in the table",
	   n_table);
}

static void test_up_values(void)
{
	struct node_options opt;
	static const char *const all[] = { "net.conf", "private-key", "/tmp/sk", "interface",
		"wh-x", "listen-port", "4242", "relay", "off", "relay-limit", "100", "200000",
		"portmap", "off", "dns", "off", "hosts", "/tmp/hosts", "--foreground", NULL };
	static const char *const none[] = { "net.conf", NULL };

	ok(parse(&opt, all) == 0, "up: every option at once");
	ok(!strcmp(opt.private_key_path, "/tmp/sk") && !strcmp(opt.ifname, "wh-x") &&
	   opt.listen_port == 4242 && opt.relay == NODE_RELAY_OFF && opt.relay_pps == 100 &&
	   opt.relay_bps == 200000 && opt.portmap == NODE_PORTMAP_OFF && opt.dns == NODE_DNS_OFF &&
	   !strcmp(opt.hosts_path, "/tmp/hosts") && opt.foreground,
	   "up: every value taken");
	ok(parse(&opt, none) == 0 && !opt.private_key_path && opt.make_key &&
	   opt.listen_port == -1 && opt.relay == NODE_RELAY_DEFAULT && opt.dns == NODE_DNS_ON &&
	   !opt.hosts_path && !opt.foreground,
	   "up: no key: the defaults, and a key maker for a public node");
	ok(opt.log_level == -1 && !opt.metrics_addr.ss_family,
	   "up: the log's level from the environment, no metrics listener");
	{
		static const char *const v[] = { "net.conf", "-v", "metrics", "[::1]:9100", NULL };
		static const char *const q[] = { "net.conf", "-q", "metrics-expose", "198.51.100.7:80",
						 NULL };
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&opt.metrics_addr;
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&opt.metrics_addr;

		ok(parse(&opt, v) == 0 && opt.log_level == NODE_LOG_DEBUG &&
		   opt.metrics_addr.ss_family == AF_INET6 && ntohs(s6->sin6_port) == 9100 &&
		   IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr), "up: -v, metrics [::1]:9100");
		ok(parse(&opt, q) == 0 && opt.log_level == NODE_LOG_ERROR &&
		   opt.metrics_addr.ss_family == AF_INET && ntohs(s4->sin_port) == 80 &&
		   ntohl(s4->sin_addr.s_addr) == 0xc6336407u, "up: -q, metrics-expose 198.51.100.7:80");
	}
}

static void test_up_refused(void)
{
	static const char *const bad[][6] = {
		{ NULL },
		{ "a.conf", "b.conf", NULL },
		{ "net.conf", "--bogus", NULL },
		{ "net.conf", "relay", NULL },
		{ "net.conf", "relay", "maybe", NULL },
		{ "net.conf", "portmap", "ON", NULL },
		{ "net.conf", "dns", "no", NULL },
		{ "net.conf", "hosts", "", NULL },
		{ "net.conf", "relay-limit", "100", NULL },
		{ "net.conf", "relay-limit", "0", "100", NULL },
		{ "net.conf", "relay-limit", "100", "x", NULL },
		{ "net.conf", "listen-port", "65536", NULL },
		{ "net.conf", "listen-port", "-1", NULL },
		{ "net.conf", "interface", "a-name-of-16-chr", NULL },
		{ "net.conf", "interface", "a/b", NULL },
		{ "net.conf", "interface", "", NULL },
		{ "net.conf", "private-key", NULL },
		{ "net.conf", "-v", "-q", NULL },
		{ "net.conf", "-v", "-v", NULL },
		{ "net.conf", "metrics", "198.51.100.7:9586", NULL },
		{ "net.conf", "metrics", "[2001:db8::1]:9586", NULL },
		{ "net.conf", "metrics", "127.0.0.1", NULL },
		{ "net.conf", "metrics", "127.0.0.1:0", NULL },
		{ "net.conf", "metrics", "localhost:9586", NULL },
		{ "net.conf", "metrics", "::1:9586", NULL },
		{ "net.conf", "metrics-expose", "0.0.0.0:65536", NULL },
		{ "net.conf", "metrics", "127.0.0.1:1", "metrics", "127.0.0.1:2", NULL },
	};
	struct node_options opt;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
		ok(parse(&opt, bad[i]) == EXIT_USAGE, "up: refused: %s %s %s", bad[i][0] ? bad[i][0] : "",
		   bad[i][0] && bad[i][1] ? bad[i][1] : "", bad[i][0] && bad[i][1] && bad[i][2] ?
		   bad[i][2] : "");
}

/* The help names every subcommand and every option of every table. */
static void test_help(void)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	const struct cli_option *o;
	bool all = true;

	if (!f)
		abort();
	cli_usage(f);
	fclose(f);
	for (i = 0; i < cli_n_subcommands; ++i) {
		char word[32];

		snprintf(word, sizeof(word), "\n  %s ", cli_subcommands[i].name);
		all &= ok(strstr(text, word) != NULL, "help: '%s'", cli_subcommands[i].name);
		for (o = cli_subcommands[i].options; o && o->name; ++o) {
			snprintf(word, sizeof(word), " %s ", o->name);
			all &= ok(strstr(text, word) != NULL, "help: %s's option '%s'",
				  cli_subcommands[i].name, o->name);
		}
	}
	/* What README's usage section and issue 13 named. */
	ok(strstr(text, " relay on|off ") && strstr(text, " relay-limit PPS BYTES_PER_S ") &&
	   strstr(text, " portmap on|off "), "help: relay, relay-limit and portmap with their values");
	ok(strstr(text, "\n  resolve ") && strstr(text, "\n  completion "), "help: resolve, completion");
	free(text);
}

/* The completion's verbs are the table's (cmd_completion.c prints them)
 * and the scripts built in are whole. */
static void test_completion(void)
{
	static const char *const want[] = { "show", "up", "down", "reload", "lookup", "ping",
		"resolve", "inspect", "metrics", "genkey", "pubkey", "workbit", "orchid", "wireguard",
		"completion", "help", "version" };
	size_t i, j;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); ++i) {
		for (j = 0; j < cli_n_subcommands; ++j)
			if (!strcmp(cli_subcommands[j].name, want[i]))
				break;
		ok(j < cli_n_subcommands, "verbs: '%s'", want[i]);
	}
	ok(strstr(cli_completion_bash, "complete -F _wh wh\n") != NULL,
	   "bash: the script registers _wh");
	ok(strstr(cli_completion_zsh, "#compdef wh\n") == cli_completion_zsh &&
	   strstr(cli_completion_zsh, "compdef _wh wh\n") != NULL, "zsh: #compdef and compdef");
}

int main(void)
{
	test_up_table();
	test_up_values();
	test_up_refused();
	test_help();
	test_completion();
	return tap_done();
}
