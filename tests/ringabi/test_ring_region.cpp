// SPDX-License-Identifier: MIT
// Region layouts: what we produce validates, what a hostile peer could hand
// us (out of bounds, overlapping, misaligned, wrong counts) is -EINVAL, and
// the typed views address the words the layout names.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "zcrx/ring_layout.h"

namespace u = zcrx::uapi;
using zcrx::RingRegionLayout;

namespace {

// Page-aligned zeroed memory for a region, released on scope exit.
struct Mapping {
  void* p = nullptr;
  size_t len = 0;
  explicit Mapping(size_t n) : len(n) {
    p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
  }
  ~Mapping() { munmap(p, len); }
  uint8_t* bytes() const { return static_cast<uint8_t*>(p); }
  uint32_t word(uint32_t off) const {
    uint32_t v;
    std::memcpy(&v, bytes() + off, 4);
    return v;
  }
};

// Pointers to every index word of a ring layout, to corrupt one at a time.
std::vector<uint32_t*> index_words(RingRegionLayout& l) {
  return {&l.sq_off.head,      &l.sq_off.tail,         &l.sq_off.ring_mask,
          &l.sq_off.ring_entries, &l.sq_off.flags,     &l.sq_off.dropped,
          &l.cq_off.head,      &l.cq_off.tail,         &l.cq_off.ring_mask,
          &l.cq_off.ring_entries, &l.cq_off.overflow,  &l.cq_off.flags};
}

}  // namespace

TEST_CASE("round_ring_entries rounds up to a power of two and clamps to the cap") {
  CHECK(zcrx::round_ring_entries(0, 4096) == 0);
  CHECK(zcrx::round_ring_entries(1, 4096) == 1);
  CHECK(zcrx::round_ring_entries(3, 4096) == 4);
  CHECK(zcrx::round_ring_entries(4096, 4096) == 4096);
  CHECK(zcrx::round_ring_entries(4097, 32768) == 8192);
  CHECK(zcrx::round_ring_entries(100000, zcrx::kMaxSqEntries) == zcrx::kMaxSqEntries);
  // A cap that is not a power of two: the power of two above it is refused.
  CHECK(zcrx::round_ring_entries(100, 100) == 0);
  CHECK(zcrx::round_ring_entries(50, 100) == 64);
  // Near 2^32: no wrap of the doubling (this used to loop forever).
  CHECK(zcrx::round_ring_entries(UINT32_MAX, UINT32_MAX) == 0);
  CHECK(zcrx::round_ring_entries((1u << 31) + 1, UINT32_MAX) == 0);
  CHECK(zcrx::round_ring_entries(1u << 31, UINT32_MAX) == 1u << 31);
}

TEST_CASE("the ring layouts we produce validate and are page multiples") {
  for (uint32_t sq : {1u, 2u, 64u, 4096u, zcrx::kMaxSqEntries})
    for (uint32_t cq : {1u, 8u, 1024u, zcrx::kMaxCqEntries}) {
      CAPTURE(sq);
      CAPTURE(cq);
      RingRegionLayout l = zcrx::ring_region_layout(sq, cq);
      CHECK(l.size % 4096 == 0);
      CHECK(l.size >= l.sqes_off + size_t{sq} * sizeof(u::io_uring_sqe));
      CHECK(l.cq_off.cqes + size_t{cq} * sizeof(u::io_uring_cqe32) <= l.sqes_off);
      CHECK(zcrx::validate_ring_region(l, l.size) == 0);
      // Each shared index is alone in its pair of lines.
      const uint32_t shared[] = {l.sq_off.head, l.sq_off.tail, l.cq_off.head, l.cq_off.tail};
      for (uint32_t a : shared)
        for (uint32_t b : shared)
          if (a != b) CHECK(a / zcrx::kIndexSpacing != b / zcrx::kIndexSpacing);
      for (uint32_t a : shared) CHECK(a / zcrx::kIndexSpacing != l.sq_off.ring_mask / zcrx::kIndexSpacing);
      CHECK(l.cq_off.cqes % zcrx::kIndexSpacing == 0);
    }
}

TEST_CASE("ring region: too small a region is -EINVAL") {
  RingRegionLayout l = zcrx::ring_region_layout(64, 128);
  size_t need = l.sqes_off + 64 * sizeof(u::io_uring_sqe);
  CHECK(zcrx::validate_ring_region(l, need) == 0);
  CHECK(zcrx::validate_ring_region(l, need - 1) == -EINVAL);
  CHECK(zcrx::validate_ring_region(l, 0) == -EINVAL);
  CHECK(zcrx::validate_ring_region(l, 3) == -EINVAL);
}

