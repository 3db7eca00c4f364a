/* Invitations on a node (invite.h): the inviter's file edits and ledger,
 * the answers to AUTH, and the joiner's side of `wh join`. */
#include "src/node/invite.h"

#include "src/node/invite_priv.h"
#include "src/node/node_priv.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "proto/overlay/auth.h"
#include "proto/overlay/invite.h"
#include "src/node/netconf.h"
#include "src/node/overlay.h"
#include "src/node/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t unix_now(void)
{
	return (uint64_t)time(NULL);
}

static uint64_t unix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the network file ---- */

/* The whole file at path into a new buffer (a NUL after it). */
static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		ret = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

/* Replaces the file at path with text: a temporary file in its folder,
 * the original's mode and owner, synced, then renamed over it. */
static int write_file_atomic(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t done = 0;
	int fd, ret = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), "%.*s.wh-invite-XXXXXX", slash ? (int)(slash - path + 1) : 0,
		     path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			goto fail;
		}
		done += (size_t)w;
	}
	if (fchmod(fd, st.st_mode & 07777) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0 ||
	    fsync(fd) < 0) {
		ret = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

/* Line lineno (1-based) of text: its start and length (no newline). */
static bool line_at(const char *text, size_t len, unsigned lineno, size_t *start, size_t *llen)
{
	const char *nl;
	size_t i = 0;

	for (unsigned l = 1; l < lineno; ++l) {
		nl = memchr(text + i, '\n', len - i);
		if (!nl)
			return false;
		i = (size_t)(nl - text) + 1;
	}
	if (i > len)
		return false;
	nl = memchr(text + i, '\n', len - i);
	*start = i;
	*llen = nl ? (size_t)(nl - (text + i)) : len - i;
	return true;
}

/* The ledger from the file's alias lines (live first) and the trust
 * lines that replaced used ones, read in one pass over the text. */
static void ledger_load(struct node_invite *ni)
{
	struct node *n = ni->n;
	const struct netconf *c = n->conf;
	char *text = NULL;
	size_t len = 0, pos = 0, p = 0;
	unsigned lineno = 1;

	ovl_invites_init(&ni->ledger, n->private_key, n->public_key, c->ns, c->workbit);
	ni->ledger_ok = true;
	if (n->conf_once || read_file(n->conf_path, &text, &len) < 0)
		return;
	for (int pass = 0; pass < 2; ++pass) {
		pos = 0;
		p = 0;
		lineno = 1;
		while (pos <= len && p < c->n_peers) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t llen = nl ? (size_t)(nl - text) - pos : len - pos;
			const struct netconf_peer *peer = &c->peers[p];
			uint64_t exp = UINT64_MAX;
			uint8_t alias[32];
			enum ovl_invite_note note;

			while (p < c->n_peers && c->peers[p].line < lineno)
				++p;
			if (p < c->n_peers && (peer = &c->peers[p])->line == lineno) {
				note = ovl_invite_note_parse(text + pos, llen, &exp, alias);
				if (pass == 0 && peer->kind == NETCONF_ALIAS)
					ovl_invites_set(&ni->ledger, peer->key,
							peer->expires_s ? peer->expires_s : UINT64_MAX,
							NULL);
				else if (pass == 1 && peer->kind != NETCONF_ALIAS &&
					 note == OVL_INVITE_NOTE_JOINED_WITH)
					ovl_invites_set(&ni->ledger, alias, 0, peer->key);
			}
			if (!nl)
				break;
			pos = (size_t)(nl - text) + 1;
			++lineno;
		}
	}
	free(text);
}

/* The file as it now is, for AUTHED. */
static int file_load(struct node_invite *ni)
{
	char *text;
	size_t len;
	int ret = read_file(ni->n->conf_path, &text, &len);

	if (ret < 0)
		return ret;
	free(ni->file);
	ni->file = (uint8_t *)text;
	ni->file_len = len;
	return 0;
}

/* Writes text and reloads; on a reload that fails, the old text is put
 * back (and reloaded).  err says why. */
static int write_and_reload(struct node *n, const char *old, size_t old_len, const char *text,
			    size_t len, char *err, size_t errlen)
{
	char err2[256];
	int ret = write_file_atomic(n->conf_path, text, len);

	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot write the network file: %s", n->conf_name,
			 strerror(-ret));
		return ret;
	}
	ret = node_reload(n, err, errlen);
	if (ret < 0 && write_file_atomic(n->conf_path, old, old_len) == 0)
		node_reload(n, err2, sizeof(err2));
	return ret;
}

