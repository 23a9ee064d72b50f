# shellcheck shell=bash
# Shell helpers of the TCP tests (sourced after tests/tools/tcp_netns.sh):
# zcrxd on zb in namespace B with --ip 10.77.0.2/24, zcrx_tcp as its
# consumer, and the checks every run ends with.
# Environment: ZCRXD, ZCRX_TCP (paths).

TCPT_ZPID=
TCPT_ZLOG=

# A SKIP that says why, loudly (meson shows the line in its log).
tcpt_skip_no_tcp() {
  echo "SKIP: zcrxd has no TCP endpoint ($*)"
  exit 77
}

# tcpt_start_zcrxd af_packet|af_xdp [zcrxd options]: zcrxd in B on zb,
# socket $TCPNS_DIR/zcrxd.sock, log $TCPNS_DIR/zcrxd.log, counters every
# second. A zcrxd that does not know --ip starts without it: its consumers
# then get -EAFNOSUPPORT from SOCKET and zcrx_tcp exits 77.
tcpt_start_zcrxd() {
  local pmd=$1 vdev ip_opt=()
  shift
  case $pmd in
    af_packet) vdev="net_af_packet0,iface=$TCPNS_B_IF,framecnt=4096" ;;
    af_xdp) vdev="net_af_xdp0,iface=$TCPNS_B_IF,start_queue=0,queue_count=1" ;;
    *) echo "tcpt_start_zcrxd: unknown PMD $pmd"; exit 2 ;;
  esac
  if "$ZCRXD" --help 2>/dev/null | grep -q -- '--ip '; then
    ip_opt=(--ip "$TCPNS_B_ADDR/24")
  fi
  TCPT_ZLOG=$TCPNS_DIR/zcrxd.log
  : >"$TCPT_ZLOG"
  ip netns exec "$TCPNS_NS_B" "$ZCRXD" --no-huge -m 512 --no-pci --no-telemetry \
    --file-prefix "zt$$" -l 0 --log-level lib.eal:error --vdev "$vdev" -- \
    --socket "$TCPNS_DIR/zcrxd.sock" --stats 1 "${ip_opt[@]}" "$@" >>"$TCPT_ZLOG" 2>&1 &
  TCPT_ZPID=$!
  local i
  for i in $(seq 300); do
    grep -q "zcrxd: ready" "$TCPT_ZLOG" && return 0
    kill -0 "$TCPT_ZPID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$pmd" = af_xdp ] && grep -q "xsk\|AF_XDP\|af_xdp" "$TCPT_ZLOG"; then
    echo "SKIP: net_af_xdp cannot serve zb here: $(grep -m1 -i "xsk\|af_xdp" "$TCPT_ZLOG")"
    exit 77
  fi
  echo "FAIL: zcrxd did not start"; cat "$TCPT_ZLOG"; exit 1
}

# Stops zcrxd at cleanup if the test did not.
tcpns_on_cleanup() {
  [ -n "$TCPT_ZPID" ] && kill -INT "$TCPT_ZPID" 2>/dev/null && wait "$TCPT_ZPID" 2>/dev/null
  [ -n "${TCPT_KEEP:-}" ] && cp -r "$TCPNS_DIR" "$TCPT_KEEP" 2>/dev/null
  return 0
}

# tcpt_server NAME [zcrx_tcp options]: zcrx_tcp --listen 10.77.0.2:5001 in
# the background; returns once it listens. A zcrxd without TCP: SKIP.
tcpt_server() {
  local name=$1
  shift
  tcpns_bg "$name" "$TCPNS_NS_B" "$ZCRX_TCP" --socket "$TCPNS_DIR/zcrxd.sock" \
    --listen "$TCPNS_B_ADDR:${TCPT_PORT:-5001}" "$@"
  local i
  for i in $(seq 200); do
    grep -q '^LISTENING' "$TCPNS_DIR/$name.out" 2>/dev/null && return 0
    if ! kill -0 "${_tcpns_pid[$name]}" 2>/dev/null; then
      tcpns_wait "$name"
      [ $? -eq 77 ] && tcpt_skip_no_tcp "$(cat "$TCPNS_DIR/$name.err")"
      echo "FAIL: zcrx_tcp $name did not listen"; cat "$TCPNS_DIR/$name.err"; exit 1
    fi
    sleep 0.05
  done
  echo "FAIL: zcrx_tcp $name did not listen in 10 s"; cat "$TCPNS_DIR/$name.err"; exit 1
}

