/* The control socket of a node (/var/run/wh/IFNAME.sock): one request
 * line per connection, "VERB [ARGUMENT]" (src/node/control_request.c reads and
 * parses it), answered with text (or JSON) and then the connection is
 * closed.  An answer that starts with "error: " is a failure; the client
 * prints it and exits 1.
 *
 *   show [all] [json]  the members: path, endpoint, RTT, traffic,
 *                      handshake; with all, the DHT table bucket by bucket
 *   inspect            JSON of the whole state (DHT table, counters)
 *   lookup TARGET      a DHT lookup: found or not, address, hops
 *   ping TARGET        an overlay PING (looked up first if needed)
 *   resolve TARGET     the network file's entry: hostname, key, addresses
 *   names              the network file's hostnames, one a line
 *   client-info        "file PATH" (the network file), "dns V4 V6" (our name
 *                      service, while it runs): for wh client-config
 *   metrics            the Prometheus text format (src/node/metrics.h)
 *   reload             re-reads the network file; a bad one is refused
 *   invite [HOSTNAME] [expires SECONDS]
 *                      an invitation string (src/node/invite.c)
 *   join INVITER REAL PROOF
 *                      wh join's node asks the inviter: "network-file N"
 *                      and the file's N bytes
 *   down               stops the node
 *
 * TARGET is a hostname of the network file (compared without case) or a
 * public key.  Every answer is bounded: the DHT table holds at most 256
 * buckets of KAD_K_MAX entries, the file NETCONF_MAX_PEERS lines. */
#include "src/node/node_priv.h"

#include "crypto/encoding.h"
#include "proto/overlay/secure.h"
#include "src/node/control_request.h"
#include "src/node/dns.h"
#include "src/node/metrics.h"
#include "src/node/invite.h"
#include "src/wg/crypt_pool.h"
#include "src/io/ipc.h"
#include "src/node/netconf.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"
#include "src/node/portmap.h"
#include "src/wg/peer.h"
#include "src/wg/uapi_server.h"
#include "src/node/strbuf.h"
#include "src/node/tcppath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	PING_TIMEOUT_MS = 5000,
};

struct ctl_conn {
	struct ipc_conn *c;
	struct node *n;
	struct control_reader reader;
	bool answered;
	/* A request that waits (lookup, ping). */
	uv_timer_t timer;
	bool timer_used;
	bool reloading;			/* a reload's parse is under way */
	uint8_t key[CONTROL_KEY_LEN];
	uint64_t started_ns;
	bool join;			/* the answer is a network file */
};

static void finish(struct ctl_conn *cc, struct strbuf *b)
{
	size_t len;
	char *text = strbuf_take(b, &len);

	cc->answered = true;
	if (text)
		ipc_conn_send(cc->c, text, len, false);
	ipc_conn_close(cc->c);
}

static void fail(struct ctl_conn *cc, const char *msg)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "error: %s\n", msg);
	finish(cc, &b);
}

/* ---- show ---- */

static void addr_text(int family, const uint8_t *a, char *out, size_t len)
{
	inet_ntop(family, a, out, (socklen_t)len);
}

static void show_member(struct node *n, struct strbuf *b, const struct member *m, bool json,
			bool first)
{
	const struct netconf_peer *cp = netconf_find(n->conf, m->key);
	const struct wg_peer *peer = member_peer(n, m);	/* not NULL: the callers check */
	char key[KEY_B64URL_LEN + 1], ep[80] = "", v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
	uint32_t rtt = overlay_rtt_us(n->ov, m->key);
	const struct kad_entry *ke = kad_table_find(overlay_table(n->ov), m->key);
	char relay[KEY_B64URL_LEN + 1], via[96];
	const char *path = paths_describe(n, m, relay, sizeof(relay));
	union wg_sockaddr ra;

	/* A stock client's path is the relay's it came through, once it
	 * has a session; until then it has none to describe. */
	if (m->client && (!node_peer_has_session(peer) || !overlay_stock_relay_of(n->ov, m->key, &ra))) {
		path = "no path yet (stock client)";
	} else if (m->client) {
		char ra_text[64];

		snprintf(via, sizeof(via), "via relay %s, stock client",
			 wg_sockaddr_str(&ra, ra_text, sizeof(ra_text)));
		path = via;
	}

	key_to_base64url(key, m->key);
	if (peer->endpoint.sa.sa_family)
		wg_sockaddr_str(&peer->endpoint, ep, sizeof(ep));
	if (cp && cp->has_ipv4)
		addr_text(AF_INET, cp->ipv4, v4, sizeof(v4));
	if (cp && cp->has_ipv6)
		addr_text(AF_INET6, cp->ipv6, v6, sizeof(v6));
	if (json) {
		strbuf_printf(b, "%s\n    {\"public_key\": ", first ? "" : ",");
		strbuf_json_str(b, key);
		strbuf_printf(b, ", \"hostname\": ");
		strbuf_json_str(b, cp ? cp->hostname : "");
		strbuf_printf(b, ", \"ipv4\": ");
		strbuf_json_str(b, v4);
		strbuf_printf(b, ", \"ipv6\": ");
		strbuf_json_str(b, v6);
		strbuf_printf(b, ", \"trusted\": %s, \"kind\": ", m->client ? "false" : "true");
		strbuf_json_str(b, cp ? netconf_kind_name(cp->kind) : m->client ? "client" : "trust");
		strbuf_printf(b, ", \"path\": \"%s\", \"endpoint\": ", path);
		if (ep[0])
			strbuf_json_str(b, ep);
		else
			strbuf_printf(b, "null");
		strbuf_printf(b, ", \"relay\": ");
		if (relay[0])
			strbuf_json_str(b, relay);
		else
			strbuf_printf(b, "null");
		strbuf_printf(b, ", \"rtt_ms\": ");
		if (rtt)
			strbuf_printf(b, "%.3f", rtt / 1000.0);
		else
			strbuf_printf(b, "null");
		strbuf_printf(b, ", \"rx_bytes\": %llu, \"tx_bytes\": %llu, \"last_handshake\": %lld",
			      (unsigned long long)peer->rx_bytes, (unsigned long long)peer->tx_bytes,
			      (long long)peer->last_handshake_sec);
		if (ke)
			strbuf_printf(b, ", \"bucket\": %u}",
				      kad_table_bucket_index(overlay_table(n->ov), m->key));
		else
			strbuf_printf(b, ", \"bucket\": null}");
		return;
	}
	strbuf_printf(b, "%s %s (%s%s%s)\n  key %s\n  path %s", m->client ? "client" : "peer",
		      cp && cp->hostname[0] ? cp->hostname : "-", v4, v4[0] && v6[0] ? ", " : "", v6,
		      key, path);
	if (relay[0])
		strbuf_printf(b, " via %s", relay);
	if (ep[0])
		strbuf_printf(b, ", endpoint %s", ep);
	if (rtt)
		strbuf_printf(b, ", rtt %.2f ms", rtt / 1000.0);
	strbuf_printf(b, "\n  rx %llu B, tx %llu B", (unsigned long long)peer->rx_bytes,
		      (unsigned long long)peer->tx_bytes);
	if (peer->last_handshake_sec)
		strbuf_printf(b, ", handshake %lld s ago",
			      (long long)(time(NULL) - peer->last_handshake_sec));
	if (ke)
		strbuf_printf(b, ", bucket %u", kad_table_bucket_index(overlay_table(n->ov), m->key));
	strbuf_printf(b, "\n");
}

