/* Port prediction (proto/overlay/predict.c): a table of observations
 * (sequential with and without flow numbers, with a step, with our own
 * flows in between, preserving, random, endpoint-independent, a pool of
 * addresses) and the window each gives; the flow numbering; then a
 * simulated sequential NAT with other hosts' flows interleaved, where the
 * window must hold the port our next flow gets, and a random NAT, where a
 * prediction must be rare. */
#include "proto/overlay/predict.h"
#include "test/tap.h"

#include <string.h>

#define NS 1000000000ULL

static const uint8_t ip_a[4] = { 198, 18, 0, 100 }, ip_b[4] = { 198, 18, 0, 101 };

static struct ovl_addr at(const uint8_t ip[4], uint16_t port)
{
	struct ovl_addr a;

	ovl_addr_set_v4(&a, ip, port);
	return a;
}

#define W8(p, s) { p, p + s, p + 2 * s, p + 3 * s, p + 4 * s, p + 5 * s, p + 6 * s, p + 7 * s }

static const struct {
	const char *what;
	uint16_t seen[4];
	uint64_t flow[4];		/* 0: unknown */
	unsigned n;
	uint64_t next_flow;
	bool other_ip;			/* the second observation at ip_b */
	uint16_t local;
	uint16_t want[OVL_PREDICT_WINDOW + 1];	/* 0-terminated */
} cases[] = {
	{ "flows 1, 2 at 30000, 30001 (one PUBLIC node's two ports), next flow 3",
	  { 30000, 30001 }, { 1, 2 }, 2, 3, false, 62096, W8(30002, 1) },
	{ "the same, observed in the other order", { 30001, 30000 }, { 2, 1 }, 2, 3, false, 62096,
	  W8(30002, 1) },
	{ "flows 1, 4 at 30000, 30003 (two punches between), next flow 6: step 1, 2 ahead",
	  { 30000, 30003 }, { 1, 4 }, 2, 6, false, 62096, W8(30005, 1) },
	{ "flows 1, 2 at 30000, 30002: step 2", { 30000, 30002 }, { 1, 2 }, 2, 3, false, 62096,
	  W8(30004, 2) },
	{ "flows 1, 2, 3 at 30000, 30001, 30003 (another host's flow): step 1",
	  { 30000, 30001, 30003 }, { 1, 2, 3 }, 3, 4, false, 62096, W8(30004, 1) },
	{ "flow numbers unknown: after the highest by the smallest gap", { 30001, 30000, 30003 },
	  { 0, 0, 0 }, 3, 9, false, 62096, W8(30004, 1) },
	{ "ports falling while flows climb: no sequence", { 30001, 30000 }, { 1, 2 }, 2, 3, false,
	  62096, { 0 } },
	{ "fewer ports than flows between (some never crossed the NAT): step 1",
	  { 30000, 30002 }, { 1, 5 }, 2, 6, false, 62096, W8(30003, 1) },
	{ "at the top: never past 65535", { 65531, 65532 }, { 1, 2 }, 2, 3, false, 62096,
	  { 65533, 65534, 65535 } },
	{ "preserving: the source port kept once, another random", { 62096, 41234 }, { 1, 2 }, 2, 3,
	  false, 62096, { 62096 } },
	{ "sequential and preserving: the window, then the source port", { 62096, 30000, 30001 },
	  { 1, 2, 3 }, 3, 4, false, 62096,
	  { 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30009, 62096 } },
	{ "random: ports far apart", { 21345, 27890 }, { 1, 2 }, 2, 3, false, 62096, { 0 } },
	{ "random, flow numbers unknown", { 21345, 27890 }, { 0, 0 }, 2, 3, false, 62096, { 0 } },
	{ "random: three ports, one gap small", { 21345, 21350, 47890 }, { 0, 0, 0 }, 3, 4, false,
	  62096, { 0 } },
	{ "endpoint-independent: one port", { 30000, 30000 }, { 1, 2 }, 2, 3, false, 62096, { 0 } },
	{ "no translation: our own port only", { 62096, 62096 }, { 1, 2 }, 2, 3, false, 62096, { 0 } },
	{ "one observation", { 30000 }, { 1 }, 1, 2, false, 62096, { 0 } },
	{ "none", { 0 }, { 0 }, 0, 1, false, 62096, { 0 } },
	{ "two external addresses (a NAT pool)", { 30000, 30001 }, { 1, 2 }, 2, 3, true, 62096, { 0 } },
};

