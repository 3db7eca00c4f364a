/* See ../README: declarations for a syntax check, not a system header. */
#ifndef WH_STUB_NET_ROUTE_H
#define WH_STUB_NET_ROUTE_H
#include <sys/types.h>
#ifdef __APPLE__
struct rt_metrics {
	u_int32_t rmx_locks, rmx_mtu, rmx_hopcount;
	int32_t rmx_expire;
	u_int32_t rmx_recvpipe, rmx_sendpipe, rmx_ssthresh, rmx_rtt, rmx_rttvar, rmx_pksent;
	u_int32_t rmx_filler[4];
};
#else
struct rt_metrics {
	u_long rmx_locks, rmx_mtu, rmx_hopcount, rmx_expire, rmx_recvpipe, rmx_sendpipe;
	u_long rmx_ssthresh, rmx_rtt, rmx_rttvar, rmx_pksent, rmx_weight, rmx_nhidx;
	u_long rmx_filler[2];
};
#endif
struct rt_msghdr {
	u_short rtm_msglen;
	u_char rtm_version;
	u_char rtm_type;
	u_short rtm_index;
#ifndef __APPLE__
	u_short _rtm_spare1;
#endif
	int rtm_flags;
	int rtm_addrs;
	pid_t rtm_pid;
	int rtm_seq;
	int rtm_errno;
#ifdef __APPLE__
	int rtm_use;
	u_int32_t rtm_inits;
#else
	int rtm_fmask;
	u_long rtm_inits;
#endif
	struct rt_metrics rtm_rmx;
};
#define RTM_VERSION 5
#define RTM_ADD 0x1
#define RTM_DELETE 0x2
#define RTF_UP 0x1
#define RTF_GATEWAY 0x2
#define RTF_HOST 0x4
#define RTF_STATIC 0x800
#define RTA_DST 0x1
#define RTA_GATEWAY 0x2
#define RTA_NETMASK 0x4
#endif
