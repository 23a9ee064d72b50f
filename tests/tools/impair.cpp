// SPDX-License-Identifier: MIT
#include "impair.h"

namespace zcrx::tools {

namespace {

uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xa0761d6478bd642full);
  return splitmix64(s);
}

}  // namespace

Impairer::Impairer(const ImpairConfig& cfg, uint64_t seed, uint64_t stream)
    : cfg_(cfg), prng_(stream_seed(seed, stream)) {}

Verdict Impairer::decide() {
  Verdict v;
  if (cfg_.loss > 0 && prng_.chance(cfg_.loss)) {
    v.drop = true;
    return v;
  }
  if (cfg_.duplicate > 0) v.duplicate = prng_.chance(cfg_.duplicate);
  if (cfg_.reorder > 0) v.reorder = prng_.chance(cfg_.reorder);
  v.delay_us = cfg_.delay_us;
  if (cfg_.jitter_us > 0) {
    // Uniform in [delay - jitter, delay + jitter], clamped at 0.
    const int64_t j = static_cast<int64_t>(prng_.upto(2ull * cfg_.jitter_us)) -
                      static_cast<int64_t>(cfg_.jitter_us);
    const int64_t d = static_cast<int64_t>(cfg_.delay_us) + j;
    v.delay_us = d < 0 ? 0 : static_cast<uint32_t>(d);
  }
  return v;
}

}  // namespace zcrx::tools