/* What the mapping verdict rests on, as `wh show` says it: "3
 * observers", or "1 public node, 2 ports" when a public node's second
 * port answered (doc/protocol.md 9.4). */
static void nat_basis(const struct ovl_nat_count *c, char *out, size_t len)
{
	if (c->ports > c->observers && c->observers == 1)
		snprintf(out, len, "1 public node, %u ports", c->ports);
	else if (c->ports > c->observers)
		snprintf(out, len, "%u observers, %u ports", c->observers, c->ports);
	else
		snprintf(out, len, "%u observer%s", c->observers, c->observers == 1 ? "" : "s");
}

static void show_header(struct node *n, struct strbuf *b, bool json)
{
	char key[KEY_B64URL_LEN + 1], v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
	char refl[80] = "", mapped[80] = "", tcp[80] = "";
	union wg_sockaddr ra, ma, ta;
	enum portmap_proto via = PORTMAP_NONE;
	uint32_t left = 0;
	struct ovl_nat_count seen = { 0, 0 };
	enum overlay_nat nat = overlay_nat_mapping(n->ov, &seen);
	char basis[64];
	enum ovl_filtering filt = overlay_nat_filtering(n->ov, NULL);

	key_to_base64url(key, n->public_key);
	if (n->member) {
		addr_text(AF_INET, n->ipv4, v4, sizeof(v4));
		addr_text(AF_INET6, n->ipv6, v6, sizeof(v6));
	}
	if (overlay_reflexive(n->ov, &ra))
		wg_sockaddr_str(&ra, refl, sizeof(refl));
	if (n->portmap && portmap_external(n->portmap, &ma, &via, &left))
		wg_sockaddr_str(&ma, mapped, sizeof(mapped));
	if (tcppath_relay(n, &ta))
		wg_sockaddr_str(&ta, tcp, sizeof(tcp));
	if (json) {
		strbuf_printf(b, "{\n  \"interface\": ");
		strbuf_json_str(b, n->dev.ifname);
		strbuf_printf(b, ",\n  \"network\": ");
		strbuf_json_str(b, n->conf->name);
		strbuf_printf(b, ",\n  \"public_key\": ");
		strbuf_json_str(b, key);
		strbuf_printf(b, ",\n  \"hostname\": ");
		strbuf_json_str(b, n->hostname);
		strbuf_printf(b, ",\n  \"member\": %s,\n  \"ipv4\": ", n->member ? "true" : "false");
		strbuf_json_str(b, v4);
		strbuf_printf(b, ",\n  \"ipv6\": ");
		strbuf_json_str(b, v6);
		strbuf_printf(b, ",\n  \"listen_port\": %u,\n  \"reflexive\": ", n->dev.bound_port);
		if (refl[0])
			strbuf_json_str(b, refl);
		else
			strbuf_printf(b, "null");
		strbuf_printf(b, ",\n  \"dht_nodes\": %u", kad_table_size(overlay_table(n->ov)));
		strbuf_printf(b, ",\n  \"nat_mapping\": \"%s\", \"nat_observers\": %u, "
			      "\"nat_observer_ports\": %u", overlay_nat_name(nat), seen.observers, seen.ports);
		strbuf_printf(b, ",\n  \"nat_filtering\": \"%s\"", ovl_filter_name(filt));
		strbuf_printf(b, ",\n  \"port_mapping\": ");
		if (mapped[0]) {
			strbuf_printf(b, "{\"protocol\": \"%s\", \"external\": ", portmap_proto_name(via));
			strbuf_json_str(b, mapped);
			strbuf_printf(b, ", \"lease_left_s\": %lld}",
				      left == UINT32_MAX ? -1LL : (long long)left);
		} else {
			strbuf_printf(b, "null");
		}
		strbuf_printf(b, ",\n  \"relaying\": %s, \"relay_forwarded\": %llu",
			      overlay_relaying(n->ov) ? "true" : "false",
			      (unsigned long long)overlay_stats(n->ov)->relay_forwarded);
		strbuf_printf(b, ",\n  \"tcp_path\": ");
		if (tcp[0])
			strbuf_json_str(b, tcp);
		else
			strbuf_printf(b, "null");
		strbuf_printf(b, ", \"tcp_connections\": %u", tcppath_conns(n));
		return;
	}
	strbuf_printf(b, "interface %s, network %s, %s\n  key %s, port %u\n",
		      n->dev.ifname, n->conf->name[0] ? n->conf->name : "-",
		      n->member ? "member" : "public node", key, n->dev.bound_port);
	if (n->member)
		strbuf_printf(b, "  overlay %s/%u %s/%u, hostname %s\n", v4, n->prefix4, v6, n->prefix6,
			      n->hostname[0] ? n->hostname : "-");
	nat_basis(&seen, basis, sizeof(basis));
	strbuf_printf(b, "  dht %u nodes%s%s, NAT mapping %s (%s), filtering %s%s\n",
		      kad_table_size(overlay_table(n->ov)), refl[0] ? ", seen as " : "", refl,
		      overlay_nat_name(nat), basis, ovl_filter_name(filt),
		      filt == OVL_FILTER_NOT_PORT ? " (endpoint-independent or address-dependent)" : "");
	if (mapped[0])
		strbuf_printf(b, "  port mapping %s by %s\n", mapped, portmap_proto_name(via));
	if (overlay_relaying(n->ov))
		strbuf_printf(b, "  relay for members: %llu datagrams forwarded\n",
			      (unsigned long long)overlay_stats(n->ov)->relay_forwarded);
	if (tcp[0])
		strbuf_printf(b, "  UDP unanswered: every path over TCP to %s\n", tcp);
	if (tcppath_conns(n))
		strbuf_printf(b, "  TCP relay path: %u members connected\n", tcppath_conns(n));
}

