/* The overlay message codec (doc/protocol.md, "Messages").
 *
 * Every message is self-delimiting: its variable parts carry their own
 * counts and lengths, so a decoder knows where a message must end and
 * refuses both a shorter buffer and a longer one.
 *
 * Reading goes through a bounds-checked reader in the manner of OpenSSH's
 * sshbuf and bgpd's ibuf: take(r, n) hands out the next n bytes or NULL,
 * and only then is a wire struct of exactly that size looked at (every
 * wire struct is made of byte arrays, so any address is aligned for it).
 * Writing mirrors it with a bounds-checked writer.  Byte order is
 * converted here and nowhere else. */
#include "proto/overlay/codec.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct reader {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

struct writer {
	uint8_t *buf;
	size_t max;
	size_t off;
};

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static const void *take(struct reader *r, size_t n)
{
	const uint8_t *p;

	if (r->len - r->off < n)
		return NULL;
	p = r->buf + r->off;
	r->off += n;
	return p;
}

static size_t remaining(const struct reader *r)
{
	return r->len - r->off;
}

static void *put(struct writer *w, size_t n)
{
	uint8_t *p;

	if (!w->buf || w->max - w->off < n)
		return NULL;
	p = w->buf + w->off;
	w->off += n;
	return p;
}

/* ---- decoding ---- */

/* The wire's form (IPv4 as ::ffff:a.b.c.d) to struct ovl_addr; false
 * for anything but the one form of a known family, or port 0. */
