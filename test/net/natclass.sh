#!/bin/bash
# A node tells how its NAT maps it from the addresses two public DHT nodes
# saw it at: behind a full-cone or port-restricted gateway one address
# (endpoint-independent), behind a symmetric one two (endpoint-dependent),
# and on the internet its own address (none).  And how its NAT filters,
# from the probes (PROBE_REQ/PROBE) the public nodes send it from another
# port and, boot1 having a second address, from another address: full-cone
# endpoint-independent, address-restricted address-dependent,
# port-restricted and symmetric address-and-port-dependent, public none.
# A second network (its own namespace) whose public nodes have one
# address each cannot test by address: behind full-cone and
# address-restricted gateways its members say "not-port-dependent", not a
# wrong exact verdict.  `wh show json` says all of it.
# Usage: natclass.sh WH
#
#   internet 198.18.0.0/24: boot1 .10 and .50 (a public DHT node with two
#                           addresses), boot2 .11 (a public DHT node),
#                           d .12 (a member with a public address),
#                           boot3 .13, boot4 .14 (public nodes of network 2)
#   gateway ga full-cone          --- LAN 198.18.1.0/24: member a, e (net 2)
#   gateway gb symmetric          --- LAN 198.18.2.0/24: member b
#   gateway gc port-restricted    --- LAN 198.18.3.0/24: member c
#   gateway gd address-restricted --- LAN 198.18.4.0/24: member g, f (net 2)
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
natlab_public_host boot3 && natlab_public_host boot4 || exit 1
addr "${NATLAB_NS[boot1]}" eth0 198.18.0.50/24 || exit 1
natlab_gateway ga full-cone && natlab_gateway gb symmetric && natlab_gateway gc port-restricted &&
	natlab_gateway gd address-restricted || exit 1
natlab_host a ga && natlab_host b gb && natlab_host c gc && natlab_host g gd || exit 1
natlab_host e ga && natlab_host f gd || exit 1

for n in boot1 boot2 boot3 boot4 a b c d e f g; do
	"$WH" genkey workbit 4 >"$LAB_DIR/$n.key"
	"$WH" pubkey <"$LAB_DIR/$n.key" >"$LAB_DIR/$n.pub"
done
{
	echo "name natclass"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $(cat "$LAB_DIR/boot1.pub") ${NATLAB_IP[boot1]}:62096"
	echo "boot $(cat "$LAB_DIR/boot2.pub") ${NATLAB_IP[boot2]}:62096"
	for n in a b c d g; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
} >"$LAB_DIR/net.conf"
# Network 2: another namespace, so that its nodes and network 1's never
# take each other's datagrams (workbit 0: the keys were made for "public").
{
	echo "name natclass2"
	echo "namespace natclass2"
	echo "subnet 198.19.0.0/16"
	echo "workbit 0"
	echo "boot $(cat "$LAB_DIR/boot3.pub") ${NATLAB_IP[boot3]}:62096"
	echo "boot $(cat "$LAB_DIR/boot4.pub") ${NATLAB_IP[boot4]}:62096"
	for n in e f; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
} >"$LAB_DIR/net2.conf"

for n in boot1 boot2 a b c d g; do
	natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$n.key" interface "nc$LAB_PID$n" -f
done
for n in boot3 boot4 e f; do
	natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/net2.conf" \
		private-key "$LAB_DIR/$n.key" interface "nc$LAB_PID$n" -f
done

mapping_of() { # mapping_of NODE: "MAPPING OBSERVERS"
	nsx "${NATLAB_NS[$1]}" "$WH" show "nc$LAB_PID$1" json 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["nat_mapping"], j["nat_observers"])'
}
for pair in a:endpoint-independent b:endpoint-dependent c:endpoint-independent g:endpoint-independent d:none; do
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

filtering_of() { # filtering_of NODE: "FILTERING MAPPING"
	nsx "${NATLAB_NS[$1]}" "$WH" show "nc$LAB_PID$1" json 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["nat_filtering"], j["nat_mapping"])'
}
for pair in a:endpoint-independent g:address-dependent c:address-and-port-dependent \
	b:address-and-port-dependent d:none boot1:none boot2:none \
	e:not-port-dependent f:not-port-dependent; do
	n=${pair%%:*} want=${pair#*:} kind=public
	gw=${NATLAB_GW[$n]:-}
	[ -z "$gw" ] || kind=${NATLAB_TYPE[$gw]}
	case $n in e | f | boot3 | boot4) kind="$kind, network 2: no second address" ;; esac
	if wait_for "[ \"\$(filtering_of $n | cut -d' ' -f1)\" = $want ]" 30; then
		tap_ok "$n ($kind): NAT filtering $want"
	else
		tap_fail "$n: NAT filtering $want" "got: $(filtering_of "$n")" \
			"$(nsx "${NATLAB_NS[$n]}" "$WH" show "nc$LAB_PID$n" 2>&1)"
	fi
done
# `wh show` (text) says it next to the mapping, and what "not-port-dependent"
# leaves open.
line=$(nsx "${NATLAB_NS[g]}" "$WH" show "nc${LAB_PID}g" 2>/dev/null | grep 'NAT mapping')
if [[ $line == *"NAT mapping endpoint-independent ("*"), filtering address-dependent" ]]; then
	tap_ok "wh show on g:${line#*,}"
else
	tap_fail "wh show on g: NAT mapping and filtering" "got: $line"
fi
line=$(nsx "${NATLAB_NS[e]}" "$WH" show "nc${LAB_PID}e" 2>/dev/null | grep 'NAT mapping')
if [[ $line == *"filtering not-port-dependent (endpoint-independent or address-dependent)" ]]; then
	tap_ok "wh show on e:${line#*,}"
else
	tap_fail "wh show on e: filtering not-port-dependent, explained" "got: $line"
fi
# The probes from boot1's other port and address moved no one's idea of
# where boot1 is; boot1 answered PROBE_REQs, nobody had to drop any.
boot1_key=$(cat "$LAB_DIR/boot1.pub")
bad=
for n in a b c d g; do
	nsx "${NATLAB_NS[$n]}" "$WH" inspect "nc$LAB_PID$n" 2>/dev/null |
		python3 -c '
import json, sys
key, want = sys.argv[1], sys.argv[2]
entries = [e for e in json.load(sys.stdin)["dht"]["entries"] if e["key"] == key]
sys.exit(0 if entries and all(e["address"] == want for e in entries) else 1)
' "$boot1_key" "${NATLAB_IP[boot1]}:62096" || bad="$bad $n"
done
if [ -z "$bad" ]; then
	tap_ok "boot1 stays at ${NATLAB_IP[boot1]}:62096 in every member's table"
else
	tap_fail "boot1 stays at its main address" "moved (or missing) in the table of:$bad"
fi
probes=$(nsx "${NATLAB_NS[boot1]}" "$WH" inspect "nc${LAB_PID}boot1" 2>/dev/null |
	python3 -c 'import json,sys; p=json.load(sys.stdin)["nat_probes"]; print(p["answered"], p["dropped"])')
if [ "${probes% *}" -ge 4 ] 2>/dev/null && [ "${probes#* }" = 0 ]; then
	tap_ok "boot1 answered PROBE_REQs (answered, dropped: $probes)"
else
	tap_fail "boot1 answered PROBE_REQs" "answered, dropped: $probes"
fi
tap_done
