#!/bin/bash
# Zero-netcat (issue 14, item 3): `wh nc` on one host prints a string,
# `wh nc STRING` on another connects, and stdin/stdout are piped both ways
# through the tunnel; nothing of theirs remains after.
#
#   internet 198.18.0.0/24 (bridge)
#     boot  .10  public DHT node and relay (workbit 4)
#     ga, gb     symmetric NATs        --- ha, hb: a pair only a relay joins
#     gc, gd     port-restricted NATs  --- hc, hd: a pair that can punch
#
# 1. ha listens, hb connects; hc listens, hd connects; the four at once,
#    each piping 10 MiB of random data to its peer: every side exits 0,
#    and what each received has the sha256 of what the other sent.
# 2. After they exit: no process of theirs (the wh nc and its node, by
#    PID), no whnc interface in any of their namespaces, no control socket
#    in /var/run/wh, nothing named after them in /tmp.
# 3. ha's string used a second time (its listener gone): refused, non-zero,
#    with a message; a mistyped string: refused at once.
# 4. A waiting listener sent SIGINT exits 130, its node and interface gone;
#    one killed with SIGKILL: its node (PR_SET_PDEATHSIG) and interface go
#    too.
# Usage: nc.sh WH
LAB_TAG=zn
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
SIZE=${NC_SIZE:-10M}
DONE_S=${NC_DONE_S:-150}
natlab_require
lab_require_impl "$WH"
lab_require_cmd sha256sum head
lab_init

natlab_internet
natlab_public_host boot 198.18.0.10 || exit 1
natlab_gateway ga symmetric || exit 1
natlab_gateway gb symmetric || exit 1
natlab_gateway gc port-restricted || exit 1
natlab_gateway gd port-restricted || exit 1
natlab_host ha ga || exit 1
natlab_host hb gb || exit 1
natlab_host hc gc || exit 1
natlab_host hd gd || exit 1

"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
BOOT_EP="${NATLAB_IP[boot]}:62096"
printf 'workbit 4\nboot %s %s\n' "$BOOT" "$BOOT_EP" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "$WH" up \
	"$LAB_DIR/boot.conf" private-key "$LAB_DIR/boot.key" interface "zn${LAB_PID}x" -f
if ! wait_for "nsx ${NATLAB_NS[boot]} $WH show zn${LAB_PID}x" 20; then
	tap_fail "the boot node starts" "$(cat "$LAB_DIR/boot.log")"
	tap_done
fi
# The tunnel's /30 comes from a test block; the same on both sides.
SUBNET="subnet 198.19.0.0/16"

declare -A PID=() NODE=() NS=()
# nc_start HOST ARGS...: wh nc in HOST's namespace, stdin HOST.in, stdout
# HOST.out, stderr HOST.err; its PID in PID[HOST].
nc_start() {
	local h=$1
	shift
	ip netns exec "${NATLAB_NS[$h]}" "$WH" nc "$@" <"$LAB_DIR/$h.in" >"$LAB_DIR/$h.out" \
		2>"$LAB_DIR/$h.err" &
	PID[$h]=$!
	LAB_PIDS+=("${PID[$h]}")
}
# The string a listener printed (the line "wh nc STRING ...").
nc_string() { sed -n 's/^wh nc \([A-Za-z0-9_-]\{40,\}\).*/\1/p' "$LAB_DIR/$1.err" | head -n 1; }
# The node: the wh nc process's one child.
nc_node() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }
nc_iface() { echo "whnc$(($1 % 100000000))"; }
# Nothing of wh nc PID (its node NODE) is left in namespace NS.
nc_gone() {
	local pid=$1 node=$2 ns=$3 ifc
	ifc=$(nc_iface "$pid")
	! kill -0 "$pid" 2>/dev/null && { [ -z "$node" ] || ! kill -0 "$node" 2>/dev/null; } &&
		! ip -n "$ns" link show "$ifc" >/dev/null 2>&1 &&
		[ ! -e "/var/run/wh/$ifc.sock" ] &&
		! ls /tmp /var/run/wh /dev/shm 2>/dev/null | grep -q -e "$ifc" -e '^wh-nc'
}
nc_leftovers() {
	local pid=$1 node=$2 ns=$3 ifc
	ifc=$(nc_iface "$pid")
	echo "wh nc $pid: $(kill -0 "$pid" 2>/dev/null && echo running || echo gone)," \
		"node ${node:-?}: $([ -n "$node" ] && kill -0 "$node" 2>/dev/null && echo running || echo gone)"
	ip -n "$ns" -br link
	ls -la /var/run/wh/ 2>/dev/null | grep -F "$ifc"
}

