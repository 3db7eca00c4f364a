/* macOS backend: utun, a kernel control socket rather than a device node.
 *
 *   socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL)
 *   ioctl(CTLIOCGINFO) turns the control name into its id
 *   connect() with sc_unit = N + 1 creates utunN; sc_unit = 0 picks any
 *   getsockopt(UTUN_OPT_IFNAME) tells the name the kernel gave it
 *
 * The interface lives as long as the socket.  Packets carry the 4-byte
 * address family header (tun_afhdr.c). */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/kern_control.h>
#include <sys/sys_domain.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tun/tun_impl.h"

/* From xnu's net/if_utun.h, which the SDK does not always ship. */
#ifndef UTUN_CONTROL_NAME
#define UTUN_CONTROL_NAME "com.apple.net.utun_control"
#endif
#ifndef UTUN_OPT_IFNAME
#define UTUN_OPT_IFNAME 2
#endif

/* "utun" or no name: any unit (0).  "utunN": N + 1.  Anything else is
 * not a name utun can give. */
static int parse_unit(const char *name, uint32_t *unit)
{
	unsigned long n;
	char *end;

	*unit = 0;
	if (name == NULL || name[0] == '\0' || strcmp(name, "utun") == 0)
		return 0;
	if (strncmp(name, "utun", 4) != 0 || name[4] < '0' || name[4] > '9')
		return -EINVAL;
	if (strlen(name) >= TUN_NAME_MAX)
		return -ENAMETOOLONG;
	errno = 0;
	n = strtoul(name + 4, &end, 10);
	if (errno != 0 || *end != '\0' || n >= UINT32_MAX)
		return -EINVAL;
	*unit = (uint32_t)n + 1;
	return 0;
}

static int set_fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int tun_open(struct tun_device **out, const char *name)
{
	struct tun_device *tun = NULL;
	struct ctl_info info;
	struct sockaddr_ctl addr;
	char ifname[TUN_NAME_MAX + 1];
	socklen_t ifname_len = sizeof(ifname);
	uint32_t unit;
	int fd = -1, ret;

	*out = NULL;
	ret = parse_unit(name, &unit);
	if (ret < 0)
		goto out;

	fd = socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
	if (fd < 0) {
		ret = errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT ? -ENOENT : -errno;
		goto out;
	}
	ret = set_fd_flags(fd);
	if (ret < 0)
		goto out;

	memset(&info, 0, sizeof(info));
	_Static_assert(sizeof(UTUN_CONTROL_NAME) <= sizeof(info.ctl_name), "control name");
	memcpy(info.ctl_name, UTUN_CONTROL_NAME, sizeof(UTUN_CONTROL_NAME));
	if (ioctl(fd, CTLIOCGINFO, &info) < 0) {
		ret = -errno;
		goto out;
	}

	memset(&addr, 0, sizeof(addr));
	addr.sc_len = sizeof(addr);
	addr.sc_family = AF_SYSTEM;
	addr.ss_sysaddr = AF_SYS_CONTROL;
	addr.sc_id = info.ctl_id;
	addr.sc_unit = unit;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* EBUSY: that unit is already in use. */
		ret = errno == EBUSY ? -EEXIST : -errno;
		goto out;
	}

	memset(ifname, 0, sizeof(ifname));
	if (getsockopt(fd, SYSPROTO_CONTROL, UTUN_OPT_IFNAME, ifname, &ifname_len) < 0) {
		ret = -errno;
		goto out;
	}
	ifname[sizeof(ifname) - 1] = '\0';

	tun = calloc(1, sizeof(*tun));
	if (tun == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	ret = tun_name_copy(tun->name, ifname);
	if (ret < 0)
		goto out;
	tun->ifindex = if_nametoindex(tun->name);
	if (tun->ifindex == 0) {
		ret = -errno;
		goto out;
	}
	tun->fd = fd;
	tun->flags = TUN_F_AF_HEADER;
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
	/* Closing the control socket destroys the utun interface. */
	close(tun->fd);
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
