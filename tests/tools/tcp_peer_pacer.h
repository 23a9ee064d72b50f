// SPDX-License-Identifier: MIT
// tcp_peer's --rate: a byte token bucket on a caller-supplied clock, so the
// benchmark's sender offers the same fixed rate to every receiver it is
// compared against. Pure (no clock, no I/O): unit-tested on its own.
#pragma once

#include <algorithm>
#include <cstdint>

namespace zcrx::tools {

class Pacer {
 public:
  /// Unlimited: every allowance is UINT64_MAX.
  Pacer() = default;

  /// Credit accrues at `bytes_per_s` from `now_us`, starting empty, and is
  /// capped at `burst_bytes` so that a sender that fell behind (a full
  /// socket buffer, a scheduling stall) does not catch up in one burst.
  Pacer(double bytes_per_s, uint64_t burst_bytes, uint64_t now_us)
      : rate_(bytes_per_s), burst_(static_cast<double>(burst_bytes)), last_us_(now_us) {}

  bool limited() const { return rate_ > 0; }

  /// Bytes that may be sent now.
  uint64_t allowance(uint64_t now_us) {
    if (!limited()) return UINT64_MAX;
    refill(now_us);
    return static_cast<uint64_t>(credit_);
  }

  /// Records `n` bytes sent (at most the last allowance).
  void spend(uint64_t n) {
    if (limited()) credit_ = std::max(0.0, credit_ - static_cast<double>(n));
  }

  /// Microseconds from `now_us` until `want` bytes (capped at the burst)
  /// are allowed; 0 when they already are.
  uint64_t wait_us(uint64_t want, uint64_t now_us) {
    if (!limited()) return 0;
    refill(now_us);
    const double need = std::min(static_cast<double>(want), burst_) - credit_;
    if (need <= 0) return 0;
    return static_cast<uint64_t>(need * 1e6 / rate_) + 1;
  }

 private:
  void refill(uint64_t now_us) {
    if (now_us <= last_us_) return;
    credit_ = std::min(burst_, credit_ + rate_ * static_cast<double>(now_us - last_us_) * 1e-6);
    last_us_ = now_us;
  }

  double rate_ = 0;  // bytes per second; 0 = unlimited
  double burst_ = 0;
  double credit_ = 0;
  uint64_t last_us_ = 0;
};

}  // namespace zcrx::tools
