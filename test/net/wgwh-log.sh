#!/bin/bash
# wireguard-wh's -v and -q (issue 16, item 6): the log levels of `wh up`,
# set on the command line whatever LOG_LEVEL says.  Usage: wgwh-log.sh
# WIREGUARD-WH.
#
#   +----------------------------------------------------+
#   | ns A (whlab-pl-PID-a)                              |
#   |  TUN pl<PID>a<N>  198.51.100.1/24 (wireguard-wh -f) |
#   |  one peer: endpoint 127.0.0.1:9 (nobody there),    |
#   |  allowed IPs 198.51.100.2/32                       |
#   +----------------------------------------------------+
#
# Each run starts wireguard-wh in the foreground with its stderr in a
# file, gives it a key and the peer with `wg set`, pings 198.51.100.2 (the
# daemon sends a handshake initiation: a debug event), waits until `wg
# show` counts the initiation's bytes, stops it with SIGTERM and reads
# what it logged:
#   no option, LOG_LEVEL unset   info lines ("interface up", "shutting
#                                down"), no debug line
#   -q, LOG_LEVEL=debug          not one line
#   -v, LOG_LEVEL=error          debug lines, the initiation's among them
#   -v -q, -q -q                 refused with the usage (exit 2), no
#                                interface made
# Output is TAP.

LAB_TAG=pl
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WIREGUARD-WH" >&2; exit 2; }
WGWH=$(lab_impl_abs "$1")

lab_require_root
lab_require_cmd ip wg ping
lab_require_impl "$WGWH"
lab_init

new_ns A || { tap_fail "create the namespace"; tap_done; }
gen_key a >/dev/null && PEER=$(gen_key p) || { tap_fail "keys"; tap_done; }

RUN=0
# run NAME LOG_LEVEL OPTION...: one daemon's life as above; its stderr is
# left in $LAB_DIR/NAME.err.  Fails (with a reason on stderr) when the
# daemon does not come up or the initiation is not seen.
run() {
	local name=$1 level=$2 iface pid ok=0
	shift 2
	RUN=$((RUN + 1))
	iface=$(wg_iface a "$RUN")
	LAB_IFACES+=("$iface")
	if [ -n "$level" ]; then
		ip netns exec "$A" env LOG_LEVEL="$level" "$WGWH" -f "$@" "$iface" \
			>/dev/null 2>"$LAB_DIR/$name.err" </dev/null &
	else
		ip netns exec "$A" env -u LOG_LEVEL "$WGWH" -f "$@" "$iface" \
			>/dev/null 2>"$LAB_DIR/$name.err" </dev/null &
	fi
	pid=$!
	LAB_PIDS+=("$pid")
	if wait_for "[ -S $LAB_RUN_DIR/$iface.sock ] && ip -n $A link show $iface" 10 &&
		wgx "$A" set "$iface" private-key "$LAB_DIR/a.key" peer "$PEER" \
			endpoint 127.0.0.1:9 allowed-ips 198.51.100.2/32 &&
		addr "$A" "$iface" 198.51.100.1/24 && ip -n "$A" link set "$iface" up; then
		nsx "$A" ping -n -q -c 1 -W 1 198.51.100.2 >/dev/null 2>&1
		wait_for "[ \"\$(wg_tx $A $iface $PEER)\" -gt 0 ]" 10 && ok=1
	fi
	[ "$ok" = 1 ] || echo "$name: the daemon did not come up or sent no initiation" >&2
	kill -TERM "$pid" 2>/dev/null
	wait_for "! kill -0 $pid" 10 || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$LAB_RUN_DIR/$iface.sock"
	[ "$ok" = 1 ]
}

levels() { # NAME: the level words of its lines ("IFACE: LEVEL: ..."), sorted, unique
	awk '{ for (i = 1; i <= NF; ++i) if ($i ~ /^(error|info|debug):$/) { print $i; break } }' \
		"$LAB_DIR/$1.err" | sort -u | tr '\n' ' '
}

if run default ""; then
	got=$(levels default)
	if grep -q 'info: interface up' "$LAB_DIR/default.err" && [[ $got != *debug:* ]]; then
		tap_ok "no option: info lines, no debug line (levels: $got)"
	else
		tap_fail "no option: info lines, no debug line" "levels: '$got'" "$(head -n 20 "$LAB_DIR/default.err")"
	fi
else
	tap_fail "no option: the daemon runs" "$(head -n 20 "$LAB_DIR/default.err")"
fi

if run quiet debug -q; then
	if [ ! -s "$LAB_DIR/quiet.err" ]; then
		tap_ok "-q with LOG_LEVEL=debug: not one line logged"
	else
		tap_fail "-q with LOG_LEVEL=debug: not one line logged" "$(head -n 20 "$LAB_DIR/quiet.err")"
	fi
else
	tap_fail "-q: the daemon runs" "$(head -n 20 "$LAB_DIR/quiet.err")"
fi

if run verbose error -v; then
	got=$(levels verbose)
	if grep -q 'debug: handshake initiation' "$LAB_DIR/verbose.err" &&
		grep -q 'info: interface up' "$LAB_DIR/verbose.err"; then
		tap_ok "-v with LOG_LEVEL=error: debug lines, the initiation's among them (levels: $got)"
	else
		tap_fail "-v with LOG_LEVEL=error: debug lines" "levels: '$got'" "$(head -n 20 "$LAB_DIR/verbose.err")"
	fi
else
	tap_fail "-v: the daemon runs" "$(head -n 20 "$LAB_DIR/verbose.err")"
fi

for opts in "-v -q" "-q -q"; do
	RUN=$((RUN + 1))
	iface=$(wg_iface a "$RUN")
	# shellcheck disable=SC2086 # the options are words
	out=$(ip netns exec "$A" "$WGWH" -f $opts "$iface" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = 2 ] && [[ $out == *Usage:* ]] && ! ip -n "$A" link show "$iface" >/dev/null 2>&1; then
		tap_ok "$opts: refused with the usage (exit 2), no interface"
	else
		tap_fail "$opts: refused with the usage" "exit $rc: $out"
		rm -f "$LAB_RUN_DIR/$iface.sock"
	fi
done
tap_done
