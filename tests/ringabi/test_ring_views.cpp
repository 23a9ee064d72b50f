// SPDX-License-Identifier: MIT
// RingProducer / RingConsumer: index arithmetic, edges, batching and the
// corrupt state entered when the peer publishes an impossible index.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "heap_ring.h"
#include "zcrx/ring.h"
#include "zcrx/uapi.h"

using zcrx::RingState;
using zcrx::test::HeapRing;

namespace {

constexpr uint32_t kN = 8;
using Ring8 = HeapRing<uint64_t, kN>;

// Value written for the k-th entry of a test: distinct from any index.
uint64_t value_of(uint64_t k) { return 0x5a5a000000000000ull | (k * 0x9e3779b1ull); }

}  // namespace

TEST_CASE("empty ring: consumer sees nothing, producer has every slot free") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  CHECK(c.available() == 0);
  CHECK(c.peek(kN) == 0);
  uint64_t v = 1;
  CHECK_FALSE(c.pop(v));
  CHECK(v == 1);
  CHECK(p.free_slots() == kN);
  CHECK(p.pending() == 0);
  CHECK(p.state() == RingState::ok);
  CHECK(c.state() == RingState::ok);
}

TEST_CASE("full ring: exactly size entries fit, the next push fails until one is consumed") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < kN; i++) REQUIRE(p.push(value_of(i)));
  CHECK(p.free_slots() == 0);
  CHECK_FALSE(p.push(value_of(99)));
  CHECK_FALSE(p.reserve_bulk(1));
  CHECK(p.reserve(1) == 0);
  CHECK(p.pending() == kN);
  CHECK(r.tail == kN);
  CHECK(c.available() == kN);

  uint64_t v = 0;
  REQUIRE(c.pop(v));
  CHECK(v == value_of(0));
  CHECK(r.head == 1);
  // The producer's cached head is stale: the push refreshes it.
  REQUIRE(p.push(value_of(kN)));
  CHECK(p.free_slots() == 0);
  CHECK_FALSE(p.push(value_of(99)));
  for (uint32_t i = 1; i <= kN; i++) {
    REQUIRE(c.pop(v));
    CHECK(v == value_of(i));
  }
  CHECK_FALSE(c.pop(v));
  CHECK(p.pending() == 0);
  CHECK(p.free_slots() == kN);
}

TEST_CASE("producer wraps its u32 tail through 2^32 and keeps order") {
  for (uint32_t back : {1u, 3u, kN, kN + 5}) {
    CAPTURE(back);
    uint32_t start = static_cast<uint32_t>(0) - back;  // 2^32 - back
    Ring8 r(start);
    auto p = r.producer();
    auto c = r.consumer();
    uint64_t next_in = 0, next_out = 0;
    // Push and pop across the wrap, four full turns of the ring.
    for (int round = 0; round < 4 * static_cast<int>(kN); round++) {
      uint32_t n = p.reserve(3);
      for (uint32_t i = 0; i < n; i++) p.slot(i) = value_of(next_in + i);
      p.commit(n);
      next_in += n;
      uint64_t v;
      if (c.pop(v)) {
        CHECK(v == value_of(next_out));
        next_out++;
      }
    }
    uint64_t v;
    while (c.pop(v)) CHECK(v == value_of(next_out++));
    CHECK(next_out == next_in);
    CHECK(p.state() == RingState::ok);
    CHECK(c.state() == RingState::ok);
    // The shared words wrapped modulo 2^32 and agree with the private ones.
    CHECK(r.tail == static_cast<uint32_t>(start + next_in));
    CHECK(r.head == r.tail);
    CHECK(p.tail() == r.tail);
    CHECK(c.head() == r.head);
    CHECK(r.tail < start);  // it really went through 0
  }
}

TEST_CASE("entry k lands in slot (start + k) & mask across the wrap") {
  uint32_t start = UINT32_MAX - 2;  // slots 5, 6, 7, then 0, 1, ...
  Ring8 r(start);
  auto p = r.producer();
  REQUIRE(p.reserve_bulk(kN));
  for (uint32_t i = 0; i < kN; i++) p.slot(i) = value_of(i);
  p.commit(kN);
  for (uint32_t i = 0; i < kN; i++) CHECK(r.entries[(start + i) & (kN - 1)] == value_of(i));
  CHECK(r.entries[5] == value_of(0));
  CHECK(r.entries[0] == value_of(3));
}

