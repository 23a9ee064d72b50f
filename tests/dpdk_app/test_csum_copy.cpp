// SPDX-License-Identifier: MIT
// The checksum pieces of the network layer against the reference sum:
// InetSum over spans of every parity,
// copy_and_sum for every length and alignment, and spans combined with
// csum_at/csum_add at odd and even stream positions.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "checksum.h"
#include "csum_copy.h"
#include "net_test_util.h"

using namespace zcrxd;
using zcrxd::test::Bytes;
using zcrxd::test::ref_sum;

namespace {

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

}  // namespace

TEST_CASE("InetSum over spans of any parity equals the sum of the whole") {
  std::mt19937 rng(1);
  for (int round = 0; round < 500; round++) {
    const Bytes data = random_bytes(rng, rng() % 300);
    InetSum s;
    size_t at = 0;
    while (at < data.size()) {
      const size_t n = std::min<size_t>(data.size() - at, rng() % 9);
      s.add(data.data() + at, n);
      at += n;
    }
    CHECK(s.length() == data.size());
    CHECK(s.fold() == ref_sum({data}));
  }
  // All ones in, all ones out; nothing in, zero out.
  const Bytes ones(64, 0xff);
  InetSum s;
  s.add(ones.data(), ones.size());
  CHECK(s.fold() == 0xffff);
  CHECK(InetSum{}.fold() == 0);
}

TEST_CASE("the IPv4 header checksum of a known header") {
  // RFC 1071-style worked example: a 20-byte header whose checksum is 0xb861.
  uint8_t ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK(ipv4_header_checksum(ip, 20) == 0xb861);
  ip[10] = 0xb8, ip[11] = 0x61;
  CHECK(ipv4_header_checksum_ok(ip, 20));
  ip[19] ^= 1;
  CHECK_FALSE(ipv4_header_checksum_ok(ip, 20));
}

TEST_CASE("copy_and_sum copies exactly and sums like the reference, any length and alignment") {
  std::mt19937 rng(2);
  for (size_t n = 0; n <= 300; n++) {
    for (size_t src_off : {0, 1, 3}) {
      for (size_t dst_off : {0, 1, 2, 7}) {
        const Bytes src = random_bytes(rng, n + src_off);
        Bytes dst(n + dst_off + 8, 0xa5);
        const uint16_t sum = copy_and_sum(dst.data() + dst_off, src.data() + src_off, n);
        const Bytes copied(dst.begin() + static_cast<long>(dst_off),
                           dst.begin() + static_cast<long>(dst_off + n));
        REQUIRE(copied == Bytes(src.begin() + static_cast<long>(src_off), src.end()));
        // Nothing written outside the destination span.
        for (size_t i = 0; i < dst_off; i++) REQUIRE(dst[i] == 0xa5);
        for (size_t i = dst_off + n; i < dst.size(); i++) REQUIRE(dst[i] == 0xa5);
        REQUIRE(sum == ref_sum({copied}));
      }
    }
  }
}

TEST_CASE("span sums placed at their stream position add up to the whole's") {
  std::mt19937 rng(3);
  for (int round = 0; round < 500; round++) {
    const Bytes data = random_bytes(rng, rng() % 2000);
    Bytes out(data.size());
    uint16_t total = 0;
    size_t at = 0;
    while (at < data.size()) {
      const size_t n = std::min<size_t>(data.size() - at, 1 + rng() % 700);
      total = csum_add(total, csum_at(copy_and_sum(out.data() + at, data.data() + at, n), at));
      at += n;
    }
    CHECK(out == data);
    // Equal as ones'-complement numbers: the same residue modulo 0xffff.
    CHECK(total % 0xffff == ref_sum({data}) % 0xffff);
  }
}
