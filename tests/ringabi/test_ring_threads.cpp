// SPDX-License-Identifier: MIT
// Producer and consumer threads over one refill-queue region, the way
// zcrxd's datapath and a consumer share it. Run under ThreadSanitizer this
// checks that the acquire/release pairs order the entry accesses: a
// missing or weakened order shows up as a data race report.
#include <doctest/doctest.h>

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "zcrx/ring_layout.h"

namespace u = zcrx::uapi;

namespace {

constexpr uint64_t kEntries = 1'000'000;
constexpr uint32_t kRqEntries = 64;  // small: the ring is often full and empty

u::io_uring_zcrx_rqe rqe_of(uint64_t k) {
  u::io_uring_zcrx_rqe e{};
  e.off = u::area_token(static_cast<uint32_t>(k % 7)) | (k * 64);
  e.len = static_cast<uint32_t>(k);
  e.__pad = static_cast<uint32_t>(~k);
  return e;
}

void backoff(uint32_t& spins) {
  if (++spins % 64 == 0) sched_yield();
}

// How the two sides move entries: in place (reserve/slot/commit and
// peek/load/advance) or through the copying burst calls.
enum class Api { in_place, copying };

void transfer(Api api) {
  zcrx::RqRegionLayout l = zcrx::rq_region_layout(kRqEntries);
  REQUIRE(zcrx::validate_rq_region(l.off, kRqEntries, l.size) == 0);
  void* base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(base != MAP_FAILED);
  // Start just below 2^32 so the threads also cross the wrap.
  auto* bytes = static_cast<uint8_t*>(base);
  *reinterpret_cast<uint32_t*>(bytes + l.off.head) = UINT32_MAX - 100;
  *reinterpret_cast<uint32_t*>(bytes + l.off.tail) = UINT32_MAX - 100;

  auto p = zcrx::rq_producer(base, l.off, kRqEntries);
  auto c = zcrx::rq_consumer(base, l.off, kRqEntries);
  uint64_t mismatches = 0, received = 0;
  bool consumer_corrupt = false;

  std::thread consumer([&] {
    uint32_t spins = 0;
    uint32_t max = 1;
    while (received < kEntries) {
      u::io_uring_zcrx_rqe buf[48];
      uint32_t n = api == Api::in_place ? c.peek(max) : c.pop_burst(buf, max);
      max = max % 48 + 1;  // vary the batch so peeks land mid-publication
      if (n == 0) {
        if (c.state() != zcrx::RingState::ok) {
          consumer_corrupt = true;
          return;
        }
        backoff(spins);
        continue;
      }
      for (uint32_t i = 0; i < n; i++) {
        u::io_uring_zcrx_rqe got = api == Api::in_place ? c.load(i) : buf[i];
        u::io_uring_zcrx_rqe want = rqe_of(received + i);
        mismatches += got.off != want.off || got.len != want.len || got.__pad != want.__pad;
      }
      if (api == Api::in_place) c.advance(n);
      received += n;
    }
  });

  uint64_t sent = 0;
  uint32_t spins = 0;
  uint32_t batch = 1;
  while (sent < kEntries) {
    uint64_t left = kEntries - sent;
    uint32_t want = left < batch ? static_cast<uint32_t>(left) : batch;
    batch = batch % 40 + 1;
    uint32_t n;
    if (api == Api::in_place) {
      n = p.reserve(want);
      for (uint32_t i = 0; i < n; i++) p.slot(i) = rqe_of(sent + i);
      p.commit(n);
    } else {
      u::io_uring_zcrx_rqe buf[40];
      for (uint32_t i = 0; i < want; i++) buf[i] = rqe_of(sent + i);
      n = p.push_burst(buf, want);
    }
    if (n == 0) {
      if (p.state() != zcrx::RingState::ok) break;
      backoff(spins);
      continue;
    }
    sent += n;
  }
  consumer.join();

  CHECK(p.state() == zcrx::RingState::ok);
  CHECK_FALSE(consumer_corrupt);
  CHECK(sent == kEntries);
  CHECK(received == kEntries);
  CHECK(mismatches == 0);
  CHECK(p.pending() == 0);
  munmap(base, l.size);
}

}  // namespace

TEST_CASE("two threads move 1M refill entries in order through a 64-entry ring, in place") {
  transfer(Api::in_place);
}

TEST_CASE("two threads move 1M refill entries in order through a 64-entry ring, burst copies") {
  transfer(Api::copying);
}
