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

namespace zcrxd {

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
/// checksum.
bool ipv4_header_checksum_ok(const uint8_t* ip, uint32_t ihl);

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
