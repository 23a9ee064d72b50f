// SPDX-License-Identifier: MIT
#include "packet.h"

#include <cstring>

namespace zcrxd {

namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88a8;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestOpts = 60;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Parses the UDP header at `off`; `l4_end` is where the IP datagram ends.
void parse_udp(const uint8_t* f, uint32_t avail, uint32_t off, uint32_t l4_end,
               ParsedPacket* out) {
  if (off + 8 > avail || off + 8 > l4_end) return;
  uint16_t udp_len = be16(f + off + 4);
  if (udp_len < 8 || off + udp_len > l4_end) return;
  out->src_port = be16(f + off);
  out->dst_port = be16(f + off + 2);
  out->payload_off = off + 8;
  out->payload_len = udp_len - 8u;
  out->is_udp = true;
}

void parse_ipv4(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                uint32_t off, ParsedPacket* out) {
  if (off + 20 > avail) return;
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 4) return;
  uint32_t ihl = (ip[0] & 0xfu) * 4u;
  uint16_t total = be16(ip + 2);
  if (ihl < 20 || total < ihl || off + ihl > avail || off + total > frame_len)
    return;
  out->l3 = L3::ipv4;
  std::memcpy(out->src_addr, ip + 12, 4);
  std::memcpy(out->dst_addr, ip + 16, 4);
  out->l4_proto = ip[9];
  // A fragment (MF set or non-zero offset) has no UDP header we can use.
  if (be16(ip + 6) & 0x3fffu) return;
  if (out->l4_proto == kProtoUdp) parse_udp(f, avail, off + ihl, off + total, out);
}

void parse_ipv6(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                uint32_t off, ParsedPacket* out) {
  if (off + 40 > avail) return;
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 6) return;
  uint32_t end = off + 40u + be16(ip + 4);
  if (end > frame_len) return;
  out->l3 = L3::ipv6;
  std::memcpy(out->src_addr, ip + 8, 16);
  std::memcpy(out->dst_addr, ip + 24, 16);
  uint8_t next = ip[6];
  uint32_t pos = off + 40;
  // A bounded walk over the extension headers we can skip.
  for (int hops = 0; hops < 8; hops++) {
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6DestOpts) break;
    if (pos + 8 > avail || pos + 8 > end) return;
    uint32_t len = 8u + f[pos + 1] * 8u;
    next = f[pos];
    pos += len;
    if (pos > end) return;
  }
  out->l4_proto = next;
  if (next == kIpv6Fragment) return;
  if (next == kProtoUdp) parse_udp(f, avail, pos, end, out);
}

}  // namespace

void parse_packet(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                  ParsedPacket* out) {
  *out = ParsedPacket{};
  if (avail > frame_len) avail = frame_len;
  if (avail < 14) return;
  uint32_t off = 12;
  uint16_t type = be16(f + off);
  for (int tags = 0; tags < 2 && (type == kEthVlan || type == kEthQinQ); tags++) {
    off += 4;
    if (off + 2 > avail) return;
    type = be16(f + off);
  }
  off += 2;
  if (type == kEthIpv4) parse_ipv4(f, avail, frame_len, off, out);
  else if (type == kEthIpv6) parse_ipv6(f, avail, frame_len, off, out);
}

}  // namespace zcrxd
