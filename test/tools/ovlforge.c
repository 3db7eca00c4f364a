/* ovlforge: a hostile overlay node for the network tests (issue 17,
 * finding 2).  Under its own key it PINGs a node claiming PUBLIC|RELAY,
 * sends it a NODES that answers nothing (a made-up txid) naming another
 * key as a NATed node it has a path to, then prints the type of every
 * overlay message it gets for a while, one a line ("rx CHANNEL_BIND").
 *
 * Usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB NAMED_IP
 *                 NAMED_PORT SECONDS
 * KEYFILE holds a private key as `wh genkey` writes it; keys are base64. */
#include "forge.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/secure.h"

#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ovl_secure *sec;
	struct sockaddr_in to_sa;
	struct ovl_addr named_a;
	uint8_t priv[32], to_pub[32], named_pub[32];
	struct ovl_msg m;
	uint64_t end;
	int fd, i;

	if (argc != 10) {
		fprintf(stderr, "usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB "
				"NAMED_IP NAMED_PORT SECONDS\n");
		return 2;
	}
	if (sodium_init() < 0 || forge_key_from_file(argv[1], priv) < 0 ||
	    forge_key_from_b64(argv[5], to_pub) < 0 || forge_key_from_b64(argv[6], named_pub) < 0 ||
	    forge_v4addr(argv[3], argv[4], NULL, &to_sa) < 0 ||
	    forge_v4addr(argv[7], argv[8], &named_a, NULL) < 0)
		return 2;
	sec = forge_secure_new(priv, argv[2]);
	sodium_memzero(priv, sizeof(priv));
	if (!sec)
		return 2;
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
		forge_send(fd, sec, to_pub, &to_sa, &m);
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
	forge_send(fd, sec, to_pub, &to_sa, &m);
	printf("sent PING x3, NODES\n");
	fflush(stdout);
	end = forge_mono_ms() + (uint64_t)atoi(argv[9]) * 1000ull;
	while (forge_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		uint8_t sender[32];

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (forge_recv(fd, sec, sender, &m, &from) > 0)
			printf("rx %s\n", ovl_msg_type_name(m.type));
		fflush(stdout);
	}
	close(fd);
	ovl_secure_free(sec);
	return 0;
}
