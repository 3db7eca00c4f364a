#!/bin/bash
# Stock WireGuard clients through a public wh node (doc/protocol.md 9.5).
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node (boot of the network), relays
#     gm         port-restricted NAT --- m   wh member
#     gc         port-restricted NAT --- c   wireguard-go, peer m only,
#                                   \        endpoint = relay
#                                    -- e   wireguard-go, a key m's file does
#                                           not list, peer m, endpoint = relay
#
# 0. m's file lists no client: m does not register with the relay for
#    stock clients (it does register its PEERS).  `wh reload` with a
#    client line for c: it registers, with c's key.
# 1. c's only peer is m with Endpoint = the relay: ping and TCP c -> m go
#    through the relay.  The relay holds no key but its own (wg show: its
#    private key is its file's, and no peer).
# 2. c's datagrams come from a new address mid-ping (its socket moves to
#    another port and gc forgets its mappings: a NAT rebind as the relay
#    and m see it): the pings resume within REBIND_MS of it.
# 3. e (unlisted in the file) gets nothing back, even though stock wg
#    made it a WireGuard peer of m, so that m's WireGuard answers it: the
#    relay refuses m's responses (their mac1 is under a key m did not
#    list), counted as refused; e sees no handshake, receives nothing.
# Usage: stockclient.sh WH
LAB_TAG=sk
# shellcheck source=lib_stock.sh
. "$(dirname "$0")/lib_stock.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
REBIND_MS=${STOCKCLIENT_REBIND_MS:-2000}
stock_lab || exit 1
natlab_gateway gm port-restricted || exit 1
natlab_gateway gc port-restricted || exit 1
natlab_host m gm || exit 1
natlab_host c gc || exit 1
natlab_host e gc || exit 1

IF_R="sk${LAB_PID}r"
IF_M="sk${LAB_PID}m"
IF_C="sk${LAB_PID}c"
IF_E="sk${LAB_PID}e"

stock_relay_start "$IF_R" || exit 1

M_PUB=$(stock_wh_key m) || exit 1
M_WG=$(stock_key_wg "$M_PUB")
C_PUB=$(gen_key c) || exit 1
printf 'name stock\nsubnet 198.19.0.0/16\nworkbit 4\nboot %s %s\ntrust m %s\n' \
	"$RELAY" "$RELAY_EP" "$M_PUB" >"$LAB_DIR/net.conf"
stock_wh_up m net.conf "$IF_M"

