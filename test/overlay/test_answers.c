/* Answers count only if we asked, hearsay costs less than it names, and
 * no request from an address that is not validated gets more bytes back
 * than it had (issue 17, findings 2 and 3, and the amplification budget
 * of doc/protocol.md 8.2).  One engine A under test; bare secure-layer
 * endpoints forge whatever a hostile node would send; every datagram A
 * sends is captured, none is delivered unless a test does it.
 *
 *   A 10.0.0.1:51820 (member, NATed)      X 192.0.2.66:51820 (hostile, "public relay")
 *   V 198.51.100.77 (a victim X names)     B 203.0.113.1:51820 (an engine answering)
 *
 * test_engine.c covers the rest of the engine with the same kind of
 * simulated network. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/workbit.h"
#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/engine.h"
#include "proto/overlay/secure.h"
#include "test/tap.h"

#define MS 1000000ull
#define SEC (1000 * MS)

static const char NS[] = "test-answers";

enum { QMAX = 1024 };

struct dgram {
	struct ovl_addr from, to;
	uint8_t buf[OVL_MAX_DATAGRAM];
	size_t len;
};

struct eng {
	struct ovl_engine *e;
	uint8_t pub[32];
	struct ovl_addr addr;
	unsigned reached, channels;
};

static struct dgram q[QMAX];
static unsigned qn;
static uint64_t now = 1000 * SEC;
static const uint64_t wall0 = 1700000000ull * SEC;

static struct ovl_time tnow(void)
{
	return (struct ovl_time){ .now_ns = now, .wall_ns = wall0 + now };
}

static struct ovl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
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

static void rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static int cap_send(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len)
{
	struct eng *n = ctx;

	if (qn < QMAX && len <= OVL_MAX_DATAGRAM) {
		q[qn].from = from_ip ? *from_ip : n->addr;
		q[qn].to = *to;
		memcpy(q[qn].buf, buf, len);
		q[qn].len = len;
		++qn;
	}
	return 0;
}

static void ev_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		     const struct ovl_addr *via_addr)
{
	(void)key;
	(void)via;
	(void)via_addr;
	++((struct eng *)ctx)->reached;
}

static void ev_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	(void)relay;
	(void)dst;
	(void)status;
	(void)channel;
	++((struct eng *)ctx)->channels;
}

static const struct ovl_engine_ops cap_ops = {
	.send = cap_send,
	.on_reach = ev_reach,
	.on_channel = ev_channel,
};

/* A private key whose public key meets the workbit. */
static void grind(uint8_t priv[32], uint8_t pub[32], unsigned workbit)
{
	do {
		randombytes_buf(priv, 32);
		crypto_scalarmult_base(pub, priv);
	} while (workbit_of(pub, NS, strlen(NS)) < workbit);
}

static struct eng *eng_new(struct ovl_addr addr, bool public_node, unsigned workbit)
{
	struct eng *n = calloc(1, sizeof(*n));
	struct ovl_engine_config cfg;
	uint8_t priv[32];

	grind(priv, n->pub, workbit);
	n->addr = addr;
	memset(&cfg, 0, sizeof(cfg));
	cfg.private_key = priv;
	cfg.ns = NS;
	cfg.workbit = workbit;
	cfg.public_node = public_node;
	cfg.rng = rng;
	if (ovl_engine_new(&n->e, &cfg, &cap_ops, n, now) < 0)
		abort();
	sodium_memzero(priv, sizeof(priv));
	return n;
}

static void eng_free(struct eng *n)
{
	ovl_engine_free(n->e);
	free(n);
	qn = 0;
}

static void deliver(struct eng *n, const struct ovl_addr *src, const uint8_t *buf, size_t len)
{
	struct ovl_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.data = buf;
	rx.len = len;
	rx.src = *src;
	ovl_engine_input(n->e, &rx, tnow());
}

struct bare {
	struct ovl_secure *sec;
	uint8_t pub[32];
	struct ovl_addr addr;
};

static void bare_new(struct bare *b, struct ovl_addr addr, unsigned workbit)
{
	struct ovl_secure_config cc;
	uint8_t priv[32];

	grind(priv, b->pub, workbit);
	memset(&cc, 0, sizeof(cc));
	cc.private_key = priv;
	cc.ns = NS;
	cc.ns_len = strlen(NS);
	if (ovl_secure_new(&b->sec, &cc) < 0)
		abort();
	b->addr = addr;
	sodium_memzero(priv, sizeof(priv));
}

/* Seals m from b to n and delivers it from `from` (b's own address when
 * NULL); returns its length on the wire. */
