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
#   - iperf3 UDP, 64-byte payloads, unlimited rate (-b 0): packets per second
#     delivered at the receiver, and loss
#   - VmHWM of both daemons (peak RSS under load)
# The raw veth is measured once (TCP, 1 stream).  Nothing is pinned.
# The table shows the median of the rounds per metric and the ratio ours/go;
# the JSON report goes to BUILD_DIR/bench.json (raw rounds in bench-raw.txt).
#
# --perf also records a cpu-clock profile (perf record -g) of both of our
# daemons during one more TCP transfer and one more 64-byte UDP transfer and
# prints the top functions; the profiles are left in
# BUILD_DIR/bench-perf-{rx,tx}.data (TCP) and bench-perf-udp-{rx,tx}.data.
#
# The binary is brought up to date first (ninja -C BUILD_DIR src/wireguard-wh).
#
# Usage: bash bench/run.sh [BUILD_DIR] [--rounds N] [--quick] [--perf]
#        (as root; BUILD_DIR defaults to build; --quick: 3 s transfers)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=build
rounds=3
secs=10
do_perf=0
quick=0
cmdline="bash bench/run.sh $*"
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
	--rounds=*) rounds=${1#--rounds=}; shift ;;
	--quick) secs=3; quick=1; shift ;;
	--perf) do_perf=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench: unknown option '$1'" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
case $rounds in ''|*[!0-9]*|0) echo "bench: --rounds wants a positive number, not '$rounds'" >&2; exit 2 ;; esac

WGWH=$build/src/wireguard-wh
# Measure what the source tree says: bring the binary up to date first.
if [ -f "$build/build.ninja" ] && command -v ninja >/dev/null; then
	ninja -C "$build" src/wireguard-wh >/dev/null || { echo "bench: ninja -C $build src/wireguard-wh failed" >&2; exit 1; }
fi
[ -x "$WGWH" ] || { echo "bench: $WGWH is missing; build first (meson setup $build --buildtype=release && ninja -C $build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (it creates network namespaces)" >&2; exit 1; }
for t in wireguard-go wg iperf3 ping ip python3; do
	command -v $t >/dev/null || { echo "bench: '$t' is not installed" >&2; exit 1; }
done
if [ $do_perf = 1 ] && ! command -v perf >/dev/null; then
	echo "bench: --perf needs perf (package linux-perf)" >&2; exit 1
fi
WGWH=$(cd "$(dirname "$WGWH")" && pwd)/wireguard-wh

PREFIX=whbench-
A=${PREFIX}$$-a B=${PREFIX}$$-b
IFA=wb$$a IFB=wb$$b
ADDR_A=192.0.2.1 ADDR_B=192.0.2.2
PORT_A=51820 PORT_B=51821
RUN=/var/run/wireguard
CLK_TCK=$(getconf CLK_TCK)

pids=()
tmp=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del $A 2>/dev/null || true
	ip netns del $B 2>/dev/null || true
	rm -f $RUN/$IFA.sock $RUN/$IFB.sock
	[ -z "$tmp" ] || rm -rf "$tmp"
}
# Remove what an earlier, killed run left behind (its PID no longer runs).
for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX" || true); do
	p=${ns#"$PREFIX"}; p=${p%-*}
	if ! kill -0 "$p" 2>/dev/null; then
		ip netns del "$ns" 2>/dev/null || true
		rm -f "$RUN/wb${p}a.sock" "$RUN/wb${p}b.sock"
	fi
done
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d)

log() { printf '%s\n' "$*" >&2; }

# reap PID...: wait for processes we started and forget them, so that the
# EXIT trap never signals a PID that the system has since reused.
reap() {
	local p q keep
	for p in "$@"; do
		wait "$p" 2>/dev/null || true
		keep=()
		for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
		pids=("${keep[@]}")
	done
}

