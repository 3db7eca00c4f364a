#!/bin/bash
# The container sidecar (packaging/container/, README "Container sidecar"),
# without a container runtime: the sidecar is the built `wh` started by
# the image's entrypoint in mount, PID and UTS namespaces of its own
# (unshare), inside the network namespace of an "application"; its /run
# is a private tmpfs, so its control and UAPI sockets are its own.  The
# application, a process in none of the sidecar's namespaces but the
# network one, reaches another member by overlay address, by name (its
# resolver pointed at the sidecar's overlay address) and over TCP, and is
# reached the same way.  Killing the sidecar's PID 1 leaves no process
# of it and no TUN interface.
# Usage: sidecar.sh WH, where WH is the `wh` binary.
#
#                 ns SW (whlab-sc-PID-sw): bridge br0
#   +-------------------------------------------------------+
#   |     sboot              sapp                  sb       |
#   +-------|------------------|--------------------|-------+
#           |                  |                    |  (veth)
#   +-------|------+ +---------|-----------------+ +-|------------+
#   | eth0 .0.10   | | eth0 .0.1                 | | eth0 .0.2    |
#   | boot: public | | ns APP (the application's | | node_b:      |
#   | node         | | network namespace)        | | plain wh up  |
#   +--------------+ |  +---------------------+  | | sc<P>b       |
#                    |  | sidecar: unshare    |  | +--------------+
#                    |  | --mount --pid --uts |  |
#                    |  | PID 1 = wh up -f,   |  |
#                    |  | tmpfs on /run,      |  |
#                    |  | TUN sc<P>a          |  |
#                    |  +---------------------+  |
#                    |  application: ping, dig,  |
#                    |  getent, TCP (python3)    |
#                    +---------------------------+
#   outer addresses 198.18.0.N/24, UDP port 62096
#   overlay: subnet 198.19.0.0/16, the app's member is app1

LAB_TAG=sc
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
ENTRYPOINT=$(cd "$(dirname "$0")/../../packaging/container" 2>/dev/null && pwd)/entrypoint.sh

PORT=62096

lab_require_root
lab_require_cmd ip ping python3 timeout dig getent unshare nsenter mount setpriv
lab_require_impl "$WH"

SC_PID1=
SC_NAME=

sc_cleanup() {
	# The sidecar's PID 1 (a child of unshare, outside LAB_PIDS): its
	# death takes every process of its PID namespace with it.
	[ -n "$SC_PID1" ] && kill -KILL "$SC_PID1" 2>/dev/null
	# shellcheck disable=SC2086
	[ -n "$SC_NAME" ] && podman ${SIDECAR_PODMAN:-} rm -f "$SC_NAME" >/dev/null 2>&1
	lab_wh_cleanup
	lab_netns_etc_cleanup
}

lab_wh_init sc_cleanup

declare -A NSOF=() IFOF=() IPOF=() PUB=() V4=() V6=()

# check_out DESC WANT CMD...: CMD's output must match the regex WANT.
check_out() {
	local desc=$1 want=$2 out
	shift 2
	out=$("$@" 2>&1)
	if grep -qE -- "$want" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "want: $want" "$out"
	fi
}

json_field() {
	python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("" if v is None else v)' "$1"
}

write_conf() {
	cat <<EOF
name sc
subnet 198.19.0.0/16
workbit 8
boot ${PUB[boot]} 198.18.0.10:$PORT
trust app1 ${PUB[app]}
trust node_b ${PUB[b]}
EOF
}

# start_node NODE: plain `wh up -f` in NODE's namespace (boot, b).
start_node() {
	local node=$1 ns=${NSOF[$1]} iface=${IFOF[$1]} cond
	rm -f "$WH_CTL_DIR/$iface.sock" "$LAB_RUN_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "$ns" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
		"$WH" up "$LAB_DIR/$node/sc.conf" private-key "$LAB_DIR/$node/sc.key" \
		interface "$iface" listen-port "$PORT" -f \
		>>"$LAB_DIR/$iface.log" 2>&1 </dev/null &
	LAB_PIDS+=("$!")
	cond="[ -S $WH_CTL_DIR/$iface.sock ]"
	[ "$node" = boot ] || cond="$cond && ip -n $ns link show $iface"
	wait_for "$cond" 10 || { impl_log "$iface"; return 1; }
}

# ---------------------------------------------------------------- the lab

