# Shared by bench/run.sh, bench/relay.sh and packaging/demo-wireguard.sh
# (sourced, not run): the checks before a run, the namespaces and veth pair,
# daemons started and reaped by PID, the clean-up on exit, the machine-load
# probes and the iperf3 helpers, the round loop and the metadata lines.
#
# A script that sources this sets, before calling anything here:
#   BENCH_NAME   the prefix of its messages ("bench", "relay bench", "demo")
#   BENCH_NETNS  (array) the namespaces it makes; the clean-up deletes them
#   BENCH_SOCKS  (array) the control or UAPI sockets its daemons leave
# and, for the iperf3 helpers, IPERF_SERVER_NS and IPERF_CLIENT_NS; secs is
# the transfer length.  Every process it starts goes into pids (spawn,
# start_iperf_server do that), so that the clean-up signals only those.
# shellcheck shell=bash

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pids=()
tmp=
raw=		# the raw rounds file (put, busy_round)
cmdline=	# the command line, for the metadata
WAIT_POLL=0.05	# seconds between polls; a script may set its own

log() { printf '%s\n' "$*" >&2; }
die() { log "$BENCH_NAME: $*"; exit 1; }

# bench_usage: the usage text of the script that sourced this file, its
# first comment block up to `set -e`.
bench_usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# bench_args ARGS...: the options of both benchmarks into build, rounds,
# secs, quick and do_perf.  An option this does not know goes to the
# script's bench_option (which returns non-zero when it does not know it
# either).
# shellcheck disable=SC2034 # do_perf is the scripts' to read
bench_args() {
	build=build rounds=3 secs=10 do_perf=0 quick=0
	while [ $# -gt 0 ]; do
		case $1 in
		--rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
		--rounds=*) rounds=${1#--rounds=}; shift ;;
		--quick) secs=3; quick=1; shift ;;
		--perf) do_perf=1; shift ;;
		-h|--help) bench_usage; exit 0 ;;
		-*)
			if declare -F bench_option >/dev/null && bench_option "$1"; then
				shift
			else
				echo "$BENCH_NAME: unknown option '$1'" >&2; exit 2
			fi ;;
		*) build=$1; shift ;;
		esac
	done
	case $rounds in ''|*[!0-9]*|0) echo "$BENCH_NAME: --rounds wants a positive number, not '$rounds'" >&2; exit 2 ;; esac
}

# bench_binary TARGET: brings BUILD_DIR/TARGET up to date (measure what the
# source tree says); its absolute path goes into bench_bin.
bench_binary() {
	bench_bin=$build/$1
	if [ -f "$build/build.ninja" ] && command -v ninja >/dev/null; then
		ninja -C "$build" "$1" >/dev/null || { echo "$BENCH_NAME: ninja -C $build $1 failed" >&2; exit 1; }
	fi
	[ -x "$bench_bin" ] || { echo "$BENCH_NAME: $bench_bin is missing; build first (meson setup $build --buildtype=release && ninja -C $build)" >&2; exit 1; }
	bench_bin=$(cd "$(dirname "$bench_bin")" && pwd)/$(basename "$bench_bin")
}

# need_root_and TOOL...: run as root, with every TOOL installed.
need_root_and() {
	local t
	[ "$(id -u)" -eq 0 ] || { echo "$BENCH_NAME: run as root (it creates network namespaces)" >&2; exit 1; }
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$BENCH_NAME: '$t' is not installed" >&2; exit 1; }
	done
}

# sweep_stale PREFIX DIR IFPREFIX SUFFIX...: removes the namespaces
# PREFIX<pid>-* of earlier runs whose PID no longer runs, and their sockets
# DIR/IFPREFIX<pid>SUFFIX.sock.
sweep_stale() {
	local prefix=$1 dir=$2 ifp=$3 ns p s
	shift 3
	for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix" || true); do
		p=${ns#"$prefix"}; p=${p%-*}
		if ! kill -0 "$p" 2>/dev/null; then
			ip netns del "$ns" 2>/dev/null || true
			for s in "$@"; do rm -f "$dir/$ifp$p$s.sock"; done
		fi
	done
}

cleanup() {
	local p ns
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in "${BENCH_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -f "${BENCH_SOCKS[@]}"
	[ -z "$tmp" ] || rm -rf "$tmp"
}

# bench_begin: the clean-up on exit, and a temporary directory in tmp.
bench_begin() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	tmp=$(mktemp -d)
}

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

