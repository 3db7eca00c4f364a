/* The network file parser, line by line (src/node/netconf.c): WireHub's
 * own examples, a table of errors with their exact messages, line ends,
 * long lines, limits and reading from files.  test_netconf_addr.c checks
 * what the whole file gives: addresses, lookups and the reload diff. */
#include "test/netconf_test.h"
#include "test/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

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
	rc = parse("boot " KEY_BOOT " 192.0.2.7:62096 tcp 443\nboot " KEY_A " 192.0.2.8\n", &c, err,
		   sizeof(err));
	ok(rc == 0 && c->n_peers == 2 && c->peers[0].tcp_port == 443 && c->peers[0].endpoint.port == 62096 &&
	   c->peers[1].tcp_port == 0, "a boot line's tcp port: %s", rc ? err : "ok");
	netconf_free(c);
	rc = parse("", &c, err, sizeof(err));
	ok(rc == 0 && c->n_peers == 0 && !c->has_subnet6 && !strcmp(c->ns, "public"),
	   "an empty file is a valid, empty network");
	netconf_free(c);
	rc = parse("workbit 0\nnamespace my-ns\n", &c, err, sizeof(err));
	ok(rc == 0 && c->workbit == 0 && !strcmp(c->ns, "my-ns"), "workbit 0 and a namespace");
	netconf_free(c);
}

/* WireHub's announcement on the WireGuard list (the seeds), unchanged:
 * dotted hostnames, a static address, a boot host name. */