wait_for() { # wait_for SECONDS CMD...: polls CMD every 50 ms
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# ------------------------------------------------------------------ topology
ip netns add $A
ip netns add $B
ip link add veth-a netns $A type veth peer name veth-b netns $B
ip -n $A addr add 198.18.0.1/24 dev veth-a
ip -n $B addr add 198.18.0.2/24 dev veth-b
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set veth-a up
ip -n $B link set veth-b up
(umask 077; wg genkey >"$tmp/a.key"; wg genkey >"$tmp/b.key")
pub_a=$(wg pubkey <"$tmp/a.key")
pub_b=$(wg pubkey <"$tmp/b.key")

# ------------------------------------------------------------------ probes
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' /proc/$1/status; }
cpu_ticks() { # utime + stime of the whole process
	local s
	s=$(cat /proc/$1/stat)
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}
cpu_busy() { # busy and total jiffies of the whole machine, from /proc/stat
	awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat
}
self_ticks() { # CPU time of this script and of every child it has reaped
	local s
	s=$(cat /proc/$$/stat)
	s=${s##*) }
	awk '{print $12 + $13 + $14 + $15}' <<<"$s"
}
# wait_quiet SECONDS: sample 1-s windows until the machine was less than 10%
# busy in one (daemons idle, so that is someone else's load); the last
# window's figure is left in quiet_pct.
wait_quiet() {
	local end=$((SECONDS + $1)) b0 t0 b1 t1
	while :; do
		read -r b0 t0 < <(cpu_busy)
		sleep 1
		read -r b1 t1 < <(cpu_busy)
		quiet_pct=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN {printf "%.1f", t ? 100 * b / t : 0}')
		awk -v p="$quiet_pct" 'BEGIN {exit !(p < 10)}' && return 0
		[ $SECONDS -lt $end ] || return 1
	done
}
mib() { awk -v k="$1" 'BEGIN {printf "%.3f", k / 1024}'; }

iperf_server_up() { # the one-off server in ns A listens on 5201
	ip netns exec $A ss -Hltn 'sport = :5201' | grep -q .
}
start_iperf_server() {
	ip netns exec $A iperf3 -s -1 >/dev/null 2>&1 &
	srv_pid=$!
	pids+=($srv_pid)
	wait_for 10 iperf_server_up || { log "bench: iperf3 server did not start"; exit 1; }
}
# iperf_client OUT ARGS...: one transfer from ns B against a fresh server.
iperf_client() {
	local out=$1 rc=0; shift
	start_iperf_server
	timeout $((secs + 30)) ip netns exec $B iperf3 -J "$@" >"$out" 2>&1 || rc=$?
	kill $srv_pid 2>/dev/null || true
	reap $srv_pid
	return $rc
}

# ------------------------------------------------------------------ tunnels
start_daemon() { # start_daemon NS IFACE IMPL -> sets daemon_pid
	local ns=$1 ifc=$2 impl=$3
	if [ "$impl" = go ]; then
		ip netns exec $ns wireguard-go -f $ifc >"$tmp/$ifc.log" 2>&1 &
	else
		ip netns exec $ns "$WGWH" -f $ifc >"$tmp/$ifc.log" 2>&1 &
	fi
	daemon_pid=$!
	pids+=($daemon_pid)
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
raw=$build/bench-raw.txt
: >"$raw"
put() { echo "$1 $2 $3 $4" >>"$raw"; } # put IMPL ROUND KEY VALUE

round() { # round IMPL N
	local impl=$1 n=$2 f=$tmp/$1-$2 ping_pid c0a c0b c1a c1b s0 s1 bps bytes retr b0 t0 b1 t1
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
	pids+=($ping_pid)
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

	# UDP, 64-byte payloads, as fast as iperf3 can send.
	if iperf_client "$f.udp" -c $ADDR_A -t "$secs" -u -l 64 -b 0; then
		read -r sent deliv loss < <(python3 "$here/report.py" udp "$f.udp")
		put $impl $n udp_sent_kpps "$(awk -v p="$sent" 'BEGIN {printf "%.3f", p / 1e3}')"
		put $impl $n udp_kpps "$(awk -v p="$deliv" 'BEGIN {printf "%.3f", p / 1e3}')"
		put $impl $n udp_loss "$loss"
		log "   UDP 64 B: $deliv pps delivered of $sent offered ($loss% lost)"
	else
		log "   UDP 64 B: iperf3 failed: $(head -c 300 "$f.udp")"
	fi

	put $impl $n rss_peak_rx_mib "$(mib "$(rss_kb $pid_a VmHWM)")"
	put $impl $n rss_peak_tx_mib "$(mib "$(rss_kb $pid_b VmHWM)")"
	log "   RSS idle rx/tx $(awk -v i=$impl -v n=$n '$1 == i && $2 == n && $3 ~ /^rss_idle/ {printf "%s ", $4}' "$raw")MiB, peak rx/tx $(rss_kb $pid_a VmHWM)/$(rss_kb $pid_b VmHWM) kB"
	down_tunnel
}

# ------------------------------------------------------------------ the run
meta=$build/bench-meta.txt
{
	echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "command $cmdline"
	echo "kernel $(uname -sr)"
	echo "cpu $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "cores $(nproc)"
	echo "build $build ($(meson introspect --buildoptions "$build" 2>/dev/null | python3 -c 'import json,sys; print(" ".join("%s=%s" % (o["name"], o["value"]) for o in json.load(sys.stdin) if o["name"] in ("buildtype", "optimization", "b_sanitize")))' 2>/dev/null || echo '?'))"
	echo "ours_version $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown), binary built $(date -u -r "$WGWH" '+%Y-%m-%d %H:%M UTC')"
	echo "go_version $(wireguard-go --version 2>/dev/null | head -1) (Debian $(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null || echo '?'))"
	echo "iperf3_version $(iperf3 --version | head -1 | awk '{print $1, $2}')"
	echo "wg_version $(wg --version | awk '{print $1, $2}')"
	echo "rounds $rounds"
	echo "seconds $secs"
	echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$meta"

log "== raw veth baseline: TCP, 1 stream, $secs s"
wait_quiet 10 || log "   (machine still busy: ${quiet_pct}% CPU used by others)"
iperf_client "$tmp/raw.tcp" -c 198.18.0.1 -t "$secs" || { log "bench: raw iperf3 failed"; cat "$tmp/raw.tcp" >&2; exit 1; }
read -r bps _ _ < <(python3 "$here/report.py" tcp "$tmp/raw.tcp")
echo "raw_veth_tcp_gbps $(awk -v b="$bps" 'BEGIN {printf "%.3f", b / 1e9}')" >>"$meta"
log "   $(awk -v b="$bps" 'BEGIN {printf "%.2f", b / 1e9}') Gbit/s"

# A round pair in which another job took more than 10% of the machine during
# the TCP transfer of either implementation is repeated (at most --rounds
# times in all); the repeated pair stays in the raw file, marked "discard",
# and out of the medians.
busy_round() { # busy_round N: was attempt N shared with other load?
	awk -v n="$1" '$2 == n && $3 == "bg_busy_pct" && $4 > 10 {f = 1} END {exit !f}' "$raw"
}
done_rounds=0 attempt=0 retries=$rounds
[ $quick = 0 ] || retries=1
while [ $done_rounds -lt "$rounds" ]; do
	attempt=$((attempt + 1))
	round ours $attempt
	round go $attempt
	if [ $retries -gt 0 ] && busy_round $attempt; then
		log "   round $attempt shared the machine with other jobs: repeating it"
		put ours $attempt discard 1
		put go $attempt discard 1
		retries=$((retries - 1))
	else
		done_rounds=$((done_rounds + 1))
	fi
done
echo "attempts $attempt" >>"$meta"

# profile PREFIX WHAT IPERF_ARGS...: cpu-clock profiles of both of our
# daemons during one transfer, into BUILD_DIR/bench-perf-PREFIX{rx,tx}.data.
profile() {
	local prefix=$1 what=$2 prof client_pid perf_a perf_b
	shift 2
	log "== perf: cpu-clock profile of wireguard-wh (both ends) during $secs s of $what"
	up_tunnel ours
	start_iperf_server
	ip netns exec $B iperf3 -c $ADDR_A -t "$secs" "$@" >/dev/null 2>&1 &
	client_pid=$!
	pids+=($client_pid)
	prof=$((secs > 3 ? secs - 2 : secs))
	perf record -q -e cpu-clock -g -p $pid_a -o "$build/bench-perf-${prefix}rx.data" -- sleep "$prof" >/dev/null 2>&1 &
	perf_a=$!
	perf record -q -e cpu-clock -g -p $pid_b -o "$build/bench-perf-${prefix}tx.data" -- sleep "$prof" >/dev/null 2>&1 &
	perf_b=$!
	pids+=($perf_a $perf_b)
	reap $perf_a $perf_b $client_pid $srv_pid
	down_tunnel
}

if [ $do_perf = 1 ]; then
	profile "" TCP
	profile udp- "UDP, 64-byte payloads" -u -l 64 -b 0
fi

echo "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$meta"
echo "bench: done; $rounds rounds" >&2
echo
python3 "$here/report.py" table "$raw" "$meta" "$build/bench.json"
echo
echo "JSON: $build/bench.json"
if [ $do_perf = 1 ]; then
	for prof in "TCP:" "UDP 64 B:udp-"; do
		for side in rx tx; do
			d=$build/bench-perf-${prof#*:}$side.data
			echo
			echo "perf, wireguard-wh $([ $side = rx ] && echo receiver || echo sender) during ${prof%%:*} (cpu-clock samples, $d)"
			echo "-- share by object (self):"
			perf report -i "$d" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true
			echo "-- top functions (self):"
			perf report -i "$d" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -20 || true
			echo "-- system calls and kernel paths (children, i.e. including callees):"
			perf report -i "$d" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' |
				grep -E '__x64_sys_|tun_get_user|tun_do_read|netif_receive_skb$|tcp_v4_rcv|udp_sendmsg|udp_recvmsg|ip_output' | head -14 || true
		done
	done
fi
