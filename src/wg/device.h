/* The WireGuard device: one TUN interface, one UDP socket per address
 * family, the peers, on one libuv loop.  The loop thread is the single
 * owner of every field here; nothing else runs concurrently with it,
 * except the crypto workers (src/wg/crypt_pool.h), and only inside a call
 * of the loop's that waits for them: they read a keypair's keys and
 * write the bytes of the batch's packets, nothing else.
 *
 *   TUN --read--> allowed-IPs (by destination) --> peer --> stage
 *       --> current keypair seals --> UDP send to the peer's endpoint
 *   UDP --recv--> first byte: 1-3 handshake queue / 4 data / else the owner's
 *       data: receiver index --> keypair opens --> replay window
 *       --> endpoint roams --> allowed-IPs source check --> TUN write
 *
 * The device knows WireGuard only.  Its owner may install a path of its
 * own (struct wg_device_ext_ops; wh up: the overlay on the same socket,
 * and relays): it gets the datagrams whose first byte is no WireGuard
 * type, and routes the datagrams of the peers it marks (peer_set_routed).
 *
 * Errors from setup functions: negative errno. */
#ifndef WH_SRC_WG_DEVICE_H
#define WH_SRC_WG_DEVICE_H

#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"
#include "src/wg/allowedips.h"
#include "src/io/packet.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

struct crypt_pool;
struct ratelimiter;
struct tun_device;
struct uapi_server;
struct wg_peer;

/* One entry of the table of local indices: the handshake (while it is
 * under way) or the keypair a message's receiver index names. */
enum index_kind { INDEX_HANDSHAKE, INDEX_KEYPAIR };

enum {
	/* Known sources in the steering programs (steer.c), within the
	 * kernel's 4,096 BPF instructions; beyond these, sources are
	 * strangers.  A stranger's datagram runs through a search tree of
	 * the IPv4 addresses (some 20 instructions for 512) but through
	 * every IPv6 one (9 each). */
	KNOWN4_MAX = 512,
	KNOWN6_MAX = 32,
	KNOWN_EXTRA_MAX = 64,
};
struct index_entry {
	uint32_t index;
	enum index_kind kind;
	struct wg_peer *peer;
	struct noise_keypair *keypair;	/* INDEX_KEYPAIR */
	struct index_entry *next;	/* hash chain */
};

/* Counters of what the device dropped, by reason: anything a remote host
 * can cause is counted here and logged only at debug level. */
struct wg_drop_counters {
	uint64_t unknown_type;		/* first byte not 1-4, and not the owner's */
	uint64_t bad_length;
	uint64_t handshake_invalid;	/* bad mac1, failed decryption, replay */
	uint64_t handshake_ratelimited;
	uint64_t handshake_cookie_sent;	/* under load, no valid mac2 */
	uint64_t handshake_shed;	/* under load, over the checks' budget: unchecked */
	uint64_t handshake_queue_full;
	uint64_t cookie_invalid;
	uint64_t data_unknown_index;
	uint64_t data_invalid;		/* bad tag, replay, expired keypair */
	uint64_t data_source_mismatch;	/* inner source not the peer's */
	uint64_t data_bad_inner;	/* not a well-formed IP packet */
	uint64_t tun_no_route;		/* outgoing, no peer for destination */
	uint64_t no_endpoint;		/* outgoing, the peer has no endpoint */
	uint64_t staged_full;		/* outgoing, the device's staging cap */
	uint64_t pool_exhausted;
	uint64_t send_errors;
	uint64_t tun_bad_offload;	/* a TUN packet whose virtio header we refused */
	uint64_t tun_write_errors;	/* the TUN refused a (coalesced) packet */
	uint64_t ext_bad;		/* the owner's, but malformed (WG_EXT_BAD) */
	uint64_t ext_refused;		/* the owner's, but refused (WG_EXT_REFUSED) */
};

