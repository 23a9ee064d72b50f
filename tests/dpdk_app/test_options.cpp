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
  CHECK(o.queues.front() == 0);
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
  CHECK(o.queues.front() == 3);
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

TEST_CASE("--queue takes one number, a list and ranges, served in ascending order") {
  Options o;
  REQUIRE(run({"--queue", "3"}, &o) == 0);
  CHECK(o.queues == std::vector<uint16_t>{3});
  CHECK(o.queues.front() == 3);
  Options d;
  REQUIRE(run({}, &d) == 0);
  CHECK(d.queues == std::vector<uint16_t>{0});
  Options l;
  REQUIRE(run({"--queue", "0,1"}, &l) == 0);
  CHECK(l.queues == std::vector<uint16_t>{0, 1});
  Options r;
  REQUIRE(run({"--queue", "0-1"}, &r) == 0);
  CHECK(r.queues == std::vector<uint16_t>{0, 1});
  Options m;
  REQUIRE(run({"--queue", "7,2-4,0"}, &m) == 0);
  CHECK(m.queues == std::vector<uint16_t>{0, 2, 3, 4, 7});
  CHECK(m.queues.front() == 0);  // the first served queue
  Options s;
  REQUIRE(run({"--queue", "5-5"}, &s) == 0);
  CHECK(s.queues == std::vector<uint16_t>{5});
  Options big;
  REQUIRE(run({"--queue", "1008-1023"}, &big) == 0);  // 16 queues, the highest index
  CHECK(big.queues.size() == kMaxQueues);
  CHECK(big.queues.back() == kMaxQueueIndex);
}

TEST_CASE("--queue rejects duplicates, bad ranges, out-of-range and too many queues") {
  Options o;
  CHECK(run({"--queue", "1,1"}, &o) == -EINVAL);
  CHECK(run({"--queue", "0-2,2"}, &o) == -EINVAL);
  CHECK(run({"--queue", "3-1"}, &o) == -EINVAL);
  CHECK(run({"--queue", "1024"}, &o) == -EINVAL);
  CHECK(run({"--queue", "0-16"}, &o) == -EINVAL);  // 17 queues
  CHECK(run({"--queue", ""}, &o) == -EINVAL);
  CHECK(run({"--queue", "0,"}, &o) == -EINVAL);
  CHECK(run({"--queue", ",0"}, &o) == -EINVAL);
  CHECK(run({"--queue", "-1"}, &o) == -EINVAL);
  CHECK(run({"--queue", "1-"}, &o) == -EINVAL);
  CHECK(run({"--queue", "0-1-2"}, &o) == -EINVAL);
  CHECK(run({"--queue", "x"}, &o) == -EINVAL);
  CHECK(run({"--queue", "+1"}, &o) == -EINVAL);
  CHECK(run({"--queue", "99999999"}, &o) == -EINVAL);
  // A failed parse leaves the served queues alone.
  CHECK(o.queues == std::vector<uint16_t>{0});
}

TEST_CASE("a bad --queue says why in one line") {
  std::vector<uint16_t> q;
  char buf[256] = {};
  FILE* f = fmemopen(buf, sizeof(buf) - 1, "w");
  REQUIRE(f);
  CHECK(parse_queue_list("2,2", &q, f) == -EINVAL);
  std::fclose(f);
  std::string msg(buf);
  CHECK(msg == "zcrxd: invalid --queue '2,2': a queue named twice\n");
  CHECK(q.empty());
}

TEST_CASE("--help documents --queue lists") {
  char buf[8192] = {};
  FILE* f = fmemopen(buf, sizeof(buf) - 1, "w");
  REQUIRE(f);
  print_usage(f);
  std::fclose(f);
  std::string text(buf);
  CHECK(text.find("--queue LIST") != std::string::npos);
  CHECK(text.find("A-B") != std::string::npos);
}

