#!/usr/bin/env bash
# zcrxd as a TCP endpoint with the Linux kernel as the peer (topology
# "direct" of tests/tools/tcp_netns.sh: ns A, kernel ka 10.77.0.1 <-veth->
# zb in ns B, where zcrxd runs net_af_packet on zb with --ip 10.77.0.2/24
# and answers ARP itself).
#   recv: itest_tcp_recv listens through zcrxd (SOCKET, BIND, LISTEN,
#         multishot ACCEPT and RECV_ZC) and checks every byte of the
#         tcp_pattern.h stream tcp_peer --connect sends ($BYTES, default
#         256M), refilling every buffer; EOF is RECV_ZC res 0 without F_MORE.
#   send: itest_tcp_app --mode send registers a TX region, CONNECTs to
#         tcp_peer --listen in A and SENDs the pattern's stream 0 ($BYTES),
#         then SHUT_WR; tcp_peer checks every byte and closes (EOF).
#   kill: the receiving consumer is SIGKILLed mid-stream: zcrxd resets
#         the connection (tcp_peer fails with a reset), keeps serving (a
#         second consumer receives 16M intact) and gets every buffer back.
# Both must report every byte intact, and zcrxd must exit with every buffer
# back (outstanding=0 missing=0).
# Environment: ZCRXD, TCP_PEER, TCP_APP (paths). SKIP (77) without netns.
set -u
mode=${1:-recv}
BYTES=${BYTES:-256M}
. "$(dirname "$0")/../tools/tcp_netns.sh"
tcpns_setup direct
dir=$TCPNS_DIR
zpid=
tcpns_on_cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
}
zcrxd_log() { cat "$dir/zcrxd.log"; }

ip netns exec "$TCPNS_NS_B" "$ZCRXD" --no-huge -m 512 --no-pci --no-telemetry \
  --file-prefix "$TCPNS_NS_B" -l 0 --log-level lib.eal:error \
  --vdev "net_af_packet0,iface=zb,framecnt=4096" -- \
  --socket "$dir/zcrxd.sock" --stats 5 --ip 10.77.0.2/24 >"$dir/zcrxd.log" 2>&1 &
zpid=$!
for _ in $(seq 300); do
  grep -q "zcrxd: ready" "$dir/zcrxd.log" && break
  kill -0 "$zpid" 2>/dev/null || break
  sleep 0.1
done
grep -q "zcrxd: ready" "$dir/zcrxd.log" || { echo "FAIL: zcrxd did not start"; zcrxd_log; exit 1; }

