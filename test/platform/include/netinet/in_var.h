/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NETINET_IN_VAR_H
#define WH_STUB_NETINET_IN_VAR_H
#include <net/if.h>
#include <netinet/in.h>
struct in_aliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr_in ifra_addr;
	struct sockaddr_in ifra_broadaddr;
#define ifra_dstaddr ifra_broadaddr
	struct sockaddr_in ifra_mask;
#ifndef __APPLE__
	int ifra_vhid;
#endif
};
#endif
