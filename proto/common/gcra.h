/* One token bucket as GCRA (the generic cell rate algorithm), for a
 * single budget with no table: the handshake checks' global budget in
 * src/wg, the overlay's relay and probe limits in proto/overlay.  *tat is
 * the theoretical arrival time (0 for a full bucket).  A message costing
 * cost_ns passes when the bucket, burst_ns deep, has room for it, which
 * moves *tat on; otherwise *tat stays. */
#ifndef WH_PROTO_COMMON_GCRA_H
#define WH_PROTO_COMMON_GCRA_H

#include <stdbool.h>
#include <stdint.h>

bool gcra_allow(uint64_t *tat, uint64_t now_ns, uint64_t cost_ns, uint64_t burst_ns);

#endif
