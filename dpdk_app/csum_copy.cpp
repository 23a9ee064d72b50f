// SPDX-License-Identifier: MIT
#include "csum_copy.h"

#include <bit>
#include <cstring>

namespace zcrxd {

uint16_t copy_and_sum(uint8_t* dst, const uint8_t* src, size_t n) {
  // Words are summed in native order (RFC 1071 2(B): the sum is the same
  // up to a final byte swap), 32-bit halves into two 64-bit accumulators
  // so the adds do not wait on each other; 2^32 words before one overflows.
  uint64_t s0 = 0, s1 = 0;
  for (; n >= 16; src += 16, dst += 16, n -= 16) {
    uint64_t w[2];
    std::memcpy(w, src, 16);
    std::memcpy(dst, w, 16);
    s0 += (w[0] & 0xffffffffu) + (w[0] >> 32);
    s1 += (w[1] & 0xffffffffu) + (w[1] >> 32);
  }
  uint64_t s = s0 + s1;
  for (; n >= 4; src += 4, dst += 4, n -= 4) {
    uint32_t w;
    std::memcpy(&w, src, 4);
    std::memcpy(dst, &w, 4);
    s += w;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, src, 2);
    std::memcpy(dst, &w, 2);
    s += w;
    src += 2;
    dst += 2;
    n -= 2;
  }
  if (n) {
    // The odd last byte is the high byte of a big-endian word: a native
    // load of {b, 0} puts it where the other words' first bytes are.
    *dst = *src;
    const uint8_t last[2] = {*src, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    s += w;
  }
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  const auto native = static_cast<uint16_t>(s);
  return std::endian::native == std::endian::little
             ? static_cast<uint16_t>(native << 8 | native >> 8)
             : native;
}

}  // namespace zcrxd
