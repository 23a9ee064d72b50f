// SPDX-License-Identifier: MIT
// zcrx_core public contract: the ownership and lifecycle engine of io_uring
// zero-copy receive, free of DPDK, used by zcrxd (dpdk_app/) and by tests
// that run it on plain memory.
//
// The rules are the kernel's (io_uring/zcrx.c) plus the master-ctx and
// ifq-clone patches; docs/ARCHITECTURE.md "Semantics" lists them. All
// results are 0 / positive values or a negative kernel errno.
//
// Threads: every function marked [control] runs on one control thread at a
// time (the caller serialises them); functions marked [datapath] run on the
// single datapath thread that serves the ifq's queue, concurrently with the
// control thread. Nothing on the datapath takes a lock or allocates.
//
// Entries. Every id in a ring's zcrx table is its own Ifq: the registered
// (real) ifq, a clone proxy, or an import. Each entry has its own refill
// queue, and each niov records the entry it was delivered to, so a
// consumer can only hand back its own buffers and a ring that dies (a
// SIGKILLed consumer) gives back exactly what it held while the others
// keep receiving. The real ifq keeps a lock-free table of its live
// entries for the datapath (Ifq::entry_at); removing an entry waits for
// the datapath to pass a quiescent point (QueueBinder::synchronize).
//
// The datapath, per loop iteration: for each live entry of the ifq it
// serves, refill(budget); for each packet, take a free niov from the
// area's pool, deliver(idx, off) on the entry of the ring that receives it
// (Ctx::lookup, not resolve) and post the CQE; report_no_buffers() when
// the pool is empty (report_copy() after a copy fallback); then pass a
// quiescent point. The engine decides whether such a report becomes an
// event (see CtxEvents) and calls the master ring's sink, which only posts
// the CQE. The burst forms do the
// same per call for many buffers: refill_burst(budget, out) hands the
// freed niovs to the caller for one bulk put into the pool, and
// deliver_burst() delivers a run of packets that land in one entry.
//
// Events (Linux 7.2 zcrx events), what the owner of the engine wires up
// (zcrxd: dpdk_app/control.cpp and the datapath):
//  1. create_ctx(sink) with a CtxEvents per ring whose on_event() posts
//     one CQE32 on that ring's CQ (user_data, res = type, flags 0,
//     io_uring_zcrx_cqe zero), wakes the ring like a RECV_ZC completion
//     does (kCqNeedWakeup protocol) and returns false when the CQ is full.
//     It runs on the datapath thread that calls report_no_buffers() /
//     report_copy() for the ifq, so it must use the same CQ producer
//     discipline as that thread's RECV_ZC completions.
//  2. REGISTER_IFQ: pass the request's descriptor to both check_ifq_reg()
//     and register_ifq() as `reg.event_desc ? &req.event : nullptr`, and
//     the RQ region as {map, its mapped length} so a stats block placed by
//     proto::stats_offset() is accepted.
//  3. Datapath: report_no_buffers() when the pool is empty (as today) and
//     report_copy(bytes) for each packet the copy fallback delivered.
//  4. CTRL: forward ZCRX_CTRL_ARM_EVENT to ctrl() (as FLUSH_RQ is).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx::core {

inline constexpr uint32_t kDefaultRxBufLen = 4096;
inline constexpr uint32_t kMaxZcrxPerCtx = 64;  // ids 0..63 per ring

class Area;
class Ifq;
class Ctx;
class Engine;

/// Where niovs go when nobody holds them any more: the datapath owner's
/// free pool (zcrxd: the queue's mempool; tests: a plain free list).
/// Called from the datapath (refill: return_niovs) and from the control
/// thread (scrub, entry teardown: reclaim_niovs), possibly at once.
class BufferSink {
 public:
  virtual ~BufferSink() = default;
  /// [datapath] niovs released through a refill queue (Ifq::refill).
  virtual void return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) = 0;
  /// [control] niovs reclaimed by scrub or by an entry going away, while
  /// the datapath may be running on other queues. The default forwards to
  /// return_niovs(), for implementations where that is thread-safe (a DPDK
  /// mempool put from a non-EAL thread is).
  virtual void reclaim_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) {
    return_niovs(area, niov_idx, n);
  }
  /// [control] A registration created `area`, before any queue is bound
  /// to it and also for a device-less ifq (ZCRX_REG_NODEV), which no
  /// QueueBinder call ever names: a sink that keeps its free pool per area
  /// may attach it here (Area::set_provider_data). The default does
  /// nothing (zcrxd attaches its pool in QueueBinder::open_queue).
  virtual void attach_area(Area& area) { (void)area; }
};

