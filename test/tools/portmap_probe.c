/* portmap_probe: src/node/portmap.c on a libuv loop, for test/net/portmap.sh.
 *
 *   portmap_probe [--proto any|pcp|natpmp|upnp] [--lease S] [--stop-after S]
 *                 [--timeout S] PORT [DESCRIPTION]
 *
 * Binds UDP PORT (as the daemon's socket would be) and asks the router to
 * map it.  Prints one line per event on stdout:
 *
 *   ready                              the socket is bound, mapping starts
 *   mapped PROTO IP:PORT lease N ms T  on_change reported a mapping, T ms
 *                                      after start
 *   lost ms T                          on_change reported no mapping
 *   renewed N lease_left L             the N-th renewal kept the mapping
 *   failed N ms T maxgap G error E     the N-th attempt found nothing
 *   ignored N                          N PCP datagrams so far were no
 *                                      answer of ours (portmap_status)
 *   recv IP:PORT TOKEN                 a "hello TOKEN" datagram arrived
 *   timeout maxgap G                   --timeout S passed with no mapping
 *   removed ms T maxgap G              portmap_stop's done ran (T: the stop
 *                                      took T ms), then the probe exits 0
 *
 * G is the longest gap, in ms, between two runs of a 100 ms timer on the
 * loop: the loop must never block on the router.  portmap_stop runs on
 * SIGTERM or SIGINT, after --stop-after S (from start), or after the
 * --timeout report (then the exit status is 3).  on_log lines go to
 * stderr. */
#include "src/node/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
	uv_loop_t loop;
	uv_udp_t udp;
	uv_timer_t tick, stop_timer, timeout_timer;
	uv_signal_t sigterm, sigint;
	struct portmap *pm;
	uint64_t start_ms, stop_ms, last_tick_ns, max_gap_ns;
	unsigned renewals, failures, pcp_ignored;
	bool mapped, stopping;
	int exit_code;
};

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || v < 0 || v > 3600)
		return -1;
	return v;
}

static uint64_t elapsed_ms(struct probe *p)
{
	return uv_hrtime() / 1000000 - p->start_ms;
}

static unsigned max_gap_ms(struct probe *p)
{
	return (unsigned)(p->max_gap_ns / 1000000);
}

static void on_closed(uv_handle_t *h)
{
}

