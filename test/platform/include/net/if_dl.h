/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NET_IF_DL_H
#define WH_STUB_NET_IF_DL_H
#include <sys/types.h>
struct sockaddr_dl {
	u_char sdl_len;
	u_char sdl_family;
	u_short sdl_index;
	u_char sdl_type;
	u_char sdl_nlen;
	u_char sdl_alen;
	u_char sdl_slen;
#ifdef __APPLE__
	char sdl_data[12];
#else
	char sdl_data[46];
#endif
};
#endif
