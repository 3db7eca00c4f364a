#!/bin/bash
# An admin's mistakes (issue 17, findings 8, 9 and 13): a public key given
# as the private key, a key file others may read, a node whose key is in
# no trust line, a network file that is a FIFO on reload, `wh up
# <(cat net.conf)`, and `wh show` as an unprivileged user.
# Usage: admin.sh WH, where WH is the `wh` binary.
#
#            ns SW (whlab-ad-PID-sw): bridge br0
#   +-----------------------------------------------+
#   |   sboot            sa              sb         |
#   +-----|--------------|---------------|----------+
#         |              |               |     (veth)
#   +-----|----+   +-----|----+    +-----|----+
#   | eth0     |   | eth0     |    | eth0     |
#   | .0.10    |   | .0.1     |    | .0.2     |
#   | boot     |   | a        |    | b        |
#   | public   |   | member   |    | member   |
#   +----------+   +----------+    +----------+
#   outer addresses 198.18.0.N/24, UDP port 62097; overlay 198.19.0.0/16
#
# boot's key file is 0644: it comes up with a warning that the file is
# world accessible, and says on stderr that it runs as a public node. A
# key file holding a member's public key (in the form `wh pubkey` prints,
# and in wg's form) is refused, naming the file and what it holds. a runs
# from a regular file, b from `<(cat net.conf)`. a's file is then
# replaced by a FIFO: `wh reload` fails at once saying it is not a regular
# file, while a keeps pinging b and `wh show` answers; `wh reload` of b
# says its file cannot be re-read. `wh show` run as nobody says
# "permission denied: run as root". Output is TAP.

LAB_TAG=ad
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62097

lab_require_root
lab_require_cmd ip ping setpriv timeout mkfifo
lab_require_impl "$WH"

ad_cleanup() {
	# A daemon blocked opening the FIFO (the bug) is released first.
	[ -p "$LAB_DIR/a.conf" ] && timeout 2 sh -c ": >'$LAB_DIR/a.conf'" 2>/dev/null
	lab_wh_cleanup
}

lab_wh_init ad_cleanup

declare -A NSOF=() IFOF=() IPOF=() PUB=()

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

daemon_pid() {
	ip netns exec "${NSOF[$1]}" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/$2.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# up NODE CONF KEY [IFACE]: `wh up`, its stderr in $LAB_DIR/NODE.err; records the
# daemon's PID for the clean-up.
up() {
	local node=$1 conf=$2 key=$3 iface=${4:-${IFOF[$1]}} pid rc
	LAB_IFACES+=("$iface")
	ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$conf" private-key "$key" \
		interface "$iface" listen-port "$PORT" >"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err"
	rc=$?
	pid=$(daemon_pid "$node" "$iface")
	[ -n "$pid" ] && LAB_PIDS+=("$pid")
	return $rc
}

overlay_v4() {
	whx "${NSOF[a]}" show "${IFOF[a]}" json | python3 -c '
import json, sys
s = json.load(sys.stdin)
for p in s.get("peers", []):
    if p["hostname"] == sys.argv[1]:
        print(p["ipv4"])' "$1"
}

# ---------------------------------------------------------------- the lab

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
n=1
for node in boot a b; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	if [ "$node" = boot ]; then IPOF[$node]=198.18.0.10; else IPOF[$node]=198.18.0.$n; n=$((n + 1)); fi
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[boot]} ${IPOF[a]}" 10 &&
	wait_for "ping_ok ${NSOF[boot]} ${IPOF[b]}" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: three namespaces on a bridge"
else
	tap_fail "lab: three namespaces on a bridge"
	tap_done
fi
cat >"$LAB_DIR/net.conf" <<EOF
name adlab
subnet 198.19.0.0/16
workbit 8
boot ${PUB[boot]} 198.18.0.10:$PORT
trust a ${PUB[a]}
trust b ${PUB[b]}
EOF
cp "$LAB_DIR/net.conf" "$LAB_DIR/a.conf"

# ---------------------------------------------------------------- key files (finding 8)

# refused_key DESC FILE WORD: `wh up` with FILE as the private key fails,
# naming FILE and saying WORD.
refused_key() {
	local desc=$1 file=$2 word=$3 iface
	iface="ad${LAB_PID}x"
	if up a "$LAB_DIR/net.conf" "$file" "$iface"; then
		tap_fail "$desc: refused" "wh up succeeded: $(cat "$LAB_DIR/a.err")"
		kill "$(daemon_pid a "$iface")" 2>/dev/null
		wait_for "[ -z \"\$(daemon_pid a $iface)\" ]" 5
	elif grep -qF "$file" "$LAB_DIR/a.err" && grep -qi "$word" "$LAB_DIR/a.err"; then
		tap_ok "$desc: refused ($(head -1 "$LAB_DIR/a.err"))"
	else
		tap_fail "$desc: refused naming the file and '$word'" "$(cat "$LAB_DIR/a.err")"
	fi
}

(umask 077 && printf '%s\n' "${PUB[a]}" >"$LAB_DIR/a.pub")
refused_key "a key file in the form wh pubkey prints" "$LAB_DIR/a.pub" "public key"
(umask 077 && printf '%s=\n' "$(printf '%s' "${PUB[a]}" | tr -- '-_' '+/')" >"$LAB_DIR/a.wgpub")
refused_key "a key file holding member a's public key (wg's form)" "$LAB_DIR/a.wgpub" "public key of"

