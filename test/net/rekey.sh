#!/bin/bash
# Key rotation under traffic: a session older than REKEY_AFTER_TIME (120 s)
# is renewed by its initiator while pings keep flowing, with no lost
# connection.  Two pairs run at the same time so that our daemon is once
# the initiator and once the responder of the rotation.
# Usage: rekey.sh IMPL_OURS IMPL_PEER   (e.g. wireguard-wh wireguard-go)
#
#   pair 1: ns A1 (IMPL_OURS, initiator) ---- veth ---- ns B1 (IMPL_PEER)
#           198.18.3.1/24, tunnel 192.0.2.1    198.18.3.2/24, tunnel 192.0.2.2
#   pair 2: ns A2 (IMPL_PEER, initiator) ---- veth ---- ns B2 (IMPL_OURS)
#           198.18.4.1/24, tunnel 192.0.2.1    198.18.4.2/24, tunnel 192.0.2.2
#
# Each initiator pings its responder every 0.2 s for 135 s; afterwards the
# latest handshake must be younger than the session (a rotation happened)
# and at most one ping in a hundred may be lost.
LAB_TAG=rk
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 IMPL_OURS IMPL_PEER" >&2; exit 2; }
OURS=$(lab_impl_abs "$1")
PEER=$(lab_impl_abs "$2")
DURATION=${WH_REKEY_SECONDS:-135}

lab_require_root
lab_require_cmd ip wg ping
lab_require_impl "$OURS"
lab_require_impl "$PEER"
lab_init

# setup_pair N IMPL_A IMPL_B SUBNET: fills IA$N, IB$N, A$N, B$N.
setup_pair() {
	local n=$1 ia ib pa pb
	new_ns "A$n" && new_ns "B$n" || return 1
	local a b
	a=$(eval echo "\$A$n") b=$(eval echo "\$B$n")
	veth "$a" va "$b" vb || return 1
	addr "$a" va "$4.1/24" && addr "$b" vb "$4.2/24" || return 1
	ia=$(wg_iface a "$n") ib=$(wg_iface b "$n")
	pa=$(gen_key "a$n") pb=$(gen_key "b$n")
	start_impl "$a" "$ia" "$2" && start_impl "$b" "$ib" "$3" || return 1
	wgx "$a" set "$ia" private-key "$LAB_DIR/a$n.key" listen-port 51820 \
		peer "$pb" allowed-ips 192.0.2.2/32 endpoint "$4.2:51821" || return 1
	wgx "$b" set "$ib" private-key "$LAB_DIR/b$n.key" listen-port 51821 \
		peer "$pa" allowed-ips 192.0.2.1/32 || return 1
	addr "$a" "$ia" 192.0.2.1/24 && ip -n "$a" link set "$ia" up || return 1
	addr "$b" "$ib" 192.0.2.2/24 && ip -n "$b" link set "$ib" up || return 1
	printf -v "IA$n" '%s' "$ia"
	printf -v "IB$n" '%s' "$ib"
	printf -v "PB$n" '%s' "$pb"
}

setup_pair 1 "$OURS" "$PEER" 198.18.3 || exit 1
setup_pair 2 "$PEER" "$OURS" 198.18.4 || exit 1

for n in 1 2; do
	a=$(eval echo "\$A$n")
	if wait_for "ping_ok $a 192.0.2.2" 10; then
		tap_ok "pair $n: first handshake and ping"
	else
		tap_fail "pair $n: first handshake and ping"
	fi
done
first1=$(wg_field "$A1" "$IA1" "$PB1" latest-handshakes)
first2=$(wg_field "$A2" "$IA2" "$PB2" latest-handshakes)

count=$((DURATION * 5))
nsx "$A1" ping -n -q -i 0.2 -W 1 -c "$count" 192.0.2.2 >"$LAB_DIR/ping1.out" 2>&1 &
p1=$!
nsx "$A2" ping -n -q -i 0.2 -W 1 -c "$count" 192.0.2.2 >"$LAB_DIR/ping2.out" 2>&1 &
p2=$!
LAB_PIDS+=("$p1" "$p2")
wait "$p1" "$p2"

for n in 1 2; do
	a=$(eval echo "\$A$n") ia=$(eval echo "\$IA$n") pb=$(eval echo "\$PB$n")
	first=$(eval echo "\$first$n")
	last=$(wg_field "$a" "$ia" "$pb" latest-handshakes)
	role=$([ "$n" = 1 ] && echo "ours initiating" || echo "ours responding")
	if [ -n "$last" ] && [ "$last" -gt "$first" ]; then
		tap_ok "pair $n ($role): the session was rotated ($((last - first)) s after the first)"
	else
		tap_fail "pair $n ($role): the session was rotated" "first $first last $last"
	fi
	stats=$(grep -E 'packets transmitted' "$LAB_DIR/ping$n.out")
	tx=$(echo "$stats" | awk '{print $1}') rx=$(echo "$stats" | awk '{print $4}')
	tap_diag "pair $n: $stats"
	if [ -n "$rx" ] && [ $((tx - rx)) -le $((tx / 100)) ]; then
		tap_ok "pair $n ($role): no lost connection across the rotation ($rx of $tx replies)"
	else
		tap_fail "pair $n ($role): no lost connection across the rotation" "$stats"
	fi
done
tap_done
