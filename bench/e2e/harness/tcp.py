# SPDX-License-Identifier: MIT
"""Scenario tcp, the same wire for TCP: the kernel sends (tcp_peer --connect
in the sender's namespace, paced to a fixed offered rate for the CPU rows,
flat out for the throughput rows) and one receiver at a time takes the
stream in the other namespace, checking every byte against
tests/tools/tcp_pattern.h: the kernel's recv() (tcp_peer --listen), the
kernel's io_uring multishot recv from a provided buffer ring
(tcp_uring_recv), and zcrxd's TCP endpoint with the zcrx_tcp server
(net_af_packet and net_af_xdp on the veth). CPU is charged to the whole
machine (/proc/stat) over the same window, beside each process's own."""

import os
import tempfile
import time

from .base import Base
from .common import UNIQ, Proc, cpu_of, fmt, note, progress, run_cmd
from .system import SystemCpu, SystemWindow, Wire, ksoftirqd_ns, tcp_wire

# veth refuses XDP above this MTU (the af_xdp rows of scenario 2 use it too).
AF_XDP_MAX_MTU = 3000
KINDS = (("kernel recv", "recv"), ("kernel io_uring multishot", "uring"),
         ("zcrxd af_packet + zcrx_tcp", "zcrxd_afp"), ("zcrxd af_xdp + zcrx_tcp", "zcrxd_xdp"))


def rx_buf_args(kind, mtu):
    """zcrx_tcp's buffer size: net_af_packet keeps a frame in one buffer, so
    jumbo frames need buffers larger than the 4 KiB default."""
    return ["--rx-buf-len", "16384"] if kind == "zcrxd_afp" and mtu > 3900 else []


