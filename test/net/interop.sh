#!/bin/bash
# WireGuard interoperability of two implementations, each in its own network
# namespace over one veth pair. Usage: interop.sh IMPL_A IMPL_B, where IMPL is
# "wireguard-go" or the path of a binary run as `IMPL -f IFACE` (see lib.sh).
#
#  ns A (whlab-io-PID-a)                        ns B (whlab-io-PID-b)
#  +------------------------------+             +------------------------------+
#  | IMPL_A   wg iface io<PID>a<N>|   tunnel    | IMPL_B   wg iface io<PID>b<N>|
#  |   192.0.2.1/24  fd00::1/64   |<===========>|   192.0.2.2/24  fd00::2/64   |
#  |                              |             |                              |
#  | veth va  198.18.0.1/24       |-------------| veth vb  198.18.0.2/24       |
#  |          2001:db8:1::1/64    |             |          2001:db8:1::2/64    |
#  |                              |             |  (roaming: 198.18.0.3/24,    |
#  |                              |             |   new listen port)           |
#  +------------------------------+             +------------------------------+
#
# Each group of cases starts a fresh pair of interfaces (new keys, new names,
# new ports) so that every handshake is a first one: A initiates, B initiates,
# IPv6 outside, preshared key (matching and not), persistent keepalive,
# roaming. The first pair also carries TCP (iperf3) and UDP of several sizes
# (udpcheck.py, every datagram checked) both ways and over IPv6 inside.
# Output is TAP; the exit status is the number of failed cases.

LAB_TAG=io
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 IMPL_A IMPL_B" >&2; exit 2; }
IMPL_A=$(lab_impl_abs "$1")
IMPL_B=$(lab_impl_abs "$2")
UDPCHECK=$(cd "$(dirname "$0")" && pwd)/udpcheck.py

lab_require_root
lab_require_cmd ip wg ping ss python3 timeout
lab_require_impl "$IMPL_A"
lab_require_impl "$IMPL_B"
lab_init

echo "# A: $IMPL_A   B: $IMPL_B"

GEN=0
IA= IB= PA= PB= PUBA= PUBB=

# A diagnostic snapshot of the current pair, printed under a failed case.
pair_diag() {
	echo "wg show A:"
	wgx "$A" show "$IA" 2>&1
	echo "wg show B:"
	wgx "$B" show "$IB" 2>&1
	echo "log A ($IMPL_A):"
	impl_log "$IA"
	echo "log B ($IMPL_B):"
	impl_log "$IB"
}

# fail_pair DESC [DIAG...]: a failed case, with the pair's state attached.
fail_pair() {
	local desc=$1
	shift
	tap_fail "$desc" "$@" "$(pair_diag)"
}

# pair_start A_EP B_EP [PSK] [KEEPALIVE_B]
#   A_EP: the endpoint A is given for B: 4 (198.18.0.2), 6 (2001:db8:1::2)
#         or none (A can only answer). B_EP likewise for B's view of A.
#   PSK: none, same (one preshared key on both sides) or diff (two keys).
#   KEEPALIVE_B: B's persistent-keepalive interval for A, in seconds.
pair_start() {
	local a_ep=$1 b_ep=$2 psk=${3:-none} ka=${4:-} args_a args_b
	GEN=$((GEN + 1))
	IA=$(wg_iface a "$GEN")
	IB=$(wg_iface b "$GEN")
	PA=$((40000 + GEN * 10 + 1))
	PB=$((40000 + GEN * 10 + 2))
	PUBA=$(gen_key "a$GEN") && PUBB=$(gen_key "b$GEN") || return 1
	start_impl "$A" "$IA" "$IMPL_A" || return 1
	start_impl "$B" "$IB" "$IMPL_B" || return 1

	args_a=(private-key "$LAB_DIR/a$GEN.key" listen-port "$PA"
		peer "$PUBB" allowed-ips 192.0.2.2/32,fd00::2/128)
	args_b=(private-key "$LAB_DIR/b$GEN.key" listen-port "$PB"
		peer "$PUBA" allowed-ips 192.0.2.1/32,fd00::1/128)
	case $a_ep in
	4) args_a+=(endpoint "198.18.0.2:$PB") ;;
	6) args_a+=(endpoint "[2001:db8:1::2]:$PB") ;;
	esac
	case $b_ep in
	4) args_b+=(endpoint "198.18.0.1:$PA") ;;
	6) args_b+=(endpoint "[2001:db8:1::1]:$PA") ;;
	esac
	case $psk in
	same)
		(umask 077 && wg genpsk >"$LAB_DIR/psk$GEN") || return 1
		args_a+=(preshared-key "$LAB_DIR/psk$GEN")
		args_b+=(preshared-key "$LAB_DIR/psk$GEN")
		;;
	diff)
		(umask 077 && wg genpsk >"$LAB_DIR/psk${GEN}a" && wg genpsk >"$LAB_DIR/psk${GEN}b") || return 1
		args_a+=(preshared-key "$LAB_DIR/psk${GEN}a")
		args_b+=(preshared-key "$LAB_DIR/psk${GEN}b")
		;;
	esac
	[ -z "$ka" ] || args_b+=(persistent-keepalive "$ka")

	wgx "$A" set "$IA" "${args_a[@]}" || return 1
	wgx "$B" set "$IB" "${args_b[@]}" || return 1
	addr "$A" "$IA" 192.0.2.1/24 && addr "$A" "$IA" fd00::1/64 || return 1
	addr "$B" "$IB" 192.0.2.2/24 && addr "$B" "$IB" fd00::2/64 || return 1
	ip -n "$A" link set "$IA" up && ip -n "$B" link set "$IB" up
}