static size_t bare_send(struct bare *b, struct eng *n, const struct ovl_msg *m,
			const struct ovl_addr *from)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], buf[OVL_MAX_DATAGRAM];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), len;

	if (plen < 0)
		return 0;
	len = ovl_secure_seal(b->sec, n->pub, plain, (size_t)plen, wall0 + now, buf, sizeof(buf));
	if (len <= 0)
		return 0;
	deliver(n, from ? from : &b->addr, buf, (size_t)len);
	return (size_t)len;
}

/* The first captured datagram to b that opens as a message of type. */
static bool bare_take(struct bare *b, uint8_t type, struct ovl_msg *m)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], sender[32];
	unsigned i;

	for (i = 0; i < qn; ++i) {
		size_t plen = 0;

		if (ovl_addr_equal(&q[i].to, &b->addr) &&
		    ovl_secure_open(b->sec, q[i].buf, q[i].len, wall0 + now, sender, plain,
				     sizeof(plain), &plen) == OVL_ACCEPT &&
		    ovl_msg_decode(m, plain, plen) == OVL_DECODE_OK && m->type == type)
			return true;
	}
	return false;
}

/* X makes itself known to A as a public relay by a PING, and answers A's
 * PING back (if any) so that A holds it validated when `validate`. */
static void x_introduce(struct bare *x, struct eng *a, bool validate)
{
	struct ovl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PING;
	m.u.ping.nonce = 42;
	m.u.ping.flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY;
	m.u.ping.pad_len = 64;
	bare_send(x, a, &m, NULL);
	qn = 0;
	if (!validate)
		return;
	ovl_engine_ping(a->e, x->pub, &x->addr, NULL, NULL, tnow());
	if (!bare_take(x, OVL_MSG_PING, &m))
		abort();
	qn = 0;
	m.type = OVL_MSG_PONG;
	m.u.pong.flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY;
	m.u.pong.observed = a->addr;
	bare_send(x, a, &m, NULL);
	qn = 0;
}

static void nodes_naming(struct ovl_msg *m, uint64_t txid, unsigned n, const struct ovl_addr *at,
			 uint8_t flags, unsigned workbit, bool below)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->type = OVL_MSG_NODES;
	m->u.nodes.txid = txid;
	m->u.nodes.count = (uint8_t)n;
	for (i = 0; i < n; ++i) {
		struct ovl_node *o = &m->u.nodes.nodes[i];

		do
			randombytes_buf(o->key, 32);
		while (workbit && (workbit_of(o->key, NS, strlen(NS)) < workbit) != below);
		o->addr = *at;
		o->flags = flags;
	}
}

/* ---- finding 2: an answer counts only if we asked ---- */

static void test_unsolicited_nodes(void)
{
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	struct bare x;
	struct ovl_msg m;
	struct ovl_addr member = v4(203, 0, 113, 50, 40000);
	const struct ovl_engine_stats *st = ovl_engine_stats(a->e);
	const struct kad_entry *ke;

	bare_new(&x, v4(192, 0, 2, 66, 51820), 0);
	x_introduce(&x, a, true);
	/* A NODES under a txid A never used, naming a NATed member (no
	 * PUBLIC flag): "I have a live path to it, relay through me". */
	nodes_naming(&m, 0x5eed5eedull, 1, &member, 0, 0, false);
	bare_send(&x, a, &m, NULL);
	ok(a->reached == 0, "an unsolicited NODES names no rendezvous or relay (on_reach: %u)",
	   a->reached);
	ok(!kad_table_find(ovl_engine_table(a->e), m.u.nodes.nodes[0].key),
	   "... adds nothing to the table");
	ok(st->dropped_unsolicited == 1, "... and is a counted drop (%llu)",
	   (unsigned long long)st->dropped_unsolicited);
	ok(qn == 0, "... and sends nothing (%u datagrams)", qn);

	/* A lookup asks X; the answer under the right txid from another
	 * address is not the answer to the request A sent. */
	ovl_engine_lookup(a->e, m.u.nodes.nodes[0].key, NULL, NULL, tnow());
	ok(bare_take(&x, OVL_MSG_FIND_NODE, &m), "A's lookup asks X");
	qn = 0;
	nodes_naming(&m, m.u.find_node.txid, 1, &member, 0, 0, false);
	bare_send(&x, a, &m, &(struct ovl_addr){ .family = OVL_AF_INET, .ip = { 192, 0, 2, 67 },
						 .port = 51820 });
	ke = kad_table_find(ovl_engine_table(a->e), x.pub);
	ok(a->reached == 0 && st->dropped_unsolicited == 2,
	   "the right txid from another address is dropped too (on_reach %u, dropped %llu)",
	   a->reached, (unsigned long long)st->dropped_unsolicited);
	ok(ke && ovl_addr_equal(&ke->addr, &x.addr), "... and moves no address in the table");
	/* From where A sent it, it counts. */
	bare_send(&x, a, &m, NULL);
	ok(a->reached == 1, "the answer from the address asked names the relay");
	ovl_secure_free(x.sec);
	eng_free(a);
}

