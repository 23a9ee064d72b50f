// SPDX-License-Identifier: MIT
// The frames of a classic pcap file (libpcap format, either byte order,
// microsecond or nanosecond timestamps), read whole into memory for
// --inject. DPDK-free so it can be unit-tested. libpcap parses the file
// (untrusted: it bounds-checks every record); the frame lengths zcrxd
// can inject are checked on top.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace zcrxd {

/// Largest frame accepted (a jumbo frame with room to spare).
inline constexpr uint32_t kMaxPcapFrame = 16384;

struct PcapFrames {
  std::vector<uint8_t> bytes;     // every frame, back to back
  std::vector<uint32_t> offsets;  // frame i starts at offsets[i]
  std::vector<uint32_t> lengths;  // and has lengths[i] bytes (> 0)
  uint32_t max_len = 0;
  size_t size() const { return offsets.size(); }
  const uint8_t* frame(size_t i) const { return bytes.data() + offsets[i]; }
};

/// Reads `path`. Returns 0, or after writing a one-line reason to `err`:
/// -errno when the file cannot be read, -EINVAL when it is not a pcap of
/// Ethernet frames (bad magic, link type not 1, a record cut short, a
/// captured length of 0, above kMaxPcapFrame or above its original length),
/// -ENODATA when it holds no frame.
int read_pcap(const std::string& path, PcapFrames* out, FILE* err);

}  // namespace zcrxd
