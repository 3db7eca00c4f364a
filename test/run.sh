#!/bin/bash
# The whole test suite, from the top of the source tree: bash test/run.sh
#
#   1. build/       meson setup (or reconfigure) with -Dwerror=true, ninja,
#                   meson test --print-errorlogs
#   2. build-san/   the same with -Db_sanitize=address,undefined; UBSan and
#                   ASan errors are fatal (tests of suite 'reference', which
#                   run only reference peers such as wireguard-go, are left
#                   out: nothing of ours runs in them; so is suite
#                   'package', which builds the Debian package from the
#                   tree and would do the same work twice); suite 'manual'
#                   (net-proc100, a hundred processes) is left out of
#                   both: it is run by hand, meson test --suite manual
#   3. build-fuzz/  with clang: CC=clang, -Dfuzz=true, ASan and UBSan;
#                   the seed-corpus replays (meson test --suite
#                   fuzz), then test/fuzz/run.sh build-fuzz SECONDS, each
#                   harness run counted as one test
#
# It goes on after a failing stage, and its last line is always
#   N passed, N failed, N skipped
# summed from meson's own results (meson-logs/testlog.json) and the fuzz
# runs; a stage that cannot configure or build counts as one failure. Exits
# non-zero when anything failed.
#
# Environment: WH_BUILD_DIR (default "build"; the other stages use
# ${WH_BUILD_DIR}-san and ${WH_BUILD_DIR}-fuzz), WH_FUZZ_SECONDS (per
# harness, default 30), WH_STAGES (default "main san fuzz"), WH_WERROR
# (default true, for the main build).
set -u

cd "$(dirname "$0")/.." || exit 1

BUILD=${WH_BUILD_DIR:-build}
FUZZ_SECONDS=${WH_FUZZ_SECONDS:-30}
STAGES=${WH_STAGES:-main san fuzz}
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

PASSED=0
FAILED=0
SKIPPED=0
NOTES=()

banner() {
	printf '\n======== %s ========\n' "$*"
}

# stage_fail WHAT: a stage that could not produce test results counts as one
# failed test.
stage_fail() {
	echo "run.sh: FAILED: $1" >&2
	FAILED=$((FAILED + 1))
	NOTES+=("FAILED: $1")
}

# configure DIR ARGS...: set up DIR, or reconfigure it with ARGS when it
# exists (wiping it when reconfiguring fails, e.g. after a meson upgrade).
configure() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" ||
			meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# count_testlog DIR: add meson's per-test results from DIR's testlog.json.
count_testlog() {
	local log=$1/meson-logs/testlog.json counts p f s
	counts=$("$PYTHON" - "$log" <<'EOF'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    if not line:
        continue
    result = json.loads(line).get("result", "ERROR")
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
print(passed, failed, skipped)
EOF
	) || return 1
	read -r p f s <<<"$counts"
	echo "run.sh: $1: $p passed, $f failed, $s skipped"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	[ "$f" -eq 0 ] || NOTES+=("$1: $f failed test(s), see $log")
	LAST_FAILED=$f
}

# meson_tests DIR [MESON TEST ARGS...]: run meson test in DIR and count.
meson_tests() {
	local dir=$1 rc
	shift
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "$@"
	rc=$?
	if [ ! -f "$dir/meson-logs/testlog.json" ]; then
		# No log: either no test was selected (fine) or meson failed.
		[ $rc -eq 0 ] || stage_fail "meson test in $dir exited $rc without results"
		return
	fi
	LAST_FAILED=0
	if ! count_testlog "$dir"; then
		stage_fail "cannot parse $dir/meson-logs/testlog.json"
	elif [ $rc -ne 0 ] && [ "$LAST_FAILED" -eq 0 ]; then
		stage_fail "meson test in $dir exited $rc"
	fi
}

