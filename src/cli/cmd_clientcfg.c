/* wh client-config IFACE|FILE HOSTNAME [public-key KEY] [private-key-out FILE]
 *                  [relay HOST:PORT] [keepalive N] [qr] [qr-out FILE]
 *
 * The wg-quick file of a stock WireGuard client (a `client HOSTNAME KEY`
 * line of the network file), made by src/node/clientcfg.c.  With IFACE
 * the node on it names its network file (read here, as it is on disk)
 * and, while its name service runs, its overlay addresses for the DNS
 * line; a FILE (a path with a '/') is read directly, without a DNS line.
 *
 * The private key stays with whoever made it: the file has a PrivateKey
 * line only with private-key-out, which makes a new key pair here, writes
 * the private key to FILE (mode 0600, never over an existing file; "-"
 * for none: it is then in the printed file alone) and prints the client
 * line to put in the network file, with the new public key, on stderr;
 * the addresses are those the line will have.  qr prints the file as a
 * QR code on the terminal (for the phone apps), qr-out writes it as a PBM
 * image. */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/x25519.h"
#include "src/node/clientcfg.h"
#include "src/node/netconf.h"
#include "src/node/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef WH_HAVE_QRENCODE
#include <qrencode.h>
#endif

enum cc_opt { CC_PUBLIC_KEY, CC_PRIVATE_KEY_OUT, CC_RELAY, CC_KEEPALIVE, CC_QR, CC_QR_OUT, CC_MAX };

const struct cli_option cmd_clientcfg_options[] = {
	[CC_PUBLIC_KEY] = { "public-key", "KEY", 1, "check that the client line has this key" },
	[CC_PRIVATE_KEY_OUT] = { "private-key-out", "FILE", 1,
				 "make a new key pair: the private key to FILE (- none)" },
	[CC_RELAY] = { "relay", "HOST:PORT", 1, "the public node (default: the first boot)" },
	[CC_KEEPALIVE] = { "keepalive", "N", 1, "PersistentKeepalive, s (default 25, 0 none)" },
	[CC_QR] = { "qr", NULL, 0, "print it as a QR code on the terminal" },
	[CC_QR_OUT] = { "qr-out", "FILE", 1, "write it as a QR code, a PBM image" },
	[CC_MAX] = { NULL, NULL, 0, NULL },
};

struct cc_args {
	const char *source, *hostname, *key_out, *qr_out;
	bool qr, has_public;
	uint8_t public_key[32];
	struct clientcfg_options o;
};