TEST_CASE("ring region: any index word out of bounds or misaligned is -EINVAL") {
  RingRegionLayout base = zcrx::ring_region_layout(64, 128);
  for (size_t i = 0; i < 12; i++) {
    CAPTURE(i);
    for (uint32_t bad : {static_cast<uint32_t>(base.size), static_cast<uint32_t>(base.size - 2),
                         UINT32_MAX - 3, UINT32_MAX, 2u * 64 + 1}) {
      CAPTURE(bad);
      RingRegionLayout l = base;
      *index_words(l)[i] = bad;
      CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
    }
  }
}

TEST_CASE("ring region: two index names for one word is -EINVAL") {
  RingRegionLayout base = zcrx::ring_region_layout(64, 128);
  for (size_t i = 0; i < 12; i++)
    for (size_t j = 0; j < 12; j++) {
      if (i == j) continue;
      CAPTURE(i);
      CAPTURE(j);
      RingRegionLayout l = base;
      auto w = index_words(l);
      *w[i] = *w[j];
      CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
    }
}

TEST_CASE("ring region: an index word inside the CQE or SQE array is -EINVAL") {
  RingRegionLayout base = zcrx::ring_region_layout(64, 128);
  for (size_t i = 0; i < 12; i++) {
    CAPTURE(i);
    RingRegionLayout l = base;
    *index_words(l)[i] = l.cq_off.cqes + 32 * 5 + 4;
    CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
    l = base;
    *index_words(l)[i] = l.sqes_off + 64 * 63 + 60;  // last word of the last SQE
    CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  }
}

TEST_CASE("ring region: CQE and SQE arrays overlapping or out of bounds are -EINVAL") {
  RingRegionLayout base = zcrx::ring_region_layout(64, 128);
  RingRegionLayout l = base;
  l.sqes_off = l.cq_off.cqes + 128 * 32 - 8;  // last 8 bytes of the CQEs
  CHECK(zcrx::validate_ring_region(l, l.size + 4096) == -EINVAL);
  l = base;
  l.cq_off.cqes = l.sqes_off;
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  l = base;
  l.sqes_off = static_cast<uint32_t>(l.size - 64 * 64 + 64);  // one SQE past the end
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  l = base;
  l.cq_off.cqes = UINT32_MAX - 7;
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  l = base;
  l.cq_off.cqes += 4;  // misaligned for the 8-byte fields
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  l = base;
  l.sqes_off += 4;
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  // Arrays right next to each other are fine.
  l = base;
  l.sqes_off = l.cq_off.cqes + 128 * 32;
  CHECK(zcrx::validate_ring_region(l, l.size) == 0);
}

TEST_CASE("ring region: the wake target word (cq_off.resv1) is optional and checked like an index") {
  RingRegionLayout base = zcrx::ring_region_layout(64, 128);
  REQUIRE(base.cq_off.resv1 != 0);
  CHECK(zcrx::validate_ring_region(base, base.size) == 0);
  // It shares the static line pair, off the shared indices' pairs.
  CHECK(base.cq_off.resv1 / zcrx::kIndexSpacing == base.cq_off.flags / zcrx::kIndexSpacing);
  RingRegionLayout none = base;
  none.cq_off.resv1 = 0;  // a zcrxd without the word
  CHECK(zcrx::validate_ring_region(none, none.size) == 0);
  for (uint32_t* w : index_words(base)) {
    if (*w == 0) continue;  // sq_off.head: offset 0 means "no word"
    RingRegionLayout l = base;
    l.cq_off.resv1 = *w;  // one word with two names
    CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  }
  for (uint32_t bad : {static_cast<uint32_t>(base.size), static_cast<uint32_t>(base.size - 2),
                       base.cq_off.resv1 + 2, base.cq_off.cqes, base.cq_off.cqes + 64, base.sqes_off,
                       UINT32_MAX}) {
    CAPTURE(bad);
    RingRegionLayout l = base;
    l.cq_off.resv1 = bad;
    CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  }
}

