// SPDX-License-Identifier: MIT
// A pcap writer (libpcap's pcap_dump) for tests that need traffic pcap_gen does not make
// (several flows, broken checksums, fragments): Ethernet / IPv4 / UDP
// frames with pattern payloads, or any frames the test built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace itest {

struct UdpFrame {
  uint16_t src_port;
  uint16_t dst_port;
  uint64_t seq;       // pattern sequence number of the payload
  uint32_t payload;   // bytes
};

/// Writes `frames` to `path` (10.0.0.1 -> 10.0.0.2). False on I/O errors.
bool write_pcap(const std::string& path, const std::vector<UdpFrame>& frames);

/// Writes whole Ethernet frames, as they are, to `path`. False on I/O
/// errors.
bool write_pcap_frames(const std::string& path, const std::vector<std::vector<uint8_t>>& frames);

/// A payload of `len` bytes carrying the pattern of `seq` (zcrx/pattern.h).
std::vector<uint8_t> pattern_payload(uint64_t seq, uint32_t len);

}  // namespace itest
