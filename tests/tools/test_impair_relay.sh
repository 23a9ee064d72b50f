#!/usr/bin/env bash
# impair_relay's own behaviour, seen from both ends of the relay topology
# with frame_check (every frame's size and checksums) and the relay's
# counters:
#   own_frames:  A sends 2000 UDP datagrams to B; R's kernel sends 100
#                frames out of ra (to A). B receives exactly the 2000 (none
#                of R's: frames leaving an interface are not forwarded), A
#                receives R's 100 and nothing of its own back; the relay
#                counts 2000 A->B (and A's ARP frames) and nothing B->A.
#   own_frames_seen: the same with --see-outgoing: the kernel hands the
#                relay the outgoing frames and the relay skips them itself
#                (PACKET_OUTGOING), counting R's 100.
#   directions:  --loss-ab 1 --dup-ba 1: A->B loses every datagram, B->A
#                doubles every one; ARP passes (spared) so both resolve.
#   delay:       --delay-us 20000 --jitter-us 5000 both ways: a TCP
#                handshake takes at least 2 x 15 ms, and a transfer sees
#                no reordering (jitter keeps the order).
#   jumbo:       MTU 9202: UDP datagrams of every size up to 9174 B, so
#                frames up to 9216 B, arrive whole.
# Usage: test_impair_relay.sh MODE. Environment: IMPAIR_RELAY, TCP_PEER,
# FRAME_CHECK (paths).
set -u
mode=${1:-own_frames}
[ "$mode" = jumbo ] && export TCPNS_MTU=9202
. "$(dirname "$0")/tcp_netns.sh"
fail=0
A=$TCPNS_A_ADDR
B=$TCPNS_B_ADDR

# udp_send NS DST PORT COUNT MAXLEN PPS: COUNT datagrams of sizes spread
# over [0, MAXLEN] (every tenth MAXLEN), paced to about PPS.
udp_send() {
  ip netns exec "$1" "$TCPNS_PYTHON" - "$2" "$3" "$4" "$5" "$6" <<'EOF'
import socket, sys, time
dst, port, n, maxlen, pps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(bytes(maxlen if i % 10 == 0 else (i * 7919) % (maxlen + 1)), (dst, port))
    if i % 50 == 49:
        time.sleep(50 / pps)
EOF
}

# expect NAME KEY VALUE: the capture's (or JSON's) KEY equals VALUE.
expect() {
  local got
  got=$(tcpns_json "$1" "$2")
  [ "$got" = "$3" ] || { echo "FAIL: $4: $2=$got, expected $3"; fail=1; }
}

# relay_check PYTHON_EXPR...: each expression over f (the FINAL counters)
# must hold.
relay_check() {
  tcpns_py - "$TCPNS_RELAY_FINAL" "$@" <<'EOF' || fail=1
import json, sys
f = json.loads(sys.argv[1])
bad = [e for e in sys.argv[2:] if not eval(e, {"f": f})]
for e in bad:
    print("FAIL: relay: " + e)
sys.exit(1 if bad else 0)
EOF
}

case "$mode" in
own_frames|own_frames_seen)
  tcpns_setup relay
  tcpns_static_arp  # nothing in B answers ARP
  if [ $mode = own_frames ]; then
    tcpns_start_relay
    outgoing=0
    grep -q "outgoing=ignored-by-kernel" "$TCPNS_DIR/relay.out" ||
      { echo "FAIL: the kernel does not leave outgoing frames out"; fail=1; }
  else
    tcpns_start_relay --see-outgoing
    outgoing=100
    grep -q "outgoing=skipped-by-relay" "$TCPNS_DIR/relay.out" ||
      { echo "FAIL: --see-outgoing not in effect"; fail=1; }
  fi
  tcpns_capture_start b7000 "$TCPNS_NS_B" zb --port 7000 --min-frames 0
  tcpns_capture_start b7001 "$TCPNS_NS_B" zb --port 7001 --min-frames 0
  tcpns_capture_start a7000 "$TCPNS_NS_A" ka --port 7000 --min-frames 0
  tcpns_capture_start a7001 "$TCPNS_NS_A" ka --port 7001 --min-frames 0
  udp_send "$TCPNS_NS_A" "$B" 7000 2000 1472 20000
  # R's kernel sends out of ra (AF_PACKET through the qdisc, as any local
  # sender): PACKET_OUTGOING at ra, where the relay listens.
  ka_mac=$(tcpns_in_a cat /sys/class/net/ka/address)
  ip netns exec "$TCPNS_NS_R" "$TCPNS_PYTHON" - "$ka_mac" <<'EOF'
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("ra", 0))
src = s.getsockname()[4]
payload = bytes(64)
udp = struct.pack("!HHHH", 40000, 7001, 8 + len(payload), 0) + payload
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                           bytes([10, 77, 0, 9]), bytes([10, 77, 0, 1])))
csum = sum(struct.unpack("!10H", ip))
csum = (csum & 0xffff) + (csum >> 16)
struct.pack_into("!H", ip, 10, ~((csum & 0xffff) + (csum >> 16)) & 0xffff)
for _ in range(100):
    s.send(dst + src + b"\x08\x00" + bytes(ip) + udp)
