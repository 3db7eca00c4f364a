#!/bin/bash
# Members behind pairs of NAT types find each other through the DHT and
# connect directly wherever the two NATs allow it without help: their
# lookups of each other cross, which opens both mappings.  Pairs that need
# candidate exchange (two members behind one gateway: the lab's NATs do
# not hairpin) or a relay (a symmetric NAT against a port-restricted or
# symmetric one) are reported as TODO until those land.
# Usage: natpairs.sh WH
#
#   internet 198.18.0.0/24: boot .10 (public DHT node, no interface)
#   for each pair N: gateway gNa (TYPE_A) --- LAN --- member a
#                    gateway gNb (TYPE_B) --- LAN --- member b
#   (pairs with "same": both members on gateway gNa's LAN)
#   each pair is its own network (one file per pair, the same boot node)
LAB_TAG=np
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
natlab_require
lab_require_impl "$WH"
lab_init

# TYPE_A TYPE_B EXPECTATION (direct | todo:REASON)
PAIRS=(
	"full-cone port-restricted direct"
	"port-restricted port-restricted direct"
	"address-restricted port-restricted direct"
	"symmetric full-cone direct"
	"symmetric address-restricted direct"
	"symmetric port-restricted todo:needs a relay"
	"symmetric symmetric todo:needs a relay"
	"port-restricted same todo:needs LAN candidates (no hairpin)"
)

natlab_internet
natlab_public_host boot || exit 1
"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
printf 'workbit 4\nboot %s %s:62096\n' "$BOOT" "${NATLAB_IP[boot]}" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot "$WH" up "$LAB_DIR/boot.conf" \
	private-key "$LAB_DIR/boot.key" interface "np$LAB_PID" -f

n=0
for pair in "${PAIRS[@]}"; do
	read -r ta tb expect <<<"$pair"
	n=$((n + 1))
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
		echo "boot $BOOT ${NATLAB_IP[boot]}:62096"
		echo "trust a $(cat "$LAB_DIR/p${n}a.pub")"
		echo "trust b $(cat "$LAB_DIR/p${n}b.pub")"
	} >"$LAB_DIR/pair$n.conf"
	for m in a b; do
		natlab_spawn "${NATLAB_NS[p$n$m]}" "p$n$m" "$WH" up "$LAB_DIR/pair$n.conf" \
			private-key "$LAB_DIR/p$n$m.key" interface "np$LAB_PID$n$m" -f
	done
done

ipv4_of() {
	nsx "${NATLAB_NS[$1]}" "$WH" show "np$LAB_PID${1#p}" json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])'
}
n=0
for pair in "${PAIRS[@]}"; do
	read -r ta tb expect <<<"$pair"
	n=$((n + 1))
	desc="$ta x $tb: members connect directly"
	wait_for "[ -n \"\$(ipv4_of p${n}b)\" ]" 10
	dst=$(ipv4_of "p${n}b")
	t0=$(date +%s%N)
	if wait_for "ping_ok ${NATLAB_NS[p${n}a]} $dst" 20; then
		ms=$((($(date +%s%N) - t0) / 1000000))
		path=$(nsx "${NATLAB_NS[p${n}a]}" "$WH" show "np$LAB_PID${n}a" json |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["path"])')
		if [ "$path" = direct ]; then
			tap_ok "$desc (first ping answered after $ms ms)"
		else
			tap_fail "$desc" "path is $path"
		fi
	elif [ "${expect%%:*}" = todo ]; then
		TAP_N=$((TAP_N + 1))
		printf 'not ok %d - %s # TODO %s\n' "$TAP_N" "$desc" "${expect#todo:}"
	else
		tap_fail "$desc" "$(nsx "${NATLAB_NS[p${n}a]}" "$WH" show "np$LAB_PID${n}a" 2>&1)"
	fi
done
tap_done
