/* A relay's table of stock WireGuard clients (proto/overlay/stockrelay.c,
 * doc/protocol.md 9.5) driven by real WireGuard messages that the
 * project's handshake core (proto/wg) makes for known keys:
 *
 *   client C --init--> relay R --init--> member M (mac1 under M's key)
 *   client C <--resp-- relay R <--resp-- member M (to C's exact address)
 *   data both ways by receiver index; roaming; rekeys from M; expiry;
 *   limits; refusals (no member's mac1, unknown indices, wrong
 *   addresses, unregistered senders); the client header's codec. */
#include "crypto/crypto.h"
#include "crypto/x25519.h"
#include "proto/common/byteorder.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/stockrelay.h"
#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"
#include "test/tap.h"

#include <sodium.h>
#include <string.h>

#define SEC UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define T0 (UINT64_C(1700000000) * SEC)

struct side {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_maker cm;
	struct noise_keypair kp;
};

static void side_keys(struct side *s)
{
	memset(s, 0, sizeof(*s));
	x25519_generate(s->id.static_private);
	x25519_public(s->id.static_public, s->id.static_private);
	s->id.has_identity = true;
}

static void side_peer(struct side *s, const struct side *remote)
{
	cookie_maker_init(&s->cm, remote->id.static_public);
	noise_handshake_init(&s->hs, &s->id, remote->id.static_public, NULL);
}

static struct ovl_addr addr4(uint8_t a, uint8_t b, uint16_t port)
{
	struct ovl_addr r;
	const uint8_t ip[4] = { 203, 0, a, b };

	ovl_addr_set_v4(&r, ip, port);
	return r;
}

/* A handshake of initiator i (index ii) with responder r (index ri):
 * the initiation and the response as they travel, macs on. */
static bool handshake(struct side *i, struct side *r, uint32_t ii, uint32_t ri,
		      struct message_handshake_initiation *init,
		      struct message_handshake_response *resp, uint64_t now)
{
	struct noise_initiation_scratch scratch;

	side_peer(i, r);
	side_peer(r, i);
	if (!noise_handshake_create_initiation(init, &i->hs, ii, NULL, 1700000000 + now / SEC, 0))
		return false;
	cookie_add_mac_to_packet((uint8_t *)init, sizeof(*init), &i->cm, now);
	if (!noise_initiation_open(&scratch, init, &r->id) ||
	    !noise_initiation_accept(&r->hs, &scratch, now))
		return false;
	if (!noise_handshake_create_response(resp, &r->hs, ri, NULL))
		return false;
	cookie_add_mac_to_packet((uint8_t *)resp, sizeof(*resp), &r->cm, now);
	if (!noise_handshake_consume_response(resp, &i->hs))
		return false;
	return noise_handshake_begin_session(&i->hs, &i->kp, now) &&
	       noise_handshake_begin_session(&r->hs, &r->kp, now);
}

static ssize_t data(struct side *s, uint8_t *out, uint64_t now)
{
	uint8_t plain[64];

	memset(plain, 0x45, sizeof(plain));
	return noise_transport_seal(&s->kp, out, plain, sizeof(plain), 1420, now);
}

static struct ovl_stock *table(void)
{
	static struct ovl_stock s;
	uint8_t hk[16];

	randombytes_buf(hk, sizeof(hk));
	ovl_stock_free(&s);
	ok(ovl_stock_init(&s, 256, hk) == 0, "init");
	return &s;
}

