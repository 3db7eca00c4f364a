/* The device: TUN, the index table, the handshake drain, setup and
 * teardown, and the loop glue; its UDP sockets are socket.c's.  See
 * device.h for the data flow. */
#include "src/wg/device.h"

#include "crypto/encoding.h"
#include "crypto/x25519.h"
#include "proto/common/gcra.h"
#include "proto/wg/ratelimiter.h"
#include "src/io/logsink.h"
#include "src/wg/crypt_pool.h"
#include "src/wg/peer.h"
#include "src/wg/receive.h"
#include "src/wg/send.h"
#include "src/wg/socket.h"
#include "tun/tun_offload.h"
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum {
	HANDSHAKES_PER_TURN = 32,	/* handshake budget of one loop turn */
	/* At most this share (1/n) of the loop's time goes to handshake
	 * messages over any stretch longer than HS_CREDIT_MAX_NS * n: the
	 * rest stays for established sessions during a flood.  A turn of
	 * the drain ends once it has used HS_TURN_MAX_NS. */
	HS_TIME_SHARE_DIV = 4,
	HS_CREDIT_MAX_NS = 20000000,
	HS_TURN_MAX_NS = 500000,
	/* Under load, handshake messages checked (mac1, mac2: two or three
	 * BLAKE2s, and a cookie reply or the queue) as they arrive: so many
	 * a second per source address (/64 in IPv6), so many over all; the
	 * rest are dropped unchecked.  A few percent of a core at most. */
	HS_CHECKS_PER_SOURCE = 64,
	HS_CHECKS_BURST_PER_SOURCE = 16,
	HS_CHECKS_PER_SECOND = 32768,
	HS_CHECKS_BURST = 2048,
	TUN_BUF_SIZE = 65536,
	TUN_PACKETS_PER_TURN = PKT_BATCH_MAX,
	RATELIMITER_MAX_ENTRIES = 8192,
	PKT_POOL_MAX = 4096,
	LOG_DEBUG_BURST = 20,		/* debug lines per second */
};

uint64_t wg_now(const struct wg_device *dev)
{
	(void)dev;
	/* Never zero, so that 0 can mean "never" in timestamps. */
	return uv_hrtime() + 1;
}

void dev_log(struct wg_device *dev, unsigned level, const char *fmt, ...)
{
	FILE *f;
	char msg[1024];
	int n;
	va_list ap;

	if (level > dev->log_level)
		return;
	if (level == LOG_DBG) {
		uint64_t now = wg_now(dev);

		if (now - dev->log_tokens_at > 1000000000ULL) {
			dev->log_tokens_at = now;
			dev->log_tokens = LOG_DEBUG_BURST;
		}
		if (!dev->log_tokens)
			return;
		--dev->log_tokens;
	}
	n = snprintf(msg, sizeof(msg), "%s: ", dev->ifname);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (dev->log_syslog)
		logsink_syslog(level, msg);
	if (dev->log_stream_off)
		return;
	/* One line per event with its level: to the journal as syslog's
	 * "<N>" (journald takes it as the priority), elsewhere as a word
	 * after the interface's name.  At debug level, the monotonic clock
	 * in ms: the order and spacing of events is what a debug log is
	 * read for. */
	f = dev->log_stream ? dev->log_stream : stderr;
	if (dev->log_journal)
		fputs(logsink_level_prefix(level), f);
	if (dev->log_level >= LOG_DBG) {
		uint64_t t = wg_now(dev);

		fprintf(f, "[%llu.%03llu] ", (unsigned long long)(t / 1000000000ULL),
			(unsigned long long)(t / 1000000ULL % 1000));
	}
	if (dev->log_journal)
		fprintf(f, "%s\n", msg);
	else
		fprintf(f, "%.*s%s: %s\n", n, msg, logsink_level_name(level), msg + n);
}

