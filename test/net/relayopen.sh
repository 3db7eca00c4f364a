#!/bin/bash
# The relay's side of relaying for strangers (issue 17, findings 5 and 7).
#
#   internet 198.18.0.0/24 (bridge)
#     boot  .10  public DHT node and relay (r)
#     x     .11  no member (test/tools/relayforge); .201 to .208 too
#     ga, gb, gc  symmetric NATs --- LANs --- na, nb, nc (network "nat"):
#                 every pair of them can only be relayed, through boot
#
# 1. Finding 5, open relaying.  With na and nb talking through boot, x
#    (a key of enough workbit that no network file names) asks boot for a
#    channel to nb and sends nb, in RELAY through boot, WireGuard
#    handshake initiations of random bytes.  nb named only na and nc in
#    its PEERS, so boot must answer DENIED and drop every RELAY
#    (relay_channels.denied, relay_dropped_peer); nb's WireGuard must see
#    none of them (wireguard_drops.handshake_invalid unchanged: a
#    random initiation that reached it would count there), and na's
#    pings to nb must still pass, relayed.
# 2. Finding 7, the channel table filled.  na is killed.  x runs a network
#    of its own at boot: 64 keys from .11 that boot validates and that
#    register PEERS naming 128 keys of x's, each of which binds a channel
#    to all 64 (8,192 CHANNEL_BINDs, twice the table's 4,096 slots) from
#    eight addresses, .201 to .208, after asking one to nb (DENIED).  A
#    source IP address holds at most 512 live channels (doc/protocol.md
#    9.1), and eight of them at 512 fill the table (boot must hold at
#    least FULL of x's channels, or the test proves nothing); a second
#    round from 128 new keys changes that not.  Nor does boot's memory grow with the attack: its tables
#    are allocated at start (the pages of those still untouched come in
#    as they fill: 1.5-3.9 MB in the first round, 0-0.3 MB in the
#    second measured, 2.6 and 0.5 MB under ASan), so the second round
#    may add at most RSS_KB.  Then na is started
#    again and nc, which never ran, comes up: nc's pair with na needs
#    fresh channels.  nc's pings to na must be answered within JOIN_S of
#    its start and it must send in a channel of boot's within BIND_S, and
#    na's pings to nb must pass again.  Why those bounds: a member starts
#    relayed at once and asks its channel with its first WireGuard
#    datagram to the peer (9.1), and boot answers at once when there is
#    room; the wait is the start, the DHT lookup of the peer and boot
#    validating both ends, a few round trips (the first reply 0.4-0.6 s
#    after the start measured, on a busy 2-core machine).  A channel
#    refused for want of room (FULL) is asked again only after 30 s (a
#    NO_PATH after 2 s), so BIND_S catches a full table with room for a
#    loaded machine or the sanitizer build.  With the per-address quota
#    off, the table ended with 4,094 of 4,096 slots bound and nc's two
#    CHANNEL_BINDs were refused; from eight addresses and the quota on,
#    4,090 bound and nc was refused as well, until a full range was
#    shared between addresses (relaychan.h: a binding from an address
#    with fewer channels takes the slot of the heaviest address's).
# Usage: relayopen.sh WH RELAYFORGE
LAB_TAG=ro
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ $# -eq 2 ] || { echo "usage: $0 WH RELAYFORGE" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
FORGE=$(lab_impl_abs "$2")
JOIN_S=${RELAYOPEN_JOIN_S:-10}
BIND_S=${RELAYOPEN_BIND_S:-15}
RSS_KB=${RELAYOPEN_RSS_KB:-1024}
SENT=50			# part 1: initiations x sends nb through boot
NDST=64			# part 2: x's own destinations ...
NKEYS=128		# ... and the keys that bind to them
ADDR_QUOTA=512		# live channels per source IP address (relay.c)
X_ADDRS="198.18.0.201 198.18.0.202 198.18.0.203 198.18.0.204 198.18.0.205 198.18.0.206 198.18.0.207 198.18.0.208"
FULL=3000		# of 4,096 slots in probe ranges of 8: the table full
natlab_require
lab_require_impl "$WH"
[ -x "$FORGE" ] || tap_skip_all "relayforge missing: $FORGE"
lab_init

