#!/bin/bash
# The project's benchmark: our wireguard-wh side by side with Debian's
# wireguard-go, in one run, on one machine, over the same topology.
#
#   ns whbench-PID-a (receiver)                 ns whbench-PID-b (sender)
#   IMPL -f wbPIDa                              IMPL -f wbPIDb
#   tunnel 192.0.2.1/24, MTU 1420               tunnel 192.0.2.2/24, MTU 1420
#   iperf3 -s                                   iperf3 -c, ping
#   veth 198.18.0.1/24 ------------------------ veth 198.18.0.2/24 (MTU 1500)
#
# Both ends run the same implementation.  Rounds alternate ours, wireguard-go,
# ours, ...; a pair of rounds during which other jobs used more than 10% of
# the machine is repeated (up to --rounds extra pairs, one with --quick) and
# left out of the medians.  Each round starts fresh daemons and measures, in
# order:
#   - RSS of both daemons when idle (after the handshake, before traffic)
#   - ping RTT idle (20 pings, 0.1 s apart)
#   - iperf3 TCP, 1 stream, with ping every 0.1 s running alongside (RTT under
#     load) and the daemons' CPU time (utime+stime) per GB delivered
#   - iperf3 TCP, 4 streams (-P 4)
#   - iperf3 TCP, 1 stream, while test/tools/hsflood floods the receiver
#     from the sender's namespace with handshake initiations (valid mac1,
#     keys that are no peer's) as fast as one core sends them: what an
#     established session keeps of its throughput during a handshake flood
#   - the same with the flood aimed at a socket nobody reads: what the
#     flood alone costs the machine (hsflood's core, the kernel's work)
#   - iperf3 UDP, 64-byte payloads, unlimited rate (-b 0): packets per second
#     delivered at the receiver, and loss; over the middle of the transfer,
#     the CPU of each process (iperf3 client and server, both daemons, in %
#     of one core, from /proc/PID/stat), how long each waited for a CPU
#     (/proc/PID/schedstat) and where datagrams were dropped (the sending
#     TUN's full ring, iperf3's full socket); then the same with 4 MB
#     socket buffers for iperf3 (-w 4M)
#   - with each pair, in our round: both UDP transfers over the raw veth,
#     no tunnel (the ceiling of the small-packet figure)
#   - VmHWM of both daemons (peak RSS under load)
# The raw veth's TCP (1 stream) is measured once.  Nothing is pinned.
# After the rounds, test/tools/hsbench prints what a handshake costs one
# core in our build (handshakes per second per core).
# The table shows the median of the rounds per metric and the ratio ours/go;
# the JSON report goes to BUILD_DIR/bench.json (raw rounds in bench-raw.txt).
#
# --perf also records a cpu-clock profile (perf record -g) of both of our
# daemons during one more TCP transfer, and one of the whole machine
# (perf record -a -g) during one more 64-byte UDP transfer each through our
# tunnel, through wireguard-go's and over the raw veth, and prints the top
# functions (for UDP, each process's share and its top functions); the
# profiles are left in BUILD_DIR/bench-perf-{rx,tx}.data (TCP) and
# bench-perf-udp-{ours,go,raw}.data (with .pids: which process is which).
#
# The binary is brought up to date first (ninja -C BUILD_DIR src/cli/wireguard-wh).
#
# Usage: bash bench/run.sh [BUILD_DIR] [--rounds N] [--quick] [--perf]
#        (as root; BUILD_DIR defaults to build; --quick: 3 s transfers)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BENCH_NAME=bench
cmdline="bash bench/run.sh $*"
bench_args "$@"

bench_binary src/cli/wireguard-wh
WGWH=$bench_bin
bench_binary test/tools/hsflood
HSFLOOD=$bench_bin
bench_binary test/tools/hsbench
HSBENCH=$bench_bin
need_root_and wireguard-go wg iperf3 ping ip python3
if [ $do_perf = 1 ] && ! command -v perf >/dev/null; then
	echo "bench: --perf needs perf (package linux-perf)" >&2; exit 1
fi

PREFIX=whbench-
A=${PREFIX}$$-a B=${PREFIX}$$-b
IFA=wb$$a IFB=wb$$b
ADDR_A=192.0.2.1 ADDR_B=192.0.2.2
PORT_A=51820 PORT_B=51821 SINK_PORT=51899
RUN=/var/run/wireguard
CLK_TCK=$(getconf CLK_TCK)
BENCH_NETNS=("$A" "$B")
BENCH_SOCKS=("$RUN/$IFA.sock" "$RUN/$IFB.sock")
IPERF_SERVER_NS=$A IPERF_CLIENT_NS=$B

