/* ovlforge: a hostile overlay node for the network tests (issue 17,
 * finding 2).  Under its own key it PINGs a node claiming PUBLIC|RELAY,
 * sends it a NODES that answers nothing (a made-up txid) naming another
 * key as a NATed node it has a path to, then prints the type of every
 * overlay message it gets for a while, one a line ("rx CHANNEL_BIND").
 *
 * Usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB NAMED_IP
 *                 NAMED_PORT SECONDS
 * KEYFILE holds a private key as `wh genkey` writes it; keys are base64. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/secure.h"

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static int key_from_b64(const char *s, uint8_t out[32])
{
	size_t len = 0;

	/* `wh genkey` writes URL-safe base64 without padding; wg, standard. */
	if ((sodium_base642bin(out, 32, s, strlen(s), " \n", &len, NULL,
			       sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 || len != 32) &&
	    (sodium_base642bin(out, 32, s, strlen(s), " \n", &len, NULL,
			       sodium_base64_VARIANT_ORIGINAL) < 0 || len != 32)) {
		fprintf(stderr, "ovlforge: bad key '%s'\n", s);
		return -1;
	}
	return 0;
}

static int key_from_file(const char *path, uint8_t out[32])
{
	char buf[128];
	FILE *f = fopen(path, "r");
	int ret = -1;

	if (!f) {
		fprintf(stderr, "ovlforge: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, sizeof(buf), f))
		ret = key_from_b64(buf, out);
	fclose(f);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int v4addr(const char *ip, const char *port, struct ovl_addr *a, struct sockaddr_in *sa)
{
	memset(a, 0, sizeof(*a));
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "ovlforge: bad address '%s'\n", ip);
		return -1;
	}
	a->family = OVL_AF_INET;
	memcpy(a->ip, &sa->sin_addr, 4);
	a->port = (uint16_t)atoi(port);
	return 0;
}

static void send_msg(int fd, struct ovl_secure *sec, const uint8_t to[32], const struct sockaddr_in *sa,
		     const struct ovl_msg *m)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], buf[OVL_MAX_DATAGRAM];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), n;

	if (plen < 0)
		return;
	n = ovl_secure_seal(sec, to, plain, (size_t)plen, wall_ns(), buf, sizeof(buf));
	if (n > 0 && sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		perror("ovlforge: sendto");
}

int main(int argc, char **argv)
{
	struct ovl_secure_config cc;
	struct ovl_secure *sec = NULL;
	struct sockaddr_in to_sa, named_sa;
	struct ovl_addr to_a, named_a;
	uint8_t priv[32], to_pub[32], named_pub[32];
	struct ovl_msg m;
	uint64_t end;
	int fd, i;

	if (argc != 10) {
		fprintf(stderr, "usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB "
				"NAMED_IP NAMED_PORT SECONDS\n");
		return 2;
	}
	if (sodium_init() < 0 || key_from_file(argv[1], priv) < 0 || key_from_b64(argv[5], to_pub) < 0 ||
	    key_from_b64(argv[6], named_pub) < 0 || v4addr(argv[3], argv[4], &to_a, &to_sa) < 0 ||
	    v4addr(argv[7], argv[8], &named_a, &named_sa) < 0)
		return 2;
	memset(&cc, 0, sizeof(cc));
	cc.private_key = priv;
	cc.ns = argv[2];
	cc.ns_len = strlen(argv[2]);
	if (ovl_secure_new(&sec, &cc) < 0) {
		fprintf(stderr, "ovlforge: bad key or namespace\n");
		return 2;
	}
	sodium_memzero(priv, sizeof(priv));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("ovlforge: socket");
		return 1;
	}
	/* "I am a public relay", padded as a PUBLIC node's PING is. */
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PING;
	m.u.ping.flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY;
	m.u.ping.pad_len = 17;
	for (i = 0; i < 3; ++i) {
		randombytes_buf(&m.u.ping.nonce, sizeof(m.u.ping.nonce));
		send_msg(fd, sec, to_pub, &to_sa, &m);
	}
	usleep(300 * 1000);
	/* "I have a live path to this NATed node": an answer to nothing. */
	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_NODES;
	randombytes_buf(&m.u.nodes.txid, sizeof(m.u.nodes.txid));
	m.u.nodes.count = 1;
	memcpy(m.u.nodes.nodes[0].key, named_pub, 32);
	m.u.nodes.nodes[0].addr = named_a;
	m.u.nodes.nodes[0].flags = 0;
	send_msg(fd, sec, to_pub, &to_sa, &m);
	printf("sent PING x3, NODES\n");
	fflush(stdout);
	end = mono_ms() + (uint64_t)atoi(argv[9]) * 1000ull;
	while (mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t buf[OVL_MAX_DATAGRAM], plain[OVL_MAX_PLAINTEXT], sender[32];
		size_t plen = 0;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || buf[0] != OVL_MAGIC)
			continue;
		if (ovl_secure_open(sec, buf, (size_t)n, wall_ns(), sender, plain, sizeof(plain), &plen) ==
			    OVL_ACCEPT &&
		    ovl_msg_decode(&m, plain, plen) == OVL_DECODE_OK)
			printf("rx %s\n", ovl_msg_type_name(m.type));
		fflush(stdout);
	}
	close(fd);
	ovl_secure_free(sec);
	return 0;
}