static void test_cases(void)
{
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
		struct ovl_predict_obs obs[4];
		struct ovl_addr win[OVL_PREDICT_WINDOW + 1];
		struct ovl_prediction pr;
		unsigned i, n = 0, want_n = 0;
		bool same, predicted;
		char got[128] = "";

		for (i = 0; i < cases[c].n; ++i) {
			obs[i].seen = at(i == 1 && cases[c].other_ip ? ip_b : ip_a, cases[c].seen[i]);
			obs[i].flow = cases[c].flow[i];
		}
		while (want_n < OVL_PREDICT_WINDOW + 1 && cases[c].want[want_n])
			++want_n;
		predicted = ovl_predict(obs, cases[c].n, cases[c].local, cases[c].next_flow, &pr);
		if (predicted)
			n = ovl_predict_window(&pr, win, OVL_PREDICT_WINDOW + 1);
		same = predicted == (want_n > 0) && n == want_n;
		for (i = 0; i < n; ++i) {
			same &= win[i].port == cases[c].want[i] && !memcmp(win[i].ip, ip_a, 4) &&
				win[i].family == OVL_AF_INET;
			snprintf(got + strlen(got), sizeof(got) - strlen(got), " %u", win[i].port);
		}
		ok(same, "%s:%s", cases[c].what, n ? got : " nothing");
	}
}

/* The window is bounded by max. */
static void test_bounded(void)
{
	struct ovl_predict_obs obs[2] = { { at(ip_a, 30000), 1 }, { at(ip_a, 30001), 2 } };
	struct ovl_addr win[3];
	struct ovl_prediction pr;

	ok(ovl_predict(obs, 2, 1000, 3, &pr) && ovl_predict_window(&pr, win, 3) == 3 &&
		   win[2].port == 30004,
	   "the window stops at max (3): 30002 30003 30004");
}

/* The ports of flows we already have: between two observations, after
 * the last, before the first, by the step. */
static void test_port_of(void)
{
	struct ovl_predict_obs obs[2] = { { at(ip_a, 30000), 1 }, { at(ip_a, 30006), 4 } };
	struct ovl_prediction pr;
	bool ok_all;

	ok_all = ovl_predict(obs, 2, 1000, 7, &pr) && pr.step == 2 &&
		 ovl_predict_port_of(&pr, obs, 2, 2) == 30002 &&
		 ovl_predict_port_of(&pr, obs, 2, 3) == 30004 &&
		 ovl_predict_port_of(&pr, obs, 2, 6) == 30010 && ovl_predict_port_of(&pr, obs, 2, 0) == 0;
	obs[0].flow = 5;
	obs[1].flow = 8;
	ok_all &= ovl_predict(obs, 2, 1000, 9, &pr) && ovl_predict_port_of(&pr, obs, 2, 3) == 29996;
	ok(ok_all, "ports of our earlier flows: flows 2, 3, 6 between and after 1 (30000) and 4 (30006) at 30002 30004 30010; flow 3 before 5 (30000) at 29996");
}

/* Flows: numbered at the first datagram to a destination, kept while
 * used, numbered anew after OVL_PREDICT_FLOW_IDLE_S of silence; the
 * table holds OVL_PREDICT_FLOWS, the one idle longest making room. */
static void test_flows(void)
{
	struct ovl_predict_flows f;
	struct ovl_addr a = at(ip_a, 1), b = at(ip_a, 2), c = at(ip_b, 1);
	uint64_t t = 1000 * NS;
	unsigned i;
	bool kept = true;

	memset(&f, 0, sizeof(f));
	ovl_predict_flow_sent(&f, &a, t);
	ovl_predict_flow_sent(&f, &b, t + NS);
	ovl_predict_flow_sent(&f, &a, t + 2 * NS);
	ok(ovl_predict_flow_of(&f, &a) == 1 && ovl_predict_flow_of(&f, &b) == 2 &&
		   ovl_predict_flow_of(&f, &c) == 0 && f.count == 2,
	   "flows numbered at their first datagram (a 1, b 2, c none; 2 opened)");
	ovl_predict_flow_sent(&f, &b, t + NS + OVL_PREDICT_FLOW_IDLE_S * NS);
	ok(ovl_predict_flow_of(&f, &b) == 3 && f.count == 3,
	   "a flow silent for %u s is a new one (b 3)", OVL_PREDICT_FLOW_IDLE_S);
	memset(&f, 0, sizeof(f));
	ovl_predict_flow_sent(&f, &a, t);
	for (i = 0; i < OVL_PREDICT_FLOWS; ++i) {
		struct ovl_addr d = at(ip_b, (uint16_t)(100 + i));

		ovl_predict_flow_sent(&f, &a, t + (1 + i) * NS);
		ovl_predict_flow_sent(&f, &d, t + (1 + i) * NS);
		kept &= ovl_predict_flow_of(&f, &a) == 1;
	}
	c = at(ip_b, 100);
	b = at(ip_b, 100 + OVL_PREDICT_FLOWS - 1);
	ok(kept && ovl_predict_flow_of(&f, &c) == 0 &&
		   ovl_predict_flow_of(&f, &b) == 1 + OVL_PREDICT_FLOWS &&
		   f.count == 1 + OVL_PREDICT_FLOWS,
	   "a full table drops the flow idle longest (the first other one), keeps the busy one");
}

