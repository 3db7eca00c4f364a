#!/bin/bash
# The overlay's name service (src/node/dns.c, doc/names.md): `ping node_b`
# after `wh up`, dig against the responder, a reload that renames a
# member, the hosts-file opt-in, the systemd-resolved wiring (through a
# stand-in resolvectl), and no answer to a host outside the overlay.
# Usage: dns.sh WH, where WH is the `wh` binary.
#
#                 ns SW (whlab-dn-PID-sw): bridge br0
#   +------------------------------------------------------+
#   |  sboot        sa            sb            sx         |
#   +----|-----------|-------------|-------------|---------+
#        |           |             |             |   (veth)
#   +----|---+ +-----|-----+ +-----|-----+ +-----|------+
#   | eth0   | | eth0 .0.1 | | eth0 .0.2 | | eth0 .0.9  |
#   | .0.10  | | node_a    | | node_b    | | outsider:  |
#   | boot   | | dn<P>a    | | dn<P>b    | | no member, |
#   | public | | hosts FILE| | resolvectl| | a route to |
#   +--------+ +-----------+ | stand-in  | | a's overlay|
#                            +-----------+ +------------+
#   outer addresses 198.18.0.N/24, UDP port 62096
#   overlay: subnet 198.51.100.0/24 (node_b static at .7), IPv6 derived
#
# The network file is the seeds' (WireHub's announcement) with
# documentation addresses; its boot line names the bootstrap node by a
# host name (boot.lab, in the namespaces' /etc/netns/NS/hosts).  Each
# member's namespace has /etc/netns/NS/resolv.conf pointing at its own
# node (a at its IPv4, b at its IPv6), which `ip netns exec` mounts over
# /etc/resolv.conf.
#
# a is written as the seeds' announcement writes its members (`trust
# a.test KEY`, a dotted hostname already under the network's name): it
# answers as a.test and as a; b as node_b, the seeds' first demonstration.

LAB_TAG=dn
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62096

lab_require_root
lab_require_cmd ip ping python3 timeout dig getent
lab_require_impl "$WH"

dn_cleanup() {
	lab_wh_cleanup
	lab_netns_etc_cleanup
}

lab_wh_init dn_cleanup

declare -A NSOF=() IFOF=() IPOF=() PUB=() V4=() V6=() WHPID=()

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

# The network file: the seeds' example with documentation addresses.
# $1: the hostname b goes by.
write_conf() {
	cat <<EOF
name test               # network name is 'test'
subnet 198.51.100.0/24  # overlay subnetwork
workbit 8               # PoW parameter for DHT security

# a public bootstrap node, by host name
boot ${PUB[boot]} boot.lab:$PORT

trust a.test ${PUB[a]}
trust $1 198.51.100.7 ${PUB[b]}
EOF
}

# start_node NODE ARGS...: `wh up` in the foreground in NODE's namespace;
# waits for its control socket (and a member's interface).
start_node() {
	local node=$1 ns=${NSOF[$1]} iface=${IFOF[$1]} pid cond
	shift
	rm -f "$WH_CTL_DIR/$iface.sock" "$LAB_RUN_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "$ns" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "${NODE_ENV[@]}" \
		"$WH" up "$LAB_DIR/$node.conf" private-key "$LAB_DIR/$node.key" \
		interface "$iface" listen-port "$PORT" "$@" -f \
		>>"$LAB_DIR/$iface.log" 2>&1 </dev/null &
	pid=$!
	LAB_PIDS+=("$pid")
	WHPID[$node]=$pid
	cond="[ -S $WH_CTL_DIR/$iface.sock ]"
	[ "$node" = boot ] || cond="$cond && ip -n $ns link show $iface"
	if ! wait_for "$cond" 10; then
		echo "wh up did not create $iface and its control socket in $ns"
		impl_log "$iface"
		return 1
	fi
	kill -0 "$pid" 2>/dev/null
}

# inspect_dns NODE FIELD: a counter of `wh inspect`'s "dns" object.
inspect_dns() {
	whx "${NSOF[$1]}" inspect "${IFOF[$1]}" |
		python3 -c 'import json,sys; d=json.load(sys.stdin)["dns"]; print(eval(sys.argv[1], {}, d))' "$2"
}

