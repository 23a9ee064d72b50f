// SPDX-License-Identifier: MIT
// Test and benchmark support: Ethernet frames carrying UDP datagrams for
// zcrxd's parser, checksums and reassembly. IPv4 or IPv6, up to two VLAN
// tags, valid or deliberately broken checksums, and the IP fragments of a
// datagram in any order. Header-only, DPDK-free (zcrxd's checksum code).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "checksum.h"
#include "packet.h"

namespace zcrxd::testing {

/// Bytes of Ethernet + IPv4 (no options) + UDP headers.
constexpr uint32_t kUdpHeaders = 14 + 20 + 8;

namespace frame_detail {
inline void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
}  // namespace frame_detail

/// Writes at `p` the headers of a UDP datagram of `payload` bytes from
/// 10.0.0.1:12345 to 10.0.0.2:`dst_port` (zero MACs, a valid IPv4 header
/// checksum, UDP checksum 0 = none, TTL 64): what zcrxd's parser, its
/// checks and a udp_port flow accept. The payload itself is the caller's.
/// Returns kUdpHeaders, where the payload starts.
inline uint32_t write_udp_headers(uint8_t* p, uint16_t dst_port, uint32_t payload) {
  using frame_detail::put16;
  const uint32_t ip_len = 20 + 8 + payload;
  const uint32_t udp_len = 8 + payload;
  std::memset(p, 0, kUdpHeaders);
  p[12] = 0x08;  // ethertype IPv4
  uint8_t* ip = p + 14;
  ip[0] = 0x45;  // version 4, 20-byte header
  put16(ip + 2, ip_len);
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  ip[12] = 10, ip[15] = 1;  // 10.0.0.1
  ip[16] = 10, ip[19] = 2;  // 10.0.0.2
  put16(ip + 10, ipv4_header_checksum(ip, 20));
  uint8_t* udp = ip + 20;
  put16(udp, 12345);
  put16(udp + 2, dst_port);
  put16(udp + 4, udp_len);
  return kUdpHeaders;
}

/// What udp_frame() builds.
struct FrameSpec {
  bool ipv6 = false;       // fd00::1 -> fd00::2, else 10.0.0.1 -> 10.0.0.2
  int vlans = 0;           // 0, 1 (802.1Q) or 2 (QinQ: 802.1ad then 802.1Q)
  uint16_t src_port = 12345;
  uint16_t dst_port = 9000;
  bool udp_checksum = true;  // a valid UDP checksum, else the field is 0
  uint16_t ip_id = 1;      // IPv4 identification (fragments)
};

/// An Ethernet frame carrying a UDP datagram with `payload`, valid IPv4
/// header checksum, UDP checksum as `s` says.
inline std::vector<uint8_t> udp_frame(const FrameSpec& s, const std::vector<uint8_t>& payload) {
  using frame_detail::put16;
  const uint32_t l2 = 14 + 4u * static_cast<uint32_t>(s.vlans);
  const uint32_t l3 = s.ipv6 ? 40 : 20;
  const uint32_t udp_len = 8 + static_cast<uint32_t>(payload.size());
  std::vector<uint8_t> f(l2 + l3 + udp_len, 0);
  uint8_t* e = f.data();
  std::memcpy(e, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
  uint32_t at = 12;
  for (int t = 0; t < s.vlans; t++, at += 4) {
    put16(e + at, t == 0 && s.vlans == 2 ? 0x88a8 : 0x8100);
    put16(e + at + 2, 100u + static_cast<uint32_t>(t));
  }
  put16(e + at, s.ipv6 ? 0x86dd : 0x0800);
  uint8_t* ip = e + l2;
  if (s.ipv6) {
    ip[0] = 0x60;
    put16(ip + 4, udp_len);
    ip[6] = IPPROTO_UDP;
    ip[7] = 64;
    ip[8] = 0xfd, ip[23] = 1;
    ip[24] = 0xfd, ip[39] = 2;
  } else {
    ip[0] = 0x45;
    put16(ip + 2, l3 + udp_len);
    put16(ip + 4, s.ip_id);
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    ip[12] = 10, ip[15] = 1;
    ip[16] = 10, ip[19] = 2;
    put16(ip + 10, ipv4_header_checksum(ip, 20));
  }
  uint8_t* udp = ip + l3;
  put16(udp, s.src_port);
  put16(udp + 2, s.dst_port);
  put16(udp + 4, udp_len);
  std::memcpy(udp + 8, payload.data(), payload.size());
  if (s.udp_checksum) {
    const uint32_t alen = s.ipv6 ? 16 : 4;
    InetSum sum = udp_pseudo_header(ip + (s.ipv6 ? 8 : 12), ip + (s.ipv6 ? 24 : 16), alen,
                                    static_cast<uint16_t>(udp_len));
    sum.add(udp, udp_len);
    put16(udp + 6, udp_checksum_field(sum));
  }
  return f;
}

/// Where the parser finds the headers of `f` (which must parse).
inline ParsedPacket parsed(const std::vector<uint8_t>& f) {
  ParsedPacket p;
  const auto n = static_cast<uint32_t>(f.size());
  parse_packet(f.data(), n, n, &p);
  return p;
}

/// Breaks the IPv4 header checksum of a whole frame (or fragment).
inline void corrupt_ip_checksum(std::vector<uint8_t>& f) { f[parsed(f).l3_off + 10] ^= 0x5a; }

/// Breaks the UDP checksum of a whole datagram without touching the field
/// being zero or not: one payload byte changes.
inline void corrupt_udp_payload(std::vector<uint8_t>& f) { f[parsed(f).payload_off] ^= 0x01; }

/// Breaks the UDP checksum of a whole datagram in its field (never to 0,
/// "none"): the payload stays intact.
inline void corrupt_udp_checksum(std::vector<uint8_t>& f) {
  uint8_t* c = f.data() + parsed(f).l4_off + 6;
  c[0] ^= 0x5a;
  if (c[0] == 0 && c[1] == 0) c[1] = 0x5a;
}

/// Sets the UDP checksum field of a whole datagram to `v` (0: none).
inline void set_udp_checksum_field(std::vector<uint8_t>& f, uint16_t v) {
  frame_detail::put16(f.data() + parsed(f).l4_off + 6, v);
}

/// The IP fragments of the whole-datagram frame `f`, each carrying at most
/// `chunk` bytes of the IP payload (a multiple of 8), in datagram order.
/// IPv4: MF and offsets in the IP header, a fresh header checksum each.
/// IPv6: a fragment header after the fixed header with identification `id`.
inline std::vector<std::vector<uint8_t>> ip_fragments(const std::vector<uint8_t>& f,
                                                      uint32_t chunk, uint32_t id = 7) {
  using frame_detail::get16;
  using frame_detail::put16;
  const ParsedPacket p = parsed(f);
  const uint32_t l3 = p.l3_off;
  const bool v6 = p.l3 == L3::ipv6;
  const uint32_t hdr = v6 ? 40 : (f[l3] & 0xfu) * 4u;
  const uint32_t data_len = v6 ? get16(&f[l3 + 4]) : get16(&f[l3 + 2]) - hdr;
  std::vector<std::vector<uint8_t>> out;
  for (uint32_t off = 0; off < data_len; off += chunk) {
    const uint32_t n = data_len - off < chunk ? data_len - off : chunk;
    const bool more = off + n < data_len;
    std::vector<uint8_t> g(f.begin(), f.begin() + l3 + hdr);
    if (v6) {
      const uint8_t fh[8] = {f[l3 + 6], 0, static_cast<uint8_t>(off >> 8),
                             static_cast<uint8_t>((off & 0xf8u) | (more ? 1u : 0u)),
                             static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                             static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
      g.insert(g.end(), fh, fh + 8);
      g[l3 + 6] = 44;
      put16(&g[l3 + 4], 8 + n);
    } else {
      put16(&g[l3 + 2], hdr + n);
      put16(&g[l3 + 6], (more ? 0x2000u : 0u) | off / 8);
      put16(&g[l3 + 10], 0);
      put16(&g[l3 + 10], ipv4_header_checksum(&g[l3], hdr));
    }
    g.insert(g.end(), f.begin() + l3 + hdr + off, f.begin() + l3 + hdr + off + n);
    out.push_back(std::move(g));
  }
  return out;
}

/// An IPv6 atomic fragment (RFC 6946) of the whole IPv6 frame `f`: a
/// fragment header with offset 0 and M clear in front of the UDP header.
inline std::vector<uint8_t> ipv6_atomic_fragment(const std::vector<uint8_t>& f, uint32_t id = 9) {
  return ip_fragments(f, 65528, id).front();
}

}  // namespace zcrxd::testing
