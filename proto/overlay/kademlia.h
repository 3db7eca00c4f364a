/* The Kademlia routing table of the overlay: sans-I/O.
 *
 * Node IDs are the nodes' 32-byte X25519 public keys and the metric is
 * XOR.  The table is a list of k-buckets indexed by the length of the
 * prefix a key shares with our own ID (its CPL).  Bucket i holds keys
 * whose CPL is exactly i, except the last bucket, which holds every key
 * with CPL >= its index: it is the one that covers our own ID, and it is
 * split in two when it is full and a contact arrives that would fall
 * into the deeper half.  This is the splitting tree of the Kademlia
 * paper reduced to its only useful shape (a spine along our own ID); it
 * answers exactly like 256 fixed buckets but allocates only the buckets
 * a network of N nodes fills, about log2(N / k) + 1 of them, so that a
 * table stays a few tens of kilobytes and a simulator can hold ten
 * thousand of them.  Buckets are never merged; there are at most 256.
 *
 * Each bucket holds up to k entries and a replacement cache of up to
 * `cache` more.  A contact for a full bucket goes to the cache; when an
 * entry fails max_fails consecutive checks in a row it is evicted and
 * the freshest cache entry takes its place.
 *
 * Contacts come in two kinds:
 *   - heard: we received an authenticated message from it (any message:
 *     the secure layer proved the key); kad_table_heard().
 *   - learned: named in a NODES answer by someone else; it is used for
 *     our own lookups but never handed out to others until it has been
 *     heard (a query answered, a liveness check answered);
 *     kad_table_learned().  A learned contact that fails once is dropped.
 * A heard contact may take the slot of a learned entry in a full bucket
 * (proven nodes over hearsay); otherwise old live entries are kept, as
 * the paper advises, and newcomers wait in the cache.
 *
 * Liveness: an entry heard within stale_ns counts as live and costs
 * nothing.  kad_tick() sends a liveness check (PING) only to stale or
 * learned entries, least recently seen first, at most checks_per_tick
 * every tick_ns; an unanswered check is a failure after check_timeout_ns.
 * A bucket untouched for refresh_ns (no insertion, no answered query or
 * check, no lookup in its range) gets a refresh lookup of a random ID in
 * its range.  The last bucket, our own neighbourhood, counts as touched
 * only by a lookup in its range, and its refresh is a lookup of our own
 * ID: at least every refresh_ns, which keeps us in our neighbours' tables
 * and them in ours as nodes come and go (the paper's join, repeated).
 * With bootstrap contacts configured, a table that has not joined asks
 * for a bootstrap (look up our own ID through them), with a backoff; it
 * has joined once such a lookup got answers (kad_table_bootstrapped()),
 * and leaves that state when no heard entry is left.  Pings answered by
 * the bootstrap nodes are not enough: a node that knows only them has
 * not found its neighbourhood.
 *
 * Defences against hostile nodes (issue 19), each a bit of
 * kad_params.defences so that the simulator can measure what it buys;
 * kad_params_default() turns them all on:
 *   - KAD_DEF_KEYS: every key is checked by the caller's key_ok before it
 *     enters the table; lookups check the target and every candidate the
 *     same way (lookup.c).  The daemon sets no key_ok: its secure layer
 *     and dht.c check the workbit of senders and named keys before the
 *     core sees them; the simulator sets its model of the workbit.
 *   - KAD_DEF_SUBNET: a bucket with its cache holds at most per_ip
 *     entries of one IP address and per_subnet of one /24 (IPv6: /64),
 *     as Mainline keeps one entry per IP; a lookup's shortlist obeys the
 *     same bounds.  Addresses of a LAN or a lab (private, CGNAT, ULA,
 *     loopback, link-local, the documentation and benchmark ranges) are
 *     exempt, as BEP 42 exempts local addresses: there many honest nodes
 *     share a subnet.
 *   - KAD_DEF_NAT: a NATed entry is handed to others (kad_table_answer)
 *     only while we have a live path to it (heard within nat_live_ns,
 *     having answered a query of ours within nat_replied_ns, so that its
 *     address is validated, doc/protocol.md 8.1): then the asker can meet it
 *     through us.  Lookups do not query NATed candidates other than the
 *     target unless our table heard them lately (lookup.c).
 * Lookups also run over disjoint paths (kad_lookup_params.paths).
 *
 * Time is a caller-supplied monotonic clock in nanoseconds; randomness
 * comes only from the injected rng.  Only this file writes the table
 * (STYLE rule 1); other code reads it through the functions below.
 *
 * Errors: setup returns 0 or a negative errno; events return void or an
 * enum; nothing here logs. */
