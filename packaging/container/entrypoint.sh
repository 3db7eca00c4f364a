#!/bin/sh
# The sidecar image's entrypoint (packaging/container/Containerfile):
# `wh up` of one network in the foreground, as the container's PID 1, so
# that the runtime's SIGTERM stops the node and its log is the
# container's.  The network file and the key come from a volume:
#
#   WH_CONFIG_DIR/WH_NETWORK.conf and WH_CONFIG_DIR/WH_NETWORK.key
#
# (defaults /etc/wh and wh: /etc/wh/wh.conf).  Arguments are more
# options of `wh up` (interface NAME, listen-port N, dns off, ...).
# WH names the binary (default: wh on PATH; the test runs the built one).
set -eu

net=${WH_NETWORK:-wh}
dir=${WH_CONFIG_DIR:-/etc/wh}
conf=$dir/$net.conf
key=$dir/$net.key

fail() {
	echo "wh sidecar: $*" >&2
	exit 2
}

[ -r "$conf" ] || fail "no network file '$conf': mount the directory holding it on $dir (and set WH_NETWORK=NAME for $dir/NAME.conf)"
[ -r "$key" ] || fail "no private key '$key': put the member's key beside the network file ('wh genkey workbit N > $key', mode 0600)"
[ -c /dev/net/tun ] || fail "no /dev/net/tun: run the container with --device /dev/net/tun and --cap-add NET_ADMIN"

exec "${WH:-wh}" up "$conf" private-key "$key" -f "$@"
