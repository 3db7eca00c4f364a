/* The network file parser (src/node/netconf.c): WireHub's own examples, a table
 * of errors with their exact messages, addresses that do not depend on the
 * order of the lines (checked over many shuffles), collisions, IPv6
 * derivation, line ends, limits, lookups against a naive scan, and the
 * reload diff against a naive model. */
#include "src/node/netconf.h"

#include "crypto/encoding.h"
#include "test/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <unistd.h>

#define KEY_A "zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmQ"
#define KEY_B "g878Bf9ZDc4IzFSUhWFTO1VYFVmHD5XfvEsVn83Dsho"
#define KEY_C "9OtorxsAqPqZkJ-fAYNRAPr9piMWKMLnGqOVVpMUvXY"
#define KEY_BOOT "P17zMwXJFbBdJEn05RFIMADw9TX5_m2xgf31OgNKX3w"

/* WireHub's README, "A simple network with two nodes", as printed there. */
static const char tutorial[] =
	"name tutorial           # name of network\n"
	"subnet 10.0.42.0/24     # private subnetwork\n"
	"\n"
	"# one DHT bootstrap node\n"
	"boot " KEY_BOOT " bootstrap.wirehub.io\n"
	"\n"
	"# two nodes, node_a & node_b\n"
	"trust node_a " KEY_A "\n"
	"trust node_b " KEY_B "\n";

/* WireHub's config/public. */
static const char public_conf[] =
	"name public\n"
	"workbit 8\n"
	"\n"
	"boot " KEY_BOOT " bootstrap.wirehub.io:62096\n";

/* A small deterministic generator (xorshift64*), so that failures repeat. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void random_key(uint8_t key[32])
{
	size_t i;

	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)rng();
}

static void key_url(char out[44], const uint8_t key[32])
{
	key_to_base64url(out, key);
}

static int parse(const char *text, struct netconf **c, char *err, size_t errlen)
{
	return netconf_parse_buffer("net.conf", text, strlen(text), c, err, errlen);
}

static const char *v4(const uint8_t a[4])
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	inet_ntop(AF_INET, a, buf[i], sizeof(buf[i]));
	return buf[i];
}

static const char *v6(const uint8_t a[16])
{
	static char buf[4][46];
	static int i;

	i = (i + 1) % 4;
	inet_ntop(AF_INET6, a, buf[i], sizeof(buf[i]));
	return buf[i];
}

static const struct netconf_peer *by_b64(const struct netconf *c, const char *b64)
{
	uint8_t k[32];

	if (!key_from_base64(k, b64, strlen(b64)))
		return NULL;
	return netconf_find(c, k);
}

/* ---- WireHub's examples ---- */

static void test_tutorial(void)
{
	struct netconf *c = NULL, *c2 = NULL;
	const struct netconf_peer *a, *b, *boot, *cc;
	struct netconf_diff d;
	char err[512], *text;
	int rc;

	rc = parse(tutorial, &c, err, sizeof(err));
	if (!ok(rc == 0, "README tutorial parses")) {
		diag("%s", err);
		return;
	}
	ok(!strcmp(c->name, "tutorial") && !strcmp(c->ns, "public") && c->workbit == 8,
	   "tutorial: name, default namespace and workbit");
	ok(c->has_subnet && !strcmp(v4(c->subnet), "10.0.42.0") && c->prefix == 24,
	   "tutorial: subnet 10.0.42.0/24");
	ok(c->n_peers == 3, "tutorial: three peers");
	boot = by_b64(c, KEY_BOOT);
	a = by_b64(c, KEY_A);
	b = by_b64(c, KEY_B);
	ok(boot && boot->kind == NETCONF_BOOT && boot->endpoint.type == NETCONF_ENDPOINT_NAME &&
	   !strcmp(boot->endpoint.host, "bootstrap.wirehub.io") && boot->endpoint.port == 62096 &&
	   !boot->has_ipv4 && !boot->has_ipv6 && boot->line == 5,
	   "tutorial: boot node, unresolved endpoint, default port, no overlay address");
	ok(a && a->kind == NETCONF_TRUST && !strcmp(a->hostname, "node_a") && a->line == 8 &&
	   a->endpoint.type == NETCONF_ENDPOINT_NONE, "tutorial: node_a");
	ok(b && !strcmp(b->hostname, "node_b") && b->line == 9, "tutorial: node_b");
	/* Vectors computed independently (Python hashlib) from the formulas in
	 * doc/network-file.md. */
	ok(c->has_subnet6 && c->subnet6_derived && c->prefix6 == 48 &&
	   !strcmp(v6(c->subnet6), "fded:ca41:89c1::"), "tutorial: subnet6 derived: %s/%u",
	   v6(c->subnet6), c->prefix6);
	ok(a && a->has_ipv4 && !a->static4 && !strcmp(v4(a->ipv4), "10.0.42.13"),
	   "tutorial: node_a derives 10.0.42.13 (%s)", a ? v4(a->ipv4) : "-");
	ok(b && !strcmp(v4(b->ipv4), "10.0.42.56"), "tutorial: node_b derives 10.0.42.56 (%s)",
	   b ? v4(b->ipv4) : "-");
	ok(a && a->has_ipv6 && !strcmp(v6(a->ipv6), "fded:ca41:89c1:9371:2a3d:5461:bd38:1bca"),
	   "tutorial: node_a IPv6 %s", a ? v6(a->ipv6) : "-");
	ok(b && !strcmp(v6(b->ipv6), "fded:ca41:89c1:cb85:5ac5:6fda:618e:f7f0"),
	   "tutorial: node_b IPv6 %s", b ? v6(b->ipv6) : "-");
	ok(netconf_find_hostname(c, "node_b") == b && !netconf_find_hostname(c, "node_c"),
	   "tutorial: lookup by hostname");
	ok(a && netconf_find_self(c, a->key) == a, "tutorial: node_a finds its own line");
	ok(boot && !netconf_find_self(c, boot->key), "tutorial: the boot node has no own trust line");

	/* The README then appends node_c and reloads. */
	text = malloc(sizeof(tutorial) + 64);
	strcpy(text, tutorial);
	strcat(text, "trust node_c " KEY_C "\n");
	rc = parse(text, &c2, err, sizeof(err));
	ok(rc == 0, "tutorial + node_c parses");
	cc = c2 ? by_b64(c2, KEY_C) : NULL;
	ok(cc && !strcmp(v4(cc->ipv4), "10.0.42.47") &&
	   !strcmp(v6(cc->ipv6), "fded:ca41:89c1:8ac:4037:5efa:5242:de1e"),
	   "tutorial: node_c derives 10.0.42.47 and its IPv6");
	ok(c2 && !memcmp(by_b64(c2, KEY_A)->ipv4, a->ipv4, 4) &&
	   !memcmp(by_b64(c2, KEY_B)->ipv4, b->ipv4, 4),
	   "tutorial: adding node_c moves nobody");
	rc = netconf_diff(c, c2, &d);
	ok(rc == 0 && d.what == 0 && d.n_added == 1 && d.added[0] == cc && d.n_removed == 0 &&
	   d.n_changed == 0, "tutorial: reload diff is one added peer");
	netconf_diff_free(&d);
	free(text);
	netconf_free(c2);
	netconf_free(c);
}

