#!/bin/bash
# The verbs of `wh` against real nodes (issue 13: WireHub's commands): a
# boot node, two members alpha and bravo, and later a public node started
# without a private key, each in its own namespace on one bridge.
# Usage: cli.sh WH, where WH is the `wh` binary.
#
#                 ns SW (whlab-cl-PID-sw): bridge br0
#   +-----------------------------------------------------------+
#   |  sboot          sa              sb              sp        |
#   +----|-------------|---------------|---------------|--------+
#        |             |               |               |  (veth)
#   +----|-----+ +-----|-----+ +-------|---+ +---------|-+
#   | eth0     | | eth0      | | eth0      | | eth0      |
#   | .0.10    | | .0.1      | | .0.2      | | .0.3      |
#   | boot     | | alpha     | | bravo     | | p: public |
#   | cl<P>boot| | cl<P>a    | | cl<P>b    | | cl<P>p    |
#   +----------+ +-----------+ +-----------+ +-----------+
#   outer addresses 198.18.0.N/24, UDP port 62096; overlay 198.19.0.0/16
#
# Checks: `wh` alone shows the nodes (it printed the usage before);
# `wh help` and `--help` print the usage with every verb and wh up's
# options; `wh show IFACE all` (and `wh show all`) list the DHT table with
# the boot node in a bucket, in text and JSON; lookup, ping and resolve by
# hostname (any case) and by key; unknown names refused, naming them;
# `wh up` without private-key runs a public node under a new key of the
# network's workbit that joins the DHT; bash completion (and zsh's when zsh
# is installed) of verbs, interfaces, hostnames and wh up's options.
# Output is TAP.

LAB_TAG=cl
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 WH" >&2; exit 2; }
WH=$(lab_impl_abs "$1")

PORT=62096

lab_require_root
lab_require_cmd ip ping python3 timeout
lab_require_impl "$WH"

lab_wh_init

declare -A NSOF=() IFOF=() IPOF=() PUB=() WHPID=() HOST=()
HOST[a]=alpha
HOST[b]=bravo

whx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$WH" "$@"
}

# start_node NODE [nokey]: `wh up` in the foreground in NODE's namespace,
# with its private key unless nokey; waits for its control socket.
start_node() {
	local node=$1 ns=${NSOF[$1]} iface=${IFOF[$1]} pid
	shift
	if [ "${1:-}" = nokey ]; then set --; else set -- private-key "$LAB_DIR/$node.key"; fi
	rm -f "$WH_CTL_DIR/$iface.sock"
	LAB_IFACES+=("$iface")
	ip netns exec "$ns" env LOG_LEVEL=info "$WH" up "$LAB_DIR/net.conf" "$@" \
		interface "$iface" listen-port "$PORT" -f >"$LAB_DIR/$iface.log" 2>&1 </dev/null &
	pid=$!
	LAB_PIDS+=("$pid")
	WHPID[$node]=$pid
	if ! wait_for "[ -S $WH_CTL_DIR/$iface.sock ]" 20; then
		echo "wh up did not create the control socket of $iface in $ns"
		impl_log "$iface"
		return 1
	fi
	kill -0 "$pid" 2>/dev/null
}

start_case() {
	local node=$1 errf="$LAB_DIR/start.err"
	if start_node "$@" >"$errf" 2>&1; then
		tap_ok "wh up: $node starts (${IFOF[$node]})"
	else
		tap_fail "wh up: $node starts" "$(cat "$errf")"
	fi
}

# expect DESC RC PATTERN CMD...: CMD exits RC and its output (stdout and
# stderr) matches the extended regular expression PATTERN.
expect() {
	local desc=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -Eq -- "$pat" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "exit $rc (want $want), output:" "$out" \
			"(want a match of: $pat)"
	fi
}

# ---------------------------------------------------------------- the lab

