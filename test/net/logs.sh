#!/bin/bash
# Logs that survive daemonizing (issue 17, finding 14): a daemonized node
# logs to syslog (LOG_DAEMON, ident "wh"), including why it stopped, and
# what the port-mapping libraries print on stderr comes through our log,
# prefixed, never raw. Usage: logs.sh WH, where WH is the `wh` binary.
#
#   +------------------------------+
#   | ns M (whlab-lg-PID-m)        |
#   |  eth0 198.18.0.1/24 (veth)   |   no default route: miniupnpc's SSDP
#   |  member m, TUN lg<PID>m      |   search fails with "sendto: Network
#   +------------------------------+   is unreachable", printed by the library
#
# Hermetic: no system syslog daemon is needed. The test binds its own
# datagram socket and the daemon runs in a private mount namespace whose
# /dev is a tmpfs holding that socket as /dev/log (and null, zero,
# urandom, random and net/tun bound from the real /dev). First the node
# runs in the foreground: the library's line appears on stderr prefixed
# with the interface's name, never raw. Then it runs daemonized: syslog
# receives its start, the library's line prefixed, and, once its TUN is
# deleted, the reason it shut down. Every line carries its level: a word
# after the interface's name on stderr ("IFACE: info: up: ..."), syslog's
# <N> when stderr is the journal's stream (JOURNAL_STREAM), the priority in
# syslog; -q and -v set the level whatever LOG_LEVEL says. Output is TAP.

LAB_TAG=lg
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62098

lab_require_root
lab_require_cmd ip unshare mount python3 ss
lab_require_impl "$WH"
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun"

lab_wh_init

IFACE=$(wg_iface m)
LAB_IFACES+=("$IFACE")
new_ns M || { tap_fail "create the namespace"; tap_done; }
ip -n "$M" link add eth0 type veth peer name eth1 && ip -n "$M" link set eth1 up &&
	ip -n "$M" link set eth0 up &&
	addr "$M" eth0 198.18.0.1/24 || { tap_fail "lab: the namespace's link"; tap_done; }
(umask 077 && "$WH" genkey >"$LAB_DIR/m.key") && PUB=$("$WH" pubkey <"$LAB_DIR/m.key") ||
	{ tap_fail "lab: a key"; tap_done; }
cat >"$LAB_DIR/net.conf" <<EOF
name lglab
workbit 0
subnet 198.19.0.0/16
trust m $PUB
EOF
tap_ok "lab: one namespace without a default route"

daemon_pid() {
	ip netns exec "$M" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/$IFACE.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# ---------------------------------------------------------------- foreground

ip netns exec "$M" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" private-key "$LAB_DIR/m.key" \
	interface "$IFACE" -f >/dev/null 2>"$LAB_DIR/fg.err" &
fg_pid=$!
LAB_PIDS+=("$fg_pid")
if wait_for "grep -q 'sendto' '$LAB_DIR/fg.err'" 15; then
	tap_ok "foreground: the port-mapping library's message is in the log"
else
	tap_fail "foreground: the library's message appears" "$(cat "$LAB_DIR/fg.err")"
fi
if grep 'sendto' "$LAB_DIR/fg.err" | grep -qv "^$IFACE: "; then
	tap_fail "foreground: the library's lines are prefixed" "$(grep sendto "$LAB_DIR/fg.err")"
else
	tap_ok "foreground: the library's lines are prefixed ($(grep -m1 sendto "$LAB_DIR/fg.err"))"
fi
if grep -q "^$IFACE: info: up: member" "$LAB_DIR/fg.err" &&
	! grep -v "^$IFACE: \(error\|info\): " "$LAB_DIR/fg.err" | grep -q .; then
	tap_ok "foreground: one line per event, each with its level ($(grep -m1 ': up: ' "$LAB_DIR/fg.err"))"
else
	tap_fail "foreground: every line has its level" "$(cat "$LAB_DIR/fg.err")"
fi
stop_fg() {
	kill "$fg_pid"
	wait_for "! kill -0 $fg_pid" 10 || kill -KILL "$fg_pid"
	wait "$fg_pid" 2>/dev/null
	wait_for "[ -z \"\$(daemon_pid)\" ]" 5
}
stop_fg

# fg_run NAME [ENV...] -- [OPTION...]: the node in the foreground, its
# stderr in NAME.err, until it answers wh show.
fg_run() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	ip netns exec "$M" env "${envs[@]}" "$WH" up "$LAB_DIR/net.conf" private-key "$LAB_DIR/m.key" \
		interface "$IFACE" "$@" -f >/dev/null 2>>"$LAB_DIR/$name.err" &
	fg_pid=$!
	LAB_PIDS+=("$fg_pid")
	wait_for "ip netns exec '$M' '$WH' show '$IFACE' >/dev/null" 10
}
# -q: errors only, whatever LOG_LEVEL says.
fg_run quiet LOG_LEVEL=info -- -q
if ! grep -q . "$LAB_DIR/quiet.err"; then
	tap_ok "-q: no info lines (LOG_LEVEL=info overridden)"
else
	tap_fail "-q: no info lines" "$(cat "$LAB_DIR/quiet.err")"
