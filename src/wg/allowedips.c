/* Allowed IPs: a path-compressed binary trie per address family, and a
 * list of nodes per peer.
 *
 * Every node is a prefix (addr masked to cidr bits).  A node either holds
 * a peer or is a pure branch point, and a branch point always has two
 * children: a single-child branch is spliced out as soon as it appears, so
 * the trie has fewer than two nodes per prefix and its depth is bounded
 * by the number of distinct prefix lengths on a path, not by 32 or 128.
 * A child sits in slot 0 or 1 of its parent by the bit of its address
 * just after the parent's prefix, and its own prefix is longer.
 *
 * Lookup walks down from the root while the node's prefix matches the
 * address and remembers the last node that holds a peer: that is the
 * longest match.  Nothing here recurses, so a 128-deep trie (128 host
 * routes that differ in one bit each) costs no stack.
 *
 * Peers are opaque; the per-peer lists hang off a small open-addressed
 * table keyed by the peer pointer (linear probing, deletion by backward
 * shift), which lets remove_by_peer and walk_by_peer touch only that
 * peer's prefixes, in the order they were given. */
#include "src/wg/allowedips.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;		/* NULL at the root */
	struct allowedips_node *peer_prev;	/* the holder's list */
	struct allowedips_node *peer_next;
	struct wg_peer *peer;			/* NULL: branch point only */
	uint8_t cidr;
	uint8_t bits;				/* 32 or 128 */
	uint8_t addr[];				/* bits / 8 bytes, masked */
};

struct allowedips_peer {
	struct wg_peer *peer;			/* NULL: free slot */
	struct allowedips_node *head;
	struct allowedips_node *tail;
	size_t count;
};

static unsigned family_bits(int family)
{
	switch (family) {
	case AF_INET:
		return 32;
	case AF_INET6:
		return 128;
	default:
		return 0;
	}
}

static struct allowedips_node **root_of(struct allowedips *t, unsigned bits)
{
	return bits == 32 ? &t->root4 : &t->root6;
}

/* Bit i of a big-endian address, 0 being the most significant. */
static unsigned bit_at(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

static uint8_t byte_mask(unsigned nbits)
{
	return (uint8_t)(0xff00 >> nbits);
}

/* Whether the first cidr bits of a and b agree. */
static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned cidr)
{
	unsigned n = cidr / 8;

	if (memcmp(a, b, n) != 0)
		return false;
	return cidr % 8 == 0 || ((a[n] ^ b[n]) & byte_mask(cidr % 8)) == 0;
}

/* How many leading bits a and b share, at most limit. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
	unsigned i, c;

	for (i = 0; i * 8 < limit; ++i) {
		unsigned x = a[i] ^ b[i];

		if (x) {
			c = i * 8 + (unsigned)__builtin_clz(x) - (sizeof(unsigned) * 8 - 8);
			return c < limit ? c : limit;
		}
	}
	return limit;
}

static void mask_copy(uint8_t *dst, const uint8_t *src, unsigned bits, unsigned cidr)
{
	unsigned n = cidr / 8;

	memset(dst, 0, bits / 8);
	memcpy(dst, src, n);
	if (cidr % 8)
		dst[n] = src[n] & byte_mask(cidr % 8);
}

static struct allowedips_node *node_new(unsigned bits, const uint8_t *key, unsigned cidr,
					struct allowedips_node *parent)
{
	struct allowedips_node *node = calloc(1, sizeof(*node) + bits / 8);

	if (!node)
		return NULL;
	node->bits = (uint8_t)bits;
	node->cidr = (uint8_t)cidr;
	node->parent = parent;
	/* key is masked to the longest prefix in play; a branch point keeps
	 * only its own bits. */
	mask_copy(node->addr, key, bits, cidr);
	return node;
}

/* The pointer that points at node: its parent's slot or the root. */
static struct allowedips_node **slot_of(struct allowedips *t, struct allowedips_node *node)
{
	struct allowedips_node *parent = node->parent;

	if (!parent)
		return root_of(t, node->bits);
	return parent->child[0] == node ? &parent->child[0] : &parent->child[1];
}

/* Per-peer records. */

static size_t peer_hash(const struct wg_peer *peer)
{
	uint64_t x = (uint64_t)(uintptr_t)peer;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (size_t)x;
}

static struct allowedips_peer *peer_find(const struct allowedips *t, const struct wg_peer *peer)
{
	size_t mask = t->peers_cap - 1, i;

	if (!t->peers_cap)
		return NULL;
	for (i = peer_hash(peer) & mask; t->peers[i].peer; i = (i + 1) & mask) {
		if (t->peers[i].peer == peer)
			return &t->peers[i];
	}
	return NULL;
}