TEST_CASE("consumer wraps its u32 head through 2^32 with a full ring") {
  uint32_t start = UINT32_MAX - 3;
  Ring8 r(start);
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < kN; i++) REQUIRE(p.push(value_of(i)));
  // tail - head == size across the wrap is full, not corrupt.
  CHECK(r.tail == start + kN);
  CHECK(c.available() == kN);
  REQUIRE(c.peek(kN) == kN);
  for (uint32_t i = 0; i < kN; i++) CHECK(c.load(i) == value_of(i));
  c.advance(kN);
  CHECK(r.head == static_cast<uint32_t>(start + kN));
  CHECK(c.available() == 0);
  CHECK(c.state() == RingState::ok);
}

TEST_CASE("a consumer attached near 2^32 accepts a tail already past 0") {
  Ring8 r(UINT32_MAX - 1);
  r.tail = 3;  // five entries published across the wrap
  for (uint32_t i = 0; i < 5; i++) r.entries[(UINT32_MAX - 1 + i) & (kN - 1)] = value_of(i);
  auto c = r.consumer();
  CHECK(c.available() == 5);
  for (uint32_t i = 0; i < 5; i++) {
    uint64_t v;
    REQUIRE(c.pop(v));
    CHECK(v == value_of(i));
  }
  CHECK(r.head == 3);
}

TEST_CASE("batch: reserved slots stay invisible until commit, commits publish in order") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  REQUIRE(p.reserve(6) == 6);
  for (uint32_t i = 0; i < 6; i++) p.slot(i) = value_of(i);
  CHECK(r.tail == 0);
  CHECK(c.available() == 0);
  // Reserved slots count as used for the producer.
  CHECK(p.free_slots() == kN - 6);
  p.commit(2);
  CHECK(r.tail == 2);
  CHECK(c.available() == 2);
  // After a partial commit slot(0) is the first still-reserved slot.
  CHECK(p.slot(0) == value_of(2));
  p.commit(4);
  CHECK(r.tail == 6);
  REQUIRE(c.peek(kN) == 6);
  for (uint32_t i = 0; i < 6; i++) CHECK(c.at(i) == value_of(i));
  // Advance part of the batch: the rest stays readable at index 0.
  c.advance(4);
  CHECK(r.head == 4);
  REQUIRE(c.peek(kN) == 2);
  CHECK(c.load(0) == value_of(4));
  CHECK(c.load(1) == value_of(5));
  c.advance(2);
  CHECK(c.peek(kN) == 0);
}

TEST_CASE("peek(max) returns at most max and leaves the rest") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < 7; i++) REQUIRE(p.push(value_of(i)));
  CHECK(c.peek(3) == 3);
  CHECK(c.peek(0) == 0);
  c.advance(3);
  CHECK(c.peek(100) == 4);
  CHECK(c.load(0) == value_of(3));
}

TEST_CASE("burst reserve takes what fits, bulk reserve takes all or nothing") {
  Ring8 r;
  auto p = r.producer();
  for (uint32_t i = 0; i < 5; i++) REQUIRE(p.push(value_of(i)));
  // 3 free: bulk of 4 fails and reserves nothing.
  CHECK_FALSE(p.reserve_bulk(4));
  CHECK(p.free_slots() == 3);
  // Burst of 4 gets 3.
  CHECK(p.reserve(4) == 3);
  CHECK(p.free_slots() == 0);
  CHECK(p.reserve(1) == 0);
  p.commit(3);
  CHECK(r.tail == 8);
  CHECK(p.pending() == kN);
  // Bulk of exactly the free count succeeds once the consumer frees it.
  auto c = r.consumer();
  c.advance(c.peek(2));
  CHECK(p.reserve_bulk(2));
  CHECK_FALSE(p.reserve_bulk(1));
}

TEST_CASE("commit of more than was reserved publishes only the reserved slots") {
  Ring8 r;
  auto p = r.producer();
  REQUIRE(p.reserve(2) == 2);
  p.commit(5);
  CHECK(r.tail == 2);
  CHECK(p.free_slots() == kN - 2);
  p.commit(1);  // nothing reserved any more
  CHECK(r.tail == 2);
}

TEST_CASE("advance of more than is available consumes only what was seen") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < 3; i++) REQUIRE(p.push(value_of(i)));
  REQUIRE(c.peek(kN) == 3);
  c.advance(6);
  CHECK(r.head == 3);
  CHECK(c.available() == 0);
  CHECK(c.state() == RingState::ok);
  // Nothing seen: advance moves nothing even though entries are now there.
  REQUIRE(p.push(value_of(3)));
  c.advance(1);
  CHECK(r.head == 3);
  uint64_t v;
  REQUIRE(c.pop(v));
  CHECK(v == value_of(3));
}

// ---- malformed indices from the peer -------------------------------------

