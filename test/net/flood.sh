#!/bin/bash
# A handshake flood from a third host pushes the responder under load; a
# legitimate peer must still complete its handshake (through a cookie
# reply and mac2) and pass traffic, and the responder must keep running.
# Usage: flood.sh IMPL_R IMPL_I HSFLOOD
#
#                     ns R (IMPL_R, wg iface fl<PID>r)
#                     tunnel 192.0.2.1/24
#          veth ri 198.18.1.1/24     veth rf 198.18.2.1/24
#                 |                          |
#          veth ir 198.18.1.2/24     veth fr 198.18.2.2/24
#   ns I (IMPL_I, fl<PID>i)          ns F: hsflood, initiations with a
#   tunnel 192.0.2.2/24              valid mac1 from unknown keys, as
#                                    fast as sendmmsg goes
LAB_TAG=fl
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || { echo "usage: $0 IMPL_R IMPL_I HSFLOOD" >&2; exit 2; }
IMPL_R=$(lab_impl_abs "$1")
IMPL_I=$(lab_impl_abs "$2")
HSFLOOD=$3

lab_require_root
lab_require_cmd ip wg ping
lab_require_impl "$IMPL_R"
lab_require_impl "$IMPL_I"
[ -x "$HSFLOOD" ] || tap_skip_all "no flood tool at $HSFLOOD"
lab_init

new_ns R && new_ns I && new_ns F || exit 1
veth "$R" ri "$I" ir && veth "$R" rf "$F" fr || exit 1
addr "$R" ri 198.18.1.1/24 && addr "$I" ir 198.18.1.2/24 || exit 1
addr "$R" rf 198.18.2.1/24 && addr "$F" fr 198.18.2.2/24 || exit 1

IR=$(wg_iface r) II=$(wg_iface i)
PUBR=$(gen_key r) PUBI=$(gen_key i)
start_impl "$R" "$IR" "$IMPL_R" || exit 1
start_impl "$I" "$II" "$IMPL_I" || exit 1
wgx "$R" set "$IR" private-key "$LAB_DIR/r.key" listen-port 51820 \
	peer "$PUBI" allowed-ips 192.0.2.2/32
wgx "$I" set "$II" private-key "$LAB_DIR/i.key" listen-port 51821 \
	peer "$PUBR" allowed-ips 192.0.2.1/32 endpoint 198.18.1.1:51820
addr "$R" "$IR" 192.0.2.1/24 && ip -n "$R" link set "$IR" up
addr "$I" "$II" 192.0.2.2/24 && ip -n "$I" link set "$II" up

# The flood runs for 40 s in the background (hsflood prints what it sent
# and how many cookie replies came back when it ends); the legitimate peer
# starts its handshake with its first ping, while the flood is on.
nsx "$F" "$HSFLOOD" 198.18.2.1 51820 "$PUBR" 40 >"$LAB_DIR/flood.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS+=("$FLOOD_PID")

if wait_for "ping_ok $I 192.0.2.1" 30; then
	tap_ok "legitimate peer completes its handshake and pings during the flood"
else
	tap_fail "legitimate peer completes its handshake and pings during the flood" \
		"$(wgx "$I" show "$II" 2>&1)" "$(impl_log "$IR")"
fi
if kill -0 "${LAB_IMPL_PID[$IR]}" 2>/dev/null; then
	tap_ok "responder still running under the flood"
else
	tap_fail "responder still running under the flood" "$(impl_log "$IR")"
fi
if nsx "$I" ping -n -q -c 20 -i 0.05 -W 1 192.0.2.1 >/dev/null; then
	tap_ok "traffic keeps flowing during the flood (20 pings)"
else
	tap_fail "traffic keeps flowing during the flood (20 pings)"
fi

wait "$FLOOD_PID"
t0=$(date +%s%N)
read -r _ sent _ cookies <"$LAB_DIR/flood.out"
tap_diag "flood: sent $sent initiations, got $cookies cookie replies"
if [ "${sent:-0}" -gt 100000 ] && [ "${cookies:-0}" -gt 0 ]; then
	tap_ok "responder went under load and answered the flood with cookie replies"
else
	tap_fail "responder went under load and answered the flood with cookie replies" \
		"$(cat "$LAB_DIR/flood.out")"
fi
if wait_for "ping_ok $I 192.0.2.1" 10; then
	tap_ok "the tunnel works after the flood"
else
	tap_fail "the tunnel works after the flood" "$(impl_log "$IR")"
fi
tap_diag "after the flood the first ping came back in $((($(date +%s%N) - t0) / 1000000)) ms"

# A flood from the peer's own address (as an on-path attacker's would
# be): the established session shares the source with the flood, so the
# responder cannot tell them apart by address; its data must still flow.
nsx "$I" "$HSFLOOD" 198.18.1.1 51820 "$PUBR" 15 >"$LAB_DIR/flood2.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS+=("$FLOOD_PID")
sleep 2
answered=$(nsx "$I" ping -n -q -c 200 -i 0.02 -W 1 192.0.2.1 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
wait "$FLOOD_PID"
read -r _ sent _ cookies <"$LAB_DIR/flood2.out"
tap_diag "flood from the peer's address: sent $sent initiations, got $cookies cookie replies; $answered of 200 pings answered during it"
if [ "${sent:-0}" -gt 100000 ] && [ "${answered:-0}" -ge 180 ]; then
	tap_ok "the session keeps flowing during a flood from the peer's own address (>= 180 of 200 pings)"
else
	tap_fail "the session keeps flowing during a flood from the peer's own address (>= 180 of 200 pings)" \
		"$(cat "$LAB_DIR/flood2.out")" "$(impl_log "$IR")"
fi
if kill -0 "${LAB_IMPL_PID[$IR]}" 2>/dev/null; then
	tap_ok "responder still running after the second flood"
else
	tap_fail "responder still running after the second flood" "$(impl_log "$IR")"
fi
tap_done