/* A handshake message waiting for the loop to process it.  Handshakes
 * are queued, not processed inline with data, so that a flood of them
 * costs the data path a bounded share of each loop turn and so that the
 * queue's depth tells when the device is under load.  Under load, the
 * cheap checks (mac1, mac2, the per-source rate) run before a message
 * is queued, so that only messages from sources that proved their
 * address reach the queue and a flood cannot crowd them out. */
struct hs_item {
	union wg_sockaddr src;
	union wg_pktinfo local;
	bool has_local;
	bool macs_checked;	/* mac1 and mac2 already passed, under load */
	bool routed;		/* came on the owner's path: no roaming */
	uint16_t len;
	uint8_t msg[sizeof(struct message_handshake_initiation)];
};

/* What the owner's path does with a datagram the device hands it. */
enum wg_ext_verdict {
	WG_EXT_NOT_MINE,	/* not the owner's: dropped, drops.unknown_type */
	WG_EXT_BAD,		/* the owner's but malformed: dropped, drops.ext_bad */
	WG_EXT_REFUSED,		/* the owner's but refused: dropped, drops.ext_refused */
	WG_EXT_TAKEN,		/* done with (used, or counted by the owner): recycled */
	WG_EXT_INNER,		/* its header taken off (p->data, p->len): a WireGuard
				 * datagram that came on the owner's path */
	WG_EXT_LATER,		/* the owner's: handed to input in batch order */
	WG_EXT_SEND,		/* readdressed (p->addr, p->data, p->len): the device
				 * sends it with its batch */
};

/* A path of the device's owner, sharing the device's socket.  Every op
 * runs on the loop; ctx is device_set_ext's.  The device never learns
 * what the owner's datagrams mean, nor how it routes a peer. */
struct wg_device_ext_ops {
	/* A received datagram whose first byte is no WireGuard type, in the
	 * first pass over its batch: before any message of the batch is
	 * authenticated, so it must not touch WireGuard state (peers,
	 * sessions, endpoints).  WG_EXT_INNER, _LATER, _NOT_MINE, _BAD or
	 * _REFUSED. */
	enum wg_ext_verdict (*classify)(void *ctx, struct pkt *p);
	/* A datagram classify kept for later, in batch order with the
	 * WireGuard messages (where a handshake is processed: it may call
	 * into the device).  WG_EXT_TAKEN or _SEND. */
	enum wg_ext_verdict (*input)(void *ctx, struct pkt *p);
	/* A sealed datagram for a peer the owner routes (peer->routed),
	 * instead of the socket.  The PKT_ROUTE_ROOM bytes in front of
	 * p->data are the owner's, for a header of its path, so that the
	 * data path stays batched and copies nothing.  WG_EXT_SEND,
	 * _TAKEN (sent its own way) or _REFUSED (counted as a send error). */
	enum wg_ext_verdict (*output)(void *ctx, struct wg_peer *peer, struct pkt *p);
	/* An authenticated datagram from peer came on the owner's path from
	 * via (the endpoint did not move: the owner may follow the peer
	 * there). */
	void (*routed_rx)(void *ctx, struct wg_peer *peer, const union wg_sockaddr *via);
	/* Optional: a WireGuard datagram that came directly and is not this
	 * device's (an initiation whose mac1 is not under our key; a
	 * response, cookie reply or data message whose receiver index is
	 * none of ours), in its turn of the batch (wh up: a relay's stock
	 * clients, doc/protocol.md 9.5).  WG_EXT_SEND (readdressed, the
	 * owner's header in front; PKT_HEADROOM bytes are free in front of
	 * a received datagram), _TAKEN (counted by the owner) or _NOT_MINE
	 * (the device goes on with it as before). */
	enum wg_ext_verdict (*foreign)(void *ctx, struct pkt *p);
};

struct wg_device {
	uv_loop_t *loop;
	char ifname[16];

	struct noise_static_identity *identity;	/* sodium_malloc */
	struct cookie_checker cookie_checker;
	struct ratelimiter *ratelimiter;

