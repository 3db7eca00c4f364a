/* Host names in the network file's endpoints (`boot KEY host.example:PORT`,
 * and the endpoints of peer and trust lines), resolved off the loop with
 * uv_getaddrinfo and resolved again:
 *
 *   - every NAMES_REFRESH_S (5 minutes), whatever happens;
 *   - sooner while the node behind the name does not answer: a member
 *     with no WireGuard session, a boot or peer node while the DHT has
 *     heard from nobody; after NAMES_RETRY_MIN_S (5 s), doubling up to
 *     the refresh period, and back to 5 s once it answers again;
 *   - at each reload, for the names the file holds then.
 *
 * A boot line's address goes to the DHT as a bootstrap node and a trusted
 * observer of our NAT mapping; a peer line's as a contact only (it seeds
 * the routing table but its PONGs tell nothing of our NAT, issue 17's
 * rule: only the file's boot nodes and members are chosen observers); a
 * member's becomes its WireGuard endpoint while it has no session, and a
 * handshake is planned.  Numeric endpoints take the same ways at once. */
#ifndef WH_SRC_NODE_NAMES_H
#define WH_SRC_NODE_NAMES_H

#include <stdint.h>

struct netconf_peer;
struct node;
union wg_sockaddr;

enum {
	NAMES_REFRESH_S = 300,
	NAMES_RETRY_MIN_S = 5,
};

/* The endpoint of a line with a numeric one; a zeroed a (family 0)
 * otherwise. */
void names_endpoint_numeric(const struct netconf_peer *cp, union wg_sockaddr *a);
/* After start and each reload: the contacts of n->conf to the overlay,
 * and its named endpoints (re)resolved.  -ENOMEM. */
int names_sync(struct node *n);
/* Once a second, from the node's discovery timer. */
void names_tick(struct node *n, uint64_t now_ns);
void names_free(struct node *n);

#endif
