#!/bin/bash
# The FreeBSD and macOS interface configuration (tun/ifconfig_bsd.c),
# compiled for those systems with clang -fsyntax-only on Linux: there is
# no cross toolchain here and Debian ships no FreeBSD or macOS headers, so
# it is compiled against the declarations in test/platform/include, which
# we wrote from the systems' documented structures (see its README).  A
# pass means that the file is valid C for each target and agrees with our
# reading of those interfaces: it says nothing of how the code behaves,
# which has never run on either system.  Usage: syntax.sh SOURCE-ROOT.
# Output is TAP; skips (77) without clang.

[ $# -eq 1 ] || { echo "usage: $0 SOURCE-ROOT" >&2; exit 2; }
ROOT=$1
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "1..0 # SKIP no clang"
	exit 77
fi

# The project's warnings (meson.build, warning_level=3), as errors.
FLAGS=(-fsyntax-only -std=gnu11 -ffreestanding -nostdlibinc
	-isystem "$ROOT/test/platform/include" -I "$ROOT"
	-Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wformat=2 -Wvla -Werror)
TARGETS=(x86_64-unknown-freebsd13 aarch64-unknown-freebsd14 x86_64-apple-macos11 arm64-apple-macos11)
FILES=(tun/ifconfig_bsd.c)

n=0
fails=0
echo "1..$((${#TARGETS[@]} * ${#FILES[@]}))"
for t in "${TARGETS[@]}"; do
	for f in "${FILES[@]}"; do
		n=$((n + 1))
		if out=$("$CLANG" --target="$t" "${FLAGS[@]}" "$ROOT/$f" 2>&1); then
			echo "ok $n - $f compiles for $t (syntax and declarations only)"
		else
			echo "not ok $n - $f compiles for $t"
			printf '%s\n' "$out" | sed 's/^/# /'
			fails=$((fails + 1))
		fi
	done
done
[ "$fails" -eq 0 ]
