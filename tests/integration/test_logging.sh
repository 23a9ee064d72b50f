#!/usr/bin/env bash
# zcrxd's log types (zcrxd.control, zcrxd.datapath) through the EAL's
# --log-level. Three runs of zcrxd, each with one consumer receiving N
# datagrams from a net_pcap replay (--copy-mode always, so the datapath
# type has its line too):
#  * default levels: one "registered" and one "closed" line for the
#    consumer's ring, each with the consumer's real pid and uid, and the
#    queue's mode=copy line; exactly two ring lines for N datagrams
#    (nothing per packet), and no debug line;
#  * --log-level 'zcrxd.*:warning': none of those lines;
#  * --log-level zcrxd.control:debug: the debug line of the connection too.
# Environment: ZCRXD, ZCRX_RX, PCAP_GEN (paths).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
N=2000
size=1000
dir=$(mktemp -d /tmp/zcrxd-log-XXXXXX)
prefix=zcrxlog$$
zpid=
cleanup() {
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
fail=0
uid=$(id -u)
"$PCAP_GEN" --out "$dir/in.pcap" --count "$N" --size "$size" --ports 9000 >/dev/null ||
  { echo "FAIL: pcap_gen"; exit 1; }

# run NAME [EAL log options]: zcrxd and one consumer; the consumer's pid in
# $cpid, zcrxd's output in $dir/NAME.log.
run() {
  local name=$1; shift
  rm -f "$dir/zcrxd.sock" "$dir/zcrxd.log"
  "$ZCRXD" --no-huge -m 256 --no-pci --no-telemetry --file-prefix "$prefix" -l 0 \
    --log-level lib.eal:error "$@" --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- \
    --socket "$dir/zcrxd.sock" --rx-gate 1 --copy-mode always >"$dir/zcrxd.log" 2>&1 &
  zpid=$!
  zcrxd_wait_ready "$name"
  "$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --count "$N" --quiet \
    >"$dir/rx.out" 2>"$dir/rx.err" &
  cpid=$!
  wait "$cpid"; rxrc=$?
  kill -INT "$zpid"; wait "$zpid"; zrc=$?; zpid=
  cp "$dir/zcrxd.log" "$dir/$name.log"
  check_run "$N"
}
has() {  # name regex
  grep -Eq "$2" "$dir/$1.log" || { echo "FAIL: $1: no line matching '$2'"; fail=1; }
}
lacks() {
  ! grep -Eq "$2" "$dir/$1.log" || { echo "FAIL: $1: unexpected '$(grep -E "$2" "$dir/$1.log" | head -1)'"; fail=1; }
}

run default
has default "^zcrxd: ring [0-9]+ of pid $cpid uid $uid registered ifq[0-9]+ as zcrx id 0: rx queue 0,"
has default "^zcrxd: ring [0-9]+ of pid $cpid uid $uid closed$"
has default "^zcrxd: queue 0: mode=copy \(--copy-mode always\)$"
lacks default "^zcrxd: connection of pid"
n=$(grep -Ec "^zcrxd: ring " "$dir/default.log")
[ "$n" -eq 2 ] || { echo "FAIL: default: $n ring lines for one ring and $N datagrams, want 2"; fail=1; }

run quiet --log-level 'zcrxd.*:warning'
lacks quiet "^zcrxd: ring "
lacks quiet "^zcrxd: queue 0: mode=copy"

run debug --log-level zcrxd.control:debug
has debug "^zcrxd: connection of pid $cpid uid $uid is ring [0-9]+$"
has debug "^zcrxd: ring [0-9]+ of pid $cpid uid $uid registered "

[ $fail -eq 0 ] && echo "PASS: zcrxd.control and zcrxd.datapath lines with pid/uid, levels set by --log-level"
[ $fail -eq 0 ] || cat "$dir"/*.log
exit $fail
