#!/bin/bash
# Builds the Debian package wh from this tree: bash packaging/deb.sh [OUTDIR]
#
# packaging/debian/ is the package's home; dpkg-buildpackage wants it as
# debian/ at the top of a tree, so this copies the tree (the files git
# knows, committed or not, without ignored build directories; all files
# when it is no git tree) into a temporary directory, puts
# packaging/debian there as debian/, and runs `dpkg-buildpackage -b -us
# -uc` in it.  The .deb, .buildinfo and .changes land in OUTDIR (default
# build-deb/ at the top of the tree), the build's log in OUTDIR/build.log;
# the last line printed is the .deb's path.  The build runs no tests
# (debian/rules says why; DEB_BUILD_OPTIONS is nocheck unless set).
# Needs dpkg-dev, debhelper and the build dependencies
# (packaging/setup.sh installs them).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$top/meson.build" | head -1)
changelog=$(sed -n '1s/^wh (\([^)]*\)).*/\1/p' "$top/packaging/debian/changelog")
if [ -z "$version" ] || [ "$version" != "$changelog" ]; then
	echo "deb.sh: meson.build's version '$version' is not packaging/debian/changelog's" \
		"'$changelog': add a changelog entry (dch -v $version)" >&2
	exit 1
fi
for tool in dpkg-buildpackage dh; do
	command -v "$tool" >/dev/null || {
		echo "deb.sh: $tool is missing (bash packaging/setup.sh installs it)" >&2
		exit 1
	}
done

tmp=$(mktemp -d /tmp/wh-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/wh-$version
mkdir "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$src" -xf -
else
	(cd "$top" && tar --exclude='./build*' --exclude=./debian -cf - .) | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -r "$top/packaging/debian" "$src/debian"

echo "deb.sh: building wh $version in $src (log: $out/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} \
	dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
fi
rm -f "$out"/wh_"$version"_*.deb "$out"/wh-dbgsym_"$version"_*.deb
mv "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/
ls "$out"/wh_"$version"_*.deb
