# SPDX-License-Identifier: MIT
"""Scenario 3, sharing one queue: a master plus clones or importers in one
flow group."""

import os
import signal
import tempfile
import time

from .base import Base
from .common import UNIQ, note, progress
from .system import afp_vdev


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
        samples = {}
        for rep in range(a.repeats):
            for mode in ("clone", "import"):
                for n in (1, 2, 4):
                    progress("scenario 3 [%d/%d]: %d consumer(s), master%s" % (
                        rep + 1, a.repeats, n, " + %d %ss" % (n - 1, mode) if n > 1 else " only"))
                    row = self.s3_step(wire, mode, n, dur)
                    row.update({"mode": mode, "consumers": n})
                    if "skip" in row:
                        note("SKIP: " + row["skip"])
                    else:
                        note("aggregate %.3f Mpps (sent %.3f), shares %s" % (row["mpps"], row["sent_mpps"], row["shares"]))
                    samples.setdefault((mode, n), []).append(row)
        for key in sorted(samples, key=lambda k: (k[0] != "clone", k[1])):
            got = [r for r in samples[key] if "skip" not in r]
            if got:
                best = max(got, key=lambda r: r["mpps"])
                best["samples_mpps"] = [r["mpps"] for r in got]
                rows.append(best)
            else:
                rows.append(samples[key][0])

    def s3_step(self, wire, mode, n, dur):
        vdev = afp_vdev(wire)
        zd, sock = self.start_zcrxd(vdev, "z3", netns=wire.ns_rx)
        if zd is None:
            return {"skip": sock}
        share = os.path.join(tempfile.gettempdir(), "%s_share%d" % (UNIQ, n))
        port = self.next_port()
        cons = []
        try:
            cons.append(self.start_consumer(sock, "udp:%d" % port, dur + 10, mode="register", share=share,
                                            wait="--eventfd", netns=wire.ns_rx))
            cons[0].wait_line(self.READY, 10)
            for _ in range(n - 1):
                cons.append(self.start_consumer(sock, "udp:%d" % port, dur + 10, mode=mode, share=share,
                                                wait="--eventfd", netns=wire.ns_rx))
                cons[-1].wait_line(self.READY, 10)
            dead = [c for c in cons if c.p.poll() is not None]
            if dead:
                return {"skip": "consumer exited early: " + dead[0].tail(2)}
            snd = self.run_sender(wire, 64, 0, dur, flows=16, port=port)
            time.sleep(0.5)
            # Clones/importers first, the master last (it owns the queue).
            for c in reversed(cons):
                c.stop(signal.SIGINT, 5)
            res = [c.result() for c in cons]
            if any(r is None for r in res) or snd is None:
                bad = next(c for c, r in zip(cons, res) if r is None) if any(r is None for r in res) else None
                return {"skip": "consumer failed: " + (bad.tail(2) if bad else "sender failed")}
            pk = [r.get("packets", 0) for r in res]
            total = sum(pk)
            el = snd["elapsed_s"] or 1
            return {"mpps": total / el / 1e6, "packets": pk, "sent": snd["sent"],
                    "sent_mpps": snd["sent"] / el / 1e6,
                    "loss": max(0.0, (snd["sent"] - total) / snd["sent"]) if snd["sent"] else 0.0,
                    "shares": ["%.2f" % (x / total if total else 0) for x in pk],
                    "bad_payloads": sum(r.get("bad_payloads", 0) for r in res), "raw": res}
        finally:
            for c in cons:
                c.stop(signal.SIGKILL, 2)
            self.stop_zcrxd(zd)
            try:
                os.unlink(share)
            except OSError:
                pass
