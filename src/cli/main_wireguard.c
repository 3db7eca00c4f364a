/* wireguard-wh: the plain userspace WireGuard, for wg-quick
 * (WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-wh) and for anyone who
 * wants WireGuard without the overlay.  Its own executable, which links
 * the WireGuard device and nothing of the overlay or the node of `wh up`
 * (test/wireguard_wh_symbols.sh checks that it stays so). */
#include "src/cli/cli.h"

#include "crypto/crypto.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	if (crypto_layer_init() < 0) {
		fprintf(stderr, "wireguard-wh: cannot initialise libsodium\n");
		return 1;
	}
	return cmd_wireguard(argc, argv);
}