static void test_session(void)
{
	struct ovl_stock *s = table();
	struct side c, m, other;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr ca = addr4(1, 1, 40000), ca2 = addr4(1, 1, 40001), ma = addr4(9, 9, 62096);
	struct ovl_addr evil = addr4(66, 6, 1234), to;
	uint8_t buf[256];
	ssize_t n;
	uint64_t now = T0;
	size_t nm, np, ns;

	side_keys(&c);
	side_keys(&m);
	side_keys(&other);
	ok(handshake(&c, &m, 0x1111, 0x2222, &init, &resp, now), "a real handshake client -> member");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_NOT_MINE,
	   "no member registered: not the table's");
	ok(ovl_stock_register(s, other.id.static_public, &evil, now), "another member registers");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_REFUSED &&
	   s->stats.no_member == 1, "an initiation under no registered member's mac1 is refused");
	ok(ovl_stock_register(s, m.id.static_public, &ma, now), "the member registers");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_FORWARD &&
	   ovl_addr_equal(&to, &ma), "its mac1 picks the member: forwarded to its address");
	ovl_stock_count(s, now, &nm, &np, &ns);
	ok(nm == 2 && np == 1 && ns == 0, "one pending entry (members %zu pending %zu sessions %zu)", nm, np,
	   ns);

	/* The member's answer: only from its registered address, only to the
	 * initiation's source. */
	ok(ovl_stock_from_member(s, &evil, &ca, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_REFUSED,
	   "a response from another member's address is refused");
	ok(ovl_stock_from_member(s, &ma, &evil, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_REFUSED,
	   "a response to an address the initiation did not come from is refused (no reflection)");
	ok(ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now + MS) == OVL_STOCK_FORWARD,
	   "the response to the client's address passes");
	ovl_stock_count(s, now + MS, &nm, &np, &ns);
	ok(np == 0 && ns == 1, "the session is learnt (pending %zu sessions %zu)", np, ns);
	ok(ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now + MS) == OVL_STOCK_REFUSED,
	   "the response again: no pending initiation left");

	/* Data both ways, by receiver index. */
	n = data(&c, buf, now);
	ok(n > 0 && ovl_stock_from_client(s, buf, (size_t)n, &ca, now + 2 * MS, &to) == OVL_STOCK_FORWARD &&
	   ovl_addr_equal(&to, &ma), "client data by the member's index: to the member");
	n = data(&m, buf, now);
	ok(n > 0 && ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now + 3 * MS) == OVL_STOCK_FORWARD,
	   "member data by the client's index: to the client");
	ok(ovl_stock_from_member(s, &ma, &evil, buf, (size_t)n, now + 3 * MS) == OVL_STOCK_REFUSED,
	   "member data to another address is refused");
	ok(ovl_stock_from_member(s, &evil, &ca, buf, (size_t)n, now + 3 * MS) == OVL_STOCK_REFUSED,
	   "member data from an unregistered address is refused");
	buf[4] ^= 1;
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca, now, &to) == OVL_STOCK_REFUSED &&
	   s->stats.unknown_index >= 1, "client data with an unknown index: refused, counted");

	/* Roaming: client data from a new address goes on; the member may
	 * then answer there (and the session moves), and nowhere else. */
	n = data(&c, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca2, now + 10 * MS, &to) == OVL_STOCK_FORWARD,
	   "client data from a new address: forwarded");
	n = data(&m, buf, now);
	ok(ovl_stock_from_member(s, &ma, &ca2, buf, (size_t)n, now + 20 * MS) == OVL_STOCK_FORWARD &&
	   s->stats.roamed == 1, "the member answers the new address: the session moves");
	ok(ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now + 30 * MS) == OVL_STOCK_REFUSED,
	   "the old address is no longer sendable");
	n = data(&c, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca, now + 40 * MS, &to) == OVL_STOCK_FORWARD,
	   "the old address delivers again (the member's WireGuard judges)");
	n = data(&m, buf, now);
	ok(ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now + 6 * SEC) == OVL_STOCK_REFUSED,
	   "a roam not answered within 5 s is no longer sendable");

	/* A rekey initiated by the member, to the session's client. */
	{
		struct side m2 = m, c2 = c;
		struct message_handshake_initiation i2;
		struct message_handshake_response r2;
		uint64_t t = now + 7 * SEC;

		ok(handshake(&m2, &c2, 0x3333, 0x4444, &i2, &r2, t), "a real rekey member -> client");
		ok(ovl_stock_from_member(s, &ma, &evil, (uint8_t *)&i2, sizeof(i2), t) == OVL_STOCK_REFUSED,
		   "the member's initiation to a stranger is refused");
		ok(ovl_stock_from_member(s, &ma, &ca2, (uint8_t *)&i2, sizeof(i2), t) == OVL_STOCK_FORWARD,
		   "the member's initiation to its client passes");
		ok(ovl_stock_from_client(s, (uint8_t *)&r2, sizeof(r2), &ca2, t, &to) == OVL_STOCK_FORWARD &&
		   ovl_addr_equal(&to, &ma), "the client's response goes to the member");
		n = data(&c2, buf, t);
		ok(ovl_stock_from_client(s, buf, (size_t)n, &ca2, t, &to) == OVL_STOCK_FORWARD,
		   "data in the new session, client -> member");
		n = data(&m2, buf, t);
		ok(ovl_stock_from_member(s, &ma, &ca2, buf, (size_t)n, t) == OVL_STOCK_FORWARD,
		   "data in the new session, member -> client");
		sodium_memzero(&m2, sizeof(m2));
		sodium_memzero(&c2, sizeof(c2));
	}

	/* Expiry: the session after 200 idle seconds, the member after 120
	 * without a registration. */
	n = data(&c, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca2, now + 100 * SEC, &to) == OVL_STOCK_FORWARD,
	   "the session within its idle time");
	ok(ovl_stock_register(s, m.id.static_public, &ma, now + 100 * SEC), "renewal");
	ok(ovl_stock_register(s, m.id.static_public, &ma, now + 250 * SEC), "renewal");
	n = data(&c, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca2, now + 301 * SEC, &to) == OVL_STOCK_REFUSED &&
		   s->stats.unknown_index >= 2, "an idle session ends");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now + 371 * SEC, &to) ==
		   OVL_STOCK_NOT_MINE, "the registrations expired: nothing is the table's");
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&m, sizeof(m));
}

