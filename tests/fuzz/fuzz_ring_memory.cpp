// SPDX-License-Identifier: MIT
// libFuzzer target: the datapath against shared memory a consumer writes at
// will. A ring (zcrxd's RingDp over a ring region) registers an ifq on
// plain memory (zcrx_core, through a PlainProvider), optionally with an
// import entry of that ifq in the same ring, and optionally a second ring
// holds a clone of it; either ring may go (Control::close_session) while
// the other keeps receiving. The ring regions and every RQ region are
// GuardedRegions: guard pages around them, and ASan poison on every byte
// that is not a field the datapath may touch (consumer_ring.h).
//
// Input: three config bytes (ring, RQ and area geometry, a clone ring,
// events, stats block, import entry), then steps until the input ends.
// The step byte's low 7 bits pick the step, its top bit the ring. A step
// is either something the consumer does to its shared memory (any bytes at
// any offset, an SQE, a CQ head, an RQE, an RQ or SQ tail) or something
// zcrxd does: one datapath iteration over the live rings (as
// Datapath::poll_once: poll each SQ or let it sleep, refill every live
// entry, deliver packets to armed requests, report a buffer shortage or a
// copy, flush), an SQ_WAKEUP, a CTRL, a flow closed or reopened, a ring
// closed.
//
// Checks: no fault and no sanitizer report; a ring marked broken moves
// neither its SQ head nor its CQ tail again, a corrupt RQ its head; every
// data CQE a well-behaved consumer reaps names bytes inside one niov of the
// area; niovs held by users plus free niovs is the area after every step;
// at the end every armed request is ended (terminate_requests) and, once
// every ring is terminated, the engine holds nothing, every niov is back in
// the free list exactly once (no overflow), and no ifq was freed with its
// master set.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "consumer_ring.h"
#include "fuzz_input.h"
#include "guarded_region.h"
#include "ring_dp.h"
#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/ring_layout.h"
#include "zcrx/uapi.h"

namespace {

constexpr const char* kTarget = "fuzz_ring_memory";

namespace core = zcrx::core;
namespace uapi = zcrx::uapi;
using zcrx::fuzz::ConsumerRing;
using zcrx::fuzz::FuzzInput;
using zcrx::fuzz::GuardedRegion;
using zcrx::fuzz::RingEntry;
using zcrxd::RecvRequest;

constexpr uint32_t kMaxSteps = 1024;    // a bound on one input's work
constexpr uint32_t kRefillBudget = 64;  // as the datapath's
constexpr uint32_t kRings = 2;

struct Config {
  uint32_t sq_entries;
  uint32_t cq_entries;
  uint32_t rq_entries;
  uint32_t niovs;
  uint32_t buf_len;
  uint32_t event_mask;
  uint64_t idle;  // iterations of an empty SQ before it may sleep
  bool clone_ring;
  bool stats;
  bool import;
  bool burst_refill;
};

Config read_config(FuzzInput& in) {
  const uint8_t a = in.u8(), b = in.u8(), f = in.u8();
  Config c{};
  c.sq_entries = 1u << ((a & 7) % 6);                   // 1..32
  c.cq_entries = c.sq_entries << (((a >> 3) & 3) % 3);  // sq..4 sq
  c.clone_ring = a & 0x20;
  c.rq_entries = 1u << ((b & 7) % 7);  // 1..64
  c.niovs = 1 + (b >> 3);              // 1..32
  c.buf_len = f & 1 ? 8192 : 4096;
  c.stats = f & 2;
  c.import = f & 4;
  c.burst_refill = f & 8;
  c.event_mask = (f >> 4) & uapi::kZcrxEventTypeMask;
  c.idle = 1 + ((f >> 6) & 3);
  return c;
}

class World {
 public:
  explicit World(const Config& c);
  ~World();

  void step(FuzzInput& in);

 private:
  void register_ifq();
  void import_entry();
  void clone_ring();

  // zcrxd steps.
  void datapath_iteration(FuzzInput& in);
  void refill_entries(uint8_t budget_byte);
  void receive(FuzzInput& in, uint32_t packets);
  void ctrl(ConsumerRing& r, FuzzInput& in);
  /// Control::close_session: the flows, out of the datapath, the kernel's
  /// ring teardown, then the ring's memory goes.
  void close_ring(uint32_t k);

  void check_accounting() const;
  void teardown_and_check();

