/* Byte order on the wire, for every protocol core: WireGuard's integers
 * are little-endian (le32/le64), the overlay's and IP's are big-endian
 * (be16/be32/be64).  Each protocol's codec converts through these and
 * nothing else touches byte order.  The helpers read and write single
 * bytes, so a field needs no alignment and the host's order never shows;
 * the caller has checked the buffer's length first. */
#ifndef WH_PROTO_COMMON_BYTEORDER_H
#define WH_PROTO_COMMON_BYTEORDER_H

#include <stdint.h>

static inline uint16_t be16_get(const uint8_t b[2])
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void be16_put(uint8_t b[2], uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint32_t be32_get(const uint8_t b[4])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void be32_put(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static inline uint64_t be64_get(const uint8_t b[8])
{
	return (uint64_t)be32_get(b) << 32 | be32_get(b + 4);
}

static inline void be64_put(uint8_t b[8], uint64_t v)
{
	be32_put(b, (uint32_t)(v >> 32));
	be32_put(b + 4, (uint32_t)v);
}

static inline uint32_t le32_get(const uint8_t b[4])
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline void le32_put(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t le64_get(const uint8_t b[8])
{
	return (uint64_t)le32_get(b) | (uint64_t)le32_get(b + 4) << 32;
}

static inline void le64_put(uint8_t b[8], uint64_t v)
{
	le32_put(b, (uint32_t)v);
	le32_put(b + 4, (uint32_t)(v >> 32));
}

#endif
