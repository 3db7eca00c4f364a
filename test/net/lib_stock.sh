# shellcheck shell=bash
# What the tests of stock WireGuard clients share (stockclient.sh,
# stockclient-cfg.sh, stockmatrix.sh, stockflood.sh). A test sets LAB_TAG,
# sources this file (it brings lib.sh and natlab.sh), sets WH to the `wh`
# binary and calls stock_lab. Its lab is the NAT lab's internet with a
# relay on it: a public wh node at 198.18.0.10, UDP port 62096, the boot
# node of the test's network, through which wireguard-go clients reach wh
# members (doc/protocol.md 9.5):
#
#   internet 198.18.0.0/24 (bridge)
#     relay  .10  public wh node: stock_lab, stock_relay_start
#     gX         a NAT of the test's choice --- a member: stock_wh_up
#     gY         a NAT of the test's choice --- a client: wireguard-go
#
# wh writes keys in URL-safe base64 without padding, wg in the standard
# alphabet: stock_key_wg and stock_key_wh convert.

# shellcheck source=natlab.sh
. "$(dirname "${BASH_SOURCE[0]}")/natlab.sh"

# stock_lab [CMD...]: skip (77) unless the NAT lab, $WH, wireguard-go, wg,
# python3 and every CMD can run; then lab_init, the internet and the host
# "relay" on it (its daemon comes with stock_relay_start).
stock_lab() {
	natlab_require
	lab_require_impl "$WH"
	lab_require_cmd wireguard-go wg python3 "$@"
	lab_init
	natlab_internet && natlab_public_host relay 198.18.0.10
}

# stock_wh_key HOST: a new key of workbit 4 in $LAB_DIR/HOST.key, readable
# by its owner only; prints its public key (wh's form).
stock_wh_key() {
	(umask 077 && "$WH" genkey workbit 4 >"$LAB_DIR/$1.key") && "$WH" pubkey <"$LAB_DIR/$1.key"
}

# stock_key_wg KEY: wh's form of a public key in wg's.
stock_key_wg() {
	printf '%s=' "$1" | tr -- '-_' '+/'
}

# stock_key_wh KEY: wg's form of a public key in wh's (for a client line).
stock_key_wh() {
	printf '%s' "$1" | tr -- '+/' '-_' | tr -d '='
}

# stock_wh_up HOST CONF IFACE: `wh up -f` in HOST's namespace of the file
# $LAB_DIR/CONF with the key $LAB_DIR/HOST.key, on interface IFACE; its
# output in $LAB_DIR/HOST.log, its PID in NATLAB_PID (and LAB_PIDS).
stock_wh_up() {
	natlab_spawn "${NATLAB_NS[$1]}" "$1" env LOG_LEVEL="${LAB_LOG_LEVEL:-info}" "$WH" up \
		"$LAB_DIR/$2" private-key "$LAB_DIR/$1.key" interface "$3" -f
}

# stock_relay_start IFACE: the relay's key and its file relay.conf (its own
# boot line: it belongs to no network), and its daemon on IFACE in the
# host "relay" (natlab_public_host relay 198.18.0.10). Sets RELAY (its
# public key), RELAY_EP (its address and port) and RELAY_PID.
stock_relay_start() {
	RELAY=$(stock_wh_key relay) || return 1
	RELAY_EP="${NATLAB_IP[relay]}:62096"
	printf 'workbit 4\nboot %s %s\n' "$RELAY" "$RELAY_EP" >"$LAB_DIR/relay.conf"
	stock_wh_up relay relay.conf "$1"
	# shellcheck disable=SC2034 # read by the tests
	RELAY_PID=$NATLAB_PID
}

# stock_wgquick NS IFACE CONF KEY: the running wireguard-go interface IFACE
# in NS takes CONF, a file of `wh client-config`, as wg-quick would: the
# file through `wg-quick strip` to `wg setconf` (as CONF less .conf plus
# .wg), its Address lines on IFACE, IFACE up, a route per AllowedIPs. The
# file has no PrivateKey (the key stays with the client; wg-quick would
# take it from PostUp or the app): the key file KEY joins the stripped
# text. Every step is tried; fails if one did.
stock_wgquick() {
	local ns=$1 iface=$2 conf=$3 wgconf=${3%.conf}.wg ok=1 a
	{ echo "[Interface]"; echo "PrivateKey = $(cat "$4")"; wg-quick strip "$conf" |
		sed '1{/^\[Interface\]$/d}'; } >"$wgconf"
	nsx "$ns" wg setconf "$iface" "$wgconf" || ok=
	for a in $(sed -n 's/^Address = //p' "$conf" | tr ',' ' '); do
		ip -n "$ns" addr add "$a" dev "$iface" || ok=
	done
	ip -n "$ns" link set "$iface" up || ok=
	for a in $(sed -n 's/^AllowedIPs = //p' "$conf" | tr ',' ' '); do
		ip -n "$ns" route add "$a" dev "$iface" || ok=
	done
	[ -n "$ok" ]
}

# stock_conf_ipv4 CONF: the client's IPv4 address, from the Address line of
# a file of `wh client-config`.
stock_conf_ipv4() {
	sed -n 's/^Address = \([0-9.]*\)\/32.*/\1/p' "$1"
}

# now_ms: the wall clock in milliseconds (ping -D's timestamps are too).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# first_reply_after LOG T: ms from T (now_ms) to the first reply that
# `ping -D` logged in LOG after it; nothing while there is none.
first_reply_after() {
	awk -v t="$2" '/bytes from/ { ts = substr($1, 2, length($1) - 2) * 1000;
		if (ts > t) { printf "%d\n", ts - t; exit } }' "$1"
}
