#!/bin/bash
# Issue 17, finding 4 (observation poisoning), against any build of wh: a
# NATed member a behind a full-cone NAT learns its mapping from two boot
# nodes (the same port to both: endpoint-independent).  A stranger x PINGs
# it as a "public relay" and answers a's PINGs with PONGs saying it saw a
# at its public address and another port.  On fa574b6 a took that
# observation and its verdict turned endpoint-dependent (the sweep saw
# none/none turn endpoint-dependent, not-port-dependent); now only
# members and the network file's boot nodes are observers (doc/protocol.md
# 9), x's PONG is counted in observations_untrusted and the verdict stays.
# Usage: natobs.sh WH OVLFORGE
#
#   internet 198.18.0.0/24: boot1, boot2 (public DHT nodes), x (the
#                           stranger, test/tools/ovlforge, lying PONGs)
#   gateway ga full-cone --- LAN: member a
LAB_TAG=rn
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../natlab.sh
. "$(dirname "$0")/../natlab.sh"
# shellcheck source=stranger.sh
. "$(dirname "$0")/stranger.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH OVLFORGE" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
FORGE=$(lab_impl_abs "$2")
natlab_require
lab_require_impl "$WH"
lab_init

stranger_lab natobs "boot1 boot2" ""
jget() { stranger_get "$@"; }

if wait_for '[ "$(jget a show nat_observers)" -ge 2 ] 2>/dev/null && [ -n "$(jget a show reflexive)" ]' 40; then
	refl=$(jget a show reflexive)
	before=$(jget a show nat_mapping)
	tap_ok "a is at $refl, NAT mapping '$before' from $(jget a show nat_observers) observers"
else
	tap_fail "a learns its mapping from two boot nodes" \
		"$(nsx "${NATLAB_NS[a]}" "$WH" show "rn${LAB_PID}a" 2>&1)"
	tap_done
fi
lie="${refl%:*}:$(( ${refl##*:} + 1 ))"
nsx "${NATLAB_NS[x]}" env OVLFORGE_OBSERVED="$lie" "$FORGE" "$LAB_DIR/x.key" public \
	"${refl%:*}" "${refl##*:}" "$(cat "$LAB_DIR/a.pub")" "$(cat "$LAB_DIR/b.pub")" \
	198.18.0.77 62096 40 >"$LAB_DIR/x.out" 2>&1 &
XPID=$!
LAB_PIDS+=("$XPID")
# a pings the public nodes it knows every 25 s (its anchors, section 9).
if wait_for "grep -q '^tx PONG' $LAB_DIR/x.out" 38; then
	tap_ok "a pinged the stranger and got its PONG observing $lie"
else
	tap_fail "a pinged the stranger" "$(sort "$LAB_DIR/x.out" | uniq -c)"
	tap_done
fi
# The verdict must not move: give a 3 s to take the PONG in (it does so
# at once when it does).
if wait_for "[ \"\$(jget a show nat_mapping)\" != '$before' ]" 3; then
	tap_fail "a's NAT mapping stays '$before'" "now: $(jget a show nat_mapping) from" \
		"$(jget a show nat_observers) observers"
else
	tap_ok "a's NAT mapping stays '$before' ($(jget a show nat_observers) observers; untrusted observations: $(jget a inspect nat_probes.observations_untrusted))"
fi
tap_done
