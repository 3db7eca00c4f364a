#!/bin/bash
# A flood of forged overlay datagrams from made-up keys of enough workbit
# (doc/protocol.md 4.1) at a member, while it pings another member over
# the tunnel: the DH it spends on them stays within its budgets, the
# flood gets cookie replies no larger than itself, and no ping is lost.
# Usage: ovlflood.sh WH OVLFLOOD (the `wh` binary, test/tools/ovlflood).
#
#               ns SW (whlab-of-PID-sw): bridge br0
#   +--------------------------------------------------------+
#   |   sboot          sa            sb            sf        |
#   +-----|-------------|-------------|-------------|--------+
#   +-----|----+  +-----|----+  +-----|----+  +-----|-----+
#   | eth0 .10 |  | eth0 .1  |  | eth0 .2  |  | eth0 .9   |
#   | boot     |  | a        |  | b        |  | f         |
#   | public   |  | of<P>a   |  | of<P>b   |  | ovlflood  |
#   +----------+  +----------+  +----------+  +-----------+
#   outer addresses 198.18.0.N/24, UDP port 62096; overlay 198.19.0.0/16
#
# f sends 20,000 forged 70-byte datagrams a second for 10 s to a, from
# 512 keys of workbit 8 in the namespace, none with a private key.
LAB_TAG=of
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH OVLFLOOD" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
OVLFLOOD=$(lab_impl_abs "$2")

PORT=62096
FLOOD_S=10
FLOOD_RATE=20000

lab_require_root
lab_require_cmd ip ping python3
lab_require_impl "$WH"
[ -x "$OVLFLOOD" ] || tap_skip_all "no flood tool at $OVLFLOOD"

lab_wh_init

declare -A NSOF=() IFOF=() IPOF=() PUB=() WHPID=()

# json NODE show|inspect PATH: one value of `wh show json` or `wh inspect`.
json() {
	local n=$1
	if [ "$2" = inspect ]; then
		nsx "${NSOF[$n]}" "$WH" inspect "${IFOF[$n]}"
	else
		nsx "${NSOF[$n]}" "$WH" show "${IFOF[$n]}" json
	fi 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$3"
}

start_node() {
	local node=$1 ns=${NSOF[$1]} iface=${IFOF[$1]} pid cond
	rm -f "$WH_CTL_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "$ns" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
		"$WH" up "$LAB_DIR/net.conf" private-key "$LAB_DIR/$node.key" \
		interface "$iface" listen-port "$PORT" -f \
		>"$LAB_DIR/$iface.log" 2>&1 </dev/null &
	pid=$!
	LAB_PIDS+=("$pid")
	WHPID[$node]=$pid
	cond="[ -S $WH_CTL_DIR/$iface.sock ]"
	[ "$node" = boot ] || cond="$cond && ip -n $ns link show $iface"
	wait_for "$cond" 10 && kill -0 "$pid" 2>/dev/null
}

# ---------------------------------------------------------------- the lab
new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
for node in boot a b f; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	case $node in
	boot) IPOF[$node]=198.18.0.10 ;;
	a) IPOF[$node]=198.18.0.1 ;;
	b) IPOF[$node]=198.18.0.2 ;;
	f) IPOF[$node]=198.18.0.9 ;;
	esac
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	[ "$node" = f ] && continue
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
if [ "$lab_ok" = 1 ]; then
	for node in a b f; do
		wait_for "ping_ok ${NSOF[boot]} ${IPOF[$node]}" 10 || { lab_ok=0; break; }
	done
fi
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: five namespaces on a bridge, keys with workbit 8"
else
	tap_fail "lab: five namespaces on a bridge" "$(ip -n "$SW" link 2>&1)"
	tap_done
fi
{
	echo "name oflab"
	echo "subnet 198.19.0.0/16"
	echo "workbit 8"
	echo "boot ${PUB[boot]} 198.18.0.10:$PORT"
	echo "trust a ${PUB[a]}"
	echo "trust b ${PUB[b]}"
} >"$LAB_DIR/net.conf"

