#!/bin/bash
# End-to-end test of the key tools (wh genkey, pubkey, workbit and the
# command table), printing TAP.
#
#   wh genkey ──> wh pubkey ──> wh workbit
#        └──────> wg pubkey      (wireguard-tools, same key bytes)
#                 python3 hashlib.blake2b (an independent workbit count)
#
# Usage: keytools.sh path/to/wh
# The parts that need wg or python3 are reported as TAP skips when those
# are missing; everything else still runs.
set -u -o pipefail

WH=${1:-}
if [ -z "$WH" ] || [ ! -x "$WH" ]; then
	echo "1..0 # SKIP no wh binary given (usage: keytools.sh path/to/wh)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0

# ok CONDITION-STATUS DESCRIPTION
ok() {
	local status=$1
	shift
	n=$((n + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $n - $*"
	else
		echo "not ok $n - $*"
		failed=$((failed + 1))
	fi
}

skip() {
	local why=$1
	shift
	n=$((n + 1))
	echo "ok $n - $* # SKIP $why"
}

diag() {
	sed 's/^/# /' <<<"$*"
}

have_wg=0
have_py=0
command -v wg >/dev/null 2>&1 && have_wg=1
command -v python3 >/dev/null 2>&1 && python3 -c 'import hashlib; hashlib.blake2b' 2>/dev/null &&
	have_py=1

# Standard base64 (44 characters, padded) to URL-safe unpadded (43).
to_url() {
	tr '+/' '-_' | tr -d '='
}

# Leading zero bits of BLAKE2b-256(pk || ns), pk in URL-safe base64.
py_workbit() {
	python3 - "$1" "$2" <<'EOF'
import base64, hashlib, sys
s, ns = sys.argv[1], sys.argv[2]
pk = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
assert len(pk) == 32
h = int.from_bytes(hashlib.blake2b(pk + ns.encode(), digest_size=32).digest(), "big")
print(256 - h.bit_length())
EOF
}

is_b64_key() {
	[[ $1 =~ ^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$ ]]
}

is_url_key() {
	[[ $1 =~ ^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$ ]]
}

# ---- genkey and pubkey ------------------------------------------------------
sk=$("$WH" genkey)
ok $? "wh genkey exits 0"
is_b64_key "$sk"
ok $? "wh genkey prints one 44-character standard base64 key (${#sk} characters)"

pk=$("$WH" pubkey <<<"$sk")
ok $? "wh pubkey exits 0"
is_url_key "$pk"
ok $? "wh pubkey prints a 43-character URL-safe unpadded key"

pk2=$(printf '%s' "$sk" | "$WH" pubkey)
[ "$pk2" = "$pk" ]
ok $? "wh pubkey accepts a key without a trailing newline"

pk3=$(to_url <<<"$sk" | "$WH" pubkey)
[ "$pk3" = "$pk" ]
ok $? "wh pubkey accepts the private key in URL-safe unpadded form"

pk4=$(printf '%s\r\n' "$sk" | "$WH" pubkey)
[ "$pk4" = "$pk" ]
ok $? "wh pubkey accepts a CRLF line ending"

# Two fresh keys differ.
sk2=$("$WH" genkey)
[ -n "$sk2" ] && [ "$sk2" != "$sk" ]
ok $? "two wh genkey runs give different keys"

# ---- interoperability with wireguard-tools ----------------------------------
if [ $have_wg = 1 ]; then
	same=0
	for i in 1 2 3 4 5; do
		k=$("$WH" genkey)
		ours=$("$WH" pubkey <<<"$k")
		theirs=$(wg pubkey <<<"$k" | to_url)
		if [ -z "$ours" ] || [ "$ours" != "$theirs" ]; then
			same=1
			diag "key $i: wh pubkey '$ours', wg pubkey '$theirs'"
		fi
	done
	ok $same "wh pubkey == wg pubkey (URL-safe, unpadded) on 5 keys from wh genkey"

	same=0
	for i in 1 2 3 4 5; do
		k=$(wg genkey)
		ours=$("$WH" pubkey <<<"$k")
		theirs=$(wg pubkey <<<"$k" | to_url)
		[ -n "$ours" ] && [ "$ours" = "$theirs" ] || same=1
	done
	ok $same "wh pubkey == wg pubkey on 5 keys from wg genkey"

	wg pubkey <<<"$sk" >/dev/null 2>&1
	ok $? "wg pubkey accepts wh genkey's output"

	w1=$(wg pubkey <<<"$sk" | "$WH" workbit)
	w2=$("$WH" pubkey <<<"$sk" | "$WH" workbit)
	[ -n "$w1" ] && [ "$w1" = "$w2" ]
	ok $? "wh workbit reads wg's padded standard base64 public key ($w1, $w2)"
else
	skip "wg (wireguard-tools) not installed" "wh pubkey == wg pubkey on wh keys"
	skip "wg (wireguard-tools) not installed" "wh pubkey == wg pubkey on wg keys"
	skip "wg (wireguard-tools) not installed" "wg pubkey accepts wh genkey's output"
	skip "wg (wireguard-tools) not installed" "wh workbit reads wg's public key"
fi

# ---- workbit -----------------------------------------------------------------
start=$(date +%s%N)
sk0=$(timeout 10 "$WH" genkey workbit 0)
st=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
is_b64_key "$sk0" && [ $st -eq 0 ] && [ $elapsed -lt 2000 ]
ok $? "wh genkey workbit 0 returns at once (${elapsed} ms)"

sk12=$(timeout 60 "$WH" genkey workbit 12)
ok $? "wh genkey workbit 12 exits 0"
pk12=$("$WH" pubkey <<<"$sk12")
w12=$("$WH" workbit <<<"$pk12")
[[ $w12 =~ ^[0-9]+$ ]] && [ "$w12" -ge 12 ]
ok $? "wh genkey workbit 12 | wh pubkey | wh workbit >= 12 (got '$w12')"

w12d=$("$WH" workbit namespace public <<<"$pk12")
[ "$w12d" = "$w12" ]
ok $? "the default namespace is \"public\""

if [ $have_py = 1 ]; then
	pw=$(py_workbit "$pk12" public)
	[ "$pw" = "$w12" ]
	ok $? "wh workbit == python3 hashlib.blake2b count for the workbit-12 key ($w12, $pw)"

	same=0
	for i in 1 2 3 4 5 6 7 8; do
		k=$("$WH" genkey | "$WH" pubkey)
		for ns in public "" "another namespace"; do
			ours=$("$WH" workbit namespace "$ns" <<<"$k")
			theirs=$(py_workbit "$k" "$ns")
			if [ "$ours" != "$theirs" ]; then
				same=1
				diag "key $k namespace '$ns': wh $ours, python $theirs"
			fi
		done
	done
	ok $same "wh workbit == python3 hashlib.blake2b count on 8 keys x 3 namespaces"
else
	skip "python3 with hashlib.blake2b not available" "wh workbit == python3 count (workbit-12 key)"
	skip "python3 with hashlib.blake2b not available" "wh workbit == python3 count (random keys)"
fi

skns=$(timeout 60 "$WH" genkey workbit 10 namespace testnet)
ok $? "wh genkey workbit 10 namespace testnet exits 0"
pkns=$("$WH" pubkey <<<"$skns")
wns=$("$WH" workbit namespace testnet <<<"$pkns")
[[ $wns =~ ^[0-9]+$ ]] && [ "$wns" -ge 10 ]
ok $? "its workbit in namespace testnet is >= 10 (got '$wns')"
if [ $have_py = 1 ]; then
	[ "$(py_workbit "$pkns" testnet)" = "$wns" ]
	ok $? "python3 agrees on the namespace testnet count"
else
	skip "python3 with hashlib.blake2b not available" "python3 agrees on the namespace count"
fi

for t in 1 4; do
	k=$(timeout 60 "$WH" genkey workbit 10 threads $t)
	st=$?
	w=$("$WH" pubkey <<<"$k" | "$WH" workbit)
	[ $st -eq 0 ] && [[ $w =~ ^[0-9]+$ ]] && [ "$w" -ge 10 ]
	ok $? "wh genkey workbit 10 threads $t gives >= 10 (got '$w')"
done

# ---- bad input on stdin: non-zero exit, one line on stderr, nothing on stdout
# check_bad NAME SUBCOMMAND... ; input in $tmp/in
check_bad() {
	local what=$1
	shift
	"$WH" "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
	local st=$?
	local lines
	lines=$(wc -l <"$tmp/err")
	[ $st -ne 0 ] && [ $st -ne 2 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/out" ] &&
		grep -q "^wh $1: " "$tmp/err"
	ok $? "wh $*: $what is refused with exit 1 and one line: $(head -c 100 "$tmp/err" | head -1)"
}

for cmd in pubkey workbit; do
	: >"$tmp/in"
	check_bad "empty input" $cmd
	printf '\n' >"$tmp/in"
	check_bad "an empty line" $cmd
	printf '%s\n' "${sk:0:40}" >"$tmp/in"
	check_bad "a key too short" $cmd
	printf '%sAAAA\n' "$sk" >"$tmp/in"
	check_bad "a key too long" $cmd
	printf '%s\n' "${sk:0:20}*${sk:21}" >"$tmp/in"
	check_bad "a bad character" $cmd
	printf '%s\n' "${sk:0:20} ${sk:21}" >"$tmp/in"
	check_bad "an embedded space" $cmd
	printf '%s\nsomething else\n' "$sk" >"$tmp/in"
	check_bad "trailing junk on a second line" $cmd
	printf '%s\n\n' "$sk" >"$tmp/in"
	check_bad "two line endings" $cmd
	printf '%s\n' "${sk:0:42}B=" >"$tmp/in"
	check_bad "a non-canonical last character" $cmd
	printf '%s\n' "${sk:0:20}"$'\xc3'"${sk:21}" >"$tmp/in"
	check_bad "a non-ASCII byte" $cmd
	head -c 4096 /dev/zero | tr '\0' 'A' >"$tmp/in"
	check_bad "4096 bytes of input" $cmd
done

# ---- usage errors: exit 2 ------------------------------------------------------
# check_usage DESCRIPTION ARGS...
check_usage() {
	local what=$1
	shift
	"$WH" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	local st=$?
	[ $st -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]
	ok $? "wh $*: $what exits 2 (got $st): $(head -1 "$tmp/err" | head -c 100)"
}

check_usage "an unknown command" frobnicate
check_usage "workbit not a number" genkey workbit abc
check_usage "workbit above 256" genkey workbit 257
check_usage "a negative workbit" genkey workbit -1
check_usage "zero threads" genkey threads 0
check_usage "a missing value" genkey workbit
check_usage "an unknown argument" genkey colour blue
check_usage "an argument" pubkey extra
check_usage "a bad option" workbit namespace
"$WH" frobnicate </dev/null 2>"$tmp/err" >/dev/null
[ "$(wc -l <"$tmp/err")" -eq 1 ]
ok $? "an unknown command gets a one-line error"
# WireHub's habit (issue 13): wh alone is wh show (its nodes, or "no node
# runs here"), not the usage and not a usage error.
"$WH" </dev/null >"$tmp/out" 2>&1
st=$?
[ $st -ne 2 ] && ! grep -q "^Usage:" "$tmp/out"
ok $? "wh without a command is wh show, not the usage (exit $st)"

# ---- version and help -----------------------------------------------------------
v=$("$WH" --version)
st=$?
[ $st -eq 0 ] && [[ $v =~ ^wh\ [0-9]+\.[0-9]+\.[0-9]+ ]]
ok $? "wh --version prints 'wh X.Y.Z' ('$v')"

"$WH" help >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 0 ] && grep -q genkey "$tmp/out" && grep -q pubkey "$tmp/out" &&
	grep -q workbit "$tmp/out" && [ ! -s "$tmp/err" ]
ok $? "wh help exits 0 and lists genkey, pubkey and workbit on stdout"

echo "1..$n"
if [ $failed -gt 0 ]; then
	echo "# $failed of $n failed"
	exit 1
fi
exit 0
