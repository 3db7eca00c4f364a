/* Unix stream sockets on the loop (see ipc.h). */
#include "src/io/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A Unix socket's handle, or a TCP one's (ipc_server_start_tcp). */
union ipc_handle {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_pipe_t pipe;
	uv_tcp_t tcp;
};

struct ipc_conn {
	union ipc_handle h;
	struct ipc_server *srv;
	struct ipc_conn *next;		/* newest first */
	void *data;
	bool closing;
	bool close_after_write;
	bool paused;			/* reading stopped: an answer is on its way */
	bool eof;
	unsigned pending_writes;
	size_t queued;			/* answer bytes not yet written */
	uint64_t active_ms;		/* last byte in or answer out (loop time) */
	/* Bytes read but not yet handed to on_data: what followed a
	 * request whose answer is still being written (may hold keys). */
	char *rest;
	size_t rest_off, rest_len;
};

struct ipc_server {
	uv_loop_t *loop;
	union ipc_handle listener;
	bool tcp;
	uv_timer_t sweep;		/* closes idle connections */
	unsigned handles_open;		/* listener and sweep: freed at 0 */
	const struct ipc_ops *ops;
	void *owner;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* "": TCP */
	dev_t st_dev;
	ino_t st_ino;
	struct ipc_conn *conns;
	unsigned idle_ms, conns_max;
	bool accept_failing;		/* said once, until an accept works */
	struct ipc_stats stats;
	char slab[65536];	/* read buffer: the loop is single-threaded */
};

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
			--c->srv->stats.conns;
			return;
		}
	}
}

static void rest_free(struct ipc_conn *c)
{
	if (c->rest) {
		sodium_memzero(c->rest, c->rest_off + c->rest_len);
		free(c->rest);
	}
	c->rest = NULL;
	c->rest_off = c->rest_len = 0;
}

static void on_conn_closed(uv_handle_t *h)
{
	struct ipc_conn *c = h->data;

	rest_free(c);
	free(c);
}

static void conn_close_now(struct ipc_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	conn_unlink(c);
	if (c->srv->ops->on_close)
		c->srv->ops->on_close(c);
	uv_close(&c->h.handle, on_conn_closed);
}

/* Hands the owner bytes while no answer is being written; returns how
 * many it took.  The owner takes one request at a time. */
static size_t conn_feed(struct ipc_conn *c, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len && !c->closing && !c->close_after_write && !c->pending_writes) {
		size_t used = c->srv->ops->on_data(c, data + done, len - done);

		/* An owner that took nothing took everything: no loop. */
		done += used && used <= len - done ? used : len - done;
	}
	return c->closing || c->close_after_write ? len : done;
}

static void conn_resume(struct ipc_conn *c)
{
	if (c->rest_len) {
		size_t used = conn_feed(c, c->rest + c->rest_off, c->rest_len);

		c->rest_off += used;
		c->rest_len -= used;
		if (!c->rest_len)
			rest_free(c);
	}
	if (c->paused && !c->rest_len && !c->pending_writes && !c->closing && !c->eof) {
		c->paused = false;
		uv_read_start(&c->h.stream, on_alloc, on_read);
	}
}

static void on_write_done(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct ipc_conn *c = w->conn;

	c->queued -= w->len;
	if (w->wipe)
		sodium_memzero(w->data, w->len);
	free(w->data);
	free(w);
	/* The handle outlives its queued writes: libuv cancels them with
	 * UV_ECANCELED before the close callback runs. */
	--c->pending_writes;
	if (c->closing)
		return;
	c->active_ms = uv_now(c->srv->loop);
	if (!c->pending_writes && c->close_after_write)
		conn_close_now(c);
	else if (!c->pending_writes)
		conn_resume(c);
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
	if (uv_write(&w->req, &c->h.stream, &b, 1, on_write_done) < 0) {
		if (wipe)
			sodium_memzero(data, len);
		free(data);
		free(w);
		return;
	}
	++c->pending_writes;
	c->queued += len;
	if (c->queued > c->srv->stats.queued_max)
		c->srv->stats.queued_max = c->queued;
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
	size_t used;

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
	if (nread == 0)
		return;
	c->active_ms = uv_now(c->srv->loop);
	used = conn_feed(c, buf->base, (size_t)nread);
	if (used < (size_t)nread && !c->closing) {
		/* An answer is being written: the rest waits, and so does
		 * the socket (the client's writes block on it). */
		c->rest = malloc((size_t)nread - used);
		if (!c->rest) {
			conn_close_now(c);
		} else {
			c->rest_len = (size_t)nread - used;
			memcpy(c->rest, buf->base + used, c->rest_len);
		}
	}
	/* What came in may have held keys. */
	sodium_memzero(buf->base, (size_t)nread);
	if (!c->closing && (c->rest_len || c->pending_writes)) {
		c->paused = true;
		uv_read_stop(s);
	}
}

