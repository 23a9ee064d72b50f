#!/usr/bin/env bash
# zcrxd's TCP endpoint against the Linux kernel's TCP, every byte checked
# (tests/tools/tcp_pattern.h on both ends), in network namespaces
# (tests/tools/tcp_netns.sh): zcrxd in B on zb owns 10.77.0.2 (--ip), the
# kernel in A is 10.77.0.1. Each mode ends with zcrxd exiting 0 with every
# buffer back ("exit outstanding=0 missing=0").
#
#   kernel_to_zcrxd_af_packet, kernel_to_zcrxd_af_xdp:
#       tcp_peer --connect sends $BIG into zcrx_tcp --listen (the PMD named);
#   zcrxd_to_kernel: zcrx_tcp --connect sends $BIG to tcp_peer --listen;
#   concurrent: 100 connections at once, kernel -> zcrxd;
#   churn: 10,000 short connections (16 at a time), then zcrxd's
#       conns_live back to 0;
#   impaired: through impair_relay, 1% loss and 5% reordering both ways,
#       a stream kernel -> zcrxd, then one zcrxd -> kernel; retransmissions
#       on both senders (the kernel's TCP_INFO, zcrxd's retrans counter)
#       and drops both ways;
#   zero_window: zcrx_tcp stops refilling for 3 s once it has 16 MiB: the
#       sender stalls (no more arrives than the area holds), nothing is
#       lost, and the transfer completes after the resume;
#   sigkill: the consumer SIGKILLed mid-transfer: the kernel sender sees a
#       reset, zcrxd serves a second connection to completion.
#
# SKIP (77) without root/netns/veth/ethtool, where AF_XDP cannot attach,
# and, loudly, while zcrxd has no TCP endpoint (SOCKET -EAFNOSUPPORT).
# ZCRX_TCP_LONG=1: the long variants (8 GiB, 100,000 connections, 1 GiB
# through the impairments). TCPT_KEEP=DIR keeps the logs.
# Environment: ZCRXD, ZCRX_TCP, TCP_PEER, IMPAIR_RELAY (paths).
set -u
here=$(dirname "$0")
. "$here/../tools/tcp_netns.sh"
. "$here/tcp_lib.sh"
mode=${1:?usage: test_tcp.sh MODE}

if [ -n "${ZCRX_TCP_LONG:-}" ]; then
  BIG=8G; CHURN=100000; IMPAIRED=1G; CONC_EACH=16M
else
  BIG=1G; CHURN=10000; IMPAIRED=16M; CONC_EACH=2M
fi
# Overrides for runs by hand (smaller or larger than either variant).
BIG=${TCPT_BIG:-$BIG}; CHURN=${TCPT_CHURN:-$CHURN}
bytes_of() {  # K/M/G as tcp_peer and zcrx_tcp take them
  local n=${1%[KMG]}
  case $1 in *K) echo $((n << 10)) ;; *M) echo $((n << 20)) ;; *G) echo $((n << 30)) ;; *) echo "$n" ;; esac
}
A=$TCPNS_A_ADDR
B=$TCPNS_B_ADDR
fail=0
# Slack for the sender: a userspace stack on two shared cores.
T=150

