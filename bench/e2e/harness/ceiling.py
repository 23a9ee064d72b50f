# SPDX-License-Identifier: MIT
"""Scenario 1, the synthetic ceiling: net_null; baseline A, baseline B and
zcrxd + one consumer, interleaved over the repeats."""

import signal

from .base import Base
from .common import Proc, clean_dpdk_runtime, cpu_of, eal_args, new_prefix, note, progress
from .system import HugePages


class Ceiling(Base):
    def scenario1(self):
        a = self.a
        sizes = [64, 1500, 9000] if not a.smoke else [64]
        dur = a.s1_duration
        rows = self.results["scenario1"]
        huge = None
        if not a.smoke:
            huge = HugePages(160)
            if not huge.acquire():
                self.skip("scenario 1", "baseline B", huge.reason)
                huge = None
        # Paths interleave (A, B, zcrxd, A, B, zcrxd, ...) over the repeats so
        # that load from outside the run hits them alike; the best of the
        # repeats is reported, every sample is kept in the JSON.
        samples, order = {}, []
        try:
            for rep in range(a.repeats):
                for size in sizes:
                    room = max(2048, size)
                    paths = [("A: DPDK rx+free (net_null)", lambda: self.run_dpdk_once(
                        [self.bins.rx_loop] + eal_args(new_prefix("a"), "0", extra=["--vdev", "net_null0,size=%d" % size])
                        + ["--", "--duration", str(dur), "--data-room", str(room)], "A"))]
                    if not a.smoke:
                        paths.append(("A: DPDK rx+free (net_ring+generator)", lambda: self.run_dpdk_once(
                            [self.bins.rx_loop] + eal_args(new_prefix("g"), "0,1")
                            + ["--", "--duration", str(dur), "--ring-gen", "--pkt-size", str(size)], "A-ring")))
                    if huge:
                        paths.append(("B: DPDK rte_ring handoff to secondary",
                                      lambda: self.run_handoff(huge, size, room, dur)))
                    paths.append(("zcrxd + zcrx_rx (net_null)", lambda: self.run_zcrxd_s1(size, dur)))
                    if not a.smoke:
                        # The same with a consumer that spins briefly, then sleeps on
                        # its eventfd: on two CPUs a spinning consumer takes cycles
                        # from zcrxd's datapath (reported beside, not instead).
                        paths.append(("zcrxd + zcrx_rx --adaptive (net_null)",
                                      lambda: self.run_zcrxd_s1(size, dur, "--adaptive")))
                    for name, fn in paths:
                        progress("scenario 1 [%d/%d]: %s size=%d" % (rep + 1, a.repeats, name, size))
                        res = fn()
                        if (name, size) not in samples:
                            order.append((name, size))
                        samples.setdefault((name, size), []).append(res)
                        if isinstance(res, dict):
                            note("%.2f Mpps" % (res.get("mpps") or 0))
                        else:
                            note("SKIP: " + res)
            for name, size in order:
                got = [r for r in samples[(name, size)] if isinstance(r, dict)]
                if got:
                    best = max(got, key=lambda r: r.get("mpps") or 0)
                    row = self.s1_row(name, size, best)
                    row["samples_mpps"] = [r.get("mpps") for r in got]
                else:
                    row = self.s1_row(name, size, samples[(name, size)][0])
                rows.append(row)
        finally:
            if huge:
                huge.release()

    def s1_row(self, name, size, res):
        if isinstance(res, str):
            return {"name": name, "size": size, "skip": res}
        mpps = res.get("mpps")
        if mpps is None and res.get("elapsed_s"):
            mpps = res.get("packets", 0) / res["elapsed_s"] / 1e6
        gbps = res.get("gbps")
        if gbps is None and res.get("elapsed_s"):
            gbps = res.get("bytes", 0) * 8 / res["elapsed_s"] / 1e9
        remark = []
        if res.get("bad_payloads"):
            remark.append("%d payloads without the pattern (net_null sends none)" % res["bad_payloads"])
        if res.get("cq_overflow"):
            remark.append("%d CQ-full drops" % res["cq_overflow"])
        if res.get("bad_offsets"):
            remark.append("%d CQEs with offsets outside the area" % res["bad_offsets"])
        # Packets per CPU-second of the process that consumes them (A: the
        # receive loop, B: the secondary, zcrxd: zcrx_rx): a figure that
        # moves less than Mpps when outside load steals CPU time.
        cpu = res.get("rx_cpu_s") or cpu_of(res)
        per_cpu = res.get("packets", 0) / cpu / 1e6 if cpu else None
        return {"name": name, "size": size, "mpps": mpps, "gbps": gbps, "mpps_per_cpu": per_cpu, "raw": res,
                "note": "; ".join(remark)}

    def run_handoff(self, huge, size, room, dur):
        prefix = new_prefix("b")
        common = ["--file-prefix", prefix, "--huge-dir", huge.mnt, "--no-pci",
                  "--log-level=lib.eal:error", "--no-telemetry"]
        nb = 16383 if size <= 2048 else 8191
        prim = Proc([self.bins.handoff, "-l", "0", "-m", "200"] + common +
                    ["--vdev", "net_null0,size=%d" % size, "--", "--role", "primary",
                     "--data-room", str(room), "--mbufs", str(nb)], "B-primary")
        try:
            if not prim.wait_line(r"dpdk_mp_handoff: ready", 20):
                return "baseline B primary failed: " + prim.tail(2)
            sec = Proc([self.bins.handoff, "-l", "1", "--proc-type=secondary"] + common +
                       ["--", "--role", "secondary", "--duration", str(dur)], "B-secondary")
            sec.wait(dur + 30)
            res = sec.result()
            if res is None:
                return "baseline B secondary failed: " + sec.tail(2)
            return res
        finally:
            prim.stop(signal.SIGINT, 5)
            huge.clean_files(prefix)
            clean_dpdk_runtime(prefix)

    def run_zcrxd_s1(self, size, dur, wait="--busy-poll"):
        why = self.zcrxd_ready()
        if why:
            return why
        zd, sock = self.start_zcrxd("net_null0,size=%d" % size, "z1")
        if zd is None:
            return sock
        try:
            c = self.start_consumer(sock, "raw", dur, wait=wait, cpu=self.a.consumer_cpu, touch=True)
            c.wait(dur + 20)
            res = c.result()
            if res is None:
                return "zcrx_rx failed: " + c.tail(3)
            return res
        finally:
            self.stop_zcrxd(zd)