/* ---- the inviter: aliases used lately ---- */

static void on_guest_timer(uv_timer_t *t);

/* The live guests to the overlay; the timer to the first end. */
static void guests_apply(struct node_invite *ni)
{
	uint8_t keys[GUESTS_MAX][32];
	uint64_t now = uv_now(&ni->n->loop), next = 0;
	size_t n = 0;

	for (unsigned i = 0; i < GUESTS_MAX; ++i) {
		struct guest *g = &ni->guests[i];

		if (g->until_ms && g->until_ms <= now)
			g->until_ms = 0;
		if (!g->until_ms)
			continue;
		memcpy(keys[n++], g->alias, 32);
		if (!next || g->until_ms < next)
			next = g->until_ms;
	}
	if (overlay_set_guests(ni->n->ov, (const uint8_t (*)[32])keys, n) < 0)
		dev_log(&ni->n->dev, LOG_ERR, "invitations: out of memory for the used aliases");
	if (next)
		uv_timer_start(&ni->guest_timer, on_guest_timer, next - now, 0);
	else
		uv_timer_stop(&ni->guest_timer);
}

static void on_guest_timer(uv_timer_t *t)
{
	struct node_invite *ni = t->data;

	if (ni->n)
		guests_apply(ni);
}

/* alias was just used: its joiner is heard through relays a while longer
 * (the oldest guest makes room). */
static void guest_add(struct node_invite *ni, const uint8_t alias[32])
{
	struct guest *g = &ni->guests[0];

	for (unsigned i = 0; i < GUESTS_MAX; ++i)
		if (ni->guests[i].until_ms < g->until_ms)
			g = &ni->guests[i];
	memcpy(g->alias, alias, 32);
	g->until_ms = uv_now(&ni->n->loop) + GUEST_MS;
	guests_apply(ni);
}

/* ---- the inviter: AUTH ---- */

/* ovl_invites_commit_fn: the alias line becomes the joiner's trust line. */
static int commit(void *arg, const uint8_t alias[32], const uint8_t real[32], bool first,
		  const uint8_t **file, size_t *file_len)
{
	struct node_invite *ni = arg;
	struct node *n = ni->n;
	const struct netconf_peer *p = netconf_find(n->conf, alias);
	char *text = NULL, ip[INET_ADDRSTRLEN], rk[KEY_B64URL_LEN + 1], ak[KEY_B64URL_LEN + 1];
	char err[PATH_MAX + 256], host[NETCONF_MAX_HOSTNAME + 1];
	struct strbuf b = { 0 };
	size_t len, start, llen;
	unsigned line;
	int ret;

	if (first) {
		if (n->conf_once)
			return -EROFS;
		if (!p || p->kind != NETCONF_ALIAS || netconf_find(n->conf, real))
			return -ENOENT;
		ret = read_file(n->conf_path, &text, &len);
		if (ret < 0)
			return ret;
		if (!line_at(text, len, p->line, &start, &llen)) {
			ret = -EIO;
			goto out;
		}
		inet_ntop(AF_INET, p->ipv4, ip, sizeof(ip));
		key_to_base64url(rk, real);
		key_to_base64url(ak, alias);
		strbuf_printf(&b, "%.*strust%s%s %s %s " OVL_INVITE_NOTE_JOINED "%s%s", (int)start,
			      text, p->hostname[0] ? " " : "", p->hostname, ip, rk, ak,
			      text + start + llen);
		if (b.failed) {
			ret = -ENOMEM;
			goto out;
		}
		/* The reload frees p's file: what the log says is kept first. */
		snprintf(host, sizeof(host), "%s", p->hostname);
		line = p->line;
		p = NULL;
		ret = write_and_reload(n, text, len, b.data, b.len, err, sizeof(err));
		if (ret < 0) {
			dev_log(&n->dev, LOG_ERR, "invitation of %s: %s", rk, err);
			goto out;
		}
		dev_log(&n->dev, LOG_INFO, "invitation used: %s joined as %s%s%s (line %u)", rk,
			host[0] ? "'" : "", host[0] ? host : "a member", host[0] ? "'" : "", line);
		guest_add(ni, alias);
	}
	ret = file_load(ni);
	if (ret == 0) {
		*file = ni->file;
		*file_len = ni->file_len;
	}
out:
	free(text);
	free(b.data);
	return ret;
}

