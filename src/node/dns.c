/* The node's name service (dns.h): the members' table for proto/dns,
 * built from the network file, and its listeners, UDP and TCP (RFC 7766:
 * length-prefixed messages, through src/io/ipc.c's idle timeout and
 * connection limit) on port 53 of our overlay IPv4 and IPv6 addresses.
 *
 * Who is answered: a member's overlay address, ours, or loopback.  Linux
 * takes a datagram for our overlay address on any interface (the weak
 * host model), so a host of the underlay with a route to it can reach
 * the port; such a query gets no answer and is counted
 * (dropped_outside): the service must not become an open resolver's
 * cousin, nor an oracle of the members' names for strangers.  A
 * member's address counts only on a datagram that came out of the
 * tunnel (IP_PKTINFO's interface is ours), since only WireGuard vouches
 * for it: from the underlay it may be forged, and the answer would go to
 * the member through the tunnel, a reflection the forger pays nothing
 * for.  Over TCP a forged source cannot finish the handshake. */
#include "src/node/dns.h"

#include "proto/common/byteorder.h"
#include "proto/dns/dns.h"
#include "src/io/ipc.h"
#include "src/io/udpsock.h"
#include "src/node/dns_host.h"
#include "src/node/netconf.h"
#include "src/node/node_priv.h"
#include "src/node/strbuf.h"
#include "tun/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert((int)NODE_DNS_RCODES == (int)DNS_RCODE_COUNT, "one count of rcodes");

enum {
	DNS_TCP_IDLE_MS = 10000,	/* RFC 7766 6.2.3: seconds, not minutes */
	DNS_TCP_CONNS = 32,		/* per address */
	DNS_UDP_PER_TURN = 32,		/* datagrams read a loop turn */
};

/* One address we answer on: its UDP socket and TCP listener.  Freed
 * when its UDP handle has closed (a reload that moves our address makes
 * new ones meanwhile). */
struct dns_listener {
	struct node_dns *d;
	uv_poll_t udp;			/* on fd */
	int fd;
	bool udp_open;			/* bound and receiving */
	struct ipc_server *tcp;
};

struct node_dns {
	struct node *n;
	struct dns_table *table;
	struct dns_listener *l[2];	/* IPv4, IPv6; NULL: none */
	uint8_t bound4[4], bound6[16];
	struct dns_host_wiring *host;
	struct dns_stats st;
	uint8_t rx[DNS_TCP_MAX];	/* UDP receive buffer */
	uint8_t tx[2 + DNS_TCP_MAX];	/* an answer, behind TCP's length */
};

/* A TCP connection: the message being read. */
struct dns_conn {
	struct node_dns *d;
	uint8_t lenb[2];
	unsigned have_len;
	uint8_t *msg;
	size_t need, have;
};

/* ---- the table ---- */

int node_dns_build(const struct netconf *c, struct dns_table **out)
{
	struct dns_host *hosts = calloc(c->n_peers ? c->n_peers : 1, sizeof(*hosts));
	struct dns_zone z;
	size_t i, count = 0;
	int ret;

	if (!hosts)
		return -ENOMEM;
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];

		if (!netconf_kind_has_addresses(p->kind))
			continue;
		hosts[count].name = p->hostname;
		hosts[count].has_ipv4 = p->has_ipv4;
		hosts[count].has_ipv6 = p->has_ipv6;
		memcpy(hosts[count].ipv4, p->ipv4, 4);
		memcpy(hosts[count].ipv6, p->ipv6, 16);
		++count;
	}
	memset(&z, 0, sizeof(z));
	z.suffix = c->name;
	z.has_net4 = c->has_subnet;
	memcpy(z.net4, c->subnet, 4);
	z.prefix4 = c->prefix;
	z.has_net6 = c->has_subnet6;
	memcpy(z.net6, c->subnet6, 16);
	z.prefix6 = c->prefix6;
	ret = dns_table_new(out, &z, hosts, count);
	free(hosts);
	return ret;
}

/* Hostnames the network file takes but DNS cannot (too long with the
 * suffix): said once per build of the table. */
static void log_skipped(struct node_dns *d)
{
	if (dns_table_skipped(d->table))
		dev_log(&d->n->dev, LOG_ERR, "name service: %zu hostnames are too long to be DNS "
			"names under '%s' and are not answered", dns_table_skipped(d->table),
			d->n->conf->name);
}

