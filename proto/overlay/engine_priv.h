/* The overlay engine's state, shared by its files (engine.h lists them).
 * Each part has one owner, the file named on it: only that file writes
 * its fields; the others call the functions declared below. */
#ifndef WH_PROTO_OVERLAY_ENGINE_PRIV_H
#define WH_PROTO_OVERLAY_ENGINE_PRIV_H

#include "proto/overlay/engine.h"
#include "proto/overlay/predict.h"
#include "proto/overlay/probetab.h"
#include "proto/overlay/reasm.h"
#include "proto/overlay/relaychan.h"
#include "proto/overlay/stockrelay.h"

#define NS_PER_S 1000000000ULL
#define LIVE_PATH_NS (60 * NS_PER_S)	/* a NATed node heard within this is reachable */
#define VALIDATED_NS (600 * NS_PER_S)	/* an answer validates its address this long */
#define OBSERVATION_NS (600 * NS_PER_S)	/* an observation of our address counts this long */
#define BIND_ANSWER_NS (10 * NS_PER_S)	/* a CHANNEL_BIND's answer counts this long */
#define PING_COALESCE_NS (NS_PER_S / 2)	/* an unanswered PING stands for a new one this long */
#define HEARSAY_NS (600 * NS_PER_S)	/* an address only hearsay named: one datagram */

enum {
	PINGS_TRACKED = 64,	/* PINGs whose PONG we wait for */
	WAITERS_MAX = 64,	/* lookups with a completion callback */
	OBSERVATIONS = 8,	/* observer addresses remembered, one observation each */
	NATFILT_ASKED = 3,	/* PUBLIC nodes asked per filtering round */
	PROBE_LIMIT_SLOTS = 256,	/* per-requester PROBE_REQ rate states, by key hash */
	BINDS_ASKED = 32,	/* CHANNEL_BINDs of ours awaiting CHANNEL_BOUND */
	ASKED_MAX = 16,		/* FIND_NODEs of ovl_engine_ask_public awaiting NODES */
	HEARSAY_MAX = 128,	/* addresses contacted on hearsay alone, remembered */
	PEERS_SENT_SLOTS = 16,	/* relays we registered our peers with */
	MAP_PROBES_TRACKED = 8,	/* MAP_PROBEs whose MAP_SEEN we wait for */
};

/* engine.c: a PING or PUNCH of ours waiting for its PONG. */
struct ovl_ping_slot {
	uint64_t nonce;		/* 0: free */
	uint8_t type;		/* OVL_MSG_PING or OVL_MSG_PUNCH */
	uint8_t key[32];
	struct ovl_addr to;	/* its PONG counts only from there */
	uint64_t sent_ns;
	ovl_engine_pong_cb *done;
	void *arg;
};

/* engine.c: a CHANNEL_BIND of ours waiting for its CHANNEL_BOUND. */
struct ovl_bind_slot {
	uint8_t relay[32];
	uint8_t dst[32];
	struct ovl_addr addr;	/* its answer counts only from there */
	uint64_t sent_ns;	/* 0: free */
};

/* dht.c: a lookup the owner waits for. */
struct ovl_waiter {
	uint64_t txid;
	ovl_engine_lookup_cb *done;	/* NULL: free */
	void *arg;
};

/* dht.c: a FIND_NODE outside the lookups (ovl_engine_ask_public). */
struct ovl_asked {
	uint64_t txid;		/* 0: free */
	uint8_t key[32];
	struct ovl_addr addr;	/* its NODES counts only from there */
};

/* dht.c: an address we sent to because a NODES named it, before anyone
 * answered from it (doc/protocol.md 8.3: contacted once). */
struct ovl_hearsay {
	struct ovl_addr addr;
	uint64_t at_ns;		/* 0: free */
};

/* natobs.c: our address as a node saw it in its PONG to our PING. */
struct ovl_observation {
	struct ovl_addr observer;	/* the node that saw us */
	struct ovl_addr seen;		/* as which address */
	uint64_t at_ns;			/* 0: empty */
};

/* natobs.c: a MAP_PROBE of ours waiting for its MAP_SEEN. */
struct ovl_map_slot {
	uint64_t nonce;			/* 0: free */
	uint8_t key[32];
	struct ovl_addr to;		/* the second port: its answer counts only from there */
	uint64_t sent_ns;
};

