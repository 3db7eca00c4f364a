/* The overlay's secure layer (doc/protocol.md, sections "Datagram" to
 * "Workbit").
 *
 * Keys.  One X25519 per peer, cached:
 *     ss       = X25519(our private key, their public key)   (zero: refused)
 *     CK       = BLAKE2s-256("wh overlay v1 key")
 *     k(S->R)  = HKDF1(CK, ss || pk_S || pk_R || namespace)
 * where HKDF1 is WireGuard's KDF1 over HMAC-BLAKE2s.  The order of the two
 * keys makes the directions differ, so no key and nonce pair is ever used
 * by both sides; the namespace makes networks unable to read each other.
 *
 * Nonce.  ChaCha20-Poly1305 (RFC 8439) with the nonce 00 00 00 00 || the
 * eight counter bytes exactly as they are on the wire (big-endian), and
 * the 42-byte header as associated data, so no header bit can change.
 *
 * Counters.  A peer's send counter starts at max(wall clock in ns, floor)
 * when its state is created and grows by one per datagram; the floor is
 * one more than any counter this secure layer ever sent (and may be carried
 * over a restart by the caller).  So a restarted or evicted-and-recreated
 * sender is ahead of what any receiver saw, without the receiver ever
 * comparing counters with its own clock.
 *
 * Receiving, cheapest checks first: length, magic, version, not our own
 * key; a sender we have state for is looked up, else its workbit is
 * computed before any DH; then the replay pre-check (a counter already
 * seen or behind the window is dropped without decrypting); then the
 * AEAD; only an authentic datagram creates or changes state.  The first
 * authentic datagram from a sender without a window starts one; a window
 * unused for rx_idle_reset_ns is forgotten, which is what lets a sender
 * whose clock went back across a restart in again (doc/protocol.md,
 * "Replay protection", explains the trade).
 *
 * Memory: the private key and the peer table (with every derived key) are
 * in sodium_malloc memory (locked, guarded, wiped when freed); the struct
 * itself and the hash index hold nothing secret.
 *
 * The peer table: an array in sodium_malloc memory, a hash index keyed
 * with a random SipHash key (chains of indices), and an LRU list; a new
 * peer takes a free slot or evicts the least recently used, whose keys
 * are wiped.
 *
 * Admission of unknown senders (doc/protocol.md 4.1), after WireGuard's
 * cookies: the DH for a sender we hold no keys for is spent within a
 * global GCRA budget and one per source address (a fixed table indexed by
 * a keyed hash of the IPv4 address or IPv6 /64; colliding sources share a
 * budget, so the state is bounded whatever the sources).  Beyond it, or
 * when the same key from the same address failed authentication in the
 * last OVL_SECURE_NEGATIVE_SEC (a fixed table of fingerprints), we answer
 * with a cookie reply and do no DH:
 *     cookie = MAC(secret, address || sender key)      secret: random, 120 s
 *     k      = BLAKE2s("wh overlay v1 cookie" || our key || tag)
 * where tag is the Poly1305 tag of the datagram answered, so that only its
 * sender (or whoever saw it) can open the cookie, sealed under k with the
 * nonce salt || 0^8.  A datagram whose mac2 = MAC(cookie, datagram before
 * mac2) checks proves its address and the key it names: it is spent from
 * budgets for proven datagrams (the source's own, and a global one of the
 * same size as the first), which spoofed traffic cannot drain.  The
 * sender side keeps its last datagrams' tags per peer and the cookie a
 * peer sent, and seals with mac2 while the cookie is fresh. */
#include "proto/overlay/secure.h"

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "proto/common/gcra.h"
#include "proto/common/replay.h"
#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define NSEC_PER_SEC UINT64_C(1000000000)

static const char key_label[] = "wh overlay v1 key";
static const char cookie_label[] = "wh overlay v1 cookie";

enum {
	SENT_TAGS = 4,			/* our last datagrams' tags kept per peer */
	ADDR_BYTES = 19,		/* family, port, IP: what a cookie binds */
	COOKIE_AD_LEN = offsetof(struct ovl_wire_cookie_reply, sealed),
};

_Static_assert(AEAD_KEY_LEN == 32 && (int)AEAD_TAG_LEN == (int)OVL_TAG_LEN, "ChaCha20-Poly1305");
_Static_assert((int)X25519_KEY_LEN == (int)OVL_KEY_LEN, "X25519 keys are node IDs");

struct peer {
	uint8_t pk[OVL_KEY_LEN];
	uint8_t send_key[AEAD_KEY_LEN];		/* k(us -> peer) */
	uint8_t recv_key[AEAD_KEY_LEN];		/* k(peer -> us) */
	uint64_t send_counter;			/* the next one to send */
	uint64_t last_rx_ns;			/* wall clock of the last accepted */
	struct replay_window rx;		/* of the counters received */
	uint64_t rx_ring[REPLAY_RING_WORDS(OVL_REPLAY_WINDOW)];
	bool workbit_ok;			/* the sender's workbit is enough */
	/* Sending to an unknown node under load: the tags of our last
	 * datagrams to it (what a cookie reply answers) and its cookie. */
	uint8_t sent_tags[SENT_TAGS][OVL_TAG_LEN];
	uint8_t sent_next;
	uint8_t cookie[OVL_COOKIE_LEN];
	uint64_t cookie_wall_ns;		/* when it came; 0: none */
	bool in_use;
	uint32_t prev, next;			/* LRU list (head: most recent); free list */
	uint32_t hnext;				/* hash chain */
};

