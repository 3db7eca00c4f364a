#!/bin/bash
# Line and branch coverage that the kept fuzz corpora reach in the files
# each harness targets (doc/fuzzing.md).
#
#   bash test/fuzz/coverage.sh [BUILD_DIR] [NAME...]   (default build-fuzzcov)
#
# Sets BUILD_DIR up when it is not yet (clang, -Dfuzz=true, source-based
# coverage: -fprofile-instr-generate -fcoverage-mapping, no sanitizer in the
# libraries), builds the harnesses, replays test/fuzz/corpus/NAME once
# through each (-runs=0: no fuzzing), and reports with llvm-profdata and
# llvm-cov (and python3): a per-file table in BUILD_DIR/fuzzcov/NAME.txt, an HTML view in
# BUILD_DIR/fuzzcov/NAME/, and one summary line per harness.  NAMEs
# (fuzz_overlay ...) report only those harnesses.  Needs clang and llvm
# (packaging/setup.sh installs both).
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
build=${1:-build-fuzzcov}
[ $# -gt 0 ] && shift
only=("$@")

# The files each harness is there to test: its parser, and for
# fuzz_overlay the engine's handlers a sealed message reaches.
declare -A targets=(
	[fuzz_control]="src/node/control_request.c"
	[fuzz_key]="crypto/encoding.c"
	[fuzz_netconf]="src/node/netconf.c src/node/netconf_addr.c src/node/netconf_diff.c"
	[fuzz_overlay]="proto/overlay/codec.c proto/overlay/secure.c proto/overlay/engine.c
		proto/overlay/dht.c proto/overlay/relay.c proto/overlay/relaychan.c
		proto/overlay/peerfilter.c proto/overlay/natobs.c proto/overlay/natround.c
		proto/overlay/addr.c proto/overlay/probetab.c proto/overlay/kademlia.c"
	[fuzz_reasm]="proto/overlay/reasm.c"
	[fuzz_tcpmss]="src/wg/tcpmss.c"
	[fuzz_tso]="tun/tun_offload.c"
	[fuzz_uapi]="src/wg/uapi.c"
)

for tool in clang llvm-profdata llvm-cov; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "coverage.sh: no $tool; install clang and llvm (packaging/setup.sh)" >&2
		exit 2
	fi
done

cov="-fprofile-instr-generate -fcoverage-mapping"
if [ ! -f "$build/build.ninja" ]; then
	# meson's compiler checks run instrumented programs: their profiles
	# would land in the current directory.
	LLVM_PROFILE_FILE=/dev/null CC=clang meson setup "$build" -Dfuzz=true -Dwerror=false \
		-Dc_args="$cov" -Dc_link_args="$cov" || exit 1
fi
names=()
for n in "${!targets[@]}"; do
	if [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qx "$n"; then
		names+=("$n")
	fi
done
mapfile -t names < <(printf '%s\n' "${names[@]}" | sort)
if [ ${#names[@]} -eq 0 ]; then
	echo "coverage.sh: no harness named '${only[*]}'" >&2
	exit 2
fi
ninja -C "$build" "${names[@]/#/test/fuzz/}" >/dev/null || exit 1

out=$build/fuzzcov
mkdir -p "$out"
failed=0
rows=()
for n in "${names[@]}"; do
	corpus=test/fuzz/corpus/$n
	bin=$build/test/fuzz/$n
	if [ ! -d "$corpus" ]; then
		echo "coverage.sh: $n has no corpus $corpus" >&2
		failed=$((failed + 1))
		continue
	fi
	rm -f "$out/$n".*.profraw
	if ! LLVM_PROFILE_FILE="$out/$n.%p.profraw" "$bin" -runs=0 "$corpus" \
		>"$out/$n.log" 2>&1; then
		echo "coverage.sh: $n failed replaying $corpus, log $out/$n.log" >&2
		failed=$((failed + 1))
		continue
	fi
	llvm-profdata merge -sparse "$out/$n".*.profraw -o "$out/$n.profdata" || exit 1
	llvm-cov export -summary-only "$bin" -instr-profile="$out/$n.profdata" \
		>"$out/$n.json" || exit 1
	rm -rf "${out:?}/$n"
	llvm-cov show "$bin" -instr-profile="$out/$n.profdata" -format=html \
		-show-branches=count -output-dir="$out/$n" || exit 1
	# llvm-cov report's SOURCES filter does not match the build's
	# "BUILD/../file" names, so the target files are picked from the JSON
	# summary instead; each must be there (a typo is an error, not 0%).
	row=$(python3 - "$out/$n.json" "$out/$n.txt" "$n" \
		"$(find "$corpus" -maxdepth 1 -type f | wc -l)" ${targets[$n]} <<'PY'
import json, os, sys
summary, table, name, inputs, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
files = {}
for f in json.load(open(summary))["data"][0]["files"]:
    files[os.path.relpath(os.path.realpath(f["filename"]))] = f["summary"]
tot = [0, 0, 0, 0]
with open(table, "w") as t:
    t.write("%-32s %13s %7s %13s %7s\n" % ("file", "lines", "line%", "branches", "branch%"))
    for w in want:
        if w not in files:
            sys.exit("coverage.sh: %s: %s is not in the coverage data" % (name, w))
        l, b = files[w]["lines"], files[w]["branches"]
        t.write("%-32s %6d/%-6d %6.1f%% %6d/%-6d %6.1f%%\n" % (w, l["covered"], l["count"],
                l["percent"], b["covered"], b["count"], b["percent"]))
        tot = [tot[0] + l["covered"], tot[1] + l["count"], tot[2] + b["covered"], tot[3] + b["count"]]
    pct = lambda a, b: 100.0 * a / b if b else 0.0
    line = "%-13s %7s %6d/%-6d %6.1f%% %6d/%-6d %6.1f%%" % (name, inputs, tot[0], tot[1],
            pct(tot[0], tot[1]), tot[2], tot[3], pct(tot[2], tot[3]))
    t.write("TOTAL " + line + "\n")
print(line)
PY
) || exit 1
	rows+=("$row")
done

printf '%-13s %7s %13s %7s %13s %7s\n' harness inputs lines line% branches branch%
printf '%s\n' "${rows[@]}"
echo "per-file tables: $out/NAME.txt; annotated sources: $out/NAME/index.html"
[ $failed -eq 0 ]
