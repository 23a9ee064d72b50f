// SPDX-License-Identifier: MIT
// Receive latency from the TSC stamp zcrxd --rx-timestamp puts in each
// CQE's io_uring_zcrx_cqe.__pad (read right after rte_eth_rx_burst) to the
// moment the consumer looks at the completion. Samples go into a buffer
// sized up front: nothing is allocated per packet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zcrx_rx {

/// Reads the CPU's time-stamp counter (0 where there is none).
uint64_t read_tsc();

class Latency {
 public:
  /// Calibrates the TSC against CLOCK_MONOTONIC (~50 ms) and reserves room
  /// for `max_samples`.
  explicit Latency(size_t max_samples);

  /// Records one completion stamped `stamp` and seen at TSC `now`.
  void record(uint64_t stamp, uint64_t now) {
    if (stamp == 0 || stamp > now) {  // unstamped, or another socket's TSC ahead
      unstamped_++;
      return;
    }
    if (samples_.size() < samples_.capacity())
      samples_.push_back(static_cast<uint64_t>(static_cast<double>(now - stamp) * ns_per_tick_));
  }

  /// JSON object: samples, unstamped, p50, p90, p99, p999, max (ns).
  std::string json();

 private:
  double ns_per_tick_ = 0;
  uint64_t unstamped_ = 0;
  std::vector<uint64_t> samples_;
};

}  // namespace zcrx_rx
