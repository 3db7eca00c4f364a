/* A node's metrics in the Prometheus text exposition format, version
 * 0.0.4 (doc/metrics.md lists every family): `wh metrics IFACE` asks the
 * control socket for them, and an optional HTTP listener (`wh up ...
 * metrics ADDR:PORT`, off by default) serves them at GET /metrics.
 *
 * Three parts, so that the text and the HTTP parser are tested without a
 * node or a loop:
 *   metrics.c       the text, from a snapshot (no node, no I/O);
 *   metrics_http.c  the request reader and parser (bytes in, a status
 *                   out; test/fuzz/fuzz_metrics_http.c links it alone);
 *   metrics_node.c  the snapshot of a running node, and the listener on
 *                   the node's loop (src/io/ipc.c: a connection limit and
 *                   an idle timeout).
 * Errors: negative errno. */
#ifndef WH_SRC_NODE_METRICS_H
#define WH_SRC_NODE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node;
struct strbuf;

enum {
	METRICS_KEY_LEN = 43,		/* URL-safe base64 of a key, unpadded */
	METRICS_COUNTS_MAX = 64,	/* reasons of one snapshot's drop families */
	METRICS_HTTP_MAX = 4096,	/* a request's head: line and headers */
	METRICS_HTTP_CONNS = 16,
	METRICS_HTTP_IDLE_MS = 5000,
};

/* One member as the device and the path core see it. */
struct metrics_peer {
	char key[METRICS_KEY_LEN + 1];
	char hostname[254];		/* "": not in the network file */
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	int64_t last_handshake_sec;	/* Unix time; 0: never */
	const char *path;		/* "direct", "relayed" or "none" */
	uint32_t rtt_us;		/* 0: not measured */
};

/* One value of a family labelled by one or two words (label values that
 * are names of ours, never a peer's input). */
struct metrics_count {
	const char *a, *b;
	uint64_t value;
};

struct metrics_counts {
	struct metrics_count c[METRICS_COUNTS_MAX];
	size_t n;
};

struct metrics_snapshot {
	const char *ifname;
	const char *network;
	char public_key[METRICS_KEY_LEN + 1];
	bool member;
	const struct metrics_peer *peers;
	size_t n_peers;
	/* DHT: entries of the table; member lookups started and ended. */
	unsigned dht_nodes;
	uint64_t lookups_started, lookups_found, lookups_failed;
	/* As a relay: forwarded datagrams and bytes; refusals by reason. */
	bool relaying;
	uint64_t relay_forwarded, relay_bytes;
	struct metrics_counts relay_refused;	/* a: reason */
	/* Drops: a: layer (wireguard, overlay, secure), b: reason. */
	struct metrics_counts drops;
	/* The router's port mapping (portmap_enabled: we asked for one). */
	bool portmap_enabled;
	const char *portmap_proto;	/* "upnp", "natpmp"; NULL: none now */
	uint16_t portmap_external_port;
	int64_t portmap_lease_left_s;	/* -1: permanent */
	/* What the kernel dropped from the socket queues. */
	uint64_t udp_data_drops, udp_control_drops, udp_known_drops;
	/* The name service, when it runs. */
	bool dns;
	uint64_t dns_queries_udp, dns_queries_tcp;
	struct metrics_counts dns_answers;	/* a: rcode */
	struct metrics_counts dns_dropped;	/* a: reason */
};

/* Adds a value to one of a snapshot's lists; a full list drops it (the
 * lists are sized for every reason the node counts). */
void metrics_counts_add(struct metrics_counts *l, const char *a, const char *b, uint64_t value);

/* The text of s into b.  Every sample carries the label interface; label
 * values are escaped as the format says (\\, \", \n) and bytes outside
 * printable ASCII become '?', so any hostname gives valid output. */
void metrics_format(struct strbuf *b, const struct metrics_snapshot *s);
/* A label value as the format escapes it (for the tests too). */
void metrics_label_value(struct strbuf *b, const char *v);

/* ---- HTTP (metrics_http.c) ---- */

/* What a request asked, as the status of our answer. */
enum metrics_http_status {
	METRICS_HTTP_OK = 200,		/* GET or HEAD /metrics */
	METRICS_HTTP_BAD_REQUEST = 400,
	METRICS_HTTP_NOT_FOUND = 404,
	METRICS_HTTP_BAD_METHOD = 405,
	METRICS_HTTP_TOO_LARGE = 431,	/* no end of the head in METRICS_HTTP_MAX */
	METRICS_HTTP_BAD_VERSION = 505,
};

/* The head of one request, until its empty line. */
struct metrics_http_reader {
	char head[METRICS_HTTP_MAX];
	size_t len;
	bool done;		/* the empty line came, or the head is too long */
	bool too_long;
};

void metrics_http_reader_init(struct metrics_http_reader *r);
/* Takes len more bytes; true once the head is complete (or too long).
 * Bytes after that are ignored.  Returns how many bytes it used. */
size_t metrics_http_reader_feed(struct metrics_http_reader *r, const char *data, size_t len);
/* The answer's status for a complete head; *head_only for HEAD. */
enum metrics_http_status metrics_http_reader_status(const struct metrics_http_reader *r,
						    bool *head_only);
/* Parses a head of len bytes (any bytes): "METHOD SP TARGET SP
 * HTTP/1.x" CRLF, then header lines "name: value", each ended by CRLF or
 * LF, up to the empty line (which may be missing at the end of len). */
enum metrics_http_status metrics_http_parse(const char *head, size_t len, bool *head_only);
/* "OK", "Not Found", ...; "?" for a value not above. */
const char *metrics_http_reason(enum metrics_http_status s);

/* ---- the node (metrics_node.c) ---- */

/* The text of the node's metrics into b (control.c's metrics verb). */
void metrics_node_text(struct node *n, struct strbuf *b);
/* Starts the listener on the address of the node's options (none: 0). */
int metrics_listen_start(struct node *n, const void *sockaddr);
void metrics_listen_stop(struct node *n);

#endif
