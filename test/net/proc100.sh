#!/bin/bash
# A hundred real `wh` processes on one machine, each in its own namespace:
# four public nodes (DHT and relay only, every one of them on every boot
# line) and 96 members of two networks, x and y (48 each); a third of the
# members sit behind the NAT lab's gateways (full-cone, port-restricted,
# symmetric, two of each), the rest on the "internet" bridge.
# Usage: proc100.sh WH
#
#   ns internet (natlab): bridge br0, 198.18.0.0/24
#   +------------------------------------------------------------------------+
#   | i-b1..i-b4     i-x01 i-x02 i-y01 ...  (64)   i-g1 ........ i-g6        |
#   +---|--------------|------|-----|------------------|-------------|-------+
#   +---|----+     +---|--+ +-|--+ +|---+          +---|--------+  +-|------+
#   | b1..b4 |     | x01  | | x02| | y01| ...      | g1 .0.100  |  | g6     |
#   | public |     | .0.14| |    | |    |          | full-cone  |  | symm.  |
#   | .0.10- |     +------+ +----+ +----+          | lan 198.18.1/24  ...  |
#   |  .0.13 |                                     +--l-x03--l-y06...-+    |
#   +--------+     members on the internet:        members behind NATs:
#                  index not divisible by 3        index divisible by 3
#                                                  (x03, x06, ..., y48),
#                                                  spread over g1..g6
#   network x: subnet 198.19.0.0/17, y: 198.19.128.0/17, workbit 8, the
#   same four boot lines; the public nodes belong to neither.
#   wh interfaces: hp<PID><node> (at most 12 characters), UDP port 62096.
#
# Checks: every process starts and answers `wh show json` on its control
# socket; a random sample of member pairs (PROC100_PAIRS per network, a
# third each public-public, public-NATed and NATed-NATed; PROC100_SEED
# makes the sample reproducible) ping each other through the overlay
# within PROC100_DEADLINE seconds of the pings starting, with a handshake
# on the pinging side; two pairs across the networks (one public, one
# NATed) do not: no peer for the other's key in `wh show json` nor in stock
# `wg show`, and no answer to a ping. Figures as TAP comments: set-up and
# start times, time to connect, the paths, RSS per process (VmRSS of
# /proc/PID/status: min, median, max, by role) and the load average.
# Output is TAP.

LAB_TAG=hp
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
PORT=62096
PER_NET=48
NPAIRS=${PROC100_PAIRS:-12}
DEADLINE=${PROC100_DEADLINE:-120}
SEED=${PROC100_SEED:-$$}

natlab_require
lab_require_cmd ping wg ldd
lab_require_impl "$WH"
# A slow test, run by hand before a release (doc/benchmarks.md "100
# processes"): it is in suite 'manual', which test/run.sh leaves out, and
# runs with `meson test -C build --suite manual`; its runs took 100 to
# 200 s on the loaded 2-core machine, most of it the keys, the namespaces
# and the daemons' start.

lab_wh_init

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs_since() {
	local d=$(($(now_ms) - $1))
	printf '%d.%01d' $((d / 1000)) $((d % 1000 / 100))
}

BOOTS="b1 b2 b3 b4"
GWS=(g1 g2 g3 g4 g5 g6)
GWTYPE=(full-cone port-restricted symmetric full-cone port-restricted symmetric)
declare -A PUB=() IFOF=() NSOF=() WHPID=() NET=() WHERE=() V4=()
MEMBERS=()
for net in x y; do
	for ((i = 1; i <= PER_NET; i++)); do
		MEMBERS+=("$(printf '%s%02d' "$net" "$i")")
	done
done

# ---------------------------------------------------------------- keys
# All 100 keys at once (workbit 8: a few hundred hashes each; the time is
# the processes' start under load).
T0=$(now_ms)
for node in $BOOTS "${MEMBERS[@]}"; do
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &
done
wait
keys_ok=1
for node in $BOOTS "${MEMBERS[@]}"; do
	PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key" 2>/dev/null) && [ -n "${PUB[$node]}" ] || keys_ok=0
done
if [ "$keys_ok" = 1 ]; then
	tap_ok "100 keys of workbit 8 from wh genkey ($(secs_since "$T0")s)"