static void test_public(void)
{
	static const char readme_min[] =
		"name public\nworkbit 8\nboot " KEY_BOOT " bootstrap.wirehub.io\n";
	struct netconf *c = NULL;
	char err[512];
	int rc;

	rc = parse(public_conf, &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == 1 && !c->has_subnet && c->workbit == 8 &&
	   c->peers[0].endpoint.port == 62096 && c->peers[0].kind == NETCONF_BOOT,
	   "config/public parses: %s", rc ? err : "ok");
	netconf_free(c);
	rc = parse(readme_min, &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == 1, "README minimal public node parses: %s", rc ? err : "ok");
	netconf_free(c);
	rc = parse("", &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == 0 && !c->has_subnet6 && !strcmp(c->ns, "public"),
	   "an empty file is a valid, empty network");
	netconf_free(c);
	rc = parse("workbit 0\nnamespace my-ns\n", &c, err, sizeof(err));
	ok(rc == 0 && c->workbit == 0 && !strcmp(c->ns, "my-ns"), "workbit 0 and a namespace");
	netconf_free(c);
}

/* ---- syntax ---- */

static void test_syntax(void)
{
	static const char text[] =
		"  name\tnet # comment after a tab\n"
		"\t\tsubnet 10.1.2.3/16\n"
		"   # an indented comment \x01 with a control byte, harmless here\n"
		"subnet6 fd00:1:2:3:4::/64\n"
		"workbit 12\n"
		"namespace ns.example\n"
		"router gw 10.1.0.1 " KEY_A " [2001:db8::1]:51820\n"
		"alias " KEY_B "\n"
		"peer relay1 " KEY_C " 192.0.2.7:1\n"
		"trust n6 fd00:1:2:3::99 10.1.0.9 "
		"P17zMwXJFbBdJEn05RFIMADw9TX5/m2xgf31OgNKX3w= 2001:db8::2\n"
		"trust h2 NJAhwCtuWdqwrYpv3o9-Tn3_KF9L-4lJsyD0ngBQdgc host-1.example.COM.:65535\n"
		"#last line without a line end";
	struct netconf *c = NULL;
	const struct netconf_peer *p;
	char err[512];
	int rc;

	rc = parse(text, &c, err, sizeof(err));
	if (!ok(rc == 0, "every form parses")) {
		diag("%s", err);
		return;
	}
	ok(!strcmp(c->name, "net") && !strcmp(v4(c->subnet), "10.1.0.0") && c->prefix == 16,
	   "subnet host bits cleared");
	ok(!c->subnet6_derived && !strcmp(v6(c->subnet6), "fd00:1:2:3::") && c->prefix6 == 64,
	   "explicit subnet6, host bits cleared");
	ok(c->workbit == 12 && !strcmp(c->ns, "ns.example"), "workbit and namespace");
	p = by_b64(c, KEY_A);
	ok(p && p->kind == NETCONF_ROUTER && p->static4 && !strcmp(v4(p->ipv4), "10.1.0.1") &&
	   p->endpoint.type == NETCONF_ENDPOINT_IPV6 && p->endpoint.port == 51820 &&
	   !strcmp(p->endpoint.host, "2001:db8::1") && !p->static6 && p->has_ipv6,
	   "router with static IPv4 and a bracketed IPv6 endpoint");
	p = by_b64(c, KEY_B);
	ok(p && p->kind == NETCONF_ALIAS && p->has_ipv4 && !p->static4 && !p->hostname[0],
	   "alias gets derived addresses");
	p = by_b64(c, KEY_C);
	ok(p && p->kind == NETCONF_PEER && !p->has_ipv4 && !p->has_ipv6 &&
	   p->endpoint.type == NETCONF_ENDPOINT_IPV4 && p->endpoint.port == 1 &&
	   !memcmp(p->endpoint.addr, "\xc0\x00\x02\x07", 4), "untrusted peer, IPv4 endpoint");
	p = by_b64(c, KEY_BOOT);
	ok(p && p->static4 && p->static6 && !strcmp(v6(p->ipv6), "fd00:1:2:3::99") &&
	   !strcmp(v4(p->ipv4), "10.1.0.9") && p->endpoint.type == NETCONF_ENDPOINT_IPV6 &&
	   p->endpoint.port == 62096, "standard-alphabet padded key, two statics, bare IPv6 endpoint");
	p = netconf_find_hostname(c, "h2");
	ok(p && p->endpoint.type == NETCONF_ENDPOINT_NAME && p->endpoint.port == 65535 &&
	   !strcmp(p->endpoint.host, "host-1.example.COM."), "DNS endpoint kept as written");
	netconf_free(c);
}

/* ---- errors: every message, exactly ---- */

struct error_case {
	const char *text;
	const char *message;
};

#define HDR "name net\nsubnet 10.0.42.0/24\n"

