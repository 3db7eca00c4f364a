#!/bin/bash
# A prefix routed behind a router member (issue 13, item 2): the file's
# `route PREFIX via ROUTER` lines put the prefix in the router's allowed
# IPs on every other member and a route to it into their interfaces; the
# router forwards (its admin enables IP forwarding). A host behind the
# router answers pings from another member over the overlay, IPv4 and
# IPv6; a reload without the routes takes them away.
# Usage: names-route.sh WH, where WH is the `wh` binary.
#
#            ns SW (whlab-xr-PID-sw): bridge br0
#   +-----------------------------------------------+
#   |   sboot            sa              sgw        |
#   +-----|--------------|---------------|----------+
#         |              |               |     (veth)
#   +-----|----+   +-----|----+    +-----|-----------+      +-----------------+
#   | eth0     |   | eth0     |    | eth0            |      | host (H)        |
#   | .0.10    |   | .0.1     |    | .0.2            |      | 203.0.113.5/24  |
#   | boot     |   | a        |    | gw (router)     |      | 2001:db8:5::5   |
#   | public   |   | member   |    | eth1 -----------+------+ eth0            |
#   +----------+   +----------+    | 203.0.113.1/24  |      | default via gw  |
#                                  | 2001:db8:5::1   |      +-----------------+
#                                  | ip_forward on   |
#                                  +-----------------+
#   outer addresses 198.18.0.N/24, UDP port 62099; overlay 198.19.0.0/16
#   routes: 203.0.113.0/24 and 2001:db8:5::/48 via gw
#
# Output is TAP.

LAB_TAG=xr
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

WH_CTL_DIR=/var/run/wh
PORT=62099

lab_require_root
lab_require_cmd ip ping ss wg
lab_require_impl "$WH"

xr_cleanup() {
	local iface
	lab_cleanup
	for iface in "${LAB_IFACES[@]}"; do
		rm -f "$WH_CTL_DIR/$iface.sock"
	done
}

lab_clean_stale_sockets "$WH_CTL_DIR"
lab_init
trap xr_cleanup EXIT

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

up() {
	local node=$1 iface=${IFOF[$1]} pid rc
	LAB_IFACES+=("$iface")
	ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$node.key" interface "$iface" listen-port "$PORT" \
		>"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err"
	rc=$?
	pid=$(daemon_pid "$node" "$iface")
	[ -n "$pid" ] && LAB_PIDS+=("$pid")
	return $rc
}

# ---------------------------------------------------------------- the lab

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
for node in boot a gw; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	case $node in boot) IPOF[$node]=198.18.0.10 ;; a) IPOF[$node]=198.18.0.1 ;; gw) IPOF[$node]=198.18.0.2 ;; esac
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
# The host behind gw, and gw forwarding for it.
[ "$lab_ok" = 1 ] && { new_ns H && veth "${NSOF[gw]}" eth1 "$H" eth0 &&
	addr "${NSOF[gw]}" eth1 203.0.113.1/24 && addr "${NSOF[gw]}" eth1 2001:db8:5::1/64 &&
	addr "$H" eth0 203.0.113.5/24 && addr "$H" eth0 2001:db8:5::5/64 &&
	ip -n "$H" route add default via 203.0.113.1 &&
	ip -n "$H" -6 route add default via 2001:db8:5::1 &&
	ip netns exec "${NSOF[gw]}" sysctl -qw net.ipv4.ip_forward=1 &&
	ip netns exec "${NSOF[gw]}" sysctl -qw net.ipv6.conf.all.forwarding=1 || lab_ok=0; }
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[boot]} ${IPOF[a]}" 10 &&
	wait_for "ping_ok ${NSOF[boot]} ${IPOF[gw]}" 10 &&
	wait_for "ping_ok ${NSOF[gw]} 203.0.113.5" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: three namespaces on a bridge, a host behind gw"
else
	tap_fail "lab: three namespaces on a bridge, a host behind gw"
	tap_done
fi

cat >"$LAB_DIR/net.conf" <<EOF
name routes
subnet 198.19.0.0/16
workbit 4
boot ${PUB[boot]} ${IPOF[boot]}:$PORT
trust a ${PUB[a]}
router gw ${PUB[gw]}
route 203.0.113.0/24 via gw
route 2001:db8:5::/48 via gw
EOF

for node in boot gw a; do
	if ! up "$node"; then
		tap_fail "wh up $node" "$(cat "$LAB_DIR/$node.err")"
		tap_done
	fi
done
tap_ok "boot, gw and a come up on a file with route lines"

routes=$(ip -n "${NSOF[a]}" route show dev "${IFOF[a]}"; ip -n "${NSOF[a]}" -6 route show dev "${IFOF[a]}")
if printf '%s\n' "$routes" | grep -q '^203.0.113.0/24' &&
	printf '%s\n' "$routes" | grep -q '^2001:db8:5::/48'; then
	tap_ok "a routes 203.0.113.0/24 and 2001:db8:5::/48 into its interface"
else
	tap_fail "a routes the prefixes into its interface" "$routes"
fi
if ! ip -n "${NSOF[gw]}" route show dev "${IFOF[gw]}" | grep -q '^203.0.113.0/24'; then
	tap_ok "gw, the router, does not route its own prefix into the overlay"
else
	tap_fail "gw keeps its prefix on its LAN" "$(ip -n "${NSOF[gw]}" route)"
fi
allowed=$(ip netns exec "${NSOF[a]}" wg show "${IFOF[a]}" allowed-ips | grep -F "$(printf '%s' "${PUB[gw]}" | tr -- '-_' '+/')")
if printf '%s' "$allowed" | grep -q '203.0.113.0/24' && printf '%s' "$allowed" | grep -q '2001:db8:5::/48'; then
	tap_ok "gw's allowed IPs on a include its routes"
else
	tap_fail "gw's allowed IPs on a include its routes" "$allowed"
fi

if wait_for "ping_ok ${NSOF[a]} 203.0.113.5" 20; then
	tap_ok "a pings the host behind gw (203.0.113.5) across the overlay"
else
	tap_fail "a pings 203.0.113.5 across the overlay" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
fi
if wait_for "ping_ok ${NSOF[a]} 2001:db8:5::5" 10; then
	tap_ok "and over IPv6 (2001:db8:5::5)"
else
	tap_fail "a pings 2001:db8:5::5 across the overlay"
fi

# A reload without the routes takes them away.
sed -i '/^route /d' "$LAB_DIR/net.conf"
out=$(whx "${NSOF[a]}" reload "${IFOF[a]}" 2>&1)
if [ $? -eq 0 ] && ! ip -n "${NSOF[a]}" route show dev "${IFOF[a]}" | grep -q '^203.0.113.0/24' &&
	! ip netns exec "${NSOF[a]}" wg show "${IFOF[a]}" allowed-ips | grep -q '203.0.113.0/24'; then
	tap_ok "a reload without the route lines removes the route and the allowed IP"
else
	tap_fail "a reload without the route lines removes them" "$out" \
		"$(ip -n "${NSOF[a]}" route)"
fi

tap_done