/// The datapath owner's handle on hardware queues.
class QueueBinder {
 public:
  virtual ~QueueBinder() = default;
  /// The kernel's netdev lookup (netdev_get_by_index): -ENODEV when no
  /// device `port` exists, else 0. register_ifq asks it after the RQ region
  /// and before the area is checked, so a wrong device is reported before
  /// any area or rx_buf_len error, as the kernel does; never for a
  /// device-less ifq. The default finds every port (open_queue still
  /// refuses an unknown one).
  virtual int lookup_device(uint32_t port) {
    (void)port;
    return 0;
  }
  /// Makes `ifq`'s area the memory provider of queue (port, rxq); from then
  /// on the datapath may deliver into `ifq`. ifq.area() exists already
  /// (the binder may attach its pool with Area::set_provider_data); the
  /// ifq is not yet in any table and its if_rxq() is still -1.
  /// -ENODEV: no such port/queue; -EEXIST: queue already bound;
  /// -EOPNOTSUPP, -ENOMEM as the device says.
  virtual int open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) = 0;
  /// Stops delivery into `ifq`. On return the datapath has quiesced: it
  /// will not deliver into, nor refill from, `ifq` (or any entry of it)
  /// again.
  virtual void close_queue(Ifq& ifq) = 0;
  /// Returns after the datapath serving the real ifq `real` has passed a
  /// quiescent point: every pointer it read from `real`'s entry snapshot,
  /// or the master ctx it read, before the call is no longer in use.
  /// (zcrxd: an epoch counter the lcore bumps each loop iteration; see
  /// QuiescentEpoch in zcrx/core/free_list.h.) Returns at once when no
  /// datapath serves `real`.
  virtual void synchronize(Ifq& real) = 0;
};

/// Receives ifq-wide events (Linux 7.2 zcrx events). Only the master ctx
/// of an ifq receives them, and only events its registration allowed.
///
/// The engine decides; the sink only posts. For each allowed type the
/// engine calls on_event() at most once until the type is re-armed
/// (Engine::ctrl with ZCRX_CTRL_ARM_EVENT), and never when the ifq has no
/// master (the master ring was terminated). Without a descriptor, or with
/// an empty type_mask, no type is allowed and nothing is ever posted.
class CtxEvents {
 public:
  virtual ~CtxEvents() = default;
  /// [datapath] Post one CQE on this ring's CQ: cqe.user_data =
  /// `user_data`, cqe.res = `type` (a uapi::zcrx_event_type), cqe.flags 0,
  /// the big-CQE half zero (zcrxd: a CQE32 with io_uring_zcrx_cqe.off 0).
  /// `ifq` is the real ifq the event is about. Runs on the datapath thread
  /// serving `ifq`'s queue: no lock, no allocation, no syscall beyond the
  /// ring's usual wakeup. Returns false when the CQE could not be posted
  /// (CQ full): the engine then leaves the type armed, so the next
  /// occurrence tries again; true once the CQE is visible to the ring.
  virtual bool on_event(Ifq& ifq, uint64_t user_data, uint32_t type) = 0;
};

/// Memory the caller already mapped (an area, or a refill-queue region).
struct Mapping {
  void* base = nullptr;
  size_t len = 0;
};

/// Registered memory cut into niovs of rx_buf_len bytes. The engine
/// creates one per registered ifq (the kernel's single area, id 0).
///
/// Each niov keeps one state word: the user references it carries and the
/// entry (slot of the real ifq's entry table) it was delivered to.
class Area {
 public:
  Area(uint32_t id, void* base, size_t len, uint32_t niov_shift);
  ~Area();
  Area(const Area&) = delete;
  Area& operator=(const Area&) = delete;

  uint32_t id() const;
  uint64_t token() const;  // id << IORING_ZCRX_AREA_SHIFT
  void* base() const;
  size_t len() const;
  uint32_t niov_shift() const;
  uint32_t num_niovs() const;
  /// Current user references on niov `idx` (tests, stats); 0 when out of range.
  uint32_t user_refs(uint32_t idx) const;
  /// Entry slot niov `idx` was last delivered to (meaningful while it has
  /// user references).
  uint32_t owner_slot(uint32_t idx) const;
  /// niovs with a user reference right now (a sum; not a datapath call).
  uint64_t held_by_users() const;
  /// Byte offset of niov `idx` inside the area.
  uint64_t niov_offset(uint32_t idx) const { return uint64_t{idx} << niov_shift(); }

