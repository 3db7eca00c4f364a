/* The UAPI parser and formatter (src/wg/uapi.c).
 *
 * Every request is parsed into a transcript (one line per answer, with a
 * canonical dump of each set request, addresses written by inet_ntop, not
 * by the code under test), and the same bytes are fed whole, one byte at a
 * time, and split at every position: the transcripts must be identical.
 * The get formatter is compared with text written out by hand from
 * wireguard-go's IpcGetOperation, and its IPv6 text with glibc's inet_ntop
 * on random addresses. */
#include "src/wg/uapi.h"

#include "crypto/encoding.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>

#define KEY_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define KEY_B "c6ab84c95b50c3d97b29376047b1ed27e2f3e1c9c2bcb3d2e51d5f9a1a6ea13d"
#define KEY_C "0000000000000000000000000000000000000000000000000000000000000001"
#define PSK "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"
/* A private key that clamping changes (low bits set, high bit set). */
#define PRIV "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define PRIV_CLAMPED "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static void dump_endpoint(FILE *f, const union wg_sockaddr *ss)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->sa.sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		fprintf(f, " endpoint=%s:%u\n", ip, ntohs(sin->sin_port));
	} else if (ss->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		fprintf(f, " endpoint=[%s]%%%u:%u\n", ip, (unsigned)sin6->sin6_scope_id,
			ntohs(sin6->sin6_port));
	} else {
		fprintf(f, " endpoint=family %d\n", ss->sa.sa_family);
	}
}

static void dump_set(FILE *f, const struct uapi_set *s)
{
	char hex[KEY_HEX_LEN + 1], ip[INET6_ADDRSTRLEN];
	size_t i, j;

	fprintf(f, "SET\n");
	if (s->has_private_key) {
		key_to_hex(hex, s->private_key);
		fprintf(f, "private_key=%s\n", hex);
	}
	if (s->has_listen_port)
		fprintf(f, "listen_port=%u\n", s->listen_port);
	if (s->has_fwmark)
		fprintf(f, "fwmark=%u\n", s->fwmark);
	if (s->replace_peers)
		fprintf(f, "replace_peers\n");
	for (i = 0; i < s->n_peers; ++i) {
		const struct uapi_peer_set *p = &s->peers[i];

		key_to_hex(hex, p->public_key);
		fprintf(f, "peer %s\n", hex);
		if (p->remove)
			fprintf(f, " remove\n");
		if (p->update_only)
			fprintf(f, " update_only\n");
		if (p->has_preshared_key) {
			key_to_hex(hex, p->preshared_key);
			fprintf(f, " preshared_key=%s\n", hex);
		}
		if (p->has_endpoint)
			dump_endpoint(f, &p->endpoint);
		if (p->has_persistent_keepalive)
			fprintf(f, " keepalive=%u\n", p->persistent_keepalive_interval);
		if (p->replace_allowed_ips)
			fprintf(f, " replace_allowed_ips\n");
		for (j = 0; j < p->n_allowed_ips; ++j) {
			const struct uapi_allowed_ip *a = &p->allowed_ips[j];

			inet_ntop(a->family, a->addr, ip, sizeof(ip));
			fprintf(f, " %c%s/%u\n", a->remove ? '-' : '+', ip, a->cidr);
		}
	}
}

/* Feeds len bytes in pieces of chunk bytes (0: all at once), also cut at
 * split when it is inside, and returns the transcript (to free). */
static char *run(const char *text, size_t len, size_t chunk, size_t split, size_t max_request)
{
	struct uapi_parser p;
	char *out = NULL;
	size_t outlen = 0, off = 0;
	FILE *f = open_memstream(&out, &outlen);
	bool broken = false;

	uapi_parser_init(&p);
	if (max_request)
		p.max_request = max_request;
	while (off < len && !broken) {
		size_t n = chunk ? chunk : len;
		const char *d;

		if (n > len - off)
			n = len - off;
		if (split > off && split < off + n)
			n = split - off;
		d = text + off;
		off += n;
		while (n > 0) {
			struct uapi_set *set;
			size_t used;
			int r = uapi_parser_feed(&p, d, n, &used, &set);

			if (used > n || (r == 0 && used != n) || (r != UAPI_REQUEST_SET && set)) {
				fprintf(f, "BAD FEED r=%d used=%zu n=%zu\n", r, used, n);
				broken = true;
				break;
			}
			d += used;
			n -= used;
			if (r == UAPI_REQUEST_GET) {
				fprintf(f, "GET\n");
			} else if (r == UAPI_REQUEST_SET) {
				dump_set(f, set);
				uapi_set_free(set);
			} else if (r < 0) {
				fprintf(f, "ERR %d\n", r);
			}
			if (uapi_parser_broken(&p)) {
				fprintf(f, "BROKEN\n");
				broken = true;
				break;
			}
		}
	}
	if (!broken)
		fprintf(f, "%s\n", uapi_parser_idle(&p) ? "IDLE" : "PENDING");
	uapi_parser_free(&p);
	fclose(f);
	return out;
}

static bool same_text(const char *got, const char *want, const char *name)
{
	bool same = strcmp(got, want) == 0;

	ok(same, "%s", name);
	if (!same)
		diag("got:\n%s# want:\n%s", got, want);
	return same;
}

