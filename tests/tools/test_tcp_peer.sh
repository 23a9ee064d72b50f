#!/usr/bin/env bash
# tcp_peer against the kernel (topology direct, the kernel in B standing in
# for zcrxd): what the interoperability tests will ask of it, and proof
# that it fails when it should.
#   conns:    8 connections at once, 8 MiB each, A sends and B verifies;
#             then the other way round with the roles swapped (B listens
#             and sends, A connects and verifies), and a sink.
#   churn:    400 short connections, 16 at a time; 50 one after another.
#   detects:  one flipped byte (--corrupt-at) is one bad byte and exit 1; a
#             short stream, two streams naming one connection, a refused
#             connect and a missing connection are errors and exit 1.
# Usage: test_tcp_peer.sh MODE. Environment: TCP_PEER (path).
set -u
mode=${1:-conns}
. "$(dirname "$0")/tcp_netns.sh"
tcpns_setup direct --b-kernel
A=$TCPNS_A_ADDR
B=$TCPNS_B_ADDR
fail=0

# check NAME RC KEY=VALUE...: tcp_peer NAME exited RC and its RESULT has
# each KEY=VALUE.
check() {
  local name=$1 want_rc=$2 got_rc=$3 r kv
  shift 3
  r=$(tcpns_result "$TCPNS_DIR/$name.out")
  echo "$name (exit $got_rc): $r"
  [ "$got_rc" = "$want_rc" ] || { echo "FAIL: $name exited $got_rc, expected $want_rc"; fail=1; }
  for kv in "$@"; do
    [ "$(tcpns_json "$r" "${kv%%=*}")" = "${kv#*=}" ] ||
      { echo "FAIL: $name: ${kv%%=*}=$(tcpns_json "$r" "${kv%%=*}"), expected ${kv#*=}"
        sed 's/^/  /' "$TCPNS_DIR/$name.err"; fail=1; }
  done
}

# pair NAME LISTEN_NS LISTEN_ARGS -- CONNECT_NS CONNECT_ARGS: runs both,
# leaves their exit codes in rc_l and rc_c.
pair() {
  local name=$1 lns=$2 cns
  shift 2
  local largs=()
  while [ "$1" != -- ]; do largs+=("$1"); shift; done
  shift
  cns=$1
  shift
  tcpns_peer "${name}_l" "$lns" "${largs[@]}"
  tcpns_peer "${name}_c" "$cns" "$@"
  tcpns_wait "${name}_c"; rc_c=$?
  tcpns_wait "${name}_l"; rc_l=$?
}

M8=$((8 << 20))
case "$mode" in
conns)
  pair ab "$TCPNS_NS_B" --listen "$B:6000" --conns 8 --bytes $M8 -- \
    "$TCPNS_NS_A" --connect "$B:6000" --conns 8 --bytes $M8
  check ab_c 0 $rc_c connections=8 bytes=$((8 * M8)) errors=0
  check ab_l 0 $rc_l connections=8 bytes=$((8 * M8)) errors=0 bad_bytes=0
  pair ba "$TCPNS_NS_B" --listen "$B:6001" --mode send --conns 8 --bytes $M8 -- \
    "$TCPNS_NS_A" --connect "$B:6001" --mode recv --conns 8 --bytes $M8
  check ba_l 0 $rc_l connections=8 bytes=$((8 * M8)) errors=0 mode=send
  check ba_c 0 $rc_c connections=8 bytes=$((8 * M8)) errors=0 bad_bytes=0 mode=recv
  pair sink "$TCPNS_NS_B" --listen "$B:6002" --mode sink --conns 2 -- \
    "$TCPNS_NS_A" --connect "$B:6002" --conns 2 --bytes 1M
  check sink_l 0 $rc_l connections=2 bytes=$((2 << 20)) errors=0
  ;;
churn)
  pair par "$TCPNS_NS_B" --listen "$B:6000" --churn 400 --bytes 64K -- \
    "$TCPNS_NS_A" --connect "$B:6000" --churn 400 --conns 16 --bytes 64K
  check par_c 0 $rc_c connections=400 bytes=$((400 << 16)) errors=0
  check par_l 0 $rc_l connections=400 bytes=$((400 << 16)) errors=0 bad_bytes=0
  pair seq "$TCPNS_NS_B" --listen "$B:6001" --churn 50 --bytes 100000 -- \
    "$TCPNS_NS_A" --connect "$B:6001" --churn 50 --bytes 100000
  check seq_c 0 $rc_c connections=50 bytes=5000000 errors=0
  check seq_l 0 $rc_l connections=50 bytes=5000000 errors=0 bad_bytes=0
  ;;
