#!/bin/bash
# NAT mapping from ONE public node (doc/protocol.md 9.4): the network has
# a single public node, which answers MAP_PROBE on its second UDP port
# (62097, the main port + 1) with the address it saw.  A member behind a
# symmetric gateway says endpoint-dependent, behind a full-cone or a
# port-restricted one endpoint-independent, a member on the internet none,
# each "from 1 public node, 2 ports"; and a stranger that sends to the
# second port gets no byte back (no keys held for it: no DH, no answer),
# counted as dropped.  Usage: natclass1.sh WH
#
#   internet 198.18.0.0/24: boot .10 (the one public node: main port
#                           62096, second port 62097), d .11 (a member
#                           with a public address), x .12 (a stranger:
#                           python3 sends to boot's second port)
#   gateway ga full-cone       --- LAN 198.18.1.0/24: member a
#   gateway gb symmetric       --- LAN 198.18.2.0/24: member b
#   gateway gc port-restricted --- LAN 198.18.3.0/24: member c
LAB_TAG=n1
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
natlab_public_host boot && natlab_public_host d && natlab_public_host x || exit 1
natlab_gateway ga full-cone && natlab_gateway gb symmetric && natlab_gateway gc port-restricted || exit 1
natlab_host a ga && natlab_host b gb && natlab_host c gc || exit 1

for n in boot a b c d; do
	"$WH" genkey workbit 4 >"$LAB_DIR/$n.key"
	"$WH" pubkey <"$LAB_DIR/$n.key" >"$LAB_DIR/$n.pub"
done
# Each member's file names only itself: the members are no observers of
# one another's mapping (chosen observers are the boot nodes and the
# network's members), so that what they say rests on boot alone.  Boot's
# names them all.
conf() { # conf FILE MEMBER...
	local f=$1 n
	shift
	{
		echo "name natclass1"
		echo "subnet 198.19.0.0/16"
		echo "workbit 4"
		echo "boot $(cat "$LAB_DIR/boot.pub") ${NATLAB_IP[boot]}:62096"
		for n in "$@"; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
	} >"$f"
}
conf "$LAB_DIR/boot.conf" a b c d
for n in a b c d; do conf "$LAB_DIR/$n.conf" "$n"; done
for n in boot a b c d; do
	natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/$n.conf" \
		private-key "$LAB_DIR/$n.key" interface "n1$LAB_PID$n" -f
done

show_json() { nsx "${NATLAB_NS[$1]}" "$WH" show "n1$LAB_PID$1" json 2>/dev/null; }
inspect_json() { nsx "${NATLAB_NS[$1]}" "$WH" inspect "n1$LAB_PID$1" 2>/dev/null; }
mapping_of() { # mapping_of NODE: "MAPPING OBSERVERS PORTS"
	show_json "$1" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["nat_mapping"], j["nat_observers"], j.get("nat_observer_ports", "-"))'
}

if wait_for "grep -q 'NAT mapping probes answered on UDP port 62097' '$LAB_DIR/boot.log'" 10; then
	tap_ok "boot, the one public node, answers mapping probes on UDP port 62097"
else
	tap_fail "boot listens on its second port" "$(tail -5 "$LAB_DIR/boot.log")"
fi

# The verdicts, each from boot's two ports alone.
for pair in a:endpoint-independent b:endpoint-dependent c:endpoint-independent d:none; do
	n=${pair%%:*} want=${pair#*:} kind=public
	gw=${NATLAB_GW[$n]:-}
	[ -z "$gw" ] || kind=${NATLAB_TYPE[$gw]}
	if wait_for "[ \"\$(mapping_of $n)\" = '$want 1 2' ]" 20; then
		tap_ok "$n ($kind): NAT mapping $want (1 public node, 2 ports)"
	else
		tap_fail "$n ($kind): NAT mapping $want from 1 public node, 2 ports" \
			"got (mapping, observers, ports): $(mapping_of "$n")" \
			"$(nsx "${NATLAB_NS[$n]}" "$WH" show "n1$LAB_PID$n" 2>&1)"
	fi
done
line=$(nsx "${NATLAB_NS[b]}" "$WH" show "n1${LAB_PID}b" 2>/dev/null | grep 'NAT mapping')
if [[ $line == *"NAT mapping endpoint-dependent (1 public node, 2 ports)"* ]]; then
	tap_ok "wh show on b:${line#*,}"
else
	tap_fail "wh show on b: endpoint-dependent (1 public node, 2 ports)" "got: $line"
fi

# The second port moved no one's idea of where boot is.
boot_key=$(cat "$LAB_DIR/boot.pub")
bad=
for n in a b c d; do
	inspect_json "$n" | python3 -c '
import json, sys
key, want = sys.argv[1], sys.argv[2]
entries = [e for e in json.load(sys.stdin)["dht"]["entries"] if e["key"] == key]
sys.exit(0 if entries and all(e["address"] == want for e in entries) else 1)
' "$boot_key" "${NATLAB_IP[boot]}:62096" || bad="$bad $n"
done
if [ -z "$bad" ]; then
	tap_ok "boot stays at ${NATLAB_IP[boot]}:62096 in every member's table"
else
	tap_fail "boot stays at its main port" "moved (or missing) in the table of:$bad"
fi

map_probes() { # map_probes NODE: "ANSWERED DROPPED"
	inspect_json "$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)["map_probes"]
print(p["answered"], p["dropped"])'
}
before=$(map_probes boot)
if [ "${before% *}" -ge 4 ] 2>/dev/null; then
	tap_ok "boot answered MAP_PROBEs (answered, dropped: $before)"
else
	tap_fail "boot answered MAP_PROBEs" "answered, dropped: $before"
fi

# A stranger at x sends four datagrams to the second port: a forged
# overlay datagram under a fresh key (86 bytes, a padded MAP_PROBE's
# size), the same under member a's key (boot holds a's keys: it opens it,
# and the forgery fails), 300 bytes of junk and one byte.  Not one byte may
# come back; boot counts each as dropped.
got=$(nsx "${NATLAB_NS[x]}" python3 - "${NATLAB_IP[boot]}" "$(cat "$LAB_DIR/a.pub")" <<'EOF'
import base64, os, socket, sys, time
boot, akey = sys.argv[1], sys.argv[2]
akey = base64.urlsafe_b64decode(akey + "=" * (-len(akey) % 4))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
sent = [b"\xff\x01" + os.urandom(32) + os.urandom(52),
        b"\xff\x01" + akey + os.urandom(52),
        os.urandom(300), b"\xff"]
for d in sent:
    s.sendto(d, (boot, 62097))
s.settimeout(0.2)
back, end = 0, time.time() + 1.5
while time.time() < end:
    try:
        back += len(s.recv(2048))
    except socket.timeout:
        pass
print(sum(len(d) for d in sent), back)
EOF
)
after=$(map_probes boot)
if [ "${got#* }" = 0 ] && [ "$((${after#* } - ${before#* }))" -ge 4 ] 2>/dev/null; then
	tap_ok "a stranger sent ${got% *} bytes to the second port and got ${got#* } back; boot dropped $((${after#* } - ${before#* }))"
else
	tap_fail "a stranger gets nothing from the second port" "sent, received: $got" \
		"boot's map_probes before: $before, after: $after"
fi
tap_done
