#!/bin/bash
# Port prediction (doc/protocol.md 9.7): members behind the lab's
# sequential symmetric NAT (each new flow takes the next port) reach a
# peer with no NAT, behind a full cone, behind a port-restricted NAT and
# behind another sequential NAT directly; so does a member behind a
# CGNAT (a port-restricted home gateway behind a sequential carrier
# gateway) against a port-restricted one; a member behind a random
# symmetric NAT (masquerade fully-random) against a port-restricted one
# stays relayed, and connected.  Before port prediction, sequential x
# port-restricted and sequential x sequential stayed relayed.
# Usage: predict.sh WH [--runs N] [--table FILE]
#   --runs N: run the pairs N times (fresh keys and NAT state each run)
#   and count successes and times to direct per pairing; --table FILE
#   writes them as a Markdown table (doc/nat-lab.md).  The default, one
#   run, is the CI test (net-predict).  PREDICT_KEEP=DIR keeps the
#   daemons' logs, each gateway's conntrack table at the end of a run and
#   its conntrack events (every UDP flow it created, with the port it
#   gave, as it happened: rN-GW.ct-events.log).
#
#   internet 198.18.0.0/24: boot .10 (public DHT node, relay, second port)
#   pair N: member Na behind gateway gNa (sequential, random, or cgnat:
#           gNa port-restricted on the LAN of cgNa, sequential)
#           member Nb behind gateway gNb (TYPE), or on the internet (open)
#   each pair is its own network (one file per pair, the same boot node);
#   all pairs run at once.
LAB_TAG=pd
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH [--runs N] [--table FILE]" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
shift
RUNS=1
TABLE=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--table) TABLE=$2; shift 2 ;;
	*) echo "usage: predict.sh WH [--runs N] [--table FILE]" >&2; exit 2 ;;
	esac
done
natlab_require
lab_require_cmd ping conntrack
lab_require_impl "$WH"
lab_init

PAIRS=("sequential open" "sequential full-cone" "sequential port-restricted"
	"sequential sequential" "cgnat port-restricted" "random port-restricted")
# PREDICT_PAIRS="sequential sequential,random port-restricted" runs only those.
if [ -n "${PREDICT_PAIRS:-}" ]; then
	IFS=, read -r -a PAIRS <<<"$PREDICT_PAIRS"
fi
# A random allocation predicts nothing: relayed against any peer that
# admits only the ip:port it sent to (birthday probing is not built).
expected() {
	case "$1 $2" in
	"random port-restricted" | "random sequential" | "random cgnat" | "random random") echo relayed ;;
	*) echo direct ;;
	esac
}
DIRECT_WAIT=${PREDICT_DIRECT_WAIT:-35}	# s: the second exchange comes 10 s after the first
RELAYED_WAIT=15				# s: past the second exchange

now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_json() { # node field [peer field]
	nsx "${NATLAB_NS[$1]}" "$WH" show "pd${LAB_PID}$1" json 2>/dev/null |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["peers"][0][sys.argv[2]] if len(sys.argv) > 2 else d[sys.argv[1]])' "$2" ${3:+"$3"}
}

T_LAB=$(now_ms)
natlab_internet || exit 1
natlab_public_host boot || exit 1
"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
BOOT_EP="${NATLAB_IP[boot]}:62096"
printf 'workbit 4\nboot %s %s\n' "$BOOT" "$BOOT_EP" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "$WH" up "$LAB_DIR/boot.conf" \
	private-key "$LAB_DIR/boot.key" interface "pd${LAB_PID}bt" -f
# pd_member NODE GW TYPE: NODE on the internet (open), behind GW of TYPE,
# or (cgnat) behind a port-restricted home gateway GW whose WAN side sits
# on the LAN of a sequential carrier-grade NAT cGW.
pd_member() {
	case $3 in
	open) natlab_public_host "$1" ;;
	cgnat) natlab_gateway "c$2" sequential && natlab_gateway "$2" port-restricted upstream="c$2" &&
		natlab_host "$1" "$2" ;;
	*) natlab_gateway "$2" "$3" && natlab_host "$1" "$2" ;;
	esac
}
n=0
for pair in "${PAIRS[@]}"; do
	read -r ta tb <<<"$pair"
	n=$((n + 1))
	pd_member "p${n}a" "g${n}a" "$ta" || exit 1
	pd_member "p${n}b" "g${n}b" "$tb" || exit 1
