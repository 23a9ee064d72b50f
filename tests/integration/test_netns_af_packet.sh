#!/usr/bin/env bash
# Real traffic from the kernel, in a network namespace made for the test:
#   af_packet (default): a veth pair, a kernel UDP sender on one end,
#                        zcrxd on net_af_packet on the other;
#   af_packet_jumbo:     the same with a 3000 B MTU, framesz=3072 and
#                        2800 B payloads: frames larger than a 2048 B mbuf
#                        data room reach the 4096 B niovs whole;
#   tap:                 zcrxd on net_tap, the kernel routing a UDP sender's
#                        datagrams out of the tap interface;
#   tap_frag:            the same with 4000 B datagrams over the tap's 1500 B
#                        MTU: the kernel sends each as three IPv4 fragments,
#                        zcrxd reassembles them in place and zcrx_rx checks
#                        every datagram's bytes and length (net_af_packet
#                        would not show it: its fanout socket asks the kernel
#                        to reassemble first, PACKET_FANOUT_FLAG_DEFRAG);
#   af_xdp_zc:           the same with areas zcrxd makes (zcrx_rx
#                        --zcrxd-area): net_af_xdp takes the in-area pool
#                        as its UMEM and XDP writes every frame straight
#                        into the area: copied=0, no copy-mode line;
#   af_xdp:              zcrxd on net_af_xdp over the veth (MTU 3000: veth
#                        refuses XDP with larger ones); the PMD refuses a
#                        pool over the area, so zcrxd serves the queue in
#                        copy mode (--copy-mode auto) and says so, for two
#                        consumers one after the other; then
#                        with --copy-mode off the registration fails with
#                        EINVAL;
# zcrx_rx verifying every byte. The sending veth has tx checksum offload
# turned off: a kernel sender over veth otherwise leaves UDP checksums
# partial (CHECKSUM_PARTIAL), which net_af_packet and net_af_xdp hand over
# as they are and zcrxd, checking them as Linux's UDP would, drops. The
# af_packet mode also shows that: with the offload on, every datagram is
# dropped as dropped_bad_udp_csum and zcrxd prints its hint once; with
# --rx-csum off (trusting the link) every byte arrives again.
# SKIP (77) only where a namespace cannot be made, ethtool is missing
# (scripts/setup installs it), or (af_xdp) where the AF_XDP socket cannot
# be created.
# Usage: test_netns_af_packet.sh [af_packet|af_packet_jumbo|tap|tap_frag|af_xdp|af_xdp_zc].
# Environment: ZCRXD, ZCRX_RX, UDP_SEND (paths).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
mode=${1:-af_packet}
N=${N:-3000}
ns=zcrxit$$
dir=$(mktemp -d /tmp/zcrxd-netns-XXXXXX)
zpid=
cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

case $mode in tap*) tapmode=1 ;; *) tapmode= ;; esac
case $mode in af_xdp*) xdpmode=1 ;; *) xdpmode= ;; esac
if [ -z "$tapmode" ] && ! command -v ethtool >/dev/null; then
  echo "SKIP: ethtool is needed to turn tx checksum offload off on the veth (scripts/setup)"
  exit 77
fi
if ! ip netns add "$ns" 2>"$dir/err"; then
  echo "SKIP: cannot create a network namespace: $(cat "$dir/err")"
  exit 77