detects)
  # One byte flipped in connection 0's stream at offset 1000001.
  pair flip "$TCPNS_NS_B" --listen "$B:6000" --conns 2 --bytes 4M -- \
    "$TCPNS_NS_A" --connect "$B:6000" --conns 2 --bytes 4M --corrupt-at 1000001
  check flip_c 0 $rc_c connections=2
  check flip_l 1 $rc_l bad_bytes=1 errors=1 connections=1
  grep -q "connection 0: bad bytes" "$TCPNS_DIR/flip_l.err" ||
    { echo "FAIL: the receiver did not name connection 0"; fail=1; }
  # The stream ends early: 1 MiB sent, 2 MiB expected.
  pair short "$TCPNS_NS_B" --listen "$B:6001" --bytes 2M -- \
    "$TCPNS_NS_A" --connect "$B:6001" --bytes 1M
  check short_l 1 $rc_l errors=1 connections=0 bad_bytes=0
  grep -q "stream ended after 1048576 bytes, expected 2097152" "$TCPNS_DIR/short_l.err" ||
    { echo "FAIL: no short-stream error"; fail=1; }
  # Two senders each send "connection 0".
  tcpns_peer dup_l "$TCPNS_NS_B" --listen "$B:6002" --conns 2 --bytes 64K
  tcpns_in_a "$TCP_PEER" --connect "$B:6002" --bytes 64K >/dev/null &&
    tcpns_in_a "$TCP_PEER" --connect "$B:6002" --bytes 64K >/dev/null
  tcpns_wait dup_l; check dup_l 1 $? errors=1 bad_bytes=0
  grep -q "two streams name connection 0" "$TCPNS_DIR/dup_l.err" ||
    { echo "FAIL: no duplicate-index error"; fail=1; }
  # Nobody listens on 6009.
  tcpns_peer refused "$TCPNS_NS_A" --connect "$B:6009" --conns 3 --bytes 1K
  tcpns_wait refused; check refused 1 $? errors=3 connections=0
  grep -q "Connection refused" "$TCPNS_DIR/refused.err" ||
    { echo "FAIL: no ECONNREFUSED"; fail=1; }
  # Two connections expected, one comes.
  pair missing "$TCPNS_NS_B" --listen "$B:6003" --conns 2 --bytes 64K --timeout 3 -- \
    "$TCPNS_NS_A" --connect "$B:6003" --bytes 64K
  check missing_l 1 $rc_l connections=1 errors=1
  ;;
rate)
  # gt A B: A > B for decimal numbers.
  gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
  pair free "$TCPNS_NS_B" --listen "$B:6000" --conns 2 --bytes $M8 -- \
    "$TCPNS_NS_A" --connect "$B:6000" --conns 2 --bytes $M8
  check free_c 0 $rc_c connections=2 rate_gbit=0.000
  free=$(tcpns_json "$(tcpns_result "$TCPNS_DIR/free_c.out")" gbit_s)
  gt "$free" 0.4 || { echo "SKIP: unpaced transfer only $free Gbit/s here"; exit 77; }
  pair paced "$TCPNS_NS_B" --listen "$B:6001" --conns 2 --bytes $M8 -- \
    "$TCPNS_NS_A" --connect "$B:6001" --conns 2 --bytes $M8 --rate 0.2
  check paced_c 0 $rc_c connections=2 bytes=$((2 * M8)) errors=0 rate_gbit=0.200
  check paced_l 0 $rc_l connections=2 bytes=$((2 * M8)) errors=0 bad_bytes=0
  paced=$(tcpns_json "$(tcpns_result "$TCPNS_DIR/paced_c.out")" gbit_s)
  { gt "$paced" 0.14 && gt 0.22 "$paced"; } ||
    { echo "FAIL: paced at 0.2 Gbit/s, sent $paced Gbit/s (unpaced $free)"; fail=1; }
  ;;
*) echo "usage: $0 conns|churn|detects|rate"; exit 2 ;;
esac
[ $fail -eq 0 ] && echo "PASS: $mode"
exit $fail