static void test_unsolicited_pong(void)
{
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	struct bare x;
	struct ovl_msg m;
	const struct kad_entry *ke;

	bare_new(&x, v4(192, 0, 2, 66, 51820), 0);
	ovl_engine_ping(a->e, x.pub, &x.addr, NULL, NULL, tnow());
	if (!bare_take(&x, OVL_MSG_PING, &m))
		abort();
	qn = 0;
	m.type = OVL_MSG_PONG;
	m.u.pong.flags = OVL_NODE_PUBLIC;
	m.u.pong.observed = a->addr;
	/* The right nonce, from an address A did not send to. */
	bare_send(&x, a, &m, &(struct ovl_addr){ .family = OVL_AF_INET, .ip = { 192, 0, 2, 67 },
						 .port = 51820 });
	ke = kad_table_find(ovl_engine_table(a->e), x.pub);
	ok(!ke && ovl_engine_stats(a->e)->dropped_unsolicited == 1,
	   "a PONG from another address than the PING's validates nothing, counted");
	bare_send(&x, a, &m, NULL);
	ke = kad_table_find(ovl_engine_table(a->e), x.pub);
	ok(ke && (ke->flags & KAD_F_REPLIED), "from the PING's address it validates X");
	ovl_secure_free(x.sec);
	eng_free(a);
}

static void test_unsolicited_channel_bound(void)
{
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	const struct ovl_engine_stats *st = ovl_engine_stats(a->e);
	struct bare x;
	struct ovl_msg m;
	uint8_t member[32];

	bare_new(&x, v4(192, 0, 2, 66, 51820), 0);
	x_introduce(&x, a, true);
	randombytes_buf(member, 32);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BOUND;
	memcpy(m.u.channel_bound.dst, member, 32);
	m.u.channel_bound.status = OVL_CHANNEL_OK;
	m.u.channel_bound.channel = 0x1234;
	m.u.channel_bound.lifetime_s = 60;
	bare_send(&x, a, &m, NULL);
	ok(a->channels == 0 && st->dropped_unsolicited == 1,
	   "a CHANNEL_BOUND to no CHANNEL_BIND of ours binds nothing, counted (%u, %llu)", a->channels,
	   (unsigned long long)st->dropped_unsolicited);
	ovl_engine_channel_bind(a->e, x.pub, &x.addr, member, tnow());
	qn = 0;
	bare_send(&x, a, &m, &(struct ovl_addr){ .family = OVL_AF_INET, .ip = { 192, 0, 2, 67 },
						 .port = 51820 });
	ok(a->channels == 0 && st->dropped_unsolicited == 2,
	   "... nor one from another address than the CHANNEL_BIND's");
	bare_send(&x, a, &m, NULL);
	ok(a->channels == 1, "the answer from the relay asked is taken");
	bare_send(&x, a, &m, NULL);
	ok(a->channels == 1 && st->dropped_unsolicited == 3, "... once");
	ovl_secure_free(x.sec);
	eng_free(a);
}

/* ---- finding 3: hearsay costs less than the answer that named it ---- */

/* Runs A for `secs` seconds (ticks every 100 ms, answers nothing) and
 * counts what it sends to IP ip. */
static void run_count(struct eng *a, const uint8_t ip[4], unsigned secs, size_t *bytes,
		      unsigned *dgrams)
{
	unsigned i, t;

	*bytes = 0;
	*dgrams = 0;
	for (t = 0; t < secs * 10; ++t) {
		now += 100 * MS;
		ovl_engine_tick(a->e, tnow());
		for (i = 0; i < qn; ++i)
			if (!memcmp(q[i].to.ip, ip, 4)) {
				*bytes += q[i].len;
				++*dgrams;
			}
		qn = 0;
	}
}

