// SPDX-License-Identifier: MIT
// Shared harness of the zcrx_core rule tests: an Engine on plain memory,
// with a provider that counts every niov returned so "exactly once" can be
// checked, and helpers that act as the consumer (RQ producer) and as the
// datapath (allocate + deliver).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace zcrx::core::test {

/// Page-aligned zeroed memory standing in for a mapped area.
struct AreaMemory {
  explicit AreaMemory(size_t len) : len(len) {
    base = std::aligned_alloc(4096, len);
    std::memset(base, 0, len);
  }
  ~AreaMemory() { std::free(base); }
  AreaMemory(const AreaMemory&) = delete;
  AreaMemory& operator=(const AreaMemory&) = delete;
  void* base;
  size_t len;
};

/// PlainProvider plus per-niov return counts for the area bound most
/// recently to each queue.
class CountingProvider final : public QueueBinder, public BufferSink {
 public:
  int lookup_device(uint32_t port) override { return plain.lookup_device(port); }
  int open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) override {
    return plain.open_queue(ifq, port, rxq);
  }
  void attach_area(Area& area) override {
    plain.attach_area(area);
    counts[&area] = std::vector<uint32_t>(area.num_niovs());
  }
  void close_queue(Ifq& ifq) override { plain.close_queue(ifq); }
  void synchronize(Ifq& real) override { plain.synchronize(real); }
  void return_niovs(Area& area, const uint32_t* idx, uint32_t n) override {
    for (uint32_t i = 0; i < n; i++) counts[&area].at(idx[i])++;
    refilled_calls++;
    plain.return_niovs(area, idx, n);
  }
  void reclaim_niovs(Area& area, const uint32_t* idx, uint32_t n) override {
    for (uint32_t i = 0; i < n; i++) counts[&area].at(idx[i])++;
    reclaim_calls++;
    plain.reclaim_niovs(area, idx, n);
  }
  /// Times niov `idx` of `area` came back.
  uint32_t returned(const Area* area, uint32_t idx) const { return counts.at(area).at(idx); }
  void reset_counts(const Area* area) {
    for (auto& c : counts.at(area)) c = 0;
  }

  PlainProvider plain{2, 8};
  std::map<const Area*, std::vector<uint32_t>> counts;
  uint64_t refilled_calls = 0;
  uint64_t reclaim_calls = 0;
};

/// One event CQE a sink was asked to post.
struct SeenEvent {
  Ifq* ifq;
  uint64_t user_data;
  uint32_t type;
};

/// Records every event the engine hands to a ring's sink; `accept` false
/// plays a full CQ (the post fails).
struct RecordingEvents final : CtxEvents {
  bool on_event(Ifq& ifq, uint64_t user_data, uint32_t type) override {
    if (!accept) {
      refused++;
      return false;
    }
    seen.push_back({&ifq, user_data, type});
    return true;
  }
  size_t count(uint32_t type) const {
    size_t n = 0;
    for (const SeenEvent& e : seen) n += e.type == type;
    return n;
  }
  std::vector<SeenEvent> seen;
  bool accept = true;
  uint32_t refused = 0;
};

/// A registration request that passes every check.
struct RegRequest {
  uapi::io_uring_zcrx_ifq_reg reg{};
  uapi::io_uring_zcrx_area_reg area{};
  Mapping mem{};
};

struct Harness {
  // Declared first so the areas outlive the engine (destroyed last).
  std::vector<std::unique_ptr<AreaMemory>> memories;
  CountingProvider prov;
  Engine eng{prov, prov};

  RegRequest request(uint32_t port, uint32_t rxq, uint32_t niovs = 16,
                     uint32_t rq_entries = 64) {
    auto mem = std::make_unique<AreaMemory>(size_t{niovs} * kDefaultRxBufLen);
    RegRequest r;
    r.reg.if_idx = port;
    r.reg.if_rxq = rxq;
    r.reg.rq_entries = rq_entries;
    r.area.addr = reinterpret_cast<uint64_t>(mem->base);
    r.area.len = mem->len;
    r.mem = {mem->base, mem->len};
    memories.push_back(std::move(mem));
    return r;
  }

  int register_ifq(Ctx* ctx, RegRequest& r, const uapi::zcrx_event_desc* ev = nullptr) {
    return eng.register_ifq(ctx, r.reg, r.area, r.mem, {}, ev);
  }