/* Whole, byte by byte, and cut in two at every position. */
static void check_all_splits(const char *text, const char *want, const char *name)
{
	size_t len = strlen(text), i;
	char *got;
	bool all = true;

	got = run(text, len, 0, 0, 0);
	same_text(got, want, name);
	free(got);
	got = run(text, len, 1, 0, 0);
	ok(strcmp(got, want) == 0, "%s, one byte at a time", name);
	free(got);
	for (i = 1; i < len && all; ++i) {
		got = run(text, len, 0, i, 0);
		if (strcmp(got, want) != 0) {
			diag("split at %zu:\n%s", i, got);
			all = false;
		}
		free(got);
	}
	ok(all, "%s, cut at every position", name);
}

/* What `wg setconf` writes for a two-peer file, as config.c and
 * ipc-uapi.h produce it (private key, port, fwmark, replace_peers always;
 * replace_allowed_ips for every peer), followed by what `wg syncconf` adds
 * (remove=true) and what `wg set ... allowed-ips +a,-b` sends. */
static void test_setconf(void)
{
	const char *req =
		"set=1\n"
		"private_key=" PRIV "\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"replace_peers=true\n"
		"public_key=" KEY_A "\n"
		"preshared_key=" PSK "\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.0/24\n"
		"allowed_ip=fd00::/64\n"
		"public_key=" KEY_B "\n"
		"endpoint=[2001:db8::1]:51821\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.1.0/24\n"
		"allowed_ip=0.0.0.0/0\n"
		"allowed_ip=::/0\n"
		"public_key=" KEY_C "\n"
		"remove=true\n"
		"\n"
		"set=1\n"
		"public_key=" KEY_B "\n"
		"allowed_ip=10.9.0.0/16\n"
		"allowed_ip=-10.0.1.0/24\n"
		"\n";
	const char *want =
		"SET\n"
		"private_key=" PRIV_CLAMPED "\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"replace_peers\n"
		"peer " KEY_A "\n"
		" preshared_key=" PSK "\n"
		" endpoint=192.0.2.1:51820\n"
		" keepalive=25\n"
		" replace_allowed_ips\n"
		" +10.0.0.0/24\n"
		" +fd00::/64\n"
		"peer " KEY_B "\n"
		" endpoint=[2001:db8::1]%0:51821\n"
		" replace_allowed_ips\n"
		" +10.0.1.0/24\n"
		" +0.0.0.0/0\n"
		" +::/0\n"
		"peer " KEY_C "\n"
		" remove\n"
		"SET\n"
		"peer " KEY_B "\n"
		" +10.9.0.0/16\n"
		" -10.0.1.0/24\n"
		"IDLE\n";

	check_all_splits(req, want, "wg setconf, syncconf and set requests");
}

/* Requests on one connection, answered in order. */
static void test_sequences(void)
{
	check_all_splits("get=1\n\nset=1\nlisten_port=1\n\nget=1\n\nset=1\n\n",
			 "GET\nSET\nlisten_port=1\nGET\nSET\nIDLE\n", "get, set, get, empty set");
	check_all_splits("get=1\nxget=1\n\n", "ERR -22\nGET\nIDLE\n",
			 "get=1 without its blank line, then get");
	check_all_splits("get=1\n\nbogus\nget=1\n\n", "GET\nERR -71\nBROKEN\n",
			 "an unknown operation ends the connection");
	check_all_splits("set=1\r\n\n", "ERR -71\nBROKEN\n", "set=1 with CRLF is no operation");
	check_all_splits("\n", "ERR -71\nBROKEN\n", "blank operation line");
	check_all_splits("get=1 \n\n", "ERR -71\nBROKEN\n", "operation with trailing space");
	check_all_splits("set=1\nlisten_port=2\r\nfwmark=3\r\n\r\nget=1\n\n",
			 "SET\nlisten_port=2\nfwmark=3\nGET\nIDLE\n", "CRLF lines and CRLF blank line");
	check_all_splits("set=1\nlisten_port=2\r\r\n\n",
			 "ERR -22\nIDLE\n", "only one CR is dropped");
	check_all_splits("set=1\nlisten_port=x\n"
			 "get=1\n"
			 "private_key=zz\nnoequals\n\nget=1\n\n",
			 "ERR -22\nGET\nIDLE\n",
			 "a failed set is skipped to its blank line, the first error answers");
	check_all_splits("set=1\nnoequals\r\n\r\nget=1\n\n", "ERR -71\nGET\nIDLE\n",
			 "skipping ends at a CRLF blank line");
	check_all_splits("set=1\nlisten_port=1\nfwm", "PENDING\n", "request cut short");
	check_all_splits("set=1\nlisten_port=x\nfwm", "PENDING\n",
			 "failed request cut short (no answer before its end)");
	check_all_splits("get", "PENDING\n", "operation cut short");
	check_all_splits("set=1\nlisten_port=1\nlisten_port=2\n"
			 "public_key=" KEY_A "\nendpoint=1.2.3.4:5\nendpoint=[::1]:6\n"
			 "persistent_keepalive_interval=1\npersistent_keepalive_interval=0\n"
			 "public_key=" KEY_A "\nremove=true\n\n",
			 "SET\nlisten_port=2\npeer " KEY_A "\n endpoint=[::1]%0:6\n keepalive=0\n"
			 "peer " KEY_A "\n remove\nIDLE\n",
			 "repeated keys: the last wins, repeated peers kept in order");
	check_all_splits("set=1\npublic_key=" KEY_A "\nallowed_ip=10.0.0.0/8\n"
			 "replace_allowed_ips=true\nallowed_ip=10.1.0.0/16\n\n",
			 "SET\npeer " KEY_A "\n replace_allowed_ips\n +10.1.0.0/16\nIDLE\n",
			 "replace_allowed_ips drops the allowed IPs before it");
}

