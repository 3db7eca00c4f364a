/* Port prediction for endpoint-dependent NAT mappings (doc/protocol.md
 * 9.7), sans-I/O.  A NAT that maps every new destination to a new port
 * still often allocates those ports in order (RFC 4787 4.1: sequential
 * port assignment) or keeps the source port.  Two facts make a prediction:
 * the external ports observers saw our flows at (two PUBLIC nodes, one
 * PUBLIC node's two ports, members' PONGs), and the order in which we
 * opened our flows (each new destination we send to takes the NAT's next
 * port; struct ovl_predict_flows numbers them).  From two observed flows
 * the step is the port difference over the flows opened between them, and
 * the port of our next flow is the last observed one plus a step for each
 * flow opened since.  The window offered to a peer is that port and the
 * next few by the step; the peer punches them, so that the port our NAT
 * gives our own punches to the peer is already open in the peer's NAT.
 * Random allocations (ports far apart) predict nothing: they need
 * birthday probing, a later slice.
 *
 *   flows 1 and 2 seen at 30000 30001, next flow 3 -> 30002 ... 30009
 *   flows 1 and 4 seen at 30000 30003, next flow 6 -> 30005 ... 30012
 *   flows 1 and 2 seen at 30000 30002, next flow 3 -> 30004 30006 ...
 *   flow numbers unknown: after the highest port, by the smallest gap
 *   one observation kept our source port   -> it too, after the window
 *   observed ports 21345 27890             -> nothing
 *
 * A flow to our NAT's own external address (another node behind the
 * same NAT, known from the DHT) is numbered but takes no port: a NAT
 * that does not hairpin takes the datagram itself, so the offer counts
 * only the flows to other addresses.
 *
 * Pure functions; ovl_engine_predict reads the engine's observations
 * (natobs.c) and flows (engine.c numbers every destination it sends to). */
#ifndef WH_PROTO_OVERLAY_PREDICT_H
#define WH_PROTO_OVERLAY_PREDICT_H

#include "proto/overlay/addr.h"

#include <stdbool.h>
#include <stdint.h>

struct ovl_engine;

enum {
	OVL_PREDICT_WINDOW = 8,		/* predicted ports offered per exchange */
	OVL_PREDICT_MAX_GAP = 16,	/* wider gaps per flow between observed ports: no sequence */
	OVL_PREDICT_OBS_MAX = 16,	/* observations looked at */
	OVL_PREDICT_FLOWS = 64,		/* destinations remembered */
	OVL_PREDICT_FLOW_IDLE_S = 30,	/* a NAT forgets an unanswered flow after about this */
};

/* Our flows: each destination we sent to, numbered in the order we first
 * sent to it (again after it was idle so long that a NAT would have
 * forgotten it).  Only predict.c writes it. */
struct ovl_predict_flows {
	struct {
		struct ovl_addr to;
		uint64_t num;		/* 0: free */
		uint64_t last_ns;
	} slot[OVL_PREDICT_FLOWS];
	uint64_t count;			/* flows opened so far */
};

/* One observation: the external address an observer saw, and the number
 * of our flow to that observer (0: unknown). */
struct ovl_predict_obs {
	struct ovl_addr seen;
	uint64_t flow;
};

struct ovl_prediction {
	bool sequential;	/* the observed ports form a sequence */
	bool preserved;		/* one observation kept our source port */
	struct ovl_addr next;	/* the port of our next flow (sequential), at the common IP */
	uint16_t step;		/* between consecutive allocations (sequential) */
	uint16_t local_port;	/* our source port (preserved) */
};

/* A datagram to `to` leaves our main socket now. */
void ovl_predict_flow_sent(struct ovl_predict_flows *f, const struct ovl_addr *to, uint64_t now_ns);
/* The number of the last flow to `to` (0: none remembered). */
uint64_t ovl_predict_flow_of(const struct ovl_predict_flows *f, const struct ovl_addr *to);

/* Judges n observations (any order) of our socket bound to local_port,
 * next_flow being the number our next new flow will get.  False when
 * nothing can be predicted: fewer than two distinct ports, addresses at
 * different IPs, ports too far apart to be a sequence or out of the
 * flows' order (and none preserved). */
bool ovl_predict(const struct ovl_predict_obs *obs, unsigned n, uint16_t local_port,
		 uint64_t next_flow, struct ovl_prediction *out);

/* The window: up to max addresses, the predicted next port and the ones
 * after it by step in ascending order (never past 65535), then the
 * preserved source port if it is not among them.  Returns how many. */
unsigned ovl_predict_window(const struct ovl_prediction *pr, struct ovl_addr *out, unsigned max);

/* The port the NAT gave our flow number `flow`, by the step from the
 * nearest observation (n observations as for ovl_predict, pr its
 * sequential prediction); 0 when it cannot tell. */
uint16_t ovl_predict_port_of(const struct ovl_prediction *pr, const struct ovl_predict_obs *obs,
			     unsigned n, uint64_t flow);

/* Our offer to a peer: n observations (flows numbered in fl, counted
 * without those to the observed external IP address) judged and
 * windowed as above, with the ports of the flows we already have to the
 * peer's n_peer addresses (punches of an earlier exchange: they leave
 * from those ports again, not from new ones): first those to the peer's
 * first n_pred addresses (its predicted ports, in its order: the peer's
 * next punches to them pair with our flows there), then the window, then
 * those to the peer's other addresses; at most max.  0: nothing
 * predicted. */
unsigned ovl_predict_offer(const struct ovl_predict_flows *fl, uint64_t now_ns,
			   const struct ovl_predict_obs *obs, unsigned n, uint16_t local_port,
			   const struct ovl_addr *peer, unsigned n_peer, unsigned n_pred,
			   struct ovl_addr *out, unsigned max);

/* The engine's observations when our mapping is endpoint-dependent,
 * offered as above, with the ports of the flows we already
 * have to the peer's n_peer addresses (punches of an earlier exchange:
 * they leave from those ports again, not from new ones): first those to
 * the peer's first n_pred addresses (its predicted ports, in its order:
 * the peer's next punches to them pair with our flows there), then the
 * window, then those to the peer's other addresses; at most max. */
unsigned ovl_engine_predict(const struct ovl_engine *e, uint64_t now_ns, uint16_t local_port,
			    const struct ovl_addr *peer, unsigned n_peer, unsigned n_pred,
			    struct ovl_addr *out, unsigned max);

#endif
