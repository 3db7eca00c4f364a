#!/bin/bash
# wg-quick drives a userspace implementation: usage wgquick.sh IMPL, where
# IMPL is the path of a binary that wg-quick runs as `IMPL IFACE` (it must
# create IFACE and /var/run/wireguard/IFACE.sock, then return, daemonized).
# The peer is wireguard-go run in the foreground (`wireguard-go -f`).
#
#  ns Q (whlab-wq-PID-q)                        ns P (whlab-wq-PID-p)
#  +------------------------------+             +------------------------------+
#  | wg-quick up wq<PID>q.conf    |   tunnel    | wireguard-go -f wq<PID>p     |
#  |   IMPL, wg iface wq<PID>q    |<===========>|   wg iface wq<PID>p          |
#  |   192.0.2.1/24  fd00::1/64   |             |   192.0.2.2/24  fd00::2/64   |
#  |                              |             |                              |
#  | veth vq  198.18.0.1/24       |-------------| veth vp  198.18.0.2/24       |
#  |          2001:db8:1::1/64    |             |          2001:db8:1::2/64    |
#  +------------------------------+             +------------------------------+
#
# Cases: wg-quick up succeeds; interface, addresses, MTU and `wg show` match
# the file; ping over IPv4 and IPv6 inside; counters; `wg syncconf` changes a
# peer without dropping the session; wg-quick down removes the interface and
# the implementation exits. Output is TAP; the exit status is the number of
# failed cases.

LAB_TAG=wq
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 IMPL" >&2; exit 2; }
IMPL=$1

if [ "$IMPL" = wireguard-go ]; then
	tap_skip_all "Debian's wireguard-go dies in daemon mode on this host, so it cannot be wg-quick's userspace implementation here; use test/net/wireguard-go-daemon or our binary"
fi
IMPL=$(lab_impl_abs "$IMPL")

lab_require_root
lab_require_cmd ip wg wg-quick ping timeout
lab_require_impl wireguard-go
lab_require_impl "$IMPL"
lab_init

echo "# wg-quick with WG_QUICK_USERSPACE_IMPLEMENTATION=$IMPL, peer wireguard-go"

new_ns Q && new_ns P || { tap_fail "create namespaces"; tap_done; }
IQ=$(wg_iface q)
IP=$(wg_iface p)
CONF=$LAB_DIR/$IQ.conf
LAB_IFACES+=("$IQ")

wait_ping() {
	wait_for "ping_ok $(printf '%q ' "$@")" 10
}

diag() {
	echo "wg-quick output:"
	tail -n 30 "$LAB_DIR/wg-quick.log" 2>/dev/null
	echo "wg show Q:"
	wgx "$Q" show "$IQ" 2>&1
	echo "wg show P:"
	wgx "$P" show "$IP" 2>&1
	echo "log P (wireguard-go):"
	impl_log "$IP"
}

fail() {
	local desc=$1
	shift
	tap_fail "$desc" "$@" "$(diag)"
}

if veth "$Q" vq "$P" vp &&
	addr "$Q" vq 198.18.0.1/24 && addr "$Q" vq 2001:db8:1::1/64 &&
	addr "$P" vp 198.18.0.2/24 && addr "$P" vp 2001:db8:1::2/64 &&
	wait_ping "$Q" 198.18.0.2 && wait_ping "$Q" 2001:db8:1::2; then
	tap_ok "lab: namespaces over veth, outer IPv4 and IPv6 reachable"
else
	tap_fail "lab: namespaces over veth, outer IPv4 and IPv6 reachable"
	tap_done
fi

PUBQ=$(gen_key q) && PUBP=$(gen_key p) || { tap_fail "generate keys"; tap_done; }

# The peer: wireguard-go in the foreground, no endpoint (it only answers).
if start_impl "$P" "$IP" wireguard-go 2>"$LAB_DIR/peer.err" &&
	wgx "$P" set "$IP" private-key "$LAB_DIR/p.key" listen-port 51821 \
		peer "$PUBQ" allowed-ips 192.0.2.1/32,fd00::1/128 &&
	addr "$P" "$IP" 192.0.2.2/24 && addr "$P" "$IP" fd00::2/64 &&
	ip -n "$P" link set "$IP" up; then
	tap_ok "peer: wireguard-go up in ns P"
else
	fail "peer: wireguard-go up in ns P" "$(cat "$LAB_DIR/peer.err")"
	tap_done
fi

# An ordinary wg-quick file; its name gives the interface name.
(
	umask 077
	cat >"$CONF" <<EOF
[Interface]
Address = 192.0.2.1/24, fd00::1/64
ListenPort = 51820
PrivateKey = $(cat "$LAB_DIR/q.key")
MTU = 1380

[Peer]
PublicKey = $PUBP
AllowedIPs = 192.0.2.2/32, fd00::2/128
Endpoint = 198.18.0.2:51821
PersistentKeepalive = 25
EOF
)

if timeout 60 ip netns exec "$Q" env WG_QUICK_USERSPACE_IMPLEMENTATION="$IMPL" \
	wg-quick up "$CONF" >"$LAB_DIR/wg-quick.log" 2>&1 </dev/null; then
	tap_ok "wg-quick up with WG_QUICK_USERSPACE_IMPLEMENTATION"