	/* Peers: a list in insertion order (for get) and a hash by key. */
	struct wg_peer *peers_head, *peers_tail;
	struct wg_peer **peer_hash;
	uint8_t peer_hash_key[16];	/* SipHash key: remote keys cannot aim collisions */
	size_t peer_hash_size, npeers;
	/* Moves at every peer added or removed: a lookup an owner cached
	 * (a pointer, or that there was none) holds while this has not
	 * moved. */
	uint64_t peers_gen;

	struct index_entry **index_hash;
	size_t index_hash_size, nindices;

	struct allowedips allowedips;

	/* Outer sockets; -1 when closed.  Per family two sockets share the
	 * port (SO_REUSEPORT) and the kernel steers each datagram by its
	 * first bytes (socket.c): sock4/sock6 take WireGuard data and the
	 * relay channel datagrams that carry it, and send everything;
	 * ctl4/ctl6 take the rest (handshakes, cookies, the owner's
	 * overlay, junk), so that a flood of those that fills its queue
	 * never makes the kernel drop data.  ctl -1: the kernel would not
	 * steer, and the one socket takes everything. */
	int sock4, sock6, ctl4, ctl6;
	uv_poll_t *poll4, *poll6;	/* heap: a rebind closes the old */
	uv_poll_t *ctl_poll4, *ctl_poll6;
	/* A third queue for control datagrams from known sources: the
	 * addresses of the peers' endpoints and those the owner names
	 * (device_set_known_sources), written into the steering program
	 * (device_refresh_known), so that strangers neither fill it nor
	 * spend its reads.  -1: not steered. */
	int prio4, prio6;
	uv_poll_t *prio_poll4, *prio_poll6;
	bool known_dirty;		/* an endpoint or the owner's list moved */
	unsigned known4, known6;	/* addresses in the programs */
	union wg_sockaddr *known_extra;	/* the owner's, at most KNOWN_EXTRA_MAX */
	size_t n_known_extra;
	/* Strangers' control datagrams may be read within a budget a
	 * second (WH_CONTROL_READ_RATE; unset or 0: none, the default): a
	 * GCRA bucket; when it is spent both control polls pause on
	 * ctl_timer, and the kernel drops what overflows, counted.  Off by
	 * default: a client that roams, whose first initiation comes from
	 * an address no one knows, would then reach a flooded server only
	 * at the budget's share of the flood (net-flood). */
	uint64_t ctl_cost_ns, ctl_tat;
	uv_timer_t ctl_timer;
	bool ctl_paused;
	uint64_t ctl_reads, ctl_pauses;
	uint16_t listen_port;		/* configured (0 = any) */
	uint16_t bound_port;		/* actual */
	uint32_t fwmark;

	struct tun_device *tun;
	uv_poll_t tun_poll;
	bool tun_poll_active;
	unsigned mtu;

	struct pkt_pool pool;
	unsigned nstaged;		/* all peers' staged packets, capped */

	/* Offloads (doc/benchmarks.md), each switched off by an environment
	 * variable read at device_init: WH_NO_TUN_OFFLOAD (TSO from and
	 * coalesced TCP to the TUN, tun/tun_offload.c, and USO with it),
	 * WH_NO_TUN_USO (UDP super-packets from and coalesced UDP to the
	 * TUN only), WH_NO_UDP_GSO (UDP segmentation on send, and GRO with
	 * it), WH_NO_UDP_GRO (coalesced receive only), WH_NO_SOCKET_STEER
	 * (one socket a family, data and control in one queue: ctl4/ctl6
	 * above stay -1).  Each flag is what is
	 * in use: tun_vnet once the TUN took the offloads, tun_uso once it
	 * took USO too, udp_gso cleared for good when the kernel refuses a
	 * segmented send, udp_gro when the socket option fails. */
	bool want_tun_offload, want_tun_uso;
	bool tun_vnet, tun_uso;
	bool udp_gso, udp_gro;
	bool want_steer;
	bool tun_write_error_logged;
	uint8_t *tun_buf;		/* one TUN read (a super-packet), tun_vnet */
	uint8_t *gro_buf;		/* one recvmmsg of coalesced datagrams, udp_gro */
	/* AEAD of big batches on worker threads (WH_CRYPTO_THREADS,
	 * src/wg/crypt_pool.h); NULL: all on the loop.  The loop waits for
	 * every batch it hands out, so it still owns all state. */
	struct crypt_pool *crypt;
	/* Decrypted packets for the TUN, written (coalesced where they are
	 * one TCP flow) at the end of each receive batch. */
	struct pkt_batch tun_out;

