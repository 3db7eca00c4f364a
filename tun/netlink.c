/* rtnetlink requests for the interface that wh drives: one request, one
 * acknowledgement, on a socket opened for that request alone.  A fresh
 * socket per call keeps no state between calls and cannot mix up the
 * answers of two callers.
 *
 * Requests are built in a fixed buffer by bounded appenders; replies are
 * read into a fixed buffer and every nlmsghdr is checked against the
 * bytes actually received before any field behind it is read. */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "tun/netlink.h"

enum {
	REQUEST_MAX = 256,	/* the largest request here is ~80 bytes */
	REPLY_MAX = 8192,	/* an acknowledgement, with room for ext-ack text */
	REPLY_TIMEOUT_S = 5,
	REQUEST_SEQ = 1,	/* one request per socket */
};

struct request {
	union {
		struct nlmsghdr hdr;
		uint8_t bytes[REQUEST_MAX];
	} u;
	bool overflow;		/* an append did not fit: refuse to send */
};

static void request_init(struct request *req, uint16_t type, uint16_t flags)
{
	memset(req, 0, sizeof(*req));
	req->u.hdr.nlmsg_len = NLMSG_LENGTH(0);
	req->u.hdr.nlmsg_type = type;
	req->u.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req->u.hdr.nlmsg_seq = REQUEST_SEQ;
}

/* Appends len bytes at the next aligned offset; the buffer was zeroed,
 * so the padding is zero. */
static void *request_reserve(struct request *req, size_t len)
{
	size_t off = NLMSG_ALIGN(req->u.hdr.nlmsg_len);
	uint8_t *p;

	if (req->overflow || len > sizeof(req->u.bytes) - off) {
		req->overflow = true;
		return NULL;
	}
	p = req->u.bytes + off;
	req->u.hdr.nlmsg_len = (uint32_t)(off + len);
	return p;
}

/* The family header (ifaddrmsg, rtmsg, ifinfomsg) after the nlmsghdr. */
static void request_put(struct request *req, const void *data, size_t len)
{
	void *p = request_reserve(req, len);

	if (p != NULL)
		memcpy(p, data, len);
}

static void request_put_attr(struct request *req, uint16_t type, const void *data, size_t len)
{
	struct rtattr rta;
	uint8_t *p = request_reserve(req, RTA_LENGTH(len));

	if (p == NULL)
		return;
	rta.rta_len = (unsigned short)RTA_LENGTH(len);
	rta.rta_type = type;
	memcpy(p, &rta, sizeof(rta));
	memcpy(p + RTA_LENGTH(0), data, len);
}

static void request_put_u32(struct request *req, uint16_t type, uint32_t v)
{
	request_put_attr(req, type, &v, sizeof(v));
}

static int open_socket(void)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Acknowledgements without a copy of our request: smaller replies.
	 * Older kernels lack the option; their acks still fit REPLY_MAX. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Looks for the acknowledgement of our request among the messages of
 * one datagram.  Returns 1 and sets *error when found, 0 when the
 * datagram holds none, -EBADMSG when a length does not add up. */
static int find_ack(const uint8_t *buf, size_t n, int *error)
{
	size_t off = 0;

	while (n - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		struct nlmsgerr e;
		size_t step;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n - off)
			return -EBADMSG;
		if (h.nlmsg_seq == REQUEST_SEQ && h.nlmsg_type == NLMSG_ERROR) {
			if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
				return -EBADMSG;
			memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof(e));
			/* 0 is the acknowledgement, a negative errno the refusal. */
			*error = e.error <= 0 ? e.error : -EPROTO;
			return 1;
		}
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= n - off)
			break;
		off += step;
	}
	return 0;
}

/* Sends the request and waits for its acknowledgement. */
static int transact(struct request *req)
{
	static const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	uint8_t buf[REPLY_MAX];
	int fd, ret, error = 0;
	ssize_t n;

	if (req->overflow)
		return -EMSGSIZE;
	fd = open_socket();
	if (fd < 0)
		return fd;
	do
		n = sendto(fd, req->u.bytes, req->u.hdr.nlmsg_len, 0,
			   (const struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n != req->u.hdr.nlmsg_len) {
		ret = -EIO;
		goto out;
	}

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};

		n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		/* Only the kernel (port 0) answers our requests. */
		if (msg.msg_namelen != sizeof(from) || from.nl_family != AF_NETLINK ||
		    from.nl_pid != 0)
			continue;
		if (msg.msg_flags & MSG_TRUNC) {
			ret = -EMSGSIZE;
			goto out;
		}
		ret = find_ack(buf, (size_t)n, &error);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			ret = error;
			goto out;
		}
	}

