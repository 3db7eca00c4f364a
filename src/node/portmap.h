/* Port mapping on the home router: our UDP port (the WireGuard and
 * overlay socket) forwarded from the router's public address, so that
 * peers can reach us directly.  Three protocols, UDP only, tried in this
 * order:
 *
 *   PCP:     (RFC 6887, proto/common/pcp.c) a MAP request to the default
 *            gateway's port 5351 with a random 96-bit nonce, suggesting
 *            internal_port; the gateway may assign another port.
 *   NAT-PMP: (RFC 6886, libnatpmp) ask the default gateway for its public
 *            address, then for a mapping of internal_port (the router may
 *            pick another external port).
 *   UPnP:    SSDP search, the IGD's control URL, its external address,
 *            then AddPortMapping for internal_port, AddAnyPortMapping
 *            (IGD:2), a few random ports; a router that only takes
 *            permanent leases (error 725) gets lease 0.
 *
 * Why this order: PCP supersedes NAT-PMP on the same port 5351, and a
 * gateway that speaks both answers PCP with the same mapping in one round
 * trip, with a nonce that makes a forged or stale answer recognisable; a
 * NAT-PMP-only gateway answers the PCP request at once with its
 * "unsupported version", so NAT-PMP follows without waiting; UPnP, an
 * SSDP search and HTTP calls, costs most and comes last.  Leases as
 * requested, renewed at half; a renewal tries the protocol of the current
 * mapping first (with PCP, the same nonce).  Every call to the router
 * blocks, so each attempt is one uv_queue_work item; the loop only sees
 * its result.  A silent router costs about 1.5 s for PCP, 2 s for NAT-PMP
 * and 2 s for the SSDP search; an attempt that finds nothing is retried
 * after 30 s, doubling up to 10 minutes.  A renewal that fails reports
 * on_change(NULL) and falls back to those retries.
 *
 * The router's external address is what the router believes: behind a
 * second NAT or CGNAT it is not our public address.  The owner pairs the
 * external port with the reflexive address overlay peers report, and
 * probes before trusting it.
 *
 * Errors from portmap_start: negative errno.  Everything the router says
 * or fails to say is counted in portmap_status and told to on_log. */
#ifndef WH_SRC_NODE_PORTMAP_H
#define WH_SRC_NODE_PORTMAP_H

#include "src/io/packet.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct portmap;

enum portmap_proto { PORTMAP_NONE, PORTMAP_UPNP, PORTMAP_NATPMP, PORTMAP_PCP };

/* Bits of portmap_config.protocols. */
#define PORTMAP_USE_UPNP	(1u << PORTMAP_UPNP)
#define PORTMAP_USE_NATPMP	(1u << PORTMAP_NATPMP)
#define PORTMAP_USE_PCP		(1u << PORTMAP_PCP)

enum {
	PORTMAP_LEASE_DEFAULT = 3600,	/* seconds */
	PORTMAP_ERROR_MAX = 256,	/* portmap_status.last_error */
};

struct portmap_config {
	uint16_t internal_port;		/* our UDP port */
	const char *description;	/* in the router's table; NULL: "wh" */
	uint32_t lease_s;		/* requested; 0: PORTMAP_LEASE_DEFAULT */
	unsigned protocols;		/* PORTMAP_USE_*; 0: all three */
};

struct portmap_ops {
	/* The mapping changed: external is the router's public address and
	 * port (NULL: no mapping any more, via PORTMAP_NONE). */
	void (*on_change)(void *ctx, const union wg_sockaddr *external, enum portmap_proto via);
	/* Optional: one line for the log, level as syslog's (LOG_INFO...). */
	void (*on_log)(void *ctx, int level, const char *msg);
};

/* What portmap shows in `wh show`. */
struct portmap_status {
	enum portmap_proto via;		/* PORTMAP_NONE: no mapping now */
	union wg_sockaddr external;	/* when via != PORTMAP_NONE */
	uint32_t lease_s;		/* granted; 0: permanent */
	uint32_t lease_left_s;		/* UINT32_MAX: permanent */
	uint32_t next_s;		/* until the next attempt or renewal */
	bool busy;			/* a request to the router is under way */
	unsigned attempts, failures, renewals;
	/* PCP datagrams from the gateway's port that were no answer to our
	 * request (another nonce, malformed): forged or stale. */
	unsigned pcp_ignored;
	char last_error[PORTMAP_ERROR_MAX];	/* of the last failed attempt */
};

/* Starts the first attempt at once; callbacks run on loop. */
int portmap_start(struct portmap **out, uv_loop_t *loop, const struct portmap_config *cfg,
		  const struct portmap_ops *ops, void *ctx);
/* Removes the mapping from the router (bounded time, on the pool), then
 * frees; done(ctx) runs on the loop when finished so `wh down` can wait
 * for it.  Safe while an attempt is on the pool: its result is awaited
 * (and a mapping it made removed) first.  Call once; after it only
 * on_log and done run. */
void portmap_stop(struct portmap *pm, void (*done)(void *ctx), void *ctx);

/* The current mapping, if any; lease_left_s is UINT32_MAX for a permanent
 * lease.  Any out pointer may be NULL. */
bool portmap_external(const struct portmap *pm, union wg_sockaddr *out, enum portmap_proto *via,
		      uint32_t *lease_left_s);
void portmap_status(const struct portmap *pm, struct portmap_status *st);
const char *portmap_proto_name(enum portmap_proto p);

#endif
