/* One PCP exchange on a pool thread (see portmap_pcp.h).
 *
 * The gateway is the default gateway as libnatpmp finds it (the same rule
 * as NAT-PMP's, which shares the port): initnatpmp gives a UDP socket
 * already connected to its port 5351, so the kernel drops datagrams from
 * any other source, and each one read is checked again against it.
 *
 * Retransmission: RFC 6887 8.1.1 starts at 3 s and backs off to 1024 s,
 * for a client that keeps one request alive forever.  Ours is one step of
 * a job with its own retries (portmap.c: 30 s, doubling to 10 minutes),
 * and a gateway one hop away answers within milliseconds, so one exchange
 * sends at 0, 250 and 750 ms and gives up at 1.5 s: three datagrams cover
 * the loss of two, and a silent gateway costs 1.5 s of the attempt rather
 * than 3 s before NAT-PMP and UPnP get their turn. */
#include "src/node/portmap_pcp.h"

#include <natpmp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* answer: what one datagram from the socket means for the exchange.
 * Returns true when it ends the exchange (*outcome set). */
static bool answer(struct portmap_pcp_exchange *x, const struct pcp_map_request *q,
		   const uint8_t *buf, size_t n, enum portmap_pcp_outcome *outcome,
		   char *err, size_t errlen)
{
	struct pcp_response r;
	uint8_t v4[4];

	switch (pcp_decode_map_answer(buf, n, q, &r)) {
	case PCP_DEC_OK:
		break;
	case PCP_DEC_NATPMP:
		snprintf(err, errlen, "the gateway speaks NAT-PMP only (its result %u)", (unsigned)r.result);
		*outcome = PORTMAP_PCP_NOT_PCP;
		return true;
	case PCP_DEC_VERSION:
		if (r.result != PCP_UNSUPP_VERSION) {
			x->ignored++;
			return false;
		}
		snprintf(err, errlen, "the gateway speaks PCP version %u only", (unsigned)r.version);
		*outcome = PORTMAP_PCP_NOT_PCP;
		return true;
	default:
		/* Malformed, or an answer to a request that was not this
		 * one (another nonce: forged or stale). */
		x->ignored++;
		return false;
	}
	x->epoch = r.epoch;
	x->result = r.result;
	if (r.result != PCP_SUCCESS) {
		snprintf(err, errlen, "result %s (%u), for %u s", pcp_result_name(r.result),
			 (unsigned)r.result, (unsigned)r.lifetime);
		*outcome = PORTMAP_PCP_REFUSED;
		return true;
	}
	if (q->lifetime == 0) {
		*outcome = PORTMAP_PCP_MAPPED;
		return true;
	}
	/* A mapping we cannot use is no mapping: port 0, no lifetime, or
	 * an external address that is not IPv4. */
	if (!r.has_map || r.external_port == 0 || r.lifetime == 0 || !pcp_addr_to_v4(r.external_addr, v4)) {
		snprintf(err, errlen, "granted port %u for %u s, %s", (unsigned)r.external_port,
			 (unsigned)r.lifetime, r.has_map ? "not IPv4" : "without MAP data");
		*outcome = PORTMAP_PCP_REFUSED;
		return true;
	}
	memcpy(&x->ext_addr, v4, 4);
	x->ext_port = r.external_port;
	x->lifetime_granted = r.lifetime;
	*outcome = PORTMAP_PCP_MAPPED;
	return true;
}

/* request: the MAP request of x from the socket's own address. */
static bool request(struct portmap_pcp_exchange *x, int fd, struct pcp_map_request *q,
		    char *err, size_t errlen)
{
	struct sockaddr_in self;
	socklen_t sl = sizeof(self);

	if (getsockname(fd, (struct sockaddr *)&self, &sl) < 0 || self.sin_family != AF_INET) {
		snprintf(err, errlen, "no local address towards the gateway: %s", strerror(errno));
		return false;
	}
	memset(q, 0, sizeof(*q));
	/* Section 8.1: the client's address is the request's source, or
	 * the server answers ADDRESS_MISMATCH. */
	pcp_addr_from_v4(q->client_addr, (const uint8_t *)&self.sin_addr);
	q->lifetime = x->lifetime;
	memcpy(q->nonce, x->nonce, PCP_NONCE_LEN);
	q->protocol = PCP_PROTO_UDP;
	q->internal_port = x->internal_port;
	q->suggested_port = x->suggested_port;
	pcp_addr_from_v4(q->suggested_addr, (const uint8_t *)&x->suggested_addr);
	return true;
}

enum portmap_pcp_outcome portmap_pcp_exchange(struct portmap_pcp_exchange *x, char *err, size_t errlen)
{
	enum portmap_pcp_outcome outcome = PORTMAP_PCP_FAILED;
	struct pcp_map_request q;
	uint8_t msg[PCP_MAP_LEN], buf[PCP_MAX_LEN + 4];
	uint64_t start, next_send, wait = PORTMAP_PCP_FIRST_WAIT_MS;
	size_t len;
	natpmp_t n;

	if (initnatpmp(&n, 0, 0) < 0) {
		snprintf(err, errlen, "no default gateway");
		return PORTMAP_PCP_FAILED;
	}
	if (!request(x, n.s, &q, err, errlen))
		goto out;
	len = pcp_encode_map(msg, sizeof(msg), &q);
	start = mono_ms();
	next_send = start;
	for (;;) {
		uint64_t now = mono_ms(), until;
		struct pollfd p = { .fd = n.s, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t got;

		if (now >= start + PORTMAP_PCP_WAIT_MS) {
			snprintf(err, errlen, "no answer from the gateway within %d ms%s", PORTMAP_PCP_WAIT_MS,
				 x->ignored ? " (only datagrams that were not ours)" : "");
			outcome = PORTMAP_PCP_SILENT;
			break;
		}
		if (now >= next_send) {
			if (send(n.s, msg, len, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED) {
				snprintf(err, errlen, "send to the gateway: %s", strerror(errno));
				break;
			}
			next_send = now + wait;
			wait *= 2;
		}
		until = next_send < start + PORTMAP_PCP_WAIT_MS ? next_send : start + PORTMAP_PCP_WAIT_MS;
		if (poll(&p, 1, (int)(until - now)) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		got = recvfrom(n.s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				snprintf(err, errlen, "the gateway's port %d is closed", PCP_SERVER_PORT);
				outcome = PORTMAP_PCP_SILENT;
			} else {
				snprintf(err, errlen, "receive: %s", strerror(errno));
			}
			break;
		}
		/* The connected socket has had the kernel check the source;
		 * checked here again so that it does not rest on how
		 * libnatpmp made the socket. */
		if (fl < sizeof(from) || from.sin_family != AF_INET || from.sin_addr.s_addr != n.gateway ||
		    ntohs(from.sin_port) != PCP_SERVER_PORT) {
			x->ignored++;
			continue;
		}
		if (answer(x, &q, buf, (size_t)got, &outcome, err, errlen))
			break;
	}
out:
	closenatpmp(&n);
	return outcome;
}