/* natround.c: one PUBLIC node asked in the filtering round in flight. */
struct ovl_natfilt_slot {
	uint64_t nonce;			/* 0: unused */
	uint8_t key[32];
	struct ovl_addr addr;		/* where the PROBE_REQ went: its main socket */
	bool answered;			/* its ANSWER came, from addr */
	uint8_t sent;			/* enum ovl_probe_sent, as the ANSWER said */
	bool port_rx, ip_rx;		/* the probes that came, from where they should */
	bool ip_bad;			/* an OTHER_IP came from addr's IP: no OTHER_IP test */
};

/* natround.c: NAT filtering (doc/protocol.md 9.2), the rounds we send and
 * the rate states of the PROBE_REQs we answer. */
struct ovl_natfilt {
	enum ovl_filtering verdict;	/* what `wh show` says */
	unsigned observers;		/* the mapping's observers when it was made */
	struct ovl_filter_evidence ev;
	struct ovl_natfilt_slot slot[NATFILT_ASKED];	/* the round in flight */
	uint64_t round_end_ns;		/* 0: no round in flight */
	uint64_t next_ns;		/* the next classification is due */
	uint64_t look_ns;		/* the next look for a change */
	enum ovl_nat_mapping mapping;	/* what the verdict was made for ... */
	struct ovl_addr base;		/* ... and from which reflexive IP */
	uint8_t ip_capable[32];		/* an answerer that sent OTHER_IP: asked first */
	/* Answering: per requester-key hash and in all, as GCRA. */
	uint8_t hash_key[OVL_PROBETAB_KEYBYTES];
	uint64_t tat_all, tat_key[PROBE_LIMIT_SLOTS];
};

struct ovl_engine {
	const struct ovl_engine_ops *ops;
	void *ctx;
	void (*rng)(void *ctx, void *buf, size_t len);
	void *rng_ctx;
	bool public_node, relay;
	struct ovl_secure *sec;
	/* The time of the call in progress (every entry point that may send
	 * from a callback sets it): the lookups' callbacks and the table walks
	 * send with it. */
	struct ovl_time now;
	/* dht.c, through kademlia.c and lookup.c: */
	struct kad_table table;
	struct kad_lookups lookups;
	bool table_ready, lookups_ready;
	struct ovl_waiter waiters[WAITERS_MAX];
	struct ovl_waiter *starting;	/* the waiter of the lookup being started */
	struct ovl_asked asked[ASKED_MAX];
	unsigned asked_next;
	struct ovl_hearsay hearsay[HEARSAY_MAX];
	unsigned hearsay_next;
	unsigned workbit;		/* of keys named in NODES, as of senders */
	char ns[OVL_NAMESPACE_MAX];
	size_t ns_len;
	/* engine.c: */
	struct ovl_ping_slot pings[PINGS_TRACKED];
	unsigned ping_next;
	struct ovl_bind_slot binds[BINDS_ASKED];
	unsigned bind_next;
	/* natobs.c: */
	struct ovl_addr reflexive;	/* family 0: none yet */
	struct ovl_observation obs[OBSERVATIONS];	/* one per observer address */
	/* predict.c: the destinations we sent to, numbered (engine.c's
	 * send_sealed tells it every one). */
	struct ovl_predict_flows flows;
	/* The observers whose PONGs count (members, boot nodes we chose);
	 * none chosen: every one counts. */
	uint8_t (*observers)[32];
	size_t n_observers, cap_observers;
	struct ovl_map_slot maps[MAP_PROBES_TRACKED];
	unsigned map_next;
	/* relay.c: */
	uint64_t relay_pkt_cost_ns, relay_byte_cost_ps;	/* per packet; per byte, in ps */
	struct ovl_probetab limiters;
	struct ovl_probetab clients;	/* public nodes only */
	struct ovl_chantab chans;	/* public nodes only */
	struct ovl_probetab regs;	/* public nodes only: members' PEERS */
	uint64_t reg_seq;		/* PEERS kept so far: their order */
	uint8_t (*peer_keys)[32];	/* ours, for our relays ... */
	size_t n_peer_keys;
	/* Keys that are no members but may reach us through relays for a
	 * while (ovl_engine_set_guests): named in PEERS too. */
	uint8_t (*guest_keys)[32];
	size_t n_guest_keys;
	uint32_t peers_gen;		/* ... their version (0: never set) */
	struct ovl_peers_sent {
		uint8_t key[32];
		struct ovl_addr addr;
		uint64_t sent_ns;	/* 0: free */
		uint64_t again_ns;	/* last sent because asked again */
		uint32_t gen;
	} peers_sent[PEERS_SENT_SLOTS];	/* the relays we sent it to */
	uint16_t frag_id;		/* our fragmented payloads */
	struct ovl_reasm reasm;
	bool reasm_ready;
	/* natround.c: */
	struct ovl_natfilt filt;
	/* Stock WireGuard clients (9.5): as a relay, the members that take
	 * them through us (stock_ready: public relaying nodes only); as a
	 * member, the keys of our stock clients, which our relays get in a
	 * STOCK_CLIENTS after each PEERS (none: we take no stock clients). */
	struct ovl_stock stock;
	bool stock_ready;
	uint8_t n_stock_clients;
	uint8_t stock_clients[OVL_STOCK_CLIENTS_MAX][32];
	/* Everyone's counters. */
	struct ovl_engine_stats stats;
};

