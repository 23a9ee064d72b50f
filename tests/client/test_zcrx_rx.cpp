// SPDX-License-Identifier: MIT
// The zcrx_rx example as a separate process against the fake server
// listening on a unix socket path: register, clone and import through
// --share, eventfd waits (--wait-nr too), len-limited requests, damage detection, SIGINT.
// Every delivered packet must be counted by exactly one consumer and every
// buffer must come back.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "child_proc.h"
#include "fake_server.h"

namespace {

const char* zcrx_rx_bin() {
  const char* p = std::getenv("ZCRX_RX_BIN");
  return p && *p ? p : "examples/zcrx_rx/zcrx_rx";
}

std::string tmp_path(const char* what) {
  return "/tmp/zcrx-client-test-" + std::to_string(getpid()) + "-" + what + ".sock";
}

using child::exit_code;
using child::finish;
using child::Proc;
using child::result_value;

const char* zcrx_rx_c_bin() {
  const char* p = std::getenv("ZCRX_RX_C_BIN");
  return p && *p ? p : "examples/zcrx_rx/zcrx_rx_c";
}

Proc spawn_bin(const char* bin, std::vector<std::string> args);

Proc spawn(std::vector<std::string> args) { return spawn_bin(zcrx_rx_bin(), std::move(args)); }

Proc spawn_bin(const char* bin, std::vector<std::string> args) {
  Proc p;
  child::spawn(p, bin, std::move(args));
  return p;
}

bool result_flag(const Proc& p, const char* key) {
  std::string k = std::string("\"") + key + "\":true";
  return p.text.find(k) != std::string::npos;
}

// The fake datapath in a thread: a few deliveries, a short pause.
struct Pump {
  fake::Server& srv;
  std::atomic<bool> stop{false};
  uint64_t seq = 1;
  uint64_t corrupt = UINT64_MAX;
  unsigned budget = 64;
  unsigned pause_us = 50;
  std::thread th;

  explicit Pump(fake::Server& s) : srv(s) {}
  void start() {
    th = std::thread([this] {
      while (!stop.load(std::memory_order_relaxed)) {
        srv.pump(budget, &seq, corrupt);
        usleep(pause_us);
      }
    });
  }
  void finish() {
    stop = true;
    if (th.joinable()) th.join();
  }
  ~Pump() { finish(); }
};

bool wait_until(const std::function<bool()>& cond, int timeout_ms = 20000) {
  for (int i = 0; i < timeout_ms / 5; i++) {
    if (cond()) return true;
    usleep(5000);
  }
  return cond();
}

void check_clean(const Proc& p) {
  INFO("output: ", p.text);
  CHECK(exit_code(p) == 0);
  CHECK(result_value(p, "bad_payloads") == 0);
  CHECK(result_value(p, "cqe_errors") == 0);
  CHECK(result_value(p, "bad_offsets") == 0);
  CHECK(result_value(p, "outstanding") == 0);
}

// After every consumer exited: each delivery counted once, every buffer back.
void check_balanced(fake::Server& srv, long long packets_counted) {
  auto d = srv.datapath_stats();
  CHECK(static_cast<long long>(d.delivered) == packets_counted);
  CHECK(d.refilled + d.reclaimed == d.delivered);
  CHECK(d.bad_refills == 0);
  CHECK(d.outstanding == 0);
}

}  // namespace

