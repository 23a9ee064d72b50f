# SPDX-License-Identifier: MIT
"""Scenario 4, delivery latency: zcrxd's rx_burst TSC stamp to the consumer,
beside the kernel's SO_TIMESTAMPNS to the reader.

Every program is pinned and each row says which CPU ran what. Two CPUs
give the sender one and every busy poller the other to itself: the kernel's
busy-polling receiver, or zcrxd's datapath. zcrxd's consumer therefore
sleeps on its eventfd, on the sender's CPU (which sleeps between sends
too); a busy-polling consumer would be a third poller on two CPUs and would
measure the scheduler, so it has no row here (scenario 1 runs one for
throughput, with net_null in the datapath as its source)."""

import signal
import time

from .base import Base
from .common import Proc, note, progress
from .system import KERNEL_RCVBUF, afp_vdev


class Latency(Base):
    def scenario4(self, wire):
        a = self.a
        rows = self.results["scenario4"]
        dur = a.s4_duration
        for rate in a.s4_rates:
            for label, kind in (("kernel recvmmsg (blocking)", "k_block"),
                                ("kernel recvmmsg (busy-poll)", "k_busy"),
                                ("zcrxd + zcrx_rx (eventfd)", "z_evfd")):
                progress("scenario 4: %s rate=%d" % (label, rate))
                row = self.s4_step(wire, kind, rate, dur)
                row.update({"receiver": label, "rate": rate, "cpus": S4_CPUS[kind]})
                if "skip" in row:
                    note("SKIP: " + row["skip"])
                else:
                    note("p50 %s p99 %s p99.9 %s ns" % (row["p50"], row["p99"], row["p999"]))
                rows.append(row)

    def s4_step(self, wire, kind, rate, dur):
        zd = None
        port = self.next_port()
        try:
            if kind.startswith("k_"):
                argv = [self.bins.recvmmsg, "--port", str(port), "--duration", str(dur + 10),
                        "--idle-exit", "0.5", "--latency", "--batch", "8", "--rcvbuf", KERNEL_RCVBUF]
                if kind == "k_busy":
                    argv.append("--busy-poll")
                rx = Proc(argv, "recvmmsg-lat", netns=wire.ns_rx, cpu=1)
                if not rx.wait_line("ready", 5):
                    return {"skip": "recvmmsg did not start"}
            else:
                why = self.zcrxd_ready()
                if why:
                    return {"skip": why}
                vdev = afp_vdev(wire)
                # Control thread on CPU 0, the datapath on CPU 1.
                zd, sock = self.start_zcrxd(vdev, "z4", netns=wire.ns_rx, rx_timestamp=True, lcores="0,1")
                if zd is None:
                    return {"skip": sock}
                rx = self.start_consumer(sock, "udp:%d" % port, dur + 10, latency=True, wait="--eventfd",
                                         netns=wire.ns_rx, cpu=0)
                if not rx.wait_line(self.READY, 10):
                    return {"skip": "zcrx_rx did not start: " + rx.tail(2)}
            time.sleep(0.2)
            # One datagram per send: bursts would queue behind each other
            # and measure the sender's batching, not the delivery path.
            snd = self.run_sender(wire, 64, rate, dur, batch=1, port=port)
            time.sleep(0.6)
            rx.stop(signal.SIGINT, 5)
            res = rx.result()
            if res is None or snd is None:
                return {"skip": "receiver failed: " + rx.tail(2)}
            lat = latency_fields(res)
            if lat["p50"] is None:
                return {"skip": "no latency fields in RESULT", "raw": res}
            lat.update({"packets": res.get("packets"), "sent": snd["sent"], "raw": res})
            return lat
        finally:
            if zd:
                self.stop_zcrxd(zd)


# Which CPU ran what in each row (the sender always on CPU 0: run_sender).
S4_CPUS = {
    "k_block": "sender cpu0 (sleeps between sends; the veth receive softirq runs here); "
               "receiver cpu1 (sleeps in recvmmsg)",
    "k_busy": "sender cpu0 (sleeps between sends; the veth receive softirq runs here); "
              "receiver cpu1 (busy-polls alone)",
    "z_evfd": "sender cpu0 (sleeps between sends; the veth receive softirq runs here); "
              "zcrxd datapath cpu1 (busy-polls alone), control cpu0; zcrx_rx cpu0 (sleeps on its eventfd)",
}


def latency_fields(res):
    """Maps the RESULT latency keys of either receiver to p50/p99/p999."""
    nested = res.get("latency_ns") if isinstance(res.get("latency_ns"), dict) else {}

    def pick(*names):
        for src in (res, nested):
            for n in names:
                if n in src and src[n] is not None:
                    return src[n]
        return None
    return {"p50": pick("lat_p50_ns", "p50_ns", "latency_p50_ns", "p50"),
            "p99": pick("lat_p99_ns", "p99_ns", "latency_p99_ns", "p99"),
            "p999": pick("lat_p999_ns", "p999_ns", "latency_p999_ns", "p99_9_ns", "p999"),
            "cdf": res.get("lat_cdf")}
