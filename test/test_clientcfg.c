/* Stock WireGuard clients in the network file (`client HOSTNAME KEY`
 * lines: parse, errors, addresses, names) and the wg-quick file that `wh
 * client-config` prints for one (src/node/clientcfg.c), byte for byte. */
#include "test/tap.h"
#include "test/netconf_test.h"

#include "src/node/clientcfg.h"
#include "src/node/strbuf.h"

#include <errno.h>
#include <stdlib.h>

#define KEY_PHONE "hDN8zrQBWEaGKm12PyqUx8SOjcpG__NjrrZ-kHQNqDk"
#define KEY_LAPTOP "1p3Hb9L6IElN1w41T55o02sVsLhmjY2WWV0LWA6EFJc"

#define HDR "name tutorial\nsubnet 10.0.42.0/24\n"

/* Three members (one a router with a route), two clients, a boot node. */
static const char net3[] =
	HDR
	"boot " KEY_BOOT " bootstrap.wirehub.io\n"
	"trust node_a " KEY_A "\n"
	"trust node_b " KEY_B "\n"
	"router gw 10.0.42.1 " KEY_C "\n"
	"route 203.0.113.0/24 via gw\n"
	"client Phone " KEY_PHONE "\n"
	"client laptop 10.0.42.200 " KEY_LAPTOP "   # a static address\n";

static void test_parse(void)
{
	struct netconf *c = NULL;
	const struct netconf_peer *phone, *laptop, *a;
	uint8_t k[32], d4[4], d6[16];
	char err[512];

	if (!ok(parse(net3, &c, err, sizeof(err)) == 0, "client lines parse")) {
		diag("%s", err);
		return;
	}
	ok(c->n_peers == 6 && c->n_notes == 0, "six peers, none left out");
	phone = by_b64(c, KEY_PHONE);
	laptop = by_b64(c, KEY_LAPTOP);
	a = by_b64(c, KEY_A);
	ok(phone && phone->kind == NETCONF_CLIENT && !strcmp(phone->hostname, "phone") &&
	   phone->line == 8 && phone->endpoint.type == NETCONF_ENDPOINT_NONE,
	   "client phone: kind, hostname in lowercase, line, no endpoint");
	ok(!strcmp(netconf_kind_name(NETCONF_CLIENT), "client") &&
	   !netconf_kind_is_trusted(NETCONF_CLIENT) && netconf_kind_has_addresses(NETCONF_CLIENT),
	   "a client has addresses and is not trusted (no member)");
	/* Addresses derived as a member's: candidate 0 of its key. */
	key_from_base64(k, KEY_PHONE, strlen(KEY_PHONE));
	ok(phone && phone->has_ipv4 && phone->has_ipv6 && !phone->static4 && !phone->static6 &&
	   netconf_derive_ipv4(c, k, d4) && netconf_derive_ipv6(c, k, d6) &&
	   !memcmp(d4, phone->ipv4, 4) && !memcmp(d6, phone->ipv6, 16),
	   "phone: derived IPv4 %s and IPv6 %s, as a member's", phone ? v4(phone->ipv4) : "",
	   phone ? v6(phone->ipv6) : "");
	ok(laptop && laptop->static4 && !strcmp(v4(laptop->ipv4), "10.0.42.200") &&
	   laptop->has_ipv6 && !laptop->static6, "laptop: its static IPv4, a derived IPv6");
	ok(netconf_find_hostname(c, "PHONE") == phone, "found by hostname, either case");
	ok(netconf_find_self(c, k) == NULL, "a client's key is no member of its own (no wh)");
	ok(a && netconf_find_self(c, a->key) == a, "a member still finds itself");
	netconf_free(c);

	/* The same key as a trust line derives the same addresses. */
	{
		static const char as_trust[] = HDR "trust phone " KEY_PHONE "\n";
		struct netconf *t = NULL;

		if (ok(parse(as_trust, &t, err, sizeof(err)) == 0, "the key as a trust line")) {
			ok(!memcmp(t->peers[0].ipv4, d4, 4) && !memcmp(t->peers[0].ipv6, d6, 16),
			   "a client line and a trust line of one key: the same addresses");
			netconf_free(t);
		}
	}
	/* A file of clients only still parses (nothing for them to reach:
	 * client-config refuses it, below). */
	{
		static const char only[] = HDR "client phone " KEY_PHONE "\n";
		struct netconf *o = NULL;

		ok(parse(only, &o, err, sizeof(err)) == 0 && o->n_peers == 1,
		   "a file of one client line parses");
		netconf_free(o);
	}
}