  /// A pointer the buffer provider may attach (zcrxd: its mempool; tests:
  /// the area's FreeList). Set on the control thread before the area is
  /// bound (QueueBinder::open_queue); read on the datapath.
  void set_provider_data(void* p);
  void* provider_data() const;

  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Counters an ifq entry keeps; all monotonic. Datapath counters
/// (delivered, refilled, rqe_*, rq_clamped, no_buffers) are written only
/// by the datapath; scrubbed and reclaimed only by the control thread.
struct IfqStats {
  uint64_t delivered = 0;       // buffers handed to users of this entry
  uint64_t refilled = 0;        // buffers returned through this entry's RQ
  uint64_t scrubbed = 0;        // real ifq: buffers reclaimed by scrub
  uint64_t rqe_bad_token = 0;   // RQE skipped: wrong area token or __pad != 0
  uint64_t rqe_bad_index = 0;   // RQE skipped: niov index out of range
  uint64_t rqe_no_ref = 0;      // RQE skipped: niov had no user reference
  uint64_t rq_clamped = 0;      // refills whose RQ tail claimed more RQEs than the
                                // ring holds (read as a full ring, as the kernel)
  uint64_t no_buffers = 0;      // real ifq: deliveries that found no free niov
  // -- additions --
  uint64_t rqe_wrong_owner = 0; // RQE skipped: niov held by another entry
  uint64_t reclaimed = 0;       // buffers reclaimed when this entry went away
  // -- events (real ifq; datapath-written) --
  uint64_t copies = 0;          // receives that fell back to a copy (report_copy)
  uint64_t copy_bytes = 0;      // bytes of those copies
  uint64_t events_posted = 0;   // event CQEs the master's sink accepted
  uint64_t events_lost = 0;     // sink could not post (CQ full); type left armed
};

/// What a ctx-table entry is.
enum class IfqKind : uint8_t {
  real,    // a registered ifq: owns the queue, the area and its RQ
  proxy,   // a clone (seed 003): stands for a real ifq of another ring
  import,  // ZCRX_REG_IMPORT of an exported box into this ring
};

/// Live entries of a real ifq, for the datapath (see Ifq::entry_at).
inline constexpr uint32_t kMaxEntriesPerIfq = 128;

/// An entry of a ring's zcrx table: the kernel's struct io_zcrx_ifq.
///
/// Every entry, whatever its kind, has its own refill queue; niovs are
/// attributed to the entry they were delivered to (deliver()), and that
/// entry's refill() accepts only its own. The real ifq keeps a table of
/// its live entries (itself while its ring lives, every import and proxy)
/// that the datapath reads without locks.
///
/// Reference counts (all on the real ifq; proxy and import entries have
/// none of their own):
///   register:   refs = 1, user_refs = 1; master ctx set (ctx ref +1) on
///               every successful registration, with or without an event
///               descriptor (seed 000; the merged Linux 7.2 sets it only
///               when events are asked for, which no consumer can tell
///               apart: without allowed types nothing is posted)
///   export box: refs +1, user_refs +1
///   import:     refs +1, user_refs +1
///   clone:      refs +1, user_refs +1, and a ref on the source ctx.
///               (Seed 003 predates user_refs; there a real ifq with
///               refs > 1 stays open at shutdown so the clones keep
///               receiving. Here a proxy is a user of the queue so that
///               the same holds when the source ring is terminated.)
class Ifq {
 public:
  IfqKind kind() const;
  /// The ring whose table holds this entry. For a real ifq: its
  /// registering ring, or nullptr once that ring was freed while the ifq
  /// lives on (held by imports, boxes or clones of it).
  Ctx* ctx() const;
  /// Id in ctx()'s table.
  uint32_t zcrx_id() const;
  /// Slot in target()'s entry table while live; kMaxEntriesPerIfq after.
  uint32_t slot() const;
  /// In target()'s entry table (deliveries and refills allowed). [any]
  bool live() const;

  /// -1 once closed (or for a proxy whose refs were dropped), and always
  /// for a device-less ifq (ZCRX_REG_NODEV), which has no queue.
  int32_t if_rxq() const;
  /// Of the real ifq: registered with ZCRX_REG_NODEV (no device, no queue;
  /// only the copy path may deliver into it).
  bool nodev() const;
  uint32_t port() const;
  /// Of the real ifq (target()).
  uint32_t refs() const;
  uint32_t user_refs() const;
  Ctx* master_ctx() const;
  /// The real ifq a clone or import entry stands for; nullptr for a real
  /// ifq, and for a proxy once it dropped its refs (shutdown).
  Ifq* proxy() const;
  /// The ifq packets actually land in (this, or what the proxy points to).
  Ifq& target();
  const Ifq& target() const;
  /// The real ifq's area (shared by all its entries).
  Area* area() const;
  /// This entry's refill queue.
  const RqRegionLayout& rq_layout() const;
  void* rq_base() const;
  /// Counters of this entry.
  IfqStats stats() const;

