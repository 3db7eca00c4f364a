/* Port prediction (predict.h, doc/protocol.md 9.7). */
#include "proto/overlay/predict.h"

#include "proto/overlay/engine_priv.h"

#include <string.h>

/* ---- our flows ---- */

static bool flow_live(const struct ovl_predict_flows *f, unsigned i, uint64_t now_ns)
{
	return f->slot[i].num && now_ns - f->slot[i].last_ns < OVL_PREDICT_FLOW_IDLE_S * NS_PER_S;
}

void ovl_predict_flow_sent(struct ovl_predict_flows *f, const struct ovl_addr *to, uint64_t now_ns)
{
	unsigned i, pick = 0;

	for (i = 0; i < OVL_PREDICT_FLOWS; ++i) {
		if (f->slot[i].num && ovl_addr_equal(&f->slot[i].to, to)) {
			/* Idle too long: the NAT has likely forgotten it, and
			 * the next datagram opens a new mapping. */
			if (!flow_live(f, i, now_ns))
				f->slot[i].num = ++f->count;
			f->slot[i].last_ns = now_ns;
			return;
		}
		/* A free slot, else the one idle longest. */
		if (!f->slot[i].num || f->slot[i].last_ns < f->slot[pick].last_ns)
			pick = i;
	}
	f->slot[pick].to = *to;
	f->slot[pick].num = ++f->count;
	f->slot[pick].last_ns = now_ns;
}

uint64_t ovl_predict_flow_of(const struct ovl_predict_flows *f, const struct ovl_addr *to)
{
	unsigned i;

	/* Idle or not: an observation of an idle flow still tells where
	 * the NAT stood when that flow was opened. */
	for (i = 0; i < OVL_PREDICT_FLOWS; ++i)
		if (f->slot[i].num && ovl_addr_equal(&f->slot[i].to, to))
			return f->slot[i].num;
	return 0;
}

/* Our flow number num counted in the flows that took a port of our NAT,
 * whose external address is at ext's IP: those to that address itself
 * (an earlier member behind the same NAT, from the DHT) took none.  A NAT
 * that does not hairpin (the lab's, many home routers) delivers such a
 * datagram to itself and maps nothing; counted, each one after the last
 * observation put our prediction a port too high (doc/nat-lab.md).  A
 * flow numbered anew after an idle spell is counted at its new number
 * only; the old one counts as a port, as before. */
static uint64_t nat_flow(const struct ovl_predict_flows *f, const struct ovl_addr *ext, uint64_t num)
{
	uint64_t own = 0;
	unsigned i;

	for (i = 0; i < OVL_PREDICT_FLOWS && num; ++i)
		if (f->slot[i].num && f->slot[i].num < num && ovl_addr_same_ip(&f->slot[i].to, ext))
			++own;
	return num - own;
}

/* ---- the prediction ---- */

/* With flow numbers: the observations sorted by flow must climb by at
 * most OVL_PREDICT_MAX_GAP ports per flow opened between them; the step
 * is the smallest climb per flow (other hosts' flows only add ports), and
 * 1 when the ports climbed less than our flows (some of ours never
 * crossed the NAT: a LAN address).  The next port: the last one plus a
 * step per flow opened since. */
static bool by_flows(const struct ovl_predict_obs *o[], unsigned k, uint64_t next_flow,
		     struct ovl_prediction *out)
{
	unsigned i, j, step = UINT16_MAX;
	uint64_t ahead;

	for (i = 1; i < k; ++i)	/* insertion sort by flow */
		for (j = i; j > 0 && o[j]->flow < o[j - 1]->flow; --j) {
			const struct ovl_predict_obs *t = o[j];

			o[j] = o[j - 1];
			o[j - 1] = t;
		}
	for (i = 1; i < k; ++i) {
		uint64_t flows = o[i]->flow - o[i - 1]->flow;
		unsigned climb;

		if (!flows || o[i]->seen.port <= o[i - 1]->seen.port)
			return false;
		climb = o[i]->seen.port - o[i - 1]->seen.port;
		if (climb > flows * OVL_PREDICT_MAX_GAP)
			return false;
		if (climb < flows)
			step = 1;
		else if (climb / flows < step)
			step = (unsigned)(climb / flows);
	}
	ahead = next_flow > o[k - 1]->flow ? next_flow - o[k - 1]->flow : 1;
	if (ahead > OVL_PREDICT_FLOWS || o[k - 1]->seen.port + ahead * step > UINT16_MAX)
		return false;
	out->step = (uint16_t)step;
	out->next = o[k - 1]->seen;
	out->next.port = (uint16_t)(o[k - 1]->seen.port + ahead * step);
	return true;
}

