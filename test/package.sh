#!/bin/bash
# The Debian package, built and installed (issue 16): packaging/deb.sh
# builds it from this tree (dpkg-buildpackage -b -us -uc, about a minute
# on a quiet 2-core machine); lintian finds no error in it; its Depends
# are the shared libraries it links and nothing else; it is unpacked into
# a fresh root (dpkg -x), where wh --version and wireguard-wh run, `man
# -l` formats each page without a warning, and the units, the wg-quick@
# drop-in, the completions and the example are the tree's.
# Usage: package.sh [OUTDIR] (default: a temporary directory). Output is
# TAP; exits 77 when a tool is missing.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
fail() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 40 | sed 's/^/# /'
}
done_() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit; }

for tool in dpkg-buildpackage dh lintian man dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP missing $tool"; exit 77; }
done

tmp=$(mktemp -d /tmp/wh-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=${1:-$tmp/out}
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$TOP/meson.build" | head -1)

start=$(date +%s)
if deb=$(bash "$TOP/packaging/deb.sh" "$out" 2>"$tmp/deb.err" | tail -n 1) && [ -f "$deb" ]; then
	ok "packaging/deb.sh builds $(basename "$deb") in $(($(date +%s) - start)) s"
else
	fail "packaging/deb.sh builds the package" "$(cat "$tmp/deb.err")"
	done_
fi

lint=$(lintian --fail-on error --display-info "$deb" 2>&1)
rc=$?
tags=$(printf '%s\n' "$lint" | grep -E '^[EWIPX]: ' || true)
if [ $rc -eq 0 ] && ! printf '%s\n' "$tags" | grep -q '^E: '; then
	ok "lintian: no error ($(printf '%s\n' "$tags" | grep -c '^W: ') warnings, $(printf '%s\n' "$tags" | grep -c '^I: ') infos)"
	[ -z "$tags" ] || printf '%s\n' "$tags" | sed 's/^/# /'
else
	fail "lintian: no error" "$lint"
fi

# Depends: ${shlibs:Depends} and ${misc:Depends} only, i.e. libraries.
depends=$(dpkg-deb -f "$deb" Depends)
other=$(printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -v '^lib' || true)
if [ -n "$depends" ] && [ -z "$other" ]; then
	ok "Depends are shared libraries only ($depends)"
else
	fail "Depends are shared libraries only" "Depends: $depends"
fi

root=$tmp/root
dpkg -x "$deb" "$root"
if v=$("$root/usr/bin/wh" --version) && [ "$v" = "wh $version" ]; then
	ok "the installed wh --version: $v"
else
	fail "the installed wh --version is 'wh $version'" "$v"
fi
if "$root/usr/bin/wireguard-wh" --help 2>&1 | grep -q 'Usage: wireguard-wh'; then
	ok "the installed wireguard-wh runs"
else
	fail "the installed wireguard-wh runs" "$("$root/usr/bin/wireguard-wh" --help 2>&1)"
fi

for page in usr/share/man/man8/wh.8.gz usr/share/man/man5/wh-network.5.gz \
	usr/share/man/man8/wireguard-wh.8.gz; do
	if [ ! -f "$root/$page" ]; then
		fail "$page is in the package"
		continue
	fi
	text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$root/$page" 2>"$tmp/man.err")
	if [ -s "$tmp/man.err" ] || [ "$(printf '%s\n' "$text" | wc -l)" -lt 20 ]; then
		fail "man -l $page" "$(cat "$tmp/man.err")"
	else
		ok "man -l $page: $(printf '%s\n' "$text" | wc -l) lines, no warning"
	fi
done

same() { cmp -s "$1" "$2" && ok "$3" || fail "$3" "$(diff "$1" "$2" 2>&1)"; }
same "$TOP/packaging/systemd/wh@.service" "$root/lib/systemd/system/wh@.service" \
	"/lib/systemd/system/wh@.service is packaging/systemd's"
same "$TOP/packaging/systemd/wg-quick@.service.d/wireguard-wh.conf" \
	"$root/lib/systemd/system/wg-quick@.service.d/wireguard-wh.conf" \
	"the wg-quick@.service drop-in is packaging/systemd's"
same "$TOP/packaging/completion/wh.bash" "$root/usr/share/bash-completion/completions/wh" \
	"the bash completion"
same "$TOP/packaging/completion/wh.zsh" "$root/usr/share/zsh/vendor-completions/_wh" \
	"the zsh completion"
same "$TOP/packaging/debian/examples/net.conf" "$root/usr/share/doc/wh/examples/net.conf" \
	"the example network file"
done_