natlab_internet
natlab_public_host boot 198.18.0.10 || exit 1
natlab_public_host x 198.18.0.11 || exit 1
for ip in $X_ADDRS; do
	addr "${NATLAB_NS[x]}" eth0 "$ip/24" || exit 1
done
for h in a b c; do
	natlab_gateway "g$h" symmetric || exit 1
	natlab_host "n$h" "g$h" || exit 1
done

umask 077
"$WH" genkey workbit 4 >"$LAB_DIR/boot.key"
BOOT=$("$WH" pubkey <"$LAB_DIR/boot.key")
BOOT_IP=${NATLAB_IP[boot]}
printf 'workbit 4\nboot %s %s:62096\n' "$BOOT" "$BOOT_IP" >"$LAB_DIR/boot.conf"
natlab_spawn "${NATLAB_NS[boot]}" boot "$WH" up "$LAB_DIR/boot.conf" \
	private-key "$LAB_DIR/boot.key" interface "ro${LAB_PID}r" -f
BOOT_PID=$NATLAB_PID
"$WH" genkey workbit 4 >"$LAB_DIR/x.key"
{
	echo "name nat"
	echo "subnet 198.19.0.0/16"
	echo "workbit 4"
	echo "boot $BOOT $BOOT_IP:62096"
	for h in na nb nc; do
		"$WH" genkey workbit 4 >"$LAB_DIR/$h.key"
		"$WH" pubkey <"$LAB_DIR/$h.key" >"$LAB_DIR/$h.pub"
		echo "trust $h $(cat "$LAB_DIR/$h.pub")"
	done
} >"$LAB_DIR/nat.conf"
declare -A PID=()
start() { # host
	natlab_spawn "${NATLAB_NS[$1]}" "$1.$(date +%s%N)" "$WH" up "$LAB_DIR/nat.conf" \
		private-key "$LAB_DIR/$1.key" interface "ro${LAB_PID}${1#n}" -f
	PID[$1]=$NATLAB_PID
}
start na
start nb