/* engine.c */
int engine_send(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		const struct ovl_msg *m, uint64_t wall_ns);
long engine_seal(struct ovl_engine *e, const uint8_t key[32], const struct ovl_msg *m,
		 uint64_t wall_ns, uint8_t buf[OVL_MAX_DATAGRAM]);
int engine_send_ping(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *to,
		     ovl_engine_pong_cb *done, void *arg, struct ovl_time t);
uint64_t engine_nonce(struct ovl_engine *e);
void engine_bind_sent(struct ovl_engine *e, const uint8_t relay[32], const struct ovl_addr *addr,
		      const uint8_t dst[32], uint64_t now);
unsigned engine_kad_flags(uint8_t node_flags);

/* dht.c */
extern const struct kad_lookup_ops engine_lookup_ops;
bool dht_validated(const struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *a,
		   uint64_t now);
bool dht_entry_validated(const struct kad_entry *ke, uint64_t now);
void dht_answer_find_node(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
			  const struct ovl_find_node *q, size_t request_len, struct ovl_time t);
bool dht_nodes_expected(const struct ovl_engine *e, const uint8_t sender[32],
			const struct ovl_addr *from, uint64_t txid);
void dht_take_nodes(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		    unsigned from_flags, const struct ovl_nodes *r, uint64_t now);
size_t dht_nodes_budget(size_t request_len);

/* natobs.c */
void natobs_record(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *observer,
		   const struct ovl_addr *seen, uint64_t now);
void natobs_take_seen(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *from,
		      const struct ovl_map_seen *r, uint64_t now);

/* relay.c */
int relay_init(struct ovl_engine *e, const struct ovl_engine_config *cfg);
void relay_free(struct ovl_engine *e);
void relay_client_heard(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *a,
			bool replied, uint64_t now);
bool relay_is_client(const struct ovl_engine *e, const uint8_t key[32]);
/* Whether key is in our peers set (ovl_engine_set_peers: our members). */
bool relay_is_peer(const struct ovl_engine *e, const uint8_t key[32]);
bool relay_live_path(const struct ovl_engine *e, const uint8_t key[32], uint64_t now,
		     struct ovl_addr *out);
void relay_forward(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		   const struct ovl_relay *r, struct ovl_time t);
void relay_take_relayed(struct ovl_engine *e, const uint8_t via[32], const struct ovl_addr *via_addr,
			const struct ovl_relayed *r, struct ovl_time t);
void relay_take_channel_bind(struct ovl_engine *e, const uint8_t sender[32],
			     const struct ovl_addr *from, const struct ovl_channel_bind *q,
			     struct ovl_time t);
void relay_take_peers(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_addr *from,
		      const struct ovl_peers *p, struct ovl_time t);
void relay_take_channel_bound(struct ovl_engine *e, const uint8_t sender[32],
			      const struct ovl_channel_bound *r);

/* natround.c */
void natround_answer(struct ovl_engine *e, const uint8_t sender[32], const struct ovl_rx *rx,
		     const struct ovl_probe_req *r, struct ovl_time t);
void natround_take(struct ovl_engine *e, const uint8_t key[32], const struct ovl_addr *from,
		   const struct ovl_probe *pr);
void natround_tick(struct ovl_engine *e, struct ovl_time t);
uint64_t natround_deadline(const struct ovl_engine *e);

#endif
