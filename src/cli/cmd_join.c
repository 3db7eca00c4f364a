/* wh invite and wh join (README "Invitations", doc/protocol.md 6.6).
 *
 * wh invite IFACE [HOSTNAME] [expires DURATION] asks the member on IFACE
 * for an invitation (src/node/invite.c writes the alias line) and prints
 * the string.
 *
 * wh join INVITATION [private-key F] [file PATH] [interface NAME]:
 *   1. reads the string (a typo is told as one), refuses an expired one
 *      and one whose alias key is below the network's workbit (forged);
 *   2. takes the real key from F (made, of the network's workbit, and
 *      written there with mode 0600 when F does not exist), and refuses
 *      it below the network's workbit;
 *   3. starts a short-lived public node under the alias key (`wh up` on
 *      a file of the invitation's namespace, workbit and boot nodes, in a
 *      temporary folder), asks it to join (the control verb "join", with
 *      the proof of the real key made here), and stops it;
 *   4. writes the network file it got to PATH (default
 *      /etc/wh/NETWORK.conf), atomically, and executes `wh up PATH
 *      private-key F [interface NAME]`: the node comes up as a member.
 * PATH's folder is checked for writing before the alias is used, so that
 * a file that cannot be written does not waste the invitation. */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "proto/overlay/auth.h"
#include "proto/overlay/invite.h"
#include "src/node/control_request.h"
#include "src/node/netconf.h"
#include "src/node/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- wh invite ---- */

int cmd_invite(int argc, char **argv)
{
	char req[CONTROL_LINE_MAX + 1];
	const char *host = "";
	unsigned long secs = 0;
	int a = 2;

	if (argc < 2)
		goto usage;
	if (a < argc && strcmp(argv[a], "expires"))
		host = argv[a++];
	if (a < argc) {
		if (strcmp(argv[a], "expires") || a + 2 != argc)
			goto usage;
		if (!cli_parse_duration(argv[a + 1], CONTROL_INVITE_MAX_S, &secs)) {
			fprintf(stderr, "wh invite: expires '%s': a duration from 1s to 30d "
				"(N, Ns, Nm, Nh or Nd)\n", argv[a + 1]);
			return EXIT_USAGE;
		}
	}
	for (const char *c = host; *c; ++c)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c > '~' || strlen(host) > 253) {
			fprintf(stderr, "wh invite: '%s' is not a hostname\n", host);
			return EXIT_USAGE;
		}
	snprintf(req, sizeof(req), "invite%s%s", *host ? " " : "", host);
	if (secs)
		snprintf(req + strlen(req), sizeof(req) - strlen(req), " expires %lu", secs);
	return cli_ctl_request("invite", argv[1], req, 0, stdout);
usage:
	fprintf(stderr, "Usage: wh invite IFACE [HOSTNAME] [expires DURATION]\n");
	return EXIT_USAGE;
}

/* ---- wh join ---- */

/* Ctrl-C or a kill while the alias's node runs: the read of its answer
 * is interrupted (cli_catch_stop_signals), and the node is stopped on the
 * way out. */

struct join {
	struct ovl_invite inv;
	uint8_t alias_pk[32];
	uint8_t *real_sk;		/* sodium_malloc */
	uint8_t real_pk[32];
	const char *key_path, *file_path, *ifname;
	char tmpdir[64];
	char node_if[16];
	bool node_up;
};

static int write_secret(const char *path, const uint8_t key[32])
{
	char b64[KEY_B64_LEN + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), ret = 0;

	if (fd < 0)
		return -errno;
	key_to_base64(b64, key);
	strcat(b64, "\n");
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64))
		ret = -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

/* The real key: read from key_path, or made there when it does not exist. */
static int real_key(struct join *j)
{
	char buf[256];
	ssize_t n;
	int fd = open(j->key_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		if (cli_make_key(j->real_sk, j->inv.workbit, j->inv.ns) < 0 ||
		    write_secret(j->key_path, j->real_sk) < 0) {
			fprintf(stderr, "wh join: cannot make and write a key to '%s': %s\n",
				j->key_path, strerror(errno));
			return 1;
		}
		fprintf(stderr, "wh join: a new private key in '%s'\n", j->key_path);
	} else if (fd < 0) {
		fprintf(stderr, "wh join: '%s': %s\n", j->key_path, strerror(errno));
		return 1;
	} else {
		size_t len;

		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		len = n > 0 ? (size_t)n : 0;
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
			--len;
		if (!key_from_base64(j->real_sk, buf, len)) {
			sodium_memzero(buf, sizeof(buf));
			fprintf(stderr, "wh join: '%s' holds no private key (base64 of 32 bytes)\n",
				j->key_path);
			return 1;
		}
		sodium_memzero(buf, sizeof(buf));
	}
	x25519_public(j->real_pk, j->real_sk);
	if (workbit_of(j->real_pk, j->inv.ns, j->inv.ns_len) < j->inv.workbit) {
		fprintf(stderr, "wh join: '%s': the key has workbit %u, below the network's "
			"workbit %u: the inviter would refuse it; make one with 'wh genkey workbit %u "
			"namespace %s'\n", j->key_path, workbit_of(j->real_pk, j->inv.ns, j->inv.ns_len),
			j->inv.workbit, j->inv.workbit, j->inv.ns);
		return 1;
	}
	return 0;
}