new_ns SW || { tap_fail "create the switch namespace"; tap_done; }
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
lab_ok=1
n=1
for node in boot a b p; do
	var=N_${node^^}
	new_ns "$var" || { lab_ok=0; break; }
	NSOF[$node]=${!var}
	IFOF[$node]=$(wg_iface "$node")
	if [ "$node" = boot ]; then IPOF[$node]=198.18.0.10; else IPOF[$node]=198.18.0.$n; n=$((n + 1)); fi
	veth "$SW" "s$node" "${NSOF[$node]}" eth0 &&
		ip -n "$SW" link set "s$node" master br0 &&
		addr "${NSOF[$node]}" eth0 "${IPOF[$node]}/24" || { lab_ok=0; break; }
	[ "$node" = p ] && continue
	(umask 077 && "$WH" genkey workbit 8 >"$LAB_DIR/$node.key") &&
		PUB[$node]=$("$WH" pubkey <"$LAB_DIR/$node.key") || { lab_ok=0; break; }
done
[ "$lab_ok" = 1 ] && wait_for "ping_ok ${NSOF[boot]} ${IPOF[b]} && ping_ok ${NSOF[boot]} ${IPOF[p]}" 10 ||
	lab_ok=0
if [ "$lab_ok" = 1 ]; then
	tap_ok "lab: four namespaces on a bridge, keys with workbit 8"
else
	tap_fail "lab: four namespaces on a bridge" "$(ip -n "$SW" link 2>&1)"
	tap_done
fi

cat >"$LAB_DIR/net.conf" <<EOF2
name clilab
subnet 198.19.0.0/16
workbit 8
boot ${PUB[boot]} 198.18.0.10:$PORT
trust ${HOST[a]} ${PUB[a]}
trust ${HOST[b]} ${PUB[b]}
EOF2

for node in boot a b; do
	start_case "$node"
done

# ---------------------------------------------------------------- wh alone, help

# /var/run/wh is shared: other nodes of the machine may show too.
out=$(whx "${NSOF[a]}" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -q "^interface ${IFOF[a]}, network clilab, member" <<<"$out" &&
	grep -q "^interface ${IFOF[b]}, network clilab, member" <<<"$out" &&
	grep -q "^interface ${IFOF[boot]}, network clilab, public node" <<<"$out"; then
	tap_ok "wh alone: shows every node (like wh show), exit 0"
else
	tap_fail "wh alone: shows every node (like wh show), exit 0" "exit $rc" "$(head -20 <<<"$out")"
fi
for h in help --help -h; do
	expect "wh $h: the usage, with resolve, completion and wh up's relay, relay-limit, portmap" 0 \
		'relay-limit PPS BYTES_PER_S' bash -c "'$WH' $h | grep -q '^  resolve ' &&
			'$WH' $h | grep -q '^  completion ' && '$WH' $h | grep -q ' relay on|off ' &&
			'$WH' $h | grep -q ' portmap on|off ' && '$WH' $h"
done

# ---------------------------------------------------------------- show all

# The boot node in a's table: "bucket N  KEY  ADDRESS  ..., boot".
boot_line="^  bucket [0-9]+  ${PUB[boot]}  198\.18\.0\.10:$PORT  .*public.*, boot"
if wait_for "whx ${NSOF[a]} show ${IFOF[a]} all | grep -Eq '$boot_line'" 15; then
	tap_ok "wh show IFACE all: the boot node in a bucket of the DHT table"
	tap_diag "$(whx "${NSOF[a]}" show "${IFOF[a]}" all | sed -n '/^dht table/,/^$/p')"
else
	tap_fail "wh show IFACE all: the boot node in a bucket of the DHT table" \
		"$(whx "${NSOF[a]}" show "${IFOF[a]}" all 2>&1)"
fi
# Nodes of other runs on this machine may answer too, or fail (an older wh
# knows no "show all"): ours must be there.
out=$(whx "${NSOF[a]}" show all 2>&1)
if grep -Eq "$boot_line" <<<"$out" && grep -q "^interface ${IFOF[b]}, " <<<"$out"; then
	tap_ok "wh show all: every node with its DHT table"
else
	tap_fail "wh show all: every node with its DHT table" "$out"
fi
out=$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)
if grep -q "^interface ${IFOF[a]}," <<<"$out" && ! grep -q "^dht table" <<<"$out"; then
	tap_ok "wh show IFACE: no DHT table without all"
