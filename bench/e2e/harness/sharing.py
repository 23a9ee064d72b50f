# SPDX-License-Identifier: MIT
"""Scenario 3, sharing one queue: a master plus clones or importers in one
flow group, 16 flows spread over them by flow hash.

Two sources. The measured one is in zcrxd's own process: net_ring with
`--inject` of a pcap_gen file (16 flows, 64 B pattern payloads, looped), so
the rate is set by zcrxd and its consumers, not by a sender starved of CPU:
zcrxd's datapath polls CPU 1 alone, its injector thread and every consumer
(sleeping on its eventfd) share CPU 0. `--rx-gate N` holds the queue until
all N consumers are armed, so every packet counted falls in the window from
the last consumer's start to the stop. The second source is the veth with a
kernel UDP sender flat out, kept for comparison and labelled sender-limited:
on two cores that sender, not the queue, sets the rate.

In-process rows, the 1-consumer one included, run every consumer with
`--wait-nr S3_WAIT_NR`: a sleeping consumer is woken once that many CQEs
are ready (or its S3_WAIT_USEC timeout passes) instead of after every
burst, which with a queue shared by N consumers brings only 1/N of one."""

import os
import signal
import tempfile
import time

from .base import Base
from .common import UNIQ, Proc, note, progress
from .system import SystemWindow, afp_vdev

SOURCES = (("inject", "zcrxd net_ring + --inject (in-process)"),
           ("veth", "veth + udp_sender (sender-limited)"))
PAYLOAD = 64
FLOWS = 16
# The in-process rows' wait: woken per S3_WAIT_NR CQEs, at most
# S3_WAIT_USEC late when fewer come.
S3_WAIT_NR = 32
S3_WAIT_USEC = 1000