/* The short-lived node under the alias key: a network file of the
 * invitation's namespace, workbit and boot nodes. */
static int start_node(struct join *j, const char *self)
{
	char conf[96], key[96], log[96], line[160];
	FILE *f;
	pid_t pid;
	int status = -1;

	snprintf(j->tmpdir, sizeof(j->tmpdir), "/tmp/wh-join-XXXXXX");
	if (!mkdtemp(j->tmpdir)) {
		j->tmpdir[0] = '\0';
		fprintf(stderr, "wh join: cannot make a temporary folder: %s\n", strerror(errno));
		return 1;
	}
	snprintf(conf, sizeof(conf), "%s/join.conf", j->tmpdir);
	snprintf(key, sizeof(key), "%s/alias.key", j->tmpdir);
	snprintf(log, sizeof(log), "%s/node.log", j->tmpdir);
	if (write_secret(key, j->inv.alias_sk) < 0 || !(f = fopen(conf, "w"))) {
		fprintf(stderr, "wh join: cannot write in '%s': %s\n", j->tmpdir, strerror(errno));
		return 1;
	}
	fprintf(f, "namespace %s\nworkbit %u\n", j->inv.ns, j->inv.workbit);
	cli_invite_boot_lines(f, &j->inv);
	if (fclose(f) != 0)
		return 1;
	snprintf(j->node_if, sizeof(j->node_if), "whj%ld", (long)getpid() % 100000000);
	pid = fork();
	if (pid == 0) {
		/* Its words (a public node, its key) are no news to the user
		 * unless it fails. */
		int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (lf >= 0) {
			dup2(lf, 1);
			dup2(lf, 2);
		}
		execl(self, "wh", "up", conf, "private-key", key, "interface", j->node_if, "relay",
		      "off", "portmap", "off", "dns", "off", (char *)NULL);
		_exit(127);
	}
	/* From here a node may run: the way out stops it. */
	j->node_up = pid > 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR && !cli_stopped)
		;
	if (pid < 0 || cli_stopped || !WIFEXITED(status) || WEXITSTATUS(status)) {
		FILE *lf = fopen(log, "r");

		fprintf(stderr, "wh join: the node under the alias key did not start:\n");
		while (lf && fgets(line, sizeof(line), lf))
			fputs(line, stderr);
		if (lf)
			fclose(lf);
		return 1;
	}
	j->node_up = true;
	return 0;
}

static void stop_node(struct join *j)
{
	char path[128];
	FILE *null;

	if (j->node_up && (null = fopen("/dev/null", "w"))) {
		cli_ctl_request("join", j->node_if, "down", 10000, null);
		fclose(null);
	}
	j->node_up = false;
	if (!j->tmpdir[0])
		return;
	snprintf(path, sizeof(path), "%s/alias.key", j->tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/join.conf", j->tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/node.log", j->tmpdir);
	unlink(path);
	rmdir(j->tmpdir);
	j->tmpdir[0] = '\0';
}

/* Asks the node; *file: the network file's bytes (malloc). */
static int ask(struct join *j, char **file, size_t *file_len)
{
	char req[CONTROL_LINE_MAX + 1], inviter[KEY_B64URL_LEN + 1], real[KEY_B64URL_LEN + 1];
	char proof_hex[2 * OVL_AUTH_PROOF_LEN + 1];
	uint8_t proof[OVL_AUTH_PROOF_LEN];
	char *ans = NULL;
	size_t ans_len = 0, n, hdr;
	FILE *mem;
	int ret;

	if (!ovl_auth_proof(proof, j->real_sk, j->inv.inviter, j->alias_pk, j->real_pk,
			    j->inv.inviter, j->inv.ns)) {
		fprintf(stderr, "wh join: the inviter's key is not usable (a DH of zero)\n");
		return 1;
	}
	key_to_base64url(inviter, j->inv.inviter);
	key_to_base64url(real, j->real_pk);
	sodium_bin2hex(proof_hex, sizeof(proof_hex), proof, sizeof(proof));
	snprintf(req, sizeof(req), "join %s %s %s", inviter, real, proof_hex);
	mem = open_memstream(&ans, &ans_len);
	if (!mem)
		return 1;
	ret = cli_ctl_request("join", j->node_if, req, 0, mem);
	fclose(mem);
	if (ret == 0 && (!ans || sscanf(ans, "network-file %zu", &n) != 1 ||
			 !memchr(ans, '\n', ans_len))) {
		fprintf(stderr, "wh join: a malformed answer from the node\n");
		ret = 1;
	}
	if (ret == 0) {
		hdr = (size_t)((char *)memchr(ans, '\n', ans_len) - ans) + 1;
		if (ans_len - hdr != n) {
			fprintf(stderr, "wh join: the network file came truncated\n");
			ret = 1;
		} else {
			memmove(ans, ans + hdr, n);
			*file = ans;
			*file_len = n;
			return 0;
		}
	}
	free(ans);
	return ret ? ret : 1;
}