# tcpt_shim_server COMMAND...: a kernel-style compat program as "rx" in
# B, with the socket shim preloaded and pointed at zcrxd and B's port;
# returns once it prints LISTENING. A zcrxd without TCP: SKIP.
tcpt_shim_server() {
  tcpns_bg rx "$TCPNS_NS_B" env LD_PRELOAD="$URING_SOCKETS_SHIM" \
    ZCRX_URING_SOCKET="$TCPNS_DIR/zcrxd.sock" ZCRX_URING_IFNAME="$TCPNS_B_IF" "$@"
  tcpns_wait_line "$TCPNS_DIR/rx.out" '^LISTENING' 10 && return 0
  tcpns_wait rx
  local rc=$?
  grep -q "Address family not supported" "$TCPNS_DIR/rx.err" &&
    tcpt_skip_no_tcp "$(cat "$TCPNS_DIR/rx.err")"
  echo "FAIL: the server did not listen (exit $rc)"; cat "$TCPNS_DIR/rx.err"; exit 1
}

# tcpt_wait_client NAME: waits for a zcrx_tcp client; 77 -> SKIP.
tcpt_wait() {
  tcpns_wait "$1"
  local rc=$?
  [ $rc -eq 77 ] && tcpt_skip_no_tcp "$(cat "$TCPNS_DIR/$1.err")"
  return $rc
}

# tcpt_check_result NAME CONNECTIONS BYTES_TOTAL: a RESULT (zcrx_tcp's or
# tcp_peer's) with every connection completed, exactly BYTES_TOTAL stream
# bytes, none bad and no error. Sets fail=1 otherwise.
tcpt_check_result() {
  local name=$1 conns=$2 bytes=$3 r
  r=$(tcpns_result "$TCPNS_DIR/$name.out")
  echo "$name: $r"
  if [ -z "$r" ]; then
    echo "FAIL: $name printed no RESULT"; cat "$TCPNS_DIR/$name.err"; fail=1; return
  fi
  [ "$(tcpns_json "$r" connections)" = "$conns" ] && [ "$(tcpns_json "$r" bytes)" = "$bytes" ] &&
    [ "$(tcpns_json "$r" bad_bytes)" = 0 ] && [ "$(tcpns_json "$r" errors)" = 0 ] ||
    { echo "FAIL: $name: expected $conns connections and $bytes bytes intact"
      head -c 3000 "$TCPNS_DIR/$name.err"; fail=1; }
  case $r in
    *'"outstanding":'*)
      [ "$(tcpns_json "$r" outstanding)" = 0 ] || { echo "FAIL: $name kept buffers"; fail=1; } ;;
  esac
}

# tcpt_last_counter NAME: the last value zcrxd's counter lines gave NAME
# (NAME=value), empty when it never printed one.
tcpt_last_counter() {
  grep -o "$1=[0-9]*" "$TCPT_ZLOG" | tail -n 1 | sed 's/.*=//'
}

# tcpt_xdp_skip NAME: after a failed run on net_af_xdp, SKIP when the PMD
# could not create its AF_XDP socket here (kernel, permissions).
tcpt_xdp_skip() {
  grep -q "Failed to create xsk socket" "$TCPT_ZLOG" &&
    tcpns_skip "net_af_xdp cannot create an AF_XDP socket here: $(grep -m1 "Failed to create xsk socket" "$TCPT_ZLOG")"
}

# tcpt_wait_conns_live_zero [SECONDS]: waits for zcrxd's counters to show
# no connection left (conns_live=0); sets fail=1 when they never do or
# zcrxd does not print conns_live.
tcpt_wait_conns_live_zero() {
  local i v
  for i in $(seq $((${1:-10} * 10))); do
    v=$(tcpt_last_counter conns_live)
    [ "$v" = 0 ] && return 0
    sleep 0.1
  done
  if [ -z "$v" ]; then
    echo "FAIL: zcrxd prints no conns_live counter"
  else
    echo "FAIL: zcrxd still has conns_live=$v"
  fi
  fail=1
}

# tcpt_stop_zcrxd: SIGINT; zcrxd must exit 0 with every buffer back.
# Once stopped, later calls do nothing.
tcpt_stop_zcrxd() {
  local zrc
  [ -n "$TCPT_ZPID" ] || return 0
  kill -INT "$TCPT_ZPID"
  wait "$TCPT_ZPID"
  zrc=$?
  TCPT_ZPID=
  grep "zcrxd: final\|zcrxd: exit" "$TCPT_ZLOG"
  [ "$zrc" -eq 0 ] || { echo "FAIL: zcrxd exit $zrc"; tail -n 30 "$TCPT_ZLOG"; fail=1; }
  grep -q "zcrxd: exit outstanding=0 missing=0" "$TCPT_ZLOG" ||
    { echo "FAIL: zcrxd's buffers do not balance"; fail=1; }
}