/* Our static private key and the cookie secrets, alone in their
 * sodium_malloc page. */
struct identity {
	uint8_t private_key[OVL_KEY_LEN];
	uint8_t cookie_secret[2][32];		/* current, previous */
	uint8_t negative_key[32];		/* fingerprints of failures */
};

/* One source address's DH budgets (shared by colliding sources). */
struct source {
	uint64_t tat;				/* any datagram */
	uint64_t tat_proven;			/* with a valid mac2 */
};

/* A sender key and address whose datagram failed authentication. */
struct negative {
	uint8_t fp[16];
	uint64_t until_ns;
};

/* Plain heap memory: no secret lives directly in it. */
struct ovl_secure {
	struct identity *id;			/* sodium_malloc */
	uint8_t public_key[OVL_KEY_LEN];
	uint8_t chaining_key[BLAKE2S_HASH_LEN];	/* CK */
	uint8_t ns[OVL_NAMESPACE_MAX];
	size_t ns_len;
	unsigned workbit;
	uint64_t counter_floor;
	uint64_t max_ahead_ns;
	uint64_t rx_idle_reset_ns;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct peer *peers;			/* sodium_malloc, capacity slots */
	uint32_t *buckets;			/* heads of the hash chains */
	uint32_t capacity, nbuckets;
	uint32_t lru_head, lru_tail, free_head;
	/* Admission (see the top); the times are the monotonic clock. */
	uint64_t dh_tat, dh_cost_ns, dh_burst_ns;
	uint64_t dh_proven_tat;			/* the same budget, for proven sources */
	uint64_t src_cost_ns, src_burst_ns;
	uint64_t cookie_tat, cookie_cost_ns, cookie_burst_ns;
	uint32_t salt_next;			/* the next cookie reply's salt */
	struct source *sources;			/* OVL_SECURE_SOURCES */
	struct negative *negative;		/* OVL_SECURE_NEGATIVE */
	uint64_t secret_born_ns;
	bool secret_set;
	struct ovl_secure_stats stats;
};

/* ---- replay window ---- */

/* The common window (proto/common/replay.h) at the protocol's size:
 * counters top - 1023 .. top, doc/protocol.md section 5.2. */
static bool rx_check(const struct peer *p, uint64_t counter)
{
	return replay_window_check(&p->rx, p->rx_ring, OVL_REPLAY_WINDOW, counter);
}

static void rx_commit(struct peer *p, uint64_t counter)
{
	replay_window_commit(&p->rx, p->rx_ring, OVL_REPLAY_WINDOW, counter);
}

/* ---- the peer table ---- */

static uint32_t bucket_of(const struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int i;

	crypto_shorthash(h, pk, OVL_KEY_LEN, sec->hash_key);
	for (i = 0; i < 8; ++i)
		v = v << 8 | h[i];
	return (uint32_t)(v & (sec->nbuckets - 1));
}

static struct peer *lookup(const struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN])
{
	uint32_t i;

	for (i = sec->buckets[bucket_of(sec, pk)]; i != NIL; i = sec->peers[i].hnext)
		if (sodium_memcmp(sec->peers[i].pk, pk, OVL_KEY_LEN) == 0)
			return &sec->peers[i];
	return NULL;
}

static uint32_t index_of(const struct ovl_secure *sec, const struct peer *p)
{
	return (uint32_t)(p - sec->peers);
}

static void lru_unlink(struct ovl_secure *sec, struct peer *p)
{
	if (p->prev != NIL)
		sec->peers[p->prev].next = p->next;
	else
		sec->lru_head = p->next;
	if (p->next != NIL)
		sec->peers[p->next].prev = p->prev;
	else
		sec->lru_tail = p->prev;
	p->prev = p->next = NIL;
}

static void lru_push_front(struct ovl_secure *sec, struct peer *p)
{
	uint32_t i = index_of(sec, p);

	p->prev = NIL;
	p->next = sec->lru_head;
	if (sec->lru_head != NIL)
		sec->peers[sec->lru_head].prev = i;
	sec->lru_head = i;
	if (sec->lru_tail == NIL)
		sec->lru_tail = i;
}

static void touch(struct ovl_secure *sec, struct peer *p)
{
	if (sec->lru_head == index_of(sec, p))
		return;
	lru_unlink(sec, p);
	lru_push_front(sec, p);
}

static void hash_unlink(struct ovl_secure *sec, struct peer *p)
{
	uint32_t *link = &sec->buckets[bucket_of(sec, p->pk)];
	uint32_t i = index_of(sec, p);

	while (*link != NIL && *link != i)
		link = &sec->peers[*link].hnext;
	if (*link == i)
		*link = p->hnext;
	p->hnext = NIL;
}