  /// [datapath] A packet landed in niov `idx` of target()'s area: takes a
  /// user reference, attributes the niov to this entry and returns the CQE
  /// `off` (area token | byte offset) for `data_offset` bytes into it.
  /// `idx` must come from the area's free pool (not held by any entry) and
  /// the entry must be live. Inline: it runs once per packet.
  uint64_t deliver(uint32_t idx, uint32_t data_offset) {
    std::atomic<uint32_t>& st = dp_niov_state_[idx];
    // relaxed load and store, no read-modify-write: only this datapath
    // thread writes the state word of a niov of a live entry; the control
    // thread takes over only after a quiescent point (see src/internal.h).
    const uint32_t s = st.load(std::memory_order_relaxed);
    uint32_t refs = s & 0xffff;
    refs += refs < 0xffff ? 1 : 0;  // saturate rather than wrap into the owner
    st.store((dp_slot_ << 16) | refs, std::memory_order_relaxed);
    // relaxed: a single-writer statistic.
    dp_delivered_.store(dp_delivered_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
    return dp_token_ | ((uint64_t{idx} << dp_niov_shift_) + data_offset);
  }
  /// [datapath] deliver() for a burst: niov `idx[i]` gets the CQE offset
  /// `off_out[i]` (`data_offset` bytes into it), for i < n. Same contract
  /// as deliver() for every index; the entry's fields are read once and
  /// the delivered counter is added once per call. zcrxd-style callers
  /// that land a burst of packets in one entry use it instead of n
  /// deliver() calls.
  void deliver_burst(const uint32_t* idx, uint32_t n, uint32_t data_offset,
                     uint64_t* off_out) {
    // Locals: the state stores below may alias this object as far as the
    // compiler knows, which would reload the fields for every buffer.
    std::atomic<uint32_t>* const state = dp_niov_state_;
    const uint64_t token = dp_token_;
    const uint32_t shift = dp_niov_shift_;
    const uint32_t owner = dp_slot_ << 16;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t j = idx[i];
      // relaxed: as in deliver().
      const uint32_t s = state[j].load(std::memory_order_relaxed);
      uint32_t refs = s & 0xffff;
      refs += refs < 0xffff ? 1 : 0;
      state[j].store(owner | refs, std::memory_order_relaxed);
      off_out[i] = token | ((uint64_t{j} << shift) + data_offset);
    }
    // relaxed: a single-writer statistic.
    dp_delivered_.store(dp_delivered_.load(std::memory_order_relaxed) + n,
                        std::memory_order_relaxed);
  }
  /// [datapath] Count a delivery that found no free niov (on the real
  /// ifq) and raise ZCRX_EVENT_ALLOC_FAIL: when the registration allowed
  /// it, the ifq has a master ctx with a sink and the type is armed, the
  /// master's CtxEvents::on_event(real, user_data, ZCRX_EVENT_ALLOC_FAIL)
  /// is called and the type is disarmed until ZCRX_CTRL_ARM_EVENT. Any
  /// entry of the real ifq may be passed; the event names the real ifq.
  /// Costs one relaxed load when the type is not armed.
  void report_no_buffers();
  /// [datapath] The queue is still starved (no packet was lost since the
  /// last report: a virtual device is simply not polled). Raises
  /// ZCRX_EVENT_ALLOC_FAIL by the same rules, without counting no_buffers,
  /// so a ring that re-arms while the area is still empty hears of it
  /// again, as from the kernel's page pool on every failed refill.
  void report_starved();
  /// [datapath] A receive of `bytes` bytes was copied into a buffer of the
  /// area instead of landing there by DMA (zcrxd's copy fallback). Adds to
  /// the copies / copy_bytes counters, to the registration's shared
  /// zcrx_stats block when it asked for one (copy_count += 1, copy_bytes
  /// += bytes; relaxed 64-bit stores the consumer reads), and raises
  /// ZCRX_EVENT_COPY with the same rules as report_no_buffers().
  void report_copy(uint32_t bytes);
  /// The registration's event descriptor as kept by the real ifq: allowed
  /// types (1 << zcrx_event_type), the CQE user_data, and the types fired
  /// and not yet re-armed. [any; fired is a relaxed snapshot]
  uint32_t event_mask() const;
  uint64_t event_user_data() const;
  uint32_t events_fired() const;
  /// The zcrx_stats block inside the real ifq's RQ region, or nullptr when
  /// the registration did not ask for one.
  uapi::zcrx_stats* stats_block() const;
  /// [datapath] Drains up to `budget` RQEs of this entry's RQ: validates
  /// each (token, __pad, index, owner == this entry, user reference), drops
  /// the user reference and hands niovs that reach zero to the BufferSink
  /// (return_niovs) in batches. Returns the number of niovs returned. Bad
  /// RQEs are skipped and counted. Returns 0 when the entry is not live.
  /// The RQ tail is re-read on every call and the head is the engine's own
  /// (the shared head word is written, never read). As in the kernel
  /// (io_zcrx_rqring_entries), a tail claiming more RQEs than the ring
  /// holds (or moving backwards, which wraps) is read as a full ring:
  /// rq_entries RQEs from the head, each validated, and the RQ keeps being
  /// served; each such call counts rq_clamped once. Whatever the consumer
  /// writes, one call reads at most min(budget, rq_entries) RQEs, all
  /// inside the RQE array.
  uint32_t refill(uint32_t budget);
  /// [datapath] refill() without the BufferSink: validates and drains up
  /// to `budget` RQEs exactly as refill() does, but writes the niovs whose
  /// last user reference dropped to `out` (room for `budget` indices)
  /// instead of calling BufferSink::return_niovs; the caller puts them
  /// back into the area's free pool itself, typically in one bulk call
  /// (zcrxd: one rte_mempool put). Returns how many it wrote (0 when the
  /// entry is not live). Counters as refill().
  uint32_t refill_burst(uint32_t budget, uint32_t* out);