  /// Registers (port, rxq) for `ctx` asking for the events in `mask`
  /// (1 << zcrx_event_type) with CQE user_data `user_data`.
  Ifq* register_events(Ctx* ctx, uint32_t port, uint32_t rxq, uint32_t mask,
                       uint64_t user_data = 0xe7e7) {
    RegRequest r = request(port, rxq);
    uapi::zcrx_event_desc ev{};
    ev.user_data = user_data;
    ev.type_mask = mask;
    r.reg.event_desc = reinterpret_cast<uint64_t>(&ev);
    REQUIRE(register_ifq(ctx, r, &ev) == 0);
    Ifq* ifq = ctx->lookup(r.reg.zcrx_id);
    REQUIRE(ifq != nullptr);
    return ifq;
  }

  /// ZCRX_CTRL_ARM_EVENT of `type` on `id` of `ctx`; the engine's result.
  int arm(Ctx* ctx, uint32_t id, uint32_t type) {
    uapi::zcrx_ctrl c{};
    c.zcrx_id = id;
    c.op = uapi::ZCRX_CTRL_ARM_EVENT;
    c.zc_arm_event.event_type = type;
    return eng.ctrl(ctx, c);
  }

  /// Registers (port, rxq) for `ctx` without an event descriptor (the
  /// ring still becomes the ifq's master ctx, seed 000); fails the test on
  /// error.
  Ifq* register_ok(Ctx* ctx, uint32_t port, uint32_t rxq, uint32_t niovs = 16) {
    RegRequest r = request(port, rxq, niovs);
    REQUIRE(register_ifq(ctx, r) == 0);
    Ifq* ifq = ctx->lookup(r.reg.zcrx_id);
    REQUIRE(ifq != nullptr);
    return ifq;
  }

  ExportBox* export_ok(Ctx* ctx, uint32_t id) {
    uapi::zcrx_ctrl c{};
    c.zcrx_id = id;
    c.op = uapi::ZCRX_CTRL_EXPORT;
    ExportBox* box = nullptr;
    REQUIRE(eng.export_ifq(ctx, c, &box) == 0);
    REQUIRE(box != nullptr);
    return box;
  }

  Ifq* import_ok(Ctx* ctx, ExportBox* box) {
    uapi::io_uring_zcrx_ifq_reg reg{};
    reg.flags = uapi::kZcrxRegImport;
    REQUIRE(eng.import_ifq(ctx, reg, box) == 0);
    return ctx->lookup(reg.zcrx_id);
  }

  Ifq* clone_ok(Ctx* ctx, Ctx* src, uint32_t src_id) {
    uapi::io_uring_zcrx_ifq_reg reg{};
    reg.flags = uapi::kZcrxIfqRegClone;
    reg.if_rxq = src_id;
    REQUIRE(eng.clone_ifq(ctx, reg, src) == 0);
    return ctx->lookup(reg.zcrx_id);
  }

  FreeList& free_list(Ifq* entry) { return *PlainProvider::free_list(*entry->area()); }

  /// Datapath: takes `n` free niovs of the entry's area and delivers them
  /// to `entry`; returns the CQE offs.
  std::vector<uint64_t> deliver(Ifq* entry, uint32_t n, uint32_t data_off = 0) {
    std::vector<uint32_t> idx(n);
    REQUIRE(free_list(entry).alloc_bulk(idx.data(), n));
    std::vector<uint64_t> offs;
    for (uint32_t i : idx) offs.push_back(entry->deliver(i, data_off));
    return offs;
  }

  /// Consumer: hands `offs` back through the entry's RQ.
  static void push_rqes(Ifq* entry, const std::vector<uint64_t>& offs) {
    RqProducer rq = rq_producer(entry->rq_base(), entry->rq_layout().off,
                                entry->rq_layout().rq_entries);
    for (uint64_t off : offs) {
      uapi::io_uring_zcrx_rqe rqe{};
      rqe.off = off;
      rqe.len = 100;
      REQUIRE(rq.push(rqe));
    }
  }

  static void push_raw(Ifq* entry, const uapi::io_uring_zcrx_rqe& rqe) {
    RqProducer rq = rq_producer(entry->rq_base(), entry->rq_layout().off,
                                entry->rq_layout().rq_entries);
    REQUIRE(rq.push(rqe));
  }
};

/// An RQE as a consumer writes it; `pad` != 0 makes it invalid.
inline uapi::io_uring_zcrx_rqe make_rqe(uint64_t off, uint32_t pad = 0) {
  uapi::io_uring_zcrx_rqe e{};
  e.off = off;
  e.len = 1;
  e.__pad = pad;
  return e;
}

inline uint32_t niov_of(const Ifq* entry, uint64_t off) {
  return static_cast<uint32_t>(uapi::area_offset_of(off) >> entry->area()->niov_shift());
}

}  // namespace zcrx::core::test