/* Unlinks p from the index and the LRU list and wipes it; the slot is
 * then the caller's to reuse or to free. */
static void peer_remove(struct ovl_secure *sec, struct peer *p)
{
	hash_unlink(sec, p);
	lru_unlink(sec, p);
	sodium_memzero(p, sizeof(*p));
	p->prev = p->next = p->hnext = NIL;
}

/* Fills p's key, keys and workbit verdict.  false for a low-order key
 * (the DH gives zero); p then holds nothing to keep. */
static bool peer_derive(struct ovl_secure *sec, struct peer *p, const uint8_t pk[OVL_KEY_LEN])
{
	uint8_t ss[X25519_KEY_LEN];
	uint8_t in[3 * OVL_KEY_LEN + OVL_NAMESPACE_MAX];
	size_t inlen = 3 * OVL_KEY_LEN + sec->ns_len;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	memcpy(p->pk, pk, OVL_KEY_LEN);
	p->workbit_ok = sec->workbit == 0 ||
			workbit_of(pk, (const char *)sec->ns, sec->ns_len) >= sec->workbit;

	++sec->stats.dh;
	if (!x25519_shared(ss, sec->id->private_key, pk))
		goto out;
	memcpy(in, ss, OVL_KEY_LEN);
	memcpy(in + 3 * OVL_KEY_LEN, sec->ns, sec->ns_len);

	/* k(us -> peer) = HKDF1(CK, ss || pk_us || pk_peer || ns) */
	memcpy(in + OVL_KEY_LEN, sec->public_key, OVL_KEY_LEN);
	memcpy(in + 2 * OVL_KEY_LEN, pk, OVL_KEY_LEN);
	hkdf_blake2s(p->send_key, NULL, NULL, sec->chaining_key, in, inlen);
	/* k(peer -> us) = HKDF1(CK, ss || pk_peer || pk_us || ns) */
	memcpy(in + OVL_KEY_LEN, pk, OVL_KEY_LEN);
	memcpy(in + 2 * OVL_KEY_LEN, sec->public_key, OVL_KEY_LEN);
	hkdf_blake2s(p->recv_key, NULL, NULL, sec->chaining_key, in, inlen);
	ok = true;
out:
	sodium_memzero(ss, sizeof(ss));
	sodium_memzero(in, sizeof(in));
	if (!ok)
		sodium_memzero(p, sizeof(*p));
	return ok;
}

/* Moves the derived tmp into a slot (a free one, or the least recently
 * used one, evicted) and wipes tmp. */
static struct peer *peer_insert(struct ovl_secure *sec, struct peer *tmp, uint64_t now_ns)
{
	struct peer *p;
	uint32_t i, b;

	if (sec->free_head != NIL) {
		i = sec->free_head;
		sec->free_head = sec->peers[i].next;
		p = &sec->peers[i];
	} else {
		p = &sec->peers[sec->lru_tail];
		peer_remove(sec, p);
		++sec->stats.evictions;
	}
	memcpy(p, tmp, sizeof(*p));
	sodium_memzero(tmp, sizeof(*tmp));
	p->in_use = true;
	p->send_counter = now_ns > sec->counter_floor ? now_ns : sec->counter_floor;
	replay_window_reset(&p->rx);
	p->last_rx_ns = 0;
	b = bucket_of(sec, p->pk);
	p->hnext = sec->buckets[b];
	sec->buckets[b] = index_of(sec, p);
	p->prev = p->next = NIL;
	lru_push_front(sec, p);
	return p;
}

/* Whether p's replay window still stands: established, and not idle for
 * rx_idle_reset_ns.  A clock that went back counts as no time passing. */
static bool rx_window_live(const struct ovl_secure *sec, const struct peer *p, uint64_t now_ns)
{
	if (!p->rx.valid)
		return false;
	return !(now_ns > p->last_rx_ns && now_ns - p->last_rx_ns >= sec->rx_idle_reset_ns);
}

/* 00 00 00 00 || the counter as on the wire. */
static void make_nonce(uint8_t nonce[AEAD_NONCE_LEN], const uint8_t counter[8])
{
	memset(nonce, 0, 4);
	memcpy(nonce + 4, counter, 8);
}

/* ---- admission of unknown senders ---- */

/* The bytes of an address a cookie and a fingerprint bind: family, port
 * (big-endian), IP. */
static void addr_bytes(uint8_t out[ADDR_BYTES], const struct ovl_addr *a)
{
	out[0] = a->family;
	be16_put(out + 1, a->port);
	memcpy(out + 3, a->ip, 16);
}

/* A budget's cost and depth from a rate per second and a burst;
 * UINT32_MAX as the rate: free. */
static void budget_of(uint32_t rate, uint32_t burst, uint64_t *cost_ns, uint64_t *burst_ns)
{
	*cost_ns = rate == UINT32_MAX ? 0 : NSEC_PER_SEC / rate;
	*burst_ns = *cost_ns * burst;
}