show() { nsx "${NATLAB_NS[$1]}" "$WH" show "$2" json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"; }
inspect() { # host iface section field
	nsx "${NATLAB_NS[$1]}" "$WH" inspect "$2" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$3" "$4"
}

if ! wait_for "[ -n \"\$(show m $IF_M ipv4)\" ]" 15; then
	tap_fail "m starts" "$(cat "$LAB_DIR/m.log")"
	tap_done
fi
M_IP=$(show m "$IF_M" ipv4)

# ---- 0. registration for stock clients only with client lines

# m's PEERS reached the relay: it would have registered for stock
# clients with them.
if wait_for "[ \"\$(inspect relay $IF_R relay_channels peers_taken)\" -ge 1 ]" 30 &&
	[ "$(inspect relay "$IF_R" relay_clients registered)" = 0 ]; then
	tap_ok "m, whose file lists no client, registers its PEERS but not for stock clients"
else
	tap_fail "m without client lines does not register for stock clients" \
		"peers_taken $(inspect relay "$IF_R" relay_channels peers_taken)," \
		"registered $(inspect relay "$IF_R" relay_clients registered)"
fi
# The client line for c (wh's URL-safe form of its key), then reload.
printf 'client c %s\n' "$(stock_key_wh "$C_PUB")" >>"$LAB_DIR/net.conf"
nsx "${NATLAB_NS[m]}" "$WH" reload "$IF_M" >/dev/null 2>&1 || tap_fail "wh reload with c's client line"
if wait_for "[ \"\$(inspect relay $IF_R relay_clients registered)\" -ge 1 ]" 30; then
	tap_ok "after a reload with a client line, m registers with the relay for stock clients"
else
	tap_fail "m registers with the relay for stock clients" "$(tail -n 30 "$LAB_DIR/m.log")"
	tap_done
fi
# c's overlay address, as its configuration would have it.
C_IP=$(nsx "${NATLAB_NS[m]}" "$WH" show "$IF_M" json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d.get("members", []) + d.get("peers", []):
    if p.get("hostname") == "c":
        print(p.get("ipv4")); break')

# A stock client: wireguard-go, its only peer m at the relay's address.
stock_client() { # name iface tunnel-ip
	local ns=${NATLAB_NS[$1]}
	start_impl "$ns" "$2" wireguard-go || return 1
	[ -e "$LAB_DIR/$1.key" ] || gen_key "$1" >/dev/null || return 1
	wgx "$ns" set "$2" private-key "$LAB_DIR/$1.key" \
		peer "$M_WG" endpoint "$RELAY_EP" allowed-ips "$M_IP/32" persistent-keepalive 5 || return 1
	ip -n "$ns" addr add "$3/32" dev "$2" && ip -n "$ns" link set "$2" up &&
		ip -n "$ns" route add "$M_IP/32" dev "$2"
}
stock_client c "$IF_C" "$C_IP" || { tap_fail "client c ($C_IP) starts" "$(impl_log "$IF_C")"; tap_done; }

# ---- 1. ping and TCP through the relay

if nsx "${NATLAB_NS[c]}" ping -n -q -c 1 -i 0.2 -w 30 "$M_IP" >/dev/null 2>&1; then
	tap_ok "c pings m through the relay"
else
	tap_fail "c pings m through the relay" "$(wgx "${NATLAB_NS[c]}" show "$IF_C")" \
		"$(nsx "${NATLAB_NS[relay]}" "$WH" inspect "$IF_R" 2>&1 | grep -A1 relay_clients)" \
		"$(tail -n 30 "$LAB_DIR/m.log" "$LAB_DIR/relay.log")"
	tap_done
fi
tap_check "m pings c back" nsx "${NATLAB_NS[m]}" ping -n -q -c 3 -i 0.2 -w 10 "$C_IP"
# TCP: 2 MB from c to m and an echo of its length.
nsx "${NATLAB_NS[m]}" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(str(n).encode()); c.close()' "$M_IP" &
SRV=$!
LAB_PIDS+=("$SRV")
wait_for "nsx ${NATLAB_NS[m]} ss -ltn | grep -q ':5201'" 10
got=$(nsx "${NATLAB_NS[c]}" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 5201), timeout=30)
buf = bytes(65536)
for _ in range(32): s.sendall(buf)
s.shutdown(socket.SHUT_WR); print(s.recv(64).decode())' "$M_IP" 2>&1)
wait "$SRV" 2>/dev/null
if [ "$got" = $((32 * 65536)) ]; then
	tap_ok "TCP c -> m through the relay: $got bytes"
else
	tap_fail "TCP c -> m through the relay" "got '$got'"
fi

# The relay is no member: it holds its own key (the one its file has)
# and no WireGuard peer, and serves no UAPI (nothing can give it a key).
rk=$(show relay "$IF_R" public_key)
rpeers=$(nsx "${NATLAB_NS[relay]}" "$WH" show "$IF_R" json 2>/dev/null |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("peers", [])))')
if [ "$rk" = "$RELAY" ] && [ "$(show relay "$IF_R" member)" = False ] && [ "$rpeers" = 0 ] &&
	[ ! -e "$LAB_RUN_DIR/$IF_R.sock" ]; then
	tap_ok "the relay holds no key but its own (no peer, no UAPI)"
else
	tap_fail "the relay holds no key but its own" "key $rk (want $RELAY), peers $rpeers," \
		"UAPI socket: $(ls "$LAB_RUN_DIR/$IF_R.sock" 2>&1)"
fi
tap_diag "relay: sessions $(inspect relay "$IF_R" relay_clients sessions)," \
	"to_member $(inspect relay "$IF_R" relay_clients to_member)," \
	"to_client $(inspect relay "$IF_R" relay_clients to_client)"

# ---- 2. c's address changes mid-ping (a NAT rebind, as the relay and m
# see it: c's datagrams come from a new port of gc's)