static void test_reflection(void)
{
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	struct ovl_addr victim = v4(198, 51, 100, 77, 9999);
	struct bare x;
	struct ovl_msg m;
	uint8_t target[32];
	size_t nodes_len, bytes;
	unsigned dgrams;

	bare_new(&x, v4(192, 0, 2, 66, 51820), 0);
	x_introduce(&x, a, true);
	randombytes_buf(target, 32);
	ovl_engine_lookup(a->e, target, NULL, NULL, tnow());
	if (!bare_take(&x, OVL_MSG_FIND_NODE, &m))
		abort();
	qn = 0;
	nodes_naming(&m, m.u.find_node.txid, 20, &victim, OVL_NODE_PUBLIC, 0, false);
	nodes_len = bare_send(&x, a, &m, NULL);
	run_count(a, victim.ip, 60, &bytes, &dgrams);
	ok(bytes < nodes_len && dgrams <= 2,
	   "a NODES of %zu bytes naming 20 keys at one victim: %zu bytes, %u datagrams to it",
	   nodes_len, bytes, dgrams);
	ok(ovl_engine_stats(a->e)->dropped_named >= 19, "... the names past the first are dropped (%llu)",
	   (unsigned long long)ovl_engine_stats(a->e)->dropped_named);

	/* Another answer naming the same address again: contacted once. */
	ovl_engine_lookup(a->e, m.u.nodes.nodes[0].key, NULL, NULL, tnow());
	if (!bare_take(&x, OVL_MSG_FIND_NODE, &m))
		abort();
	qn = 0;
	nodes_naming(&m, m.u.find_node.txid, 20, &victim, OVL_NODE_PUBLIC, 0, false);
	bare_send(&x, a, &m, NULL);
	run_count(a, victim.ip, 60, &bytes, &dgrams);
	ok(dgrams == 0, "an address already named is not contacted again (%u datagrams)", dgrams);
	ovl_secure_free(x.sec);
	eng_free(a);
}

/* A bootstrap contact is configured, not hearsay: it is asked again
 * while it does not answer (the node may come up after us). */
static void test_bootstrap_not_hearsay(void)
{
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	struct ovl_addr boot = v4(192, 0, 2, 1, 51820);
	uint8_t key[32];
	size_t bytes;
	unsigned dgrams;

	randombytes_buf(key, 32);
	ovl_engine_add_bootstrap(a->e, key, &boot, now);
	run_count(a, boot.ip, 20, &bytes, &dgrams);
	ok(dgrams >= 3, "a silent bootstrap node is asked again: %u datagrams in 20 s", dgrams);
	eng_free(a);
}

static void test_named_workbit(void)
{
	enum { WB = 6 };
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, WB);
	struct bare x;
	struct ovl_msg m;
	uint8_t target[32];
	size_t bytes;
	unsigned i, dgrams, found = 0;

	bare_new(&x, v4(192, 0, 2, 66, 51820), WB);
	x_introduce(&x, a, true);
	randombytes_buf(target, 32);
	ovl_engine_lookup(a->e, target, NULL, NULL, tnow());
	if (!bare_take(&x, OVL_MSG_FIND_NODE, &m))
		abort();
	qn = 0;
	nodes_naming(&m, m.u.find_node.txid, 5, &(struct ovl_addr){ 0 }, OVL_NODE_PUBLIC, WB, true);
	for (i = 0; i < 5; ++i)
		m.u.nodes.nodes[i].addr = v4(198, 51, 100, (uint8_t)(10 + i), 51820);
	bare_send(&x, a, &m, NULL);
	for (i = 0; i < 5; ++i)
		found += kad_table_find(ovl_engine_table(a->e), m.u.nodes.nodes[i].key) != NULL;
	ok(found == 0 && ovl_engine_stats(a->e)->dropped_named == 5,
	   "keys below the workbit in NODES are dropped, counted (%u in the table, %llu dropped)",
	   found, (unsigned long long)ovl_engine_stats(a->e)->dropped_named);
	run_count(a, (const uint8_t[4]){ 198, 51, 100, 10 }, 10, &bytes, &dgrams);
	ok(dgrams == 0, "... and never contacted (%u datagrams)", dgrams);
	ovl_secure_free(x.sec);
	eng_free(a);
}

/* ---- the amplification budget: 1x to an address not validated ---- */

/* Delivers req (a copy of a captured datagram) to b and checks that b
 * sends no more bytes, to anyone, than it got. */
static void amp_check(struct eng *b, const struct dgram *req, const char *what)
{
	size_t out = 0;
	unsigned i;

	qn = 0;
	deliver(b, &req->from, req->buf, req->len);
	for (i = 0; i < qn; ++i)
		out += q[i].len;
	ok(req->len && out <= req->len, "%s, %zu bytes: %zu bytes out in %u datagrams", what, req->len,
	   out, qn);
	qn = 0;
}