static void test_limits(void)
{
	struct ovl_stock *s = table();
	struct side c, m;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr ma = addr4(9, 9, 62096), ca = addr4(1, 2, 5000), to;
	unsigned i, passed = 0;
	uint64_t now = T0;

	side_keys(&c);
	side_keys(&m);
	ok(ovl_stock_register(s, m.id.static_public, &ma, now), "register");
	/* One client IP address: at most 8 pending initiations. */
	for (i = 0; i < 20; ++i) {
		if (!handshake(&c, &m, 0x100 + i, 0x900 + i, &init, &resp, now))
			diag("handshake %u failed", i);
		ca.port = (uint16_t)(5000 + i);
		if (ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now + i * MS, &to) ==
		    OVL_STOCK_FORWARD)
			++passed;
	}
	ok(passed == OVL_STOCK_PENDING_PER_IP - 1 || passed == OVL_STOCK_PENDING_PER_IP,
	   "one client IP address holds at most %d pending initiations (%u passed)",
	   OVL_STOCK_PENDING_PER_IP, passed);
	ok(s->stats.limited >= 20 - OVL_STOCK_PENDING_PER_IP, "the rest counted as limited");
	/* Pending entries end after 5 s: the address may try again. */
	ok(handshake(&c, &m, 0x777, 0x778, &init, &resp, now), "another handshake");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now + 6 * SEC, &to) ==
		   OVL_STOCK_FORWARD, "after 5 s the address's pending entries expired");
	/* One stranger IP address: 20 initiations checked a second, 1 s of
	 * burst. */
	passed = 0;
	for (i = 0; i < 200; ++i) {
		uint8_t junk[148] = { 1 };

		junk[4] = (uint8_t)i;
		if (ovl_stock_from_client(s, junk, sizeof(junk), &ca, now + 10 * SEC, &to) != OVL_STOCK_REFUSED)
			++passed;
	}
	ok(passed == 0 && s->stats.no_member >= 20 && s->stats.no_member <= 22,
	   "one source's flood is checked only within its budget (%llu checked)",
	   (unsigned long long)s->stats.no_member);
	/* Strangers in all: 2000 a second, 200 ms of burst, whatever their
	 * number of addresses. */
	passed = 0;
	for (i = 0; i < 2000; ++i) {
		uint8_t junk[148] = { 1 };
		struct ovl_addr from = addr4((uint8_t)(100 + i / 200), (uint8_t)i, 7000);

		junk[4] = (uint8_t)i;
		if (ovl_stock_from_client(s, junk, sizeof(junk), &from, now + 11 * SEC, &to) != OVL_STOCK_REFUSED)
			++passed;
	}
	ok(passed == 0 && s->stats.no_member >= 22 + 300 && s->stats.no_member <= 22 + 420,
	   "a flood from many addresses is checked only within the global budget (%llu checked)",
	   (unsigned long long)s->stats.no_member - 22);
	/* Strangers' pending entries per member: 64, from any number of
	 * addresses; and they do not draw on the member's packet limits. */
	ovl_stock_set_limits(s, 100, 0);
	passed = 0;
	for (i = 0; i < 100; ++i) {
		if (!handshake(&c, &m, 0x2000 + i, 0x3000 + i, &init, &resp, now))
			diag("handshake %u failed", i);
		ca.ip[3] = (uint8_t)i;
		if (ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now + 20 * SEC, &to) ==
		    OVL_STOCK_FORWARD)
			++passed;
	}
	ok(passed == OVL_STOCK_PENDING_PER_MEMBER - 1 || passed == OVL_STOCK_PENDING_PER_MEMBER,
	   "strangers hold at most %d pending entries per member (%u of 100 passed)",
	   OVL_STOCK_PENDING_PER_MEMBER, passed);
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&m, sizeof(m));
}

