/* The overlay glued to the loop (see overlay.h): the protocol engine
 * (proto/overlay/engine.h) does everything a datagram or a request means;
 * this file gives it the time, randomness and the device's socket, sends
 * what it asks (NAT filtering probes from fresh sockets), answers what
 * only the host knows (getifaddrs), turns its addresses into socket
 * addresses for the owner, and runs one timer at its next deadline. */
#include "src/node/overlay_priv.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/engine.h"
#include "proto/overlay/predict.h"
#include "proto/overlay/probetab.h"
#include "proto/overlay/stockrelay.h"
#include "src/node/probeport.h"
#include "src/node/strbuf.h"
#include "src/wg/device.h"

#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert((int)OVERLAY_NAT_UNKNOWN == (int)OVL_NAT_UNKNOWN && (int)OVERLAY_NAT_NONE == (int)OVL_NAT_NONE &&
	       (int)OVERLAY_NAT_EIM == (int)OVL_NAT_EIM && (int)OVERLAY_NAT_EDM == (int)OVL_NAT_EDM,
	       "the node's NAT mapping names are the engine's");

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct ovl_time now_of(const struct overlay *ov)
{
	struct ovl_time t = { .now_ns = wg_now(ov->dev), .wall_ns = wall_ns() };

	return t;
}

static void rng(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

bool overlay_addr_from_wg(const union wg_sockaddr *a, struct ovl_addr *k)
{
	return ovl_addr_from_sockaddr(k, &a->sa);
}

bool overlay_addr_to_wg(const struct ovl_addr *k, union wg_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	return ovl_addr_to_sockaddr(k, &a->sa, sizeof(*a)) != 0;
}

/* The engine's address as a socket address (see rx_addr). */
static bool to_sockaddr(const struct overlay *ov, const struct ovl_addr *k, union wg_sockaddr *a)
{
	if (ov->rx_addr && ovl_addr_equal(k, &ov->rx_kad)) {
		*a = *ov->rx_addr;
		return true;
	}
	return overlay_addr_to_wg(k, a);
}

static void on_timer(uv_timer_t *t);

/* The engine says when it wants to run next; the timer follows. */
static void rearm(struct overlay *ov)
{
	uint64_t next = ovl_engine_deadline(ov->eng), now = wg_now(ov->dev), ms;

	if (ov->dev->closing)
		return;
	ms = next > now ? (next - now + 999999) / 1000000 : 0;
	if (ms > 60000)
		ms = 60000;
	uv_timer_start(&ov->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct overlay *ov = t->data;
	struct ovl_time now = now_of(ov);
	struct ovl_addr a;
	size_t i;

	ovl_engine_tick(ov->eng, now);
	/* A member with stock clients registers with every boot node (the
	 * relay a stock client's configuration names), public member or
	 * not; the engine sends PEERS and STOCK_CLIENTS to one that offers
	 * relaying, at most every 30 s. */
	for (i = 0; ov->n_stock_clients && i < ov->n_boot; ++i)
		if (overlay_addr_from_wg(&ov->boot[i], &a))
			ovl_engine_register_peers(ov->eng, ov->boot_key[i], &a, false, now);
	rearm(ov);
}

/* ---- what the engine asks of the host ---- */

/* Sends a datagram from a fresh socket bound to from's IP address (port
 * 0: the kernel picks one, never our main port, which is bound). */
static int send_aux(const union wg_sockaddr *from, const union wg_sockaddr *to, const uint8_t *buf,
		    size_t len)
{
	int fd, ret = -EIO;

	fd = socket(from->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, &from->sa, wg_sockaddr_len(from)) < 0)
		ret = -errno;
	else if (sendto(fd, buf, len, 0, &to->sa, wg_sockaddr_len(to)) == (ssize_t)len)
		ret = 0;
	close(fd);
	return ret;
}

static int eng_send(void *ctx, const struct ovl_addr *to, const struct ovl_addr *from_ip,
		    const uint8_t *buf, size_t len)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a, b;
	struct ovl_addr ip;

	if (!to_sockaddr(ov, to, &a))
		return -EAFNOSUPPORT;
	/* An address on a stream: the datagram goes there; a probe from
	 * another socket would come from the wrong place, and is dropped. */
	if (ov->divert && ov->divert(ov->divert_ctx, &a, from_ip ? NULL : buf, len))
		return 0;
	if (!from_ip)
		return device_send(ov->dev, &a, buf, len);
	/* An IP address with port 0, which is what a bind to any port
	 * wants; the conversion takes only addresses with a port, so it is
	 * given one and the port cleared after. */
	ip = *from_ip;
	ip.port = 1;
	if (!overlay_addr_to_wg(&ip, &b))
		return -EAFNOSUPPORT;
	if (b.sa.sa_family == AF_INET)
		b.in4.sin_port = 0;
	else
		b.in6.sin6_port = 0;
	return send_aux(&b, &a, buf, len);
}

