#!/usr/bin/env bash
# Invitations across NATs that filter (doc/protocol.md 6.6, README
# "Invitations"): the inviter behind a port-restricted NAT, the joiner
# behind a symmetric one, only a public boot node between them.  The
# joiner joins with the string alone (AUTH and AUTHED through the boot
# node, which relays: the inviter's NAT drops the joiner's datagrams),
# then pings every member by address and by name; the same string a
# second time (another key) is refused as used.
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
# Before AUTH travelled in RELAY, the join gave up after 60 s ("no answer
# from the inviter"): the joiner's node sent AUTH straight to the
# inviter's reflexive address, which the inviter's NAT filters.
LAB_TAG=in
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

[ $# -ge 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
natlab_require
lab_require_cmd ping python3
lab_require_impl "$WH"

WH_CTL_DIR=/var/run/wh
in_cleanup() {
	local iface ns
	lab_cleanup
	for ns in "${LAB_NSS[@]}"; do
		rm -rf "/etc/netns/$ns"
	done
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
natlab_host jx gwb || exit 1

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
if grep -q "^trust jn 198\.19\.[0-9.]* $("$WH" pubkey <"$LAB_DIR/jn.key") # wh invite: joined with alias " \
	"$LAB_DIR/iv.conf" && cmp -s "$LAB_DIR/iv.conf" "$LAB_DIR/jn.conf"; then
	tap_ok "iv's alias line became jn's trust line; jn has iv's file"
else
	tap_fail "iv's alias line became jn's trust line; jn has iv's file" \
		"$(cat "$LAB_DIR/iv.conf")" "$(cat "$LAB_DIR/jn.conf" 2>&1)"
fi
addr_of() { whx iv resolve "$(iface iv)" "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])'; }
# jn asks its own node for names (as net-invite does).
mkdir -p "/etc/netns/${NATLAB_NS[jn]}"
printf 'nameserver %s\n' "$(addr_of jn)" >"/etc/netns/${NATLAB_NS[jn]}/resolv.conf"
# Every member: iv, the only one besides jn.
for m in iv; do
	ip=$(addr_of "$m")
	if nsx "${NATLAB_NS[jn]}" ping -n -q -c 1 -i 0.2 -w 30 "$ip" >/dev/null 2>&1; then
		tap_ok "jn pings $m at $ip"
	else
		tap_fail "jn pings $m at $ip" "$(whx jn show "$(iface jn)" 2>&1)"
	fi
	if nsx "${NATLAB_NS[jn]}" ping -n -q -c 1 -w 10 "$m.ivn" >/dev/null 2>&1; then
		tap_ok "jn pings $m by name ($m.ivn)"
	else
		tap_fail "jn pings $m by name ($m.ivn)" "$(nsx "${NATLAB_NS[jn]}" getent hosts "$m.ivn" 2>&1)"
	fi
done
# The same string again, from another key behind the same NAT: the
# inviter still hears the used alias through the relay for a while
# (doc/protocol.md 6.6) and refuses it.
if out=$(timeout 80 ip netns exec "${NATLAB_NS[jx]}" "$WH" join "$S" \
	private-key "$LAB_DIR/jx.key" file "$LAB_DIR/jx.conf" 2>&1); then
	tap_fail "the same string a second time is refused" "$out"
else
	case $out in *used*) tap_ok "the same string a second time is refused: ${out##*wh join: }" ;;
	*) tap_fail "the same string a second time is refused as used" "$out" ;; esac
fi
tap_diag "net-invite-nat ran $(($(date +%s) - T_START)) s"
tap_done
