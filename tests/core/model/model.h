// SPDX-License-Identifier: MIT
// A reference model of zcrx ownership: rings (ctxs), interface queues
// (real ifqs and their proxy/import entries), export boxes, the master
// ctx, per-niov user references and owning entry, free buffers and scrub.
//
// It is written from the rules (docs/ARCHITECTURE.md "Semantics", the
// kernel's io_uring/zcrx.c, seeds 000 and 003, the documented contract of
// zcrx/core/engine.h), not from the engine: plain single-threaded code with
// vectors and counters, so every step can be read and checked by eye. The
// sequence test drives it and the engine with the same operations and
// compares every result and count.
//
// Objects are named by small integers (indices into the vectors below)
// and are never erased, so a freed object still answers questions about
// its last state. kNone stands for "no object".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zcrx::model {

inline constexpr int kNone = -1;
inline constexpr uint32_t kMaxIds = 64;        // zcrx ids per ring
inline constexpr uint32_t kMaxEntries = 128;   // live entries per real ifq
inline constexpr unsigned kTokenShift = 48;    // IORING_ZCRX_AREA_SHIFT
inline constexpr uint32_t kRegNodev = 2;       // ZCRX_REG_NODEV

// errno values the rules name (Linux numbers; kept here so the model does
// not depend on the engine's headers).
inline constexpr int kEBADF = 9;
inline constexpr int kENXIO = 6;
inline constexpr int kEFAULT = 14;
inline constexpr int kEBUSY = 16;
inline constexpr int kEEXIST = 17;
inline constexpr int kENODEV = 19;
inline constexpr int kEINVAL = 22;
inline constexpr int kEOPNOTSUPP = 95;
inline constexpr int kEBADFD = 77;

enum class Kind { real, proxy, import };

/// Per-entry counters (the engine's IfqStats, same names).
struct EntryStats {
  uint64_t delivered = 0;
  uint64_t refilled = 0;
  uint64_t reclaimed = 0;
  uint64_t rqe_bad_token = 0;
  uint64_t rqe_bad_index = 0;
  uint64_t rqe_no_ref = 0;
  uint64_t rqe_wrong_owner = 0;
  uint64_t rq_clamped = 0;
};

struct Niov {
  uint32_t user_refs = 0;
  int owner = kNone;  // entry it was delivered to (while user_refs > 0)
};

/// A registered ifq: the queue, the area and the counts.
struct Real {
  int entry = kNone;  // its own table entry (in the registering ring)
  uint32_t port = 0, rxq = 0;
  uint32_t rq_entries = 0;
  uint32_t niov_shift = 12;
  uint32_t refs = 0, user_refs = 0;
  bool open = false;  // not closed yet (bound to its queue unless nodev)
  bool nodev = false; // ZCRX_REG_NODEV: no queue, if_rxq always -1
  int master = kNone;
  uint32_t event_mask = 0;  // allowed event types (1 << type)
  uint32_t fired = 0;       // fired and not yet re-armed
  bool freed = false;
  std::vector<Niov> niovs;
  uint64_t scrubbed = 0;
  uint64_t no_buffers = 0;
  uint32_t live_entries = 0;  // entries in the datapath table
};

struct Rqe {
  uint64_t off = 0;
  uint32_t pad = 0;
};

/// A ring's table entry (real, proxy or import).
struct Entry {
  Kind kind = Kind::real;
  int ctx = kNone;
  uint32_t zcrx_id = 0;
  int real = kNone;
  int src_ctx = kNone;  // proxy: the ring owning the real (kNone: gone)
  bool live = false;    // in the real ifq's datapath table
  bool shut = false;    // proxy: refs dropped at shutdown (if_rxq = -1)
  bool freed = false;   // proxy/import: entry object freed with its ring
  uint32_t rq_entries = 0;
  // The RQ as shared memory: every slot's last contents (zero at first)
  // and the two indices, free-running u32s. The consumer writes slots and
  // tail, refill reads from head.
  std::vector<Rqe> slots;
  uint32_t head = 0, tail = 0;
  EntryStats stats;
};

struct Ctx {
  uint32_t refs = 0;
  bool terminated = false;
  bool freed = false;
  std::vector<int> table;  // zcrx id -> entry
  uint64_t no_buffer_events = 0;  // ZCRX_EVENT_ALLOC_FAIL CQEs this ring got
};

struct Box {
  int real = kNone;
  bool released = false;
};

/// Where an entry's refill queue lives: allocated by the engine, in
/// memory the caller mapped (as zcrxd does), or in too little of it.
enum class RqMem { engine, caller, too_small };

/// Fields of a registration the sequence test varies (everything else is
/// valid and fixed).
struct RegSpec {
  uint32_t port = 0, rxq = 0;
  uint32_t rq_entries = 64;
  uint32_t rx_buf_len = 0;   // 0: default 4096
  uint32_t num_niovs = 16;   // area length in buffers
  uint32_t area_len_extra = 0;  // bytes added to the length (misaligned)
  uint32_t flags = 0;
  bool resv_nonzero = false;
  bool area_dmabuf = false;
  bool area_mem_small = false;  // the mapped area is shorter than area.len
  RqMem rq_mem = RqMem::engine;
  // Event descriptor: none when !event_desc; event_mask 0 asks for nothing
  // (the ring is the master either way); event_bad sets an unknown type bit.
  bool event_desc = false;
  uint32_t event_mask = 0;
  bool event_bad = false;
};

