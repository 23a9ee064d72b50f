#!/bin/bash
# SPDX-License-Identifier: MIT
# Instructions per packet of zcrxd's datapath loop, counted by valgrind's
# callgrind inside Datapath::poll_once while bench_datapath_loop runs
# BM_Loop (64 B over net_null), with the functions that execute them.
# Unlike time, the count does not move with other work on the machine or
# with the host moving the virtual CPUs, so two builds can be compared on
# a busy machine (time still decides: fewer instructions can run slower).
#
#   bench/e2e/ir_per_packet.sh BUILD_DIR_OR_BINARY [TOP]
#
# Prints "Ir/packet N" (all instructions inside poll_once over the packets
# parsed) and the TOP (default 15) functions by their own instructions per
# packet. Needs valgrind (Debian package valgrind).
set -euo pipefail
target=${1:?usage: ir_per_packet.sh BUILD_DIR_OR_BINARY [TOP]}
top=${2:-15}
bin=$target
[ -d "$target" ] && bin=$target/bench/e2e/bench_datapath_loop
[ -x "$bin" ] || { echo "ir_per_packet: no $bin" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "ir_per_packet: needs valgrind" >&2; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --collect-atstart=no --toggle-collect='zcrxd::Datapath::poll_once*' \
  --callgrind-out-file="$out/cg" "$bin" --benchmark_filter='BM_Loop$' \
  --benchmark_min_time=0.01 >"$out/log" 2>&1 || { tail -5 "$out/log" >&2; exit 1; }
callgrind_annotate --inclusive=no --tree=calling "$out/cg" >"$out/txt" 2>/dev/null
python3 - "$out/txt" "$top" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
total = int(re.search(r"^\s*([\d,]+) \S* *\(?[\d.%]*\)?\s*PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
calls = re.search(r"=>.*parse_packet.*\(([\d,]+)x\)", text)
if not calls:
    sys.exit("ir_per_packet: no packet was parsed")
pk = int(calls.group(1).replace(",", ""))
print("packets %d, Ir/packet %.1f" % (pk, total / pk))
# The exclusive lines: "<Ir> (<pct>)  * file:function" (the '*' marks them).
own = re.findall(r"^\s*([\d,]+) \([\s\d.]+%\)\s+\*\s+(\S.*?)(?: \[.*\])?$", text, re.M)
for ir, fn in sorted(((int(a.replace(",", "")), b) for a, b in own), reverse=True)[:int(sys.argv[2])]:
    # file:function(args): the file's name (where inlined code came from)
    # and the function without its arguments.
    where, _, func = fn.partition(":")
    func = func.replace("(anonymous namespace)", "{anon}").split("(")[0]
    print("%8.1f  %-16s %s" % (ir / pk, where.rsplit("/", 1)[-1], func[-70:]))
EOF
