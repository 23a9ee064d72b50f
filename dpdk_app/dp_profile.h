// SPDX-License-Identifier: MIT
// Per-stage TSC cycle counts of the datapath loop, for the loop benchmark
// (bench/e2e/bench_datapath_loop) only: that benchmark compiles its own
// copy of datapath.cpp with ZCRXD_DP_PROFILE=1. zcrxd is built without it,
// and then every call below is empty and compiles to nothing, so the
// datapath pays no TSC read, counter or branch for it.
//
// The laps are taken once per stage and iteration, never per packet; on
// this virtual machine their TSC reads still add ~9 % to the benchmark's
// ns per packet at 64 B, so compare only builds that both have them.
#pragma once

#include <cstdint>

#if ZCRXD_DP_PROFILE
#include <rte_cycles.h>
#endif

namespace zcrxd::profile {

enum Stage : uint32_t {
  kIteration,   // epoch, snapshot, SQ polls, armed count, the gate
  kRefill,      // RQ drains and niovs back to the pool
  kRxBurst,     // rte_eth_rx_burst
  kParse,       // parse and classify the burst
  kDeliver,     // niov accounting and CQE writes
  kFree,        // unused niovs back, mbufs freed, counters added
  kCqPublish,   // CQ tail stores and eventfd wakeups
  kStages,
};

inline constexpr const char* kStageNames[kStages] = {"iteration", "refill", "rx_burst", "parse",
                                                     "deliver", "free", "cq_publish"};

#if ZCRXD_DP_PROFILE
/// Cycles spent in each stage since the start, and the TSC of the last
/// lap, on the one thread that drives the loop (the benchmark's).
inline uint64_t g_cycles[kStages];
inline uint64_t g_last;

/// Starts an iteration's laps.
inline void start() { g_last = rte_rdtsc(); }
/// Charges the cycles since the previous lap to stage `s`.
inline void lap(Stage s) {
  const uint64_t now = rte_rdtsc();
  g_cycles[s] += now - g_last;
  g_last = now;
}
inline constexpr bool kEnabled = true;
#else
inline void start() {}
inline void lap(Stage) {}
inline constexpr bool kEnabled = false;
#endif

}  // namespace zcrxd::profile
