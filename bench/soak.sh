#!/bin/bash
# The soak benchmark (issue 17): a member under a long flood of mixed
# hostile traffic while an established session between two members runs
# TCP and ping.  Not part of the test suite: it takes minutes and its
# figures depend on the machine (doc/benchmarks.md, "Soak").
#
#   ns whsoak-PID-br: bridge br0 (198.18.0.0/24)
#     |-- ns whsoak-PID-r  198.18.0.10  wh up (public DHT node: the boot node)
#     |-- ns whsoak-PID-a  198.18.0.11  wh up (member a: iperf3 -c, ping)
#     |-- ns whsoak-PID-b  198.18.0.12  wh up (member b: iperf3 -s; the target)
#     '-- ns whsoak-PID-x  198.18.0.13  the attacker (routes nothing back)
#   b routes 198.18.128.0/17 (the spoofed sources) to x, which drops it:
#   every answer b gives a spoofed datagram costs b its sending.
#
# Three phases, each a TCP transfer a -> b (iperf3, one stream, 10-s
# intervals) with a ping every 0.1 s beside it, and b's RSS sampled every
# 5 s:
#   idle     nothing else runs;
#   decoy    the attackers run, pinned to one core, aimed at a port of
#            their own namespace's loopback: the CPU they take from the
#            machine without touching b (the fair baseline on 2 cores);
#   attack   the same attackers at b's port, for the soak's duration:
#            test/tools/junkflood (junk of every type, forged overlay
#            datagrams from made-up keys of enough workbit, replayed sealed
#            PINGs, WireGuard data with random indices, relay channel
#            headers both ways; from random spoofed sources) and
#            test/tools/hsflood (WireGuard initiations with a valid mac1
#            for b's key, from x's own address), sharing one core.
# It prints per phase: TCP Gbit/s (mean, lowest 10-s interval), pings
# sent/lost, b's RSS (first, highest, last sample) and b's CPU; what the
# attackers sent; b's counters of what it dropped; and the checks of the
# issue: attack TCP >= 80% of decoy, no ping lost to the attack, RSS flat
# (the last sample within 1 MiB of the first).
#
# The daemons' logs, `wh show` and `wh inspect` of both members at the end
# and the pings stay in BUILD_DIR/soak-logs/.
#
# WH_JUNK_KINDS=forged,replayed (say) makes junkflood send only those
# kinds, and WH_SOAK_ATTACKERS=junk or =hs runs only that attacker, to
# tell which one costs what.  --perf records b's profile (perf record -g,
# 10 s from the 5th second of the attack) into BUILD_DIR/soak-logs/perf-b.data.
#
# Usage: bash bench/soak.sh [BUILD_DIR] [--duration SECONDS] [--quick] [--perf]
#        (as root; BUILD_DIR defaults to build; --duration: the attack
#        phase, default 600; the idle and decoy phases take 60 s, a sixth
#        of it at most; --quick: 30 s of attack, 15 s per baseline)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BENCH_NAME="soak"
WAIT_POLL=0.1
duration=600
bench_option() {
	case $1 in
	--duration=*) duration=${1#--duration=} ;;
	*) return 1 ;;
	esac
}
args=()
while [ $# -gt 0 ]; do # --duration N (two words) before bench_args
	case $1 in
	--duration) duration=${2:?--duration needs seconds}; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
bench_args "${args[@]}"
[ $quick = 1 ] && duration=30
cmdline="bash bench/soak.sh ${args[*]} --duration $duration"
case $duration in ''|*[!0-9]*|0) die "--duration wants a positive number of seconds" ;; esac
base=$((duration / 6 < 60 ? duration / 6 : 60))
[ $quick = 1 ] && base=15
[ $base -ge 10 ] || base=10

bench_binary src/wh
WH=$bench_bin
bench_binary test/tools/junkflood
JUNK=$bench_bin
bench_binary test/tools/hsflood
HSFLOOD=$bench_bin
need_root_and iperf3 ping ip taskset python3
[ "$do_perf" = 0 ] || command -v perf >/dev/null || die "--perf needs perf (linux-perf)"
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || die "needs 2 cores (the attackers take one)"
attack_cpu=$((ncpu - 1))

