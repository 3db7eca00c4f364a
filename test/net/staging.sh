#!/bin/bash
# Packets for peers that cannot be reached must not starve the others: a
# daemon with many peers that have no endpoint, and many whose endpoint
# never answers, receives a burst of traffic for all of them; afterwards
# the one working tunnel must still carry pings and the daemon must be
# idle again (no busy loop on an exhausted packet pool).
# Usage: staging.sh IMPL_A IMPL_B
#
#   ns A (IMPL_A, st<PID>a)                   ns B (IMPL_B, st<PID>b)
#   tunnel 192.0.2.1/24                        tunnel 192.0.2.2/24
#   + 40 peers without endpoint   (203.0.113.1-40)
#   + 40 peers at 198.18.0.99     (198.51.100.1-40; nobody there)
#   veth va 198.18.0.1/24 -------------------- veth vb 198.18.0.2/24
LAB_TAG=st
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 IMPL_A IMPL_B" >&2; exit 2; }
IMPL_A=$(lab_impl_abs "$1")
IMPL_B=$(lab_impl_abs "$2")

lab_require_root
lab_require_cmd ip wg ping python3
lab_require_impl "$IMPL_A"
lab_require_impl "$IMPL_B"
lab_init

new_ns A && new_ns B || exit 1
veth "$A" va "$B" vb || exit 1
addr "$A" va 198.18.0.1/24 && addr "$B" vb 198.18.0.2/24 || exit 1
IA=$(wg_iface a) IB=$(wg_iface b)
PUBA=$(gen_key a) PUBB=$(gen_key b)
start_impl "$A" "$IA" "$IMPL_A" && start_impl "$B" "$IB" "$IMPL_B" || exit 1
wgx "$A" set "$IA" private-key "$LAB_DIR/a.key" listen-port 51820 \
	peer "$PUBB" allowed-ips 192.0.2.2/32 endpoint 198.18.0.2:51821
wgx "$B" set "$IB" private-key "$LAB_DIR/b.key" listen-port 51821 \
	peer "$PUBA" allowed-ips 192.0.2.1/32 endpoint 198.18.0.1:51820
addr "$A" "$IA" 192.0.2.1/24 && ip -n "$A" link set "$IA" up
addr "$B" "$IB" 192.0.2.2/24 && ip -n "$B" link set "$IB" up
ip -n "$A" route add 203.0.113.0/24 dev "$IA"
ip -n "$A" route add 198.51.100.0/24 dev "$IA"

# 80 more peers: a config file for `wg addconf`.
{
	for i in $(seq 1 40); do
		echo "[Peer]"
		echo "PublicKey = $(wg genkey | wg pubkey)"
		echo "AllowedIPs = 203.0.113.$i/32"
		echo "[Peer]"
		echo "PublicKey = $(wg genkey | wg pubkey)"
		echo "AllowedIPs = 198.51.100.$i/32"
		echo "Endpoint = 198.18.0.99:51820"
	done
} >"$LAB_DIR/many.conf"
tap_check "80 more peers configured" wgx "$A" addconf "$IA" "$LAB_DIR/many.conf"
tap_check "the tunnel works before the burst" wait_for "ping_ok $A 192.0.2.2" 10

# 200 datagrams to each of the 80 unreachable peers.
nsx "$A" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(200):
    for i in range(1, 41):
        for net in ("203.0.113.%d", "198.51.100.%d"):
            try:
                s.sendto(b"x" * 1000, (net % i, 9))
            except OSError:
                pass
PY
tap_ok "16000 datagrams sent to peers that cannot be reached"

if wait_for "ping_ok $A 192.0.2.2" 10; then
	tap_ok "the working tunnel still carries pings after the burst"
else
	tap_fail "the working tunnel still carries pings after the burst" "$(impl_log "$IA")"
fi
if nsx "$B" ping -n -q -c 20 -i 0.05 -W 1 192.0.2.1 >/dev/null; then
	tap_ok "20 pings from the other side, none lost"
else
	tap_fail "20 pings from the other side, none lost"
fi

# CPU time of A's daemon over 2 s: an idle daemon uses almost none.
pid=${LAB_IMPL_PID[$IA]}
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
ticks=$((t1 - t0))
tap_diag "daemon CPU over 2 s: $ticks ticks (of $((2 * $(getconf CLK_TCK))))"
if [ "$ticks" -lt "$(getconf CLK_TCK)" ]; then
	tap_ok "the daemon is idle afterwards (no busy loop)"
else
	tap_fail "the daemon is idle afterwards (no busy loop)" "$ticks ticks in 2 s"
fi
tap_done
