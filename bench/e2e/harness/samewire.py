# SPDX-License-Identifier: MIT
"""Scenario 2, the same wire as the kernel: one receiver at a time on the
veth, the sender at fixed rate steps; the kernel zcrx probe."""

import re
import signal
import sys
import time

from .base import Base
from .common import Proc, cpu_of, fmt, note, progress
from .system import KERNEL_RCVBUF, SystemWindow, afp_vdev


def zcrxd_busy_s(text):
    """Seconds of datapath work in zcrxd's final stats line
    (busy_cycles / tsc_hz), or None when it did not print one."""
    found = None
    for line in text.splitlines():
        if line.startswith("zcrxd: final ") and " queue=" not in line:  # the all-queue sum
            m = re.search(r"\bbusy_cycles=(\d+)\b.*\btsc_hz=(\d+)", line)
            if m and int(m.group(2)):
                found = int(m.group(1)) / int(m.group(2))
    return found


def zcrxd_copied(text):
    """zcrxd's `copied` (niovs filled by a copy) from its final all-queue line."""
    found = None
    for line in text.splitlines():
        if line.startswith("zcrxd: final ") and " queue=" not in line:
            m = re.search(r"\bcopied=(\d+)\b", line)
            if m:
                found = int(m.group(1))
    return found


class SameWire(Base):
    def scenario2(self, wire):
        a = self.a
        sizes = a.s2_sizes
        rates = a.s2_rates
        dur = a.s2_duration
        rows = self.results["scenario2"]
        progress("scenario 2: kernel zcrx probe on %s" % wire.if_rx)
        p = Proc([self.bins.probe, "--ifname", wire.if_rx], "probe", netns=wire.ns_rx)
        p.wait(10)
        line = next((l for l in p.text().splitlines() if l.startswith("kernel zcrx:")), "kernel zcrx: probe failed")
        print(line, file=sys.stderr, flush=True)
        self.results["kernel_zcrx"] = {"line": line, "raw": p.result()}
        receivers = [("kernel recvmmsg", "recvmmsg"), ("kernel io_uring multishot", "uring"),
                     ("zcrxd af_packet + zcrx_rx", "zcrxd_afp")]
        if not a.smoke:
            # Copy mode (the consumer's area: net_af_xdp refuses an extbuf
            # pool, every frame is copied) beside zero copy (an area zcrxd
            # makes: XDP writes into it).
            receivers.append(("zcrxd af_xdp + zcrx_rx", "zcrxd_xdp"))
            receivers.append(("zcrxd af_xdp zero-copy + zcrx_rx", "zcrxd_xdp_zc"))
        for size in sizes:
            for label, kind in receivers:
                skip = self.s2_skip(kind, size)
                if skip:
                    note("SKIP %s size=%d: %s" % (label, size, skip))
                    rows.append({"receiver": label, "size": size, "skip": skip})
                    continue
                for rate in rates:
                    progress("scenario 2: %s size=%d rate=%s" % (label, size, rate or "max"))
                    row = self.s2_step(wire, kind, size, rate, dur)
                    row.update({"receiver": label, "size": size, "rate_target": rate})
                    if "skip" in row:
                        note("SKIP: " + row["skip"])
                    else:
                        note("sent %d got %d (%.2f%% loss) cpu %.3fs -> %s s/GB%s" % (
                            row["sent"], row["received"], 100 * row["loss"], row["cpu_s"] or 0,
                            fmt(row["cpu_per_gb"]),
                            "" if row.get("zcrxd_copied") is None else " copied=%d" % row["zcrxd_copied"]))
                    rows.append(row)
                    if "skip" in row and kind.startswith("zcrxd"):
                        break

    def s2_skip(self, kind, size):
        if kind == "uring" and not self.bins.have(self.bins.uring):
            return "built without liburing"
        if kind.startswith("zcrxd"):
            why = self.zcrxd_ready()
            if why:
                return why
            if size + 42 + 80 > 2048:
                return "frame does not fit net_af_packet framesz 2048 (zcrxd sets the queue up before any area exists)"
        return None

    def s2_step(self, wire, kind, size, rate, dur):
        port = self.next_port()
        zd = None
        try:
            # What the machine does without us, just before (tcp does the same).
            sw = SystemWindow(self.a.tcp_background_s)
            if kind == "recvmmsg":
                rx = Proc([self.bins.recvmmsg, "--port", str(port), "--duration", str(dur + 10),
                           "--idle-exit", "0.5", "--rcvbuf", KERNEL_RCVBUF, "--verify"], "recvmmsg", netns=wire.ns_rx, cpu=1)
                ok = rx.wait_line(r"ready", 5)
            elif kind == "uring":
                rx = Proc([self.bins.uring, "--port", str(port), "--duration", str(dur + 10),
                           "--idle-exit", "0.5", "--rcvbuf", KERNEL_RCVBUF, "--buffers", "16384",
                           "--buf-size", str(2048 if size <= 2048 else 4096), "--verify"], "uring", netns=wire.ns_rx,
                          cpu=1)
                ok = rx.wait_line(r"ready", 5)
            else:
                if kind == "zcrxd_afp":
                    vdev = afp_vdev(wire)
                else:
                    vdev = "net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % wire.if_rx
                zd, sock = self.start_zcrxd(vdev, "z2", netns=wire.ns_rx)
                if zd is None:
                    return {"skip": sock}
                rx = self.start_consumer(sock, "udp:%d" % port, dur + 10, wait="--eventfd", netns=wire.ns_rx,
                                         # zcrxd makes the area (headers inside):
                                         # net_af_xdp receives into it without a copy.
                                         extra=["--zcrxd-area"] if kind == "zcrxd_xdp_zc" else ())
                ok = rx.wait_line(self.READY, 10)
            if not ok:
                rx.stop()
                return {"skip": "receiver did not start: " + rx.tail(2)}
            time.sleep(0.2)
            watch = [rx] + ([zd] if zd else [])
            before = [w.cpu_ns() for w in watch]
            # The whole machine over exactly the traffic window: sender start
            # to sender exit, at the same offered rate for every receiver.
            sw.start()
            snd = self.run_sender(wire, size, rate, dur, port=port)
            sysd = sw.stop()
            time.sleep(0.3)  # let the receiver drain what is queued
            after = [w.cpu_ns() for w in watch]
            window = [(b2 - b1) / 1e9 if b1 is not None and b2 is not None else None
                      for b1, b2 in zip(before, after)]
            rx.stop(signal.SIGINT, 5)
            res = rx.result()
            busy = None
            copied = None
            if zd:
                self.stop_zcrxd(zd)
                busy = zcrxd_busy_s(zd.text())
                copied = zcrxd_copied(zd.text())
                zd = None
            if res is None:
                return {"skip": "receiver failed: " + rx.tail(2)}
            if snd is None:
                return {"skip": "sender failed"}
            # Receiver CPU over the traffic window (sender start to drain),
            # so start-up and shutdown are not charged to the data path.
            if all(w is not None for w in window):
                wall = sum(window)
            else:
                wall = cpu_of(res)
            zcpu = window[1] if len(window) > 1 else None
            # A polling zcrxd spends its idle iterations waiting for the
            # sender; it is charged the cycles of iterations that did work
            # (its busy_cycles), the kernel receivers their socket reads.
            cpu = wall
            if busy is not None and window[0] is not None:
                cpu = window[0] + busy
            got = res.get("packets", 0)
            gbytes = res.get("bytes", 0) / 1e9
            sent = snd["sent"]
            return {
                "sent": sent, "received": got,
                "loss": max(0.0, (sent - got) / sent) if sent else 0.0,
                "rate_pps": snd["pps"], "rx_pps": got / snd["elapsed_s"] if snd["elapsed_s"] else 0,
                "cpu_s": cpu, "zcrxd_cpu_s": zcpu, "zcrxd_busy_s": busy, "consumer_cpu_s": window[0],
                "wall_cpu_per_gb": wall / gbytes if gbytes > 0 else None,
                "lifetime_cpu_s": cpu_of(res),
                "cpu_per_gb": cpu / gbytes if gbytes > 0 else None,
                # Every CPU of the machine over the traffic window (sender and
                # softirq included; other work on a shared machine too), and
                # the same less the background measured just before.
                "sys_cpu_s": sysd["busy"], "sys_cpu_per_gb": sysd["busy"] / gbytes if gbytes > 0 else None,
                "net_cpu_per_gb": sysd["net"] / gbytes if gbytes > 0 else None,
                "sys_ns_per_pkt": sysd["busy"] * 1e9 / got if got else None,
                "net_ns_per_pkt": sysd["net"] * 1e9 / got if got else None,
                "background_cpus": sysd["background_cpus"], "sys_steal_s": sysd["steal"],
                "sys_window_s": sysd["window_s"],
                "consumer_cpu_per_gb": window[0] / gbytes if gbytes > 0 and window[0] is not None else None,
                "cpu_ns_per_pkt": cpu * 1e9 / got if got else None,
                "sender_cpu_per_gb": cpu_of(snd) / (snd["bytes"] / 1e9) if snd.get("bytes") else None,
                "bad_payloads": res.get("bad_payloads"), "raw": res, "sender": snd,
                # zcrxd's copies (copy mode: one per datagram; zero copy: 0).
                "zcrxd_copied": copied,
            }
        finally:
            if zd:
                self.stop_zcrxd(zd)
