// SPDX-License-Identifier: MIT
// wait_cqe's wait_nr (`min`) against the fake server's half of the
// kCqWakeTarget protocol: the sleeper publishes head + min as its wake
// target, the server's wakeups before that many CQEs are refused, and a
// wait that sees fewer before its timeout returns -ETIME.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <thread>

#include "fake_server.h"
#include "zcrx/client.h"
#include "zcrx/proto.h"
#include "zcrx/zcrx.h"

using namespace zcrx;
using zcrx::proto::kCqNeedWakeup;
using zcrx::proto::kCqWakeTarget;

namespace {

struct WaitFixture {
  fake::Server srv;
  Ring ring;
  Ifq* ifq = nullptr;
  int id = -1;
  uint64_t next_ud = 1;

  WaitFixture() {
    REQUIRE(ring.attach(srv.open_session()) == 0);
    REQUIRE(ring.create(8, 16) == 0);
    IfqParams p;
    p.rq_entries = 16;
    p.area_len = 1 << 20;
    id = ring.register_ifq(p, &ifq);
    REQUIRE(id >= 0);
    REQUIRE(ring.enable_eventfd() == 0);
  }
  uint32_t& word(uint32_t off) {
    return *reinterpret_cast<uint32_t*>(static_cast<char*>(srv.session(0).ring_base) + off);
  }
  // acquire: pairs with the consumer's seq_cst RMW, which released the
  // target stored before it.
  uint32_t flags() {
    return std::atomic_ref<uint32_t>(word(ring.layout().cq_off.flags)).load(std::memory_order_acquire);
  }
  uint32_t target() {
    return std::atomic_ref<uint32_t>(word(ring.layout().cq_off.resv1)).load(std::memory_order_relaxed);
  }
  void post_one() {
    const uint8_t byte = 0x33;
    CHECK(srv.post(0, id, 4096 * (next_ud % 8), &byte, 1, next_ud));
    next_ud++;
  }
  // Waits (at most 2 s) until the consumer sleeps with both bits set.
  bool sleeping() {
    const uint32_t both = kCqNeedWakeup | kCqWakeTarget;
    for (int i = 0; i < 20000; i++) {
      if ((flags() & both) == both) return true;
      usleep(100);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("wait_nr: the sleeper's target is head + min; wakeups before the min-th CQE are refused") {
  WaitFixture f;
  REQUIRE(f.ring.layout().cq_off.resv1 != 0);
  // Move the head off 0 first.
  f.post_one();
  REQUIRE(f.ring.wait_cqe(1, WaitMode::busy_poll, 1000000000) == 1);
  f.ring.cq_advance(1);
  int woke_at = 0;
  uint32_t seen_target = 0;
  std::thread dp([&] {
    if (!f.sleeping()) {
      FAIL_CHECK("the consumer never asked for a wakeup");
      return;
    }
    seen_target = f.target();
    for (int i = 1; i <= 4 && !woke_at; i++) {
      f.post_one();
      if (f.srv.maybe_wake(0)) woke_at = i;
    }
  });
  const int r = f.ring.wait_cqe(4, WaitMode::eventfd, 5000000000);
  dp.join();
  CHECK(seen_target == 1 + 4);
  CHECK(woke_at == 4);
  CHECK(r == 4);
  CHECK(f.ring.cq_ready() == 4);
  CHECK((f.flags() & (kCqNeedWakeup | kCqWakeTarget)) == 0);
}

TEST_CASE("wait_nr: fewer than min before the timeout is -ETIME, the CQEs stay ready") {
  WaitFixture f;
  f.post_one();
  f.post_one();
  CHECK_FALSE(f.srv.maybe_wake(0));  // nobody asked
  CHECK(f.ring.wait_cqe(3, WaitMode::eventfd, 20000000) == -ETIME);
  CHECK(f.ring.cq_ready() == 2);
  CHECK((f.flags() & (kCqNeedWakeup | kCqWakeTarget)) == 0);  // cleared on the way out
  CHECK(f.ring.wait_cqe(2, WaitMode::eventfd, 20000000) == 2);
  CHECK(f.ring.wait_cqe(17, WaitMode::eventfd, 0) == -EINVAL);  // more than the CQ holds
  std::thread dp([&] {
    if (!f.sleeping()) {
      FAIL_CHECK("the consumer never asked for a wakeup");
      return;
    }
    CHECK(f.target() == 3);  // head 0 + min 3
    f.post_one();
    CHECK(f.srv.maybe_wake(0));
  });
  CHECK(f.ring.wait_cqe(3, WaitMode::adaptive, 5000000000) == 3);
  dp.join();
}