struct bad_vector {
	const char *section;	/* lines before the bad one */
	const char *line;
	int err;
};

#define PEER "public_key=" KEY_A "\n"

static const struct bad_vector bad_vectors[] = {
	{ "", "private_key=" ZERO "0", -EINVAL },
	{ "", "private_key=" PSK "ab", -EINVAL },
	{ "", "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027", -EINVAL },
	{ "", "private_key=g84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a", -EINVAL },
	{ "", "private_key= " PSK, -EINVAL },
	{ "", "private_key=" PSK " ", -EINVAL },
	{ "", "private_key=", -EINVAL },
	{ "", "listen_port=65536", -EINVAL },
	{ "", "listen_port=-1", -EINVAL },
	{ "", "listen_port=+1", -EINVAL },
	{ "", "listen_port=", -EINVAL },
	{ "", "listen_port= 1", -EINVAL },
	{ "", "listen_port=1 ", -EINVAL },
	{ "", "listen_port=0x10", -EINVAL },
	{ "", "listen_port=1_000", -EINVAL },
	{ "", "listen_port=99999999999999999999999", -EINVAL },
	{ "", "fwmark=4294967296", -EINVAL },
	{ "", "fwmark=18446744073709551616", -EINVAL },
	{ "", "fwmark=0x1", -EINVAL },
	{ "", "replace_peers=false", -EINVAL },
	{ "", "replace_peers=True", -EINVAL },
	{ "", "replace_peers=1", -EINVAL },
	{ "", "replace_peers=", -EINVAL },
	{ "", "persistent_keepalive_interval=25", -EINVAL },
	{ "", "allowed_ip=10.0.0.0/8", -EINVAL },
	{ "", "remove=true", -EINVAL },
	{ "", "protocol_version=1", -EINVAL },
	{ "", "nonsense=1", -EINVAL },
	{ "", "=1", -EINVAL },
	{ "", "=", -EINVAL },
	{ "", "listen_port", -EPROTO },
	{ "", " ", -EPROTO },
	{ "", "public_key=xyz", -EINVAL },
	{ "", "public_key=", -EINVAL },
	{ "", "Public_key=" KEY_A, -EINVAL },
	{ "", "public_key =" KEY_A, -EINVAL },
	{ PEER, "private_key=" PSK, -EINVAL },
	{ PEER, "listen_port=1", -EINVAL },
	{ PEER, "fwmark=1", -EINVAL },
	{ PEER, "replace_peers=true", -EINVAL },
	{ PEER, "remove=false", -EINVAL },
	{ PEER, "remove=", -EINVAL },
	{ PEER, "update_only=yes", -EINVAL },
	{ PEER, "preshared_key=short", -EINVAL },
	{ PEER, "preshared_key=", -EINVAL },
	{ PEER, "endpoint=host.example:51820", -EINVAL },
	{ PEER, "endpoint=localhost:51820", -EINVAL },
	{ PEER, "endpoint=1.2.3.4", -EINVAL },
	{ PEER, "endpoint=1.2.3.4:", -EINVAL },
	{ PEER, "endpoint=:51820", -EINVAL },
	{ PEER, "endpoint=", -EINVAL },
	{ PEER, "endpoint=1.2.3.4:65536", -EINVAL },
	{ PEER, "endpoint=1.2.3.4:-1", -EINVAL },
	{ PEER, "endpoint=1.2.3.4:+1", -EINVAL },
	{ PEER, "endpoint=1.2.3.4:1 ", -EINVAL },
	{ PEER, "endpoint= 1.2.3.4:1", -EINVAL },
	{ PEER, "endpoint=[1.2.3.4]:80", -EINVAL },
	{ PEER, "endpoint=::1:80", -EINVAL },
	{ PEER, "endpoint=[::1]", -EINVAL },
	{ PEER, "endpoint=[::1:80", -EINVAL },
	{ PEER, "endpoint=::1]:80", -EINVAL },
	{ PEER, "endpoint=[]:80", -EINVAL },
	{ PEER, "endpoint=[:80", -EINVAL },
	{ PEER, "endpoint=01.2.3.4:80", -EINVAL },
	{ PEER, "endpoint=1.2.3.256:80", -EINVAL },
	{ PEER, "endpoint=1.2.3:80", -EINVAL },
	{ PEER, "endpoint=1.2.3.4.5:80", -EINVAL },
	{ PEER, "endpoint=[fe80::1%]:80", -EINVAL },
	{ PEER, "endpoint=[fe80::1%no-such-if0]:80", -EINVAL },
	{ PEER, "endpoint=[fe80::1%abcdefghijklmnopqrstuvwxyz]:80", -EINVAL },
	{ PEER, "endpoint=[fe80::1%4294967296]:80", -EINVAL },
	{ PEER, "endpoint=1.2.3.4%1:80", -EINVAL },
	{ PEER, "endpoint=[1:2:3:4:5:6:7:8:9]:80", -EINVAL },
	{ PEER, "endpoint=[12345::1]:80", -EINVAL },
	{ PEER, "endpoint=[1::2::3]:80", -EINVAL },
	{ PEER, "persistent_keepalive_interval=65536", -EINVAL },
	{ PEER, "persistent_keepalive_interval=-1", -EINVAL },
	{ PEER, "persistent_keepalive_interval=", -EINVAL },
	{ PEER, "persistent_keepalive_interval=off", -EINVAL },
	{ PEER, "replace_allowed_ips=false", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/33", -EINVAL },
	{ PEER, "allowed_ip=::/129", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/08", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/+8", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/-8", -EINVAL },
	{ PEER, "allowed_ip=10.0.0/8", -EINVAL },
	{ PEER, "allowed_ip=010.0.0.0/8", -EINVAL },
	{ PEER, "allowed_ip=fe80::1%1/64", -EINVAL },
	{ PEER, "allowed_ip=--10.0.0.0/8", -EINVAL },
	{ PEER, "allowed_ip=+10.0.0.0/8", -EINVAL },
	{ PEER, "allowed_ip=-", -EINVAL },
	{ PEER, "allowed_ip=", -EINVAL },
	{ PEER, "allowed_ip=/8", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/8 ", -EINVAL },
	{ PEER, "allowed_ip= 10.0.0.0/8", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/8,10.1.0.0/16", -EINVAL },
	{ PEER, "allowed_ip=host/32", -EINVAL },
	{ PEER, "allowed_ip=10.0.0.0/8/8", -EINVAL },
	{ PEER, "protocol_version=2", -EINVAL },
	{ PEER, "protocol_version=01", -EINVAL },
	{ PEER, "protocol_version=", -EINVAL },
	{ PEER, "tx_bytes=1", -EINVAL },
	{ PEER, "last_handshake_time_sec=1", -EINVAL },
	{ PEER, "errno=0", -EINVAL },
	{ PEER, "allowed_ip", -EPROTO },
	{ PEER "remove=true\n", "endpoint=nonsense", -EINVAL },
	{ PEER "update_only=true\n", "allowed_ip=1.2.3.4/33", -EINVAL },
};

static void test_bad_values(void)
{
	size_t i;
	bool all = true;

	for (i = 0; i < sizeof(bad_vectors) / sizeof(bad_vectors[0]); ++i) {
		const struct bad_vector *v = &bad_vectors[i];
		char req[1024], want[64];
		char *got;

		snprintf(req, sizeof(req), "set=1\n%s%s\nlisten_port=1\n\nget=1\n\n", v->section,
			 v->line);
		snprintf(want, sizeof(want), "ERR %d\nGET\nIDLE\n", v->err);
		got = run(req, strlen(req), 0, 0, 0);
		if (strcmp(got, want) != 0) {
			diag("line \"%s\" after \"%s\":\n%s", v->line, v->section, got);
			all = false;
		}
		free(got);
		got = run(req, strlen(req), 1, 0, 0);
		if (strcmp(got, want) != 0) {
			diag("byte by byte, line \"%s\":\n%s", v->line, got);
			all = false;
		}
		free(got);
	}
	ok(all, "%zu bad lines rejected with the right errno, connection kept",
	   sizeof(bad_vectors) / sizeof(bad_vectors[0]));

	/* A NUL inside a value. */
	{
		static const char req[] = "set=1\nlisten_port=1\0\n\nget=1\n\n";
		char *got = run(req, sizeof(req) - 1, 0, 0, 0);

		same_text(got, "ERR -22\nGET\nIDLE\n", "NUL in a value");
		free(got);
	}
	{
		static const char req[] = "set=1\n" PEER "endpoint=1.2.3.4\0:1\n\nget=1\n\n";
		char *got = run(req, sizeof(req) - 1, 0, 0, 0);

		same_text(got, "ERR -22\nGET\nIDLE\n", "NUL in an endpoint");
		free(got);
	}
	{
		static const char req[] = "set=1\n" PEER "endpoint=[fe80::1%lo\0]:1\n\nget=1\n\n";
		char *got = run(req, sizeof(req) - 1, 0, 0, 0);

		same_text(got, "ERR -22\nGET\nIDLE\n", "NUL in a zone");
		free(got);
	}
}

struct good_vector {
	const char *line;	/* in a peer section */
	const char *dump;	/* its line in the dump */
};

static const struct good_vector good_vectors[] = {
	{ "endpoint=1.2.3.4:0", " endpoint=1.2.3.4:0" },
	{ "endpoint=255.255.255.255:65535", " endpoint=255.255.255.255:65535" },
	{ "endpoint=0.0.0.0:00051820", " endpoint=0.0.0.0:51820" },
	{ "endpoint=[::ffff:1.2.3.4]:1", " endpoint=[::ffff:1.2.3.4]%0:1" },
	{ "endpoint=[fe80::1%7]:51820", " endpoint=[fe80::1]%7:51820" },
	{ "endpoint=[FE80::ABCD]:1", " endpoint=[fe80::abcd]%0:1" },
	{ "endpoint=[1:2:3:4:5:6:7:8]:9", " endpoint=[1:2:3:4:5:6:7:8]%0:9" },
	{ "persistent_keepalive_interval=65535", " keepalive=65535" },
	{ "persistent_keepalive_interval=0", " keepalive=0" },
	{ "persistent_keepalive_interval=0000025", " keepalive=25" },
	{ "allowed_ip=10.1.2.3/8", " +10.1.2.3/8" },
	{ "allowed_ip=-10.0.0.1/32", " -10.0.0.1/32" },
	{ "allowed_ip=0.0.0.0/0", " +0.0.0.0/0" },
	{ "allowed_ip=::ffff:10.0.0.1/128", " +::ffff:10.0.0.1/128" },
	{ "allowed_ip=-::/0", " -::/0" },
	{ "allowed_ip=2001:DB8::/32", " +2001:db8::/32" },
	{ "preshared_key=" ZERO, " preshared_key=" ZERO },
	{ "preshared_key=188515093E952F5F22E865CEF3012E72F8B5F0B598AC0309D5DACCE3B70FCF52",
	  " preshared_key=" PSK },
	{ "update_only=true", " update_only" },
	{ "protocol_version=1", "" },
};

static void test_good_values(void)
{
	size_t i;
	bool all = true;
	char *got;

	for (i = 0; i < sizeof(good_vectors) / sizeof(good_vectors[0]); ++i) {
		const struct good_vector *v = &good_vectors[i];
		char req[512], want[512];

		snprintf(req, sizeof(req), "set=1\n" PEER "%s\n\n", v->line);
		snprintf(want, sizeof(want), "SET\npeer " KEY_A "\n%s%sIDLE\n", v->dump,
			 *v->dump ? "\n" : "");
		got = run(req, strlen(req), 0, 0, 0);
		if (strcmp(got, want) != 0) {
			diag("line \"%s\":\n%s# want:\n%s", v->line, got, want);
			all = false;
		}
		free(got);
	}
	ok(all, "%zu valid values parsed", sizeof(good_vectors) / sizeof(good_vectors[0]));

	{
		const char *req = "set=1\nprivate_key=" ZERO "\nlisten_port=0\nfwmark=4294967295\n\n";

		got = run(req, strlen(req), 0, 0, 0);
		same_text(got, "SET\nprivate_key=" ZERO "\nlisten_port=0\nfwmark=4294967295\nIDLE\n",
			  "all-zero private key kept as zero (removal), limits of port and fwmark");
		free(got);
	}
	{
		/* Uppercase hex, and a key that clamping does not change. */
		const char *req = "set=1\nprivate_key="
				  "E84B5A6D2717C1003A13B431570353DBACA9146CF150C5F8575680FEBA52027A\n\n";

		got = run(req, strlen(req), 0, 0, 0);
		same_text(got, "SET\nprivate_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\nIDLE\n",
			  "uppercase private key");
		free(got);
	}
	{
		unsigned idx = if_nametoindex("lo");
		char want[256];

		if (idx) {
			snprintf(want, sizeof(want), "SET\npeer " KEY_A "\n endpoint=[fe80::1]%%%u:5\nIDLE\n", idx);
			got = run("set=1\n" PEER "endpoint=[fe80::1%lo]:5\n\n",
				  strlen("set=1\n" PEER "endpoint=[fe80::1%lo]:5\n\n"), 0, 0, 0);
			same_text(got, want, "zone by interface name");
			free(got);
		}
	}
}

/* Appends s to a request at buf + off (no NUL: run() takes a length) and
 * returns the new length; the offsets stay known sums, which sprintf's
 * int result is not. */
static size_t put(char *buf, size_t off, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + off, s, n);
	return off + n;
}

static void test_limits(void)
{
	size_t off;
	char *req = tap_malloc(5000 + 64), *got;

	off = put(req, 0, "set=1\nallowed_ip=");
	memset(req + off, 'a', 5000);
	off += 5000;
	off = put(req, off, "\n\nget=1\n\n");
	got = run(req, off, 0, 0, 0);
	same_text(got, "ERR -90\nGET\nIDLE\n", "line over UAPI_MAX_LINE: EMSGSIZE, skipped");
	free(got);
	got = run(req, off, 1, 0, 0);
	same_text(got, "ERR -90\nGET\nIDLE\n", "line over UAPI_MAX_LINE, byte by byte");
	free(got);
	free(req);

	/* Exactly UAPI_MAX_LINE bytes is still a line (then a bad value). */
	req = tap_malloc(UAPI_MAX_LINE + 32);
	off = put(req, 0, "set=1\nlisten_port=");
	memset(req + off, '1', UAPI_MAX_LINE - strlen("listen_port="));
	off += UAPI_MAX_LINE - strlen("listen_port=");
	off = put(req, off, "\n\n");
	got = run(req, off, 0, 0, 0);
	same_text(got, "ERR -22\nIDLE\n", "a line of UAPI_MAX_LINE bytes is read whole");
	free(got);
	/* One more byte (a CR counts) is too long. */
	off = put(req, off - 2, "\r\n\n");
	got = run(req, off, 0, 0, 0);
	same_text(got, "ERR -90\nIDLE\n", "a line of UAPI_MAX_LINE bytes and a CR is too long");
	free(got);
	free(req);

	{
		const char *r = "set=1\nlisten_port=1\nfwmark=2\n\nset=1\nlisten_port=1\nfwmark=22\n\nget=1\n\n";

		/* The first set has 24 bytes after "set=1\n", the second 25. */
		got = run(r, strlen(r), 0, 0, 24);
		same_text(got, "SET\nlisten_port=1\nfwmark=2\nERR -90\nGET\nIDLE\n",
			  "max_request: a request of max_request bytes passes, one more fails");
		free(got);
		got = run(r, strlen(r), 1, 0, 24);
		same_text(got, "SET\nlisten_port=1\nfwmark=2\nERR -90\nGET\nIDLE\n",
			  "max_request, byte by byte");
		free(got);
	}

	got = run("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 49, 0, 0, 0);
	same_text(got, "ERR -71\nBROKEN\n", "an overlong operation line breaks at once");
	free(got);

	{
		struct uapi_parser p;
		struct uapi_set *set;
		size_t used;
		int r;

		uapi_parser_init(&p);
		r = uapi_parser_feed(&p, "x\n", 2, &used, &set);
		ok(r == -EPROTO && uapi_parser_broken(&p), "broken parser");
		r = uapi_parser_feed(&p, "get=1\n\n", 7, &used, &set);
		ok(r == -EPROTO && used == 7 && !set, "a broken parser swallows everything with EPROTO");
		uapi_parser_free(&p);

		/* Freed in the middle of a set request: nothing leaks. */
		uapi_parser_init(&p);
		r = uapi_parser_feed(&p, "set=1\n" PEER "allowed_ip=1.2.3.4/32\nprivate",
				     strlen("set=1\n" PEER "allowed_ip=1.2.3.4/32\nprivate"), &used, &set);
		ok(r == 0 && !uapi_parser_idle(&p), "freed mid-request");
		uapi_parser_free(&p);
	}
}

/* 131,073 allowed IPs on one peer, as the kernel's netns.sh large-config
 * test sends them, and formatted back. */
static void test_large(void)
{
	enum { N4 = 131073, N6 = 4096 };
	size_t cap = 64 + (size_t)(N4 + N6) * 64, len = 0, i;
	char *req = tap_malloc(cap);
	struct uapi_parser p;
	struct uapi_set *set = NULL;
	struct uapi_buf out = { 0 };
	struct uapi_peer_info info;
	struct uapi_device_info dev;
	size_t used, off;
	int r = 0;
	bool good = true;
	uint32_t rng = 1;

	len += (size_t)sprintf(req + len, "set=1\nreplace_peers=true\n" PEER "replace_allowed_ips=true\n");
	for (i = 0; i < N4; ++i)
		len += (size_t)sprintf(req + len, "allowed_ip=%u.%u.%u.%u/32\n", 10u + (unsigned)(i >> 24),
				       (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
				       (unsigned)i & 255);
	for (i = 0; i < N6; ++i) {
		uint8_t a[16];
		char ip[INET6_ADDRSTRLEN];
		size_t j;

		for (j = 0; j < 16; ++j) {
			rng = rng * 1103515245u + 12345u;
			a[j] = (uint8_t)(rng >> 16);
			if ((rng >> 8) % 3 == 0)
				a[j] = 0;
		}
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
		len += (size_t)sprintf(req + len, "allowed_ip=%s/%u\n", ip, (unsigned)(i % 129));
	}
	len += (size_t)sprintf(req + len, "\n");

	/* In 4 KiB reads, as a socket delivers it. */
	uapi_parser_init(&p);
	for (off = 0; off < len && r == 0; off += used) {
		size_t n = len - off < 4096 ? len - off : 4096;

		r = uapi_parser_feed(&p, req + off, n, &used, &set);
	}
	ok(r == UAPI_REQUEST_SET && off == len, "large request parsed (%zu bytes)", len);
	if (r != UAPI_REQUEST_SET || !set || set->n_peers != 1) {
		ok(false, "large request content");
		uapi_set_free(set);
		uapi_parser_free(&p);
		free(req);
		return;
	}
	ok(set->peers[0].n_allowed_ips == N4 + N6, "%zu allowed IPs", set->peers[0].n_allowed_ips);
	for (i = 0; i < N4 && good; ++i) {
		const struct uapi_allowed_ip *a = &set->peers[0].allowed_ips[i];

		good = a->family == AF_INET && a->cidr == 32 && !a->remove &&
		       a->addr[0] == 10 + (i >> 24) && a->addr[1] == ((i >> 16) & 255) &&
		       a->addr[2] == ((i >> 8) & 255) && a->addr[3] == (i & 255);
	}
	ok(good, "IPv4 allowed IPs in order");

	/* Format them back and parse the allowed_ip lines again. */
	memset(&dev, 0, sizeof(dev));
	memset(&info, 0, sizeof(info));
	memcpy(info.public_key, set->peers[0].public_key, UAPI_KEY_LEN);
	info.allowed_ips = set->peers[0].allowed_ips;
	info.n_allowed_ips = set->peers[0].n_allowed_ips;
	dev.peers = &info;
	dev.n_peers = 1;
	ok(uapi_format_get(&out, &dev) == 0, "large get formatted (%zu bytes)", out.len);
	{
		/* Turn the answer's allowed_ip lines into a set request. */
		char *again = tap_malloc(out.len + 64);
		size_t alen = 0, pos = 0;
		struct uapi_set *set2 = NULL;
		struct uapi_parser p2;
		size_t lines = 0;

		alen += (size_t)sprintf(again, "set=1\n" PEER);
		while (pos < out.len) {
			char *nl = memchr(out.data + pos, '\n', out.len - pos);
			size_t l = (size_t)(nl - (out.data + pos)) + 1;

			if (l > 11 && memcmp(out.data + pos, "allowed_ip=", 11) == 0) {
				memcpy(again + alen, out.data + pos, l);
				alen += l;
				++lines;
			}
			pos += l;
		}
		again[alen++] = '\n';
		uapi_parser_init(&p2);
		r = uapi_parser_feed(&p2, again, alen, &used, &set2);
		ok(r == UAPI_REQUEST_SET && lines == N4 + N6 && set2 &&
		   set2->peers[0].n_allowed_ips == N4 + N6 &&
		   memcmp(set2->peers[0].allowed_ips, set->peers[0].allowed_ips,
			  (N4 + N6) * sizeof(struct uapi_allowed_ip)) == 0,
		   "formatted allowed IPs parse back to the same list");
		uapi_set_free(set2);
		uapi_parser_free(&p2);
		free(again);
	}
	uapi_buf_free(&out);
	ok(out.data == NULL && out.len == 0, "buffer freed");
	uapi_set_free(set);
	uapi_parser_free(&p);
	free(req);
}

static void fill_key(uint8_t key[32], uint8_t start)
{
	size_t i;

	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)(start + i);
}

static void test_format(void)
{
	struct uapi_allowed_ip aips[] = {
		{ .family = AF_INET, .cidr = 24, .addr = { 10, 0, 0, 0 } },
		{ .family = AF_INET6, .cidr = 64, .addr = { 0xfd, 0 } },
		{ .family = AF_INET6, .cidr = 128,
		  .addr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 } },
		{ .family = AF_INET6, .cidr = 96, .addr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 } },
		{ .family = AF_INET, .cidr = 0 },
		{ .family = AF_INET6, .cidr = 0 },
		{ .family = AF_INET6, .cidr = 128,
		  .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 } },
		{ .family = AF_INET6, .cidr = 128,
		  .addr = { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 } },
		{ .family = AF_INET6, .cidr = 128,
		  .addr = { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1 } },
		{ .family = AF_INET6, .cidr = 128, .addr = { [15] = 1 } },
		{ .family = AF_INET6, .cidr = 16, .addr = { 0xab, 0xcd } },
	};
	struct uapi_peer_info peers[3];
	struct uapi_device_info dev;
	struct uapi_buf out = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&peers[0].endpoint;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peers[1].endpoint;
	char hex1[65], hex2[65], hex3[65], hex4[65], psk[65], want[4096];

	memset(peers, 0, sizeof(peers));
	memset(&dev, 0, sizeof(dev));
	dev.has_private_key = true;
	fill_key(dev.private_key, 0x10);
	dev.listen_port = 51820;
	dev.peers = peers;
	dev.n_peers = 3;

	fill_key(peers[0].public_key, 0x20);
	fill_key(peers[0].preshared_key, 0x30);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51820);
	sin->sin_addr.s_addr = htonl(0xc0000201);
	peers[0].last_handshake_sec = 1700000000;
	peers[0].last_handshake_nsec = 123456789;
	peers[0].tx_bytes = 18446744073709551615ull;
	peers[0].rx_bytes = 92;
	peers[0].persistent_keepalive_interval = 25;
	peers[0].allowed_ips = aips;
	peers[0].n_allowed_ips = sizeof(aips) / sizeof(aips[0]);

	fill_key(peers[1].public_key, 0x40);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(1);
	sin6->sin6_addr.s6_addr[0] = 0xfe;
	sin6->sin6_addr.s6_addr[1] = 0x80;
	sin6->sin6_addr.s6_addr[15] = 1;
	sin6->sin6_scope_id = 3;

	fill_key(peers[2].public_key, 0x50);
	peers[2].endpoint.sa.sa_family = AF_UNSPEC;
	((struct sockaddr_in6 *)&peers[2].endpoint)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&peers[2].endpoint)->sin6_addr.s6_addr[0] = 0x20;
	((struct sockaddr_in6 *)&peers[2].endpoint)->sin6_port = htons(65535);

	key_to_hex(hex1, dev.private_key);
	key_to_hex(hex2, peers[0].public_key);
	key_to_hex(psk, peers[0].preshared_key);
	key_to_hex(hex3, peers[1].public_key);
	key_to_hex(hex4, peers[2].public_key);
	snprintf(want, sizeof(want),
		 "private_key=%s\n"
		 "listen_port=51820\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "protocol_version=1\n"
		 "endpoint=192.0.2.1:51820\n"
		 "last_handshake_time_sec=1700000000\n"
		 "last_handshake_time_nsec=123456789\n"
		 "tx_bytes=18446744073709551615\n"
		 "rx_bytes=92\n"
		 "persistent_keepalive_interval=25\n"
		 "allowed_ip=10.0.0.0/24\n"
		 "allowed_ip=fd00::/64\n"
		 "allowed_ip=::ffff:10.0.0.1/128\n"
		 "allowed_ip=::102:304/96\n"
		 "allowed_ip=0.0.0.0/0\n"
		 "allowed_ip=::/0\n"
		 "allowed_ip=2001:db8:0:1:1:1:1:1/128\n"
		 "allowed_ip=1:0:0:1::1/128\n"
		 "allowed_ip=1::1:0:0:1:1/128\n"
		 "allowed_ip=::1/128\n"
		 "allowed_ip=abcd::/16\n"
		 "public_key=%s\n"
		 "preshared_key=" ZERO "\n"
		 "protocol_version=1\n"
		 "endpoint=[fe80::1%%3]:1\n"
		 "last_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\n"
		 "tx_bytes=0\n"
		 "rx_bytes=0\n"
		 "persistent_keepalive_interval=0\n"
		 "public_key=%s\n"
		 "preshared_key=" ZERO "\n"
		 "protocol_version=1\n"
		 "endpoint=[2000::]:65535\n"
		 "last_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\n"
		 "tx_bytes=0\n"
		 "rx_bytes=0\n"
		 "persistent_keepalive_interval=0\n"
		 "errno=0\n"
		 "\n",
		 hex1, hex2, psk, hex3, hex4);
	ok(uapi_format_get(&out, &dev) == 0, "get formatted");
	ok(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0,
	   "get answer as wireguard-go writes it");
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		diag("got:\n%.*s", (int)out.len, out.data);

	/* No endpoint; no private key; fwmark; an all-zero private key is
	 * not printed. */
	uapi_buf_reset(&out);
	peers[2].endpoint.sa.sa_family = AF_UNSPEC;
	dev.peers = &peers[2];
	dev.n_peers = 1;
	dev.has_private_key = false;
	dev.listen_port = 0;
	dev.fwmark = 0x1234;
	snprintf(want, sizeof(want),
		 "fwmark=4660\n"
		 "public_key=%s\n"
		 "preshared_key=" ZERO "\n"
		 "protocol_version=1\n"
		 "last_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\n"
		 "tx_bytes=0\n"
		 "rx_bytes=0\n"
		 "persistent_keepalive_interval=0\n"
		 "errno=0\n"
		 "\n", hex4);
	ok(uapi_format_get(&out, &dev) == 0 && out.len == strlen(want) &&
	   memcmp(out.data, want, out.len) == 0, "no endpoint, no private key, fwmark");
	uapi_buf_reset(&out);
	dev.has_private_key = true;
	memset(dev.private_key, 0, sizeof(dev.private_key));
	dev.n_peers = 0;
	dev.fwmark = 0;
	ok(uapi_format_get(&out, &dev) == 0 && out.len == 9 && memcmp(out.data, "errno=0\n\n", 9) == 0,
	   "empty device: only errno=0");
	uapi_buf_reset(&out);
	ok(uapi_format_errno(&out, -EINVAL) == 0 && out.len == 11 &&
	   memcmp(out.data, "errno=-22\n\n", 11) == 0, "errno=-22");
	{
		struct uapi_allowed_ip bad = { .family = AF_UNIX };

		ok(uapi_format_allowed_ip(&out, &bad) == -EAFNOSUPPORT, "unknown family refused");
	}
	uapi_buf_free(&out);
}

