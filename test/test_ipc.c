/* The listener and connection layer of the UAPI and control sockets
 * (src/io/ipc.c), driven on a libuv loop with plain client sockets of
 * the same process (issue 17, findings 10 and 11):
 *   - a client that pipelines requests without reading the answers makes
 *     the server hold at most one answer (one request at a time);
 *   - a connection with nothing coming in is closed after the idle
 *     timeout, but not one that waits for an answer of ours;
 *   - beyond the connection limit the oldest idle one goes. */
#include "src/io/ipc.h"
#include "test/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	ANSWER_LEN = 256 * 1024,	/* more than a socket buffer holds */
	PIPELINED = 60,
};

struct owner {
	unsigned requests;		/* complete requests handled */
};

struct conn_state {
	bool waiting;			/* asked "w": no answer, busy */
};

static int on_open(struct ipc_conn *c)
{
	struct conn_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	ipc_conn_set_data(c, st);
	return 0;
}

/* A request is one line: "g" is answered with ANSWER_LEN bytes, "w"
 * waits for ever (as a control lookup waits for the overlay). */
static size_t on_data(struct ipc_conn *c, const char *data, size_t len)
{
	struct owner *o = ipc_conn_owner(c);
	struct conn_state *st = ipc_conn_data(c);
	const char *nl = memchr(data, '\n', len);
	char *answer;

	if (!nl)
		return len;
	++o->requests;
	if (data[0] == 'w') {
		st->waiting = true;
	} else {
		answer = tap_malloc(ANSWER_LEN);
		memset(answer, 'a', ANSWER_LEN);
		ipc_conn_send(c, answer, ANSWER_LEN, false);
	}
	return (size_t)(nl - data) + 1;
}

static void on_close(struct ipc_conn *c)
{
	free(ipc_conn_data(c));
}

static bool busy(struct ipc_conn *c)
{
	struct conn_state *st = ipc_conn_data(c);

	return st->waiting;
}

static const struct ipc_ops ops = {
	.on_open = on_open,
	.on_data = on_data,
	.on_close = on_close,
	.busy = busy,
};

static char sock_path[108];

static int client(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(uv_loop_t *loop, unsigned ms)
{
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	while (uv_now(loop) < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(loop);
	}
}

/* Whether the server closed fd (reading what it sent on the way). */
static bool closed_by_server(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_pipelined(uv_loop_t *loop, struct ipc_server *srv, struct owner *o)
{
	char req[2 * PIPELINED];
	struct ipc_stats st;
	size_t got = 0;
	unsigned i;
	int fd = client();

	if (!ok(fd >= 0, "connect"))
		return;
	for (i = 0; i < PIPELINED; ++i)
		memcpy(req + 2 * i, "g\n", 2);
	ok(write(fd, req, sizeof(req)) == (ssize_t)sizeof(req), "%d pipelined requests in one write",
	   PIPELINED);
	o->requests = 0;
	run_for(loop, 300);
	ipc_server_stats(srv, &st);
	ok(o->requests <= 2, "unread answers: %u of %d requests handled (at most 2)", o->requests,
	   PIPELINED);
	ok(st.queued_max <= ANSWER_LEN, "the server held at most one answer (%zu bytes, one is %d)",
	   st.queued_max, ANSWER_LEN);
	/* Reading them, every answer comes. */
	for (i = 0; i < 20000 && got < (size_t)PIPELINED * ANSWER_LEN; ++i) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			got += (size_t)n;
		uv_run(loop, UV_RUN_NOWAIT);
	}
	ok(got == (size_t)PIPELINED * ANSWER_LEN, "read: all %d answers (%zu bytes)", PIPELINED, got);
	ok(o->requests == PIPELINED, "all %d requests handled (%u)", PIPELINED, o->requests);
	ipc_server_stats(srv, &st);
	ok(st.queued_max <= ANSWER_LEN, "still at most one answer held (%zu)", st.queued_max);
	close(fd);
	run_for(loop, 20);
}

static void test_idle(uv_loop_t *loop, struct ipc_server *srv)
{
	struct ipc_stats before, after;
	int idle = client(), half = client(), waiting = client();

	if (!ok(idle >= 0 && half >= 0 && waiting >= 0, "connect three"))
		return;
	ipc_server_stats(srv, &before);
	ok(write(half, "g", 1) == 1, "half a request");
	ok(write(waiting, "w\n", 2) == 2, "a request that waits for us");
	run_for(loop, 400);
	ipc_server_stats(srv, &after);
	ok(closed_by_server(idle), "an idle connection is closed after the timeout");
	ok(closed_by_server(half), "one with half a request too");
	ok(!closed_by_server(waiting), "one waiting for our answer is kept");
	ok(after.closed_idle - before.closed_idle == 2, "closed_idle counts 2 (%llu)",
	   (unsigned long long)(after.closed_idle - before.closed_idle));
	close(idle);
	close(half);
	close(waiting);
	run_for(loop, 20);
}

static void test_limit(uv_loop_t *loop, struct ipc_server *srv)
{
	struct ipc_stats before, after;
	int fds[5], i;

	ipc_server_stats(srv, &before);
	for (i = 0; i < 5; ++i) {
		fds[i] = client();
		run_for(loop, 10);
	}
	ipc_server_stats(srv, &after);
	ok(fds[4] >= 0, "five connections made");
	ok(closed_by_server(fds[0]), "the fifth over a limit of 4 closes the oldest");
	ok(!closed_by_server(fds[1]) && !closed_by_server(fds[4]), "the others stay");
	ok(after.conns == 4, "4 open (%u)", after.conns);
	ok(after.closed_over_limit - before.closed_over_limit == 1, "closed_over_limit counts 1");
	for (i = 0; i < 5; ++i)
		if (fds[i] >= 0)
			close(fds[i]);
	run_for(loop, 20);
}

int main(void)
{
	struct ipc_server *srv;
	struct owner o = { 0 };
	uv_loop_t loop;
	int ret;

	snprintf(sock_path, sizeof(sock_path), "/tmp/wh-test-ipc-%d.sock", (int)getpid());
	uv_loop_init(&loop);
	ret = ipc_server_start(&srv, &loop, sock_path, &ops, &o);
	if (!ok(ret == 0, "ipc_server_start %s (%d)", sock_path, ret))
		return tap_done();
	test_pipelined(&loop, srv, &o);
	ipc_server_set_limits(srv, 200, 4);
	test_idle(&loop, srv);
	ipc_server_set_limits(srv, 60000, 4);
	test_limit(&loop, srv);
	ipc_server_stop(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(uv_loop_close(&loop) == 0, "every handle closed");
	return tap_done();
}
