/* The simulated network of the overlay engine's tests (engine_sim.h). */
#include "test/overlay/engine_sim.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/overlay/addr.h"

const char NS[] = "test-engine";

struct dgram q[QMAX];
unsigned qn;
struct node *nodes[NODES_MAX];
unsigned n_nodes;
uint64_t now = 1000 * SEC;
const uint64_t wall0 = 1700000000ull * SEC;

struct ovl_time tnow(void)
{
	struct ovl_time t = { .now_ns = now, .wall_ns = wall0 + now };

	return t;
}

struct ovl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct ovl_addr k;

	memset(&k, 0, sizeof(k));
	k.family = OVL_AF_INET;
	k.ip[0] = a;
	k.ip[1] = b;
	k.ip[2] = c;
	k.ip[3] = d;
	k.port = port;
	return k;
}

static void test_rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void enqueue(const struct ovl_addr *src, const struct ovl_addr *to, bool aux,
		    const uint8_t *buf, size_t len)
{
	if (qn == QMAX || len > OVL_MAX_DATAGRAM)
		return;
	q[qn].src = *src;
	q[qn].to = *to;
	q[qn].aux = aux;
	memcpy(q[qn].buf, buf, len);
	q[qn].len = len;
	++qn;
}

static int net_send(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	struct ovl_addr src = n->addr;

	if (from_ip) {
		src = *from_ip;
		src.port = 40001;	/* what a fresh socket got */
	}
	enqueue(&src, to, from_ip != NULL, buf, len);
	return 0;
}

static bool net_other_ip(void *ctx, const struct ovl_addr *main_ip, unsigned ifindex,
			 struct ovl_addr *out)
{
	struct node *n = ctx;

	(void)main_ip;
	(void)ifindex;
	if (!n->has_other)
		return false;
	*out = n->other;
	return true;
}

static bool net_own_address(void *ctx, const struct ovl_addr *a)
{
	return ovl_addr_equal(a, &((struct node *)ctx)->addr);
}

static void ev_contact(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	(void)key;
	(void)addr;
	++((struct node *)ctx)->contacts;
}

static void ev_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	(void)key;
	(void)addr;
	++((struct node *)ctx)->pings;
}

static void ev_relayed(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const struct ovl_addr *via_addr, const uint8_t *buf, size_t len)
{
	struct node *n = ctx;

	(void)key;
	(void)via;
	(void)via_addr;
	++n->relayed;
	n->relayed_len = len < sizeof(n->relayed_buf) ? len : sizeof(n->relayed_buf);
	memcpy(n->relayed_buf, buf, n->relayed_len);
}

static void ev_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	struct node *n = ctx;

	(void)relay;
	(void)dst;
	++n->channels;
	n->last_status = status;
	n->last_channel = channel;
}

void (*sim_on_invite)(struct node *n, const uint8_t sender[32], const struct ovl_rx *rx,
		      const uint8_t *plain, size_t len);

static void ev_invite(void *ctx, const uint8_t sender[32], const struct ovl_rx *rx,
		      const uint8_t *plain, size_t len)
{
	if (sim_on_invite)
		sim_on_invite(ctx, sender, rx, plain, len);
}

static const struct ovl_engine_ops net_ops = {
	.send = net_send,
	.other_ip = net_other_ip,
	.own_address = net_own_address,
	.on_contact = ev_contact,
	.on_ping = ev_ping,
	.on_relayed = ev_relayed,
	.on_channel = ev_channel,
	.on_invite = ev_invite,
};

static struct node *make_node(struct ovl_addr addr, bool public_node, bool relay, uint32_t pps,
			      uint32_t client_slots, uint8_t priv[32])
{
	struct node *n = calloc(1, sizeof(*n));
	struct ovl_engine_config cfg;

	crypto_scalarmult_base(n->pub, priv);
	n->addr = addr;
	n->public_node = public_node;
	memset(&cfg, 0, sizeof(cfg));
	cfg.private_key = priv;
	cfg.ns = NS;
	cfg.public_node = public_node;
	cfg.relay = relay;
	cfg.relay_pps = pps;
	cfg.client_slots = client_slots;
	cfg.rng = test_rng;
	if (ovl_engine_new(&n->e, &cfg, &net_ops, n, now) < 0)
		abort();
	sodium_memzero(priv, 32);
	nodes[n_nodes++] = n;
	return n;
}

struct node *node_new(struct ovl_addr addr, bool public_node, bool relay, uint32_t pps,
		      uint32_t client_slots)
{
	uint8_t priv[32];

	randombytes_buf(priv, sizeof(priv));
	return make_node(addr, public_node, relay, pps, client_slots, priv);
}

struct node *node_new_key(struct ovl_addr addr, const uint8_t priv[32])
{
	uint8_t copy[32];

	memcpy(copy, priv, sizeof(copy));
	return make_node(addr, false, false, 0, 0, copy);
}

void net_reset(void)
{
	unsigned i;

	for (i = 0; i < n_nodes; ++i) {
		ovl_engine_free(nodes[i]->e);
		free(nodes[i]);
	}
	n_nodes = 0;
	qn = 0;
}

/* The public node whose second port is `to`, if any. */
static struct node *route_probe_port(const struct ovl_addr *to)
{
	unsigned i;

