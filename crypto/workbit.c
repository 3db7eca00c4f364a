#include "crypto/workbit.h"

#include "crypto/hash.h"

unsigned workbit_of(const uint8_t pk[32], const char *ns, size_t nslen)
{
	uint8_t h[BLAKE2B_256_LEN];
	unsigned bits = 0;
	size_t i;

	blake2b_256(h, pk, 32, ns, nslen);
	for (i = 0; i < sizeof(h); ++i) {
		uint8_t b = h[i];

		if (b == 0) {
			bits += 8;
			continue;
		}
		while (!(b & 0x80)) {
			++bits;
			b <<= 1;
		}
		break;
	}
	return bits;
}
