# shellcheck shell=bash
# The NAT lab: an "internet" segment, public hosts on it, gateways that
# implement one NAT behaviour each with nftables, and LAN hosts behind them.
# A test sources lib.sh (after setting LAB_TAG), then this file, calls
# lab_init, then builds what it needs. doc/nat-lab.md explains every rule.
#
#   ns internet: bridge br0 (no address), the "internet", 198.18.0.0/24
#   +------------------------------------------------------------------+
#   |  i-p1          i-p2          i-gwa               i-gwb           |
#   +---|-------------|-------------|-------------------|--------------+
#       |             |             |                   |        (veth)
#   +---|-----+  +----|----+  +-----|---------------+  +-|-----------------+
#   | eth0    |  | eth0    |  | wan0 198.18.0.100   |  | wan0 198.18.0.101 |
#   | .0.10   |  | .0.11   |  | gateway gwa (TYPE)  |  | gateway gwb       |
#   | public  |  | public  |  | lan0 198.18.1.1/24  |  | lan0 198.18.2.1   |
#   | host p1 |  | host p2 |  | (bridge)            |  |                   |
#   +---------+  +---------+  +--l-ha-------l-hb----+  +---l-hc------------+
#                                  |         |              |
#                              +---|---+ +---|---+      +---|---+
#                              | eth0  | | eth0  |      | eth0  |
#                              | .1.10 | | .1.11 |      | .2.10 |  LAN hosts,
#                              | ha    | | hb    |      | hc    |  default
#                              +-------+ +-------+      +-------+  via .k.1
#
# Addresses: the internet is 198.18.0.0/24 (public hosts from .10, gateway
# WAN addresses from .100); the LAN of the k-th gateway is 198.18.k.0/24
# (gateway .1, hosts from .10). 198.19.0.0/16 is left to the overlay.
# Public hosts have no default route: they reach only the internet segment,
# so a LAN is reachable from outside only through its gateway's NAT.
#
# Functions (NAME: a lower-case letter, then up to 7 letters or digits):
#   natlab_require [upnp]        skip (77) unless nft, and for upnp also
#                                miniupnpd, upnpc and natpmpc, are there
#   natlab_internet              the internet namespace and its bridge
#   natlab_public_host NAME [IP] a host on the internet
#   natlab_gateway NAME TYPE [timeout=S] [upstream=GW] [wan=IP]
#       TYPE: full-cone, address-restricted, port-restricted, symmetric,
#       upnp (port-restricted plus miniupnpd: UPnP IGD and NAT-PMP/PCP),
#       sequential (symmetric, each new flow takes the next port in
#       order), random (symmetric by masquerade fully-random).
#       timeout=S: mappings, filter state and the gateway's conntrack UDP
#       timeouts last S seconds (default: mappings 120 s, conntrack as the
#       kernel has it). upstream=GW: the WAN side sits on GW's LAN (double
#       NAT, CGNAT). wan=IP: the WAN address instead of the next free one.
#   natlab_host NAME GATEWAY [IP] a host on GATEWAY's LAN, default route
#                                via the gateway
#   natlab_spawn NS LOG CMD...   run CMD in the background in namespace NS,
#                                output to $LAB_DIR/LOG.log; its PID is left
#                                in NATLAB_PID and killed by the EXIT trap
#   natlab_stop PID              SIGTERM (then SIGKILL) one spawned process
#   natlab_mapping GW IP PORT    the external port GW maps inside IP:PORT to
#                                (EIM types only; fails if there is none)
#   natlab_dropped GW            UDP packets from the WAN the gateway dropped
#   natlab_flush GW              forget every mapping and conntrack entry
#   natlab_show GW               ruleset, mappings and conntrack, to diagnose
# State, by node name: NATLAB_NS[NAME] (namespace), NATLAB_IP[NAME] (a public
# host's or LAN host's address, a gateway's WAN address), NATLAB_TYPE[GW],
# NATLAB_LAN_IP[GW] (the gateway on its LAN), NATLAB_LAN_NET[GW] (CIDR),
# NATLAB_GW[HOST] (a LAN host's gateway); NATLAB_INET_NS.
# NATLAB_MIN_LIFETIME (default 60): miniupnpd's shortest PCP lifetime, which
# it grants to any shorter request (net-portmap's 4 s leases set it lower).
# NATLAB_PROBE must name the udpprobe binary (test/tools/udpprobe.c) before
# a upnp gateway is made: it is the STUN responder miniupnpd needs.

