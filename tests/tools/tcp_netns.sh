# shellcheck shell=bash
# tcp_netns.sh: network-namespace topologies for the TCP interoperability
# tests (sourced). The Linux kernel's TCP is the peer; zcrxd (or, to test
# the tools themselves, a second kernel) is the other end.
#
#   direct:  ns A [ka 10.77.0.1] <--veth--> [zb] ns B
#   relay:   ns A [ka 10.77.0.1] <--veth--> [ra] ns R [rb] <--veth--> [zb] ns B
#                                           impair_relay --if-a ra --if-b rb
#
# zb carries no address: zcrxd's PMD (net_af_packet/net_af_xdp iface=zb)
# owns 10.77.0.2 and answers ARP itself. `tcpns_setup TOPO --b-kernel`
# gives zb 10.77.0.2/24 instead, so the kernel in B plays that part.
#
# Offloads (why: docs/TESTING-TCP.md): on every veth end, segmentation,
# GRO and checksum offload are off, so each frame on the wire is a real
# MSS-sized frame with complete checksums, which is what a userspace stack
# behind net_af_packet or net_af_xdp must be given.
#
# Environment in: TCPNS_MTU (default 1500; <= 3000 when net_af_xdp attaches
# to zb: veth refuses XDP above that); the tools' paths IMPAIR_RELAY (for
# relay), TCP_PEER (tcpns_peer), FRAME_CHECK (tcpns_capture_*).
# Out: TCPNS_NS_A, TCPNS_NS_B, TCPNS_NS_R, TCPNS_DIR (scratch directory),
# TCPNS_A_ADDR, TCPNS_B_ADDR, TCPNS_B_IF. Everything is removed at exit
# (define tcpns_on_cleanup to run first). A missing capability is a SKIP:
# exit 77 with the reason.

TCPNS_A_ADDR=10.77.0.1
TCPNS_B_ADDR=10.77.0.2
TCPNS_A_IF=ka
TCPNS_B_IF=zb
TCPNS_MTU=${TCPNS_MTU:-1500}
TCPNS_NS_A=
TCPNS_NS_B=
TCPNS_NS_R=
TCPNS_DIR=
TCPNS_RELAY_PID=
TCPNS_RELAY_FINAL=
declare -A _tcpns_pid=()   # tcpns_bg NAME -> pid
# The system's python3 starts in a fraction of the time a version
# manager's shim takes.
TCPNS_PYTHON=$(command -v /usr/bin/python3 || command -v python3)

# Prints the reason and exits with meson's skip code.
tcpns_skip() {
  echo "SKIP: $*"
  exit 77
}

# Skips unless this shell can make namespaces, veth pairs and set offloads.
tcpns_require() {
  [ "$(id -u)" -eq 0 ] || tcpns_skip "needs root (network namespaces, AF_PACKET)"
  command -v ip >/dev/null || tcpns_skip "no ip (iproute2)"
  command -v ethtool >/dev/null || tcpns_skip "no ethtool (scripts/setup installs it)"
  [ -n "$TCPNS_PYTHON" ] || tcpns_skip "no python3 (checks the tools' JSON)"
}

tcpns_in_a() { ip netns exec "$TCPNS_NS_A" "$@"; }
tcpns_in_b() { ip netns exec "$TCPNS_NS_B" "$@"; }
tcpns_in_r() { ip netns exec "$TCPNS_NS_R" "$@"; }

# Kills what tcpns_bg and tcpns_start_relay started (by pid), removes the
# namespaces (and with them the veths) and the scratch directory.
tcpns_cleanup() {
  local pid ns
  declare -F tcpns_on_cleanup >/dev/null && tcpns_on_cleanup
  for pid in "${_tcpns_pid[@]}" $TCPNS_RELAY_PID; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  for ns in "$TCPNS_NS_A" "$TCPNS_NS_B" "$TCPNS_NS_R"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  [ -n "$TCPNS_DIR" ] && rm -rf "$TCPNS_DIR"
  return 0
}