chmod 0644 "$LAB_DIR/boot.key"
if up boot "$LAB_DIR/net.conf" "$LAB_DIR/boot.key"; then
	tap_ok "boot comes up with a 0644 key file"
else
	tap_fail "boot comes up with a 0644 key file" "$(cat "$LAB_DIR/boot.err")"
	tap_done
fi
if grep -q "boot.key.* world accessible" "$LAB_DIR/boot.err"; then
	tap_ok "a 0644 key file is warned about ($(grep -m1 'world accessible' "$LAB_DIR/boot.err"))"
else
	tap_fail "a 0644 key file is warned about on stderr" "$(cat "$LAB_DIR/boot.err")"
fi
if grep -q "public node (not a member)" "$LAB_DIR/boot.err"; then
	tap_ok "a node whose key is in no trust line says it runs as a public node"
else
	tap_fail "a node whose key is in no trust line says so" "$(cat "$LAB_DIR/boot.err")"
fi

# ---------------------------------------------------------------- network files (finding 9)

if up a "$LAB_DIR/a.conf" "$LAB_DIR/a.key"; then
	tap_ok "wh up a"
else
	tap_fail "wh up a" "$(cat "$LAB_DIR/a.err")"
	tap_done
fi
LAB_IFACES+=("${IFOF[b]}")
ip netns exec "${NSOF[b]}" "$WH" up <(cat "$LAB_DIR/net.conf") private-key "$LAB_DIR/b.key" \
	interface "${IFOF[b]}" listen-port "$PORT" >"$LAB_DIR/b.out" 2>"$LAB_DIR/b.err"
rc=$?
pid=$(daemon_pid b "${IFOF[b]}")
[ -n "$pid" ] && LAB_PIDS+=("$pid")
if [ $rc = 0 ] && [ -n "$pid" ]; then
	tap_ok "wh up <(cat net.conf) comes up"
else
	tap_fail "wh up <(cat net.conf) comes up" "exit $rc: $(cat "$LAB_DIR/b.err")"
	# The rest needs b: from a regular file, then.
	up b "$LAB_DIR/net.conf" "$LAB_DIR/b.key" || { tap_fail "wh up b" "$(cat "$LAB_DIR/b.err")"; tap_done; }
fi

B4=$(overlay_v4 b)
if [ -n "$B4" ] && wait_for "ping_ok ${NSOF[a]} $B4" 15; then
	tap_ok "a pings b ($B4) over the overlay"
else
	tap_fail "a pings b over the overlay" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
	tap_done
fi

rm -f "$LAB_DIR/a.conf" && mkfifo -m 0600 "$LAB_DIR/a.conf"
ip netns exec "${NSOF[a]}" ping -c 30 -i 0.1 -W 1 "$B4" >"$LAB_DIR/ping.out" 2>&1 &
ping_pid=$!
t0=$(date +%s%N)
out=$(timeout 5 ip netns exec "${NSOF[a]}" "$WH" reload "${IFOF[a]}" 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc != 0 ] && [ $rc != 124 ] && [ $ms -lt 2000 ] && grep -q "not a regular file" <<<"$out"; then
	tap_ok "wh reload of a FIFO fails at once ($ms ms: $out)"
else
	tap_fail "wh reload of a FIFO fails at once with 'not a regular file'" "exit $rc after $ms ms: $out"
fi
if out=$(timeout 3 ip netns exec "${NSOF[a]}" "$WH" show "${IFOF[a]}" 2>&1); then
	tap_ok "wh show answers after the FIFO reload"
else
	tap_fail "wh show answers after the FIFO reload" "$out"
fi
wait "$ping_pid"
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/ping.out")
if [ "${recv:-0}" -ge 29 ]; then
	tap_ok "a pings b through the FIFO reload ($recv of 30)"
else
	tap_fail "a pings b through the FIFO reload" "$(tail -2 "$LAB_DIR/ping.out")"
fi
rm -f "$LAB_DIR/a.conf"

out=$(timeout 5 ip netns exec "${NSOF[b]}" "$WH" reload "${IFOF[b]}" 2>&1)
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ] && grep -q "re-reads" <<<"$out"; then
	tap_ok "wh reload of a node started from <(...) says why not ($out)"
else
	tap_fail "wh reload of a node started from <(...) says why not" "exit $rc: $out"
fi

# ---------------------------------------------------------------- permissions (finding 13)

out=$(ip netns exec "${NSOF[a]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$WH" show "${IFOF[a]}" 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q "permission denied: run as root" <<<"$out"; then
	tap_ok "wh show as nobody: $out"
else
	tap_fail "wh show as nobody says 'permission denied: run as root'" "exit $rc: $out"
fi
out=$(ip netns exec "${NSOF[a]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$WH" show all 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q "permission denied: run as root" <<<"$out"; then
	tap_ok "wh show all as nobody: $(head -1 <<<"$out")"
else
	tap_fail "wh show all as nobody says 'permission denied: run as root'" "exit $rc: $out"
fi

tap_done