if ! declare -F lab_init >/dev/null; then
	# shellcheck source=lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

declare -gA NATLAB_NS=() NATLAB_IP=() NATLAB_TYPE=() NATLAB_LAN_IP=() NATLAB_LAN_NET=()
declare -gA NATLAB_GW=() NATLAB_LAN_NEXT=() NATLAB_UPNP_PID=() NATLAB_STUN_PID=()
NATLAB_INET_NS=
NATLAB_PUBLIC_NEXT=10
NATLAB_WAN_NEXT=100
NATLAB_LANS=0
NATLAB_PID=
NATLAB_ADDR=
NATLAB_PROBE=${NATLAB_PROBE:-}
# The ports a gateway gives new mappings; miniupnpd's mappings use the
# ports clients ask for, so tests should ask for ports outside this range.
NATLAB_PORTS=20000-29999
NATLAB_UPNP_HTTP_PORT=2869

natlab_require() {
	lab_require_root
	lab_require_cmd ip nft sysctl python3
	if [ "${1:-}" = upnp ]; then
		lab_require_cmd miniupnpd upnpc natpmpc
		[ -x "$NATLAB_PROBE" ] || tap_skip_all "NATLAB_PROBE (udpprobe) missing: '$NATLAB_PROBE'"
	fi
}