/* Another usable address of the family of main_ip on the interface the
 * request came in on (ifindex): the source of an OTHER_IP probe.  Only
 * that interface, so that the probe takes the path the request came by. */
static bool eng_other_ip(void *ctx, const struct ovl_addr *main_ip, unsigned ifindex,
			 struct ovl_addr *out)
{
	int af = main_ip->family == OVL_AF_INET ? AF_INET : AF_INET6;
	char name[IF_NAMESIZE];
	struct ifaddrs *ifa, *i;
	bool found = false;

	(void)ctx;
	if (!ifindex || !if_indextoname(ifindex, name) || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		const uint8_t *ip;
		size_t n = af == AF_INET ? 4 : 16;

		if (!i->ifa_addr || i->ifa_addr->sa_family != af || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, name))
			continue;
		if (af == AF_INET)
			ip = (const uint8_t *)&((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		else
			ip = ((const struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr.s6_addr;
		if (!memcmp(ip, main_ip->ip, n) || !ovl_ip_usable(main_ip->family, ip))
			continue;
		memset(out, 0, sizeof(*out));
		out->family = main_ip->family;
		memcpy(out->ip, ip, n);
		found = true;
	}
	freeifaddrs(ifa);
	return found;
}

/* Whether a is an address of this host, with our port. */
static bool eng_own_address(void *ctx, const struct ovl_addr *a)
{
	struct overlay *ov = ctx;
	struct ifaddrs *ifa, *i;
	bool own = false;

	if (a->port != ov->dev->bound_port || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !own; i = i->ifa_next) {
		union wg_sockaddr s;
		struct ovl_addr k;

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&s, 0, sizeof(s));
		memcpy(&s, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(s.in4) : sizeof(s.in6));
		if (s.sa.sa_family == AF_INET)
			s.in4.sin_port = htons(a->port);
		else
			s.in6.sin6_port = htons(a->port);
		own = overlay_addr_from_wg(&s, &k) && ovl_addr_same_ip(&k, a);
	}
	freeifaddrs(ifa);
	return own;
}

/* ---- the engine's events, for the owner ---- */

static void ev_contact(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	/* A relay that answers us keeps our peers (doc/protocol.md 9.3):
	 * the engine sends them when this relay lacks them or every 30 s. */
	ovl_engine_register_peers(ov->eng, key, addr, false, now_of(ov));
	if (ov->ops->on_contact && to_sockaddr(ov, addr, &a))
		ov->ops->on_contact(ov->ctx, key, &a);
}

static void ev_message(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (ov->rx_addr)
		ov->rx_authed = true;
	if (ov->ops->on_message && to_sockaddr(ov, addr, &a))
		ov->ops->on_message(ov->ctx, key, &a);
}

static void ev_reach(void *ctx, const uint8_t key[32], const uint8_t via[32],
		     const struct ovl_addr *via_addr)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (!to_sockaddr(ov, via_addr, &a))
		return;
	if (ov->ops->on_reach)
		ov->ops->on_reach(ov->ctx, key, via, &a);
	if (ov->invite_reach)
		ov->invite_reach(ov->invite_ctx, key, via, &a);
}

static void ev_relayed(void *ctx, const uint8_t key[32], const uint8_t via[32],
		       const struct ovl_addr *via_addr, const uint8_t *buf, size_t len)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (ov->ops->on_relayed && to_sockaddr(ov, via_addr, &a))
		ov->ops->on_relayed(ov->ctx, key, via, &a, buf, len);
}

static void ev_candidates(void *ctx, const uint8_t key[32], const struct ovl_candidates *c,
			  const uint8_t *via, const struct ovl_addr *via_addr,
			  const struct ovl_addr *seen_as)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a, s;

	if (!ov->ops->on_candidates || !to_sockaddr(ov, via_addr, &a))
		return;
	if (seen_as && !to_sockaddr(ov, seen_as, &s))
		seen_as = NULL;
	ov->ops->on_candidates(ov->ctx, key, c, via, &a, seen_as ? &s : NULL);
}

