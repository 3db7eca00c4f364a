/* The TCP relay path (see tcppath.h, doc/protocol.md 9.6).
 *
 *   member M --TCP (u16 length || datagram)...--> public node R
 *       M: overlay and relay channel datagrams for R's UDP address go on
 *          the stream; frames from it are taken as from R's UDP address
 *       R: frames from connection S are taken as from 240.0.S.S:gen; what
 *          R's overlay and relay send to that address goes on the stream,
 *          and what M sends through R goes on as UDP (or another stream)
 *
 * One uv_tcp_t per connection, owned by this file: init, read, uv_close,
 * freed in the close callback.  Writes try the socket at once and queue
 * what it did not take, up to TCPPATH_WRITE_CAP bytes a connection. */
#include "src/node/tcppath.h"

#include "proto/overlay/codec.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/streamframe.h"
#include "src/io/sockaddr.h"
#include "src/node/names.h"
#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/node/overlay.h"
#include "src/node/paths.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000ULL
#define TICK_MS 1000
#define READ_BUF 65536

/* The member's state: a state machine, moved by set_state only. */
enum client_state {
	CLIENT_OFF,		/* no boot node offers TCP: never leaves UDP */
	CLIENT_UDP,		/* on UDP, watching for silence */
	CLIENT_CONNECTING,
	CLIENT_UP,		/* on the stream */
	CLIENT_LEAVING,		/* the node answered over UDP: sending over UDP,
				 * the stream still read, until UDP proves itself */
};

struct conn {
	uv_tcp_t h;
	struct tcppath *tp;
	uint32_t slot;			/* listener: index in conns[] */
	uint16_t gen;			/* listener: the pseudo-address's port */
	union wg_sockaddr from;		/* the TCP peer's address */
	union wg_sockaddr pseudo;	/* listener: how the overlay sees it */
	uint64_t opened_ns, last_rx_ns;
	size_t queued;			/* bytes in write requests */
	bool authed, closing;
	uv_connect_t connect_req;	/* member: its data is the conn */
	struct ovl_stream_reader rd;
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	size_t len;
	uint8_t data[];
};

struct tcppath {
	struct node *n;
	uv_timer_t timer;
	uint8_t *rbuf;			/* one read at a time, on the loop */
	struct pkt *scratch;		/* a received frame as a packet */
	struct tcppath_stats st;
	/* Listener. */
	uv_tcp_t *lis4, *lis6;
	uint16_t listen_port;
	struct conn *conns[TCPPATH_MAX_CONNS];
	uint16_t gen_next;
	/* Member. */
	enum client_state state;
	size_t target;			/* the boot line tried next (index in targets) */
	size_t n_targets;
	struct {
		uint8_t key[32];
		union wg_sockaddr udp, tcp;
	} targets[8];
	size_t cur;			/* the target in use (CONNECTING, UP) */
	struct conn *client;
	uint64_t started_ns, udp_heard_ns, probe_ns, state_ns, next_try_ns;
	bool bypass;			/* a probe that must go over UDP */
};

static struct tcppath *tp_of(const struct node *n)
{
	return n->tcp;
}

static uint64_t now_ns(struct tcppath *tp)
{
	return wg_now(&tp->n->dev);
}

/* ---- pseudo-addresses: 240.0.S.S:G ---- */

bool tcppath_pseudo(const union wg_sockaddr *a)
{
	const uint8_t *ip = (const uint8_t *)&a->in4.sin_addr;

	return a->sa.sa_family == AF_INET && ip[0] == 240 && ip[1] == 0;
}

static void pseudo_of(uint32_t slot, uint16_t gen, union wg_sockaddr *a)
{
	uint8_t *ip = (uint8_t *)&a->in4.sin_addr;

	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(gen);
	ip[0] = 240;
	ip[1] = 0;
	ip[2] = (uint8_t)(slot >> 8);
	ip[3] = (uint8_t)slot;
}

