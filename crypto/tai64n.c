#include "crypto/tai64n.h"

void tai64n_encode(uint8_t out[TAI64N_LEN], uint64_t unix_sec, uint32_t nsec)
{
	uint64_t sec = 0x400000000000000aULL + unix_sec;
	int i;

	nsec &= ~((UINT32_C(1) << 24) - 1);
	for (i = 0; i < 8; ++i)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (i = 0; i < 4; ++i)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}
