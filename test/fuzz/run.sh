#!/bin/bash
# Runs every libFuzzer harness built in a build directory for a while.
#
#   bash test/fuzz/run.sh BUILD_DIR [SECONDS_EACH] [--keep] [NAME...]
#
# SECONDS_EACH defaults to 20.  Builds nothing: set the build up with
#   CC=clang meson setup BUILD_DIR -Dfuzz=true \
#       -Db_sanitize=address,undefined -Db_lundef=false && ninja -C BUILD_DIR
# Each harness keeps its corpus in BUILD_DIR/fuzz/corpus/NAME (grown from
# the seeds in test/fuzz/corpus/NAME when there are any) and writes crash
# reproducers to BUILD_DIR/fuzz/artifacts/.  Exits non-zero when any
# harness crashes or when none is found.  NAMEs (fuzz_overlay ...) run only
# those harnesses.
#
# --keep is the long run (doc/fuzzing.md: 600 s each): a unit slower than
# 30 s counts as a hang, and afterwards what the harness found that adds
# coverage is merged (libFuzzer -merge=1) into test/fuzz/corpus/NAME, so
# the tree keeps the grown corpus; the seeds already there stay as they
# are.  It ends with a table: executions, exec/s, libFuzzer's cov and ft at
# the end, the tree corpus's files and KiB before and after, crashes.
set -u -o pipefail

usage() {
	echo "usage: run.sh BUILD_DIR [SECONDS_EACH] [--keep] [NAME...]" >&2
	exit 2
}

build=${1:-}
[ -n "$build" ] || usage
shift
secs=20
if [ $# -gt 0 ] && [ "$1" != --keep ]; then
	secs=$1
	shift
fi
keep=0
if [ $# -gt 0 ] && [ "$1" = --keep ]; then
	keep=1
	shift
fi
only=("$@")
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

# size DIR: "FILES KIB" of the regular files in DIR (KiB of their bytes,
# rounded up), "0 0" when DIR does not exist.
size() {
	if [ -d "$1" ]; then
		find "$1" -maxdepth 1 -type f -printf '%s\n' |
			awk '{ n++; b += $1 } END { printf "%d %d\n", n, (b + 1023) / 1024 }'
	else
		echo "0 0"
	fi
}

# stat LOG KEY: libFuzzer's final "stat::KEY: N" from LOG, "-" if absent.
stat() {
	local v
	v=$(sed -n "s/^stat::$2: *//p" "$1" | tail -1)
	echo "${v:--}"
}

# covft LOG: "COV/FT" from the last status line that has both.
covft() {
	local v
	v=$(sed -n 's/^#[0-9].* cov: \([0-9]*\) ft: \([0-9]*\).*/\1\/\2/p' "$1" | tail -1)
	echo "${v:--}"
}

mkdir -p "$build/fuzz/artifacts"
found=0
failed=0
table=()
for bin in "$build"/test/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
		continue
	fi
	found=$((found + 1))
	corpus=$build/fuzz/corpus/$name
	seeds=$here/corpus/$name
	log=$build/fuzz/$name.log
	mkdir -p "$corpus"
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	extra=()
	[ $keep -eq 1 ] && extra=(-timeout=30)
	before=$(size "$seeds")

	echo "== $name: ${secs}s, corpus $corpus"
	"$bin" -max_total_time="$secs" -print_final_stats=1 "${extra[@]}" \
		-artifact_prefix="$build/fuzz/artifacts/$name-" "${dirs[@]}" \
		>"$log" 2>&1
	st=$?
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2
	crash=0
	if [ $st -ne 0 ]; then
		crash=1
		echo "== $name FAILED (exit $st); log $log:"
		grep -A30 -E '^==[0-9]+==ERROR|runtime error|deadly signal|ALARM' "$log" | head -40
		failed=$((failed + 1))
	else
		echo "== $name ok"
	fi
	[ $keep -eq 1 ] || continue

	# Merge into the tree: only inputs that add coverage to what the seeds
	# already reach are copied (named by their SHA-1).
	mkdir -p "$seeds"
	if ! "$bin" -merge=1 -artifact_prefix="$build/fuzz/artifacts/$name-merge-" \
		"$seeds" "$corpus" >"$build/fuzz/$name.merge.log" 2>&1; then
		echo "== $name: merge failed, log $build/fuzz/$name.merge.log"
		failed=$((failed + 1))
	fi
	table+=("$(printf '%-13s %6s %12s %8s %11s %9s %9s %7s' "$name" "$secs" \
		"$(stat "$log" number_of_executed_units)" \
		"$(stat "$log" average_exec_per_sec)" "$(covft "$log")" \
		"$(echo "$before" | tr ' ' /)" "$(size "$seeds" | tr ' ' /)" "$crash")")
done

if [ $found -eq 0 ]; then
	echo "run.sh: no harness (fuzz_*) built in $build/test/fuzz" >&2
	exit 2
fi
if [ $keep -eq 1 ]; then
	echo
	printf '%-13s %6s %12s %8s %11s %9s %9s %7s\n' harness seconds executions exec/s \
		cov/ft "files/KiB" "after" crashes
	printf '%s\n' "${table[@]}"
fi
echo "$found harness(es) run, $failed failed"
[ $failed -eq 0 ]
