#!/bin/bash
# wh@.service as systemd would run it (issue 16): the unit's own
# ExecStartPre, ExecStart and ExecReload lines, read from
# packaging/systemd/wh@.service with %i, $$ and %% expanded, run in a
# namespace with the environment systemd gives a service (env -i, PATH,
# NOTIFY_SOCKET, RUNTIME_DIRECTORY).  PID 1 here is no systemd, so a
# python3 listener on an abstract AF_UNIX datagram socket stands in for
# the service manager's notification socket.
# Usage: unit.sh WH UNIT, where WH is the `wh` binary and UNIT the unit file.
#
#   ns N (whlab-su-PID-n)
#   +--------------------------------------------------------------+
#   |  wh up .../su-PID-a.conf private-key .../su-PID-a.key        |
#   |        interface suPIDa -f        (the unit's ExecStart)     |
#   |    |  creates TUN suPIDa, 198.19.0.5/16, /var/run/wh/*.sock  |
#   |    +-- READY=1 ... --> @whlab-su-PID-notify (python3 listener |
#   |                        that looks at suPIDa when READY comes) |
#   +--------------------------------------------------------------+
#   the unit's /etc/wh is $LAB_DIR/etc/wh; no other node is needed.
#
# Checked: a key file others may read is refused by ExecStartPre (and a
# missing one); READY=1 arrives only once the interface is up with its
# address and the control socket exists, and the daemon stays in the
# foreground; ExecReload applies a changed file with RELOADING=1 (and
# MONOTONIC_USEC) then READY=1, and a bad file fails with the node still
# up and READY=1 again; SIGTERM (systemd's stop) says STOPPING=1 and
# leaves no process, interface, address or socket behind.  Output is TAP.

LAB_TAG=su
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH UNIT" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
UNIT=$2

lab_require_root
lab_require_cmd ip python3 find
lab_require_impl "$WH"
[ -r "$UNIT" ] || tap_skip_all "no unit file $UNIT"

lab_wh_init
IFACE=$(wg_iface a)
LAB_IFACES+=("$IFACE")

ETC=$LAB_DIR/etc/wh
NOTIFY="@whlab-su-$LAB_PID-notify"
NOTES=$LAB_DIR/notify.log

# unit_line KEY: the unit's KEY= value as systemd would run it for the
# instance $IFACE, with the unit's paths moved into $LAB_DIR.
unit_line() {
	sed -n "s/^$1=//p" "$UNIT" | head -1 |
		sed -e "s/%i/$IFACE/g" -e 's/%%/%/g' -e 's/\$\$/$/g' \
			-e "s|/usr/bin/wh |$WH |g" -e "s|/etc/wh/|$ETC/|g"
}

# unit_env: systemd's environment of the service.
unit_env() {
	printf '%s\n' env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
		NOTIFY_SOCKET="$NOTIFY" RUNTIME_DIRECTORY=/run/wh:/run/wireguard
}

# run_line KEY: run the unit's KEY= command line in the namespace, in the
# unit's environment; its output in $LAB_DIR/KEY.out.
run_line() {
	local key=$1 line
	line=$(unit_line "$key")
	[ -n "$line" ] || { echo "no $key= in $UNIT" >"$LAB_DIR/$key.out"; return 1; }
	eval "set -- $line"
	# shellcheck disable=SC2046
	ip netns exec "$N" $(unit_env) "$@" >"$LAB_DIR/$key.out" 2>&1 </dev/null
}

# notes_after N PATTERN: a notification line after line N matching PATTERN.
notes_after() {
	tail -n +"$(($1 + 1))" "$NOTES" | grep -q -- "$2"
}

new_ns N || { tap_fail "create the namespace"; tap_done; }
mkdir -p "$ETC" && chmod 700 "$ETC"
(umask 077 && "$WH" genkey workbit 8 >"$ETC/$IFACE.key" &&
	"$WH" genkey workbit 8 >"$LAB_DIR/b.key") || { tap_fail "wh genkey"; tap_done; }
