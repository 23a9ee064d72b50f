#!/usr/bin/env bash
# SEND from a program's own buffer on zcrxd (tests/tools/tcp_netns.sh
# "direct": zcrxd on zb in B owns 10.77.0.2, the kernel in A is 10.77.0.1):
# uring_send, built against libzcrx's <liburing.h> with the socket shim
# preloaded, connects to a kernel TCP server in A and sends $BYTES of the
# pattern 'a' + i % 26 with io_uring_prep_send from a heap buffer it
# rewrites between sends; the server receives exactly $BYTES, every byte
# as the pattern says. A 64 KiB TX region, the size of one send, makes
# the compat layer reuse it hundreds of times.
#
# SKIP (77) without root/netns/veth/ethtool and while zcrxd has no TCP.
# Environment: ZCRXD, URING_SEND, URING_SOCKETS_SHIM (paths).
set -u
here=$(dirname "$0")
. "$here/../tools/tcp_netns.sh"
. "$here/tcp_lib.sh"
BYTES=${URING_SEND_BYTES:-16777216}
PORT=9101
fail=0

tcpns_setup direct
tcpt_start_zcrxd af_packet
tcpns_bg peer "$TCPNS_NS_A" python3 -c '
import socket, sys
want = int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[3])))
s.listen(1)
print("LISTENING", flush=True)
s.settimeout(60)
c, _ = s.accept()
c.settimeout(60)
pat = bytes(ord("a") + i % 26 for i in range(26))
got = bad = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    exp = (pat * (len(d) // 26 + 2))[got % 26:got % 26 + len(d)]
    if d != exp:
        bad += sum(1 for x, y in zip(d, exp) if x != y)
    got += len(d)
print("RESULT bytes=%d bad=%d" % (got, bad), flush=True)
' "$TCPNS_A_ADDR" "$BYTES" $PORT
tcpns_wait_line "$TCPNS_DIR/peer.out" '^LISTENING' 10 ||
  { echo "FAIL: the kernel server did not listen"; cat "$TCPNS_DIR/peer.err"; exit 1; }
tcpns_bg tx "$TCPNS_NS_B" env LD_PRELOAD="$URING_SOCKETS_SHIM" \
  ZCRX_URING_SOCKET="$TCPNS_DIR/zcrxd.sock" ZCRX_URING_IFNAME="$TCPNS_B_IF" \
 ZCRX_URING_TX_BYTES=65536 timeout ${URING_SEND_TIMEOUT:-120} "$URING_SEND" "$TCPNS_A_ADDR" $PORT "$BYTES"
tcpns_wait tx
rc=$?
if [ $rc -ne 0 ]; then
  grep -q "Address family not supported" "$TCPNS_DIR/tx.err" &&
    tcpt_skip_no_tcp "$(cat "$TCPNS_DIR/tx.err")"
  echo "FAIL: uring_send exited $rc"; cat "$TCPNS_DIR/tx.err"; fail=1
fi
tcpns_wait peer || { echo "FAIL: the kernel server exited $?"; cat "$TCPNS_DIR/peer.err"; fail=1; }
cat "$TCPNS_DIR/tx.out" "$TCPNS_DIR/peer.out"
grep -qx "RESULT sent=$BYTES short=[0-9]*" "$TCPNS_DIR/tx.out" ||
  { echo "FAIL: uring_send did not send $BYTES"; fail=1; }
grep -qx "RESULT bytes=$BYTES bad=0" "$TCPNS_DIR/peer.out" ||
  { echo "FAIL: expected RESULT bytes=$BYTES bad=0"; fail=1; }
tcpt_stop_zcrxd

[ $fail -eq 0 ] && echo PASS
exit $fail
