/* The DHT simulator's population: the model of the workbit, the
 * addresses, the NAT mappings and what hostile nodes answer; see
 * dhtsim.c. */
#include "test/sim/dhtsim.h"

#include <string.h>

/* ---- keys and addresses ---- */

uint8_t key_check_byte(const uint8_t k[KAD_KEY_LEN])
{
	return (uint8_t)(k[0] ^ k[5] ^ k[11] ^ k[17] ^ k[23] ^ 0xa5);
}

/* kad_key_ok_fn: the model of the workbit. */
bool key_good(void *ctx, const uint8_t k[32])
{
	(void)ctx;
	return k[31] == key_check_byte(k);
}

/* Honest addresses: a bijection of the node id onto 28 bits, so that
 * neighbours in id are far apart in address. */
#define AMUL 0x9e3779bu		/* odd: invertible modulo 2^28 */
#define AADD 0x5a5a5a5u
#define AMASK 0xfffffffu

static uint32_t amul_inv(void)
{
	uint32_t x = AMUL;

	for (int i = 0; i < 5; ++i)
		x *= 2 - AMUL * x;
	return x & AMASK;
}

struct ovl_addr addr_honest(uint32_t id)
{
	uint32_t p = (id * AMUL + AADD) & AMASK;
	struct ovl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.port = PORT;
	a.ip[0] = (uint8_t)(16 + (p >> 24));
	a.ip[1] = (uint8_t)(p >> 16);
	a.ip[2] = (uint8_t)(p >> 8);
	a.ip[3] = (uint8_t)p;
	return a;
}

struct ovl_addr addr_hostile(const struct sim *s, uint32_t j)
{
	uint32_t g = j / s->cfg.per24;
	struct ovl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = OVL_AF_INET;
	a.port = PORT;
	a.ip[0] = 40;
	a.ip[1] = (uint8_t)(g >> 8);
	a.ip[2] = (uint8_t)g;
	a.ip[3] = (uint8_t)(j % s->cfg.per24 + 1);
	return a;
}

/* The node at a, or UINT32_MAX. */
uint32_t node_at(const struct sim *s, const struct ovl_addr *a)
{
	static uint32_t inv;
	uint32_t id;

	if (a->family != OVL_AF_INET || a->port != PORT)
		return UINT32_MAX;
	if (a->ip[0] >= 16 && a->ip[0] < 32) {
		uint32_t p = (uint32_t)(a->ip[0] - 16) << 24 | (uint32_t)a->ip[1] << 16 |
			     (uint32_t)a->ip[2] << 8 | a->ip[3];

		if (!inv)
			inv = amul_inv();
		id = ((p - AADD) * inv) & AMASK;
		return id < s->n_nodes && s->node[id].kind == K_HONEST ? id : UINT32_MAX;
	}
	if (a->ip[0] == 40 && a->ip[3] >= 1 && a->ip[3] <= s->cfg.per24) {
		uint32_t j = ((uint32_t)a->ip[1] << 8 | a->ip[2]) * s->cfg.per24 + a->ip[3] - 1;

		return j < s->n_hostile ? s->hostile[j] : UINT32_MAX;
	}
	return UINT32_MAX;
}

/* ---- NAT mappings ---- */

static struct natmap *nat_slot(const struct node *nd, uint32_t peer)
{
	return &nd->map[mix64(peer) % NAT_SLOTS];
}

void nat_open(const struct sim *s, struct node *nd, uint32_t peer)
{
	struct natmap *m;

	if (!nd->nated)
		return;
	m = nat_slot(nd, peer);
	m->peer = peer;
	m->until_s = (uint32_t)((s->now + s->cfg.nat_timeout) / SEC);
}

/* Whether a datagram from peer passes nd's NAT now. */
bool nat_passes(const struct sim *s, const struct node *nd, uint32_t peer)
{
	const struct natmap *m;

	if (!nd->nated)
		return true;
	m = nat_slot(nd, peer);
	return m->peer == peer && s->now / SEC < m->until_s;
}

int key_cmp_id(const void *a, const void *b, void *ctx)
{
	const struct sim *s = ctx;

	return memcmp(s->node[*(const uint32_t *)a].key, s->node[*(const uint32_t *)b].key,
		      KAD_KEY_LEN);
}

/* A key next to target that no node has: its first 12 bytes are the
 * target's.  Random otherwise, so 1 in 256 passes the workbit model. */
static void invent_key(struct sim *s, const uint8_t *target, uint8_t *k)
{
	rng_fill(&s->rng, k, KAD_KEY_LEN);
	memcpy(k, target, 12);
}

/* What a hostile node answers to FIND_NODE(target); 0: nothing. */
size_t hostile_answer(struct sim *s, const struct node *h, const uint8_t *target,
			     struct kad_contact *c)
{
	size_t n = 0;

	switch (h->kind) {
	case K_SILENT:
		return 0;
	case K_VICTIM:
		for (; n < ANSWER_MAX; ++n) {
			invent_key(s, target, c[n].key);
			c[n].addr = s->node[s->victim].addr;
			c[n].addr.port = (uint16_t)(1024 + rng_below(&s->rng, 64000));
			c[n].flags = 0;
		}
		return n;
	case K_CLOSE: {
		/* The colluders next to the target in key order, then
		 * invented keys at our own IP address. */
		size_t lo = 0, hi = s->n_colluders;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (memcmp(s->node[s->colluders[mid]].key, target, KAD_KEY_LEN) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		lo = lo > ANSWER_MAX / 4 ? lo - ANSWER_MAX / 4 : 0;
		for (size_t i = lo; i < s->n_colluders && n < ANSWER_MAX / 2; ++i) {
			const struct node *x = &s->node[s->colluders[i]];

			if (x->id == h->id)
				continue;
			memcpy(c[n].key, x->key, KAD_KEY_LEN);
			c[n].addr = x->addr;
			c[n++].flags = 0;
		}
		while (n < ANSWER_MAX) {
			invent_key(s, target, c[n].key);
			c[n].addr = h->addr;
			c[n].addr.port = (uint16_t)(1024 + rng_below(&s->rng, 64000));
			c[n++].flags = 0;
		}
		return n;
	}
	default:
		return 0;
	}
}

