/* The UAPI socket: connections, requests answered in order, and the
 * application of set requests to the device. */
#include "src/uapi_server.h"

#include "crypto/encoding.h"
#include "src/device.h"
#include "src/peer.h"
#include "src/uapi.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct uapi_conn {
	uv_pipe_t pipe;
	struct uapi_server *srv;
	struct uapi_conn *next;
	struct uapi_parser parser;
	bool closing;
};

struct uapi_server {
	struct wg_device *dev;
	uv_pipe_t listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t st_dev;
	ino_t st_ino;
	struct uapi_conn *conns;
};

struct write_req {
	uv_write_t req;
	struct uapi_buf buf;
};

static void on_write_done(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;

	uapi_buf_free(&w->buf);
	free(w);
}

static void conn_send(struct uapi_conn *c, struct uapi_buf *out)
{
	struct write_req *w;
	uv_buf_t b;

	if (c->closing)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->buf = *out;
	memset(out, 0, sizeof(*out));
	b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write_done) < 0) {
		uapi_buf_free(&w->buf);
		free(w);
	}
}

static void on_conn_closed(uv_handle_t *h)
{
	struct uapi_conn *c = h->data;

	uapi_parser_free(&c->parser);
	free(c);
}

static void conn_close(struct uapi_conn *c)
{
	struct uapi_conn **pp;

	if (c->closing)
		return;
	c->closing = true;
	for (pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* ---- get ---- */

static void to_storage(struct sockaddr_storage *ss, const union wg_sockaddr *a)
{
	memset(ss, 0, sizeof(*ss));
	if (a->sa.sa_family)
		memcpy(ss, a, wg_sockaddr_len(a));
}

struct aip_ctx {
	struct uapi_buf *out;
	int err;
};

static int format_aip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct aip_ctx *a = ctx;
	struct uapi_allowed_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.family = (sa_family_t)family;
	memcpy(ip.addr, addr, family == AF_INET ? 4 : 16);
	ip.cidr = cidr;
	if (!a->err)
		a->err = uapi_format_allowed_ip(a->out, &ip);
	return a->err;
}

static int format_get(struct wg_device *dev, struct uapi_buf *out)
{
	struct uapi_device_info di;
	struct uapi_peer_info pi;
	struct wg_peer *peer;
	int ret;

	memset(&di, 0, sizeof(di));
	di.has_private_key = dev->identity->has_identity;
	if (di.has_private_key)
		memcpy(di.private_key, dev->identity->static_private, UAPI_KEY_LEN);
	di.listen_port = dev->bound_port;
	di.fwmark = dev->fwmark;
	ret = uapi_format_device(out, &di);
	sodium_memzero(&di, sizeof(di));
	if (ret < 0)
		return ret;
	for (peer = dev->peers_head; peer; peer = peer->list_next) {
		struct aip_ctx a = { out, 0 };

		memset(&pi, 0, sizeof(pi));
		memcpy(pi.public_key, peer->public_key, UAPI_KEY_LEN);
		memcpy(pi.preshared_key, peer->handshake.preshared_key, UAPI_KEY_LEN);
		to_storage(&pi.endpoint, &peer->endpoint);
		pi.last_handshake_sec = peer->last_handshake_sec;
		pi.last_handshake_nsec = peer->last_handshake_nsec;
		pi.tx_bytes = peer->tx_bytes;
		pi.rx_bytes = peer->rx_bytes;
		pi.persistent_keepalive_interval = peer->persistent_keepalive_interval;
		ret = uapi_format_peer(out, &pi);
		sodium_memzero(&pi, sizeof(pi));
		if (ret < 0)
			return ret;
		allowedips_walk_by_peer(&dev->allowedips, peer, format_aip, &a);
		if (a.err)
			return a.err;
	}
	return uapi_format_errno(out, 0);
}

/* ---- set ---- */

static int apply_peer(struct wg_device *dev, const struct uapi_peer_set *ps)
{
	struct wg_peer *peer;
	size_t i;
	int ret;

	/* A section naming our own key is ignored, as wireguard-go does. */
	if (dev->identity->has_identity &&
	    ct_equal(ps->public_key, dev->identity->static_public, UAPI_KEY_LEN))
		return 0;
	peer = peer_lookup(dev, ps->public_key);
	if (ps->remove) {
		if (peer)
			peer_remove(peer);
		return 0;
	}
	if (!peer) {
		if (ps->update_only)
			return 0;
		ret = peer_create(dev, ps->public_key, &peer);
		if (ret < 0)
			return ret;
	}
	if (ps->has_preshared_key)
		peer_set_preshared_key(peer, ps->preshared_key);
	if (ps->has_endpoint) {
		union wg_sockaddr ep;

		memset(&ep, 0, sizeof(ep));
		memcpy(&ep, &ps->endpoint,
		       ps->endpoint.ss_family == AF_INET ? sizeof(ep.in4) : sizeof(ep.in6));
		peer_set_endpoint(peer, &ep);
	}
	if (ps->replace_allowed_ips)
		allowedips_remove_by_peer(&dev->allowedips, peer);
	for (i = 0; i < ps->n_allowed_ips; ++i) {
		const struct uapi_allowed_ip *a = &ps->allowed_ips[i];

		if (a->remove)
			ret = allowedips_remove(&dev->allowedips, a->family, a->addr, a->cidr, peer);
		else
			ret = allowedips_insert(&dev->allowedips, a->family, a->addr, a->cidr, peer);
		if (ret < 0 && !(a->remove && ret == -ENOENT))
			return ret;
	}
	/* Last, so that the keepalive it may send goes to the new endpoint. */
	if (ps->has_persistent_keepalive)
		peer_set_persistent_keepalive(peer, ps->persistent_keepalive_interval);
	return 0;
}

int uapi_apply_set(struct wg_device *dev, const struct uapi_set *set)
{
	size_t i;
	int ret;

	if (set->has_private_key) {
		ret = device_set_private_key(dev, set->private_key);
		if (ret < 0)
			return ret;
	}
	if (set->has_listen_port &&
	    (set->listen_port != dev->bound_port || dev->sock4 < 0)) {
		ret = device_bind(dev, set->listen_port);
		if (ret < 0)
			return ret;
	}
	if (set->has_fwmark) {
		ret = device_set_fwmark(dev, set->fwmark);
		if (ret < 0)
			return ret;
	}
	if (set->replace_peers)
		peer_remove_all(dev);
	for (i = 0; i < set->n_peers; ++i) {
		ret = apply_peer(dev, &set->peers[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- connections ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];	/* the loop is single-threaded */

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct uapi_conn *c = s->data;
	struct wg_device *dev = c->srv->dev;
	const char *data = buf->base;
	size_t left = nread > 0 ? (size_t)nread : 0;

	if (nread < 0) {
		/* EOF or error: a request cut short is dropped unapplied. */
		conn_close(c);
		return;
	}
	while (left && !c->closing) {
		struct uapi_set *set = NULL;
		struct uapi_buf out = { 0 };
		size_t used = 0;
		int r;

		r = uapi_parser_feed(&c->parser, data, left, &used, &set);
		data += used;
		left -= used;
		if (r == UAPI_REQUEST_NONE)
			break;
		if (r == UAPI_REQUEST_GET) {
			if (format_get(dev, &out) < 0) {
				uapi_buf_reset(&out);
				uapi_format_errno(&out, -ENOMEM);
			}
		} else if (r == UAPI_REQUEST_SET) {
			int err = uapi_apply_set(dev, set);

			if (err < 0)
				dev_log(dev, LOG_INFO, "UAPI set failed: %s", strerror(-err));
			uapi_set_free(set);
			uapi_format_errno(&out, err);
		} else {
			uapi_format_errno(&out, r);
		}
		conn_send(c, &out);
		uapi_buf_free(&out);
		if (r < 0 && uapi_parser_broken(&c->parser)) {
			conn_close(c);
			break;
		}
	}
	sodium_memzero(buf->base, nread > 0 ? (size_t)nread : 0);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct uapi_server *srv = server->data;
	struct uapi_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_pipe_init(srv->dev->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->srv = srv;
	uapi_parser_init(&c->parser);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	c->next = srv->conns;
	srv->conns = c;
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *h)
{
	free(h->data);
}

/* true when something answers on path: a live daemon owns it. */
static bool socket_in_use(const char *path)
{
	struct sockaddr_un sun;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return ret == 0;
}

int uapi_server_start(struct wg_device *dev)
{
	struct uapi_server *srv;
	struct stat st;
	mode_t old;
	int ret;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->dev = dev;
	if ((size_t)snprintf(srv->path, sizeof(srv->path), "%s/%s.sock", UAPI_SOCKET_DIR,
			     dev->ifname) >= sizeof(srv->path)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(UAPI_SOCKET_DIR, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		goto fail;
	}
	if (socket_in_use(srv->path)) {
		ret = -EADDRINUSE;
		goto fail;
	}
	unlink(srv->path);	/* stale */

	uv_pipe_init(dev->loop, &srv->listener, 0);
	srv->listener.data = srv;
	old = umask(077);
	ret = uv_pipe_bind(&srv->listener, srv->path);
	umask(old);
	if (ret < 0)
		goto fail_close;
	ret = uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
	if (ret < 0)
		goto fail_unlink;
	if (stat(srv->path, &st) == 0) {
		srv->st_dev = st.st_dev;
		srv->st_ino = st.st_ino;
	}
	dev->uapi = srv;
	return 0;
fail_unlink:
	unlink(srv->path);
fail_close:
	/* The handle is freed with the server in its close callback. */
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
	return ret;
fail:
	free(srv);
	return ret;
}

static bool path_is_ours(const struct uapi_server *srv)
{
	struct stat st;

	if (stat(srv->path, &st) < 0)
		return false;
	return st.st_dev == srv->st_dev && st.st_ino == srv->st_ino;
}

bool uapi_server_socket_present(struct wg_device *dev)
{
	return !dev->uapi || path_is_ours(dev->uapi);
}

void uapi_server_stop(struct wg_device *dev)
{
	struct uapi_server *srv = dev->uapi;

	if (!srv)
		return;
	dev->uapi = NULL;
	while (srv->conns)
		conn_close(srv->conns);
	if (path_is_ours(srv))
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