static void ev_punch(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (ov->ops->on_punch && to_sockaddr(ov, addr, &a))
		ov->ops->on_punch(ov->ctx, key, &a);
}

static void ev_ping(void *ctx, const uint8_t key[32], const struct ovl_addr *addr)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	/* A relay pings us back only when it lost our path (it restarted, or
	 * our mapping moved): it may have lost our peers too. */
	ovl_engine_register_peers(ov->eng, key, addr, true, now_of(ov));
	if (ov->ops->on_ping && to_sockaddr(ov, addr, &a))
		ov->ops->on_ping(ov->ctx, key, &a);
}

static void ev_channel(void *ctx, const uint8_t relay[32], const uint8_t dst[32], uint8_t status,
		       uint32_t channel)
{
	struct overlay *ov = ctx;

	if (ov->ops->on_channel)
		ov->ops->on_channel(ov->ctx, relay, dst, status, channel);
}

static void ev_lookup_done(void *ctx, const struct kad_lookup_result *r)
{
	struct overlay *ov = ctx;

	if (r->kind == KAD_KIND_USER) {
		if (r->found)
			++ov->lookups.found;
		else
			++ov->lookups.not_found;
	}
	if (r->kind == KAD_KIND_USER)
		dev_log(ov->dev, LOG_DBG, "lookup %016llx: found %d seen %d, %u sent, %u replies, "
			"%u timeouts", (unsigned long long)r->txid, r->found, r->seen, r->sent, r->replies,
			r->timeouts);
	else
		dev_log(ov->dev, LOG_DBG, "table lookup (kind %u): %u sent, %u replies, %u timeouts",
			r->kind, r->sent, r->replies, r->timeouts);
}

static void ev_invite(void *ctx, const uint8_t sender[32], const struct ovl_rx *rx,
		      const uint8_t *plain, size_t len)
{
	struct overlay *ov = ctx;
	union wg_sockaddr a;

	if (ov->invite_fn && to_sockaddr(ov, &rx->src, &a))
		ov->invite_fn(ov->invite_ctx, sender, rx->via, &a, rx->len, plain, len);
}

static const struct ovl_engine_ops engine_ops = {
	.send = eng_send,
	.other_ip = eng_other_ip,
	.own_address = eng_own_address,
	.on_contact = ev_contact,
	.on_message = ev_message,
	.on_reach = ev_reach,
	.on_relayed = ev_relayed,
	.on_candidates = ev_candidates,
	.on_punch = ev_punch,
	.on_ping = ev_ping,
	.on_channel = ev_channel,
	.on_lookup_done = ev_lookup_done,
	.on_invite = ev_invite,
};

/* ---- input ---- */

/* A datagram's source and the local address it came to, in the engine's
 * form. */
static void rx_of(struct ovl_rx *rx, const union wg_sockaddr *src, const union wg_pktinfo *local,
		  bool has_local, const uint8_t *buf, size_t len)
{
	memset(rx, 0, sizeof(*rx));
	rx->data = buf;
	rx->len = len;
	overlay_addr_from_wg(src, &rx->src);
	if (has_local && src->sa.sa_family == AF_INET) {
		rx->has_local = true;
		rx->local.family = OVL_AF_INET;
		memcpy(rx->local.ip, &local->v4.ipi_addr, 4);
		rx->ifindex = (unsigned)local->v4.ipi_ifindex;
	} else if (has_local && src->sa.sa_family == AF_INET6) {
		rx->has_local = true;
		rx->local.family = OVL_AF_INET6;
		memcpy(rx->local.ip, &local->v6.ipi6_addr, 16);
		rx->ifindex = local->v6.ipi6_ifindex;
	}
}

bool overlay_input(struct overlay *ov, struct pkt *p)
{
	struct ovl_rx rx;

	rx_of(&rx, &p->addr, &p->local, p->has_local, p->data, p->len);
	ov->rx_addr = &p->addr;
	ov->rx_kad = rx.src;
	ov->rx_authed = false;
	ovl_engine_input(ov->eng, &rx, now_of(ov));
	ov->rx_addr = NULL;
	rearm(ov);
	return ov->rx_authed;
}

void overlay_set_divert(struct overlay *ov, overlay_divert_fn *fn, void *ctx)
{
	ov->divert = fn;
	ov->divert_ctx = ctx;
}