# ---- 1. 10 MiB each way, two pairs at once

for h in ha hb hc hd; do
	head -c "$SIZE" /dev/urandom >"$LAB_DIR/$h.in"
done
for h in ha hc; do
	nc_start "$h" boot "$BOOT" "$BOOT_EP" workbit 4 $SUBNET
done
for h in ha hc; do
	if ! wait_for "[ -n \"\$(nc_string $h)\" ]" 30; then
		tap_fail "the listener on $h prints a string" "$(cat "$LAB_DIR/$h.err")"
		tap_done
	fi
	NODE[$h]=$(nc_node "${PID[$h]}")
done
tap_ok "the listeners print a string"
STR_A=$(nc_string ha)
T0=$(date +%s%N)
nc_start hb "$STR_A" $SUBNET
nc_start hd "$(nc_string hc)" $SUBNET
for h in hb hd; do
	wait_for "[ -n \"\$(nc_node ${PID[$h]})\" ]" 10
	NODE[$h]=$(nc_node "${PID[$h]}")
done
# The paths the pairs take, seen while they run (diagnostics).
declare -A PATHS=()
deadline=$(($(date +%s) + DONE_S))
while [ "$(date +%s)" -lt "$deadline" ]; do
	running=0
	for h in ha hb hc hd; do
		kill -0 "${PID[$h]}" 2>/dev/null || continue
		running=1
		p=$(nsx "${NATLAB_NS[$h]}" "$WH" show "$(nc_iface "${PID[$h]}")" json 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["path"])' 2>/dev/null)
		case " ${PATHS[$h]} " in *" $p "*) ;; *) PATHS[$h]="${PATHS[$h]} $p" ;; esac
	done
	[ "$running" = 1 ] || break
	sleep 0.2
done
declare -A RC=()
for h in ha hb hc hd; do
	if kill -0 "${PID[$h]}" 2>/dev/null; then
		RC[$h]=timeout
	else
		wait "${PID[$h]}"
		RC[$h]=$?
	fi
done
tap_diag "the four ended within $((($(date +%s%N) - T0) / 1000000)) ms of the connectors' start"
tap_diag "paths seen: ha:${PATHS[ha]} / hb:${PATHS[hb]} / hc:${PATHS[hc]} / hd:${PATHS[hd]}"
for pair in "ha hb symmetric NATs (relayed)" "hc hd port-restricted NATs"; do
	set -- $pair
	l=$1 c=$2
	shift 2
	if [ "${RC[$l]}" = 0 ] && [ "${RC[$c]}" = 0 ]; then
		tap_ok "$*: both sides exit 0"
	else
		tap_fail "$*: both sides exit 0" "$l: ${RC[$l]}: $(cat "$LAB_DIR/$l.err")" \
			"$c: ${RC[$c]}: $(cat "$LAB_DIR/$c.err")"
	fi
	for dir in "$l $c" "$c $l"; do
		set -- $dir
		sent=$(sha256sum <"$LAB_DIR/$1.in" | cut -d' ' -f1)
		got=$(sha256sum <"$LAB_DIR/$2.out" | cut -d' ' -f1)
		if [ "$sent" = "$got" ]; then
			tap_ok "$SIZE $1 -> $2 arrives identical (sha256 ${sent:0:16})"
		else
			tap_fail "$SIZE $1 -> $2 arrives identical" \
				"sent $sent ($(stat -c %s "$LAB_DIR/$1.in") bytes)," \
				"got $got ($(stat -c %s "$LAB_DIR/$2.out") bytes)"
		fi
	done
