// SPDX-License-Identifier: MIT
// The datapath's side of one consumer ring: it consumes the SQ (RECV_ZC,
// NOP, ASYNC_CANCEL), keeps the armed RECV_ZC requests, and posts CQE32s
// in batches. DPDK-free so the SQE rules are unit-testable.
//
// Threads: the control thread fills the per-ring tables (zcrx entries,
// open flows, eventfd) through atomics before the consumer can name them;
// everything else is touched by the datapath only. Nothing read from the
// shared region is trusted: SQEs are copied once and validated, and a ring
// whose indices go wrong is marked broken and no longer served.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "zcrx/proto.h"
#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx::core {
class Ifq;
}

namespace zcrxd {

using zcrx::core::Ifq;
class EventfdSignal;
class SocketSqeHandler;
struct SocketTable;

inline constexpr uint32_t kMaxZcrxIds = 64;     // zcrx ids per ring
inline constexpr uint32_t kMaxFlowsPerRing = 64;  // flow handles per ring
/// IORING_RECVSEND_POLL_FIRST: accepted on RECV_ZC, meaningless here.
inline constexpr uint16_t kRecvPollFirst = 1u << 0;
using zcrx::uapi::kAsyncCancelAny;
using zcrx::uapi::kAsyncCancelFd;

/// What an ASYNC_CANCEL names (the kernel's io_cancel_data): one request
/// by user_data, or with FD every request on `fd`, or with ANY every
/// request; `all` (ALL or ANY): every match, else the first.
struct CancelMatch {
  uint64_t user_data = 0;
  int32_t fd = -1;
  bool by_fd = false;
  bool any = false;
  bool all = false;

  bool matches(uint64_t ud, int64_t req_fd) const {
    if (any) return true;
    return by_fd ? req_fd == fd : ud == user_data;
  }
};

/// An armed multishot RECV_ZC (one per flow handle).
struct RecvRequest {
  uint64_t user_data = 0;
  Ifq* entry = nullptr;     // the ctx's entry (real, proxy or import)
  uint32_t remaining = 0;   // bytes left when `limited`
  bool limited = false;
  bool armed = false;
};

class RingDp;

/// The rings one datapath iteration posted to (or queued an event on): the
/// only ones it flushes, so a ring that received nothing costs nothing.
/// Owned by the datapath; a ring joins it on its first post of an
/// iteration (RingDp::post, post_event).
struct DirtyRings {
  std::vector<RingDp*> rings;  // capacity reserved for every ring served
};

class RingDp {
 public:
  /// `region` is a mapping of `l.size` bytes whose layout zcrxd created.
  RingDp(void* region, const zcrx::RingRegionLayout& l);

  // ---- control thread --------------------------------------------------
  /// Makes zcrx id `id` usable by RECV_ZC: `entry` is what deliveries
  /// attribute buffers to, `real` the queue-owning ifq it resolves to.
  void set_entry(uint32_t id, Ifq* entry, Ifq* real);
  /// Opens flow handle `h` on the real ifq `real` (nullptr closes it; an
  /// armed request on a closed handle ends with a final CQE, res 0).
  void set_flow(uint32_t h, Ifq* real);
  /// The registered eventfd's signaller (nullptr removes it). The caller
  /// frees the old one only after a datapath quiescent point.
  void set_eventfd(EventfdSignal* sig);
  /// Set by the datapath when the consumer corrupted an index. From then
  /// on the ring is not served: its armed requests were dropped without a
  /// CQE, and its SQ and CQ indices are never written again.
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  /// The ring's index for Datapath::wake_sq (unique among the live rings of
  /// zcrxd; set before the ring is published).
  void set_slot(uint32_t slot) { slot_ = slot; }
  uint32_t slot() const { return slot_; }
  /// The datapath stopped polling the SQ (proto.h SQ_WAKEUP). [any]
  bool sq_asleep() const { return sq_asleep_.load(std::memory_order_acquire); }
  /// [control, while no datapath serves the ring] Polled from the start by
  /// the datapath that takes it next (a ring moving between queues must
  /// not miss a wakeup sent to the old one).
  void sq_reset_awake() {
    // release: the next datapath reads them when it adopts the ring.
    sq_asleep_.store(false, std::memory_order_release);
    wake_queued_.store(false, std::memory_order_release);
  }
  /// [control] One wakeup per sleep reaches the datapath: true when this
  /// call is the one to pass it on (Datapath::wake_sq), false when one is
  /// on its way already.
  bool claim_wake() { return !wake_queued_.exchange(true, std::memory_order_acq_rel); }

