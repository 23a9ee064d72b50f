#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pcap_gen --flows: frame i comes from source port --src-port + i % N, to
the same destination port, with IPv4 header and UDP checksums that verify;
a source port range past 65535, and N = 0, are refused."""

import os
import struct
import subprocess
import sys
import tempfile


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def frames(path):
    with open(path, "rb") as f:
        d = f.read()
    magic = struct.unpack("<I", d[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    at = 24
    while at < len(d):
        _, _, caplen, _ = struct.unpack(end + "IIII", d[at:at + 16])
        yield d[at + 16:at + 16 + caplen]
        at += 16 + caplen


def main(gen):
    out = os.path.join(tempfile.mkdtemp(prefix="pcap-gen-flows-"), "f.pcap")
    r = subprocess.run([gen, "--out", out, "--count", "40", "--size", "64", "--ports", "9000",
                        "--src-port", "50000", "--flows", "16"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout
    got = list(frames(out))
    assert len(got) == 40, len(got)
    for i, f in enumerate(got):
        ip, udp = f[14:34], f[34:42]
        sport, dport, ulen, _ = struct.unpack("!HHHH", udp)
        assert sport == 50000 + i % 16, (i, sport)
        assert dport == 9000, (i, dport)
        assert csum(ip) == 0xffff, "IPv4 header checksum of frame %d" % i
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
        assert csum(pseudo + f[34:34 + ulen]) == 0xffff, "UDP checksum of frame %d" % i
    os.unlink(out)
    for bad in (["--src-port", "65530", "--flows", "16"], ["--flows", "0"]):
        r = subprocess.run([gen, "--out", out] + bad, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 2, (bad, r.returncode)
        assert not os.path.exists(out), bad
    os.rmdir(os.path.dirname(out))
    print("pcap_gen --flows: 40 frames over 16 source ports, checksums valid; bad ranges refused")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
