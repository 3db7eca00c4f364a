/* The parts of a TUN device that work the same on every system: its
 * name and index, and the MTU and up flag set through struct ifreq on an
 * AF_INET datagram socket.  Linux, macOS, FreeBSD and OpenBSD all accept
 * SIOCSIFMTU, SIOCGIFMTU, SIOCGIFFLAGS and SIOCSIFFLAGS there, so one
 * copy serves every backend. */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__)
#include <sys/sockio.h>
#endif
#include <net/if.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "tun/tun_impl.h"

const char *tun_name(const struct tun_device *tun)
{
	return tun->name;
}

int tun_fd(const struct tun_device *tun)
{
	return tun->fd;
}

unsigned tun_ifindex(const struct tun_device *tun)
{
	return tun->ifindex;
}

int tun_name_copy(char dst[TUN_NAME_MAX], const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -EINVAL;
	if (len >= TUN_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, len + 1);
	return 0;
}

static int ioctl_socket(void)
{
	int fd;

#ifdef SOCK_CLOEXEC
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#else
	fd = socket(AF_INET, SOCK_DGRAM, 0);
#endif
	return fd < 0 ? -errno : fd;
}

int tun_ifreq_ioctl(unsigned long request, struct ifreq *ifr)
{
	int fd = ioctl_socket(), ret = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, request, ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void ifreq_init(struct ifreq *ifr, const struct tun_device *tun)
{
	memset(ifr, 0, sizeof(*ifr));
	_Static_assert(sizeof(ifr->ifr_name) >= TUN_NAME_MAX, "IFNAMSIZ");
	memcpy(ifr->ifr_name, tun->name, sizeof(tun->name));
}

int tun_set_mtu(struct tun_device *tun, unsigned mtu)
{
	struct ifreq ifr;

	if (mtu > INT_MAX)
		return -EINVAL;
	ifreq_init(&ifr, tun);
	ifr.ifr_mtu = (int)mtu;
	return tun_ifreq_ioctl(SIOCSIFMTU, &ifr);
}

int tun_get_mtu(struct tun_device *tun, unsigned *mtu)
{
	struct ifreq ifr;
	int ret;

	ifreq_init(&ifr, tun);
	ret = tun_ifreq_ioctl(SIOCGIFMTU, &ifr);
	if (ret < 0)
		return ret;
	if (ifr.ifr_mtu < 0)
		return -EIO;
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int tun_set_up(struct tun_device *tun, bool up)
{
	struct ifreq ifr;
	int ret;

	/* Read-modify-write on one structure, so that the flags we do not
	 * touch (and FreeBSD's ifr_flagshigh) go back unchanged. */
	ifreq_init(&ifr, tun);
	ret = tun_ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (ret < 0)
		return ret;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return tun_ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

int tun_present(const struct tun_device *tun)
{
	unsigned idx;
	int fd;

	if (tun->ifindex == 0)
		return -ENODEV;
	/* The lookup needs a socket, and the C library's errno after its
	 * socket failed is not reliable (glibc probes files on the way):
	 * ask for one first, so that running out of descriptors is told
	 * as such. */
	fd = ioctl_socket();
	if (fd < 0)
		return fd;
	close(fd);
	errno = 0;
	idx = if_nametoindex(tun->name);
	/* Compare indexes too: an interface of the same name created after
	 * ours went away is not ours. */
	if (idx != 0)
		return idx == tun->ifindex ? 0 : -ENODEV;
	/* Only the answer "no such interface" means gone. */
	if (errno == ENODEV || errno == ENXIO)
		return -ENODEV;
	return errno ? -errno : -EIO;
}

bool tun_exists(const struct tun_device *tun)
{
	return tun_present(tun) != -ENODEV;
}
