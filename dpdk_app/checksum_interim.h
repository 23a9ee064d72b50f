// SPDX-License-Identifier: MIT
// INTERIM, TO BE REPLACED: the part of the Internet checksum interface of
// dpdk_app/checksum.h (branch rx-correctness) that the network layer uses,
// so this branch builds on its own. When both branches are merged, delete
// this file and include "checksum.h" instead (same names, same meaning:
// InetSum, ipv4_header_checksum, ipv4_header_checksum_ok); nothing else
// changes.
//
// InetSum: a running ones'-complement sum (RFC 1071) over a byte stream fed
// in spans of any length; fold() is the 16-bit sum in host order of the
// big-endian words (0xffff over a stream that includes its valid checksum).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcrxd {

class InetSum {
 public:
  /// Adds `n` bytes at `p` (the next `n` bytes of the stream).
  void add(const uint8_t* p, size_t n) {
    size_t i = 0;
    // A span starting at an odd stream position completes the pending
    // word's low byte first.
    if ((len_ & 1) && n) sum_ += p[i++];
    for (; i + 1 < n; i += 2) sum_ += uint32_t{p[i]} << 8 | p[i + 1];
    if (i < n) sum_ += uint32_t{p[i]} << 8;
    len_ += n;
  }
  /// Adds a 16-bit value as two stream bytes in network order.
  void add16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    add(b, 2);
  }
  /// The folded 16-bit ones'-complement sum of everything added.
  uint16_t fold() const {
    uint64_t s = sum_;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
  }
  /// Bytes added so far.
  size_t length() const { return len_; }

 private:
  uint64_t sum_ = 0;  // big-endian words in host order, carries above bit 16
  size_t len_ = 0;
};

/// The IPv4 header checksum field for the `ihl`-byte header at `ip` whose
/// checksum field is zero.
inline uint16_t ipv4_header_checksum(const uint8_t* ip, uint32_t ihl) {
  InetSum s;
  s.add(ip, ihl);
  return static_cast<uint16_t>(~s.fold());
}

/// True when the `ihl`-byte IPv4 header at `ip` carries a valid checksum.
inline bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl) {
  InetSum s;
  s.add(ip, ihl);
  return s.fold() == 0xffff;
}

}  // namespace zcrxd