static bool conn_busy(struct ipc_conn *c)
{
	return c->srv->ops->busy && c->srv->ops->busy(c);
}

/* The oldest connection that is not waiting for an answer of ours. */
static struct ipc_conn *oldest_idle(struct ipc_server *srv)
{
	struct ipc_conn *c, *found = NULL;

	for (c = srv->conns; c; c = c->next)
		if (!conn_busy(c))
			found = c;
	return found;
}

/* Out of descriptors: we give up the oldest idle connection, so that
 * the next client finds one, and say it once until it passes. */
static void out_of_fds(struct ipc_server *srv, int err)
{
	struct ipc_conn *c = oldest_idle(srv);

	++srv->stats.accept_errors;
	if (c) {
		++srv->stats.closed_over_limit;
		conn_close_now(c);
	}
	if (!srv->accept_failing && srv->ops->on_accept_error)
		srv->ops->on_accept_error(srv->owner, err);
	srv->accept_failing = true;
}

/* libuv meets EMFILE in accept with its spare descriptor: it accepts and
 * closes what is pending, so that the loop does not spin, and tells us
 * nothing.  Whether a connection could be accepted now is asked here,
 * by duplicating the listener's descriptor. */
static void check_fds(struct ipc_server *srv)
{
	uv_os_fd_t lfd;
	int fd;

	if (uv_fileno(&srv->listener.handle, &lfd) < 0)
		return;
	fd = fcntl(lfd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0) {
		close(fd);
		srv->accept_failing = false;
	} else if (errno == EMFILE || errno == ENFILE) {
		out_of_fds(srv, -errno);
	}
}

