#!/usr/bin/env python3
"""UDP datagrams of several sizes through a tunnel, each checked to the byte.

    udpcheck.py recv ADDR PORT OUT     receive until the sender's end mark (or
                                       20 s of silence), then write a JSON
                                       summary to OUT ("ready" goes there
                                       first, once the socket is bound)
    udpcheck.py send ADDR PORT         send every size, first one datagram
                                       per send, then (where the kernel has
                                       UDP_SEGMENT) up to 32 per send

Every datagram carries a 12-byte header (b"whU1", sequence number, size) and
then bytes derived from the sequence number, so the receiver can tell a
datagram that arrived cut, merged, shifted or altered from a good one.  The
sender goes in bursts of 32 with a short pause between them: the point is
correctness of the tunnel's handling of runs of one flow (which a TUN with
UDP offloads coalesces and splits), not speed.
"""
import json
import socket
import struct
import sys
import time

MAGIC = b"whU1"
HDR = struct.Struct("!4sII")
SIZES = [12, 13, 64, 65, 500, 1000, 1371, 1372]
BURSTS = 16
PER_BURST = 32
SOL_UDP = 17
UDP_SEGMENT = 103


def body(seq, size):
    """The datagram numbered seq, size bytes long."""
    head = HDR.pack(MAGIC, seq, size)
    need = size - len(head)
    pat = bytes(((seq * 131 + i * 7) ^ (seq >> 8)) & 0xFF for i in range(min(need, 256)))
    rest = (pat * (need // 256 + 1))[:need] if need > 0 else b""
    return head + rest


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(addr, port, out):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, int(port)))
    s.settimeout(20)
    with open(out, "w") as f:
        f.write("ready\n")
    seen = {}
    bad = []
    dups = 0
    expected = None
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if data.startswith(b"end "):
            expected = int(data[4:])
            break
        if len(data) < HDR.size:
            bad.append("short %d" % len(data))
            continue
        magic, seq, size = HDR.unpack_from(data)
        if magic != MAGIC or size != len(data) or data != body(seq, size):
            bad.append("seq %d: %d bytes, header says %d" % (seq, len(data), size))
            continue
        if seq in seen:
            dups += 1
        seen[seq] = size
    summary = {
        "received": len(seen),
        "expected": expected,
        "corrupt": len(bad),
        "corrupt_examples": bad[:5],
        "duplicates": dups,
        "sizes": sorted(set(seen.values())),
    }
    with open(out, "w") as f:
        f.write(json.dumps(summary) + "\n")


def send(addr, port):
    fam = family_of(addr)
    dst = (addr, int(port))
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    seq = 0
    gso = True
    for mode in ("plain", "gso"):
        for size in SIZES:
            for _ in range(BURSTS):
                if mode == "gso" and gso:
                    # One send, many datagrams: the kernel keeps it one
                    # UDP_L4 packet up to a device with USO (the TUN).
                    try:
                        s.setsockopt(SOL_UDP, UDP_SEGMENT, size)
                        buf = b"".join(body(seq + i, size) for i in range(PER_BURST))
                        s.sendto(buf, dst)
                        seq += PER_BURST
                    except OSError as e:
                        print("udpcheck: no UDP_SEGMENT (%s): plain sends" % e, file=sys.stderr)
                        gso = False
                        s = socket.socket(fam, socket.SOCK_DGRAM)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
                else:
                    for _ in range(PER_BURST):
                        s.sendto(body(seq, size), dst)
                        seq += 1
                time.sleep(0.003)
            if mode == "gso" and gso:
                s.setsockopt(SOL_UDP, UDP_SEGMENT, 0)
    time.sleep(0.2)
    end = socket.socket(fam, socket.SOCK_DGRAM)
    for _ in range(5):
        end.sendto(b"end %d" % seq, dst)
        time.sleep(0.05)
    print(seq)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "recv":
        recv(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "send":
        send(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