/* ---- who may ask ---- */

/* tunnel: the datagram came out of our interface, or it is a TCP
 * connection (see the head of the file).  Loopback and our own
 * addresses as sources come only from this host: the kernel drops them
 * from any other (a martian source). */
static bool allowed_v4(const struct node_dns *d, const uint8_t a[4], bool tunnel)
{
	return a[0] == 127 || !memcmp(a, d->n->ipv4, 4) ||
	       (tunnel && dns_table_has_addr(d->table, false, a));
}

static bool allowed(const struct node_dns *d, const struct sockaddr *sa, bool tunnel)
{
	if (sa->sa_family == AF_INET)
		return allowed_v4(d, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr,
				  tunnel);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a) || !memcmp(a, d->n->ipv6, 16))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return allowed_v4(d, a->s6_addr + 12, tunnel);
		return tunnel && dns_table_has_addr(d->table, true, a->s6_addr);
	}
	return false;
}

static void count_answer(struct node_dns *d, const struct dns_result *res)
{
	if (!res->answered) {
		++d->st.dropped_unanswerable;
		return;
	}
	if (res->rcode < DNS_RCODE_COUNT)
		++d->st.rcodes[res->rcode];
	if (res->truncated)
		++d->st.truncated;
}

/* ---- UDP ---- */

/* The interface a datagram came in on, from its IP_PKTINFO or
 * IPV6_PKTINFO; 0 when the kernel did not say. */
static unsigned arrival_ifindex(struct msghdr *m)
{
	union wg_pktinfo local;
	int family = udpsock_arrival(m, &local);

	return family ? udpsock_arrival_ifindex(family, &local) : 0;
}

static void on_udp(uv_poll_t *h, int status, int events)
{
	struct dns_listener *l = h->data;
	struct node_dns *d = l->d;
	unsigned tun = tun_ifindex(d->n->dev.tun), i;
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_storage from;
	struct dns_result res;
	struct msghdr m;
	struct iovec iov;
	ssize_t r;
	size_t len;

	(void)events;
	if (status < 0)
		return;
	for (i = 0; i < DNS_UDP_PER_TURN; ++i) {
		iov.iov_base = d->rx;
		iov.iov_len = sizeof(d->rx);
		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		r = recvmsg(l->fd, &m, MSG_DONTWAIT);
		if (r < 0)
			return;
		++d->st.queries_udp;
		if (!allowed(d, (struct sockaddr *)&from, tun && arrival_ifindex(&m) == tun)) {
			++d->st.dropped_outside;
			continue;
		}
		len = dns_answer(d->table, d->rx, (size_t)r, false, d->tx, DNS_EDNS_SIZE, &res);
		count_answer(d, &res);
		if (len && sendto(l->fd, d->tx, len, MSG_DONTWAIT, (struct sockaddr *)&from,
				  m.msg_namelen) < 0)
			++d->st.send_errors;
	}
}

/* Port 53 of sa over UDP, with the arrival interface of each datagram
 * (on_udp); 0 or -errno. */
static int udp_open(struct dns_listener *l, const union wg_sockaddr *sa)
{
	int fd = udpsock_bind(sa, NULL, NULL);

	if (fd < 0)
		return fd;
	if (uv_poll_init(&l->d->n->loop, &l->udp, fd) < 0) {
		close(fd);
		return -EIO;
	}
	l->fd = fd;
	l->udp.data = l;
	uv_poll_start(&l->udp, UV_READABLE, on_udp);
	return 0;
}

/* ---- TCP ---- */

static int on_tcp_open(struct ipc_conn *c)
{
	struct dns_listener *l = ipc_conn_owner(c);
	struct sockaddr_storage peer;
	struct dns_conn *dc;

	++l->d->st.queries_tcp;
	if (ipc_conn_peer(c, &peer) < 0 || !allowed(l->d, (struct sockaddr *)&peer, true)) {
		++l->d->st.tcp_refused;
		++l->d->st.dropped_outside;
		return -EPERM;
	}
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return -ENOMEM;
	dc->d = l->d;
	ipc_conn_set_data(c, dc);
	return 0;
}

static void conn_reset(struct dns_conn *dc)
{
	free(dc->msg);
	dc->msg = NULL;
	dc->have_len = 0;
	dc->need = dc->have = 0;
}

static void on_tcp_close(struct ipc_conn *c)
{
	struct dns_conn *dc = ipc_conn_data(c);

	if (!dc)
		return;
	conn_reset(dc);
	free(dc);
}

