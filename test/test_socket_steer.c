/* The device's two receive queues (src/wg/socket.c, issue 17): data
 * (WireGuard transport data, and relay channel datagrams that carry it)
 * and control (everything else: handshakes, cookies, the overlay, junk)
 * arrive on two sockets of one port, so that a flood of control-shaped
 * datagrams that fills its queue never makes the kernel drop data.
 * Checked on loopback, reading the device's sockets directly (the loop
 * never runs): which datagram lands where, that data still arrives after
 * the control queue overflowed, that the overflow is counted, and that
 * the port is still refused to a second device and to a plain socket. */
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static int sender;
static struct sockaddr_in to;

static void send_dgram(const uint8_t *buf, size_t len)
{
	if (sendto(sender, buf, len, 0, (const struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		printf("# sendto: %s\n", strerror(errno));
}

/* The first byte of every datagram waiting on fd, in order, into kinds
 * (at most max); the count. */
static size_t drain(int fd, uint8_t *kinds, size_t max)
{
	uint8_t buf[2048];
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return 0;
	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n < max)
			kinds[n] = r ? buf[0] : 0;
		++n;
	}
	return n;
}

static size_t count_kind(const uint8_t *kinds, size_t n, uint8_t kind)
{
	size_t i, c = 0;

	for (i = 0; i < n; ++i)
		c += kinds[i] == kind;
	return c;
}

static void test_steering(struct wg_device *dev)
{
	uint8_t data[64] = { 4 }, init[148] = { 1 }, chan[72] = { 0xfe, 2 };
	uint8_t chan_hs[8 + 148] = { 0xfe, 2 }, ovl[120] = { 0xff }, junk[3] = { 4, 0, 0 };
	uint8_t bad_reserved[64] = { 4, 1 };
	uint8_t kd[64], kc[64];
	size_t nd, nc;

	chan[8] = 4;
	chan_hs[8] = 1;
	send_dgram(data, sizeof(data));
	send_dgram(init, sizeof(init));
	send_dgram(chan, sizeof(chan));
	send_dgram(chan_hs, sizeof(chan_hs));
	send_dgram(ovl, sizeof(ovl));
	send_dgram(junk, sizeof(junk));
	send_dgram(bad_reserved, sizeof(bad_reserved));
	usleep(20000);
	nd = drain(dev->sock4, kd, sizeof(kd));
	nc = drain(dev->ctl4, kc, sizeof(kc));
	ok(nd + nc == 7, "all 7 datagrams arrive (%zu data, %zu control)", nd, nc);
	ok(nd == 2 && count_kind(kd, nd, 4) == 1 && count_kind(kd, nd, 0xfe) == 1,
	   "the data queue has the transport data and the channel datagram that carries data");
	ok(nc == 5 && count_kind(kc, nc, 1) == 1 && count_kind(kc, nc, 0xfe) == 1 &&
		   count_kind(kc, nc, 0xff) == 1 && count_kind(kc, nc, 4) == 2,
	   "the control queue has the initiation, the channel datagram with a handshake, the "
	   "overlay datagram, the 3-byte runt and the data with nonzero reserved bytes");
}

/* Far more initiations than a control queue holds (2 MiB, each small
 * datagram charged about 1 KiB), then one data datagram, to port. */
static void flood_then_data(uint16_t port)
{
	uint8_t init[148] = { 1 }, data[64] = { 4 };
	struct sockaddr_in dst = to;
	size_t i;

	dst.sin_port = htons(port);
	for (i = 0; i < 20000; ++i)
		sendto(sender, init, sizeof(init), 0, (const struct sockaddr *)&dst, sizeof(dst));
	sendto(sender, data, sizeof(data), 0, (const struct sockaddr *)&dst, sizeof(dst));
	usleep(20000);
}

static void test_isolation(struct wg_device *dev, uv_loop_t *loop)
{
	struct wg_socket_stats st;
	struct wg_device one;
	uint8_t kd[4], buf[2048], last = 0;
	size_t nd = 0;
	ssize_t r;

	flood_then_data(dev->bound_port);
	nd = drain(dev->sock4, kd, sizeof(kd));
	ok(nd == 1 && kd[0] == 4, "data sent after 20,000 initiations still arrives (%zu)", nd);
	device_socket_stats(dev, &st);
	ok(st.ctl4_queue_drops > 0 && st.data4_queue_drops == 0,
	   "the overflow is counted on the control queue only (%llu control, %llu data)",
	   (unsigned long long)st.ctl4_queue_drops, (unsigned long long)st.data4_queue_drops);
	drain(dev->ctl4, NULL, 0);

	/* The same flood at one queue, as before steering: the kernel drops
	 * the data (so the check above can fail). */
	if (device_init(&one, loop, "whsteer2") < 0) {
		ok(0, "an unsteered device");
		return;
	}
	one.want_steer = false;
	if (!ok(device_bind(&one, 0) == 0 && one.ctl4 < 0, "an unsteered device has one socket"))
		goto out;
	flood_then_data(one.bound_port);
	nd = 0;
	while ((r = recv(one.sock4, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		last = r ? buf[0] : 0;
		++nd;
	}
	device_socket_stats(&one, &st);
	ok(last != 4 && st.data4_queue_drops > 0,
	   "one queue: the data behind the flood is dropped (%zu read, %llu dropped)", nd,
	   (unsigned long long)st.data4_queue_drops);
out:
	device_close(&one);
	uv_run(loop, UV_RUN_NOWAIT);
	device_destroy(&one);
}


/* A sender bound to 127.0.0.2, the address of a peer's endpoint. */
static int known_sender(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Control datagrams from a source the device knows (a peer's endpoint
 * address, or one its owner named) get a queue of their own, so that a
 * flood from strangers neither fills it nor counts against its reads. */
static void test_known_sources(struct wg_device *dev)
{
	uint8_t key[32], init[148] = { 1 }, data[64] = { 4 }, kd[8], kc[8], kk[8];
	union wg_sockaddr ep;
	struct wg_peer *peer = NULL;
	int fd = known_sender();
	size_t nd, nc, nk;

	if (!ok(fd >= 0, "a sender on 127.0.0.2"))
		return;
	ok(dev->prio4 >= 0, "IPv4 has a queue for known sources");
	/* Before the peer exists, 127.0.0.2 is a stranger. */
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
	usleep(20000);
	nk = drain(dev->prio4, kk, sizeof(kk));
	nc = drain(dev->ctl4, kc, sizeof(kc));
	ok(nk == 0 && nc == 1, "a stranger's initiation goes to the control queue (%zu, %zu)", nk, nc);

	randombytes_buf(key, sizeof(key));
	if (!ok(peer_create(dev, key, &peer) == 0, "a peer"))
		goto out;
	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons(51820);
	ep.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	peer_set_endpoint(peer, &ep);
	device_refresh_known(dev);
	ok(dev->known4 == 1, "the device knows one IPv4 source (%u)", dev->known4);
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
	sendto(fd, data, sizeof(data), 0, (const struct sockaddr *)&to, sizeof(to));
	send_dgram(init, sizeof(init));
	usleep(20000);
	nd = drain(dev->sock4, kd, sizeof(kd));
	nc = drain(dev->ctl4, kc, sizeof(kc));
	nk = drain(dev->prio4, kk, sizeof(kk));
	ok(nk == 1 && kk[0] == 1, "the peer's address's initiation goes to the known queue (%zu)", nk);
	ok(nd == 1 && kd[0] == 4, "its data still goes to the data queue (%zu)", nd);
	ok(nc == 1 && kc[0] == 1, "127.0.0.1's initiation stays with strangers (%zu)", nc);

	peer_remove(peer);
	device_refresh_known(dev);
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
	usleep(20000);
	nk = drain(dev->prio4, kk, sizeof(kk));
	nc = drain(dev->ctl4, kc, sizeof(kc));
	ok(dev->known4 == 0 && nk == 0 && nc == 1,
	   "once the peer is gone its address is a stranger again (%zu, %zu)", nk, nc);

	/* What the owner names (the overlay's boot nodes) counts too. */
	device_set_known_sources(dev, &ep, 1);
	device_refresh_known(dev);
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
	usleep(20000);
	nk = drain(dev->prio4, kk, sizeof(kk));
	ok(dev->known4 == 1 && nk == 1, "an address the owner names is known (%zu)", nk);

	/* 64 addresses (the search tree of steer.c), 127.0.0.2 among them,
	 * its neighbours 127.0.0.1 and 127.0.0.3 not. */
	{
		union wg_sockaddr many[KNOWN_EXTRA_MAX];
		int fd3 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a3 = ep.in4;
		size_t i;

		for (i = 0; i < KNOWN_EXTRA_MAX; ++i) {
			many[i] = ep;
			randombytes_buf(&many[i].in4.sin_addr, 4);
			/* Not the three loopback addresses used here. */
			if ((ntohl(many[i].in4.sin_addr.s_addr) >> 8) == 0x7f0000)
				many[i].in4.sin_addr.s_addr = htonl(0xc6120000 + (uint32_t)i);
		}
		many[37] = ep;
		a3.sin_port = 0;
		a3.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2);
		bind(fd3, (struct sockaddr *)&a3, sizeof(a3));
		device_set_known_sources(dev, many, KNOWN_EXTRA_MAX);
		device_refresh_known(dev);
		sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
		sendto(fd3, init, sizeof(init), 0, (const struct sockaddr *)&to, sizeof(to));
		send_dgram(init, sizeof(init));
		usleep(20000);
		nk = drain(dev->prio4, kk, sizeof(kk));
		nc = drain(dev->ctl4, kc, sizeof(kc));
		ok(dev->known4 == KNOWN_EXTRA_MAX && nk == 1 && nc == 2,
		   "among %u known addresses 127.0.0.2 is found, .1 and .3 are not (%zu, %zu)",
		   dev->known4, nk, nc);
		close(fd3);
	}
	device_set_known_sources(dev, NULL, 0);
	device_refresh_known(dev);
out:
	close(fd);
}


/* The IPv6 program: ::1 named as known, then not. */
static void test_known_v6(struct wg_device *dev)
{
	uint8_t init[148] = { 1 }, data[64] = { 4 }, k[8];
	struct sockaddr_in6 dst;
	union wg_sockaddr ep;
	size_t nk, nc, nd;
	int fd;

	if (dev->prio6 < 0) {
		ok(1, "# SKIP no IPv6");
		return;
	}
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&dst, 0, sizeof(dst));
	dst.sin6_family = AF_INET6;
	dst.sin6_port = htons(dev->bound_port);
	dst.sin6_addr = in6addr_loopback;
	memset(&ep, 0, sizeof(ep));
	ep.in6.sin6_family = AF_INET6;
	ep.in6.sin6_addr = in6addr_loopback;
	device_set_known_sources(dev, &ep, 1);
	device_refresh_known(dev);
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&dst, sizeof(dst));
	sendto(fd, data, sizeof(data), 0, (const struct sockaddr *)&dst, sizeof(dst));
	usleep(20000);
	nk = drain(dev->prio6, k, sizeof(k));
	nd = drain(dev->sock6, k, sizeof(k));
	ok(dev->known6 == 1 && nk == 1 && nd == 1,
	   "IPv6: a known source's initiation to the known queue, its data to data (%zu, %zu)", nk,
	   nd);
	device_set_known_sources(dev, NULL, 0);
	device_refresh_known(dev);
	sendto(fd, init, sizeof(init), 0, (const struct sockaddr *)&dst, sizeof(dst));
	usleep(20000);
	nk = drain(dev->prio6, k, sizeof(k));
	nc = drain(dev->ctl6, k, sizeof(k));
	ok(dev->known6 == 0 && nk == 0 && nc == 1, "IPv6: then a stranger's again (%zu, %zu)", nk,
	   nc);
	close(fd);
}

static void run_for(uv_loop_t *loop, unsigned ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;

	while (uv_hrtime() < end) {
		uv_update_time(loop);
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* Milliseconds since t0 (uv_hrtime), for bounds that follow the time
 * the test really took on a loaded machine. */
static uint64_t ms_since(uint64_t t0)
{
	return (uv_hrtime() - t0) / 1000000;
}

/* Strangers' control datagrams are read within a budget a second: when
 * it is spent the queue's poll pauses, and the kernel drops the rest on
 * the sender's time, counted, while data and known sources are read. */
static void test_budget(struct wg_device *dev, uv_loop_t *loop)
{
	uint8_t init[148] = { 1 };
	uint64_t reads0, reads1, reads2, pauses0, t0, took;
	size_t i;

	device_set_control_budget(dev, 2000);
	reads0 = dev->ctl_reads;
	pauses0 = dev->ctl_pauses;
	t0 = uv_hrtime();
	for (i = 0; i < 1500; ++i)
		send_dgram(init, sizeof(init));
	run_for(loop, 100);
	reads1 = dev->ctl_reads - reads0;
	took = ms_since(t0);
	/* 2,000 a second: a burst of 200, then 2 a millisecond, for the
	 * time the test really took (100 ms, more on a loaded machine). */
	ok(reads1 >= 200 && reads1 <= 200 + 2 * took + 50,
	   "in 100 ms about 400 of 1,500 strangers' datagrams are read (%llu in %llu ms)",
	   (unsigned long long)reads1, (unsigned long long)took);
	ok(dev->ctl_pauses > pauses0 && dev->ctl_paused, "the control poll paused (%llu)",
	   (unsigned long long)(dev->ctl_pauses - pauses0));
	run_for(loop, 300);
	reads2 = dev->ctl_reads - reads0;
	ok(reads2 > reads1 + 300 && reads2 <= 1500,
	   "reading goes on as the budget grows back (%llu after 400 ms)",
	   (unsigned long long)reads2);
	device_set_control_budget(dev, 0);
	run_for(loop, 50);
	ok(dev->ctl_reads - reads0 == 1500 && !dev->ctl_paused,
	   "without a budget the rest is read at once (%llu)",
	   (unsigned long long)(dev->ctl_reads - reads0));
}

static void test_port_taken(struct wg_device *dev, uv_loop_t *loop)
{
	struct wg_device other;
	struct sockaddr_in a = to;
	int fd, r;

	if (device_init(&other, loop, "whsteer1") < 0) {
		ok(0, "second device_init");
		return;
	}
	r = device_bind(&other, dev->bound_port);
	ok(r == -EADDRINUSE, "a second device on the port is refused (%d)", r);
	device_close(&other);
	uv_run(loop, UV_RUN_NOWAIT);
	device_destroy(&other);

	a.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	ok(r < 0 && errno == EADDRINUSE, "a plain socket on the port is refused");
	close(fd);
}

int main(void)
{
	struct wg_device dev;
	uv_loop_t loop;
	int r;

	if (sodium_init() < 0 || uv_loop_init(&loop) < 0)
		return 1;
	if (device_init(&dev, &loop, "whsteer0") < 0) {
		printf("Bail out! device_init failed\n");
		return 1;
	}
	r = device_bind(&dev, 0);
	if (!ok(r == 0 && dev.sock4 >= 0, "the device binds a port (%d)", r))
		return tap_done();
	if (!ok(dev.ctl4 >= 0, "IPv4 has a control socket beside the data socket"))
		return tap_done();
	sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(dev.bound_port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	test_steering(&dev);
	test_isolation(&dev, &loop);
	test_known_sources(&dev);
	test_known_v6(&dev);
	test_budget(&dev, &loop);
	test_port_taken(&dev, &loop);
	close(sender);
	device_close(&dev);
	uv_run(&loop, UV_RUN_NOWAIT);
	device_destroy(&dev);
	uv_loop_close(&loop);
	return tap_done();
}
