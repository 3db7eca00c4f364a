#!/usr/bin/env python3
"""Recomputes the worked example of doc/protocol.md ("Worked example")
independently of the C implementation, from the specification alone:
the key schedule with Python's hashlib/hmac (BLAKE2s), the header and
message layouts with struct, and, when the 'cryptography' package is
installed, X25519 and ChaCha20-Poly1305 too (otherwise those two steps
start from the document's own DH output and the sealing is skipped).

    python3 test/overlay/vectors.py [doc/protocol.md]

Prints TAP; with the document's path, checks that every value appears in
it (whitespace ignored)."""
import hashlib
import hmac
import struct
import sys

NS = b"public"
T_A = 1700000000000000000
T_B = 1700000000250000000
SK_A = bytes(range(0x00, 0x20))
SK_B = bytes(range(0x20, 0x40))
# Used only when 'cryptography' is missing: the document's DH results.
PK_A = "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
PK_B = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
SS = "9663aa1da97e848a914a436d04163dfbb89178f107f1b5b77ed3854203382854"

n_tests = 0
failed = 0


def ok(cond, name):
    global n_tests, failed
    n_tests += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n_tests, name))


def hmac_blake2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def hkdf1(ck, data):
    """WireGuard's KDF1: T1 = HMAC(HMAC(ck, data), 0x01)."""
    return hmac_blake2s(hmac_blake2s(ck, data), b"\x01")


def header(pk, counter):
    return b"\xff\x01" + pk + struct.pack(">Q", counter)


def addr_v4(ip, port):
    return bytes([4]) + bytes(10) + b"\xff\xff" + bytes(ip) + struct.pack(">H", port)


def main():
    values = []

    def val(name, b):
        print("# %s (%d bytes):\n#   %s" % (name, len(b), b.hex()))
        values.append((name, b.hex()))
        return b

    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import (
            X25519PrivateKey, X25519PublicKey)
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
        from cryptography.hazmat.primitives import serialization
        have_crypto = True
    except ImportError:
        have_crypto = False

    if have_crypto:
        raw = serialization.Encoding.Raw
        a = X25519PrivateKey.from_private_bytes(SK_A)
        b = X25519PrivateKey.from_private_bytes(SK_B)
        pk_a = a.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        pk_b = b.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        ss = a.exchange(X25519PublicKey.from_public_bytes(pk_b))
        ok(ss == b.exchange(X25519PublicKey.from_public_bytes(pk_a)), "X25519 agrees both ways")
    else:
        print("# 'cryptography' not installed: DH taken from the document, AEAD skipped")
        pk_a, pk_b, ss = bytes.fromhex(PK_A), bytes.fromhex(PK_B), bytes.fromhex(SS)

    val("sk_A", SK_A)
    val("sk_B", SK_B)
    val("pk_A", pk_a)
    val("pk_B", pk_b)
    val("ss", ss)
    ck = val("CK", hashlib.blake2s(b"wh overlay v1 key").digest())
    k_ab = val("k(A->B)", hkdf1(ck, ss + pk_a + pk_b + NS))
    k_ba = val("k(B->A)", hkdf1(ck, ss + pk_b + pk_a + NS))
    ok(k_ab != k_ba, "the two directions have different keys")

    # PING: type 01, nonce, flags 01 (public), pad_len 0.
    ping = val("PING plaintext", bytes([1]) + struct.pack(">QBH", 0x0123456789ABCDEF, 1, 0))
    h = val("PING header", header(pk_a, T_A))
    nonce = val("PING nonce", bytes(4) + h[34:42])
    # PONG: type 02, nonce, flags 03 (public, relay), observed 203.0.113.7:51820.
    pong = val("PONG plaintext", bytes([2]) + struct.pack(">QB", 0x0123456789ABCDEF, 3) +
               addr_v4([203, 0, 113, 7], 51820))
    h2 = val("PONG header", header(pk_b, T_B))
    ok(len(ping) == 12 and len(pong) == 29 and len(h) == 42, "sizes of the example")

    if have_crypto:
        dg = val("PING datagram", h + ChaCha20Poly1305(k_ab).encrypt(nonce, ping, h))
        dg2 = val("PONG datagram", h2 + ChaCha20Poly1305(k_ba).encrypt(bytes(4) + h2[34:42], pong, h2))
        ok(len(dg) == 70 and len(dg2) == 87, "datagram sizes: plaintext + 58")
    else:
        ok(True, "AEAD # SKIP no 'cryptography' package")

    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8") as f:
            doc = "".join(f.read().split())
        for name, hx in values:
            ok(hx in doc, "%s is in %s" % (name, sys.argv[1]))

    print("1..%d" % n_tests)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