pair_stop() {
	stop_impl "$A" "$IA"
	stop_impl "$B" "$IB"
}

# start_case DESC PAIR_START_ARGS...: start a pair as one TAP case. It runs
# pair_start in this shell (not in $(...)) so that the names, ports and keys it
# sets stay visible to the cases that follow.
start_case() {
	local desc=$1 errf="$LAB_DIR/pair.err"
	shift
	if pair_start "$@" 2>"$errf"; then
		tap_ok "$desc"
		return 0
	fi
	fail_pair "$desc" "$(cat "$errf")"
	return 1
}

# wait_ping NS ADDR [PING ARGS]: poll until one ping is answered (10 s).
wait_ping() {
	wait_for "ping_ok $(printf '%q ' "$@")" "${WAIT_PING_TIMEOUT:-10}"
}

# iperf_case DESC CLIENT_NS SERVER_NS SERVER_ADDR: one 3-s TCP transfer as
# one TAP case (skipped without iperf3).
iperf_case() {
	local desc=$1 cns=$2 sns=$3 saddr=$4 srv bps
	if ! command -v iperf3 >/dev/null 2>&1; then
		tap_skip "iperf3 TCP transfer $desc" "iperf3 not installed"
		return
	fi
	nsx "$sns" iperf3 -s -1 -B "$saddr" -p 5201 >"$LAB_DIR/iperf3-server.log" 2>&1 </dev/null &
	srv=$!
	LAB_PIDS+=("$srv")
	if wait_for "nsx '$sns' ss -Hltn 'sport = :5201' | grep -q ." 10 &&
		timeout 40 ip netns exec "$cns" iperf3 -c "$saddr" -p 5201 -t 3 -J \
			>"$LAB_DIR/iperf3.json" 2>&1 &&
		bps=$(python3 - "$LAB_DIR/iperf3.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
end = r["end"]
rx = end["sum_received"]["bits_per_second"]
if rx <= 0 or end["sum_received"]["bytes"] <= 0:
    sys.exit(1)
print("%.0f Mbit/s received, %d retransmits"
      % (rx / 1e6, end["sum_sent"].get("retransmits", -1)))
EOF
		) && wait_for "! kill -0 $srv" 10; then
		tap_ok "iperf3 TCP transfer $desc for 3 s completed: $bps"
	else
		fail_pair "iperf3 TCP transfer $desc" \
			"client: $(tail -c 600 "$LAB_DIR/iperf3.json" 2>/dev/null)" \
			"server: $(tail -n 5 "$LAB_DIR/iperf3-server.log")"
	fi
	kill "$srv" 2>/dev/null
}

# tun_count NS IFACE rx|tx: the interface's packet counter.
tun_count() {
	nsx "$1" cat "/sys/class/net/$2/statistics/$3_packets" 2>/dev/null || echo 0
}