else
	tap_fail "wh show IFACE: no DHT table without all" "$out"
fi

# JSON: the table's entries with bucket, key, address, RTT, flags; the
# bucket as the table keeps it, never beyond the bits the key shares with
# ours.
whx "${NSOF[a]}" show "${IFOF[a]}" all json >"$LAB_DIR/all.json" 2>&1
whx "${NSOF[a]}" show "${IFOF[a]}" json >"$LAB_DIR/light.json" 2>&1
if out=$(python3 - "$LAB_DIR" "${PUB[boot]}" <<'PY' 2>&1
import base64, json, sys
d, boot = sys.argv[1], sys.argv[2]
full = json.load(open(d + "/all.json"))
light = json.load(open(d + "/light.json"))
assert "dht" not in light, "show json has a dht table"
own = base64.urlsafe_b64decode(full["public_key"] + "=")
def cpl(k):
    k = base64.urlsafe_b64decode(k + "=")
    n = 0
    for a, b in zip(own, k):
        x = a ^ b
        if x:
            return n + 8 - x.bit_length()
        n += 8
    return n
found = [e for e in full["dht"] if e["key"] == boot]
assert found, "boot not in %r" % full["dht"]
for e in full["dht"]:
    for f in ("bucket", "address", "srtt_us", "seen_s_ago", "heard", "nated", "relay", "boot"):
        assert f in e, "%s missing in %r" % (f, e)
    assert 0 <= e["bucket"] <= cpl(e["key"]), "bucket %d, cpl %d" % (e["bucket"], cpl(e["key"]))
b = found[0]
assert b["boot"] and not b["nated"] and b["address"] == "198.18.0.10:62096", b
print("boot in bucket %d (cpl %d), %d entries" % (b["bucket"], cpl(boot), len(full["dht"])))
PY
); then
	tap_ok "wh show IFACE all json: the DHT table ($out)"
else
	tap_fail "wh show IFACE all json: the DHT table" "$out" "$(cat "$LAB_DIR/all.json")"
fi

# ---------------------------------------------------------------- names

V4B=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])' \
	< <(whx "${NSOF[b]}" show "${IFOF[b]}" json))
if wait_for "ping_ok ${NSOF[a]} $V4B" 20; then
	tap_ok "alpha pings bravo over the overlay ($V4B)"
else
	tap_fail "alpha pings bravo over the overlay ($V4B)" "$(whx "${NSOF[a]}" show "${IFOF[a]}" 2>&1)"
fi

for target in bravo BRAVO Bravo "${PUB[b]}"; do
	expect "wh lookup IFACE $target: found, bravo's key" 0 \
		"\"key\": \"${PUB[b]}\", \"found\": true" whx "${NSOF[a]}" lookup "${IFOF[a]}" "$target"
	expect "wh ping IFACE $target: a pong from bravo's key" 0 "^pong from ${PUB[b]}: rtt" \
		whx "${NSOF[a]}" ping "${IFOF[a]}" "$target"
done
expect "wh resolve IFACE bravo: bravo's key and overlay addresses" 0 \
	"^\{\"hostname\": \"bravo\", \"public_key\": \"${PUB[b]}\", \"kind\": \"trust\", \"self\": false, \"ipv4\": \"$V4B\", \"ipv6\": \"fd" \
	whx "${NSOF[a]}" resolve "${IFOF[a]}" bravo
expect "wh resolve IFACE KEY: the key's hostname (the reverse)" 0 \
	"^\{\"hostname\": \"bravo\", \"public_key\": \"${PUB[b]}\"" \
	whx "${NSOF[a]}" resolve "${IFOF[a]}" "${PUB[b]}"
