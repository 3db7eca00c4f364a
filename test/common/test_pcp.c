/* The PCP codec (proto/common/pcp.h) against byte vectors laid out by hand
 * from RFC 6887's figures: the request header (figure 2) with MAP data
 * (figure 9), the response header (figure 3) with MAP data (figure 10),
 * ANNOUNCE (section 14.1), NAT-PMP's "unsupported version" answer
 * (RFC 6886 3.5, with its erratum 3618: opcode 128), and the epoch rules
 * of section 8.5.  Then every truncation and every one-byte change of a
 * good answer: each must be refused or decode to what the bytes say. */
#include "proto/common/pcp.h"
#include "test/tap.h"

/* A MAP request of UDP port 51820 (0xca6c) from 192.0.2.10, suggesting
 * external port 51820 on any IPv4 address, lifetime 3600 (0x0e10). */
static const uint8_t map_request[PCP_MAP_LEN] = {
	/* figure 2: version 2, R=0 opcode 1 (MAP), reserved, lifetime */
	0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10,
	/* the client's address, ::ffff:192.0.2.10 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10,
	/* figure 9: nonce (96 bits) */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	/* protocol 17, reserved (24) */
	0x11, 0x00, 0x00, 0x00,
	/* internal port, suggested external port */
	0xca, 0x6c, 0xca, 0x6c,
	/* suggested external address: ::ffff:0.0.0.0 (section 11.1) */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
};

/* Its answer: SUCCESS, lifetime 1800 (0x0708), epoch 1000 (0x03e8),
 * external 198.51.100.7:40000 (0x9c40). */
