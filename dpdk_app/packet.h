// SPDX-License-Identifier: MIT
// Header parsing of received frames: Ethernet, up to two VLAN tags, IPv4 or
// IPv6 (hop-by-hop / routing / destination-options extension headers), UDP.
// Pure functions over bytes, DPDK-free: the datapath hands them the first
// segment of each mbuf. Every length is checked against what is present;
// nothing read from the wire is trusted.
#pragma once

#include <cstdint>

namespace zcrxd {

enum class L3 : uint8_t { none, ipv4, ipv6 };

/// What classification needs from a frame.
struct ParsedPacket {
  L3 l3 = L3::none;
  uint8_t l4_proto = 0;      // IPPROTO_* of the transport header (0: none)
  bool is_udp = false;       // a complete UDP header was found
  uint8_t src_addr[16]{};    // IPv4 in the first 4 bytes, rest zero
  uint8_t dst_addr[16]{};
  uint16_t src_port = 0;     // host byte order
  uint16_t dst_port = 0;
  uint32_t payload_off = 0;  // UDP payload offset from the frame start
  uint32_t payload_len = 0;  // UDP payload bytes (from the UDP length field)
};

/// Parses `frame` of which `avail` bytes are readable (the first segment)
/// and whose whole length, across segments, is `frame_len`. Headers must
/// lie within `avail`. Fills `out` as far as the frame is well formed:
/// `is_udp` is set only for a non-fragmented IPv4/IPv6 UDP datagram whose
/// IP and UDP lengths fit in `frame_len`. Never reads past `avail`.
void parse_packet(const uint8_t* frame, uint32_t avail, uint32_t frame_len,
                  ParsedPacket* out);

}  // namespace zcrxd