# dq NODE ARGS...: dig in NODE's namespace, short timeouts.
dq() {
	local ns=${NSOF[$1]}
	shift
	ip netns exec "$ns" timeout 10 dig +tries=1 +time=2 "$@"
}

# ---------------------------------------------------------------- the lab

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
for node in boot a b x; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	case $node in boot) IPOF[$node]=198.18.0.10 ;; a) IPOF[$node]=198.18.0.1 ;;
	b) IPOF[$node]=198.18.0.2 ;; x) IPOF[$node]=198.18.0.9 ;; esac
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	[ "$node" = x ] && continue
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
	mkdir -p "/etc/netns/${NSOF[$node]}" &&
		printf '127.0.0.1\tlocalhost\n198.18.0.10\tboot.lab\n' >"/etc/netns/${NSOF[$node]}/hosts" ||
		{ lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && wait_for "ping_ok ${NSOF[x]} 198.18.0.1 && ping_ok ${NSOF[x]} 198.18.0.2" 10 ||
	lab_ok=0
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: five namespaces on a bridge, keys with workbit 8"
else
	tap_fail "lab: five namespaces on a bridge" "$(ip -n "$SW" link 2>&1)"
	tap_done
fi

for node in boot a b; do write_conf node_b >"$LAB_DIR/$node.conf"; done

# a keeps the names in a hosts file of its own (never the real
# /etc/hosts), with a line of its own and mode 0640 to keep.
HOSTS=$LAB_DIR/hosts-a
printf '# a line of the admin\n192.0.2.1\tprinter\n' >"$HOSTS"
chmod 0640 "$HOSTS"
# b runs a stand-in for resolvectl that writes down what it is asked.
cat >"$LAB_DIR/resolvectl" <<EOF
#!/bin/sh
echo "\$*" >>"$LAB_DIR/resolvectl.log"
EOF
chmod +x "$LAB_DIR/resolvectl"

NODE_ENV=()
start_node boot >"$LAB_DIR/start.err" 2>&1 || { tap_fail "wh up boot" "$(cat "$LAB_DIR/start.err")"; tap_done; }
start_node a hosts "$HOSTS" >"$LAB_DIR/start.err" 2>&1 ||
	{ tap_fail "wh up node_a" "$(cat "$LAB_DIR/start.err")"; tap_done; }
NODE_ENV=(WH_RESOLVECTL="$LAB_DIR/resolvectl")
start_node b >"$LAB_DIR/start.err" 2>&1 ||
	{ tap_fail "wh up node_b" "$(cat "$LAB_DIR/start.err")"; tap_done; }
NODE_ENV=()

for node in a b; do
	js=$(whx "${NSOF[$node]}" show "${IFOF[$node]}" json)
	V4[$node]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ipv4"])' "$js")
	V6[$node]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ipv6"])' "$js")
done
if [ "${V4[b]}" = 198.51.100.7 ] && [ -n "${V4[a]}" ] && [ -n "${V6[a]}" ] && [ -n "${V6[b]}" ]; then
	tap_ok "wh up: boot, node_a (${V4[a]} ${V6[a]}), node_b (${V4[b]} ${V6[b]})"
else
	tap_fail "wh up: the members' addresses" "a: ${V4[a]} ${V6[a]}, b: ${V4[b]} ${V6[b]}"
fi
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "${V4[a]}" >"/etc/netns/${NSOF[a]}/resolv.conf"
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "${V6[b]}" >"/etc/netns/${NSOF[b]}/resolv.conf"

if wait_for "ping_ok ${NSOF[a]} ${V4[b]} && ping_ok ${NSOF[b]} ${V4[a]}" 20; then
	tap_ok "the overlay: a and b ping each other by address (boot found by its host name)"
else
	tap_fail "the overlay: a and b ping each other by address" "$(impl_log "${IFOF[a]}")"
fi

# ---------------------------------------------------------------- names

# check_out DESC WANT CMD...: CMD's output must match the regex WANT.
check_out() {
	local desc=$1 want=$2 out
	shift 2
	out=$("$@" 2>&1)
	if grep -qE -- "$want" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "want: $want" "$out"
	fi
}

check_out "a: ping -c1 node_b" "1 received" nsx "${NSOF[a]}" ping -n -c1 -W2 node_b
check_out "a: ping -c1 node_b.test" "1 received" nsx "${NSOF[a]}" ping -n -c1 -W2 node_b.test
check_out "a: ping -6 -c1 node_b (AAAA)" "1 received" nsx "${NSOF[a]}" ping -6 -n -c1 -W2 node_b
check_out "b (resolver on its IPv6): ping -c1 a.test" "1 received" nsx "${NSOF[b]}" ping -n -c1 -W2 a.test
check_out "b: ping -c1 a" "1 received" nsx "${NSOF[b]}" ping -n -c1 -W2 a
check_out "a: getent hosts node_b" "^(${V4[b]}|${V6[b]}) +node_b" nsx "${NSOF[a]}" getent hosts node_b
check_out "a: getent ahostsv4 node_b.test" "^${V4[b]} " nsx "${NSOF[a]}" getent ahostsv4 node_b.test
check_out "b: getent ahostsv6 a.test" "^${V6[a]} " nsx "${NSOF[b]}" getent ahostsv6 a.test

A4=${V4[a]}
out=$(dq a @"$A4" node_b A)
if grep -q "status: NOERROR" <<<"$out" && grep -q "flags: qr aa rd;" <<<"$out" &&
	grep -qE "^node_b\.\s+10\s+IN\s+A\s+${V4[b]}$" <<<"$out"; then
	tap_ok "dig @a node_b A: NOERROR, flags qr aa rd (no ra), TTL 10, ${V4[b]}"
else
	tap_fail "dig @a node_b A" "$out"
fi
out=$(dq a @"$A4" node_b.TEST AAAA +short)
[ "$out" = "${V6[b]}" ] && tap_ok "dig @a node_b.TEST AAAA: ${V6[b]}" ||
	tap_fail "dig @a node_b.TEST AAAA" "$out"
out=$(dq a @"$A4" -x "${V4[b]}" +short)
[ "$out" = "node_b.test." ] && tap_ok "dig @a -x ${V4[b]}: node_b.test." ||
	tap_fail "dig @a -x ${V4[b]}" "$out"
out=$(dq a @"$A4" -x "${V6[b]}" +short)
[ "$out" = "node_b.test." ] && tap_ok "dig @a -x ${V6[b]}: node_b.test." ||
	tap_fail "dig @a -x ${V6[b]}" "$out"
out=$(dq a @"$A4" example.com A)
if grep -q "status: REFUSED" <<<"$out" && ! grep -q "flags:.* ra" <<<"$out"; then
	tap_ok "dig @a example.com: REFUSED, no recursion"
else
	tap_fail "dig @a example.com: REFUSED" "$out"
fi
check_out "dig @a nope.test: NXDOMAIN" "status: NXDOMAIN" dq a @"$A4" nope.test A
out=$(dq a @"$A4" +tcp node_b A)
if grep -q "status: NOERROR" <<<"$out" && grep -qE "IN\s+A\s+${V4[b]}$" <<<"$out" &&
	grep -q "(TCP)" <<<"$out"; then
	tap_ok "dig +tcp @a node_b: ${V4[b]} over TCP"
else
	tap_fail "dig +tcp @a node_b" "$out"
fi
out=$(dq b @"${V6[b]}" +tcp a.test AAAA +short)
[ "$out" = "${V6[a]}" ] && tap_ok "dig +tcp @b's IPv6 a.test AAAA: ${V6[a]}" ||
	tap_fail "dig +tcp @b's IPv6 a.test AAAA" "$out"
out=$(dq a @"${V4[b]}" -q a -t A +short)
[ "$out" = "${V4[a]}" ] && tap_ok "dig from a to b's responder over the tunnel, the bare name a: ${V4[a]}" ||
	tap_fail "dig from a to b's responder over the tunnel" "$out"

# ---------------------------------------------------------------- the host

out=$(cat "$LAB_DIR/resolvectl.log" 2>&1)
if grep -qx "dns ${IFOF[b]} ${V4[b]} ${V6[b]}" <<<"$out" &&
	grep -qx "domain ${IFOF[b]} ~test" <<<"$out"; then
	tap_ok "b: resolvectl dns ${IFOF[b]} ${V4[b]} ${V6[b]}; resolvectl domain ${IFOF[b]} ~test"
else
	tap_fail "b: resolvectl asked for the link's server and routing domain" "$out"
fi
out=$(cat "$HOSTS")
if grep -qx "# a line of the admin" <<<"$out" && grep -qxP "${V4[b]}\tnode_b.test node_b" <<<"$out" &&
	grep -qxP "${V6[a]}\ta.test a" <<<"$out" &&
	grep -qx "# wh ${IFOF[a]} begin" <<<"$out" && grep -qx "# wh ${IFOF[a]} end" <<<"$out" &&
	[ "$(stat -c %a "$HOSTS")" = 640 ]; then
	tap_ok "a: hosts file holds the members in its block, the admin's lines and mode 0640 kept"
else
	tap_fail "a: hosts file block" "$out" "mode $(stat -c %a "$HOSTS")"
fi

# ---------------------------------------------------------------- outside

# x is no member: it routes a's overlay address through a's outer one.
# Linux takes the datagram on a's eth0 (the weak host model), and the
# responder must say nothing.
ip -n "${NSOF[x]}" route add "$A4/32" via 198.18.0.1
ip -n "${NSOF[x]}" route add 198.51.100.0/24 via 198.18.0.1 2>/dev/null
drops0=$(inspect_dns a dropped_outside)
out=$(dq x @"$A4" node_b A)
drops1=$(inspect_dns a dropped_outside)
if grep -q "timed out" <<<"$out" && ! grep -q "ANSWER SECTION" <<<"$out" &&
	[ "$drops1" -gt "$drops0" ]; then
	tap_ok "a query from outside the overlay (x via a's outer address): no answer, counted ($drops0 -> $drops1 dropped_outside)"
else
	tap_fail "a query from outside the overlay gets nothing" "$out" "dropped_outside $drops0 -> $drops1"
fi
# x forges a member's source: b's overlay address as its own, so that a
# query reaches a's port 53 on a's eth0 "from node_b".  Only the tunnel
# vouches for a member's address: the datagram came in on the underlay,
# and a must drop it (were it answered, the answer would go to the real
# b through the tunnel: a reflection at b that x pays nothing for).
ip -n "${NSOF[x]}" addr add "${V4[b]}/32" dev eth0
drops0=$(inspect_dns a dropped_outside)
noerr0=$(inspect_dns a 'answers["noerror"]')
out=$(dq x -b "${V4[b]}" @"$A4" node_b A)
drops1=$(inspect_dns a dropped_outside)
noerr1=$(inspect_dns a 'answers["noerror"]')
if [ "$drops1" -gt "$drops0" ] && [ "$noerr1" = "$noerr0" ]; then
	tap_ok "a query from the underlay forging a member's overlay source: dropped, not answered ($drops0 -> $drops1 dropped_outside)"
else
	tap_fail "a forged member source from the underlay is dropped" "$out" \
		"dropped_outside $drops0 -> $drops1, noerror answers $noerr0 -> $noerr1"
fi
ip -n "${NSOF[x]}" addr del "${V4[b]}/32" dev eth0
out=$(dq x @"$A4" +tcp node_b A)
refused=$(inspect_dns a tcp_refused)
if ! grep -q "ANSWER SECTION" <<<"$out" && [ "$refused" -gt 0 ]; then
	tap_ok "the same over TCP: no answer, the connection refused ($refused)"
else
	tap_fail "the same over TCP gets nothing" "$out" "tcp_refused $refused"
fi

out=$(inspect_dns a '(queries_udp, queries_tcp, answers["noerror"], answers["refused"], answers["nxdomain"])')
if python3 -c 'import sys; q=eval(sys.argv[1]); sys.exit(0 if q[0] >= 8 and q[1] >= 2 and q[2] >= 5 and q[3] >= 1 and q[4] >= 1 else 1)' "$out"; then
	tap_ok "wh inspect a: dns (queries udp, tcp, noerror, refused, nxdomain) $out"
else
	tap_fail "wh inspect a: dns counters" "$out"
fi

# ---------------------------------------------------------------- reload

for node in boot a b; do write_conf node_c >"$LAB_DIR/$node.conf"; done
whx "${NSOF[a]}" reload "${IFOF[a]}" >"$LAB_DIR/reload.out" 2>&1
out=$(dq a @"$A4" node_c A +short)
gone=$(dq a @"$A4" node_b A)
hosts=$(cat "$HOSTS")
if [ "$out" = "${V4[b]}" ] && grep -q "status: NXDOMAIN" <<<"$gone" &&
	grep -qxP "${V4[b]}\tnode_c.test node_c" <<<"$hosts" && ! grep -q node_b <<<"$hosts"; then
	tap_ok "wh reload renames node_b to node_c: node_c answers ${V4[b]}, node_b NXDOMAIN, the hosts block follows"
else
	tap_fail "wh reload renames node_b to node_c" "$(cat "$LAB_DIR/reload.out")" "node_c: $out" "$gone" "$hosts"
fi
check_out "a: ping -c1 node_c.test after the reload" "1 received" nsx "${NSOF[a]}" ping -n -c1 -W2 node_c.test

# ---------------------------------------------------------------- down

whx "${NSOF[a]}" down "${IFOF[a]}" >"$LAB_DIR/down.out" 2>&1
hosts=$(cat "$HOSTS")
if [ "$hosts" = "$(printf '# a line of the admin\n192.0.2.1\tprinter')" ] &&
	[ "$(stat -c %a "$HOSTS")" = 640 ]; then
	tap_ok "wh down a: the block is gone from the hosts file, the rest as it was"
else
	tap_fail "wh down a: the hosts file" "$(cat "$LAB_DIR/down.out")" "$hosts"
fi

# ---------------------------------------------------------------- port 53 taken, dns off

# Another server holds UDP port 53 of a's address (bound before the
# address exists, IP_FREEBIND): a starts all the same, says so, and
# answers over TCP and on its IPv6 address.
ip netns exec "${NSOF[a]}" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
s.bind((sys.argv[1], 53))
time.sleep(120)' "$A4" >"$LAB_DIR/holder.log" 2>&1 &
LAB_PIDS+=($!)
wait_for "ip netns exec ${NSOF[a]} ss -uln | grep -q '$A4:53 '" 5
if start_node a >"$LAB_DIR/start.err" 2>&1 &&
	grep -q "name service: cannot listen on $A4:53 (UDP)" "$LAB_DIR/${IFOF[a]}.log" &&
	[ "$(dq a @"$A4" +tcp node_c A +short)" = "${V4[b]}" ] &&
	[ "$(dq a @"${V6[a]}" node_c A +short)" = "${V4[b]}" ]; then
	tap_ok "port 53 (UDP) of a's address taken: a runs, logs it, answers over TCP and IPv6"
else
	tap_fail "port 53 (UDP) of a's address taken" "$(cat "$LAB_DIR/start.err")" "$(impl_log "${IFOF[a]}")"
fi
whx "${NSOF[a]}" down "${IFOF[a]}" >"$LAB_DIR/down.out" 2>&1
if start_node a dns off >"$LAB_DIR/start.err" 2>&1 &&
	whx "${NSOF[a]}" inspect "${IFOF[a]}" | grep -q '"dns": null' &&
	! dq a @"$A4" +tcp node_c A >/dev/null; then
	tap_ok "wh up ... dns off: no name service (inspect says null, TCP port 53 closed)"
else
	tap_fail "wh up ... dns off" "$(cat "$LAB_DIR/start.err")" "$(impl_log "${IFOF[a]}")"
fi

whx "${NSOF[b]}" down "${IFOF[b]}" >"$LAB_DIR/down.out" 2>&1
out=$(cat "$LAB_DIR/resolvectl.log" 2>&1)
if grep -qx "revert ${IFOF[b]}" <<<"$out"; then
	tap_ok "wh down b: resolvectl revert ${IFOF[b]}"
else
	tap_fail "wh down b: resolvectl revert" "$(cat "$LAB_DIR/down.out")" "$out"
fi

tap_done
