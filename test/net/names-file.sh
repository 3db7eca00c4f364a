#!/bin/bash
# The network file as a WireHub user writes it (issue 13, items 2 and 3):
# dotted hostnames in either case, two members whose derived addresses
# collide, and bad lines beside sound ones must not stop the network; a
# key below the network's workbit is refused at once; messages name the
# file as it was given.
# Usage: names-file.sh WH, where WH is the `wh` binary.
#
#            ns SW (whlab-xn-PID-sw): bridge br0
#   +-----------------------------------------------+
#   |   sboot            sa              sb         |
#   +-----|--------------|---------------|----------+
#         |              |               |     (veth)
#   +-----|----+   +-----|----+    +-----|----+
#   | eth0     |   | eth0     |    | eth0     |
#   | .0.10    |   | .0.1     |    | .0.2     |
#   | boot     |   | a        |    | b        |
#   | public   |   | member   |    | member   |
#   +----------+   +----------+    +----------+
#   outer addresses 198.18.0.N/24, UDP port 62098; overlay 198.19.0.0/27
#
# a and b are chosen among 40 keys so that both derive the same IPv4
# address in the /27 (computed here in Python from doc/network-file.md).
# Their file names them "a.names.test" and "B.Names.Test" and holds two
# bad lines (a hostname with a label ending in '-', a static address
# outside the subnet); b's copy has a peer line where a's has the boot
# line, its only way into the DHT. Both come up, log the two left-out
# lines, take
# distinct addresses (the smaller key keeps the contested one, the other
# its next candidate) and ping each other. A key below the network's
# workbit is refused, naming both workbits. A reload whose subnet line is
# wrong is refused naming the file as given to `wh up` (relative), and a
# reload that adds another bad line is applied. Output is TAP.

LAB_TAG=xn
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62098
SUBNET=198.19.0.0/27
NETNAME=names

lab_require_root
lab_require_cmd ip ping python3 ss
lab_require_impl "$WH"

# shellcheck source=names-lib.sh
. "$(dirname "$0")/names-lib.sh"
names_init

# derive4 KEY [N]: the IPv4 candidate N (default 0) of KEY in the network.
derive4() {
	python3 - "$1" "${2:-0}" "$NETNAME" "$SUBNET" <<'EOF'
import base64, hashlib, ipaddress, sys
key = base64.urlsafe_b64decode(sys.argv[1] + "=")
n, name = int(sys.argv[2]), sys.argv[3]
net = ipaddress.ip_network(sys.argv[4])
label = "wh-ipv4" if n == 0 else "wh-ipv4-%d" % n
h = hashlib.blake2b(label.encode() + b"\0public\0" + name.encode() + b"\0" + key,
                    digest_size=32).digest()
hostbits = 32 - net.prefixlen
print(net.network_address + 1 + int.from_bytes(h[:8], "big") % (2 ** hostbits - 2))
EOF
}

# ---------------------------------------------------------------- the lab

lab_ok=1
names_lab boot=198.18.0.10 a=198.18.0.1 b=198.18.0.2 || lab_ok=0
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[boot]} ${IPOF[a]}" 10 &&
	wait_for "ping_ok ${NSOF[boot]} ${IPOF[b]}" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: three namespaces on a bridge"
else
	tap_fail "lab: three namespaces on a bridge"
	tap_done
fi

# a and b: the first two of 40 keys of workbit 4 that derive one address.
declare -A SEEN=()
for i in $(seq 1 40); do
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/k$i.key") || break
	k=$("$WH" pubkey <"$LAB_DIR/k$i.key")
	d=$(derive4 "$k")
	if [ -n "${SEEN[$d]}" ]; then
		cp "$LAB_DIR/${SEEN[$d]}.key" "$LAB_DIR/a.key" && cp "$LAB_DIR/k$i.key" "$LAB_DIR/b.key"
		PUB[a]=$("$WH" pubkey <"$LAB_DIR/a.key")
		PUB[b]=$k
		CONTESTED=$d
		break
	fi
	SEEN[$d]=k$i
done
if [ -n "${PUB[b]}" ]; then
	tap_ok "two keys that both derive $CONTESTED in $SUBNET"
else
	tap_fail "two keys that both derive one address among 40"
	tap_done
fi
for k in c d e; do
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$k.key") && PUB[$k]=$("$WH" pubkey <"$LAB_DIR/$k.key")
done

cat >"$LAB_DIR/net.conf" <<EOF
name $NETNAME
subnet $SUBNET
workbit 4
boot ${PUB[boot]} ${IPOF[boot]}:$PORT
trust a.names.test ${PUB[a]}
trust B.Names.Test ${PUB[b]}
trust bad-.names.test ${PUB[c]}
trust 198.19.9.9 ${PUB[d]}
EOF

# b's copy names the bootstrap node on a peer line instead: a DHT contact
# (no trusted NAT observer), b's only way into the DHT, where a looks it up.
sed 's/^boot /peer /' "$LAB_DIR/net.conf" >"$LAB_DIR/b.conf"

# ---------------------------------------------------------------- up despite the collision