natlab_check_name() {
	if ! [[ $1 =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
		echo "natlab: bad node name '$1' (a lower-case letter, then up to 7 of a-z0-9)" >&2
		return 1
	fi
	if [ -n "${NATLAB_NS[$1]:-}" ]; then
		echo "natlab: node '$1' exists" >&2
		return 1
	fi
}

# natlab_new_ns NAME: lib.sh's new_ns, which names the namespace after the
# variable it sets (whlab-TAG-PID-NAME); the variable is local here.
natlab_new_ns() {
	local "$1"
	new_ns "$1" || return 1
	NATLAB_NS[$1]=${!1}
}

natlab_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$LAB_DIR/$log.log" 2>&1 </dev/null &
	NATLAB_PID=$!
	LAB_PIDS+=("$NATLAB_PID")
}

natlab_stop() {
	kill "$1" 2>/dev/null
	wait_for "! kill -0 $1" 5 || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

natlab_internet() {
	[ -z "$NATLAB_INET_NS" ] || return 0
	natlab_new_ns internet || return 1
	NATLAB_INET_NS=${NATLAB_NS[internet]}
	ip -n "$NATLAB_INET_NS" link add br0 type bridge &&
		ip -n "$NATLAB_INET_NS" link set br0 up
}

# natlab_attach_inet NAME NS IF: a veth from NS (IF) to the internet bridge.
natlab_attach_inet() {
	veth "$2" "$3" "$NATLAB_INET_NS" "i-$1" &&
		ip -n "$NATLAB_INET_NS" link set "i-$1" master br0
}

natlab_public_host() {
	local name=$1 ip=${2:-}
	natlab_check_name "$name" || return 1
	[ -n "$NATLAB_INET_NS" ] || natlab_internet || return 1
	if [ -z "$ip" ]; then
		ip=198.18.0.$NATLAB_PUBLIC_NEXT
		NATLAB_PUBLIC_NEXT=$((NATLAB_PUBLIC_NEXT + 1))
	fi
	natlab_new_ns "$name" || return 1
	natlab_attach_inet "$name" "${NATLAB_NS[$name]}" eth0 &&
		addr "${NATLAB_NS[$name]}" eth0 "$ip/24" || return 1
	NATLAB_IP[$name]=$ip
}

# natlab_lan_attach GW NAME NS IF [IP]: a veth from NS (IF) to GW's LAN
# bridge, an address on the LAN (the next free one unless IP), a default
# route via the gateway. Leaves the address in NATLAB_ADDR.
natlab_lan_attach() {
	local gw=$1 name=$2 ns=$3 ifname=$4 ip=${5:-} gns=${NATLAB_NS[$1]} net
	net=${NATLAB_LAN_NET[$gw]%.0/24}
	if [ -z "$ip" ]; then
		ip=$net.${NATLAB_LAN_NEXT[$gw]}
		NATLAB_LAN_NEXT[$gw]=$((NATLAB_LAN_NEXT[$gw] + 1))
	fi
	veth "$ns" "$ifname" "$gns" "l-$name" &&
		ip -n "$gns" link set "l-$name" master lan0 &&
		addr "$ns" "$ifname" "$ip/24" &&
		ip -n "$ns" route add default via "${NATLAB_LAN_IP[$gw]}" || return 1
	NATLAB_ADDR=$ip
}

natlab_host() {
	local name=$1 gw=$2
	natlab_check_name "$name" || return 1
	[ -n "${NATLAB_LAN_NET[$gw]:-}" ] || { echo "natlab: no gateway '$gw'" >&2; return 1; }
	natlab_new_ns "$name" || return 1
	natlab_lan_attach "$gw" "$name" "${NATLAB_NS[$name]}" eth0 "${3:-}" || return 1
	NATLAB_IP[$name]=$NATLAB_ADDR
	# shellcheck disable=SC2034 # state for the tests that source this file
	NATLAB_GW[$name]=$gw
}

# natlab_rules TYPE WAN_IP LAN_NET TIMEOUT: the gateway's nftables ruleset.
# One table, "inet natlab"; for upnp it also holds the three chains
# miniupnpd fills (it is told this table's name in its configuration).
#
# Endpoint-independent mapping (every type but symmetric): the first UDP
# packet from an inside ip:port with no mapping is source-NATed to a random
# port of NATLAB_PORTS; after NAT, the chain "track" records the mapping in
# out_map (inside -> WAN ip . port) and in_map (port -> inside), and every
# later new flow from that inside ip:port, to any destination, is
# source-NATed through out_map to the same port. A random port that another
# inside endpoint already holds is refused (the packet dropped; the next
# one gets another port), so one external port never serves two inside
# endpoints. Every outgoing packet refreshes the mapping's timeout.
# Filtering: "track" also records, per external port, the remote addresses
# (peer_addr) and remote ip:port pairs (peer_port) it has sent to. Inbound,
# in_map DNATs any packet to a mapped port back to its inside endpoint, and
# the forward chain decides: full-cone accepts it, address-restricted only
# from a recorded remote address, port-restricted and upnp only from a
# recorded remote ip:port (besides conntrack's replies, accepted by all).
# Symmetric: a fresh random port per new flow (snat fully-random, so per
# destination), no in_map, and only conntrack's replies come back in.
# Sequential and random are symmetric too, with the two port allocations
# of RFC 4787 4.1 that port prediction meets in the field: sequential
# takes the next port of NATLAB_SEQ_PORTS for every new flow, in order
# (an nftables incrementing counter, numgen inc, evaluated once per new
# conntrack entry, through a map from the counter to the port), so two
# flows opened one after the other get consecutive ports; random is
# Linux's "masquerade fully-random" (any port, drawn per flow).
NATLAB_SEQ_BASE=${NATLAB_SEQ_BASE:-30000}
NATLAB_SEQ_COUNT=${NATLAB_SEQ_COUNT:-2000}

# natlab_seq_map: "0 : BASE, 1 : BASE+1, ..." for the sequential gateway's
# counter (numgen yields an integer; the map turns it into a port).
natlab_seq_map() {
	local i sep=
	for ((i = 0; i < NATLAB_SEQ_COUNT; i++)); do
		printf '%s%d : %d' "$sep" "$i" $((NATLAB_SEQ_BASE + i))
		sep=', '
	done
}

natlab_rules() {
	local type=$1 wan=$2 lan=$3 t=${4:-120} eim=1 filter=
	case $type in
	full-cone) filter='accept' ;;
	address-restricted) filter='ct original proto-dst . ip saddr @peer_addr accept' ;;
	port-restricted | upnp) filter='ct original proto-dst . ip saddr . udp sport @peer_port accept' ;;
	symmetric | sequential | random) eim=0 ;;
	*) echo "natlab: unknown gateway type '$type'" >&2; return 1 ;;
	esac
	cat <<EOF
