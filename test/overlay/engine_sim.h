/* The overlay engine's tests' simulated network (engine_sim.c), shared by
 * test_engine.c and test_relay.c: engines under real keys exchange sealed
 * datagrams through a queue, with NAT-like source rewriting where a test
 * needs it, and bare secure-layer endpoints forge or open messages as on
 * the wire.  Time is `now`, moved by the tests. */
#ifndef WH_TEST_OVERLAY_ENGINE_SIM_H
#define WH_TEST_OVERLAY_ENGINE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/overlay/codec.h"
#include "proto/overlay/engine.h"
#include "proto/overlay/secure.h"

#define MS 1000000ull
#define SEC (1000 * MS)

enum { QMAX = 512, NODES_MAX = 8, ALIASES = 4 };

struct dgram {
	struct ovl_addr src, to;
	bool aux;			/* sent from a probe socket */
	uint8_t buf[OVL_MAX_DATAGRAM];
	size_t len;
};

struct node {
	struct ovl_engine *e;
	uint8_t pub[32];
	struct ovl_addr addr;		/* its main socket */
	struct ovl_addr alias[ALIASES];	/* addresses a NAT maps to it */
	bool has_other;
	struct ovl_addr other;		/* a second IP address (OTHER_IP) */
	bool public_node;		/* listens on its second port too (addr's port + 1) */
	/* events */
	unsigned contacts, pings, relayed, channels;
	uint8_t last_status;
	uint32_t last_channel;
	uint8_t relayed_buf[64];
	size_t relayed_len;
};

/* A bare endpoint: a key and a secure layer. */
struct bare {
	struct ovl_secure *sec;
	uint8_t pub[32];
	struct ovl_addr addr;
};

/* A NAT in front of some nodes: the source address a datagram from src
 * to `to` shows (NULL: untranslated). */
typedef bool nat_fn(const struct ovl_addr *src, const struct ovl_addr *to, struct ovl_addr *out);

extern const char NS[];
extern struct dgram q[QMAX];	/* sent, not yet delivered */
extern unsigned qn;
extern struct node *nodes[NODES_MAX];
extern unsigned n_nodes;
extern uint64_t now;
extern const uint64_t wall0;

struct ovl_time tnow(void);
struct ovl_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
struct node *node_new(struct ovl_addr addr, bool public_node, bool relay, uint32_t pps,
		      uint32_t client_slots);
/* A plain node (not public, no relay) under the private key priv. */
struct node *node_new_key(struct ovl_addr addr, const uint8_t priv[32]);
/* Where invitation messages go (test_invite.c); NULL: unhandled. */
extern void (*sim_on_invite)(struct node *n, const uint8_t sender[32], const struct ovl_rx *rx,
			     const uint8_t *plain, size_t len);
/* Frees every node and empties the queue. */
void net_reset(void);
/* Hands n a datagram from src now. */
void input(struct node *n, const struct ovl_addr *src, const uint8_t *buf, size_t len);
/* Hands n's second port a datagram from src now; its answer, if any, is
 * queued from that port.  Returns the answer's length (0: none). */
size_t input_probe_port(struct node *n, const struct ovl_addr *src, const uint8_t *buf, size_t len);
/* Delivers everything queued (and what the answers queue), through nat;
 * drop_aux: a filter that drops the probes from probe sockets.  Returns
 * how many datagrams were delivered to an engine. */
unsigned run(nat_fn *nat, bool drop_aux);

void bare_new(struct bare *b, struct ovl_addr addr);
size_t bare_seal(struct bare *b, const uint8_t to[32], const struct ovl_msg *m, uint8_t *out);
/* Sends m from b to node n at once. */
size_t bare_send(struct bare *b, struct node *n, const struct ovl_msg *m);
/* Opens the queued datagram i as b: its message, if it is for b. */
bool bare_open(struct bare *b, unsigned i, struct ovl_msg *m, uint8_t plain[OVL_MAX_PLAINTEXT]);

/* The engine's mapping verdict now, and its observers at distinct IP
 * addresses. */
enum ovl_nat_mapping nat_mapping_of(struct node *n, unsigned *observers);

#endif
