// SPDX-License-Identifier: MIT
// ControlCall: a function posted from another thread runs on the serving
// (control) thread, its result comes back, and a caller never waits past
// its timeout nor finds its function run after it gave up. Runs under TSan.
#include <doctest/doctest.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "control_call.h"

using namespace std::chrono_literals;
using zcrxd::ControlCall;

namespace {

// The control loop's part: poll the call's descriptor, serve, until told
// to stop.
void serve_until(ControlCall& c, const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) {  // acquire: pairs with the test's release
    pollfd p{c.fd(), POLLIN, 0};
    if (poll(&p, 1, 10) > 0) c.serve();
  }
}

}  // namespace

TEST_CASE("a call runs on the serving thread and returns its result") {
  ControlCall c;
  REQUIRE(c.fd() >= 0);
  c.attach();
  std::atomic<bool> stop{false};
  std::thread::id served_on;
  std::thread control([&] { serve_until(c, stop); });
  int value = 0;  // written by the function, read by the caller after call()
  int rc = c.call([&] { served_on = std::this_thread::get_id(); value = 42; return 7; }, 2s);
  CHECK(rc == 7);
  CHECK(value == 42);
  CHECK(served_on == control.get_id());
  stop.store(true, std::memory_order_release);
  control.join();
}

TEST_CASE("nobody serving: ENOTCONN before attach and after detach") {
  ControlCall c;
  bool ran = false;
  CHECK(c.call([&] { ran = true; return 0; }, 100ms) == -ENOTCONN);
  c.attach();
  c.detach();
  CHECK(c.call([&] { ran = true; return 0; }, 100ms) == -ENOTCONN);
  CHECK_FALSE(ran);
}

TEST_CASE("a loop that does not serve: ETIMEDOUT, and the function never runs later") {
  ControlCall c;
  c.attach();
  bool ran = false;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.call([&] { ran = true; return 0; }, 50ms) == -ETIMEDOUT);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 50ms);
  CHECK(waited < 2s);
  // The loop comes round late: the abandoned call is gone.
  pollfd p{c.fd(), POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 1);  // its wakeup is still there
  c.serve();
  CHECK_FALSE(ran);
  CHECK(poll(&p, 1, 0) == 0);
}

TEST_CASE("detach wakes a waiting caller with ENOTCONN") {
  ControlCall c;
  c.attach();
  std::atomic<int> rc{1};
  std::thread caller([&] { rc.store(c.call([] { return 0; }, 10s), std::memory_order_release); });
  // The call is posted once the descriptor turns readable.
  pollfd p{c.fd(), POLLIN, 0};
  REQUIRE(poll(&p, 1, 5000) == 1);
  c.detach();
  caller.join();
  CHECK(rc.load(std::memory_order_acquire) == -ENOTCONN);
}

TEST_CASE("concurrent callers each get their own result") {
  ControlCall c;
  c.attach();
  std::atomic<bool> stop{false};
  std::thread control([&] { serve_until(c, stop); });
  constexpr int kCallers = 4, kCalls = 50;
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  int served = 0;  // only ever touched by the functions, on the control thread
  for (int t = 0; t < kCallers; t++)
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls; i++) {
        const int want = t * 1000 + i;
        if (c.call([&served, want] { served++; return want; }, 5s) != want)
          wrong.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count
      }
    });
  for (auto& th : callers) th.join();
  stop.store(true, std::memory_order_release);
  control.join();
  CHECK(wrong.load(std::memory_order_relaxed) == 0);
  CHECK(served == kCallers * kCalls);
}