/* A datagram to our second port: the engine's answer, if any. */
static size_t probe_port_input(void *ctx, const union wg_sockaddr *src, const union wg_pktinfo *local,
			       bool has_local, const uint8_t *buf, size_t len, uint8_t *out,
			       size_t outmax)
{
	struct overlay *ov = ctx;
	struct ovl_rx rx;

	if (outmax < OVL_MAX_DATAGRAM)
		return 0;
	rx_of(&rx, src, local, has_local, buf, len);
	return ovl_engine_probe_port_input(ov->eng, &rx, now_of(ov), out);
}

/* Relay channel data to us (the device's hook, per datagram): when the
 * engine admits it, the header says "from a relay" and the datagram goes
 * to the channel's destination, untouched otherwise. */
bool overlay_channel_forward(void *ctx, struct pkt *p, uint32_t channel)
{
	struct overlay *ov = ctx;
	struct ovl_addr from, to;

	overlay_addr_from_wg(&p->addr, &from);
	if (!ovl_engine_channel_forward(ov->eng, channel, &from, p->len - OVL_CHAN_HEADER_LEN,
					wg_now(ov->dev), &to) ||
	    !overlay_addr_to_wg(&to, &p->addr))
		return false;
	ovl_chan_write(p->data, OVL_CHAN_FROM_RELAY, 0);
	p->peer = NULL;
	p->has_local = false;
	return true;
}

/* ---- the owner's calls ---- */

int overlay_new(struct overlay **out, struct wg_device *dev, const struct overlay_config *cfg,
		const struct overlay_ops *ops, void *ctx)
{
	uint8_t hk[OVL_PROBETAB_KEYBYTES];
	struct ovl_engine_config ec;
	struct overlay *ov;
	int ret;

	ov = calloc(1, sizeof(*ov));
	if (!ov)
		return -ENOMEM;
	ov->dev = dev;
	ov->ops = ops;
	ov->ctx = ctx;
	memset(&ec, 0, sizeof(ec));
	ec.private_key = cfg->private_key;
	ec.ns = cfg->ns;
	ec.workbit = cfg->workbit;
	ec.public_node = cfg->public_node;
	ec.relay = cfg->relay;
	ec.relay_pps = cfg->relay_pps;
	ec.relay_bps = cfg->relay_bps;
	ec.rng = rng;
	ret = ovl_engine_new(&ov->eng, &ec, &engine_ops, ov, wg_now(dev));
	if (ret < 0) {
		free(ov);
		return ret;
	}
	/* Two slots per client route: a datagram to a client finds its
	 * relay in one probe range, whatever the number of clients. */
	randombytes_buf(hk, sizeof(hk));
	ret = ovl_probetab_init(&ov->routes, 2 * OVERLAY_STOCK_CLIENTS, sizeof(struct stock_route), hk);
	sodium_memzero(hk, sizeof(hk));
	if (ret < 0) {
		ovl_engine_free(ov->eng);
		free(ov);
		return ret;
	}
	uv_timer_init(dev->loop, &ov->timer);
	ov->timer.data = ov;
	uv_timer_start(&ov->timer, on_timer, 0, 0);
	/* A public node answers MAP_PROBE on its main port + 1: without it
	 * members classify their mapping only from two public nodes. */
	if (cfg->public_node && dev->bound_port &&
	    dev->bound_port <= UINT16_MAX - OVL_PROBE_PORT_OFFSET) {
		uint16_t port = (uint16_t)(dev->bound_port + OVL_PROBE_PORT_OFFSET);

		ret = probeport_open(&ov->probe_port, dev->loop, port, probe_port_input, ov);
		if (ret < 0)
			dev_log(dev, LOG_INFO, "no second port %u for NAT mapping probes: %s", port,
				strerror(-ret));
		else
			dev_log(dev, LOG_INFO, "NAT mapping probes answered on UDP port %u", port);
	}
	*out = ov;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct overlay *ov = h->data;

	ovl_probetab_free(&ov->routes);
	ovl_engine_free(ov->eng);
	free(ov);
}

void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	probeport_close(ov->probe_port);
	ov->probe_port = NULL;
	uv_timer_stop(&ov->timer);
	uv_close((uv_handle_t *)&ov->timer, on_timer_closed);
}