# udp_case DESC SEND_NS SEND_IF SEND_IMPL RECV_NS RECV_IF RECV_ADDR RECV_IMPL:
# UDP datagrams of several sizes (udpcheck.py), bursts of one flow sent one
# per send and then many per send (UDP_SEGMENT), each checked to the byte
# at the other end: none lost, cut, merged or altered.  The TUN counters
# tell whether the bursts crossed the TUNs as super-packets (our USO),
# which is asserted for a side of ours with its offloads on: half the
# datagrams go in UDP_SEGMENT sends of 32, which the sender's TUN hands
# over whole, and the receiver writes each burst coalesced.
udp_case() {
	local desc=$1 sns=$2 sif=$3 simpl=$4 rns=$5 rif=$6 raddr=$7 rimpl=$8
	local out="$LAB_DIR/udpcheck.out" rcv sent rx0 rx1 tx0 tx1 summary try verdict
	# A run that only lost datagrams (none cut, merged, altered or
	# duplicated) is tried once more: on two busy cores a receiving
	# daemon's socket buffer can overflow under the bursts, which says
	# nothing of the tunnel's handling of them; a loss in both runs, or
	# any damage, fails.
	for try in 1 2; do
		rm -f "$out"
		nsx "$rns" python3 "$UDPCHECK" recv "$raddr" 5301 "$out" 2>"$LAB_DIR/udpcheck.err" &
		rcv=$!
		LAB_PIDS+=("$rcv")
		if ! wait_for "grep -q ready '$out' 2>/dev/null" 10; then
			fail_pair "UDP of several sizes $desc" "receiver not ready: $(cat "$LAB_DIR/udpcheck.err")"
			kill "$rcv" 2>/dev/null
			return
		fi
		rx0=$(tun_count "$rns" "$rif" rx)
		tx0=$(tun_count "$sns" "$sif" tx)
		sent=$(timeout 60 ip netns exec "$sns" python3 "$UDPCHECK" send "$raddr" 5301 2>>"$LAB_DIR/udpcheck.err")
		wait_for "! kill -0 $rcv 2>/dev/null" 30
		rx1=$(tun_count "$rns" "$rif" rx)
		tx1=$(tun_count "$sns" "$sif" tx)
		summary=$(cat "$out" 2>/dev/null)
		verdict=$(python3 - "$summary" "${sent:-0}" <<'EOF2'
import json, sys
try:
    s = json.loads(sys.argv[1])
except ValueError:
    print("damaged")
    sys.exit(0)
sent = int(sys.argv[2])
if sent <= 0 or s["corrupt"] or s["duplicates"] or s["expected"] != sent:
    print("damaged")
elif s["received"] != sent:
    print("lost")
else:
    print("intact")
EOF2
		)
		[ "$verdict" = lost ] && [ $try = 1 ] || break
		tap_diag "UDP of several sizes $desc: run 1 lost datagrams (none damaged), once more: $summary"
	done
	if [ "$verdict" != intact ]; then
		fail_pair "UDP of several sizes $desc" "sent $sent; receiver: $summary" "$(cat "$LAB_DIR/udpcheck.err")"
		return
	fi
	tap_ok "UDP of several sizes $desc: all $sent datagrams intact (TUN packets: $((tx1 - tx0)) read at the sender, $((rx1 - rx0)) written at the receiver)"
	[ -z "${WH_NO_TUN_OFFLOAD:-}" ] && [ -z "${WH_NO_TUN_USO:-}" ] || return
	if [ "$simpl" != wireguard-go ]; then
		if [ $((tx1 - tx0)) -lt $((sent * 3 / 4)) ]; then
			tap_ok "UDP $desc: the sender read the UDP_SEGMENT bursts whole ($((tx1 - tx0)) TUN packets for $sent datagrams)"
		else
			fail_pair "UDP $desc: the sender read the UDP_SEGMENT bursts whole" \
				"$((tx1 - tx0)) TUN packets for $sent datagrams"
		fi
	fi
	if [ "$rimpl" != wireguard-go ]; then
		if [ $((rx1 - rx0)) -lt $((sent / 2)) ]; then
			tap_ok "UDP $desc: the receiver wrote the bursts coalesced ($((rx1 - rx0)) TUN packets for $sent datagrams)"
		else
			fail_pair "UDP $desc: the receiver wrote the bursts coalesced" \
				"$((rx1 - rx0)) TUN packets for $sent datagrams"
		fi
	fi
}

