/* The name table: the members' full names and addresses, sorted for
 * binary search by name (in key order, table_priv.h) and by address. */
#include "proto/dns/table_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool label_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

bool dns_key_from_labels(const struct dns_label *labels, size_t n, char *out, size_t cap,
			 size_t *len)
{
	size_t i, j, off = 0;

	for (i = n; i-- > 0;) {
		if (off + (i + 1 < n) + labels[i].len > cap)
			return false;
		if (i + 1 < n)
			out[off++] = DNS_KEY_SEP;
		for (j = 0; j < labels[i].len; ++j) {
			uint8_t c = lower(labels[i].p[j]);

			if (!label_byte_ok(c))
				return false;
			out[off++] = (char)c;
		}
	}
	*len = off;
	return true;
}

/* Splits a dotted text name into labels; false when a label is empty or
 * too long, or there are too many. */
static bool split_text(const char *s, struct dns_label *labels, size_t max, size_t *n)
{
	size_t count = 0;

	*n = 0;
	if (!*s)
		return true;
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (!len || len > DNS_MAX_LABEL || count == max)
			return false;
		labels[count].p = (const uint8_t *)s;
		labels[count].len = (uint8_t)len;
		++count;
		if (!dot)
			break;
		s = dot + 1;
	}
	*n = count;
	return true;
}

/* Whether the labels end with the suffix's labels (case-insensitively). */
static bool ends_with(const struct dns_label *l, size_t n, const struct dns_label *s, size_t ns)
{
	size_t i, j;

	if (ns > n)
		return false;
	for (i = 0; i < ns; ++i) {
		const struct dns_label *a = &l[n - ns + i], *b = &s[i];

		if (a->len != b->len)
			return false;
		for (j = 0; j < a->len; ++j)
			if (lower(a->p[j]) != lower(b->p[j]))
				return false;
	}
	return true;
}

/* A member's full name: its hostname, under the suffix unless the
 * hostname already ends with it (WireHub's "a.test" in network "test"
 * is a.test, not a.test.test). */
static int entry_fill(struct dns_entry *e, const struct dns_host *h, const struct dns_label *sfx,
		      size_t n_sfx)
{
	struct dns_label labels[DNS_MAX_NAME / 2 + 1];
	char key[DNS_KEY_MAX];
	size_t n, i, wire = 1;

	if (!split_text(h->name, labels, sizeof(labels) / sizeof(labels[0]), &n) || !n)
		return -EINVAL;
	if (n <= n_sfx || !ends_with(labels, n, sfx, n_sfx)) {
		if (n + n_sfx > sizeof(labels) / sizeof(labels[0]))
			return -EINVAL;
		memcpy(&labels[n], sfx, n_sfx * sizeof(*sfx));
		n += n_sfx;
	}
	for (i = 0; i < n; ++i)
		wire += 1 + labels[i].len;
	if (wire > DNS_MAX_NAME)
		return -EINVAL;
	if (!dns_key_from_labels(labels, n, key, sizeof(key), &e->key_len))
		return -EINVAL;
	e->key = malloc(e->key_len ? e->key_len : 1);
	if (!e->key)
		return -ENOMEM;
	memcpy(e->key, key, e->key_len);
	e->wire_len = 0;
	for (i = 0; i < n; ++i) {
		size_t j;

		e->wire[e->wire_len++] = labels[i].len;
		for (j = 0; j < labels[i].len; ++j)
			e->wire[e->wire_len++] = lower(labels[i].p[j]);
	}
	e->wire[e->wire_len++] = 0;
	e->has_ipv4 = h->has_ipv4;
	e->has_ipv6 = h->has_ipv6;
	memcpy(e->ipv4, h->ipv4, 4);
	memcpy(e->ipv6, h->ipv6, 16);
	return 0;
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct dns_entry *x = a, *y = b;

	return key_cmp(x->key, x->key_len, y->key, y->key_len);
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(((const struct dns_addr_ix *)a)->addr, ((const struct dns_addr_ix *)b)->addr, 16);
}

void dns_table_free(struct dns_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; ++i)
		free(t->e[i].key);
	free(t->e);
	free(t->by4);
	free(t->by6);
	free(t);
}

