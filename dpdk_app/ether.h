// SPDX-License-Identifier: MIT
// Ethernet and the byte order of wire fields, for the frames zcrxd builds
// and answers itself (ARP, ICMP, TCP). Header-only, DPDK-free.
//
// zcrxd is a host on an untagged Ethernet: frames carrying a VLAN tag are
// not addressed to it (Linux likewise ignores tagged frames on an
// interface without a VLAN device), so these helpers know only the plain
// 14-byte header.
#pragma once

#include <cstdint>
#include <cstring>

namespace zcrxd {

inline constexpr uint32_t kEthHeaderLen = 14;
/// Shortest Ethernet frame without its FCS (ETH_ZLEN): shorter frames
/// zcrxd builds are padded with zeros, as not every PMD pads them.
inline constexpr uint32_t kEthMinFrame = 60;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;

/// A 48-bit MAC address, as on the wire.
struct Mac {
  uint8_t b[6]{};

  bool operator==(const Mac&) const = default;
  /// Group bit: broadcast and multicast addresses.
  bool is_multicast() const { return b[0] & 1; }
  bool is_zero() const { return (b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0; }
  /// A station's own address: neither zero nor a group address.
  bool is_unicast() const { return !is_zero() && !is_multicast(); }
  static Mac broadcast() { return Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static Mac from(const uint8_t* p) {
    Mac m;
    std::memcpy(m.b, p, 6);
    return m;
  }
};

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

/// Writes the 14-byte Ethernet header at `p`.
inline void write_eth_header(uint8_t* p, const Mac& dst, const Mac& src, uint16_t type) {
  std::memcpy(p, dst.b, 6);
  std::memcpy(p + 6, src.b, 6);
  store_be16(p + 12, type);
}

inline Mac eth_dst(const uint8_t* frame) { return Mac::from(frame); }
inline Mac eth_src(const uint8_t* frame) { return Mac::from(frame + 6); }
/// The EtherType right after the addresses (a VLAN TPID for tagged frames).
inline uint16_t eth_type(const uint8_t* frame) { return load_be16(frame + 12); }

}  // namespace zcrxd
