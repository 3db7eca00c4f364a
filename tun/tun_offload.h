/* TUN offloads, the sans-I/O half: the virtio_net_hdr that precedes every
 * packet on a Linux TUN opened with IFF_VNET_HDR, the splitting of a TCP
 * or UDP super-packet the kernel hands us (TSO, USO) into MSS-sized
 * segments or datagrams, and the coalescing of decrypted TCP segments or
 * UDP datagrams of one flow into one super-packet for the kernel (GRO).
 * Bytes in, bytes out: no descriptor, no clock, so that the unit test and
 * the fuzz harness drive it with hand-built packets.  The descriptor side
 * is in tun/tun_linux.c and src/wg/device.c.
 *
 * The kernel's side of the contract (drivers/net/tun.c, virtio_net.h):
 *   read:  gso_type NONE, TCPV4 or TCPV6 (| ECN); with NEEDS_CSUM the
 *          checksum field at csum_start + csum_offset holds the folded
 *          pseudo-header sum and the rest of the checksum is ours to do.
 *          A GSO packet carries one IP and one TCP header for the whole
 *          payload; gso_size is the payload of every segment but the last.
 *          hdr_len is not reliable (it is the skb's linear length), so the
 *          headers are measured here from the packet itself.
 *   write: a zero header for a plain packet (the kernel checks its
 *          checksum as for any received packet), or TCPV4/TCPV6 with
 *          NEEDS_CSUM, csum_start at the TCP header, csum_offset 16 and the
 *          pseudo-header sum in the TCP checksum field (CHECKSUM_PARTIAL).
 *
 * UDP (USO, TUN_F_USO4 | TUN_F_USO6, Linux 6.2 and later): gso_type
 * UDP_L4 both ways, for IPv4 and IPv6 alike, always with NEEDS_CSUM and
 * csum_offset 6.  The one IP and one UDP header stand for every datagram:
 * their lengths are the whole super-packet's (the UDP length field too),
 * the checksum field holds the pseudo-header sum over that whole length,
 * and gso_size is the payload of every datagram but the last, which may be
 * shorter.  The kernel refuses more than gso_size * UDP_MAX_SEGMENTS (64
 * on the kernels we know) bytes of payload; a UDP socket that did not ask
 * for UDP_GRO gets the datagrams one by one, cut by the kernel, with IPv4
 * IDs counted up from the head's.
 *
 * Errors: negative errno (-EINVAL for a packet or header we refuse). */
#ifndef WH_TUN_TUN_OFFLOAD_H
#define WH_TUN_TUN_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* struct virtio_net_hdr (include/uapi/linux/virtio_net.h), as the TUN
 * driver reads and writes it: 10 bytes, 16-bit fields little-endian (the
 * kernel's "virtio legacy" order, which is the host's on the little-endian
 * machines we run on; tun_linux.c asks for little-endian elsewhere). */
enum {
	VNET_HDR_LEN = 10,
	VNET_HDR_F_NEEDS_CSUM = 1,
	VNET_HDR_F_DATA_VALID = 2,
	VNET_HDR_GSO_NONE = 0,
	VNET_HDR_GSO_TCPV4 = 1,
	VNET_HDR_GSO_UDP = 3,
	VNET_HDR_GSO_TCPV6 = 4,
	VNET_HDR_GSO_UDP_L4 = 5,
	VNET_HDR_GSO_ECN = 0x80,
};

/* The header in host order. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void vnet_hdr_decode(struct vnet_hdr *h, const uint8_t b[VNET_HDR_LEN]);
void vnet_hdr_encode(uint8_t b[VNET_HDR_LEN], const struct vnet_hdr *h);

/* ---- Internet checksum (RFC 1071) ----
 * A running sum in the host's byte order: store the folded result with
 * memcpy and it reads as the checksum in network order. */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len);
uint16_t csum_fold(uint64_t sum);
/* The TCP/UDP pseudo-header of an IPv4 or IPv6 packet (addresses from
 * the packet, the given protocol and transport length). */
