#!/bin/bash
# Stock WireGuard clients, the configuration side (issue 15): client lines
# of the network file become WireGuard peers of a member (its stock `wg`
# shows them; `wh show` shows them apart), `wh reload` adds and removes
# them, and `wh client-config` prints a wg-quick file that the real tools
# take: `wg-quick strip` parses it, and `wg setconf` of the stripped text
# on a wireguard-go interface gives `wg showconf` with every member as a
# peer, its allowed IPs, the relay as endpoint and the keepalive.  The QR
# code (qr-out, a PBM image) decodes back to the same text with zbarimg.
# Usage: clientcfg.sh WH, where WH is the `wh` binary.
#
#   ns A (whlab-cc-PID-a)                 ns C (whlab-cc-PID-c)
#   +------------------------+            +------------------------+
#   | wh up: member a        |            | wireguard-go ccPIDc    |
#   | eth0 198.18.0.1/24 ----+--(veth)----+-- eth0 198.18.0.3/24   |
#   +------------------------+            +------------------------+
#
# The network file names a boot node (198.18.0.10, not running: only its
# endpoint matters here, it is the clients' relay), members a, b and a
# router gw with a route, and clients phone and laptop.  Only a runs; C
# holds the client's interface configured from the generated file (no
# traffic: the relay path is the other half of issue 15).  Output is TAP.

LAB_TAG=cc
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
PORT=62097

lab_require_root
lab_require_cmd ip wg wg-quick wireguard-go python3 ss
lab_require_impl "$WH"

lab_wh_init

whx() { ip netns exec "$NA" "$WH" "$@"; }

# A key pair of wh's; prints the public key (URL-safe).
key() {
	(umask 077 && "$WH" genkey workbit 0 >"$LAB_DIR/$1.key") && "$WH" pubkey <"$LAB_DIR/$1.key"
}

# The standard base64 of a URL-safe key (what wg prints).
std() { printf '%s=' "$(printf '%s' "$1" | tr -- '-_' '+/')"; }

new_ns NA && new_ns NC && veth "$NA" eth0 "$NC" eth0 &&
	addr "$NA" eth0 198.18.0.1/24 && addr "$NC" eth0 198.18.0.3/24 ||
	{ tap_fail "lab: two namespaces"; tap_done; }
IA=$(wg_iface a)
IC=$(wg_iface c)
declare -A P
for n in boot a b gw phone laptop tablet; do
	P[$n]=$(key "$n") || { tap_fail "keys"; tap_done; }
done

write_conf() {
	cat >"$LAB_DIR/net.conf" <<EOF
name cclab
subnet 198.19.0.0/16
workbit 0
boot ${P[boot]} 198.18.0.10:$PORT
trust a ${P[a]}
trust b ${P[b]}
router gw ${P[gw]}
route 203.0.113.0/24 via gw
client phone ${P[phone]}
$1
EOF
}
write_conf "client laptop 198.19.7.7 ${P[laptop]}"