/* The budget of a's IPv4 address or IPv6 /64: one port, or one host
 * with many addresses in its /64, is one source. */
static struct source *source_of(struct ovl_secure *sec, const struct ovl_addr *a)
{
	uint8_t in[17], h[crypto_shorthash_BYTES];
	size_t n = a->family == OVL_AF_INET6 ? 8 : 16;
	uint32_t v;

	in[0] = a->family;
	memcpy(in + 1, a->ip, n);
	crypto_shorthash(h, in, 1 + n, sec->hash_key);
	v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return &sec->sources[v & (OVL_SECURE_SOURCES - 1)];
}

static struct negative *negative_of(struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN],
				    const struct ovl_addr *a, uint8_t fp[16])
{
	uint8_t in[OVL_KEY_LEN + ADDR_BYTES];
	uint32_t v;

	memcpy(in, pk, OVL_KEY_LEN);
	addr_bytes(in + OVL_KEY_LEN, a);
	blake2s_mac16(fp, sec->id->negative_key, sizeof(sec->id->negative_key), in, sizeof(in));
	v = (uint32_t)fp[0] << 24 | (uint32_t)fp[1] << 16 | (uint32_t)fp[2] << 8 | fp[3];
	return &sec->negative[v & (OVL_SECURE_NEGATIVE - 1)];
}

static bool negative_hit(struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN],
			 const struct ovl_addr *a, uint64_t now_ns)
{
	uint8_t fp[16];
	struct negative *n = negative_of(sec, pk, a, fp);

	return n->until_ns > now_ns && sodium_memcmp(n->fp, fp, sizeof(fp)) == 0;
}

/* Remembers a failure, replacing whatever shared its slot: the table
 * forgets early rather than grow. */
static void negative_add(struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN],
			 const struct ovl_addr *a, uint64_t now_ns)
{
	uint8_t fp[16];
	struct negative *n = negative_of(sec, pk, a, fp);

	memcpy(n->fp, fp, sizeof(fp));
	n->until_ns = now_ns + OVL_SECURE_NEGATIVE_SEC * NSEC_PER_SEC;
}

/* A new secret every OVL_SECURE_COOKIE_SECRET_SEC; the previous one
 * still proves, so a cookie is good for at least that long. */
static void cookie_secret_update(struct ovl_secure *sec, uint64_t now_ns)
{
	if (sec->secret_set && now_ns - sec->secret_born_ns < OVL_SECURE_COOKIE_SECRET_SEC * NSEC_PER_SEC)
		return;
	if (sec->secret_set)
		memcpy(sec->id->cookie_secret[1], sec->id->cookie_secret[0], 32);
	else
		randombytes_buf(sec->id->cookie_secret[1], 32);
	randombytes_buf(sec->id->cookie_secret[0], 32);
	sec->secret_born_ns = now_ns;
	sec->secret_set = true;
}

static void cookie_of(const struct ovl_secure *sec, unsigned which, const struct ovl_addr *a,
		      const uint8_t pk[OVL_KEY_LEN], uint8_t cookie[OVL_COOKIE_LEN])
{
	uint8_t in[ADDR_BYTES + OVL_KEY_LEN];

	addr_bytes(in, a);
	memcpy(in + ADDR_BYTES, pk, OVL_KEY_LEN);
	blake2s_mac16(cookie, sec->id->cookie_secret[which], 32, in, sizeof(in));
}

/* Whether the last OVL_MAC_LEN bytes of dgram are the mac2 of the rest
 * under a cookie of ours for this source and key. */