static bool read_addr(struct ovl_addr *a, const struct ovl_wire_addr *w)
{
	bool mapped = memcmp(w->ip, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
	uint16_t port = be16_get(w->port);

	memset(a, 0, sizeof(*a));
	if (w->family == OVL_AF_INET && mapped)
		ovl_addr_set_v4(a, w->ip + 12, port);
	else if (w->family == OVL_AF_INET6 && !mapped)
		ovl_addr_set_v6(a, w->ip, port);
	else
		return false;
	return ovl_addr_valid(a);
}

static bool read_frag(struct ovl_frag *f, const struct ovl_wire_frag *w)
{
	f->id = be16_get(w->id);
	f->index = w->index;
	f->count = w->count;
	if (f->count == 0 || f->count > OVL_RELAY_MAX_FRAGMENTS || f->index >= f->count)
		return false;
	/* An unfragmented payload carries no id: one encoding per message. */
	return f->count > 1 || f->id == 0;
}

/* pad_len zero bytes of padding. */
static enum ovl_decode read_padding(struct reader *r, const uint8_t wire_len[2], uint16_t *pad_len)
{
	size_t n = be16_get(wire_len), i;
	const uint8_t *p = take(r, n);
	uint8_t acc = 0;

	if (!p)
		return OVL_DECODE_TRUNCATED;
	for (i = 0; i < n; ++i)
		acc |= p[i];
	if (acc)
		return OVL_DECODE_BAD_FIELD;
	*pad_len = (uint16_t)n;
	return OVL_DECODE_OK;
}

/* The payload of a relay message: payload_len bytes, 1..OVL_RELAY_MAX_CHUNK. */
static enum ovl_decode read_payload(struct reader *r, const uint8_t wire_len[2],
				    const uint8_t **payload, size_t *len)
{
	size_t n = be16_get(wire_len);

	if (n == 0)
		return OVL_DECODE_BAD_FIELD;
	if (n > OVL_RELAY_MAX_CHUNK)
		return OVL_DECODE_TOO_LONG;
	*payload = take(r, n);
	if (!*payload)
		return OVL_DECODE_TRUNCATED;
	*len = n;
	return OVL_DECODE_OK;
}

static enum ovl_decode decode_ping(struct ovl_ping *m, struct reader *r)
{
	const struct ovl_wire_ping *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	m->flags = w->flags;
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_pong(struct ovl_pong *m, struct reader *r)
{
	const struct ovl_wire_pong *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	m->flags = w->flags;
	if (!read_addr(&m->observed, &w->observed))
		return OVL_DECODE_BAD_ADDR;
	return OVL_DECODE_OK;
}

static enum ovl_decode decode_find_node(struct ovl_find_node *m, struct reader *r)
{
	const struct ovl_wire_find_node *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->txid = be64_get(w->txid);
	memcpy(m->target, w->target, OVL_KEY_LEN);
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_nodes(struct ovl_nodes *m, struct reader *r)
{
	const struct ovl_wire_nodes *w = take(r, sizeof(*w));
	unsigned i;

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->txid = be64_get(w->txid);
	m->count = w->count;
	if (m->count > OVL_K)
		return OVL_DECODE_BAD_COUNT;
	for (i = 0; i < m->count; ++i) {
		const struct ovl_wire_node *e = take(r, sizeof(*e));

		if (!e)
			return OVL_DECODE_TRUNCATED;
		memcpy(m->nodes[i].key, e->key, OVL_KEY_LEN);
		if (!read_addr(&m->nodes[i].addr, &e->addr))
			return OVL_DECODE_BAD_ADDR;
		m->nodes[i].flags = e->flags;
	}
	return OVL_DECODE_OK;
}

static enum ovl_decode decode_relay(struct ovl_relay *m, struct reader *r)
{
	const struct ovl_wire_relay *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	memcpy(m->dst, w->dst, OVL_KEY_LEN);
	if (!read_frag(&m->frag, &w->frag))
		return OVL_DECODE_BAD_FIELD;
	return read_payload(r, w->payload_len, &m->payload, &m->payload_len);
}

static enum ovl_decode decode_relayed(struct ovl_relayed *m, struct reader *r)
{
	const struct ovl_wire_relayed *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	memcpy(m->src, w->src, OVL_KEY_LEN);
	if (!read_addr(&m->src_addr, &w->src_addr))
		return OVL_DECODE_BAD_ADDR;
	if (!read_frag(&m->frag, &w->frag))
		return OVL_DECODE_BAD_FIELD;
	return read_payload(r, w->payload_len, &m->payload, &m->payload_len);
}

static enum ovl_decode decode_candidates(struct ovl_candidates *m, struct reader *r)
{
	const struct ovl_wire_candidates *w = take(r, sizeof(*w));
	unsigned i;

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->txid = be64_get(w->txid);
	m->flags = w->flags;
	m->count = w->count;
	if (m->count > OVL_MAX_CANDIDATES)
		return OVL_DECODE_BAD_COUNT;
	for (i = 0; i < m->count; ++i) {
		const struct ovl_wire_candidate *e = take(r, sizeof(*e));

		if (!e)
			return OVL_DECODE_TRUNCATED;
		m->cands[i].type = e->type;
		if (e->type == 0)
			return OVL_DECODE_BAD_FIELD;
		if (!read_addr(&m->cands[i].addr, &e->addr))
			return OVL_DECODE_BAD_ADDR;
	}
	return OVL_DECODE_OK;
}

static enum ovl_decode decode_punch(struct ovl_punch *m, struct reader *r)
{
	const struct ovl_wire_punch *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_channel_bind(struct ovl_channel_bind *m, struct reader *r)
{
	const struct ovl_wire_channel_bind *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	memcpy(m->dst, w->dst, OVL_KEY_LEN);
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_channel_bound(struct ovl_channel_bound *m, struct reader *r)
{
	const struct ovl_wire_channel_bound *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	memcpy(m->dst, w->dst, OVL_KEY_LEN);
	m->status = w->status;
	m->channel = be32_get(w->channel);
	m->lifetime_s = be16_get(w->lifetime);
	/* A number and a lifetime come with OK and only with it. */
	if ((m->status == OVL_CHANNEL_OK) != (m->channel != 0) ||
	    (m->status == OVL_CHANNEL_OK) != (m->lifetime_s != 0))
		return OVL_DECODE_BAD_FIELD;
	return OVL_DECODE_OK;
}

static enum ovl_decode decode_probe_req(struct ovl_probe_req *m, struct reader *r)
{
	const struct ovl_wire_probe_req *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_probe(struct ovl_probe *m, struct reader *r)
{
	const struct ovl_wire_probe *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	m->kind = w->kind;
	m->sent = w->sent;
	return m->kind ? OVL_DECODE_OK : OVL_DECODE_BAD_FIELD;
}

static enum ovl_decode decode_peers(struct ovl_peers *m, struct reader *r);
static enum ovl_decode decode_stock_clients(struct ovl_stock_clients *m, struct reader *r);

static enum ovl_decode decode_map_probe(struct ovl_map_probe *m, struct reader *r)
{
	const struct ovl_wire_map_probe *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	return read_padding(r, w->pad_len, &m->pad_len);
}

static enum ovl_decode decode_map_seen(struct ovl_map_seen *m, struct reader *r)
{
	const struct ovl_wire_map_seen *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->nonce = be64_get(w->nonce);
	return read_addr(&m->observed, &w->observed) ? OVL_DECODE_OK : OVL_DECODE_BAD_ADDR;
}

enum ovl_decode ovl_msg_decode(struct ovl_msg *m, const uint8_t *buf, size_t len)
{
	struct reader r = { .buf = buf, .len = len, .off = 0 };
	const uint8_t *type;
	enum ovl_decode res;

	type = take(&r, 1);
	if (!type)
		return OVL_DECODE_EMPTY;
	m->type = *type;
	/* Nothing longer can come out of a datagram. */
	if (len > OVL_MAX_PLAINTEXT)
		return OVL_DECODE_TOO_LONG;

	switch (m->type) {
	case OVL_MSG_PING:
		res = decode_ping(&m->u.ping, &r);
		break;
	case OVL_MSG_PONG:
		res = decode_pong(&m->u.pong, &r);
		break;
	case OVL_MSG_FIND_NODE:
		res = decode_find_node(&m->u.find_node, &r);
		break;
	case OVL_MSG_NODES:
		res = decode_nodes(&m->u.nodes, &r);
		break;
	case OVL_MSG_RELAY:
		res = decode_relay(&m->u.relay, &r);
		break;
	case OVL_MSG_RELAYED:
		res = decode_relayed(&m->u.relayed, &r);
		break;
	case OVL_MSG_CANDIDATES:
		res = decode_candidates(&m->u.candidates, &r);
		break;
	case OVL_MSG_PUNCH:
		res = decode_punch(&m->u.punch, &r);
		break;
	case OVL_MSG_CHANNEL_BIND:
		res = decode_channel_bind(&m->u.channel_bind, &r);
		break;
	case OVL_MSG_CHANNEL_BOUND:
		res = decode_channel_bound(&m->u.channel_bound, &r);
		break;
	case OVL_MSG_PEERS:
		res = decode_peers(&m->u.peers, &r);
		break;
	case OVL_MSG_STOCK_CLIENTS:
		res = decode_stock_clients(&m->u.stock_clients, &r);
		break;
	case OVL_MSG_PROBE_REQ:
		res = decode_probe_req(&m->u.probe_req, &r);
		break;
	case OVL_MSG_PROBE:
		res = decode_probe(&m->u.probe, &r);
		break;
	case OVL_MSG_MAP_PROBE:
		res = decode_map_probe(&m->u.map_probe, &r);
		break;
	case OVL_MSG_MAP_SEEN:
		res = decode_map_seen(&m->u.map_seen, &r);
		break;
	default:
		return OVL_DECODE_UNKNOWN_TYPE;
	}
	if (res != OVL_DECODE_OK)
		return res;
	if (remaining(&r))
		return OVL_DECODE_TRAILING;
	return OVL_DECODE_OK;
}

/* ---- encoding ---- */

static bool write_addr(struct ovl_wire_addr *w, const struct ovl_addr *a)
{
	if (!ovl_addr_valid(a))
		return false;
	w->family = a->family;
	if (a->family == OVL_AF_INET) {
		memcpy(w->ip, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(w->ip + 12, a->ip, 4);
	} else {
		memcpy(w->ip, a->ip, sizeof(w->ip));
	}
	be16_put(w->port, a->port);
	return true;
}

static bool write_frag(struct ovl_wire_frag *w, const struct ovl_frag *f)
{
	if (f->count == 0 || f->count > OVL_RELAY_MAX_FRAGMENTS || f->index >= f->count ||
	    (f->count == 1 && f->id != 0))
		return false;
	be16_put(w->id, f->id);
	w->index = f->index;
	w->count = f->count;
	return true;
}

static int write_padding(struct writer *w, uint16_t pad_len)
{
	uint8_t *p = put(w, pad_len);

	if (!p)
		return -EMSGSIZE;
	memset(p, 0, pad_len);
	return 0;
}

static int write_payload(struct writer *w, const uint8_t *payload, size_t len)
{
	uint8_t *p;

	if (len == 0 || !payload)
		return -EINVAL;
	if (len > OVL_RELAY_MAX_CHUNK)
		return -EMSGSIZE;
	p = put(w, len);
	if (!p)
		return -EMSGSIZE;
	memcpy(p, payload, len);
	return 0;
}

static int encode_ping(struct writer *w, const struct ovl_ping *m)
{
	struct ovl_wire_ping *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	o->flags = m->flags;
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_pong(struct writer *w, const struct ovl_pong *m)
{
	struct ovl_wire_pong *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	o->flags = m->flags;
	return write_addr(&o->observed, &m->observed) ? 0 : -EINVAL;
}

static int encode_find_node(struct writer *w, const struct ovl_find_node *m)
{
	struct ovl_wire_find_node *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->txid, m->txid);
	memcpy(o->target, m->target, OVL_KEY_LEN);
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_nodes(struct writer *w, const struct ovl_nodes *m)
{
	struct ovl_wire_nodes *o;
	unsigned i;

	if (m->count > OVL_K)
		return -EINVAL;
	o = put(w, sizeof(*o));
	if (!o)
		return -EMSGSIZE;
	be64_put(o->txid, m->txid);
	o->count = m->count;
	for (i = 0; i < m->count; ++i) {
		struct ovl_wire_node *e = put(w, sizeof(*e));

		if (!e)
			return -EMSGSIZE;
		memcpy(e->key, m->nodes[i].key, OVL_KEY_LEN);
		if (!write_addr(&e->addr, &m->nodes[i].addr))
			return -EINVAL;
		e->flags = m->nodes[i].flags;
	}
	return 0;
}

static int encode_relay(struct writer *w, const struct ovl_relay *m)
{
	struct ovl_wire_relay *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	memcpy(o->dst, m->dst, OVL_KEY_LEN);
	if (!write_frag(&o->frag, &m->frag))
		return -EINVAL;
	be16_put(o->payload_len, (uint16_t)(m->payload_len <= OVL_RELAY_MAX_CHUNK ? m->payload_len : 0));
	return write_payload(w, m->payload, m->payload_len);
}

static int encode_relayed(struct writer *w, const struct ovl_relayed *m)
{
	struct ovl_wire_relayed *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	memcpy(o->src, m->src, OVL_KEY_LEN);
	if (!write_addr(&o->src_addr, &m->src_addr) || !write_frag(&o->frag, &m->frag))
		return -EINVAL;
	be16_put(o->payload_len, (uint16_t)(m->payload_len <= OVL_RELAY_MAX_CHUNK ? m->payload_len : 0));
	return write_payload(w, m->payload, m->payload_len);
}

static int encode_candidates(struct writer *w, const struct ovl_candidates *m)
{
	struct ovl_wire_candidates *o;
	unsigned i;

	if (m->count > OVL_MAX_CANDIDATES)
		return -EINVAL;
	o = put(w, sizeof(*o));
	if (!o)
		return -EMSGSIZE;
	be64_put(o->txid, m->txid);
	o->flags = m->flags;
	o->count = m->count;
	for (i = 0; i < m->count; ++i) {
		struct ovl_wire_candidate *e = put(w, sizeof(*e));

		if (!e)
			return -EMSGSIZE;
		if (m->cands[i].type == 0)
			return -EINVAL;
		e->type = m->cands[i].type;
		if (!write_addr(&e->addr, &m->cands[i].addr))
			return -EINVAL;
	}
	return 0;
}

static int encode_punch(struct writer *w, const struct ovl_punch *m)
{
	struct ovl_wire_punch *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_channel_bind(struct writer *w, const struct ovl_channel_bind *m)
{
	struct ovl_wire_channel_bind *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	memcpy(o->dst, m->dst, OVL_KEY_LEN);
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_channel_bound(struct writer *w, const struct ovl_channel_bound *m)
{
	struct ovl_wire_channel_bound *o;

	if ((m->status == OVL_CHANNEL_OK) != (m->channel != 0) ||
	    (m->status == OVL_CHANNEL_OK) != (m->lifetime_s != 0))
		return -EINVAL;
	o = put(w, sizeof(*o));
	if (!o)
		return -EMSGSIZE;
	memcpy(o->dst, m->dst, OVL_KEY_LEN);
	o->status = m->status;
	be32_put(o->channel, m->channel);
	be16_put(o->lifetime, m->lifetime_s);
	return 0;
}

static int encode_probe_req(struct writer *w, const struct ovl_probe_req *m)
{
	struct ovl_wire_probe_req *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_probe(struct writer *w, const struct ovl_probe *m)
{
	struct ovl_wire_probe *o;

	if (!m->kind)
		return -EINVAL;
	o = put(w, sizeof(*o));
	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	o->kind = m->kind;
	o->sent = m->sent;
	return 0;
}

static int encode_map_probe(struct writer *w, const struct ovl_map_probe *m)
{
	struct ovl_wire_map_probe *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	be16_put(o->pad_len, m->pad_len);
	return write_padding(w, m->pad_len);
}

static int encode_map_seen(struct writer *w, const struct ovl_map_seen *m)
{
	struct ovl_wire_map_seen *o = put(w, sizeof(*o));

	if (!o)
		return -EMSGSIZE;
	be64_put(o->nonce, m->nonce);
	return write_addr(&o->observed, &m->observed) ? 0 : -EINVAL;
}

/* ---- PEERS (doc/protocol.md 9.3) ---- */

static enum ovl_decode decode_peers(struct ovl_peers *m, struct reader *r)
{
	const struct ovl_wire_peers *w = take(r, sizeof(*w));

	if (!w)
		return OVL_DECODE_TRUNCATED;
	m->hashes = w->hashes & ~OVL_PEERS_STOCK;
	m->stock = (w->hashes & OVL_PEERS_STOCK) != 0;
	memcpy(m->salt, w->salt, sizeof(m->salt));
	memcpy(m->filter, w->filter, sizeof(m->filter));
	if (!m->hashes || m->hashes > OVL_PEERS_MAX_HASHES)
		return OVL_DECODE_BAD_FIELD;
	return OVL_DECODE_OK;
}

static int encode_peers(struct writer *w, const struct ovl_peers *m)
{
	struct ovl_wire_peers *o;

	if (!m->hashes || m->hashes > OVL_PEERS_MAX_HASHES)
		return -EINVAL;
	o = put(w, sizeof(*o));
	if (!o)
		return -EMSGSIZE;
	o->hashes = (uint8_t)(m->hashes | (m->stock ? OVL_PEERS_STOCK : 0));
	memcpy(o->salt, m->salt, sizeof(o->salt));
	memcpy(o->filter, m->filter, sizeof(o->filter));
	return 0;
}

/* ---- end of PEERS ---- */

/* ---- STOCK_CLIENTS (doc/protocol.md 9.5) ---- */

static enum ovl_decode decode_stock_clients(struct ovl_stock_clients *m, struct reader *r)
{
	const struct ovl_wire_stock_clients *w = take(r, sizeof(*w));
	const uint8_t *keys;

	if (!w)
		return OVL_DECODE_TRUNCATED;
	if (!w->count || w->count > OVL_STOCK_CLIENTS_MAX)
		return OVL_DECODE_BAD_FIELD;
	keys = take(r, (size_t)w->count * OVL_KEY_LEN);
	if (!keys)
		return OVL_DECODE_TRUNCATED;
	m->count = w->count;
	memcpy(m->keys, keys, (size_t)w->count * OVL_KEY_LEN);
	return OVL_DECODE_OK;
}

static int encode_stock_clients(struct writer *w, const struct ovl_stock_clients *m)
{
	struct ovl_wire_stock_clients *o;
	uint8_t *keys;

	if (!m->count || m->count > OVL_STOCK_CLIENTS_MAX)
		return -EINVAL;
	o = put(w, sizeof(*o));
	keys = put(w, (size_t)m->count * OVL_KEY_LEN);
	if (!o || !keys)
		return -EMSGSIZE;
	o->count = m->count;
	memcpy(keys, m->keys, (size_t)m->count * OVL_KEY_LEN);
	return 0;
}

long ovl_msg_encode(uint8_t *out, size_t outmax, const struct ovl_msg *m)
{
	/* Never more than one datagram's worth, whatever the buffer. */
	struct writer w = { .buf = out, .max = outmax < OVL_MAX_PLAINTEXT ? outmax : OVL_MAX_PLAINTEXT };
	uint8_t *type;
	int ret;

	type = put(&w, 1);
	if (!type)
		return -EMSGSIZE;
	*type = m->type;
	switch (m->type) {
	case OVL_MSG_PING:
		ret = encode_ping(&w, &m->u.ping);
		break;
	case OVL_MSG_PONG:
		ret = encode_pong(&w, &m->u.pong);
		break;
	case OVL_MSG_FIND_NODE:
		ret = encode_find_node(&w, &m->u.find_node);
		break;
	case OVL_MSG_NODES:
		ret = encode_nodes(&w, &m->u.nodes);
		break;
	case OVL_MSG_RELAY:
		ret = encode_relay(&w, &m->u.relay);
		break;
	case OVL_MSG_RELAYED:
		ret = encode_relayed(&w, &m->u.relayed);
		break;
	case OVL_MSG_CANDIDATES:
		ret = encode_candidates(&w, &m->u.candidates);
		break;
	case OVL_MSG_PUNCH:
		ret = encode_punch(&w, &m->u.punch);
		break;
	case OVL_MSG_CHANNEL_BIND:
		ret = encode_channel_bind(&w, &m->u.channel_bind);
		break;
	case OVL_MSG_CHANNEL_BOUND:
		ret = encode_channel_bound(&w, &m->u.channel_bound);
		break;
	case OVL_MSG_PEERS:
		ret = encode_peers(&w, &m->u.peers);
		break;
	case OVL_MSG_STOCK_CLIENTS:
		ret = encode_stock_clients(&w, &m->u.stock_clients);
		break;
	case OVL_MSG_PROBE_REQ:
		ret = encode_probe_req(&w, &m->u.probe_req);
		break;
	case OVL_MSG_PROBE:
		ret = encode_probe(&w, &m->u.probe);
		break;
	case OVL_MSG_MAP_PROBE:
		ret = encode_map_probe(&w, &m->u.map_probe);
		break;
	case OVL_MSG_MAP_SEEN:
		ret = encode_map_seen(&w, &m->u.map_seen);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret < 0)
		return ret;
	return (long)w.off;
}

/* ---- relay channel data ---- */

size_t ovl_chan_parse(const uint8_t *buf, size_t len, uint8_t *dir, uint32_t *channel)
{
	const struct ovl_wire_chan_header *h = (const void *)buf;
	uint8_t inner;

	/* The header and at least a WireGuard message's type word. */
	if (len < OVL_CHAN_HEADER_LEN + 4 || h->magic != OVL_CHAN_MAGIC)
		return 0;
	if (h->dir != OVL_CHAN_TO_RELAY && h->dir != OVL_CHAN_FROM_RELAY)
		return 0;
	inner = buf[OVL_CHAN_HEADER_LEN];
	if (inner < 1 || inner > 4)
		return 0;
	*dir = h->dir;
	*channel = be32_get(h->channel);
	/* A relay hands out nonzero numbers; a relay sends 0. */
	if ((h->dir == OVL_CHAN_TO_RELAY) != (*channel != 0))
		return 0;
	return OVL_CHAN_HEADER_LEN;
}

void ovl_chan_write(uint8_t out[OVL_CHAN_HEADER_LEN], uint8_t dir, uint32_t channel)
{
	struct ovl_wire_chan_header *h = (void *)out;

	h->magic = OVL_CHAN_MAGIC;
	h->dir = dir;
	h->zero[0] = h->zero[1] = 0;
	be32_put(h->channel, channel);
}

size_t ovl_chan_client_parse(const uint8_t *buf, size_t len, uint8_t *dir, struct ovl_addr *client)
{
	const struct ovl_wire_chan_client_header *h = (const void *)buf;
	uint8_t inner;

	/* The header and at least a WireGuard message's type word. */
	if (len < OVL_CHAN_CLIENT_HEADER_LEN + 4 || h->magic != OVL_CHAN_MAGIC)
		return 0;
	if (h->dir != OVL_CHAN_CLIENT_FROM_RELAY && h->dir != OVL_CHAN_CLIENT_TO_RELAY)
		return 0;
	inner = buf[OVL_CHAN_CLIENT_HEADER_LEN];
	if (inner < 1 || inner > 4)
		return 0;
	if (h->family == OVL_AF_INET) {
		static const uint8_t zero[12];

		if (memcmp(h->ip + 4, zero, sizeof(zero)))
			return 0;
		ovl_addr_set_v4(client, h->ip, be16_get(h->port));
	} else if (h->family == OVL_AF_INET6) {
		ovl_addr_set_v6(client, h->ip, be16_get(h->port));
		if (client->family != OVL_AF_INET6)
			return 0;	/* IPv4-mapped: one form per address */
	} else {
		return 0;
	}
	if (!ovl_addr_valid(client))
		return 0;
	*dir = h->dir;
	return OVL_CHAN_CLIENT_HEADER_LEN;
}

void ovl_chan_client_write(uint8_t out[OVL_CHAN_CLIENT_HEADER_LEN], uint8_t dir,
			   const struct ovl_addr *client)
{
	struct ovl_wire_chan_client_header *h = (void *)out;

	memset(h, 0, sizeof(*h));
	h->magic = OVL_CHAN_MAGIC;
	h->dir = dir;
	h->family = client->family;
	be16_put(h->port, client->port);
	memcpy(h->ip, client->ip, client->family == OVL_AF_INET ? 4 : 16);
}

/* ---- the cookie reply ---- */

bool ovl_cookie_reply_parse(struct ovl_cookie_reply *r, const uint8_t *buf, size_t len)
{
	const struct ovl_wire_cookie_reply *w;

	if (len != sizeof(*w))
		return false;
	w = (const struct ovl_wire_cookie_reply *)buf;
	if (w->magic != OVL_MAGIC || w->version != (OVL_VERSION | OVL_HDR_COOKIE))
		return false;
	memcpy(r->sender, w->sender, sizeof(r->sender));
	memcpy(r->salt, w->salt, sizeof(r->salt));
	memcpy(r->sealed, w->sealed, sizeof(r->sealed));
	return true;
}

void ovl_cookie_reply_write(uint8_t out[OVL_COOKIE_REPLY_LEN], const struct ovl_cookie_reply *r)
{
	struct ovl_wire_cookie_reply *w = (struct ovl_wire_cookie_reply *)out;

	w->magic = OVL_MAGIC;
	w->version = OVL_VERSION | OVL_HDR_COOKIE;
	memcpy(w->sender, r->sender, sizeof(w->sender));
	memcpy(w->salt, r->salt, sizeof(w->salt));
	memcpy(w->sealed, r->sealed, sizeof(w->sealed));
}

const char *ovl_msg_type_name(uint8_t type)
{
	switch (type) {
	case OVL_MSG_PING:
		return "PING";
	case OVL_MSG_PONG:
		return "PONG";
	case OVL_MSG_FIND_NODE:
		return "FIND_NODE";
	case OVL_MSG_NODES:
		return "NODES";
	case OVL_MSG_RELAY:
		return "RELAY";
	case OVL_MSG_RELAYED:
		return "RELAYED";
	case OVL_MSG_CANDIDATES:
		return "CANDIDATES";
	case OVL_MSG_PUNCH:
		return "PUNCH";
	case OVL_MSG_CHANNEL_BIND:
		return "CHANNEL_BIND";
	case OVL_MSG_CHANNEL_BOUND:
		return "CHANNEL_BOUND";
	case OVL_MSG_PEERS:
		return "PEERS";
	case OVL_MSG_STOCK_CLIENTS:
		return "STOCK_CLIENTS";
	case OVL_MSG_PROBE_REQ:
		return "PROBE_REQ";
	case OVL_MSG_PROBE:
		return "PROBE";
	case OVL_MSG_MAP_PROBE:
		return "MAP_PROBE";
	case OVL_MSG_MAP_SEEN:
		return "MAP_SEEN";
	default:
		return "unknown";
	}
}

/* The 19-byte wire form of an address, for the formats outside the
 * messages that carry one (the invitation string, invite.c). */
bool ovl_wire_addr_read(struct ovl_addr *a, const uint8_t w[OVL_ADDR_LEN])
{
	return read_addr(a, (const struct ovl_wire_addr *)(const void *)w);
}

bool ovl_wire_addr_write(uint8_t w[OVL_ADDR_LEN], const struct ovl_addr *a)
{
	return write_addr((struct ovl_wire_addr *)(void *)w, a);
}
