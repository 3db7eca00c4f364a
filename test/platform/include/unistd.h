/* See README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_UNISTD_H
#define WH_STUB_UNISTD_H
#include <sys/types.h>
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
#endif