table inet natlab {
	counter dropped {
	}
	map out_map {
		type ipv4_addr . inet_service : ipv4_addr . inet_service
		flags timeout
		timeout ${t}s
	}
	map in_map {
		type inet_service : ipv4_addr . inet_service
		flags timeout
		timeout ${t}s
	}
	set used {
		type inet_service
		flags timeout
		timeout ${t}s
	}
	set owner {
		type inet_service . ipv4_addr . inet_service
		flags timeout
		timeout ${t}s
	}
	set peer_addr {
		type inet_service . ipv4_addr
		flags timeout
		timeout ${t}s
	}
	set peer_port {
		type inet_service . ipv4_addr . inet_service
		flags timeout
		timeout ${t}s
	}
EOF
	if [ "$type" = upnp ]; then
		cat <<EOF
	chain miniupnpd {
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
EOF
	fi
	cat <<EOF
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
EOF
	[ "$type" = upnp ] && echo '		iifname "wan0" jump prerouting_miniupnpd'
	[ "$eim" = 0 ] || echo '		iifname "wan0" meta l4proto udp dnat ip to udp dport map @in_map'
	cat <<EOF
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname != "wan0" accept
		ip saddr != $lan accept
EOF
	[ "$type" = upnp ] && echo '		jump postrouting_miniupnpd'
	if [ "$type" = symmetric ]; then
		echo "		meta l4proto udp snat ip to $wan:$NATLAB_PORTS fully-random"
	elif [ "$type" = sequential ]; then
		echo "		meta l4proto udp snat ip to $wan : numgen inc mod $NATLAB_SEQ_COUNT map { $(natlab_seq_map) }"
	elif [ "$type" = random ]; then
		echo "		meta l4proto udp masquerade fully-random"
	else
		echo '		meta l4proto udp snat ip to ip saddr . udp sport map @out_map'
		echo "		meta l4proto udp snat ip to $wan:$NATLAB_PORTS random"
	fi
	cat <<EOF
		snat ip to $wan
	}
EOF
	if [ "$eim" = 1 ]; then
		cat <<EOF
	chain track {
		type filter hook postrouting priority srcnat + 10; policy accept;
		oifname != "wan0" accept
		meta l4proto != udp accept
		ct direction original ct original ip saddr $lan jump track_original
		ct direction reply ct reply ip saddr $lan jump track_reply
	}
	chain track_original {
		meta l4proto udp ct state new udp sport @used udp sport . ct original ip saddr . ct original proto-src != @owner drop
		meta l4proto udp update @used { udp sport }
		meta l4proto udp update @owner { udp sport . ct original ip saddr . ct original proto-src }
		meta l4proto udp update @out_map { ct original ip saddr . ct original proto-src : ip saddr . udp sport }
		meta l4proto udp update @in_map { udp sport : ct original ip saddr . ct original proto-src }
		meta l4proto udp update @peer_addr { udp sport . ip daddr }
		meta l4proto udp update @peer_port { udp sport . ip daddr . udp dport }
	}
	chain track_reply {
		meta l4proto udp update @used { udp sport }
		meta l4proto udp update @owner { udp sport . ct reply ip saddr . ct reply proto-src }
		meta l4proto udp update @out_map { ct reply ip saddr . ct reply proto-src : ip saddr . udp sport }
		meta l4proto udp update @in_map { udp sport : ct reply ip saddr . ct reply proto-src }
		meta l4proto udp update @peer_addr { udp sport . ip daddr }
		meta l4proto udp update @peer_port { udp sport . ip daddr . udp dport }
	}
EOF
	fi
	cat <<EOF
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
		# Hosts on one LAN talk through the bridge, which br_netfilter
		# (when loaded) passes through this hook: a switch does not filter.
		iifname "lan0" oifname "lan0" accept
EOF
	[ "$type" = upnp ] && echo '		iifname "wan0" jump miniupnpd'
	[ -n "$filter" ] && echo "		iifname \"wan0\" oifname \"lan0\" ct status dnat meta l4proto udp $filter"
	cat <<EOF
		iifname "wan0" meta l4proto udp counter name dropped drop
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname != "wan0" accept
		ct state established,related accept
		icmp type echo-request accept
		meta l4proto udp counter name dropped drop
		drop
	}
}
EOF
}