# crypto_threads_case SIDE IFACE IMPL: after the transfers, our daemon's
# crypto worker threads (src/wg/crypt_pool.h, named wh-crypt) exist as
# WH_CRYPTO_THREADS asks and, when there are any, did some of the work
# (CPU time of their own); none without it.  Nothing for wireguard-go.
crypto_threads_case() {
	local side=$1 iface=$2 impl=$3 pid=${LAB_IMPL_PID[$2]:-} want=${WH_CRYPTO_THREADS:-0}
	local t n=0 ticks=0 st
	[ "$impl" = wireguard-go ] && return 0
	for t in /proc/"$pid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = wh-crypt ] || continue
		n=$((n + 1))
		st=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		# utime and stime: fields 14 and 15 of stat, 12 and 13 after "(comm) ".
		ticks=$((ticks + $(echo "$st" | awk '{print $12 + $13}')))
	done
	if [ "$want" -eq 0 ] && [ "$n" -eq 0 ]; then
		tap_ok "$side: no crypto worker threads (WH_CRYPTO_THREADS=${WH_CRYPTO_THREADS:-unset})"
	elif [ "$want" -gt 0 ] && [ "$n" -eq "$want" ] && [ "$ticks" -gt 0 ]; then
		tap_ok "$side: $n crypto worker threads did work ($ticks ticks of CPU)"
	else
		fail_pair "$side: crypto worker threads" \
			"WH_CRYPTO_THREADS=${WH_CRYPTO_THREADS:-unset}: $n wh-crypt threads, $ticks ticks"
	fi
}

# ---------------------------------------------------------------- the lab

new_ns A && new_ns B || { tap_fail "create namespaces"; tap_done; }
if veth "$A" va "$B" vb &&
	addr "$A" va 198.18.0.1/24 && addr "$A" va 2001:db8:1::1/64 &&
	addr "$B" vb 198.18.0.2/24 && addr "$B" vb 2001:db8:1::2/64 &&
	wait_ping "$A" 198.18.0.2 && wait_ping "$A" 2001:db8:1::2; then
	tap_ok "lab: namespaces over veth, outer IPv4 and IPv6 reachable"
else
	tap_fail "lab: namespaces over veth, outer IPv4 and IPv6 reachable" \
		"$(ip -n "$A" addr 2>&1)"
	tap_done
fi

