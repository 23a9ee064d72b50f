// SPDX-License-Identifier: MIT
// tcp_pattern.h: the stream is a function of (connection, offset) whatever
// the segmentation, carries its connection index in the first 8 bytes, and
// a flipped, displaced, repeated or foreign byte is caught and counted.
#include <doctest/doctest.h>

#include <cstdint>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tcp_pattern.h"
#include "tcp_pattern_c.h"

namespace {

std::vector<uint8_t> stream(uint64_t conn, uint64_t off, size_t len) {
  std::vector<uint8_t> v(len);
  tcp_pattern_fill(v.data(), len, conn, off);
  return v;
}

}  // namespace

TEST_CASE("tcp_pattern: the definition is pinned (other implementations interoperate)") {
  // Word 0 reads "ZCRXTCP1" for connection 0; later words are the
  // splitmix64 finaliser of (word * golden + (conn + 1) * 0xd1b5...).
  const auto s0 = stream(0, 0, 8);
  CHECK(std::string(s0.begin(), s0.end()) == "ZCRXTCP1");
  CHECK(tcp_pattern_word(0, 1) == 0x2d0f28c7e7e786b2ull);
  CHECK(tcp_pattern_word(7, 1) == 0x3b20f285f6126b46ull);
  CHECK(tcp_pattern_word(3, 12345) == 0x1f8cdda40f138fd0ull);
  const auto s2 = stream(2, 0, 32);
  const uint8_t want[32] = {0x58, 0x43, 0x52, 0x58, 0x54, 0x43, 0x50, 0x31, 0x6c, 0x89, 0x79,
                            0x5a, 0x23, 0x0d, 0x33, 0x18, 0x51, 0x70, 0x33, 0x38, 0x01, 0xdd,
                            0x76, 0xaa, 0x13, 0xfc, 0xd4, 0xa5, 0xf3, 0xaa, 0x33, 0x97};
  CHECK(std::vector<uint8_t>(want, want + 32) == s2);
}

TEST_CASE("tcp_pattern: fill agrees with byte() at every offset and alignment") {
  for (uint64_t conn : {0ull, 1ull, 41ull, 0xffffffffull, ~0ull}) {
    for (uint64_t off : {0ull, 1ull, 7ull, 8ull, 13ull, 4096ull, (1ull << 40) + 3}) {
      for (size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 1448u, 9000u}) {
        CAPTURE(conn);
        CAPTURE(off);
        CAPTURE(len);
        std::vector<uint8_t> v(len + 2, 0xEE);
        tcp_pattern_fill(v.data() + 1, len, conn, off);
        CHECK(v[0] == 0xEE);  // nothing written outside [dst, dst + len)
        CHECK(v[len + 1] == 0xEE);
        bool same = true;
        for (size_t i = 0; i < len; i++) same &= v[1 + i] == tcp_pattern_byte(conn, off + i);
        CHECK(same);
        CHECK(tcp_pattern_count_mismatches(v.data() + 1, len, conn, off) == 0);
        CHECK(tcp_pattern_first_mismatch(v.data() + 1, len, conn, off) == len);
      }
    }
  }
}

TEST_CASE("tcp_pattern: any segmentation of a stream gives the same bytes") {
  const uint64_t conn = 5;
  const auto whole = stream(conn, 0, 20000);
  // Segment sizes of every residue mod 8, as a TCP receiver would see them.
  std::vector<uint8_t> pieces(whole.size());
  size_t off = 0;
  for (size_t seg = 1; off < pieces.size(); seg = seg * 3 % 1501 + 1) {
    size_t n = std::min(seg, pieces.size() - off);
    tcp_pattern_fill(pieces.data() + off, n, conn, off);
    CHECK(tcp_pattern_count_mismatches(whole.data() + off, n, conn, off) == 0);
    off += n;
  }
  CHECK(pieces == whole);
}

TEST_CASE("tcp_pattern: the first 8 bytes give the connection index back") {
  for (uint64_t conn : {0ull, 1ull, 2ull, 1000ull, 0x123456789abcdefull, ~0ull}) {
    const auto s = stream(conn, 0, 64);
    CHECK(tcp_pattern_conn_of(s.data()) == conn);
  }
}

TEST_CASE("tcp_pattern: a flipped byte is counted once and found at its index") {
  const uint64_t conn = 9;
  for (uint64_t off : {0ull, 3ull, 8ull, 1000001ull}) {
    const size_t len = 200;
    for (size_t i = 0; i < len; i++) {
      auto v = stream(conn, off, len);
      v[i] ^= static_cast<uint8_t>(1u << (i % 8));
      if (tcp_pattern_count_mismatches(v.data(), len, conn, off) != 1 ||
          tcp_pattern_first_mismatch(v.data(), len, conn, off) != i) {
        CAPTURE(off);
        CAPTURE(i);
        FAIL("flip not counted once at its index");
      }
    }
  }
  // Every byte changed: every byte counted, whatever the alignment.
  for (uint64_t off : {0ull, 5ull}) {
    auto v = stream(conn, off, 100);
    for (auto& b : v) b = static_cast<uint8_t>(~b);
    CHECK(tcp_pattern_count_mismatches(v.data(), 100, conn, off) == 100);
    CHECK(tcp_pattern_first_mismatch(v.data(), 100, conn, off) == 0);
  }
}

TEST_CASE("tcp_pattern: a segment at the wrong offset or of another connection fails") {
  const size_t mss = 1448;
  const auto seg = stream(3, 10 * mss, mss);
  for (int64_t shift : {-8 * 1448, -1448, -8, -1, 1, 7, 8, 1448, 65536}) {
    CAPTURE(shift);
    const uint64_t at = static_cast<uint64_t>(static_cast<int64_t>(10 * mss) + shift);
    // Nearly every byte differs: a stray match is a 1-in-256 event per byte.
    CHECK(tcp_pattern_count_mismatches(seg.data(), mss, 3, at) > mss * 9 / 10);
  }
  for (uint64_t other : {0ull, 2ull, 4ull, 1ull << 32}) {
    CAPTURE(other);
    CHECK(tcp_pattern_count_mismatches(seg.data(), mss, other, 10 * mss) > mss * 9 / 10);
  }
}

TEST_CASE("tcp_pattern: no two words of one stream are equal (a repeat is always caught)") {
  for (uint64_t conn : {0ull, 77ull}) {
    std::set<uint64_t> seen;
    for (uint64_t w = 0; w < 200000; w++) seen.insert(tcp_pattern_word(conn, w));
    CHECK(seen.size() == 200000);
  }
}

TEST_CASE("tcp_pattern: C and C++ compilations produce the same stream") {
  for (uint64_t off : {0ull, 3ull, 4099ull}) {
    std::vector<uint8_t> c(3000);
    tcp_pattern_c_fill(c.data(), c.size(), 11, off);
    CHECK(c == stream(11, off, c.size()));
    c[17] ^= 0x40;
    CHECK(tcp_pattern_c_count_mismatches(c.data(), c.size(), 11, off) == 1);
  }
}