uint64_t csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, uint32_t l4len);

/* ---- Splitting what the TUN hands us ---- */
struct tso_split {
	uint8_t *pkt;		/* the packet as read (headers fixed up) */
	size_t len;
	unsigned version;	/* 4 or 6 */
	uint8_t proto;		/* 6 (TCP, TSO) or 17 (UDP, USO) */
	size_t l4off;		/* TCP or UDP header */
	size_t hlen;		/* IP + TCP or UDP headers */
	size_t gso_size;
	unsigned nsegs;
	uint32_t seq;		/* TCP: of the first segment */
	uint16_t ip_id;		/* IPv4: of the first segment */
	bool ecn;
};

/* Checks a packet read from the TUN against its virtio header.  Returns
 * 0 when the packet is a plain one to send as it is (a pending checksum,
 * NEEDS_CSUM, has been completed in place and len may have been trimmed
 * to the IP length: *len), the number of segments (>= 1) when it is a
 * TCP or UDP super-packet to split with tso_split_segment, or -EINVAL. */
int tso_split_begin(struct tso_split *s, const struct vnet_hdr *h, uint8_t *pkt, size_t *len);
/* Writes segment i (0 <= i < nsegs) into out: IP header with its length
 * (and for IPv4 the next ID and the header checksum); for TCP the TCP
 * header with the sequence number advanced and FIN/PSH only on the last
 * segment, CWR only on the first, for UDP the UDP header with the
 * datagram's length; the full TCP or UDP checksum; then the payload.
 * Returns the segment's length, or -EINVAL when it does not fit in cap. */
ssize_t tso_split_segment(const struct tso_split *s, unsigned i, uint8_t *out, size_t cap);

/* ---- Coalescing what we write to the TUN ----
 * Packets are added in the order they will be written; each becomes the
 * head of a new item or the tail of the latest item of its flow (so that
 * no flow is reordered).  An item is written as one packet: the head's
 * headers, then the payloads of its other packets.  A flow is the
 * protocol, the addresses and the ports. */
enum {
	GRO_MAX = 64,
	/* The kernel's UDP_MAX_SEGMENTS: datagrams in one UDP_L4 write. */
	GRO_UDP_MAX_SEGS = 64,
};

struct gro_item {
	unsigned head;		/* index of the first packet */
	unsigned tail;		/* index of the last packet */
	unsigned count;
	size_t len;		/* total IP length once coalesced */
	size_t hlen;		/* IP + TCP or UDP header length */
	size_t gso_size;	/* payload of the head */
	uint32_t next_seq;	/* TCP */
	uint8_t proto;		/* 6 or 17, when flow */
	bool closed;		/* PSH or a short segment ended it */
	bool flow;		/* a candidate (may take more packets) */
	bool verified;		/* head's checksums checked */
};

struct gro_batch {
	unsigned n, nitems;
	bool udp;			/* coalesce UDP too (the TUN took USO) */
	uint8_t *data[GRO_MAX];
	size_t len[GRO_MAX];
	int next[GRO_MAX];		/* next packet of the same item, -1 */
	struct gro_item items[GRO_MAX];
};

/* An empty batch; udp: UDP datagrams are coalesced too (only for a TUN
 * that took TUN_F_USO4 | TUN_F_USO6), else only TCP. */
void gro_init(struct gro_batch *g, bool udp);
/* Adds a packet (which must stay in place until the batch is written).
 * Returns false when the batch is full (GRO_MAX packets). */
bool gro_add(struct gro_batch *g, uint8_t *data, size_t len);
/* Prepares item k for writing: for a coalesced item, rewrites the head's
 * IP length and checksum, its TCP flags (PSH of the last packet) or UDP
 * length, and its checksum field (the pseudo-header sum), and fills *h
 * for TCPV4/TCPV6 or UDP_L4 with NEEDS_CSUM; for a single packet, a zero
 * header.  Returns the number of packets in the item. */
unsigned gro_finish(struct gro_batch *g, unsigned k, struct vnet_hdr *h);

#endif
