/* WireHub's proof of work: the number of leading zero bits of
 * BLAKE2b-256(public key || namespace).  Defined for every value from 0
 * to 256 (the original miscounted from 32 bits on). */
#ifndef WH_CRYPTO_WORKBIT_H
#define WH_CRYPTO_WORKBIT_H

#include <stddef.h>
#include <stdint.h>

#define WORKBIT_DEFAULT_NAMESPACE "public"

unsigned workbit_of(const uint8_t pk[32], const char *ns, size_t nslen);

#endif
