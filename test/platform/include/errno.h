/* See README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_ERRNO_H
#define WH_STUB_ERRNO_H
extern int *__error(void);
#define errno (*__error())
#define ESRCH 3
#define EIO 5
#define ENXIO 6
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define EPERM 1
#define EAFNOSUPPORT 47
#define EADDRNOTAVAIL 49
#endif
