#!/bin/bash
# Stock WireGuard clients behind two kinds of NAT reach members behind
# three (issue 15's matrix), each client configured only from the file
# `wh client-config` writes (taken as wg-quick would: wg-quick strip,
# wg setconf, its Address lines, a route per AllowedIPs), through the
# one public relay that file names.
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node (boot of the network), relays
#     mo     .20  wh member, open (no NAT)
#     gp         port-restricted NAT --- mp   wh member
#     gs         symmetric NAT       --- ms   wh member
#     gcp        port-restricted NAT --- cp   wireguard-go (client line "cp")
#     gcs        symmetric NAT       --- cs   wireguard-go (client line "cs")
#
# 1. every member registers with the relay for its two clients;
# 2. each client pings every member, and sends it 1 MiB over TCP, whose
#    length the member echoes;
# 3. the clients reach each other (client to client, both files naming
#    the relay): pings and 1 MiB of TCP each way, the relay forwarding
#    bare WireGuard between them;
# 4. the relay's process holds no private key but its own: its memory
#    has its own private key (the scan sees keys) and none of the
#    members' or the clients'.
# Usage: stockmatrix.sh WH
LAB_TAG=sm
# shellcheck source=lib_stock.sh
. "$(dirname "$0")/lib_stock.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
stock_lab wg-quick || exit 1
natlab_public_host mo 198.18.0.20 || exit 1
natlab_gateway gp port-restricted || exit 1
natlab_gateway gs symmetric || exit 1
natlab_gateway gcp port-restricted || exit 1
natlab_gateway gcs symmetric || exit 1
natlab_host mp gp || exit 1
natlab_host ms gs || exit 1
natlab_host cp gcp || exit 1
natlab_host cs gcs || exit 1

MEMBERS="mo mp ms"
CLIENTS="cp cs"
declare -A IF PUB IP
IF[relay]="sm${LAB_PID}r"
for h in $MEMBERS $CLIENTS; do IF[$h]="sm${LAB_PID}$h"; done
stock_relay_start "${IF[relay]}" || exit 1
for h in $MEMBERS; do PUB[$h]=$(stock_wh_key "$h") || exit 1; done
# The clients' keys as wg makes them, in wh's form for the file.
for h in $CLIENTS; do
	PUB[$h]=$(gen_key "$h") || exit 1
	PUB[$h]=$(stock_key_wh "${PUB[$h]}")
done
{
	printf 'name stockmx\nsubnet 198.19.0.0/16\nworkbit 4\nboot %s %s\n' "$RELAY" "$RELAY_EP"
	for h in $MEMBERS; do printf 'trust %s %s\n' "$h" "${PUB[$h]}"; done
	for h in $CLIENTS; do printf 'client %s %s\n' "$h" "${PUB[$h]}"; done
} >"$LAB_DIR/net.conf"
for h in $MEMBERS; do stock_wh_up "$h" net.conf "${IF[$h]}"; done

inspect() { # host section field
	nsx "${NATLAB_NS[$1]}" "$WH" inspect "${IF[$1]}" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$2" "$3"
}

# ---- 1. registration

if wait_for "[ \"\$(inspect relay relay_clients registered)\" -ge 3 ]" 40; then
	tap_ok "the three members register with the relay for stock clients"
else
	tap_fail "the three members register with the relay" \
		"registered $(inspect relay relay_clients registered)" "$(tail -n 20 "$LAB_DIR/ms.log")"
	tap_done