  // ---- datapath snapshot of a real ifq's live entries ----
  /// [datapath] Entry in `slot` (< entry_slots()) or nullptr. A seq_cst
  /// load (the quiescent-epoch protocol relies on it, see free_list.h);
  /// the pointer stays valid until the datapath's next quiescent point
  /// (QueueBinder::synchronize).
  Ifq* entry_at(uint32_t slot) const;
  /// [datapath] One past the highest slot in use (<= kMaxEntriesPerIfq).
  uint32_t entry_slots() const;
  /// [datapath] Changes whenever an entry is added or removed, so the
  /// datapath may cache a copy of the table.
  uint32_t entries_generation() const;

  struct Impl;
  explicit Ifq(std::unique_ptr<Impl> impl);
  ~Ifq();
  Impl* impl() const { return impl_.get(); }

 private:
  friend struct IfqAccess;  // the engine's internals (src/internal.h)
  // What deliver() and refill() need, copied from the real ifq's area when the entry is
  // published (on the control thread, before the release store that makes
  // the entry visible) and never changed while it is live.
  std::atomic<uint32_t>* dp_niov_state_ = nullptr;
  uint64_t dp_token_ = 0;
  uint32_t dp_niov_shift_ = 0;
  uint32_t dp_slot_ = 0;
  uint32_t dp_num_niovs_ = 0;
  Area* dp_area_ = nullptr;
  std::atomic<uint64_t> dp_delivered_{0};
  // refill() and refill_burst() (src/refill.cpp): with `sink`, `out` is a
  // scratch batch the returned niovs pass through; without, it gets them all.
  uint32_t drain(uint32_t budget, uint32_t* out, BufferSink* sink);
  std::unique_ptr<Impl> impl_;
};

/// A consumer ring (the kernel's io_ring_ctx, as far as zcrx is concerned).
class Ctx {
 public:
  uint32_t refs() const;
  /// The entry (real, proxy or import) registered under `zcrx_id`, or
  /// nullptr. [any: the table is read with acquire loads]
  Ifq* lookup(uint32_t zcrx_id) const;
  /// What RECV_ZC on `zcrx_id` uses: lookup() resolved through proxy;
  /// nullptr when there is no such id or the entry was shut down.
  /// May run on the datapath, but not concurrently with terminate_ctx() of
  /// this ring (zcrxd stops polling a ring's SQ before terminating it).
  /// Deliveries must still go through lookup()'s entry (its RQ, its
  /// ownership); resolve() names the queue and area they land in.
  Ifq* resolve(uint32_t zcrx_id) const;
  bool terminated() const;
  /// The events sink given to create_ctx (may be null).
  CtxEvents* events() const;

