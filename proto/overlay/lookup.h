/* Iterative Kademlia lookups (FIND_NODE semantics), and the driver of the
 * routing table's periodic work: sans-I/O.
 *
 * A lookup for a target key keeps a shortlist of the closest candidates
 * seen, sorted by XOR distance, seeded from the routing table.  It keeps
 * alpha FIND_NODE queries in flight to the closest candidates not yet
 * asked; every NODES answer adds the named contacts (to the shortlist, and
 * to the table as "learned") and frees a slot.  A query unanswered after
 * query_timeout_ns counts as failed (the table is told) and the slot goes
 * to the next candidate; an answer that comes later is still used.  The
 * exact target, once named, is asked at once, even beyond alpha, and up
 * to target_tries times.  A lookup ends when:
 *   - FOUND: the target itself answered (lookups started with
 *     KAD_LOOKUP_STOP_ON_FOUND; the others go on to convergence);
 *   - CONVERGED: the k closest candidates that did not fail have all
 *     answered, so no closer node can appear;
 *   - EXHAUSTED: every candidate failed;
 *   - QUERY_CAP / TIME_CAP: max_queries sent or lookup_max_ns elapsed.
 * All lookups in a struct kad_lookups run concurrently, each under its
 * own txid (the FIND_NODE / NODES transaction id); an answer is used only
 * if its txid is a running lookup's and its sender was asked by it, at
 * the address it comes from (anything else changes nothing).
 *
 * Disjoint paths (S/Kademlia, Baumgart and Mies 2007, section 4.4): the
 * seeds are dealt round-robin, closest first, to `paths` (d) paths; a
 * contact named by an answer joins the path of the node that named it,
 * and a key or address already in the lookup stays where it is, so no
 * node serves two paths.  Each path keeps its own share of the shortlist
 * (shortlist / d), max(1, alpha / d) queries in flight, and converges when
 * its ceil(k / d) closest live candidates answered; together the d paths
 * still cover k.  A hostile node can then poison only the path that asked
 * it.  When the paths disagree about the target (one path named or found
 * it public, another converged without anyone in it naming the target),
 * the result says so (paths_disagree) and stats.disagreed counts it.  A
 * target named only as NATed does not count: only the paths through the
 * nodes it keeps a path to (its anchors) can name it.  d = 1
 * is the plain Kademlia lookup.
 *
 * With KAD_DEF_KEYS (kademlia.h) the target and every candidate must
 * pass the table's key check; with KAD_DEF_SUBNET the shortlist holds at
 * most per_ip candidates of one IP address and per_subnet of one /24 or
 * /64; with KAD_DEF_NAT a NATed candidate other than the target is not
 * asked unless our table heard it within nat_live_ns (a stranger's
 * datagram would not pass its NAT).
 *
 * Hops: candidates from the table have depth 0; a contact named by a
 * node of depth d has depth d + 1.  A result's hops is the depth at which
 * the target was first named (0: it was in our table), and rounds is the
 * deepest answer + 1, the length of the longest chain of round trips.
 *
 * The same object drives the table: kad_lookups_tick() runs kad_tick(),
 * sends the liveness checks, starts the refresh lookups and the bootstrap
 * lookup of our own ID (after which every bucket is refreshed once, the
 * paper's join), and expires queries.  Output goes through callbacks,
 * which may send at once but must not call back into this object, except
 * done(), which may start new lookups.
 *
 * Memory: at most max_lookups lookups, each a fixed-size allocation made
 * at start and freed before done() runs.  Errors: negative errno. */
#ifndef WH_PROTO_OVERLAY_LOOKUP_H
#define WH_PROTO_OVERLAY_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/overlay/kademlia.h"

#define KAD_SHORTLIST_MAX 64
#define KAD_QUERIES_MAX 128
/* Contacts read from one NODES answer; the rest are ignored. */
#define KAD_NODES_MAX 32
#define KAD_PATHS_MAX 8

struct kad_lookup_params {
	unsigned alpha;		  /* queries in flight: 3 */
	unsigned shortlist;	  /* candidates kept: 2k, <= KAD_SHORTLIST_MAX */
	unsigned max_queries;	  /* per lookup: 64, <= KAD_QUERIES_MAX */
	unsigned target_tries;	  /* attempts at the exact target: 4 (5% loss, doc/dht-simulation.md) */
	uint64_t query_timeout_ns; /* 1 s */
	uint64_t lookup_max_ns;	  /* a whole lookup: 30 s */
	unsigned max_lookups;	  /* concurrent lookups: 16 */
	unsigned max_internal;	  /* of which refreshes and bootstrap: 4 */
	unsigned paths;		  /* disjoint paths d: 3, <= KAD_PATHS_MAX */
};

enum kad_lookup_flags {
	KAD_LOOKUP_STOP_ON_FOUND = 1 << 0,
};

enum kad_lookup_kind {
	KAD_KIND_USER,
	KAD_KIND_REFRESH,
	KAD_KIND_BOOTSTRAP,
};