fi
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
size=1200
if [ "$mode" = af_packet_jumbo ]; then size=2800; fi
rx_opts=
if [ "$mode" = tap_frag ]; then size=4000; rx_opts="--datagram-size $size"; fi
if [ "$mode" = af_xdp_zc ]; then rx_opts="--zcrxd-area"; fi
if [ -z "$tapmode" ]; then
  if ! in_ns ip link add va type veth peer name vb 2>"$dir/err"; then
    echo "SKIP: cannot create a veth pair: $(cat "$dir/err")"
    exit 77
  fi
  if [ "$mode" = af_packet_jumbo ] || [ -n "$xdpmode" ]; then
    in_ns ip link set va mtu 3000
    in_ns ip link set vb mtu 3000
  fi
  in_ns ip link set va up
  in_ns ip link set vb up
  # Complete checksums from the sender (see above).
  in_ns ethtool -K va tx off >/dev/null
  in_ns ip addr add 10.99.0.1/24 dev va
  # vb has no address: zcrxd owns it through AF_PACKET. The sender resolves
  # 10.99.0.2 to vb's MAC statically (nobody answers ARP there).
  vb_mac=$(in_ns cat /sys/class/net/vb/address)
  in_ns ip neigh replace 10.99.0.2 lladdr "$vb_mac" dev va nud permanent
  vdev="net_af_packet0,iface=vb,framecnt=4096"
  # 3072 B frames, four per 12 KiB block (the PMD assumes frames that tile
  # the ring): room for a 3000 B MTU frame.
  [ "$mode" = af_packet_jumbo ] && vdev="$vdev,framesz=3072,blocksz=12288"
  [ -n "$xdpmode" ] && vdev="net_af_xdp0,iface=vb,start_queue=0,queue_count=1"
else
  vdev="net_tap0,iface=ztap0"
fi

# One consumer run: zcrx_rx for ${2:-$N} datagrams (its output in $dir/$1,
# more zcrx_rx options in $3), the sender starting once the consumer's
# RECV_ZC is armed (zcrxd polls the port only from then on, --rx-gate 1; a
# stats line printed after the consumer started says armed=1). Sets rxrc.
consume() {
  local from n=${2:-$N}
  from=$(($(wc -l <"$dir/zcrxd.log") + 1))
  # shellcheck disable=SC2086
  in_ns timeout 60 "$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --count "$n" \
    --quiet --area-mb 16 $rx_opts ${3:-} >"$dir/$1" 2>"$dir/rx.err" &
  rxpid=$!
  for _ in $(seq 300); do
    tail -n +"$from" "$dir/zcrxd.log" | grep -q "armed=1" && break
    sleep 0.1
  done
  in_ns "$UDP_SEND" --dst 10.99.0.2 --port 9000 --count "$n" --size "$size" --gap-us ${GAP_US:-50}
  wait "$rxpid"
  rxrc=$?
}

# Starts zcrxd on $vdev with socket $dir/zcrxd.sock, log $dir/zcrxd.log,
# its options after the EAL's in "$@".
start_zcrxd() {
  # A fresh log before zcrxd starts: the waits below must not read the
  # last run's lines.
  : >"$dir/zcrxd.log"
  # Started directly (not through a shell function's subshell) so $! is
  # zcrxd itself: `ip netns exec` execs the command.
  ip netns exec "$ns" "$ZCRXD" --no-huge -m 256 --no-pci --no-telemetry --file-prefix "$ns" \
    -l 0 --log-level lib.eal:error --vdev "$vdev" -- \
    --socket "$dir/zcrxd.sock" --rx-gate 1 --stats 1 "$@" >>"$dir/zcrxd.log" 2>&1 &
  zpid=$!
  zcrxd_wait_ready
}

start_zcrxd
if [ -n "$tapmode" ]; then
  # The PMD created ztap0; the kernel sends to 10.99.0.2 through it.
  in_ns ip link set ztap0 up
  in_ns ip addr add 10.99.0.1/24 dev ztap0
  in_ns ip neigh replace 10.99.0.2 lladdr 02:00:00:00:00:22 dev ztap0 nud permanent
fi

if [ "$mode" = af_xdp ]; then
  # A first consumer and its ring go away: the queue is unbound, and bound
  # again (straight to copy mode, on the same copy pool) for the second.
  consume rx1.out
  rx1rc=$rxrc
fi
consume rx.out
if [ "$mode" = af_xdp_zc ]; then
  # net_af_xdp keeps the queue's XDP socket, and its UMEM over the first
  # area, until the port closes: a second area cannot be bound (EBUSY).
  in_ns timeout 20 "$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --count 1 \
    --quiet --area-mb 16 --zcrxd-area >"$dir/rx2.out" 2>"$dir/rx2.err"
  rx2rc=$?