natlab_gateway() {
	local name=$1 type=$2 opt timeout='' upstream='' wan='' ns k t
	shift 2
	for opt in "$@"; do
		case $opt in
		timeout=*) timeout=${opt#timeout=} ;;
		upstream=*) upstream=${opt#upstream=} ;;
		wan=*) wan=${opt#wan=} ;;
		*) echo "natlab: unknown gateway option '$opt'" >&2; return 1 ;;
		esac
	done
	natlab_check_name "$name" || return 1
	natlab_rules "$type" 0.0.0.0 0.0.0.0/0 >/dev/null || return 1
	[ -n "$NATLAB_INET_NS" ] || natlab_internet || return 1
	natlab_new_ns "$name" || return 1
	ns=${NATLAB_NS[$name]}
	NATLAB_TYPE[$name]=$type
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1

	# WAN: on the internet, or on the upstream gateway's LAN.
	if [ -n "$upstream" ]; then
		[ -n "${NATLAB_LAN_NET[$upstream]:-}" ] || { echo "natlab: no gateway '$upstream'" >&2; return 1; }
		natlab_lan_attach "$upstream" "$name" "$ns" wan0 "$wan" || return 1
		wan=$NATLAB_ADDR
	else
		if [ -z "$wan" ]; then
			wan=198.18.0.$NATLAB_WAN_NEXT
			NATLAB_WAN_NEXT=$((NATLAB_WAN_NEXT + 1))
		fi
		natlab_attach_inet "$name" "$ns" wan0 && addr "$ns" wan0 "$wan/24" || return 1
		# A sequential or random gateway sends everything it has no
		# route for out of its WAN side, as a home router does: a flow
		# to an address nobody has (another LAN's address) takes a port
		# there too, and port prediction has to count it.
		case $type in
		sequential | random) ip -n "$ns" route add default dev wan0 || return 1 ;;
		esac
	fi
	NATLAB_IP[$name]=$wan

	# LAN: a bridge the hosts' veths join; multicast snooping off so that
	# SSDP reaches miniupnpd without an IGMP querier.
	NATLAB_LANS=$((NATLAB_LANS + 1))
	k=$NATLAB_LANS
	NATLAB_LAN_NET[$name]=198.18.$k.0/24
	NATLAB_LAN_IP[$name]=198.18.$k.1
	NATLAB_LAN_NEXT[$name]=10
	ip -n "$ns" link add lan0 type bridge mcast_snooping 0 &&
		ip -n "$ns" link set lan0 up &&
		addr "$ns" lan0 "${NATLAB_LAN_IP[$name]}/24" || return 1

	t=${timeout:-120}
	natlab_rules "$type" "$wan" "${NATLAB_LAN_NET[$name]}" "$t" >"$LAB_DIR/$name.nft" || return 1
	nsx "$ns" nft -f "$LAB_DIR/$name.nft" || return 1
	if [ -n "$timeout" ]; then
		# The conntrack entries (the symmetric type's only state, and the
		# replies every type accepts) expire with the mappings.
		nsx "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$timeout" \
			net.netfilter.nf_conntrack_udp_timeout_stream="$timeout" || return 1
	fi
	[ "$type" != upnp ] || natlab_upnp_start "$name"
}