done

# ---- 2. nothing left

for h in ha hb hc hd; do
	if wait_for "nc_gone ${PID[$h]} '${NODE[$h]}' ${NATLAB_NS[$h]}" 15; then
		tap_ok "$h: no process, interface, socket or file left"
	else
		tap_fail "$h: no process, interface, socket or file left" \
			"$(nc_leftovers "${PID[$h]}" "${NODE[$h]}" "${NATLAB_NS[$h]}")"
	fi
done

# ---- 3. a used string, a mistyped one

: >"$LAB_DIR/hb.in"
nc_start hb "$STR_A" $SUBNET timeout 5
wait_for "! kill -0 ${PID[hb]}" 40
wait "${PID[hb]}"
rc=$?
if [ "$rc" != 0 ] && grep -q "cannot reach the listener\|refused" "$LAB_DIR/hb.err"; then
	tap_ok "a used string is refused (exit $rc: $(tail -n 1 "$LAB_DIR/hb.err"))"
else
	tap_fail "a used string is refused" "exit $rc" "$(cat "$LAB_DIR/hb.err")"
fi
tap_check "and leaves nothing" wait_for "nc_gone ${PID[hb]} '' ${NATLAB_NS[hb]}" 15
c=${STR_A:30:1}
[ "$c" = A ] && c=B || c=A
nc_start hb "${STR_A:0:30}$c${STR_A:31}" $SUBNET
wait_for "! kill -0 ${PID[hb]}" 10
wait "${PID[hb]}"
rc=$?
if [ "$rc" != 0 ] && grep -q "check does not match\|base64\|truncated\|version" "$LAB_DIR/hb.err"; then
	tap_ok "a mistyped string is refused (exit $rc: $(head -n 1 "$LAB_DIR/hb.err"))"
else
	tap_fail "a mistyped string is refused" "exit $rc" "$(cat "$LAB_DIR/hb.err")"
fi

# ---- 4. SIGINT to a waiting listener; SIGKILL

: >"$LAB_DIR/hc.in"
# waiting_listener: a listener on hc whose string is out; its node in $node.
waiting_listener() {
	nc_start hc boot "$BOOT" "$BOOT_EP" workbit 4 $SUBNET
	wait_for "[ -n \"\$(nc_string hc)\" ]" 30 || return 1
	node=$(nc_node "${PID[hc]}")
	[ -n "$node" ]
}
if waiting_listener; then
	kill -INT "${PID[hc]}"
	wait_for "! kill -0 ${PID[hc]}" 15
	wait "${PID[hc]}"
	rc=$?
	if [ "$rc" = 130 ] && wait_for "nc_gone ${PID[hc]} '$node' ${NATLAB_NS[hc]}" 15; then
		tap_ok "SIGINT to a waiting listener: exit 130, nothing left"
	else
		tap_fail "SIGINT to a waiting listener: exit 130, nothing left" "exit $rc" \
			"$(cat "$LAB_DIR/hc.err")" "$(nc_leftovers "${PID[hc]}" "$node" "${NATLAB_NS[hc]}")"
	fi
else
	tap_fail "SIGINT to a waiting listener" "$(cat "$LAB_DIR/hc.err")"
fi
if waiting_listener; then
	kill -KILL "${PID[hc]}"
	if wait_for "nc_gone ${PID[hc]} '$node' ${NATLAB_NS[hc]}" 15; then
		tap_ok "SIGKILL to a listener: its node ($node) and interface go too"
	else
		tap_fail "SIGKILL to a listener: its node and interface go too" \
			"$(nc_leftovers "${PID[hc]}" "$node" "${NATLAB_NS[hc]}")"
	fi
else
	tap_fail "SIGKILL to a listener" "$(cat "$LAB_DIR/hc.err")"
fi
tap_done