fi
stop_fg
# -v: debug lines, with the level and the clock.
fg_run verbose -- -v
# A handshake initiation of random bytes: its drop is logged at debug level.
ip netns exec "$M" python3 -c 'import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes([1, 0, 0, 0]) + os.urandom(144), ("198.18.0.1", 62096))'
if wait_for "grep -q '^\[[0-9]*\.[0-9]*\] $IFACE: debug: ' '$LAB_DIR/verbose.err'" 10; then
	tap_ok "-v: debug lines ($(grep -m1 ": debug: " "$LAB_DIR/verbose.err"))"
else
	tap_fail "-v: debug lines" "$(head -n 20 "$LAB_DIR/verbose.err")"
fi
stop_fg
# Under systemd, stderr is the journal's stream (JOURNAL_STREAM names it):
# the level goes as syslog's <N>, which journald takes and strips.
: >"$LAB_DIR/journal.err"
fg_run journal LOG_LEVEL=info "JOURNAL_STREAM=$(stat -c %d:%i "$LAB_DIR/journal.err")" --
if grep -q "^<6>$IFACE: up: member" "$LAB_DIR/journal.err" &&
	! grep -v "^<[367]>$IFACE: " "$LAB_DIR/journal.err" | grep -q .; then
	tap_ok "the journal's stream: levels as <N> ($(grep -m1 ': up: ' "$LAB_DIR/journal.err"))"
else
	tap_fail "the journal's stream: levels as <N>" "$(cat "$LAB_DIR/journal.err")"
fi
stop_fg

# ---------------------------------------------------------------- daemonized, syslog

SOCK=$LAB_DIR/devlog.sock
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        d = s.recv(65536)
        f.write(d.decode(errors="replace").rstrip("\n") + "\n")' "$SOCK" "$LAB_DIR/syslog" &
LAB_PIDS+=("$!")
wait_for "[ -S '$SOCK' ]" 5 || { tap_fail "the syslog socket"; tap_done; }

mkdir "$LAB_DIR/dev"
# shellcheck disable=SC2016
unshare -m --propagation private bash -c '
	d=$1 sock=$2
	shift 2
	mount -t tmpfs -o mode=0755 lgdev "$d" && mkdir "$d/net" || exit 1
	for f in null zero urandom random net/tun; do
		touch "$d/$f" && mount --bind "/dev/$f" "$d/$f" || exit 1
	done
	touch "$d/log" && mount --bind "$sock" "$d/log" && ln -s /proc/self/fd "$d/fd" &&
		mount --rbind "$d" /dev || exit 1
	exec "$@"' lgns "$LAB_DIR/dev" "$SOCK" ip netns exec "$M" env LOG_LEVEL=info "$WH" up \
	"$LAB_DIR/net.conf" private-key "$LAB_DIR/m.key" interface "$IFACE" \
	>"$LAB_DIR/up.out" 2>"$LAB_DIR/up.err"
rc=$?
pid=$(daemon_pid)
[ -n "$pid" ] && LAB_PIDS+=("$pid")
if [ $rc = 0 ] && [ -n "$pid" ]; then
	tap_ok "wh up daemonized (pid $pid) with /dev/log ours"
else
	tap_fail "wh up daemonized" "exit $rc: $(cat "$LAB_DIR/up.err")"
	tap_done
fi
if wait_for "grep -q 'wh.*$IFACE: up: member' '$LAB_DIR/syslog'" 10; then
	tap_ok "syslog: $(grep -m1 "$IFACE: up:" "$LAB_DIR/syslog")"
else
	tap_fail "syslog has the node's start" "$(cat "$LAB_DIR/syslog")"
fi
if wait_for "grep -q 'sendto' '$LAB_DIR/syslog'" 15 &&
	! grep 'sendto' "$LAB_DIR/syslog" | grep -qv "$IFACE: "; then
	tap_ok "syslog: the library's message prefixed ($(grep -m1 sendto "$LAB_DIR/syslog"))"
else
	tap_fail "syslog has the library's message, prefixed" "$(cat "$LAB_DIR/syslog")"
fi
if grep -q '^<[0-9]*>' "$LAB_DIR/syslog" && ! grep -v '^<[0-9]*>' "$LAB_DIR/syslog" | grep -q .; then
	prio=$(sed -n 's/^<\([0-9]*\)>.*/\1/p' "$LAB_DIR/syslog" | head -1)
	if [ $((prio / 8)) = 3 ]; then
		tap_ok "syslog: facility LOG_DAEMON"
	else
		tap_fail "syslog: facility LOG_DAEMON" "priority $prio"
	fi
else
	tap_fail "syslog: well-formed messages" "$(cat "$LAB_DIR/syslog")"
fi

ip -n "$M" link del "$IFACE"
if wait_for "[ -z \"\$(daemon_pid)\" ] && ! kill -0 $pid 2>/dev/null" 10; then
	tap_ok "the node exits once its TUN is deleted"
else
	tap_fail "the node exits once its TUN is deleted"
fi
if wait_for "grep -q '$IFACE: shutting down: the interface was removed' '$LAB_DIR/syslog'" 5; then
	tap_ok "syslog: why it stopped ($(grep -m1 'shutting down' "$LAB_DIR/syslog"))"
else
	tap_fail "syslog says why the node stopped" "$(cat "$LAB_DIR/syslog")"
fi
if grep -q "$IFACE: exit" "$LAB_DIR/syslog"; then
	tap_ok "syslog: its exit ($(grep -m1 "$IFACE: exit" "$LAB_DIR/syslog"))"
else
	tap_fail "syslog has the node's exit" "$(cat "$LAB_DIR/syslog")"
fi

tap_done