TEST_CASE("ring region: entry counts not a power of two or over the kernel limit are -EINVAL") {
  for (uint32_t bad : {0u, 3u, 100u, 4095u}) {
    CAPTURE(bad);
    RingRegionLayout l = zcrx::ring_region_layout(64, 128);
    size_t big = size_t{1} << 26;
    l.sq_entries = bad;
    CHECK(zcrx::validate_ring_region(l, big) == -EINVAL);
    l = zcrx::ring_region_layout(64, 128);
    l.cq_entries = bad;
    CHECK(zcrx::validate_ring_region(l, big) == -EINVAL);
  }
  RingRegionLayout l = zcrx::ring_region_layout(zcrx::kMaxSqEntries * 2, 1);
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  l = zcrx::ring_region_layout(1, zcrx::kMaxCqEntries * 2);
  CHECK(zcrx::validate_ring_region(l, l.size) == -EINVAL);
  // A huge power of two is refused by the limit even in an unbounded region.
  l = zcrx::ring_region_layout(64, 128);
  l.cq_entries = 1u << 31;
  CHECK(zcrx::validate_ring_region(l, SIZE_MAX) == -EINVAL);
}

TEST_CASE("the refill-queue layouts we produce validate") {
  for (uint32_t n : {1u, 2u, 64u, 4096u, zcrx::kMaxRqEntries}) {
    CAPTURE(n);
    zcrx::RqRegionLayout l = zcrx::rq_region_layout(n);
    CHECK(l.size % 4096 == 0);
    CHECK(l.off.rqes + size_t{n} * sizeof(u::io_uring_zcrx_rqe) <= l.size);
    CHECK(l.off.head / zcrx::kIndexSpacing != l.off.tail / zcrx::kIndexSpacing);
    CHECK(l.off.rqes / zcrx::kIndexSpacing != l.off.tail / zcrx::kIndexSpacing);
    CHECK(zcrx::validate_rq_region(l.off, n, l.size) == 0);
  }
}

TEST_CASE("rq region: bad counts, bounds, alignment and overlaps are -EINVAL") {
  zcrx::RqRegionLayout l = zcrx::rq_region_layout(256);
  const size_t sz = l.size;
  auto check_bad = [&](u::io_uring_zcrx_offsets off, uint32_t n, size_t size) {
    CHECK(zcrx::validate_rq_region(off, n, size) == -EINVAL);
  };
  // counts
  check_bad(l.off, 0, sz);
  check_bad(l.off, 255, sz);
  check_bad(l.off, zcrx::kMaxRqEntries * 2, size_t{1} << 30);
  // region too small for the array
  check_bad(l.off, 256, l.off.rqes + 256 * 16 - 1);
  CHECK(zcrx::validate_rq_region(l.off, 256, l.off.rqes + 256 * 16) == 0);
  // head/tail
  u::io_uring_zcrx_offsets o = l.off;
  o.tail = o.head;
  check_bad(o, 256, sz);
  o = l.off;
  o.head = static_cast<uint32_t>(sz);
  check_bad(o, 256, sz);
  o = l.off;
  o.tail = static_cast<uint32_t>(sz - 2);
  check_bad(o, 256, sz);
  o = l.off;
  o.tail = 66;  // misaligned
  check_bad(o, 256, sz);
  o = l.off;
  o.head = UINT32_MAX;
  check_bad(o, 256, sz);
  // index inside the RQE array
  o = l.off;
  o.tail = o.rqes + 16 * 10 + 8;
  check_bad(o, 256, sz);
  o = l.off;
  o.head = o.rqes;
  check_bad(o, 256, sz);
  // array out of bounds, misaligned, or wrapping
  o = l.off;
  o.rqes = static_cast<uint32_t>(sz - 255 * 16);
  check_bad(o, 256, sz);
  o = l.off;
  o.rqes += 4;
  check_bad(o, 256, sz);
  o = l.off;
  o.rqes = UINT32_MAX - 7;
  check_bad(o, 256, sz);
  // Index words after the array are fine.
  o.rqes = 0;
  o.head = 256 * 16;
  o.tail = 256 * 16 + 64;
  CHECK(zcrx::validate_rq_region(o, 256, sz) == 0);
}

TEST_CASE("init_ring_region zeroes the region and writes masks and entry counts") {
  RingRegionLayout l = zcrx::ring_region_layout(16, 32);
  Mapping m(l.size);
  std::memset(m.p, 0xAA, l.size);
  zcrx::init_ring_region(m.p, l);
  CHECK(m.word(l.sq_off.ring_mask) == 15);
  CHECK(m.word(l.sq_off.ring_entries) == 16);
  CHECK(m.word(l.cq_off.ring_mask) == 31);
  CHECK(m.word(l.cq_off.ring_entries) == 32);
  size_t nonzero = 0;
  for (size_t i = 0; i < l.size; i++) nonzero += m.bytes()[i] != 0;
  // Only the four static words (one byte each: 15, 16, 31, 32) are non-zero.
  CHECK(nonzero == 4);
}

