#!/usr/bin/env bash
# A source that is another DPDK process: dpdk-testpmd replays a known packet
# set from net_pcap and forwards it (io forwarding, transmit retried so the
# ring filling up never drops) on a net_vhost port; zcrxd receives on a
# virtio_user port attached to the same vhost-user socket, so every frame is
# written into zcrxd's memory by the other process, through the virtio
# ring. The consumer must receive every packet exactly once with every byte
# intact, and every buffer must come back.
#
# vhost-user can reach only the memory in the device's memory table (the
# EAL's own memfd segments), never the consumer's area: zcrxd (default
# --copy-mode auto) must see that and fall back to copy mode, instead of
# binding the area's pool and having the backend drop every packet
# (docs/BENCHMARKS.md, "A NIC-like source").
# SKIP (77) when dpdk-testpmd or the net_vhost/virtio_user drivers are
# missing.
# Environment: ZCRXD, ZCRX_RX, PCAP_GEN (paths); TESTPMD (default
# dpdk-testpmd from PATH).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
N=${N:-20000}
size=1000
testpmd=${TESTPMD:-$(command -v dpdk-testpmd || true)}
if [ -z "$testpmd" ] || [ ! -x "$testpmd" ]; then
  echo "SKIP: dpdk-testpmd not found (Debian package dpdk)"
  exit 77
fi
dir=$(mktemp -d /tmp/zcrxd-vhost-XXXXXX)
zpid=
tpid=
cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  [ -n "$tpid" ] && kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
  exec 3>&- 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/zcrxvh$$" "/var/run/dpdk/zcrxvz$$"
}
trap cleanup EXIT

"$PCAP_GEN" --out "$dir/in.pcap" --count "$N" --size "$size" --ports 9000 >/dev/null || {
  echo "FAIL: pcap_gen"; exit 1; }
# testpmd is interactive so that forwarding starts only once the consumer
# is attached: before that the virtio ring would fill and vhost drop.
# --no-flush-rx keeps testpmd from draining the pcap port before "start".
mkfifo "$dir/tp.in"
exec 3<>"$dir/tp.in"
stdbuf -oL "$testpmd" -l 0,1 --no-huge -m 128 --no-pci --no-telemetry --file-prefix "zcrxvh$$" \
  --vdev "net_vhost0,iface=$dir/vhost.sock,queues=1" --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- \
  -i --forward-mode=io --no-flush-rx --total-num-mbufs=8192 <&3 >"$dir/testpmd.log" 2>&1 &
tpid=$!
for _ in $(seq 100); do [ -S "$dir/vhost.sock" ] && break; sleep 0.1; done
if [ ! -S "$dir/vhost.sock" ]; then
  if grep -q "net_vhost0\|vdev" "$dir/testpmd.log" && ! kill -0 "$tpid" 2>/dev/null; then
    echo "SKIP: testpmd could not create the net_vhost port:"; cat "$dir/testpmd.log"; exit 77
  fi
  echo "FAIL: no vhost-user socket from testpmd"; cat "$dir/testpmd.log"; exit 1
fi
"$ZCRXD" --no-huge -m 128 --no-pci --no-telemetry --file-prefix "zcrxvz$$" -l 0 \
  --log-level lib.eal:error --vdev "virtio_user0,path=$dir/vhost.sock,queues=1" -- \
  --socket "$dir/zcrxd.sock" --rx-gate 1 >"$dir/zcrxd.log" 2>&1 &
zpid=$!
zcrxd_wait_ready "virtio_user"
grep -q "driver=net_virtio_user" "$dir/zcrxd.log" || { echo "FAIL: zcrxd not on virtio_user"; exit 1; }

timeout 60 "$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --count "$N" --quiet \
  --area-mb 16 >"$dir/rx.out" 2>"$dir/rx.err" &
rxpid=$!
sleep 1  # the consumer registers and arms before the first frame
echo "set fwd io retry" >&3
echo "set burst tx delay 10 retry 100000" >&3
echo "start" >&3
wait "$rxpid"
rxrc=$?
echo "stop" >&3
sleep 0.5
echo "quit" >&3
wait "$tpid"
tpid=
zcrxd_stop
fail=0
check_run "$N"
result=$(grep '^RESULT ' "$dir/rx.out")
echo "$result" | grep -q "\"bytes\":$((N * size))," || { echo "FAIL: expected $((N * size)) bytes"; fail=1; }
grep -q "zcrxd: final .* delivered=$N " "$dir/zcrxd.log" || { echo "FAIL: zcrxd did not deliver exactly $N"; fail=1; }
grep -q "zcrxd: final .* copied=$N " "$dir/zcrxd.log" || { echo "FAIL: expected $N copied packets"; fail=1; }
grep -q "net_virtio_user refused the area pool (EOPNOTSUPP): copy mode" "$dir/zcrxd.log" ||
  { echo "FAIL: no fallback to copy mode for vhost-user"; fail=1; }
# testpmd sent every frame of the file on the vhost port, none dropped.
grep -A3 "statistics for port 0" "$dir/testpmd.log" | grep -q "TX-packets: $N  *TX-dropped: 0 " ||
  { echo "FAIL: testpmd did not send exactly $N on net_vhost"; grep -A3 "statistics for port" "$dir/testpmd.log"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: $N packets of $size B from testpmd over vhost-user, every byte verified"
exit $fail
