/* NAT filtering classification (proto/overlay/natfilter.c): a table of
 * cases, then every NAT filtering behaviour, with and without an answerer
 * that can send OTHER_IP, under every pattern of lost datagrams over the
 * rounds: with none lost the verdict is exact, with one lost it is never
 * wrong (exact, or the weaker "not port-dependent", or unknown), and no
 * classification takes more than OVL_FILTER_ROUNDS_MAX rounds. */
#include "proto/overlay/natfilter.h"
#include "test/tap.h"

#include <string.h>

static const struct {
	enum ovl_filter_mapping mapping;
	struct ovl_filter_evidence e;	/* rounds, answered, port_sent, ip_sent, port_rx, ip_rx */
	enum ovl_filtering want;
	bool again;
	const char *what;
} cases[] = {
	{ OVL_FILTER_MAPPING_NONE, { 0, 0, 0, 0, 0, 0 }, OVL_FILTER_NONE, false, "no NAT: none, no round" },
	{ OVL_FILTER_MAPPING_NONE, { 2, 2, 2, 2, 0, 0 }, OVL_FILTER_NONE, false, "no NAT: none, whatever came" },
	{ OVL_FILTER_MAPPING_UNKNOWN, { 1, 1, 1, 1, 1, 1 }, OVL_FILTER_UNKNOWN, false, "mapping unknown: unknown" },
	{ OVL_FILTER_MAPPING_NAT, { 0, 0, 0, 0, 0, 0 }, OVL_FILTER_UNKNOWN, true, "no round yet: run one" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 1, 1, 1, 1, 1 }, OVL_FILTER_EIF, false, "OTHER_IP came: endpoint-independent" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 0, 0, 0, 0, 1 }, OVL_FILTER_EIF, false, "OTHER_IP came without its ANSWER: endpoint-independent" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 1, 1, 1, 1, 0 }, OVL_FILTER_UNKNOWN, true, "OTHER_IP missed once: again" },
	{ OVL_FILTER_MAPPING_NAT, { 2, 2, 2, 2, 2, 0 }, OVL_FILTER_ADF, false, "OTHER_IP missed twice, OTHER_PORT came: address-dependent" },
	{ OVL_FILTER_MAPPING_NAT, { 3, 3, 3, 1, 3, 0 }, OVL_FILTER_NOT_PORT, false, "OTHER_IP missed once in 3 rounds: not port-dependent" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 1, 1, 0, 1, 0 }, OVL_FILTER_NOT_PORT, false, "no OTHER_IP possible: not port-dependent" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 0, 0, 0, 1, 0 }, OVL_FILTER_UNKNOWN, true, "OTHER_PORT came, no ANSWER: again" },
	{ OVL_FILTER_MAPPING_NAT, { 3, 0, 0, 0, 1, 0 }, OVL_FILTER_NOT_PORT, false, "OTHER_PORT came, never an ANSWER: not port-dependent" },
	{ OVL_FILTER_MAPPING_NAT, { 1, 1, 1, 1, 0, 0 }, OVL_FILTER_UNKNOWN, true, "nothing came once: again" },
	{ OVL_FILTER_MAPPING_NAT, { 2, 2, 2, 0, 0, 0 }, OVL_FILTER_APDF, false, "nothing came twice: address-and-port-dependent" },
	{ OVL_FILTER_MAPPING_NAT, { 2, 1, 1, 1, 0, 0 }, OVL_FILTER_UNKNOWN, true, "nothing came, one ANSWER lost: again" },
	{ OVL_FILTER_MAPPING_NAT, { 3, 1, 1, 1, 0, 0 }, OVL_FILTER_UNKNOWN, false, "nothing came, two ANSWERs lost: unknown" },
	{ OVL_FILTER_MAPPING_NAT, { 3, 0, 0, 0, 0, 0 }, OVL_FILTER_UNKNOWN, false, "no answer in 3 rounds: unknown" },
	{ OVL_FILTER_MAPPING_NAT, { 3, 3, 0, 0, 0, 0 }, OVL_FILTER_UNKNOWN, false, "answers that sent nothing: unknown" },
};