static struct conn *conn_of_pseudo(struct tcppath *tp, const union wg_sockaddr *a)
{
	const uint8_t *ip = (const uint8_t *)&a->in4.sin_addr;
	uint32_t slot = (uint32_t)ip[2] << 8 | ip[3];
	struct conn *c;

	if (slot >= TCPPATH_MAX_CONNS)
		return NULL;
	c = tp->conns[slot];
	if (!c || c->closing || c->gen != ntohs(a->in4.sin_port))
		return NULL;
	return c;
}

/* ---- connections ---- */

static void set_state(struct tcppath *tp, enum client_state to);

static void on_conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_close(struct conn *c, const char *why)
{
	struct tcppath *tp = c->tp;
	char a[80];

	if (c->closing)
		return;
	c->closing = true;
	if (tp->client == c) {
		tp->client = NULL;
		dev_log(&tp->n->dev, LOG_INFO, "TCP path to %s closed: %s",
			wg_sockaddr_str(&c->from, a, sizeof(a)), why);
		if (tp->state != CLIENT_UDP && tp->state != CLIENT_OFF)
			set_state(tp, CLIENT_UDP);
	} else {
		tp->conns[c->slot] = NULL;
		dev_log(&tp->n->dev, LOG_DBG, "TCP connection from %s closed: %s",
			wg_sockaddr_str(&c->from, a, sizeof(a)), why);
	}
	uv_close((uv_handle_t *)&c->h, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;

	w->c->queued -= w->len;
	if (status < 0 && status != UV_ECANCELED)
		conn_close(w->c, uv_strerror(status));
	free(w);
}

/* Frames one datagram onto c: at once where the socket takes it, the
 * rest queued; over the cap it is dropped (the loop never waits). */
static void conn_write(struct conn *c, const uint8_t *buf, size_t len)
{
	struct tcppath *tp = c->tp;
	uint8_t hdr[OVL_STREAM_HEADER_LEN];
	uv_buf_t b[2];
	struct wreq *w;
	size_t total = len + OVL_STREAM_HEADER_LEN, done = 0;
	int r;

	if (c->closing || !ovl_stream_header(hdr, len) || c->queued + total > TCPPATH_WRITE_CAP) {
		++tp->st.write_drops;
		return;
	}
	++tp->st.tx_frames;
	if (c->queued == 0) {
		b[0] = uv_buf_init((char *)hdr, OVL_STREAM_HEADER_LEN);
		b[1] = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
		r = uv_try_write((uv_stream_t *)&c->h, b, 2);
		if (r == (int)total)
			return;
		if (r < 0 && r != UV_EAGAIN) {
			conn_close(c, uv_strerror(r));
			return;
		}
		done = r > 0 ? (size_t)r : 0;
	}
	w = malloc(sizeof(*w) + total - done);
	if (!w) {
		/* Part of a frame went: the stream cannot go on. */
		if (done)
			conn_close(c, "out of memory");
		++tp->st.write_drops;
		return;
	}
	w->c = c;
	w->len = total - done;
	if (done < OVL_STREAM_HEADER_LEN) {
		memcpy(w->data, hdr + done, OVL_STREAM_HEADER_LEN - done);
		memcpy(w->data + OVL_STREAM_HEADER_LEN - done, buf, len);
	} else {
		memcpy(w->data, buf + (done - OVL_STREAM_HEADER_LEN), total - done);
	}
	b[0] = uv_buf_init((char *)w->data, (unsigned)w->len);
	r = uv_write(&w->req, (uv_stream_t *)&c->h, b, 1, on_written);
	if (r < 0) {
		free(w);
		conn_close(c, uv_strerror(r));
		return;
	}
	c->queued += w->len;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->tp->rbuf, READ_BUF);
}