expect "wh resolve IFACE ALPHA: our own entry" 0 "\"hostname\": \"alpha\", .*\"self\": true" \
	whx "${NSOF[a]}" resolve "${IFOF[a]}" ALPHA
expect "wh resolve IFACE BOOTKEY: the boot line, no overlay address" 0 \
	"\"kind\": \"boot\", \"self\": false, \"ipv4\": null, \"ipv6\": null, \"endpoint\": \"198.18.0.10:$PORT\"" \
	whx "${NSOF[a]}" resolve "${IFOF[a]}" "${PUB[boot]}"
for verb in lookup ping resolve; do
	expect "wh $verb IFACE nosuch: refused, naming it" 1 \
		"^error: unknown host 'nosuch': not a hostname of network 'clilab' nor a public key" \
		whx "${NSOF[a]}" "$verb" "${IFOF[a]}" nosuch
done
stranger=$("$WH" genkey | "$WH" pubkey)
expect "wh resolve IFACE with a key of no line: refused, naming it" 1 \
	"^error: the key $stranger is in no line of network 'clilab'" \
	whx "${NSOF[a]}" resolve "${IFOF[a]}" "$stranger"
expect "wh ping IFACE 'two words': refused by wh" 2 "neither a hostname nor a public key" \
	whx "${NSOF[a]}" ping "${IFOF[a]}" "two words"
# A dotted hostname, when the network file takes them (issue 13, item 1).
printf 'trust c.test %s\n' "$("$WH" genkey | "$WH" pubkey)" >>"$LAB_DIR/net.conf"
if out=$(whx "${NSOF[a]}" reload "${IFOF[a]}" 2>&1); then
	expect "wh resolve IFACE C.Test: a dotted hostname, without case" 0 \
		'^\{"hostname": "c\.test"' whx "${NSOF[a]}" resolve "${IFOF[a]}" C.Test
else
	tap_skip "wh resolve IFACE c.test (a dotted hostname)" "the network file refuses it: $out"
	sed -i '$d' "$LAB_DIR/net.conf"
fi

# ---------------------------------------------------------------- up without a key

# A search too long for a start is refused before anything binds.
printf 'name clilab\nsubnet 198.19.0.0/16\nworkbit 30\n' >"$LAB_DIR/wb30.conf"
expect "wh up without private-key at workbit 30: refused, naming the wh genkey to run" 1 \
	"no private-key given, and a new key for workbit 30 is too long a search .* 'wh genkey workbit 30 namespace public'" \
	ip netns exec "${NSOF[p]}" "$WH" up "$LAB_DIR/wb30.conf" interface "$(wg_iface z)" -f
start_case p nokey
plog="$LAB_DIR/${IFOF[p]}.log"
if wait_for "grep -q 'no private-key given: running as a public node with a new key' '$plog'" 10; then
	PUB[p]=$(sed -n 's/.*no private-key given: running as a public node with a new key \([A-Za-z0-9_-]*\).*/\1/p' "$plog" | head -1)
	tap_ok "wh up without private-key: says it runs as a public node with a new key ${PUB[p]}"
else
	tap_fail "wh up without private-key: says it runs as a public node with a new key" "$(cat "$plog")"
fi
wb=$(printf '%s' "${PUB[p]}" | "$WH" workbit 2>&1)
if [ -n "${PUB[p]}" ] && [ "$wb" -ge 8 ] 2>/dev/null; then
	tap_ok "the new key meets the network's workbit 8 ($wb)"
else
	tap_fail "the new key meets the network's workbit 8" "key '${PUB[p]}', workbit '$wb'"
fi
expect "wh show on the keyless node: a public node with that key" 0 \
	"\"public_key\": \"${PUB[p]}\",.*\"member\": false" \
	bash -c "ip netns exec ${NSOF[p]} '$WH' show ${IFOF[p]} json | tr -d '\n'"