/* A flood of strangers' initiations with the member's mac1 from many
 * addresses: the established session's data passes within the member's
 * limits, its client's rekey passes, and the strangers get only their
 * share. */
static void test_flood(void)
{
	struct ovl_stock *s = table();
	struct side c, m, f, mf;
	struct message_handshake_initiation init, finit;
	struct message_handshake_response resp;
	struct ovl_addr ma = addr4(9, 9, 62096), ca = addr4(1, 1, 40000), to;
	uint8_t buf[256];
	unsigned i, data_ok = 0, data_n = 0, strangers = 0;
	uint64_t now = T0, t;
	ssize_t n;

	side_keys(&c);
	side_keys(&m);
	side_keys(&f);
	ovl_stock_set_limits(s, 5000, 0);
	ok(ovl_stock_register(s, m.id.static_public, &ma, now), "register");
	ok(handshake(&c, &m, 0x1111, 0x2222, &init, &resp, now) &&
	   ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_FORWARD &&
	   ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_FORWARD,
	   "the client's session is up");
	mf = m;
	ok(handshake(&f, &mf, 0x5555, 0x6666, &finit, &resp, now), "a stranger's initiation");
	/* 10 s: each millisecond 20 strangers' initiations (from 500
	 * addresses in turn, fresh sender indexes, mac1 valid), then one
	 * datagram of the session each way. */
	for (t = 0; t < 10000; ++t) {
		now = T0 + SEC + t * MS;
		for (i = 0; i < 20; ++i) {
			uint32_t k = (uint32_t)(t * 20 + i);
			struct ovl_addr from = addr4((uint8_t)(100 + k % 500 / 250), (uint8_t)(k % 250), 9000);

			le32_put((uint8_t *)&finit + 4, k);
			cookie_add_mac_to_packet((uint8_t *)&finit, sizeof(finit), &f.cm, now);
			if (ovl_stock_from_client(s, (uint8_t *)&finit, sizeof(finit), &from, now, &to) ==
			    OVL_STOCK_FORWARD)
				++strangers;
		}
		n = data(&c, buf, now);
		data_n += 2;
		if (ovl_stock_from_client(s, buf, (size_t)n, &ca, now, &to) == OVL_STOCK_FORWARD)
			++data_ok;
		n = data(&m, buf, now);
		if (ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now) == OVL_STOCK_FORWARD)
			++data_ok;
	}
	ok(data_ok == data_n, "the session's data passes through the flood (%u of %u)", data_ok, data_n);
	ok(strangers <= 3 * OVL_STOCK_PENDING_PER_MEMBER,
	   "the strangers reach the member within their pending quota (%u in 10 s)", strangers);
	/* The client's rekey under the flood passes. */
	{
		struct side c2 = c, m2 = m;

		ok(handshake(&c2, &m2, 0x7777, 0x8888, &init, &resp, now) &&
		   ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_FORWARD &&
		   ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_FORWARD,
		   "the client's rekey passes under the flood");
		sodium_memzero(&c2, sizeof(c2));
		sodium_memzero(&m2, sizeof(m2));
	}
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&m, sizeof(m));
	sodium_memzero(&f, sizeof(f));
	sodium_memzero(&mf, sizeof(mf));
}

/* Around a rekey each side sends on the newest keypair it may use: the
 * member, having initiated, on the new session; the client, until the
 * member's first data of it, on the old one.  A NAT rebind then: the
 * client's datagram from its new address uses the old session, the
 * member's answer the new one; it passes, and the session moves. */
