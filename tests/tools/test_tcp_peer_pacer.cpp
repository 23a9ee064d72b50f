// SPDX-License-Identifier: MIT
// Pacer: credit accrues at the rate, never beyond the burst; spending
// takes it away; wait_us says when the next chunk is allowed; over a long
// run the bytes allowed equal rate x time. And --rate's parsing.
#include <doctest/doctest.h>

#include <initializer_list>
#include <vector>

#include "tcp_peer_options.h"
#include "tcp_peer_pacer.h"

using zcrx::tools::Pacer;

TEST_CASE("an unlimited pacer allows everything at once") {
  Pacer p;
  CHECK_FALSE(p.limited());
  CHECK(p.allowance(0) == UINT64_MAX);
  CHECK(p.wait_us(1 << 20, 0) == 0);
}

TEST_CASE("credit accrues at the rate and is capped at the burst") {
  Pacer p(1e6, 4000, 1000);  // 1 MB/s = 1 byte per us
  CHECK(p.limited());
  CHECK(p.allowance(1000) == 0);  // starts empty
  CHECK(p.allowance(1500) == 500);
  CHECK(p.allowance(1400) == 500);  // a clock going back adds nothing
  CHECK(p.allowance(100000) == 4000);
  p.spend(3000);
  CHECK(p.allowance(100000) == 1000);
  p.spend(5000);  // more than there was: empty, not negative
  CHECK(p.allowance(100000) == 0);
  CHECK(p.allowance(100250) == 250);
}

TEST_CASE("wait_us names the moment the chunk is allowed") {
  Pacer p(2e6, 10000, 0);  // 2 bytes per us
  CHECK(p.wait_us(1000, 0) == 501);
  CHECK(p.allowance(501) >= 1000);
  CHECK(p.wait_us(1000, 501) == 0);
  p.spend(p.allowance(501));
  // A chunk above the burst is capped at the burst, or it would never come.
  CHECK(p.wait_us(50000, 501) == 5001);
}

TEST_CASE("a sender that spends whenever allowed gets rate x time") {
  Pacer p(125e6, 1 << 20, 0);  // 1 Gbit/s
  uint64_t sent = 0;
  for (uint64_t t = 0; t <= 1000000; t += 37) {  // one second in odd steps
    const uint64_t a = p.allowance(t);
    const uint64_t n = a > 65536 ? 65536 : a;
    p.spend(n);
    sent += n;
  }
  CHECK(sent > 124990000);
  CHECK(sent <= 125000000);
}

TEST_CASE("--rate is Gbit/s for senders only") {
  auto parse = [](std::initializer_list<const char*> args) {
    std::vector<char*> v{const_cast<char*>("tcp_peer")};
    for (const char* a : args) v.push_back(const_cast<char*>(a));
    return zcrx::tools::parse_peer_options(static_cast<int>(v.size()), v.data());
  };
  auto ok = parse({"--connect", "10.0.0.2:5000", "--rate", "2.5"});
  REQUIRE(ok.options);
  CHECK(ok.options->rate_gbit == doctest::Approx(2.5));
  CHECK(parse({"--connect", "10.0.0.2:5000"}).options->rate_gbit == 0);
  CHECK_FALSE(parse({"--connect", "10.0.0.2:5000", "--rate", "0"}).options);
  CHECK_FALSE(parse({"--connect", "10.0.0.2:5000", "--rate", "x"}).options);
  CHECK_FALSE(parse({"--connect", "10.0.0.2:5000", "--rate", "-1"}).options);
  const auto recv = parse({"--listen", "10.0.0.2:5000", "--rate", "1"});
  CHECK_FALSE(recv.options);
  CHECK(recv.error == "--rate is for --mode send");
}