fi
for h in $MEMBERS; do
	IP[$h]=$(nsx "${NATLAB_NS[$h]}" "$WH" show "${IF[$h]}" json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')
done

# ---- 2. the clients, from wh client-config alone

# client NAME: its file from mo's client-config, taken as wg-quick would;
# the private key joins it as the phone's app would add it.
client() {
	local h=$1 ns=${NATLAB_NS[$1]}
	"$WH" client-config "${IF[mo]}" "$h" public-key "${PUB[$h]}" >"$LAB_DIR/$h.conf" 2>"$LAB_DIR/$h.cc.err" ||
		return 1
	start_impl "$ns" "${IF[$h]}" wireguard-go || return 1
	stock_wgquick "$ns" "${IF[$h]}" "$LAB_DIR/$h.conf" "$LAB_DIR/$h.key" || return 1
	IP[$h]=$(stock_conf_ipv4 "$LAB_DIR/$h.conf")
	[ -n "${IP[$h]}" ]
}
for h in $CLIENTS; do
	if client "$h"; then
		tap_ok "client $h (${IP[$h]}) set up from wh client-config's file"
	else
		tap_fail "client $h set up from wh client-config's file" "$(cat "$LAB_DIR/$h.cc.err" "$LAB_DIR/$h.conf")"
		tap_done
	fi
done

# A TCP sink on a host: it counts what each of N connections sends and
# echoes the count.
sink() { # host N
	nsx "${NATLAB_NS[$1]}" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201)); s.listen(4); s.settimeout(60)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept(); c.settimeout(30); n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        n += len(b)
    c.sendall(str(n).encode()); c.close()' "${IP[$1]}" "$2" &
	LAB_PIDS+=("$!")
}
sinks() { # N host...
	local n=$1 h
	shift
	for h in "$@"; do sink "$h" "$n"; done
	for h in "$@"; do
		wait_for "nsx ${NATLAB_NS[$h]} ss -ltn | grep -q ':5201'" 10 || tap_fail "the TCP sink on $h listens"
	done
}
MIB=$((1024 * 1024))
# reach FROM TO: FROM pings TO through the relay and sends it 1 MiB over
# TCP, whose length TO echoes.
reach() {
	local c=$1 m=$2 got log=$LAB_DIR/$2.log
	[ -f "$log" ] || log=/dev/null
	if nsx "${NATLAB_NS[$c]}" ping -n -q -c 1 -i 0.2 -w 30 "${IP[$m]}" >/dev/null 2>&1 &&
		nsx "${NATLAB_NS[$c]}" ping -n -q -c 3 -i 0.2 -w 10 "${IP[$m]}" >/dev/null 2>&1; then
		tap_ok "$c pings $m (${IP[$m]}) through the relay"
	else
		tap_fail "$c pings $m through the relay" "$(wgx "${NATLAB_NS[$c]}" show "${IF[$c]}")" \
			"$(tail -n 10 "$log")"
		return
	fi
	got=$(nsx "${NATLAB_NS[$c]}" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 5201), timeout=30)
buf = bytes(65536)
for _ in range(16): s.sendall(buf)
s.shutdown(socket.SHUT_WR); print(s.recv(64).decode())' "${IP[$m]}" 2>&1)
	if [ "$got" = "$MIB" ]; then
		tap_ok "TCP $c -> $m: 1 MiB arrived whole"
	else
		tap_fail "TCP $c -> $m: 1 MiB" "got '$got'"
	fi
}
# shellcheck disable=SC2086
sinks 2 $MEMBERS
for c in $CLIENTS; do
	for m in $MEMBERS; do reach "$c" "$m"; done
done
for m in $MEMBERS; do
	tap_check "$m pings both clients back" nsx "${NATLAB_NS[$m]}" sh -c \
		"ping -n -q -c 2 -i 0.2 -w 10 ${IP[cp]} >/dev/null && ping -n -q -c 2 -i 0.2 -w 10 ${IP[cs]} >/dev/null"
done

# ---- 3. client to client: cp (port-restricted NAT) and cs (symmetric)