static void test_roam_rekey(void)
{
	struct ovl_stock *s = table();
	struct side c, m, c2, m2;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr ma = addr4(9, 9, 62096), ca = addr4(1, 1, 40000), ca2 = addr4(1, 1, 43210), to;
	uint8_t buf[256];
	uint64_t now = T0;
	ssize_t n;

	side_keys(&c);
	side_keys(&m);
	ok(ovl_stock_register(s, m.id.static_public, &ma, now), "register");
	ok(handshake(&c, &m, 0x1111, 0x2222, &init, &resp, now) &&
	   ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_FORWARD &&
	   ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_FORWARD,
	   "the first session");
	m2 = m;
	c2 = c;
	ok(handshake(&m2, &c2, 0x3333, 0x4444, &init, &resp, now + SEC) &&
	   ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&init, sizeof(init), now + SEC) == OVL_STOCK_FORWARD &&
	   ovl_stock_from_client(s, (uint8_t *)&resp, sizeof(resp), &ca, now + SEC, &to) == OVL_STOCK_FORWARD,
	   "the member's rekey: a second session");
	n = data(&c, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ca2, now + 2 * SEC, &to) == OVL_STOCK_FORWARD,
	   "the client, rebound, sends on the old session");
	n = data(&m2, buf, now);
	ok(ovl_stock_from_member(s, &ma, &ca2, buf, (size_t)n, now + 2 * SEC + MS) == OVL_STOCK_FORWARD &&
	   s->stats.roamed == 1, "the member's answer on the new session goes to the new address");
	n = data(&m, buf, now);
	ok(ovl_stock_from_member(s, &ma, &ca2, buf, (size_t)n, now + 2 * SEC + 2 * MS) == OVL_STOCK_FORWARD,
	   "and one on the old session too");
	ok(ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now + 2 * SEC + 3 * MS) == OVL_STOCK_REFUSED,
	   "the old address is no longer sendable");
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&m, sizeof(m));
	sodium_memzero(&c2, sizeof(c2));
	sodium_memzero(&m2, sizeof(m2));
}

static void test_junk(void)
{
	struct ovl_stock *s = table();
	struct ovl_addr ma = addr4(9, 9, 62096), ca = addr4(1, 2, 5000), to;
	uint8_t key[32] = { 7 }, buf[200];
	unsigned i;

	ok(ovl_stock_register(s, key, &ma, T0), "register");
	for (i = 0; i < 2000; ++i) {
		size_t len = tap_rand() % sizeof(buf);
		size_t j;

		for (j = 0; j < len; ++j)
			buf[j] = (uint8_t)tap_rand();
		if (len)
			buf[0] = (uint8_t)(1 + tap_rand() % 4);
		if (len > 3)
			buf[1] = buf[2] = buf[3] = 0;
		if (ovl_stock_from_client(s, buf, len, &ca, T0, &to) != OVL_STOCK_REFUSED ||
		    ovl_stock_from_member(s, &ma, &ca, buf, len, T0) != OVL_STOCK_REFUSED)
			break;
	}
	ok(i == 2000, "random WireGuard-shaped datagrams are refused both ways");
	for (i = 0; i < OVL_STOCK_MEMBERS + 1; ++i) {
		key[1] = (uint8_t)i;
		ma.port = (uint16_t)(1000 + i);
		if (!ovl_stock_register(s, key, &ma, T0))
			break;
	}
	/* The first is a renewal of the one already there. */
	ok(i == OVL_STOCK_MEMBERS && s->stats.reg_refused == 1,
	   "at most %d members (refused the next, counted)", OVL_STOCK_MEMBERS);
}

static void test_header(void)
{
	uint8_t buf[64], dir = 0;
	struct ovl_addr a = addr4(3, 4, 51820), b, v6;
	const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memset(buf, 0, sizeof(buf));
	ovl_chan_client_write(buf, OVL_CHAN_CLIENT_FROM_RELAY, &a);
	buf[24] = 4;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == OVL_CHAN_CLIENT_HEADER_LEN &&
	   dir == OVL_CHAN_CLIENT_FROM_RELAY && ovl_addr_equal(&a, &b), "IPv4 header round trip");
	ok(buf[0] == 0xfe && buf[1] == 3 && buf[2] == 4 && buf[4] == 0xca && buf[5] == 0x6c &&
	   buf[8] == 203 && buf[11] == 4, "IPv4 header bytes");
	ok(ovl_chan_client_parse(buf, 27, &dir, &b) == 0, "too short refused");
	buf[24] = 5;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == 0, "inner type 5 refused");
	buf[24] = 1;
	buf[20] = 1;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == 0, "IPv4 with nonzero padding refused");
	ovl_addr_set_v6(&v6, ip6, 443);
	ovl_chan_client_write(buf, OVL_CHAN_CLIENT_TO_RELAY, &v6);
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == OVL_CHAN_CLIENT_HEADER_LEN &&
	   dir == OVL_CHAN_CLIENT_TO_RELAY && ovl_addr_equal(&v6, &b), "IPv6 header round trip");
	buf[1] = 2;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == 0, "another dir refused");
	buf[1] = 4;
	buf[4] = buf[5] = 0;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == 0, "port 0 refused");
	buf[5] = 1;
	buf[2] = 5;
	ok(ovl_chan_client_parse(buf, 28, &dir, &b) == 0, "an unknown family refused");
}