static int parse_args(int argc, char **argv, struct cc_args *a)
{
	unsigned long v;
	int i, o;

	memset(a, 0, sizeof(*a));
	a->o.keepalive = CLIENTCFG_KEEPALIVE_DEFAULT;
	for (i = 1; i < argc; ++i) {
		for (o = 0; o < CC_MAX; ++o)
			if (!strcmp(argv[i], cmd_clientcfg_options[o].name))
				break;
		if (o == CC_MAX) {
			if (a->hostname || argv[i][0] == '-') {
				fprintf(stderr, "wh client-config: unexpected argument '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
			if (a->source)
				a->hostname = argv[i];
			else
				a->source = argv[i];
			continue;
		}
		if (i + cmd_clientcfg_options[o].n_args >= argc) {
			fprintf(stderr, "wh client-config: '%s' needs %s\n", argv[i],
				cmd_clientcfg_options[o].arg);
			return EXIT_USAGE;
		}
		switch ((enum cc_opt)o) {
		case CC_PUBLIC_KEY:
			++i;
			if (!key_from_base64(a->public_key, argv[i], strlen(argv[i]))) {
				fprintf(stderr, "wh client-config: '%.10s...' is not a public key (32 "
					"bytes in base64)\n", argv[i]);
				return EXIT_USAGE;
			}
			a->has_public = true;
			break;
		case CC_PRIVATE_KEY_OUT:
			a->key_out = argv[++i];
			break;
		case CC_RELAY:
			a->o.relay = argv[++i];
			break;
		case CC_KEEPALIVE:
			if (cli_parse_uint(argv[++i], 0, 65535, &v) < 0) {
				fprintf(stderr, "wh client-config: keepalive '%s' is not 0 to 65535 s\n",
					argv[i]);
				return EXIT_USAGE;
			}
			a->o.keepalive = (unsigned)v;
			break;
		case CC_QR:
			a->qr = true;
			break;
		case CC_QR_OUT:
			a->qr_out = argv[++i];
			break;
		case CC_MAX:
			break;
		}
	}
	if (!a->hostname) {
		fprintf(stderr, "usage: wh client-config IFACE|FILE HOSTNAME [OPTION...]\n");
		return EXIT_USAGE;
	}
	if (a->has_public && a->key_out) {
		fprintf(stderr, "wh client-config: public-key and private-key-out exclude each "
			"other (the second makes a new key)\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* The node on IFACE: its network file's path and its name service. */
static int ask_node(struct cc_args *a, char *path, size_t pathlen)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return 1;
	ret = cli_ctl_request("client-config", a->source, "client-info", 0, f);
	fclose(f);
	path[0] = '\0';
	for (line = ret ? NULL : strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char v4[64], v6[64];

		if (!strncmp(line, "file ", 5)) {
			snprintf(path, pathlen, "%s", line + 5);
		} else if (sscanf(line, "dns %63s %63s", v4, v6) == 2) {
			a->o.has_dns4 = inet_pton(AF_INET, v4, a->o.dns4) == 1;
			a->o.has_dns6 = inet_pton(AF_INET6, v6, a->o.dns6) == 1;
		}
	}
	free(text);
	if (!ret && !path[0]) {
		fprintf(stderr, "wh client-config: the node on '%s' named no network file\n",
			a->source);
		ret = 1;
	}
	return ret;
}

/* The whole file, at most NETCONF_FILE_MAX bytes. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(NETCONF_FILE_MAX + 1) : NULL;

	if (!buf) {
		fprintf(stderr, "wh client-config: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, NETCONF_FILE_MAX + 1, f);
	fclose(f);
	if (*len > NETCONF_FILE_MAX) {
		fprintf(stderr, "wh client-config: %s: larger than %u bytes\n", path,
			NETCONF_FILE_MAX);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The file's text with line `line` (1-based) replaced by `with`. */
static char *replace_line(const char *text, size_t len, unsigned line, const char *with,
			  size_t *outlen)
{
	size_t start = 0, end, wl = strlen(with);
	unsigned l = 1;
	char *out;

	while (l < line && start < len) {
		const char *nl = memchr(text + start, '\n', len - start);

		if (!nl)
			return NULL;
		start = (size_t)(nl - text) + 1;
		++l;
	}
	end = start;
	while (end < len && text[end] != '\n')
		++end;
	out = malloc(len - (end - start) + wl + 1);
	if (!out)
		return NULL;
	memcpy(out, text, start);
	memcpy(out + start, with, wl);
	memcpy(out + start + wl, text + end, len - end);
	*outlen = start + wl + (len - end);
	return out;
}

/* A new key pair for the client of line cp: the network file as it will
 * be with the new public key on the client's line (its static addresses
 * kept), in *conf; the line in newline.  -1 after saying why. */
static int new_key(const char *path, const char *text, size_t len,
		   const struct netconf_peer *cp, uint8_t *sk, char *newline, size_t nl_len,
		   struct netconf **conf)
{
	uint8_t pk[32];
	char pub[KEY_B64_LEN + 1], s4[INET_ADDRSTRLEN] = "", s6[INET6_ADDRSTRLEN] = "", err[1024];
	char *changed;
	size_t clen = 0;

	x25519_generate(sk);
	if (!x25519_public(pk, sk)) {
		fprintf(stderr, "wh client-config: cannot make a key pair\n");
		return -1;
	}
	key_to_base64(pub, pk);
	if (cp->static4)
		inet_ntop(AF_INET, cp->ipv4, s4, sizeof(s4));
	if (cp->static6)
		inet_ntop(AF_INET6, cp->ipv6, s6, sizeof(s6));
	snprintf(newline, nl_len, "client %s%s%s%s%s %s", cp->hostname, s4[0] ? " " : "", s4,
		 s6[0] ? " " : "", s6, pub);
	changed = replace_line(text, len, cp->line, newline, &clen);
	if (!changed || netconf_parse_buffer(path, changed, clen, conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "wh client-config: %s\n", changed ? err : strerror(ENOMEM));
		free(changed);
		return -1;
	}
	free(changed);
	return 0;
}

static int write_key_file(const char *file, const uint8_t *sk)
{
	char b64[KEY_B64_LEN + 2];
	int fd;

	key_to_base64(b64, sk);
	strcat(b64, "\n");
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64) || fsync(fd) < 0) {
		fprintf(stderr, "wh client-config: cannot write the private key to %s: %s%s\n", file,
			strerror(errno), errno == EEXIST ? " (remove it, or choose another file)" : "");
		if (fd >= 0) {
			close(fd);
			unlink(file);
		}
		sodium_memzero(b64, sizeof(b64));
		return -1;
	}
	close(fd);
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

#ifdef WH_HAVE_QRENCODE
/* Two rows of modules per line of half blocks, light modules drawn (a
 * terminal's background is dark, as qrencode -t UTF8 assumes), with a
 * quiet zone of 4 modules. */
static void qr_terminal(const QRcode *q, FILE *out)
{
	int w = q->width + 8, x, y;

	for (y = 0; y < w; y += 2) {
		for (x = 0; x < w; ++x) {
			int qx = x - 4, top = y - 4, bot = y - 3;
			bool dt = qx >= 0 && qx < q->width && top >= 0 && top < q->width &&
				  (q->data[top * q->width + qx] & 1);
			bool db = qx >= 0 && qx < q->width && bot >= 0 && bot < q->width &&
				  (q->data[bot * q->width + qx] & 1);

			fputs(!dt && !db ? "\u2588" : !dt ? "\u2580" : !db ? "\u2584" : " ", out);
		}
		fputc('\n', out);
	}
}

/* A plain PBM (P1): 4 pixels a module, a quiet zone of 4 modules. */
static int qr_pbm(const QRcode *q, const char *file)
{
	enum { SCALE = 4, QUIET = 4 };
	int w = (q->width + 2 * QUIET) * SCALE, x, y;
	FILE *f = fopen(file, "w");

	if (!f) {
		fprintf(stderr, "wh client-config: %s: %s\n", file, strerror(errno));
		return -1;
	}
	fprintf(f, "P1\n%d %d\n", w, w);
	for (y = 0; y < w; ++y) {
		for (x = 0; x < w; ++x) {
			int qx = x / SCALE - QUIET, qy = y / SCALE - QUIET;
			bool dark = qx >= 0 && qy >= 0 && qx < q->width && qy < q->width &&
				    (q->data[qy * q->width + qx] & 1);

			fputc(dark ? '1' : '0', f);
			fputc(x + 1 == w ? '\n' : ' ', f);
		}
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "wh client-config: %s: %s\n", file, strerror(errno));
		return -1;
	}
	return 0;
}

static int qr_out(const char *text, bool terminal, const char *file)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	int ret = 0;

	if (!q) {
		fprintf(stderr, "wh client-config: the file (%zu bytes) does not fit in a QR code "
			"(%s): use the text\n", strlen(text), strerror(errno));
		return 1;
	}
	if (terminal)
		qr_terminal(q, stdout);
	if (file && qr_pbm(q, file) < 0)
		ret = 1;
	QRcode_free(q);
	return ret;
}
#else
static int qr_out(const char *text, bool terminal, const char *file)
{
	(void)text;
	(void)terminal;
	(void)file;
	fprintf(stderr, "wh client-config: this wh was built without libqrencode: no QR codes "
		"(install libqrencode-dev and build again)\n");
	return 1;
}
#endif

int cmd_clientcfg(int argc, char **argv)
{
	struct cc_args a;
	struct netconf *conf = NULL, *changed = NULL;
	const struct netconf_peer *cp;
	struct strbuf b = { 0 };
	char path[4096], err[1024], newline[NETCONF_MAX_HOSTNAME + 160] = "";
	char priv[KEY_B64_LEN + 1];
	uint8_t *sk = NULL;
	char *text = NULL, *cfg = NULL;
	size_t len = 0;
	int ret = parse_args(argc, argv, &a);

	if (ret)
		return ret;
	if (strchr(a.source, '/'))
		snprintf(path, sizeof(path), "%s", a.source);
	else if ((ret = ask_node(&a, path, sizeof(path))) != 0)
		return ret;
	ret = 1;
	text = read_file(path, &len);
	if (!text)
		goto out;
	if (netconf_parse_buffer(path, text, len, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "wh client-config: %s\n", err);
		goto out;
	}
	if (a.has_public)
		a.o.public_key = a.public_key;
	cp = netconf_find_hostname(conf, a.hostname);
	if (a.key_out && cp && cp->kind == NETCONF_CLIENT) {
		sk = sodium_malloc(32);
		if (!sk || new_key(path, text, len, cp, sk, newline, sizeof(newline), &changed) < 0)
			goto out;
		key_to_base64(priv, sk);
		a.o.private_key = priv;
	}
	if (clientcfg_write(changed ? changed : conf, a.hostname, &a.o, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "wh client-config: %s: %s\n", path, err);
		goto out;
	}
	cfg = strbuf_take(&b, &len);
	if (!cfg) {
		fprintf(stderr, "wh client-config: %s\n", strerror(ENOMEM));
		goto out;
	}
	if (sk && strcmp(a.key_out, "-") && write_key_file(a.key_out, sk) < 0)
		goto out;
	if (a.qr || a.qr_out) {
		if (qr_out(cfg, a.qr, a.qr_out))
			goto out;
	}
	if (!a.qr)
		fputs(cfg, stdout);
	if (sk)
		fprintf(stderr, "wh client-config: a new key for client %s: put this line in place "
			"of line %u of %s and run wh reload on the members (until then they know "
			"the old key):\n%s\n", cp->hostname, cp->line, path, newline);
	ret = 0;
out:
	if (cfg)
		sodium_memzero(cfg, strlen(cfg));
	free(cfg);
	free(text);
	sodium_memzero(priv, sizeof(priv));
	sodium_free(sk);
	netconf_free(changed);
	netconf_free(conf);
	return ret;
}
