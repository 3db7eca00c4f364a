/* Per-source token bucket for handshake messages under load: 20 per
 * second with a burst of 5 (or another rate), sources keyed by IPv4 /32
 * or IPv6 /64.  The
 * table is bounded; entries idle for a second are reclaimed by
 * ratelimiter_gc, which the owner calls about once a second.  Time comes
 * in as monotonic nanoseconds. */
#ifndef WH_PROTO_WG_RATELIMITER_H
#define WH_PROTO_WG_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RATELIMITER_PACKETS_PER_SECOND = 20,
	RATELIMITER_PACKETS_BURSTABLE = 5,
};

struct ratelimiter;

/* max_entries bounds memory; when the table is full new sources are
 * refused (the kernel's behaviour).  NULL on allocation failure. */
struct ratelimiter *ratelimiter_new(size_t max_entries);
/* The same with per_second packets a second (a divisor of 10^9) and a
 * burst of burst packets. */
struct ratelimiter *ratelimiter_new_rate(size_t max_entries, unsigned per_second, unsigned burst);
void ratelimiter_free(struct ratelimiter *rl);


/* family is AF_INET (addr = 4 bytes) or AF_INET6 (16 bytes). */
bool ratelimiter_allow(struct ratelimiter *rl, int family, const uint8_t *addr, uint64_t now_ns);
/* Drops entries unused for over a second. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);
size_t ratelimiter_count(const struct ratelimiter *rl);

#endif