/* A sequential NAT (ports from base, step s): our flow to the first
 * observer, j flows of ours, our flow to the second observer, k flows of
 * ours and f of other hosts; then our next flow, whose port must be in
 * the window while f < the window. */
static void test_model(void)
{
	unsigned step, j, k, f, fails = 0, tries = 0;
	uint32_t seed = 12345;

	for (step = 1; step <= 3; ++step)
		for (j = 0; j < 4; ++j)
			for (k = 0; k < 4; ++k)
				for (f = 0; f < OVL_PREDICT_WINDOW; ++f) {
					uint16_t port = (uint16_t)(20000 + (seed = seed * 1103515245 + 12345) % 1000);
					struct ovl_predict_obs obs[2];
					struct ovl_addr win[OVL_PREDICT_WINDOW];
					struct ovl_prediction pr;
					unsigned n = 0, i;
					uint16_t next;
					bool hit = false;

					obs[0].seen = at(ip_a, port);
					obs[0].flow = 1;
					obs[1].seen = at(ip_a, (uint16_t)(port + step * (j + 1)));
					obs[1].flow = 2 + j;
					next = (uint16_t)(port + step * (j + 2 + k + f));
					if (ovl_predict(obs, 2, 4000, 3 + j + k, &pr))
						n = ovl_predict_window(&pr, win, OVL_PREDICT_WINDOW);
					for (i = 0; i < n; ++i)
						hit |= win[i].port == next && (f || i == 0);
					++tries;
					fails += !hit;
				}
	ok(fails == 0,
	   "sequential NATs, steps 1-3, 0-3 of our flows between the observations and after, 0-7 other hosts' flows: our next port in the window (first when no other host) in %u of %u",
	   tries - fails, tries);
}

/* A random NAT (ports 1024-65535): two observations predict nothing in
 * all but about 2 x 16 / 64512 of the cases. */
static void test_random(void)
{
	unsigned i, predicted = 0, runs = 100000;
	uint32_t seed = 777;

	for (i = 0; i < runs; ++i) {
		struct ovl_predict_obs obs[2];
		struct ovl_prediction pr;

		seed = seed * 1103515245 + 12345;
		obs[0].seen = at(ip_a, (uint16_t)(1024 + (seed >> 8) % 64512));
		obs[0].flow = 1;
		seed = seed * 1103515245 + 12345;
		obs[1].seen = at(ip_a, (uint16_t)(1024 + (seed >> 8) % 64512));
		obs[1].flow = 2;
		predicted += ovl_predict(obs, 2, 4000, 3, &pr);
	}
	ok(predicted < runs / 1000, "random NATs: %u of %u pairs of observations predicted (< 0.1%%)",
	   predicted, runs);
}

/* Two members, each behind a sequential NAT (its own WAN address, ports
 * in order from base), punch each other's offers the way paths.c does:
 * every address of the other's list in order, a new destination taking
 * the next port of the NAT.  They meet when one flow of each pairs the
 * same two ports. */
struct side {
	const uint8_t *ip;
	struct ovl_predict_flows fl;
	struct ovl_predict_obs obs[2];
	struct {
		struct ovl_addr to;
		uint16_t port;
	} nat[64];
	unsigned n_nat;
	uint16_t next_port;
};

static const uint8_t ip_o1[4] = { 198, 18, 0, 10 }, ip_o2[4] = { 198, 18, 0, 11 };

static uint16_t side_send(struct side *s, const struct ovl_addr *to, uint64_t t)
{
	struct ovl_addr wan = at(s->ip, 1);
	unsigned i;

	ovl_predict_flow_sent(&s->fl, to, t);
	/* To the NAT's own external address: the lab's NATs do not hairpin,
	 * the gateway takes the datagram itself and maps nothing. */
	if (ovl_addr_same_ip(to, &wan))
		return 0;
	for (i = 0; i < s->n_nat; ++i)
		if (ovl_addr_equal(&s->nat[i].to, to))
			return s->nat[i].port;
	if (s->n_nat == 64)
		return 0;
	s->nat[s->n_nat].to = *to;
	s->nat[s->n_nat].port = s->next_port++;
	return s->nat[s->n_nat++].port;
}

static void side_punch(struct side *s, const struct ovl_addr *list, unsigned n, uint64_t t)
{
	unsigned i;

	for (i = 0; i < n; ++i)
		side_send(s, &list[i], t);
}