static const struct error_case error_cases[] = {
	{ HDR "trust node_a 10.0.0.300 " KEY_A "\n",
	  "net.conf:3: \"10.0.0.300\" is not an IPv4 address" },
	{ HDR "trust node_a 010.0.42.1 " KEY_A "\n",
	  "net.conf:3: \"010.0.42.1\" is not an IPv4 address" },
	{ HDR "trust node_a fd00::zz " KEY_A "\n",
	  "net.conf:3: \"fd00::zz\" is not an IPv6 address" },
	{ "name net\nfoo bar\n", "net.conf:2: unknown directive \"foo\"" },
	{ "Name net\n", "net.conf:1: unknown directive \"Name\"" },
	{ "mtu 1400\n", "net.conf:1: unknown directive \"mtu\"" },
	{ "name net\nsubnet 10.0.0.300/24\n", "net.conf:2: \"10.0.0.300\" is not an IPv4 address" },
	{ "subnet 10.0.0.0\n",
	  "net.conf:1: \"10.0.0.0\" has no prefix length: write it as A.B.C.D/N, as 10.0.42.0/24" },
	{ "subnet 10.0.0.0/33\n", "net.conf:1: \"33\" is not a prefix length (1 to 32)" },
	{ "subnet 10.0.0.0/0\n", "net.conf:1: \"0\" is not a prefix length (1 to 32)" },
	{ "subnet 10.0.0.0/08\n", "net.conf:1: \"08\" is not a prefix length (1 to 32)" },
	{ "subnet 10.0.0.0/24 x\n", "net.conf:1: unexpected \"x\": \"subnet\" takes one value" },
	{ "subnet6 fd00::/121\n", "net.conf:1: \"121\" is not a prefix length (1 to 120)" },
	{ "subnet6 10.0.0.0/8\n", "net.conf:1: \"10.0.0.0\" is not an IPv6 address" },
	{ "subnet 10.0.0.0/8\nsubnet 10.0.0.0/8\n",
	  "net.conf:2: \"subnet\" is already set on line 1" },
	{ "name a\n\nname b\n", "net.conf:3: \"name\" is already set on line 1" },
	{ "name\n", "net.conf:1: \"name\" needs a value" },
	{ "name a b\n", "net.conf:1: unexpected \"b\": \"name\" takes one value" },
	{ "name Tutorial\n", "net.conf:1: \"Tutorial\" is not a valid network name: use 1 to 63 "
	  "lowercase letters, digits, '-' or '_'" },
	{ "name tutorial#x\n", "net.conf:1: \"tutorial#x\" is not a valid network name: use 1 to "
	  "63 lowercase letters, digits, '-' or '_'" },
	{ "workbit x\n", "net.conf:1: \"x\" is not a workbit (0 to 256)" },
	{ "workbit 257\n", "net.conf:1: \"257\" is not a workbit (0 to 256)" },
	{ "workbit -1\n", "net.conf:1: \"-1\" is not a workbit (0 to 256)" },
	{ "workbit 1\nworkbit 1\n", "net.conf:2: \"workbit\" is already set on line 1" },
	{ "namespace a\nnamespace b\n", "net.conf:2: \"namespace\" is already set on line 1" },
	{ "namespace caf\xc3\xa9\n", "net.conf:1: \"caf\\xc3\\xa9\" is not a valid namespace: use "
	  "1 to 255 printable ASCII characters" },
	{ "subnet 10.0.0.0/8\ntrust a " KEY_A "\n",
	  "net.conf:2: a \"trust\" line needs the network's name: add a \"name\" line" },
	{ "name net\n\nrouter a " KEY_A "\n", "net.conf:3: a \"router\" line needs the network's "
	  "subnet: add a \"subnet A.B.C.D/N\" line" },
	{ "boot " KEY_BOOT "\n", "net.conf:1: \"boot\" line needs an endpoint after the key "
	  "(HOST[:PORT])" },
	{ "peer somehost\n", "net.conf:1: \"peer\" line has no public key" },
	{ "trust\n", "net.conf:1: \"trust\" line has no public key" },
	{ HDR "trust a zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEm\n",
	  "net.conf:3: \"zW-1lBeQ7I...\" (42 characters) is not a valid public key: expected 32 "
	  "bytes in base64, 43 or 44 characters" },
	{ HDR "trust a zW-1lBeQ7IkT6NW6hL_NsV4eOPOwJi_rt1vO-omOEmR\n",
	  "net.conf:3: \"zW-1lBeQ7I...\" (43 characters) is not a valid public key: expected 32 "
	  "bytes in base64, 43 or 44 characters" },
	{ HDR "trust a " KEY_A " " KEY_B "\n", "net.conf:3: a second public key \"" KEY_B "\"" },
	{ HDR "peer 10.0.42.7 " KEY_A "\n", "net.conf:3: \"10.0.42.7\": only trust, router and "
	  "alias lines take a static address" },
	{ HDR "boot fd00::1 " KEY_A " host\n", "net.conf:3: \"fd00::1\": only trust, router and "
	  "alias lines take a static address" },
	{ HDR "trust 10.0.42.7 10.0.42.8 " KEY_A "\n",
	  "net.conf:3: a second static IPv4 address \"10.0.42.8\"" },
	{ HDR "trust node_a node_b " KEY_A "\n",
	  "net.conf:3: a second hostname \"node_b\" (the first is \"node_a\")" },
	{ HDR "trust Node_A " KEY_A "\n", "net.conf:3: \"Node_A\" is not a valid hostname: use 1 "
	  "to 63 lowercase letters, digits, '-' or '_'" },
	{ HDR "trust -a " KEY_A "\n", "net.conf:3: \"-a\" is not a valid hostname: use 1 to 63 "
	  "lowercase letters, digits, '-' or '_'" },
	{ HDR "trust aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " KEY_A "\n",
	  "net.conf:3: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a "
	  "valid hostname: use 1 to 63 lowercase letters, digits, '-' or '_'" },
	{ HDR "trust a 10.0.43.5 " KEY_A "\n",
	  "net.conf:3: \"10.0.43.5\" is outside the subnet 10.0.42.0/24 (line 2)" },
	{ HDR "trust a 10.0.42.0 " KEY_A "\n", "net.conf:3: \"10.0.42.0\" is the network address "
	  "of the subnet 10.0.42.0/24, not a host address" },
	{ HDR "trust a 10.0.42.255 " KEY_A "\n", "net.conf:3: \"10.0.42.255\" is the broadcast "
	  "address of the subnet 10.0.42.0/24, not a host address" },
	{ HDR "subnet6 fd00:1::/64\ntrust a fd00:2::1 " KEY_A "\n",
	  "net.conf:4: \"fd00:2::1\" is outside the subnet6 fd00:1::/64" },
	{ HDR "trust a fd00:2::1 " KEY_A "\n", "net.conf:3: \"fd00:2::1\" is outside the subnet6 "
	  "fd76:8a37:ae1e::/48 (derived from the name; a \"subnet6\" line chooses another)" },
	{ HDR "subnet6 fd00:1::/64\ntrust a fd00:1:: " KEY_A "\n",
	  "net.conf:4: \"fd00:1::\" is the subnet6 prefix itself, not a host address" },
	{ HDR "trust a " KEY_A "\n\n# x\ntrust b " KEY_A "\n",
	  "net.conf:6: public key \"" KEY_A "\" is already on line 3" },
	{ HDR "boot " KEY_A " h\ntrust b " KEY_A "\n",
	  "net.conf:4: public key \"" KEY_A "\" is already on line 3" },
	{ HDR "trust a " KEY_A "\ntrust a " KEY_B "\n",
	  "net.conf:4: hostname \"a\" is already on line 3" },
	{ HDR "trust a 10.0.42.9 " KEY_A "\ntrust b 10.0.42.9 " KEY_B "\n",
	  "net.conf:4: static address \"10.0.42.9\" is already on line 3" },
	{ HDR "trust a fd76:8a37:ae1e::5 " KEY_A "\ntrust b fd76:8a37:ae1e::5 " KEY_B "\n",
	  "net.conf:4: static address \"fd76:8a37:ae1e::5\" is already on line 3" },
	{ HDR "subnet6 fd00::/64\ntrust a fd00::5 " KEY_A "\ntrust b fd00::5 " KEY_B "\n",
	  "net.conf:5: static address \"fd00::5\" is already on line 4" },
	{ HDR "boot " KEY_A " 1.2.3.400:5\n", "net.conf:3: \"1.2.3.400\" is not an IPv4 address" },
	{ HDR "boot " KEY_A " host:0\n",
	  "net.conf:3: \"0\" is not a port (1 to 65535) in endpoint \"host:0\"" },
	{ HDR "boot " KEY_A " host:65536\n",
	  "net.conf:3: \"65536\" is not a port (1 to 65535) in endpoint \"host:65536\"" },
	{ HDR "boot " KEY_A " host:\n",
	  "net.conf:3: \"\" is not a port (1 to 65535) in endpoint \"host:\"" },
	{ HDR "boot " KEY_A " host:080\n",
	  "net.conf:3: \"080\" is not a port (1 to 65535) in endpoint \"host:080\"" },
	{ HDR "boot " KEY_A " [::1\n", "net.conf:3: \"[::1\" is not an endpoint: no ']'" },
	{ HDR "boot " KEY_A " [::1]x\n",
	  "net.conf:3: \"[::1]x\" is not an endpoint: expected ':' after ']'" },
	{ HDR "boot " KEY_A " [1.2.3.4]:5\n",
	  "net.conf:3: \"[1.2.3.4]:5\" is not an endpoint: not an IPv6 address in the brackets" },
	{ HDR "boot " KEY_A " ::1:2:zz\n", "net.conf:3: \"::1:2:zz\" is not an IPv6 address "
	  "(write [ADDRESS]:PORT for a port)" },
	{ HDR "boot " KEY_A " bad..host\n",
	  "net.conf:3: \"bad..host\" is not a valid endpoint host name" },
	{ HDR "boot " KEY_A " host a\n", "net.conf:3: unexpected \"a\" after the endpoint" },
	{ "name net\nsub\x01net 10.0.0.0/8\n", "net.conf:2: control character \"\\x01\"" },
	{ "name net\rsubnet 10.0.0.0/8\n", "net.conf:1: control character \"\\x0d\"" },
	{ "trust a b c d e f g h i\n", "net.conf:1: too many words (more than 8)" },
	{ "name " "\x1b[31mred\n", "net.conf:1: control character \"\\x1b\"" },
	{ "name \"q\"\n", "net.conf:1: \"\\x22q\\x22\" is not a valid network name: use 1 to 63 "
	  "lowercase letters, digits, '-' or '_'" },
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); ++i) {
		const struct error_case *e = &error_cases[i];
		struct netconf *c = (struct netconf *)1;
		char err[512];
		int rc;

		rc = netconf_parse_buffer("net.conf", e->text, strlen(e->text), &c, err,
					  sizeof(err));
		ok(rc == -EINVAL && c == NULL && !strcmp(err, e->message), "error %zu: %s", i,
		   e->message);
		if (rc != -EINVAL || strcmp(err, e->message))
			diag("got %d: %s", rc, err);
		if (!rc)
			netconf_free(c);
	}
}