static const uint8_t map_answer[PCP_MAP_LEN] = {
	/* figure 3: version 2, R=1 opcode 1, reserved, result 0, lifetime */
	0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08,
	/* epoch time, reserved (96) */
	0x00, 0x00, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* figure 10: nonce */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x11, 0x00, 0x00, 0x00,
	/* internal port, assigned external port */
	0xca, 0x6c, 0x9c, 0x40,
	/* assigned external address ::ffff:198.51.100.7 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7,
};

static struct pcp_map_request the_request(void)
{
	static const uint8_t client[4] = { 192, 0, 2, 10 }, any[4] = { 0 };
	struct pcp_map_request q = {
		.lifetime = 3600,
		.nonce = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
		.protocol = PCP_PROTO_UDP,
		.internal_port = 51820,
		.suggested_port = 51820,
	};

	pcp_addr_from_v4(q.client_addr, client);
	pcp_addr_from_v4(q.suggested_addr, any);
	return q;
}

static void test_encode(void)
{
	struct pcp_map_request q = the_request();
	uint8_t buf[PCP_MAX_LEN], client[16];
	static const uint8_t announce[PCP_HEADER_LEN] = {
		0x02, 0x00, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10,
	};
	size_t n;

	n = pcp_encode_map(buf, sizeof(buf), &q);
	ok(n == sizeof(map_request) && memcmp(buf, map_request, n) == 0,
	   "MAP request: figures 2 and 9, byte for byte (%zu bytes)", n);
	ok(pcp_encode_map(buf, PCP_MAP_LEN - 1, &q) == 0, "MAP request: a buffer of 59 bytes is refused");
	memcpy(client, q.client_addr, 16);
	n = pcp_encode_announce(buf, sizeof(buf), client);
	ok(n == PCP_HEADER_LEN && memcmp(buf, announce, n) == 0, "ANNOUNCE request: the header alone, opcode 0");
	q.lifetime = 0;
	n = pcp_encode_map(buf, sizeof(buf), &q);
	ok(n == PCP_MAP_LEN && buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0 &&
	   memcmp(buf + 8, map_request + 8, PCP_MAP_LEN - 8) == 0,
	   "delete (section 15): the same request with lifetime 0");
}

static void test_decode(void)
{
	struct pcp_map_request q = the_request();
	struct pcp_response r;
	uint8_t buf[PCP_MAX_LEN + 4], v4[4];
	enum pcp_decode d;

	d = pcp_decode_map_answer(map_answer, sizeof(map_answer), &q, &r);
	ok(d == PCP_DEC_OK && r.result == PCP_SUCCESS && r.lifetime == 1800 && r.epoch == 1000 &&
	   r.has_map && r.external_port == 40000 && r.internal_port == 51820,
	   "MAP answer (figures 3, 10): success, lifetime 1800, epoch 1000, port 40000 (%s)",
	   pcp_decode_name(d));
	ok(pcp_addr_to_v4(r.external_addr, v4) && v4[0] == 198 && v4[1] == 51 && v4[2] == 100 && v4[3] == 7,
	   "MAP answer: the external address is ::ffff:198.51.100.7");
	ok(pcp_addr_to_v4(q.client_addr, v4) && v4[0] == 192 && v4[1] == 0 && v4[2] == 2 && v4[3] == 10,
	   "IPv4-mapped: the client's address ::ffff:192.0.2.10 reads back");
	{
		uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		ok(!pcp_addr_to_v4(v6, v4), "IPv4-mapped: 2001:db8:: is not an IPv4 address");
	}

	/* An answer with options appended (section 7.3): still ours. */
	memcpy(buf, map_answer, sizeof(map_answer));
	memset(buf + sizeof(map_answer), 0, 8);
	buf[sizeof(map_answer)] = 0x80; /* an unknown option code */
	ok(pcp_decode_map_answer(buf, sizeof(map_answer) + 8, &q, &r) == PCP_DEC_OK,
	   "MAP answer with 8 bytes of options: accepted, options skipped");

	/* Forged or stale: another nonce. */
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[24 + 11] ^= 0x01;
	ok(pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r) == PCP_DEC_NONCE,
	   "MAP answer with the last bit of the nonce changed: PCP_DEC_NONCE");
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[24 + 12] = 6;
	ok(pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r) == PCP_DEC_MISMATCH,
	   "MAP answer for TCP: PCP_DEC_MISMATCH");
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[41] ^= 1;
	ok(pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r) == PCP_DEC_MISMATCH,
	   "MAP answer for another internal port: PCP_DEC_MISMATCH");
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[1] = 0x01;
	ok(pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r) == PCP_DEC_REQUEST,
	   "our own request reflected (R=0): PCP_DEC_REQUEST");
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[1] = 0x82;
	ok(pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r) == PCP_DEC_OPCODE,
	   "a PEER answer to a MAP request: PCP_DEC_OPCODE");

	/* Lengths (section 7): at least a header, 4-aligned, at most 1100. */
	ok(pcp_decode_map_answer(map_answer, 20, &q, &r) == PCP_DEC_LENGTH, "20 bytes: PCP_DEC_LENGTH");
	ok(pcp_decode_map_answer(map_answer, 58, &q, &r) == PCP_DEC_LENGTH, "58 bytes: not 4-aligned");
	ok(pcp_decode_map_answer(map_answer, 56, &q, &r) == PCP_DEC_SHORT_MAP,
	   "a successful MAP answer cut to 56 bytes: PCP_DEC_SHORT_MAP");
	memset(buf, 0, sizeof(buf));
	memcpy(buf, map_answer, sizeof(map_answer));
	ok(pcp_decode_map_answer(buf, PCP_MAX_LEN, &q, &r) == PCP_DEC_OK &&
	   pcp_decode_map_answer(buf, PCP_MAX_LEN + 4, &q, &r) == PCP_DEC_LENGTH,
	   "1100 bytes accepted, 1104 refused");

	/* An error answer to MAP: the header and the echoed MAP data. */
	memcpy(buf, map_answer, sizeof(map_answer));
	buf[3] = PCP_NOT_AUTHORIZED;
	d = pcp_decode_map_answer(buf, sizeof(map_answer), &q, &r);
	ok(d == PCP_DEC_OK && r.result == PCP_NOT_AUTHORIZED &&
	   strcmp(pcp_result_name(r.result), "NOT_AUTHORIZED") == 0,
	   "an error answer (result 2) decodes: %s", pcp_result_name(r.result));
	d = pcp_decode_map_answer(buf, PCP_HEADER_LEN, &q, &r);
	ok(d == PCP_DEC_OK && r.result == PCP_NOT_AUTHORIZED && !r.has_map,
	   "an error answer of the header alone decodes, without MAP data");
}

