// SPDX-License-Identifier: MIT
// Ethernet frames as the tools see them: where the IP and TCP/UDP headers
// are, whether the IPv4 header and TCP/UDP checksums are complete, and
// (for frames a sender left to checksum offload, TP_STATUS_CSUMNOTREADY)
// completing the TCP/UDP checksum in place. IPv4 and IPv6 (no extension
// headers), up to two VLAN tags; nothing else is parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace zcrx::tools {

struct FrameLayout {
  size_t l3_off = 0;        // after the MAC header and VLAN tags
  uint16_t ethertype = 0;   // innermost
  unsigned vlan_tags = 0;
  bool ipv4 = false;
  bool ipv6 = false;
  bool fragment = false;    // IPv4 fragment: no L4 checksum to check
  uint8_t l4_proto = 0;     // IPPROTO_TCP, IPPROTO_UDP, other, 0 for non-IP
  size_t l4_off = 0;
  size_t l4_len = 0;        // from the IP header's length
  size_t ip_end = 0;        // l3_off + the IP header's total length
};

/// Parses a frame's headers; nullopt when it is shorter than its headers
/// or its IP length claims more bytes than the frame has.
std::optional<FrameLayout> parse_frame(const uint8_t* frame, size_t len);

/// One's complement sum of `len` bytes (big-endian 16-bit words), added
/// to `sum`, not folded.
uint64_t csum_partial(const uint8_t* p, size_t len, uint64_t sum);

/// Folds a sum to 16 bits and complements it.
uint16_t csum_fold(uint64_t sum);

struct ChecksumState {
  bool ip_checked = false;   // an IPv4 header was there
  bool ip_ok = false;
  bool l4_checked = false;   // a whole TCP or UDP segment was there
  bool l4_ok = false;
};

/// Verifies the IPv4 header checksum and the TCP/UDP checksum (UDP over
/// IPv4 with checksum 0 counts as complete: it has none).
ChecksumState check_checksums(const uint8_t* frame, const FrameLayout& l);

/// Computes the TCP/UDP checksum of a frame from scratch and writes it;
/// false (frame untouched) when the frame carries no whole TCP/UDP segment.
bool complete_l4_checksum(uint8_t* frame, size_t len);

}  // namespace zcrx::tools