static bool mac2_valid(const struct ovl_secure *sec, const uint8_t *dgram, size_t len,
		       const uint8_t pk[OVL_KEY_LEN], const struct ovl_addr *a)
{
	uint8_t cookie[OVL_COOKIE_LEN], mac[OVL_MAC_LEN];
	bool ok = false;
	unsigned i;

	for (i = 0; i < 2 && !ok; ++i) {
		cookie_of(sec, i, a, pk, cookie);
		blake2s_mac16(mac, cookie, sizeof(cookie), dgram, len - OVL_MAC_LEN);
		ok = sodium_memcmp(mac, dgram + len - OVL_MAC_LEN, OVL_MAC_LEN) == 0;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

/* k = BLAKE2s(label || the cookie's sender || the answered tag). */
static void cookie_key(uint8_t key[AEAD_KEY_LEN], const uint8_t sender[OVL_KEY_LEN],
		       const uint8_t tag[OVL_TAG_LEN])
{
	uint8_t in[sizeof(cookie_label) - 1 + OVL_KEY_LEN + OVL_TAG_LEN];

	memcpy(in, cookie_label, sizeof(cookie_label) - 1);
	memcpy(in + sizeof(cookie_label) - 1, sender, OVL_KEY_LEN);
	memcpy(in + sizeof(cookie_label) - 1 + OVL_KEY_LEN, tag, OVL_TAG_LEN);
	blake2s_hash(key, AEAD_KEY_LEN, in, sizeof(in), NULL, 0);
}

static void salt_nonce(uint8_t nonce[AEAD_NONCE_LEN], const uint8_t salt[OVL_COOKIE_SALT_LEN])
{
	memset(nonce, 0, AEAD_NONCE_LEN);
	memcpy(nonce, salt, OVL_COOKIE_SALT_LEN);
}

/* The cookie reply to a datagram (its AEAD part ends at aead_len) from
 * pk at a: no DH, no state; OVL_COOKIE_REPLY_LEN bytes into out. */
static void cookie_reply_make(struct ovl_secure *sec, const uint8_t *dgram, size_t aead_len,
			      const uint8_t pk[OVL_KEY_LEN], const struct ovl_addr *a,
			      uint8_t out[OVL_COOKIE_REPLY_LEN])
{
	uint8_t cookie[OVL_COOKIE_LEN], key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN];
	struct ovl_cookie_reply r;

	memset(&r, 0, sizeof(r));
	memcpy(r.sender, sec->public_key, OVL_KEY_LEN);
	/* A salt that never repeats under one cookie key (a counter from a
	 * random start: no random draw, which is a system call, per reply). */
	memcpy(r.salt, &sec->salt_next, sizeof(r.salt));
	++sec->salt_next;
	ovl_cookie_reply_write(out, &r);
	cookie_of(sec, 0, a, pk, cookie);
	cookie_key(key, sec->public_key, dgram + aead_len - OVL_TAG_LEN);
	salt_nonce(nonce, r.salt);
	aead_seal_nonce(out + COOKIE_AD_LEN, cookie, sizeof(cookie), out, COOKIE_AD_LEN, nonce, key);
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(key, sizeof(key));
	++sec->stats.cookie_replies;
}

/* A cookie reply to us: it must answer one of our last datagrams to its
 * sender, whose keys we hold since we sealed to it.  No DH. */
static enum ovl_drop cookie_reply_take(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
				       uint64_t now_wall_ns)
{
	static const uint8_t zero[OVL_TAG_LEN];
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], cookie[OVL_COOKIE_LEN];
	struct ovl_cookie_reply r;
	enum ovl_drop d = OVL_DROP_BAD_COOKIE;
	struct peer *p;
	unsigned i;

	if (!ovl_cookie_reply_parse(&r, dgram, len))
		return len < OVL_COOKIE_REPLY_LEN ? OVL_DROP_SHORT : OVL_DROP_LONG;
	p = lookup(sec, r.sender);
	if (!p)
		return OVL_DROP_BAD_COOKIE;
	salt_nonce(nonce, r.salt);
	for (i = 0; i < SENT_TAGS && d != OVL_DROP_COOKIE; ++i) {
		if (sodium_memcmp(p->sent_tags[i], zero, OVL_TAG_LEN) == 0)
			continue;
		cookie_key(key, r.sender, p->sent_tags[i]);
		if (aead_open_nonce(cookie, r.sealed, sizeof(r.sealed), dgram, COOKIE_AD_LEN, nonce,
				    key)) {
			memcpy(p->cookie, cookie, sizeof(cookie));
			p->cookie_wall_ns = now_wall_ns ? now_wall_ns : 1;
			d = OVL_DROP_COOKIE;
		}
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(cookie, sizeof(cookie));
	return d;
}

/* Whether a datagram from pk, for whom we hold no keys, may cost a DH
 * now (OVL_ACCEPT); otherwise why not, with a cookie reply in src->reply
 * when we can ask for a proof of address.  maclen: whether it ends with a
 * mac2 (OVL_MAC_LEN) or not (0). */
static enum ovl_drop admit(struct ovl_secure *sec, const uint8_t *dgram, size_t len, size_t maclen,
			   const uint8_t pk[OVL_KEY_LEN], struct ovl_secure_src *src)
{
	const struct ovl_addr *a = src->addr;
	struct source *s = a ? source_of(sec, a) : NULL;
	uint64_t now = src->now_ns;
	enum ovl_drop d;

	if (a) {
		cookie_secret_update(sec, now);
		if (maclen && mac2_valid(sec, dgram, len, pk, a)) {
			++sec->stats.mac2_valid;
			/* Proven: budgets that spoofed datagrams cannot drain, the
			 * source's own and a global one (for whoever holds many
			 * addresses). */
			if (gcra_allow(&s->tat_proven, now, sec->src_cost_ns, sec->src_burst_ns) &&
			    gcra_allow(&sec->dh_proven_tat, now, sec->dh_cost_ns, sec->dh_burst_ns))
				return OVL_ACCEPT;
			return OVL_DROP_LOAD;
		}
		if (negative_hit(sec, pk, a, now)) {
			d = OVL_DROP_FAILED;
			goto ask;
		}
	}
	if ((!s || gcra_allow(&s->tat, now, sec->src_cost_ns, sec->src_burst_ns)) &&
	    gcra_allow(&sec->dh_tat, now, sec->dh_cost_ns, sec->dh_burst_ns))
		return OVL_ACCEPT;
	d = OVL_DROP_LOAD;
ask:
	/* A reply no larger than what it answers, to an address we can
	 * answer, within the replies' own budget (beyond it a flood costs us
	 * the checks above and nothing more). */
	if (a && src->reply && len >= OVL_COOKIE_REPLY_LEN && ovl_addr_valid(a)) {
		if (gcra_allow(&sec->cookie_tat, now, sec->cookie_cost_ns, sec->cookie_burst_ns)) {
			cookie_reply_make(sec, dgram, len - maclen, pk, a, src->reply);
			src->reply_len = OVL_COOKIE_REPLY_LEN;
		} else {
			++sec->stats.cookie_shed;
		}
	}
	return d;
}

/* ---- the API ---- */

int ovl_secure_new(struct ovl_secure **out, const struct ovl_secure_config *cfg)
{
	struct ovl_secure *sec;
	size_t cap = cfg->capacity ? cfg->capacity : OVL_SECURE_DEFAULT_CAPACITY;
	uint32_t i, nb;

	*out = NULL;
	if (!cfg->private_key || !cfg->ns || cfg->ns_len == 0 || cfg->ns_len > OVL_NAMESPACE_MAX ||
	    cfg->workbit > 256 || cap > OVL_SECURE_MAX_CAPACITY)
		return -EINVAL;
	for (nb = 1; nb < 2 * cap; nb <<= 1)
		;

	sec = calloc(1, sizeof(*sec));
	if (!sec)
		return -ENOMEM;
	sec->id = sodium_malloc(sizeof(*sec->id));
	sec->peers = sodium_malloc(cap * sizeof(*sec->peers));
	sec->buckets = calloc(nb, sizeof(*sec->buckets));
	sec->sources = calloc(OVL_SECURE_SOURCES, sizeof(*sec->sources));
	sec->negative = calloc(OVL_SECURE_NEGATIVE, sizeof(*sec->negative));
	if (!sec->id || !sec->peers || !sec->buckets || !sec->sources || !sec->negative) {
		ovl_secure_free(sec);
		return -ENOMEM;
	}

	memcpy(sec->id->private_key, cfg->private_key, OVL_KEY_LEN);
	if (!x25519_public(sec->public_key, sec->id->private_key)) {
		ovl_secure_free(sec);
		return -EINVAL;
	}
	blake2s_hash(sec->chaining_key, BLAKE2S_HASH_LEN, key_label, strlen(key_label), NULL, 0);
	memcpy(sec->ns, cfg->ns, cfg->ns_len);
	sec->ns_len = cfg->ns_len;
	sec->workbit = cfg->workbit;
	sec->counter_floor = cfg->counter_floor;
	sec->max_ahead_ns = cfg->max_ahead_ns;
	sec->rx_idle_reset_ns = cfg->rx_idle_reset_ns ? cfg->rx_idle_reset_ns :
			       OVL_RX_IDLE_RESET_SEC * NSEC_PER_SEC;
	randombytes_buf(sec->hash_key, sizeof(sec->hash_key));
	randombytes_buf(sec->id->negative_key, sizeof(sec->id->negative_key));
	budget_of(cfg->dh_rate ? cfg->dh_rate : OVL_SECURE_DH_RATE,
		  cfg->dh_burst ? cfg->dh_burst : OVL_SECURE_DH_BURST, &sec->dh_cost_ns,
		  &sec->dh_burst_ns);
	budget_of(cfg->dh_source_rate ? cfg->dh_source_rate : OVL_SECURE_DH_SOURCE_RATE,
		  cfg->dh_source_burst ? cfg->dh_source_burst : OVL_SECURE_DH_SOURCE_BURST,
		  &sec->src_cost_ns, &sec->src_burst_ns);
	budget_of(cfg->cookie_rate ? cfg->cookie_rate : OVL_SECURE_COOKIE_RATE,
		  cfg->cookie_burst ? cfg->cookie_burst : OVL_SECURE_COOKIE_BURST,
		  &sec->cookie_cost_ns, &sec->cookie_burst_ns);
	randombytes_buf(&sec->salt_next, sizeof(sec->salt_next));

	sec->capacity = (uint32_t)cap;
	sec->nbuckets = nb;
	for (i = 0; i < nb; ++i)
		sec->buckets[i] = NIL;
	memset(sec->peers, 0, cap * sizeof(*sec->peers));
	for (i = 0; i < cap; ++i) {
		sec->peers[i].prev = sec->peers[i].hnext = NIL;
		sec->peers[i].next = i + 1 < cap ? i + 1 : NIL;
	}
	sec->free_head = 0;
	sec->lru_head = sec->lru_tail = NIL;
	*out = sec;
	return 0;
}

void ovl_secure_free(struct ovl_secure *sec)
{
	if (!sec)
		return;
	/* sodium_free wipes what it frees. */
	if (sec->peers)
		sodium_free(sec->peers);
	if (sec->id)
		sodium_free(sec->id);
	free(sec->buckets);
	free(sec->sources);
	free(sec->negative);
	free(sec);
}

long ovl_secure_seal(struct ovl_secure *sec, const uint8_t peer_pk[OVL_KEY_LEN],
		      const uint8_t *plain, size_t plain_len, uint64_t now_wall_ns,
		      uint8_t *out, size_t outmax)
{
	struct ovl_wire_header *h;
	uint8_t nonce[AEAD_NONCE_LEN];
	struct peer *p, tmp;
	uint64_t counter;
	size_t len = plain_len + OVL_OVERHEAD;
	bool mac2;

	if (plain_len == 0 || plain_len > OVL_MAX_PLAINTEXT || outmax < plain_len + OVL_OVERHEAD)
		return -EMSGSIZE;
	if (sodium_memcmp(peer_pk, sec->public_key, OVL_KEY_LEN) == 0)
		return -EINVAL;

	p = lookup(sec, peer_pk);
	if (!p) {
		if (!peer_derive(sec, &tmp, peer_pk))
			return -EINVAL;
		p = peer_insert(sec, &tmp, now_wall_ns);
	} else {
		touch(sec, p);
	}
	if (p->send_counter == UINT64_MAX)
		return -EOVERFLOW;
	counter = p->send_counter++;
	if (sec->counter_floor < counter + 1)
		sec->counter_floor = counter + 1;

	/* The peer's proof of our address, while fresh and when it fits. */
	mac2 = p->cookie_wall_ns && now_wall_ns >= p->cookie_wall_ns &&
	       now_wall_ns - p->cookie_wall_ns < OVL_SECURE_COOKIE_USE_SEC * NSEC_PER_SEC &&
	       len + OVL_MAC_LEN <= OVL_MAX_DATAGRAM && len + OVL_MAC_LEN <= outmax;

	h = (struct ovl_wire_header *)out;
	h->magic = OVL_MAGIC;
	h->version = mac2 ? OVL_VERSION | OVL_HDR_MAC2 : OVL_VERSION;
	memcpy(h->sender, sec->public_key, OVL_KEY_LEN);
	be64_put(h->counter, counter);
	make_nonce(nonce, h->counter);
	aead_seal_nonce(out + OVL_HEADER_LEN, plain, plain_len, out, OVL_HEADER_LEN, nonce,
			p->send_key);
	/* What a cookie reply to this datagram will be sealed with. */
	memcpy(p->sent_tags[p->sent_next], out + len - OVL_TAG_LEN, OVL_TAG_LEN);
	p->sent_next = (uint8_t)((p->sent_next + 1) % SENT_TAGS);
	if (mac2) {
		blake2s_mac16(out + len, p->cookie, sizeof(p->cookie), out, len);
		len += OVL_MAC_LEN;
		++sec->stats.mac2_sealed;
	}
	++sec->stats.sealed;
	return (long)len;
}

/* Opens a datagram; src NULL: admits anyone (ovl_secure_open). */
static enum ovl_drop open_dgram(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
				struct ovl_secure_src *src, uint64_t now_wall_ns,
				uint8_t sender_pk[OVL_KEY_LEN], uint8_t *plain, size_t plainmax,
				size_t *plain_len)
{
	const struct ovl_wire_header *h;
	uint8_t nonce[AEAD_NONCE_LEN];
	struct peer *p, tmp;
	const uint8_t *key;
	bool have_tmp = false;
	uint64_t counter;
	enum ovl_drop d;
	size_t ptlen, maclen;

	if (len < OVL_MIN_DATAGRAM) {
		d = OVL_DROP_SHORT;
		goto out;
	}
	if (len > OVL_MAX_DATAGRAM) {
		d = OVL_DROP_LONG;
		goto out;
	}
	h = (const struct ovl_wire_header *)dgram;
	if (h->magic != OVL_MAGIC) {
		d = OVL_DROP_NOT_OVERLAY;
		goto out;
	}
	if (h->version == (OVL_VERSION | OVL_HDR_COOKIE)) {
		d = cookie_reply_take(sec, dgram, len, now_wall_ns);
		goto out;
	}
	if (h->version == OVL_VERSION) {
		maclen = 0;
	} else if (h->version == (OVL_VERSION | OVL_HDR_MAC2)) {
		maclen = OVL_MAC_LEN;
	} else {
		d = OVL_DROP_VERSION;
		goto out;
	}
	if (len < OVL_MIN_DATAGRAM + maclen) {
		d = OVL_DROP_SHORT;
		goto out;
	}
	if (sodium_memcmp(h->sender, sec->public_key, OVL_KEY_LEN) == 0) {
		d = OVL_DROP_SELF;
		goto out;
	}
	ptlen = len - maclen - OVL_OVERHEAD;
	if (plainmax < ptlen) {
		d = OVL_DROP_BUFFER;
		goto out;
	}
	counter = be64_get(h->counter);

	p = lookup(sec, h->sender);
	if (p) {
		/* State made by a seal to a weak key: still no entry for it. */
		if (!p->workbit_ok) {
			d = OVL_DROP_WORKBIT;
			goto out;
		}
		if (rx_window_live(sec, p, now_wall_ns) && !rx_check(p, counter)) {
			d = OVL_DROP_REPLAY;
			goto out;
		}
		key = p->recv_key;
	} else {
		/* The proof of work is checked before the DH it protects. */
		if (sec->workbit &&
		    workbit_of(h->sender, (const char *)sec->ns, sec->ns_len) < sec->workbit) {
			d = OVL_DROP_WORKBIT;
			goto out;
		}
		if (src && (d = admit(sec, dgram, len, maclen, h->sender, src)) != OVL_ACCEPT)
			goto out;
		if (!peer_derive(sec, &tmp, h->sender)) {
			d = OVL_DROP_BAD_KEY;
			goto out;
		}
		have_tmp = true;
		key = tmp.recv_key;
	}
	if (sec->max_ahead_ns && counter > now_wall_ns && counter - now_wall_ns > sec->max_ahead_ns) {
		d = OVL_DROP_SKEW;
		goto out;
	}

	make_nonce(nonce, h->counter);
	if (!aead_open_nonce(plain, dgram + OVL_HEADER_LEN, len - maclen - OVL_HEADER_LEN, dgram,
			     OVL_HEADER_LEN, nonce, key)) {
		/* The same forgery again costs no DH (see admit). */
		if (have_tmp && src && src->addr)
			negative_add(sec, h->sender, src->addr, src->now_ns);
		d = OVL_DROP_AUTH;
		goto out;
	}

	/* Authentic: only now may the datagram create or change state. */
	if (have_tmp) {
		p = peer_insert(sec, &tmp, now_wall_ns);
		have_tmp = false;
	} else {
		touch(sec, p);
	}
	if (!rx_window_live(sec, p, now_wall_ns))
		replay_window_reset(&p->rx);
	rx_commit(p, counter);
	p->last_rx_ns = now_wall_ns;
	/* It holds our keys now: no more proof needed. */
	p->cookie_wall_ns = 0;
	memcpy(sender_pk, p->pk, OVL_KEY_LEN);
	*plain_len = ptlen;
	d = OVL_ACCEPT;
out:
	if (have_tmp)
		sodium_memzero(&tmp, sizeof(tmp));
	++sec->stats.open_results[d];
	return d;
}

enum ovl_drop ovl_secure_open(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
			       uint64_t now_wall_ns, uint8_t sender_pk[OVL_KEY_LEN],
			       uint8_t *plain, size_t plainmax, size_t *plain_len)
{
	return open_dgram(sec, dgram, len, NULL, now_wall_ns, sender_pk, plain, plainmax,
			  plain_len);
}

enum ovl_drop ovl_secure_open_from(struct ovl_secure *sec, const uint8_t *dgram, size_t len,
				    struct ovl_secure_src *src, uint64_t now_wall_ns,
				    uint8_t sender_pk[OVL_KEY_LEN], uint8_t *plain,
				    size_t plainmax, size_t *plain_len)
{
	src->reply_len = 0;
	return open_dgram(sec, dgram, len, src, now_wall_ns, sender_pk, plain, plainmax,
			  plain_len);
}

bool ovl_secure_has_peer(const struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN])
{
	return lookup(sec, pk) != NULL;
}

