# SPDX-License-Identifier: MIT
"""Scenario 1, the synthetic ceiling: net_null; baseline A, baseline B and
zcrxd + one consumer, interleaved over several rounds, each two-core sample
labelled with the machine's cross-core mode."""

import signal

from .base import Base, rx_buf_args
from .common import Proc, clean_dpdk_runtime, cpu_of, eal_args, fmt, new_prefix, note, progress
from .crosscore import mode_of, mode_rows, probe
from .system import HugePages
from .vhost import NAME as VHOST_ROW, run_zcrxd_vhost


class Ceiling(Base):
    def scenario1(self):
        a = self.a
        sizes = a.s1_sizes or ([64, 1500, 9000] if not a.smoke else [64])
        dur = a.s1_duration
        rows = self.results["scenario1"]
        huge = None
        if not a.smoke:
            huge = HugePages(160)
            if not huge.acquire():
                self.skip("scenario 1", "baseline B", huge.reason)
                huge = None
        # Rounds interleave the paths (A, B, zcrxd, ... for each size) so
        # that each two-core sample has a one-core baseline A sample of the
        # same size next to it, and each two-core sample is bracketed by a
        # cross-core ping-pong probe that labels the machine's mode
        # (crosscore.py). Ratios are formed per round and per mode; the best
        # sample of each path is kept for the plots, every sample in the JSON.
        samples, order, flat = {}, [], []
        try:
            for rnd in range(a.s1_rounds):
                for size in sizes:
                    room = max(2048, size)
                    # (name, kind, fn): kind A runs on one core, the others on two.
                    paths = [("A: DPDK rx+free (net_null)", "A", lambda: self.run_dpdk_once(
                        [self.bins.rx_loop] + eal_args(new_prefix("a"), "0", extra=["--vdev", "net_null0,size=%d" % size])
                        + ["--", "--duration", str(dur), "--data-room", str(room)], "A"))]
                    if huge:
                        paths.append(("B: DPDK rte_ring handoff to secondary", "B",
                                      lambda: self.run_handoff(huge, size, room, dur)))
                    paths.append(("zcrxd + zcrx_rx (net_null)", "zcrxd", lambda: self.run_zcrxd_s1(size, dur)))
                    if a.vhost_source:
                        paths.append((VHOST_ROW, "zcrxd", lambda: run_zcrxd_vhost(self, size, dur)))
                    if not a.smoke:
                        # The same with a consumer that spins briefly, then sleeps on
                        # its eventfd: on two CPUs a spinning consumer takes cycles
                        # from zcrxd's datapath (reported beside, not instead).
                        paths.append(("zcrxd + zcrx_rx --adaptive (net_null)", "zcrxd",
                                      lambda: self.run_zcrxd_s1(size, dur, "--adaptive")))
                        paths.append(("A: DPDK rx+free (net_ring+generator)", "A-ring", lambda: self.run_dpdk_once(
                            [self.bins.rx_loop] + eal_args(new_prefix("g"), "0,1")
                            + ["--", "--duration", str(dur), "--ring-gen", "--pkt-size", str(size)], "A-ring")))
                    for name, kind, fn in paths:
                        progress("scenario 1 [round %d/%d]: %s size=%d" % (rnd + 1, a.s1_rounds, name, size))
                        pp = [probe(self.bins)] if kind != "A" else []
                        res = fn()
                        if kind != "A":
                            pp.append(probe(self.bins))
                        if (name, size) not in samples:
                            order.append((name, size))
                        samples.setdefault((name, size), []).append(res)
                        if isinstance(res, dict):
                            mode = mode_of(*pp) if pp else None
                            res["pingpong_ns"], res["cross_core_mode"] = pp, mode
                            flat.append({"name": name, "kind": kind, "size": size, "round": rnd,
                                         "mpps": self.s1_row(name, size, res)["mpps"], "mode": mode,
                                         "pingpong_ns": pp})
                            note("%.2f Mpps%s" % (res.get("mpps") or 0, "" if not pp else
                                 ", ping-pong %s ns (%s)" % ("/".join(fmt(v) for v in pp), mode)))
                        else:
                            note("SKIP: " + res)
            for name, size in order:
                got = [r for r in samples[(name, size)] if isinstance(r, dict)]
                if got:
                    best = max(got, key=lambda r: r.get("mpps") or 0)
                    row = self.s1_row(name, size, best)
                    row["samples_mpps"] = [r.get("mpps") for r in got]
                    row["samples_mode"] = [r.get("cross_core_mode") for r in got]
                else:
                    row = self.s1_row(name, size, samples[(name, size)][0])
                rows.append(row)
            self.results["scenario1_samples"] = flat
            self.results["scenario1_modes"] = mode_rows(flat)
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
            remark.append("%d payloads without the pattern (%s sends none)" % (
                res["bad_payloads"], "testpmd" if "vhost" in name else "net_null"))
        if res.get("cq_overflow"):
            remark.append("%d CQ-full drops" % res["cq_overflow"])
        if name.startswith("zcrxd") and "net_null" in name and rx_buf_args(size):
            remark.append("zcrx_rx %s" % " ".join(rx_buf_args(size)))
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
            # net_null hands out single-segment frames: frames over 4 KiB
            # need buffers they fit (9000 B: 16 KiB), as baselines A and B
            # get a data room they fit.
            c = self.start_consumer(sock, "raw", dur, wait=wait, cpu=self.a.consumer_cpu, touch=True, frame=size)
            c.wait(dur + 20)
            res = c.result()
            if res is None:
                return "zcrx_rx failed: " + c.tail(3)
            return res
        finally:
            self.stop_zcrxd(zd)
