/* The metrics' text and HTTP parser (src/node/metrics.h), without a node:
 * a snapshot's whole text against the expected exposition (port mapping
 * gauges included, which the namespace test reaches only with a router),
 * label values escaped as the format says, the format's rules checked on
 * the text of random snapshots (a TYPE before every sample of its family,
 * no family twice, counters named _total), and the request parser's
 * table of heads and their statuses. */
#include "src/node/metrics.h"
#include "src/node/strbuf.h"
#include "test/tap.h"

#include <sodium.h>

static const char expected[] =
	"# HELP wh_node_info The node's key, network and role; always 1.\n"
	"# TYPE wh_node_info gauge\n"
	"wh_node_info{interface=\"wh0\",public_key=\"KEYSELF\",network=\"lab\",role=\"member\"} 1\n"
	"# HELP wh_peer_received_bytes_total Bytes of WireGuard messages received from the peer.\n"
	"# TYPE wh_peer_received_bytes_total counter\n"
	"wh_peer_received_bytes_total{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 1000\n"
	"wh_peer_received_bytes_total{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\"} 0\n"
	"# HELP wh_peer_sent_bytes_total Bytes of WireGuard messages sent to the peer.\n"
	"# TYPE wh_peer_sent_bytes_total counter\n"
	"wh_peer_sent_bytes_total{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 2000\n"
	"wh_peer_sent_bytes_total{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\"} 148\n"
	"# HELP wh_peer_received_packets_total WireGuard messages received from the peer.\n"
	"# TYPE wh_peer_received_packets_total counter\n"
	"wh_peer_received_packets_total{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 10\n"
	"wh_peer_received_packets_total{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\"} 0\n"
	"# HELP wh_peer_sent_packets_total WireGuard messages sent to the peer.\n"
	"# TYPE wh_peer_sent_packets_total counter\n"
	"wh_peer_sent_packets_total{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 20\n"
	"wh_peer_sent_packets_total{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\"} 1\n"
	"# HELP wh_peer_last_handshake_seconds Unix time of the peer's last handshake; 0: never.\n"
	"# TYPE wh_peer_last_handshake_seconds gauge\n"
	"wh_peer_last_handshake_seconds{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 1796000000\n"
	"wh_peer_last_handshake_seconds{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\"} 0\n"
	"# HELP wh_peer_path How the peer is reached: 1 for the current kind (direct, relayed, none), 0 else.\n"
	"# TYPE wh_peer_path gauge\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\",kind=\"direct\"} 0\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\",kind=\"relayed\"} 1\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\",kind=\"none\"} 0\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\",kind=\"direct\"} 0\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\",kind=\"relayed\"} 0\n"
	"wh_peer_path{interface=\"wh0\",public_key=\"KEYB\",hostname=\"\",kind=\"none\"} 1\n"
	"# HELP wh_peer_rtt_seconds The overlay's smoothed round trip to the peer (absent when not measured).\n"
	"# TYPE wh_peer_rtt_seconds gauge\n"
	"wh_peer_rtt_seconds{interface=\"wh0\",public_key=\"KEYA\",hostname=\"a\"} 0.012345\n"
	"# HELP wh_dht_nodes Entries of the DHT routing table.\n"
	"# TYPE wh_dht_nodes gauge\n"
	"wh_dht_nodes{interface=\"wh0\"} 7\n"
	"# HELP wh_dht_lookups_started_total Lookups of members started.\n"
	"# TYPE wh_dht_lookups_started_total counter\n"
	"wh_dht_lookups_started_total{interface=\"wh0\"} 5\n"
	"# HELP wh_dht_lookups_total Lookups of members ended, by result (found, not_found).\n"
	"# TYPE wh_dht_lookups_total counter\n"
	"wh_dht_lookups_total{interface=\"wh0\",result=\"found\"} 3\n"
	"wh_dht_lookups_total{interface=\"wh0\",result=\"not_found\"} 1\n"
	"# HELP wh_relay_enabled 1 when this node relays for members.\n"
	"# TYPE wh_relay_enabled gauge\n"
	"wh_relay_enabled{interface=\"wh0\"} 0\n"
	"# HELP wh_relay_forwarded_packets_total Members' WireGuard datagrams forwarded as a relay.\n"
	"# TYPE wh_relay_forwarded_packets_total counter\n"
	"wh_relay_forwarded_packets_total{interface=\"wh0\"} 0\n"
	"# HELP wh_relay_forwarded_bytes_total Bytes of members' WireGuard datagrams forwarded as a relay.\n"
	"# TYPE wh_relay_forwarded_bytes_total counter\n"
	"wh_relay_forwarded_bytes_total{interface=\"wh0\"} 0\n"
	"# HELP wh_relay_refused_total Datagrams refused as a relay, by reason.\n"
	"# TYPE wh_relay_refused_total counter\n"
	"wh_relay_refused_total{interface=\"wh0\",reason=\"off\"} 4\n"
	"wh_relay_refused_total{interface=\"wh0\",reason=\"rate\"} 0\n"
	"# HELP wh_dropped_total Datagrams dropped, by layer and reason.\n"
	"# TYPE wh_dropped_total counter\n"
	"wh_dropped_total{interface=\"wh0\",layer=\"wireguard\",reason=\"bad_length\"} 2\n"
	"wh_dropped_total{interface=\"wh0\",layer=\"secure\",reason=\"not overlay\"} 9\n"
	"# HELP wh_port_mapping 1 while the router maps our port by this protocol (external_port), 0 else.\n"
	"# TYPE wh_port_mapping gauge\n"
	"wh_port_mapping{interface=\"wh0\",protocol=\"pcp\",external_port=\"\"} 0\n"
	"wh_port_mapping{interface=\"wh0\",protocol=\"natpmp\",external_port=\"40000\"} 1\n"
	"wh_port_mapping{interface=\"wh0\",protocol=\"upnp\",external_port=\"\"} 0\n"
	"# HELP wh_port_mapping_lease_seconds Seconds left of the port mapping's lease; -1: permanent.\n"
	"# TYPE wh_port_mapping_lease_seconds gauge\n"
	"wh_port_mapping_lease_seconds{interface=\"wh0\"} 3599\n"
	"# HELP wh_udp_queue_drops_total Datagrams the kernel dropped for want of room in our socket queues.\n"
	"# TYPE wh_udp_queue_drops_total counter\n"
	"wh_udp_queue_drops_total{interface=\"wh0\",queue=\"data\"} 11\n"
	"wh_udp_queue_drops_total{interface=\"wh0\",queue=\"control\"} 12\n"
	"wh_udp_queue_drops_total{interface=\"wh0\",queue=\"known\"} 13\n"
	"# HELP wh_dns_queries_total Queries to the name service, by transport.\n"
	"# TYPE wh_dns_queries_total counter\n"
	"wh_dns_queries_total{interface=\"wh0\",transport=\"udp\"} 30\n"
	"wh_dns_queries_total{interface=\"wh0\",transport=\"tcp\"} 2\n"
	"# HELP wh_dns_answers_total Answers of the name service, by rcode.\n"
	"# TYPE wh_dns_answers_total counter\n"
	"wh_dns_answers_total{interface=\"wh0\",rcode=\"noerror\"} 28\n"
	"# HELP wh_dns_dropped_total Queries the name service dropped, by reason.\n"
	"# TYPE wh_dns_dropped_total counter\n"
	"wh_dns_dropped_total{interface=\"wh0\",reason=\"outside\"} 4\n";

