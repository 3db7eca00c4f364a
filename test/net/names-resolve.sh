#!/bin/bash
# Host names in the network file's endpoints (issue 13, item 2): a trust
# line's endpoint written as a host name is resolved, and resolved again
# while the member does not answer, so that a name whose address changes
# is followed. There is no boot node and no DHT: the name is the only way
# from a to b.
# Usage: names-resolve.sh WH, where WH is the `wh` binary.
#
#            ns SW (whlab-xs-PID-sw): bridge br0
#   +--------------------------------+
#   |       sa              sb       |
#   +-------|---------------|--------+
#           |               |     (veth)
#   +-------|------+  +-----|----+
#   | eth0 .0.1    |  | eth0 .0.2|
#   | a (member)   |  | b        |
#   | /etc/hosts:  |  | (member) |
#   |  bhost.test  |  +----------+
#   +--------------+
#   outer addresses 198.18.0.N/24, UDP port 62100; overlay 198.19.0.0/16
#
# a's /etc/hosts (ip netns exec binds /etc/netns/NS/hosts over it) first
# gives bhost.test the address 198.18.0.99, where nobody is: a gets no
# session with b. The file is then rewritten in place with b's address:
# a resolves the name again (5 s after the first try, doubling while b
# does not answer) and pings b. Output is TAP.

LAB_TAG=xs
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

WH_CTL_DIR=/var/run/wh
PORT=62100

lab_require_root
lab_require_cmd ip ping ss
lab_require_impl "$WH"

HOSTS_DIRS=()
xs_cleanup() {
	local iface d
	lab_cleanup
	for iface in "${LAB_IFACES[@]}"; do
		rm -f "$WH_CTL_DIR/$iface.sock"
	done
	for d in "${HOSTS_DIRS[@]}"; do
		rm -f "$d/hosts" && rmdir "$d" 2>/dev/null
	done
}

lab_clean_stale_sockets "$WH_CTL_DIR"
lab_init
trap xs_cleanup EXIT

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

# up NODE: `wh up -f` in the background (its log on stderr, in
# $LAB_DIR/NODE.err), ready once its control socket answers.
up() {
	local node=$1 iface=${IFOF[$1]}
	LAB_IFACES+=("$iface")
	ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$node.key" interface "$iface" listen-port "$PORT" -f \
		>"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err" &
	LAB_PIDS+=("$!")
	wait_for "ip netns exec ${NSOF[$node]} $WH show $iface >/dev/null 2>&1" 10
}

show_peer_v4() {
	whx "${NSOF[$1]}" show "${IFOF[$1]}" json | python3 -c '
import json, sys
for p in json.load(sys.stdin).get("peers", []):
    if p["hostname"] == sys.argv[1]:
        print(p["ipv4"])' "$2"
}

# ---------------------------------------------------------------- the lab

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
n=1
for node in a b; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	IPOF[$node]=198.18.0.$n
	n=$((n + 1))
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
HOSTS=/etc/netns/${NSOF[a]}
mkdir -p "$HOSTS" && HOSTS_DIRS+=("$HOSTS") &&
	printf '127.0.0.1 localhost\n198.18.0.99 bhost.test\n' >"$HOSTS/hosts" || lab_ok=0
[ "$lab_ok" = 1 ] && { wait_for "ping_ok ${NSOF[a]} ${IPOF[b]}" 10 || lab_ok=0; }
if [ "$lab_ok" = 1 ] &&
	[ "$(ip netns exec "${NSOF[a]}" getent hosts bhost.test | awk '{print $1}')" = 198.18.0.99 ]; then
	tap_ok "lab: two namespaces; in a, bhost.test is 198.18.0.99 (nobody)"
else
	tap_fail "lab: two namespaces and a's hosts file"
	tap_done
fi

cat >"$LAB_DIR/net.conf" <<EOF
name resolve
subnet 198.19.0.0/16
workbit 4
trust a ${PUB[a]}
trust b ${PUB[b]} bhost.test:$PORT
EOF

for node in b a; do
	if ! up "$node"; then
		tap_fail "wh up $node" "$(cat "$LAB_DIR/$node.err")"
		tap_done
	fi
done
tap_ok "a and b come up; a's only way to b is the name bhost.test"
B4=$(show_peer_v4 a b)
if wait_for "grep -q 'bhost.test is 198.18.0.99:$PORT' $LAB_DIR/a.err" 10 &&
	! ping_ok "${NSOF[a]}" "$B4" >/dev/null; then
	tap_ok "while bhost.test is 198.18.0.99, a does not reach b ($B4)"
else
	tap_fail "while bhost.test is 198.18.0.99, a does not reach b"
fi

# In place: the daemon's /etc/hosts is a bind mount of this file's inode.
printf '127.0.0.1 localhost\n%s bhost.test\n' "${IPOF[b]}" >"$HOSTS/hosts"
t0=$SECONDS
if wait_for "ping_ok ${NSOF[a]} $B4" 45; then
	tap_ok "bhost.test moved to ${IPOF[b]}: a resolved it again and pings b within $((SECONDS - t0)) s"
else
	tap_fail "a follows bhost.test to ${IPOF[b]} and pings b" \
		"$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)" "$(tail -5 "$LAB_DIR/a.err")"
fi
if grep -q "bhost.test is ${IPOF[b]}:$PORT" "$LAB_DIR/a.err"; then
	tap_ok "a's log says where bhost.test is now"
else
	tap_fail "a's log says where bhost.test is now" "$(cat "$LAB_DIR/a.err")"
fi

tap_done
