/* The DHT simulator's figures: lookups per phase, the tables' census
 * and the upkeep traffic, as TAP diagnostics (dhtsim.c runs the TAP
 * tests: test/tap.h counts them per file); see dhtsim.c. */
#include "test/sim/dhtsim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/tap.h"


/* ---- reporting ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static unsigned hops_pct(const struct phase_stats *ph, double q)
{
	unsigned want = (unsigned)ceil(q * ph->found), acc = 0;

	for (unsigned h = 0; h < 32; ++h) {
		acc += ph->hops_hist[h];
		if (acc >= want && acc)
			return h;
	}
	return 31;
}

static double hops_mean(const struct phase_stats *ph)
{
	double sum = 0;

	for (unsigned h = 0; h < 32; ++h)
		sum += (double)h * ph->hops_hist[h];
	return ph->found ? sum / ph->found : 0;
}

double report_phase(struct sim *s, const char *name, struct phase_stats *ph,
		    unsigned *hops95)
{
	double success = ph->started ? 100.0 * ph->found / ph->started : 0;
	uint64_t p50 = 0, p95 = 0, max = 0;
	double mean = 0;

	qsort(ph->lat_ms, ph->n_lat, sizeof(*ph->lat_ms), cmp_u64);
	if (ph->n_lat) {
		p50 = ph->lat_ms[(ph->n_lat - 1) / 2];
		p95 = ph->lat_ms[(size_t)((ph->n_lat - 1) * 0.95)];
		max = ph->lat_ms[ph->n_lat - 1];
		for (unsigned i = 0; i < ph->n_lat; ++i)
			mean += (double)ph->lat_ms[i];
		mean /= ph->n_lat;
	}
	diag("%s: %u lookups, %u done, %u found (%.3f%%), %u named; NATed targets %u, "
	     "%u found; %u lookups saw their paths disagree (%u of them for NATed targets, "
	     "which only the paths through their anchors name)",
	     name, ph->started, ph->done, ph->found, success, ph->seen, ph->nat_targets,
	     ph->nat_found, ph->disagree, ph->disagree_nat);
	diag("%s: datagrams landing on the victim's IP address: %llu (%.2f per lookup)", name,
	     (unsigned long long)(s->victim_hits - ph->victim0),
	     ph->started ? (double)(s->victim_hits - ph->victim0) / ph->started : 0);
	diag("%s: hops mean %.2f p50 %u p95 %u max %u; rounds max %u", name, hops_mean(ph),
	     hops_pct(ph, 0.5), hops_pct(ph, 0.95), hops_pct(ph, 1.0), ph->rounds_max);
	diag("%s: per lookup %.1f queries, %.1f messages (queries + answers), %.2f timeouts",
	     name, ph->done ? (double)ph->queries / ph->done : 0,
	     ph->done ? (double)(ph->queries + ph->answers) / ph->done : 0,
	     ph->done ? (double)ph->timeouts / ph->done : 0);
	diag("%s: latency to the target's own answer: mean %.0f ms, p50 %llu, p95 %llu, max %llu",
	     name, mean, (unsigned long long)p50, (unsigned long long)p95,
	     (unsigned long long)max);
	*hops95 = hops_pct(ph, 0.95);
	return success;
}

struct table_census {
	uint64_t entries, heard, dead, hostile, nated, bad_key, subnet_full;
	unsigned min, max;
	size_t memory;
};

static void census(struct sim *s, struct table_census *c)
{
	memset(c, 0, sizeof(*c));
	c->min = UINT32_MAX;
	for (uint32_t i = 0; i < s->n_up; ++i) {
		const struct kad_table *t = &s->node[s->up[i]].t;
		unsigned n = kad_table_size(t);

		c->entries += n;
		c->heard += t->n_heard;
		c->memory += kad_table_memory(t);
		c->bad_key += t->stats.bad_key;
		c->subnet_full += t->stats.subnet_full;
		if (n < c->min)
			c->min = n;
		if (n > c->max)
			c->max = n;
		for (unsigned bi = 0; bi < t->n_buckets; ++bi)
			for (unsigned j = 0; j < t->b[bi].n; ++j) {
				uint32_t id = node_at(s, &t->b[bi].e[j].addr);

				if (id == UINT32_MAX || s->node[id].state != NODE_UP)
					++c->dead;
				else if (s->node[id].kind != K_HONEST)
					++c->hostile;
				else if (s->node[id].nated)
					++c->nated;
			}
	}
}

void report_census(struct sim *s, const char *when)
{
	struct table_census c;

	census(s, &c);
	diag("%s: %u honest nodes up; table entries mean %.1f (min %u, max %u), %.1f%% heard, "
	     "%.2f%% pointing at departed nodes; tables %.1f KiB each",
	     when, s->n_up, (double)c.entries / s->n_up, c.min, c.max,
	     100.0 * (double)c.heard / (double)c.entries,
	     100.0 * (double)c.dead / (double)c.entries,
	     (double)c.memory / s->n_up / 1024);
	diag("%s: of the honest tables' entries %.2f%% hostile, %.2f%% NATed; keys refused "
	     "%.1f, over the subnet bounds %.1f per table", when,
	     100.0 * (double)c.hostile / (double)c.entries,
	     100.0 * (double)c.nated / (double)c.entries, (double)c.bad_key / s->n_up,
	     (double)c.subnet_full / s->n_up);
}

void traffic_mark(const struct sim *s, uint64_t out[4])
{
	memcpy(out, s->sent, sizeof(s->sent));
}

void report_traffic(const struct sim *s, const uint64_t before[4], uint64_t span,
			   const char *when)
{
	double secs = (double)span / SEC, n = s->n_up + s->n_hostile;

	diag("%s: per node per minute: %.2f PING, %.2f FIND_NODE (refresh and other upkeep)",
	     when, (double)(s->sent[MSG_PING] - before[MSG_PING]) / n / secs * 60,
	     (double)(s->sent[MSG_FIND] - before[MSG_FIND]) / n / secs * 60);
}

