#!/bin/bash
# A node tells how its NAT maps it from the addresses two public DHT nodes
# saw it at: behind a full-cone or port-restricted gateway one address
# (endpoint-independent), behind a symmetric one two (endpoint-dependent),
# and on the internet its own address (none).  `wh show json` says so.
# Usage: natclass.sh WH
#
#   internet 198.18.0.0/24: boot1 .10, boot2 .11 (public DHT nodes),
#                           d .12 (a member with a public address)
#   gateway ga full-cone       --- LAN 198.18.1.0/24: member a
#   gateway gb symmetric       --- LAN 198.18.2.0/24: member b
#   gateway gc port-restricted --- LAN 198.18.3.0/24: member c
LAB_TAG=nc
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
natlab_require
lab_require_impl "$WH"
lab_init

natlab_internet
natlab_public_host boot1 && natlab_public_host boot2 && natlab_public_host d || exit 1
natlab_gateway ga full-cone && natlab_gateway gb symmetric && natlab_gateway gc port-restricted || exit 1
natlab_host a ga && natlab_host b gb && natlab_host c gc || exit 1

for n in boot1 boot2 a b c d; do
	"$WH" genkey workbit 4 >"$LAB_DIR/$n.key"
	"$WH" pubkey <"$LAB_DIR/$n.key" >"$LAB_DIR/$n.pub"
done
{
	echo "name natclass"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $(cat "$LAB_DIR/boot1.pub") ${NATLAB_IP[boot1]}:62096"
	echo "boot $(cat "$LAB_DIR/boot2.pub") ${NATLAB_IP[boot2]}:62096"
	for n in a b c d; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
} >"$LAB_DIR/net.conf"

for n in boot1 boot2 a b c d; do
	natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$n.key" interface "nc$LAB_PID$n" -f
done

mapping_of() { # mapping_of NODE: "MAPPING OBSERVERS"
	nsx "${NATLAB_NS[$1]}" "$WH" show "nc$LAB_PID$1" json 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["nat_mapping"], j["nat_observers"])'
}
for pair in a:endpoint-independent b:endpoint-dependent c:endpoint-independent d:none; do
	n=${pair%%:*} want=${pair#*:} kind=public
	gw=${NATLAB_GW[$n]:-}
	[ -z "$gw" ] || kind=${NATLAB_TYPE[$gw]}
	if wait_for "[ \"\$(mapping_of $n | cut -d' ' -f1)\" = $want ]" 15; then
		tap_ok "$n ($kind): NAT mapping $want ($(mapping_of "$n" | cut -d' ' -f2) observers)"
	else
		tap_fail "$n: NAT mapping $want" "got: $(mapping_of "$n")" \
			"$(nsx "${NATLAB_NS[$n]}" "$WH" show "nc$LAB_PID$n" 2>&1)"
	fi
done
tap_done
