#!/usr/bin/env bash
# What zb (where zcrxd's PMD attaches) really receives from a kernel TCP
# sender in A, captured there with frame_check (AF_PACKET: what
# net_af_packet reads):
#   direct:       MTU 1500, tcp_netns.sh's offloads: every frame at most
#                 1514 B, most exactly MSS-sized, every checksum complete;
#   offloads_on:  the control: TSO, GSO and TX checksum offload turned back
#                 on at the sender's veth, and frame_check must see frames
#                 larger than the MTU and checksums left undone;
#   jumbo:        the same as direct with MTU 9000;
#   relay:        through impair_relay (no impairment), MTU 1500;
#   relay_jumbo:  through impair_relay with MTU 9202: 9216 B frames, the
#                 largest the relay must pass, arrive whole.
# The kernel in B terminates the connection (--b-kernel) so there is data
# to capture; tcp_peer checks every byte.
# Usage: test_tcp_netns_frames.sh MODE. Environment: TCP_PEER, FRAME_CHECK,
# IMPAIR_RELAY (paths).
set -u
mode=${1:-direct}
case "$mode" in
  jumbo) export TCPNS_MTU=9000 ;;
  relay_jumbo) export TCPNS_MTU=9202 ;;
  direct|offloads_on|relay) export TCPNS_MTU=1500 ;;
  *) echo "usage: $0 direct|offloads_on|jumbo|relay|relay_jumbo"; exit 2 ;;
esac
. "$(dirname "$0")/tcp_netns.sh"
topo=direct
case "$mode" in relay*) topo=relay ;; esac
tcpns_setup $topo --b-kernel
[ $topo = relay ] && tcpns_start_relay
if [ "$mode" = offloads_on ]; then
  tcpns_in_a ethtool -K ka tx on tso on gso on >/dev/null 2>&1
  tcpns_offloads_check "$TCPNS_NS_A" ka &&
    { echo "FAIL: could not turn offloads back on for the control"; exit 1; }
fi

BYTES=$((32 << 20))
tcpns_capture_start cap "$TCPNS_NS_B" zb --port 5001
tcpns_peer rx "$TCPNS_NS_B" --listen "$TCPNS_B_ADDR:5001" --bytes $BYTES --timeout 60
tcpns_peer tx "$TCPNS_NS_A" --connect "$TCPNS_B_ADDR:5001" --bytes $BYTES --timeout 60
fail=0
tcpns_wait tx || { echo "FAIL: sender exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
tcpns_wait rx || { echo "FAIL: receiver exited $?"; cat "$TCPNS_DIR/rx.err"; fail=1; }
tcpns_capture_stop cap
caprc=$?
cap=$TCPNS_CAPTURE
echo "receiver: $(tcpns_result "$TCPNS_DIR/rx.out")"
echo "frames at zb: $cap"
[ -n "$cap" ] || { echo "FAIL: no frame_check RESULT"; cat "$TCPNS_DIR/cap.err"; exit 1; }
v() { tcpns_json "$cap" "$1"; }
max_frame=$((TCPNS_MTU + 14))
if [ "$mode" = offloads_on ]; then
  # The reasons the offloads must be off, seen on the wire.
  [ $caprc -ne 0 ] || { echo "FAIL: frame_check passed frames with offloads on"; fail=1; }
  [ "$(v oversize)" -gt 0 ] && [ "$(v max_frame)" -gt $max_frame ] ||
    { echo "FAIL: no frame above the MTU with TSO/GSO on"; fail=1; }
  [ "$(v csum_not_ready)" -gt 0 ] ||
    { echo "FAIL: no checksum left to offload with TX checksumming on"; fail=1; }
else
  [ $caprc -eq 0 ] || { echo "FAIL: frame_check found wrong frames (exit $caprc)"; fail=1; }
  # Most data frames are full: the sender's MSS fills the MTU.
  [ "$(v max_frame)" = $max_frame ] ||
    { echo "FAIL: largest frame $(v max_frame), expected $max_frame"; fail=1; }
  [ "$(v full_size)" -gt $((BYTES / TCPNS_MTU / 2)) ] ||
    { echo "FAIL: only $(v full_size) full-size frames"; fail=1; }
  [ "$(v ring_drops)" = 0 ] || echo "note: frame_check missed $(v ring_drops) frames (socket full)"
fi
if [ $topo = relay ]; then
  tcpns_stop_relay
  echo "relay: $TCPNS_RELAY_FINAL"
  tcpns_py - "$TCPNS_RELAY_FINAL" <<'EOF' || fail=1
import json, sys
f = json.loads(sys.argv[1])
bad = [f"{d}.{k}={f[d][k]}" for d in ("ab", "ba")
       for k in ("dropped", "oversize", "csum_completed", "tx_errors", "queue_full", "queued")
       if f[d][k]]
bad += [f"{d}: rx {f[d]['rx']} forwarded {f[d]['forwarded']}" for d in ("ab", "ba")
        if f[d]["rx"] != f[d]["forwarded"]]
for b in bad:
    print("FAIL: relay " + b)
sys.exit(1 if bad else 0)
EOF
fi
[ $fail -eq 0 ] && echo "PASS: $mode (MTU $TCPNS_MTU)"
exit $fail
