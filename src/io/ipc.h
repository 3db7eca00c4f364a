/* Stream sockets on the loop: the UAPI socket that `wg` talks to, the
 * control socket of `wh` and the name service's TCP listeners share this
 * listener and connection code.
 * A connection receives bytes through on_data and answers with
 * ipc_conn_send; the owner's per-connection state hangs off ipc_conn_data.
 * Errors: negative errno. */
#ifndef WH_SRC_IO_IPC_H
#define WH_SRC_IO_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ipc_server;
struct ipc_conn;

struct ipc_ops {
	/* 0 to accept the connection, or a negative errno to refuse it. */
	int (*on_open)(struct ipc_conn *c);
	/* Bytes in, one request at a time: returns how many of len it used
	 * (at least one), stopping after a complete request.  While the
	 * answer to one request is still being written the rest is kept
	 * unread and reading stops, so that a client that pipelines
	 * requests without reading the answers holds at most one answer
	 * in our memory. */
	size_t (*on_data)(struct ipc_conn *c, const char *data, size_t len);
	/* The peer finished sending (it may still read).  true keeps the
	 * connection until the owner closes it (an answer is on its way);
	 * false or NULL closes it once what is queued is written. */
	bool (*on_eof)(struct ipc_conn *c);
	/* The peer closed, or ipc_conn_close was called: free the state. */
	void (*on_close)(struct ipc_conn *c);
	/* true while the connection waits for an answer of ours (a lookup):
	 * it is then not idle (NULL: never). */
	bool (*busy)(struct ipc_conn *c);
	/* Accepting failed (-EMFILE, -ENFILE: out of descriptors); called
	 * once until an accept succeeds again, for the owner to log. */
	void (*on_accept_error)(void *owner, int err);
};

/* A listener's limits.  A connection with no request coming in and no
 * answer going out for idle_ms is closed; beyond conns_max connections
 * the oldest idle one is closed for the newcomer. */
enum {
	IPC_IDLE_MS = 5000,
	IPC_CONNS_MAX = 16,
};

struct ipc_stats {
	unsigned conns;			/* open now */
	uint64_t closed_idle;		/* idle past the timeout */
	uint64_t closed_over_limit;	/* made room for a newer one */
	uint64_t accept_errors;		/* accept failed (out of descriptors) */
	size_t queued_max;		/* most answer bytes one connection held */
};

/* Creates the socket at path (its directory must exist) under umask 077,
 * replacing a stale one; -EADDRINUSE when a live process answers there. */
int ipc_server_start(struct ipc_server **out, uv_loop_t *loop, const char *path,
		     const struct ipc_ops *ops, void *owner);
/* The same on a TCP address (the name service's, RFC 7766): the same
 * limits and one request at a time. */
int ipc_server_start_tcp(struct ipc_server **out, uv_loop_t *loop, const struct sockaddr *addr,
			 const struct ipc_ops *ops, void *owner);
/* Closes every connection and the listener, and removes the socket file
 * if it is still the one we created. */
void ipc_server_stop(struct ipc_server *srv);
/* Changes the limits (tests use short ones). */
void ipc_server_set_limits(struct ipc_server *srv, unsigned idle_ms, unsigned conns_max);
void ipc_server_stats(const struct ipc_server *srv, struct ipc_stats *out);
/* false once the socket file was deleted or replaced. */
bool ipc_server_present(const struct ipc_server *srv);

void *ipc_conn_owner(const struct ipc_conn *c);
/* A TCP connection's peer (0), or -ENOTSUP on a Unix socket. */
int ipc_conn_peer(const struct ipc_conn *c, struct sockaddr_storage *out);
void *ipc_conn_data(const struct ipc_conn *c);
void ipc_conn_set_data(struct ipc_conn *c, void *data);
/* Queues len bytes of a malloc'd buffer, taking ownership; the buffer is
 * wiped before it is freed when wipe is set (it may hold keys). */
void ipc_conn_send(struct ipc_conn *c, char *data, size_t len, bool wipe);
/* Closes once everything queued has been written. */
void ipc_conn_close(struct ipc_conn *c);

#endif
