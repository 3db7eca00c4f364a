/* ovlflood: floods a node with forged overlay datagrams that name
 * made-up sender keys of enough workbit (doc/protocol.md 4.1): no private
 * key behind them, so each one that reaches a DH fails authentication.
 *
 *   ovlflood IP PORT NAMESPACE WORKBIT SECONDS RATE
 *
 * 512 keys of at least WORKBIT in NAMESPACE are found once (about
 * 2^WORKBIT BLAKE2b each); then datagrams of a PING's size (70 bytes)
 * from them, each with a fresh counter and random bytes for the sealed
 * part, go to IP:PORT at about RATE a second for SECONDS.  Prints the
 * number sent and the number of cookie replies (byte 1 0x41, 70 bytes)
 * received.  For tests only; it sends only to the address it is given. */
#include "crypto/crypto.h"
#include "crypto/workbit.h"
#include "proto/overlay/overlay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { KEYS = 512, BATCH = 32, DGRAM = 70 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long drain(int fd)
{
	uint8_t buf[1500];
	unsigned long long n = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (r == OVL_COOKIE_REPLY_LEN && buf[0] == OVL_MAGIC &&
		    buf[1] == (OVL_VERSION | OVL_HDR_COOKIE))
			++n;
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t keys[KEYS][OVL_KEY_LEN], bufs[BATCH][DGRAM];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to;
	unsigned long long sent = 0, replies = 0, counter;
	double start, end, rate, seconds;
	unsigned workbit, i, k = 0;
	const char *ns;
	int fd, n;

	if (argc != 7) {
		fprintf(stderr, "usage: %s IP PORT NAMESPACE WORKBIT SECONDS RATE\n", argv[0]);
		return 2;
	}
	if (crypto_layer_init() < 0)
		return 1;
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "ovlflood: bad address '%s'\n", argv[1]);
		return 2;
	}
	ns = argv[3];
	workbit = (unsigned)atoi(argv[4]);
	seconds = atof(argv[5]);
	rate = atof(argv[6]);
	if (rate <= 0 || seconds <= 0) {
		fprintf(stderr, "ovlflood: SECONDS and RATE must be positive\n");
		return 2;
	}
	for (i = 0; i < KEYS; ++i)
		do
			randombytes_buf(keys[i], OVL_KEY_LEN);
		while (workbit_of(keys[i], ns, strlen(ns)) < workbit);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("ovlflood: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; ++i) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = DGRAM;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	counter = (unsigned long long)time(NULL) * 1000000000ULL;
	start = now_s();
	end = start + seconds;
	while (now_s() < end) {
		/* Keep to RATE: no batch ahead of its time. */
		if ((double)sent > (now_s() - start) * rate) {
			usleep(500);
			replies += drain(fd);
			continue;
		}
		for (i = 0; i < BATCH; ++i) {
			randombytes_buf(bufs[i], DGRAM);
			bufs[i][0] = OVL_MAGIC;
			bufs[i][1] = OVL_VERSION;
			memcpy(bufs[i] + 2, keys[k], OVL_KEY_LEN);
			k = (k + 1) % KEYS;
			be64_put(bufs[i] + 2 + OVL_KEY_LEN, counter++);
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		replies += drain(fd);
	}
	usleep(200000);
	replies += drain(fd);
	printf("sent %llu replies %llu\n", sent, replies);
	close(fd);
	return 0;
}