else
	fail "wg-quick up with WG_QUICK_USERSPACE_IMPLEMENTATION"
	tap_done
fi
# The daemon wg-quick started is the only process in ns Q: remember it so
# that the cleanup and the "down" case can find it.
QPIDS=$(ip netns pids "$Q")
echo "# implementation pid(s) in ns Q: $QPIDS"

link=$(ip -n "$Q" -o link show "$IQ" 2>&1)
if [[ $link == *"mtu 1380"* ]] && [[ $link == *"<"*UP*">"* ]]; then
	tap_ok "interface $IQ is up with MTU 1380"
else
	fail "interface $IQ is up with MTU 1380" "$link"
fi

addrs=$(ip -n "$Q" -o addr show dev "$IQ" 2>&1)
if [[ $addrs == *"inet 192.0.2.1/24"* ]] && [[ $addrs == *"inet6 fd00::1/64"* ]]; then
	tap_ok "addresses 192.0.2.1/24 and fd00::1/64 on $IQ"
else
	fail "addresses 192.0.2.1/24 and fd00::1/64 on $IQ" "$addrs"
fi

show_ok=1
why=
check() {
	local got
	got=$(wgx "$Q" show "$IQ" "$1" 2>&1)
	[ "$got" = "$2" ] || { show_ok=0; why="$why $1: got '$got' want '$2';"; }
}
check public-key "$PUBQ"
check listen-port 51820
check endpoints "$PUBP	198.18.0.2:51821"
check persistent-keepalive "$PUBP	25"
allowed=$(wg_field "$Q" "$IQ" "$PUBP" allowed-ips)
[ "$allowed" = "192.0.2.2/32 fd00::2/128" ] || { show_ok=0; why="$why allowed-ips: got '$allowed';"; }
if [ "$show_ok" = 1 ]; then
	tap_ok "wg show matches the file (key, port, endpoint, allowed IPs, keepalive)"
else
	fail "wg show matches the file" "$why"
fi

if wait_ping "$Q" 192.0.2.2 && wait_ping "$Q" fd00::2 && wait_ping "$P" 192.0.2.1; then
	tap_ok "ping the wireguard-go peer over the tunnel (IPv4 and IPv6 inside)"
else
	fail "ping the wireguard-go peer over the tunnel (IPv4 and IPv6 inside)"
fi

rx=$(wg_rx "$Q" "$IQ" "$PUBP")
tx=$(wg_tx "$Q" "$IQ" "$PUBP")
age=$(wg_handshake_age "$Q" "$IQ" "$PUBP") || age=none
if [ "${rx:-0}" -gt 0 ] 2>/dev/null && [ "${tx:-0}" -gt 0 ] 2>/dev/null &&
	[ "$age" != none ] && [ "$age" -le 120 ]; then
	tap_ok "wg show: rx $rx, tx $tx bytes, handshake $age s ago"
else
	fail "wg show: transfer counters and latest handshake" "rx=$rx tx=$tx age=$age"
fi

# wg syncconf applies a changed file without touching what did not change:
# the session (and so the handshake time) must survive.
hs_before=$(wg_field "$Q" "$IQ" "$PUBP" latest-handshakes)
sed -i 's/^PersistentKeepalive = 25$/PersistentKeepalive = 15/' "$CONF"
if ip netns exec "$Q" bash -c 'wg syncconf "$1" <(wg-quick strip "$2")' _ "$IQ" "$CONF" \
	>>"$LAB_DIR/wg-quick.log" 2>&1 &&
	[ "$(wg_field "$Q" "$IQ" "$PUBP" persistent-keepalive)" = 15 ] &&
	[ "$(wg_field "$Q" "$IQ" "$PUBP" latest-handshakes)" = "$hs_before" ] &&
	ping_ok "$Q" 192.0.2.2 >/dev/null; then
	tap_ok "wg syncconf changes the keepalive and keeps the session"
else
	fail "wg syncconf changes the keepalive and keeps the session" \
		"keepalive $(wg_field "$Q" "$IQ" "$PUBP" persistent-keepalive)," \
		"handshake $hs_before -> $(wg_field "$Q" "$IQ" "$PUBP" latest-handshakes)"
fi

# wg-quick down deletes the link (or, in newer wg-quick, the socket); the
# implementation must notice and remove the other.
why=
if ! timeout 60 ip netns exec "$Q" wg-quick down "$CONF" >>"$LAB_DIR/wg-quick.log" 2>&1 </dev/null; then
	why="wg-quick down failed"
elif ! wait_for "! ip -n '$Q' link show '$IQ'" 10; then
	why="interface still there after 10 s"
elif ! wait_for "[ ! -e '$LAB_RUN_DIR/$IQ.sock' ]" 10; then
	why="UAPI socket still there after 10 s"
fi
if [ -z "$why" ]; then
	tap_ok "wg-quick down removes the interface and the UAPI socket"
else
	fail "wg-quick down removes the interface and the UAPI socket" "$why"
fi

if wait_for "[ -z \"\$(ip netns pids '$Q')\" ]" 10; then
	tap_ok "the implementation exited after wg-quick down"
else
	fail "the implementation exited after wg-quick down" "still running: $(ip netns pids "$Q")"
fi

tap_done
