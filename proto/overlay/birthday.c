/* Birthday probing's two schedules (see birthday.h). */
#include "proto/overlay/birthday.h"

#include "proto/common/byteorder.h"
#include "proto/common/gcra.h"

#include <string.h>

#define NS_PER_S UINT64_C(1000000000)

/* The ports probed: 1024-65535, 64,512 = 2^10 * 3^2 * 7 of them. */
enum { SPAN = 65536 - OVL_BDAY_PORT_MIN };

static uint64_t life_end(uint64_t now)
{
	return (now ? now : 1) + (uint64_t)OVL_BDAY_LIFE_S * NS_PER_S;
}

bool ovl_bday_hard_start(struct ovl_bday_hard *h, const struct ovl_addr *peer, unsigned n,
			 uint64_t now)
{
	memset(h, 0, sizeof(*h));
	h->winner = -1;
	if (!n || n > OVL_BDAY_SOCKETS || !ovl_addr_valid(peer))
		return false;
	h->peer = *peer;
	h->n = (uint16_t)n;
	h->round_ns = now;
	h->ends_ns = life_end(now);
	return true;
}

static bool hard_probing(const struct ovl_bday_hard *h, uint64_t now)
{
	return h->ends_ns && h->winner < 0 && now < h->ends_ns;
}

size_t ovl_bday_hard_due(struct ovl_bday_hard *h, uint64_t now, uint16_t *idx, size_t max)
{
	size_t k = 0;

	if (!hard_probing(h, now))
		return 0;
	/* A round ended and its time is up: the next begins (one round at
	 * a time, however late the caller comes). */
	if (h->next == h->n && now - h->round_ns >= (uint64_t)OVL_BDAY_REFRESH_S * NS_PER_S) {
		h->next = 0;
		h->round_ns = now;
	}
	while (k < max && h->next < h->n)
		idx[k++] = h->next++;
	return k;
}

bool ovl_bday_hard_on_rx(struct ovl_bday_hard *h, unsigned i, uint64_t now)
{
	if (!hard_probing(h, now) || i >= h->n)
		return false;
	h->winner = (int)i;
	return true;
}

uint64_t ovl_bday_hard_deadline(const struct ovl_bday_hard *h, uint64_t now)
{
	uint64_t next;

	if (!hard_probing(h, now))
		return 0;
	if (h->next < h->n)
		return now;
	next = h->round_ns + (uint64_t)OVL_BDAY_REFRESH_S * NS_PER_S;
	if (next < now)
		return now;
	return next < h->ends_ns ? next : h->ends_ns;
}

/* A multiplier prime to SPAN (odd, not a multiple of 3 or 7): i ->
 * (mul * i + add) % SPAN is then a permutation of the ports. */
static uint32_t coprime(uint32_t r)
{
	uint32_t m = (r % SPAN) | 1;

	while (m % 3 == 0 || m % 7 == 0)
		m = (m + 2) % SPAN;
	return m;
}

bool ovl_bday_easy_start(struct ovl_bday_easy *e, const struct ovl_addr *hard, const uint8_t rnd[8],
			 uint64_t now)
{
	memset(e, 0, sizeof(*e));
	e->hard = *hard;
	e->hard.port = 1;
	if (!ovl_addr_valid(&e->hard))
		return false;
	e->mul = coprime(le32_get(rnd));
	e->add = le32_get(rnd + 4) % SPAN;
	e->ends_ns = life_end(now);
	return true;
}

static bool easy_probing(const struct ovl_bday_easy *e, uint64_t now)
{
	return e->ends_ns && now < e->ends_ns && e->sent < OVL_BDAY_PROBES;
}

size_t ovl_bday_easy_next(struct ovl_bday_easy *e, uint64_t now, struct ovl_addr *to, size_t max)
{
	const uint64_t cost = NS_PER_S / OVL_BDAY_RATE;
	size_t k = 0;

	while (k < max && easy_probing(e, now) &&
	       gcra_allow(&e->tat, now, cost, (uint64_t)OVL_BDAY_BURST * cost)) {
		uint64_t p = ((uint64_t)e->mul * e->sent + e->add) % SPAN;

		e->hard.port = (uint16_t)(OVL_BDAY_PORT_MIN + p);
		to[k++] = e->hard;
		++e->sent;
	}
	return k;
}

void ovl_bday_easy_stop(struct ovl_bday_easy *e)
{
	e->ends_ns = 0;
}

uint64_t ovl_bday_easy_deadline(const struct ovl_bday_easy *e, uint64_t now)
{
	const uint64_t cost = NS_PER_S / OVL_BDAY_RATE, burst = OVL_BDAY_BURST * cost;
	uint64_t free_at;

	if (!easy_probing(e, now))
		return 0;
	/* gcra_allow passes the next probe once tat + cost <= now + burst. */
	free_at = e->tat + cost > burst ? e->tat + cost - burst : 0;
	return free_at > now ? free_at : now;
}
