/* Linux backend: /dev/net/tun in IFF_TUN | IFF_NO_PI mode, one queue.
 *
 * TUNSETIFF either creates the interface or attaches to an existing
 * persistent TUN interface of that name that nobody holds.  A name that
 * belongs to anything else (a TAP, a veth, "lo", a TUN opened by another
 * process or with other queue flags) makes the kernel answer EINVAL or
 * EBUSY, which we report as -EEXIST so that the caller can say "that
 * name is taken" rather than "invalid argument".
 *
 * Offloads (IFF_VNET_HDR, TUNSETOFFLOAD) are left to a separate file
 * that sets TUN_F_VNET_HDR in tun_device.flags. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

int tun_open(struct tun_device **out, const char *name)
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
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;

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
	*out = tun;
	return 0;

out:
	free(tun);
	if (fd >= 0)
		close(fd);
	return ret;
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

	do
		n = read(tun->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t tun_write(struct tun_device *tun, const void *pkt, size_t len)
{
	ssize_t n;

	do
		n = write(tun->fd, pkt, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return n;
}