def afp_tcp_vdev(ifname, mtu):
    """net_af_packet on the receiving veth with a TPACKET slot that holds a
    whole frame of `mtu` (frame + TPACKET2 header), 32 MiB of ring or more."""
    # A slot's payload must fit one mbuf of the area (rx_buf_len less
    # DPDK's headroom): 12 KiB slots (three pages, a block each) hold a
    # 9000-byte frame and fit a 16 KiB buffer, 16 KiB slots would not.
    frame = 2048 if mtu <= 1900 else 4096 if mtu <= 3900 else 12288
    block = max(frame, 4096)
    return "net_af_packet0,iface=%s,qpairs=1,framesz=%d,blocksz=%d,framecnt=%d" % (
        ifname, frame, block, max(16384, (32 << 20) // frame))


class TcpWire(Base):
    def tcp_zcrxd_ready(self):
        """None when zcrxd has its TCP endpoint and zcrx_tcp is built, else why not."""
        why = self.zcrxd_ready()
        if why:
            return why
        if "--ip" not in (self.zcrxd_help or ""):
            return "zcrxd has no TCP endpoint yet (no --ip option)"
        if not self.bins.have(self.bins.zcrx_tcp):
            return "zcrx_tcp not built"
        return None

    def scenario_tcp(self):
        a = self.a
        rows = self.results["tcp"]
        if not self.bins.have(self.bins.tcp_peer):
            self.skip("tcp", "all", "tcp_peer not built")
            return
        wire = Wire(tag="t", subnet=224)
        progress("tcp: creating a second veth pair for TCP")
        if not wire.create():
            self.skip("tcp", "all", wire.reason)
            return
        try:
            for mtu in a.tcp_mtus:
                why = tcp_wire(wire, mtu)
                if why:
                    self.skip("tcp", "MTU %d" % mtu, why)
                    continue
                for flows in a.tcp_flows:
                    for rate in (a.tcp_rate,) if a.smoke else (a.tcp_rate, 0):
                        for label, kind in KINDS:
                            row = {"receiver": label, "kind": kind, "mtu": mtu, "flows": flows,
                                   "offered_gbit": rate}
                            skip = self.tcp_skip(kind, mtu)
                            if not skip:
                                progress("tcp: %s, MTU %d, %d flow(s), %s" % (
                                    label, mtu, flows, "%g Gbit/s offered" % rate if rate else "unpaced"))
                                row.update(self.tcp_step(wire, kind, mtu, flows, rate))
                            else:
                                row["skip"] = skip
                            if "skip" in row:
                                note("not available: " + row["skip"])
                            else:
                                note("%.3f Gbit/s, system %s s/GB (background-corrected %s), receiver %s s/GB" % (
                                    row["gbit_s"], fmt(row["sys_cpu_per_gb"]), fmt(row["net_cpu_per_gb"]),
                                    fmt(row["rx_cpu_per_gb"])))
                            rows.append(row)
        finally:
            wire.destroy()
        self.tcp_memif()

    def tcp_skip(self, kind, mtu):
        if kind == "uring" and not self.bins.have(self.bins.tcp_uring):
            return "built without liburing"
        if kind.startswith("zcrxd"):
            why = self.tcp_zcrxd_ready()
            if why:
                return why
            if kind == "zcrxd_xdp" and mtu > AF_XDP_MAX_MTU:
                return "veth refuses XDP above MTU %d" % AF_XDP_MAX_MTU
        return None

    def tcp_bytes(self, flows, rate):
        """Bytes per connection: the scenario's duration at the offered rate,
        or a fixed amount when unpaced."""
        a = self.a
        total = rate * 1e9 / 8 * a.tcp_duration if rate else a.tcp_unpaced_bytes
        return max(1 << 20, int(total / flows) // 4096 * 4096)

    def start_tcp_receiver(self, wire, kind, mtu, port, flows, nbytes, timeout):
        """Returns (receiver proc, zcrxd proc or None) or (None, reason)."""
        if kind == "recv":
            rx = Proc([self.bins.tcp_peer, "--listen", "%s:%d" % (wire.ip_rx, port), "--mode", "recv",
                       "--conns", str(flows), "--bytes", str(nbytes), "--timeout", str(timeout), "--quiet"],
                      "tcp_recv", netns=wire.ns_rx, cpu=1)
            return (rx, None) if rx.wait_line(r"^LISTENING", 5) else (None, "tcp_peer did not listen: " + rx.tail(2))
        if kind == "uring":
            rx = Proc([self.bins.tcp_uring, "--bind", wire.ip_rx, "--port", str(port), "--conns", str(flows),
                       "--bytes", str(nbytes), "--timeout", str(timeout), "--buffers", "1024"],
                      "tcp_uring", netns=wire.ns_rx, cpu=1)
            return (rx, None) if rx.wait_line(r"ready", 5) else (None, "tcp_uring_recv did not start: " + rx.tail(2))
        vdev = (afp_tcp_vdev(wire.if_rx, mtu) if kind == "zcrxd_afp" else
                "net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % wire.if_rx)
        zd, sock = self.start_zcrxd(vdev, "zt", netns=wire.ns_rx,
                                    extra=["--ip", wire.ip_rx + "/24", "--mtu", str(mtu)])
        if zd is None:
            return None, sock
        rx = Proc([self.bins.zcrx_tcp, "--socket", sock, "--listen", "%s:%d" % (wire.ip_rx, port),
                   "--connections", str(flows), "--bytes", str(nbytes), "--timeout", str(timeout),
                   "--eventfd", "--quiet"] + rx_buf_args(kind, mtu), "zcrx_tcp", netns=wire.ns_rx, cpu=0)
        if not rx.wait_line(r"^LISTENING", 10):
            rx.stop()
            self.stop_zcrxd(zd)
            return None, "zcrx_tcp did not listen: " + rx.tail(2)
        return rx, zd

    def tcp_step(self, wire, kind, mtu, flows, rate):
        a = self.a
        port = 5000 + self.next_port() % 1000
        nbytes = self.tcp_bytes(flows, rate)
        timeout = max(30.0, 8 * a.tcp_duration)
        zcrxd_owns_ip = kind.startswith("zcrxd")
        if zcrxd_owns_ip:  # zcrxd answers for the address itself
            wire_addr(wire, False)
        zd = None
        try:
            # What the machine does without us, just before: other work on a
            # shared machine, taken out of the window below.
            sw = SystemWindow(a.tcp_background_s)
            rx, started = self.start_tcp_receiver(wire, kind, mtu, port, flows, nbytes, timeout)
            if rx is None:  # `started` is why (the receiver stopped what it started)
                return {"skip": started}
            zd = started
            time.sleep(0.2)
            watch = [rx] + ([zd] if zd else [])
            before = [w.cpu_ns() for w in watch]
            last = list(before)
            sw.start()
            k0 = ksoftirqd_ns()
            t0 = time.monotonic()
            argv = [self.bins.tcp_peer, "--connect", "%s:%d" % (wire.ip_rx, port), "--conns", str(flows),
                    "--bytes", str(nbytes), "--timeout", str(timeout), "--quiet"]
            if rate:
                argv += ["--rate", "%g" % rate]
            snd = Proc(argv, "tcp_send", netns=wire.ns_tx, cpu=0)
            # Sample the receivers while they run: tcp_peer and zcrx_tcp exit
            # at the last EOF, and /proc forgets them.
            while snd.p.poll() is None and time.monotonic() - t0 < timeout + 5:
                last = [w.cpu_ns() if w.cpu_ns() is not None else l for w, l in zip(watch, last)]
                time.sleep(0.05)
            snd.wait(5)
            sysd = sw.stop()
            wall = sysd["window_s"]
            ksoft = (ksoftirqd_ns() - k0) / 1e9
            rx.wait(10)
            res, sres = rx.result(), snd.result()
            zcpu = None
            if zd:
                after = zd.cpu_ns()
                zcpu = (after - before[1]) / 1e9 if after is not None and before[1] is not None else None
                self.stop_zcrxd(zd)
                zd = None
            if res is None or sres is None:
                return {"skip": "%s failed: %s" % ("receiver" if res is None else "sender",
                                                   (rx if res is None else snd).tail(2))}
            # The receiver's own CPU: its getrusage when it reports one, else
            # the last schedstat sample before it exited.
            rcpu = cpu_of(res) if "cpu_user_s" in res else (
                (last[0] - before[0]) / 1e9 if last[0] is not None and before[0] is not None else None)
            got = res.get("bytes", 0)
            gb = got / 1e9
            ok = rx.p.returncode == 0 and res.get("bad_bytes", 0) == 0 and got == nbytes * flows
            per_gb = lambda v: v / gb if v is not None and gb > 0 else None
            # When other work keeps the machine busy, ours displaces it
            # instead of adding to it and the subtraction above says little;
            # then the estimate is what our processes ran (softirq work done
            # inside them included: this kernel does not account irq time
            # apart) plus the ksoftirqd threads, where the rest of the
            # stack's softirq work goes. Softirq run on the way out of an
            # interrupt of someone else's task is missed: a lower bound.
            procs = [v for v in (cpu_of(sres), rcpu, zcpu) if v is not None]
            attributed = sum(procs) + ksoft
            row = {
                "gbit_s": sres.get("gbit_s", 0.0), "bytes": got, "expected_bytes": nbytes * flows,
                "bad_bytes": res.get("bad_bytes"), "verified": ok, "window_s": wall,
                "sys_busy_s": sysd["busy"], "sys_steal_s": sysd["steal"], "background_cpus": sysd["background_cpus"],
                "sys_cpu_per_gb": per_gb(sysd["busy"]), "net_cpu_per_gb": per_gb(sysd["net"]),
                "sys_softirq_s": sysd["softirq"], "sys_irq_s": sysd["irq"], "ksoftirqd_s": ksoft,
                "attributed_cpu_per_gb": per_gb(attributed),
                "rx_cpu_s": rcpu, "zcrxd_cpu_s": zcpu,
                "rx_cpu_per_gb": per_gb(None if rcpu is None else rcpu + (zcpu or 0)),
                "sender_cpu_per_gb": per_gb(cpu_of(sres)),
                "retransmits": sres.get("retransmits"), "raw": res, "sender": sres,
            }
            if not ok:
                row["note"] = "receiver exit %s, %s bad bytes, %d of %d bytes" % (
                    rx.p.returncode, res.get("bad_bytes"), got, nbytes * flows)
            return row
        finally:
            if zd:
                self.stop_zcrxd(zd)
            if zcrxd_owns_ip:
                wire_addr(wire, True)

    def tcp_memif(self):
        """zcrxd's own TCP ceiling without the kernel: two zcrxd over a
        net_memif pair, the zcrx_tcp client on one, the server on the other."""
        rows = self.results["tcp_memif"]
        why = self.tcp_zcrxd_ready()
        for mtu in self.a.tcp_mtus:
            for flows in self.a.tcp_flows:
                row = {"receiver": "zcrxd memif <-> zcrxd memif, zcrx_tcp", "mtu": mtu, "flows": flows}
                if why:
                    row["skip"] = why
                else:
                    progress("tcp memif: MTU %d, %d flow(s)" % (mtu, flows))
                    row.update(self.tcp_memif_step(mtu, flows))
                if "skip" in row:
                    note("not available: " + row["skip"])
                rows.append(row)

    def tcp_memif_step(self, mtu, flows):
        a = self.a
        sockp = os.path.join(tempfile.gettempdir(), "%s_memif.sock" % UNIQ)
        vdev = "net_memif0,role=%s,socket=" + sockp + ",socket-abstract=no"
        nbytes = self.tcp_bytes(flows, 0)
        timeout = max(30.0, 8 * a.tcp_duration)
        srv = cli = None
        try:
            # One busy-polling datapath per CPU; control threads share them.
            srv, ssock = self.start_zcrxd(vdev % "server", "mr", lcores="0,1",
                                          extra=["--ip", "10.0.0.2/24", "--mtu", str(mtu)])
            if srv is None:
                return {"skip": ssock}
            cli, csock = self.start_zcrxd(vdev % "client", "ms", lcores="1,0",
                                          extra=["--ip", "10.0.0.1/24", "--mtu", str(mtu)])
            if cli is None:
                return {"skip": csock}
            rx = Proc([self.bins.zcrx_tcp, "--socket", ssock, "--listen", "10.0.0.2:5001",
                       "--connections", str(flows), "--bytes", str(nbytes), "--timeout", str(timeout),
                       "--eventfd", "--quiet"], "zcrx_tcp_srv")
            if not rx.wait_line(r"^LISTENING", 10):
                return {"skip": "zcrx_tcp server did not listen: " + rx.tail(2)}
            s0 = SystemCpu.snapshot()
            t0 = time.monotonic()
            tx = Proc([self.bins.zcrx_tcp, "--socket", csock, "--connect", "10.0.0.2:5001",
                       "--connections", str(flows), "--bytes", str(nbytes), "--timeout", str(timeout),
                       "--eventfd", "--quiet"], "zcrx_tcp_cli")
            tx.wait(timeout + 5)
            rx.wait(10)
            wall = time.monotonic() - t0
            sysd = SystemCpu.delta(s0, SystemCpu.snapshot())
            res, tres = rx.result(), tx.result()
            if res is None or tres is None:
                return {"skip": "zcrx_tcp %s failed: %s" % ("server" if res is None else "client",
                                                            (rx if res is None else tx).tail(2))}
            got = res.get("bytes", 0)
            ok = rx.p.returncode == 0 and res.get("bad_bytes", 0) == 0 and got == nbytes * flows
            return {"gbit_s": res.get("gbit_s", 0.0), "bytes": got, "verified": ok, "window_s": wall,
                    "sys_busy_s": sysd["busy"],
                    "sys_cpu_per_gb": sysd["busy"] / (got / 1e9) if got else None,
                    "raw": res, "sender": tres,
                    "note": "" if ok else "server exit %s, %s bad bytes" % (rx.p.returncode, res.get("bad_bytes"))}
        finally:
            for z in (cli, srv):
                if z:
                    self.stop_zcrxd(z)
            try:
                os.unlink(sockp)
            except OSError:
                pass


def wire_addr(wire, present):
    """Gives the receiving veth its address back (kernel rows) or takes it
    away (zcrxd rows: zcrxd owns it and answers ARP)."""
    verb = "add" if present else "del"
    run_cmd(["ip", "-n", wire.ns_rx, "addr", verb, wire.ip_rx + "/24", "dev", wire.if_rx], check=False)