  // ---- datapath ----------------------------------------------------------
  /// Consumes up to `max` SQEs, posting the CQEs they produce at once
  /// (errors, NOP, cancellations). Stops early when the CQ could not take
  /// their completions. Returns the number consumed.
  uint32_t poll_sq(uint32_t max);
  /// The datapath joins this ring to its flush list (nullptr: none, posts
  /// are flushed only by explicit flush() calls, as in unit tests). A ring
  /// new to the datapath counts its SQ idle time from `now`.
  void attach(DirtyRings* dirty, uint64_t now);
  /// After poll_sq() consumed SQEs at TSC `now`.
  void note_sq_busy(uint64_t now) { sq_busy_at_ = now; }
  /// After poll_sq() found none: once the SQ has been empty for `idle`
  /// TSC cycles, sets IORING_SQ_NEED_WAKEUP (seq_cst RMW), re-reads the
  /// tail and, still empty, stops polling: returns true. The consumer's
  /// tail store is followed by a seq_cst RMW of the flags word (proto.h),
  /// so either it sees the bit and sends SQ_WAKEUP, or the re-read sees
  /// its SQEs.
  bool sq_try_sleep(uint64_t now, uint64_t idle);
  /// A wakeup arrived: polls the SQ again and clears the bit. Returns
  /// whether the SQ was asleep (a spurious wakeup finds it awake).
  bool sq_wake(uint64_t now);
  /// After flush(): whether event CQEs still wait for room (the ring must
  /// be flushed again on a later iteration).
  bool has_queued_events() const { return n_events_ != 0; }
  /// The flush list entry is consumed (called by the datapath after flush()).
  void clear_dirty() { dirty_ = false; }

  /// [datapath] TCP sockets: the ring's table and who handles its socket
  /// SQEs (ACCEPT, CONNECT, SEND, SHUTDOWN, CLOSE, RECV_ZC on a socket
  /// handle). Without them those SQEs complete with -EBADF (RECV_ZC) or
  /// -EINVAL (the other opcodes), as before sockets existed.
  void set_sockets(SocketTable* t, SocketSqeHandler* h) {
    socks_ = t;
    sock_handler_ = h;
  }
  SocketTable* sockets() const { return socks_; }
  /// The entry of zcrx id `id` and the real ifq it resolves to; false when
  /// the id is not usable by RECV_ZC. [datapath]
  bool entry_of(uint32_t id, Ifq** entry, Ifq** real) const {
    if (id >= kMaxZcrxIds) return false;
    // acquire: pairs with set_entry's release.
    Ifq* r = entries_[id].real.load(std::memory_order_acquire);
    if (!r) return false;
    *entry = entries_[id].entry.load(std::memory_order_relaxed);
    *real = r;
    return true;
  }
  /// CQEs the CQ can still take besides those posted and not yet flushed.
  /// Reads the consumer's head (a window computed from a cached one would
  /// stay shut after the consumer reaped).
  uint32_t cq_room() {
    const uint32_t free = cq_.free_slots(UINT32_MAX);
    return free > pending_ ? free - pending_ : 0;
  }

  /// The armed request of flow handle `h` (h < kMaxFlowsPerRing), or null.
  RecvRequest* armed(uint32_t h) {
    RecvRequest& r = req_[h];
    return r.armed ? &r : nullptr;
  }
  /// Requests armed now.
  uint32_t armed_count() const { return armed_count_; }

  // reserve, post and post_data run once per packet: inline.

  /// Checks that the CQ has room for `n` more CQEs besides those posted and
  /// not yet flushed; post() may then be called `n` times. False when full.
  bool reserve(uint32_t n) {
    // Within the room an earlier check found: no ring field is read (the
    // consumer's head only moves forward, so that room is still there).
    if (static_cast<int32_t>(n) <= room_) return true;
    return reserve_slow(n);
  }
  /// Fills the next CQE (published by flush()).
  void post(uint64_t user_data, int32_t res, uint32_t flags, uint64_t off,
            uint64_t pad) {
    zcrx::uapi::io_uring_cqe32& c = cq_.slot(pending_++);
    room_--;
    c.cqe.user_data = user_data;
    c.cqe.res = res;
    c.cqe.flags = flags;
    c.zcqe.off = off;
    c.zcqe.__pad = pad;
    if (!dirty_) mark_dirty();
  }
  /// Delivers `bytes` at `off` to request `r` (on a reserved CQE) and, when
  /// a len-limited request reaches its limit, posts the final CQE (res 0,
  /// no F_MORE) on the second reserved CQE and disarms it. Returns the
  /// bytes counted (<= bytes, the rest of a datagram past the limit is
  /// cut). `last`: these are the datagram's last bytes; the CQE then has
  /// proto::kCqeFDatagramEnd, as has one that reaches the limit (nothing
  /// more of the datagram follows). Callers reserve 2 CQEs when `r.limited`.
  uint32_t post_data(RecvRequest& r, uint32_t bytes, uint64_t off, uint64_t pad,
                     bool last) {
    if (r.limited && bytes >= r.remaining) {
      bytes = r.remaining;
      last = true;
    }
    const uint32_t flags =
        zcrx::uapi::kCqeFMore | (last ? zcrx::proto::kCqeFDatagramEnd : 0u);
    post(r.user_data, static_cast<int32_t>(bytes), flags, off, pad);
    if (r.limited) {
      r.remaining -= bytes;
      if (r.remaining == 0) end_limited(r);
    }
    return bytes;
  }
  /// Queues one CQE that is not a receive completion (a zcrx event:
  /// res = its type, flags 0, big-CQE half zero). flush() appends it after
  /// the CQEs filled in this iteration, so it never takes a slot a
  /// reserve() promised to the packet being delivered. False (nothing
  /// queued) when the CQ cannot take it besides everything filled or
  /// queued, or the ring is broken. [datapath]
  bool post_event(uint64_t user_data, int32_t res);
  /// Publishes the CQEs posted since the last flush, then the queued
  /// events that fit (the others wait for a later flush). Returns true
  /// when it published any.
  bool flush();
  /// After a flush that published: signals the eventfd when the consumer
  /// asked for a wakeup and, when it also set kCqWakeTarget, the CQ tail
  /// reached its wake target (or the CQ is full, or events wait for room:
  /// proto.h). One syscall at most, never blocking: see EventfdSignal.
  /// Returns true when it signalled.
  bool wake_if_needed();
  /// Counts a completion the CQ could not take (cq_off.overflow).
  void count_overflow();

