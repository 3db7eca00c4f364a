/* relayforge: a hostile overlay node at a relay, for the network tests
 * (issue 17, findings 5 and 7; test/net/relayopen.sh).  Two verbs:
 *
 *   relayforge open KEYFILE NAMESPACE RELAY_IP RELAY_PORT RELAY_PUB DST_PUB COUNT
 *
 * Under the key in KEYFILE (one no member named) it asks the relay for a
 * channel to DST, prints the answer ("bound DENIED", "bound OK 1234",
 * "bound none"), then sends COUNT RELAYs to DST that carry a WireGuard
 * handshake initiation of random bytes (its mac1 is wrong, so a
 * WireGuard that reads one counts it invalid), and, when the channel was
 * bound, COUNT such initiations in the channel.
 *
 *   relayforge fill NAMESPACE WORKBIT RELAY_IP RELAY_PORT RELAY_PUB DST_IP SRC_IPS NDST NKEYS
 *                   [MEMBER_PUB]
 *
 * Fills a relay's channel table as an attacker who runs a network of its
 * own can: NDST keys of its own, from DST_IP (one socket each), PING the
 * relay as NATed nodes, answer its PINGs back (so that it holds a live,
 * validated path to each) and register PEERS naming NKEYS keys of its
 * own; then each of those, from the addresses of SRC_IPS (comma-separated,
 * taken in turn, one socket per key), asks a channel to every one of the
 * NDST keys, and first to MEMBER_PUB (a member of another network, which
 * named none of them).  New keys are paced within the relay's DH budget
 * per source address (doc/protocol.md 4.1: 20 a second, a burst of 40).
 * Prints what the relay answered, by status.  Keys are made here, of at
 * least WORKBIT in NAMESPACE.
 *
 * For tests only: it sends only to the relay it is given. */
#include "forge.h"

#include "crypto/workbit.h"
#include "proto/overlay/addr.h"
#include "proto/overlay/codec.h"
#include "proto/overlay/peerfilter.h"
#include "proto/overlay/secure.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	INIT_LEN = 148,			/* a WireGuard handshake initiation */
	PING_NATED_PAD = 2 * OVL_PONG_LEN - OVL_PING_LEN,	/* pays for a PONG and a PING back */
	BIND_PAD = OVL_CHANNEL_BOUND_LEN - OVL_CHANNEL_BIND_LEN,	/* as long as its answer */
	MAX_IDENTS = 900,		/* one socket each */
	MAX_SRC_IPS = 16,
	STATUSES = OVL_CHANNEL_DENIED + 1,
	/* New keys per source address: within the relay's DH budget
	 * (OVL_SECURE_DH_SOURCE_RATE, _BURST) with room to spare. */
	NEW_KEY_BURST = 30,
	NEW_KEY_MS = 1000 / 15,
};

static const char *const status_names[STATUSES] = {
	"ok", "off", "no_path", "bad", "full", "denied",
};

/* One key of ours with its socket. */
struct ident {
	struct ovl_secure *sec;
	uint8_t pub[32];
	int fd;
	int state;			/* a dst: 0, 1 PINGed, 2 answered the relay's PING;
					 * a src: 0, 1 first bind sent, 2 all sent */
	uint64_t sent_ms;
};

