/* hsflood: floods a WireGuard responder with handshake initiations that
 * carry a valid mac1, the load that puts a responder "under load" (each
 * one costs the responder a Diffie-Hellman before it can refuse it).
 *
 *   hsflood IP PORT RESPONDER_PUBKEY SECONDS [FIRST_SOURCE COUNT]
 *
 * A few initiations are made once from random initiator keys (which the
 * responder does not know), each with a random sender index, and sent
 * again and again with sendmmsg as fast as the socket allows, for
 * SECONDS.  With FIRST_SOURCE and COUNT (IPv4: the addresses must be the
 * host's own), it sends from COUNT consecutive source addresses in turn,
 * each with its own initiations, as many clients would.  Prints the
 * number sent and the number of cookie replies received: a responder
 * that has switched to cookies answers with type-3 messages.  For tests
 * only; it sends only to the address it is given. */
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

enum { NMSG = 16, BATCH = 64, MAX_SOURCES = 256 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* NMSG initiations to rpub from random keys and sender indexes. */
static int make_initiations(struct message_handshake_initiation *msgs, const uint8_t rpub[32])
{
	struct noise_static_identity *id = sodium_malloc(sizeof(*id));
	struct noise_handshake hs;
	struct cookie_maker cm;
	uint8_t psk[32] = { 0 };
	int i, ret = 0;

	if (!id)
		return -1;
	cookie_maker_init(&cm, rpub);
	for (i = 0; i < NMSG && !ret; ++i) {
		struct timespec ts;

		memset(id, 0, sizeof(*id));
		x25519_generate(id->static_private);
		x25519_public(id->static_public, id->static_private);
		id->has_identity = true;
		memset(&hs, 0, sizeof(hs));
		if (!noise_handshake_init(&hs, id, rpub, psk)) {
			fprintf(stderr, "hsflood: low-order responder key\n");
			ret = -1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		if (!noise_handshake_create_initiation(&msgs[i], &hs, randombytes_random(), NULL,
						       (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec))
			ret = -1;
		else
			cookie_add_mac_to_packet((uint8_t *)&msgs[i], sizeof(msgs[i]), &cm, 1);
	}
	sodium_memzero(&hs, sizeof(hs));
	sodium_free(id);
	return ret;
}

int main(int argc, char **argv)
{
	static struct message_handshake_initiation msgs[MAX_SOURCES][NMSG];
	static int fds[MAX_SOURCES];
	uint8_t rpub[32];
	struct sockaddr_in6 to6;
	struct sockaddr_in to4, src;
	struct sockaddr *to;
	socklen_t tolen;
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned long long sent = 0, cookies = 0;
	unsigned nsrc = 1, turn = 0;
	double end;
	int i;

	if ((argc != 5 && argc != 7) || crypto_layer_init() < 0) {
		fprintf(stderr, "usage: hsflood IP PORT RESPONDER_PUBKEY SECONDS [FIRST_SOURCE COUNT]\n");
		return 2;
	}
	if (!key_from_base64(rpub, argv[3], strlen(argv[3]))) {
		fprintf(stderr, "hsflood: bad public key\n");
		return 2;
	}
	memset(&to4, 0, sizeof(to4));
	memset(&to6, 0, sizeof(to6));
	memset(&src, 0, sizeof(src));
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
	if (argc == 7) {
		nsrc = (unsigned)atoi(argv[6]);
		src.sin_family = AF_INET;
		if (to->sa_family != AF_INET || inet_pton(AF_INET, argv[5], &src.sin_addr) != 1 ||
		    nsrc < 1 || nsrc > MAX_SOURCES) {
			fprintf(stderr, "hsflood: bad sources '%s' '%s' (IPv4, 1-%d)\n", argv[5],
				argv[6], MAX_SOURCES);
			return 2;
		}
	}
	for (i = 0; i < (int)nsrc; ++i) {
		if (make_initiations(msgs[i], rpub) < 0)
			return 1;
		fds[i] = socket(to->sa_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0 || (argc == 7 && bind(fds[i], (struct sockaddr *)&src, sizeof(src)) < 0) ||
		    connect(fds[i], to, tolen) < 0) {
			perror("hsflood: socket");
			return 1;
		}
		src.sin_addr.s_addr = htonl(ntohl(src.sin_addr.s_addr) + 1);
	}
	for (i = 0; i < BATCH; ++i) {
		iov[i].iov_len = sizeof(msgs[0][0]);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	end = now_s() + atof(argv[4]);
	while (now_s() < end) {
		unsigned s = turn++ % nsrc;
		uint8_t buf[256];
		ssize_t n;
		int r;

		for (i = 0; i < BATCH; ++i)
			iov[i].iov_base = &msgs[s][i % NMSG];
		r = sendmmsg(fds[s], mm, BATCH, 0);
		if (r > 0)
			sent += (unsigned long long)r;
		else if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED)
			usleep(100);
		while ((n = recv(fds[s], buf, sizeof(buf), 0)) > 0)
			if (n == sizeof(struct message_handshake_cookie) && buf[0] == MESSAGE_HANDSHAKE_COOKIE)
				++cookies;
	}
	printf("sent %llu cookies %llu\n", sent, cookies);
	for (i = 0; i < (int)nsrc; ++i)
		close(fds[i]);
	return 0;
}