static void test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
		bool again = !cases[i].again;
		enum ovl_filtering f = ovl_filter_classify(cases[i].mapping, &cases[i].e, &again);

		ok(f == cases[i].want && again == cases[i].again, "%s (got %s%s)", cases[i].what,
		   ovl_filter_name(f), again ? ", again" : "");
	}
}

/* The truth a simulated NAT filters by. */
enum truth { T_EIF, T_ADF, T_APDF };

/* Runs one classification against a NAT filtering by t, an answerer that
 * can (ip_capable) or cannot send OTHER_IP, and a loss pattern: bit
 * 3 * round + k loses datagram k of that round (0 ANSWER, 1 OTHER_PORT,
 * 2 OTHER_IP).  Returns the verdict; *rounds the rounds it took. */
static enum ovl_filtering run(enum truth t, bool ip_capable, unsigned lost, unsigned *rounds)
{
	struct ovl_filter_evidence e;
	enum ovl_filtering f;
	bool again;
	unsigned r;

	memset(&e, 0, sizeof(e));
	f = ovl_filter_classify(OVL_FILTER_MAPPING_NAT, &e, &again);
	for (r = 0; again && r < 10; ++r) {
		bool ans = !(lost >> (3 * r) & 1);
		bool port = !(lost >> (3 * r + 1) & 1) && t != T_APDF;
		bool ip = ip_capable && !(lost >> (3 * r + 2) & 1) && t == T_EIF;

		e.rounds++;
		e.answered += ans;
		e.port_sent += ans;
		e.ip_sent += ans && ip_capable;
		e.port_rx += port;
		e.ip_rx += ip;
		f = ovl_filter_classify(OVL_FILTER_MAPPING_NAT, &e, &again);
	}
	*rounds = r;
	return f;
}

static enum ovl_filtering exact(enum truth t)
{
	return t == T_EIF ? OVL_FILTER_EIF : t == T_ADF ? OVL_FILTER_ADF : OVL_FILTER_APDF;
}

static void test_losses(void)
{
	static const char *const names[] = { "endpoint-independent", "address-dependent",
					     "address-and-port-dependent" };
	unsigned t, cap, lost, rounds;

	for (t = T_EIF; t <= T_APDF; ++t) {
		for (cap = 0; cap < 2; ++cap) {
			enum ovl_filtering clean = run(t, cap, 0, &rounds), f;
			enum ovl_filtering want = !cap && t != T_APDF ? OVL_FILTER_NOT_PORT : exact(t);
			unsigned wrong = 0, unknown = 0, weaker = 0, too_long = 0, wrong2 = 0;

			ok(clean == want, "%s NAT, %s: %s without loss (got %s, %u rounds)", names[t],
			   cap ? "an answerer with two addresses" : "no OTHER_IP test",
			   ovl_filter_name(want), ovl_filter_name(clean), rounds);
			for (lost = 0; lost < 1u << (3 * OVL_FILTER_ROUNDS_MAX); ++lost) {
				bool bad;

				f = run(t, cap, lost, &rounds);
				too_long += rounds > OVL_FILTER_ROUNDS_MAX;
				bad = f != exact(t) && f != OVL_FILTER_UNKNOWN &&
				      !(f == OVL_FILTER_NOT_PORT && t != T_APDF);
				if (__builtin_popcount(lost) == 1) {
					wrong += bad;
					unknown += f == OVL_FILTER_UNKNOWN;
					weaker += f == OVL_FILTER_NOT_PORT && cap;
				} else {
					wrong2 += bad;
				}
			}
			ok(!wrong && !too_long, "%s NAT, %s: no wrong verdict after any one lost datagram, "
			   "at most %d rounds (%u unknown, %u weaker)", names[t],
			   cap ? "two addresses" : "no OTHER_IP test", OVL_FILTER_ROUNDS_MAX, unknown, weaker);
			diag("%s, %s: %u wrong verdicts over the patterns of two or more losses", names[t],
			     cap ? "two addresses" : "one address", wrong2);
		}
	}
}

int main(void)
{
	test_cases();
	test_losses();
	return tap_done();
}
