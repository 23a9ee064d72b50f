// SPDX-License-Identifier: MIT
// impair_relay's command line: both-direction and per-direction
// impairments (later options win), and every refusal says why.
#include <doctest/doctest.h>

#include <initializer_list>
#include <vector>

#include "relay_options.h"

using zcrx::tools::kAtoB;
using zcrx::tools::kBtoA;
using zcrx::tools::RelayParse;

namespace {

RelayParse parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"impair_relay"};
  argv.insert(argv.end(), args);
  return zcrx::tools::parse_relay_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("relay options: the interfaces alone give a transparent bridge") {
  const auto r = parse({"--if-a", "ra", "--if-b", "rb"});
  REQUIRE(r.options);
  CHECK(r.options->if_a == "ra");
  CHECK(r.options->if_b == "rb");
  CHECK_FALSE(r.options->dir[kAtoB].any());
  CHECK_FALSE(r.options->dir[kBtoA].any());
  CHECK(r.options->seed == 1);
  CHECK(r.options->dir[kAtoB].reorder_frames == 3);
  CHECK(r.options->dir[kAtoB].reorder_us == 10000);
}

TEST_CASE("relay options: both directions, one direction, later wins") {
  const auto r = parse({"--if-a=ra", "--if-b", "rb", "--loss", "0.01", "--reorder", "0.05",
                        "--loss-ba", "0", "--delay-us-ab=250", "--jitter-us", "20",
                        "--reorder-frames-ba", "6", "--seed", "0x10", "--stats", "0.5"});
  REQUIRE(r.options);
  const auto& ab = r.options->dir[kAtoB];
  const auto& ba = r.options->dir[kBtoA];
  CHECK(ab.loss == 0.01);
  CHECK(ba.loss == 0);
  CHECK(ab.reorder == 0.05);
  CHECK(ba.reorder == 0.05);
  CHECK(ab.delay_us == 250);
  CHECK(ba.delay_us == 0);
  CHECK(ab.jitter_us == 20);
  CHECK(ba.jitter_us == 20);
  CHECK(ab.reorder_frames == 3);
  CHECK(ba.reorder_frames == 6);
  CHECK(r.options->seed == 16);
  CHECK(r.options->stats_s == 0.5);
}

TEST_CASE("relay options: flags and --help") {
  auto r = parse({"--if-a", "x", "--if-b", "y", "--impair-arp", "--keep-gro"});
  REQUIRE(r.options);
  CHECK(r.options->impair_arp);
  CHECK(r.options->keep_gro);
  CHECK_FALSE(r.options->see_outgoing);
  r = parse({"--if-a", "x", "--if-b", "y", "--see-outgoing"});
  REQUIRE(r.options);
  CHECK(r.options->see_outgoing);
  CHECK_FALSE(r.options->impair_arp);
  r = parse({"--help"});
  CHECK(r.help);
  CHECK_FALSE(r.options);
  CHECK(std::string(zcrx::tools::relay_usage()).find("--reorder-frames") != std::string::npos);
}

TEST_CASE("relay options: refusals name the problem") {
  struct Case {
    std::vector<const char*> args;
    const char* says;
  };
  const Case cases[] = {
      {{"--if-a", "x"}, "--if-a and --if-b are required"},
      {{"--if-a", "x", "--if-b", "x"}, "must differ"},
      {{"--if-a", "x", "--if-b", "y", "--loss", "1.5"}, "bad value for --loss"},
      {{"--if-a", "x", "--if-b", "y", "--loss-ab", "-0.1"}, "bad value for --loss-ab"},
      {{"--if-a", "x", "--if-b", "y", "--dup", "abc"}, "bad value for --dup"},
      {{"--if-a", "x", "--if-b", "y", "--delay-us", "-5"}, "bad value for --delay-us"},
      {{"--if-a", "x", "--if-b", "y", "--bogus", "1"}, "unknown option --bogus"},
      {{"--if-a", "x", "--if-b", "y", "--loss-xy", "1"}, "unknown option --loss-xy"},
      {{"--if-a", "x", "--if-b", "y", "--seed"}, "--seed needs a value"},
      {{"--if-a", "x", "--if-b", "y", "stray"}, "unexpected argument: stray"},
      {{"--if-a", "x", "--if-b", "y", "--keep-gro=1"}, "takes no value"},
      {{"--if-a", "x", "--if-b", "y", "--slots", "8"}, "--slots must be at least 64"},
      {{"--if-a", "x", "--if-b", "y", "--reorder", "0.1", "--reorder-us-ba", "0"},
       "--reorder-us-ba must be > 0"},
  };
  for (const auto& c : cases) {
    std::vector<const char*> argv{"impair_relay"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = zcrx::tools::parse_relay_options(static_cast<int>(argv.size()), argv.data());
    CAPTURE(c.says);
    CHECK_FALSE(r.options);
    CHECK(r.error.find(c.says) != std::string::npos);
  }
}