unsigned device_log_level_from_env(void)
{
	const char *l = getenv("LOG_LEVEL");

	if (!l)
		return LOG_INFO;
	if (!strcmp(l, "error") || !strcmp(l, "silent"))
		return LOG_ERR;
	if (!strcmp(l, "verbose") || !strcmp(l, "debug"))
		return LOG_DBG;
	return LOG_INFO;
}

/* ---- index table ---- */

static size_t index_bucket(const struct wg_device *dev, uint32_t index)
{
	/* Indices are random, so their low bits spread evenly. */
	return index & (dev->index_hash_size - 1);
}

static int index_grow(struct wg_device *dev)
{
	size_t nsize = dev->index_hash_size * 2, i;
	struct index_entry **n = calloc(nsize, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (i = 0; i < dev->index_hash_size; ++i) {
		struct index_entry *e = dev->index_hash[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = n[e->index & (nsize - 1)];
			n[e->index & (nsize - 1)] = e;
		}
	}
	free(dev->index_hash);
	dev->index_hash = n;
	dev->index_hash_size = nsize;
	return 0;
}

struct index_entry *device_index_find(struct wg_device *dev, uint32_t index)
{
	struct index_entry *e;

	for (e = dev->index_hash[index_bucket(dev, index)]; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

uint32_t device_index_insert(struct wg_device *dev, enum index_kind kind,
			     struct wg_peer *peer, struct noise_keypair *kp)
{
	struct index_entry *e;
	uint32_t index;

	if (dev->nindices >= dev->index_hash_size && index_grow(dev) < 0)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;
	do
		index = randombytes_random();
	while (!index || device_index_find(dev, index));
	e->index = index;
	e->kind = kind;
	e->peer = peer;
	e->keypair = kp;
	e->next = dev->index_hash[index_bucket(dev, index)];
	dev->index_hash[index_bucket(dev, index)] = e;
	++dev->nindices;
	return index;
}

void device_index_remove(struct wg_device *dev, uint32_t index)
{
	struct index_entry **pp = &dev->index_hash[index_bucket(dev, index)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->index == index) {
			struct index_entry *e = *pp;

			*pp = e->next;
			free(e);
			--dev->nindices;
			return;
		}
	}
}

void device_index_to_keypair(struct wg_device *dev, uint32_t index, struct noise_keypair *kp)
{
	struct index_entry *e = device_index_find(dev, index);

	if (e) {
		e->kind = INDEX_KEYPAIR;
		e->keypair = kp;
	}
	kp->local_index = index;
}

/* ---- TUN ---- */

/* Adds p to the batch for send_from_tun, passing a full batch on first. */
static void tx_add(struct wg_device *dev, struct pkt_batch *b, struct pkt *p)
{
	if (b->n == PKT_BATCH_MAX)
		send_from_tun(dev, b);
	b->p[b->n++] = p;
}

/* With TUN offloads: each read brings a virtio header and a packet, which
 * may be a TCP or (with USO) UDP super-packet (up to 64 KiB) to cut into
 * segments, each of which then takes the ordinary path (allowed-IPs,
 * peer, seal). */
static void tun_read_offload(struct wg_device *dev)
{
	struct pkt_batch b;
	unsigned total = 0;

	b.n = 0;
	while (total < TUN_PACKETS_PER_TURN) {
		uint8_t vh[VNET_HDR_LEN], *buf = dev->tun_buf;
		struct iovec iov[2] = { { vh, sizeof(vh) }, { buf, TUN_BUF_SIZE } };
		struct vnet_hdr hdr;
		struct tso_split split;
		struct pkt *p;
		size_t len;
		ssize_t n;
		int nsegs, i;

		/* Read into the device's buffer, then copy each packet or
		 * segment into a pool buffer (the pool's stay small). */
		n = tun_readv(dev->tun, iov, 2);
		if (n < 0) {
			if (n != -EAGAIN && dev->on_fatal && !dev->closing)
				dev->on_fatal(dev, "the TUN device failed");
			break;
		}
		++total;
		len = (size_t)n - (n >= (ssize_t)sizeof(vh) ? sizeof(vh) : (size_t)n);
		if ((size_t)n <= sizeof(vh) || len >= TUN_BUF_SIZE) {
			++dev->drops.tun_bad_offload;
			continue;
		}
		vnet_hdr_decode(&hdr, vh);
		nsegs = tso_split_begin(&split, &hdr, buf, &len);
		if (nsegs < 0) {
			++dev->drops.tun_bad_offload;
			dev_log(dev, LOG_DBG, "dropped a TUN packet with a bad virtio header (gso type %u)",
				hdr.gso_type);
			continue;
		}
		if (nsegs == 0) {
			/* A plain packet, its checksum completed if it asked. */
			if (len > PKT_MAX_IP)
				continue;
			p = pkt_get(&dev->pool);
			if (!p) {
				++dev->drops.pool_exhausted;
				break;
			}
			memcpy(p->data, buf, len);
			p->len = len;
			tx_add(dev, &b, p);
			continue;
		}
		for (i = 0; i < nsegs; ++i) {
			ssize_t sl;

			p = pkt_get(&dev->pool);
			if (!p) {
				dev->drops.pool_exhausted += (unsigned)(nsegs - i);
				break;
			}
			sl = tso_split_segment(&split, (unsigned)i, p->data, PKT_MAX_IP);
			if (sl < 0) {
				pkt_put(&dev->pool, p);
				++dev->drops.tun_bad_offload;
				break;
			}
			p->len = (size_t)sl;
			tx_add(dev, &b, p);
		}
		total += (unsigned)nsegs - 1;
	}
	if (b.n)
		send_from_tun(dev, &b);
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct wg_device *dev = h->data;
	struct pkt_batch b;
	ssize_t n;

	if (status < 0)
		return;
	if (dev->tun_vnet) {
		tun_read_offload(dev);
		return;
	}
	b.n = 0;
	for (;;) {
		struct pkt *p = pkt_get(&dev->pool);

		if (!p) {
			/* As for the sockets: drop one packet, do not spin. */
			char scratch[64];

			if (tun_read(dev->tun, scratch, sizeof(scratch)) >= 0)
				++dev->drops.pool_exhausted;
			break;
		}
		/* Room for padding and the tag behind the packet. */
		n = tun_read(dev->tun, p->data, PKT_MAX_IP);
		if (n <= 0) {
			pkt_put(&dev->pool, p);
			if (n < 0 && n != -EAGAIN && dev->on_fatal && !dev->closing)
				dev->on_fatal(dev, "the TUN device failed");
			break;
		}
		p->len = (size_t)n;
		b.p[b.n++] = p;
		if (b.n == PKT_BATCH_MAX) {
			send_from_tun(dev, &b);
			break;	/* let the sockets have a turn */
		}
	}
	if (b.n)
		send_from_tun(dev, &b);
}

void device_tun_output(struct wg_device *dev, struct pkt *p)
{
	if (!dev->tun_vnet) {
		tun_write(dev->tun, p->data, p->len);
		pkt_put(&dev->pool, p);
		return;
	}
	if (dev->tun_out.n == PKT_BATCH_MAX)
		device_tun_flush(dev);
	dev->tun_out.p[dev->tun_out.n++] = p;
}

/* Writes the queued packets, each run of one TCP flow's segments (or, with
 * USO, of one UDP flow's datagrams) as one super-packet: its head's
 * headers and the others' payloads, gathered by writev without a copy. */
void device_tun_flush(struct wg_device *dev)
{
	struct gro_batch g;
	struct iovec iov[PKT_BATCH_MAX + 1];
	uint8_t vh[VNET_HDR_LEN];
	unsigned i, k;

	if (!dev->tun_out.n)
		return;
	gro_init(&g, dev->tun_uso);
	for (i = 0; i < dev->tun_out.n; ++i)
		gro_add(&g, dev->tun_out.p[i]->data, dev->tun_out.p[i]->len);
	for (k = 0; k < g.nitems; ++k) {
		struct vnet_hdr hdr;
		unsigned cnt = gro_finish(&g, k, &hdr), head = g.items[k].head;
		int j, niov = 2;
		ssize_t n;

		vnet_hdr_encode(vh, &hdr);
		iov[0].iov_base = vh;
		iov[0].iov_len = sizeof(vh);
		iov[1].iov_base = g.data[head];
		iov[1].iov_len = g.len[head];
		for (j = g.next[head]; j >= 0; j = g.next[j]) {
			iov[niov].iov_base = g.data[j] + g.items[k].hlen;
			iov[niov].iov_len = g.len[j] - g.items[k].hlen;
			++niov;
		}
		n = tun_writev(dev->tun, iov, niov);
		if (n < 0 && n != -EAGAIN && cnt > 1) {
			dev->drops.tun_write_errors += cnt;
			if (!dev->tun_write_error_logged) {
				dev->tun_write_error_logged = true;
				dev_log(dev, LOG_ERR, "the TUN refused a coalesced packet: %s",
					strerror((int)-n));
			}
		}
	}
	for (i = 0; i < dev->tun_out.n; ++i)
		pkt_put(&dev->pool, dev->tun_out.p[i]);
	dev->tun_out.n = 0;
}

int device_open_tun(struct wg_device *dev)
{
	int ret;

	ret = dev->want_tun_offload ? tun_open_offload(&dev->tun, dev->ifname) :
				      tun_open(&dev->tun, dev->ifname);
	if (ret < 0)
		return ret;
	dev->tun_vnet = tun_has_vnet_hdr(dev->tun);
	/* UDP super-packets both ways; without them UDP goes one datagram
	 * per read and write as before. */
	if (dev->tun_vnet && dev->want_tun_uso) {
		int r = tun_enable_uso(dev->tun);

		dev->tun_uso = r == 0;
		if (r < 0)
			dev_log(dev, LOG_INFO, "TUN UDP segmentation offload refused (%s): one UDP datagram per write",
				strerror(-r));
	}
	if (dev->tun_vnet) {
		dev->tun_buf = malloc(TUN_BUF_SIZE);
		if (!dev->tun_buf) {
			tun_close(dev->tun);
			dev->tun = NULL;
			return -ENOMEM;
		}
	}
	if (dev->want_tun_offload && !dev->tun_vnet)
		dev_log(dev, LOG_INFO, "TUN offloads not available: one packet per read and write");
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", tun_name(dev->tun));
	tun_set_mtu(dev->tun, dev->mtu);
	uv_poll_init(dev->loop, &dev->tun_poll, tun_fd(dev->tun));
	dev->tun_poll.data = dev;
	uv_poll_start(&dev->tun_poll, UV_READABLE, on_tun_readable);
	dev->tun_poll_active = true;
	return 0;
}

/* ---- handshakes, housekeeping ---- */

bool device_under_load(const struct wg_device *dev, uint64_t now)
{
	return dev->hs_count >= MAX_QUEUED_INCOMING_HANDSHAKES / 8 || now < dev->under_load_until;
}

/* The drain's credit: loop time it may still spend on handshakes.  It
 * grows by 1/HS_TIME_SHARE_DIV of the time passed, up to
 * HS_CREDIT_MAX_NS, and the drain spends it; the first message after a
 * quiet spell finds a full credit, so only a sustained stream waits. */
static void hs_credit_refill(struct wg_device *dev, uint64_t now)
{
	if (now > dev->hs_credit_at) {
		uint64_t grown = (now - dev->hs_credit_at) / HS_TIME_SHARE_DIV;

		/* The credit is never far below zero (one turn's overrun), so
		 * twice the cap fills it from anywhere without overflow. */
		if (grown > 2 * (uint64_t)HS_CREDIT_MAX_NS)
			grown = 2 * (uint64_t)HS_CREDIT_MAX_NS;
		dev->hs_credit_ns += (int64_t)grown;
		if (dev->hs_credit_ns > HS_CREDIT_MAX_NS)
			dev->hs_credit_ns = HS_CREDIT_MAX_NS;
	}
	dev->hs_credit_at = now;
}

bool device_handshake_check_allowed(struct wg_device *dev, int family, const uint8_t *addr,
				    uint64_t now)
{
	const uint64_t cost = 1000000000ULL / HS_CHECKS_PER_SECOND;

	/* The source's budget first, so that one flooding address spends
	 * only its own, not everyone's. */
	if (ratelimiter_allow(dev->check_limiter, family, addr, now) &&
	    gcra_allow(&dev->check_tat, now, cost, cost * HS_CHECKS_BURST))
		return true;
	dev->under_load_until = now + 1000000000ULL;
	return false;
}

static void on_hs_timer(uv_timer_t *t)
{
	device_kick_handshakes(t->data);
}

static void on_hs_idle(uv_idle_t *h)
{
	struct wg_device *dev = h->data;
	uint64_t now = wg_now(dev), spent;
	unsigned left;

	hs_credit_refill(dev, now);
	if (dev->hs_credit_ns <= 0) {
		/* Out of credit: sleep until it has grown back (the idle
		 * handle would spin the loop meanwhile). */
		uint64_t wait_ms = ((uint64_t)-dev->hs_credit_ns * HS_TIME_SHARE_DIV) / 1000000 + 1;

		uv_idle_stop(h);
		dev->hs_idle_active = false;
		uv_timer_start(&dev->hs_timer, on_hs_timer, wait_ms, 0);
		return;
	}
	left = receive_handshakes(dev, HANDSHAKES_PER_TURN, now + HS_TURN_MAX_NS);
	spent = wg_now(dev) - now;
	dev->hs_credit_ns -= (int64_t)spent;
	if (!left) {
		uv_idle_stop(h);
		dev->hs_idle_active = false;
	}
}

void device_kick_handshakes(struct wg_device *dev)
{
	if (!dev->hs_idle_active && !dev->closing && !uv_is_active((uv_handle_t *)&dev->hs_timer)) {
		uv_idle_start(&dev->hs_idle, on_hs_idle);
		dev->hs_idle_active = true;
	}
}

/* The TUN interface was deleted under us: exit, as wireguard-go.  Out
 * of descriptors the check cannot tell, and that is survived: the node
 * says so once and looks again next time. */
static void check_interface(struct wg_device *dev)
{
	int r = tun_present(dev->tun);

	if (r == -ENODEV) {
		if (dev->on_fatal)
			dev->on_fatal(dev, "the interface was removed");
	} else if (r < 0) {
		if (!dev->iface_check_failing)
			dev_log(dev, LOG_ERR, "cannot check the interface: %s", strerror(-r));
		dev->iface_check_failing = true;
	} else if (dev->iface_check_failing) {
		dev_log(dev, LOG_INFO, "the interface check works again");
		dev->iface_check_failing = false;
	}
}

static void on_housekeeping(uv_timer_t *t)
{
	struct wg_device *dev = t->data;

	ratelimiter_gc(dev->ratelimiter, wg_now(dev));
	ratelimiter_gc(dev->check_limiter, wg_now(dev));
	device_refresh_known(dev);
	if (dev->tun)
		check_interface(dev);
}

/* An offload switch: set to anything but "" or "0" turns it off. */
static bool env_off(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

int device_init(struct wg_device *dev, uv_loop_t *loop, const char *ifname)
{
	static const uint8_t zero[NOISE_PUBLIC_KEY_LEN];
	unsigned nworkers, min_batch;
	const char *rate;
	int r;

	memset(dev, 0, sizeof(*dev));
	dev->loop = loop;
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifname);
	dev->sock4 = dev->sock6 = dev->ctl4 = dev->ctl6 = dev->prio4 = dev->prio6 = -1;
	dev->mtu = WG_DEFAULT_MTU;
	dev->log_level = LOG_INFO;
	dev->want_tun_offload = !env_off("WH_NO_TUN_OFFLOAD");
	dev->want_tun_uso = dev->want_tun_offload && !env_off("WH_NO_TUN_USO");
	dev->udp_gso = !env_off("WH_NO_UDP_GSO");
	dev->udp_gro = dev->udp_gso && !env_off("WH_NO_UDP_GRO");
	dev->want_steer = !env_off("WH_NO_SOCKET_STEER");
	rate = getenv("WH_CONTROL_READ_RATE");
	if (rate && *rate) {
		unsigned long long v = strtoull(rate, NULL, 10);

		dev->ctl_cost_ns = v ? 1000000000ULL / (v < 1000000000ULL ? v : 1000000000ULL) : 0;
	}
	/* Touched only as datagrams arrive: idle, it costs no memory. */
	if (dev->udp_gro) {
		dev->gro_buf = malloc((size_t)UDP_GRO_RECV_MAX * UDP_GRO_BUF_SIZE);
		if (!dev->gro_buf)
			dev->udp_gro = false;
	}

	crypt_pool_env(&nworkers, &min_batch);
	r = crypt_pool_new(&dev->crypt, nworkers, min_batch);
	if (r < 0) {
		/* Slower, not broken: everything stays on the loop. */
		dev_log(dev, LOG_ERR, "cannot start %u crypto worker threads: %s", nworkers, strerror(-r));
		dev->crypt = NULL;
	}

	dev->identity = sodium_malloc(sizeof(*dev->identity));
	if (!dev->identity)
		goto enomem;
	memset(dev->identity, 0, sizeof(*dev->identity));
	cookie_checker_init(&dev->cookie_checker, zero);
	dev->ratelimiter = ratelimiter_new(RATELIMITER_MAX_ENTRIES);
	dev->check_limiter = ratelimiter_new_rate(RATELIMITER_MAX_ENTRIES, HS_CHECKS_PER_SOURCE,
						  HS_CHECKS_BURST_PER_SOURCE);
	if (!dev->ratelimiter || !dev->check_limiter)
		goto enomem;
	dev->peer_hash_size = 64;
	dev->peer_hash = calloc(dev->peer_hash_size, sizeof(*dev->peer_hash));
	dev->index_hash_size = 64;
	dev->index_hash = calloc(dev->index_hash_size, sizeof(*dev->index_hash));
	dev->hs_queue = calloc(MAX_QUEUED_INCOMING_HANDSHAKES, sizeof(*dev->hs_queue));
	if (!dev->peer_hash || !dev->index_hash || !dev->hs_queue)
		goto enomem;
	randombytes_buf(dev->peer_hash_key, sizeof(dev->peer_hash_key));
	if (allowedips_init(&dev->allowedips) < 0)
		goto enomem;
	pkt_pool_init(&dev->pool, PKT_POOL_MAX);

	uv_idle_init(loop, &dev->hs_idle);
	dev->hs_idle.data = dev;
	uv_timer_init(loop, &dev->hs_timer);
	dev->hs_timer.data = dev;
	dev->hs_credit_ns = HS_CREDIT_MAX_NS;
	dev->hs_credit_at = wg_now(dev);
	uv_timer_init(loop, &dev->housekeeping);
	dev->housekeeping.data = dev;
	uv_timer_init(loop, &dev->ctl_timer);
	dev->ctl_timer.data = dev;
	uv_timer_start(&dev->housekeeping, on_housekeeping, 1000, 1000);
	return 0;
enomem:
	crypt_pool_free(dev->crypt);
	dev->crypt = NULL;
	free(dev->hs_queue);
	free(dev->index_hash);
	free(dev->peer_hash);
	ratelimiter_free(dev->ratelimiter);
	ratelimiter_free(dev->check_limiter);
	if (dev->identity)
		sodium_free(dev->identity);
	return -ENOMEM;
}

int device_set_private_key(struct wg_device *dev, const uint8_t *key)
{
	struct noise_static_identity *id = dev->identity;
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct wg_peer *peer, *next;

	if (!key || ct_is_zero(key, NOISE_PUBLIC_KEY_LEN)) {
		sodium_memzero(id, sizeof(*id));
		memset(pub, 0, sizeof(pub));
	} else {
		uint8_t clamped[NOISE_PUBLIC_KEY_LEN];

		memcpy(clamped, key, sizeof(clamped));
		x25519_clamp(clamped);
		if (id->has_identity && ct_equal(id->static_private, clamped, sizeof(clamped))) {
			sodium_memzero(clamped, sizeof(clamped));
			return 0;	/* unchanged: keep every session */
		}
		if (!x25519_public(pub, clamped)) {
			sodium_memzero(clamped, sizeof(clamped));
			return -EINVAL;
		}
		/* A peer with our own public key cannot exist. */
		peer = peer_lookup(dev, pub);
		if (peer)
			peer_remove(peer);
		memcpy(id->static_private, clamped, sizeof(clamped));
		memcpy(id->static_public, pub, sizeof(pub));
		id->has_identity = true;
		sodium_memzero(clamped, sizeof(clamped));
	}
	cookie_checker_init(&dev->cookie_checker, pub);
	for (peer = dev->peers_head; peer; peer = next) {
		next = peer->list_next;
		noise_handshake_precompute(&peer->handshake);
		/* Sessions under the old key stop sending; what waited for
		 * a key (a keepalive staged before it) goes now. */
		peer_expire_current_keypairs(peer);
		if (id->has_identity && peer->nstaged)
			send_staged(peer);
	}
	return 0;
}

static void on_handle_closed_noop(uv_handle_t *h)
{
	(void)h;
}

void device_set_ext(struct wg_device *dev, const struct wg_device_ext_ops *ops, void *ctx)
{
	dev->ext = ops;
	dev->ext_ctx = ops ? ctx : NULL;
}

void device_close(struct wg_device *dev)
{
	if (dev->closing)
		return;
	dev->closing = true;
	peer_remove_all(dev);
	socket_close(dev, AF_INET);
	socket_close(dev, AF_INET6);
	if (dev->tun_poll_active) {
		uv_poll_stop(&dev->tun_poll);
		uv_close((uv_handle_t *)&dev->tun_poll, on_handle_closed_noop);
		dev->tun_poll_active = false;
	}
	uv_idle_stop(&dev->hs_idle);
	uv_close((uv_handle_t *)&dev->hs_idle, on_handle_closed_noop);
	uv_timer_stop(&dev->hs_timer);
	uv_close((uv_handle_t *)&dev->hs_timer, on_handle_closed_noop);
	uv_timer_stop(&dev->housekeeping);
	uv_close((uv_handle_t *)&dev->housekeeping, on_handle_closed_noop);
	uv_timer_stop(&dev->ctl_timer);
	uv_close((uv_handle_t *)&dev->ctl_timer, on_handle_closed_noop);
}

/* After the loop has run out: frees what the handles no longer use. */
void device_destroy(struct wg_device *dev)
{
	size_t i;

	if (dev->tun)
		tun_close(dev->tun);
	dev->tun = NULL;
	for (i = 0; i < dev->index_hash_size; ++i) {
		struct index_entry *e = dev->index_hash[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(dev->index_hash);
	free(dev->peer_hash);
	if (dev->hs_queue) {
		sodium_memzero(dev->hs_queue, MAX_QUEUED_INCOMING_HANDSHAKES * sizeof(*dev->hs_queue));
		free(dev->hs_queue);
	}
	free(dev->gro_buf);
	dev->gro_buf = NULL;
	free(dev->known_extra);
	dev->known_extra = NULL;
	dev->n_known_extra = 0;
	free(dev->tun_buf);
	dev->tun_buf = NULL;
	allowedips_free(&dev->allowedips);
	ratelimiter_free(dev->ratelimiter);
	ratelimiter_free(dev->check_limiter);
	crypt_pool_free(dev->crypt);
	dev->crypt = NULL;
	pkt_pool_destroy(&dev->pool);
	sodium_memzero(&dev->cookie_checker, sizeof(dev->cookie_checker));
	sodium_free(dev->identity);
	dev->identity = NULL;
}
