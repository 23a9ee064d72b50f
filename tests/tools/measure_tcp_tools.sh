#!/usr/bin/env bash
# Throughput of kernel TCP through the test topologies, to show whether
# impair_relay is the bottleneck: one line per run with tcp_peer's Gbit/s,
# the relay's CPU use and frame rate, the load average and a cache-line
# ping-pong beside it (two-core figures follow it). Not a test: run it on a
# quiet machine, as root, from the build directory's tools:
#   BUILD=build tests/tools/measure_tcp_tools.sh [RUNS] [BYTES]
# Scenarios: direct (no relay), relay with 1 and 4 flows, relay with 1%
# loss and 5% reordering, relay at MTU 9000.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
export TCP_PEER=$build/tests/tools/tcp_peer IMPAIR_RELAY=$build/tests/tools/impair_relay
PINGPONG=$build/tests/tools/cacheline_pingpong
RUNS=${1:-3}
BYTES=${2:-$((512 << 20))}

# One scenario in a fresh topology (a subshell: tcp_netns.sh's cleanup
# runs at its exit). Args: NAME TOPO MTU FLOWS [relay options].
scenario() (
  name=$1 topo=$2
  export TCPNS_MTU=$3
  flows=$4
  shift 4
  . "$here/tcp_netns.sh"
  tcpns_setup "$topo" --b-kernel >/dev/null
  [ "$topo" = relay ] && tcpns_start_relay "$@"
  per=$((BYTES / flows))
  tcpns_peer rx "$TCPNS_NS_B" --listen "$TCPNS_B_ADDR:5001" --conns "$flows" --bytes $per --timeout 120
  tcpns_in_a "$TCP_PEER" --connect "$TCPNS_B_ADDR:5001" --conns "$flows" --bytes $per \
    --timeout 120 >"$TCPNS_DIR/tx.out"
  tcpns_wait rx || echo "$name: receiver failed: $(cat "$TCPNS_DIR/rx.err")"
  r=$(tcpns_result "$TCPNS_DIR/rx.out")
  extra=""
  if [ "$topo" = relay ]; then
    # utime + stime (clock ticks) of the relay before it stops.
    read -r ut st < <(awk '{print $14, $15}' "/proc/$TCPNS_RELAY_PID/stat")
    tcpns_stop_relay
    el=$(tcpns_json "$r" elapsed_s)
    extra=$(tcpns_py - "$TCPNS_RELAY_FINAL" "$ut" "$st" "$(getconf CLK_TCK)" "$el" <<'EOF'
import json, sys
f = json.loads(sys.argv[1]); ut, st, hz, el = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
frames = f["ab"]["forwarded"] + f["ba"]["forwarded"]
print(f"relay_cpu={(ut + st) / hz / el:.2f} of a core (user {ut / hz:.2f} s, sys {st / hz:.2f} s) "
      f"relay_frames={frames} ({frames / el / 1e3:.0f} kfps over the transfer) "
      f"ring_drops={f['ab']['ring_drops'] + f['ba']['ring_drops']}")
EOF
)
  fi
  echo "$name: gbit_s=$(tcpns_json "$r" gbit_s) elapsed_s=$(tcpns_json "$r" elapsed_s)" \
    "retransmits=$(tcpns_json "$(tcpns_result "$TCPNS_DIR/tx.out")" retransmits) $extra"
)

for run in $(seq "$RUNS"); do
  echo "# run $run: load $(cut -d' ' -f1-3 /proc/loadavg), $("$PINGPONG" --rounds 100000)"
  scenario direct_1500 direct 1500 1
  scenario relay_1500 relay 1500 1
  scenario relay_1500_4flows relay 1500 4
  scenario relay_1500_loss1_reorder5 relay 1500 1 --loss 0.01 --reorder 0.05
  scenario relay_9000 relay 9000 1
done