static void tcp_answer(struct ipc_conn *c, struct dns_conn *dc)
{
	struct node_dns *d = dc->d;
	struct dns_result res;
	size_t len = dns_answer(d->table, dc->msg, dc->need, true, d->tx + 2, DNS_TCP_MAX, &res);
	char *copy;

	count_answer(d, &res);
	conn_reset(dc);
	if (!len) {
		/* Nothing to answer: the stream cannot be trusted further. */
		ipc_conn_close(c);
		return;
	}
	be16_put(d->tx, (uint16_t)len);
	copy = malloc(len + 2);
	if (!copy) {
		ipc_conn_close(c);
		return;
	}
	memcpy(copy, d->tx, len + 2);
	ipc_conn_send(c, copy, len + 2, false);
}

/* A two-byte length, then the message: one at a time (ipc.h). */
static size_t on_tcp_data(struct ipc_conn *c, const char *data, size_t len)
{
	struct dns_conn *dc = ipc_conn_data(c);
	size_t used = 0;

	while (used < len) {
		size_t take;

		if (dc->have_len < 2) {
			dc->lenb[dc->have_len++] = (uint8_t)data[used++];
			if (dc->have_len < 2)
				continue;
			dc->need = be16_get(dc->lenb);
			dc->msg = dc->need ? malloc(dc->need) : NULL;
			if (!dc->msg) {
				++dc->d->st.dropped_unanswerable;
				ipc_conn_close(c);
				return len;
			}
			continue;
		}
		take = dc->need - dc->have < len - used ? dc->need - dc->have : len - used;
		memcpy(dc->msg + dc->have, data + used, take);
		dc->have += take;
		used += take;
		if (dc->have == dc->need) {
			tcp_answer(c, dc);
			break;
		}
	}
	return used;
}

static const struct ipc_ops tcp_ops = {
	.on_open = on_tcp_open,
	.on_data = on_tcp_data,
	.on_close = on_tcp_close,
};

/* ---- listeners ---- */

static void on_udp_closed(uv_handle_t *h)
{
	struct dns_listener *l = h->data;

	close(l->fd);
	free(l);
}

static void listener_stop(struct dns_listener **lp)
{
	struct dns_listener *l = *lp;

	if (!l)
		return;
	*lp = NULL;
	if (l->tcp)
		ipc_server_stop(l->tcp);
	if (!l->udp_open) {
		free(l);
		return;
	}
	uv_poll_stop(&l->udp);
	uv_close((uv_handle_t *)&l->udp, on_udp_closed);
}

/* Port 53 of addr, UDP and TCP.  A port someone else holds is said
 * once, plainly; the node runs on without that listener. */
static struct dns_listener *listener_start(struct node_dns *d, int family, const uint8_t *addr)
{
	struct node *n = d->n;
	struct dns_listener *l = calloc(1, sizeof(*l));
	union wg_sockaddr sa;
	char text[80];
	int ret;

