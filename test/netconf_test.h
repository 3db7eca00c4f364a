/* What the two network file tests share (test_netconf.c, the parser
 * line by line; test_netconf_addr.c, the addresses and the parsed
 * network): WireHub's examples, a reproducible generator, and small
 * helpers to parse and print. */
#ifndef WH_TEST_NETCONF_TEST_H
#define WH_TEST_NETCONF_TEST_H

#include "src/node/netconf.h"

#include "crypto/encoding.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define KEY_A "zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmQ"
#define KEY_B "g878Bf9ZDc4IzFSUhWFTO1VYFVmHD5XfvEsVn83Dsho"
#define KEY_C "9OtorxsAqPqZkJ-fAYNRAPr9piMWKMLnGqOVVpMUvXY"
#define KEY_BOOT "P17zMwXJFbBdJEn05RFIMADw9TX5_m2xgf31OgNKX3w"

/* WireHub's README, "A simple network with two nodes", as printed there. */
__attribute__((unused))
static const char tutorial[] =
	"name tutorial           # name of network\n"
	"subnet 10.0.42.0/24     # private subnetwork\n"
	"\n"
	"# one DHT bootstrap node\n"
	"boot " KEY_BOOT " bootstrap.wirehub.io\n"
	"\n"
	"# two nodes, node_a & node_b\n"
	"trust node_a " KEY_A "\n"
	"trust node_b " KEY_B "\n";

/* WireHub's config/public. */
__attribute__((unused))
static const char public_conf[] =
	"name public\n"
	"workbit 8\n"
	"\n"
	"boot " KEY_BOOT " bootstrap.wirehub.io:62096\n";

/* A small deterministic generator (xorshift64*), so that failures repeat. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

__attribute__((unused))
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

__attribute__((unused))
static void random_key(uint8_t key[32])
{
	size_t i;

	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)rng();
}

__attribute__((unused))
static void key_url(char out[44], const uint8_t key[32])
{
	key_to_base64url(out, key);
}

__attribute__((unused))
static int parse(const char *text, struct netconf **c, char *err, size_t errlen)
{
	return netconf_parse_buffer("net.conf", text, strlen(text), c, err, errlen);
}

__attribute__((unused))
static const char *v4(const uint8_t a[4])
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	inet_ntop(AF_INET, a, buf[i], sizeof(buf[i]));
	return buf[i];
}

__attribute__((unused))
static const char *v6(const uint8_t a[16])
{
	static char buf[4][46];
	static int i;

	i = (i + 1) % 4;
	inet_ntop(AF_INET6, a, buf[i], sizeof(buf[i]));
	return buf[i];
}

__attribute__((unused))
static const struct netconf_peer *by_b64(const struct netconf *c, const char *b64)
{
	uint8_t k[32];

	if (!key_from_base64(k, b64, strlen(b64)))
		return NULL;
	return netconf_find(c, k);
}

/* ---- WireHub's examples ---- */

#endif
