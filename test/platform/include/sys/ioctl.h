/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_SYS_IOCTL_H
#define WH_STUB_SYS_IOCTL_H
#define IOC_IN 0x80000000UL
#define IOCPARM_MASK 0x1fffUL
#define _IOC(inout, group, num, len) \
	((unsigned long)((inout) | (((len) & IOCPARM_MASK) << 16) | ((group) << 8) | (num)))
#define _IOW(g, n, t) _IOC(IOC_IN, (g), (n), sizeof(t))
int ioctl(int fd, unsigned long request, ...);
#endif