# Remove what an earlier, killed run left behind (its PID no longer runs).
sweep_stale $PREFIX $RUN wb a b
bench_begin

# ------------------------------------------------------------------ topology
veth_pair $A $B
(umask 077; wg genkey >"$tmp/a.key"; wg genkey >"$tmp/b.key")
pub_a=$(wg pubkey <"$tmp/a.key")
pub_b=$(wg pubkey <"$tmp/b.key")

mib() { awk -v k="$1" 'BEGIN {printf "%.3f", k / 1024}'; }

# ------------------------------------------------------------------ tunnels
start_daemon() { # start_daemon NS IFACE IMPL -> sets daemon_pid
	local ns=$1 ifc=$2 impl=$3
	if [ "$impl" = go ]; then
		spawn $ns $ifc wireguard-go -f $ifc
	else
		spawn $ns $ifc "$WGWH" -f $ifc
	fi
	daemon_pid=$spawned_pid
	wait_for 10 test -S $RUN/$ifc.sock || { log "bench: $impl did not create $RUN/$ifc.sock"; cat "$tmp/$ifc.log" >&2; exit 1; }
}

handshake_done() {
	ip netns exec $B wg show $IFB latest-handshakes | awk '$2 != 0 {f = 1} END {exit !f}'
}
ping_once() { ip netns exec $B ping -c 1 -W 1 $ADDR_A; }

up_tunnel() { # up_tunnel IMPL -> pid_a, pid_b
	local impl=$1
	start_daemon $A $IFA "$impl"; pid_a=$daemon_pid
	start_daemon $B $IFB "$impl"; pid_b=$daemon_pid
	ip netns exec $A wg set $IFA private-key "$tmp/a.key" listen-port $PORT_A \
		peer "$pub_b" endpoint 198.18.0.2:$PORT_B allowed-ips $ADDR_B/32
	ip netns exec $B wg set $IFB private-key "$tmp/b.key" listen-port $PORT_B \
		peer "$pub_a" endpoint 198.18.0.1:$PORT_A allowed-ips $ADDR_A/32
	ip -n $A addr add $ADDR_A/24 dev $IFA
	ip -n $B addr add $ADDR_B/24 dev $IFB
	ip -n $A link set $IFA mtu 1420 up
	ip -n $B link set $IFB mtu 1420 up
	wait_for 15 ping_once || { log "bench: no ping through the $impl tunnel"; exit 1; }
	wait_for 5 handshake_done || { log "bench: no handshake with $impl"; exit 1; }
}

down_tunnel() {
	local p
	for p in $pid_a $pid_b; do kill "$p" 2>/dev/null || true; done
	reap $pid_a $pid_b
	ip -n $A link del $IFA 2>/dev/null || true
	ip -n $B link del $IFB 2>/dev/null || true
	rm -f $RUN/$IFA.sock $RUN/$IFB.sock
}