int dns_table_new(struct dns_table **out, const struct dns_zone *zone,
		  const struct dns_host *hosts, size_t n_hosts)
{
	struct dns_label sfx[DNS_MAX_NAME / 2 + 1];
	struct dns_table *t;
	size_t i, n_sfx;
	int ret = -ENOMEM;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->zone = *zone;
	if (!t->zone.ttl)
		t->zone.ttl = DNS_TTL;
	if (zone->suffix && strlen(zone->suffix) > DNS_MAX_NAME - 2) {
		ret = -EINVAL;
		goto fail;
	}
	memcpy(t->suffix_text, zone->suffix ? zone->suffix : "",
	       zone->suffix ? strlen(zone->suffix) + 1 : 1);
	t->zone.suffix = t->suffix_text;
	if (!split_text(t->suffix_text, sfx, sizeof(sfx) / sizeof(sfx[0]), &n_sfx) ||
	    !dns_key_from_labels(sfx, n_sfx, t->suffix_key, sizeof(t->suffix_key),
				 &t->suffix_key_len)) {
		ret = -EINVAL;
		goto fail;
	}
	t->e = calloc(n_hosts ? n_hosts : 1, sizeof(*t->e));
	t->by4 = calloc(n_hosts ? n_hosts : 1, sizeof(*t->by4));
	t->by6 = calloc(n_hosts ? n_hosts : 1, sizeof(*t->by6));
	if (!t->e || !t->by4 || !t->by6)
		goto fail;
	for (i = 0; i < n_hosts; ++i) {
		if (!hosts[i].name || !hosts[i].name[0])
			continue;
		ret = entry_fill(&t->e[t->n], &hosts[i], sfx, n_sfx);
		if (ret == -EINVAL) {
			/* One bad name costs that name only. */
			++t->skipped;
			continue;
		}
		if (ret < 0)
			goto fail;
		++t->n;
	}
	qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
	/* A member without a hostname has no name, but its addresses are
	 * a member's all the same (who may ask). */
	for (i = 0; i < n_hosts; ++i) {
		if (hosts[i].name && hosts[i].name[0])
			continue;
		if (hosts[i].has_ipv4) {
			memset(t->by4[t->n4].addr, 0, 16);
			memcpy(t->by4[t->n4].addr, hosts[i].ipv4, 4);
			t->by4[t->n4++].ix = DNS_NO_ENTRY;
		}
		if (hosts[i].has_ipv6) {
			memcpy(t->by6[t->n6].addr, hosts[i].ipv6, 16);
			t->by6[t->n6++].ix = DNS_NO_ENTRY;
		}
	}
	for (i = 0; i < t->n; ++i) {
		if (t->e[i].has_ipv4) {
			memset(t->by4[t->n4].addr, 0, 16);
			memcpy(t->by4[t->n4].addr, t->e[i].ipv4, 4);
			t->by4[t->n4++].ix = i;
		}
		if (t->e[i].has_ipv6) {
			memcpy(t->by6[t->n6].addr, t->e[i].ipv6, 16);
			t->by6[t->n6++].ix = i;
		}
	}
	qsort(t->by4, t->n4, sizeof(*t->by4), addr_cmp);
	qsort(t->by6, t->n6, sizeof(*t->by6), addr_cmp);
	*out = t;
	return 0;
fail:
	dns_table_free(t);
	return ret;
}

size_t dns_table_size(const struct dns_table *t)
{
	return t->n;
}

size_t dns_table_skipped(const struct dns_table *t)
{
	return t->skipped;
}

/* The first entry whose key is not below key. */
static size_t lower_bound(const struct dns_table *t, const char *key, size_t key_len)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(t->e[mid].key, t->e[mid].key_len, key, key_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum dns_find dns_table_find(const struct dns_table *t, const char *key, size_t key_len,
			     size_t *first, size_t *last)
{
	size_t i = lower_bound(t, key, key_len), j = i;

	while (j < t->n && !key_cmp(t->e[j].key, t->e[j].key_len, key, key_len))
		++j;
	*first = i;
	*last = j;
	if (j > i)
		return DNS_FIND_NAME;
	/* A name below key: key, the separator, more labels. */
	if (i < t->n && t->e[i].key_len > key_len && !memcmp(t->e[i].key, key, key_len) &&
	    (key_len == 0 || t->e[i].key[key_len] == DNS_KEY_SEP))
		return DNS_FIND_BELOW;
	return DNS_FIND_NONE;
}

bool dns_table_find_addr(const struct dns_table *t, bool ipv6, const uint8_t *addr, size_t *first,
			 size_t *last)
{
	const struct dns_addr_ix *v = ipv6 ? t->by6 : t->by4;
	size_t n = ipv6 ? t->n6 : t->n4, lo = 0, hi = n;
	struct dns_addr_ix probe;

	memset(probe.addr, 0, 16);
	memcpy(probe.addr, addr, ipv6 ? 16 : 4);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&v[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (hi < n && !addr_cmp(&v[hi], &probe))
		++hi;
	*last = hi > lo ? hi : lo;
	return *last > *first;
}

bool dns_table_has_addr(const struct dns_table *t, bool ipv6, const uint8_t *addr)
{
	size_t a, b;

	return dns_table_find_addr(t, ipv6, addr, &a, &b);
}

int dns_full_name(const char *hostname, const char *suffix, char *full, size_t full_cap,
		  char *bare, size_t bare_cap)
{
	struct dns_label labels[DNS_MAX_NAME / 2 + 1], sfx[DNS_MAX_NAME / 2 + 1];
	size_t n, n_sfx, hl = strlen(hostname), sl = suffix ? strlen(suffix) : 0;
	bool has;

	if (!split_text(hostname, labels, sizeof(labels) / sizeof(labels[0]), &n) || !n ||
	    !split_text(suffix ? suffix : "", sfx, sizeof(sfx) / sizeof(sfx[0]), &n_sfx))
		return -EINVAL;
	has = n_sfx && n > n_sfx && ends_with(labels, n, sfx, n_sfx);
	if (!n_sfx || has) {
		if (hl + 1 > full_cap || (has ? hl - sl - 1 : hl) + 1 > bare_cap)
			return -ENAMETOOLONG;
		memcpy(full, hostname, hl + 1);
		memcpy(bare, hostname, has ? hl - sl - 1 : hl);
		bare[has ? hl - sl - 1 : hl] = 0;
	} else {
		if (hl + 1 + sl + 1 > full_cap || hl + 1 > bare_cap)
			return -ENAMETOOLONG;
		memcpy(full, hostname, hl);
		full[hl] = '.';
		memcpy(full + hl + 1, suffix, sl + 1);
		memcpy(bare, hostname, hl + 1);
	}
	return 0;
}
