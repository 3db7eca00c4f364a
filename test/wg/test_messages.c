/* WireGuard's wire formats: sizes, offsets (the table of
 * reference/wireguard-protocol.md, from the kernel's messages.h and the
 * whitepaper section 5.4), byte order, and wg_message_type's length and
 * type rules. */
#include "proto/wg/messages.h"
#include "test/tap.h"

#define OFF(type, field) offsetof(struct type, field)

static void test_layout(void)
{
	static const struct {
		const char *name;
		size_t got, want;
	} table[] = {
		{ "initiation size", sizeof(struct message_handshake_initiation), 148 },
		{ "initiation sender_index", OFF(message_handshake_initiation, sender_index), 4 },
		{ "initiation ephemeral", OFF(message_handshake_initiation, unencrypted_ephemeral), 8 },
		{ "initiation encrypted_static", OFF(message_handshake_initiation, encrypted_static), 40 },
		{ "initiation encrypted_static size", sizeof(((struct message_handshake_initiation *)0)->encrypted_static), 48 },
		{ "initiation encrypted_timestamp", OFF(message_handshake_initiation, encrypted_timestamp), 88 },
		{ "initiation encrypted_timestamp size", sizeof(((struct message_handshake_initiation *)0)->encrypted_timestamp), 28 },
		{ "initiation mac1", OFF(message_handshake_initiation, macs.mac1), 116 },
		{ "initiation mac2", OFF(message_handshake_initiation, macs.mac2), 132 },
		{ "response size", sizeof(struct message_handshake_response), 92 },
		{ "response sender_index", OFF(message_handshake_response, sender_index), 4 },
		{ "response receiver_index", OFF(message_handshake_response, receiver_index), 8 },
		{ "response ephemeral", OFF(message_handshake_response, unencrypted_ephemeral), 12 },
		{ "response encrypted_nothing", OFF(message_handshake_response, encrypted_nothing), 44 },
		{ "response encrypted_nothing size", sizeof(((struct message_handshake_response *)0)->encrypted_nothing), 16 },
		{ "response mac1", OFF(message_handshake_response, macs.mac1), 60 },
		{ "response mac2", OFF(message_handshake_response, macs.mac2), 76 },
		{ "cookie size", sizeof(struct message_handshake_cookie), 64 },
		{ "cookie receiver_index", OFF(message_handshake_cookie, receiver_index), 4 },
		{ "cookie nonce", OFF(message_handshake_cookie, nonce), 8 },
		{ "cookie encrypted_cookie", OFF(message_handshake_cookie, encrypted_cookie), 32 },
		{ "cookie encrypted_cookie size", sizeof(((struct message_handshake_cookie *)0)->encrypted_cookie), 32 },
		{ "data header size", sizeof(struct message_data), 16 },
		{ "data key_idx", OFF(message_data, key_idx), 4 },
		{ "data counter", OFF(message_data, counter), 8 },
		{ "data encrypted_data", OFF(message_data, encrypted_data), 16 },
		{ "minimum data message (keepalive)", MESSAGE_MINIMUM_LENGTH, 32 },
		{ "message_data_len(0)", message_data_len(0), 32 },
		{ "message_data_len(1420)", message_data_len(1420), 1452 },
		{ "padding multiple", MESSAGE_PADDING_MULTIPLE, 16 },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i)
		ok(table[i].got == table[i].want, "%s = %zu (want %zu)", table[i].name, table[i].got,
		   table[i].want);
}

static void test_byte_order(void)
{
	uint8_t b[8];

	le32_put(b, 0x04030201);
	ok(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4 && le32_get(b) == 0x04030201,
	   "le32 is little-endian and round-trips");
	le64_put(b, UINT64_C(0x0807060504030201));
	ok(b[0] == 1 && b[7] == 8 && le64_get(b) == UINT64_C(0x0807060504030201),
	   "le64 is little-endian and round-trips");
	le64_put(b, UINT64_MAX);
	ok(le64_get(b) == UINT64_MAX, "le64 of all ones");
}