PREFIX=whsoak-
NS_BR=${PREFIX}$$-br NS_R=${PREFIX}$$-r NS_A=${PREFIX}$$-a NS_B=${PREFIX}$$-b NS_X=${PREFIX}$$-x
IF_R=ws$$r IF_A=ws$$a IF_B=ws$$b
IP_R=198.18.0.10 IP_A=198.18.0.11 IP_B=198.18.0.12 IP_X=198.18.0.13
SPOOF=198.18.128.0/17
PORT=62097
NSNAME=public WORKBIT=8
RUN=/var/run/wh
CLK_TCK=$(getconf CLK_TCK)

BENCH_NETNS=("$NS_R" "$NS_A" "$NS_B" "$NS_X" "$NS_BR")
BENCH_SOCKS=("$RUN/$IF_R.sock" "$RUN/$IF_A.sock" "$RUN/$IF_B.sock")
IPERF_SERVER_NS=$NS_B IPERF_CLIENT_NS=$NS_A

sweep_stale $PREFIX $RUN ws r a b
bench_begin

# ------------------------------------------------------------------ topology
ip netns add $NS_BR
ip -n $NS_BR link add br0 type bridge
ip -n $NS_BR link set br0 up
for k in iptables ip6tables arptables; do
	[ ! -e /proc/sys/net/bridge/bridge-nf-call-$k ] ||
		ip netns exec $NS_BR sh -c "echo 0 >/proc/sys/net/bridge/bridge-nf-call-$k"
done
for n in r a b x; do
	case $n in r) ns=$NS_R ip=$IP_R ;; a) ns=$NS_A ip=$IP_A ;; b) ns=$NS_B ip=$IP_B ;; x) ns=$NS_X ip=$IP_X ;; esac
	ip netns add $ns
	ip link add eth0 netns $ns type veth peer name "p-$n" netns $NS_BR
	ip -n $NS_BR link set "p-$n" master br0
	ip -n $NS_BR link set "p-$n" up
	ip -n $ns addr add $ip/24 dev eth0
	ip -n $ns link set lo up
	ip -n $ns link set eth0 up
done
ip -n $NS_B route add $SPOOF via $IP_X
# The attacker's namespace takes the answers to its spoofed sources and
# drops them (no forwarding, no such local address).
ip netns exec $NS_X sysctl -qw net.ipv4.ip_forward=0

(umask 077
 for n in r a b; do "$WH" genkey workbit $WORKBIT >"$tmp/$n.key"; done)
pub_r=$("$WH" pubkey <"$tmp/r.key")
pub_a=$("$WH" pubkey <"$tmp/a.key")
pub_b=$("$WH" pubkey <"$tmp/b.key")
printf 'workbit %s\nboot %s %s:%s\n' $WORKBIT "$pub_r" $IP_R $PORT >"$tmp/r.conf"
cat >"$tmp/net.conf" <<EOF
name soak
subnet 198.19.0.0/16
workbit $WORKBIT
boot $pub_r $IP_R:$PORT
trust a $pub_a
trust b $pub_b
EOF

show_json() { # show_json NS IFACE EXPR (d: wh show json, p: peers[0])
	ip netns exec "$1" "$WH" show "$2" json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = (d.get("peers") or [{}])[0]
v = eval(sys.argv[1])
print("" if v is None else v)' "$3" 2>/dev/null
}
member_up() { [ -n "$(show_json "$1" "$2" 'd.get("ipv4")')" ]; }

spawn $NS_R r "$WH" up "$tmp/r.conf" private-key "$tmp/r.key" interface $IF_R listen-port $PORT portmap off -f
wait_for 10 test -S $RUN/$IF_R.sock || { cat "$tmp/r.log" >&2; die "the public node did not start"; }
spawn $NS_A a "$WH" up "$tmp/net.conf" private-key "$tmp/a.key" interface $IF_A listen-port $PORT portmap off -f
spawn $NS_B b "$WH" up "$tmp/net.conf" private-key "$tmp/b.key" interface $IF_B listen-port $PORT portmap off -f
pid_b=$spawned_pid
wait_for 15 member_up $NS_A $IF_A || { cat "$tmp/a.log" >&2; die "member a did not start"; }
wait_for 15 member_up $NS_B $IF_B || { cat "$tmp/b.log" >&2; die "member b did not start"; }
dst=$(show_json $NS_A $IF_A 'p.get("ipv4")')
wait_for 30 ip netns exec $NS_A ping -n -c 1 -W 1 "$dst" || die "no ping from a to b ($dst)"
wait_for 30 test "$(show_json $NS_A $IF_A 'p.get("path")')" = direct || die "a's path to b is not direct"

