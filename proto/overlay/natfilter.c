/* NAT filtering classification (see natfilter.h).  Pure: counts in, a
 * verdict out. */
#include "proto/overlay/natfilter.h"

enum ovl_filtering ovl_filter_classify(enum ovl_filter_mapping mapping,
				       const struct ovl_filter_evidence *e, bool *again)
{
	bool more = e->rounds < OVL_FILTER_ROUNDS_MAX;

	*again = false;
	if (mapping == OVL_FILTER_MAPPING_NONE)
		return OVL_FILTER_NONE;
	if (mapping != OVL_FILTER_MAPPING_NAT)
		return OVL_FILTER_UNKNOWN;
	/* A datagram from an address we never sent to came in. */
	if (e->ip_rx)
		return OVL_FILTER_EIF;
	if (e->port_rx) {
		/* From a port we never sent to, of an address we did: the
		 * port does not matter.  Whether the address does is known
		 * only once OTHER_IP missed twice; with no answerer able to
		 * send it, that much is all that can be said. */
		if (e->ip_sent >= OVL_FILTER_MISSES)
			return OVL_FILTER_ADF;
		/* One miss, or no ANSWER yet to say whether OTHER_IP was
		 * tried at all: another round tells. */
		if ((e->ip_sent || !e->answered) && more) {
			*again = true;
			return OVL_FILTER_UNKNOWN;
		}
		return OVL_FILTER_NOT_PORT;
	}
	/* Nothing came through: filtered by address and port, if probes were
	 * really sent in two rounds. */
	if (e->port_sent >= OVL_FILTER_MISSES)
		return OVL_FILTER_APDF;
	*again = more;
	return OVL_FILTER_UNKNOWN;
}

const char *ovl_filter_name(enum ovl_filtering f)
{
	switch (f) {
	case OVL_FILTER_NONE:
		return "none";
	case OVL_FILTER_EIF:
		return "endpoint-independent";
	case OVL_FILTER_NOT_PORT:
		return "not-port-dependent";
	case OVL_FILTER_ADF:
		return "address-dependent";
	case OVL_FILTER_APDF:
		return "address-and-port-dependent";
	default:
		return "unknown";
	}
}
