# SPDX-License-Identifier: MIT
"""Scenario 1's NIC-like source (--vhost-source): dpdk-testpmd generates
(txonly) on a net_vhost port, in its own process, and zcrxd receives on a
virtio_user port attached to the same vhost-user socket, so the frames are
written into zcrxd's memory by another process through the virtio ring.
zcrxd serves it in copy mode: the vhost-user backend reaches only the EAL's
own memory, never the consumer's area (docs/BENCHMARKS.md, "A NIC-like
source"). testpmd's payload is not the pattern, so only counts and lengths
are checked here; tests/integration/test_vhost_source.sh checks bytes."""

import os
import shutil
import signal
import tempfile
import time

from .common import Proc, clean_dpdk_runtime, eal_args, new_prefix

NAME = "zcrxd + zcrx_rx (testpmd over vhost-user, copy)"


def testpmd_path():
    return shutil.which("dpdk-testpmd")


def run_zcrxd_vhost(h, size, dur):
    """One sample of zcrxd + zcrx_rx fed by testpmd; zcrx_rx's result or a
    reason string. `h` is the scenario's harness (Base)."""
    tp = testpmd_path()
    if not tp:
        return "dpdk-testpmd not found (Debian package dpdk)"
    if size > 1518:
        # virtio_user's rx buffers are 2 KiB mbufs of zcrxd's copy pool;
        # larger frames need mergeable buffers, which zcrxd does not chain.
        return "frames over 1518 B need multi-segment receive on virtio_user"
    why = h.zcrxd_ready()
    if why:
        return why
    prefix = new_prefix("tp")
    vsock = os.path.join(tempfile.gettempdir(), "%s.vhost.sock" % prefix)
    # testpmd's forwarding lcore is the first CPU, its (idle) main lcore the
    # second: zcrxd's datapath runs on the second (--zcrxd-lcores 0,1).
    argv = [tp] + eal_args(prefix, "0,1", extra=["--main-lcore", "1", "--vdev",
                                                  "net_vhost0,iface=%s,queues=1" % vsock])
    argv += ["--", "--forward-mode=txonly", "--txpkts=%d" % max(64, size), "--auto-start",
             "--stats-period", "3600", "--total-num-mbufs=8192"]
    gen = Proc(argv, "testpmd")
    try:
        for _ in range(100):
            if os.path.exists(vsock):
                break
            if gen.p.poll() is not None:
                return "testpmd did not start: " + gen.tail(3)
            time.sleep(0.1)
        else:
            return "testpmd created no vhost-user socket: " + gen.tail(3)
        zd, sock = h.start_zcrxd("virtio_user0,path=%s,queues=1" % vsock, "zv")
        if zd is None:
            return sock
        try:
            c = h.start_consumer(sock, "raw", dur, cpu=h.a.consumer_cpu, touch=True)
            c.wait(dur + 20)
            res = c.result()
            if res is None:
                return "zcrx_rx failed: " + c.tail(3)
            res["source"] = "testpmd txonly on net_vhost, 3 pollers on 2 CPUs"
            return res
        finally:
            h.stop_zcrxd(zd)
    finally:
        gen.stop(signal.SIGINT, 5)
        clean_dpdk_runtime(prefix)
        try:
            os.unlink(vsock)
        except OSError:
            pass