PUB_A=$("$WH" pubkey <"$ETC/$IFACE.key")
PUB_B=$("$WH" pubkey <"$LAB_DIR/b.key")
cat >"$ETC/$IFACE.conf" <<EOF
name sulab
subnet 198.19.0.0/16
workbit 8
trust a 198.19.0.5 $PUB_A
EOF

# ---------------------------------------------------------------- the key file

chmod 0644 "$ETC/$IFACE.key"
if run_line ExecStartPre; then
	tap_fail "ExecStartPre refuses a 0644 key file" "it passed"
elif grep -q "readable by root only" "$LAB_DIR/ExecStartPre.out"; then
	tap_ok "ExecStartPre refuses a 0644 key file ($(head -1 "$LAB_DIR/ExecStartPre.out"))"
else
	tap_fail "ExecStartPre refuses a 0644 key file, saying why" "$(cat "$LAB_DIR/ExecStartPre.out")"
fi
chmod 0640 "$ETC/$IFACE.key"
if run_line ExecStartPre; then
	tap_fail "ExecStartPre refuses a 0640 key file" "it passed"
else
	tap_ok "ExecStartPre refuses a 0640 key file"
fi
mv "$ETC/$IFACE.key" "$ETC/$IFACE.key.away"
if run_line ExecStartPre; then
	tap_fail "ExecStartPre refuses a missing key file" "it passed"
else
	tap_ok "ExecStartPre refuses a missing key file"
fi
mv "$ETC/$IFACE.key.away" "$ETC/$IFACE.key"
chmod 0600 "$ETC/$IFACE.key"
if run_line ExecStartPre; then
	tap_ok "ExecStartPre accepts a 0600 key file owned by root"
else
	tap_fail "ExecStartPre accepts a 0600 key file" "$(cat "$LAB_DIR/ExecStartPre.out")"
fi

# ---------------------------------------------------------------- readiness

# The listener: one line per datagram, its lines joined by '|'; on READY=1
# it adds what the host shows at that moment: the interface (up), its
# address, and the control socket.
ip netns exec "$N" python3 -u - "$NOTIFY" "$IFACE" "$WH_CTL_DIR/$IFACE.sock" >"$NOTES" 2>&1 <<'EOF' &
import os, socket, subprocess, sys
name, iface, ctl = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:])
print("LISTENING", flush=True)
while True:
    msg = s.recv(4096).decode("utf-8", "replace")
    line = msg.strip("\n").replace("\n", "|")
    if "READY=1" in msg.split("\n"):
        out = subprocess.run(["ip", "-o", "addr", "show", "dev", iface],
                             capture_output=True, text=True).stdout
        link = subprocess.run(["ip", "-o", "link", "show", "dev", iface],
                              capture_output=True, text=True).stdout
        line += " :: up=%s addr=%s ctl=%s" % (
            "yes" if ",UP" in link else "no",
            "yes" if "inet 198.19.0.5/16" in out else "no",
            "yes" if os.path.exists(ctl) else "no")
    print(line, flush=True)
EOF
LAB_PIDS+=($!)
wait_for "grep -q LISTENING '$NOTES'" 10 || { tap_fail "the notification listener" "$(cat "$NOTES")"; tap_done; }

line=$(unit_line ExecStart)
eval "set -- $line"
# shellcheck disable=SC2046
ip netns exec "$N" $(unit_env) "$@" >"$LAB_DIR/ExecStart.out" 2>&1 </dev/null &
MAIN=$!
LAB_PIDS+=("$MAIN")
if wait_for "grep -q 'READY=1' '$NOTES'" 20; then
	ready=$(grep -m1 'READY=1' "$NOTES")
	if [ "${ready#*:: }" = "up=yes addr=yes ctl=yes" ]; then
		tap_ok "READY=1 once $IFACE is up with 198.19.0.5/16 and the control socket exists ($ready)"
	else
		tap_fail "READY=1 only once the interface is up with its address" "$ready"
	fi