static struct ident *ident_new(struct ident *id, const char *ns, unsigned workbit,
			       const uint8_t *priv_in, const char *bind_ip)
{
	uint8_t priv[32];
	struct sockaddr_in sa;

	memset(id, 0, sizeof(*id));
	id->fd = -1;
	if (priv_in) {
		memcpy(priv, priv_in, 32);
	} else {
		do {
			randombytes_buf(priv, sizeof(priv));
			crypto_scalarmult_base(id->pub, priv);
		} while (workbit_of(id->pub, ns, strlen(ns)) < workbit);
	}
	id->sec = forge_secure_new(priv, ns);
	sodium_memzero(priv, sizeof(priv));
	if (!id->sec)
		return NULL;
	ovl_secure_public_key(id->sec, id->pub);
	id->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (id->fd < 0 || (bind_ip && (forge_v4addr(bind_ip, "0", NULL, &sa) < 0 ||
				       bind(id->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0))) {
		perror("relayforge: socket");
		return NULL;
	}
	return id;
}

static void ident_free(struct ident *id)
{
	if (id->fd >= 0)
		close(id->fd);
	ovl_secure_free(id->sec);
}

static long send_bind(struct ident *id, const uint8_t relay[32], const struct sockaddr_in *sa,
		      const uint8_t dst[32])
{
	struct ovl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_CHANNEL_BIND;
	memcpy(m.u.channel_bind.dst, dst, 32);
	m.u.channel_bind.pad_len = BIND_PAD;
	return forge_send(id->fd, id->sec, relay, sa, &m);
}

/* A handshake initiation of random bytes: type 1, three zero bytes. */
static void fake_initiation(uint8_t out[INIT_LEN])
{
	randombytes_buf(out, INIT_LEN);
	out[0] = 1;
	out[1] = out[2] = out[3] = 0;
}

/* ---- open: one stranger's key ---- */

static int cmd_open(char **argv)
{
	uint8_t priv[32], relay[32], dst[32], dgram[OVL_CHAN_HEADER_LEN + INIT_LEN];
	struct sockaddr_in rsa;
	struct ident x;
	struct ovl_msg m;
	int status = -1, count = atoi(argv[7]), i, tries;
	uint32_t channel = 0;

	if (forge_key_from_file(argv[1], priv) < 0 || forge_v4addr(argv[3], argv[4], NULL, &rsa) < 0 ||
	    forge_key_from_b64(argv[5], relay) < 0 || forge_key_from_b64(argv[6], dst) < 0)
		return 2;
	if (!ident_new(&x, argv[2], 0, priv, NULL)) {
		sodium_memzero(priv, sizeof(priv));
		ident_free(&x);
		return 1;
	}
	sodium_memzero(priv, sizeof(priv));
	/* The channel: asked up to three times, a second apart. */
	for (tries = 0; tries < 3 && status < 0; ++tries) {
		uint64_t end = forge_mono_ms() + 1000;

		send_bind(&x, relay, &rsa, dst);
		while (status < 0 && forge_mono_ms() < end) {
			struct pollfd p = { .fd = x.fd, .events = POLLIN };
			struct sockaddr_in from;
			uint8_t sender[32];

			if (poll(&p, 1, 50) > 0 && forge_recv(x.fd, x.sec, sender, &m, &from) > 0 &&
			    m.type == OVL_MSG_CHANNEL_BOUND && !memcmp(m.u.channel_bound.dst, dst, 32)) {
				status = m.u.channel_bound.status;
				channel = m.u.channel_bound.channel;
			}
		}
	}
	if (status < 0)
		printf("bound none\n");
	else if (status == OVL_CHANNEL_OK)
		printf("bound OK %u\n", (unsigned)channel);
	else
		printf("bound %s\n", status < STATUSES ? status_names[status] : "unknown");
	fflush(stdout);
	/* The initiations, wrapped in RELAY. */
	for (i = 0; i < count; ++i) {
		memset(&m, 0, sizeof(m));
		m.type = OVL_MSG_RELAY;
		memcpy(m.u.relay.dst, dst, 32);
		m.u.relay.frag.count = 1;
		fake_initiation(dgram);
		m.u.relay.payload = dgram;
		m.u.relay.payload_len = INIT_LEN;
		forge_send(x.fd, x.sec, relay, &rsa, &m);
		usleep(2000);
	}
	printf("relay sent %d\n", count);
	/* And in the channel, if we got one. */
	if (status == OVL_CHANNEL_OK) {
		for (i = 0; i < count; ++i) {
			ovl_chan_write(dgram, OVL_CHAN_TO_RELAY, channel);
			fake_initiation(dgram + OVL_CHAN_HEADER_LEN);
			if (sendto(x.fd, dgram, sizeof(dgram), 0, (struct sockaddr *)&rsa, sizeof(rsa)) < 0)
				perror("relayforge: sendto");
			usleep(2000);
		}
		printf("channel sent %d\n", count);
	}
	ident_free(&x);
	return 0;
}

/* ---- fill: an attacker's network of its own ---- */

struct fill {
	uint8_t relay[32], member[32];
	bool has_member;
	struct sockaddr_in rsa;
	struct ident *ids;		/* ndst destinations, then nkeys sources */
	unsigned ndst, nkeys, nsrc_ips;
	struct pollfd *pfds;
	unsigned long long answers[STATUSES + 1], binds;
	unsigned dst_ready;
};

/* A dst's PEERS: every source key of ours. */
static void send_peers(struct fill *f, struct ident *d)
{
	uint8_t salt[16];
	struct ovl_msg m;
	unsigned k;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PEERS;
	randombytes_buf(salt, sizeof(salt));
	ovl_peerfilter_init(&m.u.peers, f->nkeys, salt);
	for (k = 0; k < f->nkeys; ++k)
		ovl_peerfilter_add(&m.u.peers, f->ids[f->ndst + k].pub);
	forge_send(d->fd, d->sec, f->relay, &f->rsa, &m);
}

static void send_ping(struct fill *f, struct ident *d)
{
	struct ovl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVL_MSG_PING;
	m.u.ping.flags = 0;	/* behind a NAT: the relay PINGs us back */
	m.u.ping.pad_len = PING_NATED_PAD;
	randombytes_buf(&m.u.ping.nonce, sizeof(m.u.ping.nonce));
	forge_send(d->fd, d->sec, f->relay, &f->rsa, &m);
}

/* What the relay sent one of our keys: its PINGs answered, its
 * CHANNEL_BOUNDs counted. */
static void take(struct fill *f, unsigned i)
{
	struct ident *id = &f->ids[i];
	struct sockaddr_in from;
	uint8_t sender[32];
	struct ovl_msg m, r;
	int got;

	while ((got = forge_recv(id->fd, id->sec, sender, &m, &from)) >= 0) {
		if (!got || memcmp(sender, f->relay, 32))
			continue;
		if (m.type == OVL_MSG_PING) {
			memset(&r, 0, sizeof(r));
			r.type = OVL_MSG_PONG;
			r.u.pong.nonce = m.u.ping.nonce;
			r.u.pong.flags = 0;
			forge_v4addr(inet_ntoa(from.sin_addr), "0", &r.u.pong.observed, NULL);
			r.u.pong.observed.port = ntohs(from.sin_port);
			forge_send(id->fd, id->sec, f->relay, &f->rsa, &r);
			if (i < f->ndst && id->state < 2) {
				id->state = 2;
				++f->dst_ready;
				send_peers(f, id);
			}
		} else if (m.type == OVL_MSG_CHANNEL_BOUND) {
			unsigned s = m.u.channel_bound.status;

			++f->answers[s < STATUSES ? s : STATUSES];
			if (i >= f->ndst && id->state == 1)
				id->state = 3;	/* admitted: the rest may go */
		}
	}
}

static void poll_all(struct fill *f, int ms)
{
	unsigned i, n = f->ndst + f->nkeys;

	if (poll(f->pfds, n, ms) <= 0)
		return;
	for (i = 0; i < n; ++i)
		if (f->pfds[i].revents & POLLIN)
			take(f, i);
}

static int fill_run(struct fill *f)
{
	uint64_t end, now, last_new[MAX_SRC_IPS];
	unsigned tokens[MAX_SRC_IPS], i, k, done = 0, d;

	/* 1. Our destinations: a live, validated path at the relay each,
	 * and PEERS naming our keys. */
	end = forge_mono_ms() + 8000;
	while (f->dst_ready < f->ndst && (now = forge_mono_ms()) < end) {
		for (i = 0; i < f->ndst; ++i) {
			struct ident *d0 = &f->ids[i];

			if (d0->state < 2 && now - d0->sent_ms >= 1000) {
				d0->state = 1;
				d0->sent_ms = now;
				send_ping(f, d0);
			}
		}
		poll_all(f, 20);
	}
	printf("destinations ready %u of %u\n", f->dst_ready, f->ndst);
	fflush(stdout);
	/* 2. Every key binds to every destination: its first CHANNEL_BIND
	 * alone (it costs the relay a DH), the rest once that one was
	 * answered. */
	for (i = 0; i < f->nsrc_ips; ++i) {
		tokens[i] = NEW_KEY_BURST;
		last_new[i] = forge_mono_ms();
	}
	end = forge_mono_ms() + 30000;
	while (done < f->nkeys && (now = forge_mono_ms()) < end) {
		for (k = 0; k < f->nkeys; ++k) {
			struct ident *s = &f->ids[f->ndst + k];
			unsigned a = k % f->nsrc_ips;

			if (now - last_new[a] >= NEW_KEY_MS) {
				tokens[a] += (unsigned)((now - last_new[a]) / NEW_KEY_MS);
				if (tokens[a] > NEW_KEY_BURST)
					tokens[a] = NEW_KEY_BURST;
				last_new[a] = now;
			}
			if ((s->state == 0 && tokens[a]) || (s->state == 1 && now - s->sent_ms >= 1000)) {
				if (s->state == 0)
					--tokens[a];
				s->state = 1;
				s->sent_ms = now;
				send_bind(s, f->relay, &f->rsa, f->has_member ? f->member : f->ids[0].pub);
				++f->binds;
			} else if (s->state == 3) {
				for (d = f->has_member ? 0 : 1; d < f->ndst; ++d) {
					send_bind(s, f->relay, &f->rsa, f->ids[d].pub);
					++f->binds;
				}
				s->state = 2;
				++done;
			}
		}
		poll_all(f, 2);
	}
	/* The last answers. */
	end = forge_mono_ms() + 1500;
	while (forge_mono_ms() < end)
		poll_all(f, 50);
	printf("keys %u of %u, binds %llu, answered:", done, f->nkeys, f->binds);
	for (i = 0; i < STATUSES; ++i)
		printf(" %s %llu", status_names[i], f->answers[i]);
	printf(" other %llu\n", f->answers[STATUSES]);
	return done == f->nkeys && f->dst_ready == f->ndst ? 0 : 1;
}

static int cmd_fill(int argc, char **argv)
{
	char *src_ips[MAX_SRC_IPS], *save = NULL, *tok;
	unsigned workbit = (unsigned)atoi(argv[2]), i, n;
	struct fill f;
	int ret = 1;

	memset(&f, 0, sizeof(f));
	f.ndst = (unsigned)atoi(argv[8]);
	f.nkeys = (unsigned)atoi(argv[9]);
	if (forge_v4addr(argv[3], argv[4], NULL, &f.rsa) < 0 || forge_key_from_b64(argv[5], f.relay) < 0 ||
	    (argc > 10 && forge_key_from_b64(argv[10], f.member) < 0))
		return 2;
	f.has_member = argc > 10;
	for (tok = strtok_r(argv[7], ",", &save); tok && f.nsrc_ips < MAX_SRC_IPS;
	     tok = strtok_r(NULL, ",", &save))
		src_ips[f.nsrc_ips++] = tok;
	if (!f.ndst || !f.nkeys || f.ndst + f.nkeys > MAX_IDENTS || !f.nsrc_ips) {
		fprintf(stderr, "relayforge: NDST and NKEYS from 1, at most %u in all; SRC_IPS\n",
			MAX_IDENTS);
		return 2;
	}
	n = f.ndst + f.nkeys;
	f.ids = calloc(n, sizeof(*f.ids));
	f.pfds = calloc(n, sizeof(*f.pfds));
	if (!f.ids || !f.pfds)
		goto out;
	for (i = 0; i < n; ++i) {
		if (!ident_new(&f.ids[i], argv[1], workbit, NULL,
			       i < f.ndst ? argv[6] : src_ips[(i - f.ndst) % f.nsrc_ips]))
			goto out;
		f.pfds[i].fd = f.ids[i].fd;
		f.pfds[i].events = POLLIN;
	}
	ret = fill_run(&f);
out:
	if (f.ids)
		for (i = 0; i < n; ++i)
			if (f.ids[i].sec)
				ident_free(&f.ids[i]);
	free(f.ids);
	free(f.pfds);
	return ret;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 9 && !strcmp(argv[1], "open"))
		return cmd_open(argv + 1);
	if ((argc == 11 || argc == 12) && !strcmp(argv[1], "fill"))
		return cmd_fill(argc - 1, argv + 1);
	fprintf(stderr, "usage: relayforge open KEYFILE NAMESPACE RELAY_IP RELAY_PORT RELAY_PUB DST_PUB COUNT\n"
			"       relayforge fill NAMESPACE WORKBIT RELAY_IP RELAY_PORT RELAY_PUB DST_IP SRC_IPS "
			"NDST NKEYS [MEMBER_PUB]\n");
	return 2;
}