  Config cfg_;
  // Memory first: it outlives everything built on it.
  std::unique_ptr<void, decltype(&std::free)> area_{nullptr, &std::free};
  // The registering entry's RQ region belongs to the ifq (its stats block
  // is written as long as the queue delivers, whichever ring keeps it).
  std::unique_ptr<GuardedRegion> real_rq_;
  core::PlainProvider prov_{1, 1};
  std::unique_ptr<ConsumerRing> rings_[kRings];
  zcrxd::DirtyRings dirty_;
  std::unique_ptr<core::Engine> eng_;
  core::Ifq* real_ = nullptr;  // null once every ring is gone (it is freed)
  core::FreeList* free_ = nullptr;
  uint64_t now_ = 0;
  // ZCRX_FUZZ_TRACE set: each ring's counters on stderr as it goes.
  const bool trace_ = std::getenv("ZCRX_FUZZ_TRACE") != nullptr;
};

World::World(const Config& c) : cfg_(c) {
  eng_ = std::make_unique<core::Engine>(prov_, prov_);
  rings_[0] = std::make_unique<ConsumerRing>(cfg_.sq_entries, cfg_.cq_entries);
  rings_[0]->set_ctx(eng_->create_ctx(&rings_[0]->events()));
  register_ifq();
  if (cfg_.import) import_entry();
  if (cfg_.clone_ring) clone_ring();
  dirty_.rings.reserve(kRings);
  for (auto& r : rings_) {
    if (!r) continue;
    r->open_flows(real_);
    r->dp().attach(&dirty_, now_);
  }
}

World::~World() { teardown_and_check(); }

void World::register_ifq() {
  const size_t len = size_t{cfg_.niovs} * cfg_.buf_len;
  area_.reset(std::aligned_alloc(4096, len));
  std::memset(area_.get(), 0, len);
  uapi::io_uring_zcrx_area_reg area{};
  area.addr = reinterpret_cast<uint64_t>(area_.get());
  area.len = len;
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.if_rxq = 0;
  reg.rq_entries = cfg_.rq_entries;
  reg.rx_buf_len = cfg_.buf_len;
  uapi::zcrx_event_desc ev{};
  ev.user_data = 0xe7e7;
  ev.type_mask = cfg_.event_mask;
  zcrx::RqRegionLayout l{};
  FUZZ_CHECK(eng_->check_ifq_reg(reg, area, &l) == 0);
  const uint64_t stats_off = cfg_.stats ? core::Engine::stats_offset(l) : 0;
  if (stats_off) {
    ev.flags = uapi::kZcrxEventDescFlagStats;
    ev.stats_offset = stats_off;
  }
  if (cfg_.event_mask || stats_off) reg.event_desc = reinterpret_cast<uint64_t>(&ev);
  real_rq_ = zcrx::fuzz::make_rq_region(l, stats_off);
  ConsumerRing& r = *rings_[0];
  const int rc = eng_->register_ifq(r.ctx(), reg, area, {area_.get(), len},
                                    {real_rq_->base(), l.size}, reg.event_desc ? &ev : nullptr);
  FUZZ_CHECK(rc == 0);
  real_ = r.ctx()->lookup(reg.zcrx_id);
  FUZZ_CHECK(real_ != nullptr && real_->rq_base() == real_rq_->base());
  free_ = core::PlainProvider::free_list(*real_->area());
  r.add_entry({real_, reg.zcrx_id, real_rq_.get()}, real_, nullptr);
}

void World::import_entry() {
  ConsumerRing& r = *rings_[0];
  uapi::zcrx_ctrl c{};
  c.op = uapi::ZCRX_CTRL_EXPORT;
  c.zcrx_id = r.entry(0).id;
  core::ExportBox* box = nullptr;
  FUZZ_CHECK(eng_->export_ifq(r.ctx(), c, &box) == 0);
  zcrx::RqRegionLayout l{};
  FUZZ_CHECK(eng_->import_rq_layout(box, &l) == 0);
  auto rq = zcrx::fuzz::make_rq_region(l, 0);
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.flags = uapi::kZcrxRegImport;
  FUZZ_CHECK(eng_->import_ifq(r.ctx(), reg, box, {rq->base(), l.size}) == 0);
  // The consumer closes the export descriptor at once: the import keeps
  // the ifq.
  eng_->release_box(box);
  core::Ifq* e = r.ctx()->lookup(reg.zcrx_id);
  FUZZ_CHECK(e != nullptr && &e->target() == real_);
  r.add_entry({e, reg.zcrx_id, rq.get()}, real_, std::move(rq));
}

void World::clone_ring() {
  rings_[1] = std::make_unique<ConsumerRing>(cfg_.sq_entries, cfg_.cq_entries);
  ConsumerRing& r = *rings_[1];
  r.set_ctx(eng_->create_ctx(&r.events()));
  const uint32_t src_id = rings_[0]->entry(0).id;
  zcrx::RqRegionLayout l{};
  FUZZ_CHECK(eng_->clone_rq_layout(r.ctx(), rings_[0]->ctx(), src_id, &l) == 0);
  auto rq = zcrx::fuzz::make_rq_region(l, 0);
  uapi::io_uring_zcrx_ifq_reg reg{};
  reg.flags = uapi::kZcrxIfqRegClone;
  reg.if_rxq = src_id;
  FUZZ_CHECK(eng_->clone_ifq(r.ctx(), reg, rings_[0]->ctx(), {rq->base(), l.size}) == 0);
  core::Ifq* e = r.ctx()->lookup(reg.zcrx_id);
  FUZZ_CHECK(e != nullptr && e->kind() == core::IfqKind::proxy && &e->target() == real_);
  r.add_entry({e, reg.zcrx_id, rq.get()}, real_, std::move(rq));
}

// ---- zcrxd -----------------------------------------------------------------

void World::refill_entries(uint8_t budget_byte) {
  const uint32_t budget = 1 + budget_byte % kRefillBudget;
  uint32_t idx[kRefillBudget];
  for (uint32_t slot = 0; slot < real_->entry_slots(); slot++) {
    core::Ifq* e = real_->entry_at(slot);
    if (!e) continue;
    if (cfg_.burst_refill) {
      const uint32_t n = e->refill_burst(budget, idx);
      FUZZ_CHECK(n <= budget);
      for (uint32_t i = 0; i < n; i++) FUZZ_CHECK(idx[i] < cfg_.niovs);
      free_->return_niovs(*real_->area(), idx, n);
    } else {
      FUZZ_CHECK(e->refill(budget) <= budget);
    }
  }
}

// Packets for the open flows, as Datapath::deliver's in-place path: a CQE
// slot first (two for a byte-limited request), then a buffer.
void World::receive(FuzzInput& in, uint32_t packets) {
  bool no_buffers = false;
  for (uint32_t k = 0; k < packets; k++) {
    const uint8_t a = in.u8();
    ConsumerRing* ring = rings_[a >> 7].get();
    RecvRequest* r = ring ? ring->dp().armed(a % ConsumerRing::kFlows) : nullptr;
    if (!r) continue;  // nobody receives on the flow: dropped
    if (!ring->dp().reserve(r->limited ? 2u : 1u)) {
      ring->dp().count_overflow();
      continue;
    }
    uint32_t idx;
    if (free_->alloc_burst(&idx, 1) == 0) {
      no_buffers = true;
      continue;
    }
    const uint32_t data_off = (((a >> 2) & 0x1f) * 64) % cfg_.buf_len;
    const uint32_t len = 1 + in.u16() % (cfg_.buf_len - data_off);
    const uint64_t off = r->entry->deliver(idx, data_off);
    FUZZ_CHECK(ring->dp().post_data(*r, len, off, 0, (a & 1) != 0) <= len);
  }
  if (no_buffers) real_->report_no_buffers();  // once per burst
}

void World::datapath_iteration(FuzzInput& in) {
  const uint8_t a = in.u8(), b = in.u8();
  now_++;
  ConsumerRing::Watch before[kRings];
  for (uint32_t k = 0; k < kRings; k++)
    if (rings_[k]) before[k] = rings_[k]->watch();

  for (auto& r : rings_) {
    if (!r || r->dp().sq_asleep()) continue;
    if (r->dp().poll_sq(1 + a % 16)) {
      r->dp().note_sq_busy(now_);
    } else if (a & 0x10) {
      r->dp().sq_try_sleep(now_, cfg_.idle);
    }
  }
  refill_entries(b);
  receive(in, (a >> 5) & 7);
  if (b & 0x80) real_->report_copy(in.u16());
  // Datapath::flush_rings: rings with event CQEs still waiting stay listed.
  size_t keep = 0;
  for (zcrxd::RingDp* dp : dirty_.rings) {
    if (dp->flush()) dp->wake_if_needed();
    if (dp->has_queued_events()) dirty_.rings[keep++] = dp;
    else dp->clear_dirty();
  }
  dirty_.rings.resize(keep);

  for (uint32_t k = 0; k < kRings; k++)
    if (rings_[k]) rings_[k]->check_quiet(before[k]);
}

void World::ctrl(ConsumerRing& r, FuzzInput& in) {
  const uint8_t a = in.u8();
  uapi::zcrx_ctrl c{};
  c.zcrx_id = r.entry((a >> 2) % r.n_entries()).id;
  if (a & 1) {
    c.op = uapi::ZCRX_CTRL_ARM_EVENT;
    c.zc_arm_event.event_type = (a >> 4) % 3;
  } else {
    c.op = uapi::ZCRX_CTRL_FLUSH_RQ;
  }
  const int rc = eng_->ctrl(r.ctx(), c);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL);
}