# ---------------------------------------------------------------- A initiates
# Only A knows an endpoint: B cannot send first, so the handshake is A's.
if start_case "pair 1: A and B start, UAPI sockets up, configured with wg set" 4 none; then
	if wait_ping "$A" 192.0.2.2; then
		tap_ok "A initiates: ping A -> B over the tunnel (IPv4 inside)"
	else
		fail_pair "A initiates: ping A -> B over the tunnel (IPv4 inside)"
	fi

	ep=$(wg_field "$B" "$IB" "$PUBA" endpoints)
	if [ "$ep" = "198.18.0.1:$PA" ]; then
		tap_ok "B learned A's endpoint from the handshake ($ep)"
	else
		fail_pair "B learned A's endpoint from the handshake" "got '$ep', want 198.18.0.1:$PA"
	fi

	if wait_ping "$A" fd00::2 && wait_ping "$B" fd00::1; then
		tap_ok "IPv6 inside: ping fd00::2 and back"
	else
		fail_pair "IPv6 inside: ping fd00::2 and back"
	fi

	if ping_ok "$A" 192.0.2.2 -M do -s 1392 >/dev/null 2>&1; then
		tap_ok "ping with 1392-byte payload and DF (1420-byte packet, the MTU)"
	else
		fail_pair "ping with 1392-byte payload and DF (1420-byte packet, the MTU)"
	fi
	big_ok=1
	for spec in "192.0.2.2 -s 1400" "192.0.2.2 -s 3000" "192.0.2.2 -s 8000" \
		"fd00::2 -s 1400" "fd00::2 -s 3000"; do
		# shellcheck disable=SC2086
		ping_ok "$A" $spec >/dev/null 2>&1 || { big_ok=0; bad_spec=$spec; break; }
	done
	if [ "$big_ok" = 1 ]; then
		tap_ok "large pings fragmented inside the tunnel (1400, 3000, 8000 v4; 1400, 3000 v6)"
	else
		fail_pair "large pings fragmented inside the tunnel" "failed: ping $bad_spec"
	fi

	# TCP both ways and over IPv6 inside: with TUN offloads these are the
	# super-packets (TSO on the sending side, coalesced on the receiving).
	iperf_case "A -> B" "$A" "$B" 192.0.2.2
	iperf_case "B -> A" "$B" "$A" 192.0.2.1
	iperf_case "A -> B over IPv6 inside" "$A" "$B" fd00::2
	# UDP runs of one flow, which the offloads coalesce and split.
	udp_case "A -> B" "$A" "$IA" "$IMPL_A" "$B" "$IB" 192.0.2.2 "$IMPL_B"
	udp_case "B -> A" "$B" "$IB" "$IMPL_B" "$A" "$IA" 192.0.2.1 "$IMPL_A"
	udp_case "A -> B over IPv6 inside" "$A" "$IA" "$IMPL_A" "$B" "$IB" fd00::2 "$IMPL_B"
	crypto_threads_case A "$IA" "$IMPL_A"
	crypto_threads_case B "$IB" "$IMPL_B"

	counters_ok=1
	why=
	for side in "A $IA $PUBB" "B $IB $PUBA"; do
		set -- $side
		ns=${!1}
		rx=$(wg_rx "$ns" "$2" "$3")
		tx=$(wg_tx "$ns" "$2" "$3")
		age=$(wg_handshake_age "$ns" "$2" "$3") || age=none
		if ! [ "${rx:-0}" -gt 0 ] 2>/dev/null || ! [ "${tx:-0}" -gt 0 ] 2>/dev/null ||
			[ "$age" = none ] || [ "$age" -gt 120 ] || [ "$age" -lt 0 ]; then
			counters_ok=0
			why="$why side $1: rx=$rx tx=$tx handshake age=$age;"
		fi
	done
	if [ "$counters_ok" = 1 ]; then
		tap_ok "wg show: transfer counters > 0 and a recent latest handshake on both sides"
	else
		fail_pair "wg show: transfer counters and latest handshake" "$why"
	fi
	pair_stop
fi

# ---------------------------------------------------------------- B initiates
if start_case "pair 2: fresh interfaces and keys, only B knows an endpoint" none 4; then
	if wait_ping "$B" 192.0.2.1 && wait_ping "$B" fd00::1; then
		tap_ok "B initiates: ping B -> A (IPv4 and IPv6 inside)"
	else
		fail_pair "B initiates: ping B -> A (IPv4 and IPv6 inside)"
	fi
	ep=$(wg_field "$A" "$IA" "$PUBB" endpoints)
	age=$(wg_handshake_age "$A" "$IA" "$PUBB") || age=none
	if [ "$ep" = "198.18.0.2:$PB" ] && [ "$age" != none ]; then
		tap_ok "A answered B's handshake and learned B's endpoint ($ep)"
	else
		fail_pair "A answered B's handshake and learned B's endpoint" "endpoint '$ep', handshake age $age"
	fi
	pair_stop
fi

# ---------------------------------------------------------------- IPv6 outside
if start_case "pair 3: fresh interfaces, A's endpoint for B is [2001:db8:1::2]" 6 none; then
	if wait_ping "$A" 192.0.2.2 && wait_ping "$A" fd00::2; then
		tap_ok "IPv6 outside: handshake and ping over an IPv6 endpoint"
	else
		fail_pair "IPv6 outside: handshake and ping over an IPv6 endpoint"
	fi
	ep_a=$(wg_field "$A" "$IA" "$PUBB" endpoints)
	ep_b=$(wg_field "$B" "$IB" "$PUBA" endpoints)
	if [ "$ep_a" = "[2001:db8:1::2]:$PB" ] && [ "$ep_b" = "[2001:db8:1::1]:$PA" ]; then
		tap_ok "IPv6 endpoints on both sides ($ep_a, $ep_b)"
	else
		fail_pair "IPv6 endpoints on both sides" "A sees '$ep_a', B sees '$ep_b'"
	fi
	pair_stop
fi

