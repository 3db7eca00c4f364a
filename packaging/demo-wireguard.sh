#!/bin/bash
# The demo of the main job, run by the README's first command after the
# set-up: two network namespaces joined by a veth pair, one running our
# wireguard-wh and the other Debian's wireguard-go, configured with stock
# `wg`; a ping each way and a short iperf3 transfer through the tunnel,
# then `wg show`, then everything is removed again.
#
#   ns whdemo-a                                 ns whdemo-b
#   wireguard-wh (wgdemoa)                      wireguard-go (wgdemob)
#   tunnel 192.0.2.1/24, fd00:d::1/64           192.0.2.2/24, fd00:d::2/64
#   veth 198.18.0.1/24 ---------------------- veth 198.18.0.2/24
#
# Usage: bash packaging/demo-wireguard.sh [BUILD_DIR]   (as root; default ./build)
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../bench/lib.sh"
BENCH_NAME=demo
build=${1:-build}
WH=$build/src/wh
WGWH=$build/src/wireguard-wh
for f in "$WH" "$WGWH"; do
	[ -x "$f" ] || { echo "demo: $f is missing; build first (meson setup $build && ninja -C $build)" >&2; exit 1; }
done
need_root_and

A=whdemo-a B=whdemo-b
BENCH_NETNS=("$A" "$B")
BENCH_SOCKS=(/var/run/wireguard/wgdemoa.sock /var/run/wireguard/wgdemob.sock)
# Fixed names: what a killed demo left goes first.
cleanup
bench_begin

veth_pair $A $B

echo "== keys: wh genkey | wh pubkey (wg pubkey agrees on the bytes)"
"$WH" genkey >"$tmp/a.key"
"$WH" genkey >"$tmp/b.key"
echo "node a: $("$WH" pubkey <"$tmp/a.key")"
echo "node b: $("$WH" pubkey <"$tmp/b.key")"
pa=$(wg pubkey <"$tmp/a.key")
pb=$(wg pubkey <"$tmp/b.key")

echo "== starting wireguard-wh in $A and wireguard-go in $B"
spawn $A wh "$WGWH" -f wgdemoa
spawn $B go wireguard-go -f wgdemob
wait_for 10 test -S /var/run/wireguard/wgdemoa.sock
wait_for 10 test -S /var/run/wireguard/wgdemob.sock

ip netns exec $A wg set wgdemoa private-key "$tmp/a.key" listen-port 51820 \
	peer "$pb" endpoint 198.18.0.2:51821 allowed-ips 192.0.2.2/32,fd00:d::2/128
ip netns exec $B wg set wgdemob private-key "$tmp/b.key" listen-port 51821 \
	peer "$pa" endpoint 198.18.0.1:51820 allowed-ips 192.0.2.1/32,fd00:d::1/128
ip -n $A addr add 192.0.2.1/24 dev wgdemoa
ip -n $A addr add fd00:d::1/64 dev wgdemoa nodad
ip -n $B addr add 192.0.2.2/24 dev wgdemob
ip -n $B addr add fd00:d::2/64 dev wgdemob nodad
ip -n $A link set wgdemoa up
ip -n $B link set wgdemob up

echo "== ping a -> b (IPv4) and b -> a (IPv6) through the tunnel"
ip netns exec $A ping -c 3 -i 0.2 -W 3 192.0.2.2
ip netns exec $B ping -c 3 -i 0.2 -W 3 fd00:d::1

echo "== iperf3: 3 s of TCP from b to a through the tunnel"
ip netns exec $A iperf3 -s -1 -B 192.0.2.1 >/dev/null 2>&1 &
pids+=($!)
wait_for 5 ip netns exec $A sh -c 'ss -ltn | grep -q 5201'
ip netns exec $B iperf3 -c 192.0.2.1 -t 3 -f m | grep -E 'sender|receiver'

echo "== wg show (stock wireguard-tools talking to wireguard-wh)"
ip netns exec $A wg show wgdemoa
echo
echo "demo: done; cleaning up"