static void on_stopped(void *ctx)
{
	struct probe *p = ctx;

	p->pm = NULL;
	printf("removed ms %" PRIu64 " maxgap %u\n", uv_hrtime() / 1000000 - p->stop_ms, max_gap_ms(p));
	fflush(stdout);
	uv_close((uv_handle_t *)&p->udp, on_closed);
	uv_close((uv_handle_t *)&p->tick, on_closed);
	uv_close((uv_handle_t *)&p->stop_timer, on_closed);
	uv_close((uv_handle_t *)&p->timeout_timer, on_closed);
	uv_close((uv_handle_t *)&p->sigterm, on_closed);
	uv_close((uv_handle_t *)&p->sigint, on_closed);
	/* Closing the last handle of a signal gives it back its default
	 * action: a second SIGTERM from the test (probe_end) would kill the
	 * probe while it exits (LeakSanitizer's scan at exit takes a while
	 * under load) and turn a clean stop into exit status 143.  The stop
	 * is done; later signals change nothing. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
}

static void probe_stop(struct probe *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	p->stop_ms = uv_hrtime() / 1000000;
	portmap_stop(p->pm, on_stopped, p);
}

static void on_change(void *ctx, const union wg_sockaddr *ext, enum portmap_proto via)
{
	struct probe *p = ctx;
	char addr[INET_ADDRSTRLEN] = "?";
	uint32_t left = 0;

	if (!ext) {
		p->mapped = false;
		printf("lost ms %" PRIu64 "\n", elapsed_ms(p));
	} else {
		p->mapped = true;
		inet_ntop(AF_INET, &ext->in4.sin_addr, addr, sizeof(addr));
		portmap_external(p->pm, NULL, NULL, &left);
		printf("mapped %s %s:%u lease %" PRIu32 " ms %" PRIu64 "\n", portmap_proto_name(via), addr,
		       (unsigned)ntohs(ext->in4.sin_port), left, elapsed_ms(p));
	}
	fflush(stdout);
}

static void on_log(void *ctx, int level, const char *msg)
{
	fprintf(stderr, "log %d %s\n", level, msg);
}

static const struct portmap_ops probe_ops = {
	.on_change = on_change,
	.on_log = on_log,
};

static void on_tick(uv_timer_t *t)
{
	struct probe *p = t->data;
	struct portmap_status st;
	uint64_t now = uv_hrtime();

	if (p->last_tick_ns && now - p->last_tick_ns > p->max_gap_ns)
		p->max_gap_ns = now - p->last_tick_ns;
	p->last_tick_ns = now;
	if (!p->pm || p->stopping)
		return;
	portmap_status(p->pm, &st);
	if (st.renewals != p->renewals) {
		p->renewals = st.renewals;
		printf("renewed %u lease_left %" PRIu32 "\n", st.renewals, st.lease_left_s);
		fflush(stdout);
	}
	if (st.pcp_ignored != p->pcp_ignored) {
		p->pcp_ignored = st.pcp_ignored;
		printf("ignored %u\n", st.pcp_ignored);
		fflush(stdout);
	}
	if (st.failures != p->failures) {
		p->failures = st.failures;
		printf("failed %u ms %" PRIu64 " maxgap %u error %s\n", st.failures, elapsed_ms(p),
		       max_gap_ms(p), st.last_error);
		fflush(stdout);
	}
}

static void on_stop_timer(uv_timer_t *t)
{
	probe_stop(t->data);
}

static void on_timeout(uv_timer_t *t)
{
	struct probe *p = t->data;

	if (p->mapped)
		return;
	printf("timeout maxgap %u\n", max_gap_ms(p));
	fflush(stdout);
	p->exit_code = 3;
	probe_stop(p);
}

static void on_signal(uv_signal_t *s, int signum)
{
	probe_stop(s->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char space[2048];

	*buf = uv_buf_init(space, sizeof(space));
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
		    unsigned flags)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)from;
	char addr[INET_ADDRSTRLEN] = "?";

	if (n <= 6 || !from || from->sa_family != AF_INET || memcmp(buf->base, "hello ", 6) != 0)
		return;
	inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
	printf("recv %s:%u %.*s\n", addr, (unsigned)ntohs(in->sin_port),
	       (int)(n - 6 > 64 ? 64 : n - 6), buf->base + 6);
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: portmap_probe [--proto any|pcp|natpmp|upnp] [--lease S] [--stop-after S] "
			"[--timeout S] PORT [DESCRIPTION]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct probe probe;
	struct probe *p = &probe;
	struct portmap_config cfg = { .description = "portmap_probe" };
	struct sockaddr_in any = { .sin_family = AF_INET };
	double stop_after = -1, timeout = -1;
	unsigned long port;
	char *end;
	int i, r;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--proto") == 0) {
			if (strcmp(argv[i + 1], "pcp") == 0)
				cfg.protocols = PORTMAP_USE_PCP;
			else if (strcmp(argv[i + 1], "natpmp") == 0)
				cfg.protocols = PORTMAP_USE_NATPMP;
			else if (strcmp(argv[i + 1], "upnp") == 0)
				cfg.protocols = PORTMAP_USE_UPNP;
			else if (strcmp(argv[i + 1], "any") != 0)
				return usage();
		} else if (strcmp(argv[i], "--lease") == 0) {
			double v = parse_seconds(argv[i + 1]);

			if (v < 1)
				return usage();
			cfg.lease_s = (uint32_t)v;
		} else if (strcmp(argv[i], "--stop-after") == 0) {
			if ((stop_after = parse_seconds(argv[i + 1])) < 0)
				return usage();
		} else if (strcmp(argv[i], "--timeout") == 0) {
			if ((timeout = parse_seconds(argv[i + 1])) < 0)
				return usage();
		} else {
			return usage();
		}
	}
	if (i >= argc || argc - i > 2)
		return usage();
	errno = 0;
	port = strtoul(argv[i], &end, 10);
	if (errno || *end != '\0' || port == 0 || port > 65535)
		return usage();
	cfg.internal_port = (uint16_t)port;
	if (i + 1 < argc)
		cfg.description = argv[i + 1];

	uv_loop_init(&p->loop);
	p->start_ms = uv_hrtime() / 1000000;
	uv_udp_init(&p->loop, &p->udp);
	any.sin_port = htons(cfg.internal_port);
	r = uv_udp_bind(&p->udp, (const struct sockaddr *)&any, 0);
	if (r == 0)
		r = uv_udp_recv_start(&p->udp, on_alloc, on_recv);
	if (r < 0) {
		fprintf(stderr, "portmap_probe: UDP port %lu: %s\n", port, uv_strerror(r));
		return 1;
	}
	uv_timer_init(&p->loop, &p->tick);
	uv_timer_init(&p->loop, &p->stop_timer);
	uv_timer_init(&p->loop, &p->timeout_timer);
	uv_signal_init(&p->loop, &p->sigterm);
	uv_signal_init(&p->loop, &p->sigint);
	p->tick.data = p->stop_timer.data = p->timeout_timer.data = p;
	p->sigterm.data = p->sigint.data = p;
	uv_timer_start(&p->tick, on_tick, 100, 100);
	if (stop_after >= 0)
		uv_timer_start(&p->stop_timer, on_stop_timer, (uint64_t)(stop_after * 1000), 0);
	if (timeout >= 0)
		uv_timer_start(&p->timeout_timer, on_timeout, (uint64_t)(timeout * 1000), 0);
	uv_signal_start(&p->sigterm, on_signal, SIGTERM);
	uv_signal_start(&p->sigint, on_signal, SIGINT);

	r = portmap_start(&p->pm, &p->loop, &cfg, &probe_ops, p);
	if (r < 0) {
		fprintf(stderr, "portmap_probe: portmap_start: %s\n", strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	uv_run(&p->loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&p->loop);
	if (r < 0) {
		fprintf(stderr, "portmap_probe: uv_loop_close: %s\n", uv_strerror(r));
		return 1;
	}
	uv_library_shutdown();
	return p->exit_code;
}
