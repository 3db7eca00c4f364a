/* The Prometheus text format of a snapshot (metrics.h).  Names follow
 * Prometheus' conventions: the prefix wh_, the unit in the name
 * (_bytes, _seconds), _total on counters, one family per quantity with
 * labels for its parts (a drop's layer and reason, a path's kind).  A
 * state (a path's kind, a port mapping) is one gauge per possible value,
 * 1 for the current one and 0 for the others, so that a series never
 * vanishes when the state moves.  doc/metrics.md is the table of names. */
#include "src/node/metrics.h"

#include "src/node/strbuf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

void metrics_counts_add(struct metrics_counts *l, const char *a, const char *b, uint64_t value)
{
	if (l->n >= METRICS_COUNTS_MAX)
		return;
	l->c[l->n].a = a;
	l->c[l->n].b = b;
	l->c[l->n].value = value;
	++l->n;
}

void metrics_label_value(struct strbuf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	for (; *p; ++p) {
		if (*p == '\\' || *p == '"')
			strbuf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			strbuf_printf(b, "\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			strbuf_printf(b, "?");
		else
			strbuf_printf(b, "%c", *p);
	}
}

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{interface="...",k1="v1",...} without the value: labels come as
 * pairs of name and value, ended by NULL. */
static void sample_start(struct strbuf *b, const struct metrics_snapshot *s, const char *name,
			 const char *const *labels)
{
	strbuf_printf(b, "%s{interface=\"", name);
	metrics_label_value(b, s->ifname);
	strbuf_printf(b, "\"");
	for (; labels && labels[0]; labels += 2) {
		strbuf_printf(b, ",%s=\"", labels[0]);
		metrics_label_value(b, labels[1] ? labels[1] : "");
		strbuf_printf(b, "\"");
	}
	strbuf_printf(b, "} ");
}

static void sample_u(struct strbuf *b, const struct metrics_snapshot *s, const char *name,
		     const char *const *labels, uint64_t v)
{
	sample_start(b, s, name, labels);
	strbuf_printf(b, "%" PRIu64 "\n", v);
}

static void sample_i(struct strbuf *b, const struct metrics_snapshot *s, const char *name,
		     const char *const *labels, int64_t v)
{
	sample_start(b, s, name, labels);
	strbuf_printf(b, "%" PRId64 "\n", v);
}

/* A counter or gauge of one unlabelled value. */
static void single(struct strbuf *b, const struct metrics_snapshot *s, const char *name,
		   const char *type, const char *help, uint64_t v)
{
	family(b, name, type, help);
	sample_u(b, s, name, NULL, v);
}

/* A family of a list: label la (and lb when the list has a second word). */
static void listed(struct strbuf *b, const struct metrics_snapshot *s, const char *name,
		   const char *help, const struct metrics_counts *l, const char *la, const char *lb)
{
	size_t i;

	family(b, name, "counter", help);
	for (i = 0; i < l->n; ++i) {
		const char *labels[] = { la, l->c[i].a, lb, l->c[i].b, NULL };

		if (!lb)
			labels[2] = NULL;
		sample_u(b, s, name, labels, l->c[i].value);
	}
}

static const char *const path_kinds[] = { "direct", "relayed", "none" };

struct peer_counter {
	const char *name, *help;
	size_t offset;	/* of the uint64_t in struct metrics_peer */
};

static const struct peer_counter peer_counters[] = {
	{ "wh_peer_received_bytes_total", "Bytes of WireGuard messages received from the peer.",
	  offsetof(struct metrics_peer, rx_bytes) },
	{ "wh_peer_sent_bytes_total", "Bytes of WireGuard messages sent to the peer.",
	  offsetof(struct metrics_peer, tx_bytes) },
	{ "wh_peer_received_packets_total", "WireGuard messages received from the peer.",
	  offsetof(struct metrics_peer, rx_packets) },
	{ "wh_peer_sent_packets_total", "WireGuard messages sent to the peer.",
	  offsetof(struct metrics_peer, tx_packets) },
};

static void peers(struct strbuf *b, const struct metrics_snapshot *s)
{
	size_t i, k, c;

	if (!s->n_peers)
		return;
	for (c = 0; c < sizeof(peer_counters) / sizeof(peer_counters[0]); ++c) {
		family(b, peer_counters[c].name, "counter", peer_counters[c].help);
		for (i = 0; i < s->n_peers; ++i) {
			const struct metrics_peer *p = &s->peers[i];
			const char *labels[] = { "public_key", p->key, "hostname", p->hostname, NULL };
			uint64_t v;

			memcpy(&v, (const char *)p + peer_counters[c].offset, sizeof(v));
			sample_u(b, s, peer_counters[c].name, labels, v);
		}
	}
	family(b, "wh_peer_last_handshake_seconds", "gauge",
	       "Unix time of the peer's last handshake; 0: never.");
	for (i = 0; i < s->n_peers; ++i) {
		const char *labels[] = { "public_key", s->peers[i].key, "hostname",
					 s->peers[i].hostname, NULL };

		sample_i(b, s, "wh_peer_last_handshake_seconds", labels,
			 s->peers[i].last_handshake_sec);
	}
	family(b, "wh_peer_path", "gauge",
	       "How the peer is reached: 1 for the current kind (direct, relayed, none), 0 else.");
	for (i = 0; i < s->n_peers; ++i) {
		for (k = 0; k < sizeof(path_kinds) / sizeof(path_kinds[0]); ++k) {
			const char *labels[] = { "public_key", s->peers[i].key, "hostname",
						 s->peers[i].hostname, "kind", path_kinds[k], NULL };

			sample_u(b, s, "wh_peer_path", labels,
				 s->peers[i].path && !strcmp(s->peers[i].path, path_kinds[k]));
		}
	}
	family(b, "wh_peer_rtt_seconds", "gauge",
	       "The overlay's smoothed round trip to the peer (absent when not measured).");
	for (i = 0; i < s->n_peers; ++i) {
		const char *labels[] = { "public_key", s->peers[i].key, "hostname",
					 s->peers[i].hostname, NULL };

		if (!s->peers[i].rtt_us)
			continue;
		sample_start(b, s, "wh_peer_rtt_seconds", labels);
		strbuf_printf(b, "%u.%06u\n", s->peers[i].rtt_us / 1000000u,
			      s->peers[i].rtt_us % 1000000u);
	}
}

static void portmap(struct strbuf *b, const struct metrics_snapshot *s)
{
	static const char *const protos[] = { "pcp", "natpmp", "upnp" };
	char port[8] = "";
	size_t i;

	if (!s->portmap_enabled)
		return;
	family(b, "wh_port_mapping", "gauge",
	       "1 while the router maps our port by this protocol (external_port), 0 else.");
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); ++i) {
		bool on = s->portmap_proto && !strcmp(s->portmap_proto, protos[i]);
		const char *labels[] = { "protocol", protos[i], "external_port", port, NULL };

		if (on)
			snprintf(port, sizeof(port), "%u", s->portmap_external_port);
		else
			port[0] = '\0';
		sample_u(b, s, "wh_port_mapping", labels, on);
	}
	if (s->portmap_proto) {
		family(b, "wh_port_mapping_lease_seconds", "gauge",
		       "Seconds left of the port mapping's lease; -1: permanent.");
		sample_i(b, s, "wh_port_mapping_lease_seconds", NULL, s->portmap_lease_left_s);
	}
}