# ------------------------------------------------------------------ phases
att_pids=()
attackers_start() { # attackers_start TARGET_IP TARGET_PORT SECONDS [SPOOF]
	local ip=$1 port=$2 s=$3 spoof=${4:-} which=${WH_SOAK_ATTACKERS:-junk,hs}
	att_pids=()
	: >"$tmp/junk-$phase.log"
	: >"$tmp/hs-$phase.log"
	if [[ $which == *junk* ]]; then
		spawn $NS_X junk-$phase env WH_TARGET_PUBKEY="$pub_b" WH_JUNK_KINDS="${WH_JUNK_KINDS:-}" \
			taskset -c $attack_cpu "$JUNK" "$ip" "$port" $NSNAME $WORKBIT "$s" $spoof
		att_pids+=("$spawned_pid")
	fi
	if [[ $which == *hs* ]]; then
		spawn $NS_X hs-$phase taskset -c $attack_cpu "$HSFLOOD" "$ip" "$port" "$pub_b" "$s"
		att_pids+=("$spawned_pid")
	fi
}

# phase NAME SECONDS: one TCP transfer with ping and RSS samples beside it.
phase() {
	local name=$1 s=$2 f=$tmp/$1 c0 c1 ping_pid
	phase=$name
	log "== $name: $s s"
	wait_quiet 10 || log "   (machine still busy: ${quiet_pct}% CPU used by others)"
	case $name in
	decoy) attackers_start 127.0.0.1 9 $((s + 5)) ;;
	attack) attackers_start $IP_B $PORT $((s + 5)) $SPOOF ;;
	esac
	sleep 1
	ip netns exec $NS_A ping -n -i 0.1 -W 1 -w "$s" "$dst" >"$f.ping" 2>&1 &
	ping_pid=$!
	pids+=("$ping_pid")
	: >"$f.rss"
	( n=$((s / 5)); i=0
	  while [ $i -le $n ]; do rss_kb $pid_b VmRSS >>"$f.rss" || true; sleep 5; i=$((i + 1)); done ) &
	rss_pid=$!
	pids+=("$rss_pid")
	c0=$(cpu_ticks $pid_b)
	perf_pid=
	if [ "$do_perf" = 1 ] && [ "$name" = attack ]; then
		(sleep 5; exec perf record -q -g -o "$tmp/perf-b.data" -p $pid_b -- sleep 10) >/dev/null 2>&1 &
		perf_pid=$!
		pids+=("$perf_pid")
	fi
	secs=$s
	iperf_client "$f.tcp" -c "$dst" -t "$s" -i 10 || { cat "$f.tcp" >&2; die "iperf3 failed in the $name phase"; }
	c1=$(cpu_ticks $pid_b)
	reap $ping_pid
	[ -z "$perf_pid" ] || reap $perf_pid
	kill $rss_pid 2>/dev/null || true
	reap $rss_pid
	if [ ${#att_pids[@]} -gt 0 ]; then
		reap "${att_pids[@]}"
		att_pids=()
	fi
	python3 - "$f.tcp" "$f.ping" "$f.rss" $((c1 - c0)) "$CLK_TCK" "$s" "$name" >>"$tmp/phases" <<'EOF'
import json, re, sys
tcp, ping, rss, ticks, hz, secs, name = sys.argv[1:]
j = json.load(open(tcp))
mean = j["end"]["sum_received"]["bits_per_second"] / 1e9
ivs = [i["sum"]["bits_per_second"] / 1e9 for i in j["intervals"] if i["sum"]["seconds"] > 5]
low = min(ivs) if ivs else mean
txt = open(ping).read()
m = re.search(r"(\d+) packets transmitted, (\d+) received", txt)
sent, got = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
r = [int(x) for x in open(rss).read().split()]
cpu = 100.0 * int(ticks) / int(hz) / float(secs)
print(name, f"{mean:.3f}", f"{low:.3f}", sent, sent - got,
      f"{r[0]/1024:.2f}" if r else "-", f"{max(r)/1024:.2f}" if r else "-",
      f"{r[-1]/1024:.2f}" if r else "-", f"{cpu:.0f}")
EOF
	tail -1 "$tmp/phases" | awk '{printf "   TCP %s Gbit/s (lowest 10 s: %s); pings %s sent, %s lost; b RSS %s -> %s MiB (max %s); b CPU %s%%\n", $2, $3, $4, $5, $6, $8, $7, $9}' >&2
}

inspect_b() { ip netns exec $NS_B "$WH" inspect $IF_B 2>/dev/null; }
# b's kernel UDP counters, names and values (RcvbufErrors: datagrams the
# full socket queue dropped before b could read them).
udp_snmp() { ip netns exec $NS_B grep '^Udp:' /proc/net/snmp; }
inspect_b >"$tmp/inspect0.json" || true
: >"$tmp/phases"
phase idle $base
phase decoy $base
udp_snmp >"$tmp/udp0.txt"
phase attack "$duration"
inspect_b >"$tmp/inspect1.json" || true
udp_snmp >"$tmp/udp1.txt"
# What the daemons said and saw, kept for a look after the run.
logs=$build/soak-logs
rm -rf "$logs"
mkdir -p "$logs"
ip netns exec $NS_A "$WH" show $IF_A >"$tmp/show-a.txt" 2>&1 || true
ip netns exec $NS_B "$WH" show $IF_B >"$tmp/show-b.txt" 2>&1 || true
ip netns exec $NS_A "$WH" inspect $IF_A >"$tmp/inspect-a.json" 2>&1 || true
cp "$tmp"/*.log "$tmp"/*.txt "$tmp"/*.json "$tmp"/*.ping "$tmp"/*.tcp "$tmp"/perf-b.data "$logs/" 2>/dev/null || true

# ------------------------------------------------------------------ report
echo
echo "soak: $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?'), $ncpu cores, load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $cmdline"
echo
printf '| phase | seconds | TCP Gbit/s | lowest 10 s | pings sent | lost | b RSS first / max / last, MiB | b CPU %% |\n'
printf '|---|---|---|---|---|---|---|---|\n'
while read -r name mean low sent lost r0 rmax rlast cpu; do
	case $name in attack) s=$duration ;; *) s=$base ;; esac
	printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s | %s |\n' "$name" "$s" "$mean" "$low" "$sent" "$lost" "$r0" "$rmax" "$rlast" "$cpu"
done <"$tmp/phases"
echo
echo "attackers (pinned to CPU $attack_cpu), the attack phase:"
sed 's/^/  junkflood: /' "$tmp/junk-attack.log"
sed 's/^/  hsflood:   /' "$tmp/hs-attack.log"
echo
echo "b's counters that moved during the soak (wh inspect, before -> after):"
python3 - "$tmp/inspect0.json" "$tmp/inspect1.json" <<'EOF'
import json, sys
def flat(o, p=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from flat(v, f"{p}.{k}" if p else k)
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        yield p, o
try:
    a = dict(flat(json.load(open(sys.argv[1]))))
    b = dict(flat(json.load(open(sys.argv[2]))))
except (OSError, ValueError) as e:
    print("  (wh inspect gave no JSON:", e, ")")
    sys.exit(0)
for k in sorted(b):
    d = b[k] - a.get(k, 0)
    if d and any(w in k for w in ("drop", "invalid", "dh", "cookie", "queue", "rate", "replay", "auth", "bad", "error")):
        print(f"  {k}: +{d:g}")
EOF
echo "b's kernel UDP counters that moved in the attack phase (/proc/net/snmp in b's namespace):"
python3 - "$tmp/udp0.txt" "$tmp/udp1.txt" <<'EOF'
import sys
def udp(path):
    names, vals = (l.split()[1:] for l in open(path).read().splitlines()[:2])
    return dict(zip(names, map(int, vals)))
a, b = udp(sys.argv[1]), udp(sys.argv[2])
print("  " + ", ".join(f"{k} +{b[k] - a.get(k, 0)}" for k in b if b[k] != a.get(k, 0)))
EOF
echo
python3 - "$tmp/phases" <<'EOF'
import sys
ph = {l.split()[0]: l.split() for l in open(sys.argv[1])}
dec, att = ph["decoy"], ph["attack"]
ratio = float(att[1]) / float(dec[1]) if float(dec[1]) else 0
flat = att[5] != "-" and abs(float(att[7]) - float(att[5])) <= 1.0
print(f"check: attack TCP / decoy TCP = {ratio:.2f} ({'pass' if ratio >= 0.8 else 'FAIL'}, target >= 0.80)")
print(f"check: pings lost in the attack phase: {att[4]} of {att[3]} ({'pass' if att[4] == '0' else 'FAIL'}, target 0)")
print(f"check: b's RSS first {att[5]}, last {att[7]} MiB ({'pass' if flat else 'FAIL'}, target: within 1 MiB)")
EOF
