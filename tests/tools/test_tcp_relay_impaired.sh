#!/usr/bin/env bash
# Kernel TCP through impair_relay with 1% loss and 5% reordering in both
# directions (topology relay, the kernel in B standing in for zcrxd):
# $BYTES (default 256 MiB) each way at once, A->B and B->A, every byte
# verified by tcp_peer. Checks that the relay really impaired both
# directions at the configured rates, that its counters balance, that no
# frame was oversize or needed its checksum completed (the offloads of
# tcp_netns.sh), and that the senders' TCP_INFO shows the recovery
# (retransmits, reordering seen).
# Environment: IMPAIR_RELAY, TCP_PEER (paths); BYTES (a number), SEED optional.
set -u
. "$(dirname "$0")/tcp_netns.sh"
BYTES=${BYTES:-268435456}
SEED=${SEED:-20261206}
LOSS=0.01
REORDER=0.05

tcpns_setup relay --b-kernel
tcpns_start_relay --loss "$LOSS" --reorder "$REORDER" --seed "$SEED" --stats 5
A=$TCPNS_A_ADDR
B=$TCPNS_B_ADDR
tcpns_peer b_listen "$TCPNS_NS_B" --listen "$B:5001" --bytes "$BYTES" --timeout 100
tcpns_peer a_listen "$TCPNS_NS_A" --listen "$A:5002" --bytes "$BYTES" --timeout 100
tcpns_peer a_send "$TCPNS_NS_A" --connect "$B:5001" --bytes "$BYTES" --timeout 100
tcpns_peer b_send "$TCPNS_NS_B" --connect "$A:5002" --bytes "$BYTES" --timeout 100
fail=0
for run in a_send b_send b_listen a_listen; do
  tcpns_wait $run || { echo "FAIL: tcp_peer $run exited $?"; fail=1; }
done
tcpns_stop_relay

expect_bytes=$BYTES
for run in a_send b_listen b_send a_listen; do
  r=$(tcpns_result "$TCPNS_DIR/$run.out")
  echo "$run: $r"
  [ -n "$r" ] || { echo "FAIL: $run printed no RESULT"; cat "$TCPNS_DIR/$run.err"; fail=1; continue; }
  [ "$(tcpns_json "$r" bytes)" = "$expect_bytes" ] &&
    [ "$(tcpns_json "$r" bad_bytes)" = 0 ] && [ "$(tcpns_json "$r" errors)" = 0 ] &&
    [ "$(tcpns_json "$r" connections)" = 1 ] ||
    { echo "FAIL: $run did not move $expect_bytes bytes intact"; cat "$TCPNS_DIR/$run.err"; fail=1; }
done
for run in a_send b_send; do
  r=$(tcpns_result "$TCPNS_DIR/$run.out")
  [ -n "$r" ] || continue
  # Lost segments must have been sent again; reordering must have been seen.
  [ "$(tcpns_json "$r" retransmits)" -gt 0 ] ||
    { echo "FAIL: $run: no retransmits through 1% loss"; fail=1; }
  [ "$(tcpns_json "$r" reord_seen)" -gt 0 ] ||
    { echo "FAIL: $run: no reordering seen through 5% reordering"; fail=1; }
done

echo "relay: $TCPNS_RELAY_FINAL"
[ -n "$TCPNS_RELAY_FINAL" ] || { echo "FAIL: no FINAL counters from impair_relay"; exit 1; }
tcpns_py - "$TCPNS_RELAY_FINAL" "$LOSS" "$REORDER" <<'EOF' || fail=1
import json, sys
final, loss, reorder = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
bad = []
for d in ("ab", "ba"):
    c = final[d]
    # Both directions carry a data stream and its ACKs: thousands of frames.
    if c["rx"] < 10000:
        bad.append(f"{d}: only {c['rx']} frames")
        continue
    impaired = c["rx"] - c["spared"] - c["oversize"]
    drop_rate = c["dropped"] / impaired
    # Held among the frames that were not dropped.
    reorder_rate = (c["reordered"] + c["reorder_skipped"]) / (impaired - c["dropped"])
    print(f"{d}: rx={c['rx']} dropped={c['dropped']} ({drop_rate:.4f}) "
          f"reordered={c['reordered']} ({reorder_rate:.4f}) ring_drops={c['ring_drops']}")
    if not 0.7 * loss <= drop_rate <= 1.3 * loss:
        bad.append(f"{d}: drop rate {drop_rate:.4f}, configured {loss}")
    if not 0.8 * reorder <= reorder_rate <= 1.2 * reorder:
        bad.append(f"{d}: reorder rate {reorder_rate:.4f}, configured {reorder}")
    for k in ("oversize", "csum_completed", "tx_errors", "queue_full", "outgoing_skipped"):
        if c[k]:
            bad.append(f"{d}: {k}={c[k]}")
    # Every frame accounted for.
    if c["forwarded"] + c["tx_errors"] + c["queued"] != \
       c["rx"] - c["dropped"] - c["oversize"] - c["queue_full"] + c["duplicated"]:
        bad.append(f"{d}: counters do not balance: {c}")
for b in bad:
    print("FAIL: relay " + b)
sys.exit(1 if bad else 0)
EOF
[ $fail -eq 0 ] && echo "PASS: $BYTES each way through 1% loss and 5% reordering, every byte verified"
exit $fail
