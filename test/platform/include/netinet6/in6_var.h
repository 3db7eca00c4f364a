/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NETINET6_IN6_VAR_H
#define WH_STUB_NETINET6_IN6_VAR_H
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
struct in6_addrlifetime {
	time_t ia6t_expire;
	time_t ia6t_preferred;
	u_int32_t ia6t_vltime;
	u_int32_t ia6t_pltime;
};
struct in6_ifreq {
	char ifr_name[IFNAMSIZ];
	union {
		struct sockaddr_in6 ifru_addr;
		struct sockaddr_in6 ifru_dstaddr;
		int ifru_flags;
		int ifru_flags6;
		int ifru_metric;
		caddr_t ifru_data;
		struct in6_addrlifetime ifru_lifetime;
		u_int32_t ifru_scope_id[16];
	} ifr_ifru;
};
struct in6_aliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr_in6 ifra_addr;
	struct sockaddr_in6 ifra_dstaddr;
	struct sockaddr_in6 ifra_prefixmask;
	int ifra_flags;
	struct in6_addrlifetime ifra_lifetime;
#ifndef __APPLE__
	int ifra_vhid;
#endif
};
#define SIOCDIFADDR_IN6 _IOW('i', 25, struct in6_ifreq)
#ifdef __APPLE__
#define SIOCAIFADDR_IN6 _IOW('i', 26, struct in6_aliasreq)
#else
#define SIOCAIFADDR_IN6 _IOW('i', 27, struct in6_aliasreq)
#endif
#define IN6_IFF_NODAD 0x20
#endif
