/* FreeBSD and OpenBSD backend: the tun(4) character devices.
 *
 * FreeBSD: opening /dev/tun clones a fresh interface (TUNGIFNAME tells
 * its name); it persists after close, so tun_close destroys it.  We ask
 * for the address family header (TUNSIFHEAD), leave point-to-point mode
 * for broadcast|multicast (TUNSIFMODE, as wireguard-go does, so that an
 * address with a prefix length can be set without a peer address), turn
 * off IPv6 link-local addresses and DAD, rename the interface when a
 * name was asked for (SIOCSIFNAME), and make ourselves its owner
 * (TUNSIFPID).
 *
 * OpenBSD: opening /dev/tunN creates tunN, exclusively (EBUSY while
 * another process holds it), and the last close destroys it.  The
 * address family header is always present.
 *
 * Both frame packets with tun_afhdr.c. */
#include <sys/param.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <net/if.h>
#include <net/if_tun.h>
#ifdef __FreeBSD__
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/nd6.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tun/tun_impl.h"

#ifdef __FreeBSD__

static void destroy_interface(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	tun_ifreq_ioctl(SIOCIFDESTROY, &ifr);
}

/* WireGuard has no use for link-local addresses, and FreeBSD races
 * attaching them against the interface's own lifetime. */
static int disable_nd6(const char *name)
{
	struct in6_ndireq nd;
	int fd, ret = 0;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&nd, 0, sizeof(nd));
	strlcpy(nd.ifname, name, sizeof(nd.ifname));
	if (ioctl(fd, SIOCGIFINFO_IN6, &nd) < 0) {
		ret = -errno;
		goto out;
	}
	nd.ndi.flags &= ~(uint32_t)ND6_IFF_AUTO_LINKLOCAL;
#ifdef ND6_IFF_NO_DAD
	nd.ndi.flags |= ND6_IFF_NO_DAD;
#endif
	if (ioctl(fd, SIOCSIFINFO_IN6, &nd) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}

static int rename_interface(const char *from, const char *to)
{
	struct ifreq ifr;
	char newname[IFNAMSIZ];

	memset(&ifr, 0, sizeof(ifr));
	memset(newname, 0, sizeof(newname));
	strlcpy(ifr.ifr_name, from, sizeof(ifr.ifr_name));
	strlcpy(newname, to, sizeof(newname));
	ifr.ifr_data = (caddr_t)newname;
	return tun_ifreq_ioctl(SIOCSIFNAME, &ifr);
}

/* Opens a fresh tun interface; its name lands in tun->name. */
static int open_device(struct tun_device *tun, const char *name)
{
	struct ifreq ifr;
	int fd, on = 1, mode = IFF_BROADCAST | IFF_MULTICAST, ret;
	bool want_name = name != NULL && name[0] != '\0';

	if (want_name) {
		ret = tun_name_copy(tun->name, name);
		if (ret < 0)
			return ret;
		if (if_nametoindex(name) != 0)
			return -EEXIST;
	}

	fd = open("/dev/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENXIO ? -ENOENT : -errno;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGIFNAME, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ifr.ifr_name[sizeof(ifr.ifr_name) - 1] = '\0';

	if (ioctl(fd, TUNSIFHEAD, &on) < 0 || ioctl(fd, TUNSIFMODE, &mode) < 0 ||
	    ioctl(fd, TUNSIFPID, 0) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = disable_nd6(ifr.ifr_name);
	if (ret < 0)
		goto fail;
	if (want_name) {
		ret = rename_interface(ifr.ifr_name, name);
		if (ret < 0)
			goto fail;
	} else {
		ret = tun_name_copy(tun->name, ifr.ifr_name);
		if (ret < 0)
			goto fail;
	}
	tun->fd = fd;
	return 0;

fail:
	close(fd);
	destroy_interface(ifr.ifr_name);
	return ret;
}

#else /* OpenBSD */

static int open_unit(unsigned unit)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/tun%u", unit);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* "tunN" opens that unit; no name or "tun" takes the first free one. */
static int open_device(struct tun_device *tun, const char *name)
{
	unsigned long unit;
	char *end;
	int fd;

	if (name != NULL && name[0] != '\0' && strcmp(name, "tun") != 0) {
		if (strncmp(name, "tun", 3) != 0 || name[3] < '0' || name[3] > '9')
			return -EINVAL;
		errno = 0;
		unit = strtoul(name + 3, &end, 10);
		if (errno != 0 || *end != '\0' || unit > 255)
			return -EINVAL;
		fd = open_unit((unsigned)unit);
		if (fd == -EBUSY)
			return -EEXIST;
	} else {
		fd = -EBUSY;
		for (unit = 0; unit < 256; ++unit) {
			fd = open_unit((unsigned)unit);
			if (fd != -EBUSY)
				break;
		}
	}
	if (fd < 0)
		return fd;
	snprintf(tun->name, sizeof(tun->name), "tun%lu", unit);
	tun->fd = fd;
	return 0;
}

#endif

int tun_open(struct tun_device **out, const char *name)
{
	struct tun_device *tun;
	int ret;

	*out = NULL;
	tun = calloc(1, sizeof(*tun));
	if (tun == NULL)
		return -ENOMEM;
	tun->fd = -1;
	ret = open_device(tun, name);
	if (ret < 0)
		goto out;
	tun->ifindex = if_nametoindex(tun->name);
	if (tun->ifindex == 0) {
		ret = -errno;
		goto out;
	}
	tun->flags = TUN_F_AF_HEADER;
	*out = tun;
	return 0;

out:
	if (tun->fd >= 0)
		tun_close(tun);
	else
		free(tun);
	return ret;
}

void tun_close(struct tun_device *tun)
{
	if (tun == NULL)
		return;
	close(tun->fd);
#ifdef __FreeBSD__
	destroy_interface(tun->name);
#endif
	free(tun);
}

ssize_t tun_read(struct tun_device *tun, void *buf, size_t len)
{
	return tun_afhdr_read(tun->fd, buf, len);
}

ssize_t tun_write(struct tun_device *tun, const void *pkt, size_t len)
{
	return tun_afhdr_write(tun->fd, pkt, len);
}