/* A frame from the member's stream, on the public node. */
static void listener_frame(struct conn *c, uint8_t *f, size_t len)
{
	struct tcppath *tp = c->tp;
	struct node *n = tp->n;
	struct pkt *p = tp->scratch;
	uint32_t channel;
	uint8_t dir;

	p->data = f;
	p->len = len;
	p->addr = c->pseudo;
	p->has_local = false;
	p->peer = NULL;
	if (f[0] == OVL_MAGIC) {
		if (overlay_input(n->ov, p))
			c->authed = true;
		return;
	}
	/* Relay channel data to us as a relay, and only after the stream
	 * authenticated itself. */
	if (f[0] == OVL_CHAN_MAGIC && c->authed && ovl_chan_parse(f, len, &dir, &channel) &&
	    dir == OVL_CHAN_TO_RELAY) {
		if (overlay_channel_forward(n->ov, p, channel) &&
		    !tcppath_divert(n, &p->addr, p->data, p->len))
			device_send(&n->dev, &p->addr, p->data, p->len);
		return;
	}
	++tp->st.dropped;
}

/* A frame from the public node, on the member: as if it came over UDP
 * from the node's address. */
static void client_frame(struct conn *c, uint8_t *f, size_t len)
{
	struct tcppath *tp = c->tp;
	struct node *n = tp->n;
	const union wg_sockaddr *via = &tp->targets[tp->cur].udp;
	struct pkt *p = tp->scratch;
	uint32_t channel;
	uint8_t dir;
	size_t hl;

	if (f[0] == OVL_MAGIC) {
		p->data = f;
		p->len = len;
		p->addr = *via;
		p->has_local = false;
		p->peer = NULL;
		overlay_input(n->ov, p);
		return;
	}
	/* Channel data from the relay: the rule of the datapath's classify
	 * (only from a relay we asked a channel of). */
	if (f[0] == OVL_CHAN_MAGIC && (hl = ovl_chan_parse(f, len, &dir, &channel)) &&
	    dir == OVL_CHAN_FROM_RELAY && paths_channel_source(n, via)) {
		device_input_routed(&n->dev, via, f + hl, len - hl);
		return;
	}
	++tp->st.dropped;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	struct tcppath *tp = c->tp;
	const uint8_t *in = (const uint8_t *)buf->base;
	size_t left = nread > 0 ? (size_t)nread : 0;

	if (nread < 0) {
		conn_close(c, nread == UV_EOF ? "closed by the other end" : uv_strerror((int)nread));
		return;
	}
	if (left)
		c->last_rx_ns = now_ns(tp);
	while (left && !c->closing) {
		const uint8_t *f = NULL;
		size_t used = 0, fl = 0;
		enum ovl_stream_result r = ovl_stream_read(&c->rd, in, left, &used, &f, &fl);

		in += used;
		left -= used;
		if (r == OVL_STREAM_MORE)
			break;
		if (r == OVL_STREAM_ERROR) {
			++tp->st.bad_frames;
			conn_close(c, "a malformed frame");
			break;
		}
		++tp->st.rx_frames;
		/* The frame lies in our read buffer or the reader's: ours to
		 * rewrite (a channel header). */
		if (tp->client == c)
			client_frame(c, (uint8_t *)(uintptr_t)f, fl);
		else
			listener_frame(c, (uint8_t *)(uintptr_t)f, fl);
	}
}

static struct conn *conn_new(struct tcppath *tp)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tp = tp;
	uv_tcp_init(&tp->n->loop, &c->h);
	c->h.data = c;
	c->opened_ns = c->last_rx_ns = now_ns(tp);
	ovl_stream_reader_init(&c->rd);
	return c;
}

/* ---- the listener ---- */

static bool same_ip(const union wg_sockaddr *a, const union wg_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct tcppath *tp = server->data;
	struct conn *c;
	uint32_t slot, free_slot = TCPPATH_MAX_CONNS, same = 0;
	int len = sizeof(union wg_sockaddr);

	if (status < 0)
		return;
	c = conn_new(tp);
	if (!c)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_tcp_getpeername(&c->h, &c->from.sa, &len) < 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, on_conn_closed);
		return;
	}
	for (slot = 0; slot < TCPPATH_MAX_CONNS; ++slot) {
		if (!tp->conns[slot]) {
			if (free_slot == TCPPATH_MAX_CONNS)
				free_slot = slot;
		} else if (same_ip(&tp->conns[slot]->from, &c->from)) {
			++same;
		}
	}
	if (free_slot == TCPPATH_MAX_CONNS || same >= TCPPATH_PER_IP) {
		++tp->st.refused;
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, on_conn_closed);
		return;
	}
	++tp->st.accepted;
	c->slot = free_slot;
	if (++tp->gen_next == 0)
		tp->gen_next = 1;
	c->gen = tp->gen_next;
	pseudo_of(c->slot, c->gen, &c->pseudo);
	tp->conns[c->slot] = c;
	uv_tcp_nodelay(&c->h, 1);
	uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *h)
{
	free(h);
}

