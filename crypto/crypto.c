#include "crypto/crypto.h"

#include <sodium.h>

int crypto_layer_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}
