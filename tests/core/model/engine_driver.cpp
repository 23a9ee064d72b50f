// SPDX-License-Identifier: MIT
#include "engine_driver.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

namespace zcrx::model {

namespace u = zcrx::uapi;
using core::Ifq;

AlignedMem::AlignedMem(size_t bytes) : len(bytes) {
  const size_t rounded = (bytes + 4095) & ~size_t{4095};
  p = std::aligned_alloc(4096, rounded == 0 ? 4096 : rounded);
  if (p == nullptr) std::abort();
  std::memset(p, 0, rounded == 0 ? 4096 : rounded);
}

AlignedMem::~AlignedMem() { std::free(p); }

EngineDriver::EngineDriver()
    : provider_(std::make_unique<core::PlainProvider>(Model::kPorts, Model::kQueues)),
      engine_(std::make_unique<core::Engine>(*provider_, *provider_)) {}

// The engine goes first: its destructor tears down what is still live
// through the provider, and reads the areas' memory.
EngineDriver::~EngineDriver() {
  engine_.reset();
  producers_.clear();
  provider_.reset();
}

void EngineDriver::set_entry(int e, Ifq* p) {
  if (entries_.size() <= static_cast<size_t>(e)) {
    entries_.resize(e + 1, nullptr);
    producers_.resize(e + 1);
    corrupt_.resize(e + 1, false);
  }
  entries_[e] = p;
  const RqRegionLayout& l = p->rq_layout();
  producers_[e] = std::make_unique<RqProducer>(rq_producer(p->rq_base(), l.off, l.rq_entries));
}

void EngineDriver::create_ctx() {
  events_.push_back(std::make_unique<CountingEvents>());
  ctxs_.push_back(engine_->create_ctx(events_.back().get()));
}

void EngineDriver::terminate_ctx(int c) { engine_->terminate_ctx(ctxs_[c]); }

core::Mapping EngineDriver::rq_memory(RqMem mode, uint32_t rq_entries) {
  if (mode == RqMem::engine || rq_entries == 0) return {};
  // Our own arithmetic for the size: the ring layout of the rounded count.
  const size_t size = rq_region_layout(round_ring_entries(rq_entries, kMaxRqEntries)).size;
  memory_.push_back(std::make_unique<AlignedMem>(size));
  return {memory_.back()->p, mode == RqMem::too_small ? size - 64 : size};
}

int EngineDriver::register_ifq(int c, const RegSpec& s, int r, int e) {
  const uint32_t buf = s.rx_buf_len == 0 ? 4096 : s.rx_buf_len;
  const size_t len = size_t{s.num_niovs} * buf + s.area_len_extra;
  memory_.push_back(std::make_unique<AlignedMem>(len));
  AlignedMem& mem = *memory_.back();
  const core::Mapping rq_mem = rq_memory(s.rq_mem, s.rq_entries);

  u::io_uring_zcrx_area_reg area{};
  area.addr = reinterpret_cast<uint64_t>(mem.p);
  area.len = len;
  area.flags = s.area_dmabuf ? u::kZcrxAreaDmabuf : 0;
  u::io_uring_zcrx_ifq_reg reg{};
  reg.if_idx = s.port;
  reg.if_rxq = s.rxq;
  reg.rq_entries = s.rq_entries;
  reg.flags = s.flags;
  reg.rx_buf_len = s.rx_buf_len;
  reg.area_ptr = reinterpret_cast<uint64_t>(&area);
  if (s.resv_nonzero) reg.__resv[1] = 1;
  u::zcrx_event_desc ev{};
  ev.user_data = 0x5eed;
  ev.type_mask = s.event_mask | (s.event_bad ? 1u << 7 : 0);
  if (s.event_desc) reg.event_desc = reinterpret_cast<uint64_t>(&ev);

  const size_t mapped = s.area_mem_small ? len - 4096 : len;
  int ret = engine_->register_ifq(ctxs_[c], reg, area, core::Mapping{mem.p, mapped}, rq_mem,
                                  &ev);
  if (ret < 0) return ret;
  Ifq* q = ctxs_[c]->lookup(reg.zcrx_id);
  if (q == nullptr) return -1000;  // reported by the caller as a mismatch
  if (rq_mem.base != nullptr && q->rq_base() != rq_mem.base) return -1001;
  if (reals_.size() <= static_cast<size_t>(r)) {
    reals_.resize(r + 1, nullptr);
    lists_.resize(r + 1, nullptr);
  }
  reals_[r] = q;
  lists_[r] = core::PlainProvider::free_list(*q->area());
  set_entry(e, q);
  return static_cast<int>(reg.zcrx_id);
}

namespace {

u::zcrx_ctrl make_ctrl(const CtrlSpec& s) {
  u::zcrx_ctrl c{};
  c.zcrx_id = s.zcrx_id;
  c.op = s.op;
  if (s.resv_nonzero) c.__resv[1] = 1;
  if (s.op == u::ZCRX_CTRL_ARM_EVENT) c.zc_arm_event.event_type = s.event_type;
  if (s.payload_nonzero) {
    if (s.op == u::ZCRX_CTRL_EXPORT) c.zc_export.__resv1[3] = 1;
    else if (s.op == u::ZCRX_CTRL_ARM_EVENT) c.zc_arm_event.__resv[10] = 1;
    else c.zc_flush.__resv[2] = 1;
  }
  return c;
}

u::io_uring_zcrx_ifq_reg make_share(const ShareSpec& s) {
  u::io_uring_zcrx_ifq_reg reg{};
  reg.if_idx = 7;  // a descriptor number: meaningless to the engine
  reg.flags = s.flags;
  reg.if_rxq = s.if_rxq;
  reg.rq_entries = s.rq_entries;
  reg.area_ptr = s.area_ptr;
  reg.region_ptr = s.region_ptr;
  if (s.resv_nonzero) reg.__resv[0] = 1;
  return reg;
}

}  // namespace

int EngineDriver::export_ifq(int c, const CtrlSpec& s, int b) {
  core::ExportBox* box = nullptr;
  int ret = engine_->export_ifq(ctxs_[c], make_ctrl(s), &box);
  if (ret < 0) return ret;
  if (boxes_.size() <= static_cast<size_t>(b)) boxes_.resize(b + 1, nullptr);
  boxes_[b] = box;
  return ret;
}

void EngineDriver::release_box(int b) {
  engine_->release_box(boxes_[b]);
  boxes_[b] = nullptr;
}

int EngineDriver::import_ifq(int c, const ShareSpec& s, int b, int e, uint32_t rq_entries) {
  u::io_uring_zcrx_ifq_reg reg = make_share(s);
  const core::Mapping rq_mem = rq_memory(s.rq_mem, rq_entries);
  int ret = engine_->import_ifq(ctxs_[c], reg, b == kNone ? nullptr : boxes_[b], rq_mem);
  if (ret < 0) return ret;
  Ifq* q = ctxs_[c]->lookup(reg.zcrx_id);
  if (q == nullptr) return -1000;
  if (rq_mem.base != nullptr && q->rq_base() != rq_mem.base) return -1001;
  set_entry(e, q);
  return static_cast<int>(reg.zcrx_id);
}

int EngineDriver::clone_ifq(int c, const ShareSpec& s, int src, int e, uint32_t rq_entries) {
  u::io_uring_zcrx_ifq_reg reg = make_share(s);
  const core::Mapping rq_mem = rq_memory(s.rq_mem, rq_entries);
  int ret = engine_->clone_ifq(ctxs_[c], reg, src == kNone ? nullptr : ctxs_[src], rq_mem);
  if (ret < 0) return ret;
  Ifq* q = ctxs_[c]->lookup(reg.zcrx_id);
  if (q == nullptr) return -1000;
  if (rq_mem.base != nullptr && q->rq_base() != rq_mem.base) return -1001;
  set_entry(e, q);
  return static_cast<int>(reg.zcrx_id);
}

int EngineDriver::ctrl(int c, const CtrlSpec& s) { return engine_->ctrl(ctxs_[c], make_ctrl(s)); }

uint32_t EngineDriver::alloc(int e, uint32_t* out, uint32_t n) {
  core::FreeList* fl = core::PlainProvider::free_list(*entries_[e]->area());
  return fl->alloc_burst(out, n);
}

uint64_t EngineDriver::deliver(int e, uint32_t idx, uint32_t data_offset) {
  return entries_[e]->deliver(idx, data_offset);
}

void EngineDriver::report_no_buffers(int e) { entries_[e]->report_no_buffers(); }

bool EngineDriver::push_rqe(int e, Rqe rqe) {
  // Our producer view does not re-read the tail it owns: after
  // corrupt_rq() it attaches anew from the indices in memory each time (and
  // refuses while they claim more than the ring holds).
  if (corrupt_[e]) {
    const Ifq* q = entries_[e];
    const RqRegionLayout& l = q->rq_layout();
    producers_[e] = std::make_unique<RqProducer>(rq_producer(q->rq_base(), l.off, l.rq_entries));
  }
  u::io_uring_zcrx_rqe x{};
  x.off = rqe.off;
  x.len = 4096;  // advisory
  x.__pad = rqe.pad;
  return producers_[e]->push(x);
}

uint32_t EngineDriver::refill(int e, uint32_t budget) { return entries_[e]->refill(budget); }

void EngineDriver::corrupt_rq(int e, uint32_t ahead) {
  const Ifq* q = entries_[e];
  const RqRegionLayout& l = q->rq_layout();
  auto* tail = reinterpret_cast<uint32_t*>(static_cast<char*>(q->rq_base()) + l.off.tail);
  // The consumer's own index word; a plain store as a buggy consumer would.
  *tail += ahead;
  corrupt_[e] = true;
}

bool EngineDriver::set_master(int e, int c) {
  return engine_->set_master_ctx(entries_[e], ctxs_[c]);
}

// ---- comparison ---------------------------------------------------------------

namespace {

class Diff {
 public:
  template <class A, class B>
  void eq(const A& engine, const B& model, const std::string& what) {
    if (!out_.str().empty()) return;
    if (static_cast<uint64_t>(engine) == static_cast<uint64_t>(model)) return;
    out_ << what << ": engine " << static_cast<int64_t>(engine) << ", model "
         << static_cast<int64_t>(model);
  }
  void ptr(const void* engine, const void* model, const std::string& what) {
    if (!out_.str().empty() || engine == model) return;
    out_ << what << ": engine " << engine << ", model " << model;
  }
  void fail(const std::string& what) {
    if (out_.str().empty()) out_ << what;
  }
  bool failed() const { return !out_.str().empty(); }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string name(const char* kind, int i) { return std::string(kind) + std::to_string(i); }

}  // namespace

std::string compare(const Model& m, const EngineDriver& d) {
  Diff diff;
  const core::EngineStats es = d.engine().stats();
  const Totals& t = m.totals();
  diff.eq(es.free_with_master_set, t.free_with_master_set, "free_with_master_set");
  diff.eq(es.ctxs_live, t.ctxs_live, "ctxs_live");
  diff.eq(es.ifqs_live, t.ifqs_live, "ifqs_live");
  diff.eq(es.entries_live, t.entries_live, "entries_live");
  diff.eq(es.boxes_live, t.boxes_live, "boxes_live");
  diff.eq(es.niovs_scrubbed, t.niovs_scrubbed, "niovs_scrubbed");
  diff.eq(es.niovs_reclaimed, t.niovs_reclaimed, "niovs_reclaimed");
  // Which objects are alive differs: reading the others could touch freed
  // memory.
  if (diff.failed()) return diff.str();

  auto ctx_ptr = [&](int c) -> const void* { return c == kNone ? nullptr : d.ctx(c); };
  auto real_ptr = [&](int r) -> const void* { return r == kNone ? nullptr : d.real(r); };

  for (int c = 0; c < m.num_ctxs(); c++) {
    const Ctx& mc = m.ctx(c);
    if (mc.freed) continue;
    const core::Ctx* ec = d.ctx(c);
    const std::string n = name("ctx", c);
    diff.eq(ec->refs(), mc.refs, n + " refs");
    diff.eq(ec->terminated(), mc.terminated, n + " terminated");
    if (mc.terminated) continue;
    diff.eq(d.events(c).no_buffers, mc.no_buffer_events, n + " no-buffers events");
    for (uint32_t id = 0; id <= mc.table.size(); id++) {
      const int e = m.lookup(c, id);
      const std::string ni = n + " id" + std::to_string(id);
      diff.ptr(ec->lookup(id), e == kNone ? nullptr : d.entry(e), ni + " lookup");
      diff.ptr(ec->resolve(id), e == kNone ? nullptr : real_ptr(m.entry(e).real),
               ni + " resolve");
    }
  }
  if (diff.failed()) return diff.str();

  for (int e = 0; e < m.num_entries(); e++) {
    const Entry& me = m.entry(e);
    // A real entry lives as long as its real; the others with their ring.
    if (me.kind == Kind::real ? m.real(me.real).freed : me.freed) continue;
    const Ifq* q = d.entry(e);
    const std::string n = name("entry", e) + "(ctx" + std::to_string(me.ctx) + " id" +
                          std::to_string(me.zcrx_id) + ")";
    const core::IfqKind kind = me.kind == Kind::real    ? core::IfqKind::real
                               : me.kind == Kind::proxy ? core::IfqKind::proxy
                                                        : core::IfqKind::import;
    diff.eq(static_cast<int>(q->kind()), static_cast<int>(kind), n + " kind");
    // A real ifq that outlived its ring (imports, boxes) forgets it.
    const bool orphan = me.kind == Kind::real && m.ctx(me.ctx).freed;
    diff.ptr(q->ctx(), orphan ? nullptr : ctx_ptr(me.ctx), n + " ctx");
    diff.eq(q->zcrx_id(), me.zcrx_id, n + " zcrx_id");
    diff.eq(q->live(), me.live, n + " live");
    diff.eq(q->slot() < core::kMaxEntriesPerIfq, me.live, n + " has a slot");
    // A shut-down proxy no longer points at the real ifq it dropped (its
    // reference is gone, the pointer could dangle): it stands for itself.
    const bool points = me.kind != Kind::real && !me.shut;
    diff.ptr(q->proxy(), points ? real_ptr(me.real) : nullptr, n + " proxy");
    diff.ptr(&q->target(), me.shut ? static_cast<const void*>(q) : real_ptr(me.real),
             n + " target");
    const Real& mr = m.real(me.real);
    // A device-less real has no queue: -1 throughout.
    const int32_t rxq = mr.nodev ? -1 : static_cast<int32_t>(mr.rxq);
    if (me.kind == Kind::real) diff.eq(q->if_rxq(), mr.open ? rxq : -1, n + " if_rxq");
    if (me.kind == Kind::proxy) diff.eq(q->if_rxq(), me.shut ? -1 : rxq, n + " if_rxq");
    if (me.kind == Kind::import && !mr.freed)
      diff.eq(q->if_rxq(), mr.open ? rxq : -1, n + " if_rxq");
    if (!mr.freed && (me.kind == Kind::real || !me.shut))
      diff.eq(q->nodev(), mr.nodev, n + " nodev");
    if (me.live) diff.eq(q->rq_layout().rq_entries, me.rq_entries, n + " rq_entries");
    const core::IfqStats s = q->stats();
    diff.eq(s.delivered, me.stats.delivered, n + " delivered");
    diff.eq(s.refilled, me.stats.refilled, n + " refilled");
    diff.eq(s.reclaimed, me.stats.reclaimed, n + " reclaimed");
    diff.eq(s.rqe_bad_token, me.stats.rqe_bad_token, n + " rqe_bad_token");
    diff.eq(s.rqe_bad_index, me.stats.rqe_bad_index, n + " rqe_bad_index");
    diff.eq(s.rqe_no_ref, me.stats.rqe_no_ref, n + " rqe_no_ref");
    diff.eq(s.rqe_wrong_owner, me.stats.rqe_wrong_owner, n + " rqe_wrong_owner");
    diff.eq(s.rq_clamped, me.stats.rq_clamped, n + " rq_clamped");
    if (me.kind == Kind::real) {
      diff.eq(s.scrubbed, mr.scrubbed, n + " scrubbed");
      diff.eq(s.no_buffers, mr.no_buffers, n + " no_buffers");
    }
  }
  if (diff.failed()) return diff.str();

  for (int r = 0; r < m.num_reals(); r++) {
    const Real& mr = m.real(r);
    const core::FreeList* fl = d.free_list(r);
    const std::string n = name("real", r);
    diff.eq(fl->overflows(), 0, n + " free-list overflows");
    diff.eq(fl->free_count(), m.free_count(r), n + " free niovs");
    if (mr.freed) continue;
    const Ifq* q = d.real(r);
    diff.eq(q->refs(), mr.refs, n + " refs");
    diff.eq(q->event_mask(), mr.event_mask, n + " event mask");
    diff.eq(q->events_fired(), mr.fired, n + " events fired");
    diff.eq(q->user_refs(), mr.user_refs, n + " user_refs");
    diff.ptr(q->master_ctx(), ctx_ptr(mr.master), n + " master");
    const core::Area* a = q->area();
    diff.eq(a->num_niovs(), mr.niovs.size(), n + " niovs");
    diff.eq(a->held_by_users(), mr.niovs.size() - m.free_count(r), n + " held");
    for (uint32_t i = 0; i < mr.niovs.size() && !diff.failed(); i++) {
      const Niov& x = mr.niovs[i];
      const std::string ni = n + " niov" + std::to_string(i);
      diff.eq(a->user_refs(i), x.user_refs, ni + " user_refs");
      if (x.user_refs > 0) diff.eq(a->owner_slot(i), d.entry(x.owner)->slot(), ni + " owner");
    }
    // The datapath's view: exactly the model's live entries.
    if (mr.open && !diff.failed()) {
      std::set<const void*> want, got;
      for (int e = 0; e < m.num_entries(); e++)
        if (m.entry(e).real == r && m.entry(e).live) want.insert(d.entry(e));
      for (uint32_t s = 0; s < q->entry_slots(); s++)
        if (Ifq* p = q->entry_at(s)) got.insert(p);
      if (want != got)
        diff.fail(n + " datapath entry table: engine has " + std::to_string(got.size()) +
                  " entries, model " + std::to_string(want.size()) + ", sets differ");
      diff.eq(mr.live_entries, want.size(), n + " model live entries");
    }
  }
  return diff.str();
}

}  // namespace zcrx::model
