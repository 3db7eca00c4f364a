/* TAI64N labels as WireGuard writes them in initiations: 8 bytes
 * big-endian 2^62 + 10 + unix seconds, 4 bytes big-endian nanoseconds
 * rounded down to a multiple of 2^24 so that the label does not leak a
 * fine-grained clock. */
#ifndef WH_CRYPTO_TAI64N_H
#define WH_CRYPTO_TAI64N_H

#include <stdint.h>

enum { TAI64N_LEN = 12 };

void tai64n_encode(uint8_t out[TAI64N_LEN], uint64_t unix_sec, uint32_t nsec);

#endif