static uv_tcp_t *listen_on(struct tcppath *tp, int family, uint16_t port)
{
	union wg_sockaddr a;
	uv_tcp_t *h = malloc(sizeof(*h));
	int r;

	if (!h)
		return NULL;
	wg_sockaddr_any(&a, family, port);
	uv_tcp_init(&tp->n->loop, h);
	h->data = tp;
	r = uv_tcp_bind(h, &a.sa, family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)h, 64, on_connection);
	if (r < 0) {
		if (family == AF_INET)
			dev_log(&tp->n->dev, LOG_INFO, "no TCP relay path on port %u: %s", port,
				uv_strerror(r));
		uv_close((uv_handle_t *)h, on_listener_closed);
		return NULL;
	}
	return h;
}

/* ---- the member ---- */

static void probe_udp(struct tcppath *tp)
{
	size_t i;

	/* Over UDP even to the node whose address the stream carries. */
	tp->bypass = true;
	for (i = 0; i < tp->n_targets; ++i)
		overlay_ping(tp->n->ov, tp->targets[i].key, &tp->targets[i].udp, NULL, NULL);
	tp->bypass = false;
	tp->probe_ns = now_ns(tp);
}

static void set_state(struct tcppath *tp, enum client_state to)
{
	uint64_t now = now_ns(tp);

	if ((tp->state == CLIENT_UP || tp->state == CLIENT_LEAVING) && to == CLIENT_UDP)
		++tp->st.fallbacks;
	tp->state = to;
	tp->state_ns = now;
	tp->probe_ns = 0;
	if (to == CLIENT_UDP)
		tp->next_try_ns = now + 5 * SEC;
}

static void on_connected(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct tcppath *tp;
	char a[80];

	/* A connection closed while connecting is told so before its close
	 * callback frees it; the rest may be gone by then. */
	if (c->closing)
		return;
	tp = c->tp;
	if (status < 0) {
		conn_close(c, uv_strerror(status));
		return;
	}
	++tp->st.connects;
	uv_tcp_nodelay(&c->h, 1);
	uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
	set_state(tp, CLIENT_UP);
	dev_log(&tp->n->dev, LOG_INFO, "no UDP answer: on the TCP path to %s",
		wg_sockaddr_str(&c->from, a, sizeof(a)));
	/* The public node validates us at our stream's address. */
	overlay_ping(tp->n->ov, tp->targets[tp->cur].key, &tp->targets[tp->cur].udp, NULL, NULL);
}

static void client_connect(struct tcppath *tp)
{
	struct conn *c;

	tp->cur = tp->target;
	tp->target = (tp->target + 1) % tp->n_targets;
	c = conn_new(tp);
	if (!c)
		return;
	c->from = tp->targets[tp->cur].tcp;
	tp->client = c;
	c->connect_req.data = c;
	set_state(tp, CLIENT_CONNECTING);
	if (uv_tcp_connect(&c->connect_req, &c->h, &c->from.sa, on_connected) < 0)
		conn_close(c, "cannot connect");
}