/* The folder of path is writable (checked before the alias is used). */
static bool writable_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash)
		return access(".", W_OK) == 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + (slash == path), path);
	return access(dir, W_OK) == 0;
}

static int write_file(const char *path, const char *buf, size_t len)
{
	char tmp[PATH_MAX + 16];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || fchmod(fd, 0644) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	return 0;
}

int cmd_join(int argc, char **argv)
{
	struct join j = { .file_path = NULL };
	char self[PATH_MAX], path[PATH_MAX], keypath[PATH_MAX + 8], err[512];
	struct netconf *nc = NULL;
	const struct netconf_peer *me;
	char *file = NULL;
	size_t file_len = 0;
	ssize_t sl;
	int ret = 1;

	if (argc < 2 || argc % 2)
		goto usage;
	for (int a = 2; a < argc; a += 2) {
		if (!strcmp(argv[a], "private-key"))
			j.key_path = argv[a + 1];
		else if (!strcmp(argv[a], "file"))
			j.file_path = argv[a + 1];
		else if (!strcmp(argv[a], "interface"))
			j.ifname = argv[a + 1];
		else
			goto usage;
	}
	if (cli_invite_read("join", argv[1], &j.inv, j.alias_pk) < 0)
		goto out;
	if (j.file_path && !writable_dir(j.file_path)) {
		fprintf(stderr, "wh join: file '%s': its folder is not writable: %s\n", j.file_path,
			strerror(errno));
		goto out;
	}
	if (!j.key_path) {
		fprintf(stderr, "wh join: private-key F is needed: the file of your key (made there "
			"if it does not exist)\n");
		return EXIT_USAGE;
	}
	j.real_sk = sodium_malloc(32);
	if (!j.real_sk || real_key(&j))
		goto out;
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "wh join: cannot find the wh program: %s\n", strerror(errno));
		goto out;
	}
	self[sl] = '\0';
	cli_catch_stop_signals();
	if (start_node(&j, self))
		goto out;
	ret = cli_stopped ? 1 : ask(&j, &file, &file_len);
	stop_node(&j);
	if (cli_stopped) {
		fprintf(stderr, "wh join: stopped by signal %d; the alias's node is down\n",
			(int)cli_stopped);
		ret = 128 + (int)cli_stopped;
		goto out;
	}
	if (ret)
		goto out;
	ret = 1;
	if (netconf_parse_buffer("the inviter's network file", file, file_len, &nc, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "wh join: %s\n", err);
		goto out;
	}
	me = netconf_find_self(nc, j.real_pk);
	if (!me || !nc->name[0]) {
		fprintf(stderr, "wh join: the inviter's network file does not name this key\n");
		goto out;
	}
	if (!j.file_path) {
		snprintf(path, sizeof(path), "/etc/wh/%s.conf", nc->name);
		mkdir("/etc/wh", 0755);
		j.file_path = path;
	}
	if (write_file(j.file_path, file, file_len) < 0) {
		fprintf(stderr, "wh join: cannot write '%s': %s (the invitation is used: the "
			"inviter's file names this key now)\n", j.file_path, strerror(errno));
		goto out;
	}
	snprintf(keypath, sizeof(keypath), "%s", j.key_path);
	fprintf(stderr, "wh join: joined network '%s'%s%s%s; its file is '%s'\n", nc->name,
		me->hostname[0] ? " as '" : "", me->hostname, me->hostname[0] ? "'" : "",
		j.file_path);
	fflush(stderr);
	netconf_free(nc);
	nc = NULL;
	sodium_free(j.real_sk);
	j.real_sk = NULL;
	sodium_memzero(&j.inv, sizeof(j.inv));
	if (j.ifname)
		execl(self, "wh", "up", j.file_path, "private-key", keypath, "interface", j.ifname,
		      (char *)NULL);
	else
		execl(self, "wh", "up", j.file_path, "private-key", keypath, (char *)NULL);
	fprintf(stderr, "wh join: cannot run wh up: %s\n", strerror(errno));
	ret = 1;
out:
	stop_node(&j);
	netconf_free(nc);
	free(file);
	if (j.real_sk)
		sodium_free(j.real_sk);
	sodium_memzero(&j.inv, sizeof(j.inv));
	return ret;
usage:
	fprintf(stderr, "Usage: wh join INVITATION [private-key F] [file PATH] [interface NAME]\n");
	return EXIT_USAGE;
}
