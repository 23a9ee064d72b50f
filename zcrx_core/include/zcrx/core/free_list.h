// SPDX-License-Identifier: MIT
// A plain-memory buffer provider for tests and benchmarks: the niov
// indices of an Area kept in a free list the datapath allocates from, plus
// the quiescent-state epoch a datapath thread publishes so the control
// thread can wait for it (QueueBinder::synchronize).
//
// zcrxd plugs DPDK mbufs in instead; it may reuse QuiescentEpoch.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "zcrx/core/engine.h"

namespace zcrx::core {

/// Free niov indices of one Area.
///
/// The datapath side (alloc_*, return_niovs) is a plain LIFO stack owned by
/// the one datapath thread: no atomic, no lock. The control side
/// (reclaim_niovs: scrub, entry teardown) pushes into a single-producer
/// single-consumer ring that the datapath drains into its stack when it
/// runs short, so both may run at once. Control calls must be serialised
/// (the engine's control functions are).
///
/// Every niov is in at most one place at a time, so neither side can
/// overflow; a return beyond capacity (a double free by a caller) is
/// dropped and counted in overflows().
class FreeList final : public BufferSink {
 public:
  /// All `area.num_niovs()` niovs start free.
  explicit FreeList(Area& area);
  ~FreeList() override;
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  Area& area() const { return area_; }
  uint32_t capacity() const { return capacity_; }

  /// [datapath] Takes up to `n` free niovs into `out` (burst); returns how
  /// many.
  uint32_t alloc_burst(uint32_t* out, uint32_t n);
  /// [datapath] Takes exactly `n` free niovs or none (bulk).
  bool alloc_bulk(uint32_t* out, uint32_t n);

  /// [datapath] BufferSink: refilled niovs back onto the stack.
  void return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) override;
  /// [control] BufferSink: reclaimed niovs into the control ring.
  void reclaim_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) override;

  /// Free niovs: the stack plus what the control ring holds. Exact only
  /// when neither side is running (tests check accounting with it).
  uint32_t free_count() const;
  /// Returns refused because the list was full (must stay 0).
  uint64_t overflows() const;

 private:
  uint32_t drain_control();

  Area& area_;
  uint32_t capacity_;
  // Datapath-owned stack.
  std::unique_ptr<uint32_t[]> stack_;
  uint32_t top_ = 0;
  // Control -> datapath ring (power of two >= capacity_).
  std::unique_ptr<uint32_t[]> ring_;
  uint32_t ring_mask_;
  alignas(64) std::atomic<uint32_t> ring_head_{0};  // datapath writes
  alignas(64) std::atomic<uint32_t> ring_tail_{0};  // control writes
  alignas(64) std::atomic<uint64_t> overflows_{0};
};

/// Quiescent-state epoch of one datapath thread.
///
/// The protocol is built of seq_cst operations only (no fences, which
/// GCC's ThreadSanitizer rejects): unpublish with a seq_cst store, wait();
/// the datapath's quiescent() is a seq_cst increment and its snapshot
/// reads (Ifq::entry_at, entry_slots, live) are seq_cst loads.
///
/// The datapath calls quiescent() at the end of each loop iteration, at a
/// point where it holds no pointer read from shared engine tables. The
/// control thread, after unpublishing something, calls wait() which
/// returns once the datapath has passed a quiescent point (or at once when
/// the datapath is not running).
class QuiescentEpoch {
 public:
  /// [datapath] Marks the thread running (before its first iteration) or
  /// stopped (after its last).
  void set_running(bool running);
  /// [datapath] End of a loop iteration.
  void quiescent();
  /// [control] Waits for the next quiescent point.
  void wait() const;

 private:
  alignas(64) std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> running_{false};
};

/// A complete plain-memory provider: QueueBinder + BufferSink for an
/// Engine in tests and benchmarks. attach_area() gives each area a
/// FreeList (area.provider_data()), device-less ones included;
/// synchronize() waits on one epoch for the (single) datapath thread
/// serving every queue.
class PlainProvider final : public QueueBinder, public BufferSink {
 public:
  /// Ports 0..ports-1 each with queues 0..queues-1 exist.
  PlainProvider(uint32_t ports = 1, uint32_t queues = 64);
  ~PlainProvider() override;

  // QueueBinder
  /// -ENODEV for a port >= `ports`.
  int lookup_device(uint32_t port) override;
  int open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) override;
  void close_queue(Ifq& ifq) override;
  void synchronize(Ifq& real) override;

  // BufferSink: dispatch to the area's FreeList.
  void return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) override;
  void reclaim_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) override;
  void attach_area(Area& area) override;

  /// The FreeList of the area last bound to (port, rxq), or nullptr. It
  /// outlives the area (kept until the provider is destroyed) so tests can
  /// check accounting after the ifq is freed.
  FreeList* free_list(uint32_t port, uint32_t rxq) const;
  /// The FreeList of a bound area.
  static FreeList* free_list(const Area& area) {
    return static_cast<FreeList*>(area.provider_data());
  }
  /// Is (port, rxq) bound now.
  bool bound(uint32_t port, uint32_t rxq) const;
  uint64_t open_calls() const { return open_calls_; }
  uint64_t lookup_calls() const { return lookup_calls_; }
  uint64_t close_calls() const { return close_calls_; }
  uint64_t synchronize_calls() const {
    // relaxed: a statistic read after the fact.
    return synchronize_calls_.load(std::memory_order_relaxed);
  }

  /// Failure open_queue() returns next (once), to test error paths.
  void fail_next_open(int err) { fail_next_open_ = err; }

  QuiescentEpoch& epoch() { return epoch_; }

 private:
  uint32_t ports_;
  uint32_t queues_;
  std::map<std::pair<uint32_t, uint32_t>, Ifq*> bound_;
  std::map<std::pair<uint32_t, uint32_t>, FreeList*> last_;
  std::vector<std::unique_ptr<FreeList>> lists_;
  uint64_t open_calls_ = 0;
  uint64_t lookup_calls_ = 0;
  uint64_t close_calls_ = 0;
  std::atomic<uint64_t> synchronize_calls_{0};
  int fail_next_open_ = 0;
  QuiescentEpoch epoch_;
};

}  // namespace zcrx::core