fail=0
case $mode in
  recv)
    tcpns_bg rx "$TCPNS_NS_B" "$TCP_APP" --mode recv --socket "$dir/zcrxd.sock" --port 5001 \
      --bytes "$BYTES" --timeout 120
    tcpns_wait_line "$TCPNS_DIR/rx.out" '^LISTENING' 20 ||
      { echo "FAIL: consumer did not listen"; cat "$TCPNS_DIR/rx.err"; zcrxd_log; exit 1; }
    tcpns_peer tx "$TCPNS_NS_A" --connect 10.77.0.2:5001 --bytes "$BYTES" --timeout 120
    tcpns_wait tx; txrc=$?
    tcpns_wait rx; rxrc=$?
    echo "peer:     $(tcpns_result "$TCPNS_DIR/tx.out")"
    echo "consumer: $(tcpns_result "$TCPNS_DIR/rx.out")"
    [ "$txrc" -eq 0 ] || { echo "FAIL: tcp_peer exit $txrc"; cat "$TCPNS_DIR/tx.err"; fail=1; }
    [ "$rxrc" -eq 0 ] || { echo "FAIL: consumer exit $rxrc"; cat "$TCPNS_DIR/rx.err"; fail=1; }
    ;;
  send)
    tcpns_peer rx "$TCPNS_NS_A" --listen 10.77.0.1:5002 --mode recv --bytes "$BYTES" \
      --timeout 120
    tcpns_bg tx "$TCPNS_NS_B" "$TCP_APP" --mode send --socket "$dir/zcrxd.sock" \
      --peer 10.77.0.1:5002 --bytes "$BYTES" --timeout 120
    tcpns_wait tx; txrc=$?
    tcpns_wait rx; rxrc=$?
    echo "consumer: $(tcpns_result "$TCPNS_DIR/tx.out")"
    echo "peer:     $(tcpns_result "$TCPNS_DIR/rx.out")"
    [ "$txrc" -eq 0 ] || { echo "FAIL: consumer exit $txrc"; cat "$TCPNS_DIR/tx.err"; fail=1; }
    [ "$rxrc" -eq 0 ] || { echo "FAIL: tcp_peer exit $rxrc"; cat "$TCPNS_DIR/rx.err"; fail=1; }
    ;;
  kill)
    tcpns_bg rx "$TCPNS_NS_B" "$TCP_APP" --mode recv --socket "$dir/zcrxd.sock" --port 5001 \
      --bytes 64G --timeout 60
    tcpns_wait_line "$TCPNS_DIR/rx.out" '^LISTENING' 20 ||
      { echo "FAIL: consumer did not listen"; cat "$TCPNS_DIR/rx.err"; zcrxd_log; exit 1; }
    tcpns_peer tx "$TCPNS_NS_A" --connect 10.77.0.2:5001 --bytes 64G --timeout 60
    sleep 1.5
    kill -KILL "${_tcpns_pid[rx]}"
    tcpns_wait rx
    tcpns_wait tx; txrc=$?
    echo "peer after the kill: exit $txrc: $(head -c 300 "$TCPNS_DIR/tx.err")"
    [ "$txrc" -ne 0 ] || { echo "FAIL: tcp_peer finished a 64G stream"; fail=1; }
    # The killed consumer's sockets close as a process's do in Linux: a FIN
    # (everything it was given counts as read), then a RST for the data
    # still coming. In CLOSE_WAIT Linux reports that RST as EPIPE, before a
    # FIN as ECONNRESET; a FIN alone would let the sender go on.
    grep -qiE "reset|broken pipe" "$TCPNS_DIR/tx.err" || { echo "FAIL: tcp_peer saw no reset"; fail=1; }
    kill -0 "$zpid" || { echo "FAIL: zcrxd died"; zcrxd_log; exit 1; }
    # zcrxd serves the next consumer on the same port.
    tcpns_bg rx2 "$TCPNS_NS_B" "$TCP_APP" --mode recv --socket "$dir/zcrxd.sock" --port 5001 \
      --bytes 16M --timeout 60
    tcpns_wait_line "$TCPNS_DIR/rx2.out" '^LISTENING' 20 ||
      { echo "FAIL: second consumer did not listen"; cat "$TCPNS_DIR/rx2.err"; exit 1; }
    tcpns_peer tx2 "$TCPNS_NS_A" --connect 10.77.0.2:5001 --bytes 16M --timeout 60
    tcpns_wait tx2; txrc=$?
    tcpns_wait rx2; rxrc=$?
    echo "consumer: $(tcpns_result "$TCPNS_DIR/rx2.out")"
    [ "$txrc" -eq 0 ] || { echo "FAIL: second tcp_peer exit $txrc"; cat "$TCPNS_DIR/tx2.err"; fail=1; }
    [ "$rxrc" -eq 0 ] || { echo "FAIL: second consumer exit $rxrc"; cat "$TCPNS_DIR/rx2.err"; fail=1; }
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

kill -INT "$zpid"
wait "$zpid"
zrc=$?
zpid=
grep "zcrxd: final\|zcrxd: exit\|zcrxd: tcp" "$dir/zcrxd.log"
[ "$zrc" -eq 0 ] || { echo "FAIL: zcrxd exit $zrc"; fail=1; }
grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" ||
  { echo "FAIL: zcrxd buffers do not balance"; zcrxd_log | tail -20; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
