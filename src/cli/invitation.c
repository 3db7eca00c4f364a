/* What `wh join` and `wh nc` do alike with an invitation string (cli.h):
 * read it and refuse a bad, expired or forged one; write its boot nodes
 * as lines of a network file. */
#include "src/cli/cli.h"

#include "crypto/encoding.h"
#include "crypto/workbit.h"
#include "crypto/x25519.h"
#include "proto/overlay/invite.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int cli_invite_read(const char *prog, const char *text, struct ovl_invite *inv,
		    uint8_t alias_pk[32])
{
	enum ovl_invite_err e = ovl_invite_parse(inv, text, strlen(text));
	uint64_t now = (uint64_t)time(NULL);

	if (e != OVL_INVITE_OK) {
		fprintf(stderr, "wh %s: %s\n", prog, ovl_invite_strerror(e));
		return -1;
	}
	if (now >= inv->expires_s) {
		fprintf(stderr, "wh %s: the invitation has expired (%llu s ago)\n", prog,
			(unsigned long long)(now - inv->expires_s));
		return -1;
	}
	x25519_public(alias_pk, inv->alias_sk);
	if (workbit_of(alias_pk, inv->ns, inv->ns_len) < inv->workbit) {
		fprintf(stderr, "wh %s: a forged invitation: its alias key is below the network's "
			"workbit %u, so the inviter never made it\n", prog, inv->workbit);
		return -1;
	}
	return 0;
}

int cli_invite_boot_lines(FILE *f, const struct ovl_invite *inv)
{
	for (unsigned i = 0; i < inv->n_boots; ++i) {
		const struct ovl_invite_boot *b = &inv->boots[i];
		char k[KEY_B64URL_LEN + 1], ip[INET6_ADDRSTRLEN];
		bool v4 = b->addr.family == OVL_AF_INET;

		key_to_base64url(k, b->key);
		inet_ntop(v4 ? AF_INET : AF_INET6, b->addr.ip, ip, sizeof(ip));
		if (fprintf(f, v4 ? "boot %s %s:%u\n" : "boot %s [%s]:%u\n", k, ip, b->addr.port) < 0)
			return -1;
	}
	return 0;
}
