// SPDX-License-Identifier: MIT
// Helpers of the network-layer tests: a reference Internet checksum of our
// own (arithmetic modulo 0xffff over the bytes, not the code under test's
// word loop), byte-vector builders, and the one-line reasons parsers write.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "ether.h"

namespace zcrxd::test {

using Bytes = std::vector<uint8_t>;

/// The 16-bit ones'-complement sum of the concatenation of `parts`, the
/// way RFC 1071 defines it: the big-endian words (an odd tail padded with
/// a zero byte) added modulo 0xffff, where a non-zero total that is a
/// multiple of 0xffff is 0xffff (ones' complement "negative zero").
inline uint16_t ref_sum(std::initializer_list<Bytes> parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  if (all.size() & 1) all.push_back(0);
  uint64_t total = 0;
  for (size_t i = 0; i < all.size(); i += 2) total += uint64_t{all[i]} * 256 + all[i + 1];
  if (total == 0) return 0;
  const uint64_t r = total % 0xffff;
  return static_cast<uint16_t>(r == 0 ? 0xffff : r);
}

/// The checksum field that makes the sum of `parts` (field taken as zero)
/// come out right.
inline uint16_t ref_checksum(std::initializer_list<Bytes> parts) {
  return static_cast<uint16_t>(0xffff - ref_sum(parts));
}

inline Bytes slice(const uint8_t* p, size_t n) { return Bytes(p, p + n); }
inline Bytes slice(const Bytes& b, size_t off, size_t n) {
  return Bytes(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + n));
}

inline void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
inline uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}

/// Appends `more` to `b`.
inline void append(Bytes& b, std::initializer_list<uint8_t> more) {
  b.insert(b.end(), more.begin(), more.end());
}

/// The pseudo-header of a TCP segment (RFC 9293 3.1).
inline Bytes tcp_pseudo(uint32_t src, uint32_t dst, uint32_t tcp_len) {
  Bytes p(12, 0);
  put32(p, 0, src);
  put32(p, 4, dst);
  p[9] = 6;
  put16(p, 10, static_cast<uint16_t>(tcp_len));
  return p;
}

/// What a call wrote to its FILE* err, through a memory stream.
class ErrText {
 public:
  ErrText() : f_(open_memstream(&buf_, &len_)) {}
  ~ErrText() {
    std::fclose(f_);
    std::free(buf_);
  }
  ErrText(const ErrText&) = delete;
  ErrText& operator=(const ErrText&) = delete;
  FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  FILE* f_;
};

/// 10.0.0.2 and friends, in host order.
constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

/// The two hosts of the network-layer tests: we are 10.0.0.2 at
/// 02:00:00:00:00:02, the peer 10.0.0.1 at 52:54:00:12:34:56.
inline const Mac kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline const Mac kPeerMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
inline constexpr uint32_t kOurs = ip4(10, 0, 0, 2);
inline constexpr uint32_t kPeer = ip4(10, 0, 0, 1);

}  // namespace zcrxd::test