void ovl_secure_forget(struct ovl_secure *sec, const uint8_t pk[OVL_KEY_LEN])
{
	struct peer *p = lookup(sec, pk);
	uint32_t i;

	if (!p)
		return;
	i = index_of(sec, p);
	peer_remove(sec, p);
	p->next = sec->free_head;
	sec->free_head = i;
}

void ovl_secure_public_key(const struct ovl_secure *sec, uint8_t pk[OVL_KEY_LEN])
{
	memcpy(pk, sec->public_key, OVL_KEY_LEN);
}

uint64_t ovl_secure_counter_floor(const struct ovl_secure *sec)
{
	return sec->counter_floor;
}

const struct ovl_secure_stats *ovl_secure_stats(const struct ovl_secure *sec)
{
	return &sec->stats;
}

const char *ovl_drop_name(enum ovl_drop d)
{
	switch (d) {
	case OVL_ACCEPT:
		return "accepted";
	case OVL_DROP_SHORT:
		return "short";
	case OVL_DROP_LONG:
		return "long";
	case OVL_DROP_NOT_OVERLAY:
		return "not overlay";
	case OVL_DROP_VERSION:
		return "unknown version";
	case OVL_DROP_SELF:
		return "from ourselves";
	case OVL_DROP_WORKBIT:
		return "workbit too low";
	case OVL_DROP_BAD_KEY:
		return "low-order key";
	case OVL_DROP_REPLAY:
		return "replay";
	case OVL_DROP_SKEW:
		return "counter too far ahead";
	case OVL_DROP_AUTH:
		return "authentication failed";
	case OVL_DROP_BUFFER:
		return "buffer too small";
	case OVL_DROP_LOAD:
		return "under load";
	case OVL_DROP_FAILED:
		return "failed lately";
	case OVL_DROP_COOKIE:
		return "cookie taken";
	case OVL_DROP_BAD_COOKIE:
		return "bad cookie";
	case OVL_DROP_MAX:
		break;
	}
	return "?";
}