static int peers_grow(struct allowedips *t)
{
	size_t cap = t->peers_cap ? t->peers_cap * 2 : 8, mask = cap - 1, i, j;
	struct allowedips_peer *table = calloc(cap, sizeof(*table));

	if (!table)
		return -ENOMEM;
	for (i = 0; i < t->peers_cap; ++i) {
		if (!t->peers[i].peer)
			continue;
		for (j = peer_hash(t->peers[i].peer) & mask; table[j].peer; j = (j + 1) & mask)
			;
		table[j] = t->peers[i];
	}
	free(t->peers);
	t->peers = table;
	t->peers_cap = cap;
	return 0;
}

/* Makes sure peer has a record (an empty one if new). */
static int peer_reserve(struct allowedips *t, struct wg_peer *peer)
{
	size_t mask, i;
	int ret;

	if (peer_find(t, peer))
		return 0;
	/* Linear probing stays short below half full. */
	if ((t->peers_len + 1) * 2 > t->peers_cap) {
		ret = peers_grow(t);
		if (ret < 0)
			return ret;
	}
	mask = t->peers_cap - 1;
	for (i = peer_hash(peer) & mask; t->peers[i].peer; i = (i + 1) & mask)
		;
	memset(&t->peers[i], 0, sizeof(t->peers[i]));
	t->peers[i].peer = peer;
	++t->peers_len;
	return 0;
}

/* Deletes a record, shifting back the ones that probed past it so that
 * every record stays reachable from its home slot. */
