/* Host names in the network file's endpoints (src/node/names.h): a table
 * of the named endpoints of the file in force, each resolved on libuv's
 * thread pool.  A request names its entry by key, not by pointer: a
 * reload rebuilds the table while a request may be in flight. */
#include "src/node/names.h"

#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/node/overlay.h"
#include "src/wg/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ull

struct name_entry {
	uint8_t key[32];
	enum netconf_kind kind;
	char host[NETCONF_MAX_HOST + 1];
	uint16_t port;
	bool pending;			/* a request is in flight */
	bool have;			/* addr holds the last answer */
	union wg_sockaddr addr;
	uint64_t resolved_ns;		/* when the last request was sent, 0: never */
	uint64_t retry_ns;		/* the back-off while unanswered */
};

struct names {
	struct name_entry *v;
	size_t n;
};

struct name_req {
	uv_getaddrinfo_t req;
	struct node *node;
	uint8_t key[32];
	char host[NETCONF_MAX_HOST + 1];
};

void names_endpoint_numeric(const struct netconf_peer *cp, union wg_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (cp->endpoint.type == NETCONF_ENDPOINT_IPV4) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(cp->endpoint.port);
		memcpy(&a->in4.sin_addr, cp->endpoint.addr, 4);
	} else if (cp->endpoint.type == NETCONF_ENDPOINT_IPV6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(cp->endpoint.port);
		memcpy(&a->in6.sin6_addr, cp->endpoint.addr, 16);
	}
}

/* The table is built in the file's key order (netconf_by_key), so an
 * entry is found by binary search: answers come back one per name, and a
 * big file may name thousands. */
static int cmp_entry_key(const void *key, const void *e)
{
	return netconf_key_cmp(key, ((const struct name_entry *)e)->key);
}

static struct name_entry *find(struct node *n, const uint8_t key[32])
{
	if (!n->names || !n->names->n)
		return NULL;
	return bsearch(key, n->names->v, n->names->n, sizeof(*n->names->v), cmp_entry_key);
}

/* Where the address of a line goes: the DHT for boot and peer lines, the
 * member's WireGuard endpoint while it has no session. */
