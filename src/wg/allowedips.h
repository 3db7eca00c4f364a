/* Allowed IPs: the table that maps IPv4 and IPv6 prefixes to peers.
 *
 * Outbound, the destination address picks the peer (longest prefix
 * wins); inbound, a decrypted packet is kept only when its source address
 * maps back to the peer that decrypted it.  A prefix belongs to at most
 * one peer: inserting one that another peer holds moves it.
 *
 * Addresses are in network byte order: 4 bytes for AF_INET, 16 for
 * AF_INET6.  Peers are opaque here and never dereferenced.  Each family
 * is a path-compressed binary trie; each peer's prefixes are also kept in
 * a list in the order they were given to it, which is the order UAPI
 * "get" reports them.  Not thread-safe: the owner (the device) serialises
 * every call.  Errors are negative errno values. */
#ifndef WH_SRC_WG_ALLOWEDIPS_H
#define WH_SRC_WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct wg_peer;
struct allowedips_node;
struct allowedips_peer;

/* The fields are private to allowedips.c. */
struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	struct allowedips_peer *peers;	/* open-addressed, by peer pointer */
	size_t peers_cap;		/* 0 or a power of two */
	size_t peers_len;
	size_t prefixes;		/* prefixes held, all peers */
};

/* 0 (it cannot fail today; the signature leaves room). */
int allowedips_init(struct allowedips *t);
/* Frees every node; the table is empty and reusable afterwards. */
void allowedips_free(struct allowedips *t);

/* Gives addr/cidr to peer.  Bits of addr beyond cidr are ignored.  When
 * another peer held the prefix it is moved, and goes to the end of peer's
 * list; when peer already held it nothing changes.  -EAFNOSUPPORT for
 * an unknown family, -EINVAL for a cidr longer than the address or a
 * NULL peer, -ENOMEM. */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
		      struct wg_peer *peer);
/* Takes addr/cidr away from peer; -ENOENT unless peer holds exactly that
 * prefix, -EAFNOSUPPORT, -EINVAL as above. */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
		      struct wg_peer *peer);
/* Takes every prefix away from peer. */
void allowedips_remove_by_peer(struct allowedips *t, struct wg_peer *peer);

/* The peer of the longest prefix holding addr, or NULL. */
struct wg_peer *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);

/* Calls fn for each prefix of peer in the order the peer received them
 * (addr masked, 4 or 16 bytes).  Stops at, and returns, the first nonzero
 * value fn returns; 0 otherwise.  fn must not modify the table. */
int allowedips_walk_by_peer(const struct allowedips *t, struct wg_peer *peer,
			    int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			    void *ctx);
size_t allowedips_count_by_peer(const struct allowedips *t, struct wg_peer *peer);
/* Prefixes held by all peers together. */
size_t allowedips_count(const struct allowedips *t);

#endif