static void test_error_edges(void)
{
	static const char nul1[] = "name net\nsu\0bnet\n";
	static const char nul2[] = "name net\n# a comment \0 with a NUL\n";
	struct netconf *c;
	char err[16], msg[128];
	int rc;

	rc = netconf_parse_buffer("net.conf", nul1, sizeof(nul1) - 1, &c, msg, sizeof(msg));
	ok(rc == -EINVAL && !strcmp(msg, "net.conf:2: NUL byte at column 3"), "NUL: %s", msg);
	rc = netconf_parse_buffer("net.conf", nul2, sizeof(nul2) - 1, &c, msg, sizeof(msg));
	ok(rc == -EINVAL && !strcmp(msg, "net.conf:2: NUL byte at column 13"),
	   "NUL in a comment: %s", msg);
	rc = netconf_parse_buffer("net.conf", "name x\n\0", 8, &c, msg, sizeof(msg));
	ok(rc == -EINVAL && !strcmp(msg, "net.conf:2: NUL byte at column 1"),
	   "NUL as the last byte: %s", msg);

	/* A short buffer truncates, a NULL one is allowed. */
	rc = parse("bogus\n", &c, err, sizeof(err));
	ok(rc == -EINVAL && strlen(err) == sizeof(err) - 1 && !strncmp(err, "net.conf:1: unk", 15),
	   "message truncated to the buffer");
	rc = parse("bogus\n", &c, NULL, 0);
	ok(rc == -EINVAL && c == NULL, "no message buffer");
	rc = netconf_parse_buffer(NULL, "bogus", 5, &c, err, 0);
	ok(rc == -EINVAL, "zero-length message buffer");
}

/* ---- line ends, comments, limits ---- */

static void test_line_ends(void)
{
	struct netconf *lf = NULL, *crlf = NULL, *nofinal = NULL;
	char *text = malloc(2 * sizeof(tutorial) + 16), err[512];
	size_t i, o = 0;
	struct netconf_diff d;

	for (i = 0; tutorial[i]; ++i) {
		if (tutorial[i] == '\n')
			text[o++] = '\r';
		text[o++] = tutorial[i];
	}
	text[o] = '\0';
	ok(parse(tutorial, &lf, err, sizeof(err)) == 0 && parse(text, &crlf, err, sizeof(err)) == 0,
	   "CRLF file parses");
	ok(lf && crlf && netconf_diff(lf, crlf, &d) == 0 && netconf_diff_empty(&d),
	   "CRLF gives the same network as LF");
	netconf_diff_free(&d);
	/* The same without the final line end (CRLF, then bare). */
	text[o - 2] = '\0';
	ok(parse(text, &nofinal, err, sizeof(err)) == 0 && netconf_diff(lf, nofinal, &d) == 0 &&
	   netconf_diff_empty(&d), "no final line end");
	netconf_diff_free(&d);
	netconf_free(nofinal);
	text[o - 1] = '\0';
	text[o - 2] = '\r';
	ok(parse(text, &nofinal, err, sizeof(err)) == 0 && netconf_diff(lf, nofinal, &d) == 0 &&
	   netconf_diff_empty(&d), "a final CR without LF");
	netconf_diff_free(&d);
	netconf_free(nofinal);
	netconf_free(crlf);
	netconf_free(lf);
	free(text);
}

static void test_long_lines(void)
{
	size_t max = NETCONF_MAX_LINE;
	char *text = malloc(3 * max + 64), err[512];
	struct netconf *c = NULL;
	int rc;

	/* A comment line of exactly the limit, then with a CR, is fine. */
	memset(text, '#', max);
	strcpy(text + max, "\nname ok\n");
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && !strcmp(c->name, "ok"), "a line of %zu bytes", max);
	netconf_free(c);
	strcpy(text + max, "\r\nname ok\r\n");
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0, "a line of %zu bytes and CRLF", max);
	netconf_free(c);
	strcpy(text, "name ok\n");
	memset(text + 8, '#', max + 1);
	strcpy(text + 8 + max + 1, "\n");
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "net.conf:2: line is longer than 4096 bytes"),
	   "a line of %zu bytes: %s", max + 1, err);
	/* Too long with a CR at max + 1: still too long. */
	memset(text + 8, '#', max + 1);
	strcpy(text + 8 + max + 1, "\r\n");
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "net.conf:2: line is longer than 4096 bytes"),
	   "a line of %zu bytes and CR", max + 1);
	/* A much longer one, without an end. */
	memset(text + 8, 'x', 3 * max);
	text[8 + 3 * max] = '\0';
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "net.conf:2: line is longer than 4096 bytes"),
	   "a 12 KiB line without an end");
	free(text);
}

static char *many_peers(size_t n, size_t *len)
{
	char *text = malloc(n * 52 + 16), k[44];
	uint8_t key[32] = { 0 };
	size_t i, o = 0;

	for (i = 0; i < n; ++i) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)(i >> 16);
		key_url(k, key);
		o += (size_t)sprintf(text + o, "peer %s\n", k);
	}
	*len = o;
	return text;
}

static void test_limits(void)
{
	struct netconf *c = NULL;
	char err[512];
	size_t len;
	char *text = many_peers(NETCONF_MAX_PEERS + 1, &len);
	size_t one = len / (NETCONF_MAX_PEERS + 1);
	int rc;

	rc = netconf_parse_buffer("net.conf", text, len - one, &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == NETCONF_MAX_PEERS, "%d peers", NETCONF_MAX_PEERS);
	if (rc == 0) {
		uint8_t key[32] = { 0x34, 0x12 };

		ok(netconf_find(c, key) == &c->peers[0x1234], "lookup among %d peers",
		   NETCONF_MAX_PEERS);
	}
	netconf_free(c);
	rc = netconf_parse_buffer("net.conf", text, len, &c, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "net.conf:65537: more than 65536 peers"),
	   "%d peers: %s", NETCONF_MAX_PEERS + 1, err);
	free(text);
}