/* Started: flows to two observers (one PUBLIC node's two ports), seen. */
static void side_start(struct side *s, const uint8_t ip[4], uint16_t base, uint64_t t)
{
	struct ovl_addr o1 = at(ip_o1, 62096), o2 = at(ip_o2, 62097);

	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->next_port = base;
	s->obs[0].seen = at(ip, side_send(s, &o1, t));
	s->obs[0].flow = ovl_predict_flow_of(&s->fl, &o1);
	s->obs[1].seen = at(ip, side_send(s, &o2, t));
	s->obs[1].flow = ovl_predict_flow_of(&s->fl, &o2);
}

static unsigned side_offer(const struct side *s, const struct ovl_addr *peer, unsigned n_peer,
			   unsigned n_pred, struct ovl_addr *out, uint64_t t)
{
	return ovl_predict_offer(&s->fl, t, s->obs, 2, 4000, peer, n_peer, n_pred, out, 11);
}

static bool sides_meet(const struct side *a, const struct side *b)
{
	struct ovl_addr wan_a = at(a->ip, 1), wan_b = at(b->ip, 1);
	unsigned i, j;

	for (i = 0; i < a->n_nat; ++i)
		for (j = 0; j < b->n_nat; ++j)
			if (ovl_addr_same_ip(&a->nat[i].to, &wan_b) && ovl_addr_same_ip(&b->nat[j].to, &wan_a) &&
			    a->nat[i].to.port == b->nat[j].port && b->nat[j].to.port == a->nat[i].port)
				return true;
	return false;
}

/* The exchanges of doc/protocol.md 9.7 between two sequential NATs: both
 * predictable (an offer, the answer); and B not yet predictable when A's
 * offer came (B punched A's window from ports nobody predicted), then
 * B's own offer once it is, which must lead with those flows' ports
 * (n_pred): with the window first (n_pred 0, the order before) the two
 * never meet. */
static void test_pairing(void)
{
	uint64_t t = 1000 * NS;
	struct side a, b;
	struct ovl_addr xa[16], yb[16], ra[16], refl_a, refl_b, stale;
	unsigned nxa, nyb, nra, mode;
	bool met[2];

	side_start(&a, ip_a, 30000, t);
	side_start(&b, ip_b, 31000, t);
	nxa = side_offer(&a, NULL, 0, 0, xa, t);
	nyb = side_offer(&b, xa, nxa, nxa, yb, t);
	side_punch(&b, xa, nxa, t);
	side_punch(&a, yb, nyb, t);
	ok(nxa >= OVL_PREDICT_WINDOW && nyb >= OVL_PREDICT_WINDOW && sides_meet(&a, &b),
	   "both predictable: A's offer and B's answer meet");

	/* net-predict's failed run (doc/nat-lab.md): after its last
	 * observation B asked a DHT contact at its own NAT's address (an
	 * earlier member behind the same gateway), a flow that took no
	 * port; counted, B's window was one port too high and no flow met. */
	side_start(&a, ip_a, 30000, t);
	side_start(&b, ip_b, 31000, t);
	stale = at(ip_b, 30500);
	side_send(&b, &stale, t);
	nxa = side_offer(&a, NULL, 0, 0, xa, t);
	nyb = side_offer(&b, xa, nxa, nxa, yb, t);
	side_punch(&b, xa, nxa, t);
	side_punch(&a, yb, nyb, t);
	ok(nyb >= OVL_PREDICT_WINDOW && yb[0].port == b.nat[b.n_nat - nxa].port && sides_meet(&a, &b),
	   "a flow to our own NAT's address after the last observation takes no port: B's window starts at its next port (%u), A's offer and B's answer meet",
	   yb[0].port);

	for (mode = 0; mode < 2; ++mode) {
		side_start(&a, ip_a, 30000, t);
		side_start(&b, ip_b, 31000, t);
		/* A first exchange with no prediction: the reflexive ports. */
		refl_a = a.obs[0].seen;
		refl_b = b.obs[0].seen;
		side_punch(&a, &refl_b, 1, t);
		side_punch(&b, &refl_a, 1, t);
		/* A's offer; B answers with its reflexive port only. */
		nxa = side_offer(&a, &refl_b, 1, 0, xa, t);
		side_punch(&b, xa, nxa, t);
		side_punch(&a, &refl_b, 1, t);
		/* B predictable: its offer; A's answer. */
		nyb = side_offer(&b, xa, nxa, mode ? nxa : 0, yb, t);
		nra = side_offer(&a, yb, nyb, nyb, ra, t);
		side_punch(&a, yb, nyb, t);
		side_punch(&b, ra, nra, t);
		met[mode] = sides_meet(&a, &b);
	}
	ok(met[1] && !met[0],
	   "B's offer after it answered A's unpredicted: its flows to A's window first meet (%d), the window first does not (%d)",
	   met[1], met[0]);
}

int main(void)
{
	test_cases();
	test_bounded();
	test_port_of();
	test_flows();
	test_model();
	test_pairing();
	test_random();
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
