#!/bin/bash
# A flood of initiations with a valid mac1 for a member's key, sent to the
# relay of stock WireGuard clients (doc/protocol.md 9.5, "Limits"), must
# not starve a stock client's established session through that relay.
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node (boot of the network), relays
#     f      .20  hsflood: initiations for m's key, valid mac1, from 64
#                 addresses (.160-.223), as fast as sendmmsg goes
#     gm     .100 port-restricted NAT --- m   wh member
#     gc     .101 port-restricted NAT --- c   wireguard-go, peer m only,
#                                            endpoint = relay
#
# 1. c's session with m through the relay is up (ping), and a TCP
#    baseline c -> m (iperf3, STOCKFLOOD_TCP_S seconds) is taken.
# 2. f floods the relay (for at most STOCKFLOOD_S seconds: the test stops
#    it after the TCP run, so that a slow machine does not outlast it).
#    Once the relay counts
#    the flood, c pings m STOCKFLOOD_PINGS times (every 0.1 s): at most
#    STOCKFLOOD_LOST lost; then TCP c -> m again: at least
#    STOCKFLOOD_SHARE percent of the baseline.  The flood is still on at
#    the end of both (checked).
# 3. The relay and m are still running, and the relay held the strangers
#    to its limits (counted: limited or no room).
# Until 2026-12-06 the flood's sources were .100-.163, gm's and gc's WAN
# addresses among them: f's ARP requests for the relay named .100 and
# .101, the relay took f's MAC for them, and sent m's and c's datagrams to
# f (the relay's neighbour entry for .100 held f's MAC from the flood's
# start to after its end), which looked like a starved session: 60 of 60
# pings lost, TCP 0, m's member_rx frozen with no drop counted, and after
# the flood c cut off until gm next asked for the relay's MAC.  The first
# check now holds the sources apart from every lab host's address.
# Usage: stockflood.sh WH HSFLOOD
LAB_TAG=sf
# shellcheck source=lib_stock.sh
. "$(dirname "$0")/lib_stock.sh"