/* The last datagram e captured, taken out of the queue. */
static struct dgram *last_sent(void)
{
	static struct dgram d;

	memset(&d, 0, sizeof(d));
	if (qn)
		d = q[qn - 1];
	qn = 0;
	return &d;
}

static struct dgram *bare_req(struct bare *x, struct eng *b, const struct ovl_msg *m)
{
	static struct dgram d;
	uint8_t plain[OVL_MAX_PLAINTEXT];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), len;

	memset(&d, 0, sizeof(d));
	d.from = x->addr;
	len = plen < 0 ? -1 : ovl_secure_seal(x->sec, b->pub, plain, (size_t)plen, wall0 + now, d.buf,
					      sizeof(d.buf));
	d.len = len < 0 ? 0 : (size_t)len;
	return &d;
}

static void test_amplification(void)
{
	struct eng *b = eng_new(v4(203, 0, 113, 1, 51820), true, 0);
	struct eng *a = eng_new(v4(10, 0, 0, 1, 51820), false, 0);
	struct eng *c = eng_new(v4(198, 51, 100, 1, 51820), true, 0);
	struct bare peers[20], x;
	struct ovl_msg m;
	uint8_t target[32];
	unsigned i;

	/* B knows 20 public nodes, so that a NODES can be full. */
	for (i = 0; i < 20; ++i) {
		bare_new(&peers[i], v4(192, 0, 2, (uint8_t)(100 + i), 51820), 0);
		memset(&m, 0, sizeof(m));
		m.type = OVL_MSG_PING;
		m.u.ping.flags = OVL_NODE_PUBLIC;
		m.u.ping.pad_len = OVL_PONG_LEN - OVL_PING_LEN;
		bare_send(&peers[i], b, &m, NULL);
		ovl_secure_free(peers[i].sec);
	}
	qn = 0;
	/* The requests as our engines send them, from addresses B never
	 * validated (its answers are never delivered). */
	ovl_engine_ping(a->e, b->pub, &b->addr, NULL, NULL, tnow());
	amp_check(b, last_sent(), "PING from a NATed node (PONG and a PING back)");
	ovl_engine_ping(c->e, b->pub, &b->addr, NULL, NULL, tnow());
	amp_check(b, last_sent(), "PING from a public node (PONG)");
	ovl_engine_punch(a->e, b->pub, &b->addr, tnow());
	amp_check(b, last_sent(), "PUNCH (PONG)");
	ovl_engine_add_bootstrap(a->e, b->pub, &b->addr, now);
	randombytes_buf(target, 32);
	ovl_engine_lookup(a->e, target, NULL, NULL, tnow());
	amp_check(b, last_sent(), "FIND_NODE of a lookup (NODES)");
	ovl_engine_channel_bind(a->e, b->pub, &b->addr, c->pub, tnow());
	amp_check(b, last_sent(), "CHANNEL_BIND (CHANNEL_BOUND)");
	/* The worst cases: the smallest request of each type. */
	bare_new(&x, v4(192, 0, 2, 200, 51820), 0);
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PING;
	m.u.ping.nonce = 1;
	amp_check(b, bare_req(&x, b, &m), "an unpadded PING");
	m.type = OVL_MSG_PUNCH;
	amp_check(b, bare_req(&x, b, &m), "an unpadded PUNCH");
	m.type = OVL_MSG_FIND_NODE;
	memcpy(m.u.find_node.target, target, 32);
	amp_check(b, bare_req(&x, b, &m), "an unpadded FIND_NODE");
	m.u.find_node.pad_len = 269;
	amp_check(b, bare_req(&x, b, &m), "a FIND_NODE padded to 370 bytes");
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BIND;
	memcpy(m.u.channel_bind.dst, c->pub, 32);
	amp_check(b, bare_req(&x, b, &m), "an unpadded CHANNEL_BIND");
	ok(ovl_engine_stats(b->e)->dropped_short == 3, "the short ones are counted drops (%llu)",
	   (unsigned long long)ovl_engine_stats(b->e)->dropped_short);
	ovl_secure_free(x.sec);
	eng_free(c);
	eng_free(a);
	eng_free(b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_unsolicited_nodes();
	test_unsolicited_pong();
	test_unsolicited_channel_bound();
	test_reflection();
	test_named_workbit();
	test_bootstrap_not_hearsay();
	test_amplification();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
