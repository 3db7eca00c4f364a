#!/bin/bash
# The packaging's files, quickly and without root (issue 16): each man
# page of packaging/man/ is clean under `mandoc -Tlint -W warning`; each
# unit of packaging/systemd/ passes `systemd-analyze verify` (on a copy
# whose ExecStart points at the build's binaries, since verify wants them
# to exist); every command of `wh --help`, every option of `wh up` and
# every directive of the network file's grammar has its entry in the man
# pages, so that they cannot silently fall behind the CLI's tables.
# Usage: package-lint.sh WH WIREGUARD_WH. Output is TAP; a check whose
# tool is missing is skipped, and all of them missing exits 77.
set -u

[ $# -eq 2 ] || { echo "usage: $0 WH WIREGUARD_WH" >&2; exit 2; }
WH=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
WGWH=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
TOP=$(cd "$(dirname "$0")/.." && pwd)
MAN=$TOP/packaging/man
UNITS=$TOP/packaging/systemd

N=0
FAILED=0
RAN=0
ok() { N=$((N + 1)); RAN=$((RAN + 1)); echo "ok $N - $1"; }
fail() {
	N=$((N + 1)); RAN=$((RAN + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/# /'
}
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }

tmp=$(mktemp -d /tmp/wh-package-lint.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- man pages

pages=("$MAN"/*.[0-9])
for page in "${pages[@]}"; do
	if ! command -v mandoc >/dev/null; then
		skip "mandoc -Tlint $(basename "$page")" "no mandoc (apt-get install mandoc)"
	elif out=$(mandoc -Tlint -W warning "$page" 2>&1); then
		ok "mandoc -Tlint -W warning $(basename "$page"): clean"
	else
		fail "mandoc -Tlint -W warning $(basename "$page")" "$out"
	fi
done

# The commands: the first word of the help's lines "  NAME  USAGE" up to
# the blank line after "Commands:"; the options of wh up: the indented
# lines under it.
help=$("$WH" --help)
verbs=$(printf '%s\n' "$help" | awk '/^Commands:/ { on = 1; next }
	on && /^$/ { exit } on && /^  [a-z]/ { print $1 }')
options=$(printf '%s\n' "$help" | awk '/^  up / { on = 1; next }
	on && /^  [a-z]/ { exit } on && match($0, /^ +/) && RLENGTH == 17 { print $1 }')
# has_entries PAGE WHAT MACRO WORDS...: PAGE has a line ".It MACRO WORD" (a
# word "-x" as ".It Fl x") for every WORD; for Ic, ".It Ic WORD" or
# ".D1 Ic WORD" (the synopsis of a line such as route).
has_entries() {
	local page=$1 what=$2 macro=$3 w re missing=""
	shift 3
	for w in "$@"; do
		case $macro:$w in
		Ic:*) re="^\.\(It\|D1\) Ic $w\( \|$\)" ;;
		*:-*) re="^\.It Fl ${w#-}\( \|$\)" ;;
		*) re="^\.It $macro $w\( \|$\)" ;;
		esac
		grep -q "$re" "$MAN/$page" || missing+=" $w"
	done
	if [ -z "$missing" ]; then
		ok "$page has all $# $what"
	else
		fail "$page has every one of the $what" "missing:$missing"
	fi
}
if [ "$(printf '%s\n' "$verbs" | wc -l)" -lt 10 ] || [ "$(printf '%s\n' "$options" | wc -l)" -lt 5 ]; then
	fail "wh --help lists the commands and wh up's options" "$help"
else
	# shellcheck disable=SC2086
	has_entries wh.8 "commands of wh --help" Cm $verbs
	# shellcheck disable=SC2086
	has_entries wh.8 "options of wh up" Cm $options
fi
# The directives: the ones doc/network-file.md's tables name.
# shellcheck disable=SC2046
has_entries wh-network.5 "directives of doc/network-file.md" Ic \
	$(grep -o '^| `[a-z0-9]*' "$TOP/doc/network-file.md" | tr -d '|` ' | sort -u) route
if "$WGWH" --help 2>&1 | grep -q -- '-f/--foreground' &&
	grep -q '^\.Op Fl f | Fl -foreground' "$MAN/wireguard-wh.8"; then
	ok "wireguard-wh.8 has the options of wireguard-wh's usage"
else
	fail "wireguard-wh.8 has -f/--foreground" "$("$WGWH" --help 2>&1)"
fi

# ---------------------------------------------------------------- units

# verify UNITFILE AS: systemd-analyze verify on a copy named AS, in a
# directory of its own, with /usr/bin/wh and wireguard-wh the build's.
verify() {
	local dir=$tmp/$2
	mkdir -p "$dir"
	sed -e "s|/usr/bin/wh |$WH |g" -e "s|/usr/bin/wireguard-wh|$WGWH|g" "$1" >"$dir/$2"
	(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$2" 2>&1)
}
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify wh@.service" "no systemd-analyze"
elif out=$(verify "$UNITS/wh@.service" wh@wh0.service) && [ -z "$out" ]; then
	ok "systemd-analyze verify wh@.service (as wh@wh0.service): clean"
else
	fail "systemd-analyze verify wh@.service" "$out"
fi
# The drop-in, on wireguard-tools' wg-quick@.service when it is there.
wgq=/lib/systemd/system/wg-quick@.service
if ! command -v systemd-analyze >/dev/null || [ ! -f "$wgq" ]; then
	skip "systemd-analyze verify the wg-quick@ drop-in" "no systemd-analyze or no $wgq"
else
	dir=$tmp/wg-quick@wg0.service
	mkdir -p "$dir/wg-quick@.service.d"
	cp "$wgq" "$dir/wg-quick@wg0.service"
	cp "$UNITS/wg-quick@.service.d/wireguard-wh.conf" "$dir/wg-quick@.service.d/"
	# A drop-in that was not read could not fail: check that it was.
	printf '[Service]\nBogusKey=1\n' >"$dir/wg-quick@.service.d/zz-probe.conf"
	probe=$(cd "$dir" && systemd-analyze verify --man=no wg-quick@wg0.service 2>&1)
	rm "$dir/wg-quick@.service.d/zz-probe.conf"
	out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
		wg-quick@wg0.service 2>&1)
	if ! printf '%s' "$probe" | grep -q BogusKey; then
		fail "systemd-analyze reads drop-ins beside the unit" "$probe"
	elif [ -z "$out" ] && grep -qx 'Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-wh' \
		"$dir/wg-quick@.service.d/wireguard-wh.conf"; then
		ok "systemd-analyze verify wg-quick@wg0.service with the wireguard-wh drop-in: clean"
	else
		fail "systemd-analyze verify the wg-quick@ drop-in" "$out"
	fi
fi

echo "1..$N"
[ "$RAN" -gt 0 ] || exit 77
[ "$FAILED" -eq 0 ]
