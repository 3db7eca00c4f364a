/* GCRA token bucket (gcra.h). */
#include "proto/common/gcra.h"

bool gcra_allow(uint64_t *tat, uint64_t now_ns, uint64_t cost_ns, uint64_t burst_ns)
{
	uint64_t t = *tat > now_ns ? *tat : now_ns;

	if (t + cost_ns > now_ns + burst_ns)
		return false;
	*tat = t + cost_ns;
	return true;
}