else
	tap_fail "READY=1 arrives on \$NOTIFY_SOCKET ($NOTIFY)" \
		"notifications: $(cat "$NOTES"); wh: $(cat "$LAB_DIR/ExecStart.out")"
	tap_done
fi
if kill -0 "$MAIN" 2>/dev/null; then
	tap_ok "ExecStart stays in the foreground (the unit's main process)"
else
	tap_fail "ExecStart stays in the foreground" "$(cat "$LAB_DIR/ExecStart.out")"
fi

# ---------------------------------------------------------------- reload

echo "trust b 198.19.0.6 $PUB_B" >>"$ETC/$IFACE.conf"
n=$(wc -l <"$NOTES")
if run_line ExecReload && grep -q "reloaded: 1 members" "$LAB_DIR/ExecReload.out"; then
	tap_ok "ExecReload applies the changed file ($(cat "$LAB_DIR/ExecReload.out"))"
else
	tap_fail "ExecReload applies the changed file" "$(cat "$LAB_DIR/ExecReload.out")"
fi
if wait_for "notes_after $n 'RELOADING=1|MONOTONIC_USEC=[0-9]'" 5 &&
	wait_for "notes_after $((n + 1)) '^READY=1'" 5; then
	tap_ok "RELOADING=1 (with MONOTONIC_USEC), then READY=1"
else
	tap_fail "RELOADING=1 (with MONOTONIC_USEC), then READY=1" "$(tail -n +"$((n + 1))" "$NOTES")"
fi
cp "$ETC/$IFACE.conf" "$LAB_DIR/good.conf"
echo "subnet nonsense" >>"$ETC/$IFACE.conf"
n=$(wc -l <"$NOTES")
if run_line ExecReload; then
	tap_fail "ExecReload of a bad file fails" "$(cat "$LAB_DIR/ExecReload.out")"
else
	tap_ok "ExecReload of a bad file fails ($(head -1 "$LAB_DIR/ExecReload.out"))"
fi
if wait_for "notes_after $((n + 1)) '^READY=1'" 5 && kill -0 "$MAIN" 2>/dev/null; then
	tap_ok "after the bad file the node still runs and is READY=1 again"
else
	tap_fail "after the bad file the node runs, READY=1" "$(tail -n +"$((n + 1))" "$NOTES")"
fi
cp "$LAB_DIR/good.conf" "$ETC/$IFACE.conf"

# ---------------------------------------------------------------- stop

n=$(wc -l <"$NOTES")
kill -TERM "$MAIN"
if wait_for "! kill -0 $MAIN" 10; then
	wait "$MAIN"
	rc=$?
	if [ "$rc" = 0 ]; then
		tap_ok "SIGTERM: the main process exits 0"
	else
		tap_fail "SIGTERM: the main process exits 0" "exit $rc: $(tail -5 "$LAB_DIR/ExecStart.out")"
	fi
else
	tap_fail "SIGTERM: the main process exits" "still running"
fi
if notes_after "$n" '^STOPPING=1'; then
	tap_ok "STOPPING=1 on the way out"
else
	tap_fail "STOPPING=1 on the way out" "$(tail -n +"$((n + 1))" "$NOTES")"
fi
left=""
ip -n "$N" link show "$IFACE" >/dev/null 2>&1 && left+=" interface"
[ -e "$WH_CTL_DIR/$IFACE.sock" ] && left+=" control-socket"
[ -e "$LAB_RUN_DIR/$IFACE.sock" ] && left+=" uapi-socket"
for p in $(ip netns pids "$N" 2>/dev/null); do
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q python3 || left+=" process:$p"
done
if [ -z "$left" ]; then
	tap_ok "stop leaves no process, interface or socket"
else
	tap_fail "stop leaves nothing behind" "left:$left"
fi
tap_done
