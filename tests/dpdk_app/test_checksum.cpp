// SPDX-License-Identifier: MIT
// The Internet checksum: a known IPv4 header, the sum of a byte stream fed
// in spans of every odd and even length equal to one slow reference sum,
// UDP checksums over IPv4 and IPv6 pseudo-headers written and verified,
// and any single flipped bit caught.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "checksum.h"

using zcrxd::InetSum;

namespace {

// RFC 1071 done the obvious way: big-endian 16-bit words, end-around carry.
uint16_t reference_sum(const std::vector<uint8_t>& b) {
  uint32_t s = 0;
  for (size_t i = 0; i < b.size(); i += 2) {
    uint32_t w = uint32_t{b[i]} << 8;
    if (i + 1 < b.size()) w |= b[i + 1];
    s += w;
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(s);
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

}  // namespace

TEST_CASE("a known IPv4 header: checksum written and verified") {
  uint8_t ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(zcrxd::ipv4_header_checksum(ip, 20) == 0xb861);
  CHECK_FALSE(zcrxd::ipv4_header_checksum_ok(ip, 20));
  ip[10] = 0xb8;
  ip[11] = 0x61;
  CHECK(zcrxd::ipv4_header_checksum_ok(ip, 20));
  ip[15] ^= 0x04;
  CHECK_FALSE(zcrxd::ipv4_header_checksum_ok(ip, 20));
}

TEST_CASE("spans of any length sum like the whole stream") {
  std::mt19937 rng(7);
  for (size_t len : {0u, 1u, 2u, 3u, 15u, 16u, 17u, 63u, 1500u, 9001u}) {
    const std::vector<uint8_t> data = random_bytes(rng, len);
    InetSum whole;
    whole.add(data.data(), data.size());
    CHECK(whole.fold() == reference_sum(data));
    CHECK(whole.length() == len);
    for (int round = 0; round < 50; round++) {
      InetSum parts;
      size_t at = 0;
      while (at < len) {
        size_t n = 1 + rng() % 37;
        if (round % 3 == 0) n = 1 + rng() % 3;  // many odd boundaries
        if (n > len - at) n = len - at;
        parts.add(data.data() + at, n);
        at += n;
      }
      REQUIRE(parts.fold() == reference_sum(data));
    }
  }
}

TEST_CASE("UDP over IPv4 and IPv6: the written checksum verifies; any flipped bit does not") {
  std::mt19937 rng(11);
  for (size_t addr_len : {size_t{4}, size_t{16}}) {
    const std::vector<uint8_t> src = random_bytes(rng, addr_len);
    const std::vector<uint8_t> dst = random_bytes(rng, addr_len);
    for (size_t payload : {0u, 1u, 2u, 333u, 1472u}) {
      std::vector<uint8_t> udp = random_bytes(rng, 8 + payload);
      const auto udp_len = static_cast<uint16_t>(udp.size());
      udp[4] = static_cast<uint8_t>(udp_len >> 8);
      udp[5] = static_cast<uint8_t>(udp_len);
      udp[6] = udp[7] = 0;
      // The reference: pseudo-header bytes then the datagram, one stream.
      std::vector<uint8_t> stream(src);
      stream.insert(stream.end(), dst.begin(), dst.end());
      const uint8_t tail[4] = {0, 17, static_cast<uint8_t>(udp_len >> 8),
                               static_cast<uint8_t>(udp_len)};
      stream.insert(stream.end(), tail, tail + 4);
      stream.insert(stream.end(), udp.begin(), udp.end());
      InetSum s = zcrxd::udp_pseudo_header(src.data(), dst.data(), addr_len, udp_len);
      s.add(udp.data(), udp.size());
      CHECK(s.fold() == reference_sum(stream));
      const uint16_t field = zcrxd::udp_checksum_field(s);
      CHECK(field != 0);
      udp[6] = static_cast<uint8_t>(field >> 8);
      udp[7] = static_cast<uint8_t>(field);
      InetSum v = zcrxd::udp_pseudo_header(src.data(), dst.data(), addr_len, udp_len);
      v.add(udp.data(), udp.size());
      CHECK(v.fold() == 0xffff);
      // The one-buffer check agrees (addresses back to back, as in the headers).
      std::vector<uint8_t> addrs(src);
      addrs.insert(addrs.end(), dst.begin(), dst.end());
      CHECK(zcrxd::udp_checksum_ok(addrs.data(), addrs.size(), udp.data(), udp_len));
      for (int flips = 0; flips < 20; flips++) {
        std::vector<uint8_t> bad = udp;
        bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        InetSum b = zcrxd::udp_pseudo_header(src.data(), dst.data(), addr_len, udp_len);
        b.add(bad.data(), bad.size());
        CHECK(b.fold() != 0xffff);
        CHECK_FALSE(zcrxd::udp_checksum_ok(addrs.data(), addrs.size(), bad.data(), udp_len));
      }
      // Another destination address: the pseudo-header covers it.
      std::vector<uint8_t> other = dst;
      other[addr_len - 1] ^= 1;
      InetSum o = zcrxd::udp_pseudo_header(src.data(), other.data(), addr_len, udp_len);
      o.add(udp.data(), udp.size());
      CHECK(o.fold() != 0xffff);
    }
  }
}
