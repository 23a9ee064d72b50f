# SPDX-License-Identifier: MIT
"""The Google Benchmark programs, listed beside the ceiling loop."""

import json
import os
import tempfile

from .base import Base
from .common import UNIQ, Proc, progress


class Micro(Base):
    def micro(self):
        rows = self.results["micro"]
        progs = [p for p in self.bins.micro if self.bins.have(p)]
        if not progs:
            rows.append({"skip": "micro benchmarks not built (Google Benchmark missing?)"})
            return
        for prog in progs:
            progress("micro: %s" % os.path.basename(prog))
            out = os.path.join(tempfile.gettempdir(), UNIQ + "_micro.json")
            p = Proc([prog, "--benchmark_min_time=%s" % self.a.micro_time,
                      "--benchmark_out=" + out, "--benchmark_out_format=json"], "micro")
            p.wait(300)
            try:
                with open(out) as f:
                    data = json.load(f)
                for b in data.get("benchmarks", []):
                    ips = b.get("items_per_second")
                    rows.append({"name": "%s/%s" % (os.path.basename(prog), b["name"]),
                                 "ns_per_item": 1e9 / ips if ips else None,
                                 "cpu_time": b.get("cpu_time"), "unit": b.get("time_unit"),
                                 "error": b.get("error_message")})
                os.unlink(out)
            except (OSError, ValueError, KeyError) as e:
                rows.append({"name": os.path.basename(prog), "skip": "output unreadable: %s" % e})