static void client_tick(struct tcppath *tp, uint64_t now)
{
	uint64_t heard = tp->udp_heard_ns > tp->started_ns ? tp->udp_heard_ns : tp->started_ns;

	switch (tp->state) {
	case CLIENT_OFF:
		break;
	case CLIENT_UDP:
		if (now - heard < TCPPATH_SILENT_S * SEC) {
			tp->probe_ns = 0;
			break;
		}
		if (!tp->probe_ns)
			probe_udp(tp);
		else if (now - tp->probe_ns >= TCPPATH_PROBE_WAIT_S * SEC && now >= tp->next_try_ns)
			client_connect(tp);
		break;
	case CLIENT_CONNECTING:
		if (now - tp->state_ns >= TCPPATH_CONNECT_S * SEC && tp->client)
			conn_close(tp->client, "connect timed out");
		break;
	case CLIENT_UP:
		if (tp->udp_heard_ns > tp->state_ns) {
			/* Our datagrams go over UDP from now on (the overlay
			 * and the relay channels bind to our UDP address
			 * again), and a PING asks the node to show that UDP
			 * works both ways for them too. */
			set_state(tp, CLIENT_LEAVING);
			probe_udp(tp);
		} else if (!tp->probe_ns || now - tp->probe_ns >= TCPPATH_UDP_PROBE_S * SEC) {
			probe_udp(tp);
		}
		break;
	case CLIENT_LEAVING:
		/* One answer over UDP may have been a gateway's last: only
		 * an answer to what we sent over UDP since proves it, and
		 * until then the stream is kept, and read (the node still
		 * sends there what is in flight), so that the way back costs
		 * no relayed datagram and a flapping gateway no reconnect. */
		if (tp->udp_heard_ns > tp->state_ns) {
			conn_close(tp->client, "UDP answers again");
			/* Exchanges backed off while punching could not
			 * work: try direct paths again now. */
			paths_network_changed(tp->n);
		} else if (now - tp->state_ns >= TCPPATH_PROBE_WAIT_S * SEC)
			set_state(tp, CLIENT_UP);
		break;
	}
}

/* ---- the node's calls ---- */

static void listener_tick(struct tcppath *tp, uint64_t now)
{
	size_t i;

	for (i = 0; i < TCPPATH_MAX_CONNS; ++i) {
		struct conn *c = tp->conns[i];

		if (!c)
			continue;
		if (!c->authed && now - c->opened_ns >= TCPPATH_AUTH_S * SEC) {
			++tp->st.closed_unauth;
			conn_close(c, "no authenticated message");
		} else if (now - c->last_rx_ns >= TCPPATH_IDLE_S * SEC) {
			++tp->st.closed_idle;
			conn_close(c, "idle");
		}
	}
}

static void on_tick(uv_timer_t *t)
{
	struct tcppath *tp = t->data;
	uint64_t now = now_ns(tp);

	listener_tick(tp, now);
	client_tick(tp, now);
}

bool tcppath_divert(struct node *n, const union wg_sockaddr *to, const uint8_t *buf, size_t len)
{
	struct tcppath *tp = tp_of(n);
	struct conn *c;

	if (!tp)
		return false;
	if (tp->client && tp->state == CLIENT_UP && !tp->bypass &&
	    wg_sockaddr_equal(to, &tp->targets[tp->cur].udp)) {
		if (buf)
			conn_write(tp->client, buf, len);
		return true;
	}
	if (!tp->listen_port || !tcppath_pseudo(to))
		return false;
	c = conn_of_pseudo(tp, to);
	if (c && buf)
		conn_write(c, buf, len);
	else if (buf)
		++tp->st.write_drops;
	return true;
}

void tcppath_udp_heard(struct node *n, const union wg_sockaddr *src)
{
	struct tcppath *tp = tp_of(n);

	if (!tp || tp->state == CLIENT_OFF)
		return;
	/* On the stream only the node we probe proves that UDP is back: a
	 * member heard over some other way proves less. */
	if ((tp->state == CLIENT_UP || tp->state == CLIENT_LEAVING) &&
	    !wg_sockaddr_equal(src, &tp->targets[tp->cur].udp))
		return;
	tp->udp_heard_ns = now_ns(tp);
}

bool tcppath_relay(const struct node *n, union wg_sockaddr *tcp_addr)
{
	const struct tcppath *tp = tp_of(n);

	if (!tp || tp->state != CLIENT_UP)
		return false;
	*tcp_addr = tp->targets[tp->cur].tcp;
	return true;
}

