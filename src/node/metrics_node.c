/* A running node's metrics (metrics.h): the snapshot of what `wh show` and
 * `wh inspect` read, turned into text by metrics.c; and the HTTP listener
 * of `wh up ... metrics ADDR:PORT` on the node's loop.
 *
 * The listener rides on src/io/ipc.c's TCP server: at most
 * METRICS_HTTP_CONNS connections (the oldest idle one makes room for a
 * newcomer), closed when idle for METRICS_HTTP_IDLE_MS; one request per
 * connection, whose head may be at most METRICS_HTTP_MAX bytes, answered
 * and then closed.  Nothing blocks: the text is built on the loop from
 * counters in memory, and written through libuv. */
#include "src/node/metrics.h"

#include "crypto/encoding.h"
#include "proto/overlay/secure.h"
#include "src/io/ipc.h"
#include "src/node/dns.h"
#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"
#include "src/node/portmap.h"
#include "src/node/strbuf.h"
#include "src/wg/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the snapshot ---- */

struct named_drop {
	const char *reason;
	size_t offset;	/* of the counter in struct wg_drop_counters */
};

#define WG_DROP(f) { #f, offsetof(struct wg_drop_counters, f) }
static const struct named_drop wg_drops[] = {
	WG_DROP(unknown_type), WG_DROP(bad_length), WG_DROP(handshake_invalid),
	WG_DROP(handshake_ratelimited), WG_DROP(handshake_shed), WG_DROP(handshake_queue_full),
	WG_DROP(cookie_invalid), WG_DROP(data_unknown_index), WG_DROP(data_invalid),
	WG_DROP(data_source_mismatch), WG_DROP(data_bad_inner), WG_DROP(tun_no_route),
	WG_DROP(no_endpoint), WG_DROP(staged_full), WG_DROP(pool_exhausted), WG_DROP(send_errors),
	WG_DROP(tun_bad_offload), WG_DROP(tun_write_errors), WG_DROP(ext_bad), WG_DROP(ext_refused),
};
#undef WG_DROP

static void drops(struct node *n, struct metrics_snapshot *s)
{
	const struct ovl_engine_stats *os = overlay_stats(n->ov);
	const struct ovl_secure_stats *cs = ovl_secure_stats(overlay_secure(n->ov));
	size_t i;
	int r;

	for (i = 0; i < sizeof(wg_drops) / sizeof(wg_drops[0]); ++i) {
		uint64_t v;

		memcpy(&v, (const char *)&n->dev.drops + wg_drops[i].offset, sizeof(v));
		metrics_counts_add(&s->drops, "wireguard", wg_drops[i].reason, v);
	}
	metrics_counts_add(&s->drops, "overlay", "decode", os->dropped_decode);
	metrics_counts_add(&s->drops, "overlay", "unhandled", os->unhandled);
	metrics_counts_add(&s->drops, "overlay", "unsolicited", os->dropped_unsolicited);
	metrics_counts_add(&s->drops, "overlay", "named", os->dropped_named);
	metrics_counts_add(&s->drops, "overlay", "short", os->dropped_short);
	metrics_counts_add(&s->drops, "overlay", "relayed", os->relayed_dropped);
	metrics_counts_add(&s->drops, "overlay", "probes", os->probes_dropped);
	/* The secure layer's reasons (OVL_ACCEPT is no drop; a cookie
	 * reply taken is none either). */
	for (r = 1; r < OVL_DROP_MAX; ++r)
		if (r != OVL_DROP_COOKIE)
			metrics_counts_add(&s->drops, "secure", ovl_drop_name((enum ovl_drop)r),
					   cs->open_results[r]);
}

static void relay(struct node *n, struct metrics_snapshot *s)
{
	const struct ovl_engine_stats *os = overlay_stats(n->ov);

	s->relaying = overlay_relaying(n->ov);
	s->relay_forwarded = os->relay_forwarded;
	s->relay_bytes = os->relay_bytes;
	metrics_counts_add(&s->relay_refused, "off", NULL, os->relay_dropped_off);
	metrics_counts_add(&s->relay_refused, "rate", NULL, os->relay_dropped_rate);
	metrics_counts_add(&s->relay_refused, "no_path", NULL, os->relay_dropped_no_path);
	metrics_counts_add(&s->relay_refused, "malformed", NULL, os->relay_dropped_bad);
	metrics_counts_add(&s->relay_refused, "not_a_peer", NULL, os->relay_dropped_peer);
	metrics_counts_add(&s->relay_refused, "channel_denied", NULL, os->channel_denied);
	metrics_counts_add(&s->relay_refused, "channel_unknown", NULL, os->channel_dropped);
}

