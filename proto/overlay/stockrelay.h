/* A relay's table of stock WireGuard clients (doc/protocol.md 9.5):
 * sans-I/O.
 *
 * A member that takes stock clients through this relay registered with
 * it over the authenticated overlay (PEERS with the STOCK flag); the
 * table keeps its key, the mac1 key derived from it (HASH("mac1----" ||
 * key), nothing secret) and the address the registration came from.
 *
 *   client --WireGuard--> relay --CLIENT_FROM_RELAY (client's address)--> member
 *   client <--WireGuard-- relay <--CLIENT_TO_RELAY (client's address)--- member
 *
 * The relay reads only the clear fields of WireGuard's messages: their
 * type, length, sender and receiver indices and mac1.  An initiation whose
 * mac1 is a registered member's makes a pending entry under the client's
 * sender index; the member's response to exactly that client address
 * makes the session: one entry under each side's index, naming the
 * member, the client's address and the other entry's index.  Data and
 * cookie replies then go by receiver index.  The relay never sends to an
 * address the session was not heard from: a member's datagram goes only
 * to the client address of its session, or to the address the client's
 * last datagram came from within OVL_STOCK_ROAM_S (roaming: the member's
 * WireGuard authenticated it, and its reply names the new address).
 *
 * Bounds: OVL_STOCK_MEMBERS members, a probe table of entries allocated
 * once; per member at most OVL_STOCK_PER_MEMBER entries.  Strangers
 * (initiations from an address that holds no session) are held apart
 * from the sessions: each source IP address to OVL_STOCK_INIT_PER_SRC
 * initiations a second (hashed slots), all of them to OVL_STOCK_INIT_RATE
 * a second, per client IP address at most OVL_STOCK_PENDING_PER_IP
 * pending entries and per member OVL_STOCK_PENDING_PER_MEMBER.  A
 * session's client address (where a handshake completed, or a session
 * roamed to, within OVL_STOCK_IDLE_S: a client that sends rekeys every
 * two minutes; in hashed slots, marked off the data path) has a budget
 * of its own for its rekeys
 * (OVL_STOCK_INIT_RATE a second, in all) and no pending quota but the
 * member's.  Each member's session traffic both ways, and its known
 * clients' initiations, within the relay's per-sender limits (packets
 * and bytes a second); strangers' initiations never draw on them.
 * Nothing is allocated per datagram.
 *
 * Client to client (doc/protocol.md 9.5, "Client to client"): both
 * clients' files name this relay as the endpoint of each other.
 *
 *   client A --WireGuard--> relay R --WireGuard (bare)--> client B
 *
 * R learns where a listed client is from its sessions with members
 * (whose WireGuard authenticated it: the member's handshake message to
 * it passes only under a listed key's mac1, and a roam only once the
 * member answered the new address), per member and listed client.  An
 * initiation from a known client address (never a stranger's) whose mac1
 * is a listed client's goes to that client's latest such address; B's
 * response, only from there and only under a listed key's mac1 (the
 * initiator's), makes the session: one entry under each client's index,
 * naming its address and the address its partner sends from.  Data goes
 * by receiver index, and only from the partner's address; from another
 * address it is forwarded (B's WireGuard judges it) and the session moves
 * there once the partner's old address has been silent for
 * OVL_STOCK_C2C_QUIET_MS (R cannot authenticate the new address itself:
 * an active client is never moved away from, a rebound one is followed
 * within that time of its next datagram).  Both ends draw on the limits
 * of a member that lists them. */
#ifndef WH_PROTO_OVERLAY_STOCKRELAY_H
#define WH_PROTO_OVERLAY_STOCKRELAY_H

#include "proto/overlay/addr.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/probetab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	OVL_STOCK_MEMBERS = 64,		/* registered members held */
	OVL_STOCK_REG_S = 120,		/* a registration lives this long */
	OVL_STOCK_PENDING_S = 5,	/* a handshake's answer comes within this */
	OVL_STOCK_IDLE_S = 200,		/* a session unused this long ends */
	OVL_STOCK_ROAM_S = 5,		/* a new client address stays sendable */
	OVL_STOCK_PER_MEMBER = 256,	/* entries (pending or not) per member */
	OVL_STOCK_PENDING_PER_IP = 8,	/* strangers' pending entries per client IP */
	OVL_STOCK_PENDING_PER_MEMBER = 64,	/* strangers' pending entries per member */
	OVL_STOCK_INIT_RATE = 2000,	/* initiations checked a second: strangers', known ones' */
	OVL_STOCK_INIT_PER_SRC = 20,	/* a stranger IP address's initiations a second */
	OVL_STOCK_SRC_SLOTS = 256,	/* hashed slots of those budgets */
	OVL_STOCK_KNOWN_SLOTS = 1024,	/* hashed slots of sessions' client addresses */
	OVL_STOCK_C2C_QUIET_MS = 1000,	/* client to client: a partner silent this long may move */
	OVL_STOCK_C2C_TRIES = 256,	/* listed clients' mac1 checked per handshake message */
};

/* What the relay does with a datagram. */
enum ovl_stock_verdict {
	OVL_STOCK_NOT_MINE,		/* no registered member: the caller's as before */
	OVL_STOCK_FORWARD,		/* send it on (to *to), unchanged */
	OVL_STOCK_REFUSED,		/* dropped and counted here; nothing answered */
	OVL_STOCK_TO_CLIENT,		/* client to client: send it on, bare, to *to */
};

