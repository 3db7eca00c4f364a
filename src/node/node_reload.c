/* A node's reload (`wh reload`, and the node's own changes to its file):
 * the file parsed on libuv's thread pool, then applied on the loop. */
#include "src/node/node_priv.h"

#include "src/io/sdnotify.h"
#include "src/node/dns.h"
#include "proto/dns/dns.h"
#include "src/node/invite.h"
#include "src/node/names.h"
#include "src/node/netconf.h"
#include "src/node/routes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lines the parser left out, and why: the node runs without them. */
void node_log_left_out(struct node *n)
{
	const struct netconf *c = n->conf;
	size_t i;

	for (i = 0; i < c->n_notes; ++i)
		dev_log(&n->dev, LOG_ERR, "line left out of the network: %s", c->notes[i].text);
	if (c->n_left_out > c->n_notes)
		dev_log(&n->dev, LOG_ERR, "%zu more lines of %s left out of the network",
			c->n_left_out - c->n_notes, n->conf_name);
}

/* ---- reload ---- */

/* A reload reads and parses the file on libuv's thread pool (a file of
 * 10,000 members takes tens of ms to parse, which the loop's sessions must
 * not wait for), then applies it on the loop (reload_apply).  One at a
 * time: the job is n->reload while it runs.  The parse touches nothing of
 * the node but the file's path and name, which no one changes. */
struct reload_job {
	uv_work_t req;
	struct node *n;
	struct netconf *nc;
	struct dns_table *dns;	/* the new file's name table, or NULL */
	int ret;
	bool want_dns;		/* the node answers DNS: build its table */
	char err[PATH_MAX + 512];
	node_reload_done done;
	void *arg;		/* NULL once the asker went away */
};

static void reload_parse(uv_work_t *req)
{
	struct reload_job *j = req->data;

	j->ret = netconf_parse_file_as(j->n->conf_path, j->n->conf_name, &j->nc, j->err,
				       sizeof(j->err));
	/* The name table is the file's alone: built here too, off the loop
	 * (10,000 names to sort).  Left to the loop if this fails. */
	if (j->ret >= 0 && j->want_dns && node_dns_build(j->nc, &j->dns) < 0)
		j->dns = NULL;
}

/* Applies the parsed file nc, which it takes with its name table dns
 * (NULL: built here); the old one stays (and nc and dns are freed) when nc
 * cannot be applied. */
static int reload_apply(struct node *n, struct netconf *nc, struct dns_table *dns, char *err,
			size_t errlen)
{
	struct netconf *old = n->conf;
	uint8_t old4[4], old6[16];
	uint8_t oldp4 = n->prefix4, oldp6 = n->prefix6;
	bool was_member = n->member;
	int ret;

	if (strcmp(nc->ns, old->ns) || nc->workbit != old->workbit) {
		snprintf(err, errlen, "%s: a reload cannot change the namespace or the workbit "
			 "(restart the node)", n->conf_name);
		netconf_free(nc);
		dns_table_free(dns);
		return -EINVAL;
	}
	if (!!netconf_find_self(nc, n->public_key) != was_member) {
		snprintf(err, errlen, "%s: a reload cannot make this node %s a member "
			 "(restart the node)", n->conf_name, was_member ? "stop being" : "become");
		netconf_free(nc);
		dns_table_free(dns);
		return -EINVAL;
	}
	memcpy(old4, n->ipv4, 4);
	memcpy(old6, n->ipv6, 16);
	n->conf = nc;
	node_take_self(n);
	ret = node_sync_members(n, old);
	if (ret < 0) {
		/* Keep the old file: the members that were synced stay. */
		n->conf = old;
		node_take_self(n);
		netconf_free(nc);
		dns_table_free(dns);
		snprintf(err, errlen, "%s: cannot apply: %s", n->conf_name, strerror(-ret));
		return ret;
	}
	if (n->member && (memcmp(old4, n->ipv4, 4) || memcmp(old6, n->ipv6, 16) ||
			  oldp4 != n->prefix4 || oldp6 != n->prefix6)) {
		node_readdress(n, old4, oldp4, old6, oldp6, err, errlen);
	}
	node_dns_reload(n, dns);
	routes_sync(n, old);
	ret = names_sync(n);
	if (ret < 0)
		dev_log(&n->dev, LOG_ERR, "cannot resolve the file's host names: %s", strerror(-ret));
	netconf_free(old);
	node_invite_reloaded(n);
	node_log_left_out(n);
	return 0;
}

/* The same on the loop, parse and all, for the node's own change of its
 * file (an invitation's alias line, src/node/invite.c): small, and its
 * caller needs the outcome before it answers.  The service manager
 * (wh@.service, Type=notify) hears of every reload before it starts and
 * is READY=1 again after it, whether the new file was taken or refused:
 * the node runs either way. */
int node_reload(struct node *n, char *err, size_t errlen)
{
	struct netconf *nc = NULL;
	int ret;

	if (n->conf_once) {
		snprintf(err, errlen, "%s: not a regular file: this node read it once from a pipe",
			 n->conf_name);
		return -EINVAL;
	}
	sdnotify_reloading();
	ret = netconf_parse_file_as(n->conf_path, n->conf_name, &nc, err, errlen);
	if (ret >= 0)
		ret = reload_apply(n, nc, NULL, err, errlen);
	if (ret >= 0)
		dev_log(&n->dev, LOG_INFO, "reloaded %s: %zu members", n->conf_name, n->n_members);
	sdnotify_send("READY=1");
	return ret;
}

static void reload_applied(uv_work_t *req, int status)
{
	struct reload_job *j = req->data;
	struct node *n = j->n;

	n->reload = NULL;
	if (status < 0 || n->stopping) {
		netconf_free(j->nc);
		dns_table_free(j->dns);
		j->ret = -ECANCELED;
		snprintf(j->err, sizeof(j->err), "the node is stopping");
	} else if (j->ret >= 0) {
		uint64_t t0 = uv_hrtime();

		j->ret = reload_apply(n, j->nc, j->dns, j->err, sizeof(j->err));
		if (j->ret >= 0)
			dev_log(&n->dev, LOG_INFO, "reloaded %s: %zu members (%.1f ms on the loop)",
				n->conf_name, n->n_members, (double)(uv_hrtime() - t0) / 1e6);
	}
	if (j->arg)
		j->done(j->arg, j->ret, j->err);
	free(j);
	sdnotify_send("READY=1");
}

int node_reload_start(struct node *n, node_reload_done done, void *arg, char *err, size_t errlen)
{
	struct reload_job *j;
	int ret;

	if (n->conf_once) {
		snprintf(err, errlen, "%s: not a regular file: wh reload re-reads the network file "
			 "from its path, and this node read it once from a pipe (start it from a file "
			 "to reload it)", n->conf_name);
		return -EINVAL;
	}
	if (n->reload) {
		snprintf(err, errlen, "a reload is under way; try again");
		return -EBUSY;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	j->n = n;
	j->want_dns = n->dns != NULL;
	j->done = done;
	j->arg = arg;
	j->req.data = j;
	/* A regular file only, opened without blocking (netconf.h). */
	ret = uv_queue_work(&n->loop, &j->req, reload_parse, reload_applied);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the reload: %s", uv_strerror(ret));
		free(j);
		return ret;
	}
	n->reload = j;
	sdnotify_reloading();
	return 0;
}

void node_reload_forget(struct node *n, void *arg)
{
	if (n->reload && n->reload->arg == arg)
		n->reload->arg = NULL;
}
