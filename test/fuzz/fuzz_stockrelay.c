/* libFuzzer harness for a stock client's channel header (codec.c,
 * ovl_chan_client_parse) and the relay's table of stock clients
 * (proto/overlay/stockrelay.c, doc/protocol.md 9.5).
 *
 * The input is records: a byte of operation, a byte of time step (x 50
 * ms), then a length byte and that many bytes of datagram:
 *
 *   op % 4 == 0   the datagram as a channel datagram: parsed; when the
 *                 header is good, its write must give the same bytes
 *   op % 4 == 1   register member (op >> 2) % 4 from address (op >> 4) % 4,
 *                 with a list of the first (op >> 6) of two client keys
 *   op % 4 == 2   the datagram from client address (op >> 2) % 4
 *   op % 4 == 3   the datagram from member address (op >> 2) % 4 to
 *                 client address (op >> 4) % 4
 *
 * After every record: a forwarded datagram goes to a registered
 * member's address (from a client), one passed client to client to
 * another client address, and every count stays within its bound. */
#include "proto/overlay/codec.h"
#include "proto/overlay/stockrelay.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS UINT64_C(1000000)

static struct ovl_addr addr_of(unsigned host, uint16_t port)
{
	struct ovl_addr a;
	const uint8_t ip[4] = { 198, 51, 100, (uint8_t)(1 + host) };

	ovl_addr_set_v4(&a, ip, port);
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hk[16] = { 1, 2, 3 };
	struct ovl_stock s;
	uint64_t now = UINT64_C(1700000000) * 1000 * MS;
	size_t at = 0;

	if (ovl_stock_init(&s, 64, hk) < 0)
		abort();
	while (at + 3 <= size) {
		uint8_t op = data[at], step = data[at + 1], len = data[at + 2];
		const uint8_t *msg = data + at + 3;
		struct ovl_addr to, client, from;
		uint8_t key[32], dir, again[OVL_CHAN_CLIENT_HEADER_LEN];
		size_t members, pending, sessions, hl;
		unsigned i;
		bool known = false;

		if (len > size - at - 3)
			len = (uint8_t)(size - at - 3);
		at += 3 + len;
		now += step * 50 * MS;
		switch (op % 4) {
		case 0:
			hl = ovl_chan_client_parse(msg, len, &dir, &client);
			if (!hl)
				break;
			if (hl != OVL_CHAN_CLIENT_HEADER_LEN || len < hl + 4 || msg[hl] < 1 || msg[hl] > 4 ||
			    !ovl_addr_valid(&client))
				abort();
			ovl_chan_client_write(again, dir, &client);
			/* The parser ignores the zero bytes 3, 6 and 7 only. */
			if (memcmp(again, msg, 3) || memcmp(again + 4, msg + 4, 2) ||
			    memcmp(again + 8, msg + 8, 16))
				abort();
			break;
		case 1:
			memset(key, 0, sizeof(key));
			key[0] = (uint8_t)((op >> 2) % 4);
			from = addr_of(8 + ((op >> 4) % 4), 62096);
			if (op >> 6) {
				uint8_t clients[2][32] = { { 0xc1 }, { 0xc2 } };

				ovl_stock_set_clients(&s, key, &from, (const uint8_t (*)[32])clients,
						      (op >> 6) > 2 ? 2 : op >> 6, now);
			} else {
				ovl_stock_register(&s, key, &from, now);
			}
			break;
		case 2:
			from = addr_of((op >> 2) % 4, 40000);
			switch (ovl_stock_from_client(&s, msg, len, &from, now, &to)) {
			case OVL_STOCK_TO_CLIENT:
				/* Another client address, never the sender's. */
				for (i = 0; i < 4; ++i)
					if (i != (op >> 2) % 4) {
						client = addr_of(i, 40000);
						known = known || ovl_addr_equal(&to, &client);
					}
				if (!known)
					abort();
				break;
			case OVL_STOCK_FORWARD:
				for (i = 0; i < OVL_STOCK_MEMBERS; ++i)
					if (s.members[i].heard_ns && ovl_addr_equal(&s.members[i].addr, &to))
						known = true;
				if (!known)
					abort();
				break;
			default:
				break;
			}
			break;
		default:
			from = addr_of(8 + ((op >> 2) % 4), 62096);
			client = addr_of((op >> 4) % 4, 40000);
			ovl_stock_from_member(&s, &from, &client, msg, len, now);
			break;
		}
		ovl_stock_count(&s, now, &members, &pending, &sessions);
		if (members > OVL_STOCK_MEMBERS || pending + sessions > 64)
			abort();
	}
	ovl_stock_free(&s);
	return 0;
}