/* An AUTH from sender at from, or through the relay via at from: the
 * answer goes back the same way. */
static void take_auth(struct node_invite *ni, const uint8_t sender[32], const uint8_t *via,
		      const union wg_sockaddr *from, size_t dgram_len, const uint8_t *plain,
		      size_t len)
{
	struct node *n = ni->n;
	uint8_t out[OVL_MAX_PLAINTEXT];
	long m;

	if (!n->member || n->conf_once)
		return;
	if (!ni->ledger_ok)
		ledger_load(ni);
	m = ovl_invites_take(&ni->ledger, sender, plain, len, dgram_len, unix_now(), commit, ni,
			     out, sizeof(out));
	if (m > 0 && out[1] != OVL_AUTH_OK) {
		char k[KEY_B64URL_LEN + 1];
		uint64_t now = uv_now(&n->loop);

		/* A holder of a string the inviter refuses is told why; the
		 * inviter's admin sees it too, at a pace no sender sets. */
		++ni->refused;
		key_to_base64url(k, sender);
		if (!ni->refused_logged_ms || now - ni->refused_logged_ms >= REFUSED_LOG_MS) {
			ni->refused_logged_ms = now;
			dev_log(&n->dev, LOG_INFO, "invitation refused: AUTH from alias %s: %s (%llu "
				"refused since the start)", k, ovl_auth_status_name(out[1]),
				(unsigned long long)ni->refused);
		} else {
			dev_log(&n->dev, LOG_DBG, "invitation: AUTH from alias %s refused: %s", k,
				ovl_auth_status_name(out[1]));
		}
	}
	if (m > 0)
		overlay_send_invite(n->ov, sender, via, from, out, (size_t)m);
}

/* ---- dispatch ---- */

static void on_invite_msg(void *ctx, const uint8_t sender[32], const uint8_t *via,
			  const union wg_sockaddr *from, size_t dgram_len, const uint8_t *plain,
			  size_t len)
{
	struct node_invite *ni = ctx;

	if (!ni->n)
		return;
	if (plain[0] == OVL_MSG_AUTH)
		take_auth(ni, sender, via, from, dgram_len, plain, len);
	else if (plain[0] == OVL_MSG_AUTHED)
		invite_join_take(ni, sender, via, from, plain, len);
}

/* ---- the inviter: making an invitation ---- */

static void search_alias(uv_work_t *w)
{
	struct node_invite *ni = w->data;
	uint8_t pk[32];

	do
		x25519_generate(ni->alias_sk);
	while (!x25519_public(pk, ni->alias_sk) || workbit_of(pk, ni->ns, strlen(ni->ns)) < ni->want);
}

static void maybe_free(struct node_invite *ni)
{
	if (ni->n || ni->working || ni->timer_open || ni->expiry_open || ni->guest_open)
		return;
	sodium_memzero(ni->alias_sk, sizeof(ni->alias_sk));
	ovl_invites_clear(&ni->ledger);
	free(ni->file);
	free(ni->jfile);
	free(ni);
}