static void peer_delete(struct allowedips *t, struct allowedips_peer *rec)
{
	size_t mask = t->peers_cap - 1, i = (size_t)(rec - t->peers), j = i, home;

	for (;;) {
		memset(&t->peers[i], 0, sizeof(t->peers[i]));
		for (;;) {
			j = (j + 1) & mask;
			if (!t->peers[j].peer) {
				--t->peers_len;
				return;
			}
			home = peer_hash(t->peers[j].peer) & mask;
			/* Stays when its home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			t->peers[i] = t->peers[j];
			i = j;
			break;
		}
	}
}

static void peer_delete_if_empty(struct allowedips *t, struct wg_peer *peer)
{
	struct allowedips_peer *rec = peer_find(t, peer);

	if (rec && !rec->count)
		peer_delete(t, rec);
}

/* Appends node to its holder's list; the record exists (peer_reserve). */
static void list_append(struct allowedips *t, struct allowedips_node *node)
{
	struct allowedips_peer *rec = peer_find(t, node->peer);

	node->peer_next = NULL;
	node->peer_prev = rec->tail;
	if (rec->tail)
		rec->tail->peer_next = node;
	else
		rec->head = node;
	rec->tail = node;
	++rec->count;
}

/* Takes node out of its holder's list, and drops the record when that
 * was the holder's last prefix. */
static void list_unlink(struct allowedips *t, struct allowedips_node *node)
{
	struct allowedips_peer *rec = peer_find(t, node->peer);

	if (node->peer_prev)
		node->peer_prev->peer_next = node->peer_next;
	else
		rec->head = node->peer_next;
	if (node->peer_next)
		node->peer_next->peer_prev = node->peer_prev;
	else
		rec->tail = node->peer_prev;
	node->peer_prev = node->peer_next = NULL;
	if (--rec->count == 0)
		peer_delete(t, rec);
}

/* Trie maintenance. */

/* node has just lost its peer: remove it unless it is still needed as a
 * branch point, and splice out a branch point left with one child. */
static void prune(struct allowedips *t, struct allowedips_node *node)
{
	struct allowedips_node *child, *parent;

	while (node && !node->peer && !(node->child[0] && node->child[1])) {
		child = node->child[0] ? node->child[0] : node->child[1];
		parent = node->parent;
		*slot_of(t, node) = child;
		if (child)
			child->parent = parent;
		free(node);
		/* A leaf left its parent with one child; a parent that is a
		 * branch point must then go too.  A spliced node (with a child)
		 * changes no child count above it. */
		node = child ? NULL : parent;
	}
}

static void release(struct allowedips *t, struct allowedips_node *node)
{
	list_unlink(t, node);
	node->peer = NULL;
	--t->prefixes;
	prune(t, node);
}

int allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
	return 0;
}

static void free_trie(struct allowedips_node *node)
{
	struct allowedips_node *next;

	/* Post-order without a stack: detach a child before descending, and
	 * climb back through the parent pointer. */
	while (node) {
		if (node->child[0]) {
			next = node->child[0];
			node->child[0] = NULL;
		} else if (node->child[1]) {
			next = node->child[1];
			node->child[1] = NULL;
		} else {
			next = node->parent;
			free(node);
		}
		node = next;
	}
}

void allowedips_free(struct allowedips *t)
{
	free_trie(t->root4);
	free_trie(t->root6);
	free(t->peers);
	memset(t, 0, sizeof(*t));
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
		      struct wg_peer *peer)
{
	struct allowedips_node **slot, *node, *parent = NULL, *fresh, *branch;
	unsigned bits = family_bits(family), c;
	uint8_t key[16];
	int ret;

	if (!bits)
		return -EAFNOSUPPORT;
	if (cidr > bits || !peer)
		return -EINVAL;
	mask_copy(key, addr, bits, cidr);
	ret = peer_reserve(t, peer);
	if (ret < 0)
		return ret;

	/* Descend through the prefixes that contain the new one. */
	slot = root_of(t, bits);
	node = *slot;
	while (node && node->cidr <= cidr && prefix_match(node->addr, key, node->cidr)) {
		if (node->cidr == cidr) {
			if (node->peer == peer)
				return 0;
			if (node->peer)
				list_unlink(t, node);
			else
				++t->prefixes;
			node->peer = peer;
			list_append(t, node);
			return 0;
		}
		parent = node;
		slot = &node->child[bit_at(key, node->cidr)];
		node = *slot;
	}

	fresh = node_new(bits, key, cidr, parent);
	if (!fresh)
		goto err_nomem;
	fresh->peer = peer;
	if (node) {
		/* node sits where the new prefix belongs, but is not inside it
		 * or is longer: either the new prefix contains node, or the two
		 * part ways at bit c under a new branch point. */
		c = common_bits(node->addr, key, node->cidr < cidr ? node->cidr : cidr);
		if (c == cidr) {
			fresh->child[bit_at(node->addr, cidr)] = node;
			node->parent = fresh;
		} else {
			branch = node_new(bits, key, c, parent);
			if (!branch) {
				free(fresh);
				goto err_nomem;
			}
			branch->child[bit_at(node->addr, c)] = node;
			branch->child[bit_at(key, c)] = fresh;
			node->parent = branch;
			fresh->parent = branch;
			*slot = branch;
			goto linked;
		}
	}
	*slot = fresh;
linked:
	list_append(t, fresh);
	++t->prefixes;
	return 0;

err_nomem:
	peer_delete_if_empty(t, peer);
	return -ENOMEM;
}

static struct allowedips_node *find_exact(struct allowedips *t, unsigned bits,
					  const uint8_t *key, unsigned cidr)
{
	struct allowedips_node *node = *root_of(t, bits);

	while (node && node->cidr <= cidr && prefix_match(node->addr, key, node->cidr)) {
		if (node->cidr == cidr)
			return node;
		node = node->child[bit_at(key, node->cidr)];
	}
	return NULL;
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
		      struct wg_peer *peer)
{
	unsigned bits = family_bits(family);
	struct allowedips_node *node;
	uint8_t key[16];

	if (!bits)
		return -EAFNOSUPPORT;
	if (cidr > bits || !peer)
		return -EINVAL;
	mask_copy(key, addr, bits, cidr);
	node = find_exact(t, bits, key, cidr);
	if (!node || node->peer != peer)
		return -ENOENT;
	release(t, node);
	return 0;
}

void allowedips_remove_by_peer(struct allowedips *t, struct wg_peer *peer)
{
	struct allowedips_peer *rec = peer_find(t, peer);
	struct allowedips_node *node, *next;

	if (!rec)
		return;
	/* prune frees only nodes without a peer, never the next one in
	 * this list, and leaves the record table alone. */
	for (node = rec->head; node; node = next) {
		next = node->peer_next;
		node->peer = NULL;
		node->peer_prev = node->peer_next = NULL;
		--t->prefixes;
		prune(t, node);
	}
	peer_delete(t, rec);
}

struct wg_peer *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	unsigned bits = family_bits(family);
	const struct allowedips_node *node;
	struct wg_peer *best = NULL;

	if (!bits)
		return NULL;
	node = bits == 32 ? t->root4 : t->root6;
	while (node && prefix_match(node->addr, addr, node->cidr)) {
		if (node->peer)
			best = node->peer;
		/* Only a host route is this long, and it has no children. */
		if (node->cidr == bits)
			break;
		node = node->child[bit_at(addr, node->cidr)];
	}
	return best;
}

int allowedips_walk_by_peer(const struct allowedips *t, struct wg_peer *peer,
			    int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			    void *ctx)
{
	const struct allowedips_peer *rec = peer_find(t, peer);
	const struct allowedips_node *node;
	int ret;

	if (!rec)
		return 0;
	for (node = rec->head; node; node = node->peer_next) {
		ret = fn(ctx, node->bits == 32 ? AF_INET : AF_INET6, node->addr, node->cidr);
		if (ret)
			return ret;
	}
	return 0;
}

size_t allowedips_count_by_peer(const struct allowedips *t, struct wg_peer *peer)
{
	const struct allowedips_peer *rec = peer_find(t, peer);

	return rec ? rec->count : 0;
}

size_t allowedips_count(const struct allowedips *t)
{
	return t->prefixes;
}