# tcpns_offloads_off NS DEV: no TSO/GSO/GRO/LRO/UDP segmentation, no TX
# checksum offload (the kernel then computes every checksum itself).
# Features a kernel does not have are skipped; the ones we need are
# checked afterwards.
tcpns_offloads_off() {
  local ns=$1 dev=$2 f
  local features=(tx tso gso gro lro tx-udp-segmentation rx-gro-list rx-udp-gro-forwarding
                  tx-gso-partial tx-gso-list)
  # One call when the kernel knows every feature, else one per feature.
  if ! ip netns exec "$ns" ethtool -K "$dev" $(printf '%s off ' "${features[@]}") >/dev/null 2>&1; then
    for f in "${features[@]}"; do
      ip netns exec "$ns" ethtool -K "$dev" "$f" off >/dev/null 2>&1
    done
  fi
  tcpns_offloads_check "$ns" "$dev" ||
    { echo "FAIL: offloads still on for $dev in $ns"; exit 1; }
}

# tcpns_offloads_check NS DEV: 0 when every offload that would hand an
# AF_PACKET reader or an XDP program a frame larger than the MTU or an
# incomplete checksum is off.
tcpns_offloads_check() {
  local out
  out=$(ip netns exec "$1" ethtool -k "$2") || return 1
  ! echo "$out" | grep -E "^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|large-receive-offload|tx-udp-segmentation|rx-gro-list|rx-udp-gro-forwarding): on" |
    grep -q .
}

# tcpns_setup direct|relay [--b-kernel]
tcpns_setup() {
  local topo=$1 b_kernel=0 p ns
  [ "${2:-}" = --b-kernel ] && b_kernel=1
  case "$topo" in direct|relay) ;; *) echo "tcpns_setup: unknown topology $topo"; exit 2 ;; esac
  tcpns_require
  if [ "$topo" = relay ]; then
    [ -x "${IMPAIR_RELAY:-}" ] || tcpns_skip "IMPAIR_RELAY is not set to the impair_relay binary"
  fi
  TCPNS_DIR=$(mktemp -d /tmp/tcpns-XXXXXX)
  trap tcpns_cleanup EXIT
  p=tn$$
  TCPNS_NS_A=${p}a
  TCPNS_NS_B=${p}b
  [ "$topo" = relay ] && TCPNS_NS_R=${p}r
  for ns in "$TCPNS_NS_A" "$TCPNS_NS_B" $TCPNS_NS_R; do
    ip netns add "$ns" 2>"$TCPNS_DIR/err" ||
      tcpns_skip "cannot create a network namespace: $(cat "$TCPNS_DIR/err")"
    ip netns exec "$ns" ip link set lo up
    # No IPv6: no router solicitations, DAD or MLD frames for zcrxd to see
    # (net_af_packet would even receive the ones B's kernel sends on zb).
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
  done
  if [ "$topo" = direct ]; then
    ip -n "$TCPNS_NS_A" link add ka type veth peer name zb netns "$TCPNS_NS_B" 2>"$TCPNS_DIR/err" ||
      tcpns_skip "cannot create a veth pair: $(cat "$TCPNS_DIR/err")"
  else
    { ip -n "$TCPNS_NS_A" link add ka type veth peer name ra netns "$TCPNS_NS_R" &&
      ip -n "$TCPNS_NS_B" link add zb type veth peer name rb netns "$TCPNS_NS_R"; } 2>"$TCPNS_DIR/err" ||
      tcpns_skip "cannot create a veth pair: $(cat "$TCPNS_DIR/err")"
  fi
  _tcpns_link_up "$TCPNS_NS_A" ka
  _tcpns_link_up "$TCPNS_NS_B" zb
  if [ "$topo" = relay ]; then
    _tcpns_link_up "$TCPNS_NS_R" ra
    _tcpns_link_up "$TCPNS_NS_R" rb
  fi
  ip -n "$TCPNS_NS_A" addr add "$TCPNS_A_ADDR/24" dev ka
  [ $b_kernel = 1 ] && ip -n "$TCPNS_NS_B" addr add "$TCPNS_B_ADDR/24" dev zb
  return 0
}

_tcpns_link_up() {
  ip -n "$1" link set "$2" mtu "$TCPNS_MTU" ||
    { echo "FAIL: MTU $TCPNS_MTU refused on $2"; exit 1; }
  tcpns_offloads_off "$1" "$2"
  ip -n "$1" link set "$2" up
}

# tcpns_static_arp: A resolves 10.77.0.2 to zb's MAC without asking (for
# runs where nothing in B answers ARP).
tcpns_static_arp() {
  local mac
  mac=$(ip netns exec "$TCPNS_NS_B" cat /sys/class/net/zb/address)
  ip -n "$TCPNS_NS_A" neigh replace "$TCPNS_B_ADDR" lladdr "$mac" dev ka nud permanent
}

