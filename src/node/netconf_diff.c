/* The network file, parsed: lookups by key and hostname, and the
 * difference between two files that `reload` applies. */
#include "src/node/netconf.h"

#include "crypto/workbit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


/* ---- lookups ---- */

static int cmp_find_key(const void *k, const void *e)
{
	const struct netconf_peer *peer = *(const struct netconf_peer *const *)e;

	return netconf_key_cmp(k, peer->key);
}

static int cmp_find_hostname(const void *k, const void *e)
{
	const struct netconf_peer *peer = *(const struct netconf_peer *const *)e;

	return strcmp(k, peer->hostname);
}

const struct netconf_peer *netconf_find(const struct netconf *conf,
					const uint8_t key[NETCONF_KEY_LEN])
{
	struct netconf_peer **e;

	if (!conf || !conf->n_peers)
		return NULL;
	e = bsearch(key, conf->by_key, conf->n_peers, sizeof(*e), cmp_find_key);
	return e ? *e : NULL;
}

const struct netconf_peer *netconf_by_key(const struct netconf *conf, size_t i)
{
	return conf->by_key[i];
}

const struct netconf_peer *netconf_find_hostname(const struct netconf *conf,
						 const char *hostname)
{
	char lower[NETCONF_MAX_HOSTNAME + 1];
	struct netconf_peer **e;
	size_t i;

	if (!conf || !conf->n_hostnames || !hostname[0])
		return NULL;
	/* Hostnames are kept in lowercase; ASCII only, not the locale's. */
	for (i = 0; hostname[i]; ++i) {
		char ch = hostname[i];

		if (i == NETCONF_MAX_HOSTNAME)
			return NULL;
		lower[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	lower[i] = '\0';
	e = bsearch(lower, conf->by_hostname, conf->n_hostnames, sizeof(*e),
		    cmp_find_hostname);
	return e ? *e : NULL;
}

const struct netconf_peer *netconf_find_self(const struct netconf *conf,
					     const uint8_t public_key[NETCONF_KEY_LEN])
{
	const struct netconf_peer *peer = netconf_find(conf, public_key);

	return peer && netconf_kind_is_trusted(peer->kind) ? peer : NULL;
}

/* ---- diff ---- */

static bool same_endpoint(const struct netconf_endpoint *a, const struct netconf_endpoint *b)
{
	if (a->type != b->type || a->port != b->port || strcmp(a->host, b->host))
		return false;
	if (a->type == NETCONF_ENDPOINT_IPV4)
		return !memcmp(a->addr, b->addr, 4);
	if (a->type == NETCONF_ENDPOINT_IPV6)
		return !memcmp(a->addr, b->addr, 16);
	return true;
}

static unsigned peer_changes(const struct netconf_peer *a, const struct netconf_peer *b)
{
	unsigned what = 0;

	if (a->kind != b->kind)
		what |= NETCONF_PEER_KIND;
	if (strcmp(a->hostname, b->hostname))
		what |= NETCONF_PEER_HOSTNAME;
	if (a->has_ipv4 != b->has_ipv4 || (a->has_ipv4 && memcmp(a->ipv4, b->ipv4, 4)))
		what |= NETCONF_PEER_IPV4;
	if (a->has_ipv6 != b->has_ipv6 || (a->has_ipv6 && memcmp(a->ipv6, b->ipv6, 16)))
		what |= NETCONF_PEER_IPV6;
	if (!same_endpoint(&a->endpoint, &b->endpoint))
		what |= NETCONF_PEER_ENDPOINT;
	if (a->static4 != b->static4 || a->static6 != b->static6)
		what |= NETCONF_PEER_STATIC;
	return what;
}

static int cmp_line(const void *a, const void *b)
{
	const struct netconf_peer *x = *(const struct netconf_peer *const *)a;
	const struct netconf_peer *y = *(const struct netconf_peer *const *)b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_change_line(const void *a, const void *b)
{
	const struct netconf_change *x = a, *y = b;

	return x->new_peer->line < y->new_peer->line ? -1 : x->new_peer->line > y->new_peer->line;
}

int netconf_diff(const struct netconf *old_conf, const struct netconf *new_conf,
		 struct netconf_diff *diff)
{
	size_t no, nn, i = 0, j = 0;
	struct netconf empty;

	/* NULL stands for an empty file, which has the defaults. */
	memset(&empty, 0, sizeof(empty));
	strcpy(empty.ns, WORKBIT_DEFAULT_NAMESPACE);
	empty.workbit = NETCONF_DEFAULT_WORKBIT;
	memset(diff, 0, sizeof(*diff));
	if (!old_conf)
		old_conf = &empty;
	if (!new_conf)
		new_conf = &empty;
	no = old_conf->n_peers;
	nn = new_conf->n_peers;

	if (strcmp(old_conf->name, new_conf->name))
		diff->what |= NETCONF_DIFF_NAME;
	if (old_conf->has_subnet != new_conf->has_subnet ||
	    (old_conf->has_subnet && (old_conf->prefix != new_conf->prefix ||
				      memcmp(old_conf->subnet, new_conf->subnet, 4))))
		diff->what |= NETCONF_DIFF_SUBNET;
	if (old_conf->has_subnet6 != new_conf->has_subnet6 ||
	    (old_conf->has_subnet6 && (old_conf->prefix6 != new_conf->prefix6 ||
				       memcmp(old_conf->subnet6, new_conf->subnet6, 16))))
		diff->what |= NETCONF_DIFF_SUBNET6;
	if (old_conf->workbit != new_conf->workbit)
		diff->what |= NETCONF_DIFF_WORKBIT;
	if (strcmp(old_conf->ns, new_conf->ns))
		diff->what |= NETCONF_DIFF_NAMESPACE;

	diff->added = malloc((nn + 1) * sizeof(*diff->added));
	diff->removed = malloc((no + 1) * sizeof(*diff->removed));
	diff->changed = malloc(((no < nn ? no : nn) + 1) * sizeof(*diff->changed));
	if (!diff->added || !diff->removed || !diff->changed) {
		netconf_diff_free(diff);
		return -ENOMEM;
	}

	/* Both key indexes are sorted the same way: merge them. */
	while (i < no || j < nn) {
		const struct netconf_peer *a = i < no ? old_conf->by_key[i] : NULL;
		const struct netconf_peer *b = j < nn ? new_conf->by_key[j] : NULL;
		int c = !a ? 1 : !b ? -1 : netconf_key_cmp(a->key, b->key);

		if (c < 0) {
			diff->removed[diff->n_removed++] = a;
			++i;
		} else if (c > 0) {
			diff->added[diff->n_added++] = b;
			++j;
		} else {
			unsigned what = peer_changes(a, b);

			if (what) {
				struct netconf_change *ch = &diff->changed[diff->n_changed++];

				ch->old_peer = a;
				ch->new_peer = b;
				ch->what = what;
			}
			++i;
			++j;
		}
	}
	qsort(diff->added, diff->n_added, sizeof(*diff->added), cmp_line);
	qsort(diff->removed, diff->n_removed, sizeof(*diff->removed), cmp_line);
	qsort(diff->changed, diff->n_changed, sizeof(*diff->changed), cmp_change_line);
	return 0;
}

bool netconf_diff_empty(const struct netconf_diff *diff)
{
	return !diff->what && !diff->n_added && !diff->n_removed && !diff->n_changed;
}

void netconf_diff_free(struct netconf_diff *diff)
{
	free(diff->added);
	free(diff->removed);
	free(diff->changed);
	memset(diff, 0, sizeof(*diff));
}