wait_for() { # wait_for SECONDS CMD...: polls CMD every WAIT_POLL seconds
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep "$WAIT_POLL"
	done
}

spawn() { # spawn NS LOG CMD... -> spawned_pid; output in $tmp/LOG.log
	local ns=$1 lg=$2; shift 2
	ip netns exec "$ns" "$@" >"$tmp/$lg.log" 2>&1 </dev/null &
	spawned_pid=$!
	pids+=("$spawned_pid")
}

# veth_pair NS_A NS_B: two new namespaces joined by veth-a 198.18.0.1/24
# and veth-b 198.18.0.2/24, all links up.
veth_pair() {
	local a=$1 b=$2 ns
	ip netns add "$a"
	ip netns add "$b"
	ip link add veth-a netns "$a" type veth peer name veth-b netns "$b"
	ip -n "$a" addr add 198.18.0.1/24 dev veth-a
	ip -n "$b" addr add 198.18.0.2/24 dev veth-b
	for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
	ip -n "$a" link set veth-a up
	ip -n "$b" link set veth-b up
}

# ------------------------------------------------------------------ probes
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
cpu_ticks() { # utime + stime of the whole process
	local s
	s=$(cat "/proc/$1/stat")
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}
run_delay() { # nanoseconds the threads of a process waited, runnable, for a CPU
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f\n", s}'
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

# ------------------------------------------------------------------ iperf3
iperf_server_up() { # the one-off server in IPERF_SERVER_NS listens on 5201
	ip netns exec "$IPERF_SERVER_NS" ss -Hltn 'sport = :5201' | grep -q .
}
start_iperf_server() { # -> srv_pid
	ip netns exec "$IPERF_SERVER_NS" iperf3 -s -1 >/dev/null 2>&1 &
	srv_pid=$!
	pids+=("$srv_pid")
	wait_for 10 iperf_server_up || die "iperf3 server did not start"
}
# iperf_client OUT ARGS...: one transfer from IPERF_CLIENT_NS against a
# fresh server.
iperf_client() {
	local out=$1 rc=0; shift
	start_iperf_server
	timeout $((secs + 30)) ip netns exec "$IPERF_CLIENT_NS" iperf3 -J "$@" >"$out" 2>&1 || rc=$?
	kill "$srv_pid" 2>/dev/null || true
	reap "$srv_pid"
	return $rc
}

# ------------------------------------------------------------------ UDP
# udp_stat NS FIELD: a counter of the Udp: lines of NS's /proc/net/snmp.
udp_stat() {
	ip netns exec "$1" awk -v f="$2" '$1 == "Udp:" { if (!n++) { for (i = 2; i <= NF; i++) if ($i == f) c = i } else print $c }' /proc/net/snmp
}
# sock_drops NS PORT: the drops of NS's UDP sockets bound to PORT.
sock_drops() {
	ip netns exec "$1" ss -Huanm "sport = :$2" | grep -o ',d[0-9]*' | tr -d ,d | awk '{s += $1} END {print s + 0}'
}
# if_stat NS IFACE COUNTER: one of IFACE's statistics ("-" for no IFACE: 0).
if_stat() {
	if [ "$2" = - ]; then echo 0; else ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; fi
}

# iperf_udp_start OUT ARGS...: a UDP transfer from IPERF_CLIENT_NS against
# a fresh server (srv_pid), in the background, its output (-J) to OUT;
# returns half a second in, when the datagrams flow, with the PIDs of
# `timeout` and of the client in udp_tpid and udp_cli_pid.
iperf_udp_start() {
	local out=$1
	shift
	start_iperf_server
	timeout $((secs + 30)) ip netns exec "$IPERF_CLIENT_NS" iperf3 -J "$@" >"$out" 2>&1 &
	udp_tpid=$!
	pids+=("$udp_tpid")
	# timeout's one child is the client (ip netns exec execs it).
	wait_for 5 pgrep -P "$udp_tpid" || true
	udp_cli_pid=$(pgrep -P "$udp_tpid" | head -1)
	sleep 0.5
}
# iperf_udp_finish: waits for the transfer of iperf_udp_start; its status.
iperf_udp_finish() {
	local rc=0
	wait "$udp_tpid" || rc=$?
	reap "$udp_tpid"
	kill "$srv_pid" 2>/dev/null || true
	reap "$srv_pid"
	return $rc
}

# iperf_udp_watch OUT TUN_NS TUN_IF NAME=PID... -- ARGS...: a UDP transfer
# (ARGS, -t secs among them) as iperf_client does it, watching its middle,
# from 0.5 s in to 0.5 s before its end: the share of one core that
# iperf3's client and server and each named process used (utime + stime
# from /proc/PID/stat, every thread) and the share of the time its
# threads were ready to run but waited for a CPU (run_delay of
# /proc/PID/task/*/schedstat), the share of the whole machine in
# use, and the datagrams per second dropped by iperf3's socket (its receive
# buffer was full) and by the sending TUN TUN_IF in TUN_NS (its ring was
# full: the client sent faster than the daemon read; "-" when there is no
# tunnel).  The figures go to OUT.watch as "KEY VALUE" lines: cpu_client,
# cpu_server, cpu_NAME (percent of one core), wait_client, wait_server,
# wait_NAME (percent of the time), machine (percent of all cores),
# drop_sock_kpps, drop_tun_kpps, window_s.
iperf_udp_watch() {
	local out=$1 tns=$2 tif=$3 i t0 t1 b0 t0m b1 t1m d0 d1 q0 q1
	local -a names=(client server) wpids=() c0=() w0=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("${1%%=*}"); wpids+=("${1#*=}"); shift; done
	shift
	iperf_udp_start "$out" "$@"
	wpids=("${udp_cli_pid:-0}" "$srv_pid" "${wpids[@]}")
	for i in "${!wpids[@]}"; do
		c0[$i]=$(cpu_ticks "${wpids[$i]}" 2>/dev/null || echo 0)
		w0[$i]=$(run_delay "${wpids[$i]}")
	done
	read -r b0 t0m < <(cpu_busy)
	d0=$(sock_drops "$IPERF_SERVER_NS" 5201) q0=$(if_stat "$tns" "$tif" tx_dropped)
	t0=$EPOCHREALTIME
	sleep "$(awk -v s="$secs" 'BEGIN {print s - 1}')"
	t1=$EPOCHREALTIME
	d1=$(sock_drops "$IPERF_SERVER_NS" 5201) q1=$(if_stat "$tns" "$tif" tx_dropped)
	read -r b1 t1m < <(cpu_busy)
	{
		for i in "${!wpids[@]}"; do
			awk -v n="${names[$i]}" -v a="${c0[$i]}" -v b="$(cpu_ticks "${wpids[$i]}" 2>/dev/null || echo 0)" \
				-v wa="${w0[$i]}" -v wb="$(run_delay "${wpids[$i]}")" \
				-v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
				'BEGIN {printf "cpu_%s %.1f\nwait_%s %.1f\n", n, (b >= a ? b - a : 0) / hz / (t1 - t0) * 100,
					n, (wb >= wa ? wb - wa : 0) / 1e9 / (t1 - t0) * 100}'
		done
		awk -v b=$((b1 - b0)) -v t=$((t1m - t0m)) 'BEGIN {printf "machine %.1f\n", t ? 100 * b / t : 0}'
		awk -v d=$((d1 - d0)) -v q=$((q1 - q0)) -v t0="$t0" -v t1="$t1" \
			'BEGIN {printf "drop_sock_kpps %.1f\ndrop_tun_kpps %.1f\nwindow_s %.2f\n", d / (t1 - t0) / 1e3, q / (t1 - t0) / 1e3, t1 - t0}'
	} >"$out.watch"
	iperf_udp_finish
}