static void apply(struct node *n, enum netconf_kind kind, const uint8_t key[32],
		  const union wg_sockaddr *a)
{
	struct member *m;
	struct wg_peer *p;

	if (kind == NETCONF_BOOT) {
		overlay_add_bootstrap(n->ov, key, a);
		return;
	}
	if (kind == NETCONF_PEER) {
		overlay_add_contact(n->ov, key, a);
		return;
	}
	m = node_member(n, key);
	p = m ? member_peer(n, m) : NULL;
	if (!p || node_peer_has_session(p))
		return;
	peer_set_endpoint(p, a);
	node_plan_handshake(n, m);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct name_req *r = req->data;
	struct node *n = r->node;
	struct name_entry *e = n->stopping ? NULL : find(n, r->key);
	struct addrinfo *ai;
	char a[80];

	/* The entry may be gone, or name another host since a reload. */
	if (e && strcmp(e->host, r->host))
		e = NULL;
	if (e)
		e->pending = false;
	if (e && status != 0) {
		dev_log(&n->dev, LOG_INFO, "cannot resolve %s: %s", r->host, uv_strerror(status));
	} else if (e) {
		for (ai = res; ai; ai = ai->ai_next) {
			union wg_sockaddr addr;

			if (ai->ai_addrlen > sizeof(addr) ||
			    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
				continue;
			memset(&addr, 0, sizeof(addr));
			memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
			if (!e->have || !wg_sockaddr_equal(&addr, &e->addr))
				dev_log(&n->dev, LOG_INFO, "%s is %s", r->host,
					wg_sockaddr_str(&addr, a, sizeof(a)));
			e->addr = addr;
			e->have = true;
			apply(n, e->kind, e->key, &addr);
			break;
		}
	}
	uv_freeaddrinfo(res);
	free(r);
}

static void resolve(struct node *n, struct name_entry *e, uint64_t now)
{
	struct name_req *r = calloc(1, sizeof(*r));
	struct addrinfo hints;
	char port[8];

	e->resolved_ns = now ? now : 1;
	if (!r)
		return;
	r->node = n;
	memcpy(r->key, e->key, 32);
	snprintf(r->host, sizeof(r->host), "%s", e->host);
	r->req.data = r;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(port, sizeof(port), "%u", e->port);
	if (uv_getaddrinfo(&n->loop, &r->req, on_resolved, r->host, port, &hints) < 0) {
		free(r);
		return;
	}
	e->pending = true;
}

/* Whether the node behind the name answers now: a member has a session,
 * a boot or peer node counts while the DHT has heard from anyone. */
static bool answering(struct node *n, const struct name_entry *e)
{
	struct member *m;
	struct wg_peer *p;

	if (e->kind == NETCONF_BOOT || e->kind == NETCONF_PEER)
		return overlay_table(n->ov)->n_heard > 0;
	m = node_member(n, e->key);
	p = m ? member_peer(n, m) : NULL;
	return p && node_peer_has_session(p);
}

void names_tick(struct node *n, uint64_t now)
{
	size_t i;

	for (i = 0; n->names && i < n->names->n; ++i) {
		struct name_entry *e = &n->names->v[i];
		uint64_t wait;

		if (e->pending)
			continue;
		if (answering(n, e)) {
			e->retry_ns = NAMES_RETRY_MIN_S * NS_PER_S;
			wait = NAMES_REFRESH_S * NS_PER_S;
		} else {
			wait = e->retry_ns;
		}
		if (now < e->resolved_ns + wait)
			continue;
		if (!answering(n, e)) {
			e->retry_ns *= 2;
			if (e->retry_ns > NAMES_REFRESH_S * NS_PER_S)
				e->retry_ns = NAMES_REFRESH_S * NS_PER_S;
		}
		resolve(n, e, now);
	}
}

int names_sync(struct node *n)
{
	const struct netconf *c = n->conf;
	struct names *nn = calloc(1, sizeof(*nn));
	uint64_t now = wg_now(&n->dev);
	size_t i, named = 0;

	/* Entries for the named endpoints only (a few, in a file of
	 * thousands of members). */
	for (i = 0; i < c->n_peers; ++i)
		named += c->peers[i].endpoint.type == NETCONF_ENDPOINT_NAME;
	if (!nn || !(nn->v = calloc(named ? named : 1, sizeof(*nn->v)))) {
		free(nn);
		return -ENOMEM;
	}
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *cp = netconf_by_key(c, i);
		struct name_entry *e, *old;
		union wg_sockaddr a;

		if (!netconf_key_cmp(cp->key, n->public_key))
			continue;
		/* Members' endpoints matter to members only; a public node
		 * holds no WireGuard peers. */
		if (netconf_kind_is_trusted(cp->kind) && !n->member)
			continue;
		names_endpoint_numeric(cp, &a);
		if (a.sa.sa_family && !netconf_kind_is_trusted(cp->kind))
			apply(n, cp->kind, cp->key, &a);
		if (cp->endpoint.type != NETCONF_ENDPOINT_NAME)
			continue;
		e = &nn->v[nn->n++];
		memcpy(e->key, cp->key, 32);
		e->kind = cp->kind;
		snprintf(e->host, sizeof(e->host), "%s", cp->endpoint.host);
		e->port = cp->endpoint.port;
		e->retry_ns = NAMES_RETRY_MIN_S * NS_PER_S;
		/* A name that stays keeps its answer; it is asked again now
		 * all the same (a reload is when an admin expects it). */
		old = find(n, cp->key);
		if (old && !strcmp(old->host, e->host) && old->port == e->port && old->have) {
			e->addr = old->addr;
			e->have = true;
		}
	}
	names_free(n);
	n->names = nn;
	for (i = 0; i < nn->n; ++i)
		resolve(n, &nn->v[i], now);
	return 0;
}

void names_free(struct node *n)
{
	if (!n->names)
		return;
	free(n->names->v);
	free(n->names);
	n->names = NULL;
}
