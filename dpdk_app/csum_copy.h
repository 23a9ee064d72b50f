// SPDX-License-Identifier: MIT
// Copying payload into a frame and summing it (RFC 1071) in the same pass,
// for frames whose TCP checksum is computed in software: the bytes are
// read once, while they are in registers, instead of by a memcpy and again
// by a checksum loop. DPDK-free.
//
// Sums here are 16-bit ones'-complement sums in host order of the
// big-endian words, as InetSum::fold() gives them, of a span taken as if
// it began at an even position of the stream; csum_at() moves one to the
// span's real position and csum_add() combines them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcrxd {

/// Copies `n` bytes from `src` to `dst` (not overlapping) and returns their
/// sum.
uint16_t copy_and_sum(uint8_t* dst, const uint8_t* src, size_t n);

/// Ones'-complement addition of two sums.
inline uint16_t csum_add(uint16_t a, uint16_t b) {
  const uint32_t s = uint32_t{a} + b;
  return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

/// The contribution of a span whose sum is `span_sum` when it starts at
/// byte `pos` of the stream: an odd start puts every byte in the other
/// half of its word, which byte-swaps the sum.
inline uint16_t csum_at(uint16_t span_sum, size_t pos) {
  return (pos & 1) ? static_cast<uint16_t>(span_sum << 8 | span_sum >> 8) : span_sum;
}

}  // namespace zcrxd
