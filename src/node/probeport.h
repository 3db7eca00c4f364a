/* A PUBLIC node's second port (doc/protocol.md 9.4): UDP sockets on the
 * main port + 1, IPv4 and IPv6 like the main port, that only answer
 * MAP_PROBE (the engine decides, ovl_engine_probe_port_input) so that one
 * public node is enough for a member to tell an endpoint-independent NAT
 * mapping from an endpoint-dependent one.  Control only, and small: a few
 * datagrams read a turn, a small receive buffer, and the answer leaves
 * from the address the request came to.  Errors: negative errno. */
#ifndef WH_SRC_NODE_PROBEPORT_H
#define WH_SRC_NODE_PROBEPORT_H

#include "src/io/packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct probeport;

/* A datagram came to the port from src (to local, when has_local): the
 * answer's length written to out (0: none). */
typedef size_t probeport_input_cb(void *ctx, const union wg_sockaddr *src,
				  const union wg_pktinfo *local, bool has_local, const uint8_t *buf,
				  size_t len, uint8_t *out, size_t outmax);

/* Opens port on both families (IPv6 only where the host has it). */
int probeport_open(struct probeport **out, uv_loop_t *loop, uint16_t port, probeport_input_cb *input,
		   void *ctx);
/* Stops reading; frees once the loop closed its handles.  NULL is fine. */
void probeport_close(struct probeport *pp);

#endif
