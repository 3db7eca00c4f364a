#!/bin/bash
# wireguard-wh is WireGuard alone: it must link nothing of the overlay
# (proto/overlay: ovl_*, kad_*) nor of the node of `wh up` (src/node:
# overlay_*, node_*, paths_*, datapath_*, netconf_*, portmap_*), nor the
# node's libraries (miniupnpc, natpmp).  wh, built from the same tree,
# must show those symbols: that proves the check sees what it looks for.
# TAP on stdout.  Usage: wireguard_wh_symbols.sh WIREGUARD_WH WH
set -u
wgwh=$1 wh=$2
pattern=' [TtDdBbRr] (ovl_|kad_|overlay_|node_|paths_|datapath_|netconf_|portmap_)'
command -v nm >/dev/null || { echo "1..0 # SKIP nm not installed"; exit 77; }
echo "1..4"
n=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
fail=0
bad=$(nm "$wgwh" | grep -E "$pattern")
[ -z "$bad" ]; check $? "wireguard-wh defines no overlay or node symbol"
[ -n "$bad" ] && printf '# %s\n' $bad | head -20
nm "$wh" | grep -qE ' T overlay_input$'; check $? "wh defines overlay_input (the pattern finds overlay symbols)"
[ "$(nm "$wh" | grep -cE "$pattern")" -gt 0 ]; check $? "the pattern matches wh's overlay and node symbols"
needed=$(readelf -d "$wgwh" | grep NEEDED)
! grep -qE 'miniupnpc|natpmp' <<<"$needed"; check $? "wireguard-wh needs neither miniupnpc nor natpmp"
exit $fail