else
	tap_fail "100 keys of workbit 8 from wh genkey"
	tap_done
fi

# ---------------------------------------------------------------- the lab
# The internet and the six gateways come from natlab.sh; the 100 hosts are
# made in batches (a few `ip -batch` runs instead of six `ip` commands per
# host, which took four minutes on a loaded machine), with the same names,
# addresses and state as natlab_public_host and natlab_host.

# lab_hosts NODE...: each NODE a namespace, a veth eth0 to the internet
# bridge (WHERE[NODE] = internet) or to its gateway's LAN (with a default
# route through it), an address.
#
# On the internet bridge, every host and gateway knows every other one's
# MAC address from the start: a permanent neighbour entry each, no ARP.
# The kernel keeps one ARP table for all namespaces, and its limit
# (net.ipv4.neigh.default.gc_thresh3, 1024 by default) counts the entries
# of every namespace together; 74 addresses on one segment, each talking
# to dozens of the others, need thousands.  Learned by ARP, they filled
# the table within two seconds of the members' start ("neighbour:
# arp_cache: neighbor table overflow!" in the kernel log), after which a
# host could not resolve the address it sent to and the packet was lost:
# 56 of the 96 members, all started after the table filled, got no
# answer from any public node for 25 s to over two minutes, and 10 of
# 24 pairs did not connect.  Permanent entries do not count against that
# limit.  On a real internet a host resolves one address, its router's;
# the gateways' LANs (five or six hosts each) keep ARP.
declare -A INET_MAC=()	# IP address on the internet bridge -> MAC address

# neigh_lines DEV SELF: `ip -batch` lines, a permanent neighbour entry on
# DEV for everyone on the internet bridge but SELF.
neigh_lines() {
	local a
	for a in "${!INET_MAC[@]}"; do
		[ "$a" = "$2" ] || echo "neigh replace $a lladdr ${INET_MAC[$a]} dev $1 nud permanent"
	done
}

lab_hosts() {
	local node ns gw gns net ip mac
	local -A gwbatch=()
	local rootb=$LAB_DIR/batch-root vethb=$LAB_DIR/batch-veth
	: >"$rootb"
	: >"$vethb"
	# The gateways' WAN side is already on the bridge.
	for gw in "${GWS[@]}"; do
		mac=$(ip -n "${NATLAB_NS[$gw]}" -br link show wan0 | awk '{print $3}')
		[ -n "$mac" ] || return 1
		INET_MAC[${NATLAB_IP[$gw]}]=$mac
	done
	for node in "$@"; do
		natlab_check_name "$node" || return 1
		ns="${LAB_NS_PREFIX}${LAB_PID}-$node"
		LAB_NSS+=("$ns")
		NATLAB_NS[$node]=$ns
		echo "netns add $ns" >>"$rootb"
		gw=${WHERE[$node]}
		if [ "$gw" = internet ]; then
			gns=$NATLAB_INET_NS
			ip=198.18.0.$NATLAB_PUBLIC_NEXT
			NATLAB_PUBLIC_NEXT=$((NATLAB_PUBLIC_NEXT + 1))
			# A MAC address of its own, after the IP address.
			mac=$(printf '02:00:c6:12:00:%02x' "${ip##*.}")
			INET_MAC[$ip]=$mac
			echo "link add i-$node netns $gns type veth peer name eth0 netns $ns address $mac" >>"$vethb"
			gwbatch[internet]+="link set i-$node master br0 up"$'\n'
			printf 'link set lo up\nlink set eth0 up\naddr add %s/24 dev eth0\n' "$ip" \
				>"$LAB_DIR/batch-$node"
		else
			gns=${NATLAB_NS[$gw]}
			net=${NATLAB_LAN_NET[$gw]%.0/24}
			ip=$net.${NATLAB_LAN_NEXT[$gw]}
			NATLAB_LAN_NEXT[$gw]=$((NATLAB_LAN_NEXT[$gw] + 1))
			NATLAB_GW[$node]=$gw
			echo "link add l-$node netns $gns type veth peer name eth0 netns $ns" >>"$vethb"
			gwbatch[$gw]+="link set l-$node master lan0 up"$'\n'
			printf 'link set lo up\nlink set eth0 up\naddr add %s/24 dev eth0\nroute add default via %s\n' \
				"$ip" "${NATLAB_LAN_IP[$gw]}" >"$LAB_DIR/batch-$node"
		fi
		NATLAB_IP[$node]=$ip
	done
	for node in "$@"; do
		[ "${WHERE[$node]}" = internet ] &&
			neigh_lines eth0 "${NATLAB_IP[$node]}" >>"$LAB_DIR/batch-$node"
	done
	ip -batch "$rootb" && ip -batch "$vethb" || return 1
	for gw in "${!gwbatch[@]}"; do
		[ "$gw" = internet ] && gns=$NATLAB_INET_NS || gns=${NATLAB_NS[$gw]}
		printf '%s' "${gwbatch[$gw]}" | ip -n "$gns" -batch - || return 1
	done
	for gw in "${GWS[@]}"; do
		neigh_lines wan0 "${NATLAB_IP[$gw]}" | ip -n "${NATLAB_NS[$gw]}" -batch - || return 1
	done
	for node in "$@"; do
		ip -n "${NATLAB_NS[$node]}" -batch "$LAB_DIR/batch-$node" || return 1
	done
}

