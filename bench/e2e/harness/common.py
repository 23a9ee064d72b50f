# SPDX-License-Identifier: MIT
"""Shared plumbing of the harness: run identity, progress lines, the
processes this run started (and only those), build discovery, EAL
arguments, number formatting."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# bench/e2e/harness/common.py -> the repository root
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UNIQ = "zb%d" % os.getpid()
_logdir = [None]


def logdir(create=True):
    """The directory holding this run's program logs, made on first use;
    None when nothing was logged yet and create is False."""
    if _logdir[0] is None and create:
        _logdir[0] = tempfile.mkdtemp(prefix="zcrx-bench-")
    return _logdir[0]


def remove_logdir():
    if _logdir[0]:
        shutil.rmtree(_logdir[0], ignore_errors=True)
        _logdir[0] = None
CLK_TCK = os.sysconf("SC_CLK_TCK")
T0 = time.monotonic()
_step = [0]
_prefix_n = [0]


def progress(msg):
    _step[0] += 1
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def note(msg):
    print("           %s" % msg, file=sys.stderr, flush=True)


class Proc:
    """A process this harness started (own session, so its whole group can
    be signalled by id); stdout+stderr go to a log file we can scan."""

    live = []

    def __init__(self, argv, name, netns=None, cpu=None):
        self.name = name
        full = list(argv)
        if cpu is not None and shutil.which("taskset"):
            full = ["taskset", "-c", str(cpu)] + full
        if netns:
            full = ["ip", "netns", "exec", netns] + full
        self.argv = full
        self.log = tempfile.NamedTemporaryFile(prefix="%s-" % name, suffix=".log", delete=False,
                                               dir=logdir())
        self.p = subprocess.Popen(full, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid
        Proc.live.append(self)

    def text(self):
        try:
            with open(self.log.name, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_line(self, pattern, timeout):
        """Waits until a line matches `pattern`; False on timeout or exit."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if rx.search(self.text()):
                return True
            if self.p.poll() is not None:
                return bool(rx.search(self.text()))
            time.sleep(0.02)
        return False

    def cpu_s(self):
        """utime+stime of the process (all its threads) so far, or None."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            return None

    def cpu_ns(self):
        """CPU time (ns) of all threads so far from /proc/<pid>/task/*/schedstat
        (ns precision, unlike the 10 ms ticks of /proc/<pid>/stat), or None."""
        total, seen = 0, False
        try:
            tasks = os.listdir("/proc/%d/task" % self.pid)
        except OSError:
            return None
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (self.pid, t)) as f:
                    total += int(f.read().split()[0])
                    seen = True
            except (OSError, ValueError, IndexError):
                pass
        return total if seen else None

    def stop(self, sig=signal.SIGINT, timeout=5.0):
        """Signals the process group, waits, escalates to SIGKILL."""
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(5)
        self.finish()
        return self.p.returncode

    def wait(self, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.stop()
        self.finish()
        return self.p.returncode

    def finish(self):
        if self in Proc.live:
            Proc.live.remove(self)

    def result(self):
        """The last RESULT {json} line, or None."""
        found = None
        for line in self.text().splitlines():
            if line.startswith("RESULT "):
                try:
                    found = json.loads(line[7:])
                except ValueError:
                    pass
        return found

    def tail(self, n=6):
        return " | ".join(self.text().strip().splitlines()[-n:])

    def cleanup(self):
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    @classmethod
    def kill_all(cls):
        for p in list(cls.live):
            p.stop(signal.SIGKILL, 2)


def run_cmd(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stdout.strip()))
    return r


def find_build(arg):
    if arg:
        return os.path.abspath(arg)
    if os.environ.get("ZCRX_BUILD"):
        return os.path.abspath(os.environ["ZCRX_BUILD"])
    cands = []
    for d in os.listdir(ROOT):
        p = os.path.join(ROOT, d)
        if d.startswith("build") and os.path.exists(os.path.join(p, "bench/baselines/udp_sender")):
            cands.append((os.path.getmtime(os.path.join(p, "bench/baselines/udp_sender")), p))
    if not cands:
        sys.exit("bench/run: no build directory with bench/baselines/udp_sender; "
                 "build first (meson setup build && ninja -C build) or pass --build DIR")
    for _, p in cands:
        if os.path.basename(p) == "build":
            return p
    return sorted(cands)[-1][1]


class Bins:
    def __init__(self, build):
        j = lambda *a: os.path.join(build, *a)
        self.sender = j("bench/baselines/udp_sender")
        self.recvmmsg = j("bench/baselines/udp_recvmmsg")
        self.uring = j("bench/baselines/uring_recv_multishot")
        self.probe = j("bench/baselines/kernel_zcrx_probe")
        self.pingpong = j("bench/baselines/cache_pingpong")
        self.rx_loop = j("bench/baselines/dpdk_rx_loop")
        self.handoff = j("bench/baselines/dpdk_mp_handoff")
        self.zcrxd = j("dpdk_app/zcrxd")
        self.zcrx_rx = j("examples/zcrx_rx/zcrx_rx")
        self.tcp_peer = j("tests/tools/tcp_peer")
        self.tcp_uring = j("bench/baselines/tcp_uring_recv")
        self.zcrx_tcp = j("examples/zcrx_tcp/zcrx_tcp")
        self.pcap_gen = j("examples/pcap_gen/pcap_gen")
        self.micro = [j("bench/e2e/bench_datapath"), j("bench/core/bench_core")]

    def have(self, path):
        return os.path.isfile(path) and os.access(path, os.X_OK)


def eal_args(prefix, lcores, no_huge=True, mem=256, extra=()):
    a = ["-l", lcores, "--file-prefix", prefix, "--no-pci", "--log-level=lib.eal:error",
         "--log-level=pmd:error", "--no-telemetry"]
    if no_huge:
        a += ["--no-huge", "-m", str(mem)]
    return a + list(extra)


def clean_dpdk_runtime(prefix):
    for base in ("/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "dpdk")):
        shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)


def clean_all_dpdk_runtime():
    """Removes the EAL runtime directories of every process group of this run."""
    for base in ("/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "dpdk")):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for n in names:
            if n.startswith(UNIQ + "_"):
                shutil.rmtree(os.path.join(base, n), ignore_errors=True)
    # zcrxd control sockets and --share sockets of this run.
    tmp = tempfile.gettempdir()
    for n in os.listdir(tmp):
        if n.startswith(UNIQ + "_"):
            try:
                os.unlink(os.path.join(tmp, n))
            except OSError:
                pass


def new_prefix(tag):
    _prefix_n[0] += 1
    return "%s_%s%d" % (UNIQ, tag, _prefix_n[0])


def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return ("%%.%dg" % (nd + 1)) % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def cpu_of(res):
    if not res:
        return None
    return res.get("cpu_user_s", 0) + res.get("cpu_sys_s", 0)
