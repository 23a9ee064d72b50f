#!/usr/bin/env bash
# zcrxd as a service stops: SIGTERM with a consumer still connected ends
# zcrxd with status 0, every buffer back, and removes exactly what zcrxd
# created. Two runs:
#  1. the socket in an existing directory holding an unrelated file, with
#     --socket-mode 0660 --socket-group GROUP (checked on the socket while
#     it runs), telemetry on: after SIGTERM the socket and the EAL runtime
#     directory (/var/run/dpdk/PREFIX) are gone, the directory and the
#     unrelated file stay;
#  2. the socket in a directory that does not exist: zcrxd creates it
#     (mode 0755) and removes it at exit; a file an operator left in the
#     EAL runtime directory stays, with the directory, while the EAL's own
#     files go.
# Environment: ZCRXD, ZCRX_RX, PCAP_GEN (paths).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
dir=$(mktemp -d /tmp/zcrxd-term-XXXXXX)
prefix=zcrxterm$$
rtdir=/var/run/dpdk/$prefix
[ "$(id -u)" -eq 0 ] || rtdir=${XDG_RUNTIME_DIR:-/tmp}/dpdk/$prefix
zpid= cpid=
cleanup() {
  [ -n "$cpid" ] && kill -INT "$cpid" 2>/dev/null
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  rm -rf "$dir" "$rtdir"
}
trap cleanup EXIT
fail=0
check() { "$@" || { echo "FAIL: $*"; fail=1; }; }
group=$(id -gn)
for g in daemon nogroup users; do getent group "$g" >/dev/null && { group=$g; break; }; done
"$PCAP_GEN" --out "$dir/in.pcap" --count 100 --size 500 --ports 9000 >/dev/null ||
  { echo "FAIL: pcap_gen"; exit 1; }

# start SOCKET [zcrxd options]: zcrxd with a consumer ring registered.
start() {
  local sock=$1; shift
  # Emptied here, not only by the redirection below: that one runs in the
  # background child, and zcrxd_wait_ready could read the previous run's
  # "ready" line before it does.
  : >"$dir/zcrxd.log"
  "$ZCRXD" --no-huge -m 256 --no-pci --file-prefix "$prefix" -l 0 --log-level lib.eal:error \
    --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- --socket "$sock" --rx-gate 2 "$@" \
    >"$dir/zcrxd.log" 2>&1 &
  zpid=$!
  zcrxd_wait_ready
  "$ZCRX_RX" --socket "$sock" --flow udp:9000 --duration 60 --eventfd --quiet \
    >"$dir/rx.out" 2>&1 &
  cpid=$!
  for _ in $(seq 300); do grep -q "of pid $cpid .* registered" "$dir/zcrxd.log" && break; sleep 0.1; done
  grep -q "of pid $cpid .* registered" "$dir/zcrxd.log" ||
    { echo "FAIL: the consumer did not register"; cat "$dir/zcrxd.log" "$dir/rx.out"; exit 1; }
}
# term: SIGTERM, zcrxd's status in $zrc; the consumer ends once its
# connection closes.
term() {
  kill -TERM "$zpid"
  for _ in $(seq 300); do kill -0 "$zpid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$zpid" 2>/dev/null && { echo "FAIL: zcrxd still running 30 s after SIGTERM"; kill -KILL "$zpid"; fail=1; }
  wait "$zpid"; zrc=$?; zpid=
  kill -INT "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; cpid=
  [ "$zrc" -eq 0 ] || { echo "FAIL: zcrxd exit $zrc after SIGTERM"; cat "$dir/zcrxd.log"; fail=1; }
  grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" ||
    { echo "FAIL: buffers do not balance"; cat "$dir/zcrxd.log"; fail=1; }
}

# ---- 1. existing directory, mode and group ------------------------------------
mkdir "$dir/run"
echo keep >"$dir/run/unrelated.txt"
start "$dir/run/zcrxd.sock" --socket-mode 0660 --socket-group "$group"
check test -S "$dir/run/zcrxd.sock"
mode=$(stat -c %a "$dir/run/zcrxd.sock")
[ "$mode" = 660 ] || { echo "FAIL: socket mode $mode, want 660"; fail=1; }
grp=$(stat -c %G "$dir/run/zcrxd.sock")
[ "$grp" = "$group" ] || { echo "FAIL: socket group $grp, want $group"; fail=1; }
check test -S "$rtdir/dpdk_telemetry.v2"
term
check test ! -e "$dir/run/zcrxd.sock"
check test ! -e "$rtdir"
check test -d "$dir/run"
check test "$(cat "$dir/run/unrelated.txt")" = keep

# ---- 2. a directory zcrxd creates; an operator's file in the runtime dir -------
start "$dir/new/zcrxd.sock"
mode=$(stat -c %a "$dir/new")
[ "$mode" = 755 ] || { echo "FAIL: created socket directory mode $mode, want 755"; fail=1; }
echo note >"$rtdir/operator.note"
term
check test ! -e "$dir/new"
check test "$(cat "$rtdir/operator.note")" = note
left=$(ls "$rtdir" | grep -v '^operator.note$')
[ -z "$left" ] || { echo "FAIL: EAL files left in $rtdir: $left"; fail=1; }

[ $fail -eq 0 ] && echo "PASS: SIGTERM with a consumer connected: exit 0, buffers back, socket and EAL runtime directory removed, nothing else"
exit $fail