static char *text_of(const struct metrics_snapshot *s)
{
	struct strbuf b = { 0 };
	size_t len;
	char *t;

	metrics_format(&b, s);
	t = strbuf_take(&b, &len);
	if (!t)
		abort();
	return t;
}

static void test_whole_text(void)
{
	struct metrics_peer peers[2] = {
		{ .key = "KEYA", .hostname = "a", .rx_bytes = 1000, .tx_bytes = 2000, .rx_packets = 10,
		  .tx_packets = 20, .last_handshake_sec = 1796000000, .path = "relayed",
		  .rtt_us = 12345 },
		{ .key = "KEYB", .hostname = "", .tx_bytes = 148, .tx_packets = 1, .path = "none" },
	};
	static struct metrics_snapshot s;
	char *t;

	s.ifname = "wh0";
	s.network = "lab";
	snprintf(s.public_key, sizeof(s.public_key), "KEYSELF");
	s.member = true;
	s.peers = peers;
	s.n_peers = 2;
	s.dht_nodes = 7;
	s.lookups_started = 5;
	s.lookups_found = 3;
	s.lookups_failed = 1;
	metrics_counts_add(&s.relay_refused, "off", NULL, 4);
	metrics_counts_add(&s.relay_refused, "rate", NULL, 0);
	metrics_counts_add(&s.drops, "wireguard", "bad_length", 2);
	metrics_counts_add(&s.drops, "secure", "not overlay", 9);
	s.portmap_enabled = true;
	s.portmap_proto = "natpmp";
	s.portmap_external_port = 40000;
	s.portmap_lease_left_s = 3599;
	s.udp_data_drops = 11;
	s.udp_control_drops = 12;
	s.udp_known_drops = 13;
	s.dns = true;
	s.dns_queries_udp = 30;
	s.dns_queries_tcp = 2;
	metrics_counts_add(&s.dns_answers, "noerror", NULL, 28);
	metrics_counts_add(&s.dns_dropped, "outside", NULL, 4);
	t = text_of(&s);
	if (!ok(!strcmp(t, expected), "the whole text of a snapshot")) {
		size_t i = 0;

		while (t[i] && t[i] == expected[i])
			++i;
		diag("differs at byte %zu: got '%.60s', want '%.60s'", i, t + i, expected + i);
	}
	free(t);

	/* No port mapping now, and none asked for; no name service; no
	 * peers: their families go, the others stay. */
	s.portmap_proto = NULL;
	s.n_peers = 0;
	s.dns = false;
	t = text_of(&s);
	ok(strstr(t, "wh_port_mapping{interface=\"wh0\",protocol=\"natpmp\",external_port=\"\"} 0\n") &&
	   !strstr(t, "wh_port_mapping_lease_seconds"), "a mapping lost: the gauge is 0, no lease");
	ok(!strstr(t, "wh_peer_") && !strstr(t, "wh_dns_") && strstr(t, "wh_dht_nodes"),
	   "no peers, no name service: those families are absent, the others stay");
	free(t);
	/* A mapping by PCP, the protocol a node tries first (src/node/portmap.c). */
	s.portmap_proto = "pcp";
	s.portmap_external_port = 41000;
	t = text_of(&s);
	ok(strstr(t, "wh_port_mapping{interface=\"wh0\",protocol=\"pcp\",external_port=\"41000\"} 1\n") &&
	   strstr(t, "wh_port_mapping{interface=\"wh0\",protocol=\"natpmp\",external_port=\"\"} 0\n") &&
	   strstr(t, "wh_port_mapping{interface=\"wh0\",protocol=\"upnp\",external_port=\"\"} 0\n"),
	   "a mapping by PCP: its gauge is 1 with the external port, the others 0");
	free(t);
	s.portmap_enabled = false;
	t = text_of(&s);
	ok(!strstr(t, "wh_port_mapping"), "no port mapping asked for: no family");
	free(t);
}