static void test_versions(void)
{
	struct pcp_map_request q = the_request();
	struct pcp_response r;
	/* RFC 6886 3.5 with erratum 3618: version 0, opcode 128, result 1,
	 * seconds since the epoch. */
	static const uint8_t natpmp_unsupp[8] = { 0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00 };
	/* RFC 6887 9: UNSUPP_VERSION from a server that speaks version 1. */
	uint8_t v1[PCP_HEADER_LEN] = { 0x01, 0x81, 0x00, PCP_UNSUPP_VERSION };
	enum pcp_decode d;

	d = pcp_decode_map_answer(natpmp_unsupp, sizeof(natpmp_unsupp), &q, &r);
	ok(d == PCP_DEC_NATPMP && r.version == 0 && r.result == 1,
	   "NAT-PMP's unsupported-version answer: PCP_DEC_NATPMP, result 1 (%s)", pcp_decode_name(d));
	d = pcp_decode_map_answer(natpmp_unsupp, 4, &q, &r);
	ok(d == PCP_DEC_NATPMP, "NAT-PMP's answer cut to 4 bytes: still recognised");
	d = pcp_decode_map_answer(natpmp_unsupp, 3, &q, &r);
	ok(d == PCP_DEC_LENGTH, "3 bytes of a NAT-PMP answer: PCP_DEC_LENGTH");
	d = pcp_decode_map_answer(v1, sizeof(v1), &q, &r);
	ok(d == PCP_DEC_VERSION && r.version == 1 && r.result == PCP_UNSUPP_VERSION,
	   "UNSUPP_VERSION from a version-1 server: PCP_DEC_VERSION, version 1");
}

static void test_epoch(void)
{
	/* Section 8.5, each case from a first response at epoch 1000,
	 * client time 5000. */
	static const struct {
		uint32_t server;
		uint64_t client;
		bool ok;
		const char *what;
	} v[] = {
		{ 1000, 5000, true, "the same second" },
		{ 999, 5000, true, "one second back (allowed)" },
		{ 998, 5000, false, "two seconds back: restarted" },
		{ 1900, 5900, true, "900 s on both clocks" },
		{ 1900, 5950, true, "server 900 s, client 950 s: within 2 + 1/16" },
		{ 1900, 6100, false, "server 900 s, client 1100 s: state lost" },
		{ 2900, 5900, false, "server 1900 s, client 900 s: state lost" },
		{ 5, 8600, false, "epoch 5 an hour later: rebooted" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct pcp_epoch e = { 0 };
		bool first = pcp_epoch_update(&e, 1000, 5000);
		bool got = pcp_epoch_update(&e, v[i].server, v[i].client);

		ok(first && got == v[i].ok && e.server == v[i].server && e.client_s == v[i].client,
		   "epoch: %s -> %s", v[i].what, got ? "consistent" : "lost state");
	}
}

/* Every truncation and every single-byte change of the good answer: the
 * decoder never reads past len (ASan in the sanitizer build), and a
 * change in the nonce is always caught. */
static void test_mutations(void)
{
	struct pcp_map_request q = the_request();
	struct pcp_response r;
	uint8_t buf[PCP_MAP_LEN];
	unsigned bad = 0, nonce_missed = 0;

	for (size_t len = 0; len <= sizeof(map_answer); len++) {
		uint8_t *copy = tap_malloc(len ? len : 1);
		enum pcp_decode d;

		memcpy(copy, map_answer, len);
		d = pcp_decode_map_answer(copy, len, &q, &r);
		if (len < sizeof(map_answer) && d == PCP_DEC_OK && (len < PCP_HEADER_LEN || r.has_map))
			bad++;
		free(copy);
	}
	ok(bad == 0, "every truncation of the answer: no MAP data accepted short (%u wrong)", bad);
	for (size_t i = 24; i < 36; i++) {
		for (unsigned x = 1; x < 256; x++) {
			memcpy(buf, map_answer, sizeof(buf));
			buf[i] ^= (uint8_t)x;
			if (pcp_decode_map_answer(buf, sizeof(buf), &q, &r) != PCP_DEC_NONCE)
				nonce_missed++;
		}
	}
	ok(nonce_missed == 0, "every one-byte change of the nonce (12 x 255): PCP_DEC_NONCE (%u missed)",
	   nonce_missed);
}

int main(void)
{
	test_encode();
	test_decode();
	test_versions();
	test_epoch();
	test_mutations();
	return tap_done();
}