  /// Ends every armed request with a final CQE `res` (shutdown).
  void terminate_requests(int32_t res);

 private:
  // The kCqWakeTarget test of wake_if_needed.
  bool wake_target_reached();
  struct Entry {
    std::atomic<Ifq*> entry{nullptr};
    std::atomic<Ifq*> real{nullptr};
  };

  /// reserve() beyond the known room: reads the ring (the consumer's head
  /// when the cached one is not enough) and notes the room it found. False
  /// when full; marks the ring broken when the CQ view went corrupt.
  bool reserve_slow(uint32_t n);
  /// First post of an iteration: joins the datapath's flush list.
  void mark_dirty();
  /// A len-limited request reached its limit: final CQE, disarm.
  void end_limited(RecvRequest& r);
  int prep_recv_zc(const zcrx::uapi::io_uring_sqe& sqe);
  void cancel(const zcrx::uapi::io_uring_sqe& sqe);
  /// Ends the armed flow requests `m` names (after the first, only while
  /// the CQ has room for it and the cancel's own CQE). Returns how many.
  int32_t cancel_flow_requests(const CancelMatch& m, int32_t found);
  void end_request(RecvRequest& r, int32_t res);
  void sweep_closed_flows();
  void mark_broken();

  SocketTable* socks_ = nullptr;
  SocketSqeHandler* sock_handler_ = nullptr;
  zcrx::SqConsumer sq_;
  zcrx::CqProducer cq_;
  uint32_t* cq_flags_ = nullptr;
  uint32_t* cq_wake_target_ = nullptr;  // consumer-written; null: no such word
  uint32_t* sq_flags_ = nullptr;
  DirtyRings* dirty_list_ = nullptr;
  bool dirty_ = false;
  uint64_t sq_busy_at_ = 0;  // TSC of the last SQE (or wakeup)
  uint32_t slot_ = 0;
  uint32_t* cq_overflow_ = nullptr;
  uint32_t pending_ = 0;   // CQEs filled since the last flush
  // CQEs known to fit besides the pending ones, from the last ring read
  // (reserve_slow); each post takes one. Signed: a post past it (events,
  // posted after their own check) leaves it negative, and the next
  // reserve reads the ring again. 0 once the ring is broken.
  int32_t room_ = 0;
  // Event CQEs queued by post_event(): one per zcrx event type fires until
  // it is re-armed, and a re-arm may come before the flush.
  static constexpr uint32_t kMaxQueuedEvents = 8;
  struct QueuedEvent {
    uint64_t user_data;
    int32_t res;
  };
  QueuedEvent events_[kMaxQueuedEvents];
  uint32_t n_events_ = 0;
  uint32_t armed_count_ = 0;
  uint32_t seen_flow_gen_ = 0;
  RecvRequest req_[kMaxFlowsPerRing];

  Entry entries_[kMaxZcrxIds];
  std::atomic<Ifq*> flows_[kMaxFlowsPerRing];
  std::atomic<uint32_t> flow_gen_{0};
  std::atomic<EventfdSignal*> eventfd_{nullptr};
  std::atomic<bool> broken_{false};
  std::atomic<bool> sq_asleep_{false};
  std::atomic<bool> wake_queued_{false};
};

}  // namespace zcrxd