# ------------------------------------------------------------------ one round
# udp_test CONFIG ROUND FILE DEST TUN_NS TUN_IF NAME=PID... [-- IPERF_ARGS]:
# one transfer of 64-byte UDP datagrams to DEST at iperf3's unlimited rate
# (and IPERF_ARGS), watched by iperf_udp_watch (TUN_IF the sending TUN, "-"
# for none; each NAME's CPU), its figures into the raw rounds as CONFIG's:
# udp_* keys, or udpw_* with IPERF_ARGS.
udp_test() {
	local cfg=$1 n=$2 f=$3 dest=$4 tns=$5 tif=$6 sent deliv loss k v key=udp
	local -a watch=()
	shift 6
	while [ $# -gt 0 ] && [ "$1" != -- ]; do watch+=("$1"); shift; done
	[ $# -eq 0 ] || { shift; key=udpw; }
	if iperf_udp_watch "$f" "$tns" "$tif" "${watch[@]}" -- -c "$dest" -t "$secs" -u -l 64 -b 0 "$@"; then
		read -r sent deliv loss < <(python3 "$here/report.py" udp "$f")
		put $cfg $n ${key}_sent_kpps "$(awk -v p="$sent" 'BEGIN {printf "%.3f", p / 1e3}')"
		put $cfg $n ${key}_kpps "$(awk -v p="$deliv" 'BEGIN {printf "%.3f", p / 1e3}')"
		put $cfg $n ${key}_loss "$loss"
		while read -r k v; do put $cfg $n "${key}_$k" "$v"; done <"$f.watch"
		log "   UDP 64 B${*:+ ($*)}: $deliv pps delivered of $sent offered ($loss% lost); $(awk '$1 != "window_s" {printf "%s %s ", $1, $2}' "$f.watch")"
	else
		log "   UDP 64 B: iperf3 failed: $(head -c 300 "$f")"
	fi
}

raw=$build/bench-raw.txt
: >"$raw"

# iperf3 TCP, 1 stream, while test/tools/hsflood floods the receiver's
# address at PORT from the sender's namespace.
tcp_during_flood() { # tcp_during_flood PORT IPERF_OUT FLOOD_OUT
	local flood_pid
	ip netns exec $B "$HSFLOOD" 198.18.0.1 "$1" "$pub_a" $((secs + 1)) >"$3" 2>&1 &
	flood_pid=$!
	pids+=("$flood_pid")
	sleep 0.5
	iperf_client "$2" -c $ADDR_A -t "$secs" || { log "bench: iperf3 TCP during the flood at port $1 failed"; cat "$2" >&2; exit 1; }
	reap $flood_pid
}

round() { # round IMPL N
	local impl=$1 n=$2 f=$tmp/$1-$2 ping_pid c0a c0b c1a c1b s0 s1 bps bytes retr b0 t0 b1 t1
	local fsent fcookies sink_pid
	log "== round $n: $impl"
	up_tunnel "$impl"

	# Idle: the handshake is done, no traffic yet; let the daemons settle
	# for a second, and go on once the machine is quiet (at most 10 s): other
	# jobs on it compete with the benchmark for the two cores.
	wait_quiet 10 || log "   (machine still busy: ${quiet_pct}% CPU used by others)"
	put $impl $n rss_idle_rx_mib "$(mib "$(rss_kb $pid_a VmRSS)")"
	put $impl $n rss_idle_tx_mib "$(mib "$(rss_kb $pid_b VmRSS)")"

	ip netns exec $B ping -c 20 -i 0.1 -W 2 $ADDR_A >"$f.ping-idle" || true
	read -r avg p50 _ cnt < <(python3 "$here/report.py" ping "$f.ping-idle")
	put $impl $n ping_idle_ms "$avg"
	log "   ping idle: avg $avg ms, median $p50 ms ($cnt replies)"

	# TCP, 1 stream, ping alongside (starting 1 s in, ending 1 s early).
	read -r b0 t0 < <(cpu_busy)
	s0=$(self_ticks)
	c0a=$(cpu_ticks $pid_a); c0b=$(cpu_ticks $pid_b)
	( sleep 1; exec ip netns exec $B ping -c $(((secs - 2) * 10)) -i 0.1 -W 2 $ADDR_A ) \
		>"$f.ping-load" 2>&1 &
	ping_pid=$!
	pids+=("$ping_pid")
	iperf_client "$f.tcp1" -c $ADDR_A -t "$secs" || { log "bench: iperf3 TCP failed"; cat "$f.tcp1" >&2; exit 1; }
	c1a=$(cpu_ticks $pid_a); c1b=$(cpu_ticks $pid_b)
	reap $ping_pid
	s1=$(self_ticks)
	read -r b1 t1 < <(cpu_busy)
	# Machine busy time not spent by the daemons, iperf3, ping or this script.
	put $impl $n bg_busy_pct "$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v o=$((c1a - c0a + c1b - c0b + s1 - s0)) 'BEGIN {p = t ? 100 * (b - o) / t : 0; printf "%.1f", p < 0 ? 0 : p}')"
	read -r bps bytes retr < <(python3 "$here/report.py" tcp "$f.tcp1")
	put $impl $n tcp1_gbps "$(awk -v b="$bps" 'BEGIN {printf "%.4f", b / 1e9}')"
	put $impl $n tcp1_retr "$retr"
	put $impl $n cpu_s_per_gb "$(awk -v a=$((c1a - c0a)) -v b=$((c1b - c0b)) -v t="$CLK_TCK" -v n="$bytes" 'BEGIN {printf "%.4f", (a + b) / t / (n / 1e9)}')"
	put $impl $n cpu_rx_s_per_gb "$(awk -v a=$((c1a - c0a)) -v t="$CLK_TCK" -v n="$bytes" 'BEGIN {printf "%.4f", a / t / (n / 1e9)}')"
	put $impl $n cpu_tx_s_per_gb "$(awk -v a=$((c1b - c0b)) -v t="$CLK_TCK" -v n="$bytes" 'BEGIN {printf "%.4f", a / t / (n / 1e9)}')"
	read -r avg p50 _ cnt < <(python3 "$here/report.py" ping "$f.ping-load")
	put $impl $n ping_load_ms "$avg"
	put $impl $n ping_load_p50_ms "$p50"
	log "   TCP 1 stream: $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s, $retr retransmits; ping under load avg $avg ms, median $p50 ms ($cnt replies)"

	# TCP, 4 streams.
	iperf_client "$f.tcp4" -c $ADDR_A -t "$secs" -P 4 || { log "bench: iperf3 TCP -P 4 failed"; cat "$f.tcp4" >&2; exit 1; }
	read -r bps bytes retr < <(python3 "$here/report.py" tcp "$f.tcp4")
	put $impl $n tcp4_gbps "$(awk -v b="$bps" 'BEGIN {printf "%.4f", b / 1e9}')"
	put $impl $n tcp4_retr "$retr"
	log "   TCP 4 streams: $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s, $retr retransmits"

	# TCP, 1 stream, during a handshake flood at the receiver (from the
	# sender's address: the flood shares the peer's source, as an on-path
	# attacker's would).
	tcp_during_flood $PORT_A "$f.tcpf" "$f.flood"
	read -r bps bytes retr < <(python3 "$here/report.py" tcp "$f.tcpf")
	read -r _ fsent _ fcookies < "$f.flood" || fsent=0
	put $impl $n tcp_flood_gbps "$(awk -v b="$bps" 'BEGIN {printf "%.4f", b / 1e9}')"
	put $impl $n flood_kpps "$(awk -v s="${fsent:-0}" -v t=$((secs + 1)) 'BEGIN {printf "%.1f", s / t / 1e3}')"
	log "   TCP 1 stream during a handshake flood: $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s ($fsent initiations sent, ${fcookies:-0} cookie replies)"

	# The same with the flood aimed at a UDP socket nobody reads (the
	# receiver's namespace, another port): what the flood costs the
	# machine by itself (hsflood's core, the kernel's delivery), which no
	# implementation can win back; the run above minus this one is what
	# the daemon's handling of the flood costs.
	spawn $A $impl-sink-$n python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", int(sys.argv[1])))
time.sleep(float(sys.argv[2]))' $SINK_PORT $((secs + 3))
	sink_pid=$spawned_pid
	tcp_during_flood $SINK_PORT "$f.tcps" "$f.sflood"
	kill "$sink_pid" 2>/dev/null || true
	reap "$sink_pid"
	read -r bps _ _ < <(python3 "$here/report.py" tcp "$f.tcps")
	read -r _ fsent _ _ < "$f.sflood" || fsent=0
	put $impl $n tcp_sinkflood_gbps "$(awk -v b="$bps" 'BEGIN {printf "%.4f", b / 1e9}')"
	log "   TCP 1 stream during the same flood at an unread socket: $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s ($fsent initiations sent)"

	# UDP, 64-byte payloads, as fast as iperf3 can send; then the same
	# with 4 MB socket buffers for iperf3 (-w), which absorb the bursts
	# that the default 208 KiB cannot while iperf3's server waits for a
	# CPU: what the tunnel carries when the application keeps up.  The
	# raw veth's figures (no tunnel) with each pair, as the ceiling.
	udp_test $impl $n "$f.udp" $ADDR_A $B $IFB sender=$pid_b receiver=$pid_a
	udp_test $impl $n "$f.udpw" $ADDR_A $B $IFB sender=$pid_b receiver=$pid_a -- -w 4M
	if [ "$impl" = ours ]; then
		udp_test raw $n "$f.raw-udp" 198.18.0.1 $B -
		udp_test raw $n "$f.raw-udpw" 198.18.0.1 $B - -- -w 4M
	fi

	put $impl $n rss_peak_rx_mib "$(mib "$(rss_kb $pid_a VmHWM)")"
	put $impl $n rss_peak_tx_mib "$(mib "$(rss_kb $pid_b VmHWM)")"
	log "   RSS idle rx/tx $(awk -v i=$impl -v n=$n '$1 == i && $2 == n && $3 ~ /^rss_idle/ {printf "%s ", $4}' "$raw")MiB, peak rx/tx $(rss_kb $pid_a VmHWM)/$(rss_kb $pid_b VmHWM) kB"
	down_tunnel
}

# ------------------------------------------------------------------ the run
meta=$build/bench-meta.txt
{
	meta_head "$WGWH"
	echo "go_version $(wireguard-go --version 2>/dev/null | head -1) (Debian $(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null || echo '?'))"
	echo "iperf3_version $(iperf3 --version | head -1 | awk '{print $1, $2}')"
	echo "wg_version $(wg --version | awk '{print $1, $2}')"
	meta_tail
} >"$meta"

log "== raw veth baseline: TCP, 1 stream, $secs s"
wait_quiet 10 || log "   (machine still busy: ${quiet_pct}% CPU used by others)"
iperf_client "$tmp/raw.tcp" -c 198.18.0.1 -t "$secs" || { log "bench: raw iperf3 failed"; cat "$tmp/raw.tcp" >&2; exit 1; }
read -r bps _ _ < <(python3 "$here/report.py" tcp "$tmp/raw.tcp")
echo "raw_veth_tcp_gbps $(awk -v b="$bps" 'BEGIN {printf "%.3f", b / 1e9}')" >>"$meta"
log "   $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s"

# Round pairs, ours then wireguard-go (bench/lib.sh: run_rounds repeats a
# pair that shared the machine with other jobs).
run_rounds ours go
echo "attempts $attempt" >>"$meta"

# profile WHAT: cpu-clock profiles of both of our daemons during one TCP
# transfer, into BUILD_DIR/bench-perf-{rx,tx}.data.
profile() {
	local prof client_pid perf_a perf_b
	log "== perf: cpu-clock profile of wireguard-wh (both ends) during $secs s of TCP"
	up_tunnel ours
	start_iperf_server
	ip netns exec $B iperf3 -c $ADDR_A -t "$secs" >/dev/null 2>&1 &
	client_pid=$!
	pids+=("$client_pid")
	prof=$((secs > 3 ? secs - 2 : secs))
	perf record -q -e cpu-clock -g -p $pid_a -o "$build/bench-perf-rx.data" -- sleep "$prof" >/dev/null 2>&1 &
	perf_a=$!
	perf record -q -e cpu-clock -g -p $pid_b -o "$build/bench-perf-tx.data" -- sleep "$prof" >/dev/null 2>&1 &
	perf_b=$!
	pids+=("$perf_a" "$perf_b")
	reap $perf_a $perf_b $client_pid $srv_pid
	down_tunnel
}

# profile_udp CONFIG: a system-wide cpu-clock profile (every process, the
# kernel's softirq work with them) during one more 64-byte UDP transfer at
# the unlimited rate, CONFIG ours, go or raw (no tunnel), into
# BUILD_DIR/bench-perf-udp-CONFIG.data; "ROLE=PID" of its processes into
# BUILD_DIR/bench-perf-udp-CONFIG.pids.
profile_udp() {
	local cfg=$1 dest=$ADDR_A out=$build/bench-perf-udp-$1
	log "== perf: system-wide cpu-clock profile during $secs s of UDP, 64-byte payloads ($cfg)"
	if [ "$cfg" = raw ]; then dest=198.18.0.1; else up_tunnel "$cfg"; fi
	iperf_udp_start "$tmp/perf-udp.json" -c $dest -t "$secs" -u -l 64 -b 0
	perf record -q -a -e cpu-clock -g -o "$out.data" -- sleep $((secs - 1)) >/dev/null 2>&1 || true
	iperf_udp_finish || log "   iperf3 failed: $(head -c 300 "$tmp/perf-udp.json")"
	{
		echo "client=$udp_cli_pid server=$srv_pid"
		[ "$cfg" = raw ] || echo "sender=$pid_b receiver=$pid_a"
	} >"$out.pids"
	[ "$cfg" = raw ] || down_tunnel
}

if [ $do_perf = 1 ]; then
	profile
	for c in ours go raw; do profile_udp $c; done
fi

echo "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$meta"
echo "bench: done; $rounds rounds" >&2
echo
python3 "$here/report.py" table "$raw" "$meta" "$build/bench.json"
echo
echo "JSON: $build/bench.json"
echo
echo "handshake cost on one core, wireguard-wh ($HSBENCH 2):"
"$HSBENCH" 2 | sed 's/^/  /'
if [ $do_perf = 1 ]; then
	for side in rx tx; do
		d=$build/bench-perf-$side.data
		echo
		echo "perf, wireguard-wh $([ $side = rx ] && echo receiver || echo sender) during TCP (cpu-clock samples, $d)"
		perf_summary "$d" "system calls and kernel paths (children, i.e. including callees)" \
			'__x64_sys_|tun_get_user|tun_do_read|netif_receive_skb$|tcp_v4_rcv|udp_sendmsg|udp_recvmsg|ip_output' 14
	done
	for c in ours go raw; do
		d=$build/bench-perf-udp-$c
		echo
		echo "perf, the whole machine during UDP 64 B, $c (cpu-clock samples, $d.data)"
		# shellcheck disable=SC2046 # ROLE=PID words
		perf_by_process "$d.data" $(cat "$d.pids")
	done
fi
