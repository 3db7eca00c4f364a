#!/bin/bash
# The sidecar image, built and run (not in CI: it takes minutes and needs
# Debian's archive).  It builds packaging/container/Containerfile with
# podman on a local Debian 12 base image imported from a debootstrap root
# (no registry), then runs test/net/sidecar.sh with the image as the
# sidecar, under the namespace tests' lock.
#
# Usage: test/container-image.sh [BUILD_DIR]   (default build; its src/wh
#        runs the other nodes of the test)
# Environment:
#   WH_IMAGE_BASE    the base image (default localhost/wh-sidecar-base:12;
#                    made with debootstrap when it does not exist)
#   WH_DEBIAN_MIRROR debootstrap's mirror (default http://deb.debian.org/debian)
#   WH_IMAGE         the image to build (default localhost/wh-sidecar:test)
#   WH_IMAGE_KEEP=1  keep the images afterwards (the base is always kept)
# Exit status: 0 passed, 77 cannot run here (not root, no podman or
# debootstrap), otherwise failed.

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
base=${WH_IMAGE_BASE:-localhost/wh-sidecar-base:12}
mirror=${WH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
image=${WH_IMAGE:-localhost/wh-sidecar:test}
tmp=
start=$(date +%s)

say() { printf '== %s (%d s)\n' "$*" $(($(date +%s) - start)); }
skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v podman >/dev/null || skip "no podman (apt-get install podman)"
[ -x "$build/src/wh" ] || die "no $build/src/wh: build first"

# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	[ -n "$tmp" ] && rm -rf "$tmp"
	[ -n "${WH_IMAGE_KEEP:-}" ] || podman rmi -f "$image" >/dev/null 2>&1
}
tmp=$(mktemp -d /var/tmp/wh-container-image.XXXXXX) || exit 1
trap cleanup EXIT

# The base: a minimal Debian 12 from debootstrap, imported as an image.
if ! podman image exists "$base"; then
	command -v debootstrap >/dev/null || skip "no debootstrap (apt-get install debootstrap)"
	say "debootstrap --variant=minbase bookworm from $mirror"
	nice -n 19 debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	say "podman import as $base"
	tar -C "$tmp/root" -c . | podman import - "$base" >/dev/null || die "podman import failed"
	rm -rf "$tmp/root"
fi

# The build context: the tree's files as git knows them (tracked and new,
# not ignored), without the build directories.
say "build context from $top"
mkdir "$tmp/ctx" || exit 1
if ! (cd "$top" && git ls-files -co --exclude-standard -z | tar -c --null -T -) | tar -x -C "$tmp/ctx"; then
	die "cannot copy the tree"
fi

# RUN steps under chroot isolation: they need no OCI runtime, and so none
# of the cgroup set-up that crun refuses on a host with hybrid cgroups.
say "podman build $image on $base"
nice -n 19 podman build --isolation chroot --build-arg BASE="$base" \
	-f "$tmp/ctx/packaging/container/Containerfile" -t "$image" "$tmp/ctx" >"$tmp/build.log" 2>&1 ||
	{ tail -n 30 "$tmp/build.log" >&2; die "podman build failed"; }
size=$(podman image inspect -f '{{.Size}}' "$image")
say "image $image built, $((size / 1048576)) MiB"

# An OCI runtime that can run it here: podman's default first; else runc
# with lower limits (on the machine of the first run crun could not set
# podman's default limits, nor the cgroups of a hybrid layout, and runc
# could not raise the limit of processes to the host's hard limit, 96367;
# 4096 open files and processes worked).
runtime_opts=()
run_opts=()
if ! podman run --rm --network none "$image" --version >"$tmp/run.log" 2>&1; then
	runtime_opts=(--runtime runc)
	run_opts=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
	echo "  podman's default runtime cannot run it here: $(tail -n 1 "$tmp/run.log")"
	echo "  trying: podman ${runtime_opts[*]} run ${run_opts[*]}"
	podman "${runtime_opts[@]}" run --rm --network none "${run_opts[@]}" --entrypoint /usr/local/bin/wh \
		"$image" --version >"$tmp/run.log" 2>&1 ||
		{ cat "$tmp/run.log" >&2; die "cannot run a container here"; }
fi
say "podman run: $(tail -n 1 "$tmp/run.log")"

say "test/net/sidecar.sh with the image as the sidecar"
SIDECAR_IMAGE=$image SIDECAR_PODMAN="${runtime_opts[*]}" SIDECAR_RUN_OPTS="${run_opts[*]}" \
	flock /tmp/wh-net.lock nice -n 19 bash "$top/test/net/sidecar.sh" "$build/src/wh"
rc=$?
say "done, exit $rc"
exit "$rc"