/* Without: the distinct ports sorted, every gap small; the step is the
 * smallest gap, the next port one step past the highest. */
static bool by_ports(const struct ovl_predict_obs *o[], unsigned k, struct ovl_prediction *out)
{
	uint16_t ports[OVL_PREDICT_OBS_MAX];
	unsigned n = 0, i, j, step = UINT16_MAX;

	for (i = 0; i < k; ++i) {
		for (j = 0; j < n && ports[j] < o[i]->seen.port; ++j)
			;
		if (j < n && ports[j] == o[i]->seen.port)
			continue;
		memmove(&ports[j + 1], &ports[j], (n - j) * sizeof(ports[0]));
		ports[j] = o[i]->seen.port;
		++n;
	}
	if (n < 2)
		return false;
	for (i = 1; i < n; ++i) {
		unsigned gap = (unsigned)(ports[i] - ports[i - 1]);

		if (gap > OVL_PREDICT_MAX_GAP)
			return false;
		if (gap < step)
			step = gap;
	}
	if (ports[n - 1] + step > UINT16_MAX)
		return false;
	out->step = (uint16_t)step;
	out->next = o[0]->seen;
	out->next.port = (uint16_t)(ports[n - 1] + step);
	return true;
}

bool ovl_predict(const struct ovl_predict_obs *obs, unsigned n, uint16_t local_port,
		 uint64_t next_flow, struct ovl_prediction *out)
{
	const struct ovl_predict_obs *o[OVL_PREDICT_OBS_MAX];
	const struct ovl_addr *ip = NULL;
	unsigned k = 0, i, j;
	bool all_flows = true;

	memset(out, 0, sizeof(*out));
	out->local_port = local_port;
	if (n > OVL_PREDICT_OBS_MAX)
		n = OVL_PREDICT_OBS_MAX;
	/* One external IP address for all (a NAT with a pool of addresses
	 * is not predicted); our own source port apart: it says the NAT
	 * preserves ports.  One observation per flow (the latest). */
	for (i = 0; i < n; ++i) {
		if (!ovl_addr_valid(&obs[i].seen))
			continue;
		if (ip && !ovl_addr_same_ip(ip, &obs[i].seen))
			return false;
		ip = &obs[i].seen;
		if (obs[i].seen.port == local_port) {
			out->preserved = true;
			continue;
		}
		for (j = 0; j < k && (!obs[i].flow || o[j]->flow != obs[i].flow); ++j)
			;
		if (j < k)
			continue;
		all_flows &= obs[i].flow != 0;
		o[k++] = &obs[i];
	}
	if (!ip)
		return false;
	out->sequential = k >= 2 && (all_flows ? by_flows(o, k, next_flow, out) : by_ports(o, k, out));
	if (!out->sequential) {
		out->step = 0;
		out->next = *ip;
		out->next.port = 0;
	}
	/* Our source port preserved while other mappings got other ports:
	 * the NAT keeps it when it can, and may for the next destination. */
	return out->sequential || (out->preserved && k >= 1);
}

unsigned ovl_predict_window(const struct ovl_prediction *pr, struct ovl_addr *out, unsigned max)
{
	unsigned n = 0, i;
	uint32_t port = pr->next.port;

	if (pr->sequential)
		for (i = 0; i < OVL_PREDICT_WINDOW && n < max && port <= UINT16_MAX; ++i) {
			out[n] = pr->next;
			out[n++].port = (uint16_t)port;
			port += pr->step;
		}
	if (pr->preserved && n < max && pr->local_port) {
		for (i = 0; i < n && out[i].port != pr->local_port; ++i)
			;
		if (i == n) {
			out[n] = pr->next;
			out[n++].port = pr->local_port;
		}
	}
	return n;
}

uint16_t ovl_predict_port_of(const struct ovl_prediction *pr, const struct ovl_predict_obs *obs,
			     unsigned n, uint64_t flow)
{
	const struct ovl_predict_obs *below = NULL, *above = NULL;
	uint64_t port;
	unsigned i;

	if (!pr->sequential || !flow)
		return 0;
	for (i = 0; i < n; ++i) {
		const struct ovl_predict_obs *o = &obs[i];

		if (!o->flow || !ovl_addr_same_ip(&o->seen, &pr->next) || o->seen.port == pr->local_port)
			continue;
		if (o->flow <= flow && (!below || o->flow > below->flow))
			below = o;
		if (o->flow > flow && (!above || o->flow < above->flow))
			above = o;
	}
	if (below)
		port = below->seen.port + (flow - below->flow) * pr->step;
	else if (above && (above->flow - flow) * pr->step < above->seen.port)
		port = above->seen.port - (above->flow - flow) * pr->step;
	else
		return 0;
	return port && port <= UINT16_MAX ? (uint16_t)port : 0;
}

