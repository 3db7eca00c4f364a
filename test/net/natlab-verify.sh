#!/bin/bash
# The NAT lab (test/net/natlab.sh) checked against its own names: each
# gateway type is probed for its mapping and its filtering behaviour, and
# the upnp gateway's UPnP IGD and NAT-PMP mappings are made, used and
# removed. Usage: natlab-verify.sh UDPPROBE (test/tools/udpprobe.c).
#
#   ns internet: bridge br0, 198.18.0.0/24
#   +-----------------------------------------------------------------------+
#   | p1 .0.10      p2 .0.11      fc .100  ar .101  pr .102  sy .103  up .104 ex .107
#   +--|------------|-------------|--------|--------|--------|--------|------|-+
#   +--|------+ +---|-----+   full-cone  addr-   port-   symmetric upnp  full-cone
#   | udpprobe| | udpprobe|   gateways:  restr.  restr.            +     timeout=2
#   | serve   | | serve   |   one LAN    |        |  \              mini-    |
#   | A B C   | | A B C   |   each       |        |   dn (full-cone upnpd    |
#   +---------+ +---------+   198.18.k.0/24        |   upstream=pr)   |      |
#                              hfc hfc2   har      hpr  hdn   hsy     hup    hex
#
# Ports: A=40001, B=40002, C=40003 on both public hosts. For each type
# (gateway G, LAN host H):
#   mapping: H sends from one socket to P1:A, P1:B and P2:A; each reports
#     the source it saw. Same external port for all = endpoint-independent
#     (EIM), a different one each = endpoint-dependent (EDM).
#   filtering: from a new socket H contacts only P1:A; then P1:B, P2:A and
#     P1:A send to the port P1:A saw. Each packet either reaches H or is
#     counted by G's "dropped" counter; the test waits for one or the other.
# Expected:
#   full-cone          EIM  P1:B yes  P2:A yes  P1:A yes
#   address-restricted EIM  P1:B yes  P2:A no   P1:A yes
#   port-restricted    EIM  P1:B no   P2:A no   P1:A yes
#   symmetric          EDM  P1:B no   P2:A no   P1:A yes
#   sequential         EDM, the three ports consecutive   no  no  yes
#   random             EDM, the three ports not consecutive  no  no  yes
#   upnp               as port-restricted; then open to P2:A and P1:B through
#                      a UPnP IGD mapping (upnpc) and a NAT-PMP mapping
#                      (natpmpc), closed to a new source once each is removed.
# (sequential: gateway sq, host hsq; random: rd, hrd; WAN addresses after
# up's, the extra gateways after them.)
# Also: two LAN hosts using the same inside port get distinct external ports
# and each receives only its own unsolicited packet (fc); a mapping expires
# with the gateway's timeout (ex, 2 s); double NAT (dn behind pr) is EIM
# with pr's address. Output is TAP; the observed table is in diagnostics.

LAB_TAG=nv
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 1 ] || { echo "usage: $0 UDPPROBE" >&2; exit 2; }
NATLAB_PROBE=$(lab_impl_abs "$1")
PROBE=$NATLAB_PROBE

natlab_require upnp
lab_require_cmd ping ss
lab_init

A=40001
B=40002
C=40003
UPNP_IPORT=41000
UPNP_EPORT=31000
PMP_IPORT=41001
PMP_EPORT=31001

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# ---------------------------------------------------------------- helpers

# map_probe HOST: H probes P1:A, P1:B, P2:A from one socket; sets SEEN to
# the three observed "ip:port" (or "none").
map_probe() {
	local out
	out=$(nsx "${NATLAB_NS[$1]}" "$PROBE" client "${NATLAB_IP[p1]}:$A" "${NATLAB_IP[p1]}:$B" \
		"${NATLAB_IP[p2]}:$A" 2>&1)
	SEEN=$(awk '$1 == "seen" { printf "%s ", $3 }' <<<"$out")
	SEEN=${SEEN% }
}

