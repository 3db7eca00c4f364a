/* Port mapping with PCP, NAT-PMP and UPnP IGD on the libuv thread pool
 * (see portmap.h; the order of the three is explained there).
 *
 * Threads: the loop thread owns struct portmap.  While an attempt or the
 * removal is on the pool (state PM_MAPPING or PM_UNMAPPING), the pool
 * thread owns pm->job and nothing else; the loop fills the job before
 * uv_queue_work and reads it only in the after-work callback, which libuv
 * orders after the work.  A work item cannot be cancelled once it runs,
 * so portmap_stop during PM_MAPPING only records the request and sets
 * the job's atomic cancel flag (the attempt then skips the protocols it
 * has not tried yet): the after-work callback removes what the attempt
 * mapped, and the struct is freed once the timer handle has closed.
 *
 *   start -> IDLE --timer--> MAPPING --after--> IDLE (timer: renewal at
 *            half the lease, or a retry with backoff)
 *   stop:  IDLE --> UNMAPPING (if mapped) --after--> CLOSING --> freed,
 *          done(); MAPPING --after--> as from IDLE.
 *
 * Bounds on one attempt: PCP waits PORTMAP_PCP_WAIT_MS (portmap_pcp.c);
 * NAT-PMP at most PM_NATPMP_WAIT_MS for each request (libnatpmp alone
 * would resend for minutes); the SSDP search
 * sends every search type at once and waits PM_SSDP_MS; the HTTP calls to
 * the IGD are bounded by miniupnpc's 3 s socket timeouts. */
#include "src/node/portmap.h"

#include "src/node/portmap_pcp.h"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <natpmp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

enum {
	PM_NATPMP_WAIT_MS = 2000,	/* per NAT-PMP request */
	PM_SSDP_MS = 2000,		/* SSDP search */
	PM_RETRY_MIN_S = 30,		/* after a failed attempt, doubling */
	PM_RETRY_MAX_S = 600,
	PM_PERMANENT_CHECK_S = 1800,	/* a permanent mapping is re-asserted */
	PM_RANDOM_PORTS = 3,		/* UPnP: random ports tried at the end */
	PM_DESC_MAX = 64,
	PM_URL_MAX = 256,
};

/* UPnP errors (UPnP IGD WANIPConnection:2, section 2.4.16). */
enum {
	UPNP_ERR_INVALID_ACTION = 401,
	UPNP_ERR_CONFLICT = 718,
	UPNP_ERR_ONLY_PERMANENT = 725,
};

/* The IGD found by the last UPnP attempt, reused by renewals and the
 * removal; control_url[0] == '\0': none. */
struct pm_igd {
	char control_url[PM_URL_MAX];
	char service_type[PM_URL_MAX];
	char lan_addr[64];
};

enum pm_job_kind { JOB_MAP, JOB_UNMAP };

/* One visit to the pool.  In: filled by the loop before queueing.  Out:
 * written by the pool thread, read by the loop after the work.  Only
 * cancel is shared while the job runs. */
struct pm_job {
	enum pm_job_kind kind;
	atomic_bool cancel;		/* set by portmap_stop: skip what is left */
	/* in */
	uint16_t internal_port;
	uint32_t lease_s;
	unsigned protocols;
	char description[PM_DESC_MAX];
	enum portmap_proto cur_via;	/* the mapping to renew or remove */
	uint16_t cur_port;
	struct in_addr cur_addr;
	uint8_t pcp_nonce[PCP_NONCE_LEN];	/* the PCP mapping's, kept across renewals */
	uint16_t random_ports[PM_RANDOM_PORTS];
	/* in and out */
	struct pm_igd igd;
	/* out */
	bool ok;
	enum portmap_proto via;
	struct in_addr ext_addr;
	uint16_t ext_port;
	uint32_t lease_granted;		/* 0: permanent */
	uint32_t pcp_epoch;		/* the PCP server's, when via PCP */
	unsigned pcp_ignored;
	char error[PORTMAP_ERROR_MAX];	/* what failed, also on success */
};

enum pm_state {
	PM_IDLE,	/* the timer waits for the next attempt or renewal */
	PM_MAPPING,	/* a JOB_MAP is on the pool */
	PM_UNMAPPING,	/* stopping: a JOB_UNMAP is on the pool */
	PM_CLOSING,	/* stopping: the timer handle is closing */
};

struct portmap {
	uv_loop_t *loop;
	uv_timer_t timer;
	uv_work_t work;
	enum pm_state state;
	bool stopping;
	void (*done)(void *ctx);
	void *done_ctx;

	const struct portmap_ops *ops;
	void *ctx;
	uint16_t internal_port;
	uint32_t lease_s;
	unsigned protocols;
	char description[PM_DESC_MAX];

