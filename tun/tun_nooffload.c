/* Systems without TUN offloads (macOS utun, the BSDs' tun): the offload
 * entry points of tun/tun.h fall back to the plain interface, and the
 * header-carrying read and write are never reached (tun_has_vnet_hdr is
 * false). */
#include <errno.h>
#include <sys/uio.h>

#include "tun/tun_impl.h"

int tun_open_offload(struct tun_device **out, const char *name)
{
	return tun_open(out, name);
}

bool tun_has_vnet_hdr(const struct tun_device *tun)
{
	(void)tun;
	return false;
}

int tun_enable_uso(struct tun_device *tun)
{
	(void)tun;
	return -EOPNOTSUPP;
}

bool tun_has_uso(const struct tun_device *tun)
{
	(void)tun;
	return false;
}

ssize_t tun_readv(struct tun_device *tun, const struct iovec *iov, int iovcnt)
{
	(void)tun, (void)iov, (void)iovcnt;
	return -EOPNOTSUPP;
}

ssize_t tun_writev(struct tun_device *tun, const struct iovec *iov, int iovcnt)
{
	(void)tun, (void)iov, (void)iovcnt;
	return -EOPNOTSUPP;
}
