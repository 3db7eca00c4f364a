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

PORT=62100

lab_require_root
lab_require_cmd ip ping ss
lab_require_impl "$WH"

# shellcheck source=names-lib.sh
. "$(dirname "$0")/names-lib.sh"
names_init
NAMES_FG=1

# ---------------------------------------------------------------- the lab

lab_ok=1
names_lab a=198.18.0.1 b=198.18.0.2 || lab_ok=0
HOSTS=/etc/netns/${NSOF[a]}
mkdir -p "$HOSTS" && NAMES_HOSTS_DIRS+=("$HOSTS") &&
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
	if ! names_up "$node" net.conf "$node.key"; then
		tap_fail "wh up $node" "$(cat "$LAB_DIR/$node.err")"
		tap_done
	fi
done
tap_ok "a and b come up; a's only way to b is the name bhost.test"
B4=$(names_peer_field a b ipv4)
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
