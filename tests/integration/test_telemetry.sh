#!/usr/bin/env bash
# zcrxd's DPDK telemetry, through DPDK's own client (dpdk-telemetry.py)
# against a live zcrxd (its EAL file prefix, the runtime directory zcrxd
# uses): `/` lists every /zcrx/ command; with a registering consumer (A)
# and a cloning one (B) connected, /zcrx/rings shows each ring with its
# process's real pid and uid, its entries and the CQ/SQ sizes it asked
# for; /zcrx/ifqs shows A's ifq with A as master, refs and both members;
# /zcrx/rejects counts a registration refused with -ERANGE;
# then, once traffic went through (--rx-gate 2: the replay starts when
# both rings armed a request), /zcrx/queues and A's entry in /zcrx/entries
# count exactly the datagrams A received, every buffer back (held 0).
# zcrxctl (--json and the table form) reads the same.
# SKIP (77) without dpdk-telemetry.py.
# Environment: ZCRXD, ZCRX_RX, PCAP_GEN, ZCRXCTL (paths).
set -u
. "$(dirname "$0")/zcrxd_lib.sh"
TEL=${DPDK_TELEMETRY:-/usr/bin/dpdk-telemetry.py}
[ -x "$TEL" ] || { echo "SKIP: $TEL not found (Debian: dpdk-dev)"; exit 77; }
N=3000
size=1200
dir=$(mktemp -d /tmp/zcrxd-tel-XXXXXX)
prefix=zcrxtel$$
zpid= apid= bpid=
cleanup() {
  for p in $apid $bpid; do kill -INT "$p" 2>/dev/null; done
  [ -n "$zpid" ] && kill -INT "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
  rm -rf "$dir" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
fail=0

# tel CMD...: one JSON reply per line, from dpdk-telemetry.py reading stdin.
tel() { printf '%s\n' "$@" | "$TEL" -f "$prefix"; }
# field JSON PYEXPR: evaluates PYEXPR over the reply `r` (the command's value).
field() {
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); r=next(iter(d.values())); print(eval(sys.argv[2]))' "$1" "$2"
}
expect() {  # what got want
  [ "$2" = "$3" ] || { echo "FAIL: $1: got '$2', want '$3'"; fail=1; }
}

"$PCAP_GEN" --out "$dir/in.pcap" --count "$N" --size "$size" --ports 9000 >/dev/null ||
  { echo "FAIL: pcap_gen"; exit 1; }
# No --no-telemetry: the EAL's telemetry socket is what is tested.
"$ZCRXD" --no-huge -m 256 --no-pci --file-prefix "$prefix" -l 0 --log-level lib.eal:error \
  --vdev "net_pcap0,rx_pcap=$dir/in.pcap" -- --socket "$dir/zcrxd.sock" --rx-gate 2 \
  >"$dir/zcrxd.log" 2>&1 &
zpid=$!
zcrxd_wait_ready

# ---- the command list -----------------------------------------------------------
list=$(tel /)
for c in info queues rings entries ifqs flows rejects tcp; do
  expect "/ lists /zcrx/$c" "$(field "$list" "'/zcrx/$c' in r")" True
done

# ---- two rings: A registers (the master), B clones A's ifq ------------------------
"$ZCRX_RX" --socket "$dir/zcrxd.sock" --flow udp:9000 --share "$dir/share.sock" \
  --duration 150 --cq-entries 8192 --eventfd --quiet >"$dir/a.out" 2>"$dir/a.err" &
apid=$!
for _ in $(seq 100); do [ -S "$dir/share.sock" ] && break; sleep 0.1; done
before=$(tel /zcrx/queues)
expect "rx before traffic" "$(field "$before" "r['0']['rx']")" 0
"$ZCRX_RX" --socket "$dir/zcrxd.sock" --mode clone --share "$dir/share.sock" --flow udp:9001 \
  --duration 150 --eventfd --quiet >"$dir/b.out" 2>"$dir/b.err" &
bpid=$!
# (--eventfd: consumers that sleep leave the CPU to the rest on a small
# machine.) Traffic starts once B armed its request; A has everything within seconds.
for _ in $(seq 100); do
  q=$(tel /zcrx/queues)
  [ "$(field "$q" "r['0']['refilled']")" = "$N" ] && break
  sleep 0.1
done

rings=$(tel /zcrx/rings)
echo "$rings"
ida=$(field "$rings" "next(k for k,v in r.items() if v['pid']==$apid)")
idb=$(field "$rings" "next(k for k,v in r.items() if v['pid']==$bpid)")
expect "ring A's uid" "$(field "$rings" "r['$ida']['uid']")" "$(id -u)"
expect "ring B's uid" "$(field "$rings" "r['$idb']['uid']")" "$(id -u)"
expect "ring A's state" "$(field "$rings" "r['$ida']['state']")" live
expect "ring A's entries" "$(field "$rings" "r['$ida']['entries']")" 1
expect "ring B's entries" "$(field "$rings" "r['$idb']['entries']")" 1
expect "ring A's CQ" "$(field "$rings" "r['$ida']['cq_entries']")" 8192
expect "ring B's CQ" "$(field "$rings" "r['$idb']['cq_entries']")" 16384
expect "ring A's flows" "$(field "$rings" "r['$ida']['flows']")" 1
one=$(tel "/zcrx/rings,$idb")
expect "/zcrx/rings,ID names one ring" "$(field "$one" "list(r)")" "['$idb']"