TEST_CASE("init_zeroed_ring_region touches only the header page of a fresh memfd") {
  // The largest ring: 2 MiB of CQEs and 2 MiB of SQEs. A daemon creating
  // one per connection must not make all of it resident up front.
  RingRegionLayout l = zcrx::ring_region_layout(zcrx::kMaxSqEntries, zcrx::kMaxCqEntries);
  int fd = memfd_create("ring-test", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(l.size)) == 0);
  void* p = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  REQUIRE(p != MAP_FAILED);
  zcrx::init_zeroed_ring_region(p, l);
  const size_t pages = l.size / 4096;
  std::vector<unsigned char> in(pages);
  REQUIRE(mincore(p, l.size, in.data()) == 0);
  size_t resident = 0;
  for (unsigned char c : in) resident += c & 1;
  CHECK(resident <= 2);  // the index and static words live in the first page
  auto* w = static_cast<uint32_t*>(p);
  CHECK(w[l.cq_off.ring_entries / 4] == zcrx::kMaxCqEntries);
  CHECK(w[l.sq_off.ring_mask / 4] == zcrx::kMaxSqEntries - 1);
  munmap(p, l.size);
  close(fd);
}

TEST_CASE("typed CQ and SQ views address the words the layout names") {
  RingRegionLayout l = zcrx::ring_region_layout(8, 16);
  Mapping m(l.size);
  zcrx::init_ring_region(m.p, l);

  auto cqp = zcrx::cq_producer(m.p, l);
  auto cqc = zcrx::cq_consumer(m.p, l);
  u::io_uring_cqe32 cqe{};
  cqe.cqe.user_data = 0x1122334455667788ull;
  cqe.cqe.res = 1400;
  cqe.cqe.flags = u::kCqeFMore;
  cqe.zcqe.off = u::area_token(3) | 8192;
  REQUIRE(cqp.push(cqe));
  CHECK(m.word(l.cq_off.tail) == 1);
  CHECK(m.word(l.cq_off.head) == 0);
  u::io_uring_cqe32 in_mem;
  std::memcpy(&in_mem, m.bytes() + l.cq_off.cqes, sizeof in_mem);
  CHECK(std::memcmp(&in_mem, &cqe, sizeof cqe) == 0);
  u::io_uring_cqe32 got{};
  REQUIRE(cqc.pop(got));
  CHECK(std::memcmp(&got, &cqe, sizeof cqe) == 0);
  CHECK(m.word(l.cq_off.head) == 1);

  auto sqp = zcrx::sq_producer(m.p, l);
  auto sqc = zcrx::sq_consumer(m.p, l);
  CHECK(sqp.size() == 8);
  CHECK(sqc.size() == 8);
  u::io_uring_sqe sqe{};
  sqe.opcode = u::kOpRecvZc;
  sqe.user_data = 42;
  REQUIRE(sqp.push(sqe));
  CHECK(m.word(l.sq_off.tail) == 1);
  CHECK(m.bytes()[l.sqes_off] == u::kOpRecvZc);
  u::io_uring_sqe sgot{};
  REQUIRE(sqc.pop(sgot));
  CHECK(sgot.user_data == 42);
  CHECK(m.word(l.sq_off.head) == 1);
  // The CQ indices were not touched by SQ traffic.
  CHECK(m.word(l.cq_off.tail) == 1);
}

TEST_CASE("typed RQ views address the words the offsets name") {
  zcrx::RqRegionLayout l = zcrx::rq_region_layout(4);
  Mapping m(l.size);
  auto p = zcrx::rq_producer(m.p, l.off, l.rq_entries);
  auto c = zcrx::rq_consumer(m.p, l.off, l.rq_entries);
  for (uint32_t i = 0; i < 4; i++) {
    u::io_uring_zcrx_rqe e{};
    e.off = u::area_token(1) | (i * 4096);
    e.len = 4096;
    REQUIRE(p.push(e));
  }
  CHECK_FALSE(p.push(u::io_uring_zcrx_rqe{}));
  CHECK(m.word(l.off.tail) == 4);
  u::io_uring_zcrx_rqe third;
  std::memcpy(&third, m.bytes() + l.off.rqes + 2 * sizeof third, sizeof third);
  CHECK(third.off == (u::area_token(1) | 8192));
  u::io_uring_zcrx_rqe e;
  REQUIRE(c.pop(e));
  CHECK(e.off == u::area_token(1));
  CHECK(m.word(l.off.head) == 1);
}