	/* The handshake queue (a ring) and its drain: on an idle handle, a
	 * few messages a loop turn, within a credit of loop time that grows
	 * at a fixed share of the wall clock (src/wg/device.c); when it runs
	 * out the drain pauses on hs_timer until it has grown back. */
	struct hs_item *hs_queue;
	unsigned hs_head, hs_count;
	uv_idle_t hs_idle;
	uv_timer_t hs_timer;
	bool hs_idle_active;
	int64_t hs_credit_ns;
	uint64_t hs_credit_at;
	uint64_t under_load_until;	/* ns; sticky for a second */
	/* Under load, the budget of handshake messages checked as they
	 * arrive: per source, and over all sources (a GCRA bucket). */
	struct ratelimiter *check_limiter;
	uint64_t check_tat;

	/* The owner's path, when it installed one (device_set_ext; wh up:
	 * the overlay and its relays); NULL in a plain wireguard-wh. */
	const struct wg_device_ext_ops *ext;
	void *ext_ctx;
	/* Routed peers' datagrams the owner readdressed for the device to
	 * send (WG_EXT_SEND from output), and WireGuard datagrams it took its
	 * header off (WG_EXT_INNER from classify); wh up: relay channel
	 * datagrams as an end. */
	uint64_t ext_tx, ext_rx;

	uv_timer_t housekeeping;	/* once a second: gc, interface checks */
	struct uapi_server *uapi;

	struct wg_drop_counters drops;
	unsigned log_level;		/* 0 errors, 1 info, 2 debug */
	FILE *log_stream;		/* where dev_log writes; NULL: stderr */
	bool log_stream_off;		/* a daemon's: its stderr is gone */
	bool log_syslog;		/* also to syslog (src/io/logsink.h) */
	bool log_journal;		/* the stream is the journal's: "<N>" levels */
	uint64_t log_tokens_at;		/* debug log rate limit */
	unsigned log_tokens;

	void (*on_fatal)(struct wg_device *dev, const char *why);
	void *data;			/* the owner's */
	bool closing;
	/* The interface check could not tell (out of descriptors): said
	 * once, until it can tell again. */
	bool iface_check_failing;
};

/* The monotonic clock, in nanoseconds. */
uint64_t wg_now(const struct wg_device *dev);

int device_init(struct wg_device *dev, uv_loop_t *loop, const char *ifname);
/* Opens the TUN interface and starts reading it. */
int device_open_tun(struct wg_device *dev);
/* Binds the sockets to port (0 = any free one, the same for both
 * families); rebinding keeps the old sockets when the new bind fails. */
int device_bind(struct wg_device *dev, uint16_t port);

/* What the kernel dropped because a socket's receive queue was full,
 * per queue (SO_MEMINFO; 0 for a socket that is not open), and whether
 * the family's datagrams are steered to two queues. */