struct ovl_stock_member {
	uint8_t key[32];
	uint8_t mac1_key[32];		/* HASH("mac1----" || key) */
	struct ovl_addr addr;		/* where its registration came from */
	uint64_t heard_ns;		/* 0: free */
	uint32_t gen;			/* entries of an earlier holder of the slot are void */
	uint64_t tat_pkts, tat_bytes;	/* its relay limits, GCRA */
	/* The stock clients its network file lists (STOCK_CLIENTS): their
	 * mac1 keys, which a member's response or initiation to a client is
	 * under.  Not listed (a registration by the PEERS flag alone, a
	 * member of an earlier version): any client its WireGuard takes. */
	bool listed;
	uint8_t n_clients;
	uint8_t client_mac1[OVL_STOCK_CLIENTS_MAX][32];
	uint64_t list_hash;		/* of client_mac1[]: equal lists are checked once */
	/* Where each listed client was last seen in a session with this
	 * member, as its WireGuard authenticated it (0: not lately). */
	struct ovl_addr client_addr[OVL_STOCK_CLIENTS_MAX];
	uint64_t client_seen_ns[OVL_STOCK_CLIENTS_MAX];
};

struct ovl_stock_stats {
	uint64_t registered;		/* registrations taken (renewals too) */
	uint64_t reg_refused;		/* no room for another member */
	uint64_t to_member, to_member_bytes;	/* client datagrams forwarded */
	uint64_t to_client, to_client_bytes;	/* member datagrams forwarded */
	uint64_t no_member;		/* initiations whose mac1 is no member's */
	uint64_t unknown_index;		/* client datagrams of no session */
	uint64_t refused;		/* member datagrams of no session or address */
	uint64_t limited;		/* over a rate, quota or the table */
	uint64_t roamed;		/* sessions moved to a client's new address */
	uint64_t to_peer, to_peer_bytes;	/* client to client datagrams forwarded */
};

struct ovl_stock {
	struct ovl_stock_member members[OVL_STOCK_MEMBERS];
	struct ovl_probetab ents;
	uint64_t pkt_cost_ns, byte_cost_ps, burst_ns;
	uint64_t init_tat, init_cost_ns;	/* strangers' initiations, in all */
	uint64_t known_tat;			/* known clients' initiations, in all */
	uint64_t src_tat[OVL_STOCK_SRC_SLOTS];	/* per stranger IP address (hashed) */
	/* The client addresses handshakes completed from (or sessions
	 * roamed to) lately, in hashed slots (exact: a slot another address
	 * took makes its client a stranger again until its next handshake,
	 * never a stranger known). */
	struct ovl_stock_known {
		struct ovl_addr addr;
		uint64_t used_ns;
	} known[OVL_STOCK_KNOWN_SLOTS];
	struct ovl_stock_stats stats;
};

/* slots: a power of two (>= OVL_PROBETAB_PROBE); hash_key: 16 secret
 * random bytes.  0 or -ENOMEM / -EINVAL. */
int ovl_stock_init(struct ovl_stock *s, uint32_t slots, const uint8_t hash_key[16]);
void ovl_stock_free(struct ovl_stock *s);
/* Per member, both ways: packets and bytes a second (0: unlimited). */
void ovl_stock_set_limits(struct ovl_stock *s, uint32_t pps, uint32_t bps);

/* A member's registration, authenticated by the caller (the overlay's
 * secure layer) and from addr; a renewal moves it there.  False when the
 * table holds OVL_STOCK_MEMBERS live others (counted). */
bool ovl_stock_register(struct ovl_stock *s, const uint8_t key[32], const struct ovl_addr *addr,
			uint64_t now);

/* A member's registration with the keys of its stock clients (n: 1 to
 * OVL_STOCK_CLIENTS_MAX; more are not kept): from then on R passes only
 * handshakes of the member with those clients (the mac1 of its response
 * or initiation is under the client's key).  False as ovl_stock_register. */
bool ovl_stock_set_clients(struct ovl_stock *s, const uint8_t key[32], const struct ovl_addr *addr,
			   const uint8_t (*clients)[32], size_t n, uint64_t now);

/* A WireGuard datagram (first byte 1-4) from a client at from that the
 * relay's own WireGuard does not take (its mac1 is not ours, its index
 * not ours).  FORWARD: send it, prefixed by CLIENT_FROM_RELAY naming
 * from, to *to (the member's registered address).  TO_CLIENT: send it
 * unchanged to *to (another client). */
enum ovl_stock_verdict ovl_stock_from_client(struct ovl_stock *s, const uint8_t *msg, size_t len,
					     const struct ovl_addr *from, uint64_t now,
					     struct ovl_addr *to);

/* The WireGuard datagram of a CLIENT_TO_RELAY from a member at from, for
 * the client at client.  FORWARD: send it, unchanged, to client. */
enum ovl_stock_verdict ovl_stock_from_member(struct ovl_stock *s, const struct ovl_addr *from,
					     const struct ovl_addr *client, const uint8_t *msg,
					     size_t len, uint64_t now);

/* For statistics: live members, pending entries and sessions (a walk;
 * a client to client session counts once). */
void ovl_stock_count(const struct ovl_stock *s, uint64_t now, size_t *members, size_t *pending,
		     size_t *sessions);

#endif
