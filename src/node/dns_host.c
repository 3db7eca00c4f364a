/* The host's wiring to the name service (dns_host.h). */
#include "src/node/dns_host.h"

#include "proto/dns/dns.h"
#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/node/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESOLVED_SOCKET "/run/systemd/resolve/io.systemd.Resolve"

enum {
	HOSTS_FILE_MAX = 4 << 20,	/* a hosts file we rewrite: at most 4 MiB */
};

struct dns_host_wiring {
	struct node *n;
	const char *resolvectl;		/* NULL: resolved is not used */
	char domain[DNS_MAX_NAME + 2];	/* the routing domain set, "~NAME" */
	char hosts_path[PATH_MAX];	/* "": none */
	bool hosts_written;
	unsigned resolvectl_failed;
};

/* ---- systemd-resolved ---- */

/* One resolvectl run: the handle and what to say if it fails. */
struct spawn {
	uv_process_t proc;
	struct node *n;
	char what[160];
};

static void on_spawn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_spawn_exit(uv_process_t *p, int64_t status, int sig)
{
	struct spawn *s = p->data;

	if (status != 0 || sig != 0)
		dev_log(&s->n->dev, LOG_ERR, "name service: '%s' failed (exit %lld%s): the host "
			"does not ask us for the network's names", s->what, (long long)status,
			sig ? ", killed" : "");
	else
		dev_log(&s->n->dev, LOG_INFO, "name service: %s", s->what);
	uv_close((uv_handle_t *)p, on_spawn_closed);
}

static void run_resolvectl(struct dns_host_wiring *w, char **args)
{
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	struct spawn *s = calloc(1, sizeof(*s));
	size_t i, off = 0;
	int ret;

	if (!s)
		return;
	s->n = w->n;
	for (i = 0; args[i] && off < sizeof(s->what); ++i)
		off += (size_t)snprintf(s->what + off, sizeof(s->what) - off, "%s%s", i ? " " : "",
					i ? args[i] : "resolvectl");
	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_IGNORE;
	io[2].flags = UV_IGNORE;
	o.file = w->resolvectl;
	o.args = args;
	o.exit_cb = on_spawn_exit;
	o.stdio = io;
	o.stdio_count = 3;
	s->proc.data = s;
	ret = uv_spawn(&w->n->loop, &s->proc, &o);
	if (ret < 0) {
		++w->resolvectl_failed;
		dev_log(&w->n->dev, LOG_ERR, "name service: cannot run %s: %s", w->resolvectl,
			uv_strerror(ret));
		uv_close((uv_handle_t *)&s->proc, on_spawn_closed);
	}
}

static void resolved_apply(struct dns_host_wiring *w, bool servers)
{
	struct node *n = w->n;
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], domain[sizeof(w->domain)];
	char *dns_args[] = { (char *)w->resolvectl, "dns", n->dev.ifname, v4, v6, NULL };
	char *dom_args[] = { (char *)w->resolvectl, "domain", n->dev.ifname, domain, NULL };

	if (!w->resolvectl)
		return;
	inet_ntop(AF_INET, n->ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, n->ipv6, v6, sizeof(v6));
	if (servers)
		run_resolvectl(w, dns_args);
	/* With no network name there is no domain to route: resolved then
	 * sends us nothing unless the link is its default route. */
	snprintf(domain, sizeof(domain), "~%s", n->conf->name);
	if (n->conf->name[0] && strcmp(domain, w->domain)) {
		snprintf(w->domain, sizeof(w->domain), "%s", domain);
		run_resolvectl(w, dom_args);
	}
}

/* ---- a hosts file ---- */

static bool is_marker(const char *line, size_t len, const char *marker)
{
	return len == strlen(marker) && !memcmp(line, marker, len);
}

/* The file's text without our block, into b. */
static int read_without_block(const char *path, const char *begin, const char *end,
			      struct strbuf *b, struct stat *st, bool *exists)
{
	char *buf;
	size_t len = 0, i, start;
	ssize_t r;
	bool inside = false;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	*exists = fd >= 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size > HOSTS_FILE_MAX) {
		int ret = S_ISREG(st->st_mode) ? -EFBIG : -EINVAL;

		close(fd);
		return ret;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st->st_size && (r = read(fd, buf + len, (size_t)st->st_size - len)) > 0)
		len += (size_t)r;
	close(fd);
	for (i = start = 0; i <= len; ++i) {
		size_t l;

		if (i < len && buf[i] != '\n')
			continue;
		l = i - start;
		if (is_marker(buf + start, l, begin))
			inside = true;
		else if (inside && is_marker(buf + start, l, end))
			inside = false;
		else if (!inside && (l || i < len))
			strbuf_printf(b, "%.*s\n", (int)l, buf + start);
		start = i + 1;
	}
	free(buf);
	return 0;
}