#ifndef WH_PROTO_OVERLAY_KADEMLIA_H
#define WH_PROTO_OVERLAY_KADEMLIA_H

#include "proto/overlay/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KAD_KEY_LEN 32
#define KAD_BITS (KAD_KEY_LEN * 8)
/* Upper bounds on the tunables, so that callers can size arrays. */
#define KAD_K_MAX 32
#define KAD_CACHE_MAX 16
#define KAD_CHECKS_MAX 16
#define KAD_REFRESH_MAX 8
#define KAD_BOOT_MAX 16

/* Flags of an entry; KAD_F_NATED and KAD_F_HEARD are also the flags of a
 * contact handed out. */
enum kad_flags {
	KAD_F_NATED = 1 << 0,	 /* behind a NAT (the daemon says so) */
	KAD_F_HEARD = 1 << 1,	 /* heard from directly, not only learned */
	KAD_F_REPLIED = 1 << 2,	 /* answered a query of ours at least once */
	KAD_F_CHECKING = 1 << 3, /* a liveness check is in flight */
	KAD_F_RELAY = 1 << 4,	 /* offers relaying (the daemon says so) */
};

/* The defences of the top comment, bits of kad_params.defences. */
enum kad_defence {
	KAD_DEF_KEYS = 1 << 0,
	KAD_DEF_SUBNET = 1 << 1,
	KAD_DEF_NAT = 1 << 2,
	KAD_DEF_ALL = KAD_DEF_KEYS | KAD_DEF_SUBNET | KAD_DEF_NAT,
};

/* Whether a key may be a node's (the daemon: enough workbit). */
typedef bool kad_key_ok_fn(void *ctx, const uint8_t key[32]);

/* What leaves the table: a key, where to reach it, KAD_F_NATED|HEARD. */
struct kad_contact {
	uint8_t key[KAD_KEY_LEN];
	struct ovl_addr addr;
	uint8_t flags;
};

struct kad_entry {
	uint8_t key[KAD_KEY_LEN];
	struct ovl_addr addr;
	uint64_t last_seen_ns;	/* heard: last message; learned: when learned */
	uint64_t check_sent_ns;	/* valid while KAD_F_CHECKING */
	uint64_t replied_ns;	/* last answer to a query of ours from addr */
	uint32_t srtt_us;	/* smoothed round trip, 0 before the first sample */
	uint8_t fails;		/* consecutive failed queries or checks */
	uint8_t flags;		/* enum kad_flags */
};

struct kad_bucket {
	struct kad_entry *e;	/* k entries, then `cache` replacement slots */
	uint8_t n;		/* entries in use, e[0 .. n) */
	uint8_t n_cache;	/* cache in use, e[k .. k + n_cache) */
	bool refresh_due;	/* a refresh was asked for (after bootstrap) */
	uint64_t touched_ns;	/* last insertion, answer or lookup in range */
};

struct kad_params {
	unsigned k;		  /* bucket size: 20 */
	unsigned cache;		  /* replacement cache per bucket: 8 */
	unsigned max_fails;	  /* consecutive failures before eviction: 2 */
	uint64_t stale_ns;	  /* heard within this is live: 15 min */
	uint64_t refresh_ns;	  /* untouched bucket refresh: 15 min */
	uint64_t check_timeout_ns; /* liveness check answer: 2 s */
	unsigned checks_per_tick; /* liveness checks per tick: 8 */
	unsigned refresh_per_tick; /* refresh lookups per tick: 2 */
	uint64_t tick_ns;	  /* pacing of checks and refreshes: 1 s */
	uint64_t boot_min_ns;	  /* bootstrap retry backoff: 5 s ... */
	uint64_t boot_max_ns;	  /* ... doubling up to 5 min */
	unsigned defences;	  /* enum kad_defence: all */
	kad_key_ok_fn *key_ok;	  /* KAD_DEF_KEYS; NULL: every key is fine */
	void *key_ok_ctx;
	unsigned per_ip;	  /* KAD_DEF_SUBNET: entries per IP per bucket: 1 */
	unsigned per_subnet;	  /* ... per /24 or /64 per bucket: 2 */
	uint64_t nat_live_ns;	  /* KAD_DEF_NAT: a NATed entry heard within 60 s */
	uint64_t nat_replied_ns;  /* ... that answered us within 10 min */
};