# tcpns_bg NAME NS CMD...: runs CMD in NS in the background, stdout in
# $TCPNS_DIR/NAME.out, stderr in NAME.err; killed at cleanup if still
# running. (`ip netns exec` execs CMD: the pid is CMD's.)
tcpns_bg() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >"$TCPNS_DIR/$name.out" 2>"$TCPNS_DIR/$name.err" &
  _tcpns_pid[$name]=$!
}

# tcpns_wait NAME: waits for tcpns_bg's NAME; its exit status.
tcpns_wait() {
  local pid=${_tcpns_pid[$1]} rc
  wait "$pid"
  rc=$?
  unset "_tcpns_pid[$1]"
  return $rc
}

# tcpns_peer NAME NS TCP_PEER_ARGS...: tcp_peer in the background; with
# --listen, returns once it listens.
tcpns_peer() {
  local name=$1 ns=$2
  shift 2
  tcpns_bg "$name" "$ns" "$TCP_PEER" "$@"
  case " $* " in
    *" --listen "*)
      tcpns_wait_line "$TCPNS_DIR/$name.out" '^LISTENING' 10 ||
        { echo "FAIL: tcp_peer $name did not listen"; cat "$TCPNS_DIR/$name.err"; exit 1; } ;;
  esac
}

# tcpns_capture_start NAME NS IFACE [frame_check options]: frame_check on
# IFACE in NS until tcpns_capture_stop NAME; returns once it captures.
tcpns_capture_start() {
  local name=$1 ns=$2 dev=$3
  shift 3
  tcpns_bg "$name" "$ns" "$FRAME_CHECK" --if "$dev" --mtu "$TCPNS_MTU" "$@"
  tcpns_wait_line "$TCPNS_DIR/$name.out" '^READY' 10 ||
    { echo "FAIL: frame_check $name did not start"; cat "$TCPNS_DIR/$name.err"; exit 1; }
}

# tcpns_capture_stop NAME: stops it (after frames in flight landed); its
# exit status, its RESULT JSON in TCPNS_CAPTURE.
tcpns_capture_stop() {
  local rc
  sleep 0.3
  kill -TERM "${_tcpns_pid[$1]}"
  tcpns_wait "$1"
  rc=$?
  TCPNS_CAPTURE=$(tcpns_result "$TCPNS_DIR/$1.out")
  return $rc
}

# tcpns_wait_line FILE REGEX [SECONDS]: waits for a line (default 10 s);
# 1 when it never came.
tcpns_wait_line() {
  local i
  for i in $(seq $((${3:-10} * 20))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# tcpns_start_relay [impair_relay options]: impair_relay between ra and rb
# in R, counters every second; returns once it is forwarding.
tcpns_start_relay() {
  ip netns exec "$TCPNS_NS_R" "$IMPAIR_RELAY" --if-a ra --if-b rb "$@" \
    >"$TCPNS_DIR/relay.out" 2>"$TCPNS_DIR/relay.err" &
  TCPNS_RELAY_PID=$!
  tcpns_wait_line "$TCPNS_DIR/relay.out" '^READY' 10 ||
    { echo "FAIL: impair_relay did not start"; cat "$TCPNS_DIR/relay.err"; exit 1; }
}

# tcpns_stop_relay: SIGTERM; its FINAL counters in TCPNS_RELAY_FINAL. A
# relay that does not exit 0 (a sanitizer report, a crash) fails the test.
tcpns_stop_relay() {
  local rc
  kill -TERM "$TCPNS_RELAY_PID"
  wait "$TCPNS_RELAY_PID"
  rc=$?
  TCPNS_RELAY_PID=
  TCPNS_RELAY_FINAL=$(sed -n 's/^FINAL //p' "$TCPNS_DIR/relay.out")
  [ $rc -eq 0 ] || { echo "FAIL: impair_relay exited $rc"; cat "$TCPNS_DIR/relay.err"; exit 1; }
}

# tcpns_json JSON KEY: a top-level number or string of a tool's flat JSON
# line (tcp_peer's and frame_check's RESULT).
tcpns_json() {
  echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,}\"]*\).*/\1/p"
}

# tcpns_py ARGS...: the system's python3 (for checks of nested JSON).
tcpns_py() { "$TCPNS_PYTHON" "$@"; }

# tcpns_result FILE: the JSON of the RESULT line in FILE.
tcpns_result() { sed -n 's/^RESULT //p' "$1"; }