TEST_CASE("corrupt: tail claiming more entries than the ring holds; consumer moves nothing") {
  for (uint32_t start : {0u, 100u, UINT32_MAX - 2}) {
    CAPTURE(start);
    Ring8 r(start);
    r.tail = start + kN + 1;
    auto c = r.consumer();
    CHECK(c.available() == 0);
    CHECK(c.state() == RingState::corrupt);
    CHECK(c.peek(kN) == 0);
    uint64_t v = 7;
    CHECK_FALSE(c.pop(v));
    CHECK(v == 7);
    c.advance(1);
    CHECK(r.head == start);
    // Sticky: a sane tail afterwards does not revive the view.
    r.tail = start + 1;
    CHECK(c.available() == 0);
    CHECK(c.state() == RingState::corrupt);
    CHECK(r.head == start);
  }
}

TEST_CASE("corrupt: tail behind the consumer's head") {
  Ring8 r(50);
  r.tail = 49;
  auto c = r.consumer();
  CHECK(c.available() == 0);
  CHECK(c.state() == RingState::corrupt);
  CHECK(r.head == 50);
}

TEST_CASE("corrupt: tail taking back entries the consumer already saw") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < 5; i++) REQUIRE(p.push(value_of(i)));
  REQUIRE(c.peek(kN) == 5);
  c.advance(1);
  r.tail = 3;  // still ahead of head (1) but behind the 5 seen
  CHECK(c.available(kN) == 0);  // want > known forces the refresh
  CHECK(c.state() == RingState::corrupt);
  c.advance(1);
  CHECK(r.head == 1);
}

TEST_CASE("a tail that stays put or moves forward within the ring is accepted") {
  Ring8 r;
  auto c = r.consumer();
  r.tail = 4;
  CHECK(c.available() == 4);
  CHECK(c.available(kN) == 4);  // refresh with the same tail
  r.tail = kN;
  CHECK(c.available(kN) == kN);
  CHECK(c.state() == RingState::ok);
}

TEST_CASE("corrupt: head moving backwards; producer publishes nothing") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < kN; i++) REQUIRE(p.push(value_of(i)));
  c.advance(c.peek(4));
  REQUIRE(p.free_slots(4) == 4);  // producer has seen head == 4
  r.head = 2;                     // consumer takes two slots back
  CHECK(p.free_slots(kN) == 0);
  CHECK(p.state() == RingState::corrupt);
  CHECK_FALSE(p.push(value_of(100)));
  CHECK(p.reserve(1) == 0);
  p.commit(1);
  CHECK(r.tail == kN);
  CHECK(p.pending() == 0);
}

TEST_CASE("corrupt: head moving past the producer's tail") {
  Ring8 r;
  auto p = r.producer();
  for (uint32_t i = 0; i < 3; i++) REQUIRE(p.push(value_of(i)));
  r.head = 4;  // one entry beyond anything published
  CHECK(p.pending() == 0);
  CHECK(p.state() == RingState::corrupt);
  CHECK(p.reserve(kN) == 0);
  CHECK(r.tail == 3);
}

TEST_CASE("corrupt: head past the tail across the 2^32 wrap") {
  Ring8 r(UINT32_MAX - 1);
  auto p = r.producer();
  for (uint32_t i = 0; i < 4; i++) REQUIRE(p.push(value_of(i)));
  CHECK(r.tail == 2);
  r.head = 2;  // all consumed: fine
  CHECK(p.pending() == 0);
  CHECK(p.state() == RingState::ok);
  r.head = 3;
  CHECK(p.free_slots(kN + 1) == 0);
  CHECK(p.state() == RingState::corrupt);
}

TEST_CASE("corrupt: reservation made before the head went bad is not published") {
  Ring8 r;
  auto p = r.producer();
  REQUIRE(p.reserve(2) == 2);
  p.slot(0) = value_of(0);
  p.slot(1) = value_of(1);
  r.head = UINT32_MAX;  // backwards
  CHECK(p.reserve(kN) == 0);
  CHECK(p.state() == RingState::corrupt);
  p.commit(2);
  CHECK(r.tail == 0);
}

TEST_CASE("corrupt at attach: producer whose tail and head are more than size apart") {
  Ring8 r;
  r.head = 10;
  r.tail = 10 + kN + 1;
  auto p = r.producer();
  CHECK(p.state() == RingState::corrupt);
  CHECK(p.reserve(1) == 0);
  // Exactly size apart is a full ring, not corrupt.
  Ring8 f(UINT32_MAX - 3);
  f.tail = f.head + kN;
  auto pf = f.producer();
  CHECK(pf.state() == RingState::ok);
  CHECK(pf.free_slots() == 0);
  CHECK(pf.pending() == kN);
}

TEST_CASE("the producer never reads its own shared tail after attach") {
  // The peer scribbling on our tail word must not change what we publish.
  Ring8 r;
  auto p = r.producer();
  REQUIRE(p.push(value_of(0)));
  r.tail = 1000;
  REQUIRE(p.push(value_of(1)));
  CHECK(r.tail == 2);
  CHECK(p.state() == RingState::ok);
}

