/* wh pubkey: private key on stdin (either base64 alphabet), public key on
 * stdout in URL-safe base64 without padding, as WireHub prints it.
 * wh workbit [namespace NS]: public key on stdin, its workbit on stdout.
 * wh orchid [namespace NS]: public key on stdin, its ORCHIDv1 IPv6
 * address on stdout (BLAKE2b-256(namespace || key) in 2001:10::/28). */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int cmd_pubkey(int argc, char **argv)
{
	uint8_t *sk;
	uint8_t pk[32];
	char out[KEY_B64URL_LEN + 1];
	int ret = 1;

	if (argc != 1) {
		fprintf(stderr, "wh pubkey: takes no arguments (the private key comes on stdin)\n");
		return EXIT_USAGE;
	}
	sk = sodium_malloc(32);
	if (!sk) {
		fprintf(stderr, "wh pubkey: out of memory\n");
		return 1;
	}
	if (cli_read_key_stdin(sk, "pubkey") < 0)
		goto out;
	if (!x25519_public(pk, sk)) {
		fprintf(stderr, "wh pubkey: the private key gives no public key\n");
		goto out;
	}
	key_to_base64url(out, pk);
	puts(out);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	sodium_free(sk);
	return ret;
}

/* Both take an optional "namespace NS". */
static int parse_namespace(int argc, char **argv, const char *what, const char **ns)
{
	*ns = WORKBIT_DEFAULT_NAMESPACE;
	if (argc == 1)
		return 0;
	if (argc == 3 && !strcmp(argv[1], "namespace")) {
		*ns = argv[2];
		return 0;
	}
	fprintf(stderr, "wh %s: usage: wh %s [namespace NS] < public-key\n", what, what);
	return -1;
}

int cmd_workbit(int argc, char **argv)
{
	const char *ns;
	uint8_t pk[32];

	if (parse_namespace(argc, argv, "workbit", &ns) < 0)
		return EXIT_USAGE;
	if (cli_read_key_stdin(pk, "workbit") < 0)
		return 1;
	printf("%u\n", workbit_of(pk, ns, strlen(ns)));
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_orchid(int argc, char **argv)
{
	const char *ns;
	uint8_t pk[32], h[32];
	char buf[INET6_ADDRSTRLEN];

	if (parse_namespace(argc, argv, "orchid", &ns) < 0)
		return EXIT_USAGE;
	if (cli_read_key_stdin(pk, "orchid") < 0)
		return 1;
	blake2b_256(h, ns, strlen(ns), pk, sizeof(pk));
	/* ORCHIDv1 (RFC 4843): the 2001:10::/28 prefix, then 100 bits of hash. */
	h[0] = 0x20;
	h[1] = 0x01;
	h[2] = 0x00;
	h[3] = (uint8_t)(0x10 | (h[3] & 0x0f));
	inet_ntop(AF_INET6, h, buf, sizeof(buf));
	puts(buf);
	return fflush(stdout) == 0 ? 0 : 1;
}
