// SPDX-License-Identifier: MIT
// libzcrx datapath: SQEs, completions, payload pointers and refills. No
// syscall and no allocation here except in wait_cqe's eventfd sleep (one
// epoll_pwait2 per sleep).
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "zcrx/client.h"

namespace zcrx {
namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

// ---- Ifq ----------------------------------------------------------------------

Ifq::~Ifq() {
  if (rq_base_) munmap(rq_base_, rq_size_);
  if (area_) munmap(area_, area_len_);
  if (rq_fd_ >= 0) close(rq_fd_);
  if (area_fd_ >= 0) close(area_fd_);
}

bool Ifq::copy_stats(uapi::zcrx_stats* out) const {
  if (stats_ == nullptr) return false;
  // relaxed: zcrxd's datapath writes these counters with relaxed stores;
  // they are statistics and publish nothing.
  out->copy_count = std::atomic_ref<uint64_t>(stats_->copy_count).load(std::memory_order_relaxed);
  out->copy_bytes = std::atomic_ref<uint64_t>(stats_->copy_bytes).load(std::memory_order_relaxed);
  return true;
}

void Ifq::flush_refills() {
  if (rq_queued_ == 0) return;
  rq_.commit(rq_queued_);
  rq_queued_ = 0;
}

// ---- SQ -------------------------------------------------------------------------

uapi::io_uring_sqe* Ring::get_sqe() {
  if (!ring_base_ || sq_.reserve(1) == 0) return nullptr;
  uapi::io_uring_sqe* sqe = &sq_.slot(sq_taken_++);
  std::memset(sqe, 0, sizeof(*sqe));
  return sqe;
}

unsigned Ring::submit() {
  if (!ring_base_) return 0;
  unsigned n = sq_taken_;
  sq_.commit(n);
  sq_taken_ = 0;
  if (n == 0) return 0;
  // An SQ zcrxd stopped polling (proto.h SQ_WAKEUP). A seq_cst RMW after
  // the tail store (the tail store is sequenced before it, and zcrxd sets
  // the bit with a seq_cst RMW of the same word before re-reading the
  // tail): either zcrxd saw our tail, or we see its bit. An RMW rather than
  // a fence, which ThreadSanitizer would not follow.
  std::atomic_ref<uint32_t> flags(*sq_flags_word());
  if (flags.fetch_or(0, std::memory_order_seq_cst) & uapi::kSqNeedWakeup) wake_sq();
  return n;
}

// ---- CQ ---------------------------------------------------------------------------

unsigned Ring::peek_cqes(uapi::io_uring_cqe32* dst, unsigned max) {
  if (!ring_base_) return 0;
  unsigned n = cq_.peek(max);
  for (unsigned i = 0; i < n; i++) dst[i] = cq_.load(i);
  return n;
}

uint32_t* Ring::sq_flags_word() const {
  return reinterpret_cast<uint32_t*>(static_cast<char*>(ring_base_) + layout_.sq_off.flags);
}

uint32_t* Ring::cq_flags_word() const {
  return reinterpret_cast<uint32_t*>(static_cast<char*>(ring_base_) + layout_.cq_off.flags);
}

uint32_t* Ring::cq_wake_target_word() const {
  if (layout_.cq_off.resv1 == 0) return nullptr;  // a zcrxd without the word
  return reinterpret_cast<uint32_t*>(static_cast<char*>(ring_base_) + layout_.cq_off.resv1);
}

uint32_t* Ring::cq_tail_word() const {
  return reinterpret_cast<uint32_t*>(static_cast<char*>(ring_base_) + layout_.cq_off.tail);
}

uint32_t Ring::cq_overflow() const {
  if (!ring_base_) return 0;
  auto* w = reinterpret_cast<uint32_t*>(static_cast<char*>(ring_base_) + layout_.cq_off.overflow);
  // relaxed: a statistic; nothing is read on the strength of it.
  return std::atomic_ref<uint32_t>(*w).load(std::memory_order_relaxed);
}

int Ring::wait_cqe(unsigned min, WaitMode mode, int64_t timeout_ns) {
  if (!ring_base_ || min == 0 || min > cq_.size()) return -EINVAL;
  if (mode != WaitMode::busy_poll && epfd_ < 0) return -EINVAL;
  // Completions already there: no clock read.
  if (cq_.available(min) >= min) return static_cast<int>(cq_.available(min));
  if (cq_.state() != RingState::ok) return -EPROTO;
  // The clock is read only for a timeout or adaptive's spin, and at most
  // once per sleep: `now` is fresh when it was read since the last sleep.
  const bool timed = timeout_ns >= 0;
  const bool clocked = timed || mode == WaitMode::adaptive;
  int64_t now = clocked ? now_ns() : 0;
  bool fresh = true;
  const int64_t deadline = timed ? now + timeout_ns : INT64_MAX;
  // adaptive spins until spin_end, then sleeps as eventfd does.
  const int64_t spin_end = mode == WaitMode::adaptive ? now + spin_ns_ : INT64_MAX;
  bool sleep = mode == WaitMode::eventfd;
  std::atomic_ref<uint32_t> flags(*cq_flags_word());
  // With a wake target word, zcrxd wakes us once `min` CQEs are there
  // (proto.h kCqWakeTarget) instead of after every burst it publishes.
  uint32_t* const target_word = cq_wake_target_word();
  const uint32_t sleep_bits =
      proto::kCqNeedWakeup | (target_word ? proto::kCqWakeTarget : 0u);
  for (unsigned spins = 0;; spins++) {
    unsigned n = cq_.available(min);
    if (cq_.state() != RingState::ok) return -EPROTO;
    if (n >= min) return static_cast<int>(n);
    if (!sleep) {
      // The clock is read every 256 spins only: cheap, but not free.
      if (clocked && (spins & 255) == 0) {
        now = now_ns();
        fresh = true;
        if (now >= deadline) return -ETIME;
        sleep = now >= spin_end;
      }
      if (!sleep) {
        cpu_relax();
        continue;
      }
    }
    // relaxed: the seq_cst RMW below releases it to zcrxd's acquire load
    // of the flags. The head is ours, so head + min is the tail at which
    // `min` are ready (io_uring_wait_cqes' cq_tail target).
    if (target_word)
      std::atomic_ref<uint32_t>(*target_word).store(cq_.head() + min, std::memory_order_relaxed);
    // seq_cst RMW of the bits, then a seq_cst load of the tail: both join
    // the single total order, and zcrxd publishes the tail, issues a
    // seq_cst fence, then reads the bits (proto.h); so either zcrxd sees the
    // bits or this load sees the new tail. (No fence here: ThreadSanitizer
    // does not model fences, and the two seq_cst operations suffice.)
    flags.fetch_or(sleep_bits, std::memory_order_seq_cst);
    const uint32_t tail = std::atomic_ref<uint32_t>(*cq_tail_word()).load(std::memory_order_seq_cst);
    n = tail - cq_.head() >= min ? cq_.available(min) : 0;
    if (cq_.state() != RingState::ok) return -EPROTO;
    if (n >= min) {
      // relaxed: only saves zcrxd a needless eventfd write.
      flags.fetch_and(~sleep_bits, std::memory_order_relaxed);
      return static_cast<int>(n);
    }
    timespec ts{};
    if (timed) {
      if (!fresh) now = now_ns();
      const int64_t left = deadline - now;
      if (left <= 0) {
        flags.fetch_and(~sleep_bits, std::memory_order_relaxed);
        return -ETIME;
      }
      ts = {static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    }
    fresh = false;
    // The sleep's one system call. The eventfd is watched edge-triggered:
    // a write by zcrxd after the bit was set (even before this call) ends
    // it, and nothing has to be read to re-arm it. A wakeup left over from
    // an earlier wait (zcrxd wrote, but we had found the tail first) ends
    // it at once; the loop then looks at the CQ and sleeps again.
    epoll_event ev;
    if (epoll_pwait2(epfd_, &ev, 1, timed ? &ts : nullptr, nullptr) < 0 && errno != EINTR)
      return -errno;
  }
}

}  // namespace zcrx
