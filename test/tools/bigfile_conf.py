#!/usr/bin/env python3
"""A network file with many members, for bench/bigfile.sh and
test/net/bigfile.sh.

Usage: bigfile_conf.py N SEED OUT [--change] [--subnet A.B.C.D/M]
                       [--real="HOST KEY ENDPOINT"]...

(one word for --real, after "=": a key may start with "-")

The file has a name, a subnet, "workbit 0" (so no key needs a proof of
work), the --real members (the ones that run: their keys come from
`wh genkey`, their endpoints let them reach each other without a boot
node) and N minus their count more members, "trust mI KEY", whose keys
are 32 bytes drawn from SEED: any 32 bytes are an X25519 public key, and
these members never run.  With --change, the first 1% of those (at least
one) get other keys under the same hostnames: a reload then removes and
adds that many members.  OUT is replaced atomically (written beside it,
then renamed), as an editor or a deployment tool would.
"""
import argparse
import base64
import os
import random


def key_of(rng):
    raw = bytes(rng.getrandbits(8) for _ in range(32))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("out")
    ap.add_argument("--change", action="store_true")
    ap.add_argument("--subnet", default="198.19.0.0/16")
    ap.add_argument("--real", action="append", default=[],
                    metavar="HOST KEY ENDPOINT")
    a = ap.parse_args()
    lines = ["name bigbench", "subnet " + a.subnet, "workbit 0"]
    for real in a.real:
        host, key, ep = real.split()
        lines.append("trust %s %s %s" % (host, key, ep))
    rng = random.Random(a.seed)
    other = random.Random(a.seed + 1000003)
    fill = max(a.n - len(a.real), 0)
    changed = max(fill // 100, 1) if a.change else 0
    for i in range(fill):
        key = key_of(rng)
        if i < changed:
            key = key_of(other)
        lines.append("trust m%d %s" % (i, key))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, a.out)


if __name__ == "__main__":
    main()
