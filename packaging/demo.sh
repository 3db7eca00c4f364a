#!/bin/bash
# The demo of the main job: an overlay network in network namespaces, in
# the NAT lab of the tests (test/net/natlab.sh).  A public bootstrap node
# (the relay: members never relay), three members on the open "internet" and
# five members behind NAT
# gateways of every kind, all given the same network file (each with its
# lines in a different order), find each other through the DHT and bring
# up WireGuard between every pair: directly wherever the NATs allow it
# (hole punching, the UPnP gateway's port mapping), relayed by the public
# node otherwise.  The demo waits until every pair pings, prints the path
# every member sees to every other (`wh show json`), `wh show` and stock
# `wg show` of a member behind a symmetric NAT, iperf3 on an open, a
# direct and a relayed pair, and `wh lookup`.  Then everything is removed
# again (also on Ctrl-C or failure); it exits non-zero if anything it
# claims fails.
#
#   ns internet: bridge br0, "the internet", 198.18.0.0/24
#   +---------+---------+---------+-----------+-----------+----------+----------+----------+
#   boot      alpha     bravo     charlie     gateway     gateway    gateway    gateway    gateway
#   .0.10     .0.11     .0.12     .0.13       cone .100   portr .101 sym1 .102  sym2 .103  upnp .104
#   public    members on the open internet    full-cone   port-      symmetric  symmetric  UPnP IGD +
#   DHT node                                  |           restricted |          |          NAT-PMP
#   and relay                                 delta       echo       foxtrot    golf       hotel
#                                             198.18.1.10 .2.10      .3.10      .4.10      .5.10
#   Overlay addresses: 198.19.0.0/16 and fd00::/8, derived from the keys.
#   Namespaces: whlab-dm-PID-NAME (test/net/lib.sh's naming).
#
# Usage: bash packaging/demo.sh [BUILD_DIR]   (as root; default ./build)
# DEMO_KEEP=1 keeps the lab's logs directory ($LAB_DIR) after the run.
set -o pipefail

build=${1:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "demo: $*" >&2; exit 1; }
[ -x "$build/src/wh" ] || die "$build/src/wh is missing; build first (bash packaging/setup.sh --build)"
[ -x "$build/test/tools/udpprobe" ] || die "$build/test/tools/udpprobe is missing; build first (ninja -C $build)"
[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces)"
[ -c /dev/net/tun ] || die "no /dev/net/tun"
for c in ip nft sysctl python3 ping iperf3 wg ss miniupnpd upnpc natpmpc; do
	command -v "$c" >/dev/null 2>&1 || die "missing command '$c' (bash packaging/setup.sh installs it)"
done
WH=$(readlink -f "$build/src/wh")

# The NAT lab of the tests; lib.sh cleans up (processes by PID, then the
# namespaces) on exit, and removes what a killed earlier run left.
# shellcheck disable=SC2034 # read by lib.sh
LAB_TAG=dm
# shellcheck source-path=SCRIPTDIR source=../test/net/natlab.sh
. "$here/../test/net/natlab.sh"
# shellcheck disable=SC2034 # read by natlab.sh
NATLAB_PROBE=$(readlink -f "$build/test/tools/udpprobe")
natlab_require upnp
[ -z "${DEMO_KEEP:-}" ] || LAB_KEEP=1
lab_init

OPEN="alpha bravo charlie"
NATED="delta echo foxtrot golf hotel"
MEMBERS="$OPEN $NATED"
declare -A GATEWAY=([delta]=cone [echo]=portr [foxtrot]=sym1 [golf]=sym2 [hotel]=upnp)
declare -A GWTYPE=([cone]=full-cone [portr]=port-restricted [sym1]=symmetric [sym2]=symmetric [upnp]=upnp)
declare -A IFACE=() PUB=() V4=() V6=()
DAEMON_PIDS=()
for n in boot $MEMBERS; do IFACE[$n]=wh-$n; done