TEST_CASE("zcrx_rx: register mode receives, verifies and returns every buffer") {
  fake::Server srv;
  std::string sock = tmp_path("reg");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "5000", "--quiet",
                  "--area-mb", "2", "--rq-entries", "256", "--cq-entries", "512"});
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  CHECK(result_value(p, "packets") >= 5000);
  CHECK(result_value(p, "bytes") > 5000 * 64);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: a master shares its queue with a clone and an importer") {
  fake::Server srv;
  std::string sock = tmp_path("share-srv");
  std::string share = tmp_path("share");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Proc master = spawn({"--socket", sock, "--flow", "udp:9000", "--share", share, "--count",
                       "3000", "--quiet", "--area-mb", "2", "--rq-entries", "512"});
  // Datapath passes without deliveries pick up the SQEs as they come.
  uint64_t seq = 1;
  REQUIRE(wait_until([&] {
    srv.pump(0, &seq);
    return srv.armed() == 1;
  }));
  Proc clone = spawn({"--socket", sock, "--flow", "udp:9000", "--mode", "clone", "--share",
                      share, "--count", "1000", "--quiet", "--rq-entries", "512"});
  Proc imp = spawn({"--socket", sock, "--flow", "udp:9000", "--mode", "import", "--share",
                    share, "--count", "1000", "--quiet", "--eventfd"});
  REQUIRE(wait_until([&] {
    srv.pump(0, &seq);
    return srv.armed() == 3;
  }));
  Pump pump(srv);
  pump.start();
  finish(clone);
  finish(imp);
  finish(master);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(master);
  check_clean(clone);
  check_clean(imp);
  CHECK(master.text.find("\"mode\":\"register\"") != std::string::npos);
  CHECK(clone.text.find("\"mode\":\"clone\"") != std::string::npos);
  CHECK(imp.text.find("\"mode\":\"import\"") != std::string::npos);
  CHECK(result_value(clone, "packets") >= 1000);
  CHECK(result_value(imp, "packets") >= 1000);
  check_balanced(srv, result_value(master, "packets") + result_value(clone, "packets") +
                          result_value(imp, "packets"));
  CHECK(srv.served[zcrx::proto::kOpExport] >= 1);
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: one damaged byte is reported and fails the run") {
  fake::Server srv;
  std::string sock = tmp_path("bad");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.corrupt = 100;
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "1000", "--quiet", "--area-mb", "1"});
  finish(p);
  pump.finish();
  INFO("output: ", p.text);
  CHECK(exit_code(p) == 1);
  CHECK(result_value(p, "bad_payloads") == 1);
  CHECK(result_value(p, "outstanding") == 0);
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: --touch reads first and last bytes only, so damage is not counted") {
  fake::Server srv;
  std::string sock = tmp_path("touch");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.corrupt = 100;
  pump.start();
  Proc p = spawn({"--socket", sock, "--count", "1000", "--quiet", "--area-mb", "1", "--touch"});
  finish(p);
  pump.finish();
  INFO("output: ", p.text);
  check_clean(p);
  CHECK(p.text.find("\"check\":\"touch\"") != std::string::npos);
  CHECK(result_value(p, "packets") >= 1000);
  CHECK(result_value(p, "bad_payloads") == 0);
  CHECK(result_value(p, "outstanding") == 0);
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: --adaptive receives, verifies and returns every buffer") {
  fake::Server srv;
  std::string sock = tmp_path("adaptive");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "3000", "--quiet", "--area-mb", "1", "--adaptive",
                  "--spin-us", "20"});
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  CHECK(result_value(p, "packets") >= 3000);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: --wait-nr sleeps for N completions, the timeout delivers the rest") {
  fake::Server srv;
  std::string sock = tmp_path("waitnr");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  // 3001 is no multiple of 32: the last datagrams come with a timeout.
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "3001", "--quiet", "--area-mb", "1",
                  "--eventfd", "--wait-nr", "32", "--wait-usec", "500"});
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  CHECK(result_value(p, "packets") >= 3001);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
  Proc q = spawn({"--socket", sock, "--wait-nr", "129", "--cq-entries", "128", "--quiet"});
  finish(q);
  CHECK(exit_code(q) == 2);
  Proc z = spawn({"--socket", sock, "--wait-nr", "0", "--quiet"});
  finish(z);
  CHECK(exit_code(z) == 2);
}

TEST_CASE("zcrx_rx: a datagram in several CQEs is checked piece by piece and counted once") {
  fake::Server srv;
  srv.split_parts = 3;
  srv.fixed_len = 3000;
  std::string sock = tmp_path("split");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "1000", "--quiet",
                  "--area-mb", "2", "--datagram-size", "3000"});
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  const long long dgrams = result_value(p, "datagrams");
  CHECK(dgrams >= 1000);
  CHECK(result_value(p, "packets") == 3 * dgrams);  // every datagram whole
  CHECK(result_value(p, "bytes") == 3000 * dgrams);
  CHECK(result_value(p, "bad_lengths") == 0);
  CHECK(result_value(p, "partial") == 0);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: a datagram of another total length, or damaged in a later piece, fails") {
  for (int damage = 0; damage < 2; damage++) {
    fake::Server srv;
    srv.split_parts = 2;
    srv.fixed_len = 2000;
    std::string sock = tmp_path(damage ? "split-bad" : "split-len");
    REQUIRE(srv.listen_on(sock.c_str()) == 0);
    Pump pump(srv);
    if (damage) pump.corrupt = 50;  // its last byte: in the second piece
    pump.start();
    Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--count", "200", "--quiet",
                    "--area-mb", "1", "--datagram-size", damage ? "2000" : "1999"});
    finish(p);
    pump.finish();
    INFO("output: ", p.text);
    CHECK(exit_code(p) == 1);
    CHECK(result_value(p, "outstanding") == 0);
    if (damage) {
      CHECK(result_value(p, "bad_payloads") == 1);
      CHECK(result_value(p, "bad_lengths") == 0);
    } else {
      CHECK(result_value(p, "bad_payloads") == 0);
      CHECK(result_value(p, "bad_lengths") == result_value(p, "datagrams"));
    }
    unlink(sock.c_str());
  }
}

