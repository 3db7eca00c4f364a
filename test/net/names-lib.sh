# shellcheck shell=bash
# What the names-*.sh tests share, sourced after lib.sh: the clean-up of
# their daemons' control sockets and of the hosts files they give
# namespaces (/etc/netns/NS/hosts), a lab of namespaces on one bridge with
# keys of workbit 4, and `wh up` as a daemon or in the foreground.

declare -A NSOF=() IFOF=() IPOF=() PUB=()
NAMES_HOSTS_DIRS=()

names_cleanup() {
	local d
	lab_wh_cleanup
	for d in "${NAMES_HOSTS_DIRS[@]}"; do
		rm -f "$d/hosts" && rmdir "$d" 2>/dev/null
	done
}

names_init() {
	lab_wh_init names_cleanup
}

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

daemon_pid() {
	ip netns exec "${NSOF[$1]}" ss -xlpn 2>/dev/null | grep -F "$WH_CTL_DIR/$2.sock" |
		grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# names_lab NODE=ADDR...: the bridge SW and, per node, a namespace on it
# with eth0 at ADDR/24 and a key of workbit 4 ($LAB_DIR/NODE.key,
# PUB[NODE]); returns 1 on failure.
names_lab() {
	local spec node var
	new_ns SW || return 1
	ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || return 1
	for spec in "$@"; do
		node=${spec%%=*}
		var=N_${node^^}
		new_ns "$var" || return 1
		NSOF[$node]=${!var}
		IFOF[$node]=$(wg_iface "$node")
		IPOF[$node]=${spec#*=}
		veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
			ip -n "$SW" link set "s$node" master br0 &&
			addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || return 1
		(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$node.key") &&
			PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || return 1
	done
}

# names_up NODE CONF KEY [IFACE]: `wh up` run from $LAB_DIR (CONF and KEY
# relative to it) as a daemon, its stderr in $LAB_DIR/NODE.err; records
# its PID. With NAMES_FG=1, `wh up -f` in the background instead (its
# whole log in NODE.err), ready once its control socket answers.
names_up() {
	local node=$1 conf=$2 key=$3 iface=${4:-${IFOF[$1]}} pid rc
	LAB_IFACES+=("$iface")
	if [ "${NAMES_FG:-0}" = 1 ]; then
		(cd "$LAB_DIR" && exec ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up \
			"$conf" private-key "$key" interface "$iface" listen-port "$PORT" -f \
			>"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err") &
		LAB_PIDS+=("$!")
		wait_for "ip netns exec ${NSOF[$node]} $WH show $iface >/dev/null 2>&1" 10
		return
	fi
	(cd "$LAB_DIR" && ip netns exec "${NSOF[$node]}" env LOG_LEVEL=info "$WH" up "$conf" \
		private-key "$key" interface "$iface" listen-port "$PORT" \
		>"$LAB_DIR/$node.out" 2>"$LAB_DIR/$node.err")
	rc=$?
	pid=$(daemon_pid "$node" "$iface")
	[ -n "$pid" ] && LAB_PIDS+=("$pid")
	return $rc
}

# names_peer_field NODE PEER FIELD: FIELD of the peer whose hostname is
# PEER in NODE's `wh show json`, or of NODE itself when PEER is "-".
names_peer_field() {
	whx "${NSOF[$1]}" show "${IFOF[$1]}" json | python3 -c '
import json, sys
s = json.load(sys.stdin)
if sys.argv[1] == "-":
    print(s.get(sys.argv[2], ""))
for p in s.get("peers", []):
    if p["hostname"] == sys.argv[1]:
        print(p[sys.argv[2]])' "$2" "$3"
}
