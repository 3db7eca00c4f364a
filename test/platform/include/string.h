/* See README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_STRING_H
#define WH_STUB_STRING_H
#include <stddef.h>
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);
#endif