static void test_escapes(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "plain.host-1", "plain.host-1" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "new\nline", "new\\nline" },
		{ "\x01\x7f", "??" },
		{ "\xc3\xa9t\xc3\xa9", "??t??" },
		{ "", "" },
	};
	struct metrics_peer p = { .key = "K", .path = "direct" };
	struct metrics_snapshot s = { .ifname = "i\"f", .network = "n\\", .peers = &p, .n_peers = 1 };
	size_t i, len;
	char *t;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		struct strbuf b = { 0 };

		metrics_label_value(&b, v[i].in);
		t = strbuf_take(&b, &len);
		ok(t && !strcmp(t, v[i].out), "escape %zu: '%s'", i, v[i].out);
		free(t);
	}
	snprintf(p.hostname, sizeof(p.hostname), "x\"}\ny 1\n# TYPE");
	t = text_of(&s);
	ok(strstr(t, "wh_peer_sent_bytes_total{interface=\"i\\\"f\",public_key=\"K\","
		     "hostname=\"x\\\"}\\ny 1\\n# TYPE\"} 0\n") != NULL &&
	   strstr(t, "network=\"n\\\\\""), "a hostname cannot break out of its label");
	free(t);
}

/* The format's rules on the text: every line a HELP, a TYPE or a sample;
 * a family's HELP and TYPE once, before its samples, which come
 * together; counters end in _total; a label value is closed. */
