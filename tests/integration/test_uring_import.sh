#!/usr/bin/env bash
# ZCRX_REG_IMPORT through the liburing compat API on zcrxd (tests/tools/
# tcp_netns.sh "direct": zcrxd on zb in B owns 10.77.0.2, the kernel in A
# is 10.77.0.1): uring_import (B, socket shim preloaded) exports the zcrx
# of one ring, imports it on the ring holding its sockets, and receives
# $BYTES from a kernel TCP client in A with multishot RECV_ZC on the
# imported id, every byte checked (pattern 'a' + i % 26) and every buffer
# refilled through the importer's own refill queue; zcrxd exits 0 with
# every buffer back.
#
# SKIP (77) without root/netns/veth/ethtool and while zcrxd has no TCP.
# Environment: ZCRXD, URING_IMPORT, URING_SOCKETS_SHIM (paths).
set -u
here=$(dirname "$0")
. "$here/../tools/tcp_netns.sh"
. "$here/tcp_lib.sh"
BYTES=${URING_IMPORT_BYTES:-16777216}
PORT=9103
fail=0

tcpns_setup direct
tcpt_start_zcrxd af_packet
tcpt_shim_server timeout 120 "$URING_IMPORT" $PORT "$BYTES"
tcpns_bg tx "$TCPNS_NS_A" python3 -c '
import socket, sys
n = int(sys.argv[3])
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
pat = bytes(ord("a") + i % 26 for i in range(26)) * 2521  # 65546 bytes
sent = 0
while sent < n:
    k = min(65520, n - sent)
    off = sent % 26
    c.sendall(pat[off:off + k])
    sent += k
c.shutdown(socket.SHUT_WR)
c.settimeout(60)
c.recv(1)
print("SENT %d" % sent, flush=True)
' "$TCPNS_B_ADDR" $PORT "$BYTES"
tcpns_wait tx || { echo "FAIL: the kernel client exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
tcpns_wait rx || { echo "FAIL: uring_import exited $?"; cat "$TCPNS_DIR/rx.err"; fail=1; }
cat "$TCPNS_DIR/rx.out" "$TCPNS_DIR/tx.out"
grep -qxE "RESULT bytes=$BYTES bad=0 refills=[1-9][0-9]*" "$TCPNS_DIR/rx.out" ||
  { echo "FAIL: expected RESULT bytes=$BYTES bad=0"; fail=1; }
tcpt_stop_zcrxd

[ $fail -eq 0 ] && echo PASS
exit $fail
