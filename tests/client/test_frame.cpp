// SPDX-License-Identifier: MIT
// zcrx_rx's frame parser (raw flows): where the UDP payload is, and every
// frame that is not one whole datagram refused.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "frame.h"
#include "verify.h"
#include "zcrx/pattern.h"

namespace {

// Ethernet (+ `tags` VLAN tags) + IPv4 or IPv6 + UDP + a pattern payload.
std::vector<uint8_t> udp_frame(size_t payload, bool v6, int tags, uint64_t seq = 5) {
  const size_t l3 = v6 ? 40 : 20;
  std::vector<uint8_t> f(14 + 4 * tags + l3 + 8 + payload, 0);
  size_t at = 12;
  for (int t = 0; t < tags; t++, at += 4) {
    f[at] = t == 0 && tags == 2 ? 0x88 : 0x81;
    f[at + 1] = t == 0 && tags == 2 ? 0xa8 : 0x00;
    f[at + 3] = 7;  // VLAN id
  }
  f[at] = v6 ? 0x86 : 0x08;
  f[at + 1] = v6 ? 0xdd : 0x00;
  at += 2;
  const size_t udp_len = 8 + payload;
  if (v6) {
    f[at] = 0x60;
    f[at + 4] = static_cast<uint8_t>(udp_len >> 8);
    f[at + 5] = static_cast<uint8_t>(udp_len);
    f[at + 6] = 17;
  } else {
    const size_t total = 20 + udp_len;
    f[at] = 0x45;
    f[at + 2] = static_cast<uint8_t>(total >> 8);
    f[at + 3] = static_cast<uint8_t>(total);
    f[at + 9] = 17;
  }
  at += l3;
  f[at + 4] = static_cast<uint8_t>(udp_len >> 8);
  f[at + 5] = static_cast<uint8_t>(udp_len);
  zcrx::pattern::fill(f.data() + at + 8, payload, seq);
  return f;
}

}  // namespace

TEST_CASE("frame: the UDP payload of IPv4 / IPv6 frames with 0, 1 or 2 VLAN tags") {
  zcrx_rx::Verifier v;
  for (bool v6 : {false, true})
    for (int tags = 0; tags <= 2; tags++) {
      CAPTURE(v6);
      CAPTURE(tags);
      auto f = udp_frame(1000, v6, tags);
      size_t off = 0, plen = 0;
      REQUIRE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
      CHECK(off == 14 + 4 * size_t(tags) + (v6 ? 40 : 20) + 8);
      CHECK(plen == 1000);
      CHECK(v.intact(f.data() + off, plen));
      // Ethernet padding after the datagram is not payload.
      f.resize(f.size() + 6, 0);
      REQUIRE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
      CHECK(plen == 1000);
    }
}

TEST_CASE("frame: anything that is not one whole datagram is refused") {
  size_t off = 0, plen = 0;
  auto ok = udp_frame(200, false, 1);
  const size_t ip = 18;
  // Truncated anywhere: a later segment or a short buffer.
  for (size_t len = 0; len < ok.size(); len++)
    CHECK_FALSE(zcrx_rx::udp_payload_of_frame(ok.data(), len, &off, &plen));
  auto f = ok;
  f[ip + 9] = 6;  // TCP
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[ip + 6] = 0x20;  // more fragments
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[ip + 7] = 0x10;  // a fragment offset
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[ip] = 0x44;  // IHL below 20 bytes
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[ip + 20 + 4] = 0xff;  // UDP length past the IP datagram
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[ip + 20 + 4] = 0;
  f[ip + 20 + 5] = 7;  // UDP length below its header
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  f = ok;
  f[16] = 0x08;
  f[17] = 0x06;  // ARP inside the tag
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(f.data(), f.size(), &off, &plen));
  // Three tags: more than zcrxd parses either.
  auto three = udp_frame(100, false, 2);
  three.insert(three.begin() + 12, {0x81, 0x00, 0x00, 0x07});
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(three.data(), three.size(), &off, &plen));
  auto v6 = udp_frame(100, true, 0);
  v6[14 + 6] = 0;  // hop-by-hop extension header
  CHECK_FALSE(zcrx_rx::udp_payload_of_frame(v6.data(), v6.size(), &off, &plen));
}