/* ---- files and streams ---- */

static void test_files(void)
{
	char path[] = "/tmp/test_netconf.XXXXXX", err[512];
	struct netconf *c = NULL, *m = NULL;
	struct netconf_diff d;
	size_t len, i;
	char *text;
	FILE *f;
	int fd, rc;

	/* Big enough to cross many read chunks at odd places. */
	rng_state = 42;
	text = malloc(200000);
	len = (size_t)sprintf(text, "name files\nsubnet 10.0.0.0/8\n");
	for (i = 0; len < 150000; ++i) {
		uint8_t key[32];
		char k[44];

		random_key(key);
		key_url(k, key);
		len += (size_t)sprintf(text + len, "%s h%zu %s\r\n# %zu\n",
				       i % 10 ? "peer" : "trust", i, k, i);
	}
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	ok(f && fwrite(text, 1, len, f) == len && fclose(f) == 0, "temporary file written");
	rc = netconf_parse_file(path, &c, err, sizeof(err));
	ok(rc == 0, "parse_file: %s", rc ? err : "ok");
	rc = netconf_parse_buffer("mem", text, len, &m, err, sizeof(err));
	ok(rc == 0 && c && m && netconf_diff(m, c, &d) == 0 && netconf_diff_empty(&d) &&
	   c->n_peers == m->n_peers, "the file and the buffer agree (%zu peers)",
	   m ? m->n_peers : 0);
	netconf_diff_free(&d);
	netconf_free(c);
	netconf_free(m);

	/* An error in a file names the file as given. */
	f = fopen(path, "w");
	fputs("name x\nsubnet 10.0.0.0/8\ntrust a 10.0.0.300 " KEY_A "\n", f);
	fclose(f);
	rc = netconf_parse_file(path, &c, err, sizeof(err));
	snprintf(text, 1000, "%s:3: \"10.0.0.300\" is not an IPv4 address", path);
	ok(rc == -EINVAL && !c && !strcmp(err, text), "file error: %s", err);
	unlink(path);
	rc = netconf_parse_file(path, &c, err, sizeof(err));
	snprintf(text, 1000, "%s: %s", path, strerror(ENOENT));
	ok(rc == -ENOENT && !c && !strcmp(err, text), "missing file: %s", err);
	rc = netconf_parse_file("/", &c, err, sizeof(err));
	ok(rc < 0 && rc != -EINVAL && !c, "a directory: %s", err);

	f = fmemopen((void *)tutorial, strlen(tutorial), "r");
	rc = netconf_parse_stream(f, "stdin", &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == 3, "parse_stream");
	fclose(f);
	netconf_free(c);
	free(text);
}

/* ---- order independence ---- */

struct line_set {
	char **lines;
	size_t n;
};

static char *join(const struct line_set *ls)
{
	size_t i, len = 1;
	char *text, *o;

	for (i = 0; i < ls->n; ++i)
		len += strlen(ls->lines[i]) + 1;
	o = text = malloc(len);
	for (i = 0; i < ls->n; ++i)
		o += sprintf(o, "%s\n", ls->lines[i]);
	*o = '\0';
	return text;
}

static void shuffle(struct line_set *ls)
{
	size_t i;

	for (i = ls->n; i > 1; --i) {
		size_t j = (size_t)(rng() % i);
		char *t = ls->lines[i - 1];

		ls->lines[i - 1] = ls->lines[j];
		ls->lines[j] = t;
	}
}

/* Every peer of a is in b with the same addresses and everything else. */
static bool same_assignments(const struct netconf *a, const struct netconf *b)
{
	size_t i;

	if (a->n_peers != b->n_peers || memcmp(a->subnet6, b->subnet6, 16) ||
	    a->prefix6 != b->prefix6)
		return false;
	for (i = 0; i < a->n_peers; ++i) {
		const struct netconf_peer *p = &a->peers[i], *q = netconf_find(b, p->key);

		if (!q || q->kind != p->kind || strcmp(q->hostname, p->hostname) ||
		    q->has_ipv4 != p->has_ipv4 || memcmp(q->ipv4, p->ipv4, 4) ||
		    q->has_ipv6 != p->has_ipv6 || memcmp(q->ipv6, p->ipv6, 16) ||
		    q->static4 != p->static4 || strcmp(q->endpoint.host, p->endpoint.host) ||
		    q->endpoint.port != p->endpoint.port)
			return false;
	}
	return true;
}

/* Builds a network of n peers (a mix of kinds, statics, hostnames and
 * endpoints) that parses; the lines come with the directives mixed in. */
static void build_network(struct line_set *ls, size_t n, const char *subnet)
{
	size_t i;

	ls->n = 0;
	ls->lines = malloc((n + 8) * sizeof(char *));
	ls->lines[ls->n++] = strdup("name shuffle");
	ls->lines[ls->n++] = strdup(subnet);
	ls->lines[ls->n++] = strdup("namespace lab");
	ls->lines[ls->n++] = strdup("# a comment");
	ls->lines[ls->n++] = strdup("");
	for (i = 0; i < n; ++i) {
		static const char *const kinds[] = { "trust", "trust", "trust", "router", "alias",
						     "peer", "boot" };
		const char *kind = kinds[rng() % 7];
		char line[256], k[44], host[32] = "", st[40] = "", ep[64] = "";
		uint8_t key[32];

		random_key(key);
		key_url(k, key);
		if (rng() % 2)
			snprintf(host, sizeof(host), "h%zu ", i);
		if (kind[0] != 'p' && kind[0] != 'b' && rng() % 4 == 0)
			snprintf(st, sizeof(st), "10.9.%zu.%zu ", 200 + i / 250, 1 + i % 250);
		if (kind[0] == 'b' || rng() % 3 == 0)
			snprintf(ep, sizeof(ep), " 192.0.2.%zu:%zu", i % 250, 1000 + i);
		snprintf(line, sizeof(line), "%s %s%s%s%s", kind, host, st, k, ep);
		ls->lines[ls->n++] = strdup(line);
	}
}

static void free_lines(struct line_set *ls)
{
	size_t i;

	for (i = 0; i < ls->n; ++i)
		free(ls->lines[i]);
	free(ls->lines);
}

static void test_shuffle(void)
{
	struct line_set ls;
	struct netconf *base = NULL;
	char err[512], *text;
	unsigned tries = 0, round, bad = 0, bad_order = 0;

	/* Random networks until one has no collision (in a /16 with 300 peers
	 * most do not). */
	rng_state = 7;
	do {
		if (tries++)
			free_lines(&ls);
		build_network(&ls, 300, "subnet 10.0.0.0/8");
		text = join(&ls);
		if (parse(text, &base, err, sizeof(err)))
			diag("retry: %s", err);
		free(text);
	} while (!base && tries < 50);
	if (!ok(base != NULL, "a random network of 300 peers parses (%u tries)", tries))
		return;
	for (round = 0; round < 300; ++round) {
		struct netconf *c = NULL;

		shuffle(&ls);
		text = join(&ls);
		if (parse(text, &c, err, sizeof(err)) || !same_assignments(base, c) ||
		    !same_assignments(c, base))
			++bad;
		/* File order is kept in peers[], and lines follow it. */
		if (c && c->n_peers > 1 && c->peers[0].line >= c->peers[1].line)
			++bad_order;
		netconf_free(c);
		free(text);
	}
	ok(bad == 0, "300 shuffles give identical assignments (%u differ)", bad);
	ok(bad_order == 0, "peers stay in file order");
	netconf_free(base);
	free_lines(&ls);
}