  struct Impl;
  explicit Ctx(std::unique_ptr<Impl> impl);
  ~Ctx();
  Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Engine-wide invariant counters.
struct EngineStats {
  uint64_t free_with_master_set = 0;  // must stay 0 (kernel: WARN_ON_ONCE)
  uint64_t ifqs_live = 0;             // real ifqs not yet freed
  uint64_t ctxs_live = 0;             // ctxs not yet freed
  // -- additions --
  uint64_t entries_live = 0;          // proxy + import entries not yet freed
  uint64_t boxes_live = 0;            // export boxes not yet released
  uint64_t niovs_scrubbed = 0;        // returned by scrub (last user gone)
  uint64_t niovs_reclaimed = 0;       // returned because their entry went away
};

/// An exported ifq (the kernel's "[zcrx]" box file). Owned by the caller:
/// zcrxd keeps it behind a descriptor it handed out.
struct ExportBox;

class Engine {
 public:
  Engine(QueueBinder& binder, BufferSink& sink);
  /// Terminates every ring still live and releases every box still held.
  ~Engine();

  /// [control] A new ring. `events` may be null. The engine holds one ref
  /// for the ring itself, dropped by terminate_ctx().
  Ctx* create_ctx(CtxEvents* events);
  /// [control] The ring's owner went away (session closed, process died):
  /// io_terminate_zcrx + io_shutdown_zcrx_ifqs + the final put, in the
  /// kernel's order. Objects are freed when their last reference drops.
  ///  1. terminate: for each real/import entry (ascending id):
  ///     unregister_user(real, ctx) (clears master if ctx is it; at
  ///     user_refs 0 closes the queue and scrubs), then the entry goes
  ///     away (leaves the snapshot; its niovs are reclaimed).
  ///  2. shutdown: for each entry with if_rxq != -1: a real ifq with
  ///     refs > 1 is skipped (else closed and scrubbed); a proxy goes away,
  ///     unregisters its user, drops its refs on the real ifq and the
  ///     source ctx and sets if_rxq = -1.
  ///  3. the ring's own ref is dropped; at zero the ctx is freed, putting
  ///     each table entry's ref on its real ifq.
  /// After return the engine does not touch `ctx`'s CtxEvents again; the
  /// caller must not pass `ctx` to the engine again.
  void terminate_ctx(Ctx* ctx);

  /// [control] What io_register_zcrx checks of a fresh registration before
  /// it creates anything (reserved fields, flags, queue, rq_entries, area
  /// token, event descriptor), returning the refill-queue geometry it asks
  /// for, so the caller can create the region before register_ifq(). The
  /// niov size and the rest of the area are checked later, after the
  /// device lookup (check_ifq_area), as the kernel does.
  ///
  /// Events: reg.event_desc is the consumer's pointer to a
  /// zcrx_event_desc; 0 means no events. The caller passes the descriptor
  /// itself as `ev` (zcrxd: the copy that came by value in the
  /// REGISTER_IFQ request). reg.event_desc != 0 with `ev` null is the
  /// kernel's failed copy_from_user (-EFAULT); with reg.event_desc == 0,
  /// `ev` is ignored.
  ///
  /// 0 or -errno, in the kernel's order:
  ///   -EINVAL  reserved words (__resv) or zcrx_id non-zero, flags other
  ///            than ZCRX_REG_NODEV, if_rxq == -1, rq_entries 0,
  ///            ZCRX_REG_NODEV with if_idx or if_rxq non-zero, area
  ///            rq_area_token non-zero;
  ///   -EFAULT  reg.event_desc != 0 and `ev` null;
  ///   -EINVAL  ev->type_mask has bits beyond kZcrxEventTypeMask, ev->flags
  ///            beyond kZcrxEventDescFlagStats, stats_offset non-zero
  ///            without that flag, ev->__resv2 non-zero.
  /// rq_entries above kMaxRqEntries is capped (as with IORING_SETUP_CLAMP)
  /// and rounded up to a power of two.
  int check_ifq_reg(const uapi::io_uring_zcrx_ifq_reg& reg,
                    const uapi::io_uring_zcrx_area_reg& area,
                    RqRegionLayout* rq_out,
                    const uapi::zcrx_event_desc* ev = nullptr) const;