/// A zcrx_ctrl the sequence test builds.
struct CtrlSpec {
  uint32_t zcrx_id = 0;
  uint32_t op = 0;  // 0 FLUSH_RQ, 1 EXPORT, 2 ARM_EVENT, other: unknown
  uint32_t event_type = 0;  // ARM_EVENT
  bool resv_nonzero = false;      // zcrx_ctrl.__resv
  bool payload_nonzero = false;   // zc_export / zc_flush / zc_arm_event reserved words
};

/// An import or clone registration's fields.
struct ShareSpec {
  uint32_t flags = 1;  // ZCRX_REG_IMPORT / IORING_ZCRX_IFQ_REG_CLONE
  uint32_t if_rxq = 0;  // clone: the source id; import: must be 0
  uint32_t rq_entries = 0;
  uint64_t area_ptr = 0, region_ptr = 0;
  bool resv_nonzero = false;
  RqMem rq_mem = RqMem::engine;
};

/// Engine-wide counts (the engine's EngineStats).
struct Totals {
  uint64_t free_with_master_set = 0;
  uint64_t ifqs_live = 0;
  uint64_t ctxs_live = 0;
  uint64_t entries_live = 0;  // proxy + import entries not freed
  uint64_t boxes_live = 0;
  uint64_t niovs_scrubbed = 0;
  uint64_t niovs_reclaimed = 0;
};

class Model {
 public:
  static constexpr uint32_t kPorts = 1;
  static constexpr uint32_t kQueues = 64;

  int create_ctx();
  void terminate_ctx(int c);

  /// Returns the new real's zcrx id, or -errno. *real_out: the new real.
  int register_ifq(int c, const RegSpec& spec, int* real_out);
  /// Returns 0 and *box_out, or -errno.
  int export_ifq(int c, const CtrlSpec& spec, int* box_out);
  void release_box(int b);
  /// `b` kNone: the descriptor was not a box. Returns the id or -errno.
  int import_ifq(int c, const ShareSpec& spec, int b);
  /// `src` kNone: the descriptor was not a ring. Returns the id or -errno.
  int clone_ifq(int c, const ShareSpec& spec, int src);
  int ctrl(int c, const CtrlSpec& spec);

  // ---- datapath ----
  /// Is niov `idx` of `r` free (no user reference)?
  bool niov_free(int r, uint32_t idx) const;
  uint32_t free_count(int r) const;
  /// Entry `e` got niov `idx` (which must be free).
  void deliver(int e, uint32_t idx);
  /// A delivery to `e` found no free niov: counted; ZCRX_EVENT_ALLOC_FAIL
  /// goes to the master when allowed, armed and the master is set.
  void report_no_buffers(int e);
  /// Consumer writes an RQE into `e`'s RQ; false when the RQ is full.
  bool push_rqe(int e, Rqe rqe);
  /// Datapath drains up to `budget` RQEs; returns niovs returned.
  uint32_t refill(int e, uint32_t budget);
  /// The consumer publishes an RQ tail `ahead` RQEs past its last one
  /// (beyond what the ring holds when large): refill reads at most the
  /// ring's size from its head, whatever is in those slots, and counts the
  /// clamp (the kernel's io_zcrx_rqring_entries).
  void corrupt_rq(int e, uint32_t ahead);
  /// zcrx_set_ring_ctx on the real behind entry `e`: true when it set `c`.
  bool set_master(int e, int c);

  // ---- queries ----
  const Ctx& ctx(int c) const { return ctxs_[c]; }
  const Real& real(int r) const { return reals_[r]; }
  const Entry& entry(int e) const { return entries_[e]; }
  const Box& box(int b) const { return boxes_[b]; }
  int num_ctxs() const { return static_cast<int>(ctxs_.size()); }
  int num_reals() const { return static_cast<int>(reals_.size()); }
  int num_entries() const { return static_cast<int>(entries_.size()); }
  int num_boxes() const { return static_cast<int>(boxes_.size()); }
  /// Entry under `id` in ring `c`, or kNone.
  int lookup(int c, uint32_t id) const;
  /// Is (port, rxq) bound to an open real ifq?
  bool bound(uint32_t port, uint32_t rxq) const;
  const Totals& totals() const { return totals_; }
  /// Niovs held by users across every real (for final accounting).
  uint64_t held_total() const;

 private:
  int add_entry(int c, Kind kind, int r, uint32_t id);
  uint32_t free_id(int c) const;
  void unregister_user(int r, int c);
  void put_real(int r);
  void put_ctx(int c);
  void entry_away(int e);
  void scrub(int r);

  std::vector<Ctx> ctxs_;
  std::vector<Real> reals_;
  std::vector<Entry> entries_;
  std::vector<Box> boxes_;
  Totals totals_;
};

/// Niov size of a spec (rx_buf_len 0 means 4096) as a shift.
uint32_t niov_shift_of(uint32_t rx_buf_len);

}  // namespace zcrx::model