static bool well_formed(const char *t, char *why, size_t whylen)
{
	char seen[64][64], current[64] = "", type[16] = "";
	size_t n_seen = 0, i;
	const char *line = t;

	while (*line) {
		const char *end = strchr(line, '\n');
		char name[64];
		size_t nl;

		if (!end) {
			snprintf(why, whylen, "no newline at the end");
			return false;
		}
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%63[a-z_]", name);
			for (i = 0; i < n_seen; ++i)
				if (!strcmp(seen[i], name)) {
					snprintf(why, whylen, "%s twice", name);
					return false;
				}
			if (n_seen < 64)
				snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
			snprintf(current, sizeof(current), "%s", name);
			type[0] = '\0';
		} else if (!strncmp(line, "# TYPE ", 7)) {
			if (sscanf(line + 7, "%63[a-z_] %15[a-z]", name, type) != 2 ||
			    strcmp(name, current)) {
				snprintf(why, whylen, "TYPE of %s without its HELP", name);
				return false;
			}
			nl = strlen(name);
			if (!strcmp(type, "counter") && (nl < 6 || strcmp(name + nl - 6, "_total"))) {
				snprintf(why, whylen, "counter %s without _total", name);
				return false;
			}
		} else {
			const char *p = line;
			bool quoted = false;

			sscanf(line, "%63[a-z_]", name);
			if (strcmp(name, current) || !type[0]) {
				snprintf(why, whylen, "sample %s outside its family %s", name, current);
				return false;
			}
			for (p = line + strlen(name); p < end && (quoted || *p != ' '); ++p) {
				if (quoted && *p == '\\')
					++p;
				else if (*p == '"')
					quoted = !quoted;
			}
			if (quoted || p >= end || p[-1] != '}') {
				snprintf(why, whylen, "labels not closed: %.*s", (int)(end - line), line);
				return false;
			}
		}
		line = end + 1;
	}
	return true;
}

static void random_word(char *out, size_t cap)
{
	size_t n = randombytes_uniform((uint32_t)cap), i;

	randombytes_buf(out, n);
	for (i = 0; i < n; ++i)
		if (!out[i])
			out[i] = '"';
	out[n] = '\0';
}

static void test_random_snapshots(void)
{
	static struct metrics_peer peers[8];
	static struct metrics_snapshot s;
	static const char *const kinds[] = { "direct", "relayed", "none", NULL };
	static const char *const protos[] = { "pcp", "natpmp", "upnp", NULL };
	char ifname[16], why[160] = "";
	unsigned round, bad = 0;
	size_t i;

	for (round = 0; round < 300; ++round) {
		memset(&s, 0, sizeof(s));
		random_word(ifname, sizeof(ifname));
		s.ifname = ifname;
		s.network = ifname;
		s.n_peers = randombytes_uniform(9);
		for (i = 0; i < s.n_peers; ++i) {
			random_word(peers[i].key, sizeof(peers[i].key));
			random_word(peers[i].hostname, 40);
			peers[i].path = kinds[randombytes_uniform(4)];
			peers[i].rtt_us = randombytes_uniform(3) ? randombytes_random() : 0;
			peers[i].rx_bytes = (uint64_t)randombytes_random() << 32;
		}
		s.peers = peers;
		s.portmap_enabled = randombytes_uniform(2);
		s.portmap_proto = protos[randombytes_uniform(4)];
		s.dns = randombytes_uniform(2);
		metrics_counts_add(&s.drops, "wireguard", "x", 1);
		metrics_counts_add(&s.dns_answers, "noerror", NULL, 1);
		{
			char *t = text_of(&s);

			if (!well_formed(t, why, sizeof(why)) && !bad++)
				diag("round %u: %s", round, why);
			free(t);
		}
	}
	ok(!bad, "300 random snapshots give well-formed text (%u bad)", bad);
}