ifqs=$(tel /zcrx/ifqs)
echo "$ifqs"
ifq=$(field "$ifqs" "next(iter(r))")
expect "ifq master" "$(field "$ifqs" "r['$ifq']['master_ring']")" "$ida"
expect "ifq members" "$(field "$ifqs" "r['$ifq']['members']")" 2
# register: refs 1; the export box A offers: +1; B's clone: +1.
expect "ifq refs" "$(field "$ifqs" "r['$ifq']['refs']")" 3
expect "ifq area" "$(field "$ifqs" "r['$ifq']['area_bytes']")" $((64 << 20))
expect "ifq held by A" "$(field "$ifqs" "r['$ifq']['held_r${ida}_z0']")" 0
expect "ifq held by B" "$(field "$ifqs" "r['$ifq']['held_r${idb}_z0']")" 0

# ---- counters after traffic -----------------------------------------------------------
q=$(tel /zcrx/queues)
echo "$q"
expect "queue rx" "$(field "$q" "r['0']['rx']")" "$N"
expect "queue delivered" "$(field "$q" "r['0']['delivered']")" "$N"
expect "queue bytes" "$(field "$q" "r['0']['delivered_bytes']")" $((N * size))
expect "queue pmd" "$(field "$q" "r['0']['pmd']")" net_pcap
entries=$(tel /zcrx/entries)
echo "$entries"
expect "A's entry delivered" "$(field "$entries" "r['r${ida}_z0']['delivered']")" "$N"
expect "A's entry refilled" "$(field "$entries" "r['r${ida}_z0']['refilled']")" "$N"
expect "B's entry kind" "$(field "$entries" "r['r${idb}_z0']['kind']")" clone
expect "B's entry delivered" "$(field "$entries" "r['r${idb}_z0']['delivered']")" 0
flows=$(tel /zcrx/flows)
echo "$flows"
expect "A's flow" "$(field "$flows" "r['r${ida}_h0']['key']")" "udp port 9000"
rej=$(tel /zcrx/rejects)
expect "no bad refill entries" "$(field "$rej" "r['rqe_no_ref'] + r['rqe_bad_index']")" 0
expect "no ERANGE yet" "$(field "$rej" "r.get('request_ERANGE', 0)")" 0
# A registration on a queue zcrxd does not serve is refused (-ERANGE) and
# counted by errno.
"$ZCRX_RX" --socket "$dir/zcrxd.sock" --queue 7 --flow udp:9002 --duration 1 --quiet \
  >"$dir/c.out" 2>&1 && { echo "FAIL: a registration on queue 7 succeeded"; fail=1; }
rej=$(tel /zcrx/rejects)
expect "ERANGE counted" "$(field "$rej" "r.get('request_ERANGE', 0)")" 1

# ---- zcrxctl ----------------------------------------------------------------------------
if [ -n "${ZCRXCTL:-}" ]; then
  j=$("$ZCRXCTL" -f "$prefix" --json rings)
  expect "zcrxctl --json rings: A's pid" \
    "$(field "{\"x\": $j}" "r['$ida']['pid']")" "$apid"
  t=$("$ZCRXCTL" -f "$prefix" rings)
  echo "$t"
  echo "$t" | grep -Eq "^ *$ida +$apid +$(id -u) +live " ||
    { echo "FAIL: zcrxctl rings has no row for ring $ida"; fail=1; }
fi

# ---- the end: both consumers stop, zcrxd balances -----------------------------------
kill -INT "$apid" "$bpid"
wait "$apid"; arc=$?; wait "$bpid"; brc=$?; apid= bpid=
grep -q "\"datagrams\":$N," "$dir/a.out" || { echo "FAIL: A did not get $N datagrams"; cat "$dir/a.out" "$dir/a.err"; fail=1; }
[ $arc -eq 0 ] || { echo "FAIL: A exit $arc"; cat "$dir/a.err"; fail=1; }
[ $brc -eq 0 ] || { echo "FAIL: B exit $brc"; cat "$dir/b.err"; fail=1; }
kill -INT "$zpid"; wait "$zpid"; zrc=$?; zpid=
[ $zrc -eq 0 ] || { echo "FAIL: zcrxd exit $zrc"; fail=1; }
grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" ||
  { echo "FAIL: zcrxd buffers do not balance"; fail=1; }
[ -e "/var/run/dpdk/$prefix" ] && { echo "FAIL: EAL runtime directory left behind"; ls -la "/var/run/dpdk/$prefix"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: /zcrx/ telemetry through dpdk-telemetry.py: rings with their pid/uid, ifq refs and members, $N datagrams counted"
[ $fail -eq 0 ] || cat "$dir/zcrxd.log"
exit $fail
