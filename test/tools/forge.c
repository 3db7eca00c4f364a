/* See forge.h. */
#include "forge.h"

#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/secure.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

uint64_t forge_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t forge_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

int forge_key_from_b64(const char *s, uint8_t out[32])
{
	size_t len = 0;

	if ((sodium_base642bin(out, 32, s, strlen(s), " \n", &len, NULL,
			       sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 || len != 32) &&
	    (sodium_base642bin(out, 32, s, strlen(s), " \n", &len, NULL,
			       sodium_base64_VARIANT_ORIGINAL) < 0 || len != 32)) {
		fprintf(stderr, "forge: bad key '%s'\n", s);
		return -1;
	}
	return 0;
}

int forge_key_from_file(const char *path, uint8_t out[32])
{
	char buf[128];
	FILE *f = fopen(path, "r");
	int ret = -1;

	if (!f) {
		fprintf(stderr, "forge: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, sizeof(buf), f))
		ret = forge_key_from_b64(buf, out);
	fclose(f);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int forge_v4addr(const char *ip, const char *port, struct ovl_addr *a, struct sockaddr_in *sa)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &s.sin_addr) != 1) {
		fprintf(stderr, "forge: bad address '%s'\n", ip);
		return -1;
	}
	if (sa)
		*sa = s;
	if (a) {
		memset(a, 0, sizeof(*a));
		a->family = OVL_AF_INET;
		memcpy(a->ip, &s.sin_addr, 4);
		a->port = ntohs(s.sin_port);
	}
	return 0;
}

struct ovl_secure *forge_secure_new(const uint8_t priv[32], const char *ns)
{
	struct ovl_secure_config cc;
	struct ovl_secure *sec = NULL;

	memset(&cc, 0, sizeof(cc));
	cc.private_key = priv;
	cc.ns = ns;
	cc.ns_len = strlen(ns);
	cc.capacity = 4;	/* a tool's key talks to one or two nodes */
	if (ovl_secure_new(&sec, &cc) < 0) {
		fprintf(stderr, "forge: bad key or namespace '%s'\n", ns);
		return NULL;
	}
	return sec;
}

long forge_send(int fd, struct ovl_secure *sec, const uint8_t to[32], const struct sockaddr_in *sa,
		const struct ovl_msg *m)
{
	uint8_t plain[OVL_MAX_PLAINTEXT], buf[OVL_MAX_DATAGRAM];
	long plen = ovl_msg_encode(plain, sizeof(plain), m), n;

	if (plen < 0)
		return -1;
	n = ovl_secure_seal(sec, to, plain, (size_t)plen, forge_wall_ns(), buf, sizeof(buf));
	if (n < 0)
		return -1;
	if (sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("forge: sendto");
		return -1;
	}
	return n;
}

int forge_recv(int fd, struct ovl_secure *sec, uint8_t sender[32], struct ovl_msg *m,
	       struct sockaddr_in *from)
{
	static uint8_t buf[OVL_MAX_DATAGRAM + 1], plain[OVL_MAX_PLAINTEXT];
	socklen_t flen = sizeof(*from);
	size_t plen = 0;
	ssize_t n;

	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)from, &flen);
	if (n < 0)
		return -1;
	if (n == 0 || buf[0] != OVL_MAGIC)
		return 0;
	if (ovl_secure_open(sec, buf, (size_t)n, forge_wall_ns(), sender, plain, sizeof(plain), &plen) !=
	    OVL_ACCEPT)
		return 0;
	return ovl_msg_decode(m, plain, plen) == OVL_DECODE_OK;
}
