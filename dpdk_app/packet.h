// SPDX-License-Identifier: MIT
// Header parsing of received frames: Ethernet, up to two VLAN tags, IPv4 or
// IPv6 (hop-by-hop / routing / destination-options extension headers, and
// atomic fragment headers), UDP. Pure functions over bytes, DPDK-free: the
// datapath hands them the first segment of each mbuf. Every length is
// checked against what is present; nothing read from the wire is trusted.
#pragma once

#include <cstdint>

namespace zcrxd {

enum class L3 : uint8_t { none, ipv4, ipv6 };

/// What a frame is, as far as UDP delivery is concerned: it decides the
/// counter a dropped frame lands in and whether reassembly sees it.
enum class PacketKind : uint8_t {
  other,      // well formed, but not (a fragment of) an IP/UDP datagram
  udp,        // a whole IPv4/IPv6 UDP datagram (`is_udp`)
  fragment,   // a fragment of an IPv4/IPv6 UDP datagram (not an atomic one)
  malformed,  // Ethernet/IP/UDP headers cut short, or lengths that disagree
};

/// What classification, checksum checks and reassembly need from a frame.
struct ParsedPacket {
  L3 l3 = L3::none;
  PacketKind kind = PacketKind::other;
  uint8_t l4_proto = 0;      // IPPROTO_* of the transport (0: none); for a
                             // fragment, that of the fragmented datagram
  bool is_udp = false;       // kind == udp: a complete UDP header was found
  uint8_t src_addr[16]{};    // IPv4 in the first 4 bytes, rest zero
  uint8_t dst_addr[16]{};
  uint16_t src_port = 0;     // host byte order
  uint16_t dst_port = 0;
  uint32_t payload_off = 0;  // UDP payload offset from the frame start
  uint32_t payload_len = 0;  // UDP payload bytes (from the UDP length field)
  uint16_t l3_off = 0;       // IP header offset (the L2 header's length)
  /// IP header bytes up to the UDP header or the fragment's data: the IPv4
  /// IHL; IPv6 40 plus the extension headers (a fragment header included).
  uint16_t l3_len = 0;
  uint16_t l4_off = 0;       // UDP header offset (is_udp)
  // kind == fragment: where its data goes in the datagram and how much.
  uint16_t frag_offset = 0;  // bytes
  uint16_t frag_len = 0;     // data bytes after l3_off + l3_len
  bool frag_more = false;    // more fragments follow (MF / M)
};

/// Parses `frame` of which `avail` bytes are readable (the first segment)
/// and whose whole length, across segments, is `frame_len`. Headers must
/// lie within `avail`. Fills `out` as far as the frame is well formed:
/// `is_udp` is set only for a non-fragmented IPv4/IPv6 UDP datagram whose
/// IP and UDP lengths fit in `frame_len`. An IPv6 fragment header with
/// offset 0 and M clear (an atomic fragment, RFC 6946) is skipped like any
/// extension header, as Linux does. Never reads past `avail`.
void parse_packet(const uint8_t* frame, uint32_t avail, uint32_t frame_len,
                  ParsedPacket* out);

/// Why reassembly refuses a fragment before it holds it, or nullptr when
/// it may: no data; data past the 65535-byte datagram limit; a fragment
/// with more following whose length is not a multiple of 8 (its successor
/// could not start where it ends); an IPv6 fragment header behind other
/// extension headers (rte_ip_frag expects it right after the fixed
/// header). Each is an invalid-fragment drop.
const char* fragment_refusal(const ParsedPacket& p);

}  // namespace zcrxd
