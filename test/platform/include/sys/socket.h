/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_SYS_SOCKET_H
#define WH_STUB_SYS_SOCKET_H
#include <sys/types.h>
struct sockaddr {
	unsigned char sa_len;
	sa_family_t sa_family;
	char sa_data[14];
};
#define AF_UNSPEC 0
#define AF_INET 2
#define AF_ROUTE 17
#define PF_ROUTE AF_ROUTE
#define AF_LINK 18
#ifdef __APPLE__
#define AF_INET6 30
#else
#define AF_INET6 28
#endif
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#ifndef __APPLE__
#define SOCK_CLOEXEC 0x10000000
#endif
#define SOL_SOCKET 0xffff
#define SO_USELOOPBACK 0x0040
int socket(int domain, int type, int protocol);
int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
#endif