case $mode in
  kernel_to_zcrxd_af_packet|kernel_to_zcrxd_af_xdp)
    tcpns_setup direct
    tcpt_start_zcrxd "${mode#kernel_to_zcrxd_}"
    tcpt_server rx --connections 1 --bytes "$BIG" --timeout $T
    tcpns_peer tx "$TCPNS_NS_A" --connect "$B:5001" --bytes "$BIG" --timeout $T
    tcpns_wait tx || { echo "FAIL: tcp_peer exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
    tcpt_wait rx || { echo "FAIL: zcrx_tcp exited $?"; fail=1; }
    [ $fail -ne 0 ] && [ "$mode" = kernel_to_zcrxd_af_xdp ] && tcpt_xdp_skip
    tcpt_check_result tx 1 "$(bytes_of $BIG)"
    tcpt_check_result rx 1 "$(bytes_of $BIG)"
    ;;
  zcrxd_to_kernel)
    tcpns_setup direct
    tcpt_start_zcrxd af_packet
    tcpns_peer rx "$TCPNS_NS_A" --listen "$A:5002" --bytes "$BIG" --timeout $T
    tcpns_bg tx "$TCPNS_NS_B" "$ZCRX_TCP" --socket "$TCPNS_DIR/zcrxd.sock" \
      --connect "$A:5002" --bytes "$BIG" --timeout $T
    tcpt_wait tx || { echo "FAIL: zcrx_tcp exited $?"; fail=1; }
    tcpns_wait rx || { echo "FAIL: tcp_peer exited $?"; cat "$TCPNS_DIR/rx.err"; fail=1; }
    tcpt_check_result tx 1 "$(bytes_of $BIG)"
    tcpt_check_result rx 1 "$(bytes_of $BIG)"
    ;;
  concurrent)
    tcpns_setup direct
    tcpt_start_zcrxd af_packet
    tcpt_server rx --connections 100 --bytes "$CONC_EACH" --timeout $T
    tcpns_peer tx "$TCPNS_NS_A" --connect "$B:5001" --conns 100 --bytes "$CONC_EACH" --timeout $T
    tcpns_wait tx || { echo "FAIL: tcp_peer exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
    tcpt_wait rx || { echo "FAIL: zcrx_tcp exited $?"; fail=1; }
    tcpt_check_result tx 100 $((100 * $(bytes_of $CONC_EACH)))
    tcpt_check_result rx 100 $((100 * $(bytes_of $CONC_EACH)))
    tcpt_wait_conns_live_zero 10
    ;;
  churn)
    tcpns_setup direct
    # The kernel closes first (it sends, then waits for our close): its
    # ports sit in TIME-WAIT; let it reuse them (the long run opens more
    # than the ephemeral range holds).
    tcpns_in_a sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
    tcpt_start_zcrxd af_packet
    tcpt_server rx --connections "$CHURN" --bytes 4K --timeout $T --quiet
    tcpns_peer tx "$TCPNS_NS_A" --connect "$B:5001" --churn "$CHURN" --conns 16 --bytes 4K \
      --timeout $T --quiet
    tcpns_wait tx || { echo "FAIL: tcp_peer exited $?"; head -c 3000 "$TCPNS_DIR/tx.err"; fail=1; }
    tcpt_wait rx || { echo "FAIL: zcrx_tcp exited $?"; fail=1; }
    tcpt_check_result tx "$CHURN" $((CHURN * 4096))
    tcpt_check_result rx "$CHURN" $((CHURN * 4096))
    tcpt_wait_conns_live_zero 10
    ;;
  impaired)
    tcpns_setup relay
    tcpns_start_relay --loss 0.01 --reorder 0.05 --seed "${SEED:-20261207}"
    tcpt_start_zcrxd af_packet
    # One direction after the other: a queue has one ifq, and both
    # zcrx_tcp ends want their own (each direction is impaired both ways:
    # data one way, ACKs the other).
    tcpt_server rx --connections 1 --bytes "$IMPAIRED" --timeout $T
    tcpns_peer ktx "$TCPNS_NS_A" --connect "$B:5001" --bytes "$IMPAIRED" --timeout $T
    tcpns_wait ktx || { echo "FAIL: tcp_peer sender exited $?"; cat "$TCPNS_DIR/ktx.err"; fail=1; }
    tcpt_wait rx || { echo "FAIL: zcrx_tcp server exited $?"; fail=1; }
    tcpns_peer krx "$TCPNS_NS_A" --listen "$A:5002" --bytes "$IMPAIRED" --timeout $T
    tcpns_bg tx "$TCPNS_NS_B" "$ZCRX_TCP" --socket "$TCPNS_DIR/zcrxd.sock" \
      --connect "$A:5002" --bytes "$IMPAIRED" --timeout $T
    tcpt_wait tx || { echo "FAIL: zcrx_tcp client exited $?"; fail=1; }
    tcpns_wait krx || { echo "FAIL: tcp_peer receiver exited $?"; cat "$TCPNS_DIR/krx.err"; fail=1; }
    tcpns_stop_relay
    for run in ktx rx tx krx; do tcpt_check_result $run 1 "$(bytes_of $IMPAIRED)"; done
    r=$(tcpns_result "$TCPNS_DIR/ktx.out")
    [ "$(tcpns_json "$r" retransmits)" -gt 0 ] 2>/dev/null ||
      { echo "FAIL: the kernel sender retransmitted nothing through 1% loss"; fail=1; }
    # Its periodic lines may all predate the second transfer: stopped, it
    # prints counters of the whole run.
    tcpt_stop_zcrxd
    zr=$(grep -o "[ (][a-z_]*retrans[a-z_]*=[0-9]*" "$TCPT_ZLOG" | tail -n 1)
    echo "zcrxd: ${zr# }"
    [ -n "$zr" ] && [ "${zr##*=}" -gt 0 ] ||
      { echo "FAIL: zcrxd reports no retransmission through 1% loss (${zr:-no counter})"; fail=1; }
    echo "relay: $TCPNS_RELAY_FINAL"
    tcpns_py - "$TCPNS_RELAY_FINAL" <<'PY' || fail=1
