/* BLAKE2s as RFC 7693 specifies it (section 3 and appendix D's
 * parameters): 32-bit words, 10 rounds, digest of 1..32 bytes, key of
 * 0..32 bytes.  Written here so that the daemon needs no libb2 (which
 * pulls OpenMP and libm into every process: 0.6 MB of resident memory
 * for a hash of a few hundred bytes per handshake).  Checked against all
 * 512 BLAKE2s KATs and RFC 7693's grand hash in test/crypto/test_hash.c. */
#include "crypto/blake2s.h"

#include <string.h>

static const uint32_t IV[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint8_t SIGMA[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rotr(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* The mixing function G (RFC 7693 3.1) with R1..R4 = 16, 12, 8, 7. */
#define G(a, b, c, d, x, y)                           \
	do {                                          \
		v[a] = v[a] + v[b] + (x);             \
		v[d] = rotr(v[d] ^ v[a], 16);         \
		v[c] = v[c] + v[d];                   \
		v[b] = rotr(v[b] ^ v[c], 12);         \
		v[a] = v[a] + v[b] + (y);             \
		v[d] = rotr(v[d] ^ v[a], 8);          \
		v[c] = v[c] + v[d];                   \
		v[b] = rotr(v[b] ^ v[c], 7);          \
	} while (0)

/* The compression function F (RFC 7693 3.2). */
static void compress(struct b2s_state *s, const uint8_t block[B2S_BLOCK_LEN], bool last)
{
	uint32_t m[16], v[16];
	unsigned i, r;

	for (i = 0; i < 16; ++i)
		m[i] = load32(block + 4 * i);
	for (i = 0; i < 8; ++i) {
		v[i] = s->h[i];
		v[i + 8] = IV[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	for (r = 0; r < 10; ++r) {
		const uint8_t *z = SIGMA[r];

		G(0, 4, 8, 12, m[z[0]], m[z[1]]);
		G(1, 5, 9, 13, m[z[2]], m[z[3]]);
		G(2, 6, 10, 14, m[z[4]], m[z[5]]);
		G(3, 7, 11, 15, m[z[6]], m[z[7]]);
		G(0, 5, 10, 15, m[z[8]], m[z[9]]);
		G(1, 6, 11, 12, m[z[10]], m[z[11]]);
		G(2, 7, 8, 13, m[z[12]], m[z[13]]);
		G(3, 4, 9, 14, m[z[14]], m[z[15]]);
	}
	for (i = 0; i < 8; ++i)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void add_counter(struct b2s_state *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		++s->t[1];
}

int b2s_init(struct b2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	unsigned i;

	if (!outlen || outlen > B2S_MAX_OUT || keylen > B2S_MAX_KEY || (keylen && !key))
		return -1;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; ++i)
		s->h[i] = IV[i];
	/* Parameter block: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000u ^ (uint32_t)keylen << 8 ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		memcpy(s->buf, key, keylen);
		s->buflen = B2S_BLOCK_LEN;	/* the key is a whole first block */
	}
	return 0;
}

void b2s_update(struct b2s_state *s, const void *in, size_t inlen)
{
	const uint8_t *p = in;

	while (inlen) {
		size_t take;

		/* The last block is compressed in final: only compress a full
		 * buffer when more input follows. */
		if (s->buflen == B2S_BLOCK_LEN) {
			add_counter(s, B2S_BLOCK_LEN);
			compress(s, s->buf, false);
			s->buflen = 0;
		}
		take = B2S_BLOCK_LEN - s->buflen;
		if (take > inlen)
			take = inlen;
		memcpy(s->buf + s->buflen, p, take);
		s->buflen += take;
		p += take;
		inlen -= take;
	}
}

void b2s_final(struct b2s_state *s, uint8_t *out)
{
	uint8_t full[B2S_MAX_OUT];
	unsigned i;

	add_counter(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, B2S_BLOCK_LEN - s->buflen);
	compress(s, s->buf, true);
	for (i = 0; i < 8; ++i) {
		full[4 * i] = (uint8_t)s->h[i];
		full[4 * i + 1] = (uint8_t)(s->h[i] >> 8);
		full[4 * i + 2] = (uint8_t)(s->h[i] >> 16);
		full[4 * i + 3] = (uint8_t)(s->h[i] >> 24);
	}
	memcpy(out, full, s->outlen);
	/* Callers wipe keyed state; this function wipes what it made. */
	memset(full, 0, sizeof(full));
}
