#!/usr/bin/env bash
# The network layer against the Linux kernel (tcp_netns.sh's direct
# topology: the kernel in A owns 10.77.0.1/24 on ka, net_responder owns
# 10.77.0.2/24 through net_af_packet on zb):
#  * net_responder's SYN to A:5999, held while ARP resolves A, reaches the
#    kernel with a correct TCP checksum: the kernel answers RST|ACK
#    (nothing listens there), which net_responder parses and checks;
#  * with A's entry for 10.77.0.2 then deleted, the kernel resolves it
#    again by ARP and learns net_responder's MAC from its reply;
#  * pings from A (icmp_ping.py, the kernel's ICMP datagram socket) get
#    every reply, data byte-exact, for 56-, odd 57- and 1472-byte payloads
#    and with the record-route IP option; that socket is given a reply
#    only once the kernel checked its IPv4 and ICMP checksums.
# Usage: test_net_netns.sh. Environment: NET_RESPONDER (path).
set -u
. "$(dirname "$0")/../tools/tcp_netns.sh"
[ -x "${NET_RESPONDER:-}" ] || tcpns_skip "NET_RESPONDER is not set to the net_responder binary"
tcpns_setup direct
# ICMP datagram sockets for root in A (icmp_ping.py).
tcpns_in_a sysctl -qw net.ipv4.ping_group_range="0 0" ||
  tcpns_skip "cannot allow ICMP datagram sockets in the namespace"

tcpns_bg resp "$TCPNS_NS_B" "$NET_RESPONDER" -l 0 --no-huge -m 256 --no-pci --file-prefix "nr$$" \
  --no-telemetry --log-level lib.eal:error --vdev "net_af_packet0,iface=$TCPNS_B_IF" -- \
  --ip "$TCPNS_B_ADDR/24" --probe-tcp "$TCPNS_A_ADDR:5999" --seconds 20
tcpns_wait_line "$TCPNS_DIR/resp.out" '^READY' 20 ||
  { echo "FAIL: net_responder did not start"; cat "$TCPNS_DIR/resp.err"; exit 1; }
mac=$(sed -n 's/^READY mac=//p' "$TCPNS_DIR/resp.out")
echo "net_responder: $TCPNS_B_ADDR at $mac"

# The SYN went out at start; its answer follows within the ARP exchange.
# The kernel learnt our MAC from our ARP request: forget it, so that the
# pings below make it ask.
sleep 1
tcpns_in_a ip neigh del "$TCPNS_B_ADDR" dev "$TCPNS_A_IF" 2>/dev/null

fail=0
ping_ok() {  # ping_ok SIZE [--record-route]: every echo answered
  local out
  out=$(tcpns_in_a "$TCPNS_PYTHON" "$(dirname "$0")/icmp_ping.py" "$TCPNS_B_ADDR" 3 "$@" 2>&1)
  if [ $? -eq 0 ]; then
    echo "ping $*: $out"
  else
    echo "FAIL: ping $*"; echo "$out"; fail=1
  fi
}
ping_ok 56
ping_ok 57
ping_ok 1472
ping_ok 56 --record-route

neigh=$(tcpns_in_a ip neigh show "$TCPNS_B_ADDR" dev "$TCPNS_A_IF")
echo "A's neighbour entry: $neigh"
echo "$neigh" | grep -qi "lladdr $mac" || { echo "FAIL: A did not learn $mac"; fail=1; }

kill -TERM "${_tcpns_pid[resp]}"
tcpns_wait resp || { echo "FAIL: net_responder exited $?"; cat "$TCPNS_DIR/resp.err"; fail=1; }
res=$(tcpns_result "$TCPNS_DIR/resp.out")
echo "net_responder: $res"
v() { tcpns_json "$res" "$1"; }
[ -n "$res" ] || { echo "FAIL: no RESULT"; exit 1; }
[ "$(v probe)" = rst ] || { echo "FAIL: the SYN's answer: $(v probe), not rst"; fail=1; }
[ "$(v neigh_resolved)" -ge 1 ] && [ "$(v neigh_held_sent)" -ge 1 ] ||
  { echo "FAIL: the SYN was not held and released by the neighbour cache"; fail=1; }
[ "$(v arp_requests_answered)" -ge 1 ] || { echo "FAIL: no ARP request answered"; fail=1; }
[ "$(v arp_replies_learnt)" -ge 1 ] || { echo "FAIL: the kernel's ARP reply not learnt"; fail=1; }
[ "$(v icmp_echo_replies)" -ge 12 ] || { echo "FAIL: $(v icmp_echo_replies) echo replies, 12 expected"; fail=1; }
[ "$(v icmp_with_ip_options)" -ge 3 ] || { echo "FAIL: the record-route requests did not carry options"; fail=1; }
[ "$(v icmp_bad_checksum)" -eq 0 ] && [ "$(v tcp_bad_checksum)" -eq 0 ] ||
  { echo "FAIL: the kernel's frames failed our checksum checks"; fail=1; }
[ "$(v arp_malformed)" -eq 0 ] || { echo "FAIL: kernel ARP counted malformed"; fail=1; }
[ "$(v tx_dropped)" -eq 0 ] && [ "$(v tx_pool_empty)" -eq 0 ] ||
  { echo "FAIL: frames dropped on transmit"; fail=1; }
[ $fail -eq 0 ] && echo PASS
exit $fail
