/* The crypto layer as a whole: initialise once before any other call. */
#ifndef WH_CRYPTO_CRYPTO_H
#define WH_CRYPTO_CRYPTO_H

/* 0, or -1 when libsodium cannot initialise (no entropy source). */
int crypto_layer_init(void);

#endif
