#!/usr/bin/env bash
# zcrxd and its consumer on huge pages: the EAL's memory from a private
# hugetlbfs mount, the consumer's area a MFD_HUGETLB memfd. net_pcap replays
# a known packet set once; the consumer must receive every packet exactly
# once with every byte intact, and every buffer must come back.
# The test reserves the 2 MiB pages it needs and gives them back. SKIP (77)
# where pages cannot be reserved or hugetlbfs cannot be mounted (not root,
# no hugetlb support, memory too fragmented).
# Environment: ZCRXD, ZCRX_RX, PCAP_GEN (paths).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
N=${N:-5000}
size=1400
pages_wanted=64  # EAL -m 64 (32 pages) + a 16 MiB area (8 pages) + slack
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
free=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
dir=$(mktemp -d /tmp/zcrxd-huge-XXXXXX)
prefix=zcrxhuge$$
old_nr=
mounted=
zpid=
cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  rm -f "$dir"/huge/* 2>/dev/null
  [ -n "$mounted" ] && umount "$dir/huge" 2>/dev/null
  [ -n "$old_nr" ] && echo "$old_nr" >"$nr" 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

if [ ! -w "$nr" ]; then
  echo "SKIP: cannot reserve 2 MiB huge pages ($nr not writable: not root or no hugetlb)"
  exit 77
fi
have=$(cat "$free")
if [ "$have" -lt "$pages_wanted" ]; then
  old_nr=$(cat "$nr")
  echo $((old_nr + pages_wanted - have)) >"$nr" 2>/dev/null
  have=$(cat "$free")
  if [ "$have" -lt "$pages_wanted" ]; then
    echo "SKIP: only $have free 2 MiB huge pages after asking for $pages_wanted (memory fragmented?)"
    exit 77
  fi
fi
mkdir "$dir/huge"
if ! mount -t hugetlbfs -o pagesize=2M nodev "$dir/huge" 2>"$dir/err"; then
  echo "SKIP: cannot mount hugetlbfs: $(cat "$dir/err")"
  exit 77
fi
mounted=1

"$PCAP_GEN" --out "$dir/in.pcap" --count "$N" --size "$size" --ports 9000 >/dev/null || {
  echo "FAIL: pcap_gen"; exit 1; }
"$ZCRXD" -m 64 --huge-dir "$dir/huge" --no-pci --no-telemetry --file-prefix "$prefix" -l 0 \
  --log-level lib.eal:error --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- \
  --socket "$dir/zcrxd.sock" --rx-gate 1 >"$dir/zcrxd.log" 2>&1 &
zpid=$!
zcrxd_wait_ready "huge pages"
# The EAL really took huge pages: its memory files live in our mount.
ls "$dir/huge" | grep -q "$prefix" || { echo "FAIL: no EAL hugepage files in $dir/huge"; exit 1; }

timeout 60 "$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --count "$N" --quiet \
  --area-mb 16 --hugetlb >"$dir/rx.out" 2>"$dir/rx.err"
rxrc=$?
zcrxd_stop
fail=0
check_run "$N"
result=$(grep '^RESULT ' "$dir/rx.out")
echo "$result" | grep -q "\"bytes\":$((N * size))," || { echo "FAIL: expected $((N * size)) bytes"; fail=1; }
grep -q "zcrxd: final .* delivered=$N " "$dir/zcrxd.log" || { echo "FAIL: zcrxd did not deliver exactly $N"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: $N packets of $size B on huge pages (EAL and area), every byte verified"
exit $fail