unsigned tcppath_conns(const struct node *n)
{
	const struct tcppath *tp = tp_of(n);
	unsigned i, k = 0;

	for (i = 0; tp && i < TCPPATH_MAX_CONNS; ++i)
		k += tp->conns[i] != NULL;
	return k;
}

const struct tcppath_stats *tcppath_stats(const struct node *n)
{
	return n->tcp ? &n->tcp->st : NULL;
}

static bool divert_fn(void *ctx, const union wg_sockaddr *to, const uint8_t *buf, size_t len)
{
	return tcppath_divert(ctx, to, buf, len);
}

int tcppath_start(struct node *n, bool relay)
{
	struct tcppath *tp;
	size_t i;

	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->n = n;
	tp->rbuf = malloc(READ_BUF);
	tp->scratch = malloc(sizeof(*tp->scratch));
	if (!tp->rbuf || !tp->scratch) {
		free(tp->rbuf);
		free(tp->scratch);
		free(tp);
		return -ENOMEM;
	}
	memset(tp->scratch, 0, sizeof(*tp->scratch));
	for (i = 0; i < n->conf->n_peers; ++i) {
		const struct netconf_peer *cp = &n->conf->peers[i];
		union wg_sockaddr a;

		if (cp->kind != NETCONF_BOOT || !cp->tcp_port)
			continue;
		if (!memcmp(cp->key, n->public_key, 32)) {
			if (!n->member && relay)
				tp->listen_port = cp->tcp_port;
			continue;
		}
		/* Numeric endpoints only, in this first version. */
		names_endpoint_numeric(cp, &a);
		if (!n->member || !a.sa.sa_family || tp->n_targets == sizeof(tp->targets) / sizeof(tp->targets[0]))
			continue;
		memcpy(tp->targets[tp->n_targets].key, cp->key, 32);
		tp->targets[tp->n_targets].udp = a;
		tp->targets[tp->n_targets].tcp = a;
		wg_sockaddr_set_port(&tp->targets[tp->n_targets].tcp, cp->tcp_port);
		++tp->n_targets;
	}
	if (tp->listen_port) {
		tp->lis4 = listen_on(tp, AF_INET, tp->listen_port);
		tp->lis6 = listen_on(tp, AF_INET6, tp->listen_port);
		if (tp->lis4 || tp->lis6)
			dev_log(&n->dev, LOG_INFO, "TCP relay path on port %u", tp->listen_port);
		else
			tp->listen_port = 0;
	}
	if (!tp->listen_port && !tp->n_targets) {
		free(tp->rbuf);
		free(tp->scratch);
		free(tp);
		return 0;
	}
	tp->started_ns = now_ns(tp);
	tp->state = tp->n_targets ? CLIENT_UDP : CLIENT_OFF;
	uv_timer_init(&n->loop, &tp->timer);
	tp->timer.data = tp;
	uv_timer_start(&tp->timer, on_tick, TICK_MS, TICK_MS);
	n->tcp = tp;
	overlay_set_divert(n->ov, divert_fn, n);
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct tcppath *tp = h->data;

	free(tp->rbuf);
	free(tp->scratch);
	free(tp);
}

void tcppath_stop(struct node *n)
{
	struct tcppath *tp = n->tcp;
	size_t i;

	if (!tp)
		return;
	if (n->ov)
		overlay_set_divert(n->ov, NULL, NULL);
	n->tcp = NULL;
	for (i = 0; i < TCPPATH_MAX_CONNS; ++i)
		if (tp->conns[i])
			conn_close(tp->conns[i], "shutting down");
	if (tp->client)
		conn_close(tp->client, "shutting down");
	if (tp->lis4)
		uv_close((uv_handle_t *)tp->lis4, on_listener_closed);
	if (tp->lis6)
		uv_close((uv_handle_t *)tp->lis6, on_listener_closed);
	uv_timer_stop(&tp->timer);
	uv_close((uv_handle_t *)&tp->timer, on_timer_closed);
}
