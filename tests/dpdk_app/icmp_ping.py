#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A ping for the netns check, through the kernel's ICMP datagram socket
# (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)): the kernel delivers an echo
# reply to it only after icmp_rcv checked the ICMP checksum (and ip_rcv the
# IPv4 header's), so every reply counted here had both right. Each reply's
# data must be the request's, byte for byte. Needs net.ipv4.ping_group_range
# to include the caller's group.
#
# usage: icmp_ping.py DST COUNT SIZE [--record-route]
# Prints "received N/COUNT" and exits 0 when every request was answered.
import os
import select
import socket
import struct
import sys
import time


def main():
    dst, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    if "--record-route" in sys.argv[4:]:
        # IPOPT_RR: type 7, length 39, pointer 4, nine empty slots, then EOL.
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([7, 39, 4]) + bytes(37))
    received = 0
    for seq in range(1, count + 1):
        data = bytes((seq * 31 + i * 7) & 0xff for i in range(size))
        # The kernel fills in the identifier and the checksum.
        s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, seq) + data, (dst, 0))
        deadline = time.monotonic() + 2.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                print(f"seq {seq}: no reply", file=sys.stderr)
                break
            reply = s.recv(65535)
            rtype, _, _, _, rseq = struct.unpack("!BBHHH", reply[:8])
            if rtype != 0 or rseq != seq:
                continue
            if reply[8:] != data:
                print(f"seq {seq}: data differs", file=sys.stderr)
                break
            received += 1
            break
        time.sleep(0.05)
    print(f"received {received}/{count}")
    return 0 if received == count else 1


if __name__ == "__main__":
    sys.exit(main())
