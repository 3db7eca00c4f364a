#!/bin/bash
# Out of file descriptors (issue 17, finding 10): a `wh up` node and a
# wireguard-wh, each with its descriptor limit lowered (prlimit) to a few
# above what it uses, are flooded with idle connections to their control
# and UAPI sockets. Each keeps running (the interface check does not take
# "out of descriptors" for "the interface is gone"), logs the exhaustion,
# and answers `wh show` / `wg show` again once the idle connections have
# timed out (5 s), while the flooder still holds its ends.
# Usage: fdlimit.sh WH WIREGUARD_WH. Output is TAP.
#
#            ns A (whlab-fd-PID-a)           ns W (whlab-fd-PID-w)
#   +------------------------------+   +------------------------------+
#   | d0 (veth to d1) 198.18.0.1/24|   | wireguard-wh  fd<P>w         |
#   | wh up -f  fd<P>a (member)    |   | UAPI /var/run/wireguard/     |
#   | control /var/run/wh/fd<P>a   |   |   fd<P>w.sock                |
#   | flooder: 40 idle connections |   | flooder: 40 idle connections |
#   +------------------------------+   +------------------------------+

LAB_TAG=fd
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH WIREGUARD_WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
WGWH=$(lab_impl_abs "$2")
PORT=62110
HEADROOM=4
FLOOD=40

lab_require_root
lab_require_cmd ip wg prlimit python3
lab_require_impl "$WH"
lab_require_impl "$WGWH"

lab_wh_init

running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# flood NS SOCKET: FLOOD connections to SOCKET from inside NS, held idle
# for 60 s (non-blocking: a full backlog does not stop the flooder);
# prints the flooder's PID.
flood() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
held = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except OSError:
        pass
    held.append(s)
time.sleep(60)' "$2" "$FLOOD" >/dev/null 2>&1 &
	echo $!
}

# limit PID: the descriptor limit of PID lowered to HEADROOM above what it
# has open now.
limit() {
	local n
	n=$(ls "/proc/$1/fd" | wc -l)
	prlimit --pid "$1" --nofile=$((n + HEADROOM)):$((n + HEADROOM)) && echo $((n + HEADROOM))
}

# survives NAME PID LOG SHOWCMD: the process lives through the flood, its
# log tells of the exhaustion (and not of a removed interface), and
# SHOWCMD answers again within 12 s, while the flooder holds its ends.
survives() {
	local name=$1 pid=$2 log=$3 show=$4
	sleep 3
	if wait_for "$show" 12; then tap_ok "$name: answers again once the idle connections timed out"; else
		tap_fail "$name: answers again" "$(tail -5 "$log")"; fi
	if running "$pid"; then tap_ok "$name: runs on, out of descriptors"; else
		tap_fail "$name: runs on, out of descriptors" "$(tail -5 "$log")"; fi
	if grep -q "Too many open files" "$log"; then
		tap_ok "$name: logs it ($(grep -m1 "Too many open files" "$log"))"
	else
		tap_fail "$name: logs the exhaustion" "$(tail -5 "$log")" \
			"open now: $(ls "/proc/$pid/fd" | wc -l); $(ls -l "/proc/$pid/fd" | awk '{print $NF}' | sort | uniq -c | sort -rn | head -5 | tr '\n' ' ')"
	fi
	if ! grep -q "interface was removed" "$log"; then tap_ok "$name: no 'interface was removed'"; else
		tap_fail "$name: no 'interface was removed'" "$(grep "interface was removed" "$log")"; fi
	if [ "$(grep -c "Too many open files" "$log")" -le 4 ]; then
		tap_ok "$name: said a few times, not once per connection"
	else
		tap_fail "$name: said a few times" "$(grep -c "Too many open files" "$log") lines"
	fi
}

# ---------------------------------------------------------------- wh up

new_ns A || tap_skip_all "ip netns add failed"
ip -n "$A" link add d0 type veth peer name d1 && ip -n "$A" link set d0 up &&
	ip -n "$A" link set d1 up && addr "$A" d0 198.18.0.1/24 ||
	{ tap_fail "lab: an address for the node"; tap_done; }
IF_A=$(wg_iface a)
(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/a.key") && PUB_A=$("$WH" pubkey <"$LAB_DIR/a.key")
(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/boot.key") && PUB_B=$("$WH" pubkey <"$LAB_DIR/boot.key")
cat >"$LAB_DIR/net.conf" <<EOF
name fdlab
subnet 198.19.0.0/16
workbit 8
boot $PUB_B 198.18.0.10:$PORT
trust a $PUB_A
EOF
LAB_IFACES+=("$IF_A")
ip netns exec "$A" env LOG_LEVEL=info "$WH" up -f "$LAB_DIR/net.conf" private-key "$LAB_DIR/a.key" \
	interface "$IF_A" listen-port "$PORT" >"$LAB_DIR/a.log" 2>&1 </dev/null &
PID_A=$!
LAB_PIDS+=("$PID_A")
if wait_for "[ -S $WH_CTL_DIR/$IF_A.sock ] && [ -S $LAB_RUN_DIR/$IF_A.sock ] && ip netns exec $A $WH show $IF_A" 10; then
	tap_ok "wh up -f $IF_A (pid $PID_A)"
else
	tap_fail "wh up -f $IF_A" "$(tail -5 "$LAB_DIR/a.log")"
	tap_done
fi
if max=$(limit "$PID_A"); then tap_ok "wh up: descriptors limited to $max"; else
	tap_fail "wh up: prlimit"; tap_done; fi
LAB_PIDS+=("$(flood "$A" "$WH_CTL_DIR/$IF_A.sock")" "$(flood "$A" "$LAB_RUN_DIR/$IF_A.sock")")
survives "wh up" "$PID_A" "$LAB_DIR/a.log" \
	"ip netns exec $A $WH show $IF_A && ip netns exec $A wg show $IF_A"

# ---------------------------------------------------------------- wireguard-wh

new_ns W || { tap_fail "ip netns add W"; tap_done; }
IF_W=$(wg_iface w)
if LAB_LOG_LEVEL=info start_impl "$W" "$IF_W" "$WGWH"; then
	PID_W=${LAB_IMPL_PID[$IF_W]}
	tap_ok "wireguard-wh $IF_W (pid $PID_W)"
else
	tap_fail "wireguard-wh $IF_W"
	tap_done
fi
if max=$(limit "$PID_W"); then tap_ok "wireguard-wh: descriptors limited to $max"; else
	tap_fail "wireguard-wh: prlimit"; tap_done; fi
LAB_PIDS+=("$(flood "$W" "$LAB_RUN_DIR/$IF_W.sock")")
survives "wireguard-wh" "$PID_W" "$LAB_DIR/$IF_W.log" "ip netns exec $W wg show $IF_W"
tap_done