# natlab_upnp_start GW: the STUN responder on 127.0.0.1:3478 (reporting the
# WAN address) and miniupnpd in the foreground, both in GW's namespace.
natlab_upnp_start() {
	local gw=$1 ns=${NATLAB_NS[$1]} conf=$LAB_DIR/$1-miniupnpd.conf uuid
	[ -x "$NATLAB_PROBE" ] || { echo "natlab: NATLAB_PROBE is not set to udpprobe" >&2; return 1; }
	natlab_spawn "$ns" "$gw-stun" "$NATLAB_PROBE" stun 127.0.0.1:3478 "${NATLAB_IP[$gw]}"
	# shellcheck disable=SC2034 # state for the tests that source this file
	NATLAB_STUN_PID[$gw]=$NATLAB_PID
	wait_for "grep -q '^ready' '$LAB_DIR/$gw-stun.log'" 5 || {
		echo "natlab: the STUN responder of $gw did not start" >&2
		cat "$LAB_DIR/$gw-stun.log" >&2
		return 1
	}
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
http_port=$NATLAB_UPNP_HTTP_PORT
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=yes
notify_interval=30
uuid=$uuid
friendly_name=natlab $gw
lease_file=$LAB_DIR/$gw-miniupnpd.leases
ext_perform_stun=yes
ext_stun_host=127.0.0.1
ext_stun_port=3478
upnp_table_name=natlab
upnp_nat_table_name=natlab
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
min_lifetime=${NATLAB_MIN_LIFETIME:-60}
max_lifetime=86400
allow 1024-65535 ${NATLAB_LAN_NET[$gw]} 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
	natlab_spawn "$ns" "$gw-miniupnpd" miniupnpd -d -f "$conf" -P "$LAB_DIR/$gw-miniupnpd.pid"
	# shellcheck disable=SC2034 # state for the tests that source this file
	NATLAB_UPNP_PID[$gw]=$NATLAB_PID
	# Ready: it believed our STUN (port forwarding on) and listens for HTTP
	# (UPnP) and on UDP 5351 (NAT-PMP, PCP).
	if ! wait_for "grep -q 'Port forwarding is now enabled' '$LAB_DIR/$gw-miniupnpd.log' &&
		nsx $ns ss -Hltn 'sport = :$NATLAB_UPNP_HTTP_PORT' | grep -q . &&
		nsx $ns ss -Hlun 'sport = :5351' | grep -q ." 10; then
		echo "natlab: miniupnpd on $gw did not become ready" >&2
		kill -0 "$NATLAB_PID" 2>/dev/null || echo "natlab: miniupnpd (pid $NATLAB_PID) exited" >&2
		tail -n 20 "$LAB_DIR/$gw-miniupnpd.log" >&2
		return 1
	fi
	if grep -qi 'port forwarding.*disabled\|does not support port forwarding' "$LAB_DIR/$gw-miniupnpd.log"; then
		echo "natlab: miniupnpd on $gw disabled port forwarding" >&2
		tail -n 20 "$LAB_DIR/$gw-miniupnpd.log" >&2
		return 1
	fi
}

natlab_mapping() {
	local gw=$1
	nsx "${NATLAB_NS[$gw]}" nft -j list map inet natlab out_map 2>/dev/null |
		python3 -c '
import json, sys
ip, port = sys.argv[1], int(sys.argv[2])
for item in json.load(sys.stdin)["nftables"]:
    for e in item.get("map", {}).get("elem", []):
        key, val = e
        if isinstance(key, dict) and "elem" in key:
            key = key["elem"]["val"]
        k = key["concat"]
        if k[0] == ip and int(k[1]) == port:
            print(val["concat"][1])
            sys.exit(0)
sys.exit(1)' "$2" "$3"
}

natlab_dropped() {
	nsx "${NATLAB_NS[$1]}" nft list counter inet natlab dropped 2>/dev/null |
		awk '$1 == "packets" { print $2; exit }'
}

# The sets and maps go in one nft transaction: flushed one by one, a
# datagram of the host's passing between two flushes (a host that keeps
# sending, as a WireGuard client does) re-filled some of them, and the
# gateway then dropped every later flow of that socket at its own port
# check (the port in `used`, its owner not in `owner`) until `used` timed
# out: the host lost every path (net-stockmatrix's rebind, under load;
# with a datagram sent between the flushes of `used` and `owner`, 33 of
# a host's 240 datagrams arrived, all before the flush, against 240 of
# 240 with one transaction).  Datagrams between the transaction and
# conntrack's flush fill them all again, consistently.
natlab_flush() {
	local ns=${NATLAB_NS[$1]} batch
	batch=$(nsx "$ns" nft list table inet natlab 2>/dev/null | awk '
		($1 == "set" || $1 == "map") && $2 ~ /^(out_map|in_map|used|owner|peer_addr|peer_port)$/ {
			printf "flush %s inet natlab %s\n", $1, $2 }')
	[ -z "$batch" ] || printf '%s\n' "$batch" | nsx "$ns" nft -f - || return 1
	nsx "$ns" conntrack -F >/dev/null 2>&1
	return 0
}

natlab_show() {
	local ns=${NATLAB_NS[$1]}
	echo "gateway $1 (${NATLAB_TYPE[$1]}), WAN ${NATLAB_IP[$1]}, LAN ${NATLAB_LAN_NET[$1]}"
	nsx "$ns" nft list ruleset 2>&1
	command -v conntrack >/dev/null && nsx "$ns" conntrack -L -p udp 2>&1
	return 0
}