# ---------------------------------------------------------------- preshared key
if start_case "pair 4: fresh interfaces with one preshared key on both sides" 4 none same; then
	if wait_ping "$A" 192.0.2.2; then
		tap_ok "preshared key: handshake and ping"
	else
		fail_pair "preshared key: handshake and ping"
	fi
	psk_a=$(wg_field "$A" "$IA" "$PUBB" preshared-keys)
	psk_file=$(cat "$LAB_DIR/psk$GEN")
	if [ "$psk_a" = "$psk_file" ]; then
		tap_ok "wg show preshared-keys reports the key that was set"
	else
		fail_pair "wg show preshared-keys reports the key that was set" "got '$psk_a'"
	fi
	pair_stop
fi

if start_case "pair 5: fresh interfaces with different preshared keys" 4 none diff; then
	# A bounded negative check: three pings over 3 s, each of which triggers
	# or waits on a handshake that must not complete.
	if ! nsx "$A" ping -n -q -c 3 -i 1 -W 1 192.0.2.2 >/dev/null 2>&1 &&
		! wg_handshake_age "$A" "$IA" "$PUBB" >/dev/null; then
		tap_ok "mismatched preshared keys: no session, no ping"
	else
		fail_pair "mismatched preshared keys: no session, no ping"
	fi
	pair_stop
fi

# ---------------------------------------------------------------- keepalive
if start_case "pair 6: fresh interfaces, B has persistent-keepalive 1 to A" none 4 none 1; then
	ka=$(wg_field "$B" "$IB" "$PUBA" persistent-keepalive)
	if [ "$ka" = "every 1 second" ] || [ "$ka" = 1 ]; then
		tap_ok "wg show persistent-keepalive reports 1 s ($ka)"
	else
		fail_pair "wg show persistent-keepalive reports 1 s" "got '$ka'"
	fi
	# No traffic is sent in this pair: only the keepalive can start a session.
	if wait_for "wg_handshake_age '$A' '$IA' '$PUBB'" 10; then
		tap_ok "persistent keepalive: B completes a handshake with no traffic"
	else
		fail_pair "persistent keepalive: B completes a handshake with no traffic"
	fi
	# Then keepalives keep arriving: A's receive counter grows three times.
	ka_ok=1
	prev=$(wg_rx "$A" "$IA" "$PUBB")
	for i in 1 2 3; do
		if ! wait_for "[ \"\$(wg_rx '$A' '$IA' '$PUBB')\" -gt '$prev' ]" 4; then
			ka_ok=0
			break
		fi
		prev=$(wg_rx "$A" "$IA" "$PUBB")
	done
	if [ "$ka_ok" = 1 ]; then
		tap_ok "persistent keepalive: A keeps receiving keepalives from B (rx $prev bytes)"
	else
		fail_pair "persistent keepalive: A keeps receiving keepalives from B" "rx stuck at $prev after $((i - 1)) increases"
	fi
	pair_stop
fi

# ---------------------------------------------------------------- roaming
if start_case "pair 7: fresh interfaces, both sides know an endpoint" 4 4; then
	if wait_ping "$A" 192.0.2.2; then
		tap_ok "roaming: session up before the move"
	else
		fail_pair "roaming: session up before the move"
	fi
	# B moves: new outer address and new listen port. A's old endpoint for B
	# no longer exists, so only B's authenticated packets can tell A.
	PB2=$((PB + 5))
	if ip -n "$B" addr del 198.18.0.2/24 dev vb &&
		addr "$B" vb 198.18.0.3/24 &&
		wgx "$B" set "$IB" listen-port "$PB2" &&
		wait_ping "$B" 192.0.2.1; then
		tap_ok "roaming: B moved to 198.18.0.3:$PB2 and pings A"
	else
		fail_pair "roaming: B moved to 198.18.0.3:$PB2 and pings A"
	fi
	ep=$(wg_field "$A" "$IA" "$PUBB" endpoints)
	if [ "$ep" = "198.18.0.3:$PB2" ]; then
		tap_ok "roaming: A's endpoint for B followed ($ep)"
	else
		fail_pair "roaming: A's endpoint for B followed" "got '$ep', want 198.18.0.3:$PB2"
	fi
	if wait_ping "$A" 192.0.2.2 && wait_ping "$A" fd00::2; then
		tap_ok "roaming: A reaches B at its new endpoint"
	else
		fail_pair "roaming: A reaches B at its new endpoint"
	fi
	pair_stop
	ip -n "$B" addr del 198.18.0.3/24 dev vb 2>/dev/null
	addr "$B" vb 198.18.0.2/24
fi

tap_done
