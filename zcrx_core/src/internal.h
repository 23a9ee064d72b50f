// SPDX-License-Identifier: MIT
// Private state of the zcrx_core objects, shared by the engine's source
// files. Nothing here is part of the public contract.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>

#include "zcrx/core/engine.h"
#include "zcrx/ring.h"

namespace zcrx::core {

// ---- niov state word ---------------------------------------------------------
// One u32 per niov: user references in the low 16 bits, the entry slot it
// was delivered to in the high 16 bits. Only the datapath writes the word
// of a niov that belongs to a live entry of an open queue; the control
// thread writes it only after the entry left the snapshot and the datapath
// passed a quiescent point (entry teardown), or after the queue was closed
// (scrub). So plain relaxed loads and stores suffice on both sides: the
// hand-over is ordered by QueueBinder::synchronize / close_queue.
inline constexpr uint32_t kNiovRefMask = 0xffff;
inline constexpr unsigned kNiovOwnerShift = 16;
constexpr uint32_t niov_refs(uint32_t s) { return s & kNiovRefMask; }
constexpr uint32_t niov_owner(uint32_t s) { return s >> kNiovOwnerShift; }
constexpr uint32_t niov_word(uint32_t owner, uint32_t refs) {
  return (owner << kNiovOwnerShift) | refs;
}
// Ifq::deliver (inline in engine.h) spells the same layout out.
static_assert(kNiovRefMask == 0xffff && kNiovOwnerShift == 16);
static_assert(kMaxEntriesPerIfq <= (1u << (32 - kNiovOwnerShift)));

/// A counter with one writing thread: a relaxed load and store instead of
/// a locked read-modify-write; readers on other threads see some recent
/// value (they only report it).
class Counter {
 public:
  void add(uint64_t n = 1) {
    // relaxed: single writer; the value orders nothing.
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const {
    // relaxed: a statistic.
    return v_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> v_{0};
};

struct Area::Impl {
  uint32_t id = 0;
  uint64_t token = 0;
  void* base = nullptr;
  size_t len = 0;
  uint32_t niov_shift = 12;
  uint32_t num_niovs = 0;
  std::unique_ptr<std::atomic<uint32_t>[]> state;
  std::atomic<void*> provider{nullptr};
};

/// An entry's refill queue as the kernel reads it (io_zcrx_rqring_entries):
/// the head is ours and private (cached_head), published to the shared
/// word but never read back from it; the consumer's tail is re-read on
/// every refill and trusted for no more than `entries` RQEs. Whatever
/// values the consumer writes, refill reads only slots `pos & mask` of the
/// RQE array and at most `entries` of them per call.
struct RqRing {
  const uapi::io_uring_zcrx_rqe* rqes = nullptr;  // the RQE array
  uint32_t* head = nullptr;  // shared: written by us (release)
  uint32_t* tail = nullptr;  // shared: written by the consumer (read acquire)
  uint32_t mask = 0;         // entries - 1
  uint32_t entries = 0;      // power of two
  uint32_t cached_head = 0;  // datapath-owned: the next RQE to read
};

/// An RQ region: mapped by the caller or allocated here (tests).
struct RqRegion {
  RqRegionLayout layout{};
  void* base = nullptr;
  void* owned = nullptr;  // engine-allocated memory, freed with the entry
  RqRing ring;
  ~RqRegion();
};

struct Ifq::Impl {
  IfqKind kind = IfqKind::real;
  Engine::Impl* engine = nullptr;
  Ifq* self = nullptr;
  Ctx* ctx = nullptr;        // the table holding this entry
  uint32_t zcrx_id = 0;
  // The real ifq: self for a real ifq; the target of a proxy or import
  // (nullptr once a proxy dropped its refs).
  Ifq* real = nullptr;
  // real: the bound queue or -1. proxy: the real ifq's at clone time, -1
  // once its refs are dropped. import: unused (reads the real ifq's).
  std::atomic<int32_t> if_rxq{-1};
  // In the real ifq's entry table. Written by control (release), read by
  // the datapath (acquire) as a second line of defence; the snapshot is
  // the authority.
  std::atomic<bool> live{false};
  uint32_t slot = kMaxEntriesPerIfq;  // control-owned
  RqRegion rq;

  // Counters of this entry.
  Counter refilled, rqe_bad_token, rqe_bad_index, rqe_no_ref,
      rqe_wrong_owner, rq_clamped, reclaimed;

  // proxy only: the ring that owns the real ifq (its registering ring),
  // referenced while the proxy holds its refs; nullptr when that ring was
  // already freed at clone time (the real then lives on through imports
  // or boxes, and nothing of that ring is left to keep alive).
  Ctx* src_ctx = nullptr;

  // ---- real ifq only ----
  uint32_t port = 0;
  uint32_t rq_entries = 0;
  // ZCRX_REG_NODEV: no device and no queue; if_rxq stays -1 and the
  // QueueBinder never hears of it.
  bool nodev = false;
  // The queue was closed (close_queue, at the last user): for a bound ifq
  // the same as if_rxq == -1; the only record of it for a device-less one.
  // Control-owned.
  bool closed = false;
  // Lifetime counts: changed only by the (serialised) control thread;
  // atomics so stats readers on other threads are race-free.
  std::atomic<uint32_t> refs{0};
  std::atomic<uint32_t> user_refs{0};
  // Set once by register (CAS null->ctx), cleared by unregister_user of
  // that ctx; read by the datapath for events.
  std::atomic<Ctx*> master{nullptr};
  std::unique_ptr<Area> area;
  Counter scrubbed, no_buffers;
  // Events (events.cpp). Descriptor fields: written at registration,
  // before publish()'s release store; read-only afterwards.
  uint64_t event_user_data = 0;
  uint32_t event_mask = 0;          // allowed: 1 << zcrx_event_type
  uapi::zcrx_stats* stats_block = nullptr;  // in the RQ region, or null
  // Types fired and not yet re-armed: the datapath sets bits (fetch_or),
  // the control thread clears them (ZCRX_CTRL_ARM_EVENT, fetch_and).
  std::atomic<uint32_t> events_fired{0};
  // Datapath-written counters of the copy fallback and of event CQEs.
  Counter copies, copy_bytes, events_posted, events_lost;
  // Datapath snapshot of the live entries.
  std::atomic<Ifq*> entries[kMaxEntriesPerIfq] = {};
  std::atomic<uint32_t> entry_slots{0};
  std::atomic<uint32_t> generation{0};
  bool slot_used[kMaxEntriesPerIfq] = {};  // control-owned
};

/// The engine's access to an Ifq's inline datapath fields.
struct IfqAccess {
  static void set_datapath(Ifq& e, Area& area, uint32_t slot) {
    e.dp_niov_state_ = area.impl()->state.get();
    e.dp_token_ = area.token();
    e.dp_niov_shift_ = area.niov_shift();
    e.dp_slot_ = slot;
    e.dp_num_niovs_ = area.num_niovs();
    e.dp_area_ = &area;
  }
  static uint64_t delivered(const Ifq& e) {
    // relaxed: a statistic.
    return e.dp_delivered_.load(std::memory_order_relaxed);
  }
};

struct Ctx::Impl {
  Engine::Impl* engine = nullptr;
  Ctx* self = nullptr;
  CtxEvents* events = nullptr;
  // Written by control (release), read anywhere (acquire).
  std::atomic<Ifq*> table[kMaxZcrxPerCtx] = {};
  // Control-only; atomic for stats readers.
  std::atomic<uint32_t> refs{0};
  std::atomic<bool> terminated{false};
};

struct ExportBox {
  Ifq* real = nullptr;
};

struct Engine::Impl {
  QueueBinder& binder;
  BufferSink& sink;
  std::set<Ctx*> ctxs;
  std::set<Ifq*> reals;
  std::set<Ifq*> entries;  // proxy + import
  std::set<ExportBox*> boxes;
  std::atomic<uint64_t> free_with_master_set{0};
  Counter niovs_scrubbed, niovs_reclaimed;  // control-thread writers

  Impl(QueueBinder& b, BufferSink& s) : binder(b), sink(s) {}

  // ---- lifecycle (lifecycle.cpp) ----
  bool set_ring_ctx(Ifq* real, Ctx* ctx);
  void unregister_user(Ifq* real, Ctx* ctx);
  void unregister(Ifq* real, Ctx* ctx);
  void put_ifq(Ifq* real);
  void free_ifq(Ifq* real);
  void get_ctx(Ctx* ctx);
  void put_ctx(Ctx* ctx);
  void free_ctx(Ctx* ctx);
  void close_queue(Ifq* real);
  void scrub(Ifq* real);
  void terminate(Ctx* ctx);
  void shutdown(Ctx* ctx);
  void drop_proxy(Ifq* proxy);

  // ---- registration (register.cpp) ----
  /// From the RQ region to the bound queue, in the kernel's order; the
  /// caller undoes a failure with unregister().
  int attach_device_and_area(Ifq* ifq, const uapi::io_uring_zcrx_ifq_reg& reg,
                             const uapi::io_uring_zcrx_area_reg& area, Mapping area_mem,
                             Mapping rq_mem, const RqRegionLayout& layout,
                             const uapi::zcrx_event_desc& desc);

  // ---- entries (entries.cpp) ----
  /// An import or proxy entry between attach_entry() and publish_entry().
  struct Attached {
    Ifq* entry = nullptr;
    uint32_t id = 0;
    uint32_t slot = 0;
    RqRegionLayout layout{};
  };
  /// refs + 1 and user_refs + 1 on `real` (a box, an import, a proxy).
  static void get_user(Ifq* real);
  /// What import and clone do once they hold their references on `real`:
  /// a zcrx id in `ctx`, a slot in `real`'s entry table, a new entry of
  /// `kind` with its RQ (in `rq_mem`, or engine-allocated when empty). On
  /// failure returns -errno and leaves none of these behind (the caller
  /// undoes its own references); on success the entry is not yet visible.
  int attach_entry(IfqKind kind, Ctx* ctx, Ifq* real, Mapping rq_mem, Attached* out);
  /// Makes an attached entry live and fills the registration's outputs.
  void publish_entry(const Attached& a, uapi::io_uring_zcrx_ifq_reg& reg);
  Ifq* new_real(Ctx* ctx, uint32_t port, uint32_t rq_entries);
  Ifq* new_entry(IfqKind kind, Ctx* ctx, Ifq* real);
  int alloc_id(const Ctx* ctx) const;
  int alloc_slot(const Ifq* real) const;
  static int setup_rq(Ifq* entry, const RqRegionLayout& layout, Mapping mem);
  void publish(Ifq* entry, uint32_t slot, uint32_t zcrx_id);
  void retire(Ifq* entry);
  void reclaim_owned(Ifq* real, uint32_t slot, Counter& counter, Counter& total);
};

/// Common checks of every IORING_REGISTER_ZCRX_IFQ variant: reserved
/// words and zcrx_id zero. 0 or -EINVAL.
int check_reg_common(const uapi::io_uring_zcrx_ifq_reg& reg);

/// The event descriptor's own checks (events.cpp), run where the kernel
/// copies it: -EFAULT when reg.event_desc is set but `ev` is null, -EINVAL
/// for unknown types or flags, a stats_offset without the flag or
/// reserved words set. 0 also when reg.event_desc is 0 (no events).
int check_event_desc(const uapi::io_uring_zcrx_ifq_reg& reg, const uapi::zcrx_event_desc* ev);
/// Places the stats block of `ev` (if it asks for one) in `real`'s RQ
/// region of `region_size` bytes: -EINVAL misaligned, -ERANGE overlapping
/// the RQ or past the region; zeroes it on success.
int place_stats_block(Ifq* real, const uapi::zcrx_event_desc& ev, size_t region_size);
/// ZCRX_CTRL_ARM_EVENT on the real ifq `real`.
int arm_event(Ifq* real, const uapi::zcrx_ctrl_arm_event& arm);

}  // namespace zcrx::core