nsx "${NATLAB_NS[c]}" ping -n -D -i 0.1 -W 1 "$M_IP" >"$LAB_DIR/ping.log" 2>&1 &
PING_PID=$!
LAB_PIDS+=("$PING_PID")
wait_for "grep -q 'bytes from' $LAB_DIR/ping.log" 10
roamed0=$(inspect relay "$IF_R" relay_clients roamed)
# c's socket moves to another port, so gc maps it to a new one; its old
# mapping is forgotten too.  The clock starts once the old socket is
# closed: a reply counted after it came to the new one.
wgx "${NATLAB_NS[c]}" set "$IF_C" listen-port 43210
natlab_flush gc
t_flush=$(now_ms)
first_reply_ms() { first_reply_after "$LAB_DIR/ping.log" "$t_flush"; }
# Replies in flight at the flush may still arrive: wait for one sent after.
if wait_for "[ \"\$(inspect relay $IF_R relay_clients roamed)\" -gt $roamed0 ]" 10 &&
	wait_for "[ -n \"\$(first_reply_ms)\" ]" 10; then
	rec=$(first_reply_ms)
	if [ "$rec" -le "$REBIND_MS" ]; then
		tap_ok "after c's NAT rebinds, pings resume after $rec ms (bound $REBIND_MS ms)"
	else
		tap_fail "after c's NAT rebinds, pings resume within $REBIND_MS ms" "after $rec ms"
	fi
else
	tap_fail "after c's NAT rebinds, the session moves and pings resume within $REBIND_MS ms" \
		"roamed $roamed0 -> $(inspect relay "$IF_R" relay_clients roamed)" "$(tail -n 5 "$LAB_DIR/ping.log")" \
		"$(nsx "${NATLAB_NS[relay]}" "$WH" inspect "$IF_R" 2>&1 | grep relay_clients)" \
		"$(nsx "${NATLAB_NS[m]}" "$WH" inspect "$IF_M" 2>&1 | grep -A3 'relay_clients\|wireguard_drops')" \
		"$(nsx "${NATLAB_NS[m]}" wg show "$IF_M")" "$(wgx "${NATLAB_NS[c]}" show "$IF_C")" \
		"$(tail -n 20 "$LAB_DIR/m.log")"
fi
kill "$PING_PID" 2>/dev/null
wait "$PING_PID" 2>/dev/null
if nsx "${NATLAB_NS[c]}" ping -n -q -c 3 -i 0.2 -w 10 "$M_IP" >/dev/null 2>&1; then
	tap_ok "pings after the rebind"
else
	tap_fail "pings after the rebind" "$(wgx "${NATLAB_NS[c]}" show "$IF_C")"
fi

# ---- 3. a key m does not list

# Stock wg makes e a WireGuard peer of m: m's WireGuard answers it, and
# only the relay stands in the way.
E_PUB=$(gen_key e) || tap_fail "e's key"
nsx "${NATLAB_NS[m]}" wg set "$IF_M" peer "$E_PUB" allowed-ips 198.19.250.2/32 ||
	tap_fail "wg set on m adds e"
ref0=$(inspect relay "$IF_R" relay_clients refused)
stock_client e "$IF_E" 198.19.250.2 || tap_fail "client e starts" "$(impl_log "$IF_E")"
nsx "${NATLAB_NS[e]}" ping -n -q -c 2 -W 1 "$M_IP" >/dev/null 2>&1
wait_for "[ \"\$(inspect relay $IF_R relay_clients refused)\" -gt $ref0 ]" 15
ref1=$(inspect relay "$IF_R" relay_clients refused)
e_rx=$(wg_rx "${NATLAB_NS[e]}" "$IF_E" "$M_WG")
e_hs=$(wg_field "${NATLAB_NS[e]}" "$IF_E" "$M_WG" latest-handshakes)
if [ "$ref1" -gt "$ref0" ] && [ "${e_rx:-0}" -eq 0 ] && [ "${e_hs:-0}" -eq 0 ]; then
	tap_ok "an unlisted key gets nothing back (the relay refused $((ref1 - ref0)) of m's answers)"
else
	tap_fail "an unlisted key gets nothing back" "relay refused $ref0 -> $ref1, e received ${e_rx:-?} bytes, handshake ${e_hs:-?}"
fi
tap_done