struct walk_ctx {
	struct node *n;
	struct strbuf *b;
	bool first, json;
	uint64_t now;
};

/* One entry of the DHT table, for `wh inspect` and `wh show all`: its
 * key, where it is, its bucket (the bits its key shares with ours, as the
 * table keeps them: the last bucket holds every deeper key), round trip,
 * when last heard, and what it is: public or behind a NAT, a relay, one
 * of our boot nodes, heard from or only named by others. */
static void dht_entry(void *ctx, unsigned bucket, const struct kad_entry *e)
{
	struct walk_ctx *w = ctx;
	const struct netconf_peer *cp = netconf_find(w->n->conf, e->key);
	const char *host = cp && cp->hostname[0] ? cp->hostname : "";
	bool boot = kad_table_is_bootstrap(overlay_table(w->n->ov), e->key, &e->addr);
	char key[KEY_B64URL_LEN + 1], addr[80];
	unsigned long long seen = (w->now - e->last_seen_ns) / 1000000000ULL;
	union wg_sockaddr a;

	key_to_base64url(key, e->key);
	if (!overlay_addr_to_wg(&e->addr, &a))
		snprintf(addr, sizeof(addr), "?");
	else
		wg_sockaddr_str(&a, addr, sizeof(addr));
	if (!w->json) {
		strbuf_printf(w->b, "  bucket %u  %s  %s  ", bucket, key, addr);
		if (e->srtt_us)
			strbuf_printf(w->b, "rtt %.2f ms, ", e->srtt_us / 1000.0);
		strbuf_printf(w->b, "seen %llu s ago, %s%s%s%s", seen,
			      (e->flags & KAD_F_NATED) ? "NAT" : "public",
			      (e->flags & KAD_F_RELAY) ? ", relay" : "", boot ? ", boot" : "",
			      (e->flags & KAD_F_HEARD) ? "" : ", learned");
		if (host[0])
			strbuf_printf(w->b, " (%s)", host);
		strbuf_printf(w->b, "\n");
		return;
	}
	strbuf_printf(w->b, "%s\n      {\"key\": \"%s\", \"address\": \"%s\", \"bucket\": %u, "
		      "\"srtt_us\": %u, \"fails\": %u, \"heard\": %s, \"nated\": %s, "
		      "\"relay\": %s, \"boot\": %s, \"seen_s_ago\": %llu, \"hostname\": ",
		      w->first ? "" : ",", key, addr, bucket, e->srtt_us, e->fails,
		      (e->flags & KAD_F_HEARD) ? "true" : "false",
		      (e->flags & KAD_F_NATED) ? "true" : "false",
		      (e->flags & KAD_F_RELAY) ? "true" : "false", boot ? "true" : "false", seen);
	if (host[0])
		strbuf_json_str(w->b, host);
	else
		strbuf_printf(w->b, "null");
	strbuf_printf(w->b, "}");
	w->first = false;
}

/* The whole table through dht_entry; returns whether it had an entry. */
static bool dht_walk(struct node *n, struct strbuf *b, bool json)
{
	struct walk_ctx w = { .n = n, .b = b, .first = true, .json = json, .now = wg_now(&n->dev) };

	kad_table_walk(overlay_table(n->ov), dht_entry, &w);
	return !w.first;
}

