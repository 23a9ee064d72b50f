# SPDX-License-Identifier: MIT
"""bench/run: zcrxd against its peers and the kernel, side by side, in one run.

Scenarios (see docs/BENCHMARKS.md):
  1 ceiling   net_null source; baseline A (rx+free), baseline B (rte_ring
              handoff to a DPDK secondary), zcrxd + one zcrx_rx consumer,
              in 3 rounds (also with --quick); every two-core sample is
              bracketed by a cache-line ping-pong between CPU 0 and 1 that
              labels it fast or slow, and ratios are per round and mode.
              9000 B frames go to zcrxd in 16 KiB buffers (net_null keeps
              a frame in one mbuf).
  2 wire      veth pair across two network namespaces, udp_sender at fixed
              rate steps; receivers one at a time: kernel recvmmsg, kernel
              io_uring multishot recv, zcrxd (net_af_packet / net_af_xdp) +
              zcrx_rx; per-receiver CPU and whole-system CPU (/proc/stat,
              less the background measured just before) per GB and per
              packet; kernel zcrx probed (EOPNOTSUPP on veth).
  3 sharing   1, 2, 4 consumers on one zcrxd queue (master + clones, master
              + importers), 16 flows spread by flow hash; source: zcrxd's
              own injector on net_ring (the rate is zcrxd's and the
              consumers'), and the veth with a kernel sender (sender-limited).
  4 latency   rx_burst TSC to an eventfd consumer, beside the kernel's
              SO_TIMESTAMPNS-to-read latency (blocking and busy-polling);
              every busy poller has a CPU to itself, the table says which.
  tcp         veth pair, the kernel's TCP sending (tcp_peer) at a fixed rate
              and flat out, 1 and 8 flows, MTU 1500 and 9000; receivers one
              at a time: kernel recv(), kernel io_uring multishot recv,
              zcrxd TCP (net_af_packet / net_af_xdp) + zcrx_tcp; whole-system
              CPU per GB from /proc/stat. Then zcrxd to zcrxd over net_memif.

Prints progress lines on stderr, markdown tables on stdout, writes JSON to
bench/results/latest.json and PNG plots (gnuplot) to bench/results/.
Needs root for network namespaces and hugepages (baseline B); what cannot
run is reported as a SKIP row with the reason.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sys
import time

from .common import ROOT, Proc, clean_all_dpdk_runtime, find_build, logdir, note, progress, remove_logdir
from .harness import Harness
from .plots import plots
from .report import report
from .system import Wire


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    m = ap.add_mutually_exclusive_group()
    m.add_argument("--quick", action="store_true", help="short runs, fewer steps (~4 minutes with every scenario)")
    m.add_argument("--smoke", action="store_true", help="a few seconds: one step of each runnable path")
    ap.add_argument("--build", help="meson build directory (default: ./build or the newest build*/)")
    ap.add_argument("--out", help="results JSON (default bench/results/latest.json)")
    ap.add_argument("--scenarios", default="1,2,3,4,micro,tcp", help="comma list of 1,2,3,4,micro,tcp")
    ap.add_argument("--s1-sizes", help="scenario 1's frame sizes, comma list (default 64,1500,9000)")
    ap.add_argument("--tcp-mtus", dest="tcp_mtus_arg", metavar="LIST", help="the tcp scenario's MTUs, comma list (default 1500,9000)")
    ap.add_argument("--tcp-flows", dest="tcp_flows_arg", metavar="LIST", help="the tcp scenario's flow counts, comma list (default 1,8)")
    ap.add_argument("--tcp-rate", type=float, default=1.0,
                    help="offered rate of the tcp scenario's CPU rows, Gbit/s (default 1)")
    ap.add_argument("--no-plots", action="store_true", help="do not run gnuplot")
    ap.add_argument("--keep-logs", action="store_true", help="keep every program's output (default: only on failure)")
    ap.add_argument("--publish", action="store_true", help="also put the tables into docs/BENCHMARKS.md and the plots into docs/img/")
    ap.add_argument("--zcrxd-lcores", default="0,1", help="EAL -l for zcrxd (default 0,1)")
    ap.add_argument("--zcrxd-mem", type=int, default=512, help="EAL -m for zcrxd, MiB (default 512)")
    ap.add_argument("--vhost-source", action="store_true",
                    help="scenario 1 also feeds zcrxd from dpdk-testpmd over vhost-user (virtio_user; copy mode)")
    ap.add_argument("--consumer-cpu", type=int, default=0, help="CPU for the scenario 1 consumer (default 0)")
    a = ap.parse_args(argv)
    a.argv = argv
    a.micro_time = 0.1 if a.quick else 0.5
    a.mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    a.repeats = 3 if a.mode == "full" else 1
    # Scenario 1's rounds: several even in quick mode, so that each mode
    # the machine switches between gets samples of every path.
    a.s1_rounds = 1 if a.smoke else 3
    if a.smoke:
        a.s1_duration, a.s2_duration, a.s3_duration, a.s4_duration = 0.3, 0.5, 0.5, 0.5
        a.s2_sizes, a.s2_rates, a.s4_rates = [1400], [20000], [10000]
    elif a.quick:
        a.s1_duration, a.s2_duration, a.s3_duration, a.s4_duration = 1.0, 1.0, 1.0, 1.0
        a.s2_sizes, a.s2_rates, a.s4_rates = [1400], [50000, 0], [20000]
    else:
        a.s1_duration, a.s2_duration, a.s3_duration, a.s4_duration = 3.0, 3.0, 3.0, 3.0
        a.s2_sizes, a.s2_rates, a.s4_rates = [64, 1400, 2800], [25000, 50000, 100000, 200000, 0], [10000, 100000]
    # The tcp scenario: seconds at the offered rate, bytes of an unpaced
    # transfer, the idle probe before each row.
    if a.smoke:
        a.tcp_duration, a.tcp_unpaced_bytes, a.tcp_background_s = 0.5, 64 << 20, 0.3
        a.tcp_mtus, a.tcp_flows = [1500], [1]
    elif a.quick:
        a.tcp_duration, a.tcp_unpaced_bytes, a.tcp_background_s = 1.5, 512 << 20, 0.5
        a.tcp_mtus, a.tcp_flows = [1500, 9000], [1, 8]
    else:
        a.tcp_duration, a.tcp_unpaced_bytes, a.tcp_background_s = 4.0, 2 << 30, 1.0
        a.tcp_mtus, a.tcp_flows = [1500, 9000], [1, 8]
    if a.tcp_mtus_arg:
        a.tcp_mtus = [int(x) for x in a.tcp_mtus_arg.split(",")]
    if a.tcp_flows_arg:
        a.tcp_flows = [int(x) for x in a.tcp_flows_arg.split(",")]
    if a.s1_sizes:
        a.s1_sizes = [int(x) for x in a.s1_sizes.split(",")]
    a.build = find_build(a.build)
    a.scen = set(s.strip() for s in a.scenarios.split(","))
    if a.smoke:
        a.scen.discard("micro")
        a.scen.discard("3")
        a.scen.discard("4")
    return a


def main(argv):
    a = parse_args(argv)
    outdir = os.path.join(ROOT, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    out = a.out or os.path.join(outdir, "latest.json")
    h = Harness(a)
    wire = Wire()

    def on_signal(sig, _frame):
        Proc.kill_all()
        wire.destroy()
        clean_all_dpdk_runtime()
        remove_logdir()
        sys.exit(128 + sig)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    progress("bench/run %s mode, build %s" % (a.mode, a.build))
    missing = [p for p in (h.bins.sender, h.bins.recvmmsg, h.bins.probe) if not h.bins.have(p)]
    if missing:
        sys.exit("bench/run: missing %s; build first" % ", ".join(missing))
    have_dpdk = h.bins.have(h.bins.rx_loop) and h.bins.have(h.bins.handoff)
    why = h.zcrxd_ready()
    if why:
        note(why)
    try:
        if "1" in a.scen:
            if have_dpdk:
                h.scenario1()
            else:
                h.skip("scenario 1", "all", "built without DPDK")
        if a.scen & {"2", "3", "4"}:
            progress("creating network namespaces and a veth pair")
            if wire.create():
                if "2" in a.scen:
                    h.scenario2(wire)
                if "3" in a.scen:
                    h.scenario3(wire)
                if "4" in a.scen:
                    h.scenario4(wire)
            else:
                for s in sorted(a.scen & {"2", "3", "4"}):
                    h.skip("scenario " + s, "all", wire.reason)
        if "micro" in a.scen:
            h.micro()
        if "tcp" in a.scen:
            h.scenario_tcp()
    finally:
        Proc.kill_all()
        wire.destroy()
        clean_all_dpdk_runtime()

    md = report(h, a)
    print(md, flush=True)
    made = [] if (a.no_plots or a.smoke) else plots(h, outdir)
    if made:
        progress("plots: " + ", ".join(os.path.relpath(p, ROOT) for p in made))
    if a.publish:
        publish(md, made)
    if a.keep_logs or h.failures:
        if logdir(create=False):
            progress("program logs kept in %s" % logdir())
    else:
        remove_logdir()
    doc = {"mode": a.mode, "command": ["bench/run"] + argv,
           "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": machine_info(), "build": a.build, "results": h.results,
           "failures": h.failures, "plots": made, "markdown": md}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    progress("results: %s" % out)
    if h.failures:
        for f_ in h.failures:
            print("bench/run: FAILED %s" % f_, file=sys.stderr)
        return 1
    measured = [r for k in ("scenario1", "scenario2", "tcp") for r in h.results[k] if "skip" not in r]
    if a.smoke and not measured:
        print("SKIP: nothing could run here (needs DPDK or root for network namespaces)")
        return 77
    return 0


def publish(md, pngs):
    """Copies the plots to docs/img/ and puts the tables between the
    results markers of docs/BENCHMARKS.md."""
    img = os.path.join(ROOT, "docs", "img")
    os.makedirs(img, exist_ok=True)
    links = []
    for p in pngs:
        shutil.copy(p, img)
        name = os.path.basename(p)
        links.append("![%s](img/%s)" % (name[:-4].replace("_", " "), name))
    m = machine_info()
    body = ["Machine: %s, %s CPUs, Linux %s (shared with other work while measured)." % (
        m.get("cpu"), m.get("cpus"), m.get("kernel")), "", re.sub(r"^## zcrx-dpdk benchmark \((\w+) mode, (.*)\)", r"Run: \1 mode, \2.", md), ""]
    body += links
    doc = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    with open(doc) as f:
        text = f.read()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(doc, "w") as f:
            f.write(head + begin + "\n" + "\n".join(body).rstrip() + "\n" + end + tail)
        progress("published tables and plots to docs/BENCHMARKS.md and docs/img/")


def machine_info():
    info = {"kernel": os.uname().release, "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1) if m else None
    except OSError:
        pass
    return info