TEST_CASE("zcrx_rx: a len-limited request ends at its final CQE with exactly len bytes") {
  fake::Server srv;
  std::string sock = tmp_path("len");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--len", "100000", "--quiet", "--area-mb", "1",
                  "--eventfd", "--duration", "30"});
  finish(p);
  pump.finish();
  check_clean(p);
  CHECK(result_flag(p, "finished"));
  CHECK(result_value(p, "bytes") == 100000);
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: SIGINT stops it cleanly with every buffer returned") {
  fake::Server srv;
  std::string sock = tmp_path("int");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--quiet", "--area-mb", "1"});
  REQUIRE(wait_until([&] { return srv.datapath_stats().delivered > 2000; }));
  kill(p.pid, SIGINT);
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx --events: counts every event CQE and re-arms it") {
  fake::Server srv;
  std::string sock = tmp_path("ev");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--flow", "udp:9000", "--quiet", "--area-mb", "1", "--events"});
  REQUIRE(wait_until([&] { return srv.datapath_stats().delivered > 500; }));
  const auto reg = srv.last_register();
  CHECK(reg.reg.event_desc != 0);
  CHECK(reg.event.type_mask == zcrx::uapi::kZcrxEventTypeMask);
  CHECK(reg.event.flags == zcrx::uapi::kZcrxEventDescFlagStats);
  // A raise succeeds only while the type is armed, so each success after
  // the first proves zcrx_rx handled the previous event and re-armed it.
  constexpr unsigned kAllocFails = 5, kCopies = 3;
  for (unsigned i = 0; i < kAllocFails; i++)
    REQUIRE(wait_until([&] { return srv.raise_event(0, 0, zcrx::uapi::ZCRX_EVENT_ALLOC_FAIL); }));
  uint64_t copy_calls = 0, copy_bytes = 0;
  for (unsigned i = 0; i < kCopies; i++) {
    REQUIRE(wait_until([&] {
      const uint32_t bytes = 100 + static_cast<uint32_t>(copy_calls);
      copy_calls++;
      copy_bytes += bytes;
      return srv.report_copy(0, 0, bytes);
    }));
  }
  REQUIRE(wait_until([&] { return srv.arms == kAllocFails + kCopies; }));
  kill(p.pid, SIGINT);
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  check_clean(p);
  CHECK(result_value(p, "alloc_fail") == kAllocFails);
  CHECK(result_value(p, "copy") == kCopies);
  CHECK(result_value(p, "arm_errors") == 0);
  CHECK(result_value(p, "copy_count") == static_cast<long long>(copy_calls));
  CHECK(result_value(p, "copy_bytes") == static_cast<long long>(copy_bytes));
  CHECK(srv.arms == kAllocFails + kCopies);
  check_balanced(srv, result_value(p, "packets"));
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: setup failures exit 2 with a reason") {
  Proc p = spawn({"--socket", "/nonexistent/zcrxd.sock", "--quiet"});
  finish(p);
  CHECK(exit_code(p) == 2);
  Proc q = spawn({"--mode", "clone"});  // needs --share
  finish(q);
  CHECK(exit_code(q) == 2);
}

TEST_CASE("zcrx_rx_c: the C example receives and verifies through the C API") {
  fake::Server srv;
  std::string sock = tmp_path("c");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn_bin(zcrx_rx_c_bin(), {"--socket", sock, "--port", "9000", "--count", "3000"});
  finish(p);
  wait_until([&] { return srv.datapath_stats().outstanding == 0; });
  pump.finish();
  INFO("output: ", p.text);
  CHECK(exit_code(p) == 0);
  CHECK(p.text.find("bad_payloads=0 unchecked=0 cqe_errors=0") != std::string::npos);
  // It exits without cancelling: what it still held came back by reclaim.
  auto d = srv.datapath_stats();
  CHECK(d.refilled + d.reclaimed == d.delivered);
  CHECK(d.outstanding == 0);
  // It refills each CQE and flushes after each batch: the buffers come back
  // through its RQ, except those still queued there when its session
  // closes (how many depends on how far the fake server's pump lags),
  // which come back by reclaim.
  CHECK(d.refilled > 0);
  CHECK(d.refilled + d.reclaimed >= 3000);
  unlink(sock.c_str());
}

TEST_CASE("zcrx_rx: --rx-buf-len asks zcrxd for buffers of that size; other values are refused") {
  fake::Server srv;
  std::string sock = tmp_path("bufl");
  REQUIRE(srv.listen_on(sock.c_str()) == 0);
  Pump pump(srv);
  pump.start();
  Proc p = spawn({"--socket", sock, "--count", "100", "--quiet", "--area-mb", "1", "--touch",
                  "--rx-buf-len", "16384"});
  finish(p);
  pump.finish();
  check_clean(p);
  CHECK(srv.last_register().reg.rx_buf_len == 16384);
  // Parsing stops at a bad value, before the --help after it: a power of
  // two from 4096 reaches --help (usage on stdout, exit 0), anything else
  // is a usage error (exit 2, no usage).
  Proc good = spawn({"--rx-buf-len", "8192", "--help"});
  finish(good);
  CHECK(exit_code(good) == 0);
  CHECK(good.text.find("--rx-buf-len") != std::string::npos);
  for (const char* bad : {"5000", "2048", "0"}) {
    Proc q = spawn({"--rx-buf-len", bad, "--help"});
    finish(q);
    INFO("value: ", bad, " output: ", q.text);
    CHECK(exit_code(q) == 2);
    CHECK(q.text.find("usage") == std::string::npos);
  }
  unlink(sock.c_str());
}
