#!/bin/bash
# A/B of one offload switch on iperf3's unlimited-rate UDP transfer, with
# the counters that tell where the datagrams were lost: our daemon on both
# ends, rounds alternating with and without SWITCH=1 in the daemons'
# environment, the topology of bench/run.sh.
#
#   ns ubPID-a (receiver)                       ns ubPID-b (sender)
#   wireguard-wh -f uPIDa                       wireguard-wh -f uPIDb
#   tunnel 192.0.2.1/24, MTU 1420               tunnel 192.0.2.2/24, MTU 1420
#   iperf3 -s                                   iperf3 -c -u -b 0 -l SIZE
#   veth 198.18.0.1/24 ------------------------ veth 198.18.0.2/24
#
# Per round: datagrams per second delivered to iperf3 and offered by it;
# "to socket", what the receiving daemon handed the kernel for iperf3's
# socket (delivered plus that socket's receive-buffer drops: the
# namespace's Udp RcvbufErrors less those of the daemon's own socket),
# which is what the tunnel carried whatever iperf3's own receive loop
# could take; the sender TUN's drops (tx_dropped: iperf3 sent
# faster than the sending daemon read); the TUN packets written at the
# receiver; both daemons' CPU time.  No medians, no judgement: the rounds
# are printed as they come, on a machine shared with whatever else runs.
#
# Usage: bash bench/udp_ab.sh BUILD_DIR SWITCH [SIZE] [PAIRS]
#        e.g. bash bench/udp_ab.sh build-rel WH_NO_TUN_USO 64 3
#        (as root; wrap it in flock /tmp/wh-heavy.lock on a shared machine)
set -euo pipefail

build=${1:?usage: udp_ab.sh BUILD_DIR SWITCH [SIZE] [PAIRS]}
switch=${2:?usage: udp_ab.sh BUILD_DIR SWITCH [SIZE] [PAIRS]}
size=${3:-64}
pairs=${4:-3}
secs=3
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BENCH_NAME=udp_ab
case $switch in WH_NO_*) ;; *) echo "udp_ab: SWITCH must be a WH_NO_* variable, not '$switch'" >&2; exit 2 ;; esac
WGWH=$(cd "$build/src" && pwd)/wireguard-wh
[ -x "$WGWH" ] || { echo "udp_ab: $WGWH is missing" >&2; exit 1; }
need_root_and wg iperf3 ip python3

A=ub$$-a B=ub$$-b IFA=u$$a IFB=u$$b RUN=/var/run/wireguard
BENCH_NETNS=("$A" "$B")
BENCH_SOCKS=("$RUN/$IFA.sock" "$RUN/$IFB.sock")
IPERF_SERVER_NS=$A IPERF_CLIENT_NS=$B
bench_begin
veth_pair $A $B
(umask 077; wg genkey >"$tmp/a.key"; wg genkey >"$tmp/b.key")
pub_a=$(wg pubkey <"$tmp/a.key")
pub_b=$(wg pubkey <"$tmp/b.key")

printf '%-24s %9s %9s %9s %9s %12s %12s %9s\n' "round ($size-byte UDP)" delivered offered "to socket" "sock drop" "sender drop" "rx TUN pkts" "CPU rx/tx"
printf '%-24s %9s %9s %9s %9s %12s %12s %9s\n' "" kpps kpps kpps kpps "TUN, kpps" "written" "s"
for round in $(seq $((2 * pairs))); do
	envs=()
	label=default
	if [ $((round % 2)) -eq 0 ]; then
		envs=("$switch=1")
		label="$switch=1"
	fi
	spawn $A a env "${envs[@]}" "$WGWH" -f $IFA
	pa=$spawned_pid
	spawn $B b env "${envs[@]}" "$WGWH" -f $IFB
	pb=$spawned_pid
	wait_for 10 test -S $RUN/$IFA.sock
	wait_for 10 test -S $RUN/$IFB.sock
	ip netns exec $A wg set $IFA private-key "$tmp/a.key" listen-port 51820 \
		peer "$pub_b" endpoint 198.18.0.2:51821 allowed-ips 192.0.2.2/32
	ip netns exec $B wg set $IFB private-key "$tmp/b.key" listen-port 51821 \
		peer "$pub_a" endpoint 198.18.0.1:51820 allowed-ips 192.0.2.1/32
	ip -n $A addr add 192.0.2.1/24 dev $IFA
	ip -n $B addr add 192.0.2.2/24 dev $IFB
	ip -n $A link set $IFA mtu 1420 up
	ip -n $B link set $IFB mtu 1420 up
	wait_for 15 ip netns exec $B ping -c 1 -W 1 192.0.2.1
	start_iperf_server
	od0=$(sock_drops $A 51820)
	rb0=$(udp_stat $A RcvbufErrors) dr0=$(if_stat $B $IFB tx_dropped) rx0=$(if_stat $A $IFA rx_packets)
	ca0=$(cpu_ticks $pa) cb0=$(cpu_ticks $pb)
	timeout $((secs + 30)) ip netns exec $B iperf3 -J -c 192.0.2.1 -u -b 0 -l "$size" -t $secs >"$tmp/u.json" 2>&1 || true
	od1=$(sock_drops $A 51820)
	rb1=$(udp_stat $A RcvbufErrors) dr1=$(if_stat $B $IFB tx_dropped) rx1=$(if_stat $A $IFA rx_packets)
	ca1=$(cpu_ticks $pa) cb1=$(cpu_ticks $pb)
	reap "$srv_pid"
	python3 - "$tmp/u.json" "$label" $((rb1 - rb0 - (od1 - od0))) $((dr1 - dr0)) $((rx1 - rx0)) \
		$((ca1 - ca0)) $((cb1 - cb0)) "$(getconf CLK_TCK)" <<'EOF'
import json, sys
label, rb, dr, rx, ca, cb, hz = sys.argv[2], *map(int, sys.argv[3:])
try:
    s = json.load(open(sys.argv[1]))["end"]["sum"]
except (ValueError, KeyError):
    print("%-24s iperf3 failed" % label)
    sys.exit(0)
t = s["seconds"]
got = s["packets"] - s["lost_packets"]
print("%-24s %9.1f %9.1f %9.1f %9.1f %12.1f %12d %4.2f/%4.2f" % (
    label, got / t / 1e3, s["packets"] / t / 1e3, (got + rb) / t / 1e3, rb / t / 1e3,
    dr / t / 1e3, rx, ca / hz, cb / hz))
EOF
	kill "$pa" "$pb" 2>/dev/null || true
	reap "$pa" "$pb"
	ip -n $A link del $IFA 2>/dev/null || true
	ip -n $B link del $IFB 2>/dev/null || true
	rm -f $RUN/$IFA.sock $RUN/$IFB.sock
done