TEST_CASE("--inject takes a pcap and an optional loops=N (0: forever)") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.inject_path.empty());
  Options a;
  REQUIRE(run({"--inject", "/tmp/x.pcap"}, &a) == 0);
  CHECK(a.inject_path == "/tmp/x.pcap");
  CHECK(a.inject_loops == 1);
  Options b;
  REQUIRE(run({"--inject", "/tmp/x.pcap,loops=5"}, &b) == 0);
  CHECK(b.inject_path == "/tmp/x.pcap");
  CHECK(b.inject_loops == 5);
  Options c;
  REQUIRE(run({"--inject", "t.pcap,loops=0"}, &c) == 0);
  CHECK(c.inject_loops == 0);
  Options bad;
  CHECK(run({"--inject", ""}, &bad) == -EINVAL);
  CHECK(run({"--inject", ",loops=2"}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,"}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,loops="}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,loops=-1"}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,loops=2x"}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,count=2"}, &bad) == -EINVAL);
  CHECK(run({"--inject", "x.pcap,loops=1000000001"}, &bad) == -EINVAL);
  CHECK(bad.inject_path.empty());
}

TEST_CASE("a bad --inject says why in one line; --help documents it") {
  std::string path;
  uint32_t loops = 7;
  char buf[256] = {};
  FILE* f = fmemopen(buf, sizeof(buf) - 1, "w");
  REQUIRE(f);
  CHECK(parse_inject("a.pcap,loop=3", &path, &loops, f) == -EINVAL);
  std::fclose(f);
  CHECK(std::string(buf) == "zcrxd: invalid --inject 'a.pcap,loop=3': expected PCAP or PCAP,loops=N\n");
  CHECK(loops == 7);
  char help[8192] = {};
  FILE* h = fmemopen(help, sizeof(help) - 1, "w");
  REQUIRE(h);
  print_usage(h);
  std::fclose(h);
  CHECK(std::string(help).find("--inject PCAP[,loops=N]") != std::string::npos);
}

TEST_CASE("--copy-mode takes auto, off or always; auto by default") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.copy_mode == CopyMode::kAuto);
  Options a, b, c;
  REQUIRE(run({"--copy-mode", "off"}, &a) == 0);
  CHECK(a.copy_mode == CopyMode::kOff);
  REQUIRE(run({"--copy-mode", "always"}, &b) == 0);
  CHECK(b.copy_mode == CopyMode::kAlways);
  c.copy_mode = CopyMode::kOff;
  REQUIRE(run({"--copy-mode", "auto"}, &c) == 0);
  CHECK(c.copy_mode == CopyMode::kAuto);
  Options bad;
  bad.copy_mode = CopyMode::kAlways;
  CHECK(run({"--copy-mode", ""}, &bad) == -EINVAL);
  CHECK(run({"--copy-mode", "Always"}, &bad) == -EINVAL);
  CHECK(run({"--copy-mode", "on"}, &bad) == -EINVAL);
  CHECK(run({"--copy-mode"}, &bad) == -EINVAL);
  CHECK(bad.copy_mode == CopyMode::kAlways);  // a refused value changes nothing
  CHECK(std::string(copy_mode_name(CopyMode::kAuto)) == "auto");
  CHECK(std::string(copy_mode_name(CopyMode::kOff)) == "off");
  CHECK(std::string(copy_mode_name(CopyMode::kAlways)) == "always");
}

TEST_CASE("a bad --copy-mode says why in one line; --help documents it") {
  CopyMode m = CopyMode::kOff;
  char buf[256] = {};
  FILE* f = fmemopen(buf, sizeof(buf) - 1, "w");
  REQUIRE(f);
  CHECK(parse_copy_mode("copy", &m, f) == -EINVAL);
  std::fclose(f);
  CHECK(std::string(buf) == "zcrxd: invalid --copy-mode 'copy': expected auto, off or always\n");
  CHECK(m == CopyMode::kOff);
  char help[8192] = {};
  FILE* h = fmemopen(help, sizeof(help) - 1, "w");
  REQUIRE(h);
  print_usage(h);
  std::fclose(h);
  const std::string text(help);
  CHECK(text.find("--copy-mode MODE") != std::string::npos);
  CHECK(text.find("always: copy mode from the start") != std::string::npos);
}

