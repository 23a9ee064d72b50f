// SPDX-License-Identifier: MIT
// One consumer ring of fuzz_ring_memory: zcrxd's RingDp over a guarded ring
// region, the ring's engine ctx and its entries' refill queues, and what a
// consumer (well-behaved or not) does to that memory. The datapath steps
// and the engine belong to the harness (fuzz_ring_memory.cpp).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>

#include "event_sink.h"
#include "fuzz_input.h"
#include "guarded_region.h"
#include "ring_dp.h"
#include "zcrx/core/engine.h"
#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx::fuzz {

/// A refill-queue region laid out as `l`: only its head, tail, RQEs and
/// (at `stats_off`, when non-zero) its zcrx_stats block are open to the
/// datapath.
std::unique_ptr<GuardedRegion> make_rq_region(const RqRegionLayout& l, uint64_t stats_off);

/// One zcrx id of a ring: its entry and the refill queue the consumer
/// writes.
struct RingEntry {
  core::Ifq* ifq = nullptr;
  uint32_t id = 0;
  GuardedRegion* rq = nullptr;
};

class ConsumerRing {
 public:
  static constexpr uint32_t kFlows = 4;      // handles 0..3, open at start
  static constexpr uint32_t kMaxEntries = 2;

  ConsumerRing(uint32_t sq_entries, uint32_t cq_entries);
  ~ConsumerRing();
  ConsumerRing(const ConsumerRing&) = delete;
  ConsumerRing& operator=(const ConsumerRing&) = delete;

  zcrxd::RingDp& dp() { return *dp_; }
  zcrxd::RingEvents& events() { return *events_; }
  core::Ctx* ctx() const { return ctx_; }
  void set_ctx(core::Ctx* ctx) { ctx_ = ctx; }

  /// Makes entry `e` usable by RECV_ZC on this ring; `owned` is its RQ
  /// region when the ring owns it (an import's or a clone's: it goes with
  /// the ring; a registration's goes with the ifq).
  void add_entry(const RingEntry& e, core::Ifq* real, std::unique_ptr<GuardedRegion> owned);
  uint32_t n_entries() const { return n_entries_; }
  const RingEntry& entry(uint32_t i) const { return entries_[i]; }
  /// Flow handles: all open on `real`, one toggled, all closed (what
  /// Control::close_session does first).
  void open_flows(core::Ifq* real);
  void toggle_flow(uint32_t h, core::Ifq* real);
  void close_flows();

  // ---- the consumer -------------------------------------------------------
  /// Any bytes at any offset of the ring region or an entry's RQ region.
  void write_anywhere(FuzzInput& in);
  void push_raw_sqe(FuzzInput& in);
  void push_recv_zc(FuzzInput& in);
  void push_cancel(FuzzInput& in);
  void push_nop(FuzzInput& in);
  /// Reaps (checking what it reads) or writes a CQ head of its choosing.
  void move_cq_head(FuzzInput& in, const core::Area& area);
  /// A well-behaved consumer: reads what was published after its own head;
  /// every delivery names bytes inside one niov of `area`.
  void reap(const core::Area& area);
  /// An RQE for a buffer of `area` (maybe a wrong token, pad or index) or
  /// of arbitrary bytes, on one entry's RQ.
  void push_rqe(FuzzInput& in, const core::Area& area);
  void move_rq_tail(FuzzInput& in);
  void move_sq_tail(FuzzInput& in);

  // ---- checks ---------------------------------------------------------------
  /// The words a broken ring must not see move again, and the RQEs each
  /// entry consumed so far: one datapath iteration consumes at most a whole
  /// ring of them, whatever tail the consumer wrote (the kernel's clamp).
  struct Watch {
    bool broken = false;
    uint32_t sq_head = 0;
    uint32_t cq_tail = 0;
    uint64_t rqes_read[kMaxEntries] = {};
  };
  Watch watch() const;
  void check_quiet(const Watch& before) const;
  /// RQEs entry `i` consumed (refilled or skipped as bad).
  uint64_t rqes_read(uint32_t i) const;
  /// The ring's and its entries' counters.
  void trace(FILE* f) const;

 private:
  uint32_t word(uint32_t off) const { return *region_.at<const uint32_t>(off); }
  void push_sqe(const uapi::io_uring_sqe& sqe);

  RingRegionLayout layout_;
  GuardedRegion region_;
  std::unique_ptr<zcrxd::RingDp> dp_;
  std::unique_ptr<zcrxd::RingEvents> events_;
  core::Ctx* ctx_ = nullptr;
  RingEntry entries_[kMaxEntries];
  std::unique_ptr<GuardedRegion> owned_rq_[kMaxEntries];
  uint32_t n_entries_ = 0;
  bool flow_open_[kFlows] = {};
  uint32_t cq_reaped_ = 0;     // the consumer's own CQ head
  bool cqes_written_ = false;  // it scribbled over its CQEs
};

}  // namespace zcrx::fuzz
