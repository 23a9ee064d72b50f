// SPDX-License-Identifier: MIT
// Drives the real engine (zcrx_core on a PlainProvider) with the model's
// vocabulary: rings, entries, reals and boxes are named by the same small
// integers the Model hands out, so the sequence test applies one operation
// to both and compares.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/ring_layout.h"

namespace zcrx::model {

/// Counts the ZCRX_EVENT_ALLOC_FAIL CQEs one ring was asked to post.
class CountingEvents final : public core::CtxEvents {
 public:
  bool on_event(core::Ifq&, uint64_t, uint32_t type) override {
    if (type == zcrx::uapi::ZCRX_EVENT_ALLOC_FAIL) no_buffers++;
    return true;
  }
  uint64_t no_buffers = 0;
};

/// Page-aligned memory that outlives whatever the engine built on it.
struct AlignedMem {
  void* p = nullptr;
  size_t len = 0;
  explicit AlignedMem(size_t bytes);
  ~AlignedMem();
  AlignedMem(const AlignedMem&) = delete;
  AlignedMem& operator=(const AlignedMem&) = delete;
};

class EngineDriver {
 public:
  EngineDriver();
  ~EngineDriver();

  // Each call mirrors the Model call of the same name; the model supplies
  // the ids of the objects created (so the driver keeps them in the same
  // slots).
  void create_ctx();
  void terminate_ctx(int c);
  /// On success records the new real `r` and entry `e`.
  int register_ifq(int c, const RegSpec& spec, int r, int e);
  int export_ifq(int c, const CtrlSpec& spec, int b);
  void release_box(int b);
  /// `rq_entries`: the real ifq's, to size a caller-supplied RQ region.
  int import_ifq(int c, const ShareSpec& spec, int b, int e, uint32_t rq_entries = 0);
  int clone_ifq(int c, const ShareSpec& spec, int src, int e, uint32_t rq_entries = 0);
  int ctrl(int c, const CtrlSpec& spec);

  /// Allocates up to `n` niovs of entry `e`'s area into `out`.
  uint32_t alloc(int e, uint32_t* out, uint32_t n);
  uint64_t deliver(int e, uint32_t idx, uint32_t data_offset);
  void report_no_buffers(int e);
  bool push_rqe(int e, Rqe rqe);
  uint32_t refill(int e, uint32_t budget);
  /// Moves the RQ tail `ahead` RQEs on without writing them, as a broken
  /// consumer might (beyond the ring, or backwards when it wraps).
  void corrupt_rq(int e, uint32_t ahead);
  bool set_master(int e, int c);

  /// Destroys the engine with whatever is still live (its destructor
  /// terminates the rings and releases the boxes); the free lists stay.
  void destroy_engine() { engine_.reset(); }
  core::Engine& engine() { return *engine_; }
  const core::Engine& engine() const { return *engine_; }
  core::PlainProvider& provider() { return *provider_; }
  core::Ctx* ctx(int c) const { return ctxs_[c]; }
  const CountingEvents& events(int c) const { return *events_[c]; }
  core::Ifq* entry(int e) const { return entries_[e]; }
  core::Ifq* real(int r) const { return reals_[r]; }
  core::FreeList* free_list(int r) const { return lists_[r]; }

 private:
  void set_entry(int e, core::Ifq* p);
  /// RQ memory as `mode` asks for `rq_entries` entries ({} for the engine's).
  core::Mapping rq_memory(RqMem mode, uint32_t rq_entries);

  std::unique_ptr<core::PlainProvider> provider_;
  std::unique_ptr<core::Engine> engine_;
  std::vector<core::Ctx*> ctxs_;
  std::vector<std::unique_ptr<CountingEvents>> events_;
  std::vector<core::Ifq*> entries_;
  std::vector<std::unique_ptr<RqProducer>> producers_;  // per entry
  std::vector<bool> corrupt_;                           // per entry
  std::vector<core::Ifq*> reals_;
  std::vector<core::FreeList*> lists_;
  std::vector<core::ExportBox*> boxes_;
  std::vector<std::unique_ptr<AlignedMem>> memory_;
};

/// Compares every observable of `d` with `m`; returns "" when equal, else
/// a description of the first difference.
std::string compare(const Model& m, const EngineDriver& d);

}  // namespace zcrx::model