TEST_CASE("limits and --sq-idle-ms: defaults, values, refusals") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.limits.max_rings == 1024);
  CHECK(o.limits.max_rings_per_uid == 256);
  CHECK(o.limits.max_exports == 1024);
  CHECK(o.limits.max_exports_per_ring == 64);
  CHECK(o.limits.max_entries_per_uid == 32);
  CHECK(o.limits.max_region_mb_per_uid == 1024);
  CHECK(o.sq_idle_ms == 10);
  Options p;
  REQUIRE(run({"--max-rings", "10", "--max-rings-per-uid", "3", "--max-exports", "0",
               "--max-exports-per-ring", "2", "--max-entries-per-uid", "5",
               "--max-region-mb-per-uid", "64", "--sq-idle-ms", "0"},
              &p) == 0);
  CHECK(p.limits.max_rings == 10);
  CHECK(p.limits.max_rings_per_uid == 3);
  CHECK(p.limits.max_exports == 0);
  CHECK(p.limits.max_exports_per_ring == 2);
  CHECK(p.limits.max_entries_per_uid == 5);
  CHECK(p.limits.max_region_mb_per_uid == 64);
  CHECK(p.sq_idle_ms == 0);
  for (const char* bad : {"--max-rings", "--max-rings-per-uid", "--max-region-mb-per-uid"}) {
    Options q;
    CHECK(run({bad, "0"}, &q) == -EINVAL);
  }
  Options q;
  CHECK(run({"--max-rings", "70000"}, &q) == -EINVAL);
  CHECK(run({"--sq-idle-ms", "-1"}, &q) == -EINVAL);
}

TEST_CASE("--rx-csum takes auto, sw or off; auto by default; a bad one says why") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.rx_csum == RxCsum::kAuto);
  Options a, b;
  REQUIRE(run({"--rx-csum", "sw"}, &a) == 0);
  CHECK(a.rx_csum == RxCsum::kSoftware);
  REQUIRE(run({"--rx-csum", "off"}, &b) == 0);
  CHECK(b.rx_csum == RxCsum::kOff);
  REQUIRE(run({"--rx-csum", "auto"}, &b) == 0);
  CHECK(b.rx_csum == RxCsum::kAuto);
  Options bad;
  bad.rx_csum = RxCsum::kOff;
  CHECK(run({"--rx-csum", "hw"}, &bad) == -EINVAL);
  CHECK(run({"--rx-csum", ""}, &bad) == -EINVAL);
  CHECK(run({"--rx-csum"}, &bad) == -EINVAL);
  CHECK(bad.rx_csum == RxCsum::kOff);
  for (RxCsum m : {RxCsum::kAuto, RxCsum::kSoftware, RxCsum::kOff}) {
    RxCsum back = RxCsum::kAuto;
    CHECK(parse_rx_csum(rx_csum_name(m), &back, stderr) == 0);
    CHECK(back == m);
  }
  char buf[256] = {};
  FILE* f = fmemopen(buf, sizeof(buf) - 1, "w");
  REQUIRE(f);
  RxCsum m = RxCsum::kSoftware;
  CHECK(parse_rx_csum("on", &m, f) == -EINVAL);
  std::fclose(f);
  CHECK(std::string(buf) == "zcrxd: invalid --rx-csum 'on': expected auto, sw or off\n");
  CHECK(m == RxCsum::kSoftware);
  char help[16384] = {};
  FILE* h = fmemopen(help, sizeof(help) - 1, "w");
  REQUIRE(h);
  print_usage(h);
  std::fclose(h);
  CHECK(std::string(help).find("--rx-csum MODE") != std::string::npos);
}

TEST_CASE("--frag-max and --frag-timeout-ms: defaults, ranges") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.frag_max == 64);
  CHECK(o.frag_timeout_ms == 1000);
  Options a;
  REQUIRE(run({"--frag-max", "4096", "--frag-timeout-ms", "60000"}, &a) == 0);
  CHECK(a.frag_max == 4096);
  CHECK(a.frag_timeout_ms == 60000);
  REQUIRE(run({"--frag-max", "1", "--frag-timeout-ms", "1"}, &a) == 0);
  CHECK(a.frag_max == 1);
  CHECK(a.frag_timeout_ms == 1);
  Options bad;
  CHECK(run({"--frag-max", "0"}, &bad) == -EINVAL);
  CHECK(run({"--frag-max", "4097"}, &bad) == -EINVAL);
  CHECK(run({"--frag-timeout-ms", "0"}, &bad) == -EINVAL);
  CHECK(run({"--frag-timeout-ms", "60001"}, &bad) == -EINVAL);
  CHECK(run({"--frag-timeout-ms", "-5"}, &bad) == -EINVAL);
  CHECK(bad.frag_max == 64);
  char help[16384] = {};
  FILE* h = fmemopen(help, sizeof(help) - 1, "w");
  REQUIRE(h);
  print_usage(h);
  std::fclose(h);
  CHECK(std::string(help).find("--frag-timeout-ms N") != std::string::npos);
  CHECK(std::string(help).find("8 fragments each") != std::string::npos);
}

