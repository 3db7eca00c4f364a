/* The one endpoint update (src/wg/peer.c): configuration
 * (peer_set_endpoint: UAPI, the node's paths), roaming (peer_roam) and a
 * routed path (peer_set_routed) move the endpoint through the same
 * function.  Checked step by step on one peer of a device that has no TUN
 * and no socket: where the endpoint is, whether the peer is routed, and
 * what happens to the cached local source replies leave from (kept by a
 * configured set while the address stays, forgotten when it moves; set
 * or forgotten by roaming as the datagram tells). */
#include "src/wg/device.h"
#include "src/wg/peer.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <uv.h>

static union wg_sockaddr v4(const char *ip, uint16_t port)
{
	union wg_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.in4.sin_addr);
	return a;
}

static union wg_pktinfo local4(const char *ip)
{
	union wg_pktinfo l;

	memset(&l, 0, sizeof(l));
	l.v4.ipi_ifindex = 1;
	inet_pton(AF_INET, ip, &l.v4.ipi_spec_dst);
	return l;
}

static bool at(const struct wg_peer *p, const union wg_sockaddr *ep)
{
	return p->endpoint.in4.sin_family == AF_INET &&
	       p->endpoint.in4.sin_port == ep->in4.sin_port &&
	       p->endpoint.in4.sin_addr.s_addr == ep->in4.sin_addr.s_addr;
}

static bool src_is(const struct wg_peer *p, const union wg_pktinfo *l)
{
	return p->src_valid && p->src.v4.ipi_spec_dst.s_addr == l->v4.ipi_spec_dst.s_addr;
}

static void test_updates(struct wg_peer *p)
{
	union wg_sockaddr a = v4("192.0.2.1", 51820), b = v4("192.0.2.2", 51820);
	union wg_sockaddr a2 = v4("192.0.2.1", 51821), relay = v4("198.51.100.7", 4000);
	union wg_pktinfo l1 = local4("10.0.0.1"), l2 = local4("10.0.0.2");

	peer_set_endpoint(p, &a);
	ok(at(p, &a) && !p->routed && !p->src_valid, "a configured endpoint on a new peer");
	peer_roam(p, &a, &l1);
	ok(at(p, &a) && src_is(p, &l1), "roaming at the same address records the local source");
	peer_set_endpoint(p, &a);
	ok(at(p, &a) && src_is(p, &l1), "setting the same address keeps the local source");
	peer_set_endpoint(p, &a2);
	ok(at(p, &a2) && !p->src_valid, "another port is another endpoint: the source is forgotten");
	peer_roam(p, &b, &l2);
	ok(at(p, &b) && src_is(p, &l2), "roaming to b moves the endpoint and records its source");
	peer_roam(p, &b, &l1);
	ok(at(p, &b) && src_is(p, &l1), "roaming at b on another local address follows it");
	peer_roam(p, &b, NULL);
	ok(at(p, &b) && !p->src_valid,
	   "roaming without a known local address forgets the source, the address unchanged");

	peer_roam(p, &b, &l2);
	peer_set_routed(p, &relay, 1368, 1348);
	ok(at(p, &relay) && p->routed && !p->src_valid && p->route_mss4 == 1368 &&
		   p->route_mss6 == 1348,
	   "a routed path moves the endpoint to the relay and forgets the source");
	peer_roam(p, &b, &l1);
	ok(at(p, &b) && !p->routed && src_is(p, &l1), "a direct datagram ends the routed path");
	peer_set_routed(p, &relay, 0, 0);
	peer_set_endpoint(p, &relay);
	ok(at(p, &relay) && !p->routed, "setting the endpoint ends a routed path, even at the same address");
}

int main(void)
{
	static const uint8_t key[NOISE_PUBLIC_KEY_LEN] = { 9, 1, 2, 3 };
	struct wg_device dev;
	struct wg_peer *p;
	uv_loop_t loop;

	if (sodium_init() < 0 || uv_loop_init(&loop) < 0)
		return 1;
	if (device_init(&dev, &loop, "whtest0") < 0) {
		printf("Bail out! device_init failed\n");
		return 1;
	}
	if (!ok(peer_create(&dev, key, &p) == 0, "a peer"))
		return tap_done();
	test_updates(p);
	device_close(&dev);
	uv_run(&loop, UV_RUN_DEFAULT);
	device_destroy(&dev);
	ok(uv_loop_close(&loop) == 0, "every handle closed");
	return tap_done();
}
