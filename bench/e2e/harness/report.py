# SPDX-License-Identifier: MIT
"""The markdown tables, the ratios against the in-run baselines and the
target verdicts."""

import time

from .common import fmt, ratio
from .crosscore import FAST_SLOW_NS


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
    return "\n".join(out)


def verdict(v, target, higher=True):
    if v is None:
        return "n/a"
    ok = v >= target if higher else v <= target
    return "yes" if ok else "NO"


def report(h, args):
    R = h.results
    lines = []
    lines.append("## zcrx-dpdk benchmark (%s mode, %s)" % (args.mode, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    lines.append("")
    lines.append("Command: `%s`" % " ".join(["bench/run"] + args.argv))
    lines.append("")
    targets = []

    # Scenario 1
    s1 = R["scenario1"]
    if s1:
        scenario1_report(R, lines, targets)

    # Scenario 2
    s2 = R["scenario2"]
    if R.get("kernel_zcrx"):
        lines.append(R["kernel_zcrx"]["line"])
        lines.append("")
    if s2:
        scenario2_report(s2, lines, targets)

    # Scenario 3
    s3 = [r for r in R["scenario3"] if "consumers" in r or "skip" in r]
    if s3:
        scenario3_report(s3, lines, targets)

    # Scenario 4
    s4 = R["scenario4"]
    if s4:
        lines.append("### Scenario 4: delivery latency (64 B)")
        lines.append("")
        rows = []
        for r in s4:
            if "skip" in r:
                rows.append([r["receiver"], r["rate"], "SKIP", "-", "-", r.get("cpus", "-"), r["skip"]])
            else:
                rows.append([r["receiver"], r["rate"], r["p50"], r["p99"], r["p999"], r.get("cpus", "-"), ""])
        lines.append(table(["receiver", "rate pps", "p50 ns", "p99 ns", "p99.9 ns", "CPUs (what ran where)", "note"],
                           rows))
        lines.append("")
        lines.append("zcrxd: TSC after rte_eth_rx_burst to the consumer reading the CQE. "
                     "Kernel: SO_TIMESTAMPNS (skb receive) to the program reading the datagram; the blocking "
                     "receiver uses MSG_WAITFORONE (back with the first datagram). Two CPUs: the sender on one, "
                     "every busy poller (the kernel's busy-polling receiver, zcrxd's datapath) alone on the other; "
                     "zcrxd's consumer sleeps on its eventfd on the sender's CPU. A busy-polling zcrxd consumer "
                     "would be a third poller on two CPUs (its tail would be the scheduler's), so it has no row.")
        lines.append("")

    # Micro
    mic = R["micro"]
    if mic:
        lines.append("### Micro benchmark")
        lines.append("")
        A = next((x for x in s1 if x["size"] == 64 and x["name"].startswith("A: DPDK rx+free (net_null") and x.get("mpps")), None)
        rows = []
        if A:
            rows.append(["ceiling loop (baseline A on net_null, 64 B, with the PMD)", "%.1f" % (1e3 / A["mpps"]), ""])
        for m in mic:
            if "skip" in m:
                rows.append([m.get("name", "-"), "SKIP", m["skip"]])
            elif m.get("ns_per_item"):
                rows.append([m["name"], "%.1f" % m["ns_per_item"], m.get("error") or ""])
            else:
                rows.append([m["name"], "-", "%s %s per iteration %s" % (fmt(m["cpu_time"]), m.get("unit", ""),
                                                                           m.get("error") or "")])
        lines.append(table(["benchmark", "ns per packet", "note"], rows))
        lines.append("")

    tcp_report(R, lines)

    if targets:
        lines.append("### Targets")
        lines.append("")
        lines.append(table(["target", "wanted", "measured", "met"], targets))
        lines.append("")
    if R["skips"]:
        lines.append("Skipped: " + "; ".join("%s %s (%s)" % (s["scenario"], s["what"], s["reason"]) for s in R["skips"]))
        lines.append("")
    R["targets"] = [dict(zip(["target", "wanted", "measured", "met"], t)) for t in targets]
    return "\n".join(lines)


S2_HEAD = ["receiver", "payload B", "rate target pps", "sent pps", "sent", "received", "loss",
           "receiver CPU s/GB", "receiver CPU ns/pkt", "zcrx_rx alone ns/pkt", "whole polling core s/GB",
           "sender CPU s/GB", "system CPU s/GB", "minus background s/GB", "system ns/pkt minus background", "note"]


def scenario2_report(s2, lines, targets):
    lines.append("### Scenario 2: same wire (veth across two namespaces, udp_sender)")
    lines.append("")
    rows = []
    for r in s2:
        tgt = "max" if not r.get("rate_target") else "%g" % r["rate_target"]
        if "skip" in r:
            rows.append([r["receiver"], r["size"], tgt if "rate_target" in r else "-", "SKIP"] +
                        ["-"] * (len(S2_HEAD) - 5) + [r["skip"]])
            continue
        head = [r["receiver"], r["size"], tgt, "%.0f" % r["rate_pps"], r["sent"], r["received"],
                "%.2f%%" % (100 * r["loss"])]
        if r.get("bad_payloads"):
            rows.append(head + ["-"] * (len(S2_HEAD) - 8) +
                        ["%d payloads failed the pattern check" % r["bad_payloads"]])
            continue
        zc = r["receiver"].startswith("zcrxd")
        note_ = "background %.2f CPUs" % r["background_cpus"] if r.get("background_cpus", 0) > BUSY_MACHINE_CPUS else ""
        rows.append(head + [fmt(r["cpu_per_gb"]), fmt(r["cpu_ns_per_pkt"]),
                            fmt(consumer_ns_per_pkt(r)) if zc else "-",
                            fmt(r.get("wall_cpu_per_gb")) if zc else "-",
                            fmt(r.get("sender_cpu_per_gb")), fmt(r.get("sys_cpu_per_gb")),
                            fmt(r.get("net_cpu_per_gb")), fmt(r.get("net_ns_per_pkt")), note_])
    lines.append(table(S2_HEAD, rows))
    lines.append("")
    lines.append("Receiver CPU = CPU time of all the receiver's threads while traffic flows "
                 "(/proc/<pid>/task/*/schedstat); for zcrxd rows it is zcrx_rx plus zcrxd's busy cycles (datapath "
                 "iterations that received, delivered or refilled; zcrxd prints busy_cycles and tsc_hz), while "
                 "\"whole polling core\" charges every zcrxd thread for the whole window, idle polling included. "
                 "\"zcrx_rx alone\" is the consumer's own CPU per packet, the figure to set beside the kernel "
                 "recvmmsg receiver's. Every receiver checks every payload byte against the pattern. On veth the "
                 "kernel's receive stack runs in the sender's context, so kernel receivers are charged only for "
                 "their socket reads; the stack's cost shows in the sender CPU column (getrusage of udp_sender), "
                 "which for zcrxd rows also pays the AF_PACKET tap. System CPU is every CPU's busy time from "
                 "/proc/stat (user, nice, system, irq, softirq; not idle, iowait or steal) from the sender's start "
                 "to its exit, the same sender at the same offered rate for every receiver, so it charges each "
                 "receiver everything it makes the machine do, zcrxd's polling core included; \"minus background\" "
                 "takes out what the machine did with nothing of ours running, measured just before each row "
                 "(a busy machine is noted with its background in CPUs). The sender's veth has tx checksum "
                 "offload off, so every receiver gets and checks complete UDP checksums.")
    lines.append("")
    for size in sorted({r["size"] for r in s2}):
        ok = [r for r in s2 if r["size"] == size and "skip" not in r and not r.get("bad_payloads")]
        kern = [r for r in ok if r["receiver"].startswith("kernel")]
        mmsg = [r for r in ok if r["receiver"] == "kernel recvmmsg"]
        zc = [r for r in ok if r["receiver"].startswith("zcrxd af_packet")]
        fixed = sorted({r["rate_target"] for r in ok if r.get("rate_target")})
        if kern and zc and fixed and size >= 1400:
            top = fixed[-1]
            at = lambda rs, key: [r[key] for r in rs if r.get("rate_target") == top and r.get(key)]
            rc = ratio(next(iter(at(zc, "cpu_per_gb")), None), min(at(kern, "cpu_per_gb"), default=None))
            targets.append(["2: receiver CPU/GB, zcrxd / best kernel, %d B at %g pps" % (size, top), "<= 0.3",
                            fmt(rc), verdict(rc, 0.3, higher=False)])
            rs = ratio(next(iter(at(zc, "net_cpu_per_gb")), None), min(at(kern, "net_cpu_per_gb"), default=None))
            # Subtracting the background says little once other work keeps
            # the CPUs busy (ours displaces it): no verdict then.
            bg = max([r.get("background_cpus", 0) for r in kern + zc if r.get("rate_target") == top] or [0])
            targets.append(["2: whole-system CPU/GB minus background, zcrxd / best kernel, %d B at %g pps" % (
                size, top), "<= 1.0", fmt(rs) + ("" if bg <= BUSY_MACHINE_CPUS else " (background %.2f CPUs)" % bg),
                verdict(rs, 1.0, higher=False) if bg <= BUSY_MACHINE_CPUS else "n/a: machine busy"])
        # The consumer's CPU per packet against the kernel's recvmmsg
        # receiver, at every rate step (the flat-out step included: per
        # packet, the rates need not match).
        for rate in sorted({r.get("rate_target") or 0 for r in ok}, key=lambda x: (x == 0, x)):
            k = next((r for r in mmsg if (r.get("rate_target") or 0) == rate), None)
            z = next((r for r in zc if (r.get("rate_target") or 0) == rate), None)
            if k and z:
                rr = ratio(consumer_ns_per_pkt(z), k.get("cpu_ns_per_pkt"))
                targets.append(["2: CPU/packet, zcrx_rx / kernel recvmmsg, %d B at %s pps" % (
                    size, "%g" % rate if rate else "max"), "<= 1.0", fmt(rr), verdict(rr, 1.0, higher=False)])
        # Loss-free rate is a receiver's only while the sender is faster
        # than it: a receiver that took the flat-out step without loss was
        # limited by the sender, one that lost packets by itself.
        flat = [r for r in ok if not r.get("rate_target")]
        if flat:
            limits = ["%s: %s" % (r["receiver"], "the sender (%s pps, no loss)" % fmt(r["rate_pps"])
                                  if r["loss"] <= 0.001 else "the receiver (%.1f%% lost at %s pps sent)" % (
                                      100 * r["loss"], fmt(r["rate_pps"]))) for r in flat]
            targets.append(["2 (info): what limits the flat-out rate, %d B" % size, "not a target",
                            "; ".join(limits), "info"])


S3_HEAD = ["source", "mode", "consumers", "aggregate Mpps", "x 1 consumer", "consumer CPU ns/pkt",
           "Mpps per consumer CPU-s", "zcrxd CPU ns/pkt", "system ns/pkt minus background", "sent Mpps",
           "loss", "per-consumer share", "CPUs (what ran where)", "note"]


def scenario3_report(s3, lines, targets):
    lines.append("### Scenario 3: sharing one queue (%d B, 16 flows)" % 64)
    lines.append("")
    rows = []

    def one(r, key):
        return next((x.get(key) for x in s3 if x.get("source") == r["source"] and x.get("mode") == r["mode"]
                     and x.get("consumers") == 1 and "skip" not in x), None)
    for r in s3:
        if "consumers" not in r:
            rows.append(["-", "-", "-", "SKIP"] + ["-"] * (len(S3_HEAD) - 5) + [r["skip"]])
            continue
        head = [r.get("source_label", "-"), r["mode"], r["consumers"]]
        if "skip" in r:
            rows.append(head + ["SKIP"] + ["-"] * (len(S3_HEAD) - 5) + [r["skip"]])
            continue
        note_ = "%d payloads failed the pattern check" % r["bad_payloads"] if r.get("bad_payloads") else ""
        if r.get("background_cpus", 0) > BUSY_MACHINE_CPUS:
            note_ = (note_ + "; " if note_ else "") + "background %.2f CPUs" % r["background_cpus"]
        rows.append(head + [fmt(r["mpps"]), fmt(ratio(r["mpps"], one(r, "mpps"))),
                            fmt(r.get("consumer_ns_per_pkt")), fmt(r.get("mpps_per_consumer_cpu")),
                            fmt(r.get("zcrxd_ns_per_pkt")), fmt(r.get("net_ns_per_pkt")),
                            fmt(r.get("sent_mpps")), "%.2f%%" % (100 * r["loss"]) if "loss" in r else "-",
                            " / ".join(r["shares"]), r.get("cpus", "-"), note_])
    lines.append(table(S3_HEAD, rows))
    lines.append("")
    lines.append("In-process source: zcrxd on net_ring transmits a pcap_gen file (16 flows to UDP port 9000, 64 B "
                 "pattern payloads, looped) from its own injector thread and receives it back, copying each frame "
                 "into the area; `--rx-gate N` holds the queue until all N consumers are armed, and the window runs "
                 "from then to the stop. The rate is zcrxd's and its consumers'. Every consumer checks every payload "
                 "byte and sleeps on its eventfd with `--wait-nr 32 --wait-usec 1000` (zcrxd wakes it once 32 "
                 "CQEs are ready, its 1 ms timeout takes fewer; the 1-consumer rows too, so the ratios compare "
                 "like with like); per-packet CPU figures divide each process's CPU time over the "
                 "window (schedstat) by the packets all consumers completed; system = every CPU's busy time from "
                 "/proc/stat less the background measured just before. The veth rows (kernel udp_sender flat out) "
                 "are sender-limited on two cores: their rate is the sender's.")
    lines.append("")
    for mode in ("clone", "import"):
        row = lambda n: next((x for x in s3 if x.get("source") == "inject" and x.get("mode") == mode
                              and x.get("consumers") == n and "skip" not in x), None)
        r1, r2 = row(1), row(2)
        rr = ratio(r2 and r2["mpps"], r1 and r1["mpps"])
        targets.append(["3: aggregate Mpps, 2 consumers / 1, in-process source (%s)" % mode, ">= 0.9", fmt(rr),
                        verdict(rr, 0.9)])
        rc = ratio(r2 and r2.get("mpps_per_consumer_cpu"), r1 and r1.get("mpps_per_consumer_cpu"))
        targets.append(["3: Mpps per consumer CPU-s, 2 consumers / 1, in-process source (%s)" % mode, ">= 0.9",
                        fmt(rc), verdict(rc, 0.9)])


def consumer_ns_per_pkt(r):
    """zcrx_rx's own CPU per packet over the traffic window."""
    c, n = r.get("consumer_cpu_s"), r.get("received")
    return c * 1e9 / n if c is not None and n else None


def med(t):
    """'median (min-max)' of a crosscore.spread triple."""
    m, lo, hi = t if t else (None, None, None)
    if m is None:
        return "-"
    if lo == hi:
        return fmt(m)
    return "%s (%s-%s)" % (fmt(m), fmt(lo), fmt(hi))


def scenario1_report(R, lines, targets):
    s1 = R["scenario1"]
    lines.append("### Scenario 1: synthetic ceiling (net_null, one datapath core, one consumer)")
    lines.append("")
    lines.append("Best sample of each path (for the plots; its ratios are in the next table, per mode):")
    lines.append("")
    rows = []
    for r in s1:
        if "skip" in r:
            rows.append([r["name"], r["size"], "SKIP", "-", "-", "-", r["skip"]])
        else:
            modes = ", ".join(m or "-" for m in r.get("samples_mode") or []) if not r["name"].startswith(
                "A: DPDK rx+free (net_null") else "one core"
            rows.append([r["name"], r["size"], fmt(r["mpps"]), fmt(r["gbps"]), fmt(r.get("mpps_per_cpu")),
                         modes, r.get("note", "")])
    lines.append(table(["path", "size B", "best Mpps", "Gbit/s", "Mpps per consumer CPU-s",
                        "cross-core mode of each sample", "note"], rows))
    lines.append("")
    modes = R.get("scenario1_modes") or []
    if modes:
        rows = []
        for r in modes:
            rows.append([r["name"], r["size"], r["mode"], r["n"], med(r["mpps"]), med(r["x_a"]), med(r["x_b"]),
                         med(r["pingpong_ns"]), fmt(r["lines_per_pkt"]) if r["lines_per_pkt"] else "-"])
        lines.append(table(["path", "size B", "mode", "samples", "Mpps", "x adjacent A", "x B (same round, mode)",
                            "ping-pong ns", "lines between cores per pkt (est.)"], rows))
        lines.append("")
        lines.append("Every two-core sample is bracketed by a cache-line ping-pong between CPU 0 and CPU 1 "
                     "(bench/baselines/cache_pingpong, round trip): fast below %.0f ns, slow above; a sample whose "
                     "two probes disagree is left out of every ratio. Ratios are per round: against the baseline A "
                     "sample of the same size run next to it (one core, no mode), and against baseline B of the "
                     "same round when B ran in the same mode; each cell is the median (min-max) over the rounds. "
                     "The cache lines are estimated from the ring protocols (docs/BENCHMARKS.md)." % FAST_SLOW_NS)
        lines.append("")
    # The targets, at 64 B and 1500 B: against the adjacent
    # baseline A in the fast mode, against the same round's B in each mode.
    for size in (64, 1500):
        if not any(x["size"] == size for x in modes):
            continue  # not run (--smoke, --s1-sizes)
        for mode in ("fast", "slow"):
            z = next((x for x in modes if x["size"] == size and x["mode"] == mode
                      and x["name"] == "zcrxd + zcrx_rx (net_null)"), None)
            ra = z["x_a"][0] if z else None
            rb = z["x_b"][0] if z else None
            if mode == "fast":
                targets.append(["1: zcrxd / adjacent baseline A, %d B, fast mode" % size, ">= 0.7",
                                med(z and z["x_a"]), verdict(ra, 0.7)])
            else:
                targets.append(["1 (info): zcrxd / adjacent baseline A, %d B, slow mode" % size, "-",
                                med(z and z["x_a"]), "info"])
            targets.append(["1: zcrxd / baseline B, %d B, %s mode" % (size, mode), ">= 0.6", med(z and z["x_b"]),
                            verdict(rb, 0.6)])
            za = next((x for x in modes if x["size"] == size and x["mode"] == mode
                       and x["name"].startswith("zcrxd + zcrx_rx --adaptive")), None)
            if za:
                targets.append(["1 (info): zcrxd, adaptive consumer / baseline B, %d B, %s mode" % (size, mode),
                                "-", med(za["x_b"]), "info"])


# Background (CPUs busy with other work) above which whole-system CPU stops
# measuring our rows.
BUSY_MACHINE_CPUS = 0.3

# The published per-core anchor printed beside the TCP table: the kernel's
# own zcrx against epoll on a 200G NIC, 4K MTU, one flow.
TCP_ANCHOR = ("Published figure, not measured here and not comparable with this machine: "
              "the kernel's io_uring zcrx receiving one TCP flow on a 200 Gbit/s NIC with a 4K MTU "
              "reached 116.2 Gbit/s against 82.2 Gbit/s for epoll with the application and the "
              "network stack on separate cores (1.41x), and 80.9 against 62.6 Gbit/s on one core (1.29x).")


def tcp_report(R, lines):
    rows = R.get("tcp") or []
    if rows:
        lines.append("### TCP: same wire (veth across two namespaces, kernel sender tcp_peer)")
        lines.append("")
        out = []
        for r in rows:
            offered = "%g" % r["offered_gbit"] if r.get("offered_gbit") else "unpaced"
            head = [r["receiver"], r["mtu"], r["flows"], offered]
            if "skip" in r:
                out.append(head + ["not available: " + r["skip"]] + ["-"] * 6 + [""])
                continue
            base = next((x for x in rows if x["kind"] == "recv" and x["mtu"] == r["mtu"] and
                         x["flows"] == r["flows"] and x.get("offered_gbit") == r.get("offered_gbit") and
                         "skip" not in x and x.get("verified")), None)
            if r.get("offered_gbit"):  # CPU rows: cost per GB against the kernel's recv()
                # Whole-system, background taken out, while the machine had
                # room; on a busy machine the attributed estimate.
                busy = max(r.get("background_cpus", 0), base.get("background_cpus", 0) if base else 0)
                key = "net_cpu_per_gb" if busy <= BUSY_MACHINE_CPUS else "attributed_cpu_per_gb"
                x = ratio(r.get(key), base and base.get(key))
                vs = "%s CPU/GB%s" % (fmt(x), "" if key == "net_cpu_per_gb" else " (attributed)") \
                    if x is not None else "-"
            else:  # throughput rows
                x = ratio(r.get("gbit_s"), base and base.get("gbit_s"))
                vs = "%s Gbit/s" % fmt(x) if x is not None else "-"
            note_ = r.get("note") or ("" if r.get("verified") else "not verified")
            if r.get("background_cpus", 0) > BUSY_MACHINE_CPUS:
                note_ = (note_ + "; " if note_ else "") + "background %.2f CPUs" % r["background_cpus"]
            out.append(head + [fmt(r["gbit_s"]), fmt(r["sys_cpu_per_gb"]), fmt(r["net_cpu_per_gb"]),
                               fmt(r.get("attributed_cpu_per_gb")), fmt(r.get("rx_cpu_per_gb")),
                               fmt(r.get("sender_cpu_per_gb")), vs, note_])
        lines.append(table(["receiver", "MTU", "flows", "offered Gbit/s", "Gbit/s", "system CPU s/GB",
                            "minus background s/GB", "attributed s/GB", "receiver process CPU s/GB",
                            "sender process CPU s/GB", "x kernel recv", "note"], out))
        lines.append("")
        lines.append("Every receiver checks every byte against tests/tools/tcp_pattern.h and the exact count. "
                     "System CPU = busy time of all CPUs from /proc/stat (user, nice, system, irq, softirq; not "
                     "idle, iowait or steal) over the transfer, sender included (the same kernel sender for every "
                     "receiver); \"minus background\" takes out what the machine did with nothing of ours running, "
                     "measured just before each row (a busy machine is noted with its background in CPUs). "
                     "Attributed = the CPU time of the sender and receiver processes (softirq work done inside "
                     "them included) plus the ksoftirqd threads' over the window (a lower bound: softirq run on the "
                     "way out of an interrupt of another task is missed); it is the estimate that still means "
                     "something when other work keeps the CPUs busy, because then our work displaces that work "
                     "instead of adding to it. Receiver process CPU is the receiver's own (for zcrxd rows "
                     "zcrx_tcp plus the whole zcrxd, polling included). \"x kernel recv\" compares with the kernel "
                     "recv() row of the same MTU, flows and offered rate in this run: background-corrected system CPU "
                     "per GB for the paced rows (attributed CPU per GB when either row saw more than %.1f CPUs of "
                     "background), Gbit/s for the unpaced ones." % BUSY_MACHINE_CPUS)
        lines.append("")
        lines.append(TCP_ANCHOR)
        lines.append("")
    mem = R.get("tcp_memif") or []
    if mem:
        lines.append("### TCP: zcrxd to zcrxd over net_memif (no kernel on the wire)")
        lines.append("")
        out = []
        for r in mem:
            if "skip" in r:
                out.append([r["receiver"], r["mtu"], r["flows"], "not available: " + r["skip"], "-", ""])
            else:
                out.append([r["receiver"], r["mtu"], r["flows"], fmt(r["gbit_s"]), fmt(r.get("sys_cpu_per_gb")),
                            r.get("note", "")])
        lines.append(table(["path", "MTU", "flows", "Gbit/s", "system CPU s/GB", "note"], out))
        lines.append("")
