/* libFuzzer harness for the MSS clamp (src/wg/tcpmss.c): any bytes as an IP
 * packet; the clamp must not read or write outside them, must leave the
 * length alone, and may change at most the two bytes of an MSS value
 * (then no larger than the limit) and the two of the TCP checksum. */
#include "src/wg/tcpmss.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pkt, *orig;
	size_t i, diffs = 0;

	if (size > 4096)
		return 0;
	/* Exact-size heap copies, so that ASan sees any overrun. */
	pkt = malloc(size ? size : 1);
	orig = malloc(size ? size : 1);
	if (!pkt || !orig)
		abort();
	memcpy(pkt, data, size);
	memcpy(orig, data, size);
	if (!tcp_mss_clamp(pkt, size, 1080, 1060)) {
		if (memcmp(pkt, orig, size))
			abort();
	} else {
		for (i = 0; i < size; ++i)
			diffs += pkt[i] != orig[i];
		if (diffs > 4)
			abort();
	}
	free(pkt);
	free(orig);
	return 0;
}
