/* The UAPI unix socket at /var/run/wireguard/IFNAME.sock, through which
 * stock `wg` and `wg-quick` configure the device (protocol: uapi.h). */
#ifndef WH_SRC_WG_UAPI_SERVER_H
#define WH_SRC_WG_UAPI_SERVER_H

#include <stdbool.h>

struct wg_device;
struct uapi_set;

#define UAPI_SOCKET_DIR "/var/run/wireguard"

/* Creates the directory (0755) and the socket (umask 077), replacing a
 * stale socket; -EADDRINUSE when another process answers on it. */
int uapi_server_start(struct wg_device *dev);
/* Closes the listener and every connection and removes the socket. */
void uapi_server_stop(struct wg_device *dev);
/* false once the socket file was deleted or replaced by someone else:
 * the daemon then exits, as wireguard-go does. */
bool uapi_server_socket_present(struct wg_device *dev);

/* Applies a parsed set request to the device; 0 or a negative errno
 * (the request's earlier parts stay applied, as in wireguard-go). */
int uapi_apply_set(struct wg_device *dev, const struct uapi_set *set);

#endif