struct wg_socket_stats {
	uint64_t data4_queue_drops, ctl4_queue_drops, known4_queue_drops;
	uint64_t data6_queue_drops, ctl6_queue_drops, known6_queue_drops;
	bool steered4, steered6;
	unsigned known4, known6;		/* addresses steered as known */
	uint64_t control_read_rate;		/* a second; 0: no budget */
	uint64_t control_reads, control_pauses;
};
void device_socket_stats(const struct wg_device *dev, struct wg_socket_stats *st);
/* The addresses (ports ignored) whose control datagrams go to the known
 * queue besides the peers' endpoints, replacing the last list; at most
 * KNOWN_EXTRA_MAX are kept.  Takes effect at the next refresh. */
void device_set_known_sources(struct wg_device *dev, const union wg_sockaddr *a, size_t n);
/* Rewrites the steering programs if the known addresses moved (the
 * housekeeping timer calls it every second). */
void device_refresh_known(struct wg_device *dev);
/* Strangers' control datagrams read a second (0: no budget). */
void device_set_control_budget(struct wg_device *dev, uint64_t per_second);
int device_set_fwmark(struct wg_device *dev, uint32_t mark);
/* key NULL or all zeros removes the identity (every peer's session is
 * dropped, as the kernel does). */
int device_set_private_key(struct wg_device *dev, const uint8_t *key);
/* Stops everything and closes the handles; the loop then runs out, and
 * device_destroy frees the rest. */
void device_close(struct wg_device *dev);
void device_destroy(struct wg_device *dev);

/* Index table (local indices are random, unique, never zero). */
uint32_t device_index_insert(struct wg_device *dev, enum index_kind kind,
			     struct wg_peer *peer, struct noise_keypair *kp);
void device_index_remove(struct wg_device *dev, uint32_t index);
struct index_entry *device_index_find(struct wg_device *dev, uint32_t index);
/* Repoints an index from a handshake to the keypair derived from it. */
void device_index_to_keypair(struct wg_device *dev, uint32_t index, struct noise_keypair *kp);

/* Sends one datagram to addr from the socket of its family. */
int device_send(struct wg_device *dev, const union wg_sockaddr *addr, const void *buf, size_t len);
/* Sends to the peer's endpoint from its cached source address.  0 or a
 * negative errno (counted in drops.send_errors). */
int device_send_peer(struct wg_device *dev, struct wg_peer *peer, const void *buf, size_t len);
/* Sends a batch of prepared packets (each p->addr set), in as few
 * syscalls as the socket allows. */
void device_send_batch(struct wg_device *dev, struct pkt_batch *b);
/* Takes a decrypted packet for the TUN: written at once without TUN
 * offloads, else queued for device_tun_flush, which the receive path
 * calls at the end of each batch. */
void device_tun_output(struct wg_device *dev, struct pkt *p);
void device_tun_flush(struct wg_device *dev);

/* Installs the owner's path (ops NULL: none).  ops must outlive the
 * device or the next call. */
void device_set_ext(struct wg_device *dev, const struct wg_device_ext_ops *ops, void *ctx);
/* A WireGuard datagram that came on the owner's path from via, outside
 * the device's batches (copied): handled as if it arrived on the socket
 * from there, except that it never moves an endpoint (via is not where
 * the peer is). */
void device_input_routed(struct wg_device *dev, const union wg_sockaddr *via,
			 const uint8_t *buf, size_t len);

bool device_under_load(const struct wg_device *dev, uint64_t now);
/* Under load: whether a handshake message from this source may be
 * checked now (and if so, counts it against the budgets); when not, the
 * device stays under load for another second. */
bool device_handshake_check_allowed(struct wg_device *dev, int family, const uint8_t *addr,
				    uint64_t now);
/* Schedules the draining of the handshake queue. */
void device_kick_handshakes(struct wg_device *dev);

/* Log at the edges: errors and info always; debug lines (anything a
 * remote host can trigger) only when enabled and rate-limited. */
void dev_log(struct wg_device *dev, unsigned level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum { LOG_ERR = 0, LOG_INFO = 1, LOG_DBG = 2 };
/* LOG_LEVEL=error|silent|info|verbose|debug, as wireguard-go reads it. */
unsigned device_log_level_from_env(void);

#endif
