// SPDX-License-Identifier: MIT
// A CQ ring in a memfd shared by two processes: the parent produces, a
// forked child maps the memfd again (at its own address) and consumes.
// Every entry is checked field by field in the child; the child's exit
// status carries the verdict. The indices start just below 2^32 so the
// transfer crosses the wrap.
#include <doctest/doctest.h>

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "seq_entry.h"
#include "zcrx/ring_layout.h"

namespace u = zcrx::uapi;

namespace {

constexpr uint64_t kEntries = 10'000'000;
constexpr uint32_t kCqEntries = 1024;
constexpr uint32_t kStart = UINT32_MAX - 4999;  // wraps after 5000 entries

// Child exit codes.
constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitCorrupt = 2;
constexpr int kExitOrphaned = 3;
constexpr int kExitMapFailed = 4;

// Backs off while the ring is empty or full: the two cores are shared, so
// a waiting side gives its core away rather than spinning on it.
void backoff(uint32_t& spins) {
  if (++spins % 64 == 0) sched_yield();
}

[[noreturn]] void run_consumer(int fd, const zcrx::RingRegionLayout& l, pid_t parent) {
  void* base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) _exit(kExitMapFailed);
  auto c = zcrx::cq_consumer(base, l);
  uint64_t k = 0;
  uint64_t bad = 0;
  uint32_t spins = 0;
  while (k < kEntries) {
    uint32_t n = c.peek(32);
    if (n == 0) {
      if (c.state() != zcrx::RingState::ok) _exit(kExitCorrupt);
      backoff(spins);
      if (spins % 65536 == 0 && getppid() != parent) _exit(kExitOrphaned);
      continue;
    }
    for (uint32_t i = 0; i < n; i++) {
      if (!zcrx::test::is_seq_cqe(c.load(i), k + i) && bad++ < 5)
        std::fprintf(stderr, "child: entry %llu differs\n",
                     static_cast<unsigned long long>(k + i));
    }
    c.advance(n);
    k += n;
  }
  _exit(bad == 0 ? kExitOk : kExitMismatch);
}

}  // namespace

TEST_CASE("two processes over a memfd move 10M CQEs across the 2^32 wrap, each one intact") {
  zcrx::RingRegionLayout l = zcrx::ring_region_layout(64, kCqEntries);
  REQUIRE(zcrx::validate_ring_region(l, l.size) == 0);
  int fd = memfd_create("zcrx-ring-test", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(l.size)) == 0);
  void* base = mmap(nullptr, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  REQUIRE(base != MAP_FAILED);
  zcrx::init_ring_region(base, l);
  auto* bytes = static_cast<uint8_t*>(base);
  auto* head = reinterpret_cast<uint32_t*>(bytes + l.cq_off.head);
  auto* tail = reinterpret_cast<uint32_t*>(bytes + l.cq_off.tail);
  *head = kStart;
  *tail = kStart;

  pid_t parent = getpid();
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) run_consumer(fd, l, parent);

  auto p = zcrx::cq_producer(base, l);
  uint64_t k = 0;
  uint32_t spins = 0;
  bool child_gone = false;
  int status = 0;
  uint32_t batch = 1;
  while (k < kEntries && !child_gone) {
    // Batch sizes 1..32 in turn so both burst and single-slot paths run.
    uint64_t left = kEntries - k;
    uint32_t want = left < batch ? static_cast<uint32_t>(left) : batch;
    batch = batch % 32 + 1;
    uint32_t n = p.reserve(want);
    if (n == 0) {
      if (p.state() != zcrx::RingState::ok) break;
      backoff(spins);
      if (spins % 4096 == 0 && waitpid(child, &status, WNOHANG) == child) child_gone = true;
      continue;
    }
    for (uint32_t i = 0; i < n; i++) p.slot(i) = zcrx::test::seq_cqe(k + i);
    p.commit(n);
    k += n;
  }
  if (!child_gone) REQUIRE(waitpid(child, &status, 0) == child);

  CHECK(p.state() == zcrx::RingState::ok);
  CHECK(k == kEntries);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == kExitOk);
  // Both shared indices went through 0 and agree on the entry count.
  CHECK(*tail == static_cast<uint32_t>(kStart + kEntries));
  CHECK(*head == *tail);
  CHECK(p.pending() == 0);
  munmap(base, l.size);
  close(fd);
}
