#!/usr/bin/env python3
"""A forger of PCP answers, for test/net/portmap.sh: it runs in the
gateway's namespace and watches the LAN interface (an AF_PACKET socket,
which sees a request before the firewall does).  For each of the first
COUNT PCP MAP requests from CLIENT to the gateway's port 5351 it sends, from
the gateway's address and port 5351, a SUCCESS answer that names a decoy
mapping (DECOY_IP:DECOY_PORT) with the request's nonce changed in its last
byte: a client that checks the nonce must ignore it.

    pcp_forge.py IFNAME GATEWAY_IP CLIENT_IP DECOY_IP DECOY_PORT COUNT

Prints "ready", then "forged SRC:PORT NONCE_HEX" per answer sent.  This is
our own test tool, not a gateway: the real answers come from miniupnpd."""
import socket
import struct
import sys

ETH_P_IP = 0x0800


def main():
    if len(sys.argv) != 7:
        sys.exit("usage: pcp_forge.py IFNAME GATEWAY_IP CLIENT_IP DECOY_IP DECOY_PORT COUNT")
    ifname, gw, client, decoy, decoy_port, count = sys.argv[1:]
    decoy_port, count = int(decoy_port), int(count)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniff.bind((ifname, ETH_P_IP))
    send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    send.bind((gw, 0))
    client_b = socket.inet_aton(client)
    print("ready", flush=True)
    sent = 0
    while sent < count:
        pkt, addr = sniff.recvfrom(2048)
        if addr[2] != socket.PACKET_HOST or len(pkt) < 20:
            continue
        ihl = (pkt[0] & 0x0F) * 4
        if pkt[9] != 17 or pkt[12:16] != client_b or len(pkt) < ihl + 8 + 60:
            continue
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        req = pkt[ihl + 8:]
        if dport != 5351 or req[0] != 2 or req[1] != 1:
            continue
        nonce = bytearray(req[24:36])
        nonce[11] ^= 0xFF
        # RFC 6887 figures 3 and 10: version 2, R=1 MAP, result SUCCESS,
        # lifetime 3600, epoch 1, then the MAP data with the decoy.
        ans = struct.pack("!BBBBII12x", 2, 0x81, 0, 0, 3600, 1)
        ans += bytes(nonce) + req[36:40] + req[40:42] + struct.pack("!H", decoy_port)
        ans += b"\0" * 10 + b"\xff\xff" + socket.inet_aton(decoy)
        udp = struct.pack("!HHHH", 5351, sport, 8 + len(ans), 0) + ans  # checksum 0: none (IPv4)
        send.sendto(udp, (client, 0))
        sent += 1
        print("forged %s:%d %s" % (client, sport, bytes(nonce).hex()), flush=True)


if __name__ == "__main__":
    main()