static void dns(struct node *n, struct metrics_snapshot *s)
{
	const struct dns_stats *d = node_dns_stats(n);
	static const char *const rcodes[NODE_DNS_RCODES] = {
		[0] = "noerror", [1] = "formerr", [2] = "servfail", [3] = "nxdomain",
		[4] = "notimp", [5] = "refused", [16] = "badvers",
	};
	int r;

	if (!d)
		return;
	s->dns = true;
	s->dns_queries_udp = d->queries_udp;
	s->dns_queries_tcp = d->queries_tcp;
	for (r = 0; r < NODE_DNS_RCODES; ++r)
		if (rcodes[r])
			metrics_counts_add(&s->dns_answers, rcodes[r], NULL, d->rcodes[r]);
	metrics_counts_add(&s->dns_dropped, "outside", NULL, d->dropped_outside);
	metrics_counts_add(&s->dns_dropped, "unanswerable", NULL, d->dropped_unanswerable);
	metrics_counts_add(&s->dns_dropped, "tcp_refused", NULL, d->tcp_refused);
	metrics_counts_add(&s->dns_dropped, "send_error", NULL, d->send_errors);
}

/* The members that have a peer in the device, as `wh show` lists them. */
static size_t members(struct node *n, struct metrics_peer *out)
{
	size_t i, k = 0;

	for (i = 0; i < n->n_members; ++i) {
		const struct member *m = n->members[i];
		const struct wg_peer *p = member_peer(n, m);
		const struct netconf_peer *cp = netconf_find(n->conf, m->key);
		struct metrics_peer *mp = &out[k];

		if (!p)
			continue;
		key_to_base64url(mp->key, m->key);
		snprintf(mp->hostname, sizeof(mp->hostname), "%s", cp ? cp->hostname : "");
		mp->rx_bytes = p->rx_bytes;
		mp->tx_bytes = p->tx_bytes;
		mp->rx_packets = p->rx_packets;
		mp->tx_packets = p->tx_packets;
		mp->last_handshake_sec = p->last_handshake_sec;
		mp->path = paths_describe(n, m, NULL, 0);
		mp->rtt_us = overlay_rtt_us(n->ov, m->key);
		++k;
	}
	return k;
}

void metrics_node_text(struct node *n, struct strbuf *b)
{
	struct metrics_snapshot *s = calloc(1, sizeof(*s));
	struct metrics_peer *peers = calloc(n->n_members ? n->n_members : 1, sizeof(*peers));
	const struct overlay_lookup_stats *ls = overlay_lookup_stats(n->ov);
	struct wg_socket_stats ss;
	union wg_sockaddr ma;
	enum portmap_proto via = PORTMAP_NONE;
	uint32_t left = 0;

	if (!s || !peers) {
		b->failed = true;
		goto out;
	}
	s->ifname = n->dev.ifname;
	s->network = n->conf->name;
	key_to_base64url(s->public_key, n->public_key);
	s->member = n->member;
	s->peers = peers;
	s->n_peers = members(n, peers);
	s->dht_nodes = kad_table_size(overlay_table(n->ov));
	s->lookups_started = ls->started;
	s->lookups_found = ls->found;
	s->lookups_failed = ls->not_found;
	relay(n, s);
	drops(n, s);
	s->portmap_enabled = n->portmap != NULL;
	if (n->portmap && portmap_external(n->portmap, &ma, &via, &left)) {
		s->portmap_proto = portmap_proto_name(via);
		s->portmap_external_port = ntohs(ma.sa.sa_family == AF_INET6 ? ma.in6.sin6_port :
						 ma.in4.sin_port);
		s->portmap_lease_left_s = left == UINT32_MAX ? -1 : (int64_t)left;
	}
	device_socket_stats(&n->dev, &ss);
	s->udp_data_drops = ss.data4_queue_drops + ss.data6_queue_drops;
	s->udp_control_drops = ss.ctl4_queue_drops + ss.ctl6_queue_drops;
	s->udp_known_drops = ss.known4_queue_drops + ss.known6_queue_drops;
	dns(n, s);
	metrics_format(b, s);
out:
	free(peers);
	free(s);
}

