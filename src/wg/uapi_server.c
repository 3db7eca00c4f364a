/* The UAPI socket: connections, requests answered in order, and the
 * application of set requests to the device. */
#include "src/wg/uapi_server.h"

#include "crypto/encoding.h"
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "src/io/ipc.h"
#include "src/wg/uapi.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct uapi_server {
	struct wg_device *dev;
	struct ipc_server *ipc;
	const struct uapi_policy *policy;	/* NULL: none */
};

/* Hands a formatted answer to the connection, which frees (and wipes:
 * a get answer holds the private key) it. */
static void conn_answer(struct ipc_conn *c, struct uapi_buf *out)
{
	ipc_conn_send(c, out->data, out->len, true);
	memset(out, 0, sizeof(*out));
}

/* ---- get ---- */

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
		pi.endpoint = peer->endpoint;
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

static int apply_peer(struct wg_device *dev, const struct uapi_peer_set *ps,
		      const struct uapi_policy *policy)
{
	struct wg_peer *peer;
	size_t i;
	int ret;

	/* A section naming our own key is ignored, as wireguard-go does. */
	if (dev->identity->has_identity &&
	    ct_equal(ps->public_key, dev->identity->static_public, UAPI_KEY_LEN))
		return 0;
	/* The owner's peers are its own to change; its check let through
	 * only sections that restate them. */
	if (policy && policy->manages(policy->ctx, ps->public_key))
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
	if (ps->has_endpoint)
		peer_set_endpoint(peer, &ps->endpoint);
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

/* replace_peers: every peer goes but those the owner manages. */
static void remove_peers(struct wg_device *dev, const struct uapi_policy *policy)
{
	struct wg_peer *peer, *next;

	if (!policy) {
		peer_remove_all(dev);
		return;
	}
	for (peer = dev->peers_head; peer; peer = next) {
		next = peer->list_next;
		if (!policy->manages(policy->ctx, peer->public_key))
			peer_remove(peer);
	}
}

int uapi_apply_set(struct wg_device *dev, const struct uapi_set *set,
		   const struct uapi_policy *policy)
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
		remove_peers(dev, policy);
	for (i = 0; i < set->n_peers; ++i) {
		ret = apply_peer(dev, &set->peers[i], policy);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- connections ---- */

static int on_open(struct ipc_conn *c)
{
	struct uapi_parser *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	uapi_parser_init(p);
	ipc_conn_set_data(c, p);
	return 0;
}

static void on_close(struct ipc_conn *c)
{
	struct uapi_parser *p = ipc_conn_data(c);

	/* A request cut short is dropped unapplied. */
	uapi_parser_free(p);
	free(p);
}

/* One request at a time (ipc.h): the next is not parsed before this
 * one's answer has been written, so that pipelined gets on a large
 * device cost one answer's memory, not one per request. */
static size_t on_data(struct ipc_conn *c, const char *data, size_t left)
{
	struct uapi_server *srv = ipc_conn_owner(c);
	struct uapi_parser *parser = ipc_conn_data(c);
	struct wg_device *dev = srv->dev;
	struct uapi_set *set = NULL;
	struct uapi_buf out = { 0 };
	size_t used = 0;
	int r;

	r = uapi_parser_feed(parser, data, left, &used, &set);
	if (r != UAPI_REQUEST_NONE) {
		if (r == UAPI_REQUEST_GET) {
			if (format_get(dev, &out) < 0) {
				uapi_buf_reset(&out);
				uapi_format_errno(&out, -ENOMEM);
			}
		} else if (r == UAPI_REQUEST_SET) {
			const struct uapi_policy *pol = srv->policy;
			char why[256] = "";
			int err = pol ? pol->check(pol->ctx, set, why, sizeof(why)) : 0;

			if (err < 0)
				dev_log(dev, LOG_INFO, "UAPI set refused: %s", why[0] ? why : strerror(-err));
			else
				err = uapi_apply_set(dev, set, pol);
			if (err < 0 && !why[0])
				dev_log(dev, LOG_INFO, "UAPI set failed: %s", strerror(-err));
			uapi_set_free(set);
			uapi_format_errno(&out, err);
		} else {
			uapi_format_errno(&out, r);
		}
		conn_answer(c, &out);
		if (r < 0 && uapi_parser_broken(parser))
			ipc_conn_close(c);
	}
	return used ? used : left;
}

static void on_accept_error(void *owner, int err)
{
	struct uapi_server *srv = owner;

	dev_log(srv->dev, LOG_ERR, "UAPI socket: cannot accept a connection: %s", strerror(-err));
}

static const struct ipc_ops uapi_ops = {
	.on_open = on_open,
	.on_data = on_data,
	.on_close = on_close,
	.on_accept_error = on_accept_error,
};

int uapi_server_start(struct wg_device *dev, const struct uapi_policy *policy)
{
	struct uapi_server *srv;
	char path[108];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.sock", UAPI_SOCKET_DIR, dev->ifname) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(UAPI_SOCKET_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->dev = dev;
	srv->policy = policy;
	ret = ipc_server_start(&srv->ipc, dev->loop, path, &uapi_ops, srv);
	if (ret < 0) {
		free(srv);
		return ret;
	}
	dev->uapi = srv;
	return 0;
}

bool uapi_server_socket_present(struct wg_device *dev)
{
	return !dev->uapi || ipc_server_present(dev->uapi->ipc);
}

void uapi_server_stats(const struct wg_device *dev, struct ipc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dev->uapi)
		ipc_server_stats(dev->uapi->ipc, out);
}

void uapi_server_stop(struct wg_device *dev)
{
	struct uapi_server *srv = dev->uapi;

	if (!srv)
		return;
	dev->uapi = NULL;
	ipc_server_stop(srv->ipc);
	free(srv);
}