static void test_announcement(void)
{
	static const char text[] =
		"    name test               # network name is 'test'\n"
		"    subnet 10.0.42.0/24     # overlay subnetwork is 10.0.42.0/24\n"
		"    workbit 8               # PoW parameter for DHT security\n"
		"\n"
		"    # a public bootstrap node\n"
		"    boot P17zMwXJFbBdJEn05RFIMADw9TX5_m2xgf31OgNKX3w bootstrap.wirehub.io\n"
		"\n"
		"    trust a.test KJ7YGrBeqLLm_JJ1huIS26OnqAVFy57z5UJqjyMagW4\n"
		"    trust b.test eIix5ldvqDzOIrG9ViKTe9TSBlF4g9nUwKi20C06hFM 12.34.56.78\n"
		"    trust c.test 10.0.42.254 kKZzuIm11zkBSHL9ETRwEthIBbLTvz840F_k4mhI_Hs\n";
	char name[300], line[512], err[512];
	struct netconf *c = NULL;
	const struct netconf_peer *a, *b, *cc;
	int rc;

	rc = parse(text, &c, err, sizeof(err));
	if (!ok(rc == 0 && c->n_peers == 4 && c->n_left_out == 0,
		"WireHub's announcement parses whole: %s", rc ? err : "ok"))
		return;
	a = netconf_find_hostname(c, "a.test");
	b = netconf_find_hostname(c, "B.Test");
	cc = netconf_find_hostname(c, "c.test");
	ok(a && a->line == 8 && a->has_ipv4 && !a->static4, "a.test: a dotted hostname");
	ok(b && !strcmp(b->hostname, "b.test") && b->endpoint.type == NETCONF_ENDPOINT_IPV4 &&
	   !strcmp(b->endpoint.host, "12.34.56.78"), "b.test: found in any case, its endpoint");
	ok(cc && cc->static4 && !strcmp(v4(cc->ipv4), "10.0.42.254"), "c.test: static 10.0.42.254");
	netconf_free(c);

	/* Letters in either case are one name, kept in lowercase. */
	rc = parse("name n\nsubnet 10.0.0.0/8\ntrust Node_A.Example " KEY_A "\n", &c, err,
		   sizeof(err));
	ok(rc == 0 && !strcmp(c->peers[0].hostname, "node_a.example") &&
	   netconf_find_hostname(c, "NODE_A.EXAMPLE") == &c->peers[0], "hostname kept in lowercase");
	netconf_free(c);
	/* 253 characters: four labels of 63 and a "b". */
	memset(name, 'a', 63);
	name[63] = '.';
	memcpy(name + 64, name, 64);
	memcpy(name + 128, name, 64);
	memcpy(name + 192, name, 63);
	strcpy(name + 255, "");
	name[251] = '.';
	name[252] = 'b';
	name[253] = '\0';
	snprintf(line, sizeof(line), "name n\nsubnet 10.0.0.0/8\ntrust %s " KEY_A "\n", name);
	rc = parse(line, &c, err, sizeof(err));
	ok(rc == 0 && strlen(c->peers[0].hostname) == 253 && netconf_find_hostname(c, name),
	   "a hostname of 253 characters: %s", rc ? err : "ok");
	netconf_free(c);
	name[253] = 'b';
	name[254] = '\0';
	snprintf(line, sizeof(line), "name n\nsubnet 10.0.0.0/8\ntrust %s " KEY_A "\n", name);
	rc = parse(line, &c, err, sizeof(err));
	ok(rc == -EINVAL && strstr(err, "is not a valid hostname"), "254 characters are refused");
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

/* An error refuses the file; in left_out_cases, where sound lines
 * remain, the file is taken without the line, whose reason is the first
 * note. */
struct error_case {
	const char *text;
	const char *message;
};

#define HOSTNAME_RULE "use a DNS name of at most 253 characters, labels of 1 to 63 letters, " \
	"digits, '-' or '_'"

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
	{ HDR "peer 10.0.42.7 " KEY_A "\n", "net.conf:3: \"10.0.42.7\": only trust, router, "
	  "alias and client lines take a static address" },
	{ HDR "boot fd00::1 " KEY_A " host\n", "net.conf:3: \"fd00::1\": only trust, router, "
	  "alias and client lines take a static address" },
	{ HDR "trust 10.0.42.7 10.0.42.8 " KEY_A "\n",
	  "net.conf:3: a second static IPv4 address \"10.0.42.8\"" },
	{ HDR "trust node_a node_b " KEY_A "\n",
	  "net.conf:3: a second hostname \"node_b\" (the first is \"node_a\")" },
	{ HDR "trust -a " KEY_A "\n", "net.conf:3: \"-a\" is not a valid hostname: " HOSTNAME_RULE },
	{ HDR "trust aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " KEY_A "\n",
	  "net.conf:3: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a "
	  "valid hostname: " HOSTNAME_RULE },
	{ HDR "trust a.-b " KEY_A "\n", "net.conf:3: \"a.-b\" is not a valid hostname: "
	  HOSTNAME_RULE },
	{ HDR "trust a..b " KEY_A "\n", "net.conf:3: \"a..b\" is not a valid hostname: "
	  HOSTNAME_RULE },
	{ HDR "trust a.test. " KEY_A "\n", "net.conf:3: \"a.test.\" is not a valid hostname: "
	  HOSTNAME_RULE },
	{ HDR "trust a.1 " KEY_A "\n", "net.conf:3: \"a.1\" is not a valid hostname: "
	  HOSTNAME_RULE },
	{ HDR "trust 10.0.42.7/24 " KEY_A "\n",
	  "net.conf:3: \"10.0.42.7/24\" is not an IPv4 address" },
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
	/* A repeated key: both lines out (which one is meant cannot be
	 * told); nothing else is left, so the file is refused. */
	{ HDR "trust a " KEY_A "\n\n# x\ntrust b " KEY_A "\n",
	  "net.conf:3: public key \"" KEY_A "\" is also on line 6" },
	{ HDR "boot " KEY_A " h\ntrust b " KEY_A "\n",
	  "net.conf:3: public key \"" KEY_A "\" is also on line 4" },
	/* A repeated hostname or static address: the smaller key (KEY_B,
	 * 0x83..., against KEY_A's 0xcd...) keeps it, in either order. */
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
	/* A boot node's TCP port (doc/protocol.md 9.6). */
	{ HDR "boot " KEY_A " 192.0.2.1 tcp\n", "net.conf:3: \"tcp\" needs a port (1 to 65535)" },
	{ HDR "boot " KEY_A " 192.0.2.1 tcp 0\n",
	  "net.conf:3: \"tcp\" needs a port (1 to 65535), not \"0\"" },
	{ HDR "boot " KEY_A " 192.0.2.1 tcp 65536\n",
	  "net.conf:3: \"tcp\" needs a port (1 to 65535), not \"65536\"" },
	{ HDR "boot " KEY_A " 192.0.2.1 tcp 443 tcp 80\n", "net.conf:3: a second \"tcp\" port" },
	{ HDR "boot " KEY_A " boot.example:62096 tcp 443\n",
	  "net.conf:3: \"tcp\" needs an IP address as the endpoint, not \"boot.example\"" },
	{ HDR "boot " KEY_A " tcp 443\n", "net.conf:3: unexpected \"443\" after the endpoint" },
	{ HDR "peer " KEY_A " 192.0.2.1 tcp 443\n",
	  "net.conf:3: unexpected \"tcp\" after the endpoint" },
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

static const struct error_case left_out_cases[] = {
	/* One bad line among sound ones costs that line only. */
	{ HDR "trust -a " KEY_A "\ntrust b " KEY_B "\n", "net.conf:3: \"-a\" is not a valid "
	  "hostname: " HOSTNAME_RULE },
	{ HDR "boot " KEY_C " h\ntrust a 10.0.43.5 " KEY_A "\n",
	  "net.conf:4: \"10.0.43.5\" is outside the subnet 10.0.42.0/24 (line 2)" },
	{ HDR "trust a " KEY_A "\ntrust b " KEY_A "\ntrust c " KEY_B "\n",
	  "net.conf:3: public key \"" KEY_A "\" is also on line 4" },
	{ HDR "trust a " KEY_A "\ntrust a " KEY_B "\n",
	  "net.conf:3: hostname \"a\" is already on line 4, whose key sorts first (the smaller "
	  "key keeps it)" },
	{ HDR "trust a " KEY_B "\ntrust A " KEY_A "\n",
	  "net.conf:4: hostname \"a\" is already on line 3, whose key sorts first (the smaller "
	  "key keeps it)" },
	{ HDR "trust a 10.0.42.9 " KEY_A "\ntrust b 10.0.42.9 " KEY_B "\n",
	  "net.conf:3: static address \"10.0.42.9\" is already on line 4, whose key sorts first "
	  "(the smaller key keeps it)" },
	{ HDR "trust a fd76:8a37:ae1e::5 " KEY_A "\ntrust b fd76:8a37:ae1e::5 " KEY_B "\n",
	  "net.conf:3: static address \"fd76:8a37:ae1e::5\" is already on line 4, whose key sorts "
	  "first (the smaller key keeps it)" },
	{ HDR "subnet6 fd00::/64\ntrust a fd00::5 " KEY_B "\ntrust b fd00::5 " KEY_A "\n",
	  "net.conf:5: static address \"fd00::5\" is already on line 4, whose key sorts first "
	  "(the smaller key keeps it)" },
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
	for (i = 0; i < sizeof(left_out_cases) / sizeof(left_out_cases[0]); ++i) {
		const struct error_case *e = &left_out_cases[i];
		struct netconf *c = NULL;
		const char *note;
		char err[512];
		int rc;

		rc = netconf_parse_buffer("net.conf", e->text, strlen(e->text), &c, err,
					  sizeof(err));
		note = !rc && c->n_notes ? c->notes[0].text : "";
		ok(rc == 0 && c->n_peers > 0 && c->n_left_out == c->n_notes &&
		   !strcmp(note, e->message), "left out %zu: %s", i, e->message);
		if (rc || strcmp(note, e->message))
			diag("got %d: %s", rc, rc ? err : note);
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

/* What is not a regular file: refused by netconf_parse_file (what a
 * reload reads on the node's loop) without blocking, read once by
 * netconf_parse_once (wh up <(cat net.conf)); and the size limit. */
static void test_file_kinds(void)
{
	char dir[] = "/tmp/test_netconf_kinds.XXXXXX", path[64], err[512], fdpath[64];
	struct netconf *c = NULL;
	bool regular = true;
	int p[2], fd, rc;

	if (!ok(mkdtemp(dir) != NULL, "a temporary directory"))
		return;
	/* A FIFO nobody writes: fopen would wait for a writer forever. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (ok(mkfifo(path, 0600) == 0, "a FIFO")) {
		rc = netconf_parse_file(path, &c, err, sizeof(err));
		ok(rc == -EINVAL && !c && strstr(err, "not a regular file"), "a FIFO is refused: %s",
		   err);
		unlink(path);
	}
	/* A pipe with the file in it, as bash's <(...) gives it. */
	if (ok(pipe(p) == 0, "a pipe")) {
		ok(write(p[1], tutorial, strlen(tutorial)) == (ssize_t)strlen(tutorial), "written");
		close(p[1]);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", p[0]);
		rc = netconf_parse_once(fdpath, &regular, &c, err, sizeof(err));
		ok(rc == 0 && c && c->n_peers == 3 && !regular, "parse_once reads a pipe: %s",
		   rc ? err : "ok");
		netconf_free(c);
		c = NULL;
		close(p[0]);
	}
	if (ok(pipe(p) == 0, "another pipe")) {
		close(p[1]);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", p[0]);
		rc = netconf_parse_file(fdpath, &c, err, sizeof(err));
		ok(rc == -EINVAL && !c && strstr(err, "not a regular file"),
		   "parse_file refuses a pipe: %s", err);
		close(p[0]);
	}
	/* One byte over the limit (sparse: nothing is written). */
	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (ok(fd >= 0 && ftruncate(fd, (off_t)NETCONF_FILE_MAX + 1) == 0, "a big file")) {
		rc = netconf_parse_file(path, &c, err, sizeof(err));
		ok(rc == -EFBIG && !c && strstr(err, "larger than"), "a file over %u bytes: %s",
		   NETCONF_FILE_MAX, err);
		rc = netconf_parse_once(path, &regular, &c, err, sizeof(err));
		ok(rc == -EFBIG && !c && regular, "parse_once: the same: %s", err);
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
}

/* Invitations' alias lines (doc/network-file.md "Alias lines"): one whose
 * expiry comment is in the past is no member (left out, in every copy of
 * the file); a live one, one without the comment, and the comment on any
 * other line change nothing. */
static void test_alias_expiry(void)
{
	static const char text[] =
		"name inv\n"
		"subnet 10.9.0.0/16\n"
		"trust a " KEY_A "\n"
		"alias old " KEY_B " # wh invite: expires 1000\n"
		"alias new " KEY_C " # wh invite: expires 99999999999 \n"
		"alias " KEY_BOOT "\n"
		"trust b NJAhwCtuWdqwrYpv3o9-Tn3_KF9L-4lJsyD0ngBQdgc # wh invite: expires 1000\n";
	struct netconf *c = NULL;
	const struct netconf_peer *p;
	char err[512];
	int rc = parse(text, &c, err, sizeof(err));

	if (!ok(rc == 0, "a file with an expired alias line parses")) {
		diag("%s", err);
		return;
	}
	ok(!by_b64(c, KEY_B) && !netconf_find_hostname(c, "old") && c->n_peers == 4,
	   "the expired alias is no member: left out (%zu peers)", c->n_peers);
	ok(c->n_notes == 1 && c->notes[0].line == 4 && strstr(c->notes[0].text, "expired"),
	   "its note says it expired: %s", c->n_notes ? c->notes[0].text : "(none)");
	p = by_b64(c, KEY_C);
	ok(p && p->kind == NETCONF_ALIAS && p->has_ipv4 && netconf_find_hostname(c, "new") == p,
	   "an alias that has not expired is a member");
	p = by_b64(c, KEY_BOOT);
	ok(p && p->kind == NETCONF_ALIAS, "an alias line without the comment never expires");
	p = by_b64(c, "NJAhwCtuWdqwrYpv3o9-Tn3_KF9L-4lJsyD0ngBQdgc");
	ok(p && p->kind == NETCONF_TRUST, "the comment on a trust line changes nothing");
	ok(c->n_expired == 1 && c->expired_lines[0] == 4, "its line is the one to remove (line 4)");
	ok(by_b64(c, KEY_C)->expires_s == 99999999999ull && by_b64(c, KEY_BOOT)->expires_s == 0 &&
	   c->alias_next_expiry == 99999999999ull, "the live alias's expiry is the next one");
	netconf_free(c);
}

int main(void)
{
	/* Nothing may depend on the locale: run under one with other rules
	 * for letters and digits when the system has it. */
	if (!setlocale(LC_ALL, "tr_TR.UTF-8"))
		setlocale(LC_ALL, "C.UTF-8");

	test_tutorial();
	test_public();
	test_announcement();
	test_syntax();
	test_errors();
	test_error_edges();
	test_line_ends();
	test_long_lines();
	test_limits();
	test_files();
	test_file_kinds();
	test_alias_expiry();
	return tap_done();
}
