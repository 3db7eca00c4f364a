/* One interface over the systems' TUN devices: Linux /dev/net/tun,
 * macOS utun, FreeBSD and OpenBSD tun.  Packets cross this interface as
 * bare IPv4 or IPv6 packets; a backend that frames them (the 4-byte
 * address family header of utun and the BSDs) adds and strips it.
 *
 * Errors: negative errno.  The descriptor is non-blocking so that the
 * daemon's loop can poll it and read in bursts until -EAGAIN. */
#ifndef WH_TUN_TUN_H
#define WH_TUN_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct iovec;
struct tun_device;

enum { TUN_NAME_MAX = 16 };	/* IFNAMSIZ */

/* Creates (or on Linux, attaches to a free) interface named name; on
 * macOS "utun" picks any free utun unit.  The real name is written to
 * *out's name (see tun_name).  -EEXIST when the interface exists and is
 * not a free TUN device, -ENOENT when the TUN driver is missing.
 *
 * Names by system (NULL or "" everywhere: let the system choose):
 *   Linux    any name; a "%d" in it lets the kernel pick the unit
 *   macOS    "utun" (any unit) or "utunN"
 *   FreeBSD  any name: the cloned tunN is renamed to it
 *   OpenBSD  "tun" (first free unit) or "tunN"
 * Other names are -EINVAL, names of TUN_NAME_MAX bytes or more
 * -ENAMETOOLONG, and on Linux a missing CAP_NET_ADMIN is -EPERM. */
int tun_open(struct tun_device **out, const char *name);
void tun_close(struct tun_device *tun);

const char *tun_name(const struct tun_device *tun);
int tun_fd(const struct tun_device *tun);
/* The interface index the system gave the device when it was opened
 * (what tun/netlink.h takes). */
unsigned tun_ifindex(const struct tun_device *tun);

/* One packet per call.  Returns its length, -EAGAIN when none is ready,
 * or another negative errno (-EIO, -EBADFD: the interface went away).
 * buf should hold the MTU; a longer packet is truncated by the system. */
ssize_t tun_read(struct tun_device *tun, void *buf, size_t len);
/* Writes one IPv4 or IPv6 packet (the version nibble picks the family
 * header where one is needed).  Returns len or a negative errno. */
ssize_t tun_write(struct tun_device *tun, const void *pkt, size_t len);

/* Offloads (Linux; elsewhere tun_open_offload is tun_open and the rest is
 * never reached).  tun_open_offload opens the interface as tun_open does,
 * with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO for IPv4 and IPv6,
 * TSO with ECN): every packet on the descriptor is then preceded by a
 * 10-byte struct virtio_net_hdr (tun/tun_offload.h), and the kernel may
 * hand over and accept TCP super-packets of up to 64 KiB.  When the kernel
 * refuses the offloads it falls back to a plain interface:
 * tun_has_vnet_hdr tells which one the caller got.  tun_read and tun_write
 * keep working on such an interface (they strip and add a zero header),
 * but the offload user reads and writes the header itself with tun_readv
 * and tun_writev (one packet per call; return values as tun_read and
 * tun_write, the header counted). */
int tun_open_offload(struct tun_device **out, const char *name);
bool tun_has_vnet_hdr(const struct tun_device *tun);
/* Adds UDP segmentation (TUN_F_USO4 | TUN_F_USO6, Linux 6.2 and later) to
 * the offloads of an interface that has the virtio header: the kernel may
 * then hand over and accept UDP super-packets (gso_type UDP_L4).  0, or a
 * negative errno with the offloads left as they were (-EINVAL: the kernel
 * does not know USO; -EOPNOTSUPP: no virtio header).  tun_has_uso tells
 * whether it is on. */
int tun_enable_uso(struct tun_device *tun);
bool tun_has_uso(const struct tun_device *tun);
ssize_t tun_readv(struct tun_device *tun, const struct iovec *iov, int iovcnt);
ssize_t tun_writev(struct tun_device *tun, const struct iovec *iov, int iovcnt);

int tun_set_mtu(struct tun_device *tun, unsigned mtu);
int tun_get_mtu(struct tun_device *tun, unsigned *mtu);
int tun_set_up(struct tun_device *tun, bool up);
/* Whether the interface still exists in the system under the name and
 * index it had when it was opened: 0 yes; -ENODEV no (deleted, or its
 * name now names another); another negative errno when the system cannot
 * tell now (-EMFILE, -ENFILE, -ENOBUFS, -ENOMEM: the lookup needs a
 * socket), which is no reason to think it gone. */
int tun_present(const struct tun_device *tun);
/* true unless tun_present says it is gone. */
bool tun_exists(const struct tun_device *tun);

#endif