for node in boot a b; do
	start_node "$node" || { tap_fail "wh up $node" "$(impl_log "${IFOF[$node]}")"; tap_done; }
done
B4=$(json b show ipv4)
if [ -n "$B4" ] && wait_for "ping_ok ${NSOF[a]} $B4" 30; then
	tap_ok "a pings b ($B4) over the overlay before the flood"
else
	tap_fail "a pings b over the overlay before the flood" \
		"$(nsx "${NSOF[a]}" "$WH" show "${IFOF[a]}" 2>&1)" "$(impl_log "${IFOF[a]}")"
	tap_done
fi

# ---------------------------------------------------------------- the flood
DH0=$(json a inspect secure.dh)
# a's CPU time (user + system, in clock ticks) tells what the flood cost
# also where no DH counter exists (the old code: SECURITY.md, finding 6).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CPU0=$(cpu_ticks "${WHPID[a]}")
T0=$(date +%s.%N)
nsx "${NSOF[f]}" "$OVLFLOOD" 198.18.0.1 "$PORT" public 8 "$FLOOD_S" "$FLOOD_RATE" \
	>"$LAB_DIR/flood.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS+=("$FLOOD_PID")
# The flood has begun once a has turned some of it away.
wait_for "[ \"\$(json a inspect 'secure.open.under load')\" -gt 0 ] 2>/dev/null" 10 ||
	tap_diag "a counts no datagram under load yet"

# 100 pings, 50 ms apart, well within the flood's 10 s.
out=$(nsx "${NSOF[a]}" ping -c 100 -i 0.05 -W 1 "$B4" 2>&1)
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
if [ "$loss" = 0 ]; then
	tap_ok "no ping lost during the flood ($(grep -o 'rtt.*' <<<"$out"))"
else
	tap_fail "no ping lost during the flood" "$out"
fi
wait "$FLOOD_PID"
CPU1=$(cpu_ticks "${WHPID[a]}")
tap_diag "a's CPU during the flood: $(awk -v c=$((CPU1 - CPU0)) -v hz="$(getconf CLK_TCK)" \
	-v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f s in %.1f s", c / hz, t1 - t0 }')"
read -r _ SENT _ REPLIES <"$LAB_DIR/flood.out"
DH1=$(json a inspect secure.dh)
DH=$((${DH1:-0} - ${DH0:-0}))
# One source address: its budget (burst 40, 20 a second) bounds the DH.
MAXDH=$((40 + 20 * (FLOOD_S + 2)))
if [ -n "$DH0" ] && [ -n "$DH1" ] && [ "${SENT:-0}" -gt $((FLOOD_S * FLOOD_RATE / 2)) ] &&
	[ "$DH" -le "$MAXDH" ]; then
	tap_ok "$SENT forged datagrams cost a $DH DH (at most $MAXDH)"
else
	tap_fail "forged datagrams cost a at most $MAXDH DH" "sent ${SENT:-?}, DH '$DH0' -> '$DH1'" \
		"$(cat "$LAB_DIR/flood.out")"
fi
if [ "${REPLIES:-0}" -gt 0 ]; then
	tap_ok "the flood got $REPLIES cookie replies of 70 bytes (no DH, no state)"
else
	tap_fail "the flood got cookie replies" "$(cat "$LAB_DIR/flood.out")" \
		"$(nsx "${NSOF[a]}" "$WH" inspect "${IFOF[a]}" 2>&1 | grep -A2 secure)"
fi
if kill -0 "${WHPID[a]}" 2>/dev/null && wait_for "ping_ok ${NSOF[a]} $B4" 10; then
	tap_ok "a runs and pings b after the flood"
else
	tap_fail "a runs and pings b after the flood" "$(impl_log "${IFOF[a]}")"
fi
tap_done
