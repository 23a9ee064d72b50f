// SPDX-License-Identifier: MIT
// Header parsing: every layer's lengths checked, VLAN tags, IPv6 extension
// headers, fragments (atomic ones are whole datagrams), padding,
// truncation, and the kind each frame is counted as when dropped.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "packet.h"

using zcrxd::fragment_refusal;
using zcrxd::L3;
using zcrxd::PacketKind;
using zcrxd::ParsedPacket;
using zcrxd::parse_packet;

namespace {

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet (+ vlans) / IPv4 / UDP with `payload` bytes.
std::vector<uint8_t> udp4(uint32_t payload, int vlans = 0, uint16_t sport = 40000,
                          uint16_t dport = 9000) {
  size_t l2 = 14 + 4 * vlans;
  std::vector<uint8_t> f(l2 + 20 + 8 + payload, 0);
  size_t off = 12;
  for (int i = 0; i < vlans; i++, off += 4) put16(f, off, i == 0 && vlans == 2 ? 0x88a8 : 0x8100);
  put16(f, off, 0x0800);
  uint8_t* ip = &f[l2];
  ip[0] = 0x45;
  put16(f, l2 + 2, static_cast<uint16_t>(20 + 8 + payload));
  ip[8] = 64;
  ip[9] = 17;
  uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  put16(f, l2 + 20, sport);
  put16(f, l2 + 22, dport);
  put16(f, l2 + 24, static_cast<uint16_t>(8 + payload));
  for (uint32_t i = 0; i < payload; i++) f[l2 + 28 + i] = static_cast<uint8_t>(i);
  return f;
}

std::vector<uint8_t> udp6(uint32_t payload, std::vector<uint8_t> ext = {},
                          uint8_t first_next = 17) {
  std::vector<uint8_t> f(14 + 40 + ext.size() + 8 + payload, 0);
  put16(f, 12, 0x86dd);
  uint8_t* ip = &f[14];
  ip[0] = 0x60;
  put16(f, 18, static_cast<uint16_t>(ext.size() + 8 + payload));
  ip[6] = first_next;
  ip[7] = 64;
  ip[8] = 0x20;
  ip[39] = 2;
  ip[23] = 1;
  if (!ext.empty()) std::memcpy(&f[54], ext.data(), ext.size());
  size_t u = 54 + ext.size();
  put16(f, u, 5000);
  put16(f, u + 2, 6000);
  put16(f, u + 4, static_cast<uint16_t>(8 + payload));
  return f;
}

ParsedPacket parse(const std::vector<uint8_t>& f) {
  ParsedPacket p;
  parse_packet(f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), &p);
  return p;
}

}  // namespace

TEST_CASE("ipv4 udp: ports, addresses and payload location") {
  auto f = udp4(100);
  ParsedPacket p = parse(f);
  CHECK(p.l3 == L3::ipv4);
  CHECK(p.is_udp);
  CHECK(p.src_port == 40000);
  CHECK(p.dst_port == 9000);
  CHECK(p.payload_off == 42);
  CHECK(p.payload_len == 100);
  CHECK(p.src_addr[0] == 10);
  CHECK(p.dst_addr[3] == 2);
  CHECK(p.dst_addr[4] == 0);
}

TEST_CASE("vlan and qinq tags shift the headers") {
  ParsedPacket p = parse(udp4(10, 1));
  CHECK(p.is_udp);
  CHECK(p.payload_off == 46);
  p = parse(udp4(10, 2));
  CHECK(p.is_udp);
  CHECK(p.payload_off == 50);
  CHECK(p.payload_len == 10);
}

TEST_CASE("ethernet padding is not payload: the UDP length decides") {
  auto f = udp4(2);
  f.resize(60, 0xee);  // minimum frame, padded
  ParsedPacket p = parse(f);
  CHECK(p.is_udp);
  CHECK(p.payload_len == 2);
}

TEST_CASE("ipv4 fragments, bad versions, short headers are not udp") {
  auto f = udp4(20);
  f[14 + 6] = 0x20;  // MF
  CHECK_FALSE(parse(f).is_udp);
  CHECK(parse(f).l3 == L3::ipv4);
  f = udp4(20);
  f[14 + 7] = 1;  // offset 8
  CHECK_FALSE(parse(f).is_udp);
  f = udp4(20);
  f[14] = 0x44;  // IHL 4
  CHECK(parse(f).l3 == L3::none);
  f = udp4(20);
  f[14] = 0x55;  // version 5
  CHECK(parse(f).l3 == L3::none);
  f = udp4(20);
  put16(f, 14 + 2, 2000);  // IP total beyond the frame
  CHECK(parse(f).l3 == L3::none);
  f = udp4(20);
  put16(f, 14 + 24, 7);  // UDP length below its header
  CHECK_FALSE(parse(f).is_udp);
  f = udp4(20);
  put16(f, 14 + 24, 8 + 21);  // UDP length beyond the IP datagram
  CHECK_FALSE(parse(f).is_udp);
}