# shellcheck disable=SC2086
sinks 1 $CLIENTS
reach cp cs
reach cs cp
# cp's NAT rebinds while it pings cs (its socket moves to another port
# and gcp forgets its mappings): the relay cannot authenticate cp's new
# address, so it follows once the old one has been quiet for 1 s; cs's
# replies reach cp again within REBIND_MS of the rebind.
REBIND_MS=${STOCKMATRIX_REBIND_MS:-2000}
nsx "${NATLAB_NS[cp]}" ping -n -D -i 0.1 -W 1 "${IP[cs]}" >"$LAB_DIR/c2c-ping.log" 2>&1 &
PING_PID=$!
LAB_PIDS+=("$PING_PID")
wait_for "grep -q 'bytes from' $LAB_DIR/c2c-ping.log" 10
drop0=$(natlab_dropped gcp)
wgx "${NATLAB_NS[cp]}" set "${IF[cp]}" listen-port 43210
natlab_flush gcp
t_flush=$(now_ms)
if wait_for "[ -n \"\$(first_reply_after $LAB_DIR/c2c-ping.log $t_flush)\" ]" 10 &&
	rec=$(first_reply_after "$LAB_DIR/c2c-ping.log" "$t_flush") && [ "$rec" -le "$REBIND_MS" ]; then
	tap_ok "cp's NAT rebinds: its pings to cs resume after $rec ms (bound $REBIND_MS ms)"
else
	tap_fail "cp's NAT rebinds: its pings to cs resume within $REBIND_MS ms" \
		"first reply after ${rec:-none} ms" "$(tail -n 5 "$LAB_DIR/c2c-ping.log")" \
		"$(nsx "${NATLAB_NS[relay]}" "$WH" inspect "${IF[relay]}" 2>&1 | grep relay_clients)" \
		"$(wgx "${NATLAB_NS[cp]}" show "${IF[cp]}")" "$(wgx "${NATLAB_NS[cs]}" show "${IF[cs]}")" \
		"gcp dropped $drop0 -> $(natlab_dropped gcp)" \
		"$(natlab_show gcp 2>&1 | grep -A3 -E 'set (out_map|in_map)|map (out_map|in_map)' | head -n 24)" \
		"$(tail -n 15 "$LAB_DIR/relay.log" 2>/dev/null)"
fi
kill "$PING_PID" 2>/dev/null
wait "$PING_PID" 2>/dev/null
c2c=$(inspect relay relay_clients client_to_client)
tap_check "the relay forwarded them bare, client to client (${c2c:-?} datagrams)" [ "${c2c:-0}" -gt 100 ]

# ---- 4. the relay's memory: its own private key, nobody else's

keyscan() { # pid, then files of base64 keys: one line per key, "found" or "absent"
	python3 - "$@" <<'EOF'
import base64, re, sys
pid, files = sys.argv[1], sys.argv[2:]
keys = [base64.b64decode(open(f).read().strip().replace('-', '+').replace('_', '/') + '==')[:32]
        for f in files]
found = [False] * len(keys)
with open('/proc/%s/maps' % pid) as maps, open('/proc/%s/mem' % pid, 'rb', 0) as mem:
    for line in maps:
        m = re.match(r'([0-9a-f]+)-([0-9a-f]+) (r)', line)
        if not m or '[vvar]' in line or '[vsyscall]' in line:
            continue
        a, b = int(m.group(1), 16), int(m.group(2), 16)
        # Reservations (a sanitizer's shadow) are no place for a key.
        if b - a > 1 << 30:
            continue
        for at in range(a, b, 1 << 24):
            try:
                mem.seek(at)
                data = mem.read(min(b - at, (1 << 24) + 31))
            except (OSError, ValueError, OverflowError):
                break
            for i, k in enumerate(keys):
                found[i] = found[i] or k in data
for f, x in zip(files, found):
    print(f.rsplit('/', 1)[-1], 'found' if x else 'absent')
EOF
}
files=("$LAB_DIR/relay.key")
for h in $MEMBERS $CLIENTS; do files+=("$LAB_DIR/$h.key"); done
scan=$(keyscan "$RELAY_PID" "${files[@]}" 2>&1)
if [ "$(echo "$scan" | grep -c ' found$')" = 1 ] && echo "$scan" | grep -qx 'relay.key found'; then
	tap_ok "the relay's memory holds its own private key and none of the members' or clients'"
else
	tap_fail "the relay's memory holds no private key but its own" "$scan"
fi
tap_diag "relay: sessions $(inspect relay relay_clients sessions), to_member $(inspect relay relay_clients to_member)," \
	"to_client $(inspect relay relay_clients to_client), client_to_client $c2c," \
	"refused $(inspect relay relay_clients refused)"
tap_done
