#!/bin/bash
# The NAT matrix: two members behind every pair of the lab's gateway types
# (and two behind one gateway) connect; the path is direct wherever an
# endpoint-independent mapping on one side whose filtering the other side
# can pass, a port mapping (UPnP IGD / NAT-PMP) or a shared LAN makes it
# possible, and relayed otherwise (a symmetric NAT against a
# port-restricted or symmetric one).  For each pair it measures the time
# from both nodes up to the first ping answered, and to a direct path.
# Usage: natmatrix.sh WH UDPPROBE [TABLE_FILE]
#   UDPPROBE is test/tools/udpprobe (the STUN responder miniupnpd needs).
#   TABLE_FILE, if given, receives the matrix as a Markdown table.
#
#   internet 198.18.0.0/24: boot .10 (public DHT node and relay)
#   pair N: gateway gNa (TYPE_A) --- LAN --- member a
#           gateway gNb (TYPE_B) --- LAN --- member b
#           ("same": both members on gateway gNa's LAN)
#   each pair is its own network (one file per pair, the same boot node)
LAB_TAG=nm
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -ge 2 ] || { echo "usage: $0 WH UDPPROBE [TABLE_FILE]" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
NATLAB_PROBE=$(lab_impl_abs "$2")
TABLE=${3:-}
natlab_require upnp
lab_require_impl "$WH"
lab_init

TYPES=(full-cone address-restricted port-restricted symmetric upnp)
PAIRS=()
for ((i = 0; i < ${#TYPES[@]}; i++)); do
	for ((j = i; j < ${#TYPES[@]}; j++)); do
		PAIRS+=("${TYPES[i]} ${TYPES[j]}")
	done
done
PAIRS+=("port-restricted same" "symmetric same")
# NATMATRIX_PAIRS="symmetric symmetric,upnp same" runs only those pairs;
# NATMATRIX_KEEP=DIR keeps the logs.
if [ -n "${NATMATRIX_PAIRS:-}" ]; then
	IFS=, read -r -a PAIRS <<<"$NATMATRIX_PAIRS"
fi

# What the NATs allow: relayed only when one side maps per destination
# (symmetric) and the other filters by address and port (port-restricted)
# or maps per destination too; a UPnP/NAT-PMP mapping accepts anyone.
expected() {
	case "$1 $2" in
	"symmetric port-restricted" | "port-restricted symmetric" | "symmetric symmetric") echo relayed ;;
	*) echo direct ;;
	esac
}

natlab_internet
natlab_public_host boot || exit 1
"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
BOOT_EP="${NATLAB_IP[boot]}:62096"
printf 'workbit 4\nboot %s %s\n' "$BOOT" "$BOOT_EP" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "$WH" up "$LAB_DIR/boot.conf" \
	private-key "$LAB_DIR/boot.key" interface "nm$LAB_PID" -f

show_json() { # host field [peer field]
	nsx "${NATLAB_NS[$1]}" "$WH" show "nm${LAB_PID}p${1#p}" json 2>/dev/null |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["peers"][0][sys.argv[2]] if len(sys.argv) > 2 else d[sys.argv[1]])' "$2" ${3:+"$3"}
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

ROWS=()
declare -A PID
n=0
for pair in "${PAIRS[@]}"; do
	read -r ta tb <<<"$pair"
	n=$((n + 1))
	if [ "$tb" = same ]; then
		want=direct
		label="$ta, same gateway"
	else
		want=$(expected "$ta" "$tb")
		label="$ta x $tb"
	fi
	natlab_gateway "g${n}a" "$ta" || exit 1
	natlab_host "p${n}a" "g${n}a" || exit 1
	if [ "$tb" = same ]; then
		natlab_host "p${n}b" "g${n}a" || exit 1
	else
		natlab_gateway "g${n}b" "$tb" || exit 1
		natlab_host "p${n}b" "g${n}b" || exit 1
	fi
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
		natlab_spawn "${NATLAB_NS[p$n$m]}" "p$n$m" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
			"$WH" up "$LAB_DIR/pair$n.conf" \
			private-key "$LAB_DIR/p$n$m.key" interface "nm${LAB_PID}p$n$m" -f
		PID[$m]=$NATLAB_PID
	done
	# Both nodes up: their control sockets answer.
	if ! wait_for "[ -n \"\$(show_json p${n}a ipv4)\" ] && [ -n \"\$(show_json p${n}b ipv4)\" ]" 10; then
		tap_fail "$label: both nodes start" "$(cat "$LAB_DIR/p${n}a.log" "$LAB_DIR/p${n}b.log")"
		ROWS+=("| $label | $want | no start | | |")
		continue
	fi
	t0=$(now_ms)
	dst=$(show_json "p${n}b" ipv4)
	# The first ping answered, trying every 100 ms.
	if ! nsx "${NATLAB_NS[p${n}a]}" ping -n -q -c 1 -i 0.1 -w 20 "$dst" >/dev/null 2>&1; then
		tap_fail "$label: the members connect" \
			"$(nsx "${NATLAB_NS[p${n}a]}" "$WH" show "nm${LAB_PID}p${n}a" 2>&1)"
		ROWS+=("| $label | $want | no connection | | |")
		tap_diag "$(cat "$LAB_DIR/p${n}a.log" "$LAB_DIR/p${n}b.log" "$LAB_DIR/boot.log")"
		continue
	fi
	t_first=$(($(now_ms) - t0))
	tap_ok "$label: the members connect (first ping answered after $t_first ms)"
	# The path each side settles on: direct within 15 s where possible.
	t_direct=
	if [ "$want" = direct ]; then
		if wait_for "[ \"\$(show_json p${n}a peer path)\" = direct ] && [ \"\$(show_json p${n}b peer path)\" = direct ]" 15; then
			t_direct=$(($(now_ms) - t0))
		fi
	else
		sleep 3 # give punching its chance to (wrongly) succeed
	fi
	pa=$(show_json "p${n}a" peer path)
	pb=$(show_json "p${n}b" peer path)
	if [ "$pa" = "$want" ] && [ "$pb" = "$want" ]; then
		tap_ok "$label: the path is $want on both sides"
	else
		tap_fail "$label: the path is $want on both sides" "a says $pa, b says $pb" \
			"$(nsx "${NATLAB_NS[p${n}a]}" "$WH" show "nm${LAB_PID}p${n}a" 2>&1)"
	fi
	# Stock wg shows where datagrams go: the relay, or not the relay.
	wg_ep() { nsx "${NATLAB_NS[p${n}a]}" wg show "nm${LAB_PID}p${n}a" endpoints | awk '{print $2}'; }
	if [ "$want" = relayed ]; then
		ok_ep() { [ "$(wg_ep)" = "$BOOT_EP" ]; }
	else
		ok_ep() { ep=$(wg_ep); [ -n "$ep" ] && [ "$ep" != "(none)" ] && [ "$ep" != "$BOOT_EP" ]; }
	fi
	if wait_for ok_ep 3; then
		tap_ok "$label: wg show's endpoint follows the path ($(wg_ep))"
	else
		tap_fail "$label: wg show's endpoint follows the path" "path $pa; wg show:" \
			"$(nsx "${NATLAB_NS[p${n}a]}" wg show "nm${LAB_PID}p${n}a" 2>&1)"
	fi
	# A member behind the UPnP gateway holds a port mapping.
	if [ "$ta" = upnp ] || [ "$tb" = upnp ]; then
		h=p${n}a
		[ "$ta" = upnp ] || h=p${n}b
		pm=$(show_json "$h" port_mapping)
		if [ -n "$pm" ] && [ "$pm" != None ]; then
			tap_ok "$label: the member behind upnp shows its port mapping ($pm)"
		else
			tap_fail "$label: the member behind upnp shows its port mapping" "port_mapping: '$pm'"
		fi
	fi
	# Traffic keeps flowing on the settled path.
	tap_check "$label: 20 pings on the settled path" \
		nsx "${NATLAB_NS[p${n}a]}" ping -n -q -c 20 -i 0.05 -W 1 "$dst"
	ROWS+=("| $label | $want | $pa | $t_first ms | ${t_direct:-—}${t_direct:+ ms} |")
	# Done with this pair: its daemons stop, so that the next pair's
	# timings are not shared with idle nodes.
	natlab_stop "${PID[a]}"
	natlab_stop "${PID[b]}"
done

{
	echo "| pair | expected | path | first packet | direct path |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
} >"$LAB_DIR/table.md"
tap_diag "$(cat "$LAB_DIR/table.md")"
[ -n "$TABLE" ] && cp "$LAB_DIR/table.md" "$TABLE"
# NATMATRIX_KEEP=DIR keeps the nodes' logs (with LAB_LOG_LEVEL=debug: why
# a pair was slow).
[ -n "${NATMATRIX_KEEP:-}" ] && mkdir -p "$NATMATRIX_KEEP" && cp "$LAB_DIR"/*.log "$NATMATRIX_KEEP"/
tap_done