TEST_CASE("truncated first segment: headers beyond avail are never read") {
  auto f = udp4(100);
  for (uint32_t avail = 0; avail < 42; avail++) {
    ParsedPacket p;
    parse_packet(f.data(), avail, static_cast<uint32_t>(f.size()), &p);
    CHECK_FALSE(p.is_udp);
  }
  ParsedPacket p;
  parse_packet(f.data(), 42, static_cast<uint32_t>(f.size()), &p);
  CHECK(p.is_udp);  // payload may continue in later segments
  CHECK(p.payload_len == 100);
}

TEST_CASE("ipv6 udp, with skippable extension headers, not through fragments") {
  ParsedPacket p = parse(udp6(64));
  CHECK(p.l3 == L3::ipv6);
  CHECK(p.is_udp);
  CHECK(p.payload_off == 62);
  CHECK(p.payload_len == 64);
  CHECK(p.src_addr[0] == 0x20);
  CHECK(p.dst_addr[15] == 2);
  std::vector<uint8_t> hbh(16, 0);
  hbh[0] = 60;  // next: destination options
  hbh[1] = 0;   // 8 bytes
  hbh[8] = 17;  // dest opts: next UDP, 8 bytes
  p = parse(udp6(30, hbh, 0));
  CHECK(p.is_udp);
  CHECK(p.payload_off == 14 + 40 + 16 + 8);
  CHECK(p.dst_port == 6000);
  // An extension header claiming to run past the datagram.
  std::vector<uint8_t> bad(8, 0);
  bad[0] = 17;
  bad[1] = 200;
  p = parse(udp6(30, bad, 0));
  CHECK_FALSE(p.is_udp);
  CHECK(p.kind == PacketKind::malformed);
}

TEST_CASE("ipv6 atomic fragment (offset 0, M clear) is a whole datagram, as Linux has it") {
  std::vector<uint8_t> frag(8, 0);
  frag[0] = 17;
  frag[4] = 0xab;  // identification: irrelevant
  frag[3] = 0x06;  // the two reserved bits set: still atomic
  ParsedPacket p = parse(udp6(30, frag, 44));
  CHECK(p.is_udp);
  CHECK(p.kind == PacketKind::udp);
  CHECK(p.payload_off == 14 + 40 + 8 + 8);
  CHECK(p.payload_len == 30);
  CHECK(p.dst_port == 6000);
  CHECK(p.l4_off == 14 + 48);
  CHECK(p.l3_len == 48);
  // Behind a hop-by-hop header too.
  std::vector<uint8_t> hbh_frag(16, 0);
  hbh_frag[0] = 44;   // hop-by-hop, next: fragment
  hbh_frag[8] = 17;   // fragment, next: UDP, offset 0, M 0
  p = parse(udp6(30, hbh_frag, 0));
  CHECK(p.is_udp);
  CHECK(p.payload_off == 14 + 40 + 16 + 8);
}

