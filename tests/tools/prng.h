// SPDX-License-Identifier: MIT
// A small seeded generator for the test tools: xoshiro256** seeded through
// splitmix64, so a seed gives the same sequence on every host and library
// (std::uniform_*_distribution does not promise that).
#pragma once

#include <cstdint>

namespace zcrx::tools {

/// splitmix64: a seed expander (and a decent 64-bit mixer on its own).
constexpr uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Prng {
 public:
  explicit constexpr Prng(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }

  /// The next 64 random bits.
  constexpr uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// True with probability p (p <= 0: never, p >= 1: always).
  bool chance(double p) { return unit() < p; }

  /// Uniform in [0, n] (n + 1 values; multiply-high, no modulo bias worth
  /// the name for the small n the tools use).
  uint64_t upto(uint64_t n) {
    if (n == UINT64_MAX) return next();
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * (n + 1)) >> 64);
  }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4] = {};
};

}  // namespace zcrx::tools
