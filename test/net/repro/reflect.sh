#!/bin/bash
# Issue 17, finding 3 (reflection), against any build of wh: a stranger on
# the internet PINGs a NATed member as a "public relay", sends it one
# unsolicited NODES, and answers each FIND_NODE the member sends it (the
# member looks up b, which is not up) with a NODES (1,108 bytes with 20
# entries) naming COUNT invented keys at a victim's address.  The victim
# counts the datagrams and bytes the member sends it meanwhile.  On fa574b6 the sweep saw 40
# datagrams, 9,920 bytes (9 times the NODES, 40 times the datagrams): the
# member pinged and asked every named key.  Now a NODES that answers no
# request of ours is dropped (8.1), and one that does costs each named
# address at most one datagram per 10 minutes (8.3; test_answers checks
# that case: 370 bytes for a 1,108-byte NODES), so the victim must get
# less than the NODES had.
# Usage: reflect.sh WH OVLFORGE [COUNT [WATCH]]
#
#   internet 198.18.0.0/24: boot1 (a public DHT node), x (the stranger,
#                           test/tools/ovlforge), v (the victim, counting)
#   gateway ga full-cone --- LAN: member a
LAB_TAG=rr
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../natlab.sh
. "$(dirname "$0")/../natlab.sh"
# shellcheck source=stranger.sh
. "$(dirname "$0")/stranger.sh"

[ $# -ge 2 ] || { echo "usage: $0 WH OVLFORGE [COUNT [WATCH]]" >&2; exit 2; }
WH=$(lab_impl_abs "$1")
FORGE=$(lab_impl_abs "$2")
COUNT=${3:-20}
WATCH=${4:-15}
natlab_require
lab_require_impl "$WH"
lab_require_cmd python3
lab_init

stranger_lab reflect "boot1" "v"
jget() { stranger_get "$@"; }

if wait_for '[ -n "$(jget a show reflexive)" ]' 20; then
	refl=$(jget a show reflexive)
	tap_ok "a is reachable at $refl"
else
	tap_fail "a learns its reflexive address" "$(nsx "${NATLAB_NS[a]}" "$WH" show "rr${LAB_PID}a" 2>&1)"
	tap_done
fi
# The victim counts what comes from a's public address while the stranger
# answers and 5 s after.
nsx "${NATLAB_NS[v]}" python3 - "${refl%:*}" $((WATCH + 5)) >"$LAB_DIR/v.out" 2>&1 <<'PY' &
import socket, sys, time
src, watch = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 62096))
s.settimeout(0.2)
n = b = 0
end = time.time() + watch
while time.time() < end:
    try:
        d, a = s.recvfrom(65536)
    except socket.timeout:
        continue
    if a[0] == src:
        n += 1
        b += len(d)
print(n, b)
PY
VPID=$!
LAB_PIDS+=("$VPID")
wait_for "nsx ${NATLAB_NS[v]} ss -Hnul 'sport = :62096' | grep -q ." 5
nsx "${NATLAB_NS[x]}" "$FORGE" "$LAB_DIR/x.key" public "${refl%:*}" "${refl##*:}" \
	"$(cat "$LAB_DIR/a.pub")" "$(cat "$LAB_DIR/b.pub")" "${NATLAB_IP[v]}" 62096 "$WATCH" "$COUNT" \
	>"$LAB_DIR/x.out" 2>&1
if grep -q '^rx PONG$' "$LAB_DIR/x.out"; then
	tap_ok "the stranger's PINGs reach a (it answers them)"
else
	tap_fail "the stranger's PINGs reach a" "$(cat "$LAB_DIR/x.out")"
fi
ANSWERS=$(grep -c '^tx NODES' "$LAB_DIR/x.out")
if [ "$ANSWERS" -gt 0 ]; then
	tap_ok "a asked the stranger (FIND_NODE) and got $ANSWERS NODES naming the victim"
else
	tap_diag "a sent the stranger no FIND_NODE: only the unsolicited NODES named the victim" \
		"$(sort "$LAB_DIR/x.out" | uniq -c)"
fi
wait "$VPID"
read -r DGRAMS BYTES <"$LAB_DIR/v.out"
# A NODES: 58 bytes of header and tag, 10 of type, txid and count, 52 an
# entry; the unsolicited one and the answers.
NODES=$(((58 + 10 + 52 * COUNT) * (ANSWERS + 1)))
tap_diag "$((ANSWERS + 1)) NODES, $NODES bytes, naming $COUNT keys at ${NATLAB_IP[v]}:62096;" \
	"the victim got ${DGRAMS:-?} datagrams, ${BYTES:-?} bytes from a in $((WATCH + 5)) s"
if [ -n "$BYTES" ] && [ "$BYTES" -lt "$NODES" ]; then
	tap_ok "the victim got less than the NODES had ($BYTES < $NODES bytes, $DGRAMS datagrams)"
else
	tap_fail "the victim got less than the NODES had" "got ${BYTES:-?} bytes in ${DGRAMS:-?} datagrams" \
		"$(cat "$LAB_DIR/v.out")"
fi
tap_done
