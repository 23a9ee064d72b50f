// SPDX-License-Identifier: MIT
// zcrxd's own options: defaults, ranges, unknown options, --help detection.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "options.h"

using namespace zcrxd;

namespace {

int run(std::vector<std::string> args, Options* o) {
  args.insert(args.begin(), "zcrxd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  FILE* devnull = std::fopen("/dev/null", "w");
  int rc = parse_options(static_cast<int>(args.size()), argv.data(), o, devnull);
  std::fclose(devnull);
  return rc;
}

}  // namespace

TEST_CASE("defaults follow the design") {
  setenv("XDG_RUNTIME_DIR", "/tmp/xdg", 1);
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.port == 0);
  CHECK(o.queue == 0);
  CHECK(o.burst == 32);
  CHECK(o.socket_mode == 0600);
  CHECK(o.socket_path == "/tmp/xdg/zcrx/zcrxd.sock");
  CHECK_FALSE(o.rx_timestamp);
  unsetenv("XDG_RUNTIME_DIR");
  Options o2;
  REQUIRE(run({}, &o2) == 0);
  CHECK(o2.socket_path == "/run/zcrx/zcrxd.sock");
}

TEST_CASE("every option parses") {
  Options o;
  REQUIRE(run({"--port", "2", "--queue", "3", "--socket", "/tmp/s", "--socket-mode",
               "660", "--socket-group", "wheel", "--burst", "64", "--stats", "5",
               "--rx-timestamp", "--rx-desc", "512", "--rx-gate", "2"},
              &o) == 0);
  CHECK(o.port == 2);
  CHECK(o.queue == 3);
  CHECK(o.socket_path == "/tmp/s");
  CHECK(o.socket_mode == 0660);
  CHECK(o.socket_group == "wheel");
  CHECK(o.burst == 64);
  CHECK(o.stats_seconds == 5);
  CHECK(o.rx_timestamp);
  CHECK(o.rx_desc == 512);
  CHECK(o.rx_gate == 2);
}

TEST_CASE("bad values and unknown options are -EINVAL") {
  Options o;
  CHECK(run({"--burst", "0"}, &o) == -EINVAL);
  CHECK(run({"--burst", "513"}, &o) == -EINVAL);
  CHECK(run({"--burst", "-1"}, &o) == -EINVAL);
  CHECK(run({"--port", "x"}, &o) == -EINVAL);
  CHECK(run({"--socket-mode", "9"}, &o) == -EINVAL);
  CHECK(run({"--socket-mode", "1777"}, &o) == -EINVAL);
  CHECK(run({"--bogus"}, &o) == -EINVAL);
  CHECK(run({"stray"}, &o) == -EINVAL);
  CHECK(run({"--socket", std::string(200, 'a')}, &o) == -EINVAL);
}

TEST_CASE("--help is seen after -- or without --, not inside EAL args") {
  std::vector<std::string> a = {"zcrxd", "--no-huge", "--", "--help"};
  std::vector<char*> v;
  for (auto& s : a) v.push_back(s.data());
  CHECK(wants_help(4, v.data()));
  std::vector<std::string> b = {"zcrxd", "--help"};
  std::vector<char*> w;
  for (auto& s : b) w.push_back(s.data());
  CHECK(wants_help(2, w.data()));
  std::vector<std::string> c = {"zcrxd", "--no-huge", "--", "--port", "1"};
  std::vector<char*> x;
  for (auto& s : c) x.push_back(s.data());
  CHECK_FALSE(wants_help(5, x.data()));
}