static void do_show(struct ctl_conn *cc, bool json, bool all)
{
	struct node *n = cc->n;
	struct strbuf b = { 0 };
	size_t i, shown = 0;

	show_header(n, &b, json);
	/* all: the DHT table, bucket by bucket (kad_table_walk's order). */
	if (all && json) {
		strbuf_printf(&b, ",\n  \"dht\": [");
		strbuf_printf(&b, "%s]", dht_walk(n, &b, true) ? "\n  " : "");
	} else if (all) {
		strbuf_printf(&b, "dht table (bucket = the bits a key shares with ours):\n");
		if (!dht_walk(n, &b, false))
			strbuf_printf(&b, "  (empty)\n");
	}
	if (json)
		strbuf_printf(&b, ",\n  \"peers\": [");
	for (i = 0; i < n->n_members; ++i) {
		if (!member_peer(n, n->members[i]))
			continue;	/* not in the device: nothing to show */
		if (!json)
			strbuf_printf(&b, "\n");
		show_member(n, &b, n->members[i], json, shown++ == 0);
	}
	if (json)
		strbuf_printf(&b, "%s]\n}\n", shown ? "\n  " : "");
	finish(cc, &b);
}

/* ---- inspect ---- */

/* The control and UAPI sockets' connections (idle timeouts, the limit
 * per listener, accept errors when descriptors run out). */
static void inspect_ipc(struct node *n, struct strbuf *b)
{
	struct ipc_stats st[2];
	unsigned i;

	ipc_server_stats(n->ctl, &st[0]);
	uapi_server_stats(&n->dev, &st[1]);
	strbuf_printf(b, ",\n  \"sockets\": {");
	for (i = 0; i < 2; ++i)
		strbuf_printf(b, "%s\"%s\": {\"connections\": %u, \"closed_idle\": %llu, "
			      "\"closed_over_limit\": %llu, \"accept_errors\": %llu, "
			      "\"queued_max\": %zu}", i ? ", " : "", i ? "uapi" : "control",
			      st[i].conns, (unsigned long long)st[i].closed_idle,
			      (unsigned long long)st[i].closed_over_limit,
			      (unsigned long long)st[i].accept_errors, st[i].queued_max);
	strbuf_printf(b, "}");
}

/* Port mapping's counters: attempts, and PCP datagrams that were no
 * answer of ours (forged or stale). */
static void inspect_portmap(struct node *n, struct strbuf *b)
{
	struct portmap_status st;

	if (!n->portmap)
		return;
	portmap_status(n->portmap, &st);
	strbuf_printf(b, ",\n  \"portmap\": {\"attempts\": %u, \"failures\": %u, \"renewals\": %u, "
		      "\"pcp_ignored\": %u, \"last_error\": ", st.attempts, st.failures, st.renewals,
		      st.pcp_ignored);
	strbuf_json_str(b, st.last_error);
	strbuf_printf(b, "}");
}

/* The TCP relay path's counters (doc/protocol.md 9.6), when it runs. */
static void inspect_tcppath(struct node *n, struct strbuf *b)
{
	const struct tcppath_stats *st = tcppath_stats(n);

	if (!st)
		return;
	strbuf_printf(b, ",\n  \"tcp_path\": {\"accepted\": %llu, \"refused\": %llu, "
		      "\"closed_unauth\": %llu, \"closed_idle\": %llu, \"bad_frames\": %llu, "
		      "\"rx_frames\": %llu, \"tx_frames\": %llu, \"write_drops\": %llu, "
		      "\"dropped\": %llu, \"connects\": %llu, \"fallbacks\": %llu}",
		      (unsigned long long)st->accepted, (unsigned long long)st->refused,
		      (unsigned long long)st->closed_unauth, (unsigned long long)st->closed_idle,
		      (unsigned long long)st->bad_frames, (unsigned long long)st->rx_frames,
		      (unsigned long long)st->tx_frames, (unsigned long long)st->write_drops,
		      (unsigned long long)st->dropped, (unsigned long long)st->connects,
		      (unsigned long long)st->fallbacks);
}