/* ---- collisions ---- */

/* Finds two keys whose derived IPv4 addresses collide in conf's subnet. */
static void colliding_keys(const struct netconf *conf, uint8_t k1[32], uint8_t k2[32])
{
	enum { N = 64 };
	uint8_t keys[N][32], addr[N][4];
	size_t i, j;

	for (;;) {
		for (i = 0; i < N; ++i) {
			random_key(keys[i]);
			netconf_derive_ipv4(conf, keys[i], addr[i]);
			for (j = 0; j < i; ++j)
				if (!memcmp(addr[i], addr[j], 4)) {
					memcpy(k1, keys[j], 32);
					memcpy(k2, keys[i], 32);
					return;
				}
		}
	}
}

static void test_collisions(void)
{
	static const char hdr[] = "name coll\nsubnet 10.7.0.0/26\n";
	struct netconf *base = NULL, *c = NULL;
	uint8_t k1[32], k2[32], a[4];
	char ka[44], kb[44], err[512], err2[512], text[1024], want[1024], addr[16];
	int rc;

	rc = parse(hdr, &base, err, sizeof(err));
	rng_state = 99;
	colliding_keys(base, k1, k2);
	netconf_derive_ipv4(base, k1, a);
	snprintf(addr, sizeof(addr), "%s", v4(a));
	key_url(ka, k1);
	key_url(kb, k2);

	/* Two derived addresses. */
	snprintf(text, sizeof(text), "%strust alpha %s\n# x\ntrust beta %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "net.conf:5: \"beta\" (%s) and \"alpha\" (%s) on line 3 "
		 "both derive %s: give one of them a static address", kb, ka, addr);
	ok(rc == -EINVAL && !strcmp(err, want), "collision names both peers: %s", err);
	/* Swapped lines: the same pair, the same address. */
	snprintf(text, sizeof(text), "%strust beta %s\ntrust alpha %s\n", hdr, kb, ka);
	rc = parse(text, &c, err2, sizeof(err2));
	snprintf(want, sizeof(want), "net.conf:4: \"alpha\" (%s) and \"beta\" (%s) on line 3 "
		 "both derive %s: give one of them a static address", ka, kb, addr);
	ok(rc == -EINVAL && !strcmp(err2, want), "collision with the lines swapped: %s", err2);
	/* Without hostnames the keys name the peers. */
	snprintf(text, sizeof(text), "%salias %s\ntrust %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "net.conf:4: \"%s\" and \"%s\" on line 3 both derive %s: "
		 "give one of them a static address", kb, ka, addr);
	ok(rc == -EINVAL && !strcmp(err, want), "collision between keys: %s", err);
	/* A static address fixes it. */
	snprintf(text, sizeof(text), "%strust alpha %s\ntrust beta 10.7.0.62 %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 || strstr(err, "10.7.0.62"), "a static address resolves it");
	netconf_free(c);
	/* A derived address on a static one. */
	snprintf(text, sizeof(text), "%strust beta %s %s\ntrust alpha %s\n", hdr, addr, kb, ka);
	rc = parse(text, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "net.conf:4: \"alpha\" (%s) derives %s, the static address "
		 "of \"beta\" (%s) on line 3: give it a static address", ka, addr, kb);
	ok(rc == -EINVAL && !strcmp(err, want), "derived on static: %s", err);
	/* An untrusted peer takes no address, so cannot collide. */
	snprintf(text, sizeof(text), "%strust alpha %s\npeer beta %s\n", hdr, ka, kb);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0, "an untrusted peer does not collide");
	netconf_free(c);

	netconf_free(base);
}

/* The reported pair does not depend on the order of lines: in a /28 with
 * many trusted peers, collect (address, two keys) from the message. */
static void test_collision_pair_stable(void)
{
	struct line_set ls;
	char err[512], ref[512] = "", *text;
	unsigned round, differ = 0;
	size_t i;

	rng_state = 11;
	ls.n = 0;
	ls.lines = malloc(20 * sizeof(char *));
	ls.lines[ls.n++] = strdup("name pairs");
	ls.lines[ls.n++] = strdup("subnet 10.8.0.0/28");
	for (i = 0; i < 12; ++i) {
		uint8_t key[32];
		char k[44], line[96];

		random_key(key);
		key_url(k, key);
		snprintf(line, sizeof(line), "trust %s", k);
		ls.lines[ls.n++] = strdup(line);
	}
	for (round = 0; round < 200; ++round) {
		struct netconf *c = NULL;
		char *a, *b, norm[512];

		shuffle(&ls);
		text = join(&ls);
		if (parse(text, &c, err, sizeof(err)) != -EINVAL) {
			++differ;
			netconf_free(c);
			free(text);
			continue;
		}
		free(text);
		/* "net.conf:L: "K1" and "K2" on line M both derive A: ..." ->
		 * the sorted pair and the address. */
		a = strchr(err, '"');
		b = a ? strstr(a, " and \"") : NULL;
		if (!a || !b) {
			++differ;
			continue;
		}
		{
			char k1[44], k2[44];
			const char *addr = strstr(err, "derive ");

			memcpy(k1, a + 1, 43);
			k1[43] = '\0';
			memcpy(k2, b + 6, 43);
			k2[43] = '\0';
			snprintf(norm, sizeof(norm), "%s %s %s", strcmp(k1, k2) < 0 ? k1 : k2,
				 strcmp(k1, k2) < 0 ? k2 : k1, addr ? addr : "?");
		}
		if (!ref[0]) {
			snprintf(ref, sizeof(ref), "%s", norm);
			diag("%s", err);
		} else if (strcmp(ref, norm)) {
			++differ;
		}
	}
	ok(ref[0] && differ == 0, "12 peers in a /28: the same collision named in 200 shuffles "
	   "(%u differ)", differ);
	free_lines(&ls);
}

