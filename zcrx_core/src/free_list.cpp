// SPDX-License-Identifier: MIT
// FreeList, QuiescentEpoch and PlainProvider: the plain-memory buffer
// provider tests and benchmarks run the engine on.
#include "zcrx/core/free_list.h"

#include <cassert>
#include <cerrno>
#include <thread>

namespace zcrx::core {
namespace {

uint32_t pow2_at_least(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

// ---- FreeList -------------------------------------------------------------------

FreeList::FreeList(Area& area)
    : area_(area),
      capacity_(area.num_niovs()),
      stack_(std::make_unique<uint32_t[]>(capacity_ ? capacity_ : 1)),
      ring_(std::make_unique<uint32_t[]>(pow2_at_least(capacity_ ? capacity_ : 1))),
      ring_mask_(pow2_at_least(capacity_ ? capacity_ : 1) - 1) {
  // Highest index at the bottom, so the first allocations are 0, 1, 2...
  for (uint32_t i = 0; i < capacity_; i++) stack_[i] = capacity_ - 1 - i;
  top_ = capacity_;
}

FreeList::~FreeList() = default;

uint32_t FreeList::drain_control() {
  // acquire: pairs with reclaim_niovs' release of the tail, so the
  // indices it wrote are visible.
  const uint32_t tail = ring_tail_.load(std::memory_order_acquire);
  // relaxed: our own index.
  uint32_t head = ring_head_.load(std::memory_order_relaxed);
  uint32_t moved = 0;
  while (head != tail && top_ < capacity_) {
    stack_[top_++] = ring_[head & ring_mask_];
    head++;
    moved++;
  }
  // release: our reads of the slots complete before the producer reuses them.
  ring_head_.store(head, std::memory_order_release);
  return moved;
}

uint32_t FreeList::alloc_burst(uint32_t* out, uint32_t n) {
  if (top_ < n) drain_control();
  const uint32_t got = n < top_ ? n : top_;
  for (uint32_t i = 0; i < got; i++) out[i] = stack_[--top_];
  return got;
}

bool FreeList::alloc_bulk(uint32_t* out, uint32_t n) {
  if (top_ < n) drain_control();
  if (top_ < n) return false;
  for (uint32_t i = 0; i < n; i++) out[i] = stack_[--top_];
  return true;
}

void FreeList::return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) {
  assert(&area == &area_);
  (void)area;
  for (uint32_t i = 0; i < n; i++) {
    if (top_ == capacity_ || niov_idx[i] >= capacity_) {
      // relaxed: a counter.
      overflows_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    stack_[top_++] = niov_idx[i];
  }
}

void FreeList::reclaim_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) {
  assert(&area == &area_);
  (void)area;
  // relaxed: our own index (control calls are serialised by the caller).
  uint32_t tail = ring_tail_.load(std::memory_order_relaxed);
  // acquire: pairs with drain_control's release of the head, so its reads
  // of the slots we are about to reuse are done.
  uint32_t head = ring_head_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) {
    if (tail - head > ring_mask_) head = ring_head_.load(std::memory_order_acquire);
    if (tail - head > ring_mask_ || niov_idx[i] >= capacity_) {
      overflows_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
      continue;
    }
    ring_[tail & ring_mask_] = niov_idx[i];
    tail++;
  }
  // release: the indices written above are visible before the tail.
  ring_tail_.store(tail, std::memory_order_release);
}

uint32_t FreeList::free_count() const {
  // acquire (both): a quiescent report; pairs with the releases above.
  const uint32_t pending = ring_tail_.load(std::memory_order_acquire) -
                           ring_head_.load(std::memory_order_acquire);
  return top_ + pending;
}

uint64_t FreeList::overflows() const {
  // relaxed: a counter.
  return overflows_.load(std::memory_order_relaxed);
}

// ---- QuiescentEpoch ------------------------------------------------------------
//
// No fences (GCC's ThreadSanitizer does not support them); everything the
// protocol relies on is a seq_cst operation, all in one total order S:
//  control:  unpublish U (seq_cst store)  ->  wait(): read epoch e (seq_cst)
//  datapath: ... iteration k ...  ->  quiescent(): epoch e -> e+1 (seq_cst RMW)
//            ->  iteration k+1 reads the snapshot with seq_cst loads L.
// The control read of e precedes the increment in S (it read an older
// value), so U < read < increment < L in S, and a seq_cst load sees the
// last store before it in S: L sees U. The increment is also a release the
// control thread's acquire load of e+1 pairs with, so iteration k's uses
// of the old pointers happen before wait() returns. Datapath snapshot
// loads (Ifq::entry_at, entry_slots, live, the master ctx) are seq_cst
// for this reason; on x86 they cost what an acquire load costs.

void QuiescentEpoch::set_running(bool running) {
  if (running) {
    // seq_cst: a control thread that read "not running" did so before this
    // store in S, hence before our later seq_cst snapshot loads, which
    // therefore see what it unpublished.
    running_.store(true, std::memory_order_seq_cst);
  } else {
    // seq_cst: after our last use of any pointer; the increment releases
    // that use to a waiter that already read the old epoch.
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    running_.store(false, std::memory_order_seq_cst);
  }
}

void QuiescentEpoch::quiescent() {
  // seq_cst: see the comment above.
  epoch_.fetch_add(1, std::memory_order_seq_cst);
}

void QuiescentEpoch::wait() const {
  // seq_cst (both): after the caller's unpublishing store in S.
  const uint64_t e = epoch_.load(std::memory_order_seq_cst);
  if (!running_.load(std::memory_order_seq_cst)) return;
  uint32_t spins = 0;
  // acquire: pairs with the datapath's increment (a release).
  while (epoch_.load(std::memory_order_acquire) == e) {
    if (++spins < 1024) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

// ---- PlainProvider ---------------------------------------------------------------

PlainProvider::PlainProvider(uint32_t ports, uint32_t queues)
    : ports_(ports), queues_(queues) {}

PlainProvider::~PlainProvider() = default;

int PlainProvider::lookup_device(uint32_t port) {
  lookup_calls_++;
  return port < ports_ ? 0 : -ENODEV;
}

void PlainProvider::attach_area(Area& area) {
  lists_.push_back(std::make_unique<FreeList>(area));
  area.set_provider_data(lists_.back().get());
}

int PlainProvider::open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) {
  open_calls_++;
  if (fail_next_open_ != 0) {
    const int err = fail_next_open_;
    fail_next_open_ = 0;
    return err;
  }
  if (port >= ports_ || rxq >= queues_) return -ENODEV;
  const auto key = std::make_pair(port, rxq);
  if (bound_.count(key) != 0) return -EEXIST;
  Area* area = ifq.area();
  if (area == nullptr) return -EINVAL;
  if (free_list(*area) == nullptr) attach_area(*area);
  FreeList* fl = free_list(*area);
  bound_[key] = &ifq;
  last_[key] = fl;
  return 0;
}

void PlainProvider::close_queue(Ifq& ifq) {
  close_calls_++;
  for (auto it = bound_.begin(); it != bound_.end(); ++it) {
    if (it->second == &ifq) {
      bound_.erase(it);
      break;
    }
  }
  epoch_.wait();
}

void PlainProvider::synchronize(Ifq& real) {
  (void)real;
  // relaxed: a statistic.
  synchronize_calls_.fetch_add(1, std::memory_order_relaxed);
  epoch_.wait();
}

void PlainProvider::return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) {
  free_list(area)->return_niovs(area, niov_idx, n);
}

void PlainProvider::reclaim_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) {
  free_list(area)->reclaim_niovs(area, niov_idx, n);
}

FreeList* PlainProvider::free_list(uint32_t port, uint32_t rxq) const {
  auto it = last_.find(std::make_pair(port, rxq));
  return it == last_.end() ? nullptr : it->second;
}

bool PlainProvider::bound(uint32_t port, uint32_t rxq) const {
  return bound_.count(std::make_pair(port, rxq)) != 0;
}

}  // namespace zcrx::core