struct error_case {
	const char *text;
	const char *message;
};

static void test_errors(void)
{
	static const struct error_case refused[] = {
		{ "client phone " KEY_PHONE "\n",
		  "net.conf:1: a \"client\" line needs the network's name: add a \"name\" line" },
		{ "name n\nclient phone " KEY_PHONE "\n",
		  "net.conf:2: a \"client\" line needs the network's subnet: add a \"subnet "
		  "A.B.C.D/N\" line" },
		{ HDR "client " KEY_PHONE "\n",
		  "net.conf:3: \"client\" line needs a hostname before the key" },
	};
	static const struct error_case left_out[] = {
		{ HDR "trust a " KEY_A "\nclient phone " KEY_PHONE " 192.0.2.1:51820\n",
		  "net.conf:4: unexpected \"192.0.2.1:51820\": a \"client\" line takes no endpoint "
		  "(the client reaches the members through a relay)" },
		{ HDR "trust a " KEY_A "\nclient " KEY_PHONE "\n",
		  "net.conf:4: \"client\" line needs a hostname before the key" },
		{ HDR "trust a " KEY_A "\nclient phone 10.0.43.5 " KEY_PHONE "\n",
		  "net.conf:4: \"10.0.43.5\" is outside the subnet 10.0.42.0/24 (line 2)" },
		/* Clashes with members are judged as between members: the
		 * smaller key keeps the value, here the client's (h < z). */
		{ HDR "trust a " KEY_A "\nclient a " KEY_PHONE "\n",
		  "net.conf:3: hostname \"a\" is already on line 4, whose key sorts first (the "
		  "smaller key keeps it)" },
		{ HDR "trust a 10.0.42.9 " KEY_A "\nclient phone 10.0.42.9 " KEY_PHONE "\n",
		  "net.conf:3: static address \"10.0.42.9\" is already on line 4, whose key sorts "
		  "first (the smaller key keeps it)" },
		{ HDR "trust a " KEY_A "\nclient phone " KEY_A "\ntrust b " KEY_B "\n",
		  "net.conf:3: public key \"" KEY_A "\" is also on line 4" },
		{ HDR "trust a " KEY_A "\nroute 198.51.100.0/24 via phone\nclient phone " KEY_PHONE
		  "\n", "net.conf:4: route 198.51.100.0/24: \"phone\" is a \"client\" line (line 5), "
		  "not a \"router\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); ++i) {
		struct netconf *c = NULL;
		char err[512] = "";
		int rc = parse(refused[i].text, &c, err, sizeof(err));

		if (!ok(rc == -EINVAL && !c && !strcmp(err, refused[i].message), "refused %zu: %s", i,
			refused[i].message))
			diag("got %d: %s", rc, err);
		netconf_free(c);
	}
	for (i = 0; i < sizeof(left_out) / sizeof(left_out[0]); ++i) {
		struct netconf *c = NULL;
		char err[512] = "";
		int rc = parse(left_out[i].text, &c, err, sizeof(err));
		const char *note = !rc && c->n_notes ? c->notes[0].text : err;

		if (!ok(rc == 0 && !strcmp(note, left_out[i].message), "left out %zu: %s", i,
			left_out[i].message))
			diag("got %d: %s", rc, note);
		netconf_free(c);
	}
}

/* A reload sees a client added, removed or turned into a member. */
static void test_diff(void)
{
	static const char before[] = HDR "trust a " KEY_A "\nclient phone " KEY_PHONE "\n";
	static const char after[] = HDR "trust a " KEY_A "\ntrust phone " KEY_PHONE "\n"
				    "client laptop " KEY_LAPTOP "\n";
	struct netconf *o = NULL, *n = NULL;
	struct netconf_diff d;
	char err[512];

	if (!ok(parse(before, &o, err, sizeof(err)) == 0 && parse(after, &n, err, sizeof(err)) == 0,
		"two files for the diff"))
		goto out;
	if (!ok(netconf_diff(o, n, &d) == 0, "diff"))
		goto out;
	ok(d.n_added == 1 && d.added[0]->kind == NETCONF_CLIENT &&
	   !strcmp(d.added[0]->hostname, "laptop"), "a client added");
	ok(d.n_changed == 1 && (d.changed[0].what & NETCONF_PEER_KIND) &&
	   !(d.changed[0].what & (NETCONF_PEER_IPV4 | NETCONF_PEER_IPV6)),
	   "a client become a member: its kind changed, its addresses kept");
	netconf_diff_free(&d);
out:
	netconf_free(o);
	netconf_free(n);
}

/* ---- the wg-quick file ---- */

static const char expected_phone[] =
	"# phone in network tutorial (wh client-config)\n"
	"[Interface]\n"
	"Address = @PHONE4@/32, @PHONE6@/128\n"
	"DNS = @A4@, @A6@, tutorial\n"
	"MTU = 1380\n"
	"\n"
	"# node_a\n"
	"[Peer]\n"
	"PublicKey = @KA@\n"
	"AllowedIPs = @A4@/32, @A6@/128\n"
	"Endpoint = bootstrap.wirehub.io:62096\n"
	"PersistentKeepalive = 25\n"
	"\n"
	"# node_b\n"
	"[Peer]\n"
	"PublicKey = @KB@\n"
	"AllowedIPs = @B4@/32, @B6@/128\n"
	"Endpoint = bootstrap.wirehub.io:62096\n"
	"PersistentKeepalive = 25\n"
	"\n"
	"# gw\n"
	"[Peer]\n"
	"PublicKey = @KC@\n"
	"AllowedIPs = 10.0.42.1/32, @C6@/128, 203.0.113.0/24\n"
	"Endpoint = bootstrap.wirehub.io:62096\n"
	"PersistentKeepalive = 25\n"
	"\n"
	"# laptop (a stock client: reached when its file names this relay too)\n"
	"[Peer]\n"
	"PublicKey = @KL@\n"
	"AllowedIPs = 10.0.42.200/32, @LAPTOP6@/128\n"
	"Endpoint = bootstrap.wirehub.io:62096\n";

/* Fills the @NAME@ holes of a template from the parsed file. */
static char *fill(const char *tpl, const struct netconf *c)
{
	static const struct {
		const char *hole, *key;
		int what;	/* 4, 6, or 0: the key in standard base64 */
	} holes[] = {
		{ "@PHONE4@", KEY_PHONE, 4 }, { "@PHONE6@", KEY_PHONE, 6 },
		{ "@LAPTOP6@", KEY_LAPTOP, 6 },
		{ "@A4@", KEY_A, 4 }, { "@A6@", KEY_A, 6 }, { "@B4@", KEY_B, 4 },
		{ "@B6@", KEY_B, 6 }, { "@C6@", KEY_C, 6 }, { "@KA@", KEY_A, 0 },
		{ "@KB@", KEY_B, 0 }, { "@KC@", KEY_C, 0 }, { "@KL@", KEY_LAPTOP, 0 },
		{ "@KP@", KEY_PHONE, 0 },
	};
	char *out = malloc(8192), *o = out;
	const char *s = tpl;

	while (*s) {
		size_t i;

		for (i = 0; i < sizeof(holes) / sizeof(holes[0]); ++i)
			if (!strncmp(s, holes[i].hole, strlen(holes[i].hole)))
				break;
		if (i == sizeof(holes) / sizeof(holes[0])) {
			*o++ = *s++;
			continue;
		}
		{
			const struct netconf_peer *p = by_b64(c, holes[i].key);
			char k[KEY_B64_LEN + 1];

			if (holes[i].what == 4)
				o += sprintf(o, "%s", v4(p->ipv4));
			else if (holes[i].what == 6)
				o += sprintf(o, "%s", v6(p->ipv6));
			else {
				key_to_base64(k, p->key);
				o += sprintf(o, "%s", k);
			}
			s += strlen(holes[i].hole);
		}
	}
	*o = '\0';
	return out;
}

static char *config(const struct netconf *c, const char *host, const struct clientcfg_options *o,
		    int *rc, char *err, size_t errlen)
{
	struct strbuf b = { 0 };
	size_t len;

	*rc = clientcfg_write(c, host, o, &b, err, errlen);
	return strbuf_take(&b, &len);
}

static void test_config(void)
{
	struct netconf *c = NULL;
	struct clientcfg_options o;
	const struct netconf_peer *a;
	char err[512] = "", *got, *want;
	uint8_t k[32];
	int rc;

	if (!ok(parse(net3, &c, err, sizeof(err)) == 0, "the file of three members"))
		return;
	a = by_b64(c, KEY_A);
	memset(&o, 0, sizeof(o));
	o.keepalive = CLIENTCFG_KEEPALIVE_DEFAULT;
	o.has_dns4 = o.has_dns6 = true;
	memcpy(o.dns4, a->ipv4, 4);
	memcpy(o.dns6, a->ipv6, 16);
	got = config(c, "phone", &o, &rc, err, sizeof(err));
	want = fill(expected_phone, c);
	if (!ok(rc == 0 && got && !strcmp(got, want), "phone's file, byte for byte"))
		diag("rc %d (%s); got:\n%s\nwant:\n%s", rc, err, got ? got : "", want);
	free(got);
	free(want);

	/* The key checked, a relay given, no keepalive, no DNS, a
	 * private key the caller made. */
	key_from_base64(k, KEY_LAPTOP, strlen(KEY_LAPTOP));
	memset(&o, 0, sizeof(o));
	o.public_key = k;
	o.relay = "[2001:db8::7]:4000";
	o.private_key = "PRIVATEKEYTEXT";
	got = config(c, "laptop", &o, &rc, err, sizeof(err));
	want = fill("# laptop in network tutorial (wh client-config)\n"
		    "[Interface]\n"
		    "PrivateKey = PRIVATEKEYTEXT\n"
		    "Address = 10.0.42.200/32, @LAPTOP6@/128\n"
		    "MTU = 1380\n", c);
	ok(rc == 0 && got && !strncmp(got, want, strlen(want)) &&
	   strstr(got, "Endpoint = [2001:db8::7]:4000\n") && !strstr(got, "Keepalive") &&
	   !strstr(got, "DNS") && !strstr(got, KEY_LAPTOP), "laptop's file: PrivateKey, relay, no "
	   "keepalive, no DNS");
	if (got && strncmp(got, want, strlen(want)))
		diag("got:\n%s\nwant:\n%s", got, want);
	free(want);
	want = fill("\n# phone (a stock client: reached when its file names this relay too)\n"
		    "[Peer]\nPublicKey = @KP@\nAllowedIPs = @PHONE4@/32, @PHONE6@/128\n"
		    "Endpoint = [2001:db8::7]:4000\n", c);
	ok(got && strstr(got, want) && !strcmp(got + strlen(got) - strlen(want), want),
	   "and the other client, phone, as its last peer, through the same relay");
	free(got);
	free(want);

	/* Refusals. */
	memset(&o, 0, sizeof(o));
	got = config(c, "node_a", &o, &rc, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "\"node_a\" is a \"trust\" line (line 4), not a client "
				    "line"), "a member is no client: %s", err);
	free(got);
	got = config(c, "tablet", &o, &rc, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "\"tablet\" is no hostname of the network file: a "
				    "client needs a line \"client HOSTNAME KEY\""), "an unknown name: %s",
	   err);
	free(got);
	key_from_base64(k, KEY_PHONE, strlen(KEY_PHONE));
	o.public_key = k;
	got = config(c, "laptop", &o, &rc, err, sizeof(err));
	ok(rc == -EINVAL && strstr(err, "the public key given is not client \"laptop\"'s: its line "
				       "(line 9) has "), "another client's key: %s", err);
	free(got);
	o.public_key = NULL;
	o.relay = "host:99999";
	got = config(c, "phone", &o, &rc, err, sizeof(err));
	ok(rc == -EINVAL && !strcmp(err, "relay: \"99999\" is not a port (1 to 65535) in endpoint "
				    "\"host:99999\""), "a bad relay: %s", err);
	free(got);
	netconf_free(c);

	{
		static const char noboot[] = HDR "trust a " KEY_A "\nclient phone " KEY_PHONE "\n";
		static const char nomember[] = HDR "boot " KEY_BOOT " h\nclient phone " KEY_PHONE "\n";

		memset(&o, 0, sizeof(o));
		parse(noboot, &c, err, sizeof(err));
		got = config(c, "phone", &o, &rc, err, sizeof(err));
		ok(rc == -EINVAL && strstr(err, "no boot node"), "no boot node, no relay: %s", err);
		free(got);
		o.relay = "relay.example:62096";
		got = config(c, "phone", &o, &rc, err, sizeof(err));
		ok(rc == 0 && strstr(got, "Endpoint = relay.example:62096\n"), "no boot node, a relay");
		free(got);
		netconf_free(c);
		parse(nomember, &c, err, sizeof(err));
		got = config(c, "phone", &o, &rc, err, sizeof(err));
		ok(rc == -EINVAL && strstr(err, "no member"), "no member: %s", err);
		free(got);
		netconf_free(c);
	}
}

int main(void)
{
	test_parse();
	test_errors();
	test_diff();
	test_config();
	return tap_done();
}
