// SPDX-License-Identifier: MIT
// frame_csum: headers found behind VLAN tags, the IPv4 header checksum of
// a published example, TCP/UDP checksums completed and verified over IPv4
// and IPv6 (a flipped byte fails), UDP's "no checksum", truncated frames.
#include <doctest/doctest.h>

#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "frame_csum.h"

using namespace zcrx::tools;

namespace {

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// An Ethernet + IPv4 + L4 frame with `payload` bytes, IPv4 header checksum
// filled in, L4 checksum left 0. `vlans` 802.1Q tags after the MACs.
std::vector<uint8_t> ipv4_frame(uint8_t proto, size_t payload, unsigned vlans = 0) {
  const size_t l4 = proto == IPPROTO_TCP ? 20 : 8;
  const size_t l3 = 14 + 4 * vlans;
  std::vector<uint8_t> f(l3 + 20 + l4 + payload);
  for (int i = 0; i < 12; i++) f[i] = static_cast<uint8_t>(0x10 + i);
  for (unsigned v = 0; v < vlans; v++) {
    put16(f, 12 + 4 * v, 0x8100);
    put16(f, 14 + 4 * v, static_cast<uint16_t>(100 + v));
  }
  put16(f, l3 - 2, 0x0800);
  uint8_t* ip = f.data() + l3;
  ip[0] = 0x45;
  put16(f, l3 + 2, static_cast<uint16_t>(20 + l4 + payload));
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = proto;
  const uint8_t addrs[8] = {10, 77, 0, 1, 10, 77, 0, 2};
  std::memcpy(ip + 12, addrs, 8);
  put16(f, l3 + 10, csum_fold(csum_partial(ip, 20, 0)));
  uint8_t* seg = ip + 20;
  put16(f, l3 + 20, 40000);
  put16(f, l3 + 22, 5001);
  if (proto == IPPROTO_TCP) {
    seg[12] = 0x50;
    seg[13] = 0x18;
  } else {
    put16(f, l3 + 24, static_cast<uint16_t>(8 + payload));
  }
  for (size_t i = 0; i < payload; i++) seg[l4 + i] = static_cast<uint8_t>(i * 7 + 3);
  return f;
}

std::vector<uint8_t> ipv6_tcp_frame(size_t payload) {
  std::vector<uint8_t> f(14 + 40 + 20 + payload);
  put16(f, 12, 0x86dd);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x60;
  put16(f, 18, static_cast<uint16_t>(20 + payload));
  ip[6] = IPPROTO_TCP;
  ip[7] = 64;
  for (int i = 0; i < 32; i++) ip[8 + i] = static_cast<uint8_t>(0xfd + i);
  ip[40 + 12] = 0x50;
  for (size_t i = 0; i < payload; i++) ip[60 + i] = static_cast<uint8_t>(i);
  return f;
}

}  // namespace

TEST_CASE("frame_csum: the IPv4 header checksum of the classic example") {
  // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7
  const uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                           0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(csum_fold(csum_partial(hdr, 20, 0)) == 0xb861);
  // Odd lengths pad with a zero byte.
  const uint8_t odd[3] = {0x01, 0x02, 0x03};
  CHECK(csum_fold(csum_partial(odd, 3, 0)) == static_cast<uint16_t>(~(0x0102 + 0x0300)));
}

TEST_CASE("frame_csum: parse finds IP and L4 behind zero, one or two VLAN tags") {
  for (unsigned vlans : {0u, 1u, 2u}) {
    auto f = ipv4_frame(IPPROTO_TCP, 100, vlans);
    const auto l = parse_frame(f.data(), f.size());
    REQUIRE(l);
    CHECK(l->vlan_tags == vlans);
    CHECK(l->ipv4);
    CHECK(l->l3_off == 14 + 4 * vlans);
    CHECK(l->l4_proto == IPPROTO_TCP);
    CHECK(l->l4_off == l->l3_off + 20);
    CHECK(l->l4_len == 120);
    CHECK(l->ip_end == f.size());
  }
  // Ethernet padding after the IP packet is not part of it.
  auto f = ipv4_frame(IPPROTO_UDP, 2);
  const size_t ip_end = f.size();
  f.resize(60, 0);
  const auto l = parse_frame(f.data(), f.size());
  REQUIRE(l);
  CHECK(l->ip_end == ip_end);
  CHECK(l->l4_len == 10);
}

