// SPDX-License-Identifier: MIT
// Randomized: two engines over a lossy, duplicating, reordering wire, 1-4
// connections between them at once, a random byte stream each way on
// each, consumers whose capacity varies (long zero-window stalls
// included); each side must see exactly the bytes sent, once, in order,
// every buffer must come back exactly once, and all must close cleanly. Seeds 1..N in the unit suite (ZCRX_TCP_SEEDS=N, default
// 300); ZCRX_TCP_LONG=1 runs 2000 seeds of up to 8 MiB each way;
// ZCRX_TCP_SEED=S runs one seed and prints its parameters (with
// ZCRX_TCP_TRACE=1, every segment).
#include <cstdio>
#include <cstdlib>

#include <doctest/doctest.h>

#include "sim.h"

using namespace zcrx::tcp;

namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

void describe(const sim::Params& p, const sim::Result& r) {
  std::printf(
      "seed %llu: mss %u ws %u sack %d ts %d nagle %d cc %s rcvbuf %u sndbuf %u loss %.2f dup %.2f "
      "reorder %.2f delay %u jitter %u conns %u bytes %llu/%llu consumer %u slots %u stall %.3f\n"
      "  -> %s%s sim %.3f s segs %llu lost %llu dup %llu reord %llu rtx %llu rto %llu fast %llu "
      "probes %llu ooo %llu stalls %llu refused %llu no_slot %llu ooo_dropped %llu\n",
      static_cast<unsigned long long>(p.seed), p.tcp.mss, p.tcp.wscale, p.tcp.sack, p.tcp.timestamps,
      p.tcp.nagle, p.tcp.congestion == Congestion::cubic ? "cubic" : "newreno", p.tcp.rcvbuf,
      p.tcp.sndbuf, p.loss, p.dup, p.reorder, p.delay_us, p.jitter_us, p.conns,
      static_cast<unsigned long long>(p.bytes[0]), static_cast<unsigned long long>(p.bytes[1]),
      p.consumer_bytes, p.cq_slots, p.stall, r.ok ? "ok" : "FAIL: ", r.error.c_str(), r.sim_us / 1e6,
      static_cast<unsigned long long>(r.segments), static_cast<unsigned long long>(r.lost),
      static_cast<unsigned long long>(r.duplicated), static_cast<unsigned long long>(r.reordered),
      static_cast<unsigned long long>(r.retransmits), static_cast<unsigned long long>(r.rto),
      static_cast<unsigned long long>(r.fast_rtx), static_cast<unsigned long long>(r.probes),
      static_cast<unsigned long long>(r.ooo), static_cast<unsigned long long>(r.stalls),
      static_cast<unsigned long long>(r.refused_deliveries), static_cast<unsigned long long>(r.rx_no_slot),
      static_cast<unsigned long long>(r.ooo_dropped));
}

}  // namespace

TEST_CASE("randomized: two engines, lossy wire, varying consumers: exact streams, balanced buffers, clean close") {
  const uint64_t one = env_u64("ZCRX_TCP_SEED", 0);
  const bool long_mode = env_u64("ZCRX_TCP_LONG", 0) != 0;
  const uint64_t n = one ? 1 : env_u64("ZCRX_TCP_SEEDS", long_mode ? 2000 : 300);
  uint64_t failures = 0, bytes = 0, segs = 0, lost = 0, stalls = 0;
  double sim_s = 0;
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t seed = one ? one : i + 1;
    sim::Params p = sim::draw_params(seed, long_mode);
    p.trace = one && env_u64("ZCRX_TCP_TRACE", 0);
    // Simulated time is free: consumers that stall often over long
    // streams need many simulated hours, not CPU.
    p.time_limit_us = env_u64("ZCRX_TCP_TIME_LIMIT_S", long_mode ? 7 * 86400 : 3600) * 1000000;
    const sim::Result r = sim::run(p);
    bytes += r.received[0] + r.received[1];
    segs += r.segments;
    lost += r.lost;
    stalls += r.stalls;
    sim_s += r.sim_us / 1e6;
    if (one || !r.ok) describe(p, r);
    if (!r.ok) {
      failures++;
      FAIL_CHECK("seed " << seed << ": " << r.error);
      if (failures > 5) break;
    }
  }
  std::printf("randomized: %llu seeds, %llu failed, %.1f MB delivered, %llu segments (%llu lost), %llu stalls, %.0f s simulated\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(failures), bytes / 1e6,
              static_cast<unsigned long long>(segs), static_cast<unsigned long long>(lost),
              static_cast<unsigned long long>(stalls), sim_s);
  CHECK(failures == 0);
}