TEST_CASE("the consumer never reads its own shared head after attach") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < 4; i++) REQUIRE(p.push(value_of(i)));
  uint64_t v;
  REQUIRE(c.pop(v));
  r.head = 3;  // scribbled
  REQUIRE(c.pop(v));
  CHECK(v == value_of(1));
  CHECK(r.head == 2);
}

TEST_CASE("views over 16-byte refill entries copy whole entries") {
  HeapRing<zcrx::uapi::io_uring_zcrx_rqe, 4> r(UINT32_MAX);
  auto p = r.producer();
  auto c = r.consumer();
  for (uint32_t i = 0; i < 4; i++) {
    zcrx::uapi::io_uring_zcrx_rqe e{};
    e.off = zcrx::uapi::area_token(i) | (i * 4096u);
    e.len = 4096 + i;
    REQUIRE(p.push(e));
  }
  for (uint32_t i = 0; i < 4; i++) {
    zcrx::uapi::io_uring_zcrx_rqe e{};
    REQUIRE(c.pop(e));
    CHECK(zcrx::uapi::area_id_of(e.off) == i);
    CHECK(zcrx::uapi::area_offset_of(e.off) == i * 4096u);
    CHECK(e.len == 4096 + i);
  }
}

// ---- copying burst / bulk calls -------------------------------------------

TEST_CASE("push_bulk/pop_bulk move all-or-nothing batches, split at the array end") {
  using Ring16 = HeapRing<uint64_t, 16>;
  // Every batch size 1..16 at every starting slot: covers the inline copy
  // (<= 4 entries), the memcpy copy, and the split at the end of the array.
  for (uint32_t n = 1; n <= 16; n++)
    for (uint32_t start = 0; start < 16; start++) {
      CAPTURE(n);
      CAPTURE(start);
      Ring16 r(UINT32_MAX - 7 + start);
      auto p = r.producer();
      auto c = r.consumer();
      uint64_t src[16], dst[16];
      for (uint32_t i = 0; i < 16; i++) {
        src[i] = value_of(i);
        dst[i] = 0;
      }
      REQUIRE(p.push_bulk(src, n));
      CHECK(r.tail == static_cast<uint32_t>(r.head + n));
      for (uint32_t i = 0; i < n; i++) CHECK(r.entries[(r.head + i) & 15] == value_of(i));
      CHECK(p.push_bulk(src, 16 - n + 1) == false);  // one more than fits
      CHECK(r.tail == static_cast<uint32_t>(r.head + n));
      CHECK_FALSE(c.pop_bulk(dst, n + 1));
      CHECK(dst[0] == 0);
      REQUIRE(c.pop_bulk(dst, n));
      for (uint32_t i = 0; i < n; i++) CHECK(dst[i] == value_of(i));
      CHECK(r.head == r.tail);
    }
}

TEST_CASE("push_burst/pop_burst move as many as fit or are there") {
  Ring8 r(UINT32_MAX - 2);
  auto p = r.producer();
  auto c = r.consumer();
  uint64_t src[12], dst[12] = {};
  for (uint32_t i = 0; i < 12; i++) src[i] = value_of(i);
  CHECK(p.push_burst(src, 5) == 5);
  CHECK(p.push_burst(src + 5, 7) == 3);  // only 3 free
  CHECK(p.push_burst(src, 1) == 0);
  CHECK(c.pop_burst(dst, 6) == 6);
  CHECK(c.pop_burst(dst + 6, 6) == 2);
  CHECK(c.pop_burst(dst, 1) == 0);
  for (uint32_t i = 0; i < kN; i++) CHECK(dst[i] == value_of(i));
  CHECK(r.head == r.tail);
  CHECK(r.tail == static_cast<uint32_t>(UINT32_MAX - 2 + kN));
}

TEST_CASE("copying calls move nothing on a corrupt view") {
  Ring8 r;
  auto p = r.producer();
  auto c = r.consumer();
  uint64_t buf[kN] = {1, 2, 3, 4};
  REQUIRE(p.push_bulk(buf, 4));
  r.tail = 100;  // consumer sees an impossible tail
  CHECK(c.pop_burst(buf, 4) == 0);
  CHECK_FALSE(c.pop_bulk(buf, 1));
  CHECK(c.pop_bulk(buf, 0));  // zero entries: trivially done, nothing moves
  CHECK(r.head == 0);
  r.tail = 4;
  r.head = 5;  // producer sees head past its tail
  CHECK(p.push_burst(buf, 8) == 0);  // wants more than cached free: refresh
  CHECK(p.state() == RingState::corrupt);
  CHECK_FALSE(p.push_bulk(buf, 1));
  CHECK(r.tail == 4);
}
