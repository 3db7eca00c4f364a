/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NETINET6_ND6_H
#define WH_STUB_NETINET6_ND6_H
#define ND6_INFINITE_LIFETIME 0xffffffff
#endif
