# SPDX-License-Identifier: MIT
"""What every scenario uses: starting and stopping zcrxd and its consumers,
the UDP sender, one-shot DPDK programs, fresh ports, SKIP bookkeeping."""

import os
import signal
import subprocess
import tempfile

from .common import Bins, Proc, clean_dpdk_runtime, eal_args, new_prefix, note


# DPDK's mbuf headroom: a frame sits in a buffer after it.
MBUF_HEADROOM = 128


def rx_buf_args(frame):
    """zcrx_rx's --rx-buf-len for frames of `frame` bytes: PMDs that keep a
    frame in one mbuf (net_null, net_af_packet) need a buffer it fits, and
    zcrxd's default is 4096 B; the smallest power of two that holds it."""
    if frame + MBUF_HEADROOM <= 4096:
        return []
    n = 4096
    while n < frame + MBUF_HEADROOM:
        n *= 2
    return ["--rx-buf-len", str(n)]


class Base:
    READY = r"zcrx_rx: \S+ zcrx id \d+"  # printed once the flow is open and armed

    def __init__(self, args):
        self.a = args
        self.bins = Bins(args.build)
        self.results = {"scenario1": [], "scenario1_samples": [], "scenario1_modes": [], "scenario2": [], "scenario3": [], "scenario4": [],
                        "micro": [], "kernel_zcrx": None, "skips": [], "tcp": [], "tcp_memif": []}
        self.zcrxd_help = None
        self.failures = []

    def zcrxd_ready(self):
        if not (self.bins.have(self.bins.zcrxd) and self.bins.have(self.bins.zcrx_rx)):
            return "zcrxd: not built yet"
        if self.zcrxd_help is None:
            r = subprocess.run([self.bins.zcrxd, "--", "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=10)
            self.zcrxd_help = r.stdout
        return None

    def start_zcrxd(self, vdev, tag, netns=None, extra=(), rx_timestamp=False, lcores=None):
        """Starts zcrxd on `vdev`; returns (proc, socket path) or (None, reason)."""
        prefix = new_prefix(tag)
        sock = os.path.join(tempfile.gettempdir(), "%s.sock" % prefix)
        # With `lcores` the first one is EAL's main lcore (zcrxd's control
        # thread), the next the datapath.
        main = ["--main-lcore", lcores.split(",")[0]] if lcores else []
        argv = [self.bins.zcrxd] + eal_args(prefix, lcores or self.a.zcrxd_lcores, mem=self.a.zcrxd_mem,
                                             extra=main + ["--vdev", vdev])
        argv += ["--", "--port", "0", "--queue", "0", "--socket", sock, "--burst", "32"]
        if rx_timestamp:
            argv.append("--rx-timestamp")
        argv += list(extra)
        p = Proc(argv, "zcrxd", netns=netns)
        p.prefix = prefix
        if not p.wait_line(r"^zcrxd: ready socket=", 20):
            p.stop()
            reason = "zcrxd did not become ready: " + p.tail(3)
            clean_dpdk_runtime(prefix)
            return None, reason
        return p, sock

    def stop_zcrxd(self, p):
        cpu = p.cpu_s()
        p.stop(signal.SIGINT, 8)
        clean_dpdk_runtime(p.prefix)
        try:
            os.unlink(os.path.join(tempfile.gettempdir(), "%s.sock" % p.prefix))
        except OSError:
            pass
        return cpu

    def start_consumer(self, sock, flow, duration, mode="register", share=None, wait="--busy-poll",
                       latency=False, netns=None, cpu=None, touch=False, frame=0, extra=()):
        argv = [self.bins.zcrx_rx, "--socket", sock, "--flow", flow, "--mode", mode,
                "--duration", "%.2f" % duration, wait] + rx_buf_args(frame) + list(extra)
        if share:
            argv += ["--share", share]
        if latency:
            argv.append("--latency")
        if touch:
            # First and last payload byte only, like baselines A and B.
            argv.append("--touch")
        return Proc(argv, "zcrx_rx", netns=netns, cpu=cpu)

    def run_dpdk_once(self, argv, tag):
        prefix = argv[argv.index("--file-prefix") + 1]
        p = Proc(argv, tag)
        rc = p.wait(60)
        clean_dpdk_runtime(prefix)
        res = p.result()
        if res is None:
            self.failures.append("%s failed (rc=%s): %s" % (tag, rc, p.tail()))
            return "%s failed: %s" % (tag, p.tail(2))
        p.cleanup()
        return res

    def run_sender(self, wire, size, rate, dur, flows=1, port=9000, batch=32):
        s = Proc([self.bins.sender, "--dst", wire.ip_rx, "--port", str(port), "--size", str(size),
                  "--rate", str(rate), "--duration", str(dur), "--flows", str(flows),
                  "--batch", str(batch)],
                 "sender", netns=wire.ns_tx, cpu=0)
        s.wait(dur + 10)
        res = s.result()
        if res is None:
            self.failures.append("udp_sender failed: " + s.tail())
        return res

    def next_port(self):
        """A fresh UDP port for each step: a receiver that is still going
        away (io_uring drops its socket reference asynchronously) must not
        make the next one's bind fail."""
        self.port_n = getattr(self, "port_n", 0) + 1
        return 9000 + self.port_n % 1000

    def skip(self, scen, what, why):
        self.results["skips"].append({"scenario": scen, "what": what, "reason": why})
        note("SKIP %s %s: %s" % (scen, what, why))
