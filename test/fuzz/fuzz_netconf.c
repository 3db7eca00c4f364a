/* libFuzzer harness for the network file parser (src/node/netconf.c).
 *
 * The input is the file.  Whatever it holds, the parser must return 0 with
 * a consistent network or -EINVAL with a one-line printable message that
 * starts with the file's name.  Accepted networks are checked: addresses
 * inside their subnets, every key and hostname found again, the diff of a
 * network with itself empty.  Then the same lines in reverse order must
 * give the same verdict and, when accepted, the same addresses, routes
 * and number of lines left out: the order of the lines must not matter. */
#include "src/node/netconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *err)
{
	size_t i;

	if (strncmp(err, "fuzz", 4) || (err[4] != ':'))
		abort();
	for (i = 0; err[i]; ++i)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
			abort();
}

static void check_conf(const struct netconf *c)
{
	struct netconf_diff d;
	size_t i;

	for (i = 0; i < c->n_peers; ++i) {
		const struct netconf_peer *p = &c->peers[i];
		bool trusted = netconf_kind_has_addresses(p->kind);

		if (netconf_find(c, p->key) != p)
			abort();
		if (p->hostname[0] && netconf_find_hostname(c, p->hostname) != p)
			abort();
		if (p->has_ipv4 != trusted || p->has_ipv6 != trusted)
			abort();
		if (p->kind == NETCONF_BOOT && p->endpoint.type == NETCONF_ENDPOINT_NONE)
			abort();
		if (p->endpoint.port == 0)
			abort();
		if (trusted) {
			uint32_t a = (uint32_t)p->ipv4[0] << 24 | (uint32_t)p->ipv4[1] << 16 |
				     (uint32_t)p->ipv4[2] << 8 | p->ipv4[3];
			uint32_t n = (uint32_t)c->subnet[0] << 24 | (uint32_t)c->subnet[1] << 16 |
				     (uint32_t)c->subnet[2] << 8 | c->subnet[3];
			uint32_t m = 0xffffffffu << (32 - c->prefix);
			unsigned b;

			if (!c->has_subnet || !c->has_subnet6 || (a & m) != n)
				abort();
			for (b = 0; b < c->prefix6; ++b) {
				unsigned bit = 0x80u >> (b % 8);

				if ((p->ipv6[b / 8] & bit) != (c->subnet6[b / 8] & bit))
					abort();
			}
			/* A client is no member, not even of its own. */
			if (netconf_find_self(c, p->key) !=
			    (netconf_kind_is_trusted(p->kind) ? p : NULL))
				abort();
		}
	}
	/* Every route goes through a router line of the network, once. */
	for (i = 0; i < c->n_routes; ++i) {
		const struct netconf_route *r = &c->routes[i];

		if (r->router >= c->n_peers || c->peers[r->router].kind != NETCONF_ROUTER ||
		    memcmp(c->peers[r->router].key, r->router_key, NETCONF_KEY_LEN) ||
		    netconf_find_route(c, r->v6, r->addr, r->prefix) != r)
			abort();
	}
	if (c->n_notes > NETCONF_MAX_NOTES || c->n_notes > c->n_left_out)
		abort();
	for (i = 0; i < c->n_notes; ++i)
		check_message(c->notes[i].text);
	if (netconf_diff(c, c, &d) == 0) {
		if (!netconf_diff_empty(&d))
			abort();
		netconf_diff_free(&d);
	}
	if (netconf_diff(NULL, c, &d) == 0) {
		if (d.n_added != c->n_peers || d.n_removed || d.n_changed)
			abort();
		netconf_diff_free(&d);
	}
}

/* The lines of data in reverse order, each ending in '\n'. */
static char *reverse_lines(const uint8_t *data, size_t size, size_t *outlen)
{
	char *out = malloc(size + 2);
	size_t end = size, o = 0;

	if (!out)
		return NULL;
	while (end > 0) {
		size_t start = end;

		/* A final line end does not start an empty last line. */
		if (end == size && data[end - 1] == '\n')
			start = --end;
		while (start > 0 && data[start - 1] != '\n')
			--start;
		memcpy(out + o, data + start, end - start);
		o += end - start;
		out[o++] = '\n';
		end = start ? start - 1 : 0;
		if (start == 0)
			break;
	}
	*outlen = o;
	return out;
}

static bool same_addresses(const struct netconf *a, const struct netconf *b)
{
	size_t i;

	if (a->n_peers != b->n_peers || memcmp(a->subnet6, b->subnet6, 16))
		return false;
	for (i = 0; i < a->n_peers; ++i) {
		const struct netconf_peer *p = &a->peers[i], *q = netconf_find(b, p->key);

		if (!q || memcmp(p->ipv4, q->ipv4, 4) || memcmp(p->ipv6, q->ipv6, 16) ||
		    strcmp(p->hostname, q->hostname) || p->kind != q->kind)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netconf *c = NULL, *r = NULL;
	char err[512], err2[512];
	size_t rlen = 0;
	char *rev;
	int rc, rc2;

	rc = netconf_parse_buffer("fuzz", (const char *)data, size, &c, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc) {
		if (c)
			abort();
		if (rc == -EINVAL)
			check_message(err);
	} else {
		check_conf(c);
	}

	rev = reverse_lines(data, size, &rlen);
	if (rev) {
		rc2 = netconf_parse_buffer("fuzz", rev, rlen, &r, err2, sizeof(err2));
		if ((rc == 0) != (rc2 == 0) && rc != -ENOMEM && rc2 != -ENOMEM)
			abort();
		if (!rc && !rc2 && (!same_addresses(c, r) || c->n_routes != r->n_routes ||
				    c->n_left_out != r->n_left_out))
			abort();
		netconf_free(r);
		free(rev);
	}
	netconf_free(c);
	return 0;
}