void metrics_format(struct strbuf *b, const struct metrics_snapshot *s)
{
	const char *info[] = { "public_key", s->public_key, "network", s->network,
			       "role", s->member ? "member" : "public", NULL };
	const char *q_udp[] = { "transport", "udp", NULL }, *q_tcp[] = { "transport", "tcp", NULL };
	const char *u_data[] = { "queue", "data", NULL }, *u_ctl[] = { "queue", "control", NULL };
	const char *u_known[] = { "queue", "known", NULL };

	family(b, "wh_node_info", "gauge", "The node's key, network and role; always 1.");
	sample_u(b, s, "wh_node_info", info, 1);
	peers(b, s);
	single(b, s, "wh_dht_nodes", "gauge", "Entries of the DHT routing table.", s->dht_nodes);
	single(b, s, "wh_dht_lookups_started_total", "counter", "Lookups of members started.",
	       s->lookups_started);
	family(b, "wh_dht_lookups_total", "counter",
	       "Lookups of members ended, by result (found, not_found).");
	{
		const char *f[] = { "result", "found", NULL }, *nf[] = { "result", "not_found", NULL };

		sample_u(b, s, "wh_dht_lookups_total", f, s->lookups_found);
		sample_u(b, s, "wh_dht_lookups_total", nf, s->lookups_failed);
	}
	single(b, s, "wh_relay_enabled", "gauge", "1 when this node relays for members.",
	       s->relaying);
	single(b, s, "wh_relay_forwarded_packets_total", "counter",
	       "Members' WireGuard datagrams forwarded as a relay.", s->relay_forwarded);
	single(b, s, "wh_relay_forwarded_bytes_total", "counter",
	       "Bytes of members' WireGuard datagrams forwarded as a relay.", s->relay_bytes);
	listed(b, s, "wh_relay_refused_total", "Datagrams refused as a relay, by reason.",
	       &s->relay_refused, "reason", NULL);
	listed(b, s, "wh_dropped_total", "Datagrams dropped, by layer and reason.", &s->drops,
	       "layer", "reason");
	portmap(b, s);
	family(b, "wh_udp_queue_drops_total", "counter",
	       "Datagrams the kernel dropped for want of room in our socket queues.");
	sample_u(b, s, "wh_udp_queue_drops_total", u_data, s->udp_data_drops);
	sample_u(b, s, "wh_udp_queue_drops_total", u_ctl, s->udp_control_drops);
	sample_u(b, s, "wh_udp_queue_drops_total", u_known, s->udp_known_drops);
	if (!s->dns)
		return;
	family(b, "wh_dns_queries_total", "counter", "Queries to the name service, by transport.");
	sample_u(b, s, "wh_dns_queries_total", q_udp, s->dns_queries_udp);
	sample_u(b, s, "wh_dns_queries_total", q_tcp, s->dns_queries_tcp);
	listed(b, s, "wh_dns_answers_total", "Answers of the name service, by rcode.",
	       &s->dns_answers, "rcode", NULL);
	listed(b, s, "wh_dns_dropped_total", "Queries the name service dropped, by reason.",
	       &s->dns_dropped, "reason", NULL);
}
