/* The UAPI unix socket at /var/run/wireguard/IFNAME.sock, through which
 * stock `wg` and `wg-quick` configure the device (protocol: uapi.h). */
#ifndef WH_SRC_WG_UAPI_SERVER_H
#define WH_SRC_WG_UAPI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wg_device;
struct uapi_set;
struct ipc_stats;

/* An owner that manages part of the device's configuration itself (the
 * node of `wh up`: its key, its port and the network file's members)
 * says what a set request may change.  A plain wireguard-wh has none:
 * stock wg may change everything. */
struct uapi_policy {
	/* 0 to apply set, or a negative errno (-EPERM) to refuse it whole,
	 * nothing applied, with the reason for the log in why. */
	int (*check)(void *ctx, const struct uapi_set *set, char *why, size_t len);
	/* Whether the owner manages the peer with this key: sections naming
	 * it (check found that they only restate it) are skipped, and
	 * replace_peers keeps it. */
	bool (*manages)(void *ctx, const uint8_t *public_key);
	void *ctx;
};

#define UAPI_SOCKET_DIR "/var/run/wireguard"

/* Creates the directory (0755) and the socket (umask 077), replacing a
 * stale socket; -EADDRINUSE when another process answers on it.  policy
 * (NULL: none) must outlive the server. */
int uapi_server_start(struct wg_device *dev, const struct uapi_policy *policy);
/* Closes the listener and every connection and removes the socket. */
void uapi_server_stop(struct wg_device *dev);
/* false once the socket file was deleted or replaced by someone else:
 * the daemon then exits, as wireguard-go does. */
bool uapi_server_socket_present(struct wg_device *dev);
/* The UAPI socket's connection counters (zeros when it is not running). */
void uapi_server_stats(const struct wg_device *dev, struct ipc_stats *out);

/* Applies a set request to the device; 0 or a negative errno (the
 * request's earlier parts stay applied, as in wireguard-go).  The one
 * applier of configuration: the UAPI's requests (with the owner's
 * policy) and the node's network file (policy NULL) both come here. */
int uapi_apply_set(struct wg_device *dev, const struct uapi_set *set,
		   const struct uapi_policy *policy);

#endif