[ -x "$ENTRYPOINT" ] || tap_fail "the image's entrypoint exists" "missing: $ENTRYPOINT"

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
for node in boot app b; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "${node:0:1}")
	case $node in boot) IPOF[$node]=198.18.0.10 ;; app) IPOF[$node]=198.18.0.1 ;;
	b) IPOF[$node]=198.18.0.2 ;; esac
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" &&
		mkdir -m 0700 "$LAB_DIR/$node" &&
		(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node/sc.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node/sc.key") || { lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && wait_for "ping_ok ${NSOF[b]} 198.18.0.1 && ping_ok ${NSOF[b]} 198.18.0.10" 10 ||
	lab_ok=0
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: four namespaces on a bridge, keys with workbit 8"
else
	tap_fail "lab: four namespaces on a bridge" "$(ip -n "$SW" link 2>&1)"
	tap_done
fi
for node in boot app b; do write_conf >"$LAB_DIR/$node/sc.conf"; done

start_node boot >"$LAB_DIR/start.err" 2>&1 || { tap_fail "wh up boot" "$(cat "$LAB_DIR/start.err")"; tap_done; }
start_node b >"$LAB_DIR/start.err" 2>&1 || { tap_fail "wh up node_b" "$(cat "$LAB_DIR/start.err")"; tap_done; }

# ---------------------------------------------------------------- the sidecar

# As a container runtime would: new mount, PID and UTS namespaces in the
# application's network namespace, a tmpfs on /run, the configuration
# directory where the image expects it (WH_CONFIG_DIR stands for the
# volume on /etc/wh), then the entrypoint as PID 1 with no capabilities
# but CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (--cap-drop all --cap-add
# NET_ADMIN --cap-add NET_BIND_SERVICE).  Only the network namespace is
# the application's.
SC_IFACE=${IFOF[app]}
LAB_IFACES+=("$SC_IFACE")
SC_HOST=$(hostname)
SC_WH=$WH
SC_KIND=unshare
if [ -z "${SIDECAR_IMAGE:-}" ]; then
	ip netns exec "${NSOF[app]}" \
		unshare --mount --pid --uts --fork --mount-proc --propagation private \
		/bin/sh -c 'mount -t tmpfs -o mode=0755,size=4m tmpfs /run && hostname sidecar && exec "$@"' \
		sidecar setpriv --bounding-set=-all,+net_admin,+net_bind_service --inh-caps=-all \
		env WH="$WH" WH_CONFIG_DIR="$LAB_DIR/app" WH_NETWORK=sc LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
		"$ENTRYPOINT" interface "$SC_IFACE" listen-port "$PORT" \
		>>"$LAB_DIR/$SC_IFACE.log" 2>&1 </dev/null &
	SC_WAITER=$!
	LAB_PIDS+=("$SC_WAITER")
	wait_for "[ -n \"\$(cat /proc/$SC_WAITER/task/$SC_WAITER/children 2>/dev/null)\" ]" 5
	SC_PID1=$(awk '{print $1}' "/proc/$SC_WAITER/task/$SC_WAITER/children" 2>/dev/null)
else
	# The same with the image (test/container-image.sh): podman joins
	# the application's namespace by its path.  SIDECAR_PODMAN holds
	# podman's global options, SIDECAR_RUN_OPTS more of `podman run`'s.
	SC_WH=/usr/local/bin/wh
	SC_KIND="podman run $SIDECAR_IMAGE"
	SC_NAME=$SC_IFACE
	# shellcheck disable=SC2086
	podman ${SIDECAR_PODMAN:-} run --rm --name "$SC_NAME" ${SIDECAR_RUN_OPTS:-} \
		--network "ns:/run/netns/${NSOF[app]}" --hostname sidecar --tmpfs /run:rw,mode=0755,size=4m \
		--cap-drop all --cap-add NET_ADMIN --cap-add NET_BIND_SERVICE --device /dev/net/tun \
		-v "$LAB_DIR/app:/etc/wh:ro" -e WH_NETWORK=sc -e LOG_LEVEL="${LAB_LOG_LEVEL:-info}" \
		"$SIDECAR_IMAGE" interface "$SC_IFACE" listen-port "$PORT" \
		>>"$LAB_DIR/$SC_IFACE.log" 2>&1 </dev/null &
	SC_WAITER=$!
	LAB_PIDS+=("$SC_WAITER")
	wait_for "[ \"\$(podman ${SIDECAR_PODMAN:-} inspect -f '{{.State.Pid}}' $SC_NAME 2>/dev/null)\" -gt 0 ]" 30
	# shellcheck disable=SC2086
	SC_PID1=$(podman ${SIDECAR_PODMAN:-} inspect -f '{{.State.Pid}}' "$SC_NAME" 2>/dev/null)
fi

# scx CMD...: CMD in the sidecar's namespaces (mount, UTS, network, and
# PID: nsenter forks into it), as `podman exec` would run it.
scx() {
	nsenter -t "$SC_PID1" -m -u -n -p -- "$@"
}

if [ -n "$SC_PID1" ] &&
	wait_for "ip -n ${NSOF[app]} link show $SC_IFACE && scx test -S $WH_CTL_DIR/$SC_IFACE.sock" 10; then
	tap_ok "sidecar: $SC_KIND's PID 1 ($SC_PID1 on the host) brought up $SC_IFACE in the application's namespace"
else
	tap_fail "sidecar: wh up in its own namespaces" "$(impl_log "$SC_IFACE")"
	tap_done
fi

ns_of() { readlink "/proc/$1/ns/$2"; }
app_net=$(ip netns exec "${NSOF[app]}" readlink /proc/self/ns/net)
sc_comm=$(cat "/proc/$SC_PID1/comm")
sc_nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$SC_PID1/status")
sc_caps=$(awk '/^CapEff:/ {print $2}' "/proc/$SC_PID1/status")
SC_CAPS=0000000000001400 # CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12)
if [ "$(ns_of "$SC_PID1" net)" = "$app_net" ] &&
	[ "$(ns_of "$SC_PID1" mnt)" != "$(ns_of $$ mnt)" ] &&
	[ "$(ns_of "$SC_PID1" pid)" != "$(ns_of $$ pid)" ] &&
	[ "$(ns_of "$SC_PID1" uts)" != "$(ns_of $$ uts)" ] &&
	[ "$sc_comm" = wh ] && [ "$sc_nspid" = 1 ] && [ "$sc_caps" = "$SC_CAPS" ] &&
	[ "$(scx hostname)" = sidecar ] && [ "$(hostname)" = "$SC_HOST" ]; then
	tap_ok "sidecar: wh is PID 1 of its own PID namespace, own mount and UTS (hostname 'sidecar'), the application's network namespace, capabilities $sc_caps only"
else
	tap_fail "sidecar: its namespaces" "comm $sc_comm, NSpid $sc_nspid, CapEff $sc_caps, hostname $(scx hostname)" \
		"net $(ns_of "$SC_PID1" net) (app $app_net)" "mnt $(ns_of "$SC_PID1" mnt) pid $(ns_of "$SC_PID1" pid)"
fi

js=$(scx "$SC_WH" show "$SC_IFACE" json 2>&1)
V4[app]=$(json_field ipv4 <<<"$js" 2>/dev/null)
V6[app]=$(json_field ipv6 <<<"$js" 2>/dev/null)
if [ -n "${V4[app]}" ] && [ -n "${V6[app]}" ]; then
	tap_ok "sidecar: wh show from inside its namespaces finds the node (app1 ${V4[app]} ${V6[app]})"
else
	tap_fail "sidecar: wh show from inside its namespaces" "$js"
fi
out=$(scx sh -c "ls /run/wh /run/wireguard; grep ' /run ' /proc/self/mounts" 2>&1)
if grep -qx "$SC_IFACE.sock" <<<"$out" && grep -q "^tmpfs /run tmpfs" <<<"$out"; then
	tap_ok "sidecar: its control and UAPI sockets are in its own /run (a tmpfs)"
else
	tap_fail "sidecar: its sockets in its own /run" "$out"
fi

# Not in the host's /run, nor seen by the application (whose mount
# namespace is the host's, /etc/netns aside).
out=$(ip netns exec "${NSOF[app]}" "$WH" show "$SC_IFACE" 2>&1)
if [ ! -e "$WH_CTL_DIR/$SC_IFACE.sock" ] && [ ! -e "$LAB_RUN_DIR/$SC_IFACE.sock" ] &&
	! ip netns exec "${NSOF[app]}" "$WH" show "$SC_IFACE" >/dev/null 2>&1; then
	tap_ok "host and application: no $SC_IFACE.sock in the host's /run; wh show there fails ($out)"
else
	tap_fail "the sidecar's sockets are not in the host's /run" "$(ls -l "$WH_CTL_DIR" "$LAB_RUN_DIR" 2>&1)" "$out"
fi

js=$(ip netns exec "${NSOF[b]}" "$WH" show "${IFOF[b]}" json 2>&1)
V4[b]=$(json_field ipv4 <<<"$js" 2>/dev/null)
V6[b]=$(json_field ipv6 <<<"$js" 2>/dev/null)

# ---------------------------------------------------------------- the application

app() { ip netns exec "${NSOF[app]}" "$@"; }

if wait_for "ping_ok ${NSOF[app]} ${V4[b]}" 20; then
	tap_ok "application: ping node_b's overlay address ${V4[b]}"
else
	tap_fail "application: ping node_b's overlay address ${V4[b]}" "$(impl_log "$SC_IFACE")"
fi
check_out "application: ping -6 node_b's overlay address" "1 received" app ping -6 -n -c1 -W2 "${V6[b]}"
check_out "node_b: ping the application's overlay address ${V4[app]}" "1 received" \
	ip netns exec "${NSOF[b]}" ping -n -c1 -W2 "${V4[app]}"

# The application's resolver points at the sidecar's overlay address (in
# a pod: dnsConfig; here /etc/netns/APP/resolv.conf, which ip netns exec
# mounts over /etc/resolv.conf).
mkdir -p "/etc/netns/${NSOF[app]}"
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "${V4[app]}" \
	>"/etc/netns/${NSOF[app]}/resolv.conf"
out=$(app timeout 10 dig +tries=1 +time=2 @"${V4[app]}" node_b A +short 2>&1)
[ "$out" = "${V4[b]}" ] && tap_ok "application: dig @${V4[app]} node_b: ${V4[b]}" ||
	tap_fail "application: dig @sidecar node_b" "$out"
check_out "application: getent hosts node_b.sc" "^(${V4[b]}|${V6[b]}) +node_b.sc" app getent hosts node_b.sc
check_out "application: ping -c1 node_b (by name)" "1 received" app ping -n -c1 -W2 node_b

# TCP: node_b listens on its overlay address; the application connects
# by name.  Then the other way: the application listens, node_b connects
# to app1's overlay address.
tcp_listen() {
	local ns=$1 addr=$2
	ip netns exec "$ns" timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(1)
c, _ = s.accept()
data = b""
while not data.endswith(b"\n"):
    chunk = c.recv(4096)
    if not chunk:
        break
    data += chunk
c.sendall(b"echo " + data)
c.close()' "$addr" >>"$LAB_DIR/tcp.log" 2>&1 &
	LAB_PIDS+=("$!")
	wait_for "ip netns exec $ns ss -tln | grep -q '$addr:8080 '" 5
}
tcp_talk() {
	local ns=$1 host=$2
	ip netns exec "$ns" timeout 10 python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=5)
c.sendall(b"hello over the overlay " + sys.argv[1].encode() + b"\n")
print(c.makefile().read().strip())' "$host"
}
tcp_listen "${NSOF[b]}" "${V4[b]}"
out=$(tcp_talk "${NSOF[app]}" node_b 2>&1)
[ "$out" = "echo hello over the overlay node_b" ] && tap_ok "application: TCP to node_b:8080 by name: '$out'" ||
	tap_fail "application: TCP to node_b:8080 by name" "$out" "$(cat "$LAB_DIR/tcp.log")"