/* The invitation string of the alias just written. */
static long compose(struct node_invite *ni, char *out, size_t outmax)
{
	struct node *n = ni->n;
	struct ovl_invite inv;
	union wg_sockaddr self;
	long ret;

	memset(&inv, 0, sizeof(inv));
	memcpy(inv.inviter, n->public_key, 32);
	memcpy(inv.alias_sk, ni->alias_sk, 32);
	inv.expires_s = unix_now() + ni->expires_s;
	inv.workbit = (uint16_t)n->conf->workbit;
	inv.ns_len = (uint8_t)strlen(n->conf->ns);
	memcpy(inv.ns, n->conf->ns, inv.ns_len);
	/* The file's boot nodes with a numeric endpoint, then ourselves at
	 * the address the DHT saw us at. */
	for (size_t i = 0; i < n->conf->n_peers && inv.n_boots < OVL_INVITE_MAX_BOOTS; ++i) {
		const struct netconf_peer *p = &n->conf->peers[i];
		struct ovl_invite_boot *b = &inv.boots[inv.n_boots];

		if (p->kind != NETCONF_BOOT)
			continue;
		if (p->endpoint.type == NETCONF_ENDPOINT_IPV4)
			ovl_addr_set_v4(&b->addr, p->endpoint.addr, p->endpoint.port);
		else if (p->endpoint.type == NETCONF_ENDPOINT_IPV6)
			ovl_addr_set_v6(&b->addr, p->endpoint.addr, p->endpoint.port);
		else
			continue;
		memcpy(b->key, p->key, 32);
		++inv.n_boots;
	}
	if (inv.n_boots < OVL_INVITE_MAX_BOOTS && overlay_reflexive(n->ov, &self) &&
	    overlay_addr_from_wg(&self, &inv.boots[inv.n_boots].addr)) {
		memcpy(inv.boots[inv.n_boots].key, n->public_key, 32);
		++inv.n_boots;
	}
	ret = ovl_invite_format(out, outmax, &inv);
	sodium_memzero(&inv, sizeof(inv));
	return ret;
}

static void make_end(struct node_invite *ni, bool ok, const char *text)
{
	node_invite_done_fn *done = ni->mk_done;

	ni->mk_done = NULL;
	sodium_memzero(ni->alias_sk, sizeof(ni->alias_sk));
	if (done)
		done(ni->mk_arg, ok, text, strlen(text));
}

static void alias_found(uv_work_t *w, int status)
{
	struct node_invite *ni = w->data;
	struct node *n = ni->n;
	char *text = NULL, err[PATH_MAX + 512], err2[PATH_MAX + 512], ak[KEY_B64URL_LEN + 1], inv[OVL_INVITE_MAX_TEXT + 1];
	struct strbuf b = { 0 };
	const struct netconf_peer *p;
	uint8_t pk[32];
	size_t len;
	int ret;

	ni->working = false;
	if (!n || status < 0) {
		maybe_free(ni);
		return;
	}
	x25519_public(pk, ni->alias_sk);
	key_to_base64url(ak, pk);
	ret = read_file(n->conf_path, &text, &len);
	if (ret < 0) {
		snprintf(err, sizeof(err), "%s: cannot read the network file: %s", n->conf_name,
			 strerror(-ret));
		goto fail;
	}
	strbuf_printf(&b, "%s%salias%s%s %s " OVL_INVITE_NOTE_EXPIRES "%llu\n", text,
		      len && text[len - 1] != '\n' ? "\n" : "", ni->hostname[0] ? " " : "",
		      ni->hostname, ak, (unsigned long long)(unix_now() + ni->expires_s));
	if (b.failed) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if (write_and_reload(n, text, len, b.data, b.len, err, sizeof(err)) < 0)
		goto fail;
	p = netconf_find(n->conf, pk);
	if (!p || p->kind != NETCONF_ALIAS) {
		/* Left out (a hostname taken or malformed): undo. */
		snprintf(err, sizeof(err), "%s: the alias line was left out of the network", n->conf_name);
		for (size_t i = 0; i < n->conf->n_notes; ++i)
			if (strstr(n->conf->notes[i].text, ak))
				snprintf(err, sizeof(err), "%s", n->conf->notes[i].text);
		write_and_reload(n, b.data, b.len, text, len, err2, sizeof(err2));
		goto fail;
	}
	if (compose(ni, inv, sizeof(inv)) < 0) {
		snprintf(err, sizeof(err), "cannot write the invitation string");
		goto fail;
	}
	dev_log(&n->dev, LOG_INFO, "invitation made: alias %s%s%s, expires in %u s", ak,
		ni->hostname[0] ? " for " : "", ni->hostname, ni->expires_s);
	free(text);
	free(b.data);
	strncat(inv, "\n", sizeof(inv) - strlen(inv) - 1);
	make_end(ni, true, inv);
	sodium_memzero(inv, sizeof(inv));
	return;
fail:
	free(text);
	free(b.data);
	make_end(ni, false, err);
}

