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
constexpr uint32_t kIpv6Header = 40;
constexpr uint32_t kMaxDatagram = 65535;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void malformed(ParsedPacket* out) {
  out->kind = PacketKind::malformed;
  out->is_udp = false;
}

// Parses the UDP header at `off`; `l4_end` is where the IP datagram ends.
void parse_udp(const uint8_t* f, uint32_t avail, uint32_t off, uint32_t l4_end,
               ParsedPacket* out) {
  if (off + 8 > avail || off + 8 > l4_end) return malformed(out);
  uint16_t udp_len = be16(f + off + 4);
  // Shorter than the IP payload is fine (Linux trims); longer is not.
  if (udp_len < 8 || off + udp_len > l4_end) return malformed(out);
  out->src_port = be16(f + off);
  out->dst_port = be16(f + off + 2);
  out->l4_off = static_cast<uint16_t>(off);
  out->payload_off = off + 8;
  out->payload_len = udp_len - 8u;
  out->is_udp = true;
  out->kind = PacketKind::udp;
}

// A fragment of a datagram of protocol `proto` whose data runs from
// `data_off` to `end`.
void fragment(uint8_t proto, uint32_t data_off, uint32_t end, uint16_t offset, bool more,
              ParsedPacket* out) {
  out->l3_len = static_cast<uint16_t>(data_off - out->l3_off);
  if (proto != kProtoUdp) return;  // other: reassembly is for UDP only
  out->kind = PacketKind::fragment;
  out->frag_offset = offset;
  out->frag_len = static_cast<uint16_t>(end - data_off);
  out->frag_more = more;
}

void parse_ipv4(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                uint32_t off, ParsedPacket* out) {
  if (off + 20 > avail) return malformed(out);
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 4) return malformed(out);
  uint32_t ihl = (ip[0] & 0xfu) * 4u;
  uint16_t total = be16(ip + 2);
  if (ihl < 20 || total < ihl || off + ihl > avail || off + total > frame_len)
    return malformed(out);
  out->l3 = L3::ipv4;
  std::memcpy(out->src_addr, ip + 12, 4);
  std::memcpy(out->dst_addr, ip + 16, 4);
  out->l4_proto = ip[9];
  out->l3_len = static_cast<uint16_t>(ihl);
  const uint16_t frag = be16(ip + 6);
  if (frag & 0x3fffu)  // MF set or a non-zero offset
    return fragment(out->l4_proto, off + ihl, off + total,
                    static_cast<uint16_t>((frag & 0x1fffu) * 8u), (frag & 0x2000u) != 0, out);
  if (out->l4_proto == kProtoUdp) parse_udp(f, avail, off + ihl, off + total, out);
}

void parse_ipv6(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                uint32_t off, ParsedPacket* out) {
  if (off + kIpv6Header > avail) return malformed(out);
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 6) return malformed(out);
  uint32_t end = off + kIpv6Header + be16(ip + 4);
  if (end > frame_len) return malformed(out);
  out->l3 = L3::ipv6;
  std::memcpy(out->src_addr, ip + 8, 16);
  std::memcpy(out->dst_addr, ip + 24, 16);
  uint8_t next = ip[6];
  uint32_t pos = off + kIpv6Header;
  // A bounded walk over the extension headers we can skip.
  for (int hops = 0; hops < 8; hops++) {
    if (next == kIpv6Fragment) {
      if (pos + 8 > avail || pos + 8 > end) return malformed(out);
      const uint16_t fo = be16(f + pos + 2);  // offset << 3 | reserved << 1 | M
      next = f[pos];
      pos += 8;
      // Offset 0 and M clear: an atomic fragment, a whole datagram (RFC
      // 6946); Linux delivers it as if the header were not there.
      if ((fo & 0xfff9u) == 0) continue;
      out->l4_proto = next;
      return fragment(next, pos, end, static_cast<uint16_t>(fo & 0xfff8u), (fo & 1u) != 0,
                      out);
    }
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6DestOpts) break;
    if (pos + 8 > avail || pos + 8 > end) return malformed(out);
    uint32_t len = 8u + f[pos + 1] * 8u;
    next = f[pos];
    pos += len;
    if (pos > end) return malformed(out);
  }
  out->l4_proto = next;
  out->l3_len = static_cast<uint16_t>(pos - off);
  if (next == kProtoUdp) parse_udp(f, avail, pos, end, out);
}

}  // namespace

void parse_packet(const uint8_t* f, uint32_t avail, uint32_t frame_len,
                  ParsedPacket* out) {
  *out = ParsedPacket{};
  if (avail > frame_len) avail = frame_len;
  if (avail < 14) return malformed(out);
  uint32_t off = 12;
  uint16_t type = be16(f + off);
  for (int tags = 0; tags < 2 && (type == kEthVlan || type == kEthQinQ); tags++) {
    off += 4;
    if (off + 2 > avail) return malformed(out);
    type = be16(f + off);
  }
  off += 2;
  out->l3_off = static_cast<uint16_t>(off);
  if (type == kEthIpv4) parse_ipv4(f, avail, frame_len, off, out);
  else if (type == kEthIpv6) parse_ipv6(f, avail, frame_len, off, out);
}

const char* fragment_refusal(const ParsedPacket& p) {
  if (p.frag_len == 0) return "no data";
  // The reassembled length field is 16 bits: IPv4's total length counts
  // the header, IPv6's payload length only what follows the fixed header.
  const uint32_t header = p.l3 == L3::ipv4 ? p.l3_len : 0;
  if (header + p.frag_offset + p.frag_len > kMaxDatagram) return "past 65535 bytes";
  if (p.frag_more && (p.frag_len & 7u)) return "not a multiple of 8 with more to come";
  if (p.l3 == L3::ipv6 && p.l3_len != kIpv6Header + 8) return "extension headers before it";
  return nullptr;
}

}  // namespace zcrxd
