#!/usr/bin/env bash
# close(2) and ACCEPT's address for a kernel-style program on zcrxd
# (tests/tools/tcp_netns.sh "direct": zcrxd on zb in B owns 10.77.0.2,
# the kernel in A is 10.77.0.1). uring_close (B, socket shim preloaded)
# listens; a kernel client in A connects from port 40123:
#   * the address ACCEPT wrote through addr/addrlen is 10.77.0.1:40123,
#     addrlen 16, AF_INET (a multishot ACCEPT's, from port 40124, too);
#   * close(2) of the accepted socket (a zcrxd handle) returns 0 and the
#     client reads EOF (zcrxd's FIN), not a timeout;
#   * after close(2) of the listener a kernel connect is refused, and a
#     new socket binds and listens on the same port.
# zcrxd exits 0 with every buffer back.
#
# SKIP (77) without root/netns/veth/ethtool and while zcrxd has no TCP.
# Environment: ZCRXD, URING_CLOSE, URING_SOCKETS_SHIM (paths).
set -u
here=$(dirname "$0")
. "$here/../tools/tcp_netns.sh"
. "$here/tcp_lib.sh"
PORT=9102
fail=0

tcpns_setup direct
tcpt_start_zcrxd af_packet
go=$TCPNS_DIR/go
tcpt_shim_server timeout 60 "$URING_CLOSE" $PORT "$go"
tcpns_bg tx "$TCPNS_NS_A" python3 -c '
import os, socket, sys, time
a_addr, b_addr, port, out, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def wait_line(prefix, secs=15):
    end = time.time() + secs
    while time.time() < end:
        with open(out) as f:
            if any(l.startswith(prefix) for l in f):
                return True
        time.sleep(0.02)
    return False
def until_eof(src_port, tag):
    c = socket.socket()
    c.bind((a_addr, src_port))
    c.connect((b_addr, port))
    c.settimeout(8)
    try:
        d = c.recv(100)
        print("%s %s" % (tag, "EOF" if d == b"" else "DATA"), flush=True)
    except socket.timeout:
        print("%s TIMEOUT" % tag, flush=True)
    except ConnectionResetError:
        print("%s RST" % tag, flush=True)
    c.close()
until_eof(40123, "C1")
if not wait_line("CLOSED_LISTENER"):
    print("C2 NO_CLOSE", flush=True)
c = socket.socket()
c.settimeout(5)
try:
    c.connect((b_addr, port))
    print("C2 CONNECTED", flush=True)
except ConnectionRefusedError:
    print("C2 REFUSED", flush=True)
except socket.timeout:
    print("C2 TIMEOUT", flush=True)
c.close()
open(go, "w").close()
if wait_line("RELISTENING"):
    until_eof(40124, "C3")
' "$TCPNS_A_ADDR" "$TCPNS_B_ADDR" $PORT "$TCPNS_DIR/rx.out" "$go"
tcpns_wait tx || { echo "FAIL: the kernel client exited $?"; cat "$TCPNS_DIR/tx.err"; fail=1; }
tcpns_wait rx || { echo "FAIL: uring_close exited $?"; cat "$TCPNS_DIR/rx.err"; fail=1; }
cat "$TCPNS_DIR/rx.out" "$TCPNS_DIR/tx.out"
for want in "PEER $TCPNS_A_ADDR:40123 len=16 family=2" "CLOSE_ACCEPTED 0 0" \
            "CLOSED_LISTENER 0" "RELISTENING" "PEER2 $TCPNS_A_ADDR:40124 len=16 family=2" \
            "RESULT ok"; do
  grep -qx "$want" "$TCPNS_DIR/rx.out" || { echo "FAIL: uring_close: expected $want"; fail=1; }
done
for want in "C1 EOF" "C2 REFUSED" "C3 EOF"; do
  grep -qx "$want" "$TCPNS_DIR/tx.out" || { echo "FAIL: client: expected $want"; fail=1; }
done
tcpt_stop_zcrxd

[ $fail -eq 0 ] && echo PASS
exit $fail