	/* The mapping as the last attempt left it. */
	enum portmap_proto via;
	union wg_sockaddr external;
	uint32_t lease_granted;
	uint64_t lease_end_ms;		/* uv_now; 0 when permanent */
	struct pm_igd igd;
	uint8_t pcp_nonce[PCP_NONCE_LEN];	/* of the PCP mapping, or the next */
	struct pcp_epoch pcp_epoch;		/* the PCP server's, to see it restart */

	uint32_t backoff_s;
	uint64_t next_ms;		/* uv_now of the next timer */
	unsigned attempts, failures, renewals, pcp_ignored;
	char last_error[PORTMAP_ERROR_MAX];

	struct pm_job job;		/* the pool's while MAPPING/UNMAPPING */
};

static const char *state_name(enum pm_state s)
{
	switch (s) {
	case PM_IDLE: return "idle";
	case PM_MAPPING: return "mapping";
	case PM_UNMAPPING: return "unmapping";
	case PM_CLOSING: return "closing";
	}
	return "?";
}

/* The one place the state moves; a move from an unexpected state is a
 * bug of this file, so it aborts. */
static void pm_move(struct portmap *pm, enum pm_state from, enum pm_state to)
{
	if (pm->state != from) {
		fprintf(stderr, "portmap: state %s, expected %s (to %s)\n", state_name(pm->state),
			state_name(from), state_name(to));
		abort();
	}
	pm->state = to;
}

