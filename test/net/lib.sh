# shellcheck shell=bash
# Shared helpers of the network-namespace WireGuard lab (test/net/*.sh).
#
# A test sources this file after setting LAB_TAG (two lower-case letters,
# unique per test script), then builds its own topology, for example:
#
#   ns A (whlab-TAG-PID-a)                    ns B (whlab-TAG-PID-b)
#   +-----------------------+                 +-----------------------+
#   | wg iface  TAGPIDa1    |                 | wg iface  TAGPIDb1    |
#   | veth va 198.18.0.1 ---+-----------------+--- vb 198.18.0.2      |
#   +-----------------------+                 +-----------------------+
#
# Everything a test creates carries its tag and its PID: namespaces are
# "whlab-TAG-PID-NAME", WireGuard interfaces "TAG PID letter digits" (at most
# 15 characters; their UAPI sockets live in the shared /var/run/wireguard/).
# lab_init first removes what an earlier, killed run of the same test left
# behind (names whose PID is no longer a running instance of the test), then
# installs an EXIT trap that kills the processes it started, by PID, and
# deletes its namespaces. A test that runs `wh` daemons calls lab_wh_init
# instead, which does the same for their control sockets in /var/run/wh.
#
# Implementations: start_impl NS IFACE IMPL, where IMPL is "wireguard-go" or
# the path of a binary with the same contract (`IMPL -f IFACE` runs in the
# foreground, creates the TUN interface IFACE and the UAPI socket
# /var/run/wireguard/IFACE.sock, and exits on SIGTERM).
#
# TAP: tap_ok, tap_fail, tap_check, tap_skip, tap_diag; tap_done prints the
# plan and exits with the number of failures (capped at 76, since 77 means
# "skipped" to meson); tap_skip_all prints "1..0 # SKIP" and exits 77.

: "${LAB_TAG:?set LAB_TAG before sourcing lib.sh}"

LAB_PID=$$
LAB_SCRIPT=$(basename "${0}")
LAB_NS_PREFIX="whlab-${LAB_TAG}-"
LAB_RUN_DIR=/var/run/wireguard
LAB_DIR=
LAB_NSS=()
LAB_PIDS=()
LAB_IFACES=()
declare -A LAB_IMPL_PID=()

TAP_N=0
TAP_FAILED=0

# ---------------------------------------------------------------- TAP output

tap_diag() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

tap_ok() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

# tap_fail DESC [DIAGNOSTIC...]
tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	shift
	[ $# -eq 0 ] || tap_diag "$@"
}

# tap_check DESC CMD [ARGS...]: one test whose result is CMD's exit status;
# CMD's output becomes diagnostics when it fails.
tap_check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "$out"
	fi
}

# tap_skip DESC REASON
tap_skip() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
}

tap_skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 77
}

tap_done() {
	printf '1..%d\n' "$TAP_N"
	if [ "$TAP_FAILED" -gt 0 ]; then
		tap_diag "$TAP_FAILED of $TAP_N failed"
		[ "$TAP_FAILED" -lt 77 ] || TAP_FAILED=76
	fi
	exit "$TAP_FAILED"
}

# ---------------------------------------------------------------- polling

# wait_for CMD [TIMEOUT]: evaluate the shell command string CMD every 0.1 s
# until it succeeds (return 0) or TIMEOUT seconds (default 10) pass (return 1).
wait_for() {
	local _wf_cmd=$1 _wf_deadline
	_wf_deadline=$(($(date +%s%N) + ${2:-10} * 1000000000))
	while :; do
		if eval "$_wf_cmd" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(date +%s%N)" -lt "$_wf_deadline" ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- set-up

lab_require_root() {
	[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root"
	[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun"
	ip netns list >/dev/null 2>&1 || tap_skip_all "no network namespaces"
}

lab_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || tap_skip_all "missing command: $c"
	done
}

# lab_require_impl IMPL: skip unless the implementation can be run.
lab_require_impl() {
	case $1 in
	wireguard-go) lab_require_cmd wireguard-go ;;
	*) [ -x "$1" ] || tap_skip_all "implementation binary missing: $1" ;;
	esac
}

