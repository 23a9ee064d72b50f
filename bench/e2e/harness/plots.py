# SPDX-License-Identifier: MIT
"""PNG plots with gnuplot: throughput vs packet size, CPU per GB vs rate,
latency CDF."""

import os
import shutil
import subprocess

from .common import note


def plots(h, outdir):
    if not shutil.which("gnuplot"):
        note("no gnuplot: plots skipped (Debian package gnuplot-nox)")
        return []
    R = h.results
    made = []

    def write(name, series):
        paths = []
        for i, (label, pts) in enumerate(series):
            p = os.path.join(outdir, "%s_%d.dat" % (name, i))
            with open(p, "w") as f:
                for x, y in pts:
                    f.write("%g %g\n" % (x, y))
            paths.append((label, p))
        return paths

    def gp(name, title, xl, yl, series, logx=False, logy=False, style="linespoints"):
        series = [s for s in series if s[1]]
        if not series:
            return
        files = write(name, series)
        png = os.path.join(outdir, name + ".png")
        script = ["set terminal pngcairo size 800,500 noenhanced" if has_cairo() else "set terminal png size 800,500 noenhanced",
                  "set output '%s'" % png, "set title '%s'" % title, "set xlabel '%s'" % xl,
                  "set ylabel '%s'" % yl, "set grid", "set key left top"]
        if logx:
            script.append("set logscale x")
        if logy:
            script.append("set logscale y")
        script.append("plot " + ", ".join("'%s' using 1:2 with %s title '%s'" % (p, style, l.replace("'", ""))
                                          for l, p in files))
        r = subprocess.run(["gnuplot"], input="\n".join(script), text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            made.append(png)
        else:
            note("gnuplot failed for %s: %s" % (name, r.stdout.strip()[:200]))
        for _, p in files:
            os.unlink(p)

    s1 = R["scenario1"]
    names = []
    for r in s1:
        if r["name"] not in names:
            names.append(r["name"])
    gp("throughput_vs_size", "Scenario 1: throughput vs packet size", "packet size (bytes)", "Mpps",
       [(n, [(r["size"], r["mpps"]) for r in s1 if r["name"] == n and r.get("mpps")]) for n in names],
       logx=True, logy=True)

    s2 = [r for r in R["scenario2"] if "skip" not in r and r.get("cpu_per_gb")]
    series = []
    for key in sorted({(r["receiver"], r["size"]) for r in s2}):
        pts = sorted((r["rate_pps"], r["cpu_per_gb"]) for r in s2 if (r["receiver"], r["size"]) == key)
        series.append(("%s %d B" % key, pts))
        if key[0].startswith("zcrxd"):
            alone = sorted((r["rate_pps"], r["consumer_cpu_per_gb"]) for r in s2
                           if (r["receiver"], r["size"]) == key and r.get("consumer_cpu_per_gb"))
            series.append(("zcrx_rx alone %d B" % key[1], alone))
    gp("cpu_per_gb_vs_rate", "Scenario 2: receiver CPU per GB vs rate", "sent rate (packets/s)",
       "CPU seconds per GB", series, logy=True)

    s4 = [r for r in R["scenario4"] if "skip" not in r]
    series = []
    for r in s4:
        if r.get("cdf"):
            pts = [(max(1, x), y) for x, y in r["cdf"]]
        else:
            pts = [(r["p50"], 0.5), (r["p99"], 0.99), (r["p999"], 0.999)]
        series.append(("%s @%d pps" % (r["receiver"], r["rate"]), pts))
    gp("latency_cdf", "Scenario 4: delivery latency CDF", "latency (ns)", "fraction of packets", series,
       logx=True, style="lines")
    return made


def has_cairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return "pngcairo" in r.stdout
