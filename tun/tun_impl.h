/* What the TUN backends share behind tun/tun.h: the device structure and
 * the helpers that are the same on every system.  Only the files of
 * tun/ include this header; the rest of wh sees struct tun_device as an
 * opaque type.
 *
 * Ownership: a backend's tun_open fills every field once; tun_close
 * frees the structure.  The shared helpers only read the fields. */
#ifndef WH_TUN_TUN_IMPL_H
#define WH_TUN_TUN_IMPL_H

#include <stddef.h>
#include <sys/types.h>

#include "tun/tun.h"

/* Bits of tun_device.flags: how packets are framed on the descriptor. */
enum {
	/* Every packet is preceded by a 4-byte big-endian address family
	 * (macOS utun, FreeBSD with TUNSIFHEAD, OpenBSD). */
	TUN_F_AF_HEADER = 1u << 0,
	/* Linux IFF_VNET_HDR: a struct virtio_net_hdr precedes every packet
	 * and the kernel may hand over or accept segments larger than the
	 * MTU.  Set only by the offload code, which brings its own read and
	 * write paths; the plain tun_read/tun_write never see the header. */
	TUN_F_VNET_HDR = 1u << 1,
	/* Linux TUN_F_USO4 | TUN_F_USO6 on top of the above: UDP
	 * super-packets (gso_type UDP_L4) both ways. */
	TUN_F_USO = 1u << 2,
};

struct tun_device {
	int fd;				/* non-blocking, close-on-exec */
	unsigned flags;			/* TUN_F_* */
	unsigned ifindex;		/* as the system numbered it at open */
	char name[TUN_NAME_MAX];	/* NUL-terminated */
};

struct ifreq;

/* Runs one struct ifreq ioctl (name in ifr->ifr_name) on a short-lived
 * AF_INET datagram socket (tun_iface.c).  0 or a negative errno. */
int tun_ifreq_ioctl(unsigned long request, struct ifreq *ifr);

/* The 4-byte address family framing of utun and the BSD tun drivers
 * (tun_afhdr.c): one packet per call, the header stripped on read and
 * chosen from the IP version nibble on write.  Same return values as
 * tun_read and tun_write. */
ssize_t tun_afhdr_read(int fd, void *buf, size_t len);
ssize_t tun_afhdr_write(int fd, const void *pkt, size_t len);

/* Copies name into dst (TUN_NAME_MAX bytes).  -EINVAL for an empty name,
 * -ENAMETOOLONG when it does not fit. */
int tun_name_copy(char dst[TUN_NAME_MAX], const char *name);

#endif
