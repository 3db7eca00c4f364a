/* NAT filtering classification (RFC 4787 section 5, RFC 5780 section 4.4),
 * sans-I/O: what came back from a few rounds of PROBE_REQ in, a verdict
 * out (doc/protocol.md 9.2).
 *
 * A round asks a few PUBLIC nodes for probes.  Each answers on its main
 * socket (ANSWER: which probes it sent) and sends OTHER_PORT (its main
 * IP address, another port) and, when it has a second address, OTHER_IP.
 * A NAT passes OTHER_IP only if it filters independently of the remote
 * endpoint, OTHER_PORT unless it filters by address and port.  A probe
 * that arrived proves a verdict at once; one that did not proves nothing
 * until two rounds in which it was sent have both missed it, so that one
 * lost datagram cannot make a wrong verdict: then the answer is UNKNOWN,
 * never a guess. */
#ifndef WH_PROTO_OVERLAY_NATFILTER_H
#define WH_PROTO_OVERLAY_NATFILTER_H

#include <stdbool.h>

enum ovl_filtering {
	OVL_FILTER_UNKNOWN,
	OVL_FILTER_NONE,		/* no NAT: our own address, nothing filtered by a NAT */
	OVL_FILTER_EIF,			/* endpoint-independent ("full cone") */
	OVL_FILTER_NOT_PORT,		/* EIF or ADF: no answerer could test OTHER_IP */
	OVL_FILTER_ADF,			/* address-dependent ("restricted cone") */
	OVL_FILTER_APDF,		/* address-and-port-dependent */
};

/* What the mapping classification said (src/node/overlay.c). */
enum ovl_filter_mapping {
	OVL_FILTER_MAPPING_UNKNOWN,
	OVL_FILTER_MAPPING_NONE,	/* reachable at our own address */
	OVL_FILTER_MAPPING_NAT,		/* behind a NAT, whatever its mapping */
};

enum {
	OVL_FILTER_ROUNDS_MAX = 3,	/* rounds of one classification */
	OVL_FILTER_MISSES = 2,		/* rounds a probe must miss to count as filtered */
};

/* Rounds of one classification, counted: a round counts once per kind,
 * however many answerers it asked. */
struct ovl_filter_evidence {
	unsigned rounds;		/* rounds finished */
	unsigned answered;		/* rounds in which some ANSWER arrived */
	unsigned port_sent, ip_sent;	/* rounds in which an ANSWER said OTHER_PORT / OTHER_IP was sent */
	unsigned port_rx, ip_rx;	/* rounds in which that probe arrived */
};

/* The verdict from the evidence so far.  *again: not final, another round
 * may decide (the caller runs one while rounds < OVL_FILTER_ROUNDS_MAX;
 * after that the verdict returned is the final one). */
enum ovl_filtering ovl_filter_classify(enum ovl_filter_mapping mapping,
				       const struct ovl_filter_evidence *e, bool *again);

/* "endpoint-independent" and so on, as `wh show` prints them. */
const char *ovl_filter_name(enum ovl_filtering f);

#endif