/* Appends the ports of our live flows to peer[from..to) (computed by the
 * step from the nearest observation, obs numbered by nat_flow) to
 * out[*w..max), skipping those already there and those to our NAT's own
 * address (they took no port). */
static void flows_to_peer(const struct ovl_predict_flows *fl, uint64_t now_ns,
			  const struct ovl_prediction *pr, const struct ovl_predict_obs *obs, unsigned n,
			  const struct ovl_addr *peer, unsigned from, unsigned to, struct ovl_addr *out,
			  unsigned *w, unsigned max)
{
	unsigned i, k;

	for (i = from; i < to && *w < max; ++i) {
		uint64_t f = ovl_predict_flow_of(fl, &peer[i]);
		uint16_t port;

		for (k = 0; k < OVL_PREDICT_FLOWS; ++k)
			if (fl->slot[k].num == f)
				break;
		if (!f || k == OVL_PREDICT_FLOWS || !flow_live(fl, k, now_ns) ||
		    ovl_addr_same_ip(&peer[i], &pr->next))
			continue;
		port = ovl_predict_port_of(pr, obs, n, nat_flow(fl, &pr->next, f));
		for (k = 0; k < *w && (!port || out[k].port != port); ++k)
			;
		if (!port || k < *w)
			continue;
		out[*w] = pr->next;
		out[(*w)++].port = port;
	}
}

unsigned ovl_predict_offer(const struct ovl_predict_flows *fl, uint64_t now_ns,
			   const struct ovl_predict_obs *obs, unsigned n, uint16_t local_port,
			   const struct ovl_addr *peer, unsigned n_peer, unsigned n_pred,
			   struct ovl_addr *out, unsigned max)
{
	struct ovl_addr win[OVL_PREDICT_WINDOW + 1];
	struct ovl_predict_obs nat[OVL_PREDICT_OBS_MAX];
	const struct ovl_addr *ext = NULL;
	struct ovl_prediction pr;
	unsigned w = 0, nw, j, k;

	/* Flows numbered among those that took a port of our NAT (nat_flow):
	 * its external address is the one the observers saw. */
	if (n > OVL_PREDICT_OBS_MAX)
		n = OVL_PREDICT_OBS_MAX;
	for (j = 0; j < n && !ext; ++j)
		if (ovl_addr_valid(&obs[j].seen))
			ext = &obs[j].seen;
	if (!ext)
		return 0;
	for (j = 0; j < n; ++j) {
		nat[j].seen = obs[j].seen;
		nat[j].flow = obs[j].flow ? nat_flow(fl, ext, obs[j].flow) : 0;
	}
	obs = nat;
	if (!ovl_predict(obs, n, local_port, nat_flow(fl, ext, fl->count + 1), &pr))
		return 0;
	if (n_pred > n_peer)
		n_pred = n_peer;
	/* Our punches to the peer's predicted ports that we already sent
	 * (an exchange of its that we answered before our ports were
	 * predictable) leave from those flows' ports: listed first and in
	 * its order, they pair with its next punches, its new flows, in
	 * order (9.7, step 3). */
	flows_to_peer(fl, now_ns, &pr, obs, n, peer, 0, n_pred, out, &w, max);
	nw = ovl_predict_window(&pr, win, OVL_PREDICT_WINDOW + 1);
	for (j = 0; j < nw && w < max; ++j) {
		for (k = 0; k < w && out[k].port != win[j].port; ++k)
			;
		if (k == w)
			out[w++] = win[j];
	}
	/* After the window, so that the window's order stays what two
	 * sequential NATs need (9.7). */
	flows_to_peer(fl, now_ns, &pr, obs, n, peer, n_pred, n_peer, out, &w, max);
	return w;
}

unsigned ovl_engine_predict(const struct ovl_engine *e, uint64_t now_ns, uint16_t local_port,
			    const struct ovl_addr *peer, unsigned n_peer, unsigned n_pred,
			    struct ovl_addr *out, unsigned max)
{
	struct ovl_predict_obs obs[OBSERVATIONS];
	unsigned n = 0, i;

	if (ovl_engine_nat_mapping(e, now_ns, NULL) != OVL_NAT_EDM)
		return 0;
	for (i = 0; i < OBSERVATIONS; ++i) {
		const struct ovl_observation *o = &e->obs[i];

		if (!o->at_ns || now_ns - o->at_ns > OBSERVATION_NS)
			continue;
		obs[n].seen = o->seen;
		obs[n++].flow = ovl_predict_flow_of(&e->flows, &o->observer);
	}
	return ovl_predict_offer(&e->flows, now_ns, obs, n, local_port, peer, n_peer, n_pred, out, max);
}