done
tap_ok "lab: boot, ${#PAIRS[@]} pairs of gateways and members, built in $(($(now_ms) - T_LAB)) ms"

declare -A OK_RUNS=() DIRECT_MS=() PID=()
for ((run = 1; run <= RUNS; run++)); do
	# With PREDICT_KEEP, every UDP flow each gateway creates and ends,
	# as it happens (a table dumped at the end misses the punches' flows,
	# expired by then).
	declare -A CT_PID=()
	if [ -n "${PREDICT_KEEP:-}" ]; then
		for gw in "${!NATLAB_TYPE[@]}"; do
			natlab_spawn "${NATLAB_NS[$gw]}" "r$run-$gw.ct-events" \
				conntrack -E -e NEW,DESTROY -p udp -o timestamp
			CT_PID[$gw]=$NATLAB_PID
		done
	fi
	# Fresh keys, so that the boot node's memory of the last run's
	# members (at their old ports) plays no part.
	n=0
	for pair in "${PAIRS[@]}"; do
		n=$((n + 1))
		for m in a b; do
			"$WH" genkey workbit 4 >"$LAB_DIR/p$n$m.key"
			"$WH" pubkey <"$LAB_DIR/p$n$m.key" >"$LAB_DIR/p$n$m.pub"
		done
		{
			echo "name pair$n"
			echo "subnet 198.19.0.0/16"
			echo "workbit 4"
			echo "boot $BOOT $BOOT_EP"
			echo "trust a $(cat "$LAB_DIR/p${n}a.pub")"
			echo "trust b $(cat "$LAB_DIR/p${n}b.pub")"
		} >"$LAB_DIR/pair$n.conf"
		for m in a b; do
			natlab_spawn "${NATLAB_NS[p$n$m]}" "r$run-p$n$m" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
				"$WH" up "$LAB_DIR/pair$n.conf" private-key "$LAB_DIR/p$n$m.key" \
				interface "pd${LAB_PID}p$n$m" -f
			PID[p$n$m]=$NATLAB_PID
		done
	done
	# Every node up: its control socket answers.  From then on each
	# pair's time to direct is counted.
	up=1
	n=0
	for pair in "${PAIRS[@]}"; do
		n=$((n + 1))
		wait_for "[ -n \"\$(show_json p${n}a ipv4)\" ] && [ -n \"\$(show_json p${n}b ipv4)\" ]" 15 || {
			up=0
			tap_fail "run $run: pair $n ($pair) starts" "$(cat "$LAB_DIR/r$run-p${n}a.log" "$LAB_DIR/r$run-p${n}b.log")"
		}
	done
	t0=$(now_ms)
	# Poll every pair until each is direct on both sides, or the
	# deadline (the relayed ones run to RELAYED_WAIT).
	declare -A done_ms=() path_a=() path_b=()
	while [ "$up" = 1 ]; do
		pending=0
		el=$(($(now_ms) - t0))
		n=0
		for pair in "${PAIRS[@]}"; do
			n=$((n + 1))
			[ -z "${done_ms[$n]:-}" ] || continue
			path_a[$n]=$(show_json "p${n}a" peer path)
			path_b[$n]=$(show_json "p${n}b" peer path)
			if [ "${path_a[$n]}" = direct ] && [ "${path_b[$n]}" = direct ]; then
				done_ms[$n]=$(($(now_ms) - t0))
			else
				pending=1
			fi
		done
		if [ "$pending" = 0 ] || [ "$el" -ge $((DIRECT_WAIT * 1000)) ]; then
			break
		fi
		[ "$el" -ge $((RELAYED_WAIT * 1000)) ] || { sleep 0.3; continue; }
		# Past RELAYED_WAIT only pairs expected direct keep us waiting.
		waiting=0
		n=0
		for pair in "${PAIRS[@]}"; do
			n=$((n + 1))
			read -r ta tb <<<"$pair"
			[ -n "${done_ms[$n]:-}" ] || [ "$(expected "$ta" "$tb")" != direct ] || waiting=1
		done
		[ "$waiting" = 1 ] || break
		sleep 0.3
	done
	n=0
	for pair in "${PAIRS[@]}"; do
		n=$((n + 1))
		read -r ta tb <<<"$pair"
		want=$(expected "$ta" "$tb")
		label="$ta x $tb"
		[ "$up" = 1 ] || continue
		# Connected: a ping through the overlay, whatever the path.
		dst=$(show_json "p${n}b" ipv4)
		conn=0
		nsx "${NATLAB_NS[p${n}a]}" ping -n -q -c 1 -i 0.1 -w 20 "$dst" >/dev/null 2>&1 && conn=1
		if [ -n "${done_ms[$n]:-}" ]; then got=direct; else got="${path_a[$n]}/${path_b[$n]}"; fi
		[ "$got" = relayed/relayed ] && got=relayed
		if [ "$conn" = 1 ] && [ "$got" = "$want" ]; then
			OK_RUNS[$n]=$((${OK_RUNS[$n]:-0} + 1))
			[ "$want" = direct ] && DIRECT_MS[$n]="${DIRECT_MS[$n]:-} ${done_ms[$n]}"
			tap_ok "run $run: $label: $want${done_ms[$n]:+ after ${done_ms[$n]} ms}, connected"
		else
			tap_fail "run $run: $label: $want and connected" "path: $got, ping: $conn" \
				"$(nsx "${NATLAB_NS[p${n}a]}" "$WH" show "pd${LAB_PID}p${n}a" 2>&1)" \
				"$(nsx "${NATLAB_NS[p${n}b]}" "$WH" show "pd${LAB_PID}p${n}b" 2>&1)" \
				"$(grep -i 'member\|candidates\|direct' "$LAB_DIR/r$run-p${n}a.log" | tail -n 20)"
		fi
	done
	unset done_ms path_a path_b
	# With PREDICT_KEEP, each gateway's flows (the ports it gave) too.
	if [ -n "${PREDICT_KEEP:-}" ]; then
		for gw in "${!NATLAB_TYPE[@]}"; do
			nsx "${NATLAB_NS[$gw]}" conntrack -L -p udp >"$LAB_DIR/r$run-$gw.ct.log" 2>&1
		done
	fi
	for gw in "${!CT_PID[@]}"; do
		natlab_stop "${CT_PID[$gw]}"
	done
	unset CT_PID
	# The next run starts from fresh daemons and NAT state.
	for node in "${!PID[@]}"; do
		natlab_stop "${PID[$node]}"
	done
	PID=()
	for gw in "${!NATLAB_TYPE[@]}"; do
		natlab_flush "$gw"
	done
