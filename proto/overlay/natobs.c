/* Our reflexive address and the NAT mapping classification (engine.h):
 * the addresses observers saw us at, from their PONGs to our PINGs. */
#include "proto/overlay/engine_priv.h"

#include "proto/overlay/addr.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define OBSERVATION_NS (600 * NS_PER_S)	/* an observation counts this long */

/* The observers we chose (the boot nodes) and our network's members (the
 * peers set, relay.c); anyone while neither is known (a node not
 * configured, the simulator). */
static bool trusted(const struct ovl_engine *e, const uint8_t key[32])
{
	size_t i;
	bool found = false;

	if (!e->n_observers && !e->n_peer_keys)
		return true;
	for (i = 0; i < e->n_observers; ++i)
		found |= sodium_memcmp(e->observers[i], key, 32) == 0;
	return found || relay_is_peer(e, key);
}

int ovl_engine_trust_observer(struct ovl_engine *e, const uint8_t key[32], bool trust)
{
	size_t i;

	for (i = 0; i < e->n_observers; ++i) {
		if (sodium_memcmp(e->observers[i], key, 32))
			continue;
		if (!trust)
			memcpy(e->observers[i], e->observers[--e->n_observers], 32);
		return 0;
	}
	if (!trust)
		return 0;
	if (e->n_observers == e->cap_observers) {
		size_t cap = e->cap_observers ? 2 * e->cap_observers : 16;
		uint8_t(*grown)[32] = realloc(e->observers, cap * 32);

		if (!grown)
			return -ENOMEM;
		e->observers = grown;
		e->cap_observers = cap;
	}
	memcpy(e->observers[e->n_observers++], key, 32);
	return 0;
}

void natobs_record(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *observer,
		   const struct ovl_addr *seen, uint64_t now)
{
	struct ovl_observation *o;

	if (!ovl_addr_valid(seen))
		return;
	if (!trusted(e, key)) {
		++e->stats.observations_untrusted;
		return;
	}
	o = &e->obs[e->obs_next++ % OBSERVATIONS];
	e->reflexive = *seen;
	o->observer = *observer;
	o->seen = *seen;
	o->at_ns = now;
}

bool ovl_engine_reflexive(const struct ovl_engine *e, struct ovl_addr *out)
{
	if (!e->reflexive.family)
		return false;
	*out = e->reflexive;
	return true;
}

enum ovl_nat_mapping ovl_engine_nat_mapping(const struct ovl_engine *e, uint64_t now,
					    unsigned *observers)
{
	const struct ovl_observation *seen[OBSERVATIONS];
	unsigned n = 0, i, j;
	bool differ = false;

	/* The freshest observation of each observer IP address. */
	for (i = 0; i < OBSERVATIONS; ++i) {
		const struct ovl_observation *o = &e->obs[(e->obs_next + OBSERVATIONS - 1 - i) % OBSERVATIONS];
		bool dup = false;

		if (!o->at_ns || now - o->at_ns > OBSERVATION_NS)
			continue;
		for (j = 0; j < n && !dup; ++j)
			dup = ovl_addr_same_ip(&seen[j]->observer, &o->observer);
		if (!dup)
			seen[n++] = o;
	}
	if (observers)
		*observers = n;
	if (!n)
		return OVL_NAT_UNKNOWN;
	for (i = 1; i < n; ++i)
		differ |= !ovl_addr_equal(&seen[i]->seen, &seen[0]->seen);
	if (differ)
		return OVL_NAT_EDM;
	/* Seen at our own address and port: nothing translates us, which
	 * one observer proves (a network with one public node has no
	 * second); telling the two kinds of mapping apart takes two. */
	if (e->ops->own_address && e->ops->own_address(e->ctx, &seen[0]->seen))
		return OVL_NAT_NONE;
	return n < 2 ? OVL_NAT_UNKNOWN : OVL_NAT_EIM;
}

struct probe_ctx {
	struct ovl_engine *e;
	struct ovl_addr picked[3];
	unsigned n;
};

static void probe_entry(void *ctx, unsigned bucket, const struct kad_entry *ke)
{
	struct probe_ctx *p = ctx;
	unsigned i;

	(void)bucket;
	if (p->n == 3 || !(ke->flags & KAD_F_HEARD) || (ke->flags & KAD_F_NATED))
		return;
	for (i = 0; i < p->n; ++i)
		if (ovl_addr_same_ip(&p->picked[i], &ke->addr))
			return;
	if (!ovl_addr_valid(&ke->addr))
		return;
	p->picked[p->n++] = ke->addr;
	engine_send_ping(p->e, ke->key, &ke->addr, NULL, NULL, p->e->now);
}

/* Pings up to three PUBLIC nodes of the table at different IP addresses,
 * so that their PONGs tell our reflexive address and mapping. */
void ovl_engine_probe_reflexive(struct ovl_engine *e, struct ovl_time t)
{
	struct probe_ctx p;

	memset(&p, 0, sizeof(p));
	p.e = e;
	e->now = t;
	kad_table_walk(&e->table, probe_entry, &p);
}
