/* UDP segmentation offload (UDP_SEGMENT) and generic receive offload
 * (UDP_GRO) for the device's sockets: the socket options, the control
 * messages, and which packets of a batch can leave as one send.  Linux
 * only; elsewhere every helper reports "not available" and the device
 * uses one datagram per message, as without the offloads.
 *
 * Send: consecutive datagrams for the same destination, from the same
 * source, of one size (the last may be shorter) go as one sendmsg whose
 * buffer is their concatenation, with a UDP_SEGMENT cmsg giving the size;
 * the kernel (or the NIC) cuts it into datagrams.
 * Receive: with UDP_GRO set, one recvmsg may return several datagrams of
 * one flow back to back, with a UDP_GRO cmsg giving their size (the last
 * may be shorter).
 *
 * Errors: negative errno. */
#ifndef WH_SRC_IO_UDP_GSO_H
#define WH_SRC_IO_UDP_GSO_H

#include <stddef.h>
#include <stdint.h>

struct msghdr;
struct pkt;

enum {
	/* The kernel's UDP_MAX_SEGMENTS (64 before Linux 6.6, 128 since). */
	UDP_GSO_MAX_SEGS = 64,
	/* Under the 16-bit IPv4 total length with headers. */
	UDP_GSO_MAX_BYTES = 65000,
	/* Room for the UDP_SEGMENT cmsg in a control buffer. */
	UDP_GSO_CMSG_SPACE = 24,
	/* Room for the UDP_GRO cmsg in a receive control buffer. */
	UDP_GRO_CMSG_SPACE = 24,
};

/* How many packets from p[0] (at least 1, at most n) can leave as one
 * segmented send: same peer, same destination, the size of p[0] for all
 * but the last, which may be shorter; within the limits above. */
unsigned udp_gso_run(struct pkt *const *p, unsigned n);
/* Appends a UDP_SEGMENT cmsg (segment size size) to m's control data,
 * which lives in cbuf (cbuflen bytes, of which m->msg_controllen are in
 * use, or none when m->msg_control is NULL).  -ENOSPC when it does not
 * fit. */
int udp_gso_add_cmsg(struct msghdr *m, char *cbuf, size_t cbuflen, uint16_t size);
/* Asks the socket for coalesced datagrams, or no longer. */
int udp_gro_enable(int fd);
void udp_gro_disable(int fd);
/* The segment size from a received message's UDP_GRO cmsg, 0 without. */
size_t udp_gro_segment_size(struct msghdr *m);

#endif