int node_invite_create(struct node *n, const char *hostname, uint32_t expires_s,
		       node_invite_done_fn *done, void *arg, char *err, size_t errlen)
{
	struct node_invite *ni = n->invite;

	if (!ni || !n->member) {
		snprintf(err, errlen, "only a member can invite: this node has no trust line");
		return -EINVAL;
	}
	if (n->conf_once) {
		snprintf(err, errlen, "%s: not a regular file: an invitation is written into the "
			 "network file, and this node read it once from a pipe", n->conf_name);
		return -EINVAL;
	}
	if (ni->working || ni->mk_done) {
		snprintf(err, errlen, "an invitation is being made; try again");
		return -EBUSY;
	}
	if (n->conf->workbit > NODE_INVITE_MAX_WORKBIT) {
		snprintf(err, errlen, "the network's workbit %u is above %u: an alias key would take "
			 "too long to find", n->conf->workbit, NODE_INVITE_MAX_WORKBIT);
		return -EINVAL;
	}
	if (strlen(hostname) >= sizeof(ni->hostname)) {
		snprintf(err, errlen, "hostname too long");
		return -EINVAL;
	}
	snprintf(ni->hostname, sizeof(ni->hostname), "%s", hostname);
	snprintf(ni->ns, sizeof(ni->ns), "%s", n->conf->ns);
	ni->want = n->conf->workbit;
	ni->expires_s = expires_s ? expires_s : NODE_INVITE_DEFAULT_S;
	ni->mk_done = done;
	ni->mk_arg = arg;
	ni->work.data = ni;
	if (uv_queue_work(&n->loop, &ni->work, search_alias, alias_found) < 0) {
		ni->mk_done = NULL;
		snprintf(err, errlen, "cannot start the search of an alias key");
		return -EAGAIN;
	}
	ni->working = true;
	return 0;
}

/* ---- the expiry of unused invitations ---- */

/* The network file without the alias lines the parse found expired:
 * read, parsed and written back (atomically) from the same bytes, so that
 * the lines removed are the ones the parse names.  *removed: how many. */
static int remove_expired(struct node_invite *ni, size_t *removed, char *err, size_t errlen)
{
	struct node *n = ni->n;
	struct netconf *nc = NULL;
	struct strbuf b = { 0 };
	char *text = NULL;
	size_t len = 0, pos = 0, k = 0;
	unsigned lineno = 1;
	int ret;

	*removed = 0;
	ret = read_file(n->conf_path, &text, &len);
	if (ret < 0) {
		snprintf(err, errlen, "cannot read it: %s", strerror(-ret));
		return ret;
	}
	ret = netconf_parse_buffer(n->conf_name, text, len, &nc, err, errlen);
	if (ret < 0 || !nc->n_expired)
		goto out;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;

		if (k < nc->n_expired && nc->expired_lines[k] == lineno)
			++k;
		else
			strbuf_printf(&b, "%.*s", (int)(end - pos), text + pos);
		pos = end;
		++lineno;
	}
	if (b.failed) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = write_file_atomic(n->conf_path, b.data ? b.data : "", b.len);
	if (ret < 0) {
		snprintf(err, errlen, "cannot write it: %s", strerror(-ret));
		goto out;
	}
	*removed = k;
out:
	netconf_free(nc);
	free(text);
	free(b.data);
	return ret;
}

/* Unused invitations whose time is over: their alias lines leave the
 * file, and the node reloads so that their keys leave the members.  The
 * parse leaves an expired alias out of the members by itself, so a file
 * that cannot be written costs no trust: the reload still drops the key
 * (one line in the log says why the file keeps the line). */
static void expire_aliases(struct node_invite *ni)
{
	struct node *n = ni->n;
	const struct netconf *c = n->conf;
	/* The parse's clock: time(), which may lag the precise one. */
	bool due = c->alias_next_expiry && c->alias_next_expiry <= unix_now();
	char err[PATH_MAX + 256];
	size_t removed = 0;
	int ret;

	if (!n->member || n->conf_once || (!due && !c->n_expired))
		return;
	ret = remove_expired(ni, &removed, err, sizeof(err));
	if (ret < 0 && !ni->expiry_failed) {
		dev_log(&n->dev, LOG_ERR, "%s: cannot remove the alias lines of expired invitations: "
			"%s; their keys are no members all the same (the file is read so), remove "
			"the lines by hand", n->conf_name, err);
		ni->expiry_failed = true;
	} else if (ret == 0 && removed) {
		dev_log(&n->dev, LOG_INFO, "%s: %zu expired invitation%s removed (alias line%s)",
			n->conf_name, removed, removed == 1 ? "" : "s", removed == 1 ? "" : "s");
		ni->expiry_failed = false;
	}
	if (!due && !removed)
		return;
	ni->own_reload = true;
	if (node_reload(n, err, sizeof(err)) < 0)
		dev_log(&n->dev, LOG_ERR, "reload after the expiry of invitations: %s", err);
	ni->own_reload = false;
}