LAB_IFACES+=("$IA")
if ip netns exec "$NA" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" private-key "$LAB_DIR/a.key" \
	interface "$IA" listen-port "$PORT" >"$LAB_DIR/a.out" 2>"$LAB_DIR/a.err"; then
	pid=$(ip netns exec "$NA" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/$IA.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
	[ -n "$pid" ] && LAB_PIDS+=("$pid")
	tap_ok "wh up member a"
else
	tap_fail "wh up member a" "$(cat "$LAB_DIR/a.err")"
	tap_done
fi

# ---------------------------------------------------------------- the member's peers

# resolve HOST FIELD: the file's entry as `wh resolve` says it.
resolve() {
	whx resolve "$IA" "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
PHONE4=$(resolve phone ipv4)
PHONE6=$(resolve phone ipv6)
A4=$(resolve a ipv4)
A6=$(resolve a ipv6)
tap_diag "phone is $PHONE4 $PHONE6, a is $A4 $A6"

allowed_of() { wgx "$NA" show "$IA" allowed-ips | awk -v k="$(std "$1")" '$1 == k { $1 = ""; print }'; }
if [ "$(allowed_of "${P[phone]}")" = " $PHONE4/32 $PHONE6/128" ] &&
	[ "$(allowed_of "${P[laptop]}")" = " 198.19.7.7/32 $(resolve laptop ipv6)/128" ] &&
	[ "$(wg_field "$NA" "$IA" "$(std "${P[phone]}")" endpoints)" = "(none)" ]; then
	tap_ok "wg show: the clients are peers of a, their overlay addresses allowed, no endpoint"
else
	tap_fail "wg show: the clients are peers of a" "$(wgx "$NA" show "$IA" 2>&1)"
fi

json=$(whx show "$IA" json)
if printf '%s' "$json" | python3 -c '
import json, sys
p = {x["hostname"]: x for x in json.load(sys.stdin)["peers"]}
ph = p["phone"]
assert ph["kind"] == "client" and ph["trusted"] is False, ph
assert ph["path"] == "no path yet (stock client)", ph
assert p["laptop"]["kind"] == "client" and p["b"]["kind"] == "trust", p
assert p["b"]["path"] != "no path yet (stock client)", p["b"]'; then
	tap_ok "wh show json: kind client, path \"no path yet (stock client)\""
else
	tap_fail "wh show json shows the clients apart" "$json"
fi
if whx show "$IA" | grep -q "^client phone ($PHONE4, $PHONE6)" &&
	whx show "$IA" | grep -A2 "^client phone" | grep -q "path no path yet (stock client)"; then
	tap_ok "wh show: \"client phone\", no path yet"
else
	tap_fail "wh show: \"client phone\"" "$(whx show "$IA")"
fi

if ! wgx "$NA" set "$IA" peer "$(std "${P[phone]}")" remove 2>"$LAB_DIR/wgset.err" &&
	[ -n "$(allowed_of "${P[phone]}")" ]; then
	tap_ok "stock wg may not remove a client peer ($(head -1 "$LAB_DIR/wgset.err"))"
else
	tap_fail "stock wg may not remove a client peer" "$(cat "$LAB_DIR/wgset.err")"
fi

# ---------------------------------------------------------------- the client's file

if whx client-config "$IA" phone >"$LAB_DIR/ccphone.conf" 2>"$LAB_DIR/cc.err"; then
	tap_ok "wh client-config a phone"
else
	tap_fail "wh client-config a phone" "$(cat "$LAB_DIR/cc.err")"
	tap_done
fi
tap_diag "$(cat "$LAB_DIR/ccphone.conf")"
if grep -qx "Address = $PHONE4/32, $PHONE6/128" "$LAB_DIR/ccphone.conf" &&
	grep -qx "DNS = $A4, $A6, cclab" "$LAB_DIR/ccphone.conf" &&
	! grep -q PrivateKey "$LAB_DIR/ccphone.conf"; then
	tap_ok "[Interface]: phone's addresses, a's name service as DNS, no private key"
else
	tap_fail "[Interface]: addresses, DNS, no private key" "$(cat "$LAB_DIR/ccphone.conf")"
fi

if wg-quick strip "$LAB_DIR/ccphone.conf" >"$LAB_DIR/stripped.conf" 2>"$LAB_DIR/strip.err"; then
	tap_ok "wg-quick strip parses it"
else
	tap_fail "wg-quick strip parses it" "$(cat "$LAB_DIR/strip.err")"
fi

start_impl "$NC" "$IC" wireguard-go || { tap_fail "wireguard-go in C"; tap_done; }
if wgx "$NC" setconf "$IC" "$LAB_DIR/stripped.conf" 2>"$LAB_DIR/setconf.err"; then
	tap_ok "wg setconf of the stripped file on wireguard-go"
else
	tap_fail "wg setconf of the stripped file" "$(cat "$LAB_DIR/setconf.err")"
fi
wgx "$NC" showconf "$IC" >"$LAB_DIR/showconf.txt" 2>&1
GW4=$(resolve gw ipv4)
want=$(python3 - "$LAB_DIR/showconf.txt" <<EOF
import sys
peers, cur = {}, None
for line in open(sys.argv[1]):
    line = line.strip()
    if line == "[Peer]":
        cur = {}
    elif "=" in line and cur is not None:
        k, v = line.split("=", 1)
        cur[k.strip()] = v.strip()
        if k.strip() == "PublicKey":
            peers[v.strip() + "="] = cur
want = {
    "$(std "${P[a]}")": "$A4/32, $A6/128",
    "$(std "${P[b]}")": "$(resolve b ipv4)/32, $(resolve b ipv6)/128",
    "$(std "${P[gw]}")": "$GW4/32, $(resolve gw ipv6)/128, 203.0.113.0/24",
    "$(std "${P[laptop]}")": "198.19.7.7/32, $(resolve laptop ipv6)/128",
}
assert len(peers) == 4, ("peers", sorted(peers))
for k, allowed in want.items():
    p = peers[k + "="] if k + "=" in peers else peers[k]
    assert sorted(p["AllowedIPs"].split(", ")) == sorted(allowed.split(", ")), (k, p)
    assert p["Endpoint"] == "198.18.0.10:$PORT", p
    # The other client has no keepalive: the members' keep the mapping.
    assert p.get("PersistentKeepalive") == (None if k == "$(std "${P[laptop]}")" else "25"), p
print("ok")
EOF
)
if [ "$want" = ok ]; then
	tap_ok "wg showconf: the three members, their allowed IPs (gw's route too), the relay, keepalive 25; the other client, no keepalive"
else
	tap_fail "wg showconf has every member as the file says" "$want" "$(cat "$LAB_DIR/showconf.txt")"
fi

# ---------------------------------------------------------------- options and refusals

if whx client-config "$IA" phone relay 198.18.0.1:$PORT keepalive 0 public-key "${P[phone]}" \
	>"$LAB_DIR/cc2.conf" 2>"$LAB_DIR/cc2.err" &&
	[ "$(grep -c "^Endpoint = 198.18.0.1:$PORT$" "$LAB_DIR/cc2.conf")" = 4 ] &&
	! grep -q Keepalive "$LAB_DIR/cc2.conf"; then
	tap_ok "relay, keepalive 0 and the right public key"
else
	tap_fail "relay, keepalive 0, public-key" "$(cat "$LAB_DIR/cc2.err" "$LAB_DIR/cc2.conf")"
fi
if ! whx client-config "$IA" b >/dev/null 2>"$LAB_DIR/cc3.err" &&
	grep -q '"b" is a "trust" line (line 6), not a client line' "$LAB_DIR/cc3.err" &&
	! whx client-config "$IA" phone public-key "${P[laptop]}" >/dev/null 2>"$LAB_DIR/cc4.err" &&
	grep -q 'the public key given is not client "phone"' "$LAB_DIR/cc4.err"; then
	tap_ok "a member's name and another client's key are refused"
else
	tap_fail "refusals" "$(cat "$LAB_DIR/cc3.err" "$LAB_DIR/cc4.err")"
fi

# private-key-out: a new pair, the private key in a 0600 file and in the
# text, the line to write on stderr.
if whx client-config "$IA" laptop private-key-out "$LAB_DIR/laptop.new" >"$LAB_DIR/cc5.conf" \
	2>"$LAB_DIR/cc5.err"; then
	newpub=$(wg pubkey <"$LAB_DIR/laptop.new")
	if [ "$(stat -c %a "$LAB_DIR/laptop.new")" = 600 ] &&
		grep -qx "PrivateKey = $(cat "$LAB_DIR/laptop.new")" "$LAB_DIR/cc5.conf" &&
		grep -qx "client laptop 198.19.7.7 $newpub" "$LAB_DIR/cc5.err" &&
		grep -q "^Address = 198.19.7.7/32, " "$LAB_DIR/cc5.conf"; then
		tap_ok "private-key-out: a 0600 key file, PrivateKey, the new client line"
	else
		tap_fail "private-key-out" "$(stat -c %a "$LAB_DIR/laptop.new")" \
			"$(cat "$LAB_DIR/cc5.err" "$LAB_DIR/cc5.conf")"
	fi
else
	tap_fail "private-key-out" "$(cat "$LAB_DIR/cc5.err")"
fi
if ! whx client-config "$IA" laptop private-key-out "$LAB_DIR/laptop.new" >/dev/null 2>&1; then
	tap_ok "private-key-out never writes over a file"
else
	tap_fail "private-key-out wrote over an existing file"
fi

# ---------------------------------------------------------------- QR

if ! command -v zbarimg >/dev/null; then
	tap_skip "the QR code decodes to the text" "zbarimg missing (Debian zbar-tools)"
elif whx client-config "$IA" phone qr-out "$LAB_DIR/phone.pbm" >"$LAB_DIR/qr.txt" 2>"$LAB_DIR/qr.err"; then
	zbarimg -q --raw "$LAB_DIR/phone.pbm" >"$LAB_DIR/qr.decoded" 2>"$LAB_DIR/zbar.err"
	# zbarimg ends what it decoded with a newline of its own.
	if [ "$(cat "$LAB_DIR/qr.decoded")" = "$(cat "$LAB_DIR/ccphone.conf")" ] &&
		cmp -s "$LAB_DIR/qr.txt" "$LAB_DIR/ccphone.conf"; then
		tap_ok "the QR code decodes to the same text (zbarimg)"
	else
		tap_fail "the QR code decodes to the same text" "$(diff "$LAB_DIR/qr.decoded" "$LAB_DIR/ccphone.conf")"
	fi
elif grep -q "without libqrencode" "$LAB_DIR/qr.err"; then
	tap_skip "the QR code decodes to the text" "$(cat "$LAB_DIR/qr.err")"
else
	tap_fail "wh client-config qr-out" "$(cat "$LAB_DIR/qr.err")"
fi

# ---------------------------------------------------------------- reload

write_conf "client tablet ${P[tablet]}"
if whx reload "$IA" >"$LAB_DIR/reload.out" 2>&1 &&
	wait_for "[ -n \"\$(allowed_of '${P[tablet]}')\" ] && [ -z \"\$(allowed_of '${P[laptop]}')\" ]" 10 &&
	[ -n "$(allowed_of "${P[phone]}")" ]; then
	tap_ok "wh reload: laptop's peer removed, tablet's added, phone's kept"
else
	tap_fail "wh reload follows the client lines" "$(cat "$LAB_DIR/reload.out")" "$(wgx "$NA" show "$IA")"
fi

tap_done
