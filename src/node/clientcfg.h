/* The wg-quick file of a stock WireGuard client of the network file (a
 * `client HOSTNAME KEY` line): what `wh client-config` prints, made from
 * the parsed file alone (sans-I/O: a struct netconf and options in, the
 * text out), so that the unit test checks it byte for byte.
 *
 *   # phone in network tutorial (wh client-config)
 *   [Interface]
 *   PrivateKey = ...                 only when the caller generated it
 *   Address = 10.0.42.77/32, fded:ca41:89c1::.../128
 *   DNS = 10.0.42.13, fded:..., tutorial    a member's name service
 *   MTU = 1380
 *
 *   # node_a
 *   [Peer]
 *   PublicKey = ...                  every trust and router line
 *   AllowedIPs = 10.0.42.13/32, fded:.../128[, its routes]
 *   Endpoint = bootstrap.wirehub.io:62096
 *   PersistentKeepalive = 25
 *
 *   # laptop (a stock client: reached when its file names this relay too)
 *   [Peer]
 *   PublicKey = ...                  every other client line
 *   AllowedIPs = 10.0.42.200/32, fded:.../128
 *   Endpoint = bootstrap.wirehub.io:62096
 *
 * The client's own addresses are hosts (/32, /128): it reaches the members
 * (and the routes of router members) and the other clients through one
 * [Peer] each, so only their addresses are routed into its tunnel.  Every
 * peer's endpoint is the same public node, which relays to the member, and
 * between two clients whose files both name it (doc/protocol.md 9.5): the
 * relay option, or the first boot line of the file.  The other clients
 * get no keepalive: the members' keep the NAT mapping to the relay open.  MTU 1380 leaves room for the relay's
 * channel header between the relay and the member (1420, the members'
 * tunnel MTU, less 40).  Keys are in WireGuard's standard base64. */
#ifndef WH_SRC_NODE_CLIENTCFG_H
#define WH_SRC_NODE_CLIENTCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netconf;
struct strbuf;

enum {
	CLIENTCFG_KEEPALIVE_DEFAULT = 25,	/* s: a NAT mapping's usual life is longer */
	CLIENTCFG_MTU = 1380,
};

struct clientcfg_options {
	/* The relay, HOST:PORT as a peer line's endpoint; NULL: the file's
	 * first boot line. */
	const char *relay;
	unsigned keepalive;			/* s, 0: no PersistentKeepalive */
	/* When set, the client's key must be this one (the caller's check
	 * that it names the right client). */
	const uint8_t *public_key;
	/* The PrivateKey line, standard base64: only when the caller made
	 * the key.  NULL: none. */
	const char *private_key;
	/* A member's name service (doc/names.md): its overlay addresses. */
	bool has_dns4, has_dns6;
	uint8_t dns4[4], dns6[16];
};

/* Appends the client's wg-quick file to out.  0, or -EINVAL with the
 * reason in err: HOSTNAME is no client line, the key differs, the relay
 * is no endpoint, the file names no boot node and no relay was given, or
 * the file has no member. */
int clientcfg_write(const struct netconf *conf, const char *hostname,
		    const struct clientcfg_options *opt, struct strbuf *out, char *err,
		    size_t errlen);

#endif