  /// [control] io_zcrx_create_area's checks, which the kernel runs after
  /// the device lookup (-ENODEV comes first): 0 or
  ///   -EINVAL  rx_buf_len not a power of two >= 4096;
  ///   -EOPNOTSUPP ZCRX_REG_NODEV with an rx_buf_len other than 4096 (0 is
  ///            4096): a device-less ifq is served by the copy path only;
  ///   -EINVAL  area flags unknown, area __resv2 non-zero, area addr/len
  ///            not page aligned or len not a multiple of rx_buf_len,
  ///            dmabuf_fd without the DMABUF flag;
  ///   -EFAULT  area addr 0, len 0 or above 1 GiB;
  ///   -EOVERFLOW addr + len wraps;
  ///   -EOPNOTSUPP IORING_ZCRX_AREA_DMABUF.
  /// register_ifq runs it itself; a caller that must check the area before
  /// mapping it (zcrxd) runs it after its own device lookup.
  int check_ifq_area(const uapi::io_uring_zcrx_ifq_reg& reg,
                     const uapi::io_uring_zcrx_area_reg& area) const;

  /// [control] What io_register_zcrx checks of an IMPORT or CLONE
  /// registration before it looks at the descriptor it names: reserved
  /// words and zcrx_id zero, no flag but kZcrxRegImport (the value
  /// IORING_ZCRX_IFQ_REG_CLONE shares here), no event descriptor (events
  /// stay with the real ifq's registration). 0 or -EINVAL. import_ifq and
  /// clone_ifq run it first; a caller that resolves the descriptor itself
  /// (zcrxd) runs it before that, so these come before -EBADF / -EBADFD.
  static int check_shared_reg(const uapi::io_uring_zcrx_ifq_reg& reg);

  /// Where a zcrx_stats block fits in an RQ region laid out as `l`: the
  /// first 64-byte boundary after the RQE array, or 0 when the region
  /// (l.size) has no room for it (proto::stats_offset). What a consumer
  /// puts in zcrx_event_desc.stats_offset (the kernel hands it out through
  /// IO_URING_QUERY_ZCRX; here both sides compute it from the layout).
  static uint64_t stats_offset(const RqRegionLayout& l);

  /// [control] IORING_REGISTER_ZCRX_IFQ without IMPORT/CLONE flags, with
  /// or without ZCRX_REG_NODEV. A device-less ifq binds no queue: the
  /// QueueBinder is never called for it (no lookup_device, open_queue or
  /// close_queue), its if_rxq() stays -1, and it can still be exported,
  /// imported, cloned and refilled like any other; its area is announced
  /// to the BufferSink (attach_area) like every area.
  /// `area_mem` is the mapped area (at least area.len bytes), `rq_mem` the
  /// mapped RQ region laid out as check_ifq_reg's rq_layout (at least its
  /// size; the engine zeroes the head and tail words). An empty `rq_mem`
  /// ({nullptr, 0}) makes the engine allocate the region itself (tests).
  /// On success fills reg.zcrx_id, reg.offsets, reg.rq_entries,
  /// area.rq_area_token; keeps `ev`'s user_data and type_mask on the ifq
  /// (all types armed) and makes `ctx` the master ctx (the ring event
  /// CQEs go to) whether or not `ev` asks for events (seed 000). With
  /// kZcrxEventDescFlagStats the zcrx_stats block at ev->stats_offset of
  /// the RQ region is zeroed and kept up to date by report_copy().
  /// Errors, in the kernel's order: -EBADF ctx terminated; check_ifq_reg's
  /// (`ev` as there); -EBUSY no free zcrx id (kMaxZcrxPerCtx); -EINVAL
  /// rq_mem too small; for the stats block (once the RQ region exists):
  /// -EINVAL stats_offset not 8-byte aligned, -ERANGE the block overlaps
  /// the RQ indices or RQEs or ends past the region (rq_mem.len, or the
  /// layout size when the engine allocates it); QueueBinder::lookup_device's
  /// -ENODEV (not for NODEV); check_ifq_area's; -EINVAL area_mem too
  /// small; QueueBinder::open_queue's (-ENODEV, -EEXIST, -EOPNOTSUPP,
  /// -ENOMEM; not for NODEV).
  int register_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg,
                   uapi::io_uring_zcrx_area_reg& area, Mapping area_mem,
                   Mapping rq_mem, const uapi::zcrx_event_desc* ev = nullptr);