iface() { case $1 in boot) echo "ro${LAB_PID}r" ;; *) echo "ro${LAB_PID}${1#n}" ;; esac; }
# jget NODE show|inspect PATH: one value of NODE's `wh show json` or
# `wh inspect` (lab_wh_get).
jget() { lab_wh_get "$WH" "${NATLAB_NS[$1]}" "$(iface "$1")" "$2" "$3"; }
logs() { tail -n 30 "$LAB_DIR"/"$1"*.log; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$BOOT_PID/status"; }

for h in na nb; do
	if ! wait_for "[ -n \"\$(jget $h show ipv4)\" ]" 10; then
		tap_fail "$h starts" "$(logs "$h")"
		tap_done
	fi
done
NA_IP=$(jget na show ipv4)
NB_IP=$(jget nb show ipv4)

# ---- 1. a stranger's channel and RELAYs to a member

if nsx "${NATLAB_NS[na]}" ping -n -q -c 1 -i 0.1 -w 20 "$NB_IP" >/dev/null 2>&1 &&
	wait_for '[ "$(jget na show peer:nb.path)" = relayed ] && [ "$(jget nb show peer:na.path)" = relayed ]' 10 &&
	wait_for '[ "$(jget na inspect relay_channels.tx)" -gt 0 ] && [ "$(jget nb inspect relay_channels.rx)" -gt 0 ]' 15; then
	tap_ok "na and nb talk through boot, in a channel"
else
	tap_fail "na and nb talk through boot, in a channel" \
		"paths: $(jget na show peer:nb.path) $(jget nb show peer:na.path)" "$(logs na)" "$(logs nb)"
	tap_done
fi
inv0=$(jget nb inspect wireguard_drops.handshake_invalid)
rrx0=$(jget nb inspect overlay.relayed_rx)
den0=$(jget boot inspect relay_channels.denied)
rdp0=$(jget boot inspect relay_channels.relay_dropped_peer)
nsx "${NATLAB_NS[x]}" "$FORGE" open "$LAB_DIR/x.key" public "$BOOT_IP" 62096 "$BOOT" \
	"$(cat "$LAB_DIR/nb.pub")" "$SENT" >"$LAB_DIR/x-open.out" 2>&1
bound=$(sed -n 's/^bound //p' "$LAB_DIR/x-open.out")
if [ "$bound" = denied ]; then
	tap_ok "boot refuses the stranger a channel to nb (DENIED)"
else
	tap_fail "boot refuses the stranger a channel to nb (DENIED)" "boot answered: '$bound'" \
		"$(cat "$LAB_DIR/x-open.out")"
fi
if wait_for "[ \$(jget boot inspect relay_channels.relay_dropped_peer) -ge $((rdp0 + SENT)) ]" 5; then
	tap_ok "boot drops the stranger's $SENT RELAYs to nb (relay_dropped_peer $rdp0 -> $(jget boot inspect relay_channels.relay_dropped_peer))"
else
	tap_fail "boot drops the stranger's RELAYs to nb" \
		"relay_dropped_peer $rdp0 -> $(jget boot inspect relay_channels.relay_dropped_peer), $SENT sent"
fi
den1=$(jget boot inspect relay_channels.denied)
if [ "$den1" -gt "$den0" ]; then
	tap_ok "the refusal is counted (denied $den0 -> $den1)"
else
	tap_fail "the refusal is counted" "denied $den0 -> $den1"
fi
# Whatever boot forwarded has reached nb by the time na's pings return.
tap_check "na's pings to nb still pass, relayed" \
	nsx "${NATLAB_NS[na]}" ping -n -q -c 5 -i 0.1 -W 1 "$NB_IP"
inv1=$(jget nb inspect wireguard_drops.handshake_invalid)
rrx1=$(jget nb inspect overlay.relayed_rx)
if [ "$inv1" -eq "$inv0" ]; then
	tap_ok "nothing of the stranger's reaches nb's WireGuard (handshake_invalid $inv0 -> $inv1; relayed_rx $rrx0 -> $rrx1)"
else
	tap_fail "nothing of the stranger's reaches nb's WireGuard" \
		"handshake_invalid $inv0 -> $inv1, relayed_rx $rrx0 -> $rrx1 after $SENT initiations" \
		"$(cat "$LAB_DIR/x-open.out")"
fi

# ---- 2. the channel table filled by an attacker's own network

# fill ROUND: x's network binds at boot, from keys of its own (new ones
# each round); a TAP line for what boot answered, one for the table.
fill() {
	local t0 rc ms live den0 den1 max
	den0=$(jget boot inspect relay_channels.denied)
	t0=$(date +%s%N)
	nsx "${NATLAB_NS[x]}" "$FORGE" fill public 4 "$BOOT_IP" 62096 "$BOOT" "${NATLAB_IP[x]}" \
"$(echo $X_ADDRS | tr ' ' ,)" "$NDST" "$NKEYS" "$(cat "$LAB_DIR/nb.pub")" >"$LAB_DIR/x-fill$1.out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$rc" -eq 0 ]; then
		tap_ok "round $1: x binds from $NKEYS keys to its $NDST destinations in $ms ms: $(tail -n 1 "$LAB_DIR/x-fill$1.out")"
	else
		tap_fail "round $1: x binds from $NKEYS keys to its $NDST destinations" "$(cat "$LAB_DIR/x-fill$1.out")"
	fi
	live=$(jget boot inspect relay_channels.live)
	den1=$(jget boot inspect relay_channels.denied)
	if [ "$live" -ge $((FULL + LIVE0)) ] && [ $((den1 - den0)) -ge "$NKEYS" ]; then
		tap_ok "round $1: boot's table is full, $live channels (at least $FULL of x's); x's keys are refused channels to nb (denied $den0 -> $den1)"
	else
		tap_fail "round $1: x fills boot's table and is refused channels to nb" \
			"live $LIVE0 -> $live (at least $FULL of x's wanted), denied $den0 -> $den1 for $NKEYS asked"
	fi
}
# The members' own channels (na's to nb and nb's to na) stay counted.
LIVE0=$(jget boot inspect relay_channels.live)
natlab_stop "${PID[na]}"
rss0=$(rss_kb)
fill 1
rss1=$(rss_kb)
fill 2
rss2=$(rss_kb)
if [ $((rss2 - rss1)) -le "$RSS_KB" ]; then
	tap_ok "boot's RSS does not grow with the attack: $rss0 kB before, $rss1 after a round, $rss2 after two (bound +$RSS_KB kB)"
