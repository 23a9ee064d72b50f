// SPDX-License-Identifier: MIT
// Test and benchmark support: the Ethernet + IPv4 + UDP headers of the
// datagrams tests and benchmarks feed zcrxd's parser. Header-only,
// DPDK-free.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace zcrxd::testing {

/// Bytes of Ethernet + IPv4 (no options) + UDP headers.
constexpr uint32_t kUdpHeaders = 14 + 20 + 8;

/// Writes at `p` the headers of a UDP datagram of `payload` bytes from
/// 10.0.0.1:12345 to 10.0.0.2:`dst_port` (zero MACs, zero checksums,
/// TTL 64): what zcrxd's parser and a udp_port flow accept. The payload
/// itself is the caller's. Returns kUdpHeaders, where the payload starts.
inline uint32_t write_udp_headers(uint8_t* p, uint16_t dst_port, uint32_t payload) {
  const uint32_t ip_len = 20 + 8 + payload;
  const uint32_t udp_len = 8 + payload;
  std::memset(p, 0, kUdpHeaders);
  p[12] = 0x08;  // ethertype IPv4
  uint8_t* ip = p + 14;
  ip[0] = 0x45;  // version 4, 20-byte header
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  ip[12] = 10, ip[15] = 1;  // 10.0.0.1
  ip[16] = 10, ip[19] = 2;  // 10.0.0.2
  uint8_t* udp = ip + 20;
  udp[0] = 0x30, udp[1] = 0x39;  // source port 12345
  udp[2] = static_cast<uint8_t>(dst_port >> 8);
  udp[3] = static_cast<uint8_t>(dst_port);
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);
  return kUdpHeaders;
}

}  // namespace zcrxd::testing