static void do_inspect(struct ctl_conn *cc)
{
	struct node *n = cc->n;
	const struct ovl_engine_stats *os = overlay_stats(n->ov);
	const struct ovl_secure_stats *cs = ovl_secure_stats(overlay_secure(n->ov));
	const struct wg_drop_counters *d = &n->dev.drops;
	struct crypt_pool_stats cps;
	struct wg_socket_stats ss;
	uint64_t ev_quota, ev_fair;
	struct strbuf b = { 0 };
	size_t i, shown = 0;
	int r;

	show_header(n, &b, true);
	strbuf_printf(&b, ",\n  \"nat_probes\": {\"answered\": %llu, \"dropped\": %llu, "
		      "\"unexpected\": %llu, \"observations_untrusted\": %llu}",
		      (unsigned long long)os->probes_answered, (unsigned long long)os->probes_dropped,
		      (unsigned long long)os->probes_unexpected,
		      (unsigned long long)os->observations_untrusted);
	strbuf_printf(&b, ",\n  \"map_probes\": {\"answered\": %llu, \"dropped\": %llu, "
		      "\"sent\": %llu, \"unexpected\": %llu}",
		      (unsigned long long)os->map_answered, (unsigned long long)os->map_dropped,
		      (unsigned long long)os->map_sent, (unsigned long long)os->map_unexpected);
	inspect_ipc(n, &b);
	inspect_portmap(n, &b);
	inspect_tcppath(n, &b);
	node_dns_inspect(n, &b);
	strbuf_printf(&b, ",\n  \"namespace\": ");
	strbuf_json_str(&b, n->conf->ns);
	strbuf_printf(&b, ",\n  \"workbit\": %u,\n  \"overlay\": {\"rx\": %llu, \"tx\": %llu, "
		      "\"dropped_secure\": %llu, \"dropped_decode\": %llu, \"unhandled\": %llu, "
		      "\"pings_answered\": %llu, \"pings_coalesced\": %llu, "
		      "\"finds_answered\": %llu, \"send_errors\": %llu, "
		      "\"punches_answered\": %llu, \"relay_tx\": %llu, \"relayed_rx\": %llu, "
		      "\"relayed_dropped\": %llu, \"dropped_unsolicited\": %llu, "
		      "\"dropped_named\": %llu, \"dropped_short\": %llu},\n"
		      "  \"relay\": {\"forwarded\": %llu, \"bytes\": %llu, \"dropped_off\": %llu, "
		      "\"dropped_rate\": %llu, \"dropped_no_path\": %llu, \"dropped_bad\": %llu},\n"
		      "  \"secure\": {\"sealed\": %llu, \"dh\": %llu, \"evictions\": %llu, "
		      "\"cookie_replies\": %llu, \"cookie_shed\": %llu, \"mac2_valid\": %llu, "
		      "\"mac2_sealed\": %llu, \"open\": {",
		      n->conf->workbit, (unsigned long long)os->rx, (unsigned long long)os->tx,
		      (unsigned long long)os->dropped_secure, (unsigned long long)os->dropped_decode,
		      (unsigned long long)os->unhandled, (unsigned long long)os->pings_answered,
		      (unsigned long long)os->pings_coalesced, (unsigned long long)os->finds_answered,
		      (unsigned long long)os->send_errors,
		      (unsigned long long)os->punches_answered, (unsigned long long)os->relay_tx,
		      (unsigned long long)os->relayed_rx, (unsigned long long)os->relayed_dropped,
		      (unsigned long long)os->dropped_unsolicited, (unsigned long long)os->dropped_named,
		      (unsigned long long)os->dropped_short,
		      (unsigned long long)os->relay_forwarded, (unsigned long long)os->relay_bytes,
		      (unsigned long long)os->relay_dropped_off, (unsigned long long)os->relay_dropped_rate,
		      (unsigned long long)os->relay_dropped_no_path,
		      (unsigned long long)os->relay_dropped_bad,
		      (unsigned long long)cs->sealed, (unsigned long long)cs->dh,
		      (unsigned long long)cs->evictions, (unsigned long long)cs->cookie_replies,
		      (unsigned long long)cs->cookie_shed, (unsigned long long)cs->mac2_valid,
		      (unsigned long long)cs->mac2_sealed);
	for (r = 0; r < OVL_DROP_MAX; ++r)
		strbuf_printf(&b, "%s\"%s\": %llu", r ? ", " : "", ovl_drop_name((enum ovl_drop)r),
			      (unsigned long long)cs->open_results[r]);
	/* Relay channels (doc/protocol.md 9.1): as a relay, then as an end. */
	strbuf_printf(&b, "}},\n  \"relay_channels\": {\"live\": %zu, \"binds_answered\": %llu, "
		      "\"forwarded\": %llu, \"dropped\": %llu, \"granted\": %llu, \"refused\": %llu, "
		      "\"tx\": %llu, \"rx\": %llu, \"bad\": %llu, \"not_a_relay\": %llu, "
		      "\"denied\": %llu, \"relay_dropped_peer\": %llu, \"peers_taken\": %llu, "
		      "\"peers_dropped\": %llu, \"peers_sent\": %llu",
		      overlay_channels_live(n->ov), (unsigned long long)os->channel_binds,
		      (unsigned long long)os->channel_forwarded, (unsigned long long)os->channel_dropped,
		      (unsigned long long)os->channels_granted, (unsigned long long)os->channels_refused,
		      (unsigned long long)n->dev.ext_tx, (unsigned long long)n->dev.ext_rx,
		      (unsigned long long)n->dev.drops.ext_bad,
		      (unsigned long long)n->dev.drops.ext_refused,
		      (unsigned long long)os->channel_denied,
		      (unsigned long long)os->relay_dropped_peer, (unsigned long long)os->peers_taken,
		      (unsigned long long)os->peers_dropped, (unsigned long long)os->peers_sent);
	overlay_channel_evictions(n->ov, &ev_quota, &ev_fair);
	strbuf_printf(&b, ", \"quota_evictions\": %llu, \"fair_evictions\": %llu",
		      (unsigned long long)ev_quota, (unsigned long long)ev_fair);
	/* Stock WireGuard clients (doc/protocol.md 9.5). */
	strbuf_printf(&b, "},\n  ");
	overlay_stock_json(n->ov, &b);
	crypt_pool_stats(n->dev.crypt, &cps);
	strbuf_printf(&b, ",\n  \"crypto_pool\": {\"workers\": %u, \"batches_parallel\": %llu, "
		      "\"batches_inline\": %llu, \"items\": %llu, \"items_by_workers\": %llu",
		      cps.workers, (unsigned long long)cps.batches_parallel,
		      (unsigned long long)cps.batches_inline, (unsigned long long)cps.items_total,
		      (unsigned long long)cps.items_by_workers);
	strbuf_printf(&b, "},\n  \"wireguard_drops\": {\"unknown_type\": %llu, \"bad_length\": %llu, "
		      "\"handshake_invalid\": %llu, \"handshake_ratelimited\": %llu, "
		      "\"handshake_cookie_sent\": %llu, \"handshake_shed\": %llu, "
		      "\"handshake_queue_full\": %llu, "
		      "\"cookie_invalid\": %llu, \"data_unknown_index\": %llu, \"data_invalid\": %llu, "
		      "\"data_source_mismatch\": %llu, \"data_bad_inner\": %llu, \"tun_no_route\": %llu, "
		      "\"pool_exhausted\": %llu, \"send_errors\": %llu}",
		      (unsigned long long)d->unknown_type, (unsigned long long)d->bad_length,
		      (unsigned long long)d->handshake_invalid, (unsigned long long)d->handshake_ratelimited,
		      (unsigned long long)d->handshake_cookie_sent,
		      (unsigned long long)d->handshake_shed,
		      (unsigned long long)d->handshake_queue_full, (unsigned long long)d->cookie_invalid,
		      (unsigned long long)d->data_unknown_index, (unsigned long long)d->data_invalid,
		      (unsigned long long)d->data_source_mismatch, (unsigned long long)d->data_bad_inner,
		      (unsigned long long)d->tun_no_route, (unsigned long long)d->pool_exhausted,
		      (unsigned long long)d->send_errors);
	/* What the kernel dropped for want of room in the socket queues
	 * (src/wg/socket.c: data, strangers' control and known sources'
	 * control steered apart), and the strangers' read budget. */
	device_socket_stats(&n->dev, &ss);
	strbuf_printf(&b, ",\n  \"udp_queues\": {\"steered\": %s, \"data_dropped\": %llu, "
		      "\"control_dropped\": %llu, \"known_dropped\": %llu, "
		      "\"known_sources\": %u, \"control_read_rate\": %llu, "
		      "\"control_read\": %llu, \"control_pauses\": %llu}",
		      ss.steered4 || ss.steered6 ? "true" : "false",
		      (unsigned long long)(ss.data4_queue_drops + ss.data6_queue_drops),
		      (unsigned long long)(ss.ctl4_queue_drops + ss.ctl6_queue_drops),
		      (unsigned long long)(ss.known4_queue_drops + ss.known6_queue_drops),
		      ss.known4 + ss.known6, (unsigned long long)ss.control_read_rate,
		      (unsigned long long)ss.control_reads, (unsigned long long)ss.control_pauses);
	strbuf_printf(&b, ",\n  \"dht\": {\"entries\": [");
	strbuf_printf(&b, "%s]},\n  \"peers\": [", dht_walk(n, &b, true) ? "\n    " : "");
	for (i = 0; i < n->n_members; ++i)
		if (member_peer(n, n->members[i]))
			show_member(n, &b, n->members[i], true, shown++ == 0);
	strbuf_printf(&b, "%s]\n}\n", shown ? "\n  " : "");
	finish(cc, &b);
}

