#!/bin/bash
# The demo of the main job: an overlay network in network namespaces.  A
# public bootstrap node and three members, each given the same network
# file (with its lines in a different order), find each other through the
# DHT, bring up WireGuard sessions between every pair, and carry a ping
# and an iperf3 transfer over their overlay addresses; `wh show` tells
# the paths.  Then everything is removed again.  (Nodes behind NATs join
# the demo with the NAT traversal work.)
#
#                 ns whd-sw: bridge br0  ("the internet", 198.18.0.0/24)
#        +----------------+----------------+----------------+
#   ns whd-boot       ns whd-a           ns whd-b           ns whd-c
#   198.18.0.1        198.18.0.2         198.18.0.3         198.18.0.4
#   public DHT node   member "alpha"     member "bravo"     member "charlie"
#   (no interface)    overlay addresses in 198.19.0.0/16 and fd00::/8,
#                     derived from the keys
#
# Usage: bash packaging/demo.sh [BUILD_DIR]   (as root; default ./build)
set -euo pipefail

build=${1:-build}
WH=$build/src/wh
[ -x "$WH" ] || { echo "demo: $WH is missing; build first (bash packaging/setup.sh --build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
WH=$(readlink -f "$WH")

NODES="boot a b c"
pids=()
tmp=
cleanup() {
	# A node left by an interrupted run answers on its control socket.
	for s in /var/run/wh/whd*.sock; do
		[ -S "$s" ] && timeout 5 "$WH" down "$(basename "$s" .sock)" >/dev/null 2>&1 || true
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in sw $NODES; do ip netns del "whd-$n" 2>/dev/null || true; done
	[ -z "$tmp" ] || rm -rf "$tmp"
}
cleanup
trap cleanup EXIT
tmp=$(mktemp -d)

wait_for() { # wait_for SECONDS CMD...: polls CMD every 100 ms
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}
nsx() { local n=$1; shift; ip netns exec "whd-$n" "$@"; }

ip netns add whd-sw
ip -n whd-sw link add br0 type bridge
ip -n whd-sw link set br0 up
i=1
for n in $NODES; do
	ip netns add "whd-$n"
	ip -n "whd-$n" link set lo up
	ip link add "v$n" netns "whd-$n" type veth peer name "p$n" netns whd-sw
	ip -n whd-sw link set "p$n" master br0 up
	ip -n "whd-$n" addr add "198.18.0.$i/24" dev "v$n"
	ip -n "whd-$n" link set "v$n" up
	i=$((i + 1))
done

echo "== keys with 8 workbits (wh genkey workbit 8 | wh pubkey)"
for n in $NODES; do
	(umask 077 && "$WH" genkey workbit 8 >"$tmp/$n.key")
	"$WH" pubkey <"$tmp/$n.key" >"$tmp/$n.pub"
	printf '  %-5s %s (workbit %s)\n' "$n" "$(cat "$tmp/$n.pub")" "$("$WH" workbit <"$tmp/$n.pub")"
done

# The same network, lines in another order for each node.
lines=("boot $(cat "$tmp/boot.pub") 198.18.0.1:62096"
	"trust alpha $(cat "$tmp/a.pub")"
	"trust bravo $(cat "$tmp/b.pub")"
	"trust charlie $(cat "$tmp/c.pub")")
k=0
for n in $NODES; do
	{
		echo "# demo network, as node $n has it"
		echo "name demo"
		echo "subnet 198.19.0.0/16"
		echo "workbit 8"
		for j in 0 1 2 3; do echo "${lines[$(((j + k) % 4))]}"; done
	} >"$tmp/$n.conf"
	k=$((k + 1))
done
echo "== the network file (as node a has it)"
sed 's/^/  /' "$tmp/a.conf"

echo "== wh up on each node"
for n in $NODES; do
	# ip netns exec execs wh: $! is the daemon's PID.
	ip netns exec "whd-$n" "$WH" up "$tmp/$n.conf" private-key "$tmp/$n.key" \
		interface "whd$n" -f 2>"$tmp/$n.log" &
	pids+=($!)
done
for n in $NODES; do wait_for 10 test -S "/var/run/wh/whd$n.sock"; done

addr_of() { nsx "$1" "$WH" show "whd$1" json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
for n in a b c; do
	printf '  %s: %s, %s\n' "$n" "$(addr_of "$n" ipv4)" "$(addr_of "$n" ipv6)"
done

echo "== discovery: every member reaches every other over the overlay"
t0=$(date +%s%N)
for s in a b c; do
	for d in a b c; do
		[ "$s" != "$d" ] || continue
		dst=$(addr_of "$d" ipv4)
		wait_for 20 nsx "$s" ping -c 1 -W 1 "$dst" || { echo "demo: $s cannot reach $d" >&2; exit 1; }
		printf '  %s -> %s (%s) ok\n' "$s" "$d" "$dst"
	done
done
echo "  all pairs connected after $((($(date +%s%N) - t0) / 1000000)) ms"

echo "== ping alpha -> charlie over IPv6"
nsx a ping -c 3 -i 0.2 "$(addr_of c ipv6)" | tail -2

echo "== iperf3: 3 s of TCP from bravo to alpha over the overlay"
nsx a iperf3 -s -1 >/dev/null 2>&1 &
pids+=($!)
wait_for 5 nsx a sh -c 'ss -ltn | grep -q 5201'
nsx b iperf3 -c "$(addr_of a ipv4)" -t 3 -f m | grep -E 'sender|receiver'

echo "== wh show on alpha"
nsx a "$WH" show whda | sed 's/^/  /'
echo "== wh lookup of charlie from bravo (a DHT lookup)"
nsx b "$WH" lookup whdb "$(cat "$tmp/c.pub")" | sed 's/^/  /'
echo "== wh show on the bootstrap node (a public node: no interface)"
nsx boot "$WH" show whdboot | sed 's/^/  /'
echo
echo "demo: done; cleaning up"
