/* The service manager's readiness protocol (sd_notify(3)), without
 * libsystemd: a datagram of "KEY=VALUE" lines to the AF_UNIX socket that
 * $NOTIFY_SOCKET names.  A name that starts with '@' is in the abstract
 * namespace (the '@' becomes a NUL byte); any other must be an absolute
 * path.  Without $NOTIFY_SOCKET every call does nothing, so the daemon
 * calls them unconditionally; a send that fails is reported to the
 * caller and changes nothing else (the manager then sees no readiness and
 * times the start out, which is its way of saying so).
 *
 * Errors: negative errno, as in the rest of src/io. */
#ifndef WH_SRC_IO_SDNOTIFY_H
#define WH_SRC_IO_SDNOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

/* The socket address for a $NOTIFY_SOCKET value: 0 and *len set, or
 * -EINVAL (empty, relative, or of another family such as "vsock:"),
 * -ENAMETOOLONG (longer than sun_path). */
int sdnotify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);
/* Sends state (for example "READY=1" or "STOPPING=1", lines separated by
 * '\n') to $NOTIFY_SOCKET: 1 sent, 0 no $NOTIFY_SOCKET, or a negative
 * errno. */
int sdnotify_send(const char *state);
/* "RELOADING=1" with MONOTONIC_USEC (the clock's now), as the manager
 * wants it before a reload; READY=1 follows when the reload is done. */
int sdnotify_reloading(void);

#endif
