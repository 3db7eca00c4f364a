#!/bin/bash
# Issue 17, finding 11, against any build's wireguard-wh: one UAPI write
# of GETS pipelined `get=1` requests on a device of PEERS peers, the
# client reading nothing for 3 s.  A server that parses every request of
# its read and queues every answer holds GETS answers (fa574b6: RSS 70 ->
# 372 MB for 60 on 2,000 peers, the sweep measured); one that takes one
# request at a time holds one.  Prints the answer's size, the RSS before
# and the highest RSS while the answers wait, and checks that the growth
# stays under a quarter of what GETS queued answers would take.
# Usage: uapi-pipeline.sh WIREGUARD_WH [PEERS [GETS]]
#   (fa574b6 has no wireguard-wh: give a script that runs `wh wireguard "$@"`)
#
#   ns W (whlab-ru-PID-w): wireguard-wh ru<PID>w1, UAPI socket only
LAB_TAG=ru
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 WIREGUARD_WH [PEERS [GETS]]" >&2; exit 2; }
IMPL=$(lab_impl_abs "$1")
PEERS=${2:-2000}
GETS=${3:-60}
lab_require_root
lab_require_cmd ip python3
lab_require_impl "$IMPL"
lab_init

new_ns W || { tap_fail "namespace"; tap_done; }
IF=$(wg_iface w)
start_impl "$W" "$IF" "$IMPL" || { tap_fail "start $IMPL"; tap_done; }
PID=${LAB_IMPL_PID[$IF]}
tap_ok "$IMPL runs as $IF (pid $PID)"

out=$(python3 - "$LAB_RUN_DIR/$IF.sock" "$PEERS" "$GETS" "$PID" <<'PY'
import os, socket, sys, time
path, peers, gets, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def talk(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(req)
    buf = b""
    while not buf.endswith(b"\n\n"):
        b = s.recv(1 << 20)
        if not b:
            break
        buf += b
    s.close()
    return buf

req = [b"set=1\n"]
for i in range(peers):
    req.append(b"public_key=" + os.urandom(32).hex().encode() + b"\n")
    req.append(b"endpoint=192.0.2.%d:%d\n" % (1 + i % 250, 1024 + i))
    req.append(b"allowed_ip=10.%d.%d.%d/32\n" % (i >> 16 & 255, i >> 8 & 255, i & 255))
req.append(b"\n")
r = talk(b"".join(req))
if b"errno=0" not in r:
    print("set failed", r[-60:])
    sys.exit(1)
one = len(talk(b"get=1\n\n"))
time.sleep(0.5)
before = rss_kb()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"get=1\n\n" * gets)
peak = before
end = time.time() + 3
while time.time() < end:
    peak = max(peak, rss_kb())
    time.sleep(0.05)
s.settimeout(10)
got = b""
try:
    while got.count(b"errno=") < gets:
        b = s.recv(1 << 20)
        if not b:
            break
        got += b
        peak = max(peak, rss_kb())
except OSError:
    pass
print(one, before, peak, got.count(b"errno="))
PY
)
read -r ONE BEFORE PEAK ANSWERS <<<"$out"
if [ -z "$PEAK" ]; then
	tap_fail "the UAPI exchange" "$out"
	tap_done
fi
GROWTH=$((PEAK - BEFORE))
QUEUED=$((ONE * GETS / 1024))
tap_diag "one answer: $ONE bytes; $GETS queued answers: $QUEUED KiB" \
	"RSS before: $BEFORE KiB, highest while the answers waited: $PEAK KiB (+$GROWTH KiB)" \
	"answers read afterwards: $ANSWERS"
if [ "$GROWTH" -lt $((QUEUED / 4)) ]; then
	tap_ok "RSS grew by $GROWTH KiB for $GETS pipelined gets (less than a quarter of $QUEUED KiB)"
else
	tap_fail "RSS grew by $GROWTH KiB for $GETS pipelined gets (at least a quarter of $QUEUED KiB)"
fi
tap_done