struct kad_stats {
	uint64_t inserted;	/* new entries in buckets */
	uint64_t cached;	/* contacts put in a replacement cache */
	uint64_t evicted;	/* entries dropped after failures */
	uint64_t promoted;	/* cache entries moved into a bucket */
	uint64_t displaced;	/* learned entries displaced by heard ones */
	uint64_t splits;
	uint64_t checks;	/* liveness checks asked for */
	uint64_t check_timeouts;
	uint64_t refreshes;
	uint64_t bootstraps;
	uint64_t ignored;	/* own key, bad address */
	uint64_t bad_key;	/* KAD_DEF_KEYS: key_ok refused the key */
	uint64_t subnet_full;	/* KAD_DEF_SUBNET: its IP or subnet had its share */
};

/* Fills buf with len random bytes. */
typedef void kad_rng_fn(void *ctx, void *buf, size_t len);

struct kad_table {
	uint8_t own[KAD_KEY_LEN];
	struct kad_params p;
	kad_rng_fn *rng;
	void *rng_ctx;
	struct kad_bucket *b;	/* b[0 .. n_buckets); see the top comment */
	unsigned n_buckets;
	unsigned cap_buckets;
	unsigned n_entries;	/* sum of the buckets' n */
	unsigned n_heard;	/* entries with KAD_F_HEARD */
	bool joined;		/* a bootstrap lookup got answers */
	struct kad_contact boot[KAD_BOOT_MAX];
	unsigned n_boot;
	uint64_t boot_next_ns;	/* next bootstrap allowed */
	uint64_t boot_backoff_ns;
	uint64_t check_next_ns;	/* next batch of liveness checks allowed */
	uint64_t refresh_next_ns;
	uint64_t self_touched_ns; /* last lookup in the last bucket's range */
	uint64_t next_ns;	/* kad_tick() wants to run at or after this */
	struct kad_stats stats;
};

/* What kad_tick() asks the caller to do. */
struct kad_actions {
	struct kad_contact check[KAD_CHECKS_MAX]; /* send a PING to each */
	unsigned n_check;
	uint8_t refresh[KAD_REFRESH_MAX][KAD_KEY_LEN]; /* look each one up */
	unsigned n_refresh;
	bool bootstrap;		/* look up our own ID (boot contacts were
				 * added to the table as learned) */
	uint64_t next_ns;	/* call kad_tick() again at this time */
};

/* Which entries kad_table_closest() may return. */
enum kad_want {
	KAD_WANT_ANY = 0,	/* everything in the buckets (our own lookups) */
	KAD_WANT_HEARD = 1 << 0, /* heard, not failing (answers to others) */
	KAD_WANT_PUBLIC = 1 << 1, /* not NATed */
};

enum kad_insert {
	KAD_INS_IGNORED,	/* own key, no address, or a key key_ok refused */
	KAD_INS_UPDATED,	/* already in a bucket */
	KAD_INS_ADDED,		/* new in a bucket */
	KAD_INS_CACHED,		/* in the replacement cache */
	KAD_INS_DROPPED,	/* learned contact, cache full of better ones */
	KAD_INS_NOMEM,
};

void kad_params_default(struct kad_params *p);

/* Sets the table up for own_id; params NULL means the defaults.  Returns
 * 0, -EINVAL (a parameter out of range) or -ENOMEM. */
int kad_table_init(struct kad_table *t, const uint8_t own_id[KAD_KEY_LEN],
		   const struct kad_params *params, kad_rng_fn *rng, void *rng_ctx,
		   uint64_t now_ns);
void kad_table_free(struct kad_table *t);

/* Remembers a bootstrap contact and adds it as learned.  -ENOSPC when
 * KAD_BOOT_MAX are set, -EINVAL for our own key. */
int kad_table_add_bootstrap(struct kad_table *t, const struct kad_contact *c,
			    uint64_t now_ns);

/* An authenticated message arrived from key at addr.  flags: KAD_F_NATED
 * if the daemon knows it is NATed, KAD_F_REPLIED if the message answers a
 * query of ours; rtt_us is that query's round trip (0: none; the table
 * then measures it against its own liveness check, if one is in flight).
 * The address is updated: the message proved the key. */
enum kad_insert kad_table_heard(struct kad_table *t, const uint8_t key[KAD_KEY_LEN],
				const struct ovl_addr *addr, unsigned flags,
				uint32_t rtt_us, uint64_t now_ns);

/* Whether key at addr is a bootstrap contact (configured, not hearsay). */
bool kad_table_is_bootstrap(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN],
			    const struct ovl_addr *addr);

