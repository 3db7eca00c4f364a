/* What the hostile overlay nodes of the network tests share (ovlforge,
 * relayforge): keys from base64 or a key file, IPv4 addresses as both
 * the socket's and the overlay's type, and one overlay message sealed
 * under a key of the tool's own and sent.  For tests only. */
#ifndef WH_TEST_TOOLS_FORGE_H
#define WH_TEST_TOOLS_FORGE_H

#include <netinet/in.h>
#include <stdint.h>

struct ovl_addr;
struct ovl_msg;
struct ovl_secure;

/* The clocks the secure layer and the tools' deadlines want. */
uint64_t forge_wall_ns(void);
uint64_t forge_mono_ms(void);

/* A key in URL-safe base64 without padding (`wh genkey`) or standard
 * base64 (wg); 0 or -1 with a message naming the value. */
int forge_key_from_b64(const char *s, uint8_t out[32]);
/* The first line of a key file; the buffer it read is wiped. */
int forge_key_from_file(const char *path, uint8_t out[32]);

/* IP and PORT as an overlay address and a socket address (either may be
 * NULL); -1 with a message naming a bad IP. */
int forge_v4addr(const char *ip, const char *port, struct ovl_addr *a, struct sockaddr_in *sa);

/* A secure layer under private key priv in namespace ns (priv is not
 * wiped here); NULL with a message on failure. */
struct ovl_secure *forge_secure_new(const uint8_t priv[32], const char *ns);

/* Seals m to `to` and sends it to sa from fd; the datagram's length, or
 * -1 (encoding, sealing or sending failed; a send error is printed). */
long forge_send(int fd, struct ovl_secure *sec, const uint8_t to[32], const struct sockaddr_in *sa,
		const struct ovl_msg *m);

/* Reads one datagram from fd (it must be readable) and opens it: 1 and
 * the message and its sender when it was an overlay message sealed to
 * us, 0 for anything else (a cookie reply is taken, its next seal
 * carries mac2), -1 when nothing could be read. */
int forge_recv(int fd, struct ovl_secure *sec, uint8_t sender[32], struct ovl_msg *m,
	       struct sockaddr_in *from);

#endif
