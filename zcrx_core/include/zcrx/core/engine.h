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
/// Called from the datapath (refill) and from the control thread (scrub):
/// implementations must be safe against both.
class BufferSink {
 public:
  virtual ~BufferSink() = default;
  virtual void return_niovs(Area& area, const uint32_t* niov_idx, uint32_t n) = 0;
};

/// The datapath owner's handle on hardware queues.
class QueueBinder {
 public:
  virtual ~QueueBinder() = default;
  /// Makes `ifq`'s area the memory provider of queue (port, rxq); from then
  /// on the datapath may deliver into `ifq`. -ENODEV: no such port/queue;
  /// -EEXIST: queue already bound; -EOPNOTSUPP, -ENOMEM as the device says.
  virtual int open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) = 0;
  /// Stops delivery into `ifq`. On return the datapath has quiesced: it
  /// will not deliver into, nor refill from, `ifq` again.
  virtual void close_queue(Ifq& ifq) = 0;
};

/// Receives ifq-wide events. Delivered to the ifq's master ctx only.
class CtxEvents {
 public:
  virtual ~CtxEvents() = default;
  /// ZCRX_NOTIF_NO_BUFFERS: a packet arrived with no free niov. [datapath]
  virtual void on_no_buffers(Ifq& ifq) = 0;
};

/// Memory the caller already mapped (an area, or a refill-queue region).
struct Mapping {
  void* base = nullptr;
  size_t len = 0;
};

/// Registered memory cut into niovs of rx_buf_len bytes.
class Area {
 public:
  uint32_t id() const;
  uint64_t token() const;  // id << IORING_ZCRX_AREA_SHIFT
  void* base() const;
  size_t len() const;
  uint32_t niov_shift() const;
  uint32_t num_niovs() const;
  /// Current user references on niov `idx` (tests, stats).
  uint32_t user_refs(uint32_t idx) const;
  /// niovs with a user reference right now (a sum; not a datapath call).
  uint64_t held_by_users() const;
};

/// Counters an ifq keeps; all monotonic except where noted.
struct IfqStats {
  uint64_t delivered = 0;       // buffers handed to users
  uint64_t refilled = 0;        // buffers returned through the RQ
  uint64_t scrubbed = 0;        // buffers reclaimed by scrub
  uint64_t rqe_bad_token = 0;   // RQE skipped: wrong area token
  uint64_t rqe_bad_index = 0;   // RQE skipped: niov index out of range
  uint64_t rqe_no_ref = 0;      // RQE skipped: niov had no user reference
  uint64_t rq_corrupt = 0;      // RQ tail claimed more than the ring holds
  uint64_t no_buffers = 0;      // deliveries that found no free niov
};

/// An interface queue: the kernel's struct io_zcrx_ifq.
class Ifq {
 public:
  /// -1 once closed (or for a proxy whose source is gone).
  int32_t if_rxq() const;
  uint32_t port() const;
  uint32_t refs() const;
  uint32_t user_refs() const;
  Ctx* master_ctx() const;
  /// The real ifq a clone stands for; nullptr for a real ifq.
  Ifq* proxy() const;
  /// The ifq packets actually land in (this, or what the proxy points to).
  Ifq& target();
  Area* area() const;
  const RqRegionLayout& rq_layout() const;
  IfqStats stats() const;

  /// [datapath] A packet landed in niov `idx`: takes a user reference and
  /// returns the CQE `off` for `data_offset` bytes into that niov.
  uint64_t deliver(uint32_t idx, uint32_t data_offset);
  /// [datapath] Count a delivery that found no free niov and tell the
  /// master ctx (ZCRX_NOTIF_NO_BUFFERS).
  void report_no_buffers();
  /// [datapath] Drains up to `budget` RQEs: validates each, drops the user
  /// reference and hands the niov to the BufferSink in batches. Returns the
  /// number of niovs returned. Bad RQEs are skipped and counted.
  uint32_t refill(uint32_t budget);
};

/// A consumer ring (the kernel's io_ring_ctx, as far as zcrx is concerned).
class Ctx {
 public:
  uint32_t refs() const;
  /// The ifq (real or proxy) registered under `zcrx_id`, or nullptr.
  Ifq* lookup(uint32_t zcrx_id) const;
  /// What RECV_ZC on `zcrx_id` uses: lookup() resolved through proxy.
  Ifq* resolve(uint32_t zcrx_id) const;
  bool terminated() const;
};

/// Engine-wide invariant counters.
struct EngineStats {
  uint64_t free_with_master_set = 0;  // must stay 0 (kernel: WARN_ON_ONCE)
  uint64_t ifqs_live = 0;
  uint64_t ctxs_live = 0;
};

/// An exported ifq (the kernel's "[zcrx]" box file). Owned by the caller:
/// zcrxd keeps it behind a descriptor it handed out.
struct ExportBox;

class Engine {
 public:
  Engine(QueueBinder& binder, BufferSink& sink);
  ~Engine();

  /// [control] A new ring. `events` may be null. The engine holds one ref
  /// for the ring itself, dropped by terminate_ctx().
  Ctx* create_ctx(CtxEvents* events);
  /// [control] The ring's owner went away (session closed, process died):
  /// io_terminate_zcrx + io_shutdown_zcrx_ifqs + the final put, in the
  /// kernel's order. Objects are freed when their last reference drops.
  void terminate_ctx(Ctx* ctx);

  /// [control] Validates an io_uring_zcrx_ifq_reg for a fresh registration
  /// (reserved fields, flags, rq_entries, rx_buf_len) and returns the
  /// refill-queue geometry it asks for, so the caller can create or check
  /// the region before register_ifq(). 0 or -EINVAL.
  int check_ifq_reg(const uapi::io_uring_zcrx_ifq_reg& reg,
                    const uapi::io_uring_zcrx_area_reg& area,
                    RqRegionLayout* rq_out) const;

  /// [control] IORING_REGISTER_ZCRX_IFQ without IMPORT/CLONE flags.
  /// `area_mem` is the mapped area, `rq_mem` the mapped RQ region (laid out
  /// as rq_layout, or as reg.offsets for a user-supplied region).
  /// On success fills reg.zcrx_id, reg.offsets, reg.rq_entries,
  /// area.rq_area_token and makes `ctx` the master ctx.
  int register_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg,
                   uapi::io_uring_zcrx_area_reg& area, Mapping area_mem,
                   Mapping rq_mem);

  /// [control] ZCRX_CTRL_EXPORT: a box holding refs + user_refs.
  int export_ifq(Ctx* ctx, const uapi::zcrx_ctrl& ctrl, ExportBox** box_out);
  /// [control] Closing the exported descriptor (zcrx_box_release).
  void release_box(ExportBox* box);
  /// [control] ZCRX_REG_IMPORT of `box` into `ctx`. `box` null means the
  /// descriptor was not a zcrx export: -EBADF.
  int import_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, ExportBox* box);
  /// [control] IORING_ZCRX_IFQ_REG_CLONE from `src` (the ring the passed
  /// descriptor names; null when it names no ring: -EBADF).
  int clone_ifq(Ctx* ctx, uapi::io_uring_zcrx_ifq_reg& reg, Ctx* src);
  /// [control] ZCRX_CTRL_FLUSH_RQ and other zcrx_ctrl ops but EXPORT.
  int ctrl(Ctx* ctx, const uapi::zcrx_ctrl& ctrl);

  EngineStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zcrx::core
