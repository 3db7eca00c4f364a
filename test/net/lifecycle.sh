#!/bin/bash
# Stock wg on an interface of `wh up`, and `wh down` followed at once by
# `wh up`. Usage: lifecycle.sh WH, where WH is the `wh` binary.
#
#            ns SW (whlab-lc-PID-sw): bridge br0
#   +-----------------------------------------------+
#   |   sboot            sa              sb         |
#   +-----|--------------|---------------|----------+
#         |              |               |     (veth)
#   +-----|----+   +-----|----+    +-----|----+
#   | eth0     |   | eth0     |    | eth0     |
#   | .0.10    |   | .0.1     |    | .0.2     |
#   | boot     |   | a        |    | b        |
#   | public   |   | lc<P>a   |    | lc<P>b   |
#   +----------+   +----------+    +----------+
#   outer addresses 198.18.0.N/24, UDP port 62096; overlay 198.19.0.0/16
#
# The node owns its key, its port and the network file's members as
# WireGuard peers (README, "wg on a wh interface"): against member a, stock
# `wg set ... peer B remove`, `wg set ... private-key <b's key>`, `wg
# setconf` of a file without peers, an allowed IP that is b's overlay
# address, a new endpoint for b, all refused with "Operation not permitted"
# and nothing changed; `wg syncconf` of `wg showconf` (restating) and a new
# peer that is not a member accepted, changed and removed. After each, a
# still pings b over the overlay and its daemon is alive (under ASan too).
# Then `wh down a` and at once `wh up a` on the same port, 10 times: when
# `wh down` returns the process has exited, the interface is gone and the
# UDP port is free; every `wh up` succeeds, and a pings b again at the
# end. Output is TAP.

LAB_TAG=lc
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62096

lab_require_root
lab_require_cmd ip ping wg ss
lab_require_impl "$WH"

lab_wh_init

declare -A NSOF=() IFOF=() IPOF=() PUB=() WHPID=()

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

wgx_a() { ip netns exec "${NSOF[a]}" wg "$@"; }

