#!/usr/bin/env bash
# A kernel-zcrx program, built unchanged against libzcrx's <liburing.h>,
# on zcrxd (tests/tools/tcp_netns.sh "direct": zcrxd on zb in B owns
# 10.77.0.2, the kernel in A is 10.77.0.1):
#
#   tcp_server: uring_zcrx_tcp_server -s with libzcrx-uring-sockets.so
#       preloaded (its socket/bind/listen reach zcrxd's TCP; its anonymous
#       area and refill region become zcrxd's shared memory) receives
#       $BYTES with multishot RECV_ZC from the same program's -c, a plain
#       kernel TCP sender in A; every byte checked (pattern 'a' + i % 26),
#       exactly $BYTES, then zcrxd exits 0 with every buffer back.
#   ctrl_server: the same with uring_zcrx_ctrl_server, which also exports
#       its zcrx instance (ZCRX_CTRL_EXPORT: a valid fd) and, with a 16-entry
#       refill queue, calls ZCRX_CTRL_FLUSH_RQ whenever the queue is full.
#
# SKIP (77) without root/netns/veth/ethtool and while zcrxd has no TCP.
# Environment: ZCRXD, URING_TCP_SERVER, URING_CTRL_SERVER, URING_SOCKETS_SHIM
# (paths).
set -u
here=$(dirname "$0")
. "$here/../tools/tcp_netns.sh"
. "$here/tcp_lib.sh"
mode=${1:?usage: test_uring_compat.sh MODE}
BYTES=${URING_COMPAT_BYTES:-67108864}
PORT=9100
fail=0

case $mode in
  tcp_server) server=$URING_TCP_SERVER; want="RESULT bytes=$BYTES bad=0" ;;
  ctrl_server) server=$URING_CTRL_SERVER
    want="RESULT bytes=$BYTES bad=0 exported=1 flushes=[0-9]+" ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

tcpns_setup direct
tcpt_start_zcrxd af_packet
tcpt_shim_server "$server" -s -i "$TCPNS_B_IF" -p $PORT -n "$BYTES"
tcpns_bg tx "$TCPNS_NS_A" "$server" -c -h "$TCPNS_B_ADDR" -p $PORT -n "$BYTES"
tcpns_wait tx || { echo "FAIL: the kernel sender exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
tcpns_wait rx || { echo "FAIL: the server exited $?"; cat "$TCPNS_DIR/rx.err"; fail=1; }
cat "$TCPNS_DIR/tx.out" "$TCPNS_DIR/rx.out"
grep -qxE "$want" "$TCPNS_DIR/rx.out" || { echo "FAIL: expected $want"; fail=1; }
tcpt_stop_zcrxd

[ $fail -eq 0 ] && echo PASS
exit $fail