TEST_CASE("frame_csum: completed TCP/UDP checksums verify; any flipped byte fails") {
  for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
    for (size_t payload : {0u, 1u, 2u, 1447u, 1448u, 8960u}) {
      CAPTURE(int{proto});
      CAPTURE(payload);
      auto f = ipv4_frame(proto, payload);
      const auto l = parse_frame(f.data(), f.size());
      REQUIRE(l);
      REQUIRE(complete_l4_checksum(f.data(), f.size()));
      auto s = check_checksums(f.data(), *l);
      CHECK(s.ip_checked);
      CHECK(s.ip_ok);
      CHECK(s.l4_checked);
      CHECK(s.l4_ok);
      // A flipped byte in the segment or in the pseudo header (addresses).
      for (size_t at : {l->l4_off + 4, f.size() - 1, l->l3_off + 15}) {
        auto g = f;
        g[at] ^= 0x20;
        CHECK_FALSE(check_checksums(g.data(), *l).l4_ok);
      }
      auto g = f;
      g[l->l3_off + 8] ^= 1;  // TTL: the IPv4 header checksum fails
      CHECK_FALSE(check_checksums(g.data(), *l).ip_ok);
    }
  }
}

TEST_CASE("frame_csum: a partial checksum (pseudo header only, as offload leaves it) is completed") {
  auto f = ipv4_frame(IPPROTO_TCP, 500);
  const auto l = parse_frame(f.data(), f.size());
  REQUIRE(l);
  // What the kernel leaves for the NIC: the folded pseudo-header sum.
  uint64_t ph = csum_partial(f.data() + l->l3_off + 12, 8, 0) + IPPROTO_TCP + l->l4_len;
  const uint16_t partial = static_cast<uint16_t>(~csum_fold(ph));
  put16(f, l->l4_off + 16, partial);
  CHECK_FALSE(check_checksums(f.data(), *l).l4_ok);
  REQUIRE(complete_l4_checksum(f.data(), f.size()));
  CHECK(check_checksums(f.data(), *l).l4_ok);
}

TEST_CASE("frame_csum: UDP over IPv4 with checksum 0 has none; a computed 0 is sent as 0xffff") {
  auto f = ipv4_frame(IPPROTO_UDP, 40);
  const auto l = parse_frame(f.data(), f.size());
  REQUIRE(l);
  auto s = check_checksums(f.data(), *l);  // field still 0
  CHECK(s.l4_checked);
  CHECK(s.l4_ok);
  REQUIRE(complete_l4_checksum(f.data(), f.size()));
  const size_t field = l->l4_off + 6;
  CHECK((f[field] | f[field + 1]) != 0);
  // Find a payload whose checksum comes out 0: fix the last two bytes.
  const size_t last = f.size() - 2;
  f[field] = f[field + 1] = 0;
  f[last] = f[last + 1] = 0;
  const uint16_t c = csum_fold(csum_partial(f.data() + l->l3_off + 12, 8, 0) + IPPROTO_UDP +
                               l->l4_len + csum_partial(f.data() + l->l4_off, l->l4_len, 0));
  // Adding ~c... makes the sum 0xffff, whose complement is 0.
  put16(f, last, c);
  REQUIRE(complete_l4_checksum(f.data(), f.size()));
  CHECK(f[field] == 0xff);
  CHECK(f[field + 1] == 0xff);
  CHECK(check_checksums(f.data(), *l).l4_ok);
}

TEST_CASE("frame_csum: IPv6 TCP checksums complete and verify") {
  auto f = ipv6_tcp_frame(333);
  const auto l = parse_frame(f.data(), f.size());
  REQUIRE(l);
  CHECK(l->ipv6);
  CHECK(l->l4_len == 353);
  REQUIRE(complete_l4_checksum(f.data(), f.size()));
  auto s = check_checksums(f.data(), *l);
  CHECK_FALSE(s.ip_checked);
  CHECK(s.l4_ok);
  f[14 + 8 + 31] ^= 4;  // destination address
  CHECK_FALSE(check_checksums(f.data(), *l).l4_ok);
}

TEST_CASE("frame_csum: truncated frames, fragments and non-IP frames") {
  auto f = ipv4_frame(IPPROTO_TCP, 100);
  CHECK_FALSE(parse_frame(f.data(), f.size() - 1));  // IP claims more than the frame
  CHECK_FALSE(parse_frame(f.data(), 13));
  auto frag = ipv4_frame(IPPROTO_UDP, 100);
  frag[14 + 6] = 0x20;  // MF
  const auto l = parse_frame(frag.data(), frag.size());
  REQUIRE(l);
  CHECK(l->fragment);
  CHECK_FALSE(check_checksums(frag.data(), *l).l4_checked);
  CHECK_FALSE(complete_l4_checksum(frag.data(), frag.size()));
  std::vector<uint8_t> arp(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  const auto la = parse_frame(arp.data(), arp.size());
  REQUIRE(la);
  CHECK(la->ethertype == 0x0806);
  CHECK_FALSE(la->ipv4);
  CHECK_FALSE(complete_l4_checksum(arp.data(), arp.size()));
}
