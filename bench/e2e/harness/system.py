# SPDX-License-Identifier: MIT
"""What the harness borrows from the machine and gives back: hugepages for
the DPDK multi-process baseline, network namespaces and a veth pair; and
what the whole machine spent, from /proc/stat."""

import json
import os
import re
import tempfile
import time

from .common import CLK_TCK, UNIQ, run_cmd

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


class SystemCpu:
    """CPU time the whole machine spent between two snapshots of /proc/stat:
    every CPU, user + nice + system + irq + softirq; idle and iowait are not
    work, steal is time the hypervisor took from us (reported apart), guest
    time is already inside user. This is where the kernel's network stack
    shows up whichever context runs it (the sender's, a softirq, ksoftirqd),
    so a receiver cannot look cheap by leaving its work to someone else.
    Resolution: USER_HZ ticks (10 ms) per CPU."""

    FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    BUSY = ("user", "nice", "system", "irq", "softirq")

    @staticmethod
    def snapshot():
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu "):
                    vals = [int(x) for x in line.split()[1:1 + len(SystemCpu.FIELDS)]]
                    vals += [0] * (len(SystemCpu.FIELDS) - len(vals))
                    return dict(zip(SystemCpu.FIELDS, vals))
        raise OSError("/proc/stat has no cpu line")

    @staticmethod
    def delta(before, after):
        """Seconds per field between two snapshots, plus 'busy' (the sum of
        BUSY) and 'total' (every field)."""
        d = {k: (after[k] - before[k]) / CLK_TCK for k in SystemCpu.FIELDS}
        d["busy"] = sum(d[k] for k in SystemCpu.BUSY)
        d["total"] = sum(d[k] for k in SystemCpu.FIELDS)
        return d

    @staticmethod
    def background(seconds):
        """Busy CPU-seconds per second while this harness runs nothing: other
        work on a shared machine, subtracted from a measurement window."""
        b = SystemCpu.snapshot()
        t0 = time.monotonic()
        time.sleep(seconds)
        d = SystemCpu.delta(b, SystemCpu.snapshot())
        return d["busy"] / (time.monotonic() - t0)


class SystemWindow:
    """Whole-machine CPU over one traffic window, beside what the machine
    did on its own just before: `background_s` seconds of /proc/stat with
    nothing of ours running (other work on a shared machine), then
    start() and stop() around the traffic. The same code charges the tcp
    scenario and scenario 2, so their system columns mean the same."""

    def __init__(self, background_s):
        self.bg = SystemCpu.background(background_s) if background_s > 0 else 0.0
        self.s0 = self.t0 = None

    def start(self):
        self.s0 = SystemCpu.snapshot()
        self.t0 = time.monotonic()

    def stop(self):
        """Busy CPU-seconds of the window ("busy"), the same less the
        background's rate over the window ("net", never below 0), the
        background in CPUs, the window's length and the raw fields."""
        wall = time.monotonic() - self.t0
        d = SystemCpu.delta(self.s0, SystemCpu.snapshot())
        return {"busy": d["busy"], "net": max(0.0, d["busy"] - self.bg * wall), "background_cpus": self.bg,
                "window_s": wall, "steal": d["steal"], "softirq": d["softirq"], "irq": d["irq"]}


def ksoftirqd_ns():
    """CPU time (ns, schedstat) of every ksoftirqd thread so far: softirq
    work the kernel deferred to them instead of running it on the way out
    of an interrupt or bh-disabled section of whatever task was running."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if not f.read().startswith("ksoftirqd/"):
                    continue
            with open("/proc/%s/schedstat" % pid) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


class Wire:
    """Two network namespaces joined by a veth pair: the sender's end
    (10.223.x.1) and the receiver's end (10.223.x.2), static neighbours so
    no ARP is in the measurement. `tag` tells apart wires of one run."""

    def __init__(self, tag="", subnet=223):
        n = os.getpid() % 250 + 1
        self.ns_tx = UNIQ + tag + "_tx"
        self.ns_rx = UNIQ + tag + "_rx"
        self.if_tx = "%s%st" % (UNIQ[:12 - len(tag)], tag)
        self.if_rx = "%s%sr" % (UNIQ[:12 - len(tag)], tag)
        self.ip_tx = "10.%d.%d.1" % (subnet, n)
        self.ip_rx = "10.%d.%d.2" % (subnet, n)
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


# What tests/tools/tcp_netns.sh turns off on every veth end for a userspace
# TCP stack (docs/TESTING-TCP.md): no frame above the MTU, no checksum left
# to offload.
TCP_OFFLOADS = ("tx", "tso", "gso", "gro", "lro", "tx-udp-segmentation", "rx-gro-list",
                "rx-udp-gro-forwarding", "tx-gso-partial", "tx-gso-list")
_OFFLOAD_NAMES = ("tx-checksumming", "tcp-segmentation-offload", "generic-segmentation-offload",
                  "generic-receive-offload", "large-receive-offload")


def tcp_wire(wire, mtu):
    """Puts both ends of `wire` at `mtu` with the offloads a userspace stack
    needs off (the same wire for the kernel receivers and zcrxd), and no
    IPv6 chatter; returns None or why it could not."""
    try:
        for ns, ifn in ((wire.ns_tx, wire.if_tx), (wire.ns_rx, wire.if_rx)):
            run_cmd(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                    check=False)
            run_cmd(["ip", "-n", ns, "link", "set", ifn, "mtu", str(mtu)])
            r = run_cmd(["ip", "netns", "exec", ns, "ethtool", "-K", ifn] +
                        [x for f in TCP_OFFLOADS for x in (f, "off")], check=False)
            if r.returncode != 0:  # a feature this kernel lacks: one at a time
                for f in TCP_OFFLOADS:
                    run_cmd(["ip", "netns", "exec", ns, "ethtool", "-K", ifn, f, "off"], check=False)
            out = open_text(["ip", "netns", "exec", ns, "ethtool", "-k", ifn])
            on = [l.split(":")[0] for l in out.splitlines()
                  if l.split(":")[0] in _OFFLOAD_NAMES and l.split(":")[1].strip().startswith("on")]
            if on:
                return "offloads still on for %s: %s" % (ifn, ", ".join(on))
        return None
    except (RuntimeError, OSError, IndexError) as e:
        return "MTU %d / offloads on the veth: %s" % (mtu, str(e)[:160])


def afp_vdev(wire):
    """zcrxd's net_af_packet port on the receiving veth. 16384 frames (32 MiB)
    of TPACKET ring: the same order of buffering as the kernel receivers'
    64 MiB socket buffers, so short scheduling stalls on this shared
    machine do not turn into loss for one side only."""
    return "net_af_packet0,iface=%s,qpairs=1,framesz=2048,blocksz=4096,framecnt=16384" % wire.if_rx


def open_text(argv):
    return run_cmd(argv).stdout