TEST_CASE("ipv6 fragments: offset, length and M of a UDP fragment") {
  std::vector<uint8_t> frag(8, 0);
  frag[0] = 17;
  frag[3] = 0x01;  // offset 0, M: the first fragment
  ParsedPacket p = parse(udp6(32, frag, 44));
  CHECK_FALSE(p.is_udp);
  CHECK(p.kind == PacketKind::fragment);
  CHECK(p.l4_proto == 17);
  CHECK(p.l3 == L3::ipv6);
  CHECK(p.l3_off == 14);
  CHECK(p.l3_len == 48);
  CHECK(p.frag_offset == 0);
  CHECK(p.frag_more);
  CHECK(p.frag_len == 8 + 32);  // the UDP header travels in the first one
  CHECK(fragment_refusal(p) == nullptr);
  CHECK(fragment_refusal(parse(udp6(30, frag, 44))) != nullptr);  // 38: not a multiple of 8
  frag[3] = 0x00;
  frag[2] = 0x05;  // offset 0x0500 >> 3 units = 1280 bytes, M clear: the last
  p = parse(udp6(30, frag, 44));
  CHECK(p.kind == PacketKind::fragment);
  CHECK(p.frag_offset == 1280);
  CHECK_FALSE(p.frag_more);
  CHECK(fragment_refusal(p) == nullptr);
  // A fragment of another protocol is not reassembled: other.
  frag[0] = 58;  // ICMPv6
  p = parse(udp6(30, frag, 44));
  CHECK(p.kind == PacketKind::other);
  CHECK(p.l4_proto == 58);
  // Behind a destination-options header: rte_ip_frag cannot take it.
  std::vector<uint8_t> dst_frag(16, 0);
  dst_frag[0] = 44;
  dst_frag[8] = 17;
  dst_frag[11] = 0x09;  // offset 8, M
  p = parse(udp6(24, dst_frag, 60));
  CHECK(p.kind == PacketKind::fragment);
  CHECK(p.l3_len == 56);
  CHECK(p.frag_offset == 8);
  CHECK(fragment_refusal(p) != nullptr);
  // A fragment header cut short.
  std::vector<uint8_t> f = udp6(0, {}, 44);
  put16(f, 18, 4);
  f.resize(14 + 40 + 4);
  CHECK(parse(f).kind == PacketKind::malformed);
}

TEST_CASE("ipv4 fragments: offset, length and MF; reassembly refuses impossible ones") {
  auto f = udp4(100);
  f[14 + 6] = 0x20;  // MF, offset 0
  ParsedPacket p = parse(f);
  CHECK(p.kind == PacketKind::fragment);
  CHECK(p.frag_offset == 0);
  CHECK(p.frag_more);
  CHECK(p.frag_len == 108);
  CHECK(p.l3_len == 20);
  CHECK(fragment_refusal(p) != nullptr);  // 108 % 8 != 0 with more to come
  f = udp4(96);
  f[14 + 6] = 0x20;
  p = parse(f);
  CHECK(fragment_refusal(p) == nullptr);
  // The last fragment at offset 8 * 0x1fff: its end passes 65535.
  f = udp4(96);
  put16(f, 14 + 6, 0x1fff);
  p = parse(f);
  CHECK(p.frag_offset == 65528);
  CHECK_FALSE(p.frag_more);
  CHECK(fragment_refusal(p) != nullptr);
  // Only IP header, no data.
  f = udp4(0);
  put16(f, 14 + 2, 20);
  f[14 + 7] = 1;
  p = parse(f);
  CHECK(p.kind == PacketKind::fragment);
  CHECK(p.frag_len == 0);
  CHECK(fragment_refusal(p) != nullptr);
  // A TCP fragment: other.
  f = udp4(20);
  f[14 + 9] = 6;
  f[14 + 6] = 0x20;
  CHECK(parse(f).kind == PacketKind::other);
}

TEST_CASE("kinds: malformed headers versus frames that are simply not UDP") {
  CHECK(parse(udp4(10)).kind == PacketKind::udp);
  std::vector<uint8_t> tiny(13, 0);
  CHECK(parse(tiny).kind == PacketKind::malformed);
  auto f = udp4(10);
  f[14 + 9] = 6;  // TCP
  CHECK(parse(f).kind == PacketKind::other);
  CHECK(parse(f).l3 == L3::ipv4);
  f = udp4(10);
  f[14] = 0x44;
  CHECK(parse(f).kind == PacketKind::malformed);
  f = udp4(10);
  put16(f, 14 + 24, 8 + 11);
  CHECK(parse(f).kind == PacketKind::malformed);
  // A VLAN tag cut short.
  f = udp4(10, 1);
  f.resize(17);
  CHECK(parse(f).kind == PacketKind::malformed);
  // Offsets of a whole datagram.
  ParsedPacket p = parse(udp4(10, 2));
  CHECK(p.l3_off == 22);
  CHECK(p.l3_len == 20);
  CHECK(p.l4_off == 42);
  p = parse(udp6(10));
  CHECK(p.l3_off == 14);
  CHECK(p.l3_len == 40);
  CHECK(p.l4_off == 54);
}

TEST_CASE("non-ip frames parse to nothing") {
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  ParsedPacket p = parse(arp);
  CHECK(p.l3 == L3::none);
  CHECK_FALSE(p.is_udp);
  CHECK(p.kind == PacketKind::other);
}
