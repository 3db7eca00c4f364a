/* Running a daemon the way wireguard-go does: unless told to stay in the
 * foreground, the process forks, the child sets everything up, and the
 * parent returns only once the child says it is ready (exit 0) or has
 * failed (its exit status), so that a caller such as wg-quick can rely
 * on the interface existing when the command returns. */
#ifndef WH_SRC_IO_DAEMONIZE_H
#define WH_SRC_IO_DAEMONIZE_H

#include <stdbool.h>

/* Calls run(arg, ready_fd) in this process (foreground, ready_fd -1) or
 * in a detached child; run calls daemonize_ready(ready_fd, ...) once it
 * is up, then runs its loop, and returns the exit status. */
int daemonize_run(bool foreground, int (*run)(void *arg, int ready_fd), void *arg);
/* Tells the waiting parent that the daemon is up and detaches stdio
 * (stderr is kept when keep_stderr, for debug logs).  -1 is a no-op. */
void daemonize_ready(int ready_fd, bool keep_stderr);

#endif