static void test_small_subnets(void)
{
	struct netconf *c = NULL;
	char err[512], text[512], k[44];
	uint8_t key[32], a[4];
	unsigned i, seen[8] = { 0 }, bad = 0;
	int rc;

	rc = parse("name s\nsubnet 10.6.0.8/29\n", &c, err, sizeof(err));
	rng_state = 3;
	for (i = 0; i < 6000; ++i) {
		random_key(key);
		netconf_derive_ipv4(c, key, a);
		if (a[0] != 10 || a[1] != 6 || a[2] != 0 || a[3] < 9 || a[3] > 14)
			++bad;
		else
			seen[a[3] - 8]++;
	}
	ok(rc == 0 && bad == 0 && !seen[0] && !seen[7], "/29: derived addresses are hosts 1-6");
	ok(seen[1] > 800 && seen[6] > 800, "/29: all hosts used (%u %u %u %u %u %u)", seen[1],
	   seen[2], seen[3], seen[4], seen[5], seen[6]);
	netconf_free(c);

	random_key(key);
	key_url(k, key);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/31\ntrust x %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	snprintf(text, sizeof(text), "net.conf:3: the subnet 10.6.0.0/31 has no room for derived "
		 "addresses: give \"x\" (%s) a static address", k);
	ok(rc == -EINVAL && !strcmp(err, text), "/31: no room: %s", err);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/31\ntrust x 10.6.0.1 %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && c->peers[0].static4, "/31 with a static address");
	netconf_free(c);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.5/32\ntrust 10.6.0.5 %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0, "/32 with its one address");
	netconf_free(c);
	snprintf(text, sizeof(text), "name s\nsubnet 10.6.0.0/30\ntrust %s\n", k);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == 0 && (c->peers[0].ipv4[3] == 1 || c->peers[0].ipv4[3] == 2), "/30 derives .1 or .2");
	netconf_free(c);
}

/* ---- IPv6 ---- */

static void test_ipv6(void)
{
	struct netconf *c = NULL, *c2 = NULL;
	char err[512], *text;
	size_t i, o, outside = 0, same = 0, dup = 0;
	int rc;

	/* 500 trusted peers, explicit /64, then derived /48. */
	rng_state = 17;
	text = malloc(500 * 64 + 128);
	for (int pass = 0; pass < 2; ++pass) {
		o = (size_t)sprintf(text, "name six\nsubnet 10.0.0.0/8\n%s",
				    pass ? "" : "subnet6 fd12:3456:789a:1::/64\n");
		for (i = 0; i < 500; ++i) {
			uint8_t key[32];
			char k[44];

			random_key(key);
			key_url(k, key);
			o += (size_t)sprintf(text + o, "trust %s\n", k);
		}
		rc = parse(text, &c, err, sizeof(err));
		if (!ok(rc == 0, "500 peers with IPv6 (%s)", pass ? "derived /48" : "/64")) {
			diag("%s", err);
			continue;
		}
		rc = parse(text, &c2, err, sizeof(err));
		for (i = 0; i < c->n_peers; ++i) {
			const struct netconf_peer *p = &c->peers[i];
			uint8_t pre[16] = { 0 };
			size_t j;

			memcpy(pre, p->ipv6, pass ? 6 : 8);
			if (memcmp(pre, c->subnet6, 16))
				++outside;
			if (!memcmp(p->ipv6, c2->peers[i].ipv6, 16))
				++same;
			for (j = 0; j < i; ++j)
				if (!memcmp(p->ipv6, c->peers[j].ipv6, 16))
					++dup;
		}
		ok(outside == 0 && dup == 0, "all inside %s/%u, all distinct", v6(c->subnet6),
		   c->prefix6);
		ok(same == c->n_peers, "deterministic across parses");
		if (pass)
			ok(c->subnet6[0] == 0xfd && c->prefix6 == 48 && c->subnet6_derived,
			   "derived subnet6 is a ULA /48: %s", v6(c->subnet6));
		netconf_free(c);
		netconf_free(c2);
		outside = same = 0;
	}
	free(text);

	/* The derived prefix depends on the name and the namespace. */
	{
		uint8_t a[16], b[16], d[16];

		netconf_derive_subnet6("public", "tutorial", a);
		netconf_derive_subnet6("public", "tutorial2", b);
		netconf_derive_subnet6("other", "tutorial", d);
		ok(!strcmp(v6(a), "fded:ca41:89c1::") && memcmp(a, b, 16) && memcmp(a, d, 16),
		   "subnet6 from name and namespace");
		ok(!netconf_derive_subnet6("public", "", a), "no subnet6 without a name");
	}
	/* A /120 still derives, and never the prefix address itself. */
	rc = parse("name s\nsubnet 10.0.0.0/8\nsubnet6 fd00::/120\n", &c, err, sizeof(err));
	{
		uint8_t key[32], a[16];
		unsigned zero = 0;

		for (i = 0; i < 3000; ++i) {
			random_key(key);
			netconf_derive_ipv6(c, key, a);
			if (a[15] == 0 || memcmp(a, c->subnet6, 15))
				++zero;
		}
		ok(rc == 0 && zero == 0, "/120: inside, never the prefix address");
	}
	netconf_free(c);
}

/* ---- lookups against a naive scan ---- */

static void test_lookups(void)
{
	struct line_set ls;
	struct netconf *c = NULL;
	char err[512], *text;
	size_t i, bad = 0;

	rng_state = 23;
	build_network(&ls, 400, "subnet 10.0.0.0/8");
	text = join(&ls);
	if (!ok(parse(text, &c, err, sizeof(err)) == 0, "lookup network parses")) {
		diag("%s", err);
		free(text);
		free_lines(&ls);
		return;
	}
	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];

		if (netconf_find(c, p->key) != p)
			++bad;
		if (p->hostname[0] && netconf_find_hostname(c, p->hostname) != p)
			++bad;
		if ((netconf_find_self(c, p->key) == p) != netconf_kind_is_trusted(p->kind))
			++bad;
	}
	for (i = 0; i < 1000; ++i) {
		uint8_t key[32];
		size_t j;
		const struct netconf_peer *naive = NULL;
		char host[16];

		random_key(key);
		if (i % 2)
			memcpy(key, c->peers[i % c->n_peers].key, 32);
		for (j = 0; j < c->n_peers; ++j)
			if (!memcmp(c->peers[j].key, key, 32))
				naive = &c->peers[j];
		if (netconf_find(c, key) != naive)
			++bad;
		snprintf(host, sizeof(host), "h%zu", i % 500);
		naive = NULL;
		for (j = 0; j < c->n_peers; ++j)
			if (!strcmp(c->peers[j].hostname, host))
				naive = &c->peers[j];
		if (netconf_find_hostname(c, host) != naive)
			++bad;
	}
	ok(bad == 0, "find, find_hostname and find_self agree with a scan (%zu bad)", bad);
	ok(!netconf_find_hostname(c, "") && !netconf_find(NULL, c->peers[0].key),
	   "empty hostname and NULL network");
	netconf_free(c);
	free(text);
	free_lines(&ls);
}

/* ---- diff ---- */