/* A member registered with its clients' keys (STOCK_CLIENTS): R passes
 * its handshakes with those clients only.  An unlisted key's initiation
 * still reaches the member (its key is encrypted: R cannot tell), but
 * the member's answer, whose mac1 is under that key, goes nowhere, even
 * when the member's WireGuard took the key (a peer stock wg added):
 * refused and counted, and no session is made.  A rekey from the member
 * to an unlisted client is refused the same way. */
static void test_listed(void)
{
	struct ovl_stock *s = table();
	struct side c, x, m;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr ca = addr4(1, 1, 40000), xa = addr4(6, 6, 40000), ma = addr4(9, 9, 62096), to;
	uint8_t listed[2][32], buf[256];
	uint64_t now = T0, refused;
	size_t nm, np, ns;
	ssize_t n;

	side_keys(&c);
	side_keys(&x);
	side_keys(&m);
	randombytes_buf(listed[0], 32);
	memcpy(listed[1], c.id.static_public, 32);
	ok(ovl_stock_set_clients(s, m.id.static_public, &ma, (const uint8_t (*)[32])listed, 2, now),
	   "the member registers with its two clients' keys");

	ok(handshake(&x, &m, 0x5151, 0x6161, &init, &resp, now), "a handshake unlisted key -> member");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &xa, now, &to) == OVL_STOCK_FORWARD,
	   "its initiation reaches the member (R cannot read the initiator's key)");
	refused = s->stats.refused;
	ok(ovl_stock_from_member(s, &ma, &xa, (uint8_t *)&resp, sizeof(resp), now + MS) ==
		   OVL_STOCK_REFUSED && s->stats.refused == refused + 1,
	   "the member's response to the unlisted key: refused, counted");
	ovl_stock_count(s, now + MS, &nm, &np, &ns);
	ok(ns == 0, "no session for the unlisted key (sessions %zu)", ns);
	n = data(&x, buf, now);
	ok(n > 0 && ovl_stock_from_client(s, buf, (size_t)n, &xa, now + 2 * MS, &to) == OVL_STOCK_REFUSED,
	   "the unlisted key's data goes nowhere");
	n = data(&m, buf, now);
	ok(n > 0 && ovl_stock_from_member(s, &ma, &xa, buf, (size_t)n, now + 2 * MS) == OVL_STOCK_REFUSED,
	   "nor the member's data to it");

	ok(handshake(&c, &m, 0x7171, 0x8181, &init, &resp, now), "a handshake listed client -> member");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now, &to) == OVL_STOCK_FORWARD,
	   "its initiation reaches the member");
	ok(ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now + MS) == OVL_STOCK_FORWARD,
	   "the member's response to the listed client passes");
	n = data(&m, buf, now);
	ok(n > 0 && ovl_stock_from_member(s, &ma, &ca, buf, (size_t)n, now + 2 * MS) == OVL_STOCK_FORWARD,
	   "and its data");

	/* The member's rekey toward an unlisted key at the listed client's
	 * address: refused. */
	{
		struct side m2 = m, x2 = x;
		struct message_handshake_initiation i2;
		struct message_handshake_response r2;

		ok(handshake(&m2, &x2, 0x9191, 0xa1a1, &i2, &r2, now), "a handshake member -> unlisted key");
		refused = s->stats.refused;
		ok(ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&i2, sizeof(i2), now + 3 * MS) ==
			   OVL_STOCK_REFUSED && s->stats.refused == refused + 1,
		   "the member's initiation to an unlisted key is refused, counted");
		sodium_memzero(&m2, sizeof(m2));
		sodium_memzero(&x2, sizeof(x2));
	}

	/* A new list replaces the old: the client is no longer passed. */
	ok(ovl_stock_set_clients(s, m.id.static_public, &ma, (const uint8_t (*)[32])listed, 1, now + SEC),
	   "the member re-registers without that client");
	ok(handshake(&c, &m, 0x7272, 0x8282, &init, &resp, now + SEC), "the client again");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &ca, now + SEC, &to) == OVL_STOCK_FORWARD &&
	   ovl_stock_from_member(s, &ma, &ca, (uint8_t *)&resp, sizeof(resp), now + SEC + MS) ==
		   OVL_STOCK_REFUSED,
	   "its handshake is refused now");
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&x, sizeof(x));
	sodium_memzero(&m, sizeof(m));
}

