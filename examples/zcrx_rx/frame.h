// SPDX-License-Identifier: MIT
// Where the UDP payload sits in a whole Ethernet frame. A raw flow hands
// the consumer frames, not payloads (zcrxd's header split applies to UDP
// flows only), so zcrx_rx finds the datagram before checking its pattern.
// Every length is checked against what was received: the frame came from
// the wire.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcrx_rx {

namespace frame_detail {
inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100, kEthQinq = 0x88a8;
constexpr uint8_t kIpprotoUdp = 17;
}  // namespace frame_detail

/// True when the `len` bytes at `f` are one Ethernet frame (at most two
/// VLAN tags) carrying an unfragmented IPv4 or IPv6 (no extension header)
/// UDP datagram that lies whole inside them; then `*off` and `*plen` are
/// the UDP payload's offset and length. False for anything else, e.g. a
/// later segment of a frame larger than one buffer.
inline bool udp_payload_of_frame(const uint8_t* f, size_t len, size_t* off, size_t* plen) {
  using namespace frame_detail;
  size_t at = 12;
  if (len < at + 2) return false;
  uint16_t type = be16(f + at);
  for (int tags = 0; (type == kEthVlan || type == kEthQinq) && tags < 2; tags++) {
    at += 4;
    if (len < at + 2) return false;
    type = be16(f + at);
  }
  at += 2;
  size_t ip_end = 0;
  if (type == kEthIpv4) {
    if (len < at + 20 || (f[at] >> 4) != 4) return false;
    const size_t ihl = size_t{f[at] & 0x0fu} * 4;
    const size_t total = be16(f + at + 2);
    // More fragments, or an offset: not a whole datagram.
    if (ihl < 20 || (be16(f + at + 6) & 0x3fff) != 0 || f[at + 9] != kIpprotoUdp) return false;
    if (total < ihl + 8 || len < at + total) return false;
    ip_end = at + total;
    at += ihl;
  } else if (type == kEthIpv6) {
    if (len < at + 40 || (f[at] >> 4) != 6 || f[at + 6] != kIpprotoUdp) return false;
    const size_t payload = be16(f + at + 4);
    if (payload < 8 || len < at + 40 + payload) return false;
    ip_end = at + 40 + payload;
    at += 40;
  } else {
    return false;
  }
  const size_t udp_len = be16(f + at + 4);
  if (udp_len < 8 || at + udp_len > ip_end) return false;
  *off = at + 8;
  *plen = udp_len - 8;
  return true;
}

}  // namespace zcrx_rx
