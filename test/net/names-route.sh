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

PORT=62099

lab_require_root
lab_require_cmd ip ping ss wg
lab_require_impl "$WH"

# shellcheck source=names-lib.sh
. "$(dirname "$0")/names-lib.sh"
names_init

# ---------------------------------------------------------------- the lab

lab_ok=1
names_lab boot=198.18.0.10 a=198.18.0.1 gw=198.18.0.2 || lab_ok=0
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
	if ! names_up "$node" net.conf "$node.key"; then
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
