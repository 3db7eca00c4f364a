/* Where a daemon's log lines go besides its stderr: syslog (facility
 * LOG_DAEMON), and a pipe that takes the place of the process's fd 2 so
 * that what libraries print there (miniupnpc's perror, for one) comes
 * back through the owner's log, line by line, instead of going raw to a
 * terminal or to /dev/null.
 *
 * Levels are the device's (src/wg/device.h): 0 errors, 1 info, 2 debug;
 * syslog's own names are not exported, as they collide with those. */
#ifndef WH_SRC_IO_LOGSINK_H
#define WH_SRC_IO_LOGSINK_H

#include <stdbool.h>
#include <uv.h>

/* openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON); ident must live as
 * long as the process logs. */
void logsink_syslog_open(const char *ident);
void logsink_syslog(unsigned level, const char *line);

/* Whether fd is the stream systemd's journal reads our stderr from
 * (JOURNAL_STREAM names its device and inode, systemd.exec(5)): a line
 * there may begin with "<N>", syslog's priority N, which journald takes
 * as the line's level (sd-daemon(3)) and strips. */
bool logsink_is_journal(int fd);
/* The prefix and the word of a level: "<3>" and "error", "<6>" and
 * "info", "<7>" and "debug". */
const char *logsink_level_prefix(unsigned level);
const char *logsink_level_name(unsigned level);

struct logpipe;

/* Replaces fd 2 with a pipe read on loop; each line written to it is
 * given to on_line (without its newline, cut at 511 bytes, control
 * characters replaced by '?'; a writer that finds the pipe full loses
 * its line rather than wait).  *saved_stderr receives a close-on-exec
 * duplicate of the previous fd 2 (for the owner to keep logging to it, or
 * to close).  0 or a negative errno; on error fd 2 is untouched. */
int logpipe_start(struct logpipe **out, uv_loop_t *loop,
		  void (*on_line)(void *ctx, const char *line), void *ctx, int *saved_stderr);
/* Points fd 2 at restore_fd (/dev/null when -1), tells what is left in
 * the pipe, and frees it once its handle has closed.  NULL is a no-op. */
void logpipe_stop(struct logpipe *lp, int restore_fd);

#endif
