# SPDX-License-Identifier: MIT
"""The machine's cross-core cost beside every sample that crosses cores.

On a virtual machine the host may move the virtual CPUs: a cache line
handed between CPU 0 and CPU 1 then takes either ~51 ns or ~340 ns for a
round trip, switching every few minutes. A path that spans two cores
(baseline B, zcrxd + its consumer) swings with it; baseline A (one core)
does not. So every two-core sample is bracketed by a ping-pong probe
(bench/baselines/cache_pingpong) and labelled with the mode the machine was
in, and ratios are only ever formed within one mode."""

import statistics

from .common import Proc

# Between the modes seen on this machine: ~51 ns and ~100-145 ns (fast),
# ~340 ns (slow).
FAST_SLOW_NS = 200.0
ONE_CORE = "one core"


def probe(bins):
    """Round-trip ns of one cache line between CPUs 0 and 1, or None."""
    if not bins.have(bins.pingpong):
        return None
    p = Proc([bins.pingpong, "--cpus", "0,1"], "pingpong")
    p.wait(20)
    res = p.result()
    if res is None:
        return None
    p.cleanup()
    return res.get("rtt_ns")


def mode_of(before, after):
    """fast or slow when both probes agree; 'changed' when the machine
    switched during the sample (kept in the JSON, left out of every ratio);
    None without a probe."""
    if before is None or after is None:
        return None
    a, b = before < FAST_SLOW_NS, after < FAST_SLOW_NS
    if a != b:
        return "changed"
    return "fast" if a else "slow"


# Cache lines written on one core and read on the other, per packet, from
# the ring protocols (docs/BENCHMARKS.md, "Cache lines between the cores",
# derives them). `burst`: packets per index publication.
def lines_per_packet(kind, burst=32):
    if kind == "zcrxd":
        # CQE32 (32 B) to the consumer, RQE (16 B) back; per burst the CQ
        # tail and head and the RQ tail and head lines.
        return 32 / 64 + 16 / 64 + 4 / burst
    if kind == "B":
        # The mbuf's first line (the PMD writes it, the secondary reads
        # buf_addr, data_off, data_len), the 8 B pointer through the
        # rte_ring and back through the mempool's common ring, and per
        # burst the handoff ring's producer and consumer tails.
        return 1 + 8 / 64 + 8 / 64 + 2 / burst
    if kind == "A-ring":
        # The generator's mbuf line and its pointer through net_ring's ring
        # and the pool's common ring, as for B.
        return 1 + 8 / 64 + 8 / 64 + 2 / burst
    return 0.0


def spread(vals):
    """'median (min-max)' over the samples, or '-'."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)


def mode_rows(samples):
    """Per (path, size, mode): the samples' Mpps and their ratios to the
    adjacent baseline A sample (same round and size) and, for zcrxd, to
    the same round's baseline B when it ran in the same mode.

    `samples`: dicts with name, kind, size, round, mpps, mode, pingpong_ns."""
    a_of = {(s["round"], s["size"]): s["mpps"] for s in samples if s["kind"] == "A" and s.get("mpps")}
    b_of = {(s["round"], s["size"]): s for s in samples if s["kind"] == "B" and s.get("mpps")}
    groups, order = {}, []
    for s in samples:
        if not s.get("mpps"):
            continue
        mode = ONE_CORE if s["kind"] == "A" else s.get("mode")
        if mode in (None, "changed"):
            continue
        key = (s["name"], s["size"], mode)
        if key not in groups:
            order.append(key)
        g = groups.setdefault(key, {"mpps": [], "x_a": [], "x_b": [], "pp": [], "kind": s["kind"]})
        g["mpps"].append(s["mpps"])
        a = a_of.get((s["round"], s["size"]))
        if a and s["kind"] != "A":
            g["x_a"].append(s["mpps"] / a)
        b = b_of.get((s["round"], s["size"]))
        if b and s["kind"] == "zcrxd" and b.get("mode") == mode:
            g["x_b"].append(s["mpps"] / b["mpps"])
        g["pp"].extend(v for v in s.get("pingpong_ns") or [] if v is not None)
    rows = []
    for name, size, mode in order:
        g = groups[(name, size, mode)]
        rows.append({"name": name, "size": size, "mode": mode, "n": len(g["mpps"]),
                     "mpps": spread(g["mpps"]), "x_a": spread(g["x_a"]), "x_b": spread(g["x_b"]),
                     "pingpong_ns": spread(g["pp"]),
                     "lines_per_pkt": lines_per_packet(g["kind"]) if g["kind"] != "A" else 0.0})
    return rows
