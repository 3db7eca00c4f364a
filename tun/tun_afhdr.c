/* The framing of macOS utun and of the FreeBSD (TUNSIFHEAD) and OpenBSD
 * tun drivers: every packet on the descriptor is preceded by the
 * protocol's address family as a 4-byte big-endian integer.  The value
 * is the system's own AF_INET or AF_INET6, which differ between these
 * systems, so this file is compiled on each of them and never on Linux.
 *
 * The header is kept apart from the caller's buffer with readv/writev,
 * so that callers see bare IP packets and need no headroom. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <arpa/inet.h>

#include "tun/tun_impl.h"

enum { AF_HEADER_LEN = 4 };

ssize_t tun_afhdr_read(int fd, void *buf, size_t len)
{
	uint8_t hdr[AF_HEADER_LEN];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = buf, .iov_len = len },
	};
	ssize_t n;

	do
		n = readv(fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* A frame shorter than its header is not a packet. */
	if (n < AF_HEADER_LEN)
		return -EIO;
	return n - AF_HEADER_LEN;
}

ssize_t tun_afhdr_write(int fd, const void *pkt, size_t len)
{
	uint32_t family;
	struct iovec iov[2];
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	switch (((const uint8_t *)pkt)[0] >> 4) {
	case 4:
		family = htonl(AF_INET);
		break;
	case 6:
		family = htonl(AF_INET6);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	iov[0].iov_base = &family;
	iov[0].iov_len = sizeof(family);
	iov[1].iov_base = (void *)pkt;
	iov[1].iov_len = len;
	do
		n = writev(fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n != len + sizeof(family))
		return -EIO;
	return (ssize_t)len;
}