# ------------------------------------------------------------------ rounds
# meta_head BINARY: the first lines of a run's metadata file.
meta_head() {
	echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "command $cmdline"
	echo "kernel $(uname -sr)"
	echo "cpu $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "cores $(nproc)"
	echo "build $build ($(meson introspect --buildoptions "$build" 2>/dev/null | python3 -c 'import json,sys; print(" ".join("%s=%s" % (o["name"], o["value"]) for o in json.load(sys.stdin) if o["name"] in ("buildtype", "optimization", "b_sanitize")))' 2>/dev/null || echo '?'))"
	echo "ours_version $(git -C "$bench_dir/.." describe --always --dirty 2>/dev/null || echo unknown), binary built $(date -u -r "$1" '+%Y-%m-%d %H:%M UTC')"
}
# meta_tail: the lines after the script's own.
meta_tail() {
	echo "rounds $rounds"
	echo "seconds $secs"
	echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
}

put() { echo "$1 $2 $3 $4" >>"$raw"; } # put CONFIG ROUND KEY VALUE

busy_round() { # busy_round N: was attempt N shared with other load?
	awk -v n="$1" '$2 == n && $3 == "bg_busy_pct" && $4 > 10 {f = 1} END {exit !f}' "$raw"
}

# run_rounds CONFIG_1 CONFIG_2: the script's round() for each in turn until
# --rounds pairs are done.  A pair in which another job took more than 10%
# of the machine during the transfer of either is repeated (at most --rounds
# times in all, once with --quick); the repeated pair stays in the raw file,
# marked "discard", and out of the medians.  Sets attempt.
run_rounds() {
	local done_rounds=0 retries=$rounds
	attempt=0
	[ "$quick" = 0 ] || retries=1
	while [ $done_rounds -lt "$rounds" ]; do
		attempt=$((attempt + 1))
		round "$1" $attempt
		round "$2" $attempt
		if [ $retries -gt 0 ] && busy_round $attempt; then
			log "   round $attempt shared the machine with other jobs: repeating it"
			put "$1" $attempt discard 1
			put "$2" $attempt discard 1
			retries=$((retries - 1))
		else
			done_rounds=$((done_rounds + 1))
		fi
	done
}