/* The timer to the next expiry (at most EXPIRY_MAX_WAIT_MS away: the
 * wall clock may jump), or soon when asked. */
static void expiry_arm(struct node_invite *ni, bool soon);

static void on_expiry(uv_timer_t *t)
{
	struct node_invite *ni = t->data;

	if (!ni->n)
		return;
	expire_aliases(ni);
	if (ni->n)
		expiry_arm(ni, false);
}

static void expiry_arm(struct node_invite *ni, bool soon)
{
	uint64_t next = ni->n->conf->alias_next_expiry, now = unix_now_ms(), wait = 0;

	/* An expiry already past (by the parse's clock) was acted on, or
	 * cannot be (a node that is no member, or read its file from a
	 * pipe): the next reload arms again. */
	if (!soon && next <= unix_now()) {
		uv_timer_stop(&ni->expiry);
		return;
	}
	if (!soon)
		wait = (next * 1000 > now ? next * 1000 - now : 0) + EXPIRY_SLACK_MS;
	if (wait > EXPIRY_MAX_WAIT_MS)
		wait = EXPIRY_MAX_WAIT_MS;
	uv_timer_start(&ni->expiry, on_expiry, wait, 0);
}

/* ---- life cycle ---- */

void node_invite_reloaded(struct node *n)
{
	struct node_invite *ni = n->invite;

	if (!ni)
		return;
	ni->ledger_ok = false;
	/* A reload of ours is followed by our own arming; any other may
	 * bring alias lines that expired while the file lay unread. */
	if (!ni->own_reload)
		expiry_arm(ni, true);
}

void node_invite_cancel(struct node *n, void *arg)
{
	struct node_invite *ni = n->invite;

	if (!ni)
		return;
	if (ni->mk_done && ni->mk_arg == arg)
		ni->mk_done = NULL;
	if (ni->jn_done && ni->jn_arg == arg) {
		ni->jn_done = NULL;
		ni->joining = false;
		uv_timer_stop(&ni->timer);
	}
}

int node_invite_start(struct node *n)
{
	struct node_invite *ni = calloc(1, sizeof(*ni));

	if (!ni)
		return -ENOMEM;
	ni->n = n;
	uv_timer_init(&n->loop, &ni->timer);
	ni->timer.data = ni;
	ni->timer_open = true;
	uv_timer_init(&n->loop, &ni->expiry);
	ni->expiry.data = ni;
	ni->expiry_open = true;
	uv_timer_init(&n->loop, &ni->guest_timer);
	ni->guest_timer.data = ni;
	ni->guest_open = true;
	n->invite = ni;
	overlay_set_invite(n->ov, on_invite_msg, invite_join_reach, ni);
	/* A file may hold alias lines whose time passed while the node was
	 * down: they go once the loop runs. */
	expiry_arm(ni, true);
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node_invite *ni = h->data;

	if (h == (uv_handle_t *)&ni->timer)
		ni->timer_open = false;
	else if (h == (uv_handle_t *)&ni->expiry)
		ni->expiry_open = false;
	else
		ni->guest_open = false;
	maybe_free(ni);
}

void node_invite_stop(struct node *n)
{
	struct node_invite *ni = n->invite;

	if (!ni)
		return;
	if (n->ov)
		overlay_set_invite(n->ov, NULL, NULL, NULL);
	n->invite = NULL;
	ni->n = NULL;
	ni->mk_done = NULL;
	ni->jn_done = NULL;
	ni->joining = false;
	uv_timer_stop(&ni->timer);
	uv_close((uv_handle_t *)&ni->timer, on_timer_closed);
	uv_timer_stop(&ni->expiry);
	uv_close((uv_handle_t *)&ni->expiry, on_timer_closed);
	uv_timer_stop(&ni->guest_timer);
	uv_close((uv_handle_t *)&ni->guest_timer, on_timer_closed);
}