TEST_CASE("--ip, --gateway, --mtu and the --tcp-* options: defaults, values, refusals") {
  Options o;
  REQUIRE(run({}, &o) == 0);
  CHECK(o.net.n_addrs == 0);  // TCP off
  CHECK(o.tcp.max_conns == 1024);
  CHECK(o.tcp.rcvbuf == 4u << 20);
  CHECK(o.tcp.sndbuf == 1u << 20);
  CHECK(o.tcp.time_wait_ms == 1000);
  CHECK_FALSE(o.tcp.cubic);
  CHECK(o.tcp.backlog_max == 1024);

  Options t;
  REQUIRE(run({"--ip", "10.77.0.2/24", "--ip", "192.168.1.5/16", "--gateway", "10.77.0.1",
               "--mtu", "9000", "--tcp-max-conns", "64", "--tcp-rcvbuf", "512K",
               "--tcp-sndbuf", "2M", "--tcp-time-wait-ms", "50", "--tcp-congestion", "cubic",
               "--tcp-backlog-max", "16"},
              &t) == 0);
  REQUIRE(t.net.n_addrs == 2);
  CHECK(t.net.addrs[0].addr == 0x0a4d0002);
  CHECK(t.net.addrs[0].prefix_len == 24);
  CHECK(t.net.addrs[1].addr == 0xc0a80105);
  CHECK(t.net.gateway == 0x0a4d0001);
  CHECK(t.net.mtu == 9000);
  CHECK(t.tcp.max_conns == 64);
  CHECK(t.tcp.rcvbuf == 512u << 10);
  CHECK(t.tcp.sndbuf == 2u << 20);
  CHECK(t.tcp.time_wait_ms == 50);
  CHECK(t.tcp.cubic);
  CHECK(t.tcp.backlog_max == 16);

  const std::vector<std::vector<std::string>> bad = {
      {"--ip", "10.77.0.2"},                      // no prefix length
      {"--ip", "10.77.0.2/33"},
      {"--ip", "127.0.0.1/8"},
      {"--gateway", "10.77.0.1"},                 // a gateway without an address
      {"--mtu", "1500"},                          // an MTU without an address
      {"--ip", "10.77.0.2/24", "--gateway", "10.78.0.1"},  // not on-link
      {"--ip", "10.77.0.2/24", "--mtu", "67"},
      {"--tcp-max-conns", "0"},
      {"--tcp-max-conns", "65537"},
      {"--tcp-rcvbuf", "1K"},
      {"--tcp-rcvbuf", "65M"},
      {"--tcp-sndbuf", "12x"},
      {"--tcp-time-wait-ms", "0"},
      {"--tcp-congestion", "bbr"},
      {"--tcp-backlog-max", "1025"},
  };
  for (const auto& args : bad) {
    Options b;
    CHECK_MESSAGE(run(args, &b) == -EINVAL, args[0] << " " << args[1]);
  }
}

TEST_CASE("--help documents the TCP options") {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  print_usage(f);
  std::fclose(f);
  const std::string help(buf, len);
  std::free(buf);
  for (const char* opt : {"--ip A.B.C.D/PREFIX", "--gateway", "--mtu", "--tcp-max-conns",
                          "--tcp-rcvbuf", "--tcp-sndbuf", "--tcp-time-wait-ms",
                          "--tcp-congestion", "--tcp-backlog-max"})
    CHECK_MESSAGE(help.find(opt) != std::string::npos, opt);
}