void World::close_ring(uint32_t k) {
  ConsumerRing& r = *rings_[k];
  r.close_flows();
  // Out of the datapath's flush list (a new snapshot without the ring).
  for (size_t i = 0; i < dirty_.rings.size(); i++)
    if (dirty_.rings[i] == &r.dp()) dirty_.rings.erase(dirty_.rings.begin() + static_cast<long>(i));
  if (trace_) r.trace(stderr);
  eng_->terminate_ctx(r.ctx());
  // Its clone or import RQ region is unmapped with it: a refill that still
  // read it would fault.
  rings_[k].reset();
  if (!rings_[0] && !rings_[1]) real_ = nullptr;  // the last reference went
}

void World::check_accounting() const {
  FUZZ_CHECK(free_->overflows() == 0);
  FUZZ_CHECK(eng_->stats().free_with_master_set == 0);
  if (!real_) {
    FUZZ_CHECK(free_->free_count() == cfg_.niovs);
    return;
  }
  const core::Area* area = real_->area();
  FUZZ_CHECK(area->held_by_users() + free_->free_count() == area->num_niovs());
}

void World::step(FuzzInput& in) {
  const uint8_t b = in.u8();
  const uint32_t k = b >> 7;
  ConsumerRing* r = rings_[k].get();
  const uint32_t op = (b & 0x7f) % 14;
  if (!real_) return;  // every ring is gone: nothing left to do
  if (!r && op != 8) return;  // a step of a ring that is gone
  switch (op) {
    case 0: r->write_anywhere(in); break;
    case 1: r->push_raw_sqe(in); break;
    case 2: r->push_recv_zc(in); break;
    case 3: r->push_cancel(in); break;
    case 4: r->push_nop(in); break;
    case 5: r->move_cq_head(in, *real_->area()); break;
    case 6: r->push_rqe(in, *real_->area()); break;
    case 7: r->move_rq_tail(in); break;
    case 8: datapath_iteration(in); break;
    case 9:
      // Control::wake_ring passes one wakeup per sleep on.
      if (r->dp().claim_wake()) r->dp().sq_wake(now_);
      break;
    case 10: ctrl(*r, in); break;
    case 11: r->toggle_flow(in.u8() % ConsumerRing::kFlows, real_); break;
    case 12: r->move_sq_tail(in); break;
    case 13: close_ring(k); break;
  }
  check_accounting();
}

void World::teardown_and_check() {
  for (uint32_t k = 0; k < kRings; k++) {
    if (!rings_[k]) continue;
    ConsumerRing& r = *rings_[k];
    // Every armed request ends (with a final CQE where the CQ has room).
    r.dp().terminate_requests(-ECANCELED);
    FUZZ_CHECK(r.dp().armed_count() == 0);
    r.reap(*real_->area());
  }
  for (uint32_t k = 0; k < kRings; k++)
    if (rings_[k]) close_ring(k);
  const core::EngineStats st = eng_->stats();
  FUZZ_CHECK(st.free_with_master_set == 0);
  FUZZ_CHECK(st.ifqs_live == 0 && st.ctxs_live == 0);
  FUZZ_CHECK(st.entries_live == 0 && st.boxes_live == 0);
  // Every niov back exactly once.
  FUZZ_CHECK(free_->free_count() == cfg_.niovs);
  FUZZ_CHECK(free_->overflows() == 0);
  eng_.reset();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const Config cfg = read_config(in);
  World w(cfg);
  for (uint32_t i = 0; i < kMaxSteps && !in.done(); i++) w.step(in);
  return 0;
}