stage_main() {
	banner "1. $BUILD: build and test"
	if ! configure "$BUILD" -Dwerror="${WH_WERROR:-true}"; then
		stage_fail "meson setup $BUILD"
	elif ! ninja -C "$BUILD"; then
		stage_fail "build in $BUILD"
	else
		meson_tests "$BUILD" --no-suite manual
	fi
}

stage_san() {
	banner "2. $BUILD-san: AddressSanitizer and UndefinedBehaviorSanitizer"
	export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:check_initialization_order=1:strict_init_order=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	if ! configure "$BUILD-san" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=false; then
		stage_fail "meson setup $BUILD-san"
	elif ! ninja -C "$BUILD-san"; then
		stage_fail "build in $BUILD-san"
	else
		meson_tests "$BUILD-san" --no-suite reference --no-suite package --no-suite manual \
			--timeout-multiplier 3
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

stage_fuzz() {
	local dir=$BUILD-fuzz out rc ok bad skip
	banner "3. $dir: libFuzzer harnesses, ${FUZZ_SECONDS}s each"
	if ! command -v clang >/dev/null 2>&1; then
		echo "run.sh: no clang, fuzz stage skipped"
		SKIPPED=$((SKIPPED + 1))
		return
	fi
	if [ ! -f test/fuzz/run.sh ]; then
		echo "run.sh: test/fuzz/run.sh missing, fuzz stage skipped"
		SKIPPED=$((SKIPPED + 1))
		return
	fi
	if [ -f "$dir/meson-private/coredata.dat" ] &&
		! grep -q '^C compiler for the host machine: .*clang' "$dir/meson-logs/meson-log.txt" 2>/dev/null; then
		rm -rf "$dir" # configured with another compiler: CC counts only at first setup
	fi
	# -Dfuzz=true makes meson.build instrument every library for coverage;
	# the sanitizers catch what the fuzzers provoke.
	if ! CC=clang configure "$dir" -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false; then
		stage_fail "meson setup $dir"
		return
	elif ! ninja -C "$dir"; then
		stage_fail "build in $dir"
		return
	fi
	if ! compgen -G "$dir/test/fuzz/fuzz_*" >/dev/null; then
		echo "run.sh: no fuzz harness is built yet, fuzz stage skipped"
		SKIPPED=$((SKIPPED + 1))
		return
	fi
	# The seed corpora replayed once, as meson tests.
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson_tests "$dir" --suite fuzz

	out=$(mktemp)
	bash test/fuzz/run.sh "$dir" "$FUZZ_SECONDS" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# One harness, one test: test/fuzz/run.sh prints "== NAME ok" or
	# "== NAME FAILED ..." per harness (TAP lines are understood too).
	read -r ok bad skip < <(awk '
		/^== [^ ]+ ok$/ || /^ok / && !/# [Ss][Kk][Ii][Pp]/ { ok++ }
		/^== [^ ]+ FAILED/ || /^not ok / { bad++ }
		/^ok .*# [Ss][Kk][Ii][Pp]/ { skip++ }
		END { print ok + 0, bad + 0, skip + 0 }' "$out")
	rm -f "$out"
	if [ $((ok + bad + skip)) -eq 0 ]; then
		# Nothing recognisable: the exit status is the one result.
		if [ "$rc" -eq 0 ]; then ok=1; else bad=1; fi
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	fi
	echo "run.sh: fuzz: $ok passed, $bad failed, $skip skipped"
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + bad))
	SKIPPED=$((SKIPPED + skip))
	[ "$bad" -eq 0 ] || NOTES+=("fuzz: $bad harness(es) failed, see $dir/fuzz/")
}

for stage in $STAGES; do
	case $stage in
	main) stage_main ;;
	san) stage_san ;;
	fuzz) stage_fuzz ;;
	*) stage_fail "unknown stage '$stage' in WH_STAGES" ;;
	esac
done

banner "summary"
for note in "${NOTES[@]}"; do
	echo "run.sh: $note"
done
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