else
	tap_fail "boot's RSS does not grow with the attack" \
		"$rss0 kB before, $rss1 after a round, $rss2 after two (bound +$RSS_KB kB)"
fi

# na again, and nc for the first time: nc's pair with na needs fresh
# channels at boot.
t_start=$(date +%s%N)
start na
start nc
# ping -w gives up at the first "unreachable": it starts once nc's
# interface routes the overlay (its receive times still count from the
# start).
wait_for "nsx ${NATLAB_NS[nc]} ip route get $NA_IP | grep -q $(iface nc)" "$JOIN_S"
nsx "${NATLAB_NS[nc]}" ping -n -D -i 0.1 -W 1 -w "$JOIN_S" "$NA_IP" >"$LAB_DIR/nc-ping.log" 2>&1 &
PING_PID=$!
LAB_PIDS+=("$PING_PID")
# The first reply's receive time (ping -D), in ms after the start.
first_reply_ms() {
	awk -v t="$((t_start / 1000000))" '/bytes from/ {
		printf "%d\n", substr($1, 2, length($1) - 2) * 1000 - t; exit }' "$LAB_DIR/nc-ping.log"
}
if wait_for '[ -n "$(first_reply_ms)" ]' "$JOIN_S"; then
	tap_ok "nc's pings to na are answered $(first_reply_ms) ms after its start (bound $JOIN_S s)"
else
	tap_fail "nc's pings to na are answered within $JOIN_S s of its start" "$(logs nc)"
fi
if wait_for '[ "$(jget nc inspect relay_channels.granted)" -gt 0 ] && [ "$(jget nc inspect relay_channels.tx)" -gt 0 ]' \
	$((BIND_S - ($(date +%s%N) - t_start) / 1000000000)); then
	tap_ok "nc sends in a channel of boot's $((($(date +%s%N) - t_start) / 1000000)) ms after its start, bound $BIND_S s (granted $(jget nc inspect relay_channels.granted), refused $(jget nc inspect relay_channels.refused); boot's fair evictions $(jget boot inspect relay_channels.fair_evictions))"
else
	tap_fail "nc sends in a channel of boot's within $BIND_S s of its start" \
		"nc: granted $(jget nc inspect relay_channels.granted), refused $(jget nc inspect relay_channels.refused), tx $(jget nc inspect relay_channels.tx); boot: $(jget boot inspect relay_channels.live) live" \
		"$(logs nc)"
fi
kill "$PING_PID" 2>/dev/null
wait "$PING_PID" 2>/dev/null
if [ "$(jget nc show peer:na.path)" = relayed ] && [ "$(jget na show peer:nc.path)" = relayed ]; then
	tap_ok "na and nc are relayed"
else
	tap_fail "na and nc are relayed" "paths: $(jget nc show peer:na.path) $(jget na show peer:nc.path)"
fi
tap_check "the restarted na's pings to nb pass through boot" \
	nsx "${NATLAB_NS[na]}" ping -n -q -c 1 -i 0.2 -w "$JOIN_S" "$NB_IP"
tap_check "nc's pings to na keep passing (20 of 20)" \
	nsx "${NATLAB_NS[nc]}" ping -n -q -c 20 -i 0.05 -W 1 "$NA_IP"
tap_done
