#include "src/io/logsink.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

enum { LINE_MAX_LEN = 511 };

void logsink_syslog_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void logsink_syslog(unsigned level, const char *line)
{
	syslog(level == 0 ? LOG_ERR : level == 1 ? LOG_INFO : LOG_DEBUG, "%s", line);
}

bool logsink_is_journal(int fd)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

const char *logsink_level_prefix(unsigned level)
{
	return level == 0 ? "<3>" : level == 1 ? "<6>" : "<7>";
}

const char *logsink_level_name(unsigned level)
{
	return level == 0 ? "error" : level == 1 ? "info" : "debug";
}

struct logpipe {
	uv_pipe_t pipe;
	void (*on_line)(void *ctx, const char *line);
	void *ctx;
	char line[LINE_MAX_LEN + 1];
	size_t len;
	bool cut;		/* the rest of an over-long line is dropped */
	char buf[4096];
};

static void flush_line(struct logpipe *lp)
{
	if (lp->len) {
		lp->line[lp->len] = '\0';
		lp->on_line(lp->ctx, lp->line);
	}
	lp->len = 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct logpipe *lp = h->data;

	(void)suggested;
	*b = uv_buf_init(lp->buf, sizeof(lp->buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct logpipe *lp = s->data;
	ssize_t i;

	if (n < 0) {
		flush_line(lp);
		uv_read_stop(s);
		return;
	}
	for (i = 0; i < n; ++i) {
		unsigned char c = (unsigned char)b->base[i];

		if (c == '\n') {
			if (!lp->cut)
				flush_line(lp);
			lp->len = 0;
			lp->cut = false;
			continue;
		}
		if (lp->cut)
			continue;
		if (lp->len == LINE_MAX_LEN) {
			flush_line(lp);
			lp->cut = true;
			continue;
		}
		lp->line[lp->len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

int logpipe_start(struct logpipe **out, uv_loop_t *loop,
		  void (*on_line)(void *ctx, const char *line), void *ctx, int *saved_stderr)
{
	struct logpipe *lp;
	int p[2] = { -1, -1 }, saved, ret;

	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (saved < 0 || pipe2(p, O_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = uv_pipe_init(loop, &lp->pipe, 0);
	if (ret < 0)
		goto fail;
	lp->pipe.data = lp;
	lp->on_line = on_line;
	lp->ctx = ctx;
	ret = uv_pipe_open(&lp->pipe, p[0]);
	if (ret == 0)
		ret = uv_read_start((uv_stream_t *)&lp->pipe, on_alloc, on_read);
	if (ret < 0) {
		/* The handle owns p[0] now: closing it frees lp. */
		close(p[1]);
		close(saved);
		uv_close((uv_handle_t *)&lp->pipe, on_closed);
		return ret;
	}
	/* A writer never waits for the loop (which may be the writer): a
	 * full pipe drops the line.  dup2 clears close-on-exec: fd 2 stays
	 * fd 2 in a child. */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (dup2(p[1], STDERR_FILENO) < 0) {
		ret = -errno;
		close(p[1]);
		close(saved);
		uv_close((uv_handle_t *)&lp->pipe, on_closed);
		return ret;
	}
	close(p[1]);
	*saved_stderr = saved;
	*out = lp;
	return 0;
fail:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (saved >= 0)
		close(saved);
	free(lp);
	return ret;
}

void logpipe_stop(struct logpipe *lp, int restore_fd)
{
	char buf[4096];
	uv_os_fd_t fd;
	int null = -1;

	if (!lp)
		return;
	/* fd 2 first, so that nothing more goes into the pipe; then whatever
	 * is already in it is told before it closes. */
	if (restore_fd < 0)
		restore_fd = null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (restore_fd >= 0)
		dup2(restore_fd, STDERR_FILENO);
	if (null >= 0)
		close(null);
	if (uv_fileno((uv_handle_t *)&lp->pipe, &fd) == 0) {
		ssize_t n;
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			uv_buf_t b = uv_buf_init(buf, (unsigned)n);

			on_read((uv_stream_t *)&lp->pipe, n, &b);
		}
		flush_line(lp);
	}
	uv_read_stop((uv_stream_t *)&lp->pipe);
	uv_close((uv_handle_t *)&lp->pipe, on_closed);
}
