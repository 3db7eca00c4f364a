#!/bin/bash
# The metrics (issue 16, item 5): `wh metrics IFACE` and the HTTP listener
# of `wh up ... metrics ADDR:PORT`, on nodes with a direct and a relayed
# session and a port mapping.
#
#   internet 198.18.0.0/24 (bridge)
#     boot  .10  public DHT node and relay; metrics on 127.0.0.1:9586
#     pa    .11  public member             (pa - na: direct)
#     gs         symmetric NAT; on its LAN:
#       ga       a upnp gateway (miniupnpd: UPnP IGD, NAT-PMP, PCP) --- na
#     gb         symmetric NAT --- nb
#   na and nb can only be relayed to each other, through boot (na - nb:
#   relayed): na holds a port mapping from ga's miniupnpd, but the
#   symmetric gs in front of ga still keeps nb out (a double NAT).  na
#   serves metrics on 127.0.0.1:9586 of its namespace.
#
# 1. `wh metrics` of every node passes `promtool check metrics`, na's with
#    peers, a relayed path and a port mapping at once; na's path gauges
#    agree with `wh show json` (nb relayed, pa direct), and so does its
#    port mapping gauge (protocol and external port, lease); the bytes and
#    packets na sent to nb grow with a ping; boot counts the datagrams it
#    forwarded.
# 2. The listener: GET /metrics is 200 with the format's content type and
#    the same families; HEAD, 404, 405, 400, 431 and 505 as the parser
#    says; a head cut off by the client's end of sending gets 400; one
#    that never ends is closed when idle (5 s); a 17th connection closes
#    the oldest idle one; after all that the node still answers.
# Usage: metrics.sh WH UDPPROBE (test/tools/udpprobe.c: the STUN responder
# miniupnpd needs, natlab.sh)
LAB_TAG=mt
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -ge 2 ] || { echo "usage: $0 WH UDPPROBE" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
NATLAB_PROBE=$(lab_impl_abs "$2")
natlab_require upnp
lab_require_cmd promtool curl
lab_require_impl "$WH"
lab_init

natlab_internet
natlab_public_host boot 198.18.0.10 || exit 1
natlab_public_host pa 198.18.0.11 || exit 1
natlab_gateway gs symmetric || exit 1
natlab_gateway ga upnp upstream=gs || exit 1
natlab_gateway gb symmetric || exit 1
natlab_host na ga || exit 1
natlab_host nb gb || exit 1

MPORT=9586
iface() { echo "mt${LAB_PID}$1"; }
"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
BOOT_EP="${NATLAB_IP[boot]}:62096"
printf 'workbit 4\nboot %s %s\n' "$BOOT" "$BOOT_EP" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot "$WH" up "$LAB_DIR/boot.conf" private-key \
	"$LAB_DIR/boot.key" interface "$(iface boot)" metrics "127.0.0.1:$MPORT" -f
{
	echo "name mtlab"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $BOOT $BOOT_EP"
	for h in pa na nb; do
		"$WH" genkey workbit 4 >"$LAB_DIR/$h.key"
		echo "trust $h $("$WH" pubkey <"$LAB_DIR/$h.key")"
	done
} >"$LAB_DIR/net.conf"
for h in pa na nb; do
	extra=()
	[ "$h" = na ] && extra=(metrics "127.0.0.1:$MPORT")
	natlab_spawn "${NATLAB_NS[$h]}" "$h" "$WH" up "$LAB_DIR/net.conf" private-key \
		"$LAB_DIR/$h.key" interface "$(iface "$h")" "${extra[@]}" -f
	[ "$h" = na ] && NA_PID=$NATLAB_PID
done

show_json() { # host: wh show json
	nsx "${NATLAB_NS[$1]}" "$WH" show "$(iface "$1")" json 2>/dev/null
}
field() { # host field
	show_json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
peer_field() { # host peer-hostname field
	show_json "$1" | python3 -c 'import json,sys
for p in json.load(sys.stdin)["peers"]:
    if p["hostname"] == sys.argv[1]: print(p[sys.argv[2]])' "$2" "$3"
}
metrics() { # host: wh metrics
	nsx "${NATLAB_NS[$1]}" "$WH" metrics "$(iface "$1")"
}
# sample FILE NAME LABEL-SUBSTRING...: the value of the first sample of
# NAME whose labels hold every substring.
sample() {
	local file=$1 name=$2
	shift 2
	python3 - "$file" "$name" "$@" <<'EOF'
import sys
name, subs = sys.argv[2], sys.argv[3:]
for line in open(sys.argv[1]):
    if line.startswith(name + "{") and all(s in line for s in subs):
        print(line.rsplit(" ", 1)[1].strip())
        break
EOF
}

for h in pa na nb; do
	if ! wait_for "[ -n \"\$(field $h ipv4)\" ]" 10; then
		tap_fail "$h starts" "$(cat "$LAB_DIR/$h.log")"
		tap_done
	fi
done
PA_IP=$(field pa ipv4)
NB_IP=$(field nb ipv4)
if nsx "${NATLAB_NS[na]}" ping -n -q -c 1 -i 0.1 -w 30 "$NB_IP" >/dev/null 2>&1 &&
	nsx "${NATLAB_NS[na]}" ping -n -q -c 1 -i 0.1 -w 30 "$PA_IP" >/dev/null 2>&1 &&
	wait_for "[ \"\$(peer_field na nb path)\" = relayed ] && [ \"\$(peer_field na pa path)\" = direct ]" 15; then
	tap_ok "na: nb relayed, pa direct"
else
	tap_fail "na: nb relayed, pa direct" "nb: $(peer_field na nb path), pa: $(peer_field na pa path)" \
		"$(tail -n 30 "$LAB_DIR/na.log" "$LAB_DIR/nb.log")"
	tap_done
fi

# na's port mapping, from ga's miniupnpd (the first attempt starts with
# the node; PCP answers within a second).
pm_field() { # field of wh show json's port_mapping, empty while there is none
	show_json na | python3 -c 'import json,sys
m = json.load(sys.stdin)["port_mapping"]
print(m[sys.argv[1]] if m else "")' "$1"
}
if wait_for "[ -n \"\$(pm_field protocol)\" ]" 20; then
	PM_PROTO=$(pm_field protocol)
	PM_EXT=$(pm_field external)
	tap_ok "na: a port mapping by $PM_PROTO, $PM_EXT"
else
	tap_fail "na: a port mapping from ga's miniupnpd" "$(grep -i 'port mapping' "$LAB_DIR/na.log" | tail -n 5)" \
		"$(tail -n 10 "$LAB_DIR/ga-miniupnpd.log")"
	tap_done
fi

# ---- 1. wh metrics

for h in boot pa na nb; do
	if metrics "$h" >"$LAB_DIR/$h.prom" 2>"$LAB_DIR/$h.prom.err" &&
		out=$(promtool check metrics <"$LAB_DIR/$h.prom" 2>&1); then
		tap_ok "$h: wh metrics passes promtool check metrics ($(grep -vc '^#' "$LAB_DIR/$h.prom") samples)"
	else
		tap_fail "$h: wh metrics passes promtool check metrics" "$(cat "$LAB_DIR/$h.prom.err")" \
			"${out:-}" "$(head -n 20 "$LAB_DIR/$h.prom")"
	fi
done

NB_KEY=$(peer_field na nb public_key)
PA_KEY=$(peer_field na pa public_key)
metrics na >"$LAB_DIR/na.prom"
relayed=$(sample "$LAB_DIR/na.prom" wh_peer_path "public_key=\"$NB_KEY\"" 'hostname="nb"' 'kind="relayed"')
direct=$(sample "$LAB_DIR/na.prom" wh_peer_path "public_key=\"$PA_KEY\"" 'hostname="pa"' 'kind="direct"')
nb_direct=$(sample "$LAB_DIR/na.prom" wh_peer_path "public_key=\"$NB_KEY\"" 'kind="direct"')
if [ "$relayed" = 1 ] && [ "$direct" = 1 ] && [ "$nb_direct" = 0 ]; then
	tap_ok "na: the path gauges agree with wh show (nb relayed 1, direct 0; pa direct 1)"
else
	tap_fail "na: the path gauges agree with wh show" \
		"nb relayed '$relayed', nb direct '$nb_direct', pa direct '$direct'" \
		"$(grep wh_peer_path "$LAB_DIR/na.prom")"
fi
PM_PORT=${PM_EXT##*:}
mapped=$(sample "$LAB_DIR/na.prom" wh_port_mapping "protocol=\"$PM_PROTO\"" "external_port=\"$PM_PORT\"")
others=$(grep '^wh_port_mapping{' "$LAB_DIR/na.prom" | grep -v "protocol=\"$PM_PROTO\"" | awk '{ s += $NF } END { print s + 0 }')
lease=$(sample "$LAB_DIR/na.prom" wh_port_mapping_lease_seconds)
if [ "$mapped" = 1 ] && [ "$others" = 0 ] && [ -n "$lease" ] && [ "$lease" -gt 0 ]; then
	tap_ok "na: wh_port_mapping{protocol=\"$PM_PROTO\",external_port=\"$PM_PORT\"} 1 as wh show, the other protocols 0, lease $lease s"
else
	tap_fail "na: the port mapping gauge agrees with wh show ($PM_PROTO, $PM_EXT)" \
		"sample '$mapped', others '$others', lease '$lease'" "$(grep wh_port_mapping "$LAB_DIR/na.prom")"
fi
hs=$(sample "$LAB_DIR/na.prom" wh_peer_last_handshake_seconds "public_key=\"$NB_KEY\"")
show_hs=$(peer_field na nb last_handshake)
if [ -n "$hs" ] && [ "$hs" -gt 0 ] && [ "$hs" = "$show_hs" ]; then
	tap_ok "na: nb's last handshake is wh show's ($hs, $(($(date +%s) - hs)) s ago)"
else
	tap_fail "na: nb's last handshake is wh show's" "metrics '$hs', show '$show_hs'"
fi
rtt=$(sample "$LAB_DIR/na.prom" wh_peer_rtt_seconds "public_key=\"$PA_KEY\"")
if python3 -c 'import sys; v = float(sys.argv[1]); sys.exit(0 if 0 < v < 1 else 1)' "${rtt:-x}" 2>/dev/null; then
	tap_ok "na: pa's round trip in seconds ($rtt)"
else
	tap_fail "na: pa's round trip in seconds" "'$rtt'" "$(grep wh_peer_rtt "$LAB_DIR/na.prom")"
fi

tx0=$(sample "$LAB_DIR/na.prom" wh_peer_sent_bytes_total "public_key=\"$NB_KEY\"")
txp0=$(sample "$LAB_DIR/na.prom" wh_peer_sent_packets_total "public_key=\"$NB_KEY\"")
rxp0=$(sample "$LAB_DIR/na.prom" wh_peer_received_packets_total "public_key=\"$NB_KEY\"")
nsx "${NATLAB_NS[na]}" ping -n -q -c 5 -i 0.1 -s 1000 -W 2 "$NB_IP" >/dev/null 2>&1
metrics na >"$LAB_DIR/na2.prom"
tx1=$(sample "$LAB_DIR/na2.prom" wh_peer_sent_bytes_total "public_key=\"$NB_KEY\"")
txp1=$(sample "$LAB_DIR/na2.prom" wh_peer_sent_packets_total "public_key=\"$NB_KEY\"")
rxp1=$(sample "$LAB_DIR/na2.prom" wh_peer_received_packets_total "public_key=\"$NB_KEY\"")
if [ -n "$tx0" ] && [ -n "$tx1" ] && [ $((tx1 - tx0)) -ge 5000 ] && [ $((txp1 - txp0)) -ge 5 ] &&
	[ $((rxp1 - rxp0)) -ge 5 ]; then
	tap_ok "na -> nb: 5 pings of 1000 bytes: sent bytes $tx0 -> $tx1, packets $txp0 -> $txp1, received $rxp0 -> $rxp1"
else
	tap_fail "na -> nb: the counters grow with 5 pings of 1000 bytes" \
		"bytes '$tx0' -> '$tx1', sent packets '$txp0' -> '$txp1', received '$rxp0' -> '$rxp1'"
fi
metrics boot >"$LAB_DIR/boot.prom"
fwd=$(sample "$LAB_DIR/boot.prom" wh_relay_forwarded_packets_total)
fwdb=$(sample "$LAB_DIR/boot.prom" wh_relay_forwarded_bytes_total)
relay_on=$(sample "$LAB_DIR/boot.prom" wh_relay_enabled)
if [ "$relay_on" = 1 ] && [ -n "$fwd" ] && [ "$fwd" -ge 10 ] && [ "$fwdb" -gt "$fwd" ]; then
	tap_ok "boot: relaying, $fwd datagrams ($fwdb bytes) forwarded"
else
	tap_fail "boot: relaying and forwarding" "enabled '$relay_on', forwarded '$fwd' ('$fwdb' bytes)"
fi
nodes=$(sample "$LAB_DIR/boot.prom" wh_dht_nodes)
show_nodes=$(field boot dht_nodes)
if [ -n "$nodes" ] && [ "$nodes" -ge 3 ] && [ "$nodes" -le $((show_nodes + 1)) ] && [ "$nodes" -ge $((show_nodes - 1)) ]; then
	tap_ok "boot: wh_dht_nodes $nodes, wh show's dht_nodes $show_nodes"
else
	tap_fail "boot: wh_dht_nodes as wh show's dht_nodes" "metrics '$nodes', show '$show_nodes'"
fi

# ---- 2. the listener

URL="http://127.0.0.1:$MPORT/metrics"
if hdr=$(nsx "${NATLAB_NS[na]}" curl -sS -D - -o "$LAB_DIR/na.http" "$URL" 2>&1) &&
	printf '%s' "$hdr" | grep -qi '^content-type: text/plain; version=0.0.4' &&
	promtool check metrics <"$LAB_DIR/na.http" >/dev/null 2>&1 &&
	grep -q "^wh_peer_path{interface=\"$(iface na)\",public_key=\"$NB_KEY\",hostname=\"nb\",kind=\"relayed\"} 1$" "$LAB_DIR/na.http"; then
	tap_ok "na: GET $URL: 200, version=0.0.4, passes promtool, nb relayed ($(wc -c <"$LAB_DIR/na.http") bytes)"
else
	tap_fail "na: GET $URL" "$hdr" "$(head -n 5 "$LAB_DIR/na.http" 2>/dev/null)"
fi
if nsx "${NATLAB_NS[boot]}" curl -sSf "$URL" | promtool check metrics >/dev/null 2>&1; then
	tap_ok "boot: GET $URL passes promtool"
else
	tap_fail "boot: GET $URL passes promtool"
fi

# One request on a raw connection: the status line, and what closes it.
raw() { # host python-bytes-literal [shutdown: 1 to end sending after it]
	nsx "${NATLAB_NS[$1]}" python3 - "$MPORT" "$2" "${3:-1}" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(eval(sys.argv[2]))  # the test's own bytes expression
if sys.argv[3] == "1":
    s.shutdown(socket.SHUT_WR)
t = time.monotonic()
data = b""
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        print("timeout")
        sys.exit(0)
    if not d:
        break
    data += d
line = data.split(b"\r\n", 1)[0].decode(errors="replace")
print(line if line else "closed", "%.1f" % (time.monotonic() - t))
EOF
}
check_status() { # description want-prefix python-bytes [shutdown]
	local got
	got=$(raw na "$3" "${4:-1}")
	if [[ $got == "$2"* ]]; then
		tap_ok "$1: $got"
	else
		tap_fail "$1" "got '$got', want '$2'"
	fi
}
check_status "HEAD /metrics" "HTTP/1.1 200 OK" "b'HEAD /metrics HTTP/1.0\\r\\n\\r\\n'"
check_status "GET /" "HTTP/1.1 404 Not Found" "b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'"
check_status "POST /metrics" "HTTP/1.1 405 Method Not Allowed" "b'POST /metrics HTTP/1.1\\r\\nContent-Length: 2\\r\\n\\r\\nhi'"
check_status "garbage" "HTTP/1.1 400 Bad Request" "b'\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\r\\n\\r\\n'"
check_status "HTTP/2.0" "HTTP/1.1 505" "b'GET /metrics HTTP/2.0\\r\\n\\r\\n'"
check_status "a head of 5000 bytes" "HTTP/1.1 431" "b'GET /metrics HTTP/1.1\\r\\nX: ' + b'a' * 5000 + b'\\r\\n\\r\\n'"
# printf 'GET /metrics HTTP/1.1\r\n' | nc: the head never ends.
check_status "a head cut off by the end of sending" "HTTP/1.1 400 Bad Request" "b'GET /metrics HTTP/1.1\\r\\n'" 1
got=$(raw na "b'GET /metrics HTTP/1.1\\r\\n'" 0)
if [[ $got =~ ^closed\ ([0-9.]+)$ ]] && python3 -c 'import sys; sys.exit(0 if 4 <= float(sys.argv[1]) <= 9 else 1)' "${BASH_REMATCH[1]}"; then
	tap_ok "a head that never ends: closed when idle ($got s)"
else
	tap_fail "a head that never ends: closed when idle (5 s)" "got '$got'"
fi

# 16 idle connections, then a 17th: the oldest idle one is closed for it.
out=$(nsx "${NATLAB_NS[na]}" python3 - "$MPORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(16):
    conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    time.sleep(0.02)
time.sleep(0.2)
last = socket.create_connection(("127.0.0.1", port), timeout=5)
last.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
status = last.recv(64).split(b"\r\n", 1)[0].decode()
first_closed = conns[0].recv(1) == b""
conns[1].setblocking(False)
try:
    second_open = conns[1].recv(1) != b""
except BlockingIOError:
    second_open = True
print(status, "oldest-closed" if first_closed else "oldest-open",
      "second-open" if second_open else "second-closed")
EOF
)
if [ "$out" = "HTTP/1.1 200 OK oldest-closed second-open" ]; then
	tap_ok "a 17th connection is answered; the oldest idle one was closed for it"
else
	tap_fail "a 17th connection closes the oldest idle one" "got '$out'"
fi
if metrics na >/dev/null && kill -0 "$NA_PID" 2>/dev/null &&
	nsx "${NATLAB_NS[na]}" curl -sSf -o /dev/null "$URL"; then
	tap_ok "na still answers wh metrics and GET /metrics"
else
	tap_fail "na still answers" "$(tail -n 20 "$LAB_DIR/na.log")"
fi
tap_done