import json, sys
f = json.loads(sys.argv[1])
bad = [f"{d}: dropped={f[d]['dropped']} reordered={f[d]['reordered']}"
       for d in ("ab", "ba") if f[d]["dropped"] == 0 or f[d]["reordered"] == 0]
bad += [f"{d}: {k}={f[d][k]}" for d in ("ab", "ba")
        for k in ("oversize", "csum_completed", "tx_errors") if f[d][k]]
if bad:
    print("FAIL: relay: " + "; ".join(bad))
    sys.exit(1)
PY
    ;;
  zero_window)
    tcpns_setup direct
    tcpt_start_zcrxd af_packet
    # An 8 MiB area: 2048 buffers, so zcrxd runs out soon after the pause.
    tcpt_server rx --connections 1 --bytes 64M --area-mb 8 --rq-entries 1024 \
      --pause-after 16M --pause-ms 3000 --timeout $T
    tcpns_peer tx "$TCPNS_NS_A" --connect "$B:5001" --bytes 64M --timeout $T
    tcpns_wait tx || { echo "FAIL: tcp_peer exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
    tcpt_wait rx || { echo "FAIL: zcrx_tcp exited $?"; fail=1; }
    tcpt_check_result tx 1 $((64 << 20))
    tcpt_check_result rx 1 $((64 << 20))
    r=$(tcpns_result "$TCPNS_DIR/rx.out")
    pb=$(tcpns_json "$r" paused_bytes)
    pm=$(tcpns_json "$r" paused_ms)
    el=$(tcpns_json "$(tcpns_result "$TCPNS_DIR/tx.out")" elapsed_s)
    echo "paused ${pm} ms, ${pb} bytes arrived meanwhile, sender took ${el} s"
    # Held buffers cannot be delivered twice: no more than the area arrives.
    [ -n "$pb" ] && [ "$pb" -le $((8 << 20)) ] ||
      { echo "FAIL: $pb bytes arrived while no buffer was refilled (area 8 MiB)"; fail=1; }
    [ "${pm%.*}" -ge 3000 ] 2>/dev/null || { echo "FAIL: paused only ${pm} ms"; fail=1; }
    [ "${el%.*}" -ge 3 ] 2>/dev/null ||
      { echo "FAIL: the sender did not stall (done in $el s across a 3 s pause)"; fail=1; }
    ;;
  sigkill)
    tcpns_setup direct
    tcpt_start_zcrxd af_packet
    tcpt_server rx1 --connections 1 --timeout $T
    tcpns_peer tx1 "$TCPNS_NS_A" --connect "$B:5001" --bytes 64G --timeout 60
    # Mid-transfer: bytes are flowing (zcrx_tcp's progress line says so).
    tcpns_wait_line "$TCPNS_DIR/rx1.err" 'bytes=[1-9]' 30 ||
      { echo "FAIL: no bytes arrived"; cat "$TCPNS_DIR/rx1.err"; exit 1; }
    kill -KILL "${_tcpns_pid[rx1]}"
    tcpns_wait rx1 2>/dev/null
    tcpns_wait tx1 && { echo "FAIL: tcp_peer completed a transfer whose receiver was killed"; fail=1; }
    # The killed consumer's sockets close as a process's do in Linux: a FIN
    # (everything it was given counts as read), then a RST for the data
    # still coming. In CLOSE_WAIT Linux reports that RST as EPIPE, before a
    # FIN as ECONNRESET; a FIN alone would let the sender go on.
    grep -qiE "reset|broken pipe" "$TCPNS_DIR/tx1.err" ||
      { echo "FAIL: tcp_peer did not see a reset:"; cat "$TCPNS_DIR/tx1.err"; fail=1; }
    head -n 3 "$TCPNS_DIR/tx1.err"
    # zcrxd keeps serving: a second consumer, a second connection.
    TCPT_PORT=5003 tcpt_server rx2 --connections 1 --bytes 64M --timeout $T
    tcpns_peer tx2 "$TCPNS_NS_A" --connect "$B:5003" --bytes 64M --timeout $T
    tcpns_wait tx2 || { echo "FAIL: second tcp_peer exited $?"; cat "$TCPNS_DIR/tx2.err"; fail=1; }
    tcpt_wait rx2 || { echo "FAIL: second zcrx_tcp exited $?"; fail=1; }
    tcpt_check_result tx2 1 $((64 << 20))
    tcpt_check_result rx2 1 $((64 << 20))
    tcpt_wait_conns_live_zero 10
    ;;
  *) echo "test_tcp.sh: unknown mode $mode"; exit 2 ;;
esac

tcpt_stop_zcrxd
[ $fail -eq 0 ] && echo "PASS: $mode"
exit $fail
