#!/usr/bin/env bash
# Invitations across NATs that filter (doc/protocol.md 6.6, README
# "Invitations"): the inviter behind a port-restricted NAT, the joiner
# behind a symmetric one, only a public boot node between them.  The
# joiner joins with the string alone and pings the inviter.
#
#   ns internet: bridge br0, 198.18.0.0/24
#   +----------------------------------------------------------------+
#   |  boot .0.10 (public node, relays)                              |
#   |  gwa (port-restricted)               gwb (symmetric)           |
#   +------|-------------------------------------|--------------------+
#          | lan                                 | lan
#     iv (member, the inviter)              jn (the joiner)
#
# The network "ivn" has workbit 4.  Usage: invite-nat.sh WH
#
# Not in the suite yet: it fails today (the join gives up after 60 s, "no
# answer from the inviter"), since the joiner's node sends AUTH straight
# to the inviter's reflexive address, which the inviter's NAT filters.
# It is the test of the next step: AUTH and AUTHED carried in RELAY
# through the node that named the inviter (doc/protocol.md 9, step 1).
LAB_TAG=in
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
natlab_require
lab_require_cmd ping
lab_require_impl "$WH"

WH_CTL_DIR=/var/run/wh
in_cleanup() {
	local iface
	lab_cleanup
	for iface in "${IFACES[@]}"; do
		rm -f "$WH_CTL_DIR/$iface.sock"
	done
}
IFACES=()
lab_init
trap in_cleanup EXIT
T_START=$(date +%s)

natlab_internet
natlab_public_host boot 198.18.0.10 || exit 1
natlab_gateway gwa port-restricted || exit 1
natlab_gateway gwb symmetric || exit 1
natlab_host iv gwa || exit 1
natlab_host jn gwb || exit 1

iface() { echo "in${LAB_PID}$1"; }
for h in boot iv jn; do IFACES+=("$(iface "$h")"); done

for h in boot iv; do
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$h.key")
done
{
	echo "name ivn"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $("$WH" pubkey <"$LAB_DIR/boot.key") ${NATLAB_IP[boot]}:62096"
	echo "trust iv $("$WH" pubkey <"$LAB_DIR/iv.key")"
} >"$LAB_DIR/net.conf"
for h in boot iv; do
	cp "$LAB_DIR/net.conf" "$LAB_DIR/$h.conf"
	natlab_spawn "${NATLAB_NS[$h]}" "$h" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "$WH" up \
		"$LAB_DIR/$h.conf" private-key "$LAB_DIR/$h.key" interface "$(iface "$h")" -f
done
whx() { local h=$1; shift; nsx "${NATLAB_NS[$h]}" "$WH" "$@"; }
if ! wait_for "whx iv show $(iface iv) json 2>/dev/null | grep -q '\"reflexive\": \"198.18'" 20; then
	tap_fail "iv is up and learns its reflexive address" "$(cat "$LAB_DIR/iv.log")"
	tap_done
fi
tap_ok "boot and iv (behind a port-restricted NAT) are up"

if S=$(whx iv invite "$(iface iv)" jn 2>"$LAB_DIR/invite.err") && [ -n "$S" ]; then
	tap_ok "iv invites"
else
	tap_fail "iv invites" "$(cat "$LAB_DIR/invite.err")"
	tap_done
fi
t0=$(date +%s%N)
if out=$(timeout 80 ip netns exec "${NATLAB_NS[jn]}" "$WH" join "$S" \
	private-key "$LAB_DIR/jn.key" file "$LAB_DIR/jn.conf" interface "$(iface jn)" 2>&1); then
	tap_ok "jn (behind a symmetric NAT) joins in $((($(date +%s%N) - t0) / 1000000)) ms"
else
	tap_fail "jn (behind a symmetric NAT) joins iv (behind a port-restricted NAT)" "$out" \
		"$(tail -n 30 "$LAB_DIR/iv.log")"
	tap_done
fi
IV_IP=$(whx iv resolve "$(iface iv)" iv | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')
if nsx "${NATLAB_NS[jn]}" ping -n -q -c 1 -i 0.2 -w 30 "$IV_IP" >/dev/null 2>&1; then
	tap_ok "jn pings iv at $IV_IP"
else
	tap_fail "jn pings iv at $IV_IP" "$(whx jn show "$(iface jn)" 2>&1)"
fi
tap_diag "net-invite-nat ran $(($(date +%s) - T_START)) s"
tap_done