done

# The table: per pairing, runs, successes, and time to direct (from both
# nodes up to both showing a direct path): median and range.
{
	echo "| pairing | expected | runs | as expected | time to direct: median (min-max) |"
	echo "|---|---|---|---|---|"
	n=0
	for pair in "${PAIRS[@]}"; do
		n=$((n + 1))
		read -r ta tb <<<"$pair"
		want=$(expected "$ta" "$tb")
		times=
		if [ -n "${DIRECT_MS[$n]:-}" ]; then
			# shellcheck disable=SC2086
			times=$(printf '%s\n' ${DIRECT_MS[$n]} | sort -n | awk '{ v[NR] = $1 }
				END { printf "%.1f s (%.1f-%.1f)", v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000 }')
		fi
		echo "| $ta x $tb | $want | $RUNS | ${OK_RUNS[$n]:-0} | ${times:-—} |"
	done
} >"$LAB_DIR/table.md"
tap_diag "$(cat "$LAB_DIR/table.md")" "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$TABLE" ] || cp "$LAB_DIR/table.md" "$TABLE"
[ -z "${PREDICT_KEEP:-}" ] || { mkdir -p "$PREDICT_KEEP" && cp "$LAB_DIR"/*.log "$LAB_DIR"/*.nft "$PREDICT_KEEP"/; }
tap_done
