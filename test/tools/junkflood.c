/* junkflood: the mixed hostile traffic of the soak benchmark (bench/soak.sh)
 * at a `wh up` member, as fast as one socket and one core allow.
 *
 *   WH_TARGET_PUBKEY=KEY junkflood IP PORT NAMESPACE WORKBIT SECONDS [SPOOF_CIDR4]
 *
 * (KEY: the target's public key, in either base64 form, to which the replayed PINGs are
 * sealed.)
 * Every batch of datagrams cycles through five kinds:
 *   junk     random bytes, 1-1400 of them, the first byte one of 1, 2, 3,
 *            4, 0xfe, 0xff or random (every type's parser, truncated and
 *            oversized);
 *   forged   overlay datagrams from made-up sender keys that meet the
 *            workbit (found by hashing, no X25519: what an attacker pays),
 *            a random counter and a random sealed part (each costs the
 *            receiver a DH unless it guards against it);
 *   replayed overlay PINGs sealed once to the target under a real key of
 *            enough workbit, sent again and again (the secure layer's
 *            replay window);
 *   data     WireGuard data messages with random receiver indices;
 *   channel  relay channel headers (0xfe) in both directions with random
 *            channel numbers and a WireGuard initiation-sized body.
 * WH_JUNK_KINDS (a comma-separated list of those names) sends only those
 * kinds, to tell which costs the target what.
 * With SPOOF_CIDR4 (an IPv4 prefix such as 198.18.128.0/17) every datagram
 * leaves from a random address of it (IP_TRANSPARENT and IP_PKTINFO: the
 * lab routes the answers nowhere); else from the socket's own address.
 *
 * Prints what it sent, per kind and in all.  For benchmarks and tests only;
 * it sends only to the address it is given. */
#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/overlay.h"
#include "proto/overlay/secure.h"

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

enum { BATCH = 64, FORGED_KEYS = 64, REPLAYS = 16, KINDS = 5, MAXLEN = 1400 };

static const char *const kind_name[KINDS] = { "junk", "forged", "replayed", "data", "channel" };

