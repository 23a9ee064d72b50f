// SPDX-License-Identifier: MIT
// The shared payload pattern: fill() output passes first_mismatch(), and a
// single flipped byte anywhere is caught (by first_mismatch, or for the
// sequence-number bytes by seq_of no longer matching).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "zcrx/pattern.h"

namespace pat = zcrx::pattern;

TEST_CASE("pattern: fill then first_mismatch reports an intact payload") {
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 64u, 255u, 256u, 257u, 1400u, 9000u}) {
    for (uint64_t seq : {0ull, 1ull, 255ull, 0x0123456789abcdefull, ~0ull}) {
      CAPTURE(len);
      CAPTURE(seq);
      std::vector<uint8_t> buf(len + 1, 0xEE);
      pat::fill(buf.data(), len, seq);
      CHECK(buf[len] == 0xEE);  // nothing written past len
      CHECK(pat::first_mismatch(buf.data(), len) == len);
      CHECK(pat::seq_of(buf.data(), len) == (len >= 8 ? seq : 0));
    }
  }
}

TEST_CASE("pattern: the first 8 bytes carry the sequence number little endian") {
  uint8_t b[16];
  pat::fill(b, sizeof b, 0x0807060504030201ull);
  for (int i = 0; i < 8; i++) CHECK(b[i] == i + 1);
}

TEST_CASE("pattern: a flipped payload byte is reported at its index") {
  for (size_t len : {9u, 64u, 300u, 1500u}) {
    std::vector<uint8_t> buf(len);
    const uint64_t seq = 1234567;
    for (size_t i = 8; i < len; i++) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
        pat::fill(buf.data(), len, seq);
        buf[i] ^= mask;
        if (pat::first_mismatch(buf.data(), len) != i) {
          CAPTURE(len);
          CAPTURE(i);
          CAPTURE(int{mask});
          FAIL("flip not reported at its index");
        }
      }
    }
  }
}

TEST_CASE("pattern: a flipped sequence byte breaks the payload or the sequence") {
  const size_t len = 64;
  const uint64_t seq = 0x1122334455667788ull;
  for (size_t i = 0; i < 8; i++) {
    CAPTURE(i);
    std::vector<uint8_t> buf(len);
    pat::fill(buf.data(), len, seq);
    buf[i] ^= 0x10;
    // The body is a function of the low seq byte only, so only byte 0 is
    // caught by first_mismatch; every flip changes the claimed sequence,
    // which a consumer checks against the one it expects.
    CHECK(pat::seq_of(buf.data(), len) != seq);
    if (i == 0) CHECK(pat::first_mismatch(buf.data(), len) < len);
  }
}

TEST_CASE("pattern: short payloads are all zero and a non-zero byte is caught") {
  for (size_t len = 1; len < 8; len++) {
    std::vector<uint8_t> buf(len, 0x55);
    pat::fill(buf.data(), len, 99);
    for (size_t i = 0; i < len; i++) CHECK(buf[i] == 0);
    for (size_t i = 0; i < len; i++) {
      pat::fill(buf.data(), len, 99);
      buf[i] = 1;
      CHECK(pat::first_mismatch(buf.data(), len) == i);
    }
  }
}

TEST_CASE("pattern: payloads of different sequence numbers differ") {
  std::vector<uint8_t> a(64), b(64);
  pat::fill(a.data(), 64, 10);
  pat::fill(b.data(), 64, 11);
  size_t diff = 0;
  for (size_t i = 8; i < 64; i++) diff += a[i] != b[i];
  CHECK(diff == 56);
}