/* IPv6 text against glibc's inet_ntop, which differs only in writing
 * ::a.b.c.d (an IPv4-compatible address, deprecated) in dotted form. */
static void test_ip6_model(void)
{
	struct uapi_buf out = { 0 };
	uint32_t rng = 7;
	bool good = true;
	int i;

	for (i = 0; i < 200000 && good; ++i) {
		struct uapi_allowed_ip a = { .family = AF_INET6, .cidr = 128 };
		char want[INET6_ADDRSTRLEN + 32], ip[INET6_ADDRSTRLEN];
		uint8_t back[16];
		size_t j;
		bool compat;

		for (j = 0; j < 8; ++j) {
			rng = rng * 1103515245u + 12345u;
			if ((rng >> 16) % 4 != 0) {
				a.addr[2 * j] = (rng >> 20) % 3 ? 0 : (uint8_t)(rng >> 8);
				a.addr[2 * j + 1] = (uint8_t)(rng >> 24);
			}
		}
		compat = true;
		for (j = 0; j < 12; ++j)
			compat = compat && a.addr[j] == 0;
		compat = compat && (a.addr[12] || a.addr[13]);
		uapi_buf_reset(&out);
		if (uapi_format_allowed_ip(&out, &a) != 0) {
			good = false;
			break;
		}
		if (out.len < 16) {
			good = false;
			break;
		}
		memcpy(ip, out.data + 11, out.len - 16);
		ip[out.len - 16] = '\0';
		if (inet_pton(AF_INET6, ip, back) != 1 || memcmp(back, a.addr, 16) != 0) {
			diag("\"%s\" does not parse back", ip);
			good = false;
		}
		if (!compat) {
			inet_ntop(AF_INET6, a.addr, ip, sizeof(ip));
			snprintf(want, sizeof(want), "allowed_ip=%s/128\n", ip);
			if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0) {
				diag("got %.*s want %s", (int)out.len, out.data, want);
				good = false;
			}
		}
	}
	ok(good, "IPv6 text matches inet_ntop (RFC 5952) on random addresses and parses back");
	uapi_buf_free(&out);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_setconf();
	test_sequences();
	test_bad_values();
	test_good_values();
	test_limits();
	test_large();
	test_format();
	test_ip6_model();
	return tap_done();
}