/* A NODES answer named this contact.  A contact already known keeps its
 * address (hearsay does not override what we heard). */
enum kad_insert kad_table_learned(struct kad_table *t, const struct kad_contact *c,
				  uint64_t now_ns);

/* A query to key went unanswered.  Returns true if the entry was evicted
 * (the freshest cache entry, if any, took its place). */
bool kad_table_timeout(struct kad_table *t, const uint8_t key[KAD_KEY_LEN],
		       uint64_t now_ns);

/* A lookup for target starts: the bucket that covers it counts as
 * refreshed. */
void kad_table_touch(struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
		     uint64_t now_ns);

/* A bootstrap lookup got answers: the table has joined, and every bucket
 * gets one refresh, paced by refresh_per_tick (the paper's join). */
void kad_table_bootstrapped(struct kad_table *t, uint64_t now_ns);

/* Writes up to n contacts of the buckets closest to target by XOR
 * distance, closest first; returns how many.  want: enum kad_want. */
size_t kad_table_closest(const struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
			 size_t n, struct kad_contact *out, unsigned want);

/* The contacts we hand to others, for a FIND_NODE of target: like
 * KAD_WANT_HEARD, and with KAD_DEF_NAT a NATed entry only while its path
 * is live (the top comment). */
size_t kad_table_answer(const struct kad_table *t, const uint8_t target[KAD_KEY_LEN],
			size_t n, struct kad_contact *out, uint64_t now_ns);

/* Behind a NAT: the up to n public nodes nearest our own key that we
 * heard, where lookups of us end; the caller keeps its mapping open to
 * each with a PING (its anchors, src/node/paths.c).  Each PING doubles
 * as a liveness check: an anchor that does not answer within
 * check_timeout_ns fails, and after max_fails consecutive failures it is
 * evicted and the next call names another (one lost datagram does not
 * move an anchor: lookups of us are looking for it).  Without that, an
 * anchor that left stayed heard until its stale check, up to stale_ns
 * later, and nobody could reach us (issue 19: most NATed targets the
 * simulator missed after churn).  With no public node heard, the boot
 * nodes (the non-NATed ones) are the anchors, learned again: a small
 * network's one public node, evicted while it was down, comes back once
 * it answers. */
size_t kad_table_anchors(struct kad_table *t, size_t n, struct kad_contact *out,
			 uint64_t now_ns);

/* The periodic work: failed checks, new checks, refreshes, bootstrap.
 * max_refresh bounds out->n_refresh (the caller's free lookup slots).
 * Calling it early is harmless: checks and refreshes are paced. */
void kad_tick(struct kad_table *t, uint64_t now_ns, unsigned max_refresh,
	      struct kad_actions *out);

/* Read-only views. */
const struct kad_entry *kad_table_find(const struct kad_table *t,
				       const uint8_t key[KAD_KEY_LEN]);
static inline unsigned kad_table_size(const struct kad_table *t)
{
	return t->n_entries;
}
unsigned kad_table_cache_size(const struct kad_table *t);
/* Calls fn for every bucket entry (not the caches), bucket by bucket. */
void kad_table_walk(const struct kad_table *t,
		    void (*fn)(void *ctx, unsigned bucket, const struct kad_entry *e),
		    void *ctx);
/* Bytes of heap the table holds. */
size_t kad_table_memory(const struct kad_table *t);

/* The metric, shared with lookup.c. */
unsigned kad_common_prefix(const uint8_t a[KAD_KEY_LEN], const uint8_t b[KAD_KEY_LEN]);
/* <0, 0, >0 as a is closer to, as close as, farther from target than b. */
int kad_distance_cmp(const uint8_t target[KAD_KEY_LEN], const uint8_t a[KAD_KEY_LEN],
		     const uint8_t b[KAD_KEY_LEN]);
/* Whether the table's defences let key be a node (KAD_DEF_KEYS). */
bool kad_table_key_ok(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN]);
/* Whether two addresses fall in one bounded subnet (KAD_DEF_SUBNET): the
 * same /24 or /64, neither of them a LAN or lab address.  *same_ip says
 * whether they are one IP address. */
bool kad_same_subnet(const struct ovl_addr *a, const struct ovl_addr *b, bool *same_ip);
/* Which bucket key falls in, given the current number of buckets. */
unsigned kad_table_bucket_index(const struct kad_table *t, const uint8_t key[KAD_KEY_LEN]);

#endif