# perf_summary FILE LABEL PATTERN N: a perf profile as the benchmarks print
# it: the share by object and the top functions (self), then, under LABEL,
# at most N of the symbols matching PATTERN with their callees.
perf_summary() {
	echo "-- share by object (self):"
	perf report -i "$1" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true
	echo "-- top functions (self):"
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -20 || true
	echo "-- $2:"
	perf report -i "$1" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' |
		grep -E "$3" | head -"$4" || true
}

# perf_by_process FILE ROLE=PID...: a system-wide profile: the share of
# all samples of each process (every thread; ROLE names the ones given),
# then for each ROLE its top functions (self) and its system calls and
# kernel paths (with callees), all in percent of all samples.
perf_by_process() {
	local f=$1 kv map=
	shift
	for kv; do map="$map ${kv#*=}=${kv%%=*}"; done
	echo "-- share of all samples by process (pid 0: idle):"
	perf script -i "$f" -F pid,comm 2>/dev/null |
		awk -v map="$map" 'BEGIN {n = split(map, m, " "); for (i = 1; i <= n; i++) {split(m[i], kv, "="); r[kv[1]] = kv[2]}}
			{c[$NF] += 1; name[$NF] = $1; t += 1}
			END {for (p in c) printf "%8.2f%%  %7s %-16s %s\n", 100 * c[p] / t, p, name[p], (p in r ? "<- " r[p] : "")}' |
		sort -rn | head -8
	for kv; do
		echo "-- ${kv%%=*} (pid ${kv#*=}), top functions (self):"
		perf report -i "$f" --pid "${kv#*=}" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -12 || true
		echo "-- ${kv%%=*}, system calls and kernel paths (with callees):"
		perf report -i "$f" --pid "${kv#*=}" --children --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | grep -E '__x64_sys_|tun_get_user|tun_do_read|tun_net_xmit|netif_receive_skb$|udp_sendmsg|udp_recvmsg|__udp4_lib_rcv|handle_softirqs|crypto_aead' | head -10 || true
	done
}