/* A listed client's session with a member: after it R knows where the
 * client is (the member's WireGuard authenticated it). */
static void session_via(struct ovl_stock *s, struct side *c, struct side *m, const struct ovl_addr *ca,
			const struct ovl_addr *ma, uint32_t ci, uint64_t now)
{
	struct side c2 = *c, m2 = *m;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr to;

	ok(handshake(&c2, &m2, ci, ci + 1, &init, &resp, now) &&
	   ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), ca, now, &to) == OVL_STOCK_FORWARD &&
	   ovl_stock_from_member(s, ma, ca, (uint8_t *)&resp, sizeof(resp), now) == OVL_STOCK_FORWARD,
	   "a session client %#x <-> member through R", ci);
	sodium_memzero(&c2, sizeof(c2));
	sodium_memzero(&m2, sizeof(m2));
}

/* Client to client: two clients the member lists, each with a session
 * with the member, reach each other through R, whose files name R as
 * each other's endpoint.  R forwards the initiation only from a known
 * client address and only to where a listed client's session with a
 * member is; the answer only from there, only to a listed initiator;
 * data by index, only from the partner's address; a rebound client is
 * followed once its old address is quiet, an active one never left. */
static void test_client_to_client(void)
{
	struct ovl_stock *s = table();
	struct side a, b, x, m, ax;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct ovl_addr aa = addr4(1, 1, 40000), aa2 = addr4(1, 1, 40999), ba = addr4(2, 2, 50000);
	struct ovl_addr ma = addr4(9, 9, 62096), evil = addr4(66, 6, 1234), to;
	uint8_t listed[3][32], buf[256];
	uint64_t now = T0, count;
	size_t nm, np, ns;
	ssize_t n;

	side_keys(&a);
	side_keys(&b);
	side_keys(&x);
	side_keys(&m);
	memcpy(listed[0], a.id.static_public, 32);
	memcpy(listed[1], b.id.static_public, 32);
	randombytes_buf(listed[2], 32);
	ok(ovl_stock_set_clients(s, m.id.static_public, &ma, (const uint8_t (*)[32])listed, 3, now),
	   "the member registers with clients a, b and a third");

	/* Before b has a session with a member, R does not know where it is. */
	session_via(s, &a, &m, &aa, &ma, 0x100, now);
	ok(handshake(&a, &b, 0xa1, 0xb1, &init, &resp, now), "a real handshake a -> b");
	count = s->stats.no_member;
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa, now, &to) == OVL_STOCK_REFUSED &&
	   s->stats.no_member == count + 1, "b seen nowhere yet: refused, counted");
	session_via(s, &b, &m, &ba, &ma, 0x200, now + MS);

	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &evil, now + 2 * MS, &to) ==
		   OVL_STOCK_REFUSED, "the same initiation from a stranger's address: refused");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa, now + 2 * MS, &to) ==
		   OVL_STOCK_TO_CLIENT && ovl_addr_equal(&to, &ba),
	   "from a's address: bare, to where b's session with the member is");
	ok(ovl_stock_from_client(s, (uint8_t *)&resp, sizeof(resp), &evil, now + 3 * MS, &to) ==
		   OVL_STOCK_REFUSED, "b's response from another address: refused");
	ok(ovl_stock_from_client(s, (uint8_t *)&resp, sizeof(resp), &ba, now + 3 * MS, &to) ==
		   OVL_STOCK_TO_CLIENT && ovl_addr_equal(&to, &aa), "b's response: to a");
	ovl_stock_count(s, now + 3 * MS, &nm, &np, &ns);
	ok(np == 0 && ns == 3, "the session is made (pending %zu sessions %zu: two with m, one a-b)", np,
	   ns);
	ok(ovl_stock_from_client(s, (uint8_t *)&resp, sizeof(resp), &ba, now + 3 * MS, &to) ==
		   OVL_STOCK_REFUSED, "the response again: nothing pending");

	n = data(&a, buf, now);
	ok(n > 0 && ovl_stock_from_client(s, buf, (size_t)n, &aa, now + 4 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   ovl_addr_equal(&to, &ba), "a's data by b's index: to b");
	n = data(&b, buf, now);
	ok(n > 0 && ovl_stock_from_client(s, buf, (size_t)n, &ba, now + 5 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   ovl_addr_equal(&to, &aa), "b's data by a's index: to a");
	ok(s->stats.to_peer == 4 && s->stats.to_peer_bytes > 0, "counted (%llu)",
	   (unsigned long long)s->stats.to_peer);

	/* Another address with b's index while a is active: b may judge it,
	 * but the session stays. */
	n = data(&a, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &evil, now + 6 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   ovl_addr_equal(&to, &ba), "a datagram from another address goes on to b");
	n = data(&b, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ba, now + 7 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   ovl_addr_equal(&to, &aa) && s->stats.roamed == 0, "but b's answer still goes to a's address");

	/* a rebinds: from its new address, then quiet at the old one. */
	n = data(&a, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &aa2, now + 500 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   s->stats.roamed == 0, "a, rebound, within 1 s of its last datagram: forwarded, not moved");
	ok(ovl_stock_from_client(s, buf, (size_t)n, &aa2, now + 1100 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   s->stats.roamed == 1, "a, rebound, its old address quiet for 1 s: the session moves");
	n = data(&b, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &ba, now + 1200 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   ovl_addr_equal(&to, &aa2), "b's answer goes to a's new address");
	n = data(&a, buf, now);
	ok(ovl_stock_from_client(s, buf, (size_t)n, &aa, now + 1300 * MS, &to) == OVL_STOCK_TO_CLIENT &&
	   s->stats.roamed == 1, "a datagram from a's old address: forwarded, the session stays");

	/* An initiation to b from a known address (a's) of a key nobody
	 * listed: b's WireGuard may answer it (a peer stock wg added), R
	 * passes no answer. */
	ax = a;
	ok(handshake(&x, &b, 0xc1, 0xb2, &init, &resp, now + 2 * SEC), "a handshake unlisted x -> b");
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa2, now + 2 * SEC, &to) ==
		   OVL_STOCK_TO_CLIENT, "its initiation from a known address reaches b");
	count = s->stats.refused;
	ok(ovl_stock_from_client(s, (uint8_t *)&resp, sizeof(resp), &ba, now + 2 * SEC, &to) ==
		   OVL_STOCK_REFUSED && s->stats.refused == count + 1,
	   "b's answer, under an unlisted key's mac1: refused, counted");

	/* A listed client seen nowhere: nothing to forward to. */
	{
		struct side c;

		side_keys(&c);
		memcpy(c.id.static_public, listed[2], 32);
		side_peer(&ax, &c);
		ok(noise_handshake_create_initiation(&init, &ax.hs, 0xd1, NULL, 1700000002, 0),
		   "an initiation a -> the third client");
		cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &ax.cm, now + 2 * SEC);
		ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa2, now + 2 * SEC, &to) ==
			   OVL_STOCK_REFUSED, "to a listed client seen nowhere: refused");
		sodium_memzero(&c, sizeof(c));
	}

	/* b's place is forgotten 200 s after its last session datagram. */
	ok(handshake(&a, &b, 0xa3, 0xb3, &init, &resp, now + 300 * SEC), "a handshake a -> b");
	ovl_stock_register(s, m.id.static_public, &ma, now + 100 * SEC);
	ovl_stock_register(s, m.id.static_public, &ma, now + 200 * SEC);
	session_via(s, &a, &m, &aa2, &ma, 0x300, now + 290 * SEC);
	count = s->stats.no_member;
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa2, now + 300 * SEC, &to) ==
		   OVL_STOCK_REFUSED && s->stats.no_member == count + 1,
	   "from a's address, known again, but b not seen for 200 s: refused");
	session_via(s, &b, &m, &ba, &ma, 0x400, now + 301 * SEC);
	ok(ovl_stock_from_client(s, (uint8_t *)&init, sizeof(init), &aa2, now + 302 * SEC, &to) ==
		   OVL_STOCK_TO_CLIENT && ovl_addr_equal(&to, &ba), "b seen again: forwarded");
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));
	sodium_memzero(&x, sizeof(x));
	sodium_memzero(&m, sizeof(m));
	sodium_memzero(&ax, sizeof(ax));
}

int main(void)
{
	if (crypto_layer_init() < 0)
		return 1;
	test_header();
	test_session();
	test_limits();
	test_flood();
	test_roam_rekey();
	test_junk();
	test_listed();
	test_client_to_client();
	return tap_done();
}
