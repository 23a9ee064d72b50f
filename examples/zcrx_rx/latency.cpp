// SPDX-License-Identifier: MIT
#include "latency.h"

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace zcrx_rx {
namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace

uint64_t read_tsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

Latency::Latency(size_t max_samples) {
  uint64_t t0 = mono_ns(), c0 = read_tsc();
  timespec nap{0, 50 * 1000 * 1000};
  nanosleep(&nap, nullptr);
  uint64_t t1 = mono_ns(), c1 = read_tsc();
  ns_per_tick_ = c1 > c0 ? static_cast<double>(t1 - t0) / static_cast<double>(c1 - c0) : 0;
  samples_.reserve(max_samples);
}

std::string Latency::json() {
  std::sort(samples_.begin(), samples_.end());
  auto pct = [&](double q) -> uint64_t {
    if (samples_.empty()) return 0;
    size_t i = static_cast<size_t>(q * static_cast<double>(samples_.size() - 1) + 0.5);
    return samples_[std::min(i, samples_.size() - 1)];
  };
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "{\"samples\":%zu,\"unstamped\":%" PRIu64 ",\"p50\":%" PRIu64
                ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64
                ",\"max\":%" PRIu64 "}",
                samples_.size(), unstamped_, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
                samples_.empty() ? uint64_t{0} : samples_.back());
  return buf;
}

}  // namespace zcrx_rx