static void block_add(struct strbuf *b, const struct netconf *c)
{
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];
		char full[DNS_MAX_NAME + 1], bare[DNS_MAX_NAME + 1], a[INET6_ADDRSTRLEN];

		if (!netconf_kind_has_addresses(p->kind) || !p->hostname[0] ||
		    dns_full_name(p->hostname, c->name, full, sizeof(full), bare, sizeof(bare)) < 0)
			continue;
		if (p->has_ipv4) {
			inet_ntop(AF_INET, p->ipv4, a, sizeof(a));
			strbuf_printf(b, "%s\t%s%s%s\n", a, full, strcmp(full, bare) ? " " : "",
				      strcmp(full, bare) ? bare : "");
		}
		if (p->has_ipv6) {
			inet_ntop(AF_INET6, p->ipv6, a, sizeof(a));
			strbuf_printf(b, "%s\t%s%s%s\n", a, full, strcmp(full, bare) ? " " : "",
				      strcmp(full, bare) ? bare : "");
		}
	}
}

/* Rewrites the file with our block (or without it): the whole text to a
 * temporary file in the same directory, then a rename, so that a reader
 * sees the old file or the new one, never half of one. */
static int hosts_write(struct dns_host_wiring *w, bool with_block)
{
	struct node *n = w->n;
	char begin[64], end[64], tmp[PATH_MAX + 16], *text = NULL;
	struct strbuf b = { 0 };
	struct stat st;
	bool exists;
	size_t len;
	int fd = -1, ret;

	snprintf(begin, sizeof(begin), "# wh %s begin", n->dev.ifname);
	snprintf(end, sizeof(end), "# wh %s end", n->dev.ifname);
	memset(&st, 0, sizeof(st));
	ret = read_without_block(w->hosts_path, begin, end, &b, &st, &exists);
	if (ret < 0)
		goto out;
	if (with_block) {
		strbuf_printf(&b, "%s\n# the members of network '%s': wh up keeps these lines, "
			      "wh down removes them\n", begin, n->conf->name);
		block_add(&b, n->conf);
		strbuf_printf(&b, "%s\n", end);
	}
	text = strbuf_take(&b, &len);
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.wh-XXXXXX", w->hosts_path) >= sizeof(tmp)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, exists ? st.st_mode & 07777 : 0644) < 0 ||
	    (exists && fchown(fd, st.st_uid, st.st_gid) < 0) ||
	    (len && write(fd, text, len) != (ssize_t)len) || fsync(fd) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, w->hosts_path) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	ret = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(strbuf_take(&b, &len));	/* after a failure before the take */
	if (ret < 0)
		dev_log(&n->dev, LOG_ERR, "name service: %s: cannot %s our block: %s", w->hosts_path,
			with_block ? "write" : "remove", strerror(-ret));
	else
		w->hosts_written = with_block;
	return ret;
}

/* ---- life cycle ---- */

struct dns_host_wiring *dns_host_start(struct node *n, const char *hosts_path)
{
	struct dns_host_wiring *w = calloc(1, sizeof(*w));
	const char *prog = getenv("WH_RESOLVECTL");

	if (!w)
		return NULL;
	w->n = n;
	if (prog && *prog)
		w->resolvectl = prog;
	else if (access(RESOLVED_SOCKET, F_OK) == 0)
		w->resolvectl = "resolvectl";
	if (hosts_path)
		snprintf(w->hosts_path, sizeof(w->hosts_path), "%s", hosts_path);
	if (!w->resolvectl && !w->hosts_path[0])
		dev_log(&n->dev, LOG_INFO, "name service: systemd-resolved does not run and no hosts "
			"file was given: the host's resolver does not know the network's names (see "
			"doc/names.md)");
	resolved_apply(w, true);
	if (w->hosts_path[0])
		hosts_write(w, true);
	return w;
}

void dns_host_update(struct dns_host_wiring *w)
{
	if (!w)
		return;
	/* Our addresses may have moved with the file: say them again. */
	resolved_apply(w, true);
	if (w->hosts_path[0])
		hosts_write(w, true);
}

void dns_host_stop(struct dns_host_wiring *w)
{
	if (!w)
		return;
	/* resolved forgets a link's servers and domain when the link goes,
	 * which follows; said at once all the same, in case the interface
	 * outlives us (a TUN device someone else holds open). */
	if (w->resolvectl) {
		char *args[] = { (char *)w->resolvectl, "revert", w->n->dev.ifname, NULL };

		run_resolvectl(w, args);
	}
	if (w->hosts_path[0] && w->hosts_written)
		hosts_write(w, false);
	free(w);
}

void dns_host_inspect(const struct dns_host_wiring *w, struct strbuf *b)
{
	strbuf_printf(b, ", \"host\": {\"resolved\": %s, \"hosts_file\": ",
		      w && w->resolvectl ? "true" : "false");
	if (w && w->hosts_path[0])
		strbuf_json_str(b, w->hosts_path);
	else
		strbuf_printf(b, "null");
	strbuf_printf(b, "}");
}
