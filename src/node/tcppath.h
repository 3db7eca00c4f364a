/* The TCP relay path (doc/protocol.md 9.6): datagrams of the shared
 * socket framed on a TCP stream (proto/overlay/streamframe.h), for a
 * member whose network drops UDP.
 *
 *   public node R, `boot KEY ADDR:PORT tcp 443` names its own key:
 *       listens on TCP 443; each connection is a pseudo-address
 *       240.0.S.S:G (S the slot, G its generation) that the overlay and
 *       the relay see as the member's UDP address; what they send there
 *       is written to the stream
 *   member M (a trust line), the file names a boot node with tcp:
 *       no authenticated overlay datagram over UDP for 10 s, and none
 *       after a probe PING to the boot nodes within 3 s: connects to the
 *       next such boot node; then everything M sends to that node's UDP
 *       address goes on the stream, and what comes on it is taken as if
 *       it came from there (overlay, relay channel data); M probes UDP
 *       every 10 s; when the node answers over UDP, M sends over UDP
 *       again but keeps reading the stream, and closes it once the node
 *       answers what M sent over UDP since (back on the stream after 3 s
 *       without such an answer).
 *
 * Bounds (R): 256 connections, 8 per source IP address; a connection
 * that sent no authenticated overlay message within 5 s, or nothing for
 * 90 s, is closed; each connection's write queue holds at most 256 KiB
 * (both ends): a datagram over it is dropped and counted, the loop never
 * waits.  A malformed frame closes the connection. */
#ifndef WH_SRC_NODE_TCPPATH_H
#define WH_SRC_NODE_TCPPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node;
union wg_sockaddr;

enum {
	TCPPATH_MAX_CONNS = 256,
	TCPPATH_PER_IP = 8,
	TCPPATH_AUTH_S = 5,
	TCPPATH_IDLE_S = 90,
	TCPPATH_WRITE_CAP = 256 * 1024,
	TCPPATH_SILENT_S = 10,		/* no UDP answer this long: probe, then TCP */
	TCPPATH_PROBE_WAIT_S = 3,
	TCPPATH_UDP_PROBE_S = 10,	/* on TCP: a PING over UDP this often */
	TCPPATH_CONNECT_S = 10,
};

struct tcppath_stats {
	uint64_t accepted, refused, closed_unauth, closed_idle, bad_frames;
	uint64_t rx_frames, tx_frames, write_drops, dropped;
	uint64_t connects, fallbacks;	/* member: streams opened, back to UDP */
};

/* Starts the listener (a public node that relays, named with tcp in its
 * own boot line) and the member's watch of UDP, as the file says; a
 * listener that cannot be had is logged and left out.  0 or -ENOMEM. */
int tcppath_start(struct node *n, bool relay);
void tcppath_stop(struct node *n);
/* The datapath's and the overlay's: a datagram for to, which goes on a
 * stream when to is carried on one (true: written there or dropped). */
bool tcppath_divert(struct node *n, const union wg_sockaddr *to, const uint8_t *buf, size_t len);
/* An authenticated overlay datagram came over UDP from src. */
void tcppath_udp_heard(struct node *n, const union wg_sockaddr *src);
/* Whether a UDP datagram's source is in the pseudo-addresses' range
 * (dropped: only a stream speaks for them). */
bool tcppath_pseudo(const union wg_sockaddr *a);
/* For wh show: the stream the member uses now (false: on UDP), and the
 * listener's open connections. */
bool tcppath_relay(const struct node *n, union wg_sockaddr *tcp_addr);
unsigned tcppath_conns(const struct node *n);
const struct tcppath_stats *tcppath_stats(const struct node *n);

#endif
