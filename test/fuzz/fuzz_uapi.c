/* libFuzzer harness for the UAPI parser and get formatter (src/wg/uapi.c).
 *
 * The first bytes of the input choose how the rest is cut into reads and
 * the request size limit; the rest goes to the parser.  Every set request
 * it accepts is checked for sane values, turned into a get snapshot and
 * formatted; the formatted lines that are also set keys (public_key,
 * preshared_key, endpoint, persistent_keepalive_interval, allowed_ip,
 * device keys) are fed back as a set request, which must parse to the same
 * values. */
#include "src/wg/uapi.h"

#include "crypto/encoding.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_set(const struct uapi_set *set)
{
	size_t i, j;

	if (set->n_peers > set->cap_peers)
		abort();
	for (i = 0; i < set->n_peers; ++i) {
		const struct uapi_peer_set *p = &set->peers[i];

		if (p->n_allowed_ips > p->cap_allowed_ips)
			abort();
		if (p->has_endpoint && p->endpoint.sa.sa_family != AF_INET &&
		    p->endpoint.sa.sa_family != AF_INET6)
			abort();
		for (j = 0; j < p->n_allowed_ips; ++j) {
			const struct uapi_allowed_ip *a = &p->allowed_ips[j];

			if (a->family == AF_INET ? a->cidr > 32 :
			    a->family == AF_INET6 ? a->cidr > 128 : true)
				abort();
		}
	}
}

static bool same_endpoint(const union wg_sockaddr *a, const union wg_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

/* The harness's own text: a plain growing buffer. */
static void append(struct uapi_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = 2 * (b->len + n) + 64;
		char *d = realloc(b->data, cap);

		if (!d)
			abort();
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static bool has_line_prefix(const char *s, size_t len, const char *key)
{
	size_t k = strlen(key);

	return len > k && memcmp(s, key, k) == 0 && s[k] == '=';
}

/* Formats set as a get answer and parses the settable part back. */
static void round_trip(const struct uapi_set *set)
{
	struct uapi_peer_info *peers = calloc(set->n_peers + 1, sizeof(*peers));
	struct uapi_device_info dev = { 0 };
	struct uapi_buf out = { 0 }, again = { 0 };
	struct uapi_parser p;
	struct uapi_set *back = NULL;
	size_t i, pos = 0, used;
	int r;

	if (!peers)
		abort();
	dev.has_private_key = set->has_private_key;
	memcpy(dev.private_key, set->private_key, UAPI_KEY_LEN);
	dev.listen_port = set->listen_port;
	dev.fwmark = set->fwmark;
	dev.peers = peers;
	dev.n_peers = set->n_peers;
	for (i = 0; i < set->n_peers; ++i) {
		const struct uapi_peer_set *s = &set->peers[i];

		memcpy(peers[i].public_key, s->public_key, UAPI_KEY_LEN);
		memcpy(peers[i].preshared_key, s->preshared_key, UAPI_KEY_LEN);
		if (s->has_endpoint)
			peers[i].endpoint = s->endpoint;
		peers[i].persistent_keepalive_interval = s->persistent_keepalive_interval;
		peers[i].last_handshake_sec = (int64_t)i - 1;
		peers[i].tx_bytes = UINT64_MAX - i;
		peers[i].allowed_ips = s->allowed_ips;
		peers[i].n_allowed_ips = s->n_allowed_ips;
	}
	if (uapi_format_get(&out, &dev) != 0)
		abort();
	if (out.len < 9 || memcmp(out.data + out.len - 9, "errno=0\n\n", 9) != 0)
		abort();

	append(&again, "set=1\n", 6);
	while (pos < out.len - 9) {
		const char *line = out.data + pos;
		const char *nl = memchr(line, '\n', out.len - pos);
		size_t len;

		if (!nl || nl == line || !memchr(line, '=', (size_t)(nl - line)))
			abort();
		len = (size_t)(nl - line) + 1;
		if (!has_line_prefix(line, len, "last_handshake_time_sec") &&
		    !has_line_prefix(line, len, "last_handshake_time_nsec") &&
		    !has_line_prefix(line, len, "tx_bytes") &&
		    !has_line_prefix(line, len, "rx_bytes"))
			append(&again, line, len);
		pos += len;
	}
	append(&again, "\n", 1);

	uapi_parser_init(&p);
	r = uapi_parser_feed(&p, again.data, again.len, &used, &back);
	if (r != UAPI_REQUEST_SET || used != again.len || !back)
		abort();
	if (back->n_peers != set->n_peers)
		abort();
	/* Keys and numbers are printed only when nonzero. */
	if (back->has_private_key !=
	    (set->has_private_key && !ct_is_zero(set->private_key, UAPI_KEY_LEN)))
		abort();
	if (back->has_private_key && memcmp(back->private_key, set->private_key, UAPI_KEY_LEN))
		abort();
	if (back->listen_port != set->listen_port || back->fwmark != set->fwmark)
		abort();
	for (i = 0; i < set->n_peers; ++i) {
		const struct uapi_peer_set *s = &set->peers[i], *b = &back->peers[i];
		size_t j;

		if (memcmp(s->public_key, b->public_key, UAPI_KEY_LEN) ||
		    memcmp(s->preshared_key, b->preshared_key, UAPI_KEY_LEN) ||
		    s->has_endpoint != b->has_endpoint ||
		    (s->has_endpoint && !same_endpoint(&s->endpoint, &b->endpoint)) ||
		    s->persistent_keepalive_interval != b->persistent_keepalive_interval ||
		    s->n_allowed_ips != b->n_allowed_ips)
			abort();
		for (j = 0; j < s->n_allowed_ips; ++j) {
			const struct uapi_allowed_ip *x = &s->allowed_ips[j], *y = &b->allowed_ips[j];

			if (x->family != y->family || x->cidr != y->cidr || y->remove ||
			    memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16))
				abort();
		}
	}
	uapi_set_free(back);
	uapi_parser_free(&p);
	uapi_buf_free(&again);
	uapi_buf_free(&out);
	free(peers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uapi_parser p;
	uint32_t rng;
	size_t off = 0;

	if (size < 3)
		return 0;
	/* Byte 0 seeds the read sizes (0: one read), byte 1 the size limit. */
	rng = data[0];
	uapi_parser_init(&p);
	if (data[1] < 16)
		p.max_request = (size_t)data[1] * 16;
	data += 2;
	size -= 2;

	while (off < size && !uapi_parser_broken(&p)) {
		size_t n = size - off;

		if (rng) {
			rng = rng * 1103515245u + 12345u;
			n = 1 + (rng >> 16) % 64;
			if (n > size - off)
				n = size - off;
		}
		while (n > 0) {
			struct uapi_set *set;
			size_t used;
			int r = uapi_parser_feed(&p, (const char *)data + off, n, &used, &set);

			if (used > n || (r == UAPI_REQUEST_NONE && used != n))
				abort();
			if ((r == UAPI_REQUEST_SET) != (set != NULL))
				abort();
			if (r < 0 && r != -EINVAL && r != -EPROTO && r != -EMSGSIZE && r != -ENOMEM)
				abort();
			if (r == UAPI_REQUEST_GET && !uapi_parser_idle(&p))
				abort();
			off += used;
			n -= used;
			if (set) {
				check_set(set);
				round_trip(set);
				uapi_set_free(set);
			}
			if (uapi_parser_broken(&p))
				break;
		}
	}
	uapi_parser_free(&p);
	return 0;
}