# daemon_pid NODE: the PID of the process listening on NODE's control
# socket (ss lists the Unix sockets of the namespace it runs in).
daemon_pid() {
	ip netns exec "${NSOF[$1]}" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/${IFOF[$1]}.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# up NODE: `wh up` as a user runs it (it returns once the node is ready);
# prints the daemon's PID, for the caller to record for the clean-up.
up() {
	local node=$1 out pid
	LAB_IFACES+=("${IFOF[$node]}")
	out=$(ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$node.key" interface "${IFOF[$node]}" listen-port "$PORT" 2>&1) ||
		{ echo "wh up $node: $out"; return 1; }
	pid=$(daemon_pid "$node")
	[ -n "$pid" ] || { echo "wh up $node: no process on its control socket"; return 1; }
	echo "$pid"
}

# running PID: the process exists and has not exited (a zombie has exited:
# it holds no socket; whoever reaps orphans here may take its time).
running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

alive() { running "${WHPID[$1]}"; }

overlay_v4() {
	whx "${NSOF[a]}" show "${IFOF[a]}" json | python3 -c '
import json, sys
s = json.load(sys.stdin)
for p in s.get("peers", []):
    if p["hostname"] == sys.argv[1]:
        print(p["ipv4"])' "$1"
}

# a_pings_b DESC: a still pings b over the overlay and a's daemon lives.
a_pings_b() {
	if alive a && wait_for "ping_ok ${NSOF[a]} $B4" 10; then
		tap_ok "$1"
	else
		tap_fail "$1" "a alive: $(alive a && echo yes || echo no)" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
	fi
}

# refused DESC CMD...: CMD (a stock wg command against a) fails with EPERM.
refused() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_fail "$desc: refused" "it succeeded: $out"
	elif grep -q "Operation not permitted" <<<"$out"; then
		tap_ok "$desc: refused ($(tail -1 <<<"$out"))"
	else
		tap_fail "$desc: refused with EPERM" "$out"
	fi
}

# b_intact: b is a's peer with its overlay addresses as allowed IPs.
b_intact() {
	local aips
	aips=$(wgx_a show "${IFOF[a]}" allowed-ips | awk -v k="$B_WG" '$1 == k {$1 = ""; print}')
	grep -q "$B4/32" <<<"$aips"
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
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[boot]} ${IPOF[a]}" 10 &&
	wait_for "ping_ok ${NSOF[boot]} ${IPOF[b]}" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: three namespaces on a bridge"
else
	tap_fail "lab: three namespaces on a bridge"
	tap_done
fi
cat >"$LAB_DIR/net.conf" <<EOF
name lclab
subnet 198.19.0.0/16
workbit 8
boot ${PUB[boot]} 198.18.0.10:$PORT
trust a ${PUB[a]}
trust b ${PUB[b]}
EOF

for node in boot a b; do
	if out=$(up "$node"); then
		WHPID[$node]=$out
		LAB_PIDS+=("$out")
		tap_ok "wh up $node (pid $out)"
	else
		tap_fail "wh up $node" "$out"
		tap_done
	fi
done
B4=$(overlay_v4 b)
B_WG=$(printf '%s' "${PUB[b]}" | tr -- '-_' '+/')=
if [ -n "$B4" ] && wait_for "ping_ok ${NSOF[a]} $B4" 15; then
	tap_ok "a pings b ($B4) over the overlay"
else
	tap_fail "a pings b over the overlay" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
	tap_done
fi

# ---------------------------------------------------------------- stock wg on a

refused "wg set peer b remove" wgx_a set "${IFOF[a]}" peer "$B_WG" remove
if b_intact; then tap_ok "b is still a's peer with its overlay address"; else
	tap_fail "b is still a's peer" "$(wgx_a show "${IFOF[a]}")"; fi
a_pings_b "after wg set peer b remove: a pings b"

refused "wg set private-key <b's key>" wgx_a set "${IFOF[a]}" private-key "$LAB_DIR/b.key"
A_WG=$(printf '%s' "${PUB[a]}" | tr -- '-_' '+/')=
if [ "$(wgx_a show "${IFOF[a]}" public-key)" = "$A_WG" ]; then
	tap_ok "a's key is unchanged"
else
	tap_fail "a's key is unchanged" "$(wgx_a show "${IFOF[a]}" public-key)"
fi
a_pings_b "after wg set private-key: a pings b"

printf '[Interface]\nListenPort = %s\n' "$PORT" >"$LAB_DIR/empty.conf"
refused "wg setconf with no peers" wgx_a setconf "${IFOF[a]}" "$LAB_DIR/empty.conf"
if b_intact; then tap_ok "after wg setconf: b is still a's peer"; else
	tap_fail "after wg setconf: b is still a's peer" "$(wgx_a show "${IFOF[a]}")"; fi
a_pings_b "after wg setconf: a pings b"

refused "wg set peer b endpoint elsewhere" wgx_a set "${IFOF[a]}" peer "$B_WG" endpoint 198.18.0.99:$PORT
refused "wg set listen-port another" wgx_a set "${IFOF[a]}" listen-port $((PORT + 1))

# A peer that is not a member is the user's: created, changed, removed.
NEW_WG=$(wg genkey | wg pubkey)
if wgx_a set "${IFOF[a]}" peer "$NEW_WG" allowed-ips 198.51.100.7/32 endpoint 198.18.0.99:51820 &&
	wgx_a show "${IFOF[a]}" allowed-ips | grep -q "^$NEW_WG.*198.51.100.7/32"; then
	tap_ok "wg set: a new peer that is not a member is created"
else
	tap_fail "wg set: a new peer that is not a member is created" "$(wgx_a show "${IFOF[a]}" 2>&1)"
fi
refused "wg set: b's overlay address to the new peer" \
	wgx_a set "${IFOF[a]}" peer "$NEW_WG" allowed-ips "198.51.100.7/32,$B4/32"
if b_intact && ! wgx_a show "${IFOF[a]}" allowed-ips | grep -q "^$NEW_WG.*$B4/32"; then
	tap_ok "b keeps its overlay address"
else
	tap_fail "b keeps its overlay address" "$(wgx_a show "${IFOF[a]}" allowed-ips)"
fi
if wgx_a showconf "${IFOF[a]}" >"$LAB_DIR/a.wgconf" &&
	out=$(wgx_a syncconf "${IFOF[a]}" "$LAB_DIR/a.wgconf" 2>&1) && b_intact; then
	tap_ok "wg syncconf of wg showconf (restating the members) is accepted"
else
	tap_fail "wg syncconf of wg showconf is accepted" "$out" "$(cat "$LAB_DIR/a.wgconf" | grep -v PrivateKey)"
fi
if wgx_a set "${IFOF[a]}" peer "$NEW_WG" remove &&
	! wgx_a show "${IFOF[a]}" peers | grep -qF "$NEW_WG"; then
	tap_ok "wg set: the peer that is not a member is removed"
else
	tap_fail "wg set: the peer that is not a member is removed" "$(wgx_a show "${IFOF[a]}" peers)"
fi
a_pings_b "after the stock wg changes: a pings b"

# ---------------------------------------------------------------- down, up at once

fails=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	old=${WHPID[a]}
	if ! out=$(whx "${NSOF[a]}" down "${IFOF[a]}" 2>&1); then
		fails+=("round $i: wh down: $out")
		break
	fi
	if running "$old"; then
		fails+=("round $i: wh down returned while pid $old still runs")
		break
	fi
	if ip -n "${NSOF[a]}" link show "${IFOF[a]}" >/dev/null 2>&1; then
		fails+=("round $i: wh down returned while ${IFOF[a]} still exists")
		break
	fi
	if ip netns exec "${NSOF[a]}" ss -Huan "sport = :$PORT" | grep -q .; then
		fails+=("round $i: wh down returned while UDP port $PORT is still bound")
		break
	fi
	if ! out=$(up a); then
		fails+=("round $i: $out")
		break
	fi
	WHPID[a]=$out
	LAB_PIDS+=("$out")
done
if [ ${#fails[@]} -eq 0 ]; then
	tap_ok "wh down, then at once wh up on port $PORT: 10 rounds, every wh up succeeds"
else
	tap_fail "wh down, then at once wh up on port $PORT, 10 rounds" "${fails[@]}"
fi
a_pings_b "after 10 restarts: a pings b"

for node in boot b; do
	if alive "$node"; then tap_ok "$node's daemon still runs"; else tap_fail "$node's daemon still runs"; fi
done
tap_done
