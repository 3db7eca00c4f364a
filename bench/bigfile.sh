#!/bin/bash
# Big network files (issue 19, item 3): what a node costs with N members.
#
# Usage: bench/bigfile.sh [BUILD_DIR] [--sizes "1000 5000 10000"] [--idle SECS]
#
# Two real members, a and b, each in a namespace of its own joined by a
# veth pair, share one network file with N - 2 more members that never run
# (test/tools/bigfile_conf.py writes it: their keys are 32 random bytes,
# any 32 bytes being an X25519 public key, and the file says "workbit 0",
# so no key needs a proof-of-work search; a and b get theirs from
# `wh genkey`).  The file has no boot line: a and b know each other's
# endpoint from their lines.
#
#   ns a (whbf-PID-a)                          ns b (whbf-PID-b)
#   wh up, iface bfPIDa                        wh up, iface bfPIDb
#   veth-a 198.18.0.1/24 -------------------- veth-b 198.18.0.2/24
#   overlay subnet 198.19.0.0/16 and the ULA /48 of the name "bigbench"
#
# For each N it prints, for node a:
#   up_s        `wh up` until it returned (the node is ready then)
#   up_cpu_s    the daemon's CPU time (utime + stime) when it returned:
#               what coming up cost, whatever the machine's load
#   show_s      `wh show IFACE` (text) over all N - 1 members
#   idle_cpu    CPU over --idle seconds (default 30) with nothing to do,
#               in % of one core, from utime + stime of /proc/PID/stat
#   rss_mb      VmRSS after that idle period
#   reload0_s   `wh reload` with the file unchanged
#   reload1_s   `wh reload` with 1% of the members replaced by new keys
#   ping        during each reload, a pings b through their session every
#               10 ms: the longest round trip (ms) and the replies lost; a
#               loop that blocks for T ms shows as an RTT of about T ms
# Run as root; the machine's load (uptime) is printed first.
set -e

BENCH_NAME="bigfile bench"
BENCH_NETNS=()
BENCH_SOCKS=()
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

sizes="1000 5000 10000"
idle=30
bench_option() { return 1; }
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=${2:?--sizes needs a list}; shift 2 ;;
	--idle) idle=${2:?--idle needs seconds}; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
bench_args "${args[@]}"
need_root_and ip ping python3
bench_binary src/wh
WH=$bench_bin

nsa="whbf-$$-a" nsb="whbf-$$-b"
ifa="bf$$a" ifb="bf$$b"
BENCH_NETNS=("$nsa" "$nsb")
BENCH_SOCKS=("/var/run/wh/$ifa.sock" "/var/run/wh/$ifb.sock")
bench_begin
# `wh up` daemonizes: its processes are the namespaces' (lib.sh's cleanup
# deletes the namespaces after this).
stop_nodes() {
	local p
	for p in $(ip netns pids "$nsa" 2>/dev/null) $(ip netns pids "$nsb" 2>/dev/null); do
		kill "$p" 2>/dev/null || true
		wait_for 5 eval "! kill -0 $p" || kill -KILL "$p" 2>/dev/null || true
	done
}
trap 'stop_nodes; cleanup' EXIT
veth_pair "$nsa" "$nsb"

(umask 077 && "$WH" genkey >"$tmp/a.key" && "$WH" genkey >"$tmp/b.key")
KA=$("$WH" pubkey <"$tmp/a.key")
KB=$("$WH" pubkey <"$tmp/b.key")

# gen_file N OUT: the network file with N members (test/tools/bigfile_conf.py);
# with CHANGE=1, 1% of them are other keys.
gen_file() {
	python3 "$bench_dir/../test/tools/bigfile_conf.py" "$1" 7 "$2" \
		${CHANGE:+--change} --real="a $KA 198.18.0.1:62096" --real="b $KB 198.18.0.2:62096"
}

secs_of() { # COMMAND...: the wall time of COMMAND in seconds (3 decimals)
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "fail"; return 0; }
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}


# reload_under_ping: `wh reload` on a while a pings b every 10 ms; prints
# "SECONDS MAX_RTT_MS LOST/SENT".
reload_under_ping() {
	local pp t out max sent recv
	ip netns exec "$nsa" ping -n -i 0.01 -W 2 "$B4" >"$tmp/ping.out" 2>&1 &
	pp=$!
	sleep 1
	t=$(secs_of ip netns exec "$nsa" "$WH" reload "$ifa")
	sleep 1
	kill -INT "$pp"
	wait "$pp" 2>/dev/null || true
	out=$(cat "$tmp/ping.out")
	sent=$(echo "$out" | awk '/packets transmitted/ { print $1 }')
	recv=$(echo "$out" | awk '/packets transmitted/ { print $4 }')
	max=$(echo "$out" | awk -F/ '/^rtt|^round-trip/ { print $6 }')
	echo "$t ${max:-?} $((sent - recv))/$sent"
}

uptime
printf '%-7s %-7s %-9s %-7s %-9s %-7s %-10s %-26s %-26s\n' N up_s up_cpu_s show_s idle_cpu rss_mb "" \
	"reload0_s maxRTT_ms lost" "reload1_s maxRTT_ms lost"
for n in $sizes; do
	conf="$tmp/net.conf"
	CHANGE= gen_file "$n" "$conf"
	cp "$conf" "$tmp/b.conf"
	up=$(secs_of ip netns exec "$nsa" "$WH" up "$conf" private-key "$tmp/a.key" interface "$ifa")
	pid=$(ip netns pids "$nsa" | head -n 1)
	upcpu=$(awk -v t="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
	ip netns exec "$nsb" "$WH" up "$tmp/b.conf" private-key "$tmp/b.key" interface "$ifb" >/dev/null 2>&1
	B4=$(ip netns exec "$nsb" ip -4 -o addr show dev "$ifb" | awk '{ sub(/\/.*/, "", $4); print $4 }')
	for _ in $(seq 100); do
		ip netns exec "$nsa" ping -n -q -c 1 -W 1 "$B4" >/dev/null 2>&1 && break
		sleep 0.2
	done
	show=$(secs_of ip netns exec "$nsa" "$WH" show "$ifa")
	sleep 2
	c0=$(cpu_ticks "$pid")
	sleep "$idle"
	c1=$(cpu_ticks "$pid")
	cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$idle" 'BEGIN { printf "%.1f%%", 100 * d / hz / s }')
	rss=$(awk -v k="$(rss_kb "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	r0=$(reload_under_ping)
	CHANGE=1 gen_file "$n" "$conf"
	r1=$(reload_under_ping)
	printf '%-7s %-7s %-9s %-7s %-9s %-7s %-10s %-26s %-26s\n' "$n" "$up" "$upcpu" "$show" "$cpu" "$rss" "" \
		"$r0" "$r1"
	ip netns exec "$nsa" "$WH" down "$ifa" >/dev/null 2>&1 || true
	ip netns exec "$nsb" "$WH" down "$ifb" >/dev/null 2>&1 || true
	stop_nodes
done
