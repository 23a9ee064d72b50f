// SPDX-License-Identifier: MIT
// The Internet checksum (RFC 1071) in software, DPDK-free: the IPv4 header
// checksum and the UDP checksum over a datagram that may lie in several
// buffers (mbuf segments, reassembled fragments), each of any length.
//
// Our own rather than rte_raw_cksum / rte_ipv6_udptcp_cksum_mbuf: the UDP
// pseudo-header must carry the UDP length (DPDK's IPv6 helper takes the IP
// payload length, which is wrong behind extension headers), the spans come
// from our own segment walk, and the same code serves zcrxd, the test
// frame writers and pcap_gen, with unit tests that run without an EAL and
// under the sanitizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace zcrxd {

namespace csum_detail {

// Native-order sum of `n` bytes that start at an even stream position:
// 32-bit words into 64-bit sums (2^32 words before one could overflow, far
// beyond any datagram), four at a time so the adds are independent. An odd
// last byte is the high byte of a big-endian word, which a two-byte native
// load of {b, 0} places where the other words' bytes are.
inline uint64_t sum_span(const uint8_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; n >= 16; p += 16, n -= 16) {
    uint32_t w[4];
    std::memcpy(w, p, 16);
    s0 += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
  }
  uint64_t s = s0 + s1 + s2 + s3;
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    s += w;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    s += w;
    p += 2;
    n -= 2;
  }
  if (n) {
    const uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    s += w;
  }
  return s;
}

// Folds a wide sum of native-order words to 16 bits, still native order.
inline uint16_t fold_native(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// The native-order word of the two stream bytes of big-endian `v`.
inline uint16_t native16(uint16_t v) {
  const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  uint16_t w;
  std::memcpy(&w, b, 2);
  return w;
}

}  // namespace csum_detail

/// A running ones'-complement sum over a byte stream fed in spans of any
/// length: a span that starts at an odd stream position is folded in
/// byte-swapped, so the result is that of the stream as one buffer.
class InetSum {
 public:
  /// Adds `n` bytes at `p` (the next `n` bytes of the stream).
  void add(const uint8_t* p, size_t n);
  /// Adds a 16-bit value as two stream bytes in network order.
  void add16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    add(b, 2);
  }
  /// The 16-bit ones'-complement sum of everything added, in host order
  /// of the big-endian words (0xffff: a stream that includes its valid
  /// checksum).
  uint16_t fold() const;
  /// Bytes added so far.
  size_t length() const { return len_; }

 private:
  uint64_t sum_ = 0;  // native-order 32-bit words, carries kept above bit 32
  size_t len_ = 0;
};

/// True when the `ihl`-byte IPv4 header at `ip` carries a valid header
/// checksum. Inline: every UDP datagram a UDP flow receives is checked.
inline bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl) {
  using namespace csum_detail;
  // All ones is all ones in either byte order.
  if (ihl != 20) return fold_native(sum_span(ip, ihl)) == 0xffff;
  // The header without options: five words, no loop.
  uint32_t w[5];
  std::memcpy(w, ip, 20);
  return fold_native(uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4]) == 0xffff;
}

/// True when the UDP datagram of `udp_len` bytes at `udp` (in one piece,
/// checksum field included) carries a valid checksum; `addrs` is its
/// source address followed by its destination address (`addrs_len` 8 for
/// IPv4, 32 for IPv6: where both IP headers keep them). The one-buffer
/// case of udp_pseudo_header(), inline.
inline bool udp_checksum_ok(const uint8_t* addrs, size_t addrs_len, const uint8_t* udp,
                            uint16_t udp_len) {
  using namespace csum_detail;
  const uint64_t s = sum_span(addrs, addrs_len) + native16(17) + native16(udp_len) +
                     sum_span(udp, udp_len);
  return fold_native(s) == 0xffff;
}

/// Starts a UDP checksum: the pseudo-header of a datagram of `udp_len`
/// bytes between `src` and `dst` (4-byte IPv4 or 16-byte IPv6 addresses,
/// `addr_len` 4 or 16). Add the `udp_len` bytes from the UDP header on,
/// checksum field included: the datagram is intact when fold() is 0xffff.
InetSum udp_pseudo_header(const uint8_t* src, const uint8_t* dst, size_t addr_len,
                          uint16_t udp_len);

/// The value for the UDP checksum field of a datagram whose checksum field
/// was added as zero: 0xffff for a computed 0 (0 means "none", RFC 768).
uint16_t udp_checksum_field(const InetSum& with_zero_field);

/// The IPv4 header checksum field for the `ihl`-byte header at `ip` whose
/// checksum field is zero.
uint16_t ipv4_header_checksum(const uint8_t* ip, uint32_t ihl);

}  // namespace zcrxd