static void pm_log(struct portmap *pm, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pm_log(struct portmap *pm, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!pm->ops->on_log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pm->ops->on_log(pm->ctx, level, msg);
}

const char *portmap_proto_name(enum portmap_proto p)
{
	switch (p) {
	case PORTMAP_NONE: return "none";
	case PORTMAP_UPNP: return "upnp";
	case PORTMAP_NATPMP: return "natpmp";
	case PORTMAP_PCP: return "pcp";
	}
	return "?";
}

/* ------------------------------------------------------------ pool side */

/* job_error: appends "; " and the message to the job's error text. */
static void job_error(struct pm_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_error(struct pm_job *j, const char *fmt, ...)
{
	size_t n = strlen(j->error);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(j->error)) {
		memcpy(j->error + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= sizeof(j->error))
		return;
	va_start(ap, fmt);
	vsnprintf(j->error + n, sizeof(j->error) - n, fmt, ap);
	va_end(ap);
}

/* printable: a router's string made safe for a log line (at most len-1
 * characters, anything but printable ASCII as '?'). */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* ---- NAT-PMP */

static const char *natpmp_error_name(int r)
{
	switch (r) {
	case NATPMP_ERR_INVALIDARGS: return "invalid arguments";
	case NATPMP_ERR_SOCKETERROR: return "socket error";
	case NATPMP_ERR_CANNOTGETGATEWAY: return "no default gateway";
	case NATPMP_ERR_CLOSEERR: return "close error";
	case NATPMP_ERR_RECVFROM: return "receive error (port closed?)";
	case NATPMP_ERR_NOPENDINGREQ: return "no pending request";
	case NATPMP_ERR_NOGATEWAYSUPPORT: return "gateway does not support NAT-PMP";
	case NATPMP_ERR_CONNECTERR: return "connect error";
	case NATPMP_ERR_WRONGPACKETSOURCE: return "answer from another host";
	case NATPMP_ERR_SENDERR: return "send error";
	case NATPMP_ERR_FCNTLERROR: return "fcntl error";
	case NATPMP_ERR_GETTIMEOFDAYERR: return "gettimeofday error";
	case NATPMP_ERR_UNSUPPORTEDVERSION: return "unsupported version";
	case NATPMP_ERR_UNSUPPORTEDOPCODE: return "unsupported opcode";
	case NATPMP_ERR_UNDEFINEDERROR: return "undefined error";
	case NATPMP_ERR_NOTAUTHORIZED: return "not authorized";
	case NATPMP_ERR_NETWORKFAILURE: return "network failure";
	case NATPMP_ERR_OUTOFRESOURCES: return "out of resources";
	case NATPMP_TRYAGAIN: return "no answer";
	}
	return "unknown error";
}

/* A NAT-PMP request: the public address (map false) or a UDP mapping. */
struct natpmp_req {
	bool map;
	uint16_t internal_port, external_port;
	uint32_t lifetime;
};

static int natpmp_send(natpmp_t *n, const struct natpmp_req *q)
{
	if (!q->map)
		return sendpublicaddressrequest(n);
	return sendnewportmappingrequest(n, NATPMP_PROTOCOL_UDP, q->internal_port,
					 q->external_port, q->lifetime);
}

/* natpmp_ask: sends q and waits for its answer, resent on libnatpmp's
 * schedule (250 ms, doubling) but for PM_NATPMP_WAIT_MS at most.  An
 * answer of another type (a late one to an earlier request) is skipped by
 * sending q again.  Returns 0 or libnatpmp's error (NATPMP_TRYAGAIN: no
 * answer in time). */
static int natpmp_ask(natpmp_t *n, const struct natpmp_req *q, natpmpresp_t *resp)
{
	uint64_t deadline = mono_ms() + PM_NATPMP_WAIT_MS;
	int r = natpmp_send(n, q);

	if (r < 0)
		return r;
	for (;;) {
		struct pollfd p = { .fd = n->s, .events = POLLIN };
		uint64_t now = mono_ms();
		struct timeval tv;
		int64_t wait;

		if (now >= deadline)
			return NATPMP_TRYAGAIN;
		wait = (int64_t)(deadline - now);
		if (getnatpmprequesttimeout(n, &tv) == 0) {
			int64_t retry = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;

			if (retry < 0)
				retry = 0;
			if (retry < wait)
				wait = retry;
		}
		if (poll(&p, 1, (int)wait) < 0 && errno != EINTR)
			return NATPMP_ERR_SOCKETERROR;
		r = readnatpmpresponseorretry(n, resp);
		if (r == NATPMP_TRYAGAIN)
			continue;
		if (r < 0)
			return r;
		if (!q->map && resp->type == NATPMP_RESPTYPE_PUBLICADDRESS)
			return 0;
		if (q->map && resp->type == NATPMP_RESPTYPE_UDPPORTMAPPING &&
		    resp->pnu.newportmapping.privateport == q->internal_port)
			return 0;
		r = natpmp_send(n, q);
		if (r < 0)
			return r;
	}
}

static int natpmp_open(struct pm_job *j, natpmp_t *n)
{
	int r = initnatpmp(n, 0, 0);

	if (r < 0)
		job_error(j, "NAT-PMP: %s", natpmp_error_name(r));
	return r;
}

static void describe_gateway(const natpmp_t *n, char *buf, size_t len)
{
	struct in_addr gw = { .s_addr = n->gateway };

	if (!inet_ntop(AF_INET, &gw, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static bool natpmp_map(struct pm_job *j, uint16_t want_port)
{
	struct natpmp_req q = { .map = false };
	natpmpresp_t resp;
	char gw[INET_ADDRSTRLEN];
	natpmp_t n;
	bool ok = false;
	int r;

	if (natpmp_open(j, &n) < 0)
		return false;
	describe_gateway(&n, gw, sizeof(gw));
	r = natpmp_ask(&n, &q, &resp);
	if (r < 0) {
		job_error(j, "NAT-PMP: public address from %s: %s", gw, natpmp_error_name(r));
		goto out;
	}
	j->ext_addr = resp.pnu.publicaddress.addr;

	q = (struct natpmp_req){ .map = true, .internal_port = j->internal_port,
				 .external_port = want_port, .lifetime = j->lease_s };
	r = natpmp_ask(&n, &q, &resp);
	if (r < 0) {
		job_error(j, "NAT-PMP: mapping from %s: %s", gw, natpmp_error_name(r));
		goto out;
	}
	/* A lifetime of 0 would mean the mapping is gone; port 0 is none. */
	if (resp.pnu.newportmapping.mappedpublicport == 0 || resp.pnu.newportmapping.lifetime == 0) {
		job_error(j, "NAT-PMP: %s granted port %u for %u s", gw,
			  (unsigned)resp.pnu.newportmapping.mappedpublicport,
			  (unsigned)resp.pnu.newportmapping.lifetime);
		goto out;
	}
	j->ext_port = resp.pnu.newportmapping.mappedpublicport;
	j->lease_granted = resp.pnu.newportmapping.lifetime;
	j->via = PORTMAP_NATPMP;
	ok = true;
out:
	closenatpmp(&n);
	return ok;
}

static void natpmp_unmap(struct pm_job *j)
{
	/* RFC 6886 3.4: lifetime 0 and suggested external port 0. */
	struct natpmp_req q = { .map = true, .internal_port = j->internal_port };
	natpmpresp_t resp;
	natpmp_t n;
	int r;

	if (natpmp_open(j, &n) < 0)
		return;
	r = natpmp_ask(&n, &q, &resp);
	if (r < 0)
		job_error(j, "NAT-PMP: removal: %s", natpmp_error_name(r));
	else
		j->ok = true;
	closenatpmp(&n);
}

/* ---- PCP */

/* pcp_call: one exchange of the job's nonce with lifetime; the result is
 * the exchange's outcome, what failed is in the job's error text. */
static enum portmap_pcp_outcome pcp_call(struct pm_job *j, uint16_t port, uint32_t lifetime,
					 struct portmap_pcp_exchange *x)
{
	enum portmap_pcp_outcome o;
	char err[160] = "";

	memset(x, 0, sizeof(*x));
	x->internal_port = j->internal_port;
	x->suggested_port = port;
	x->suggested_addr = j->cur_via == PORTMAP_PCP ? j->cur_addr : (struct in_addr){ 0 };
	x->lifetime = lifetime;
	memcpy(x->nonce, j->pcp_nonce, sizeof(x->nonce));
	o = portmap_pcp_exchange(x, err, sizeof(err));
	j->pcp_ignored += x->ignored;
	if (o != PORTMAP_PCP_MAPPED)
		job_error(j, "PCP%s: %s", lifetime ? "" : ": removal", err);
	if (x->ignored)
		job_error(j, "PCP: %u datagrams ignored (not an answer to our nonce)", x->ignored);
	return o;
}

static bool pcp_map(struct pm_job *j, uint16_t want_port)
{
	struct portmap_pcp_exchange x;

	if (pcp_call(j, want_port, j->lease_s, &x) != PORTMAP_PCP_MAPPED)
		return false;
	j->ext_addr = x.ext_addr;
	j->ext_port = x.ext_port;
	j->lease_granted = x.lifetime_granted;
	j->pcp_epoch = x.epoch;
	j->via = PORTMAP_PCP;
	return true;
}

static void pcp_unmap(struct pm_job *j)
{
	struct portmap_pcp_exchange x;	/* RFC 6887 15: the nonce, lifetime 0 */

	if (pcp_call(j, j->cur_port, 0, &x) == PORTMAP_PCP_MAPPED)
		j->ok = true;
}

/* ---- UPnP IGD */

static const char *upnp_error_name(int r, char *buf, size_t len)
{
	const char *s = strupnperror(r);

	if (s)
		return s;
	snprintf(buf, len, "UPnP error %d", r);
	return buf;
}

/* upnp_discover: the SSDP search for every IGD type at once (so that a
 * silent network costs one PM_SSDP_MS), then the first valid IGD's
 * control URL, into j->igd. */
static bool upnp_discover(struct pm_job *j)
{
	static const char *const types[] = {
		"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
		"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
		"urn:schemas-upnp-org:service:WANIPConnection:2",
		"urn:schemas-upnp-org:service:WANIPConnection:1",
		"urn:schemas-upnp-org:service:WANPPPConnection:1",
		NULL,
	};
	struct UPNPUrls urls;
	struct IGDdatas data;
	struct UPNPDev *devs;
	char lan[64] = "";
	int err = 0, r;
	bool ok = false;

	memset(&j->igd, 0, sizeof(j->igd));
	devs = upnpDiscoverDevices(types, PM_SSDP_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &err, 1);
	if (!devs) {
		if (err == UPNPDISCOVER_SUCCESS)
			job_error(j, "UPnP: no IGD answered the SSDP search within %d ms", PM_SSDP_MS);
		else
			job_error(j, "UPnP: SSDP search failed (error %d)", err);
		return false;
	}
	memset(&urls, 0, sizeof(urls));
	memset(&data, 0, sizeof(data));
	r = UPNP_GetValidIGD(devs, &urls, &data, lan, sizeof(lan));
	freeUPNPDevlist(devs);
	/* 1: connected; 2: an IGD that calls itself not connected, which
	 * miniupnpc 2.2 also says of one whose external address is private
	 * or reserved (double NAT): worth a try. */
	if (r == 1 || r == 2) {
		if (!urls.controlURL || !urls.controlURL[0] ||
		    strlen(urls.controlURL) >= sizeof(j->igd.control_url) ||
		    strlen(data.first.servicetype) >= sizeof(j->igd.service_type) || !lan[0]) {
			job_error(j, "UPnP: the IGD's description has no usable control URL");
		} else {
			strcpy(j->igd.control_url, urls.controlURL);
			strcpy(j->igd.service_type, data.first.servicetype);
			snprintf(j->igd.lan_addr, sizeof(j->igd.lan_addr), "%s", lan);
			ok = true;
		}
	} else if (r == 0) {
		job_error(j, "UPnP: no IGD among the devices that answered");
	} else {
		job_error(j, "UPnP: the devices that answered are not IGDs");
	}
	if (r != 0)
		FreeUPNPUrls(&urls);
	return ok;
}

/* upnp_add: one AddPortMapping of port; a router that takes only
 * permanent leases is asked again with lease 0.  Returns 0 or the error
 * (negative: the IGD did not answer properly). */
static int upnp_add(struct pm_job *j, uint16_t port, uint32_t *lease)
{
	char ext[8], in[8], ls[16];
	int r;

	snprintf(ext, sizeof(ext), "%u", (unsigned)port);
	snprintf(in, sizeof(in), "%u", (unsigned)j->internal_port);
	snprintf(ls, sizeof(ls), "%u", (unsigned)*lease);
	r = UPNP_AddPortMapping(j->igd.control_url, j->igd.service_type, ext, in, j->igd.lan_addr,
				j->description, "UDP", NULL, ls);
	if (r == UPNP_ERR_ONLY_PERMANENT && *lease != 0) {
		*lease = 0;
		r = UPNP_AddPortMapping(j->igd.control_url, j->igd.service_type, ext, in,
					j->igd.lan_addr, j->description, "UDP", NULL, "0");
	}
	return r;
}

/* upnp_add_any: AddAnyPortMapping (IGD:2 only), the router picks the
 * port near port.  Returns 0 with *got set, or the error. */
static int upnp_add_any(struct pm_job *j, uint16_t port, uint32_t *lease, uint16_t *got)
{
	char ext[8], in[8], ls[16], reserved[8] = "";
	int r;

	snprintf(ext, sizeof(ext), "%u", (unsigned)port);
	snprintf(in, sizeof(in), "%u", (unsigned)j->internal_port);
	snprintf(ls, sizeof(ls), "%u", (unsigned)*lease);
	r = UPNP_AddAnyPortMapping(j->igd.control_url, j->igd.service_type, ext, in,
				   j->igd.lan_addr, j->description, "UDP", NULL, ls, reserved);
	if (r == UPNP_ERR_ONLY_PERMANENT && *lease != 0) {
		*lease = 0;
		reserved[0] = '\0';
		r = UPNP_AddAnyPortMapping(j->igd.control_url, j->igd.service_type, ext, in,
					   j->igd.lan_addr, j->description, "UDP", NULL, "0",
					   reserved);
	}
	if (r == 0 && !parse_port(reserved, got))
		return UPNPCOMMAND_INVALID_RESPONSE;
	return r;
}

/* upnp_map_on: the mapping on the IGD in j->igd.  Returns 1 mapped, 0
 * refused, -1 the IGD did not answer (the caller may search again). */
static int upnp_map_on(struct pm_job *j, uint16_t want_port)
{
	char ext_ip[16] = "", safe[16], ebuf[32];
	uint16_t tries[2 + PM_RANDOM_PORTS];
	size_t n = 0;
	uint32_t lease = j->lease_s;
	int r;

	r = UPNP_GetExternalIPAddress(j->igd.control_url, j->igd.service_type, ext_ip);
	if (r != 0) {
		job_error(j, "UPnP: GetExternalIPAddress: %s", upnp_error_name(r, ebuf, sizeof(ebuf)));
		return r < 0 ? -1 : 0;
	}
	ext_ip[sizeof(ext_ip) - 1] = '\0';
	if (inet_pton(AF_INET, ext_ip, &j->ext_addr) != 1 || j->ext_addr.s_addr == 0) {
		job_error(j, "UPnP: the IGD reports external address \"%s\"",
			  printable(ext_ip, safe, sizeof(safe)));
		return 0;
	}

	/* The port we want, the router's choice, random ones. */
	tries[n++] = want_port;
	if (want_port != j->internal_port)
		tries[n++] = j->internal_port;
	for (size_t i = 0; i < PM_RANDOM_PORTS; i++)
		tries[n++] = j->random_ports[i];
	for (size_t i = 0; i < n; i++) {
		r = upnp_add(j, tries[i], &lease);
		if (r == 0) {
			j->ext_port = tries[i];
			break;
		}
		job_error(j, "UPnP: AddPortMapping %u: %s", (unsigned)tries[i],
			  upnp_error_name(r, ebuf, sizeof(ebuf)));
		if (r < 0)
			return -1;
		if (i == 0 && strstr(j->igd.service_type, "WANIPConnection:2")) {
			uint16_t got = 0;

			r = upnp_add_any(j, tries[0], &lease, &got);
			if (r == 0) {
				j->ext_port = got;
				break;
			}
			job_error(j, "UPnP: AddAnyPortMapping: %s", upnp_error_name(r, ebuf, sizeof(ebuf)));
			if (r < 0)
				return -1;
		}
	}
	if (r != 0)
		return 0;
	j->lease_granted = lease;
	j->via = PORTMAP_UPNP;
	return 1;
}

static bool upnp_map(struct pm_job *j, uint16_t want_port)
{
	int r = -1;

	/* A renewal first asks the IGD it knows; if that one does not
	 * answer, or there is none, a new search. */
	if (j->igd.control_url[0]) {
		r = upnp_map_on(j, want_port);
		if (r >= 0)
			return r == 1;
	}
	if (!upnp_discover(j))
		return false;
	return upnp_map_on(j, want_port) == 1;
}

static void upnp_unmap(struct pm_job *j)
{
	char ext[8], ebuf[32];
	int r;

	if (!j->igd.control_url[0]) {
		job_error(j, "UPnP: removal: no IGD known");
		return;
	}
	snprintf(ext, sizeof(ext), "%u", (unsigned)j->cur_port);
	r = UPNP_DeletePortMapping(j->igd.control_url, j->igd.service_type, ext, "UDP", NULL);
	if (r != 0)
		job_error(j, "UPnP: DeletePortMapping %s: %s", ext, upnp_error_name(r, ebuf, sizeof(ebuf)));
	else
		j->ok = true;
}

static void job_map(struct pm_job *j)
{
	/* The order of portmap.h; a renewal asks the protocol of its
	 * mapping first, the others after it in that order. */
	enum portmap_proto order[3] = { PORTMAP_PCP, PORTMAP_NATPMP, PORTMAP_UPNP };
	/* A renewal asks for the port it has; a first attempt for ours. */
	uint16_t want = j->cur_via != PORTMAP_NONE ? j->cur_port : j->internal_port;

	for (size_t i = 1; i < 3; i++) {
		if (order[i] == j->cur_via) {
			memmove(order + 1, order, i * sizeof(order[0]));
			order[0] = j->cur_via;
			break;
		}
	}
	for (size_t i = 0; i < 3 && !j->ok; i++) {
		if (!(j->protocols & (1u << order[i])))
			continue;
		if (atomic_load(&j->cancel)) {
			job_error(j, "stopped");
			break;
		}
		/* The port of a mapping by the other protocol means nothing
		 * to this one. */
		uint16_t port = order[i] == j->cur_via ? want : j->internal_port;

		if (order[i] == PORTMAP_PCP)
			j->ok = pcp_map(j, port);
		else if (order[i] == PORTMAP_NATPMP)
			j->ok = natpmp_map(j, port);
		else
			j->ok = upnp_map(j, port);
	}
}

static void pm_work(uv_work_t *req)
{
	struct portmap *pm = req->data;
	struct pm_job *j = &pm->job;

	/* Only pm->job is ours here. */
	if (j->kind == JOB_MAP) {
		job_map(j);
	} else if (j->cur_via == PORTMAP_PCP) {
		pcp_unmap(j);
	} else if (j->cur_via == PORTMAP_NATPMP) {
		natpmp_unmap(j);
	} else if (j->cur_via == PORTMAP_UPNP) {
		upnp_unmap(j);
	}
}

/* ------------------------------------------------------------ loop side */

static void pm_after_map(uv_work_t *req, int status);
static void pm_after_unmap(uv_work_t *req, int status);

static void arm_timer(struct portmap *pm, uint64_t ms);

static void job_prepare(struct portmap *pm, enum pm_job_kind kind)
{
	struct pm_job *j = &pm->job;
	uint8_t rnd[2 * PM_RANDOM_PORTS];

	memset(j, 0, sizeof(*j));
	atomic_init(&j->cancel, false);
	j->kind = kind;
	j->internal_port = pm->internal_port;
	j->lease_s = pm->lease_s;
	j->protocols = pm->protocols;
	memcpy(j->description, pm->description, sizeof(j->description));
	j->cur_via = pm->via;
	if (pm->via != PORTMAP_NONE) {
		j->cur_port = ntohs(pm->external.in4.sin_port);
		j->cur_addr = pm->external.in4.sin_addr;
	}
	j->igd = pm->igd;
	/* A PCP mapping keeps its nonce for its renewals and its removal
	 * (RFC 6887 11.2); anything else asks with a new one. */
	if (pm->via != PORTMAP_PCP && (j->protocols & PORTMAP_USE_PCP) &&
	    getrandom(pm->pcp_nonce, sizeof(pm->pcp_nonce), GRND_NONBLOCK) != sizeof(pm->pcp_nonce)) {
		j->protocols &= ~PORTMAP_USE_PCP;
		job_error(j, "PCP: no random nonce: %s", strerror(errno));
	}
	memcpy(j->pcp_nonce, pm->pcp_nonce, sizeof(j->pcp_nonce));
	if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0) {
		uint64_t t = uv_hrtime();

		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (uint8_t)(t >> (8 * (i % 8)));
	}
	/* Random ports from the registered and dynamic ranges. */
	for (size_t i = 0; i < PM_RANDOM_PORTS; i++)
		j->random_ports[i] = (uint16_t)(1024 + ((rnd[2 * i] << 8) | rnd[2 * i + 1]) % (65536 - 1024));
}

static void queue_job(struct portmap *pm, enum pm_job_kind kind)
{
	int r;

	job_prepare(pm, kind);
	if (kind == JOB_MAP) {
		pm_move(pm, PM_IDLE, PM_MAPPING);
		r = uv_queue_work(pm->loop, &pm->work, pm_work, pm_after_map);
	} else {
		pm_move(pm, PM_IDLE, PM_UNMAPPING);
		r = uv_queue_work(pm->loop, &pm->work, pm_work, pm_after_unmap);
	}
	/* uv_queue_work fails only on a NULL callback. */
	if (r < 0) {
		fprintf(stderr, "portmap: uv_queue_work: %s\n", uv_strerror(r));
		abort();
	}
}

static void pm_closed(uv_handle_t *h)
{
	struct portmap *pm = h->data;
	void (*done)(void *ctx) = pm->done;
	void *ctx = pm->done_ctx;

	free(pm);
	if (done)
		done(ctx);
}

static void begin_close(struct portmap *pm, enum pm_state from)
{
	pm_move(pm, from, PM_CLOSING);
	uv_timer_stop(&pm->timer);
	uv_close((uv_handle_t *)&pm->timer, pm_closed);
}

/* begin_stop: from IDLE, remove the mapping if there is one, then close. */
static void begin_stop(struct portmap *pm)
{
	uv_timer_stop(&pm->timer);
	if (pm->via != PORTMAP_NONE)
		queue_job(pm, JOB_UNMAP);
	else
		begin_close(pm, PM_IDLE);
}

static void pm_after_unmap(uv_work_t *req, int status)
{
	struct portmap *pm = req->data;
	char addr[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &pm->external.in4.sin_addr, addr, sizeof(addr));
	if (pm->job.ok)
		pm_log(pm, LOG_INFO, "port mapping %s:%u (%s) removed", addr,
		       (unsigned)ntohs(pm->external.in4.sin_port), portmap_proto_name(pm->via));
	else
		pm_log(pm, LOG_WARNING, "port mapping %s:%u (%s) not removed: %s", addr,
		       (unsigned)ntohs(pm->external.in4.sin_port), portmap_proto_name(pm->via),
		       pm->job.error);
	pm->via = PORTMAP_NONE;
	begin_close(pm, PM_UNMAPPING);
}

static void pm_timer(uv_timer_t *t)
{
	struct portmap *pm = t->data;

	queue_job(pm, JOB_MAP);
}

static void arm_timer(struct portmap *pm, uint64_t ms)
{
	pm->next_ms = uv_now(pm->loop) + ms;
	uv_timer_start(&pm->timer, pm_timer, ms, 0);
}

static void pm_after_map(uv_work_t *req, int status)
{
	struct portmap *pm = req->data;
	struct pm_job *j = &pm->job;
	enum portmap_proto old_via = pm->via;
	union wg_sockaddr old = pm->external;
	char addr[INET_ADDRSTRLEN] = "?";
	uint64_t next_s;
	bool changed;

	pm_move(pm, PM_MAPPING, PM_IDLE);
	pm->attempts++;
	pm->pcp_ignored += j->pcp_ignored;
	/* The IGD the attempt found (or lost) serves the next renewal. */
	if (j->ok && j->via != PORTMAP_UPNP)
		memset(&pm->igd, 0, sizeof(pm->igd));
	else
		pm->igd = j->igd;

	if (!j->ok) {
		pm->failures++;
		snprintf(pm->last_error, sizeof(pm->last_error), "%s",
			 j->error[0] ? j->error : "no protocol enabled");
		pm->via = PORTMAP_NONE;
		memset(&pm->external, 0, sizeof(pm->external));
		pm->lease_granted = 0;
		pm->lease_end_ms = 0;
		if (pm->stopping) {
			begin_close(pm, PM_IDLE);
			return;
		}
		next_s = pm->backoff_s;
		pm->backoff_s = pm->backoff_s * 2 > PM_RETRY_MAX_S ? PM_RETRY_MAX_S : pm->backoff_s * 2;
		arm_timer(pm, next_s * 1000);
		pm_log(pm, old_via != PORTMAP_NONE ? LOG_WARNING : LOG_INFO,
		       "no port mapping%s: %s; next attempt in %u s",
		       old_via != PORTMAP_NONE ? " any more" : "", pm->last_error, (unsigned)next_s);
		if (old_via != PORTMAP_NONE)
			pm->ops->on_change(pm->ctx, NULL, PORTMAP_NONE);
		return;
	}

	memset(&pm->external, 0, sizeof(pm->external));
	pm->external.in4.sin_family = AF_INET;
	pm->external.in4.sin_addr = j->ext_addr;
	pm->external.in4.sin_port = htons(j->ext_port);
	pm->via = j->via;
	pm->lease_granted = j->lease_granted;
	pm->lease_end_ms = j->lease_granted ? uv_now(pm->loop) + (uint64_t)j->lease_granted * 1000 : 0;
	pm->backoff_s = PM_RETRY_MIN_S;
	/* A PCP server that lost its state (restarted) has just made the
	 * mapping anew with this request; say so, it explains a change. */
	if (pm->via != PORTMAP_PCP)
		pm->pcp_epoch.valid = false;
	else if (!pcp_epoch_update(&pm->pcp_epoch, j->pcp_epoch, uv_now(pm->loop) / 1000))
		pm_log(pm, LOG_INFO, "port mapping: the PCP gateway restarted (epoch %u s); mapping made again",
		       (unsigned)j->pcp_epoch);
	changed = old_via != pm->via || old.in4.sin_addr.s_addr != pm->external.in4.sin_addr.s_addr ||
		  old.in4.sin_port != pm->external.in4.sin_port;
	if (!changed)
		pm->renewals++;
	if (pm->stopping) {
		begin_stop(pm);
		return;
	}
	/* Renew at half the lease (the router may have shortened it); a
	 * permanent mapping is re-asserted now and then, in case the
	 * router rebooted. */
	next_s = j->lease_granted ? (j->lease_granted + 1) / 2 : PM_PERMANENT_CHECK_S;
	arm_timer(pm, next_s * 1000);
	if (j->error[0])
		pm_log(pm, LOG_DEBUG, "port mapping: on the way: %s", j->error);
	if (!changed)
		return;
	inet_ntop(AF_INET, &pm->external.in4.sin_addr, addr, sizeof(addr));
	pm_log(pm, LOG_INFO, "port mapping: %s:%u -> port %u via %s, lease %u s", addr,
	       (unsigned)j->ext_port, (unsigned)pm->internal_port, portmap_proto_name(pm->via),
	       (unsigned)j->lease_granted);
	pm->ops->on_change(pm->ctx, &pm->external, pm->via);
}

int portmap_start(struct portmap **out, uv_loop_t *loop, const struct portmap_config *cfg,
		  const struct portmap_ops *ops, void *ctx)
{
	struct portmap *pm;
	int r;

	if (!cfg->internal_port || !ops || !ops->on_change ||
	    (cfg->protocols & ~(PORTMAP_USE_UPNP | PORTMAP_USE_NATPMP | PORTMAP_USE_PCP)))
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->loop = loop;
	pm->ops = ops;
	pm->ctx = ctx;
	pm->internal_port = cfg->internal_port;
	pm->lease_s = cfg->lease_s ? cfg->lease_s : PORTMAP_LEASE_DEFAULT;
	pm->protocols = cfg->protocols ? cfg->protocols
				       : PORTMAP_USE_PCP | PORTMAP_USE_NATPMP | PORTMAP_USE_UPNP;
	snprintf(pm->description, sizeof(pm->description), "%s",
		 cfg->description ? cfg->description : "wh");
	pm->backoff_s = PM_RETRY_MIN_S;
	pm->state = PM_IDLE;
	r = uv_timer_init(loop, &pm->timer);
	if (r < 0) {
		free(pm);
		return r;
	}
	pm->timer.data = pm;
	pm->work.data = pm;
	arm_timer(pm, 0);
	*out = pm;
	return 0;
}

void portmap_stop(struct portmap *pm, void (*done)(void *ctx), void *ctx)
{
	if (pm->stopping)
		return;
	pm->stopping = true;
	pm->done = done;
	pm->done_ctx = ctx;
	/* While MAPPING, the attempt skips the protocols it has not tried
	 * yet, and pm_after_map sees stopping and goes on from there. */
	if (pm->state == PM_MAPPING)
		atomic_store(&pm->job.cancel, true);
	else if (pm->state == PM_IDLE)
		begin_stop(pm);
}

bool portmap_external(const struct portmap *pm, union wg_sockaddr *out, enum portmap_proto *via,
		      uint32_t *lease_left_s)
{
	if (pm->via == PORTMAP_NONE)
		return false;
	if (out)
		*out = pm->external;
	if (via)
		*via = pm->via;
	if (lease_left_s) {
		uint64_t now = uv_now(pm->loop);

		if (!pm->lease_end_ms)
			*lease_left_s = UINT32_MAX;
		else
			*lease_left_s = pm->lease_end_ms > now ? (uint32_t)((pm->lease_end_ms - now) / 1000) : 0;
	}
	return true;
}

void portmap_status(const struct portmap *pm, struct portmap_status *st)
{
	uint64_t now = uv_now(pm->loop);

	memset(st, 0, sizeof(*st));
	st->via = PORTMAP_NONE;
	if (portmap_external(pm, &st->external, &st->via, &st->lease_left_s))
		st->lease_s = pm->lease_granted;
	st->busy = pm->state == PM_MAPPING || pm->state == PM_UNMAPPING;
	st->next_s = (!st->busy && pm->next_ms > now) ? (uint32_t)((pm->next_ms - now) / 1000) : 0;
	st->attempts = pm->attempts;
	st->failures = pm->failures;
	st->renewals = pm->renewals;
	st->pcp_ignored = pm->pcp_ignored;
	memcpy(st->last_error, pm->last_error, sizeof(st->last_error));
}
