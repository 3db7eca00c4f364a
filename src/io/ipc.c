/* Unix stream sockets on the loop (see ipc.h). */
#include "src/io/ipc.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct ipc_conn {
	uv_pipe_t pipe;
	struct ipc_server *srv;
	struct ipc_conn *next;
	void *data;
	bool closing;
	bool close_after_write;
	bool paused;			/* reading stopped: answers pile up */
	bool eof;
	unsigned pending_writes;
};

struct ipc_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	const struct ipc_ops *ops;
	void *owner;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t st_dev;
	ino_t st_ino;
	struct ipc_conn *conns;
	char slab[65536];	/* read buffer: the loop is single-threaded */
};

/* A client that sends requests without reading the answers would make
 * us queue them without bound: reading stops at this many queued answers
 * and resumes when they are written. */
enum { WRITES_MAX = 4 };

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

struct write_req {
	uv_write_t req;
	struct ipc_conn *conn;
	char *data;
	size_t len;
	bool wipe;
};

static void conn_unlink(struct ipc_conn *c)
{
	struct ipc_conn **pp;

	for (pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void on_conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_close_now(struct ipc_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	conn_unlink(c);
	if (c->srv->ops->on_close)
		c->srv->ops->on_close(c);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_write_done(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct ipc_conn *c = w->conn;

	if (w->wipe)
		sodium_memzero(w->data, w->len);
	free(w->data);
	free(w);
	/* The handle outlives its queued writes: libuv cancels them with
	 * UV_ECANCELED before the close callback runs. */
	if (--c->pending_writes == 0 && c->close_after_write)
		conn_close_now(c);
	else if (c->paused && c->pending_writes < WRITES_MAX && !c->closing && !c->eof) {
		c->paused = false;
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	}
	(void)status;
}

void ipc_conn_send(struct ipc_conn *c, char *data, size_t len, bool wipe)
{
	struct write_req *w;
	uv_buf_t b;

	if (c->closing || !len || !(w = calloc(1, sizeof(*w)))) {
		if (wipe)
			sodium_memzero(data, len);
		free(data);
		return;
	}
	w->conn = c;
	w->data = data;
	w->len = len;
	w->wipe = wipe;
	b = uv_buf_init(data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write_done) < 0) {
		if (wipe)
			sodium_memzero(data, len);
		free(data);
		free(w);
		return;
	}
	++c->pending_writes;
}

void ipc_conn_close(struct ipc_conn *c)
{
	if (c->pending_writes)
		c->close_after_write = true;
	else
		conn_close_now(c);
}

void *ipc_conn_owner(const struct ipc_conn *c)
{
	return c->srv->owner;
}

void *ipc_conn_data(const struct ipc_conn *c)
{
	return c->data;
}

void ipc_conn_set_data(struct ipc_conn *c, void *data)
{
	c->data = data;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ipc_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->srv->slab, sizeof(c->srv->slab));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ipc_conn *c = s->data;

	if (nread == UV_EOF) {
		c->eof = true;
		uv_read_stop(s);
		if (!c->srv->ops->on_eof || !c->srv->ops->on_eof(c))
			ipc_conn_close(c);
		return;
	}
	if (nread < 0) {
		conn_close_now(c);
		return;
	}
	if (nread > 0 && !c->closing && !c->close_after_write)
		c->srv->ops->on_data(c, buf->base, (size_t)nread);
	/* What came in may have held keys. */
	if (nread > 0)
		sodium_memzero(buf->base, (size_t)nread);
	if (!c->closing && c->pending_writes >= WRITES_MAX) {
		c->paused = true;
		uv_read_stop(s);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ipc_server *srv = server->data;
	struct ipc_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->srv = srv;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    (srv->ops->on_open && srv->ops->on_open(c) < 0)) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	c->next = srv->conns;
	srv->conns = c;
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
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

static void on_listener_closed(uv_handle_t *h)
{
	free(h->data);
}

int ipc_server_start(struct ipc_server **out, uv_loop_t *loop, const char *path,
		     const struct ipc_ops *ops, void *owner)
{
	struct ipc_server *srv;
	struct stat st;
	mode_t old;
	int ret;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->ops = ops;
	srv->owner = owner;
	if ((size_t)snprintf(srv->path, sizeof(srv->path), "%s", path) >= sizeof(srv->path)) {
		free(srv);
		return -ENAMETOOLONG;
	}
	if (socket_in_use(srv->path)) {
		free(srv);
		return -EADDRINUSE;
	}
	unlink(srv->path);	/* stale */

	uv_pipe_init(loop, &srv->listener, 0);
	srv->listener.data = srv;
	old = umask(077);
	ret = uv_pipe_bind(&srv->listener, srv->path);
	umask(old);
	if (ret < 0)
		goto fail;
	ret = uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
	if (ret < 0) {
		unlink(srv->path);
		goto fail;
	}
	if (stat(srv->path, &st) == 0) {
		srv->st_dev = st.st_dev;
		srv->st_ino = st.st_ino;
	}
	*out = srv;
	return 0;
fail:
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
	return ret;
}

bool ipc_server_present(const struct ipc_server *srv)
{
	struct stat st;

	if (stat(srv->path, &st) < 0)
		return false;
	return st.st_dev == srv->st_dev && st.st_ino == srv->st_ino;
}

void ipc_server_stop(struct ipc_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_close_now(srv->conns);
	if (ipc_server_present(srv))
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
