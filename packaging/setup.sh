#!/bin/bash
# Installs, as root on Debian 12, every package that building wh, its tests,
# the demo and the benchmarks need; idempotent and fast when nothing is
# missing. Usage: bash packaging/setup.sh [--build]
#   --build  also configures and builds ./build (meson setup build && ninja -C build)
set -euo pipefail

PACKAGES=(
	# build
	meson ninja-build pkg-config gcc libc6-dev
	# nm and readelf: test/wireguard_wh_symbols.sh
	binutils
	libsodium-dev libb2-dev libuv1-dev libminiupnpc-dev libnatpmp-dev
	# fuzzing: clang-14 and its libFuzzer runtime (libclang_rt.fuzzer-x86_64.a)
	clang libclang-rt-14-dev
	# the fuzz corpora's coverage report (llvm-profdata, llvm-cov)
	llvm
	# network-namespace tests, the demo and the benchmarks
	wireguard-tools wireguard-go iperf3 nftables iproute2 iputils-ping
	miniupnpd-nftables miniupnpc natpmpc conntrack procps
	# dig: the name service's test (net-dns)
	bind9-dnsutils
	# test scripts (util-linux: setpriv, prlimit, unshare, taskset; mount:
	# the private /dev of net-logs)
	python3 ca-certificates util-linux mount
	# net-cli checks the zsh completion too (packaging/completion/)
	zsh
	# the Debian package (packaging/deb.sh) and its tests (test/package*.sh):
	# dpkg-buildpackage, lintian, mandoc -Tlint, man -l, systemd-analyze
	# (dpkg-buildpackage checks build-essential itself)
	dpkg-dev debhelper fakeroot lintian mandoc man-db systemd build-essential
	# promtool check metrics and curl's scrapes: net-metrics
	prometheus curl
	# wh client-config's QR codes, and zbarimg to read them back (net-clientcfg)
	libqrencode-dev zbar-tools
)

build=0
for arg in "$@"; do
	case $arg in
	--build) build=1 ;;
	-h | --help)
		sed -n '2,6p' "$0"
		exit 0
		;;
	*)
		echo "setup.sh: unknown argument '$arg'" >&2
		exit 2
		;;
	esac
done

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup.sh: all ${#PACKAGES[@]} packages present"
else
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages (${missing[*]}); run as root" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# No package may start a service on this machine: iperf3 asks whether to
	# run a daemon (answer no), and a policy-rc.d that denies every start
	# covers the rest (miniupnpd-nftables itself ships no service; the
	# "miniupnpd" package with the init scripts is deliberately not installed).
	echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections
	policy=/usr/sbin/policy-rc.d
	added_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		added_policy=1
	fi
	trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ "$build" = 1 ]; then
	cd "$(dirname "$0")/.."
	if [ -f build/meson-private/coredata.dat ]; then
		ninja -C build
	else
		meson setup build && ninja -C build
	fi
fi
