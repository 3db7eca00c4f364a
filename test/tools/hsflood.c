/* hsflood: floods a WireGuard responder with handshake initiations that
 * carry a valid mac1, the load that puts a responder "under load" (each
 * one costs the responder a Diffie-Hellman before it can refuse it).
 *
 *   hsflood IP PORT RESPONDER_PUBKEY SECONDS
 *
 * A few initiations are made once from random initiator keys (which the
 * responder does not know) and sent again and again with sendmmsg as fast
 * as the socket allows, for SECONDS.  Prints the number sent and the
 * number of cookie replies received: a responder that has switched to
 * cookies answers with type-3 messages.  For tests only; it sends only to
 * the address it is given. */
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/x25519.h"
#include "proto/wg/cookie.h"
#include "proto/wg/noise.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { NMSG = 16, BATCH = 64 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct message_handshake_initiation msgs[NMSG];
	struct noise_static_identity *id;
	struct noise_handshake hs;
	struct cookie_maker cm;
	uint8_t rpub[32], psk[32] = { 0 };
	struct sockaddr_in6 to6;
	struct sockaddr_in to4;
	struct sockaddr *to;
	socklen_t tolen;
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned long long sent = 0, cookies = 0;
	double end;
	int fd, i;

	if (argc != 5 || crypto_layer_init() < 0) {
		fprintf(stderr, "usage: hsflood IP PORT RESPONDER_PUBKEY SECONDS\n");
		return 2;
	}
	if (!key_from_base64(rpub, argv[3], strlen(argv[3]))) {
		fprintf(stderr, "hsflood: bad public key\n");
		return 2;
	}
	memset(&to4, 0, sizeof(to4));
	memset(&to6, 0, sizeof(to6));
	if (inet_pton(AF_INET, argv[1], &to4.sin_addr) == 1) {
		to4.sin_family = AF_INET;
		to4.sin_port = htons((uint16_t)atoi(argv[2]));
		to = (struct sockaddr *)&to4;
		tolen = sizeof(to4);
	} else if (inet_pton(AF_INET6, argv[1], &to6.sin6_addr) == 1) {
		to6.sin6_family = AF_INET6;
		to6.sin6_port = htons((uint16_t)atoi(argv[2]));
		to = (struct sockaddr *)&to6;
		tolen = sizeof(to6);
	} else {
		fprintf(stderr, "hsflood: bad address '%s'\n", argv[1]);
		return 2;
	}

	id = sodium_malloc(sizeof(*id));
	cookie_maker_init(&cm, rpub);
	for (i = 0; i < NMSG; ++i) {
		struct timespec ts;

		memset(id, 0, sizeof(*id));
		x25519_generate(id->static_private);
		x25519_public(id->static_public, id->static_private);
		id->has_identity = true;
		memset(&hs, 0, sizeof(hs));
		if (!noise_handshake_init(&hs, id, rpub, psk)) {
			fprintf(stderr, "hsflood: low-order responder key\n");
			return 1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		if (!noise_handshake_create_initiation(&msgs[i], &hs, (uint32_t)i + 1, NULL,
						       (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec))
			return 1;
		cookie_add_mac_to_packet((uint8_t *)&msgs[i], sizeof(msgs[i]), &cm, 1);
	}
	sodium_free(id);

	fd = socket(to->sa_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, to, tolen) < 0) {
		perror("hsflood: socket");
		return 1;
	}
	for (i = 0; i < BATCH; ++i) {
		iov[i].iov_base = &msgs[i % NMSG];
		iov[i].iov_len = sizeof(msgs[0]);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	end = now_s() + atof(argv[4]);
	while (now_s() < end) {
		uint8_t buf[256];
		ssize_t n;
		int r = sendmmsg(fd, mm, BATCH, 0);

		if (r > 0)
			sent += (unsigned long long)r;
		else if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED)
			usleep(100);
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			if (n == sizeof(struct message_handshake_cookie) && buf[0] == MESSAGE_HANDSHAKE_COOKIE)
				++cookies;
	}
	printf("sent %llu cookies %llu\n", sent, cookies);
	close(fd);
	return 0;
}