	for (i = 0; i < n_nodes; ++i) {
		struct ovl_addr p = nodes[i]->addr;

		p.port = (uint16_t)(p.port + OVL_PROBE_PORT_OFFSET);
		if (nodes[i]->public_node && ovl_addr_equal(&p, to))
			return nodes[i];
	}
	return NULL;
}

static struct node *route(const struct ovl_addr *to)
{
	unsigned i, j;

	for (i = 0; i < n_nodes; ++i) {
		if (ovl_addr_equal(&nodes[i]->addr, to))
			return nodes[i];
		for (j = 0; j < ALIASES; ++j)
			if (ovl_addr_equal(&nodes[i]->alias[j], to))
				return nodes[i];
	}
	return NULL;
}

static void rx_of(struct ovl_rx *rx, struct node *n, const struct ovl_addr *src, const uint8_t *buf,
		  size_t len)
{
	memset(rx, 0, sizeof(*rx));
	rx->data = buf;
	rx->len = len;
	rx->src = *src;
	rx->has_local = true;
	rx->local = n->addr;
	rx->local.port = 0;
	rx->ifindex = 2;
}

void input(struct node *n, const struct ovl_addr *src, const uint8_t *buf, size_t len)
{
	struct ovl_rx rx;

	rx_of(&rx, n, src, buf, len);
	ovl_engine_input(n->e, &rx, tnow());
}

size_t input_probe_port(struct node *n, const struct ovl_addr *src, const uint8_t *buf, size_t len)
{
	uint8_t out[OVL_MAX_DATAGRAM];
	struct ovl_addr from = n->addr;
	struct ovl_rx rx;
	size_t r;

	rx_of(&rx, n, src, buf, len);
	r = ovl_engine_probe_port_input(n->e, &rx, tnow(), out);
	from.port = (uint16_t)(from.port + OVL_PROBE_PORT_OFFSET);
	if (r)
		enqueue(&from, src, false, out, r);
	return r;
}

/* Delivers everything queued (and what the answers queue), through nat;
 * drop_aux: a filter that drops the probes from probe sockets.  Returns
 * how many datagrams were delivered to an engine. */
unsigned run(nat_fn *nat, bool drop_aux)
{
	unsigned delivered = 0, i = 0;

	while (i < qn) {
		struct dgram d = q[i++];
		struct node *n = route(&d.to), *pp = n ? NULL : route_probe_port(&d.to);
		struct ovl_addr src = d.src;

		if ((!n && !pp) || (drop_aux && d.aux))
			continue;
		if (nat)
			nat(&d.src, &d.to, &src);
		if (pp)
			input_probe_port(pp, &src, d.buf, d.len);
		else
			input(n, &src, d.buf, d.len);
		++delivered;
	}
	qn = 0;
	return delivered;
}

/* ---- bare endpoints: a key and a secure layer, to forge or open messages ---- */

void bare_new(struct bare *b, struct ovl_addr addr)
{
	struct ovl_secure_config cc;
	uint8_t priv[32];

	randombytes_buf(priv, sizeof(priv));
	memset(&cc, 0, sizeof(cc));
	cc.private_key = priv;
	cc.ns = NS;
	cc.ns_len = strlen(NS);
	if (ovl_secure_new(&b->sec, &cc) < 0)
		abort();
	ovl_secure_public_key(b->sec, b->pub);
	b->addr = addr;
	sodium_memzero(priv, sizeof(priv));
}

size_t bare_seal(struct bare *b, const uint8_t to[32], const struct ovl_msg *m, uint8_t *out)
{
	uint8_t plain[OVL_MAX_PLAINTEXT];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), n;

	if (plen < 0)
		return 0;
	n = ovl_secure_seal(b->sec, to, plain, (size_t)plen, wall0 + now, out, OVL_MAX_DATAGRAM);
	return n < 0 ? 0 : (size_t)n;
}

/* Sends m from b to node n at once. */
size_t bare_send(struct bare *b, struct node *n, const struct ovl_msg *m)
{
	uint8_t buf[OVL_MAX_DATAGRAM];
	size_t len = bare_seal(b, n->pub, m, buf);

	if (len)
		input(n, &b->addr, buf, len);
	return len;
}

/* Opens the queued datagram i as b: its message, if it is for b. */
bool bare_open(struct bare *b, unsigned i, struct ovl_msg *m, uint8_t plain[OVL_MAX_PLAINTEXT])
{
	uint8_t sender[32];
	size_t plen = 0;

	return ovl_addr_equal(&q[i].to, &b->addr) &&
	       ovl_secure_open(b->sec, q[i].buf, q[i].len, wall0 + now, sender, plain,
				OVL_MAX_PLAINTEXT, &plen) == OVL_ACCEPT &&
	       ovl_msg_decode(m, plain, plen) == OVL_DECODE_OK;
}

/* The engine's mapping verdict now, and its observers (distinct IP
 * addresses), for tests that need no more. */
enum ovl_nat_mapping nat_mapping_of(struct node *n, unsigned *observers)
{
	struct ovl_nat_count c = { 0, 0 };
	enum ovl_nat_mapping m = ovl_engine_nat_mapping(n->e, now, &c);

	if (observers)
		*observers = c.observers;
	return m;
}