static void on_sweep(uv_timer_t *t)
{
	struct ipc_server *srv = t->data;
	uint64_t now = uv_now(srv->loop);
	struct ipc_conn *c, *next;

	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (now - c->active_ms >= srv->idle_ms && !conn_busy(c)) {
			++srv->stats.closed_idle;
			conn_close_now(c);
		}
	}
	check_fds(srv);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ipc_server *srv = server->data;
	struct ipc_conn *c;

	if (status < 0) {
		/* Out of descriptors and libuv's spare one is gone too. */
		out_of_fds(srv, status);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	if (srv->tcp)
		uv_tcp_init(srv->loop, &c->h.tcp);
	else
		uv_pipe_init(srv->loop, &c->h.pipe, 0);
	c->h.handle.data = c;
	c->srv = srv;
	if (uv_accept(server, &c->h.stream) < 0 ||
	    (srv->ops->on_open && srv->ops->on_open(c) < 0)) {
		c->closing = true;
		uv_close(&c->h.handle, on_conn_closed);
		return;
	}
	srv->accept_failing = false;
	if (srv->stats.conns >= srv->conns_max) {
		struct ipc_conn *old = oldest_idle(srv);

		if (!old) {
			/* Every one waits for an answer: the newcomer goes. */
			++srv->stats.closed_over_limit;
			c->closing = true;
			if (srv->ops->on_close)
				srv->ops->on_close(c);
			uv_close(&c->h.handle, on_conn_closed);
			return;
		}
		++srv->stats.closed_over_limit;
		conn_close_now(old);
	}
	c->active_ms = uv_now(srv->loop);
	c->next = srv->conns;
	srv->conns = c;
	++srv->stats.conns;
	uv_read_start(&c->h.stream, on_alloc, on_read);
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

static void on_server_handle_closed(uv_handle_t *h)
{
	struct ipc_server *srv = h->data;

	if (--srv->handles_open == 0)
		free(srv);
}

/* A server's memory and defaults; the listener is the caller's to set up. */
static struct ipc_server *server_new(uv_loop_t *loop, const struct ipc_ops *ops, void *owner)
{
	struct ipc_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->ops = ops;
	srv->owner = owner;
	srv->idle_ms = IPC_IDLE_MS;
	srv->conns_max = IPC_CONNS_MAX;
	return srv;
}

/* The listener (initialised by the caller) listens; the sweep starts.
 * On failure both handles close and free the server. */
static int server_listen(struct ipc_server *srv, int bound, struct ipc_server **out)
{
	int ret = bound;

	srv->listener.handle.data = srv;
	uv_timer_init(srv->loop, &srv->sweep);
	srv->sweep.data = srv;
	srv->handles_open = 2;
	if (ret == 0)
		ret = uv_listen(&srv->listener.stream, 16, on_connection);
	if (ret < 0) {
		uv_close((uv_handle_t *)&srv->sweep, on_server_handle_closed);
		uv_close(&srv->listener.handle, on_server_handle_closed);
		return ret;
	}
	ipc_server_set_limits(srv, srv->idle_ms, srv->conns_max);
	*out = srv;
	return 0;
}

int ipc_server_start(struct ipc_server **out, uv_loop_t *loop, const char *path,
		     const struct ipc_ops *ops, void *owner)
{
	struct ipc_server *srv = server_new(loop, ops, owner);
	struct stat st;
	mode_t old;
	int ret, bound;

	if (!srv)
		return -ENOMEM;
	if ((size_t)snprintf(srv->path, sizeof(srv->path), "%s", path) >= sizeof(srv->path)) {
		free(srv);
		return -ENAMETOOLONG;
	}
	if (socket_in_use(srv->path)) {
		free(srv);
		return -EADDRINUSE;
	}
	unlink(srv->path);	/* stale */

	uv_pipe_init(loop, &srv->listener.pipe, 0);
	old = umask(077);
	bound = uv_pipe_bind(&srv->listener.pipe, srv->path);
	umask(old);
	ret = server_listen(srv, bound, out);
	if (ret < 0) {
		if (bound == 0)
			unlink(path);	/* ours: bound, then listen failed */
		return ret;
	}
	if (stat(srv->path, &st) == 0) {
		srv->st_dev = st.st_dev;
		srv->st_ino = st.st_ino;
	}
	return 0;
}

int ipc_server_start_tcp(struct ipc_server **out, uv_loop_t *loop, const struct sockaddr *addr,
			 const struct ipc_ops *ops, void *owner)
{
	struct ipc_server *srv = server_new(loop, ops, owner);

	if (!srv)
		return -ENOMEM;
	srv->tcp = true;
	uv_tcp_init(loop, &srv->listener.tcp);
	return server_listen(srv, uv_tcp_bind(&srv->listener.tcp, addr,
					      addr->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0), out);
}

bool ipc_server_present(const struct ipc_server *srv)
{
	struct stat st;

	if (srv->tcp)
		return true;
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
	if (!srv->tcp && ipc_server_present(srv))
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->sweep, on_server_handle_closed);
	uv_close(&srv->listener.handle, on_server_handle_closed);
}

void ipc_server_set_limits(struct ipc_server *srv, unsigned idle_ms, unsigned conns_max)
{
	unsigned every;

	srv->idle_ms = idle_ms ? idle_ms : 1;
	srv->conns_max = conns_max ? conns_max : 1;
	/* Looked at four times a timeout: closed within 1.25 of it. */
	every = srv->idle_ms / 4 ? srv->idle_ms / 4 : 1;
	uv_timer_start(&srv->sweep, on_sweep, every, every);
	uv_unref((uv_handle_t *)&srv->sweep);
}

void ipc_server_stats(const struct ipc_server *srv, struct ipc_stats *out)
{
	*out = srv->stats;
}

int ipc_conn_peer(const struct ipc_conn *c, struct sockaddr_storage *out)
{
	int len = (int)sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (!c->srv->tcp)
		return -ENOTSUP;
	return uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)out, &len);
}