EOF
  for cap in b7000 b7001 a7000 a7001; do
    tcpns_capture_stop $cap || { echo "FAIL: frame_check $cap: $TCPNS_CAPTURE"; fail=1; }
    declare "r_$cap=$TCPNS_CAPTURE"
    echo "$cap: $TCPNS_CAPTURE"
  done
  expect "$r_b7000" udp 2000 "B, A's datagrams"
  expect "$r_b7001" udp 0 "B, frames R's kernel sent out of ra"
  expect "$r_a7001" udp 100 "A, frames R's kernel sent out of ra"
  expect "$r_a7000" udp 0 "A, its own datagrams back"
  tcpns_stop_relay
  echo "relay: $TCPNS_RELAY_FINAL"
  # (A's kernel may still send an ARP frame or two: spared, forwarded.)
  relay_check 'f["ab"]["rx"] - f["ab"]["spared"] == 2000' 'f["ab"]["forwarded"] == f["ab"]["rx"]' \
    "f['ab']['outgoing_skipped'] == $outgoing" 'f["ba"]["outgoing_skipped"] == 0' \
    'f["ba"]["rx"] == 0' \
    'f["ba"]["forwarded"] == 0' 'f["ab"]["oversize"] == 0'
  ;;
directions)
  tcpns_setup relay --b-kernel
  tcpns_start_relay --loss-ab 1 --dup-ba 1
  tcpns_capture_start b "$TCPNS_NS_B" zb --port 7000 --min-frames 0
  tcpns_capture_start a "$TCPNS_NS_A" ka --port 7002 --min-frames 0
  udp_send "$TCPNS_NS_A" "$B" 7000 1000 1472 20000
  udp_send "$TCPNS_NS_B" "$A" 7002 1000 1472 20000
  tcpns_capture_stop b || { echo "FAIL: frame_check b: $TCPNS_CAPTURE"; fail=1; }
  r_b=$TCPNS_CAPTURE
  tcpns_capture_stop a || { echo "FAIL: frame_check a: $TCPNS_CAPTURE"; fail=1; }
  r_a=$TCPNS_CAPTURE
  echo "B: $r_b"
  echo "A: $r_a"
  expect "$r_b" udp 0 "B, A->B with --loss-ab 1"
  expect "$r_a" udp 2000 "A, B->A with --dup-ba 1"
  tcpns_stop_relay
  echo "relay: $TCPNS_RELAY_FINAL"
  relay_check 'f["ab"]["dropped"] >= 1000' 'f["ab"]["forwarded"] == f["ab"]["spared"]' \
    'f["ba"]["dropped"] == 0' 'f["ba"]["duplicated"] >= 1000' \
    'f["ba"]["forwarded"] == 2 * f["ba"]["rx"] - f["ba"]["spared"]' 'f["ab"]["spared"] >= 1'
  ;;
delay)
  tcpns_setup relay --b-kernel
  tcpns_start_relay --delay-us 20000 --jitter-us 5000
  tcpns_peer hs "$TCPNS_NS_B" --listen "$B:5002" --mode sink --timeout 60
  tcpns_peer rx "$TCPNS_NS_B" --listen "$B:5001" --bytes $((4 << 20)) --timeout 60
  ms=$(ip netns exec "$TCPNS_NS_A" "$TCPNS_PYTHON" - "$B" <<'EOF'
import socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], 5002), timeout=5)
print(int((time.monotonic() - t) * 1000))
s.close()
EOF
)
  echo "handshake through the relay: $ms ms"
  [ "${ms:-0}" -ge 30 ] && [ "$ms" -lt 1000 ] ||
    { echo "FAIL: handshake took ${ms:-?} ms, expected >= 30 (2 x (20 - 5) ms)"; fail=1; }
  tcpns_wait hs || { echo "FAIL: the handshake's listener exited $?"; fail=1; }
  tcpns_in_a "$TCP_PEER" --connect "$B:5001" --bytes $((4 << 20)) --timeout 60 >"$TCPNS_DIR/tx.out" ||
    { echo "FAIL: sender exited $?"; fail=1; }
  tx=$(tcpns_result "$TCPNS_DIR/tx.out")
  echo "sender: $tx"
  tcpns_wait rx || { echo "FAIL: receiver exited $?"; fail=1; }
  echo "receiver: $(tcpns_result "$TCPNS_DIR/rx.out")"
  expect "$tx" reord_seen 0 "sender through jitter only"
  expect "$tx" errors 0 "sender"
  tcpns_stop_relay
  echo "relay: $TCPNS_RELAY_FINAL"
  # (A frame may still be in the delay line when the relay stops.)
  relay_check 'f["ab"]["reordered"] == 0' 'f["ba"]["reordered"] == 0' \
    'f["ab"]["forwarded"] + f["ab"]["queued"] == f["ab"]["rx"]' \
    'f["ba"]["forwarded"] + f["ba"]["queued"] == f["ba"]["rx"]'
  ;;
jumbo)
  tcpns_setup relay
  tcpns_static_arp
  tcpns_start_relay
  tcpns_capture_start b "$TCPNS_NS_B" zb --port 7000 --min-frames 1000 --min-full 100
  udp_send "$TCPNS_NS_A" "$B" 7000 1000 $((TCPNS_MTU - 28)) 2000
  tcpns_capture_stop b || { echo "FAIL: frame_check b: $TCPNS_CAPTURE"; fail=1; }
  echo "B: $TCPNS_CAPTURE"
  expect "$TCPNS_CAPTURE" udp 1000 "B"
  expect "$TCPNS_CAPTURE" max_frame 9216 "B"
  tcpns_stop_relay
  echo "relay: $TCPNS_RELAY_FINAL"
  relay_check 'f["ab"]["rx"] == 1000' 'f["ab"]["forwarded"] == 1000' 'f["ab"]["oversize"] == 0'
  ;;
*) echo "usage: $0 own_frames|own_frames_seen|directions|delay|jumbo"; exit 2 ;;
esac
[ $fail -eq 0 ] && echo "PASS: $mode"
exit $fail