fi
zcrxd_stop
fail=0
if [ -n "$xdpmode" ] && [ "$rxrc" -ne 0 ] && grep -q "Failed to create xsk socket" "$dir/zcrxd.log"; then
  # No AF_XDP here (kernel built without XDP sockets, no permission):
  # net_af_xdp says so when it sets the queue up. (Its refusal of an
  # extbuf area pool reads "Failed to create umem".)
  echo "SKIP: net_af_xdp cannot create an AF_XDP socket here:" \
    "$(grep -m1 -B1 "Failed to create xsk socket" "$dir/zcrxd.log" | tr '\n' ' ')"
  exit 77
fi
if [ "$mode" = af_xdp_zc ]; then
  grep "zcrxd: queue 0:" "$dir/zcrxd.log"
  ! grep -q "copy mode" "$dir/zcrxd.log" ||
    { echo "FAIL: a zcrxd-made area fell back to copy mode"; fail=1; }
  # Every datagram delivered in place: not one copied.
  copied=$(grep "zcrxd: final" "$dir/zcrxd.log" | sed -n 's/.* copied=\([0-9]*\) .*/\1/p')
  delivered=$(grep "zcrxd: final" "$dir/zcrxd.log" | sed -n 's/.* delivered=\([0-9]*\) .*/\1/p')
  [ "$copied" = 0 ] && [ "$delivered" = "$N" ] ||
    { echo "FAIL: copied=$copied delivered=$delivered, expected 0 and $N"; fail=1; }
  # What the PMD's fill ring held at close (it never gives it back) was
  # taken back: a share of the area, not all of it.
  kept=$(sed -n 's/^zcrxd: area [0-9]*: \([0-9]*\) buffers the port kept at close.*/\1/p' \
    "$dir/zcrxd.log")
  [ -n "$kept" ] && [ "$kept" -gt 0 ] && [ "$kept" -lt 4096 ] ||
    { echo "FAIL: buffers the port kept: '$kept'"; fail=1; }
  [ "$rx2rc" -ne 0 ] && grep -q "register ifq: Device or resource busy" "$dir/rx2.err" &&
    grep -q "cannot set the queue up again.*(EBUSY)" "$dir/zcrxd.log" ||
    { echo "FAIL: a second area on the queue: exit $rx2rc"; cat "$dir/rx2.err"; fail=1; }
fi
if [ "$mode" = af_xdp ]; then
  grep "zcrxd: queue 0:" "$dir/zcrxd.log"
  # One line: the second bind knows the PMD refuses.
  [ "$(grep -c "^zcrxd: queue 0: net_af_xdp refused the area pool (E[A-Z]*): copy mode$" \
      "$dir/zcrxd.log")" = 1 ] ||
    { echo "FAIL: not one copy-mode line"; cat "$dir/zcrxd.log"; fail=1; }
  r1=$(grep '^RESULT ' "$dir/rx1.out")
  [ "$rx1rc" -eq 0 ] && echo "$r1" | grep -q "\"packets\":$N," &&
    echo "$r1" | grep -q '"bad_payloads":0,' ||
    { echo "FAIL: first consumer: exit $rx1rc $r1"; fail=1; }
  # Every datagram of both runs was copied into the area (a few ARP/IPv6
  # frames the kernel sends on a new link are dropped without a flow).
  copied=$(grep "zcrxd: final" "$dir/zcrxd.log" | sed -n 's/.* copied=\([0-9]*\) .*/\1/p')
  delivered=$(grep "zcrxd: final" "$dir/zcrxd.log" | sed -n 's/.* delivered=\([0-9]*\) .*/\1/p')
  [ "$copied" = $((2 * N)) ] && [ "$delivered" = $((2 * N)) ] ||
    { echo "FAIL: copied=$copied delivered=$delivered, expected $((2 * N))"; fail=1; }
