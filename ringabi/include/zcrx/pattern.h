// SPDX-License-Identifier: MIT
// The verifiable payload every traffic source of the project writes and
// every verifying consumer checks: the first 8 bytes carry a sequence
// number (little endian), byte i >= 8 is a function of that number and i.
// A payload shorter than 8 bytes has no room for the number: it is all zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace zcrx::pattern {

/// Byte `i` (i >= 8) of the payload for sequence number `seq`.
constexpr uint8_t byte_at(uint64_t seq, size_t i) {
  return static_cast<uint8_t>((seq * 131u) ^ (i * 7u) ^ (i >> 8));
}

/// Fills `len` bytes at `dst` with the payload for `seq`.
inline void fill(uint8_t* dst, size_t len, uint64_t seq) {
  if (len < 8) {
    std::memset(dst, 0, len);
    return;
  }
  for (int b = 0; b < 8; b++) dst[b] = static_cast<uint8_t>(seq >> (8 * b));
  for (size_t i = 8; i < len; i++) dst[i] = byte_at(seq, i);
}

/// Sequence number a payload claims (0 for payloads shorter than 8 bytes).
inline uint64_t seq_of(const uint8_t* p, size_t len) {
  if (len < 8) return 0;
  uint64_t seq = 0;
  for (int b = 7; b >= 0; b--) seq = (seq << 8) | p[b];
  return seq;
}

/// Index of the first byte that breaks the pattern, or `len` when the
/// payload is intact. Payloads shorter than 8 bytes are checked against 0.
inline size_t first_mismatch(const uint8_t* p, size_t len) {
  uint64_t seq = seq_of(p, len);
  for (size_t i = 8; i < len; i++)
    if (p[i] != byte_at(seq, i)) return i;
  if (len < 8)
    for (size_t i = 0; i < len; i++)
      if (p[i] != 0) return i;
  return len;
}

}  // namespace zcrx::pattern