/* ---- lookup, ping ---- */

static void on_wait_timeout(uv_timer_t *t);

static void start_wait(struct ctl_conn *cc, uint64_t ms)
{
	uv_timer_init(&cc->n->loop, &cc->timer);
	cc->timer.data = cc;
	cc->timer_used = true;
	uv_timer_start(&cc->timer, on_wait_timeout, ms, 0);
}

static void on_lookup_done(void *arg, const struct kad_lookup_result *r)
{
	struct ctl_conn *cc = arg;
	struct strbuf b = { 0 };
	char key[KEY_B64URL_LEN + 1], addr[80] = "";
	union wg_sockaddr a;

	key_to_base64url(key, r->target);
	if (r->seen && overlay_addr_to_wg(&r->target_contact.addr, &a))
		wg_sockaddr_str(&a, addr, sizeof(addr));
	strbuf_printf(&b, "{\"key\": \"%s\", \"found\": %s, \"address\": ", key,
		      r->found ? "true" : "false");
	if (addr[0])
		strbuf_json_str(&b, addr);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ", \"hops\": %u, \"rounds\": %u, \"queries\": %u, \"replies\": %u, "
		      "\"timeouts\": %u, \"elapsed_ms\": %.1f}\n", r->seen ? r->hops : 0, r->rounds,
		      r->sent, r->replies, r->timeouts, (double)r->elapsed_ns / 1e6);
	if (cc->timer_used)
		uv_timer_stop(&cc->timer);
	finish(cc, &b);
}

static void on_pong(void *arg, const uint8_t key[32], uint32_t rtt_us)
{
	struct ctl_conn *cc = arg;
	struct strbuf b = { 0 };
	char k[KEY_B64URL_LEN + 1];

	key_to_base64url(k, key);
	strbuf_printf(&b, "pong from %s: rtt %.3f ms\n", k, rtt_us / 1000.0);
	uv_timer_stop(&cc->timer);
	finish(cc, &b);
}

/* ping: an address from the table, a member's endpoint, or a lookup. */
static bool ping_known(struct ctl_conn *cc)
{
	const struct kad_entry *e = kad_table_find(overlay_table(cc->n->ov), cc->key);
	struct member *m = node_member(cc->n, cc->key);
	const struct wg_peer *p = m ? member_peer(cc->n, m) : NULL;
	union wg_sockaddr a;

	if (e && overlay_addr_to_wg(&e->addr, &a))
		return overlay_ping(cc->n->ov, cc->key, &a, on_pong, cc) == 0;
	if (p && p->endpoint.sa.sa_family)
		return overlay_ping(cc->n->ov, cc->key, &p->endpoint, on_pong, cc) == 0;
	return false;
}

static void on_ping_lookup_done(void *arg, const struct kad_lookup_result *r)
{
	struct ctl_conn *cc = arg;
	union wg_sockaddr a;

	if (!r->seen || !overlay_addr_to_wg(&r->target_contact.addr, &a) ||
	    overlay_ping(cc->n->ov, cc->key, &a, on_pong, cc) < 0) {
		uv_timer_stop(&cc->timer);
		fail(cc, "the key was not found in the DHT");
	}
}

static void on_wait_timeout(uv_timer_t *t)
{
	struct ctl_conn *cc = t->data;

	overlay_cancel(cc->n->ov, cc);
	node_invite_cancel(cc->n, cc);
	fail(cc, "no answer within 5 s");
}