/* ---- the listener ---- */

struct metrics_conn {
	struct node *n;
	struct metrics_http_reader r;
	bool answered;
};

static void answer(struct ipc_conn *c, struct metrics_conn *mc, enum metrics_http_status st,
		   bool head_only)
{
	struct strbuf body = { 0 }, out = { 0 };
	size_t blen, len;
	char *text, *all;

	mc->answered = true;
	if (st == METRICS_HTTP_OK)
		metrics_node_text(mc->n, &body);
	else
		strbuf_printf(&body, "%u %s\n", (unsigned)st, metrics_http_reason(st));
	text = strbuf_take(&body, &blen);
	if (!text) {
		st = 500;
		blen = 0;
	}
	strbuf_printf(&out, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "%sConnection: close\r\n\r\n", (unsigned)st,
		      st == 500 ? "Internal Server Error" : metrics_http_reason(st),
		      st == METRICS_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8" :
		      "text/plain; charset=utf-8", blen,
		      st == METRICS_HTTP_BAD_METHOD ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only && text)
		strbuf_printf(&out, "%s", text);
	free(text);
	all = strbuf_take(&out, &len);
	if (all)
		ipc_conn_send(c, all, len, false);
	ipc_conn_close(c);
}

static int on_open(struct ipc_conn *c)
{
	struct metrics_conn *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return -ENOMEM;
	mc->n = ipc_conn_owner(c);
	metrics_http_reader_init(&mc->r);
	ipc_conn_set_data(c, mc);
	return 0;
}

static size_t on_data(struct ipc_conn *c, const char *data, size_t len)
{
	struct metrics_conn *mc = ipc_conn_data(c);
	enum metrics_http_status st;
	bool head_only;

	if (mc->answered || mc->r.done)
		return len;
	metrics_http_reader_feed(&mc->r, data, len);
	if (!mc->r.done)
		return len;
	st = metrics_http_reader_status(&mc->r, &head_only);
	answer(c, mc, st, head_only);
	return len;
}

/* The client stopped sending before the end of its head: a bad request. */
static bool on_eof(struct ipc_conn *c)
{
	struct metrics_conn *mc = ipc_conn_data(c);

	if (!mc->answered && mc->r.len)
		answer(c, mc, METRICS_HTTP_BAD_REQUEST, false);
	return false;
}

static void on_close(struct ipc_conn *c)
{
	free(ipc_conn_data(c));
}

static void on_accept_error(void *owner, int err)
{
	struct node *n = owner;

	dev_log(&n->dev, LOG_ERR, "metrics listener: cannot accept a connection: %s",
		strerror(-err));
}

static const struct ipc_ops metrics_ops = {
	.on_open = on_open,
	.on_data = on_data,
	.on_eof = on_eof,
	.on_close = on_close,
	.on_accept_error = on_accept_error,
};

int metrics_listen_start(struct node *n, const void *sockaddr)
{
	const struct sockaddr *sa = sockaddr;
	union wg_sockaddr a;
	char text[80];
	int ret;

	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	ret = ipc_server_start_tcp(&n->metrics, &n->loop, sa, &metrics_ops, n);
	if (ret < 0) {
		n->metrics = NULL;
		return ret;
	}
	ipc_server_set_limits(n->metrics, METRICS_HTTP_IDLE_MS, METRICS_HTTP_CONNS);
	memset(&a, 0, sizeof(a));
	memcpy(&a, sa, sa->sa_family == AF_INET ? sizeof(a.in4) : sizeof(a.in6));
	dev_log(&n->dev, LOG_INFO, "metrics on http://%s/metrics",
		wg_sockaddr_str(&a, text, sizeof(text)));
	return 0;
}

void metrics_listen_stop(struct node *n)
{
	if (n->metrics)
		ipc_server_stop(n->metrics);
	n->metrics = NULL;
}