# listen_start HOST NAME [BIND]: a client in HOST that contacts P1:A from
# BIND (default: a random port), then listens. Sets OBS to the port P1:A
# saw, LPORT to the local port, LISTENER to the client's PID.
listen_start() {
	local host=$1 name=$2 bind=${3:-0.0.0.0:0} seen
	natlab_spawn "${NATLAB_NS[$host]}" "$name" "$PROBE" client -b "$bind" -l 60 "${NATLAB_IP[p1]}:$A"
	LISTENER=$NATLAB_PID
	OBS=
	LPORT=
	wait_for "grep -q '^ready' '$LAB_DIR/$name.log'" 10 || return 1
	seen=$(awk '$1 == "seen" { print $3 }' "$LAB_DIR/$name.log")
	LPORT=$(awk '$1 == "local" { sub(/.*:/, "", $2); print $2 }' "$LAB_DIR/$name.log")
	[ "$seen" != none ] || return 1
	OBS=${seen##*:}
}

# unsolicited GW NAME SRC SPORT TARGET TOKEN: SRC's server on SPORT sends
# three copies of TOKEN to TARGET (ip:port). Prints "yes" once the client
# NAME has received it, "no" once GW has counted three more dropped UDP
# packets, "lost" if neither happens within 5 s.
unsolicited() {
	local gw=$1 name=$2 src=$3 sport=$4 target=$5 token=$6 before
	before=$(natlab_dropped "$gw")
	if ! nsx "${NATLAB_NS[$src]}" "$PROBE" ask "$sport" "$target" "$token" 3 >/dev/null 2>&1; then
		echo "error"
		return
	fi
	if wait_for "grep -q ' $token\$' '$LAB_DIR/$name.log' ||
		[ \"\$(natlab_dropped $gw)\" -ge $((before + 3)) ]" 5; then
		if grep -q " $token\$" "$LAB_DIR/$name.log"; then echo yes; else echo no; fi
	else
		echo lost
	fi
}

# classify W SEEN...: EIM if every observation is W with one port, EDM if
# every one is W with a different port each, else "mixed".
classify() {
	local w=$1 s ports=()
	shift
	for s in "$@"; do
		[ "${s%:*}" = "$w" ] || { echo "wrong-address"; return; }
		ports+=("${s##*:}")
	done
	if [ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" = 1 ]; then
		echo EIM
	elif [ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" = "${#ports[@]}" ]; then
		echo EDM
	else
		echo mixed
	fi
}

TABLE=()
table_row() { TABLE+=("$(printf '%-22s %-5s %-20s | %-4s %-4s %-4s' "$@")"); }

# ---------------------------------------------------------------- lab
T0=$(now_ms)
declare -A GWOF=([full-cone]=fc [address-restricted]=ar [port-restricted]=pr [symmetric]=sy [upnp]=up
	[sequential]=sq [random]=rd)
TYPES="full-cone address-restricted port-restricted symmetric upnp sequential random"
lab_ok=1
why=
build_lab() {
	if ! natlab_internet || ! natlab_public_host p1 || ! natlab_public_host p2; then
		why="internet"
		return 1
	fi
	for type in $TYPES; do
		gw=${GWOF[$type]}
		if ! natlab_gateway "$gw" "$type" || ! natlab_host "h$gw" "$gw"; then
			why="gateway $gw ($type)"
			return 1
		fi
	done
	if ! natlab_host hfc2 fc || ! natlab_gateway ex full-cone timeout=2 || ! natlab_host hex ex ||
		! natlab_gateway dn full-cone upstream=pr || ! natlab_host hdn dn; then
		why="extra gateways"
		return 1
	fi
}
build_lab >"$LAB_DIR/build.err" 2>&1 || lab_ok=0
if [ "$lab_ok" = 1 ]; then
	natlab_spawn "${NATLAB_NS[p1]}" p1 "$PROBE" serve "$A" "$B" "$C"
	natlab_spawn "${NATLAB_NS[p2]}" p2 "$PROBE" serve "$A" "$B" "$C"
	wait_for "grep -q '^ready' '$LAB_DIR/p1.log' && grep -q '^ready' '$LAB_DIR/p2.log'" 10 ||
		{ lab_ok=0; why="probe servers"; }
fi
if [ "$lab_ok" = 1 ]; then
	for h in hfc hfc2 har hpr hsy hup hsq hrd hex hdn; do
		wait_for "ping_ok ${NATLAB_NS[$h]} ${NATLAB_IP[p1]}" 5 ||
			{ lab_ok=0; why="$why ping $h -> p1;"; }
	done
fi
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: internet, 2 public hosts, 9 gateways (miniupnpd ready), 10 LAN hosts that ping p1 through their NAT, built in $(secs_since "$T0")s"
else
	tap_fail "lab: built and LAN hosts reach p1" "failed at: $why" "$(cat "$LAB_DIR/build.err")"
	tap_done
fi

# ---------------------------------------------------------------- per type
declare -A WANT_MAP=([full-cone]=EIM [address-restricted]=EIM [port-restricted]=EIM [symmetric]=EDM [upnp]=EIM
	[sequential]=EDM [random]=EDM)
declare -A WANT_FILTER=([full-cone]="yes yes yes" [address-restricted]="yes no yes"
	[port-restricted]="no no yes" [symmetric]="no no yes" [upnp]="no no yes"
	[sequential]="no no yes" [random]="no no yes")

# consecutive PORT...: every port one more than the one before.
consecutive() {
	local prev=$1 p
	shift
	for p in "$@"; do
		[ "$p" = $((prev + 1)) ] || return 1
		prev=$p
	done
}
for type in $TYPES; do
	gw=${GWOF[$type]}
	h=h$gw
	w=${NATLAB_IP[$gw]}
	t1=$(now_ms)

	map_probe "$h"
	# shellcheck disable=SC2086
	cls=$(classify "$w" $SEEN)
	if [ "$cls" = "${WANT_MAP[$type]}" ]; then
		tap_ok "$type: mapping is $cls (P1:A, P1:B, P2:A saw $SEEN)"
	else
		tap_fail "$type: mapping is ${WANT_MAP[$type]}" "observed: $cls ($SEEN), WAN $w" "$(natlab_show "$gw")"
	fi
	portlist=$(for s in $SEEN; do printf '%s ' "${s##*:}"; done)
	# The allocation: three new flows one after the other take
	# consecutive ports on the sequential gateway, and not on the random
	# one (conntrack shows the same as what P1 and P2 saw).
	if [ "$type" = sequential ] || [ "$type" = random ]; then
		# shellcheck disable=SC2086
		if consecutive $portlist; then alloc=consecutive; else alloc="not consecutive"; fi
		want=consecutive
		[ "$type" = sequential ] || want="not consecutive"
		if [ "$alloc" = "$want" ]; then
			tap_ok "$type: ports of three new flows in a row are $alloc ($portlist)"
		else
			tap_fail "$type: ports of three new flows in a row are $want" "observed: $portlist" \
				"$(nsx "${NATLAB_NS[$gw]}" conntrack -L -p udp 2>&1)"
		fi
	fi

	got=
	if listen_start "$h" "filter-$gw"; then
		got="$(unsolicited "$gw" "filter-$gw" p1 "$B" "$w:$OBS" "$gw-p1b")"
		got="$got $(unsolicited "$gw" "filter-$gw" p2 "$A" "$w:$OBS" "$gw-p2a")"
		got="$got $(unsolicited "$gw" "filter-$gw" p1 "$A" "$w:$OBS" "$gw-p1a")"
	else
		got="no-mapping"
	fi
	natlab_stop "$LISTENER"
	if [ "$got" = "${WANT_FILTER[$type]}" ]; then
		tap_ok "$type: after contacting only P1:A (port $OBS): P1:B, P2:A, P1:A reach it: $got ($(secs_since "$t1")s)"
	else
		tap_fail "$type: after contacting only P1:A: P1:B, P2:A, P1:A reach it: ${WANT_FILTER[$type]}" \
			"observed: $got" "$(cat "$LAB_DIR/filter-$gw.log")" "$(natlab_show "$gw")"
	fi
	# shellcheck disable=SC2086
	table_row "$type" "$cls" "$portlist" $got
done

# ---------------------------------------------------------------- upnp
ns=${NATLAB_NS[hup]}
hip=${NATLAB_IP[hup]}
w=${NATLAB_IP[up]}
t1=$(now_ms)
out=$(nsx "$ns" upnpc -i -e natlab -a "$hip" "$UPNP_IPORT" "$UPNP_EPORT" UDP 600 2>&1)
if grep -q "external $w:$UPNP_EPORT UDP is redirected to internal $hip:$UPNP_IPORT" <<<"$out"; then
	tap_ok "upnp: upnpc discovers the IGD (SSDP) and maps $w:$UPNP_EPORT -> $hip:$UPNP_IPORT ($(secs_since "$t1")s)"
else
	tap_fail "upnp: upnpc maps $w:$UPNP_EPORT -> $hip:$UPNP_IPORT" "$out" "$(tail -n 20 "$LAB_DIR/up-miniupnpd.log")"
fi
out=$(nsx "$ns" upnpc -i -l 2>&1)
if grep -q "UDP *$UPNP_EPORT->$hip:$UPNP_IPORT" <<<"$out"; then
	tap_ok "upnp: upnpc -l lists the mapping"
else
	tap_fail "upnp: upnpc -l lists the mapping" "$out"
fi
got=
if listen_start hup upnp-igd "0.0.0.0:$UPNP_IPORT"; then
	got="$(unsolicited up upnp-igd p1 "$B" "$w:$UPNP_EPORT" up-igd-p1b)"
	got="$got $(unsolicited up upnp-igd p2 "$A" "$w:$UPNP_EPORT" up-igd-p2a)"
fi
if [ "$got" = "yes yes" ]; then
	tap_ok "upnp: through the UPnP mapping, P1:B and P2:A reach $hip:$UPNP_IPORT (its own traffic leaves from port $OBS)"
else
	tap_fail "upnp: through the UPnP mapping, P1:B and P2:A reach the host" "observed: $got" \
		"$(cat "$LAB_DIR/upnp-igd.log")" "$(natlab_show up)"
fi
table_row "upnp + UPnP $UPNP_EPORT" "-" "-" "${got% *}" "${got#* }" "-"
out=$(nsx "$ns" upnpc -i -d "$UPNP_EPORT" UDP 2>&1)
gone=$(unsolicited up upnp-igd p2 "$B" "$w:$UPNP_EPORT" up-igd-gone)
rules=$(nsx "${NATLAB_NS[up]}" nft list chain inet natlab prerouting_miniupnpd 2>&1)
if grep -q "returned : 0" <<<"$out" && [ "$gone" = no ] && ! grep -q dnat <<<"$rules"; then
	tap_ok "upnp: upnpc -d removes the mapping: its DNAT rule is gone and a new source (P2:B) no longer reaches the host"
else
	tap_fail "upnp: upnpc -d removes the mapping" "$out" "new source reaches: $gone" "$rules"
fi
natlab_stop "$LISTENER"

t1=$(now_ms)
out=$(nsx "$ns" natpmpc -g "${NATLAB_LAN_IP[up]}" 2>&1)
if grep -q "Public IP address : $w" <<<"$out"; then
	tap_ok "upnp: NAT-PMP reports the public address $w ($(secs_since "$t1")s)"
else
	tap_fail "upnp: NAT-PMP reports the public address $w" "$out"
fi
# natpmpc -a PUBLIC_PORT PRIVATE_PORT PROTOCOL LIFETIME
out=$(nsx "$ns" natpmpc -g "${NATLAB_LAN_IP[up]}" -a "$PMP_EPORT" "$PMP_IPORT" udp 120 2>&1)
if grep -q "Mapped public port $PMP_EPORT protocol UDP to local port $PMP_IPORT" <<<"$out"; then
	tap_ok "upnp: natpmpc maps $w:$PMP_EPORT -> $hip:$PMP_IPORT for 120 s"
else
	tap_fail "upnp: natpmpc maps $w:$PMP_EPORT -> $hip:$PMP_IPORT" "$out" "$(tail -n 20 "$LAB_DIR/up-miniupnpd.log")"
fi
got=
if listen_start hup upnp-pmp "0.0.0.0:$PMP_IPORT"; then
	got="$(unsolicited up upnp-pmp p1 "$B" "$w:$PMP_EPORT" up-pmp-p1b)"
	got="$got $(unsolicited up upnp-pmp p2 "$A" "$w:$PMP_EPORT" up-pmp-p2a)"
fi
if [ "$got" = "yes yes" ]; then
	tap_ok "upnp: through the NAT-PMP mapping, P1:B and P2:A reach $hip:$PMP_IPORT"
else
	tap_fail "upnp: through the NAT-PMP mapping, P1:B and P2:A reach the host" "observed: $got" \
		"$(cat "$LAB_DIR/upnp-pmp.log")" "$(natlab_show up)"
fi
table_row "upnp + NAT-PMP $PMP_EPORT" "-" "-" "${got% *}" "${got#* }" "-"
out=$(nsx "$ns" natpmpc -g "${NATLAB_LAN_IP[up]}" -a "$PMP_EPORT" "$PMP_IPORT" udp 0 2>&1)
gone=$(unsolicited up upnp-pmp p2 "$C" "$w:$PMP_EPORT" up-pmp-gone)
rules=$(nsx "${NATLAB_NS[up]}" nft list chain inet natlab prerouting_miniupnpd 2>&1)
if grep -q "liftime 0\|lifetime 0" <<<"$out" && [ "$gone" = no ] && ! grep -q dnat <<<"$rules"; then
	tap_ok "upnp: a NAT-PMP request with lifetime 0 removes the mapping: DNAT rule gone, a new source (P2:C) no longer reaches the host ($(secs_since "$t1")s)"
else
	tap_fail "upnp: a NAT-PMP request with lifetime 0 removes the mapping" "$out" "new source reaches: $gone" "$rules"
fi
natlab_stop "$LISTENER"

# ---------------------------------------------------------------- extras
# Two LAN hosts, one inside port: distinct external ports, no cross-talk.
w=${NATLAB_IP[fc]}
listen_start hfc same1 "0.0.0.0:42000"
o1=$OBS l1=$LISTENER
listen_start hfc2 same2 "0.0.0.0:42000"
o2=$OBS l2=$LISTENER
r1=no r2=no
if [ -n "$o1" ] && [ -n "$o2" ] && [ "$o1" != "$o2" ]; then
	r1=$(unsolicited fc same1 p2 "$A" "$w:$o1" same-to1)
	r2=$(unsolicited fc same2 p2 "$A" "$w:$o2" same-to2)
fi
if [ "$r1" = yes ] && [ "$r2" = yes ] && ! grep -q same-to2 "$LAB_DIR/same1.log" &&
	! grep -q same-to1 "$LAB_DIR/same2.log"; then
	tap_ok "full-cone: two LAN hosts on inside port 42000 get external ports $o1 and $o2; each gets only its own packet from P2"
else
	tap_fail "full-cone: two LAN hosts on one inside port get distinct external ports" \
		"ports '$o1' '$o2', delivered: $r1 $r2" "$(cat "$LAB_DIR/same1.log" "$LAB_DIR/same2.log")" "$(natlab_show fc)"
fi
natlab_stop "$l1"
natlab_stop "$l2"

# natlab_mapping agrees with what P1 saw; the mapping expires with the
# gateway's 2 s timeout, after which P2 is dropped again.
w=${NATLAB_IP[ex]}
t1=$(now_ms)
listen_start hex expire
m=$(natlab_mapping ex "${NATLAB_IP[hex]}" "$LPORT")
if [ -n "$OBS" ] && [ "$m" = "$OBS" ]; then
	tap_ok "natlab_mapping: ${NATLAB_IP[hex]}:$LPORT -> $m, as P1:A saw"
else
	tap_fail "natlab_mapping: ${NATLAB_IP[hex]}:$LPORT -> '$m', as P1:A saw ('$OBS')" "$(natlab_show ex)"
fi
if [ -n "$OBS" ] && wait_for "! natlab_mapping ex ${NATLAB_IP[hex]} $LPORT" 10; then
	expired=$(secs_since "$t1")
	gone=$(unsolicited ex expire p2 "$A" "$w:$OBS" expired-p2a)
	if [ "$gone" = no ]; then
		tap_ok "timeout=2: the mapping expired after ${expired}s idle; P2 is dropped afterwards"
	else
		tap_fail "timeout=2: after expiry P2 is dropped" "observed: $gone" "$(natlab_show ex)"
	fi
else
	tap_fail "timeout=2: the mapping expires within 10 s" "$(natlab_show ex)"
fi
natlab_stop "$LISTENER"

# Double NAT: a full-cone gateway behind the port-restricted one.
map_probe hdn
# shellcheck disable=SC2086
cls=$(classify "${NATLAB_IP[pr]}" $SEEN)
if [ "$cls" = EIM ]; then
	tap_ok "double NAT (full-cone dn behind port-restricted pr): EIM with pr's address ($SEEN)"
else
	tap_fail "double NAT: EIM with pr's address" "observed: $cls ($SEEN)" "$(natlab_show dn)" "$(natlab_show pr)"
fi

tap_diag "observed (mapping: ports P1:A P1:B P2:A saw; filtering after contacting only P1:A):"
tap_diag "$(printf '%-22s %-5s %-20s | %-4s %-4s %-4s' gateway map ports P1:B P2:A P1:A)"
tap_diag "${TABLE[@]}"
tap_diag "total $(secs_since "$T0")s"
tap_done
