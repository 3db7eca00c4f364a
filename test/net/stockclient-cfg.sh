#!/bin/bash
# A stock WireGuard client as its user sets it up (README "Stock WireGuard
# clients"): the network file lists it on a client line, `wh
# client-config` on a member writes its wg-quick file, and wireguard-go
# takes that file as wg-quick would (wg-quick strip, wg setconf, the
# Address lines, a route per AllowedIPs).  It then reaches the member
# through the relay the file names, and both sides show the path.
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node (boot of the network), relays
#     gm         port-restricted NAT --- m   wh member
#     gc         port-restricted NAT --- c   wireguard-go (the "phone")
# Usage: stockclient-cfg.sh WH
LAB_TAG=sc
# shellcheck source=lib_stock.sh
. "$(dirname "$0")/lib_stock.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
stock_lab wg-quick || exit 1
natlab_gateway gm port-restricted || exit 1
natlab_gateway gc port-restricted || exit 1
natlab_host m gm || exit 1
natlab_host c gc || exit 1

IF_R="sc${LAB_PID}r"
IF_M="sc${LAB_PID}m"
IF_C="sc${LAB_PID}c"
stock_relay_start "$IF_R" || exit 1
M_PUB=$(stock_wh_key m) || exit 1
# The phone's key as wg makes it, in wh's form for the file.
C_WG=$(gen_key c) || exit 1
C_WH=$(stock_key_wh "$C_WG")
printf 'name stockcfg\nsubnet 198.19.0.0/16\nworkbit 4\nboot %s %s\ntrust m %s\nclient phone %s\n' \
	"$RELAY" "$RELAY_EP" "$M_PUB" "$C_WH" >"$LAB_DIR/net.conf"
stock_wh_up m net.conf "$IF_M"

phone_json() { # field of the client's entry in m's wh show json
	nsx "${NATLAB_NS[m]}" "$WH" show "$IF_M" json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d.get("members", []) + d.get("peers", []):
    if p.get("hostname") == "phone":
        print(p.get(sys.argv[1])); break' "$1"
}
inspect() { # host iface section field
	nsx "${NATLAB_NS[$1]}" "$WH" inspect "$2" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$3" "$4"
}

if ! wait_for "[ \"\$(inspect relay $IF_R relay_clients registered)\" -ge 1 ]" 30; then
	tap_fail "m is up and registered with the relay" "$(tail -n 30 "$LAB_DIR/m.log" "$LAB_DIR/relay.log")"
	tap_done
fi
tap_check "m shows the phone as a client with no path yet" \
	test "$(phone_json kind) $(phone_json path)" = "client no path yet (stock client)"

# The user's steps: the file from wh client-config, then wg-quick's.
if "$WH" client-config "$IF_M" phone public-key "$C_WH" >"$LAB_DIR/phone.conf" 2>"$LAB_DIR/cc.err" &&
	grep -qx "Endpoint = $RELAY_EP" "$LAB_DIR/phone.conf"; then
	tap_ok "wh client-config writes the phone's file, its endpoint the relay"
else
	tap_fail "wh client-config writes the phone's file" "$(cat "$LAB_DIR/cc.err" "$LAB_DIR/phone.conf")"
	tap_done
fi
ns=${NATLAB_NS[c]}
start_impl "$ns" "$IF_C" wireguard-go || { tap_fail "wireguard-go starts" "$(impl_log "$IF_C")"; tap_done; }
stock_wgquick "$ns" "$IF_C" "$LAB_DIR/phone.conf" "$LAB_DIR/c.key" &&
	tap_ok "the phone takes the file as wg-quick would" ||
	tap_fail "the phone takes the file as wg-quick would" "$(cat "$LAB_DIR/phone.wg")"

M_IP=$(nsx "${NATLAB_NS[m]}" "$WH" show "$IF_M" json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')
if nsx "$ns" ping -n -q -c 1 -i 0.2 -w 30 "$M_IP" >/dev/null 2>&1; then
	tap_ok "the phone pings m ($M_IP) through the relay"
else
	tap_fail "the phone pings m through the relay" "$(wgx "$ns" show "$IF_C")" \
		"$(nsx "${NATLAB_NS[m]}" "$WH" show "$IF_M")" "$(tail -n 30 "$LAB_DIR/m.log")"
	tap_done
fi
PHONE_IP=$(stock_conf_ipv4 "$LAB_DIR/phone.conf")
tap_check "m pings the phone ($PHONE_IP) back" nsx "${NATLAB_NS[m]}" ping -n -q -c 3 -i 0.2 -w 10 "$PHONE_IP"
path=$(phone_json path)
if [ "$path" = "via relay $RELAY_EP, stock client" ]; then
	tap_ok "m shows the phone's path: $path"
else
	tap_fail "m shows the phone's path via the relay" "path: '$path'"
fi
tap_done
