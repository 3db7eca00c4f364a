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
# outside the subnet). Both come up, log the two left-out lines, take
# distinct addresses (the smaller key keeps the contested one, the other
# its candidate 1) and ping each other. A key below the network's
# workbit is refused, naming both workbits. A reload whose subnet line is
# wrong is refused naming the file as given to `wh up` (relative), and a
# reload that adds another bad line is applied. Output is TAP.

LAB_TAG=xn
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

WH_CTL_DIR=/var/run/wh
PORT=62098
SUBNET=198.19.0.0/27
NETNAME=names

lab_require_root
lab_require_cmd ip ping python3 ss
lab_require_impl "$WH"

xn_cleanup() {
	local iface
	lab_cleanup
	for iface in "${LAB_IFACES[@]}"; do
		rm -f "$WH_CTL_DIR/$iface.sock"
	done
}

lab_clean_stale_sockets "$WH_CTL_DIR"
lab_init
trap xn_cleanup EXIT

declare -A NSOF=() IFOF=() IPOF=() PUB=()

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

daemon_pid() {
	ip netns exec "${NSOF[$1]}" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/$2.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# up NODE CONF KEY [IFACE]: `wh up` run from $LAB_DIR (CONF relative to
# it), its stderr in $LAB_DIR/NODE.err; records the daemon's PID.
up() {
	local node=$1 conf=$2 key=$3 iface=${4:-${IFOF[$1]}} pid rc
	LAB_IFACES+=("$iface")
	(cd "$LAB_DIR" && ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$conf" \
		private-key "$key" interface "$iface" listen-port "$PORT" \
		>"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err")
	rc=$?
	pid=$(daemon_pid "$node" "$iface")
	[ -n "$pid" ] && LAB_PIDS+=("$pid")
	return $rc
}

# show_field NODE PEER_HOSTNAME FIELD: a field of a peer in NODE's `wh show json`,
# or of NODE itself when PEER_HOSTNAME is "-".
show_field() {
	whx "${NSOF[$1]}" show "${IFOF[$1]}" json | python3 -c '
import json, sys
s = json.load(sys.stdin)
if sys.argv[1] == "-":
    print(s.get(sys.argv[2], ""))
for p in s.get("peers", []):
    if p["hostname"] == sys.argv[1]:
        print(p[sys.argv[2]])' "$2" "$3"
}

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

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
n=1
for node in boot a b; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	if [ "$node" = boot ]; then IPOF[$node]=198.18.0.10; else IPOF[$node]=198.18.0.$n; n=$((n + 1)); fi
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[boot]} ${IPOF[a]}" 10 &&
	wait_for "ping_ok ${NSOF[boot]} ${IPOF[b]}" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: three namespaces on a bridge"
else
	tap_fail "lab: three namespaces on a bridge"
	tap_done
fi

# Keys of workbit 4; a and b the first two of 40 that derive one address.
(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/boot.key") &&
	PUB[boot]=$("$WH" pubkey <"$LAB_DIR/boot.key") || { tap_fail "lab: a key"; tap_done; }
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

# ---------------------------------------------------------------- up despite the collision

if up boot net.conf boot.key; then
	tap_ok "boot comes up"
else
	tap_fail "boot comes up" "$(cat "$LAB_DIR/boot.err")"
	tap_done
fi
if up a net.conf a.key && up b net.conf b.key; then
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

A4=$(show_field a - ipv4)
B4=$(show_field b - ipv4)
B4_AT_A=$(show_field a b.names.test ipv4)
if [ "$(printf '%s\n' "${PUB[a]}" "${PUB[b]}" | python3 -c '
import base64, sys
a, b = (base64.urlsafe_b64decode(l.strip() + "=") for l in sys.stdin)
print("a" if a < b else "b")')" = a ]; then
	WANT_A=$CONTESTED WANT_B=$(derive4 "${PUB[b]}" 1)
else
	WANT_A=$(derive4 "${PUB[a]}" 1) WANT_B=$CONTESTED
fi
if [ "$A4" = "$WANT_A" ] && [ "$B4" = "$WANT_B" ] && [ "$B4_AT_A" = "$B4" ]; then
	tap_ok "the smaller key keeps $CONTESTED: a is $A4, b is $B4, and a agrees on b"
else
	tap_fail "the smaller key keeps $CONTESTED" "a $A4 (want $WANT_A), b $B4 (want $WANT_B)," \
		"a's view of b: $B4_AT_A"
fi
if [ -n "$B4" ] && wait_for "ping_ok ${NSOF[a]} $B4" 15 && ping_ok "${NSOF[b]}" "$A4" >/dev/null; then
	tap_ok "a pings b ($B4) and b pings a ($A4) over the overlay"
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
if up a net.conf weak.key "xn${LAB_PID}w"; then
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
