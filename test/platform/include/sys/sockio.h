/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_SYS_SOCKIO_H
#define WH_STUB_SYS_SOCKIO_H
#include <sys/ioctl.h>
struct ifreq;
struct ifaliasreq;
struct in_aliasreq;
#define SIOCDIFADDR _IOW('i', 25, struct ifreq)
#ifdef __APPLE__
#define SIOCAIFADDR _IOW('i', 26, struct ifaliasreq)
#else
#define SIOCAIFADDR _IOW('i', 43, struct in_aliasreq)
#endif
#endif
