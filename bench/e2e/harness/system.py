# SPDX-License-Identifier: MIT
"""What the harness borrows from the machine and gives back: hugepages for
the DPDK multi-process baseline, network namespaces and a veth pair."""

import json
import os
import re
import tempfile

from .common import UNIQ, run_cmd

KERNEL_RCVBUF = str(64 << 20)  # socket buffer of the kernel receivers


class HugePages:
    """Reserves 2 MiB hugepages and a private hugetlbfs mount for the DPDK
    multi-process baseline (secondaries cannot attach to --no-huge memory);
    restores the previous reservation on release."""

    NR = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

    def __init__(self, pages):
        self.pages = pages
        self.prev = None
        self.mnt = None
        self.reason = None

    def acquire(self):
        try:
            with open(self.NR) as f:
                self.prev = int(f.read())
            with open(self.NR, "w") as f:
                f.write(str(self.prev + self.pages))
            with open("/proc/meminfo") as f:
                free = int(re.search(r"HugePages_Free:\s+(\d+)", f.read()).group(1))
            if free < self.pages:
                raise OSError("only %d free hugepages after asking for %d" % (free, self.pages))
            self.mnt = tempfile.mkdtemp(prefix="zb-huge-")
            run_cmd(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", self.mnt])
            return True
        except (OSError, RuntimeError, AttributeError) as e:
            self.reason = "no hugepages for DPDK secondaries (%s)" % str(e).strip()[:100]
            self.release()
            return False

    def clean_files(self, prefix):
        if self.mnt:
            for f in os.listdir(self.mnt):
                if f.startswith(prefix):
                    try:
                        os.unlink(os.path.join(self.mnt, f))
                    except OSError:
                        pass

    def release(self):
        if self.mnt:
            for f in os.listdir(self.mnt):
                if f.startswith(UNIQ):
                    try:
                        os.unlink(os.path.join(self.mnt, f))
                    except OSError:
                        pass
            run_cmd(["umount", self.mnt], check=False)
            os.rmdir(self.mnt)
            self.mnt = None
        if self.prev is not None:
            try:
                with open(self.NR, "w") as f:
                    f.write(str(self.prev))
            except OSError:
                pass
            self.prev = None


class Wire:
    """Two network namespaces joined by a veth pair: the sender's end
    (10.223.x.1) and the receiver's end (10.223.x.2), static neighbours so
    no ARP is in the measurement."""

    def __init__(self):
        n = os.getpid() % 250 + 1
        self.ns_tx = UNIQ + "_tx"
        self.ns_rx = UNIQ + "_rx"
        self.if_tx = "%st" % UNIQ[:12]
        self.if_rx = "%sr" % UNIQ[:12]
        self.ip_tx = "10.223.%d.1" % n
        self.ip_rx = "10.223.%d.2" % n
        self.up = False
        self.reason = None

    def create(self, mtu=3000):  # veth refuses XDP (AF_XDP) above ~3000
        if os.geteuid() != 0:
            self.reason = "needs root for network namespaces"
            return False
        try:
            run_cmd(["ip", "netns", "add", self.ns_tx])
            run_cmd(["ip", "netns", "add", self.ns_rx])
            self.up = True
            run_cmd(["ip", "link", "add", self.if_tx, "netns", self.ns_tx, "type", "veth",
                     "peer", "name", self.if_rx, "netns", self.ns_rx])
            for ns, ifn, ip in ((self.ns_tx, self.if_tx, self.ip_tx), (self.ns_rx, self.if_rx, self.ip_rx)):
                run_cmd(["ip", "-n", ns, "link", "set", ifn, "mtu", str(mtu)])
                run_cmd(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", ifn])
                run_cmd(["ip", "-n", ns, "link", "set", ifn, "up"])
                run_cmd(["ip", "-n", ns, "link", "set", "lo", "up"])
            # Complete UDP checksums on the wire: a kernel sender leaves them to
            # tx offload over veth (CHECKSUM_PARTIAL), which net_af_packet and
            # net_af_xdp do not report, so zcrxd, checking checksums as Linux's
            # UDP does, would drop every datagram. Every receiver then sees,
            # and checks, the same checksummed traffic.
            run_cmd(["ip", "netns", "exec", self.ns_tx, "ethtool", "-K", self.if_tx, "tx", "off"])
            mac = lambda ns, ifn: open_text(["ip", "-n", ns, "-j", "link", "show", ifn])
            mtx = json.loads(mac(self.ns_tx, self.if_tx))[0]["address"]
            mrx = json.loads(mac(self.ns_rx, self.if_rx))[0]["address"]
            run_cmd(["ip", "-n", self.ns_tx, "neigh", "replace", self.ip_rx, "lladdr", mrx, "dev", self.if_tx, "nud", "permanent"])
            run_cmd(["ip", "-n", self.ns_rx, "neigh", "replace", self.ip_tx, "lladdr", mtx, "dev", self.if_rx, "nud", "permanent"])
            return True
        except (RuntimeError, ValueError, KeyError, IndexError, OSError) as e:
            self.reason = "network namespace setup failed: %s" % str(e)[:160]
            self.destroy()
            return False

    def destroy(self):
        if self.up:
            run_cmd(["ip", "netns", "del", self.ns_tx], check=False)
            run_cmd(["ip", "netns", "del", self.ns_rx], check=False)
            self.up = False


def afp_vdev(wire):
    """zcrxd's net_af_packet port on the receiving veth. 16384 frames (32 MiB)
    of TPACKET ring: the same order of buffering as the kernel receivers'
    64 MiB socket buffers, so short scheduling stalls on this shared
    machine do not turn into loss for one side only."""
    return "net_af_packet0,iface=%s,qpairs=1,framesz=2048,blocksz=4096,framecnt=16384" % wire.if_rx


def open_text(argv):
    return run_cmd(argv).stdout