demo_cleanup() {
	local rc=$? n
	set +e
	trap '' INT TERM
	echo
	if [ "$rc" -ne 0 ]; then
		echo "demo: FAILED (exit $rc)"
		if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
			for n in boot $MEMBERS; do
				[ -s "$LAB_DIR/$n.log" ] || continue
				echo "--- the last lines of $n's log"
				tail -n 8 "$LAB_DIR/$n.log"
			done
		fi
	fi
	echo "== clean-up: stopping ${#LAB_PIDS[@]} processes by PID, removing ${#LAB_NSS[@]} namespaces"
	# The nodes first, while the UPnP gateway can still take hotel's port
	# mapping back; then lib.sh's clean-up of everything else.
	for n in "${DAEMON_PIDS[@]}"; do kill "$n" 2>/dev/null; done
	for n in "${DAEMON_PIDS[@]}"; do natlab_stop "$n"; done
	lab_cleanup
	for n in boot $MEMBERS; do
		rm -f "/var/run/wh/${IFACE[$n]}.sock" "/var/run/wireguard/${IFACE[$n]}.sock"
	done
	n=$(ip netns list 2>/dev/null | grep -c "^$LAB_NS_PREFIX$LAB_PID-")
	if [ "$n" -ne 0 ]; then
		echo "demo: $n namespaces are left" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	[ -z "${LAB_KEEP:-}" ] || echo "demo: logs kept in $LAB_DIR"
	[ "$rc" -ne 0 ] || echo "demo: done"
	exit "$rc"
}
trap demo_cleanup EXIT
trap 'exit 130' INT

fail() {
	echo "demo: FAILED: $*" >&2
	exit 1
}
ns() { echo "${NATLAB_NS[$1]}"; }
msnow() { echo $(($(date +%s%N) / 1000000)); }
T0=
elapsed() { awk -v ms=$(($(msnow) - T0)) 'BEGIN { printf "%.1f s", ms / 1000 }'; }

echo "== the lab: an internet segment, a public node, 3 open members, 5 NAT gateways"
natlab_internet || fail "the internet segment"
for n in boot $OPEN; do
	natlab_public_host "$n" || fail "public host $n"
done
for m in $NATED; do
	g=${GATEWAY[$m]}
	natlab_gateway "$g" "${GWTYPE[$g]}" || fail "gateway $g (${GWTYPE[$g]})"
	natlab_host "$m" "$g" || fail "host $m behind $g"
done
for n in boot $OPEN; do
	printf '  %-8s %-12s on the internet\n' "$n" "${NATLAB_IP[$n]}"
done
for m in $NATED; do
	g=${GATEWAY[$m]}
	printf '  %-8s %-12s behind %-5s %-16s (WAN %s)%s\n' "$m" "${NATLAB_IP[$m]}" "$g" \
		"${GWTYPE[$g]}" "${NATLAB_IP[$g]}" "$([ "$g" = upnp ] && echo ', miniupnpd: UPnP IGD and NAT-PMP')"
done

echo "== keys with 8 workbits (wh genkey workbit 8 | wh pubkey)"
for n in boot $MEMBERS; do
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$n.key") || fail "wh genkey"
	PUB[$n]=$("$WH" pubkey <"$LAB_DIR/$n.key") || fail "wh pubkey"
	printf '  %-8s %s (workbit %s)\n' "$n" "${PUB[$n]}" "$("$WH" workbit <<<"${PUB[$n]}")"
done
BOOT_EP=${NATLAB_IP[boot]}:62096

