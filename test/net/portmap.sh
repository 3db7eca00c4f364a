#!/bin/bash
# src/node/portmap.c against a real router: miniupnpd (UPnP IGD, NAT-PMP and
# PCP) on a NAT lab gateway, and a gateway that speaks none of them.  Usage:
# portmap.sh PORTMAP_PROBE UDPPROBE [WH] (test/tools/portmap_probe.c,
# udpprobe.c; with WH, also `wh up` on ha: `wh show` says pcp, `wh down`
# removes the mapping).
#
#   ns internet: bridge br0, 198.18.0.0/24
#   +-------------------------------------------------------------+
#   |  p1 .0.10            up .0.100 (upnp)      pr .0.101          |
#   +--|--------------------|---------------------|----------------+
#   +--|---------+  +-------|--------------+  +---|----------------+
#   | udpprobe   |  | miniupnpd: UPnP IGD, |  | port-restricted,   |
#   | serve A    |  | NAT-PMP and PCP on   |  | UDP 5351 dropped:  |
#   |            |  | .1.1:5351;           |  | a silent router    |
#   |            |  | pcp_forge.py on lan0 |  |                    |
#   +------------+  | LAN 198.18.1.0/24    |  |                    |
#                   +---l-ha--------l-hb---+  +---l-hc-------------+
#                       |           |             |
#                   ha .1.10    hb .1.11      hc .2.10
#                   portmap_    upnpc: takes  portmap_probe
#                   probe       a port first  (gives up)
#
# Checks, for PCP, NAT-PMP and UPnP: a mapping is obtained (with all three
# allowed, by PCP, which comes first); its external
# address is up's WAN address; its external port is the internal one when
# that is free; a datagram from p1 to it reaches the probe on ha; after
# portmap_stop the router's rule is gone and p1's datagrams are dropped.
# Then: with the port already mapped to hb, another external port; a short
# lease (4 s) renewed at half, so the mapping outlives several leases (and
# without the probe it expires: the router does honour the lease); a stop
# while the first attempt is still on the pool removes what it mapped.
# PCP: a forged answer (from the gateway's address and port 5351, naming a
# decoy mapping, with a wrong nonce; the real request it answers dropped
# by the gateway so that the forgery arrives first) is ignored and counted,
# and the retransmitted request gets the real mapping.
# Behind pr: the probe gives up within 10 s and its loop never stalls
# (every gap between 100 ms ticks < 500 ms); a stop during the attempt is
# bounded too.  Output is TAP.