static void test_message_type(void)
{
	static const struct {
		uint8_t type[4];
		size_t len;
		enum message_type want;
	} table[] = {
		{ { 1, 0, 0, 0 }, 148, MESSAGE_HANDSHAKE_INITIATION },
		{ { 1, 0, 0, 0 }, 147, MESSAGE_INVALID },
		{ { 1, 0, 0, 0 }, 149, MESSAGE_INVALID },
		{ { 1, 0, 0, 0 }, 92, MESSAGE_INVALID },
		{ { 2, 0, 0, 0 }, 92, MESSAGE_HANDSHAKE_RESPONSE },
		{ { 2, 0, 0, 0 }, 91, MESSAGE_INVALID },
		{ { 2, 0, 0, 0 }, 93, MESSAGE_INVALID },
		{ { 2, 0, 0, 0 }, 148, MESSAGE_INVALID },
		{ { 3, 0, 0, 0 }, 64, MESSAGE_HANDSHAKE_COOKIE },
		{ { 3, 0, 0, 0 }, 63, MESSAGE_INVALID },
		{ { 3, 0, 0, 0 }, 65, MESSAGE_INVALID },
		{ { 4, 0, 0, 0 }, 32, MESSAGE_DATA },
		{ { 4, 0, 0, 0 }, 31, MESSAGE_INVALID },
		{ { 4, 0, 0, 0 }, 33, MESSAGE_DATA },
		{ { 4, 0, 0, 0 }, 148, MESSAGE_DATA },
		{ { 4, 0, 0, 0 }, 1500, MESSAGE_DATA },
		{ { 4, 0, 0, 0 }, 65535, MESSAGE_DATA },
		/* Reserved bytes must be zero. */
		{ { 1, 1, 0, 0 }, 148, MESSAGE_INVALID },
		{ { 1, 0, 1, 0 }, 148, MESSAGE_INVALID },
		{ { 1, 0, 0, 1 }, 148, MESSAGE_INVALID },
		{ { 2, 0, 0, 0x80 }, 92, MESSAGE_INVALID },
		{ { 3, 0, 0xff, 0 }, 64, MESSAGE_INVALID },
		{ { 4, 1, 0, 0 }, 32, MESSAGE_INVALID },
		{ { 4, 0, 0, 0xff }, 1500, MESSAGE_INVALID },
		/* Unknown types. */
		{ { 0, 0, 0, 0 }, 32, MESSAGE_INVALID },
		{ { 0, 0, 0, 0 }, 148, MESSAGE_INVALID },
		{ { 5, 0, 0, 0 }, 32, MESSAGE_INVALID },
		{ { 5, 0, 0, 0 }, 148, MESSAGE_INVALID },
		{ { 0xff, 0, 0, 0 }, 64, MESSAGE_INVALID },
		{ { 0xff, 0xff, 0xff, 0xff }, 148, MESSAGE_INVALID },
		/* Shorter than a header. */
		{ { 4, 0, 0, 0 }, 0, MESSAGE_INVALID },
		{ { 4, 0, 0, 0 }, 1, MESSAGE_INVALID },
		{ { 4, 0, 0, 0 }, 3, MESSAGE_INVALID },
		{ { 1, 0, 0, 0 }, 4, MESSAGE_INVALID },
	};
	static uint8_t buf[65536];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i) {
		enum message_type got;

		memset(buf, 0xa5, sizeof(buf));
		memcpy(buf, table[i].type, 4);
		got = wg_message_type(buf, table[i].len);
		ok(got == table[i].want, "type %02x%02x%02x%02x, %zu bytes: %d (want %d)", table[i].type[0],
		   table[i].type[1], table[i].type[2], table[i].type[3], table[i].len, got, table[i].want);
	}
	/* Lengths 0-3 never read a header byte (NULL would crash otherwise). */
	ok(wg_message_type(NULL, 0) == MESSAGE_INVALID, "empty buffer");
}

int main(void)
{
	test_layout();
	test_byte_order();
	test_message_type();
	return tap_done();
}