/* ---- invite, join (src/node/invite.c) ---- */

static void on_invite_done(void *arg, bool ok, const char *text, size_t len)
{
	struct ctl_conn *cc = arg;
	struct strbuf b = { 0 };

	uv_timer_stop(&cc->timer);
	if (!ok) {
		fail(cc, text);
		return;
	}
	if (cc->join)
		strbuf_printf(&b, "network-file %zu\n", len);
	strbuf_printf(&b, "%.*s", (int)len, text);
	finish(cc, &b);
}

/* ---- names ---- */

/* What TARGET names: a hostname of the network file first (compared
 * without case: DNS names are), else a key.  *cp is the file's entry
 * (NULL for a key the file does not hold).  false, with the answer's text
 * in err, when it names nothing. */
static bool find_target(struct node *n, const struct control_request *req, uint8_t key[32],
			const struct netconf_peer **cp, char *err, size_t errlen)
{
	char lower[sizeof(req->target)];
	size_t i;

	for (i = 0; req->target[i]; ++i)
		lower[i] = (req->target[i] >= 'A' && req->target[i] <= 'Z') ?
			   (char)(req->target[i] - 'A' + 'a') : req->target[i];
	lower[i] = '\0';
	*cp = netconf_find_hostname(n->conf, lower);
	if (*cp) {
		memcpy(key, (*cp)->key, 32);
		return true;
	}
	if (req->has_key) {
		memcpy(key, req->key, 32);
		*cp = netconf_find(n->conf, key);
		return true;
	}
	/* The word is printable ASCII without spaces (the parser's rule),
	 * at most CONTROL_LINE_MAX bytes: safe to quote back. */
	snprintf(err, errlen, "unknown host '%s': not a hostname of network '%s' nor a public key",
		 req->target, n->conf->name[0] ? n->conf->name : "-");
	return false;
}

/* resolve: the file's entry for a hostname or a key, as JSON. */
static void do_resolve(struct ctl_conn *cc, const struct control_request *req)
{
	struct node *n = cc->n;
	const struct netconf_peer *cp;
	struct strbuf b = { 0 };
	char err[CONTROL_LINE_MAX + NETCONF_MAX_LABEL + 128], key[KEY_B64URL_LEN + 1];
	char v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
	uint8_t k[32];

	if (!find_target(n, req, k, &cp, err, sizeof(err))) {
		fail(cc, err);
		return;
	}
	key_to_base64url(key, k);
	if (!cp) {
		snprintf(err, sizeof(err), "the key %s is in no line of network '%s'", key,
			 n->conf->name[0] ? n->conf->name : "-");
		fail(cc, err);
		return;
	}
	if (cp->has_ipv4)
		addr_text(AF_INET, cp->ipv4, v4, sizeof(v4));
	if (cp->has_ipv6)
		addr_text(AF_INET6, cp->ipv6, v6, sizeof(v6));
	strbuf_printf(&b, "{\"hostname\": ");
	if (cp->hostname[0])
		strbuf_json_str(&b, cp->hostname);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ", \"public_key\": \"%s\", \"kind\": \"%s\", \"self\": %s, \"ipv4\": ",
		      key, netconf_kind_name(cp->kind),
		      ct_equal(k, n->public_key, 32) ? "true" : "false");
	if (v4[0])
		strbuf_json_str(&b, v4);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ", \"ipv6\": ");
	if (v6[0])
		strbuf_json_str(&b, v6);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ", \"endpoint\": ");
	if (cp->endpoint.type != NETCONF_ENDPOINT_NONE)
		strbuf_printf(&b, cp->endpoint.type == NETCONF_ENDPOINT_IPV6 ? "\"[%s]:%u\"" :
			      "\"%s:%u\"", cp->endpoint.host, cp->endpoint.port);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ", \"line\": %u}\n", cp->line);
	finish(cc, &b);
}

/* names: every hostname of the file, one a line (shell completion). */
static void do_names(struct ctl_conn *cc)
{
	const struct netconf *conf = cc->n->conf;
	struct strbuf b = { 0 };
	size_t i;

	for (i = 0; i < conf->n_peers; ++i)
		if (conf->peers[i].hostname[0])
			strbuf_printf(&b, "%s\n", conf->peers[i].hostname);
	/* An empty answer would read as a node that closed without one. */
	if (!b.len)
		strbuf_printf(&b, "\n");
	finish(cc, &b);
}

/* client-info: what `wh client-config` (src/cli/cmd_clientcfg.c) needs
 * to write a stock client's file: the network file's path (it reads the
 * file itself, as it is on disk), and our name service's addresses while
 * it runs. */
static void do_client_info(struct ctl_conn *cc)
{
	struct node *n = cc->n;
	struct strbuf b = { 0 };
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];

	if (n->conf_once) {
		fail(cc, "this node read its network file once from a pipe: give the file to wh "
		     "client-config instead of the interface");
		return;
	}
	strbuf_printf(&b, "file %s\n", n->conf_path);
	if (n->dns && n->member) {
		addr_text(AF_INET, n->ipv4, v4, sizeof(v4));
		addr_text(AF_INET6, n->ipv6, v6, sizeof(v6));
		strbuf_printf(&b, "dns %s %s\n", v4, v6);
	}
	finish(cc, &b);
}

/* ---- dispatch ---- */

static void on_reloaded(void *arg, int ret, const char *err)
{
	struct ctl_conn *cc = arg;
	struct strbuf b = { 0 };

	cc->reloading = false;
	if (ret < 0) {
		fail(cc, err);
		return;
	}
	strbuf_printf(&b, "reloaded: %zu members\n", cc->n->n_members);
	finish(cc, &b);
}