fi
if [ "$mode" = tap_frag ]; then
  # Three fragments a datagram, one CQE each (check_run counts datagrams;
  # zcrx_rx checked each one's length).
  grep -q "\"packets\":$((3 * N))," "$dir/rx.out" ||
    { echo "FAIL: expected $((3 * N)) CQEs"; fail=1; }
  [ "$(grep "zcrxd: final" "$dir/zcrxd.log" | sed -n 's/.* reassembled=\([0-9]*\) .*/\1/p')" = "$N" ] ||
    { echo "FAIL: expected reassembled=$N"; fail=1; }
fi
check_run "$N"
if [ "$mode" = af_packet ]; then
  # The sender's checksums left to offload again: partial on the wire.
  in_ns ethtool -K va tx on >/dev/null
  np=200
  start_zcrxd
  consume rx.out "$np" "--duration 3"
  zcrxd_stop
  # Every datagram is dropped as dropped_bad_udp_csum, or (the kernel now
  # and then completes a checksum itself) delivered intact; most are
  # dropped.
  final=$(grep "zcrxd: final" "$dir/zcrxd.log")
  bad=$(echo "$final" | sed -n 's/.* dropped_bad_udp_csum=\([0-9]*\) .*/\1/p')
  got=$(echo "$final" | sed -n 's/.* delivered=\([0-9]*\) .*/\1/p')
  [ "$((bad + got))" = "$np" ] && [ "$bad" -ge $((np / 2)) ] &&
    grep -q '"bad_payloads":0,' "$dir/rx.out" && grep -q "\"datagrams\":$got," "$dir/rx.out" ||
    { echo "FAIL: partial checksums: dropped_bad_udp_csum=$bad delivered=$got of $np"
      cat "$dir/rx.out" "$dir/rx.err"; fail=1; }
  [ "$(grep -c "tx checksum offload\|ethtool -K IFACE tx off" "$dir/zcrxd.log")" = 1 ] ||
    { echo "FAIL: not one hint about tx checksum offload"; cat "$dir/zcrxd.log"; fail=1; }
  # --rx-csum off trusts the link: every byte arrives.
  start_zcrxd --rx-csum off
  consume rx.out
  zcrxd_stop
  check_run "$N"
fi
if [ "$mode" = af_xdp ]; then
  # --copy-mode off: the refusal is the registration's answer (-EINVAL),
  # as it was before copy mode existed.
  mv "$dir/zcrxd.log" "$dir/zcrxd-auto.log"
  ip netns exec "$ns" "$ZCRXD" --no-huge -m 256 --no-pci --no-telemetry --file-prefix "${ns}off" \
    -l 0 --log-level lib.eal:error --vdev "$vdev" -- \
    --socket "$dir/off.sock" --rx-gate 1 --copy-mode off >"$dir/zcrxd.log" 2>&1 &
  zpid=$!
  zcrxd_wait_ready "--copy-mode off"
  in_ns timeout 20 "$ZCRX_RX" --socket "$dir/off.sock" --flow udp:9000 --count 1 \
    --quiet --area-mb 16 >"$dir/rx.out" 2>"$dir/rx.err"
  offrc=$?
  kill -INT "$zpid"; wait "$zpid"; zrc=$?; zpid=
  grep -q "zcrx_rx: register ifq: Invalid argument" "$dir/rx.err" && [ "$offrc" -ne 0 ] ||
    { echo "FAIL: --copy-mode off: registration did not fail with EINVAL (exit $offrc)"
      cat "$dir/rx.err"; fail=1; }
  ! grep -q "copy mode" "$dir/zcrxd.log" ||
    { echo "FAIL: --copy-mode off fell back to copy mode"; fail=1; }
  grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" && [ "$zrc" -eq 0 ] ||
    { echo "FAIL: --copy-mode off: zcrxd exit $zrc"; cat "$dir/zcrxd.log"; fail=1; }
fi
[ $fail -eq 0 ] && echo "PASS: $N datagrams of $size B from a kernel sender ($mode), every byte verified"
exit $fail