if names_up boot net.conf boot.key; then
	tap_ok "boot comes up"
else
	tap_fail "boot comes up" "$(cat "$LAB_DIR/boot.err")"
	tap_done
fi
if names_up a net.conf a.key && names_up b b.conf b.key; then
	tap_ok "a and b come up on a file with a colliding pair and two bad lines"
else
	tap_fail "a and b come up on a file with a colliding pair and two bad lines" \
		"a: $(cat "$LAB_DIR/a.err")" "b: $(cat "$LAB_DIR/b.err")"
	tap_done
fi
if grep -q "left out of the network: net.conf:7: .*bad-.names.test" "$LAB_DIR/a.err" &&
	grep -q "left out of the network: net.conf:8: .*outside the subnet" "$LAB_DIR/a.err"; then
	tap_ok "the two bad lines are logged with file and line ($(grep -c 'left out' "$LAB_DIR/a.err") lines)"
else
	tap_fail "the two bad lines are logged with file and line" "$(cat "$LAB_DIR/a.err")"
fi

A4=$(names_peer_field a - ipv4)
B4=$(names_peer_field b - ipv4)
B4_AT_A=$(names_peer_field a b.names.test ipv4)
# The other key takes its first candidate past 0 that is not the
# contested address (its candidate 1 may be that one too).
moved() {
	local i=1 c
	while c=$(derive4 "$1" $i) && [ "$c" = "$CONTESTED" ]; do i=$((i + 1)); done
	echo "$c"
}
if [ "$(printf '%s\n' "${PUB[a]}" "${PUB[b]}" | python3 -c '
import base64, sys
a, b = (base64.urlsafe_b64decode(l.strip() + "=") for l in sys.stdin)
print("a" if a < b else "b")')" = a ]; then
	WANT_A=$CONTESTED WANT_B=$(moved "${PUB[b]}")
else
	WANT_A=$(moved "${PUB[a]}") WANT_B=$CONTESTED
fi
if [ "$A4" = "$WANT_A" ] && [ "$B4" = "$WANT_B" ] && [ "$B4_AT_A" = "$B4" ]; then
	tap_ok "the smaller key keeps $CONTESTED: a is $A4, b is $B4, and a agrees on b"
else
	tap_fail "the smaller key keeps $CONTESTED" "a $A4 (want $WANT_A), b $B4 (want $WANT_B)," \
		"a's view of b: $B4_AT_A"
fi
if [ -n "$B4" ] && wait_for "ping_ok ${NSOF[a]} $B4" 15 && ping_ok "${NSOF[b]}" "$A4" >/dev/null; then
	tap_ok "a pings b ($B4) and b pings a ($A4) over the overlay (b joined the DHT through a peer line)"
else
	tap_fail "a and b ping each other over the overlay" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
fi
if whx "${NSOF[a]}" show "${IFOF[a]}" | grep -q "peer b.names.test"; then
	tap_ok "a names b by its hostname as written in lowercase (b.names.test)"
else
	tap_fail "a names b b.names.test" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
fi

# ---------------------------------------------------------------- a key below the workbit

for i in $(seq 1 20); do
	(umask 077 && "$WH" genkey >"$LAB_DIR/weak.key") || break
	WB=$("$WH" pubkey <"$LAB_DIR/weak.key" | "$WH" workbit)
	[ "$WB" -lt 4 ] && break
done
if names_up a net.conf weak.key "xn${LAB_PID}w"; then
	tap_fail "a key of workbit $WB is refused" "wh up succeeded: $(cat "$LAB_DIR/a.err")"
elif grep -q "weak.key: the key has workbit $WB, below the network's workbit 4" "$LAB_DIR/a.err"; then
	tap_ok "a key of workbit $WB is refused: $(head -1 "$LAB_DIR/a.err")"
else
	tap_fail "a key of workbit $WB is refused naming both workbits" "$(cat "$LAB_DIR/a.err")"
fi

# ---------------------------------------------------------------- reload

cp "$LAB_DIR/net.conf" "$LAB_DIR/good.conf"
sed -i "s|^subnet .*|subnet 198.19.0.0/33|" "$LAB_DIR/net.conf"
out=$(whx "${NSOF[a]}" reload "${IFOF[a]}" 2>&1)
if [ $? -ne 0 ] && printf '%s' "$out" | grep -q '^.*: net.conf:2: "33" is not a prefix length'; then
	tap_ok "a reload with a bad subnet is refused, naming the file as given: $out"
else
	tap_fail "a reload with a bad subnet is refused naming net.conf as given" "$out"
fi
cp "$LAB_DIR/good.conf" "$LAB_DIR/net.conf"
echo "trust e.names.test 10.0.0.1 ${PUB[e]}" >>"$LAB_DIR/net.conf"
out=$(whx "${NSOF[a]}" reload "${IFOF[a]}" 2>&1)
if [ $? -eq 0 ] && ping_ok "${NSOF[a]}" "$B4" >/dev/null; then
	tap_ok "a reload that adds a bad line is applied; b still answers"
else
	tap_fail "a reload that adds a bad line is applied" "$out"
fi

tap_done