if [ -n "${PUB[p]}" ] &&
	wait_for "whx ${NSOF[boot]} show ${IFOF[boot]} all | grep -Eq '^  bucket [0-9]+  ${PUB[p]}  198\.18\.0\.3:$PORT'" 15; then
	tap_ok "the keyless public node joined: the boot node has it in its table"
else
	tap_fail "the keyless public node joined: the boot node has it in its table" \
		"$(whx "${NSOF[boot]}" show "${IFOF[boot]}" all 2>&1)" "$(cat "$plog")"
fi
expect "wh lookup IFACE of the keyless node's key from alpha: found" 0 \
	"\"key\": \"${PUB[p]}\", \"found\": true" whx "${NSOF[a]}" lookup "${IFOF[a]}" "${PUB[p]}"

# ---------------------------------------------------------------- completion

# bash: the script wh prints, its function called as bash calls it.
complete_bash() {
	bash -c '
		source <("$1" completion bash) || exit 1
		[ "$(complete -p wh)" = "complete -F _wh wh" ] || { echo "complete -p: $(complete -p wh)"; exit 1; }
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_wh
		printf "%s\n" "${COMPREPLY[@]}"' _ "$WH" "$WH" "$@"
}
# has WORD... < list: every WORD is a line of the list.
has() {
	local list w
	list=$(cat)
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$list" || { echo "missing '$w' in: $list"; return 1; }
	done
}
# comp_case SHELL DESC WORDS... -- WANT...: completing WORDS (the last
# the word under the cursor) in SHELL offers every WANT.
comp_case() {
	local shell=$1 desc=$2 out
	shift 2
	local -a words=()
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	if out=$("complete_$shell" "${words[@]}" 2>&1 | has "$@"); then
		tap_ok "$shell completion: $desc"
	else
		tap_fail "$shell completion: $desc" "$out"
	fi
}
comp_case bash "verbs" "" -- show up down reload lookup ping resolve inspect genkey completion
comp_case bash "verbs by prefix" "re" -- reload resolve
comp_case bash "interfaces of running nodes" ping "" -- "${IFOF[a]}" "${IFOF[b]}" "${IFOF[boot]}"
comp_case bash "hostnames of the interface's network" ping "${IFOF[a]}" "" -- alpha bravo
comp_case bash "hostnames by prefix" resolve "${IFOF[a]}" "br" -- bravo
comp_case bash "wh up's options" up net.conf "" -- private-key interface listen-port relay \
	relay-limit portmap -f
comp_case bash "wh up relay on|off" up net.conf relay "" -- on off
comp_case bash "wh show's words" show "${IFOF[a]}" "" -- all light json
out=$(complete_bash ping "${IFOF[a]}" "x" 2>&1)
if [ -z "$out" ]; then
	tap_ok "bash completion: nothing for a prefix no hostname has"
else
	tap_fail "bash completion: nothing for a prefix no hostname has" "$out"
fi

# zsh: the function with compadd and _files stood in for, as zsh's
# completion system calls it (words, CURRENT).
if command -v zsh >/dev/null 2>&1; then
	complete_zsh() {
		zsh -f -c '
			compdef() { print -r -- "compdef $*" >&2 }
			compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2} }
			_files() { print -r -- "(files)" }
			eval "$("$1" completion zsh)" 2>/dev/null || exit 1
			shift
			words=("$@")
			CURRENT=$#words
			_wh' _ "$WH" "$WH" "$@"
	}
	comp_case zsh "verbs" "" -- show up resolve completion
	comp_case zsh "interfaces" lookup "" -- "${IFOF[a]}" "${IFOF[boot]}"
	comp_case zsh "hostnames" lookup "${IFOF[a]}" "" -- alpha bravo
	comp_case zsh "wh up's options" up net.conf "" -- private-key relay-limit portmap -f
	comp_case zsh "wh up's config is a file" up "" -- "(files)"
else
	tap_skip "zsh completion" "zsh is not installed (packaging/setup.sh installs it)"
fi

tap_done