enum kad_lookup_end {
	KAD_END_FOUND,
	KAD_END_CONVERGED,
	KAD_END_EXHAUSTED,
	KAD_END_QUERY_CAP,
	KAD_END_TIME_CAP,
};

struct kad_lookup_result {
	uint64_t txid;
	uint8_t kind;			/* enum kad_lookup_kind */
	uint8_t end;			/* enum kad_lookup_end */
	uint8_t target[KAD_KEY_LEN];
	bool found;			/* the target itself answered */
	bool seen;			/* the target was named (target_contact) */
	bool paths_disagree;		/* see "Disjoint paths" above */
	struct kad_contact target_contact;
	unsigned hops;			/* valid if seen */
	unsigned rounds;
	unsigned sent, replies, timeouts;
	uint64_t elapsed_ns;		/* start to end */
	uint64_t found_ns;		/* start to the target's answer */
	size_t n_closest;		/* the closest that answered, closest first */
	struct kad_contact closest[KAD_K_MAX];
};

struct kad_lookup_ops {
	/* Send FIND_NODE(txid, target) to `to`. */
	void (*find_node)(void *ctx, const struct kad_contact *to, uint64_t txid,
			  const uint8_t target[KAD_KEY_LEN]);
	/* Send a PING to `to`; its answer (any message) goes to
	 * kad_table_heard(), its absence is noticed by the table. */
	void (*ping)(void *ctx, const struct kad_contact *to);
	/* A lookup ended, of any kind; r is valid during the call. */
	void (*done)(void *ctx, const struct kad_lookup_result *r);
};

struct kad_lookup_stats {
	uint64_t started, finished, found, busy;
	uint64_t sent, replies, timeouts, late, ignored, pings;
	uint64_t disagreed;	/* lookups whose paths disagreed */
	uint64_t bad_key;	/* KAD_DEF_KEYS: named keys refused */
	uint64_t subnet_full;	/* KAD_DEF_SUBNET: named contacts over the bounds */
	uint64_t nat_skipped;	/* KAD_DEF_NAT: NATed candidates not asked */
};

struct kad_lookup;

struct kad_lookups {
	struct kad_table *table;
	struct kad_lookup_params p;
	const struct kad_lookup_ops *ops;
	void *ctx;
	struct kad_lookup **slot;	/* max_lookups, NULL when free */
	unsigned n_active;
	unsigned n_internal;
	uint64_t next_txid;
	uint64_t next_ns;		/* earliest query or lookup deadline */
	struct kad_lookup_stats stats;
};

void kad_lookup_params_default(struct kad_lookup_params *p);

/* params NULL: the defaults.  0, -EINVAL or -ENOMEM.  The table must
 * outlive the lookups. */
int kad_lookups_init(struct kad_lookups *ls, struct kad_table *table,
		     const struct kad_lookup_params *params,
		     const struct kad_lookup_ops *ops, void *ctx);
/* Drops every running lookup without calling done(). */
void kad_lookups_free(struct kad_lookups *ls);

/* Starts a lookup of target; its txid in *txid.  done() may run before
 * this returns (nothing to ask).  0 or -EBUSY (no free slot), -ENOMEM,
 * -EINVAL (the table's key check refused the target). */
int kad_lookup_start(struct kad_lookups *ls, const uint8_t target[KAD_KEY_LEN],
		     unsigned flags, uint64_t now_ns, uint64_t *txid);
/* A NODES answer (authenticated) from from_key at from_addr; from_flags:
 * KAD_F_NATED if the daemon knows the sender is NATed.  An answer no
 * lookup waits for (kad_lookups_expects) is counted as ignored and
 * changes nothing; an expected one validates its sender in the table.
 * A named contact at an address another candidate already has is not
 * added: one address is asked once per lookup. */
void kad_lookups_on_nodes(struct kad_lookups *ls, uint64_t txid,
			  const uint8_t from_key[KAD_KEY_LEN],
			  const struct ovl_addr *from_addr, unsigned from_flags,
			  const struct kad_contact *nodes, size_t n, uint64_t now_ns);

/* Whether a NODES under txid from from_key at from_addr answers a
 * FIND_NODE a running lookup sent to that key at that address (doc/
 * protocol.md 8.1); kad_lookups_on_nodes() ignores any other. */
bool kad_lookups_expects(const struct kad_lookups *ls, uint64_t txid,
			 const uint8_t from_key[KAD_KEY_LEN], const struct ovl_addr *from_addr);

/* Runs the table's tick and the lookups' timeouts; returns the next
 * deadline.  Calling it early is harmless. */
uint64_t kad_lookups_tick(struct kad_lookups *ls, uint64_t now_ns);
/* When kad_lookups_tick() wants to run next; may move earlier after any
 * event (a query sent, a contact learned), so ask after each. */
uint64_t kad_lookups_deadline(const struct kad_lookups *ls);

#endif