static void test_diff_cases(void)
{
	static const char base[] =
		"name d\nsubnet 10.5.0.0/16\n"
		"boot " KEY_BOOT " boot.example:1\n"
		"trust a " KEY_A "\n"
		"trust b 10.5.0.9 " KEY_B " 192.0.2.1\n";
	struct {
		const char *text;
		unsigned what;
		size_t added, removed, changed;
		unsigned change_what;
	} cases[] = {
		{ base, 0, 0, 0, 0, 0 },
		{ "trust b 10.5.0.9 " KEY_B " 192.0.2.1\nname d\ntrust a " KEY_A
		  "\nboot " KEY_BOOT " boot.example:1\nsubnet 10.5.0.0/16\n", 0, 0, 0, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\n", 0, 0, 1, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\ntrust " KEY_C "\n",
		  0, 1, 0, 0, 0 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:2\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_ENDPOINT },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust aa " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_HOSTNAME },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "router a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_KIND },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.5.0.10 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_IPV4 },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_IPV4 | NETCONF_PEER_STATIC },
		{ "name d\nsubnet 10.5.0.0/16\nboot " KEY_BOOT " boot.example:1\n"
		  "peer a " KEY_A "\ntrust b 10.5.0.9 " KEY_B " 192.0.2.1\n",
		  0, 0, 0, 1, NETCONF_PEER_KIND | NETCONF_PEER_IPV4 | NETCONF_PEER_IPV6 },
		{ "name d\nsubnet 10.5.0.0/16\nworkbit 9\nnamespace x\nboot " KEY_BOOT
		  " boot.example:1\n", NETCONF_DIFF_WORKBIT | NETCONF_DIFF_NAMESPACE | NETCONF_DIFF_SUBNET6,
		  0, 2, 0, 0 },
		{ "name e\nsubnet 10.6.0.0/16\nsubnet6 fd00::/64\nboot " KEY_BOOT " boot.example:1\n"
		  "trust a " KEY_A "\ntrust b 10.6.0.9 " KEY_B " 192.0.2.1\n",
		  NETCONF_DIFF_NAME | NETCONF_DIFF_SUBNET | NETCONF_DIFF_SUBNET6, 0, 0, 2,
		  NETCONF_PEER_IPV4 | NETCONF_PEER_IPV6 },
	};
	struct netconf *old = NULL;
	char err[512];
	size_t i;

	parse(base, &old, err, sizeof(err));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
		struct netconf *c = NULL;
		struct netconf_diff d;
		bool good;
		size_t j;

		if (parse(cases[i].text, &c, err, sizeof(err))) {
			ok(false, "diff case %zu parses: %s", i, err);
			continue;
		}
		good = netconf_diff(old, c, &d) == 0 && d.what == cases[i].what &&
		       d.n_added == cases[i].added && d.n_removed == cases[i].removed &&
		       d.n_changed == cases[i].changed;
		for (j = 0; good && j < d.n_changed; ++j)
			good = d.changed[j].what == cases[i].change_what &&
			       !memcmp(d.changed[j].old_peer->key, d.changed[j].new_peer->key, 32) &&
			       d.changed[j].old_peer == netconf_find(old, d.changed[j].new_peer->key);
		ok(good, "diff case %zu: what %#x, +%zu -%zu ~%zu (%#x)", i, d.what, d.n_added,
		   d.n_removed, d.n_changed, d.n_changed ? d.changed[0].what : 0);
		ok(netconf_diff_empty(&d) == (i < 2), "diff case %zu: empty iff nothing changed", i);
		netconf_diff_free(&d);
		netconf_free(c);
	}
	{
		struct netconf_diff d;

		ok(netconf_diff(NULL, old, &d) == 0 && d.n_added == 3 && d.added[0]->line == 3 &&
		   d.added[2]->line == 5 && d.what == (NETCONF_DIFF_NAME | NETCONF_DIFF_SUBNET |
		   NETCONF_DIFF_SUBNET6), "diff from nothing: everything added, in file order");
		netconf_diff_free(&d);
		ok(netconf_diff(old, NULL, &d) == 0 && d.n_removed == 3 && d.removed[0]->line == 3,
		   "diff to nothing: everything removed");
		netconf_diff_free(&d);
	}
	netconf_free(old);
}

/* Random edits checked against a quadratic model of the diff. */
static void test_diff_model(void)
{
	unsigned round, bad = 0;

	rng_state = 31;
	for (round = 0; round < 60; ++round) {
		struct line_set a, b;
		struct netconf *ca = NULL, *cb = NULL;
		struct netconf_diff d;
		size_t i, j, added = 0, removed = 0, changed = 0;
		char err[512], *ta, *tb;

		build_network(&a, 40, "subnet 10.0.0.0/8");
		b.n = a.n;
		b.lines = malloc((a.n + 10) * sizeof(char *));
		for (i = 0; i < a.n; ++i) {
			unsigned r = (unsigned)(rng() % 10);

			if (i >= 5 && r == 0) {
				b.lines[i] = strdup("# removed");
			} else if (i >= 5 && r == 1 && !strstr(a.lines[i], "boot")) {
				/* Append an endpoint or change it. */
				char line[300], *sp = strrchr(a.lines[i], ' ');

				if (strchr(sp, ':'))
					snprintf(line, sizeof(line), "%.*s 198.51.100.1:9",
						 (int)(sp - a.lines[i]), a.lines[i]);
				else
					snprintf(line, sizeof(line), "%s 198.51.100.1:9", a.lines[i]);
				b.lines[i] = strdup(line);
			} else {
				b.lines[i] = strdup(a.lines[i]);
			}
		}
		for (i = 0; i < 3; ++i) {
			uint8_t key[32];
			char k[44], line[80];

			random_key(key);
			key_url(k, key);
			snprintf(line, sizeof(line), "peer %s", k);
			b.lines[b.n++] = strdup(line);
		}
		shuffle(&b);
		ta = join(&a);
		tb = join(&b);
		if (parse(ta, &ca, err, sizeof(err)) || parse(tb, &cb, err, sizeof(err)) ||
		    netconf_diff(ca, cb, &d)) {
			++bad;
			goto next;
		}
		/* The model: every key of b not in a is added, and so on. */
		for (i = 0; i < cb->n_peers; ++i) {
			const struct netconf_peer *q = &cb->peers[i], *p = NULL;

			for (j = 0; j < ca->n_peers; ++j)
				if (!memcmp(ca->peers[j].key, q->key, 32))
					p = &ca->peers[j];
			if (!p)
				++added;
			else if (p->endpoint.port != q->endpoint.port ||
				 strcmp(p->endpoint.host, q->endpoint.host) ||
				 p->endpoint.type != q->endpoint.type)
				++changed;
		}
		for (i = 0; i < ca->n_peers; ++i)
			if (!netconf_find(cb, ca->peers[i].key))
				++removed;
		if (d.n_added != added || d.n_removed != removed || d.n_changed != changed || d.what)
			++bad;
		for (i = 0; i < d.n_changed; ++i)
			if (d.changed[i].what != NETCONF_PEER_ENDPOINT)
				++bad;
		for (i = 1; i < d.n_added; ++i)
			if (d.added[i - 1]->line >= d.added[i]->line)
				++bad;
		netconf_diff_free(&d);
next:
		netconf_free(ca);
		netconf_free(cb);
		free(ta);
		free(tb);
		free_lines(&a);
		free_lines(&b);
	}
	ok(bad == 0, "diff agrees with a naive model over 60 random edits (%u bad)", bad);
}

int main(void)
{
	/* Nothing may depend on the locale: run under one with other rules
	 * for letters and digits when the system has it. */
	if (!setlocale(LC_ALL, "tr_TR.UTF-8"))
		setlocale(LC_ALL, "C.UTF-8");

	test_tutorial();
	test_public();
	test_syntax();
	test_errors();
	test_error_edges();
	test_line_ends();
	test_long_lines();
	test_limits();
	test_files();
	test_shuffle();
	test_collisions();
	test_collision_pair_stable();
	test_small_subnets();
	test_ipv6();
	test_lookups();
	test_diff_cases();
	test_diff_model();
	return tap_done();
}
