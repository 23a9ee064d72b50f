// SPDX-License-Identifier: MIT
// Reading a libFuzzer input as a stream of small fields. Past the end
// every read yields zeros, so a harness never has to check lengths and a
// truncated input simply ends its sequence (done()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace zcrx::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), left_(size) {}

  bool done() const { return left_ == 0; }
  size_t left() const { return left_; }

  /// Copies up to `n` bytes into `out`, zero-filling what the input lacks;
  /// returns how many came from the input.
  size_t bytes(void* out, size_t n) {
    const size_t k = n < left_ ? n : left_;
    if (k) std::memcpy(out, p_, k);
    if (k < n) std::memset(static_cast<uint8_t*>(out) + k, 0, n - k);
    p_ += k;
    left_ -= k;
    return k;
  }
  template <class T>
  T get() {
    T v;
    bytes(&v, sizeof(v));
    return v;
  }
  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }

 private:
  const uint8_t* p_;
  size_t left_;
};

/// An invariant the harness checks broke: report and abort, so libFuzzer
/// keeps the input as a crash.
[[noreturn]] inline void invariant_failed(const char* target, const char* what,
                                          const char* file, int line) {
  std::fprintf(stderr, "%s: invariant broken at %s:%d: %s\n", target, file, line, what);
  std::abort();
}

}  // namespace zcrx::fuzz

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) ::zcrx::fuzz::invariant_failed(kTarget, #cond, __FILE__, __LINE__); \
  } while (0)