int overlay_add_bootstrap(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct ovl_addr k;
	size_t i;
	int ret;

	if (!overlay_addr_from_wg(addr, &k))
		return -EINVAL;
	/* The network file's boot nodes are the public nodes we chose: their
	 * PONGs tell our NAT mapping, a stranger's do not. */
	if (ovl_engine_trust_observer(ov->eng, key, true) < 0)
		return -ENOMEM;
	for (i = 0; i < ov->n_boot && !wg_sockaddr_equal(&ov->boot[i], addr); ++i)
		;
	if (i == ov->n_boot && i < KNOWN_EXTRA_MAX) {
		memcpy(ov->boot_key[ov->n_boot], key, 32);
		ov->boot[ov->n_boot++] = *addr;
		device_set_known_sources(ov->dev, ov->boot, ov->n_boot);
	}
	ret = ovl_engine_add_bootstrap(ov->eng, key, &k, wg_now(ov->dev));
	rearm(ov);
	return ret;
}

int overlay_add_contact(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct ovl_addr k;
	int ret;

	if (!overlay_addr_from_wg(addr, &k))
		return -EINVAL;
	ret = ovl_engine_add_bootstrap(ov->eng, key, &k, wg_now(ov->dev));
	rearm(ov);
	return ret;
}

int overlay_lookup(struct overlay *ov, const uint8_t key[32], overlay_lookup_cb *done, void *arg)
{
	int ret = ovl_engine_lookup(ov->eng, key, done, arg, now_of(ov));

	if (ret >= 0) {
		++ov->lookups.started;
		rearm(ov);
	}
	return ret;
}

const struct overlay_lookup_stats *overlay_lookup_stats(const struct overlay *ov)
{
	return &ov->lookups;
}

unsigned overlay_ask_public(struct overlay *ov, const uint8_t key[32])
{
	return ovl_engine_ask_public(ov->eng, key, now_of(ov));
}

/* The owner's addresses go to the engine in its form; one that is not
 * IP or has port 0 stays zeroed there, and its send fails (send_errors)
 * as the socket refused it before. */
int overlay_ping(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr,
		 overlay_pong_cb *done, void *arg)
{
	struct ovl_addr k;

	overlay_addr_from_wg(addr, &k);
	return ovl_engine_ping(ov->eng, key, &k, done, arg, now_of(ov));
}

int overlay_channel_bind(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
			 const uint8_t dst[32])
{
	struct ovl_addr k;

	overlay_addr_from_wg(via_addr, &k);
	return ovl_engine_channel_bind(ov->eng, via, &k, dst, now_of(ov));
}

int overlay_set_peers(struct overlay *ov, const uint8_t (*keys)[32], size_t n)
{
	return ovl_engine_set_peers(ov->eng, keys, n, now_of(ov));
}

int overlay_set_guests(struct overlay *ov, const uint8_t (*keys)[32], size_t n)
{
	return ovl_engine_set_guests(ov->eng, keys, n, now_of(ov));
}

size_t overlay_channels_live(const struct overlay *ov)
{
	return ovl_engine_channels_live(ov->eng, wg_now(ov->dev));
}

void overlay_channel_evictions(const struct overlay *ov, uint64_t *quota, uint64_t *fair)
{
	ovl_engine_channel_evictions(ov->eng, quota, fair);
}

int overlay_relay_send(struct overlay *ov, const uint8_t via[32], const union wg_sockaddr *via_addr,
		       const uint8_t dst[32], const uint8_t *buf, size_t len)
{
	struct ovl_addr k;

	overlay_addr_from_wg(via_addr, &k);
	return ovl_engine_relay_send(ov->eng, via, &k, dst, buf, len, now_of(ov));
}

int overlay_send_candidates(struct overlay *ov, const uint8_t dst[32], const uint8_t *via,
			    const union wg_sockaddr *via_addr, const struct ovl_candidates *c)
{
	struct ovl_addr k;

	overlay_addr_from_wg(via_addr, &k);
	return ovl_engine_send_candidates(ov->eng, dst, via, &k, c, now_of(ov));
}

int overlay_punch(struct overlay *ov, const uint8_t key[32], const union wg_sockaddr *addr)
{
	struct ovl_addr k;

	overlay_addr_from_wg(addr, &k);
	return ovl_engine_punch(ov->eng, key, &k, now_of(ov));
}

