/* One PCP exchange with the default gateway (RFC 6887 MAP, through
 * proto/common/pcp.c), for a pool job of portmap.c: it blocks for at
 * most PORTMAP_PCP_WAIT_MS and is never called on the loop.  See
 * portmap.c's head comment for where PCP stands among the three methods. */
#ifndef WH_SRC_NODE_PORTMAP_PCP_H
#define WH_SRC_NODE_PORTMAP_PCP_H

#include "proto/common/pcp.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

enum {
	/* The first wait and the whole exchange (see portmap_pcp.c). */
	PORTMAP_PCP_FIRST_WAIT_MS = 250,
	PORTMAP_PCP_WAIT_MS = 1500,
};

enum portmap_pcp_outcome {
	PORTMAP_PCP_MAPPED,	/* SUCCESS: the mapping (or its deletion) holds */
	PORTMAP_PCP_NOT_PCP,	/* a NAT-PMP-only gateway, or another PCP version */
	PORTMAP_PCP_REFUSED,	/* a PCP error result */
	PORTMAP_PCP_SILENT,	/* no answer of ours in time */
	PORTMAP_PCP_FAILED,	/* no gateway, or a socket error */
};

struct portmap_pcp_exchange {
	/* in */
	uint16_t internal_port;
	uint16_t suggested_port;	/* 0: any */
	struct in_addr suggested_addr;	/* 0.0.0.0: any */
	uint32_t lifetime;		/* 0: delete the nonce's mapping */
	uint8_t nonce[PCP_NONCE_LEN];
	/* out */
	struct in_addr ext_addr;
	uint16_t ext_port;
	uint32_t lifetime_granted;
	uint32_t epoch;			/* the server's, of the answer */
	uint8_t result;			/* PCP result code when REFUSED */
	unsigned ignored;		/* datagrams that were not our answer */
};

/* Sends the MAP request to the default gateway's port 5351 and waits for
 * its answer, resending.  Only an answer from the gateway's address and
 * port 5351 that decodes as the answer to this request (nonce, protocol,
 * internal port) counts; everything else is counted in x->ignored.  A
 * failure is described in err. */
enum portmap_pcp_outcome portmap_pcp_exchange(struct portmap_pcp_exchange *x, char *err, size_t errlen);

#endif
