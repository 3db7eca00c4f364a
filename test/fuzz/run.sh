#!/bin/bash
# Runs every libFuzzer harness built in a build directory for a while.
#
#   bash test/fuzz/run.sh BUILD_DIR [SECONDS_EACH]    (default 20 s)
#
# Builds nothing: set the build up with
#   CC=clang meson setup BUILD_DIR -Dfuzz=true && ninja -C BUILD_DIR
# Each harness keeps its corpus in BUILD_DIR/fuzz/corpus/NAME (grown from
# the seeds in test/fuzz/corpus/NAME when there are any) and writes crash
# reproducers to BUILD_DIR/fuzz/artifacts/.  Exits non-zero when any
# harness crashes or when none is found.
set -u -o pipefail

build=${1:?usage: run.sh BUILD_DIR [SECONDS_EACH]}
secs=${2:-20}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case $secs in
'' | *[!0-9]*)
	echo "run.sh: seconds '$secs' is not a number" >&2
	exit 2
	;;
esac
if [ ! -d "$build/test/fuzz" ]; then
	echo "run.sh: no $build/test/fuzz; was '$build' set up with -Dfuzz=true?" >&2
	exit 2
fi

mkdir -p "$build/fuzz/artifacts"
found=0
failed=0
for bin in "$build"/test/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	found=$((found + 1))
	corpus=$build/fuzz/corpus/$name
	mkdir -p "$corpus"
	dirs=("$corpus")
	[ -d "$here/corpus/$name" ] && dirs+=("$here/corpus/$name")

	echo "== $name: ${secs}s, corpus $corpus"
	"$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/artifacts/$name-" "${dirs[@]}" \
		>"$build/fuzz/$name.log" 2>&1
	st=$?
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/fuzz/$name.log" | tail -2
	if [ $st -ne 0 ]; then
		echo "== $name FAILED (exit $st); log $build/fuzz/$name.log:"
		grep -A30 -E '^==[0-9]+==ERROR|runtime error|deadly signal' "$build/fuzz/$name.log" | head -40
		failed=$((failed + 1))
	else
		echo "== $name ok"
	fi
done

if [ $found -eq 0 ]; then
	echo "run.sh: no harness (fuzz_*) built in $build/test/fuzz" >&2
	exit 2
fi
echo "$found harness(es) run, $failed failed"
[ $failed -eq 0 ]