struct flood {
	int fd;
	struct sockaddr_in to;
	bool spoof;
	uint32_t spoof_net, spoof_mask;
	uint8_t forged[FORGED_KEYS][OVL_KEY_LEN];
	uint8_t replay[REPLAYS][OVL_MAX_DATAGRAM];
	size_t replay_len[REPLAYS];
	unsigned long long sent[KINDS], bytes[KINDS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Made-up sender keys of enough workbit: hashing only. */
static void find_forged_keys(struct flood *f, const char *ns, unsigned workbit)
{
	for (unsigned i = 0; i < FORGED_KEYS; i++) {
		do
			randombytes_buf(f->forged[i], OVL_KEY_LEN);
		while (workbit_of(f->forged[i], ns, strlen(ns)) < workbit);
	}
}

/* A real key of enough workbit, and PINGs sealed under it to the target
 * once: replaying them is all the flood does with them. */
static int seal_replays(struct flood *f, const uint8_t target[OVL_KEY_LEN], const char *ns,
			unsigned workbit)
{
	struct ovl_secure_config cfg = { .ns = ns, .ns_len = strlen(ns) };
	uint8_t sk[32], pk[32], plain[OVL_MAX_PLAINTEXT];
	struct ovl_secure *sec;
	struct ovl_msg m;
	int r = 0;

	do {
		randombytes_buf(sk, sizeof(sk));
		crypto_scalarmult_base(pk, sk);
	} while (workbit_of(pk, ns, strlen(ns)) < workbit);
	cfg.private_key = sk;
	if (ovl_secure_new(&sec, &cfg) < 0)
		return -1;
	for (unsigned i = 0; i < REPLAYS && r == 0; i++) {
		long pl, dl;

		memset(&m, 0, sizeof(m));
		m.type = OVL_MSG_PING;
		randombytes_buf(&m.u.ping.nonce, sizeof(m.u.ping.nonce));
		pl = ovl_msg_encode(plain, sizeof(plain), &m);
		dl = pl < 0 ? pl : ovl_secure_seal(sec, target, plain, (size_t)pl, wall_ns(),
						    f->replay[i], sizeof(f->replay[i]));
		if (dl < 0)
			r = -1;
		else
			f->replay_len[i] = (size_t)dl;
	}
	ovl_secure_free(sec);
	sodium_memzero(sk, sizeof(sk));
	return r;
}

/* One datagram of the given kind into buf; its length. */
static size_t make(struct flood *f, unsigned kind, uint8_t *buf)
{
	static const uint8_t first[] = { 1, 2, 3, 4, 0xfe, 0xff, 0 };
	uint32_t r = randombytes_random();
	size_t len;

	switch (kind) {
	case 0:
		len = 1 + r % MAXLEN;
		randombytes_buf(buf, len);
		if (r % 7 != 6)
			buf[0] = first[r % 7];
		return len;
	case 1:
		len = OVL_OVERHEAD + 1 + r % 200;
		randombytes_buf(buf, len);
		buf[0] = OVL_MAGIC;
		buf[1] = OVL_VERSION;
		memcpy(buf + 2, f->forged[r % FORGED_KEYS], OVL_KEY_LEN);
		return len;
	case 2:
		len = f->replay_len[r % REPLAYS];
		memcpy(buf, f->replay[r % REPLAYS], len);
		return len;
	case 3:
		len = 32 + 16 * (r % 80);
		randombytes_buf(buf, len);
		buf[0] = 4;
		buf[1] = buf[2] = buf[3] = 0;
		return len;
	default:
		len = OVL_CHAN_HEADER_LEN + 148;
		randombytes_buf(buf, len);
		ovl_chan_write(buf, r & 1 ? OVL_CHAN_TO_RELAY : OVL_CHAN_FROM_RELAY, randombytes_random());
		buf[OVL_CHAN_HEADER_LEN] = 1;
		return len;
	}
}

static int parse_cidr(const char *s, uint32_t *net, uint32_t *mask)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	long bits;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	bits = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, ip, &a) != 1 || bits < 8 || bits > 30)
		return -1;
	*mask = ~0u << (32 - bits);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][MAXLEN + OVL_MAX_DATAGRAM];
	static char cmsgs[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned kinds[BATCH], use[KINDS], n_use = 0;
	const char *only = getenv("WH_JUNK_KINDS");
	uint8_t target[OVL_KEY_LEN];
	const char *pub = getenv("WH_TARGET_PUBKEY");
	struct flood *f;
	unsigned long long total = 0, total_bytes = 0, errors = 0;
	double start, end, secs;
	unsigned workbit, k = 0;
	int one = 1;

	if (argc < 6 || argc > 7 || sodium_init() < 0 || !pub) {
		fprintf(stderr, "usage: WH_TARGET_PUBKEY=KEY junkflood IP PORT NAMESPACE WORKBIT SECONDS "
				"[SPOOF_CIDR4]\n");
		return 2;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return 1;
	if (!key_from_base64(target, pub, strlen(pub))) {
		fprintf(stderr, "junkflood: WH_TARGET_PUBKEY is not a base64 key\n");
		return 2;
	}
	if (only && !*only)
		only = NULL;
	for (unsigned i = 0; i < KINDS; i++) {
		size_t l = strlen(kind_name[i]);
		const char *p = only;

		while (p && (p = strstr(p, kind_name[i])) &&
		       !((p == only || p[-1] == ',') && (p[l] == ',' || !p[l])))
			p += l;
		if (!only || p)
			use[n_use++] = i;
	}
	if (!n_use) {
		fprintf(stderr, "junkflood: WH_JUNK_KINDS names none of junk, forged, replayed, data, channel\n");
		return 2;
	}
	f->to.sin_family = AF_INET;
	f->to.sin_port = htons((uint16_t)atoi(argv[2]));
	workbit = (unsigned)atoi(argv[4]);
	secs = atof(argv[5]);
	if (inet_pton(AF_INET, argv[1], &f->to.sin_addr) != 1 || !f->to.sin_port || secs <= 0 ||
	    workbit > 24 || !argv[3][0]) {
		fprintf(stderr, "junkflood: bad IP, port, seconds or workbit (0-24)\n");
		return 2;
	}
	if (argc == 7) {
		if (parse_cidr(argv[6], &f->spoof_net, &f->spoof_mask) < 0) {
			fprintf(stderr, "junkflood: bad SPOOF_CIDR4 '%s' (a.b.c.d/8..30)\n", argv[6]);
			return 2;
		}
		f->spoof = true;
	}
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || (f->spoof && setsockopt(f->fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0)) {
		fprintf(stderr, "junkflood: socket: %s\n", strerror(errno));
		return 1;
	}
	find_forged_keys(f, argv[3], workbit);
	if (seal_replays(f, target, argv[3], workbit) < 0) {
		fprintf(stderr, "junkflood: cannot seal the PINGs to replay\n");
		return 1;
	}

	start = now_s();
	end = start + secs;
	while (now_s() < end) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (unsigned i = 0; i < BATCH; i++) {
			kinds[i] = use[k++ % n_use];
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = make(f, kinds[i], bufs[i]);
			mm[i].msg_hdr.msg_name = &f->to;
			mm[i].msg_hdr.msg_namelen = sizeof(f->to);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			if (f->spoof) {
				struct cmsghdr *c;
				struct in_pktinfo pi;
				uint32_t host = randombytes_random() & ~f->spoof_mask;

				memset(&pi, 0, sizeof(pi));
				pi.ipi_spec_dst.s_addr = htonl(f->spoof_net | (host ? host : 1));
				mm[i].msg_hdr.msg_control = cmsgs[i];
				mm[i].msg_hdr.msg_controllen = sizeof(cmsgs[i]);
				c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
				c->cmsg_level = IPPROTO_IP;
				c->cmsg_type = IP_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			}
		}
		n = sendmmsg(f->fd, mm, BATCH, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED && ++errors == 1)
				fprintf(stderr, "junkflood: sendmmsg: %s\n", strerror(errno));
			continue;
		}
		for (int i = 0; i < n; i++) {
			f->sent[kinds[i]]++;
			f->bytes[kinds[i]] += iov[i].iov_len;
		}
	}
	secs = now_s() - start;
	for (unsigned i = 0; i < KINDS; i++) {
		printf("%s %llu datagrams %llu bytes\n", kind_name[i], f->sent[i], f->bytes[i]);
		total += f->sent[i];
		total_bytes += f->bytes[i];
	}
	printf("total %llu datagrams %llu bytes in %.1f s: %.0f datagrams/s %.1f Mbit/s%s\n", total,
	       total_bytes, secs, total / secs, total_bytes * 8 / secs / 1e6,
	       f->spoof ? " (spoofed sources)" : "");
	free(f);
	return total ? 0 : 1;
}