	if (!l) {
		dev_log(&n->dev, LOG_ERR, "name service: out of memory");
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	l->d = d;
	if (family == AF_INET) {
		sa.in4.sin_family = AF_INET;
		sa.in4.sin_port = htons(NODE_DNS_PORT);
		memcpy(&sa.in4.sin_addr, addr, 4);
	} else {
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons(NODE_DNS_PORT);
		memcpy(&sa.in6.sin6_addr, addr, 16);
	}
	wg_sockaddr_str(&sa, text, sizeof(text));
	/* Our addresses are on the interface by now, IPv6 without
	 * duplicate address detection (tun/netlink.h): they can be bound. */
	ret = udp_open(l, &sa);
	l->udp_open = ret == 0;
	if (ret < 0)
		dev_log(&n->dev, LOG_ERR, "name service: cannot listen on %s (UDP): %s; the node "
			"runs without it there ('dns off' stops trying)", text, strerror(-ret));
	ret = ipc_server_start_tcp(&l->tcp, &n->loop, &sa.sa, &tcp_ops, l);
	if (ret < 0) {
		dev_log(&n->dev, LOG_ERR, "name service: cannot listen on %s (TCP): %s; the node "
			"runs without it there ('dns off' stops trying)", text, uv_strerror(ret));
		l->tcp = NULL;
	} else {
		ipc_server_set_limits(l->tcp, DNS_TCP_IDLE_MS, DNS_TCP_CONNS);
	}
	return l;
}

static void listeners_start(struct node_dns *d)
{
	struct node *n = d->n;

	memcpy(d->bound4, n->ipv4, 4);
	memcpy(d->bound6, n->ipv6, 16);
	d->l[0] = listener_start(d, AF_INET, n->ipv4);
	d->l[1] = listener_start(d, AF_INET6, n->ipv6);
}

/* ---- life cycle ---- */

int node_dns_start(struct node *n, const char *hosts_path)
{
	struct node_dns *d;
	int ret;

	if (!n->member)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->n = n;
	ret = node_dns_build(n->conf, &d->table);
	if (ret < 0) {
		dev_log(&n->dev, LOG_ERR, "name service: cannot build the name table: %s",
			strerror(-ret));
		free(d);
		return ret == -ENOMEM ? ret : 0;
	}
	n->dns = d;
	listeners_start(d);
	d->host = dns_host_start(n, hosts_path);
	dev_log(&n->dev, LOG_INFO, "name service: %zu names on port %u of our overlay addresses",
		dns_table_size(d->table), NODE_DNS_PORT);
	log_skipped(d);
	return 0;
}

void node_dns_reload(struct node *n, struct dns_table *built)
{
	struct node_dns *d = n->dns;
	struct dns_table *t = built;
	int ret = 0;

	if (!d) {
		dns_table_free(built);
		return;
	}
	if (!t)
		ret = node_dns_build(n->conf, &t);
	if (ret < 0) {
		dev_log(&n->dev, LOG_ERR, "name service: the new names are not taken (%s): the old "
			"ones stay", strerror(-ret));
		return;
	}
	dns_table_free(d->table);
	d->table = t;
	log_skipped(d);
	if (memcmp(d->bound4, n->ipv4, 4) || memcmp(d->bound6, n->ipv6, 16)) {
		listener_stop(&d->l[0]);
		listener_stop(&d->l[1]);
		listeners_start(d);
	}
	dns_host_update(d->host);
}

void node_dns_stop(struct node *n)
{
	struct node_dns *d = n->dns;

	if (!d)
		return;
	dns_host_stop(d->host);
	listener_stop(&d->l[0]);
	listener_stop(&d->l[1]);
	dns_table_free(d->table);
	free(d);
	n->dns = NULL;
}

static bool listening(const struct node_dns *d, bool tcp)
{
	unsigned i;

	for (i = 0; i < 2; ++i)
		if (d->l[i] && (tcp ? d->l[i]->tcp != NULL : d->l[i]->udp_open))
			return true;
	return false;
}

const struct dns_stats *node_dns_stats(const struct node *n)
{
	return n->dns ? &n->dns->st : NULL;
}

void node_dns_inspect(struct node *n, struct strbuf *b)
{
	const struct node_dns *d = n->dns;
	int r;

	strbuf_printf(b, ",\n  \"dns\": ");
	if (!d) {
		strbuf_printf(b, "null");
		return;
	}
	strbuf_printf(b, "{\"names\": %zu, \"udp\": %s, \"tcp\": %s, \"queries_udp\": %llu, "
		      "\"queries_tcp\": %llu, \"answers\": {",
		      d->table ? dns_table_size(d->table) : 0,
		      listening(d, false) ? "true" : "false", listening(d, true) ? "true" : "false",
		      (unsigned long long)d->st.queries_udp, (unsigned long long)d->st.queries_tcp);
	for (r = 0; r < DNS_RCODE_COUNT; ++r)
		if (r <= DNS_REFUSED || r == DNS_BADVERS)
			strbuf_printf(b, "%s\"%s\": %llu", r ? ", " : "",
				      dns_rcode_name((enum dns_rcode)r),
				      (unsigned long long)d->st.rcodes[r]);
	strbuf_printf(b, "}, \"truncated\": %llu, \"dropped_outside\": %llu, "
		      "\"dropped_unanswerable\": %llu, \"tcp_refused\": %llu, \"send_errors\": %llu",
		      (unsigned long long)d->st.truncated, (unsigned long long)d->st.dropped_outside,
		      (unsigned long long)d->st.dropped_unanswerable,
		      (unsigned long long)d->st.tcp_refused, (unsigned long long)d->st.send_errors);
	dns_host_inspect(d->host, b);
	strbuf_printf(b, "}");
}