  /// [control] ZCRX_CTRL_EXPORT: a box holding refs + user_refs of the
  /// real ifq behind ctrl.zcrx_id. 0 or -EFAULT (ctrl.__resv non-zero),
  /// -ENXIO (no such id), -EINVAL (zc_export non-zero), -EOPNOTSUPP (op is
  /// not EXPORT), -EBADF (ctx terminated).
  int export_ifq(Ctx* ctx, const uapi::zcrx_ctrl& ctrl, ExportBox** box_out);
  /// [control] Closing the exported descriptor (zcrx_box_release):
  /// unregister with no ctx (the master is left alone).
  void release_box(ExportBox* box);
  /// [control] The real ifq a box holds (for zcrxd to size the importer's
  /// RQ region with import_rq_layout).
  static Ifq* box_ifq(const ExportBox* box);

  /// [control] RQ geometry an import of `box` needs (same rq_entries as the
  /// real ifq). 0, or -EBADF when `box` is null.
  int import_rq_layout(const ExportBox* box, RqRegionLayout* out) const;
  /// [control] ZCRX_REG_IMPORT of `box` into `ctx`, as a new import entry
  /// with its own RQ in `rq_mem` (empty: engine-allocated). `box` null
  /// means the descriptor was not a zcrx export.
  /// Fills reg.zcrx_id, reg.offsets and reg.rq_entries.
  /// Errors, in the kernel's order: -EBADF ctx terminated; -EINVAL
  /// check_shared_reg's, or if_rxq / rq_entries / area_ptr / region_ptr
  /// non-zero; -EBADF not a box;
  /// then refs/user_refs are taken, and -EBUSY (no zcrx id or entry slot)
  /// or -EINVAL (rq_mem too small) undo them with unregister(real, ctx),
  /// as seed 000 does (which clears the master if `ctx` is the master).
  int import_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, ExportBox* box,
                 Mapping rq_mem = {});

  /// [control] RQ geometry a clone of `src`'s id `src_id` needs; 0 or the
  /// errors clone_ifq would return for `src`/`src_id`.
  int clone_rq_layout(const Ctx* ctx, const Ctx* src, uint32_t src_id,
                      RqRegionLayout* out) const;
  /// [control] IORING_ZCRX_IFQ_REG_CLONE from `src` (the ring the passed
  /// descriptor names; null when it names no ring), source id reg.if_rxq.
  /// Creates a proxy entry with its own RQ in `rq_mem` (empty:
  /// engine-allocated) whose proxy() is the real ifq behind the source
  /// entry: a clone of a clone or of an import stands for the real ifq,
  /// and holds its references on the real ifq and on the ring that owns
  /// it (its registering ring, while that ring exists), never on an
  /// intermediate ring, so no ring's death can leave it pointing at freed
  /// memory. Fills reg.zcrx_id, reg.offsets, reg.rq_entries.
  /// Errors: -EBADF ctx terminated; check_shared_reg's -EINVAL; -EBADF src
  /// null or terminated; -EBADFD src == ctx; -EINVAL no such source id
  /// (or its queue is closed); after taking refs: -EBUSY no zcrx id or
  /// entry slot, -EINVAL rq_mem too small, each undoing exactly what was
  /// taken.
  int clone_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, Ctx* src,
                Mapping rq_mem = {});

  /// [control] zcrx_set_ring_ctx (seed 000) on the real ifq behind
  /// `ifq`: when no master is set, makes `ctx` the master and takes a
  /// reference on it, returning true; otherwise returns false and changes
  /// nothing. register_ifq() calls it; exposed for tests.
  bool set_master_ctx(Ifq* ifq, Ctx* ctx);

  /// [control] ZCRX_CTRL_FLUSH_RQ, ZCRX_CTRL_ARM_EVENT and other zcrx_ctrl
  /// ops but EXPORT. -EBADF ctx terminated; -EFAULT ctrl.__resv non-zero;
  /// -ENXIO no such id (or a clone whose refs were dropped, for ARM);
  /// FLUSH_RQ: -EINVAL zc_flush.__resv non-zero, else 0 (the datapath
  /// drains every live entry's RQ each loop iteration);
  /// ARM_EVENT (zcrx_arm_notif): -EINVAL event_type >= __ZCRX_EVENT_TYPE_LAST,
  /// zc_arm_event.__resv non-zero, or the type has not fired since it was
  /// last armed; else 0 and the type fires again on its next occurrence.
  /// Any ring holding the ifq in its table (the master, an importer, a
  /// clone) may re-arm it, as in the kernel; the events still go to the
  /// master. EXPORT: -EINVAL (use export_ifq); anything else -EOPNOTSUPP.
  int ctrl(Ctx* ctx, const uapi::zcrx_ctrl& ctrl);

  EngineStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace zcrx::core
