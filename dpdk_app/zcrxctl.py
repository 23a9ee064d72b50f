#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""zcrxctl: zcrxd's state from its DPDK telemetry socket (/zcrx/ commands),
as tables or as JSON. A thin client: it asks what dpdk-telemetry.py would
ask and only formats the answer."""
import argparse
import json
import os
import socket
import sys

COMMANDS = ["info", "queues", "rings", "entries", "ifqs", "flows", "rejects", "tcp"]
# Row tables (one line per item) and the columns they show; the other
# commands print one column per item (their items have many counters).
ROWS = {
    "rings": ["pid", "uid", "state", "rx_queue", "entries", "sq_entries", "cq_entries",
              "cq_fill", "sq_pending", "cq_overflow", "flows", "armed", "exports"],
    "entries": ["ring", "zcrx_id", "kind", "ifq", "live", "rq_entries", "rq_fill", "held",
                "delivered", "refilled", "reclaimed", "rqe_no_ref", "rq_clamped"],
    "flows": ["ring", "handle", "ifq", "group_members", "key"],
}


def runtime_dir(prefix):
    # The EAL's rule (eal_get_runtime_dir), as dpdk-telemetry.py has it.
    if os.getuid() == 0:
        base = "/var/run"
    else:
        base = os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix)


def query(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        hello = json.loads(s.recv(1024).decode())
        s.send(command.encode())
        reply = json.loads(s.recv(hello["max_output_len"]).decode())
    return reply[command.split(",")[0]]


def print_table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        # Names left-aligned, numbers right; a trailing free-text column (a
        # flow's key) as it is.
        free = header[-1] == "key"
        print("  ".join(str(v).ljust(w) if i == 0 else
                        str(v) if free and i == len(r) - 1 else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths))).rstrip())


def show(cmd, value):
    if value is None:
        sys.exit(f"zcrxctl: /zcrx/{cmd}: no answer (zcrxd starting, stopping or busy)")
    if not value:
        print(f"(no {cmd})")
        return
    nested = all(isinstance(v, dict) for v in value.values())
    if not nested:
        print_table([[k, v] for k, v in value.items()], ["name", "value"])
    elif cmd in ROWS:
        cols = ROWS[cmd]
        print_table([[k] + [v.get(c, "") for c in cols] for k, v in value.items()], ["id"] + cols)
    else:
        fields = list(dict.fromkeys(f for v in value.values() for f in v))
        ids = list(value)
        print_table([[f] + [value[i].get(f, "") for i in ids] for f in fields], [cmd] + ids)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("command", choices=COMMANDS, nargs="?", default="info")
    p.add_argument("param", nargs="?", help="a queue or ring id (queues, rings)")
    p.add_argument("-f", "--file-prefix", default="rte",
                   help="zcrxd's EAL --file-prefix (default rte)")
    p.add_argument("-i", "--instance", type=int, default=0,
                   help="telemetry instance (several processes on one prefix)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    a = p.parse_args()
    path = os.path.join(runtime_dir(a.file_prefix), "dpdk_telemetry.v2")
    if a.instance:
        path += f":{a.instance}"
    cmd = f"/zcrx/{a.command}" + (f",{a.param}" if a.param else "")
    try:
        value = query(path, cmd)
    except OSError as e:
        sys.exit(f"zcrxctl: {path}: {e.strerror or e} (is zcrxd running with "
                 f"--file-prefix {a.file_prefix}, and without --no-telemetry?)")
    if a.json:
        print(json.dumps(value, indent=1))
    else:
        show(a.command, value)


if __name__ == "__main__":
    main()