LAB_TAG=pm
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "usage: $0 PORTMAP_PROBE UDPPROBE [WH]" >&2; exit 2; }
PMPROBE=$(lab_impl_abs "$1")
NATLAB_PROBE=$(lab_impl_abs "$2")
WH=
[ $# -eq 3 ] && WH=$(lab_impl_abs "$3")
PROBE=$NATLAB_PROBE

[ -x "$PMPROBE" ] || tap_skip_all "portmap_probe missing: '$PMPROBE'"
natlab_require upnp
lab_init
# miniupnpd grants PCP no lifetime shorter than this; the renewal check
# below asks for 4 s.
NATLAB_MIN_LIFETIME=2

A=40001
# Internal ports, outside the gateway's own NAT range (20000-29999), and
# apart: p1's conntrack entries to an external port outlive the mappings
# (the router would DNAT a new mapping's traffic to an old inside port).
PMP_PORT=41820
PCP_PORT=41860
FORGE_PORT=41870
UPNP_PORT=41821
TAKEN_PORT=41822
LEASE_PORT=41830
EARLY_PORT=41840
SILENT_PORT=41850

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# probe_start HOST NAME ARGS...: portmap_probe in HOST, output in NAME.log
# (stdout) and NAME.err (stderr). Sets PPID_ to its PID.
probe_start() {
	local host=$1 name=$2
	shift 2
	ip netns exec "${NATLAB_NS[$host]}" "$PMPROBE" "$@" >"$LAB_DIR/$name.log" \
		2>"$LAB_DIR/$name.err" </dev/null &
	PPID_=$!
	LAB_PIDS+=("$PPID_")
}

# probe_end PID: SIGTERM, then its exit status (124 if it did not exit
# within 15 s).
probe_end() {
	kill -TERM "$1" 2>/dev/null
	if wait_for "! kill -0 $1" 15; then
		wait "$1"
		return $?
	fi
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 124
}

# field NAME KEY N: the N-th word of the first line of NAME.log that starts
# with KEY.
field() {
	awk -v k="$2" -v n="$3" '$1 == k { print $n; exit }' "$LAB_DIR/$1.log"
}

# delivered NAME TOKEN TARGET: p1 sends three "hello TOKEN" from port A to
# TARGET (ip:port). Prints "yes" once the probe NAME reported it, "no" once
# up has counted three more dropped UDP packets, "lost" otherwise (5 s).
delivered() {
	local name=$1 token=$2 target=$3 before
	before=$(natlab_dropped up)
	nsx "${NATLAB_NS[p1]}" "$PROBE" ask "$A" "$target" "$token" 3 >/dev/null 2>&1 || { echo error; return; }
	if wait_for "grep -q ' $token\$' '$LAB_DIR/$name.log' ||
		[ \"\$(natlab_dropped up)\" -ge $((before + 3)) ]" 5; then
		if grep -q " $token\$" "$LAB_DIR/$name.log"; then echo yes; else echo no; fi
	else
		echo lost
	fi
}

# router_rule PORT: miniupnpd's DNAT rule for external UDP PORT on up.
router_rule() {
	nsx "${NATLAB_NS[up]}" nft list chain inet natlab prerouting_miniupnpd 2>/dev/null |
		grep -q "dport $1 dnat"
}

diag_probe() {
	echo "--- $1.log"
	cat "$LAB_DIR/$1.log"
	echo "--- $1.err"
	tail -n 20 "$LAB_DIR/$1.err"
	echo "--- miniupnpd"
	tail -n 15 "$LAB_DIR/up-miniupnpd.log"
}

# ---------------------------------------------------------------- lab
T0=$(now_ms)
build_lab() {
	natlab_internet && natlab_public_host p1 &&
		natlab_gateway up upnp && natlab_host ha up && natlab_host hb up &&
		natlab_gateway pr port-restricted && natlab_host hc pr || return 1
	# pr becomes a silent router: NAT-PMP requests get no answer at all
	# (not even a port unreachable), the worst case for a client.
	nsx "${NATLAB_NS[pr]}" nft insert rule inet natlab input udp dport 5351 drop || return 1
	natlab_spawn "${NATLAB_NS[p1]}" p1 "$PROBE" serve "$A"
	wait_for "grep -q '^ready' '$LAB_DIR/p1.log'" 10 || return 1
	for h in ha hb hc; do
		wait_for "ping_ok ${NATLAB_NS[$h]} ${NATLAB_IP[p1]}" 5 || return 1
	done
}
if build_lab >"$LAB_DIR/build.err" 2>&1; then
	tap_ok "lab: p1, upnp gateway up (miniupnpd ready) with ha and hb, silent gateway pr with hc ($(secs_since "$T0")s)"
else
	tap_fail "lab: built" "$(cat "$LAB_DIR/build.err")"
	tap_done
fi
W=${NATLAB_IP[up]}
HA=${NATLAB_IP[ha]}

# ---------------------------------------------------------------- map, use, remove
# check_protocol PROTO PORT [ALLOWED]: a mapping by PROTO of PORT on ha, used,
# removed; the probe may use the protocols ALLOWED (default PROTO).
check_protocol() {
	local proto=$1 port=$2 name=map-$1 got ext eport pid rc gone t1
	t1=$(now_ms)
	probe_start ha "$name" --proto "${3:-$proto}" "$port"
	pid=$PPID_
	if ! wait_for "grep -q '^mapped' '$LAB_DIR/$name.log'" 15; then
		tap_fail "$proto: a mapping of port $port" "$(diag_probe "$name")"
		probe_end "$pid"
		return
	fi
	got=$(field "$name" mapped 2)
	ext=$(field "$name" mapped 3)
	eport=${ext##*:}
	if [ "$got" = "$proto" ]; then
		tap_ok "$proto: mapped $ext (protocols allowed: ${3:-$proto}) in $(field "$name" mapped 7) ms, lease $(field "$name" mapped 5) s"
	else
		tap_fail "$proto: mapped by $proto" "reported: $(grep '^mapped' "$LAB_DIR/$name.log")"
	fi
	if [ "${ext%:*}" = "$W" ]; then
		tap_ok "$proto: the external address is up's WAN address $W"
	else
		tap_fail "$proto: the external address is up's WAN address $W" "reported: $ext"
	fi
	if [ "$eport" = "$port" ]; then
		tap_ok "$proto: the external port is the internal port $port"
	else
		tap_fail "$proto: the external port is the internal port $port" "reported: $ext"
	fi
	got=$(delivered "$name" "pm-$proto-in" "$ext")
	if [ "$got" = yes ] && router_rule "$eport"; then
		tap_ok "$proto: a datagram from p1 to $ext reaches the probe on $HA:$port (router rule present)"
	else
		tap_fail "$proto: a datagram from p1 to $ext reaches the probe" "delivered: $got" \
			"$(natlab_show up)" "$(diag_probe "$name")"
	fi
	kill -TERM "$pid"
	if wait_for "grep -q '^removed' '$LAB_DIR/$name.log'" 10 && ! router_rule "$eport"; then
		tap_ok "$proto: portmap_stop removed the router's rule in $(field "$name" removed 3) ms"
	else
		tap_fail "$proto: portmap_stop removes the router's rule" "$(natlab_show up)" "$(diag_probe "$name")"
	fi
	probe_end "$pid"
	rc=$?
	if [ "$rc" = 0 ]; then
		tap_ok "$proto: the probe exits 0 after the stop (max loop gap $(field "$name" removed 5) ms)"
	else
		tap_fail "$proto: the probe exits 0 after the stop" "exit status $rc" "$(diag_probe "$name")"
	fi
	# The port is closed now, both in the router and on ha: a listener
	# on ha's port would hear nothing, the gateway drops it.
	natlab_spawn "${NATLAB_NS[ha]}" "$name-after" "$PROBE" client -b "0.0.0.0:$port" -l 20
	wait_for "grep -q '^ready' '$LAB_DIR/$name-after.log'" 5
	gone=$(delivered "$name-after" "pm-$proto-gone" "$ext")
	natlab_stop "$NATLAB_PID"
	if [ "$gone" = no ]; then
		tap_ok "$proto: after the stop, p1's datagrams to $ext are dropped by the gateway ($(secs_since "$t1")s)"
	else
		tap_fail "$proto: after the stop, p1's datagrams to $ext are dropped" "delivered: $gone" "$(natlab_show up)"
	fi
}
check_protocol pcp "$PCP_PORT" any
check_protocol natpmp "$PMP_PORT"
check_protocol upnp "$UPNP_PORT"

# ---------------------------------------------------------------- port taken
# hb holds external port TAKEN_PORT (UPnP, as another host's program would).
out=$(nsx "${NATLAB_NS[hb]}" upnpc -i -e other -a "${NATLAB_IP[hb]}" "$TAKEN_PORT" "$TAKEN_PORT" UDP 600 2>&1)
if grep -q "external $W:$TAKEN_PORT UDP is redirected to internal ${NATLAB_IP[hb]}:$TAKEN_PORT" <<<"$out"; then
	for proto in pcp natpmp upnp; do
		name=taken-$proto
		probe_start ha "$name" --proto "$proto" "$TAKEN_PORT"
		pid=$PPID_
		ext=
		wait_for "grep -q '^mapped' '$LAB_DIR/$name.log'" 15 && ext=$(field "$name" mapped 3)
		got=no
		[ -n "$ext" ] && got=$(delivered "$name" "pm-taken-$proto" "$ext")
		if [ -n "$ext" ] && [ "${ext##*:}" != "$TAKEN_PORT" ] && [ "$got" = yes ]; then
			tap_ok "$proto: with $TAKEN_PORT mapped to hb, another external port: $ext, which reaches ha"
			tap_diag "$(sed -n 's/^log 7 port mapping: on the way: //p' "$LAB_DIR/$name.err")"
		else
			tap_fail "$proto: with $TAKEN_PORT mapped to hb, another external port that reaches ha" \
				"mapped: '$ext', delivered: $got" "$(diag_probe "$name")"
		fi
		probe_end "$pid"
		rc=$?
		[ "$rc" = 0 ] || tap_fail "$proto: the probe exits 0 (port taken)" "exit status $rc" "$(diag_probe "$name")"
	done
	nsx "${NATLAB_NS[hb]}" upnpc -i -d "$TAKEN_PORT" UDP >/dev/null 2>&1
else
	tap_fail "upnpc on hb maps $TAKEN_PORT first" "$out"
fi

# ---------------------------------------------------------------- renewal
# A 4 s lease: renewed every 2 s, so 10 s later the mapping still forwards.
for proto in pcp natpmp upnp; do
	name=lease-$proto
	t1=$(now_ms)
	probe_start ha "$name" --proto "$proto" --lease 4 "$LEASE_PORT"
	pid=$PPID_
	ext=
	wait_for "grep -q '^mapped' '$LAB_DIR/$name.log'" 15 && ext=$(field "$name" mapped 3)
	if [ -n "$ext" ] && wait_for "grep -q '^renewed 4 ' '$LAB_DIR/$name.log'" 15; then
		got=$(delivered "$name" "pm-lease-$proto" "$ext")
		if [ "$got" = yes ] && ! grep -q '^lost' "$LAB_DIR/$name.log"; then
			tap_ok "$proto: lease 4 s renewed $(grep -c '^renewed' "$LAB_DIR/$name.log") times; $ext still forwards after $(secs_since "$t1")s"
		else
			tap_fail "$proto: a renewed 4 s lease still forwards" "delivered: $got" "$(diag_probe "$name")"
		fi
	else
		tap_fail "$proto: a 4 s lease is renewed 4 times" "mapped: '$ext'" "$(diag_probe "$name")"
	fi
	# Without the probe (SIGKILL: no removal, no renewal) the router drops
	# the mapping when the lease ends: the renewals above were needed.
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t1=$(now_ms)
	if [ -n "$ext" ] && wait_for "! router_rule ${ext##*:}" 15; then
		tap_ok "$proto: unrenewed, the router removed the mapping after $(secs_since "$t1")s"
	else
		tap_fail "$proto: unrenewed, the router removes the mapping within 15 s" "$(natlab_show up)"
	fi
done

# ---------------------------------------------------------------- forged PCP answer
# The gateway drops the first PCP request from ha (an nft quota of one
# request's 88 bytes); pcp_forge.py, which sees it on lan0 before the
# firewall, answers it with a decoy mapping and a wrong nonce.  The probe
# must ignore that answer, count it, and take the real one to its
# retransmission (250 ms later).
DECOY=203.0.113.66
name=forge
natlab_spawn "${NATLAB_NS[up]}" forger python3 "$(dirname "$0")/pcp_forge.py" lan0 \
	"${NATLAB_LAN_IP[up]}" "$HA" "$DECOY" 1 1
forger=$NATLAB_PID
rule=$(nsx "${NATLAB_NS[up]}" nft --echo --handle insert rule inet natlab input \
	ip saddr "$HA" udp dport 5351 quota until 100 bytes drop 2>&1 | sed -n 's/.*# handle \([0-9]*\).*/\1/p')
if [ -n "$rule" ] && wait_for "grep -q '^ready' '$LAB_DIR/forger.log'" 10; then
	probe_start ha "$name" --proto pcp "$FORGE_PORT"
	pid=$PPID_
	ext=
	wait_for "grep -q '^mapped' '$LAB_DIR/$name.log'" 15 && ext=$(field "$name" mapped 3)
	# the probe prints "ignored N" on its next tick, which may come after "mapped"
	wait_for "grep -q '^ignored' '$LAB_DIR/$name.log'" 5
	ign=$(field "$name" ignored 2)
	if grep -q '^forged' "$LAB_DIR/forger.log" && [ "${ext%:*}" = "$W" ] && [ "${ign:-0}" -ge 1 ] &&
		[ "$(field "$name" mapped 2)" = pcp ]; then
		tap_ok "pcp: a forged answer (decoy $DECOY:1, wrong nonce) ignored and counted (ignored $ign); mapped $ext by the real answer"
	else
		tap_fail "pcp: a forged answer with a wrong nonce is ignored and counted" \
			"mapped: '$ext', ignored: '$ign'" "$(cat "$LAB_DIR/forger.log")" "$(diag_probe "$name")"
	fi
	probe_end "$pid"
	rc=$?
	[ "$rc" = 0 ] || tap_fail "pcp: the probe exits 0 (forged answer)" "exit status $rc" "$(diag_probe "$name")"
	nsx "${NATLAB_NS[up]}" nft delete rule inet natlab input handle "$rule"
else
	tap_fail "pcp: the forger and the gateway's drop rule are in place" "rule handle: '$rule'" \
		"$(cat "$LAB_DIR/forger.log")"
fi
natlab_stop "$forger"

# ---------------------------------------------------------------- wh up, wh show, wh down
# The daemon on ha maps its port by PCP (all three allowed), says so in
# `wh show`, and `wh down` removes the router's rule.
WH_PORT=41880
if [ -n "$WH" ]; then
	"$WH" genkey >"$LAB_DIR/ha.key"
	printf 'name pcp\nsubnet 198.19.0.0/16\nworkbit 0\ntrust ha %s\n' \
		"$("$WH" pubkey <"$LAB_DIR/ha.key")" >"$LAB_DIR/ha.conf"
	IF=pm$LAB_PID
	natlab_spawn "${NATLAB_NS[ha]}" wh-ha env LOG_LEVEL=info "$WH" up "$LAB_DIR/ha.conf" \
		private-key "$LAB_DIR/ha.key" interface "$IF" listen-port "$WH_PORT" -f
	whpid=$NATLAB_PID
	pm=
	wait_for "nsx ${NATLAB_NS[ha]} $WH show $IF | grep -q 'port mapping .* by '" 15 &&
		pm=$(nsx "${NATLAB_NS[ha]}" "$WH" show "$IF" | sed -n 's/^ *port mapping //p')
	if [ "$pm" = "$W:$WH_PORT by pcp" ] && router_rule "$WH_PORT"; then
		tap_ok "wh up: 'port mapping $pm' in wh show, the router's rule present"
	else
		tap_fail "wh up: wh show says 'port mapping $W:$WH_PORT by pcp'" "shown: '$pm'" \
			"$(tail -n 20 "$LAB_DIR/wh-ha.log")"
	fi
	insp=$(nsx "${NATLAB_NS[ha]}" "$WH" inspect "$IF" 2>&1 | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["port_mapping"]["protocol"], d["portmap"]["attempts"], d["portmap"]["pcp_ignored"])' 2>&1)
	if [ "${insp%% *}" = pcp ]; then
		tap_ok "wh inspect: port_mapping by pcp; portmap attempts, pcp_ignored: ${insp#* }"
	else
		tap_fail "wh inspect: port_mapping by pcp and the portmap counters" "$insp"
	fi
	t1=$(now_ms)
	nsx "${NATLAB_NS[ha]}" "$WH" down "$IF" >"$LAB_DIR/wh-down.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && wait_for "! kill -0 $whpid" 10 && ! router_rule "$WH_PORT"; then
		tap_ok "wh down: the router's rule for $WH_PORT is gone ($(secs_since "$t1")s): $(grep -o 'port mapping .* removed' "$LAB_DIR/wh-ha.log")"
	else
		tap_fail "wh down removes the PCP mapping" "exit $rc" "$(cat "$LAB_DIR/wh-down.log")" \
			"$(tail -n 20 "$LAB_DIR/wh-ha.log")" "$(natlab_show up)"
	fi
	natlab_stop "$whpid"
fi

# ---------------------------------------------------------------- stop during the attempt
# UPnP's SSDP search takes 2 s: a stop 0.1 s after start finds the attempt
# on the pool; what it maps must be removed once it returns.
name=early
probe_start ha "$name" --proto upnp --stop-after 0.1 "$EARLY_PORT"
pid=$PPID_
if wait_for "! kill -0 $pid" 20; then
	wait "$pid"
	rc=$?
else
	rc=timeout
fi
if [ "$rc" = 0 ] && grep -q '^removed' "$LAB_DIR/$name.log" && ! router_rule "$EARLY_PORT" &&
	grep -q "removed" "$LAB_DIR/$name.err"; then
	tap_ok "upnp: a stop while the first attempt is on the pool waits for it ($(field "$name" removed 3) ms) and removes its mapping"
else
	tap_fail "upnp: a stop during the first attempt waits for it and removes its mapping" "exit: $rc" \
		"$(diag_probe "$name")" "$(natlab_show up)"
	probe_end "$pid" >/dev/null
fi

# ---------------------------------------------------------------- silent router
name=silent
probe_start hc "$name" --timeout 30 "$SILENT_PORT"
pid=$PPID_
if wait_for "grep -q '^failed' '$LAB_DIR/$name.log'" 20; then
	ms=$(field "$name" failed 4)
	gap=$(field "$name" failed 6)
	if [ "$ms" -lt 10000 ]; then
		tap_ok "silent router: the first attempt gives up after $ms ms (< 10 s): $(sed -n 's/^failed .* error //p' "$LAB_DIR/$name.log")"
	else
		tap_fail "silent router: the first attempt gives up within 10 s" "after $ms ms" "$(diag_probe "$name")"
	fi
	if [ "$gap" -lt 500 ]; then
		tap_ok "silent router: the loop's 100 ms timer never waited longer than $gap ms meanwhile"
	else
		tap_fail "silent router: the loop never stalls (< 500 ms)" "max gap $gap ms" "$(diag_probe "$name")"
	fi
else
	tap_fail "silent router: the first attempt gives up within 20 s" "$(diag_probe "$name")"
fi
probe_end "$pid"
rc=$?
if [ "$rc" = 0 ] && ! grep -q '^mapped' "$LAB_DIR/$name.log"; then
	tap_ok "silent router: no mapping; the stop took $(field "$name" removed 3) ms, exit 0"
else
	tap_fail "silent router: no mapping, exit 0 after the stop" "exit status $rc" "$(diag_probe "$name")"
fi
# A stop while the silent attempt is under way: bounded by the attempt.
name=silent-early
probe_start hc "$name" --stop-after 0.5 "$SILENT_PORT"
pid=$PPID_
t1=$(now_ms)
if wait_for "! kill -0 $pid" 15; then
	wait "$pid"
	rc=$?
else
	rc=timeout
fi
if [ "$rc" = 0 ] && grep -q '^removed' "$LAB_DIR/$name.log"; then
	gap=$(field "$name" removed 5)
	if [ "$gap" -lt 500 ]; then
		tap_ok "silent router: a stop during the attempt returns after $(field "$name" removed 3) ms, max loop gap $gap ms, exit 0"
	else
		tap_fail "silent router: the loop never stalls during a stop" "max gap $gap ms" "$(diag_probe "$name")"
	fi
else
	tap_fail "silent router: a stop during the attempt ends the probe within 15 s" "exit: $rc" \
		"$(diag_probe "$name")"
	probe_end "$pid" >/dev/null
fi

tap_diag "total $(secs_since "$T0")s"
tap_done
