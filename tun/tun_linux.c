/* Linux backend: /dev/net/tun in IFF_TUN | IFF_NO_PI mode, one queue.
 *
 * TUNSETIFF either creates the interface or attaches to an existing
 * persistent TUN interface of that name that nobody holds.  A name that
 * belongs to anything else (a TAP, a veth, "lo", a TUN opened by another
 * process or with other queue flags) makes the kernel answer EINVAL or
 * EBUSY, which we report as -EEXIST so that the caller can say "that
 * name is taken" rather than "invalid argument".
 *
 * tun_open_offload asks for IFF_VNET_HDR and TUNSETOFFLOAD, tun_enable_uso
 * adds UDP segmentation to the offloads; what the header means and how
 * packets are split and coalesced is tun/tun_offload.c's business, this
 * file only moves the bytes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tun/tun_impl.h"

static const char tun_clone_path[] = "/dev/net/tun";

/* Maps the errno of a failed TUNSETIFF to ours. */
static int setiff_error(int err, const char *name)
{
	if ((err == EINVAL || err == EBUSY) && name[0] != '\0' && if_nametoindex(name) != 0)
		return -EEXIST;
	return -err;
}

enum { VNET_HDR_SIZE = 10 };	/* struct virtio_net_hdr */

/* Linux 6.2's UDP segmentation offload bits, which older headers (Debian
 * 12 ships 6.1's) do not name; an older kernel refuses them with EINVAL. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* Checksums and TSO both ways; UDP stays one datagram per packet until
 * tun_enable_uso. */
static const unsigned base_offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

static int open_flags(struct tun_device **out, const char *name, int extra)
{
	struct tun_device *tun = NULL;
	struct ifreq ifr;
	int fd = -1, ret;

	*out = NULL;
	memset(&ifr, 0, sizeof(ifr));
	/* No name, or a pattern such as "wh%d": the kernel picks the unit. */
	if (name != NULL && name[0] != '\0') {
		ret = tun_name_copy(ifr.ifr_name, name);
		if (ret < 0)
			goto out;
	}
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | extra);

	fd = open(tun_clone_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		/* ENODEV: the node exists but the driver is not there. */
		ret = errno == ENODEV ? -ENOENT : -errno;
		goto out;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = setiff_error(errno, ifr.ifr_name);
		goto out;
	}

	tun = calloc(1, sizeof(*tun));
	if (tun == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	/* The kernel wrote the name it chose back into ifr. */
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	ret = tun_name_copy(tun->name, ifr.ifr_name);
	if (ret < 0)
		goto out;
	tun->ifindex = if_nametoindex(tun->name);
	if (tun->ifindex == 0) {
		ret = -errno;
		goto out;
	}
	tun->fd = fd;
	tun->flags = 0;
	if (extra & IFF_VNET_HDR) {
		int sz = VNET_HDR_SIZE;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		int le = 1;

		/* tun/tun_offload.c reads the header as little-endian. */
		if (ioctl(fd, TUNSETVNETLE, &le) < 0) {
			ret = -errno;
			goto out;
		}
#endif
		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(fd, TUNSETOFFLOAD, base_offloads) < 0) {
			ret = -errno;
			goto out;
		}
		tun->flags |= TUN_F_VNET_HDR;
	}
	*out = tun;
	return 0;

out:
	free(tun);
	if (fd >= 0)
		close(fd);
	return ret;
}

int tun_open(struct tun_device **out, const char *name)
{
	return open_flags(out, name, 0);
}

int tun_open_offload(struct tun_device **out, const char *name)
{
	int ret = open_flags(out, name, IFF_VNET_HDR);

	/* A kernel without the offloads (or a persistent interface that
	 * cannot take them): the plain interface does everything but
	 * faster. */
	if (ret < 0 && ret != -EEXIST && ret != -EPERM && ret != -ENOENT && ret != -ENAMETOOLONG)
		ret = open_flags(out, name, 0);
	return ret;
}

bool tun_has_vnet_hdr(const struct tun_device *tun)
{
	return tun->flags & TUN_F_VNET_HDR;
}

int tun_enable_uso(struct tun_device *tun)
{
	if (!(tun->flags & TUN_F_VNET_HDR))
		return -EOPNOTSUPP;
	/* The kernel checks every bit before it changes anything: a refusal
	 * leaves the offloads as they were. */
	if (ioctl(tun->fd, TUNSETOFFLOAD, base_offloads | TUN_F_USO4 | TUN_F_USO6) < 0)
		return -errno;
	tun->flags |= TUN_F_USO;
	return 0;
}

bool tun_has_uso(const struct tun_device *tun)
{
	return tun->flags & TUN_F_USO;
}

ssize_t tun_readv(struct tun_device *tun, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do
		n = readv(tun->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t tun_writev(struct tun_device *tun, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do
		n = writev(tun->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void tun_close(struct tun_device *tun)
{
	if (tun == NULL)
		return;
	/* A non-persistent interface disappears with its last descriptor. */
	close(tun->fd);
	free(tun);
}

ssize_t tun_read(struct tun_device *tun, void *buf, size_t len)
{
	ssize_t n;

	if (tun->flags & TUN_F_VNET_HDR) {
		uint8_t hdr[VNET_HDR_SIZE];
		struct iovec iov[2] = { { hdr, sizeof(hdr) }, { buf, len } };

		n = tun_readv(tun, iov, 2);
		if (n >= 0 && n < (ssize_t)sizeof(hdr))
			return -EIO;
		return n < 0 ? n : n - (ssize_t)sizeof(hdr);
	}
	do
		n = read(tun->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t tun_write(struct tun_device *tun, const void *pkt, size_t len)
{
	ssize_t n;

	if (tun->flags & TUN_F_VNET_HDR) {
		/* GSO_NONE, no checksum request: an ordinary packet. */
		uint8_t hdr[VNET_HDR_SIZE] = { 0 };
		struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)pkt, len } };

		n = tun_writev(tun, iov, 2);
		if (n < 0)
			return n;
		if ((size_t)n != len + sizeof(hdr))
			return -EIO;
		return (ssize_t)len;
	}
	do
		n = write(tun->fd, pkt, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return n;
}