# The same network, lines in another order for each node.
lines=("boot ${PUB[boot]} $BOOT_EP")
for m in $MEMBERS; do lines+=("trust $m ${PUB[$m]}"); done
k=0
for n in boot $MEMBERS; do
	{
		echo "# demo network, as node $n has it"
		echo "name demo"
		echo "subnet 198.19.0.0/16"
		echo "workbit 8"
		for ((j = 0; j < ${#lines[@]}; j++)); do echo "${lines[$(((j + k) % ${#lines[@]}))]}"; done
	} >"$LAB_DIR/$n.conf"
	k=$((k + 1))
done
echo "== the network file (as node foxtrot has it)"
sed 's/^/  /' "$LAB_DIR/foxtrot.conf"

echo "== wh up on each node"
T0=$(msnow)
for n in boot $MEMBERS; do
	natlab_spawn "$(ns "$n")" "$n" env LOG_LEVEL="${LOG_LEVEL:-info}" "$WH" up "$LAB_DIR/$n.conf" \
		private-key "$LAB_DIR/$n.key" interface "${IFACE[$n]}" -f
	DAEMON_PIDS+=("$NATLAB_PID")
done
show_json() { nsx "$(ns "$1")" "$WH" show "${IFACE[$1]}" json; }
jfield() { show_json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
for n in boot $MEMBERS; do
	wait_for "[ -S /var/run/wh/${IFACE[$n]}.sock ] && show_json $n" 10 ||
		fail "$n did not start (wh up)"
done
for m in $MEMBERS; do
	V4[$m]=$(jfield "$m" ipv4) || fail "wh show json on $m"
	V6[$m]=$(jfield "$m" ipv6) || fail "wh show json on $m"
	printf '  %-8s %-14s %s\n' "$m" "${V4[$m]}" "${V6[$m]}"
done

echo "== every member pings every other over the overlay (56 pairs at once, 30 s at most)"
pids=() npids=${#LAB_PIDS[@]}
for s in $MEMBERS; do
	for d in $MEMBERS; do
		[ "$s" != "$d" ] || continue
		(
			t=$(msnow)
			if nsx "$(ns "$s")" ping -n -q -c 1 -i 0.2 -w 30 "${V4[$d]}" >/dev/null 2>&1; then
				echo $(($(msnow) - t)) >"$LAB_DIR/ping.$s.$d"
			fi
		) &
		pids+=($!)
		LAB_PIDS+=($!)
	done
done
wait "${pids[@]}"
LAB_PIDS=("${LAB_PIDS[@]:0:npids}")
bad=() slow=0 slowest=
for s in $MEMBERS; do
	for d in $MEMBERS; do
		[ "$s" != "$d" ] || continue
		if [ -s "$LAB_DIR/ping.$s.$d" ]; then
			t=$(cat "$LAB_DIR/ping.$s.$d")
			[ "$t" -le "$slow" ] || { slow=$t slowest="$s -> $d"; }
		else
			bad+=("$s -> $d")
		fi
	done
done
if [ ${#bad[@]} -ne 0 ]; then
	for s in $(printf '%s\n' "${bad[@]}" | awk '{ print $1 }' | sort -u); do
		echo "--- wh show on $s"
		nsx "$(ns "$s")" "$WH" show "${IFACE[$s]}"
	done
	for s in boot $OPEN; do
		echo "--- relay counters of $s (wh inspect)"
		nsx "$(ns "$s")" "$WH" inspect "${IFACE[$s]}" | grep '"relay"'
	done
	fail "no answer within 30 s: ${bad[*]}"
fi
printf '  all 56 pairs answered within %s of wh up (the slowest, %s, after %d ms)\n' "$(elapsed)" "$slowest" "$slow"

echo "== and over IPv6"
pids=() npids=${#LAB_PIDS[@]}
for s in $MEMBERS; do
	for d in $MEMBERS; do
		[ "$s" != "$d" ] || continue
		nsx "$(ns "$s")" ping -n -q -c 1 -i 0.2 -w 5 "${V6[$d]}" >/dev/null 2>&1 &
		pids+=($!)
		LAB_PIDS+=($!)
	done
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
LAB_PIDS=("${LAB_PIDS[@]:0:npids}")
[ "$failed" -eq 0 ] || fail "$failed of 56 pairs did not answer over IPv6"
echo "  all 56 pairs answered"
nsx "$(ns alpha)" ping -n -c 3 -i 0.2 "${V6[charlie]}" | tail -2 | sed 's/^/  alpha -> charlie: /' ||
	fail "ping alpha -> charlie over IPv6"

# The path matrix, from every member's `wh show json`.  Relayed where one
# side maps per destination (symmetric) and the other filters by address
# and port (port-restricted) or maps per destination too; direct otherwise.
cat >"$LAB_DIR/matrix.py" <<'EOF'
import json, sys
# argv: LAB_DIR, boot's key, then NAME:TYPE:KEY for every member
lab, boot = sys.argv[1], sys.argv[2]
members = [a.split(":", 2) for a in sys.argv[3:]]
names = {key: name for name, _, key in members}
names[boot] = "boot"
short = {"open": "internet", "full-cone": "full-cone", "port-restricted": "port-r.",
         "symmetric": "symmetric", "upnp": "upnp"}
def want(a, b):
    pair = {a, b}
    return "relayed" if pair in ({"symmetric"}, {"symmetric", "port-restricted"}) else "direct"
ok, wrong, relays = True, [], {}
rows = []
for name, typ, key in members:
    with open(f"{lab}/show.{name}.json") as f:
        d = json.load(f)
    seen = {p["public_key"]: p for p in d["peers"]}
    cells = []
    for other, otyp, okey in members:
        if other == name:
            cells.append("-")
            continue
        p = seen.get(okey, {"path": "absent", "relay": None})
        path = p["path"]
        if path == "relayed":
            r = names.get(p["relay"], (p["relay"] or "?")[:8])
            relays.setdefault(r, set()).add(" <-> ".join(sorted((name, other))))
            if r != "boot":
                wrong.append(f"{name} -> {other} relayed via {r}, not boot")
        if path != want(typ, otyp):
            wrong.append(f"{name} -> {other} is {path}, expected {want(typ, otyp)}")
        cells.append(path)
    rows.append((f"  {name:<8} {short[typ]:<10} " + "".join(f"{c:<8}" for c in cells)).rstrip())
print(("  " + "from \\ to".ljust(20) + "".join(f"{n:<8}" for n, _, _ in members)).rstrip())
print("\n".join(rows))
for r, pairs in sorted(relays.items()):
    print(f"  relayed through {r}: " + ", ".join(sorted(pairs)))
for w in wrong:
    print("  WRONG: " + w)
sys.exit(1 if wrong else 0)
EOF
matrix_args=("$LAB_DIR" "${PUB[boot]}")
for m in $MEMBERS; do
	t=open
	[ -z "${GATEWAY[$m]:-}" ] || t=${GWTYPE[${GATEWAY[$m]}]}
	matrix_args+=("$m:$t:${PUB[$m]}")
done
matrix() {
	local m
	for m in $MEMBERS; do show_json "$m" >"$LAB_DIR/show.$m.json" || return 1; done
	python3 "$LAB_DIR/matrix.py" "${matrix_args[@]}" >"$LAB_DIR/matrix.txt"
}

echo "== the paths, as each member's wh show json tells them (settled within 20 s)"
wait_for matrix 20
settled=$?
cat "$LAB_DIR/matrix.txt"
[ "$settled" -eq 0 ] || fail "the paths are not as the NATs allow after 20 s"
echo "  (settled $(elapsed) after wh up)"

echo "== hotel, behind the UPnP gateway, holds a port mapping"
pm=$(show_json hotel | python3 -c 'import json, sys
p = json.load(sys.stdin)["port_mapping"]
print("%(external)s by %(protocol)s, lease %(lease_left_s)s s left" % p if p else "")')
[ -n "$pm" ] || fail "hotel shows no port mapping"
echo "  port mapping $pm"
nsx "$(ns upnp)" upnpc -l 2>/dev/null | grep -E '^ *[0-9]+ UDP' | sed 's/^ */  upnpc -l on the gateway: /' || true

echo "== wh show on foxtrot (behind a symmetric NAT)"
out=$(nsx "$(ns foxtrot)" "$WH" show "${IFACE[foxtrot]}") || fail "wh show on foxtrot"
sed 's/^/  /' <<<"$out"
grep -q "path relayed via ${PUB[boot]}" <<<"$out" || fail "wh show on foxtrot has no 'path relayed via' boot"
grep -q "path direct" <<<"$out" || fail "wh show on foxtrot has no 'path direct'"

echo "== wg show on foxtrot (stock wireguard-tools: relayed peers have the relay as endpoint)"
# The peers' keys in wg's base64, to name them.
names=()
for m in $MEMBERS; do names+=("s|^peer: $(wg pubkey <"$LAB_DIR/$m.key")\$|& ($m)|"); done
nsx "$(ns foxtrot)" wg show "${IFACE[foxtrot]}" >"$LAB_DIR/wg.txt" || fail "wg show on foxtrot"
sed "$(printf '%s;' "${names[@]}")s/^/  /" "$LAB_DIR/wg.txt"
eps=$(nsx "$(ns foxtrot)" wg show "${IFACE[foxtrot]}" endpoints) || fail "wg show endpoints on foxtrot"
for m in $MEMBERS; do
	[ "$m" != foxtrot ] || continue
	ep=$(awk -v k="$(wg pubkey <"$LAB_DIR/$m.key")" '$1 == k { print $2 }' <<<"$eps")
	case $m in
	echo | golf) [ "$ep" = "$BOOT_EP" ] || fail "wg show: foxtrot's endpoint for $m is '$ep', not the relay $BOOT_EP" ;;
	*) [ -n "$ep" ] && [ "$ep" != "$BOOT_EP" ] && continue
		fail "wg show: foxtrot's endpoint for $m is '$ep'" ;;
	esac
done
echo "  endpoints: echo and golf -> $BOOT_EP (boot, the relay); the others their own (NAT) addresses"

echo "== iperf3: 3 s of TCP over the overlay on three paths"
iperf() { # iperf FROM TO LABEL
	local from=$1 to=$2 out bps
	natlab_spawn "$(ns "$to")" "iperf-$to" iperf3 -s -1
	wait_for "nsx $(ns "$to") ss -Hltn 'sport = :5201' | grep -q ." 5 || fail "iperf3 server on $to"
	out=$(nsx "$(ns "$from")" timeout 20 iperf3 -c "${V4[$to]}" -t 3 -J) || fail "iperf3 $from -> $to"
	bps=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' <<<"$out") ||
		fail "iperf3 $from -> $to: no result"
	awk -v b="$bps" -v f="$from" -v t="$to" -v l="$3" \
		'BEGIN { printf "  %-18s %-42s %5.0f Mbit/s\n", f " -> " t, l, b / 1e6; exit !(b > 0) }' ||
		fail "iperf3 $from -> $to moved nothing"
	natlab_stop "$NATLAB_PID"
}
iperf bravo alpha "(open internet, direct)"
iperf foxtrot delta "(symmetric -> full-cone, direct)"
iperf foxtrot golf "(symmetric -> symmetric, relayed by boot)"

echo "== wh lookup of charlie from bravo (a DHT lookup)"
out=$(nsx "$(ns bravo)" "$WH" lookup "${IFACE[bravo]}" "${PUB[charlie]}") || fail "wh lookup"
sed 's/^/  /' <<<"$out"
grep -q '"found": true' <<<"$out" || fail "the lookup did not find charlie"

echo "== wh show on the bootstrap node (a public node: no interface; the relay)"
out=$(nsx "$(ns boot)" "$WH" show "${IFACE[boot]}") || fail "wh show on boot"
sed 's/^/  /' <<<"$out"
grep -q "relay for members" <<<"$out" || fail "boot says it relays nothing"
echo "  ($(elapsed) since wh up)"
