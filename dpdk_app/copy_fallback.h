// SPDX-License-Identifier: MIT
// The copy fallback: a received segment whose buffer is not a niov of the
// bound area (net_ring hands over the sender's mbufs; a PMD may receive
// into a pool of its own) is copied into free niovs of the area and then
// delivered exactly like a zero-copy one: same CQE, same refill. The
// kernel does the same for fragments that are not net_iovs of the ifq's
// page pool (io_zcrx_copy_chunk): payload at offset 0 of a fresh niov, one
// niov (and CQE) per niov-sized chunk.
//
// The niovs come from the area's mempool, the free list the PMD draws
// from: taken in bulk (rte_mempool_get_bulk through the lcore's cache, no
// lock, no allocation) into a stash that lives for one burst, whatever the
// burst did not use goes back in one bulk put. Each copied niov is also
// reported to the ifq (Ifq::report_copy: its copy counters, the shared
// zcrx_stats, ZCRX_EVENT_COPY).
#pragma once

#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_mempool.h>

#include <cstdint>

#include "area_pool.h"

namespace zcrxd {

/// niovs of `room` bytes (AreaPool::buf_room) needed to hold `len` bytes
/// copied from the start of their buffers.
inline uint32_t copy_niovs_needed(uint32_t len, uint32_t room) {
  return (len + room - 1) / room;
}

/// Copies `len` (<= pool.buf_room()) bytes at `src` to the start of niov
/// `idx`'s buffer (AreaPool::buf_of: past the headers in an in-area pool,
/// which a copy must never overwrite).
inline void copy_into_niov(const AreaPool& pool, uint32_t idx, const void* src,
                           uint32_t len) {
  rte_memcpy(pool.buf_of(idx), src, len);
}

/// Free niovs taken from an area pool for the copies of one burst.
/// Datapath only (it uses the calling lcore's mempool cache).
class NiovStash {
 public:
  /// Most niovs one reserve() may ask for (a 64 KiB segment needs 16 niovs
  /// of 4 KiB; a chain of many segments more).
  static constexpr uint32_t kCap = 128;

  NiovStash() = default;
  ~NiovStash() { release(); }
  NiovStash(const NiovStash&) = delete;
  NiovStash& operator=(const NiovStash&) = delete;

  /// Makes `n` niovs of `pool` available to take(). What is missing is
  /// taken in one bulk get, rounded up to `batch` (<= kCap) when the pool
  /// has that many, so a burst of small copies touches the pool once.
  /// Returns false when the pool cannot supply `n` (the area is exhausted,
  /// or n > kCap): nothing is taken then. A stash serves one pool: the
  /// caller release()s it before using another.
  bool reserve(AreaPool& pool, uint32_t n, uint32_t batch) {
    if (n <= held_) return true;
    if (n > kCap) return false;
    pool_ = &pool;
    const uint32_t need = n - held_;
    uint32_t want = batch > n ? batch - held_ : need;
    if (want > kCap - held_) want = kCap - held_;
    rte_mempool* mp = pool.pool();
    // All-or-nothing gets: the rounded-up batch first, then only what
    // this packet needs.
    if (rte_mempool_get_bulk(mp, reinterpret_cast<void**>(m_ + held_), want) != 0) {
      if (want == need ||
          rte_mempool_get_bulk(mp, reinterpret_cast<void**>(m_ + held_), need) != 0)
        return false;
      want = need;
    }
    held_ += want;
    return true;
  }

  /// A niov index reserve() made available (held() > 0).
  uint32_t take() {
    rte_mbuf* m = m_[--held_];
    // An mbuf of the area pool: its buffer is the niov (AreaPool tiles
    // the area with them), so the index follows from the address.
    return static_cast<uint32_t>(
        (static_cast<uint8_t*>(m->buf_addr) - pool_->base()) >> pool_->niov_shift());
  }

  uint32_t held() const { return held_; }

  /// Puts the niovs not taken back into the pool, in one bulk put.
  void release() {
    if (held_) rte_mempool_put_bulk(pool_->pool(), reinterpret_cast<void**>(m_), held_);
    held_ = 0;
  }

 private:
  AreaPool* pool_ = nullptr;
  uint32_t held_ = 0;
  rte_mbuf* m_[kCap];
};

}  // namespace zcrxd
