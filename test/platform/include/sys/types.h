/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_SYS_TYPES_H
#define WH_STUB_SYS_TYPES_H
#include <stddef.h>
#include <stdint.h>
typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef uint8_t u_int8_t;
typedef uint16_t u_int16_t;
typedef uint32_t u_int32_t;
typedef int32_t pid_t;
typedef long ssize_t;
typedef long time_t;
typedef char *caddr_t;
typedef uint8_t sa_family_t;
typedef uint32_t socklen_t;
typedef uint16_t in_port_t;
typedef uint32_t in_addr_t;
#endif
