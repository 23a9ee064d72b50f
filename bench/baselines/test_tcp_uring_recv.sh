#!/usr/bin/env bash
# tcp_uring_recv against the kernel's tcp_peer over veth (tests/tools'
# direct topology, the kernel in B): 8 connections of 4 MiB are checked
# byte for byte and counted; one flipped byte is one bad byte and exit 1; a
# stream that ends short of --bytes is an error and exit 1.
# Environment: TCP_PEER, TCP_URING_RECV (paths).
set -u
. "$(dirname "$0")/../../tests/tools/tcp_netns.sh"
tcpns_setup direct --b-kernel
B=$TCPNS_B_ADDR
fail=0

# run NAME PORT RECV_ARGS -- SEND_ARGS: the receiver in B, tcp_peer in A;
# leaves the receiver's exit status in rc and its RESULT in res.
run() {
  local name=$1 port=$2
  shift 2
  local rargs=()
  while [ "$1" != -- ]; do rargs+=("$1"); shift; done
  shift
  tcpns_bg "$name" "$TCPNS_NS_B" "$TCP_URING_RECV" --bind "$B" --port "$port" --timeout 30 "${rargs[@]}"
  tcpns_wait_line "$TCPNS_DIR/$name.out" 'ready' 10 ||
    { echo "FAIL: $name did not start"; cat "$TCPNS_DIR/$name.err"; exit 1; }
  tcpns_in_a "$TCP_PEER" --connect "$B:$port" --quiet "$@" >"$TCPNS_DIR/${name}_c.out"
  tcpns_wait "$name"; rc=$?
  res=$(tcpns_result "$TCPNS_DIR/$name.out")
  echo "$name (exit $rc): $res"
}

# want KEY=VALUE...: each field of $res.
want() {
  local kv
  for kv in "$@"; do
    [ "$(tcpns_json "$res" "${kv%%=*}")" = "${kv#*=}" ] ||
      { echo "FAIL: ${kv%%=*}=$(tcpns_json "$res" "${kv%%=*}"), expected ${kv#*=}"
        sed 's/^/  /' "$TCPNS_DIR/$1.err" 2>/dev/null; fail=1; }
  done
}

M4=$((4 << 20))
run eight 7000 --conns 8 --bytes $M4 -- --conns 8 --bytes $M4
[ $rc = 0 ] || { echo "FAIL: eight exited $rc"; fail=1; }
want connections=8 bytes=$((8 * M4)) bad_bytes=0 errors=0

run flip 7001 --conns 2 --bytes $M4 -- --conns 2 --bytes $M4 --corrupt-at 3000001
[ $rc = 1 ] || { echo "FAIL: flip exited $rc, expected 1"; fail=1; }
want connections=1 ended=2 bad_bytes=1 errors=1
grep -q "connection 0: bad bytes" "$TCPNS_DIR/flip.err" ||
  { echo "FAIL: the receiver did not name connection 0"; fail=1; }

run short 7002 --conns 1 --bytes $M4 -- --bytes 1M
[ $rc = 1 ] || { echo "FAIL: short exited $rc, expected 1"; fail=1; }
want connections=0 ended=1 bytes=$((1 << 20)) bad_bytes=0 errors=1
grep -q "ended short of --bytes" "$TCPNS_DIR/short.err" ||
  { echo "FAIL: no short-stream error"; fail=1; }

[ $fail -eq 0 ] && echo "PASS"
exit $fail
