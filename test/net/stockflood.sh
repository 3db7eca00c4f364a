#!/bin/bash
# A flood of initiations with a valid mac1 for a member's key, sent to the
# relay of stock WireGuard clients (doc/protocol.md 9.5, "Limits"), must
# not starve a stock client's established session through that relay.
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node (boot of the network), relays
#     f      .20  hsflood: initiations for m's key, valid mac1, from 64
#                 addresses (.100-.163), as fast as sendmmsg goes
#     gm         port-restricted NAT --- m   wh member
#     gc         port-restricted NAT --- c   wireguard-go, peer m only,
#                                            endpoint = relay
#
# 1. c's session with m through the relay is up (ping), and a TCP
#    baseline c -> m (iperf3, STOCKFLOOD_TCP_S seconds) is taken.
# 2. f floods the relay for STOCKFLOOD_S seconds.  Once the relay counts
#    the flood, c pings m STOCKFLOOD_PINGS times (every 0.1 s): at most
#    STOCKFLOOD_LOST lost; then TCP c -> m again: at least
#    STOCKFLOOD_SHARE percent of the baseline.  The flood is still on at
#    the end of both (checked).
# 3. The relay and m are still running, and the relay held the strangers
#    to its limits (counted: limited or no room).
# Known (2026-12-06): checks 2's ping and TCP fail, on main and with the
# relay's strangers' limits and the data-queue steering of this branch
# (60 of 60 pings lost, TCP 0, the relay's to_client frozen while its
# to_member grows; one run's diag: m's member_rx stayed at the relay's
# pre-flood to_member, 55707, while the relay's grew to 56642, with no
# queue or send drop counted by either daemon: the relay's datagrams to
# m are lost on the way, in the lab's kernel, a lead for the next
# session): reported as TODO with diagnostics unless STOCKFLOOD_STRICT=1
# (issue 15).
# Usage: stockflood.sh WH HSFLOOD
LAB_TAG=sf
# shellcheck source=lib_stock.sh
. "$(dirname "$0")/lib_stock.sh"

[ $# -ge 2 ] || { echo "usage: $0 WH HSFLOOD" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
HSFLOOD=$(lab_impl_abs "$2")
FLOOD_S=${STOCKFLOOD_S:-20}
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
for i in $(seq 0 $((SOURCES - 1))); do
	ip -n "${NATLAB_NS[f]}" addr add "198.18.0.$((100 + i))/24" dev eth0 || exit 1
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
# known_fail NAME DIAG...: a failure of a check this test does not yet
# pass (above), as TODO unless STOCKFLOOD_STRICT=1.
known_fail() {
	if [ "${STOCKFLOOD_STRICT:-0}" = 1 ]; then
		tap_fail "$@"
		return
	fi
	TAP_N=$((TAP_N + 1))
	printf 'not ok %d - %s # TODO the flood still starves the session (issue 15)\n' "$TAP_N" "$1"
	shift
	tap_diag "$@"
}
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
nsx "${NATLAB_NS[f]}" "$HSFLOOD" "${NATLAB_IP[relay]}" 62096 "$M_WG" "$FLOOD_S" \
	198.18.0.100 "$SOURCES" >"$LAB_DIR/flood.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS+=("$FLOOD_PID")
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
	known_fail "c's pings through the relay during the flood: at most $LOST_MAX lost of $PINGS" \
		"lost $lost" "$(relay_counters)" \
		"relay: $(nsx "${NATLAB_NS[relay]}" "$WH" inspect "$IF_R" 2>/dev/null | grep -E 'queue|drops|relay_clients' | head -c 3000)" \
		"m: $(nsx "${NATLAB_NS[m]}" "$WH" inspect "$IF_M" 2>/dev/null | grep -E 'queue|drops|relay_clients' | head -c 3000)"
	FLOOD_TODO=1
fi
during=$(tcp_run "$LAB_DIR/tcp-flood.json")
flood_on=0
kill -0 "$FLOOD_PID" 2>/dev/null && flood_on=1
share=$((${during:-0} * 100 / base))
if [ "$share" -ge "$SHARE" ]; then
	tap_ok "TCP c -> m during the flood: $((${during:-0} / 1000000)) Mbit/s, $share% of the baseline (bound $SHARE%)"
else
	known_fail "TCP c -> m during the flood: at least $SHARE% of the baseline" \
		"$((${during:-0} / 1000000)) Mbit/s, $share%" "$(relay_counters)"
	FLOOD_TODO=1
fi
if [ "$flood_on" = 1 ]; then
	tap_ok "the flood was still on after the pings and the TCP run"
elif [ -n "${FLOOD_TODO:-}" ]; then
	known_fail "the flood was still on after the pings and the TCP run" "(TCP hung: see above)"
else
	tap_fail "the flood was still on after the pings and the TCP run (raise STOCKFLOOD_S)" \
		"$(cat "$LAB_DIR/flood.out")"
fi
wait "$FLOOD_PID"
read -r _ sent _ _ <"$LAB_DIR/flood.out"
tap_diag "flood: sent ${sent:-?} initiations in $FLOOD_S s from $SOURCES addresses"
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