out:
	close(fd);
	return ret;
}

static size_t family_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

static int check_prefix(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	size_t alen = family_addr_len(family);

	if (alen == 0)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || addr == NULL || prefixlen > alen * 8)
		return -EINVAL;
	return (int)alen;
}

static int addr_request(uint16_t type, uint16_t flags, int ifindex, int family,
			const uint8_t *addr, uint8_t prefixlen)
{
	struct request req;
	struct ifaddrmsg ifa;
	int alen = check_prefix(ifindex, family, addr, prefixlen);

	if (alen < 0)
		return alen;
	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)family;
	ifa.ifa_prefixlen = prefixlen;
	if (family == AF_INET6 && type == RTM_NEWADDR)
		ifa.ifa_flags = IFA_F_NODAD;
	ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	ifa.ifa_index = (uint32_t)ifindex;

	request_init(&req, type, flags);
	request_put(&req, &ifa, sizeof(ifa));
	request_put_attr(&req, IFA_LOCAL, addr, (size_t)alen);
	request_put_attr(&req, IFA_ADDRESS, addr, (size_t)alen);
	return transact(&req);
}

int netlink_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	/* NLM_F_EXCL: an existing address is reported, not silently kept. */
	return addr_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family, addr,
			    prefixlen);
}

int netlink_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	return addr_request(RTM_DELADDR, 0, ifindex, family, addr, prefixlen);
}

static int route_request(uint16_t type, uint16_t flags, int ifindex, int family,
			 const uint8_t *dst, uint8_t prefixlen)
{
	struct request req;
	struct rtmsg rtm;
	int alen = check_prefix(ifindex, family, dst, prefixlen);

	if (alen < 0)
		return alen;
	memset(&rtm, 0, sizeof(rtm));
	rtm.rtm_family = (uint8_t)family;
	rtm.rtm_dst_len = prefixlen;
	rtm.rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		rtm.rtm_protocol = RTPROT_BOOT;
		/* No gateway: the destination is on the link. */
		rtm.rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
		rtm.rtm_type = RTN_UNICAST;
	} else {
		/* Match any protocol, scope and type: the destination and the
		 * interface name the route. */
		rtm.rtm_scope = RT_SCOPE_NOWHERE;
	}

	request_init(&req, type, flags);
	request_put(&req, &rtm, sizeof(rtm));
	if (prefixlen > 0)
		request_put_attr(&req, RTA_DST, dst, (size_t)alen);
	request_put_u32(&req, RTA_OIF, (uint32_t)ifindex);
	return transact(&req);
}

int netlink_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, family, dst,
			     prefixlen);
}

int netlink_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	return route_request(RTM_DELROUTE, 0, ifindex, family, dst, prefixlen);
}

static void link_request_init(struct request *req, uint16_t type, int ifindex,
			      unsigned flags, unsigned change)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = ifindex;
	ifi.ifi_flags = flags;
	ifi.ifi_change = change;
	request_init(req, type, 0);
	request_put(req, &ifi, sizeof(ifi));
}

int netlink_link_set_up(int ifindex, bool up)
{
	struct request req;

	if (ifindex <= 0)
		return -EINVAL;
	link_request_init(&req, RTM_NEWLINK, ifindex, up ? IFF_UP : 0, IFF_UP);
	return transact(&req);
}

int netlink_link_set_mtu(int ifindex, unsigned mtu)
{
	struct request req;

	if (ifindex <= 0 || mtu == 0)
		return -EINVAL;
	link_request_init(&req, RTM_NEWLINK, ifindex, 0, 0);
	request_put_u32(&req, IFLA_MTU, mtu);
	return transact(&req);
}

int netlink_link_del(int ifindex)
{
	struct request req;

	if (ifindex <= 0)
		return -EINVAL;
	link_request_init(&req, RTM_DELLINK, ifindex, 0, 0);
	return transact(&req);
}
