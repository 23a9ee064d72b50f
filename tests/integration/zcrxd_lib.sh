# Shell helpers of the script tests that run zcrxd and one zcrx_rx
# (sourced; they use the caller's $dir, $zpid, $rxrc, $zrc and $fail).

# Waits up to 30 s for zcrxd's ready line in $dir/zcrxd.log; exits 1 with
# the log when it does not come (or zcrxd died).
zcrxd_wait_ready() {
  for _ in $(seq 300); do
    grep -q "zcrxd: ready" "$dir/zcrxd.log" && return 0
    kill -0 "$zpid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: zcrxd did not start${1:+ ($1)}"; cat "$dir/zcrxd.log"; exit 1
}

# SIGINT to zcrxd, its exit status in $zrc, its counters on stdout.
zcrxd_stop() {
  kill -INT "$zpid"
  wait "$zpid"
  zrc=$?
  zpid=
  cat "$dir/rx.out"
  grep "zcrxd: final\|zcrxd: exit\|zcrxd: device" "$dir/zcrxd.log"
}

# What every run must show: zcrx_rx exited 0 with exactly $1 datagrams, no
# bad payload or length and no buffer kept; zcrxd exited 0 with every
# buffer back.
# Sets fail=1 on any miss.
check_run() {
  local n=$1 result
  result=$(grep '^RESULT ' "$dir/rx.out")
  [ "$rxrc" -eq 0 ] || { echo "FAIL: zcrx_rx exit $rxrc"; cat "$dir/rx.err"; fail=1; }
  echo "$result" | grep -q "\"datagrams\":$n," || { echo "FAIL: expected $n datagrams"; fail=1; }
  echo "$result" | grep -q '"bad_payloads":0,' || { echo "FAIL: bad payloads"; fail=1; }
  echo "$result" | grep -q '"bad_lengths":0,' || { echo "FAIL: bad datagram lengths"; fail=1; }
  echo "$result" | grep -q '"outstanding":0,' || { echo "FAIL: consumer kept buffers"; fail=1; }
  [ "$zrc" -eq 0 ] || { echo "FAIL: zcrxd exit $zrc"; fail=1; }
  grep -q "zcrxd: exit outstanding=0 missing=0" "$dir/zcrxd.log" ||
    { echo "FAIL: zcrxd buffers do not balance"; fail=1; }
}