class Sharing(Base):
    def scenario3(self, wire):
        a = self.a
        rows = self.results["scenario3"]
        why = self.zcrxd_ready()
        if why:
            self.skip("scenario 3", "sharing", why)
            rows.append({"skip": why})
            return
        dur = a.s3_duration
        pcap, why = self.s3_pcap()
        samples = {}
        for rep in range(a.repeats):
            for source, label in SOURCES:
                for mode in ("clone", "import"):
                    for n in (1, 2, 4):
                        progress("scenario 3 [%d/%d]: %s, %d consumer(s), master%s" % (
                            rep + 1, a.repeats, label, n, " + %d %ss" % (n - 1, mode) if n > 1 else " only"))
                        if source == "inject":
                            row = self.s3_inject_step(pcap, mode, n, dur) if pcap else {"skip": why}
                        else:
                            row = self.s3_step(wire, mode, n, dur)
                        row.update({"mode": mode, "consumers": n, "source": source, "source_label": label})
                        if "skip" in row:
                            note("SKIP: " + row["skip"])
                        else:
                            note("aggregate %.3f Mpps, shares %s" % (row["mpps"], row["shares"]))
                        samples.setdefault((source, mode, n), []).append(row)
        for key in sorted(samples, key=lambda k: (k[0] != "inject", k[1] != "clone", k[2])):
            got = [r for r in samples[key] if "skip" not in r]
            if got:
                best = max(got, key=lambda r: r["mpps"])
                best["samples_mpps"] = [r["mpps"] for r in got]
                rows.append(best)
            else:
                rows.append(samples[key][0])
        if pcap:
            try:
                os.unlink(pcap)
            except OSError:
                pass

    def s3_pcap(self):
        """The injected traffic: 16 flows to one UDP port, pattern payloads;
        (path, None) or (None, why not)."""
        if not self.bins.have(self.bins.pcap_gen):
            return None, "pcap_gen not built (needs libpcap)"
        path = os.path.join(tempfile.gettempdir(), "%s_share.pcap" % UNIQ)
        p = Proc([self.bins.pcap_gen, "--out", path, "--count", "4096", "--size", str(PAYLOAD),
                  "--ports", "9000", "--flows", str(FLOWS)], "pcap_gen")
        if p.wait(30) != 0:
            return None, "pcap_gen failed: " + p.tail(2)
        p.cleanup()
        return path, None

    def start_group(self, sock, port, mode, n, dur, share, netns=None, cpu=None, extra=()):
        """The master, then n - 1 clones or importers, all on their eventfd
        (with `extra` zcrx_rx arguments); (consumers, None) or (consumers so
        far, why not)."""
        cons = []
        for i in range(n):
            cons.append(self.start_consumer(sock, "udp:%d" % port, dur, mode="register" if i == 0 else mode,
                                            share=share, wait="--eventfd", netns=netns, cpu=cpu,
                                            extra=extra))
            if not cons[-1].wait_line(self.READY, 10):
                return cons, "consumer %d did not start: %s" % (i, cons[-1].tail(2))
        return cons, None

    def s3_inject_step(self, pcap, mode, n, dur):
        sw = SystemWindow(self.a.tcp_background_s)
        # Datapath on CPU 1; control, the injector thread (it inherits the
        # main lcore's CPU) and the consumers on CPU 0.
        zd, sock = self.start_zcrxd("net_ring0", "z3i", lcores="0,1",
                                    extra=["--inject", pcap + ",loops=0", "--rx-gate", str(n)])
        if zd is None:
            return {"skip": sock}
        share = os.path.join(tempfile.gettempdir(), "%s_share%d" % (UNIQ, n))
        cons = []
        try:
            cons, why = self.start_group(sock, 9000, mode, n, dur + 30, share, cpu=0,
                                         extra=("--wait-nr", str(S3_WAIT_NR),
                                                "--wait-usec", str(S3_WAIT_USEC)))
            if why:
                return {"skip": why}
            # The gate opened when the last consumer armed: the window starts.
            watch = cons + [zd]
            before = [w.cpu_ns() for w in watch]
            sw.start()
            t0 = time.monotonic()
            time.sleep(dur)
            after = [w.cpu_ns() for w in watch]
            sysd = sw.stop()
            el = time.monotonic() - t0
            res = stop_group(cons)
            if any(r is None for r in res):
                bad = next(c for c, r in zip(cons, res) if r is None)
                return {"skip": "consumer failed: " + bad.tail(2)}
            cpu = [(b2 - b1) / 1e9 if b1 is not None and b2 is not None else None for b1, b2 in zip(before, after)]
            row = group_row(res, el)
            total = sum(row["packets"])
            ccpu = sum(c for c in cpu[:-1] if c is not None)
            row.update({
                "consumer_cpu_s": ccpu, "zcrxd_cpu_s": cpu[-1], "window_s": el,
                "consumer_ns_per_pkt": ccpu * 1e9 / total if total else None,
                "zcrxd_ns_per_pkt": cpu[-1] * 1e9 / total if total and cpu[-1] is not None else None,
                "mpps_per_consumer_cpu": total / ccpu / 1e6 if ccpu else None,
                "sys_ns_per_pkt": sysd["busy"] * 1e9 / total if total else None,
                "net_ns_per_pkt": sysd["net"] * 1e9 / total if total else None,
                "background_cpus": sysd["background_cpus"],
                "wait_nr": S3_WAIT_NR, "wait_usec": S3_WAIT_USEC,
                "cpus": "zcrxd datapath cpu1 (polls alone); control, injector and %d consumer(s) cpu0 "
                        "(eventfd, wait_nr %d, %d us timeout)" % (n, S3_WAIT_NR, S3_WAIT_USEC),
            })
            return row
        finally:
            self.end_group(cons, zd, share)

    def s3_step(self, wire, mode, n, dur):
        vdev = afp_vdev(wire)
        zd, sock = self.start_zcrxd(vdev, "z3", netns=wire.ns_rx)
        if zd is None:
            return {"skip": sock}
        share = os.path.join(tempfile.gettempdir(), "%s_share%d" % (UNIQ, n))
        port = self.next_port()
        cons = []
        try:
            cons, why = self.start_group(sock, port, mode, n, dur + 10, share, netns=wire.ns_rx)
            if why:
                return {"skip": why}
            snd = self.run_sender(wire, PAYLOAD, 0, dur, flows=FLOWS, port=port)
            time.sleep(0.5)
            res = stop_group(cons)
            if any(r is None for r in res) or snd is None:
                bad = next(c for c, r in zip(cons, res) if r is None) if any(r is None for r in res) else None
                return {"skip": "consumer failed: " + (bad.tail(2) if bad else "sender failed")}
            el = snd["elapsed_s"] or 1
            row = group_row(res, el)
            total = sum(row["packets"])
            row.update({"sent": snd["sent"], "sent_mpps": snd["sent"] / el / 1e6,
                        "loss": max(0.0, (snd["sent"] - total) / snd["sent"]) if snd["sent"] else 0.0,
                        "cpus": "sender cpu0; zcrxd datapath cpu1, control cpu0; consumers unpinned (eventfd)"})
            return row
        finally:
            self.end_group(cons, zd, share)

    def end_group(self, cons, zd, share):
        """Whatever a step leaves running or on disk, gone: its consumers,
        its zcrxd and the share file the clones or importers met at."""
        for c in cons:
            c.stop(signal.SIGKILL, 2)
        self.stop_zcrxd(zd)
        try:
            os.unlink(share)
        except OSError:
            pass


def stop_group(cons):
    """SIGINT to the clones or importers, then the master (it owns the
    queue), signalled back to back so they stop together; their results."""
    for c in reversed(cons):
        if c.p.poll() is None:
            try:
                os.killpg(c.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    for c in reversed(cons):
        c.stop(signal.SIGINT, 5)
    return [c.result() for c in cons]


def group_row(res, elapsed):
    pk = [r.get("packets", 0) for r in res]
    total = sum(pk)
    return {"mpps": total / elapsed / 1e6, "packets": pk,
            "shares": ["%.2f" % (x / total if total else 0) for x in pk],
            "bad_payloads": sum(r.get("bad_payloads", 0) for r in res), "raw": res}