void overlay_set_invite(struct overlay *ov, overlay_invite_fn *fn, overlay_invite_reach_fn *reach,
			void *ctx)
{
	ov->invite_fn = fn;
	ov->invite_reach = reach;
	ov->invite_ctx = ctx;
}

int overlay_send_invite(struct overlay *ov, const uint8_t key[32], const uint8_t *via,
			const union wg_sockaddr *to, const uint8_t *plain, size_t len)
{
	struct ovl_addr k;

	overlay_addr_from_wg(to, &k);
	return ovl_engine_send_invite(ov->eng, key, &k, via, plain, len, now_of(ov));
}

void overlay_behind_nat(struct overlay *ov)
{
	ovl_engine_behind_nat(ov->eng);
}

bool overlay_offers_relay(const struct overlay *ov, const uint8_t key[32])
{
	return ovl_engine_offers_relay(ov->eng, key);
}

bool overlay_relaying(const struct overlay *ov)
{
	return ovl_engine_relaying(ov->eng);
}

void overlay_cancel(struct overlay *ov, void *arg)
{
	ovl_engine_cancel(ov->eng, arg);
}

const struct kad_table *overlay_table(const struct overlay *ov)
{
	return ovl_engine_table(ov->eng);
}

size_t overlay_anchors(struct overlay *ov, size_t n, struct kad_contact *out)
{
	return ovl_engine_anchors(ov->eng, n, out, wg_now(ov->dev));
}

const struct ovl_engine_stats *overlay_stats(const struct overlay *ov)
{
	return ovl_engine_stats(ov->eng);
}

const struct ovl_secure *overlay_secure(const struct overlay *ov)
{
	return ovl_engine_secure(ov->eng);
}

bool overlay_reflexive(const struct overlay *ov, union wg_sockaddr *out)
{
	struct ovl_addr k;

	return ovl_engine_reflexive(ov->eng, &k) && overlay_addr_to_wg(&k, out);
}

unsigned overlay_predict(const struct overlay *ov, uint16_t local_port, const struct ovl_addr *peer,
			 unsigned n_peer, unsigned n_pred, union wg_sockaddr *out, unsigned max)
{
	struct ovl_addr k[OVL_MAX_CANDIDATES];
	unsigned n, i, m = 0;

	n = ovl_engine_predict(ov->eng, wg_now(ov->dev), local_port, peer, n_peer, n_pred, k,
			       max < OVL_MAX_CANDIDATES ? max : OVL_MAX_CANDIDATES);
	for (i = 0; i < n; ++i)
		m += overlay_addr_to_wg(&k[i], &out[m]);
	return m;
}

enum overlay_nat overlay_nat_mapping(const struct overlay *ov, struct ovl_nat_count *count)
{
	return (enum overlay_nat)ovl_engine_nat_mapping(ov->eng, wg_now(ov->dev), count);
}

const char *overlay_nat_name(enum overlay_nat n)
{
	switch (n) {
	case OVERLAY_NAT_NONE:
		return "none";
	case OVERLAY_NAT_EIM:
		return "endpoint-independent";
	case OVERLAY_NAT_EDM:
		return "endpoint-dependent";
	default:
		return "unknown";
	}
}

void overlay_probe_reflexive(struct overlay *ov)
{
	ovl_engine_probe_reflexive(ov->eng, now_of(ov));
	rearm(ov);
}

enum ovl_filtering overlay_nat_filtering(const struct overlay *ov, unsigned *observers)
{
	return ovl_engine_nat_filtering(ov->eng, observers);
}

uint32_t overlay_rtt_us(const struct overlay *ov, const uint8_t key[32])
{
	return ovl_engine_rtt_us(ov->eng, key);
}

/* ---- stock WireGuard clients (doc/protocol.md 9.5; the datagrams' way
 * in overlay_stock.c) ---- */

size_t overlay_set_stock_clients(struct overlay *ov, const uint8_t (*keys)[32], size_t n)
{
	ov->n_stock_clients = ovl_engine_set_stock_clients(ov->eng, keys, n);
	if (ov->n_stock_clients < n)
		dev_log(ov->dev, LOG_INFO, "stock clients: the relays pass the first %zu of %zu",
			ov->n_stock_clients, n);
	/* The boot nodes hear of them on the next turn of the loop, after
	 * the caller's overlay_set_peers. */
	if (ov->n_stock_clients && !ov->dev->closing)
		uv_timer_start(&ov->timer, on_timer, 0, 0);
	return ov->n_stock_clients;
}
