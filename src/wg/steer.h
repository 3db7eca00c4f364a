/* Receive steering (steer.c): the classic BPF program that the kernel runs
 * for each datagram reaching the device's port, choosing among its three
 * sockets (device.h: data, control, known), and the known sources written
 * into it.  device_set_known_sources and device_refresh_known are declared
 * in device.h. */
#ifndef WH_SRC_WG_STEER_H
#define WH_SRC_WG_STEER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Writes family's program for the n known addresses (IPv4: the first 4
 * of each 16 bytes, sorted as unsigned big-endian words) into code, which
 * holds 11 + n * (4 for IPv4, 9 for IPv6) instructions; its length. */
size_t steer_build(struct sock_filter *code, int family, const uint8_t (*addrs)[16], size_t n);
/* Attaches the program without known sources to fd's port group. */
int steer_attach(int fd, int family);

#endif