T0=$(now_ms)
lab_ok=1
err=$LAB_DIR/lab.err
n=0
for node in "${MEMBERS[@]}"; do
	NET[$node]=${node:0:1}
	if [ $((10#${node:1} % 3)) = 0 ]; then
		WHERE[$node]=${GWS[n % ${#GWS[@]}]}
		n=$((n + 1))
	else
		WHERE[$node]=internet
	fi
done
for node in $BOOTS; do WHERE[$node]=internet; done
{
	natlab_internet || lab_ok=0
	for ((g = 0; g < ${#GWS[@]} && lab_ok; g++)); do
		natlab_gateway "${GWS[g]}" "${GWTYPE[g]}" || lab_ok=0
	done
	[ "$lab_ok" = 1 ] && lab_hosts $BOOTS "${MEMBERS[@]}" || lab_ok=0
	# Reachable: a public node pings the last host on the internet, and
	# every gateway's last host pings the public node.
	[ "$lab_ok" = 1 ] && wait_for "ping_ok ${NATLAB_NS[b1]} ${NATLAB_IP[y47]}" 20 || lab_ok=0
	for node in y48 y45 y42 y39 y36 y33; do
		[ "$lab_ok" = 1 ] && wait_for "ping_ok ${NATLAB_NS[$node]} ${NATLAB_IP[b1]}" 20 || lab_ok=0
	done
} >"$err" 2>&1
for node in $BOOTS "${MEMBERS[@]}"; do
	NSOF[$node]=${NATLAB_NS[$node]:-}
	IFOF[$node]=$(wg_iface "$node")
done
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: ${#NATLAB_NS[@]} namespaces, 4 public nodes and 64 members on the internet, 32 behind 6 NATs ($(secs_since "$T0")s)"
else
	tap_fail "lab: namespaces, bridge and NATs" "$(tail -n 20 "$err")"
	tap_done
fi

# ---------------------------------------------------------------- files
BOOT_LINES=
for node in $BOOTS; do
	BOOT_LINES+="boot ${PUB[$node]} ${NATLAB_IP[$node]}:$PORT"$'\n'
done
printf 'workbit 8\n%s' "$BOOT_LINES" >"$LAB_DIR/public.conf"
for net in x y; do
	{
		echo "name proc100$net"
		[ "$net" = x ] && echo "subnet 198.19.0.0/17" || echo "subnet 198.19.128.0/17"
		echo "workbit 8"
		printf '%s' "$BOOT_LINES"
		for node in "${MEMBERS[@]}"; do
			[ "${NET[$node]}" = "$net" ] && echo "trust $node ${PUB[$node]}"
		done
	} >"$LAB_DIR/$net.conf"
done

# ---------------------------------------------------------------- start
# start_node NODE FILE: `wh up` in the foreground in NODE's namespace,
# without waiting (the caller waits for all control sockets at once).
start_node() {
	local node=$1 iface=${IFOF[$1]}
	rm -f "$WH_CTL_DIR/$iface.sock" "$LAB_RUN_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "${NSOF[$node]}" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
		"$WH" up "$2" private-key "$LAB_DIR/$node.key" \
		interface "$iface" listen-port "$PORT" -f \
		>"$LAB_DIR/$node.log" 2>&1 </dev/null &
	WHPID[$node]=$!
	LAB_PIDS+=("$!")
}

# show_json NODE: `wh show json` of NODE (the control sockets are in the
# shared /var/run/wh, so no namespace is needed).
show_json() { timeout 20 "$WH" show "${IFOF[$1]}" json 2>/dev/null; }

# all_sockets NODE...: every node's control socket exists.
all_sockets() {
	local node
	for node in "$@"; do
		[ -S "$WH_CTL_DIR/${IFOF[$node]}.sock" ] || return 1
	done
}

missing_diag() {
	local node
	for node in "$@"; do
		[ -S "$WH_CTL_DIR/${IFOF[$node]}.sock" ] && continue
		kill -0 "${WHPID[$node]}" 2>/dev/null && echo "$node: no control socket yet" ||
			echo "$node: exited: $(tail -n 3 "$LAB_DIR/$node.log")"
	done | head -n 20
}

T_START=$(now_ms)
for node in $BOOTS; do
	start_node "$node" "$LAB_DIR/public.conf"
done
if wait_for "all_sockets $BOOTS" 30; then
	tap_ok "the 4 public nodes start ($(secs_since "$T_START")s)"
else
	tap_fail "the 4 public nodes start" "$(missing_diag $BOOTS)"
	tap_done
fi
T_MEMBERS=$(now_ms)
for node in "${MEMBERS[@]}"; do
	start_node "$node" "$LAB_DIR/${NET[$node]}.conf"
done
if wait_for "all_sockets ${MEMBERS[*]}" 90; then
	tap_ok "the 96 members start: every control socket is there $(secs_since "$T_MEMBERS")s after the first member's wh up"
else
	tap_fail "the 96 members start within 90 s" "$(missing_diag "${MEMBERS[@]}")"
	tap_done
fi

# Every process answers `wh show json`; a member reports its own
# addresses (V4 from there) and lists the 47 others of its network.
# All at once: one by one they took minutes on a loaded machine.
SHOWERS=()
for node in $BOOTS "${MEMBERS[@]}"; do
	show_json "$node" >"$LAB_DIR/show-$node.json" &
	SHOWERS+=("$!")
done
wait "${SHOWERS[@]}"
bad=
for node in $BOOTS "${MEMBERS[@]}"; do
	[ -s "$LAB_DIR/show-$node.json" ] || bad+="$node "
done
out=$(python3 - "$LAB_DIR" $BOOTS "${MEMBERS[@]}" <<'EOF'
import json, os, sys
d, errs = sys.argv[1], []
for n in sys.argv[2:]:
    try:
        s = json.load(open(os.path.join(d, "show-%s.json" % n)))
    except Exception as e:
        errs.append("%s: no JSON from wh show: %s" % (n, e)); continue
    if n[0] == "b":
        continue
    peers = s.get("peers", [])
    if not s.get("member") or not s.get("ipv4") or s.get("hostname") != n:
        errs.append("%s: not a member with an address: %r" % (n, {k: s.get(k) for k in ("member", "hostname", "ipv4")}))
    elif len(peers) != 47 or any(p["hostname"][0] != n[0] for p in peers):
        errs.append("%s lists %d peers (want the 47 of its network)" % (n, len(peers)))
    else:
        print("V4 %s %s" % (n, s["ipv4"]))
for e in errs[:20]:
    print("ERR " + e)
EOF
)
while read -r tag node v4; do
	[ "$tag" = V4 ] && V4[$node]=$v4
done <<<"$out"
if [ -z "$bad" ] && ! grep -q '^ERR' <<<"$out"; then
	tap_ok "all 100 processes answer wh show json; every member lists the 47 others of its network ($(secs_since "$T_START")s after the first wh up)"
else
	tap_fail "all 100 processes answer wh show json" "no answer: ${bad:-none}" "$(grep '^ERR' <<<"$out")"
fi

# ---------------------------------------------------------------- the sample
# PUBS_net and NATS_net: the members of each network on the internet and
# behind a NAT.
declare -A PUBS=() NATS=()
for node in "${MEMBERS[@]}"; do
	if [ "${WHERE[$node]}" = internet ]; then
		PUBS[${NET[$node]}]+="$node "
	else
		NATS[${NET[$node]}]+="$node "
	fi
done

RANDOM=$SEED
# pick VAR WORDS: one word of WORDS at random into VAR (not through
# $(...), whose subshell would not advance this shell's RANDOM).
pick() {
	local -a w
	read -r -a w <<<"$2"
	printf -v "$1" '%s' "${w[RANDOM % ${#w[@]}]}"
}
PAIRS=()
declare -A SEEN=()
for net in x y; do
	for ((k = 0; k < NPAIRS; k++)); do
		while :; do
			case $((k % 3)) in
			0) pick a "${PUBS[$net]}"; pick b "${PUBS[$net]}" ;;
			1) pick a "${PUBS[$net]}"; pick b "${NATS[$net]}" ;;
			2) pick a "${NATS[$net]}"; pick b "${NATS[$net]}" ;;
			esac
			# A NATed member pings a public one as often as the reverse.
			[ $((k % 6)) = 4 ] && { t=$a a=$b b=$t; }
			[ "$a" != "$b" ] && [ -z "${SEEN[$a$b]:-}" ] && [ -z "${SEEN[$b$a]:-}" ] && break
		done
		SEEN[$a$b]=1
		PAIRS+=("$a $b")
	done
done
tap_diag "sample (PROC100_SEED=$SEED): ${PAIRS[*]/%/,}"

where() { # where NODE: "internet" or "g3 symmetric"
	local g=${WHERE[$1]}
	[ "$g" = internet ] && echo internet || echo "$g ${GWTYPE[${g#g} - 1]}"
}

# pair_check A B: A pings B's overlay address every half second until the
# first answer (one ping process per pair, cheap on a loaded machine);
# writes "ok SECONDS PATH HANDSHAKE" (A's view of B in `wh show json`) or
# "fail" to $LAB_DIR/pair-A-B.
pair_check() {
	local a=$1 b=$2 t0 secs
	t0=$(now_ms)
	if nsx "${NSOF[$a]}" ping -n -q -c 1 -i 0.5 -w "$DEADLINE" "${V4[$b]}" >/dev/null 2>&1; then
		secs=$(secs_since "$t0")
		show_json "$a" | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p["hostname"] == sys.argv[1]][0]
print("ok", sys.argv[2], p["path"], p["last_handshake"])' "$b" "$secs" >"$LAB_DIR/pair-$a-$b" 2>&1 ||
			echo "ok $secs ? 0" >"$LAB_DIR/pair-$a-$b"
	else
		echo fail >"$LAB_DIR/pair-$a-$b"
	fi
}

# All pairs at once: the time to connect is measured under the load of
# the others' first packets, as it would be on a busy network.
T_PINGS=$(now_ms)
CHECKERS=()
for pair in "${PAIRS[@]}"; do
	read -r a b <<<"$pair"
	if [ -n "${V4[$a]:-}" ] && [ -n "${V4[$b]:-}" ]; then
		pair_check "$a" "$b" &
		LAB_PIDS+=("$!")
		CHECKERS+=("$!")
	else
		echo "fail (no address)" >"$LAB_DIR/pair-$a-$b"
	fi
done
wait "${CHECKERS[@]}"
pings_done=$(secs_since "$T_PINGS")
load_peak=$(cut -d' ' -f1-3 /proc/loadavg)
n_ok=0
slowest=0
declare -A PATHS=()
for pair in "${PAIRS[@]}"; do
	read -r a b <<<"$pair"
	read -r res secs path hs <"$LAB_DIR/pair-$a-$b"
	desc="${NET[$a]}: $a ($(where "$a")) -> $b ($(where "$b"))"
	if [ "$res" = ok ] && [ -n "$hs" ] && [ "$hs" != 0 ]; then
		n_ok=$((n_ok + 1))
		PATHS[$path]=$((${PATHS[$path]:-0} + 1))
		[ "${secs/./}" -gt "${slowest/./}" ] && slowest=$secs
		tap_ok "$desc: ping answered through the overlay after ${secs}s, path $path"
	else
		tap_fail "$desc: ping answered through the overlay within ${DEADLINE}s" \
			"result: $res ${secs:-} (handshake: '${hs:-none}')" \
			"wh show ${IFOF[$a]}:" "$(timeout 10 "$WH" show "${IFOF[$a]}" 2>&1 | head -n 30)" \
			"log of $a:" "$(tail -n 10 "$LAB_DIR/$a.log")" "log of $b:" "$(tail -n 10 "$LAB_DIR/$b.log")"
	fi
done
paths=
for p in "${!PATHS[@]}"; do paths+="$p ${PATHS[$p]}, "; done
tap_diag "$n_ok of ${#PAIRS[@]} pairs connected, the slowest after ${slowest}s, all within ${pings_done}s of the pings starting ($(secs_since "$T_MEMBERS")s after the first member's wh up); paths: ${paths%, }"

# ---------------------------------------------------------------- across
# A member of x and one of y share the DHT and the relays, not a network:
# neither has a peer for the other's key, and no ping gets through.
std_b64() { python3 -c 'import base64,sys; print(base64.b64encode(base64.urlsafe_b64decode(sys.argv[1] + "=")).decode())' "$1"; }
for kind in PUBS NATS; do
	declare -n grp=$kind
	pick a "${grp[x]}"
	pick b "${grp[y]}"
	unset -n grp
	desc="across the networks: $a ($(where "$a")) and $b ($(where "$b")) do not connect"
	why=
	for dir in "$a $b" "$b $a"; do
		read -r p q <<<"$dir"
		grep -q "\"${PUB[$q]}\"" "$LAB_DIR/show-$p.json" && why+="$p's wh show lists $q; "
		show_json "$p" | grep -q "\"${PUB[$q]}\"" && why+="$p's wh show now lists $q; "
		wgx "${NSOF[$p]}" show "${IFOF[$p]}" peers | grep -qxF "$(std_b64 "${PUB[$q]}")" &&
			why+="$p's wg show has a peer $q; "
		nsx "${NSOF[$p]}" ping -n -q -c 3 -i 0.3 -W 1 "${V4[$q]}" >/dev/null 2>&1 &&
			why+="$p pings $q (${V4[$q]}); "
	done
	if [ -z "$why" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$why"
	fi
done

# ---------------------------------------------------------------- figures
# Every process is still running; RSS per process, by role.
dead=
rss_lines=
for node in $BOOTS "${MEMBERS[@]}"; do
	pid=${WHPID[$node]}
	if ! kill -0 "$pid" 2>/dev/null || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$(basename "$WH" | cut -c1-15)" ]; then
		dead+="$node "
		continue
	fi
	case $node in b*) role=public ;; *) [ "${WHERE[$node]}" = internet ] && role=member || role=natted ;; esac
	rss_lines+="$role $(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")"$'\n'
done
if [ -z "$dead" ]; then
	tap_ok "all 100 wh processes still running at the end"
else
	tap_fail "all 100 wh processes still running at the end" "gone: $dead" \
		"$(for n in $dead; do echo "$n:"; tail -n 5 "$LAB_DIR/$n.log"; done)"
fi
tap_diag "$(python3 -c '
import sys, statistics
by = {}
for line in sys.stdin.read().split("\n"):
    if line:
        role, kb = line.split()
        by.setdefault(role, []).append(int(kb) / 1024)
        by.setdefault("all", []).append(int(kb) / 1024)
for role in ("all", "public", "member", "natted"):
    v = by.get(role)
    if v:
        print("RSS %-6s %3d processes: min %.1f MiB, median %.1f MiB, max %.1f MiB, total %.0f MiB"
              % (role, len(v), min(v), statistics.median(v), max(v), sum(v)))
' <<<"$rss_lines")"
# meson test sets MALLOC_PERTURB_, and the daemons inherit it: glibc then
# writes every block it hands out or takes back, so that RSS counts all
# that a process allocated, also what it never touches (three times the
# RSS of a run of this script by hand).
[ -z "${MALLOC_PERTURB_:-}" ] ||
	tap_diag "(MALLOC_PERTURB_=$MALLOC_PERTURB_, as meson test sets it: RSS is what each process allocated; run the script by hand for what it uses)"
tap_diag "load average after the pings: $load_peak; now: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores" \
	"memory: $(free -m | awk '/^Mem:/ {print $3 " MiB used of " $2}')" \
	"the whole run so far: $(secs_since "$T_START")s from the first wh up"

tap_done
