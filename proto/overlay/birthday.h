/* Birthday probing, sans-I/O (doc/nat-lab.md, "Birthday probing"): the
 * two sides' schedules for a member behind a NAT that maps each
 * destination to a random port (the hard side) and a peer behind a NAT
 * that keeps one port per socket but admits only what it sent to (the
 * easy side).
 *
 * The hard side opens n probe sockets and sends one PUNCH from each to
 * the easy side's reflexive address at once, then every
 * OVL_BDAY_REFRESH_S: each opens, and keeps, a mapping on its NAT.  The
 * easy side sends PUNCH from its one socket to the hard side's external
 * IP at ports 1024-65535 in an order of its own without repeats,
 * OVL_BDAY_RATE a second, OVL_BDAY_PROBES in all: its NAT then lets in
 * the answers from every port it tried.  With n of 64,512 ports open on
 * the hard NAT, k probes all miss with probability (1 - n/64512)^k:
 * 256 sockets and 1,000 probes about 2%, 4,096 probes about 1e-7 (for a
 * NAT whose allocation is uniform).  The first probe that meets one of
 * the n mappings arrives on that socket; the hard side answers from it,
 * keeps it (the winner) and closes the others.
 *
 *   hard: start(n=256) -> due(): sockets 0..255 now, again every 2 s
 *         on_rx(socket 37) -> winner 37: due() gives nothing more
 *   easy: start(ip) -> next(): 10 ports now (burst), then 1 per 10 ms;
 *         after 4,096 or 45 s nothing; stop() at the first PONG
 *
 * Pure state; the caller owns the sockets, the messages and the time.
 * Bounds: n <= OVL_BDAY_SOCKETS, a probing lives OVL_BDAY_LIFE_S. */
#ifndef WH_PROTO_OVERLAY_BIRTHDAY_H
#define WH_PROTO_OVERLAY_BIRTHDAY_H

#include "proto/overlay/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OVL_BDAY_SOCKETS = 256,		/* hard side: probe sockets, at most */
	OVL_BDAY_REFRESH_S = 2,		/* hard side: each socket's PUNCH again */
	OVL_BDAY_RATE = 100,		/* easy side: probes a second */
	OVL_BDAY_BURST = 10,		/* easy side: probes at once, at most */
	OVL_BDAY_PROBES = 4096,		/* easy side: probes in all */
	OVL_BDAY_PORT_MIN = 1024,	/* the easy side probes 1024-65535 */
	OVL_BDAY_LIFE_S = 45,		/* either side gives up after this */
};

struct ovl_bday_hard {
	struct ovl_addr peer;		/* the easy side's reflexive address */
	uint16_t n;			/* probe sockets in use */
	uint16_t next;			/* the next socket of the round */
	int winner;			/* the socket a probe met; -1: none yet */
	uint64_t round_ns;		/* when the round began */
	uint64_t ends_ns;		/* 0: not probing */
};

struct ovl_bday_easy {
	struct ovl_addr hard;		/* the hard side's external IP (port: the last probed) */
	uint32_t mul, add;		/* probe i goes to 1024 + (mul * i + add) % 64512 */
	uint32_t sent;
	uint64_t tat;			/* the probes' pace (GCRA) */
	uint64_t ends_ns;		/* 0: not probing */
};

/* The hard side begins with n sockets (1 to OVL_BDAY_SOCKETS: as many as
 * it could open) toward the easy side at peer.  False for n out of range
 * or an invalid peer. */
bool ovl_bday_hard_start(struct ovl_bday_hard *h, const struct ovl_addr *peer, unsigned n,
			 uint64_t now);
/* The sockets that send a PUNCH to h->peer now, at most max of them, in
 * idx[]: every socket once a round, a round every OVL_BDAY_REFRESH_S;
 * after the winner, only it is kept up (by the caller's own keepalive):
 * nothing.  Call again while it returns max. */
size_t ovl_bday_hard_due(struct ovl_bday_hard *h, uint64_t now, uint16_t *idx, size_t max);
/* The peer's authenticated datagram arrived on socket i: true when it is
 * the winner (the first such; a later one on another socket is not). */
bool ovl_bday_hard_on_rx(struct ovl_bday_hard *h, unsigned i, uint64_t now);
/* When due() has something next (now, if that is past), or the probing
 * ends (0: it has ended or won). */
uint64_t ovl_bday_hard_deadline(const struct ovl_bday_hard *h, uint64_t now);

/* The easy side begins toward the hard side's external IP (its port is
 * ignored); rnd: 8 random bytes for the probes' order.  False for an
 * invalid address. */
bool ovl_bday_easy_start(struct ovl_bday_easy *e, const struct ovl_addr *hard, const uint8_t rnd[8],
			 uint64_t now);
/* The addresses to probe now, at most max, within the pace, the total
 * and the lifetime; each port once. */
size_t ovl_bday_easy_next(struct ovl_bday_easy *e, uint64_t now, struct ovl_addr *to, size_t max);
/* The hard side answered (or said it is done): no more probes. */
void ovl_bday_easy_stop(struct ovl_bday_easy *e);
/* When next() may give more (0: never again). */
uint64_t ovl_bday_easy_deadline(const struct ovl_bday_easy *e, uint64_t now);

#endif
