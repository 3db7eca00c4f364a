/* The DHT simulator's world, shared by dhtsim.c (the world and its
 * scenario) and dhtsim_report.c (the figures); see dhtsim.c. */
#ifndef WH_TEST_SIM_DHTSIM_H
#define WH_TEST_SIM_DHTSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/overlay/kademlia.h"
#include "proto/overlay/lookup.h"
#include "test/sim/simkit.h"

#define MSEC 1000000ull
#define SEC (1000 * MSEC)
#define MIN (60 * SEC)

#define PORT 51820
#define NAT_SLOTS 256
#define ULK_MAX 4		/* user lookups followed per node */
#define ANSWER_MAX 20		/* contacts in one NODES */
#define ANCHORS 3		/* public nodes a NATed node keeps a path to */

/* ---- configuration ---- */

struct config {
	unsigned nodes, boot, lookups;
	double churn;		/* share of the honest non-bootstrap nodes replaced */
	double loss;		/* per datagram */
	bool link_loss;		/* loss drawn per link in [0, 2 loss] */
	unsigned lat_min_ms, lat_max_ms;
	uint64_t join_span, settle, lookup_span, churn_span;
	uint64_t seed;
	double min_success, min_success_churn;
	double max_hops_p95;
	bool verbose;
	double nat;		/* share of the honest nodes behind NATs */
	uint64_t nat_timeout;
	double hostile[4];	/* share of all nodes, by enum node_kind */
	unsigned per24;		/* hostile nodes per /24 */
	bool defences;
	unsigned paths;		/* 0: the core's default */
	unsigned target_tries;	/* 0: the core's default */
};

/* ---- the world ---- */

enum node_state { NODE_OFF, NODE_UP, NODE_GONE };
enum node_kind { K_HONEST, K_CLOSE, K_SILENT, K_VICTIM };

struct sim;

struct natmap {
	uint32_t peer;
	uint32_t until_s;	/* the mapping's end, in virtual seconds */
};

/* A user lookup followed for its rendezvous (scenario, step 3). */
struct ulk {
	uint64_t txid;
	uint32_t target;
	bool used, reached;
};

struct node {
	struct sim *sim;
	uint32_t id;
	uint8_t state;		/* enum node_state */
	uint8_t kind;		/* enum node_kind */
	bool nated;
	uint8_t key[KAD_KEY_LEN];
	struct ovl_addr addr;
	uint64_t tick_at;	/* the pending EV_TICK, UINT64_MAX if none */
	struct natmap *map;	/* NAT_SLOTS when nated */
	struct ulk ulk[ULK_MAX];
	struct kad_table t;
	struct kad_lookups ls;
};

enum ev_kind { EV_TICK, EV_MSG, EV_JOIN, EV_LEAVE, EV_LOOKUP, EV_KEEP };

enum msg_type { MSG_PING, MSG_PONG, MSG_FIND, MSG_NODES };

struct msg {
	uint32_t from, to;
	uint8_t type, n;
	uint64_t txid;
	union {
		uint8_t target[KAD_KEY_LEN];
		struct kad_contact nodes[ANSWER_MAX];
	} u;
	uint32_t next_free;
};

struct phase_stats {
	unsigned started, done, found, seen, disagree, disagree_nat;
	unsigned nat_targets, nat_found;
	uint64_t queries, answers, timeouts;
	unsigned hops_hist[32];
	unsigned rounds_max;
	uint64_t *lat_ms;	/* latency of the found ones */
	unsigned n_lat;
	uint64_t victim0;	/* victim_hits when the phase began */
};

struct sim {
	struct config cfg;
	struct rng rng;		/* the scenario's choices and the network */
	struct rng node_rng;	/* handed to every node's core */
	struct node *node;
	uint32_t n_nodes, cap_nodes;
	uint64_t now;
	struct evq q;
	struct msg *msg;
	uint32_t n_msg, cap_msg, free_msg;
	struct kad_params kp;
	struct kad_lookup_params lp;
	uint32_t boot_ids[KAD_BOOT_MAX];
	uint32_t *hostile;	/* hostile node ids, by their /24 packing */
	uint32_t n_hostile;
	uint32_t *colluders;	/* K_CLOSE ids sorted by key */
	uint32_t n_colluders;
	uint32_t victim;	/* UINT32_MAX: none */
	/* counters */
	uint64_t sent[4], lost, dead_drops, nat_drops, nowhere, victim_hits, events;
	int phase;		/* -1: no measurement */
	struct phase_stats ph[2];
	struct ulk *starting;	/* the lookup kad_lookup_start is starting */
	uint32_t *up;		/* the honest nodes up, for random picks */
	uint32_t n_up;
};

/* dhtsim_pop.c */
uint8_t key_check_byte(const uint8_t k[KAD_KEY_LEN]);
/* kad_key_ok_fn: the model of the workbit. */
bool key_good(void *ctx, const uint8_t k[32]);
struct ovl_addr addr_honest(uint32_t id);
/* The address of the j-th hostile node. */
struct ovl_addr addr_hostile(const struct sim *s, uint32_t j);
/* The node at a, or UINT32_MAX. */
uint32_t node_at(const struct sim *s, const struct ovl_addr *a);
/* nd sent to peer: its NAT keeps the mapping open for nat_timeout. */
void nat_open(const struct sim *s, struct node *nd, uint32_t peer);
/* Whether a datagram from peer passes nd's NAT now. */
bool nat_passes(const struct sim *s, const struct node *nd, uint32_t peer);
/* qsort_r order of node ids (ctx: the sim) by key. */
int key_cmp_id(const void *a, const void *b, void *ctx);
/* What hostile node h answers to FIND_NODE(target) in c (ANSWER_MAX);
 * 0: nothing. */
size_t hostile_answer(struct sim *s, const struct node *h, const uint8_t *target,
		      struct kad_contact *c);

/* dhtsim_report.c */
/* Prints a phase's figures; returns its success in percent and its p95
 * of hops in *hops95.  The TAP tests are dhtsim.c's (test/tap.h keeps
 * its counters per file). */
double report_phase(struct sim *s, const char *name, struct phase_stats *ph, unsigned *hops95);
void report_census(struct sim *s, const char *when);
void traffic_mark(const struct sim *s, uint64_t out[4]);
void report_traffic(const struct sim *s, const uint64_t before[4], uint64_t span,
		    const char *when);

#endif
