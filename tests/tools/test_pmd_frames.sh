#!/usr/bin/env bash
# What DPDK's PMDs hand a userspace stack at zb with tcp_netns.sh's offload
# settings, and what goes wrong without them. dpdk-testpmd forwards between
# the PMD on zb and a net_tap port whose kernel side (tapb, 10.77.0.2 in B)
# terminates TCP, so a whole kernel-to-kernel connection runs through the
# PMD; frame_check on tapb sees exactly the frames the PMD received.
#   af_packet / af_xdp:        the settings: every frame MSS-sized, every
#                              checksum complete, 16 MiB verified.
#   af_packet_tx_csum /
#   af_xdp_tx_csum:            the control: TX checksum offload back on at
#                              ka: the PMD gets frames with checksums left
#                              undone (and TSO super-frames through
#                              net_af_packet), the connection never comes up.
# SKIP (77) without dpdk-testpmd, or where net_af_xdp cannot make its socket.
# Usage: test_pmd_frames.sh MODE. Environment: TCP_PEER, FRAME_CHECK.
set -u
mode=${1:-af_packet}
. "$(dirname "$0")/tcp_netns.sh"
command -v dpdk-testpmd >/dev/null || tcpns_skip "no dpdk-testpmd (Debian package dpdk)"
case "$mode" in
  af_packet|af_packet_tx_csum) vdev="net_af_packet0,iface=zb" ;;
  # MTU 1500: net_tap's port refuses larger frames here (its multiq qdisc
  # is missing); veth's own limit for XDP is 3000 or so.
  af_xdp|af_xdp_tx_csum) vdev="net_af_xdp0,iface=zb,start_queue=0,queue_count=1" ;;
  *) echo "usage: $0 af_packet|af_xdp|af_packet_tx_csum|af_xdp_tx_csum"; exit 2 ;;
esac
tcpns_setup direct
control=0
case "$mode" in *_tx_csum)
  control=1
  tcpns_in_a ethtool -K ka tx on tso on gso on >/dev/null 2>&1 ;;
esac

# testpmd runs until its stdin ends: a FIFO whose write end this shell
# holds (fd 3) and closes at cleanup.
mkfifo "$TCPNS_DIR/pmd.in"
ip netns exec "$TCPNS_NS_B" stdbuf -oL dpdk-testpmd --no-huge -m 96 --no-pci -l 0-1 \
  --file-prefix "$TCPNS_NS_B" --log-level=lib.eal:error --vdev "$vdev" --vdev net_tap0,iface=tapb -- \
  --forward-mode=io --auto-start --disable-link-check --nb-cores=1 --total-num-mbufs=8192 \
  <"$TCPNS_DIR/pmd.in" >"$TCPNS_DIR/pmd.out" 2>&1 &
pmd=$!
exec 3>"$TCPNS_DIR/pmd.in"
tcpns_on_cleanup() {
  exec 3>&-
  wait $pmd 2>/dev/null
  rm -rf "/var/run/dpdk/$TCPNS_NS_B"
}
tcpns_wait_line "$TCPNS_DIR/pmd.out" "Press enter to exit|Cause:" 30
if grep -q "Cause:" "$TCPNS_DIR/pmd.out"; then
  if grep -qiE "xsk|umem|af_xdp" "$TCPNS_DIR/pmd.out"; then
    tcpns_skip "net_af_xdp cannot work here: $(grep -m1 -iE "xsk|umem" "$TCPNS_DIR/pmd.out")"
  fi
  echo "FAIL: dpdk-testpmd did not start"; cat "$TCPNS_DIR/pmd.out"; exit 1
fi
ip -n "$TCPNS_NS_B" addr add "$TCPNS_B_ADDR/24" dev tapb
# B's kernel owns 10.77.0.2 on tapb but also sees zb (net_af_packet only
# taps it): left alone it answers A's ARP on zb with zb's MAC (any local
# address, on any interface) and the connection bypasses the PMD. Never
# answering ARP on zb keeps A's frames addressed to tapb, which B's kernel
# drops on zb as another host's.
ip netns exec "$TCPNS_NS_B" sysctl -qw net.ipv4.conf.zb.arp_ignore=8
tcpns_offloads_off "$TCPNS_NS_B" tapb
ip -n "$TCPNS_NS_B" link set tapb up

fail=0
BYTES=$((16 << 20))
timeout=15
[ $control = 1 ] && timeout=4  # long enough for the SYN and its retries
tcpns_capture_start cap "$TCPNS_NS_B" tapb --port 5001
tcpns_peer rx "$TCPNS_NS_B" --listen "$TCPNS_B_ADDR:5001" --bytes $BYTES --timeout $timeout
tcpns_peer tx "$TCPNS_NS_A" --connect "$TCPNS_B_ADDR:5001" --bytes $BYTES --timeout $timeout
tcpns_wait tx; txrc=$?
tcpns_wait rx; rxrc=$?
tcpns_capture_stop cap; caprc=$?
echo "receiver (exit $rxrc): $(tcpns_result "$TCPNS_DIR/rx.out")"
echo "frames the PMD delivered: $TCPNS_CAPTURE"
v() { tcpns_json "$TCPNS_CAPTURE" "$1"; }
if [ $control = 1 ]; then
  [ $rxrc -ne 0 ] && [ $txrc -ne 0 ] ||
    { echo "FAIL: the connection worked with checksums left to offload"; fail=1; }
  [ $caprc -ne 0 ] && [ "$(v bad_l4_csum)" -gt 0 ] ||
    { echo "FAIL: no frame with an undone checksum reached the PMD"; fail=1; }
else
  [ $rxrc -eq 0 ] && [ $txrc -eq 0 ] || { echo "FAIL: transfer failed (tx $txrc, rx $rxrc)"; fail=1; }
  [ $caprc -eq 0 ] || { echo "FAIL: the PMD delivered wrong frames"; fail=1; }
  [ "$(v max_frame)" = $((TCPNS_MTU + 14)) ] && [ "$(v full_size)" -gt $((BYTES / TCPNS_MTU / 2)) ] ||
    { echo "FAIL: not MSS-sized frames"; fail=1; }
fi
[ $fail -eq 0 ] && echo "PASS: $mode"
exit $fail
