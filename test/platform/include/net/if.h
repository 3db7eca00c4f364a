/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NET_IF_H
#define WH_STUB_NET_IF_H
#include <sys/socket.h>
#define IFNAMSIZ 16
struct ifreq {
	char ifr_name[IFNAMSIZ];
	union {
		struct sockaddr ifru_addr;
		struct sockaddr ifru_dstaddr;
		short ifru_flags[2];
		int ifru_mtu;
		caddr_t ifru_data;
	} ifr_ifru;
};
#define ifr_addr ifr_ifru.ifru_addr
struct ifaliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr ifra_addr;
	struct sockaddr ifra_broadaddr;
	struct sockaddr ifra_mask;
};
char *if_indextoname(unsigned int ifindex, char *ifname);
unsigned int if_nametoindex(const char *ifname);
#endif