static void handle(struct ctl_conn *cc)
{
	struct node *n = cc->n;
	struct control_request req;
	enum control_error e = control_reader_request(&cc->reader, &req);
	const struct netconf_peer *cp;
	/* The reload's error names the file. */
	char err[CONTROL_LINE_MAX + PATH_MAX + 128];

	if (e != CONTROL_OK) {
		fail(cc, control_error_text(e));
		return;
	}
	if ((req.verb == CONTROL_LOOKUP || req.verb == CONTROL_PING) &&
	    !find_target(n, &req, cc->key, &cp, err, sizeof(err))) {
		fail(cc, err);
		return;
	}
	if (n->stopping) {
		fail(cc, "the node is stopping");
	} else if (req.verb == CONTROL_SHOW) {
		do_show(cc, req.json, req.all);
	} else if (req.verb == CONTROL_INSPECT) {
		do_inspect(cc);
	} else if (req.verb == CONTROL_RESOLVE) {
		do_resolve(cc, &req);
	} else if (req.verb == CONTROL_NAMES) {
		do_names(cc);
	} else if (req.verb == CONTROL_CLIENT_INFO) {
		do_client_info(cc);
	} else if (req.verb == CONTROL_METRICS) {
		struct strbuf b = { 0 };

		metrics_node_text(n, &b);
		finish(cc, &b);
	} else if (req.verb == CONTROL_LOOKUP) {
		start_wait(cc, 35000);
		if (overlay_lookup(n->ov, cc->key, on_lookup_done, cc) < 0) {
			uv_timer_stop(&cc->timer);
			fail(cc, "too many lookups under way; try again");
		}
	} else if (req.verb == CONTROL_PING) {
		start_wait(cc, PING_TIMEOUT_MS);
		if (!ping_known(cc) && overlay_lookup(n->ov, cc->key, on_ping_lookup_done, cc) < 0) {
			uv_timer_stop(&cc->timer);
			fail(cc, "too many lookups under way; try again");
		}
	} else if (req.verb == CONTROL_INVITE || req.verb == CONTROL_JOIN) {
		cc->join = req.verb == CONTROL_JOIN;
		start_wait(cc, NODE_JOIN_TIMEOUT_MS + 60000);
		if ((cc->join ? node_invite_join(n, req.key, req.real, req.proof, on_invite_done, cc,
						 err, sizeof(err)) :
				node_invite_create(n, req.target, req.expires_s, on_invite_done, cc,
						   err, sizeof(err))) < 0) {
			uv_timer_stop(&cc->timer);
			fail(cc, err);
		}
	} else if (req.verb == CONTROL_RELOAD) {
		cc->reloading = node_reload_start(n, on_reloaded, cc, err, sizeof(err)) == 0;
		if (!cc->reloading)
			fail(cc, err);
	} else if (req.verb == CONTROL_DOWN) {
		struct strbuf b = { 0 };

		strbuf_printf(&b, "%s is going down\n", n->dev.ifname);
		finish(cc, &b);
		/* After this answer has been written. */
		node_shutdown_soon(n, "wh down");
	}
}

static int on_open(struct ipc_conn *c)
{
	struct ctl_conn *cc = calloc(1, sizeof(*cc));

	if (!cc)
		return -ENOMEM;
	cc->c = c;
	cc->n = ipc_conn_owner(c);
	control_reader_init(&cc->reader);
	ipc_conn_set_data(c, cc);
	return 0;
}

static size_t on_data(struct ipc_conn *c, const char *data, size_t len)
{
	struct ctl_conn *cc = ipc_conn_data(c);

	/* One request per connection: what follows its line is ignored. */
	if (cc->answered || cc->reader.done)
		return len;
	if (control_reader_feed(&cc->reader, data, len))
		handle(cc);
	return len;
}

/* A request that waits for the overlay (lookup, ping) has its own
 * timeout: the connection is not idle meanwhile. */
static bool busy(struct ipc_conn *c)
{
	struct ctl_conn *cc = ipc_conn_data(c);

	return cc->reader.done && !cc->answered;
}

static void on_accept_error(void *owner, int err)
{
	struct node *n = owner;

	dev_log(&n->dev, LOG_ERR, "control socket: cannot accept a connection: %s", strerror(-err));
}

/* The client half-closes after its request: an answer still on its way
 * (a lookup, a ping, a reload) keeps the connection. */
static bool on_eof(struct ipc_conn *c)
{
	struct ctl_conn *cc = ipc_conn_data(c);

	return !cc->answered && (cc->timer_used || cc->reloading);
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_close(struct ipc_conn *c)
{
	struct ctl_conn *cc = ipc_conn_data(c);

	if (cc->n->ov)
		overlay_cancel(cc->n->ov, cc);
	node_invite_cancel(cc->n, cc);
	node_reload_forget(cc->n, cc);
	if (cc->timer_used) {
		uv_timer_stop(&cc->timer);
		uv_close((uv_handle_t *)&cc->timer, on_timer_closed);
	} else {
		free(cc);
	}
}

static const struct ipc_ops control_ops = {
	.on_open = on_open,
	.on_data = on_data,
	.on_eof = on_eof,
	.on_close = on_close,
	.busy = busy,
	.on_accept_error = on_accept_error,
};

int control_start(struct node *n)
{
	char path[108];
	int ret = node_control_path(path, sizeof(path), n->dev.ifname);

	if (ret < 0)
		return ret;
	return ipc_server_start(&n->ctl, &n->loop, path, &control_ops, n);
}

void control_stop(struct node *n)
{
	if (n->ctl)
		ipc_server_stop(n->ctl);
	n->ctl = NULL;
}