# lab_impl_abs IMPL: "wireguard-go" unchanged, a path made absolute (the
# implementations run from other directories, e.g. under meson test).
lab_impl_abs() {
	case $1 in
	wireguard-go | /*) printf '%s' "$1" ;;
	*) printf '%s/%s' "$(cd "$(dirname "$1")" 2>/dev/null && pwd)" "$(basename "$1")" ;;
	esac
}

# Is PID a live instance of this test script?
lab_pid_is_ours() {
	local pid=$1
	[ "$pid" = "$LAB_PID" ] && return 0
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$LAB_SCRIPT"
}

lab_ns_kill_all() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -z "$pids" ] && return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	wait_for "[ -z \"\$(ip netns pids '$ns' 2>/dev/null)\" ]" 5 && return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	return 0
}

# Remove namespaces and UAPI sockets left by killed runs of this test.
lab_clean_stale() {
	local ns pid sock base
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$LAB_NS_PREFIX"*) ;; *) continue ;; esac
		pid=${ns#"$LAB_NS_PREFIX"}
		pid=${pid%%-*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		lab_pid_is_ours "$pid" && continue
		echo "# removing leftover namespace $ns of dead run $pid"
		lab_ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	lab_clean_stale_sockets "$LAB_RUN_DIR"
}

# lab_clean_stale_sockets DIR: removes DIR/TAG<pid>*.sock of dead runs of
# this test (interface names start with LAB_TAG and the run's PID, then a
# letter).
lab_clean_stale_sockets() {
	local sock base pid
	for sock in "$1/$LAB_TAG"[0-9]*.sock; do
		[ -S "$sock" ] || continue
		base=$(basename "$sock" .sock)
		pid=${base#"$LAB_TAG"}
		pid=${pid%%[a-z]*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		lab_pid_is_ours "$pid" && continue
		echo "# removing leftover socket $sock of dead run $pid"
		rm -f "$sock"
	done
}

lab_cleanup() {
	local pid ns iface
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait_for "! kill -0 $pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${LAB_NSS[@]}"; do
		lab_ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	for iface in "${LAB_IFACES[@]}"; do
		rm -f "$LAB_RUN_DIR/$iface.sock"
	done
	if [ -n "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ]; then
		rm -rf "$LAB_DIR"
	fi
}

# lab_init: call once, after the lab_require_* checks.
lab_init() {
	lab_clean_stale
	LAB_DIR=$(mktemp -d "/tmp/whlab-$LAB_TAG-$LAB_PID.XXXXXX") || exit 1
	trap lab_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
}

# new_ns VAR: create namespace whlab-TAG-PID-<var in lower case>, bring its
# loopback up and store its name in the variable VAR.
new_ns() {
	local ns="${LAB_NS_PREFIX}${LAB_PID}-${1,,}"
	ip netns add "$ns" || return 1
	LAB_NSS+=("$ns")
	ip -n "$ns" link set lo up || return 1
	printf -v "$1" '%s' "$ns"
}

# nsx NS CMD...: run CMD inside namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# addr NS IF ADDR/PREFIX: IPv6 addresses get nodad so they are usable at once.
addr() {
	case $3 in
	*:*) ip -n "$1" addr add "$3" dev "$2" nodad ;;
	*) ip -n "$1" addr add "$3" dev "$2" ;;
	esac
}

# wg_iface LETTER [GEN]: a WireGuard interface name unique to this run.
wg_iface() {
	printf '%s%s%s%s' "$LAB_TAG" "$LAB_PID" "$1" "${2:-}"
}

# gen_key NAME: $LAB_DIR/NAME.key and NAME.pub; prints the public key.
gen_key() {
	(umask 077 && wg genkey >"$LAB_DIR/$1.key") || return 1
	wg pubkey <"$LAB_DIR/$1.key" >"$LAB_DIR/$1.pub" || return 1
	cat "$LAB_DIR/$1.pub"
}

# ---------------------------------------------------------------- wh daemons

# The control socket of a `wh` daemon, WH_CTL_DIR/IFACE.sock, lies in a
# directory that every namespace shares, as the UAPI sockets do; a test
# names its daemons' interfaces in LAB_IFACES, like those of start_impl.
WH_CTL_DIR=/var/run/wh

# lab_wh_cleanup: lab_cleanup, then remove the control socket of every
# interface in LAB_IFACES (a daemon killed by PID leaves its socket). A
# test with more to undo calls it from its own clean-up function.
lab_wh_cleanup() {
	local iface
	lab_cleanup
	for iface in "${LAB_IFACES[@]}"; do
		rm -f "$WH_CTL_DIR/$iface.sock"
	done
}

# lab_wh_init [CLEANUP]: lab_init for a test that runs `wh` daemons. It
# first removes the control sockets that killed runs of the test left, and
# runs CLEANUP on exit (default lab_wh_cleanup; a test's own CLEANUP must
# call lab_wh_cleanup).
lab_wh_init() {
	lab_clean_stale_sockets "$WH_CTL_DIR"
	lab_init
	# shellcheck disable=SC2064 # the function's name, expanded now
	trap "${1:-lab_wh_cleanup}" EXIT
}

# lab_netns_etc_cleanup: remove /etc/netns/NS of this run's namespaces, the
# files (resolv.conf, hosts) that `ip netns exec NS` mounts over /etc.
lab_netns_etc_cleanup() {
	local ns
	for ns in "${LAB_NSS[@]}"; do
		rm -rf "/etc/netns/$ns"
	done
}

# ---------------------------------------------------------------- implementations

# start_impl NS IFACE IMPL: run IMPL in the foreground inside NS, record its
# PID, and wait until the interface and its UAPI socket exist. Output goes
# to $LAB_DIR/IFACE.log.
start_impl() {
	local ns=$1 iface=$2 impl=$3 pid bin
	case $impl in
	wireguard-go) bin=wireguard-go ;;
	*) bin=$impl ;;
	esac
	rm -f "$LAB_RUN_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 \
		LOG_LEVEL="${LAB_LOG_LEVEL:-error}" \
		"$bin" -f "$iface" >"$LAB_DIR/$iface.log" 2>&1 </dev/null &
	pid=$!
	LAB_PIDS+=("$pid")
	LAB_IMPL_PID[$iface]=$pid
	if ! wait_for "[ -S $LAB_RUN_DIR/$iface.sock ] && ip -n $ns link show $iface" 10; then
		echo "start_impl: $impl did not create $iface and its UAPI socket in $ns" >&2
		kill -0 "$pid" 2>/dev/null || echo "start_impl: $impl (pid $pid) exited" >&2
		tail -n 20 "$LAB_DIR/$iface.log" >&2
		return 1
	fi
	kill -0 "$pid" 2>/dev/null
}

# stop_impl NS IFACE: SIGTERM the implementation and wait for it to exit and
# for its interface to disappear.
stop_impl() {
	local ns=$1 iface=$2 pid=${LAB_IMPL_PID[$2]:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait_for "! kill -0 $pid" 5 || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "LAB_IMPL_PID[$iface]"
	wait_for "! ip -n $ns link show $iface" 5
	rm -f "$LAB_RUN_DIR/$iface.sock"
	return 0
}

# impl_log IFACE: the last lines the implementation printed, for diagnostics.
impl_log() {
	[ -f "$LAB_DIR/$1.log" ] && tail -n "${2:-15}" "$LAB_DIR/$1.log"
}

# ---------------------------------------------------------------- wg helpers

wgx() {
	local ns=$1
	shift
	ip netns exec "$ns" wg "$@"
}

# wg_field NS IFACE PUB FIELD: one column of `wg show IFACE FIELD` for peer PUB
# (latest-handshakes, endpoints, persistent-keepalive, preshared-keys; for
# transfer, prints "RX TX").
wg_field() {
	wgx "$1" show "$2" "$4" | awk -v k="$3" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'
}

wg_rx() { wg_field "$1" "$2" "$3" transfer | awk '{print $1}'; }
wg_tx() { wg_field "$1" "$2" "$3" transfer | awk '{print $2}'; }

# wg_handshake_age NS IFACE PUB: seconds since the latest handshake with PUB;
# fails when there has been none.
wg_handshake_age() {
	local ts
	ts=$(wg_field "$1" "$2" "$3" latest-handshakes)
	[ -n "$ts" ] && [ "$ts" != 0 ] || return 1
	echo $(($(date +%s) - ts))
}

# ping_ok NS ADDR [PING ARGS...]: one ping, one second to answer.
ping_ok() {
	local ns=$1 dst=$2
	shift 2
	ip netns exec "$ns" ping -n -q -c 1 -W 1 "$@" "$dst"
}

# lab_wh_get WH NS IFACE show|inspect PATH: one value of `wh show IFACE
# json` or `wh inspect IFACE`, run in NS (PATH dotted; "peer:HOST" picks a
# member by its hostname); empty for a null.
lab_wh_get() {
	local wh=$1 ns=$2 iface=$3 what=$4
	if [ "$what" = inspect ]; then
		ip netns exec "$ns" "$wh" inspect "$iface"
	else
		ip netns exec "$ns" "$wh" show "$iface" json
	fi 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    if k.startswith("peer:"):
        v = [p for p in v["peers"] if p["hostname"] == k[5:]][0]
    else:
        v = v[k]
print("" if v is None else v)' "$5"
}