[ $# -ge 2 ] || { echo "usage: $0 WH HSFLOOD" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
HSFLOOD=$(lab_impl_abs "$2")
FLOOD_S=${STOCKFLOOD_S:-120}
PINGS=${STOCKFLOOD_PINGS:-60}
LOST_MAX=${STOCKFLOOD_LOST:-1}
TCP_S=${STOCKFLOOD_TCP_S:-3}
SHARE=${STOCKFLOOD_SHARE:-25}
SOURCES=64
[ -x "$HSFLOOD" ] || tap_skip_all "no flood tool at $HSFLOOD"
stock_lab iperf3 || exit 1
natlab_public_host f 198.18.0.20 || exit 1
natlab_gateway gm port-restricted || exit 1
natlab_gateway gc port-restricted || exit 1
natlab_host m gm || exit 1
natlab_host c gc || exit 1
# The flood's sources must be f's alone: f's ARP requests name them, and
# a host on the bridge that hears one takes f's MAC for that address.  Had
# a source been a gateway's WAN address (natlab gives those 198.18.0.100
# upward), the relay would send that gateway's members' datagrams to f
# for the flood's length and until the gateway next asks for the relay's
# MAC.
FLOOD_FIRST=160
taken=
for i in $(seq 0 $((SOURCES - 1))); do
	for h in "${!NATLAB_IP[@]}"; do
		[ "${NATLAB_IP[$h]}" != "198.18.0.$((FLOOD_FIRST + i))" ] || taken+=" ${NATLAB_IP[$h]} ($h)"
	done
done
if [ -n "$taken" ]; then
	tap_fail "the flood's $SOURCES source addresses are no other lab host's" "taken:$taken"
	tap_done
fi
tap_ok "the flood's $SOURCES source addresses (198.18.0.$FLOOD_FIRST upward) are no other lab host's"
for i in $(seq 0 $((SOURCES - 1))); do
	ip -n "${NATLAB_NS[f]}" addr add "198.18.0.$((FLOOD_FIRST + i))/24" dev eth0 || exit 1
done

IF_R="sf${LAB_PID}r"
IF_M="sf${LAB_PID}m"
IF_C="sf${LAB_PID}c"

stock_relay_start "$IF_R" || exit 1

M_PUB=$(stock_wh_key m) || exit 1
# wh prints keys in URL-safe base64; wg and hsflood take the standard one.
M_WG=$(stock_key_wg "$M_PUB")
# c, the stock client, is a client line: m registers with the relay for
# the clients its file lists, and the relay passes those only.
gen_key c >/dev/null || { tap_fail "wg genkey for c"; tap_done; }
printf 'name stock\nsubnet 198.19.0.0/16\nworkbit 4\nboot %s %s\ntrust m %s\nclient c 198.19.250.1 %s\n' \
	"$RELAY" "$RELAY_EP" "$M_PUB" "$(cat "$LAB_DIR/c.pub")" >"$LAB_DIR/net.conf"
stock_wh_up m net.conf "$IF_M"
M_PID=$NATLAB_PID

show() { nsx "${NATLAB_NS[$1]}" "$WH" show "$2" json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"; }
inspect() { # host iface section field
	nsx "${NATLAB_NS[$1]}" "$WH" inspect "$2" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$3" "$4"
}
relay_counters() {
	nsx "${NATLAB_NS[relay]}" "$WH" inspect "$IF_R" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["relay_clients"]
print(" ".join("%s %s" % (k, r[k]) for k in ("pending", "sessions", "to_member", "to_client",
      "no_member", "limited", "refused")))'
}
# Bits per second of iperf3's JSON (the receiver's figure).
iperf_bps() {
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$1" 2>/dev/null
}

if ! wait_for "[ -n \"\$(show m $IF_M ipv4)\" ]" 15; then
	tap_fail "m starts" "$(cat "$LAB_DIR/m.log")"
	tap_done
fi
M_IP=$(show m "$IF_M" ipv4)
if ! wait_for "[ \"\$(inspect relay $IF_R relay_clients registered)\" -ge 1 ]" 30; then
	tap_fail "m registers with the relay for stock clients" "$(tail -n 30 "$LAB_DIR/m.log")"
	tap_done
fi

# The stock client: wireguard-go, its only peer m at the relay's address.
ns_c=${NATLAB_NS[c]}
start_impl "$ns_c" "$IF_C" wireguard-go &&
	wgx "$ns_c" set "$IF_C" private-key "$LAB_DIR/c.key" \
		peer "$M_WG" endpoint "$RELAY_EP" allowed-ips "$M_IP/32" persistent-keepalive 5 &&
	ip -n "$ns_c" addr add 198.19.250.1/32 dev "$IF_C" && ip -n "$ns_c" link set "$IF_C" up &&
	ip -n "$ns_c" route add "$M_IP/32" dev "$IF_C" ||
	{ tap_fail "client c starts" "$(impl_log "$IF_C")"; tap_done; }

# ---- 1. the session and a TCP baseline

if nsx "$ns_c" ping -n -q -c 1 -i 0.2 -w 30 "$M_IP" >/dev/null 2>&1; then
	tap_ok "c's session with m through the relay is up"
else
	tap_fail "c's session with m through the relay is up" "$(wgx "$ns_c" show "$IF_C")" \
		"$(relay_counters)" "$(tail -n 30 "$LAB_DIR/m.log" "$LAB_DIR/relay.log")"
	tap_done
fi
nsx "${NATLAB_NS[m]}" iperf3 -s -B "$M_IP" -p 5201 >"$LAB_DIR/iperf-s.log" 2>&1 &
LAB_PIDS+=("$!")
wait_for "nsx ${NATLAB_NS[m]} ss -ltn | grep -q ':5201'" 10
tcp_run() { # output file
	nsx "$ns_c" timeout $((TCP_S + 20)) iperf3 -c "$M_IP" -p 5201 -t "$TCP_S" -J >"$1" 2>&1
	iperf_bps "$1"
}
base=$(tcp_run "$LAB_DIR/tcp-base.json")
if [ "${base:-0}" -gt 0 ]; then
	tap_ok "TCP c -> m through the relay before the flood: $((base / 1000000)) Mbit/s"
else
	tap_fail "TCP c -> m through the relay before the flood" "$(tail -n 20 "$LAB_DIR/tcp-base.json")"
	tap_done
fi

# ---- 2. the flood

before=$(inspect relay "$IF_R" relay_clients no_member)
limited0=$(inspect relay "$IF_R" relay_clients limited)
tm0=$(inspect relay "$IF_R" relay_clients to_member)
tap_diag "relay before the flood: $(relay_counters)"
# Not through nsx: $! must be hsflood's own PID (ip execs it), which the
# test stops after the TCP run.
ip netns exec "${NATLAB_NS[f]}" "$HSFLOOD" "${NATLAB_IP[relay]}" 62096 "$M_WG" "$FLOOD_S" \
	"198.18.0.$FLOOD_FIRST" "$SOURCES" >"$LAB_DIR/flood.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS+=("$FLOOD_PID")
flood_t0=$(date +%s)
# The flood is on once the relay has passed or refused a thousand more.
flood_seen() {
	[ $(($(inspect relay "$IF_R" relay_clients limited) + $(inspect relay "$IF_R" relay_clients to_member) -
		limited0 - tm0)) -ge 1000 ]
}
if ! wait_for flood_seen 15; then
	tap_fail "the relay sees the flood" "$(relay_counters)" "$(cat "$LAB_DIR/flood.out")"
	tap_done
fi
tap_diag "relay as the flood began: $(relay_counters)"
out=$(nsx "$ns_c" ping -n -q -c "$PINGS" -i 0.1 -W 2 "$M_IP" 2>&1)
recv=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
lost=$((PINGS - ${recv:-0}))
if [ "$lost" -le "$LOST_MAX" ]; then
	tap_ok "c's pings through the relay during the flood: $lost lost of $PINGS (bound $LOST_MAX)"
else
	tap_fail "c's pings through the relay during the flood: at most $LOST_MAX lost of $PINGS" \
		"lost $lost" "$(relay_counters)" \
		"relay: $(nsx "${NATLAB_NS[relay]}" "$WH" inspect "$IF_R" 2>/dev/null | grep -E 'queue|drops|relay_clients' | head -c 3000)" \
		"m: $(nsx "${NATLAB_NS[m]}" "$WH" inspect "$IF_M" 2>/dev/null | grep -E 'queue|drops|relay_clients' | head -c 3000)" \
		"relay's neighbours: $(ip -n "${NATLAB_NS[relay]}" neigh)"
fi
during=$(tcp_run "$LAB_DIR/tcp-flood.json")
flood_on=0
kill -0 "$FLOOD_PID" 2>/dev/null && flood_on=1
share=$((${during:-0} * 100 / base))
if [ "$share" -ge "$SHARE" ]; then
	tap_ok "TCP c -> m during the flood: $((${during:-0} / 1000000)) Mbit/s, $share% of the baseline (bound $SHARE%)"
else
	tap_fail "TCP c -> m during the flood: at least $SHARE% of the baseline" \
		"$((${during:-0} / 1000000)) Mbit/s, $share%" "$(relay_counters)"
fi
if [ "$flood_on" = 1 ]; then
	tap_ok "the flood was still on after the pings and the TCP run"
else
	tap_fail "the flood was still on after the pings and the TCP run (raise STOCKFLOOD_S)" \
		"$(cat "$LAB_DIR/flood.out")"
fi
kill "$FLOOD_PID" 2>/dev/null
wait "$FLOOD_PID" 2>/dev/null
tap_diag "flood: $(($(date +%s) - flood_t0)) s from $SOURCES addresses; the relay limited $(($(inspect relay "$IF_R" relay_clients limited) - limited0)) and passed $(($(inspect relay "$IF_R" relay_clients to_member) - tm0)) datagrams to m meanwhile"
tap_diag "relay after the flood: $(relay_counters)"
tap_diag "m: $(nsx "${NATLAB_NS[m]}" "$WH" inspect "$IF_M" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["wireguard_drops"]
print(" ".join("%s %s" % (k, v) for k, v in sorted(d.items()) if v))' 2>/dev/null)"

# ---- 3. both daemons live, the strangers held to the relay's limits

after=$(inspect relay "$IF_R" relay_clients no_member)
limited1=$(inspect relay "$IF_R" relay_clients limited)
tm1=$(inspect relay "$IF_R" relay_clients to_member)
if kill -0 "$RELAY_PID" 2>/dev/null && kill -0 "$M_PID" 2>/dev/null &&
	[ "$((limited1 - limited0))" -gt 0 ] && [ "$after" = "$before" ]; then
	tap_ok "relay and m running; the relay limited $((limited1 - limited0)) initiations and passed $((tm1 - tm0)) datagrams to m"
else
	tap_fail "relay and m running, the flood limited at the relay" \
		"limited $limited0 -> $limited1, no_member $before -> $after" \
		"$(tail -n 20 "$LAB_DIR/relay.log" "$LAB_DIR/m.log")"
fi
tap_check "c still pings m after the flood" nsx "$ns_c" ping -n -q -c 3 -i 0.2 -w 10 "$M_IP"
tap_done
