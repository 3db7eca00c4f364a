#!/bin/bash
# Issue 17, finding 2: a stranger on the internet PINGs a NATed member as
# a "public relay", then sends it a NODES that answers nothing of the
# member's, naming another member (b, not up: the pair has no session) as
# a NATed node it has a path to.  Before the fix the member took it as a
# relay for b: CHANNEL_BIND and RELAY went to the stranger, and b's
# endpoint became the stranger's address.  Now the NODES is a counted
# drop (dropped_unsolicited) and nothing goes to the stranger but the
# PONGs to its PINGs.
# Usage: answers.sh WH OVLFORGE
#
#   internet 198.18.0.0/24: boot1 (a public DHT node), x (the stranger,
#                           test/tools/ovlforge)
#   gateway ga full-cone --- LAN: member a          member b: never up
LAB_TAG=an
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH OVLFORGE" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
FORGE=$(lab_impl_abs "$2")
natlab_require
lab_require_impl "$WH"
lab_init

natlab_internet
natlab_public_host boot1 && natlab_public_host x || exit 1
natlab_gateway ga full-cone || exit 1
natlab_host a ga || exit 1

for n in boot1 a b x; do
	"$WH" genkey workbit 4 >"$LAB_DIR/$n.key"
	"$WH" pubkey <"$LAB_DIR/$n.key" >"$LAB_DIR/$n.pub"
done
{
	echo "name answers"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $(cat "$LAB_DIR/boot1.pub") ${NATLAB_IP[boot1]}:62096"
	for n in a b; do echo "trust $n $(cat "$LAB_DIR/$n.pub")"; done
} >"$LAB_DIR/net.conf"
for n in boot1 a; do
	natlab_spawn "${NATLAB_NS[$n]}" "$n" "$WH" up "$LAB_DIR/net.conf" \
		private-key "$LAB_DIR/$n.key" interface "an$LAB_PID$n" -f
done

# jget NODE show|inspect PATH: one value of `wh show json` or `wh inspect`
# (lab_wh_get: PATH dotted; "peer:HOST" picks a member).
jget() { lab_wh_get "$WH" "${NATLAB_NS[$1]}" "an$LAB_PID$1" "$2" "$3"; }

# a's address on the internet, as boot1 saw it.
if wait_for '[ -n "$(jget a show reflexive)" ]' 20; then
	refl=$(jget a show reflexive)
	tap_ok "a is reachable at $refl"
else
	tap_fail "a learns its reflexive address" "$(nsx "${NATLAB_NS[a]}" "$WH" show "an${LAB_PID}a" 2>&1)"
	tap_done
fi
nsx "${NATLAB_NS[x]}" "$FORGE" "$LAB_DIR/x.key" public "${refl%:*}" "${refl##*:}" \
	"$(cat "$LAB_DIR/a.pub")" "$(cat "$LAB_DIR/b.pub")" 198.18.0.77 62096 6 >"$LAB_DIR/x.out" 2>&1
if grep -q '^rx PONG$' "$LAB_DIR/x.out"; then
	tap_ok "the stranger's PINGs reach a (it answers them)"
else
	tap_fail "the stranger's PINGs reach a" "$(cat "$LAB_DIR/x.out")"
fi
if grep -qE '^rx (CHANNEL_BIND|RELAY)$' "$LAB_DIR/x.out"; then
	tap_fail "a does not take the stranger as b's relay" "$(sort "$LAB_DIR/x.out" | uniq -c)"
else
	tap_ok "a does not take the stranger as b's relay (no CHANNEL_BIND, no RELAY to it)"
fi
ep=$(jget a show peer:b.endpoint)
if [[ $ep != "${NATLAB_IP[x]}:"* ]]; then
	tap_ok "b's endpoint on a is not the stranger's (${ep:-none})"
else
	tap_fail "b's endpoint on a is not the stranger's" "endpoint: $ep"
fi
n=$(jget a inspect overlay.dropped_unsolicited)
if [ "${n:-0}" -ge 1 ] 2>/dev/null; then
	tap_ok "the unsolicited NODES is a counted drop (dropped_unsolicited $n)"
else
	tap_fail "the unsolicited NODES is a counted drop" "dropped_unsolicited: '${n}'"
fi
tap_done