#define H(s) s, sizeof(s) - 1

static void test_http(void)
{
	static const struct {
		const char *head;
		size_t len;
		enum metrics_http_status want;
		bool head_only;
	} v[] = {
		{ H("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9586\r\n\r\n"), METRICS_HTTP_OK, false },
		{ H("GET /metrics HTTP/1.0\r\n\r\n"), METRICS_HTTP_OK, false },
		{ H("GET /metrics HTTP/1.1\n\n"), METRICS_HTTP_OK, false },
		{ H("HEAD /metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_OK, true },
		{ H("GET /metrics?name[]=wh_dht_nodes HTTP/1.1\r\nAccept: */*\r\n\r\n"), METRICS_HTTP_OK,
		  false },
		{ H("GET / HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND, false },
		{ H("GET /metricsx HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND, false },
		{ H("GET /metrics/ HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND, false },
		{ H("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), METRICS_HTTP_BAD_METHOD,
		  false },
		{ H("get /metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_BAD_METHOD, false },
		{ H("DELETE / HTTP/1.1\r\n\r\n"), METRICS_HTTP_BAD_METHOD, false },
		{ H("GET /metrics HTTP/2.0\r\n\r\n"), METRICS_HTTP_BAD_VERSION, false },
		{ H("GET /metrics HTTP/1.1 x\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.x\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET  /metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /met\x01rics HTTP/1.1\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.1\r\n: x\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.1\r\nX: a\x00b\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H("\r\n\r\n"), METRICS_HTTP_BAD_REQUEST, false },
		{ H(""), METRICS_HTTP_BAD_REQUEST, false },
		{ H("GET /metrics HTTP/1.1\r\n"), METRICS_HTTP_OK, false },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
		bool head_only = !v[i].head_only;
		enum metrics_http_status st = metrics_http_parse(v[i].head, v[i].len, &head_only);

		ok(st == v[i].want && head_only == v[i].head_only, "http %zu: %d (want %d, %s)", i,
		   st, v[i].want, metrics_http_reason(v[i].want));
	}
	ok(!strcmp(metrics_http_reason(METRICS_HTTP_TOO_LARGE), "Request Header Fields Too Large") &&
	   !strcmp(metrics_http_reason((enum metrics_http_status)999), "?"), "reasons");
}

static void test_reader(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	struct metrics_http_reader *r = tap_malloc(sizeof(*r));
	char *big = tap_malloc(METRICS_HTTP_MAX + 10);
	size_t i, used = 0;
	bool head_only;

	metrics_http_reader_init(r);
	for (i = 0; i < sizeof(req) - 1 && !r->done; ++i)
		used += metrics_http_reader_feed(r, req + i, 1);
	ok(r->done && used == 34 && metrics_http_reader_status(r, &head_only) == METRICS_HTTP_OK,
	   "byte by byte: done at the head's end (%zu bytes), 200", used);
	ok(metrics_http_reader_feed(r, "x", 1) == 1 && r->len == 34, "bytes after the head ignored");

	metrics_http_reader_init(r);
	ok(metrics_http_reader_feed(r, req, sizeof(req) - 1) == 34 && r->done,
	   "at once: only the first request's head is used");

	memset(big, 'a', METRICS_HTTP_MAX + 10);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	metrics_http_reader_init(r);
	metrics_http_reader_feed(r, big, METRICS_HTTP_MAX);
	ok(!r->done, "a head of exactly the limit without its end: waits");
	metrics_http_reader_feed(r, big, 1);
	ok(r->done && r->too_long &&
	   metrics_http_reader_status(r, &head_only) == METRICS_HTTP_TOO_LARGE,
	   "one byte more: 431");
	free(big);
	free(r);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_whole_text();
	test_escapes();
	test_random_snapshots();
	test_http();
	test_reader();
	return tap_done();
}