tcp_listen "${NSOF[app]}" "${V4[app]}"
out=$(tcp_talk "${NSOF[b]}" "${V4[app]}" 2>&1)
[ "$out" = "echo hello over the overlay ${V4[app]}" ] &&
	tap_ok "node_b: TCP to the application's listener at ${V4[app]}:8080: '$out'" ||
	tap_fail "node_b: TCP to the application's listener" "$out" "$(cat "$LAB_DIR/tcp.log")"

# ---------------------------------------------------------------- the end

# Another process in the sidecar (as `podman exec` leaves one), then
# SIGKILL to its PID 1: the kernel ends the PID namespace, the TUN
# device closes with wh's last file descriptor and its interface goes.
nsenter -t "$SC_PID1" -m -u -n -p -- sleep 300 </dev/null >/dev/null 2>&1 &
LAB_PIDS+=("$!")
disown "$!" # its death by SIGKILL is the point, not news
sc_pidns=$(ns_of "$SC_PID1" pid)
sc_procs() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$sc_pidns" ] && n=$((n + 1))
	done
	echo "$n"
}
wait_for "[ \$(sc_procs) -ge 2 ]" 5
before=$(sc_procs)
kill -KILL "$SC_PID1"
if [ "$before" -ge 2 ] && wait_for "! kill -0 $SC_WAITER && [ \$(sc_procs) = 0 ]" 10 &&
	wait_for "! ip -n ${NSOF[app]} link show $SC_IFACE" 5; then
	tap_ok "SIGKILL to the sidecar's PID 1: its $before processes gone, $SC_KIND exited, $SC_IFACE gone"
else
	tap_fail "SIGKILL to the sidecar's PID 1" "before: $before processes (wh and a sleep), left: $(sc_procs)" \
		"$(ip -n "${NSOF[app]}" link show "$SC_IFACE" 2>&1)"
fi
SC_PID1=
if [ ! -e "$WH_CTL_DIR/$SC_IFACE.sock" ] && [ ! -e "$LAB_RUN_DIR/$SC_IFACE.sock" ] &&
	! ping_ok "${NSOF[app]}" "${V4[b]}" >/dev/null 2>&1; then
	tap_ok "afterwards: nothing of the sidecar in the host's /run, no overlay for the application"
else
	tap_fail "afterwards: something of the sidecar is left"
fi

tap_done
