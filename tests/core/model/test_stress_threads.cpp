// SPDX-License-Identifier: MIT
// The engine with its three kinds of threads at once, the way zcrxd runs
// it: a control thread racing register / export / release / import /
// clone / terminate (a consumer killed with buffers outstanding) against a
// datapath thread that walks each real ifq's entry snapshot, refills every
// entry's RQ and delivers into it, while consumer threads turn the
// datapath's completions into RQEs (and now and then a bad one).
//
// At the end every ring is terminated and every box released while the
// datapath still runs; then every niov of every area must be back in its
// free list exactly once, nothing may be live, and no ifq may have been
// freed with its master set. Run under ThreadSanitizer (suite tsan), a
// missing order between the threads shows up as a race report.
//
// Duration: ZCRX_STRESS_SECONDS (meson option stress_seconds). Seed:
// ZCRX_SEED (printed).
#include <doctest/doctest.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "engine_driver.h"
#include "zcrx/core/engine.h"
#include "zcrx/core/free_list.h"
#include "zcrx/ring_layout.h"

namespace zcrx::model {
namespace {

namespace u = zcrx::uapi;
using core::Ifq;

constexpr uint32_t kQueues = 4;         // rx queues the rings compete for
constexpr uint32_t kRings = 3;          // live rings at any time
constexpr uint32_t kConsumers = 2;      // consumer threads
constexpr uint32_t kMaxChannels = 6000; // entries created over a run, at most
constexpr uint32_t kNiovs = 32;         // buffers per area
constexpr uint32_t kRqEntries = 64;
constexpr uint32_t kDeliverBurst = 4;

uint64_t env_u64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : def;
}

// Completions of one entry, datapath -> consumer: single producer, single
// consumer, offsets as a CQE carries them.
struct CqRing {
  static constexpr uint32_t kSize = 128;
  alignas(64) std::atomic<uint32_t> head{0};  // consumer writes
  alignas(64) std::atomic<uint32_t> tail{0};  // datapath writes
  uint64_t off[kSize];
};

// Everything one entry's consumer and the datapath share besides the
// engine: the RQ region (handed to the engine), the completion ring, and
// the consumer's producer view of the RQ. Channels are never freed before
// the threads are joined, so a consumer may still write into the RQ of an
// entry that went away (as a killed process's memory may linger); the
// engine no longer reads it.
struct Channel {
  std::unique_ptr<AlignedMem> mem;  // RQ region, then a back pointer
  RqRegionLayout layout;
  CqRing cq;
  RqProducer rq;                      // consumer only
  std::vector<uint64_t> held;         // consumer only: buffers not yet returned
  std::atomic<bool> retired{false};   // its ring was terminated
  uint32_t consumer = 0;
};

// The datapath finds an entry's channel behind its RQ region.
Channel* channel_of(const Ifq& e) {
  Channel* ch;
  std::memcpy(&ch, static_cast<const char*>(e.rq_base()) + e.rq_layout().size, sizeof ch);
  return ch;
}

class AtomicEvents final : public core::CtxEvents {
 public:
  bool on_event(Ifq&, uint64_t, uint32_t) override {
    // relaxed: a statistic read after the threads are joined.
    count.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::atomic<uint64_t> count{0};
};

// The PlainProvider, plus what zcrxd's lcore has: the set of queues it
// serves. A queue is published when bound and unpublished, then the
// datapath is waited for, before it is unbound.
class ServingBinder final : public core::QueueBinder {
 public:
  explicit ServingBinder(core::PlainProvider& p) : p_(p) {}
  int open_queue(Ifq& ifq, uint32_t port, uint32_t rxq) override {
    const int ret = p_.open_queue(ifq, port, rxq);
    // release: the ifq (its area, its free list, its snapshot) is set up
    // before the datapath can load it.
    if (ret == 0) served[rxq].store(&ifq, std::memory_order_release);
    return ret;
  }
  void close_queue(Ifq& ifq) override {
    for (auto& s : served)
      // relaxed: unpublishing; the wait below orders the datapath's last
      // use before our return.
      if (s.load(std::memory_order_relaxed) == &ifq) s.store(nullptr, std::memory_order_seq_cst);
    p_.close_queue(ifq);  // waits for a quiescent point
  }
  void synchronize(Ifq& real) override { p_.synchronize(real); }

  std::atomic<Ifq*> served[kQueues] = {};

 private:
  core::PlainProvider& p_;
};

struct Ring {
  core::Ctx* ctx = nullptr;
  std::vector<uint32_t> ids;
  std::vector<Channel*> channels;
};

class Stress {
 public:
  Stress(uint64_t seed, double seconds)
      : seed_(seed), seconds_(seconds), binder_(provider_), engine_(binder_, provider_),
        area_mem_(size_t{kNiovs} * 4096) {}

  void run() {
    for (uint32_t i = 0; i < kRings; i++) rings_.push_back(new_ring());
    std::thread dp([&] { datapath(); });
    std::vector<std::thread> consumers;
    for (uint32_t i = 0; i < kConsumers; i++) consumers.emplace_back([this, i] { consume(i); });

    control();
    // Tear everything down with the datapath still running.
    for (Ring& r : rings_) terminate(r);
    for (core::ExportBox* b : boxes_) engine_.release_box(b);
    boxes_.clear();

    // relaxed: plain stop flags; join() orders everything after.
    stop_consumers_.store(true, std::memory_order_relaxed);
    for (auto& t : consumers) t.join();
    stop_datapath_.store(true, std::memory_order_relaxed);
    dp.join();
  }

  void check() {
    const core::EngineStats s = engine_.stats();
    std::printf("stress seed %llu: %llu control ops (%llu failed with -EBUSY), %zu areas, "
                "%u entries; delivered %llu, refilled %llu, no-buffers %llu, scrubbed %llu, "
                "reclaimed %llu, bad RQEs written %llu\n",
                static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(ops_),
                static_cast<unsigned long long>(busy_), lists_.size(), nchannels_,
                static_cast<unsigned long long>(delivered_),
                static_cast<unsigned long long>(refilled_),
                static_cast<unsigned long long>(no_buffers_),
                static_cast<unsigned long long>(s.niovs_scrubbed),
                static_cast<unsigned long long>(s.niovs_reclaimed),
                static_cast<unsigned long long>(bad_rqes_.load(std::memory_order_relaxed)));
    INFO("seed " << seed_ << " (replay with ZCRX_SEED=" << seed_ << ")");
    CHECK(unexpected_ == 0);
    CHECK(double_held_ == 0);
    // Every buffer delivered came back exactly one way: through an RQ, by
    // scrub (last user gone) or because its entry went away.
    CHECK(delivered_ == refilled_ + s.niovs_scrubbed + s.niovs_reclaimed);
    CHECK(s.free_with_master_set == 0);
    // Every successful re-arm cleared a bit one posted event set; no
    // event without a no-buffers report.
    uint64_t events = 0;
    for (const auto& e : events_) events += e->count.load(std::memory_order_relaxed);
    std::printf("stress: %llu events posted, %llu re-arms\n",
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(arms_ok_));
    CHECK(events >= arms_ok_);
    CHECK(events <= no_buffers_);
    CHECK(s.ctxs_live == 0);
    CHECK(s.ifqs_live == 0);
    CHECK(s.entries_live == 0);
    CHECK(s.boxes_live == 0);
    // Each niov of each area back in its free list exactly once.
    for (core::FreeList* fl : lists_) {
      CHECK(fl->overflows() == 0);
      REQUIRE(fl->free_count() == fl->capacity());
      std::vector<uint32_t> all(fl->capacity() + 1);
      const uint32_t n = fl->alloc_burst(all.data(), fl->capacity() + 1);
      CHECK(n == fl->capacity());
      std::vector<bool> seen(fl->capacity(), false);
      uint32_t dups = 0;
      for (uint32_t i = 0; i < n; i++) {
        if (all[i] >= fl->capacity() || seen[all[i]]) dups++;
        else seen[all[i]] = true;
      }
      CHECK(dups == 0);
    }
    // The run did what it is for.
    CHECK(delivered_ > 0);
    CHECK(refilled_ > 0);
    CHECK(s.niovs_reclaimed + s.niovs_scrubbed > 0);
  }

 private:
  // ---- control thread ----

  Ring new_ring() {
    events_.push_back(std::make_unique<AtomicEvents>());
    Ring r;
    r.ctx = engine_.create_ctx(events_.back().get());
    return r;
  }

  // A channel for an entry whose RQ has `layout`; nullptr when the run
  // used them all.
  Channel* new_channel(const RqRegionLayout& layout) {
    if (nchannels_ == kMaxChannels) return nullptr;
    auto ch = std::make_unique<Channel>();
    ch->layout = layout;
    ch->mem = std::make_unique<AlignedMem>(layout.size + sizeof(Channel*));
    Channel* raw = ch.get();
    std::memcpy(static_cast<char*>(ch->mem->p) + layout.size, &raw, sizeof raw);
    ch->rq = rq_producer(ch->mem->p, layout.off, layout.rq_entries);
    channels_.push_back(std::move(ch));
    return raw;
  }

  // Hands a channel whose entry now exists to its consumer.
  void publish(Ring& r, Channel* ch, uint32_t id) {
    ch->consumer = nchannels_ % kConsumers;
    r.ids.push_back(id);
    r.channels.push_back(ch);
    // release: the channel (RQ view, back pointer) is complete before a
    // consumer loads it through nchannels.
    slots_[nchannels_].store(ch, std::memory_order_relaxed);
    nchannels_++;
    published_.store(nchannels_, std::memory_order_release);
  }

  void expect(int ret) {
    if (ret == -EBUSY) busy_++;
    else if (ret != 0) {
      unexpected_++;
      std::printf("stress: unexpected result %d\n", ret);
    }
  }

  void terminate(Ring& r) {
    engine_.terminate_ctx(r.ctx);
    // The ring's entries are gone and the datapath quiesced: its consumer
    // stops (as a killed process would).
    for (Channel* ch : r.channels) ch->retired.store(true, std::memory_order_release);
    r = Ring{};
  }

  void op_register(std::mt19937_64& g, Ring& r) {
    const uint32_t rxq = static_cast<uint32_t>(g() % kQueues);
    if (provider_.bound(0, rxq)) return;
    u::io_uring_zcrx_area_reg area{};
    area.addr = reinterpret_cast<uint64_t>(area_mem_.p);
    area.len = area_mem_.len;
    u::io_uring_zcrx_ifq_reg reg{};
    reg.if_idx = 0;
    reg.if_rxq = rxq;
    reg.rq_entries = kRqEntries;
    reg.area_ptr = reinterpret_cast<uint64_t>(&area);
    // Mostly with the no-buffers event, so the datapath's event path races
    // with master clearing and re-arming; one in four without a
    // descriptor (the ring is the master all the same, seed 000, and
    // nothing is posted).
    u::zcrx_event_desc ev{};
    ev.user_data = rxq;
    ev.type_mask = 1u << u::ZCRX_EVENT_ALLOC_FAIL;
    if (g() % 4 != 0) reg.event_desc = reinterpret_cast<uint64_t>(&ev);
    RqRegionLayout layout;
    if (engine_.check_ifq_reg(reg, area, &layout, &ev) != 0) return unexpected(__LINE__);
    Channel* ch = new_channel(layout);
    if (ch == nullptr) return;
    // Every area is the same memory: nothing here reads or writes payload
    // bytes, and the engine only keeps the bounds.
    const int ret = engine_.register_ifq(r.ctx, reg, area, {area_mem_.p, area_mem_.len},
                                         {ch->mem->p, layout.size}, &ev);
    expect(ret < 0 ? ret : 0);
    if (ret < 0) return;
    Ifq* q = r.ctx->lookup(reg.zcrx_id);
    if (q == nullptr || q->rq_base() != ch->mem->p) return unexpected(__LINE__);
    if (q->master_ctx() != r.ctx) return unexpected(__LINE__);
    lists_.push_back(core::PlainProvider::free_list(*q->area()));
    publish(r, ch, reg.zcrx_id);
  }

  void op_export(std::mt19937_64& g, Ring& r) {
    if (r.ids.empty() || boxes_.size() >= 4) return;
    u::zcrx_ctrl c{};
    c.zcrx_id = r.ids[g() % r.ids.size()];
    c.op = u::ZCRX_CTRL_EXPORT;
    core::ExportBox* box = nullptr;
    const int ret = engine_.export_ifq(r.ctx, c, &box);
    expect(ret);
    if (ret == 0) boxes_.push_back(box);
  }

  // ZCRX_CTRL_ARM_EVENT from any ring holding the ifq: 0 after an event
  // fired, -EINVAL while it is armed.
  void op_arm(std::mt19937_64& g, Ring& r) {
    if (r.ids.empty()) return;
    u::zcrx_ctrl c{};
    c.zcrx_id = r.ids[g() % r.ids.size()];
    c.op = u::ZCRX_CTRL_ARM_EVENT;
    c.zc_arm_event.event_type = u::ZCRX_EVENT_ALLOC_FAIL;
    const int ret = engine_.ctrl(r.ctx, c);
    if (ret == 0) arms_ok_++;
    else if (ret != -EINVAL && ret != -ENXIO) expect(ret);  // -ENXIO: a shut clone
  }

  void op_release(std::mt19937_64& g) {
    if (boxes_.empty()) return;
    const size_t i = g() % boxes_.size();
    engine_.release_box(boxes_[i]);
    boxes_.erase(boxes_.begin() + static_cast<long>(i));
  }

  void op_import(std::mt19937_64& g, Ring& r) {
    if (boxes_.empty()) return;
    core::ExportBox* box = boxes_[g() % boxes_.size()];
    RqRegionLayout layout;
    if (engine_.import_rq_layout(box, &layout) != 0) return unexpected(__LINE__);
    Channel* ch = new_channel(layout);
    if (ch == nullptr) return;
    u::io_uring_zcrx_ifq_reg reg{};
    reg.flags = u::kZcrxRegImport;
    const int ret = engine_.import_ifq(r.ctx, reg, box, {ch->mem->p, layout.size});
    expect(ret < 0 ? ret : 0);
    if (ret >= 0) publish(r, ch, reg.zcrx_id);
  }

  void op_clone(std::mt19937_64& g, Ring& r, Ring& src) {
    if (src.ids.empty() || &src == &r) return;
    const uint32_t src_id = src.ids[g() % src.ids.size()];
    RqRegionLayout layout;
    if (engine_.clone_rq_layout(r.ctx, src.ctx, src_id, &layout) != 0)
      return unexpected(__LINE__);
    Channel* ch = new_channel(layout);
    if (ch == nullptr) return;
    u::io_uring_zcrx_ifq_reg reg{};
    reg.flags = u::kZcrxIfqRegClone;
    reg.if_rxq = src_id;
    const int ret = engine_.clone_ifq(r.ctx, reg, src.ctx, {ch->mem->p, layout.size});
    expect(ret < 0 ? ret : 0);
    if (ret >= 0) publish(r, ch, reg.zcrx_id);
  }

  void unexpected(int line) {
    unexpected_++;
    std::printf("stress: unexpected state at line %d\n", line);
  }

  void control() {
    std::mt19937_64 g(seed_);
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::microseconds(static_cast<int64_t>(seconds_ * 1e6));
    while (std::chrono::steady_clock::now() < end) {
      Ring& r = rings_[g() % kRings];
      const uint32_t w = static_cast<uint32_t>(g() % 100);
      if (w < 20) op_register(g, r);
      else if (w < 35) op_export(g, r);
      else if (w < 45) op_release(g);
      else if (w < 65) op_import(g, r);
      else if (w < 80) op_clone(g, r, rings_[g() % kRings]);
      else if (w < 85) op_arm(g, r);
      else {
        terminate(r);
        r = new_ring();
      }
      ops_++;
      // Let the datapath and the consumers run between control steps.
      if (g() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(g() % 200));
      else std::this_thread::yield();
    }
  }

  // ---- datapath thread ----

  void datapath() {
    core::QuiescentEpoch& epoch = provider_.epoch();
    epoch.set_running(true);
    uint32_t idx[kDeliverBurst];
    uint64_t delivered = 0, refilled = 0, no_buffers = 0, double_held = 0;
    uint32_t data_off = 0;
    // relaxed: a stop flag; what the control thread did before setting it
    // is ordered by join().
    while (!stop_datapath_.load(std::memory_order_relaxed)) {
      for (auto& s : binder_.served) {
        // acquire: pairs with open_queue's release.
        Ifq* real = s.load(std::memory_order_acquire);
        if (real == nullptr) continue;
        core::FreeList* fl = core::PlainProvider::free_list(*real->area());
        const uint32_t slots = real->entry_slots();
        for (uint32_t i = 0; i < slots; i++) {
          Ifq* e = real->entry_at(i);
          if (e == nullptr) continue;
          refilled += e->refill(64);
          Channel* ch = channel_of(*e);
          CqRing& cq = ch->cq;
          // relaxed: our own index. acquire: the consumer's reads of the
          // slots it released are done before we overwrite them.
          const uint32_t tail = cq.tail.load(std::memory_order_relaxed);
          const uint32_t room = CqRing::kSize - (tail - cq.head.load(std::memory_order_acquire));
          const uint32_t want = std::min(room, kDeliverBurst);
          const uint32_t got = fl->alloc_burst(idx, want);
          for (uint32_t k = 0; k < got; k++) {
            data_off = (data_off + 64) & 4095;
            cq.off[(tail + k) % CqRing::kSize] = e->deliver(idx[k], data_off);
            // A niov the free list handed out must have had no user: one
            // reference now, or it was in two places at once.
            if (real->area()->user_refs(idx[k]) != 1) double_held++;
          }
          // release: the offsets are written before the consumer sees them.
          cq.tail.store(tail + got, std::memory_order_release);
          delivered += got;
          if (got < want) {
            e->report_no_buffers();
            no_buffers++;
          }
        }
      }
      epoch.quiescent();
    }
    epoch.set_running(false);
    delivered_ = delivered;
    refilled_ = refilled;
    no_buffers_ = no_buffers;
    double_held_ = double_held;
  }

  // ---- consumer threads ----

  void consume(uint32_t me) {
    std::mt19937_64 g(seed_ * 31 + me + 1);
    std::vector<Channel*> mine;
    uint32_t seen = 0;
    uint64_t bad = 0;
    // relaxed: a stop flag.
    while (!stop_consumers_.load(std::memory_order_relaxed)) {
      // acquire: pairs with publish's release.
      const uint32_t n = published_.load(std::memory_order_acquire);
      for (; seen < n; seen++) {
        Channel* ch = slots_[seen].load(std::memory_order_relaxed);
        if (ch->consumer == me) mine.push_back(ch);
      }
      for (size_t i = 0; i < mine.size();) {
        Channel* ch = mine[i];
        // acquire: pairs with terminate's release (nothing else to order;
        // the flag only says stop).
        if (ch->retired.load(std::memory_order_acquire)) {
          mine[i] = mine.back();
          mine.pop_back();
          continue;
        }
        serve(g, *ch, bad);
        i++;
      }
      sched_yield();
    }
    // relaxed: summed after join.
    bad_rqes_.fetch_add(bad, std::memory_order_relaxed);
  }

  // Reap completions, keep some buffers a while, return the others.
  void serve(std::mt19937_64& g, Channel& ch, uint64_t& bad) {
    CqRing& cq = ch.cq;
    // acquire: pairs with the datapath's release of tail.
    const uint32_t tail = cq.tail.load(std::memory_order_acquire);
    uint32_t head = cq.head.load(std::memory_order_relaxed);  // our own index
    for (; head != tail; head++) ch.held.push_back(cq.off[head % CqRing::kSize]);
    // release: our reads of the slots are done before the datapath reuses them.
    cq.head.store(head, std::memory_order_release);

    if (g() % 4 == 0) return;  // hold everything for now
    while (!ch.held.empty()) {
      u::io_uring_zcrx_rqe rqe{};
      rqe.len = 4096;
      const uint32_t w = static_cast<uint32_t>(g() % 64);
      if (w == 0) {
        rqe.off = (uint64_t{1} << u::kZcrxAreaShift) | ch.held.back();  // another area
        bad++;
      } else if (w == 1) {
        rqe.off = uint64_t{kNiovs + 5} << 12;  // past the area
        bad++;
      } else {
        rqe.off = ch.held.back();
      }
      if (!ch.rq.push(rqe)) break;  // RQ full: the rest next time
      if (w > 1) ch.held.pop_back();
    }
  }

  uint64_t seed_;
  double seconds_;
  core::PlainProvider provider_;
  ServingBinder binder_;
  core::Engine engine_;
  AlignedMem area_mem_;

  // Control thread.
  std::vector<Ring> rings_;
  std::vector<core::ExportBox*> boxes_;
  std::vector<std::unique_ptr<AtomicEvents>> events_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<core::FreeList*> lists_;
  uint32_t nchannels_ = 0;
  uint64_t ops_ = 0, busy_ = 0, unexpected_ = 0;

  // Shared.
  std::atomic<Channel*> slots_[kMaxChannels] = {};
  std::atomic<uint32_t> published_{0};
  std::atomic<bool> stop_consumers_{false};
  std::atomic<bool> stop_datapath_{false};
  std::atomic<uint64_t> bad_rqes_{0};  // consumers add before they are joined

  // Written by their thread before it is joined.
  uint64_t delivered_ = 0, refilled_ = 0, no_buffers_ = 0, double_held_ = 0;
  uint64_t arms_ok_ = 0;  // control thread only
};

}  // namespace

TEST_CASE("stress: control races datapath and consumers; every niov back exactly once") {
  const uint64_t seed =
      env_u64("ZCRX_SEED", static_cast<uint64_t>(
                               std::chrono::steady_clock::now().time_since_epoch().count()));
  const double seconds = static_cast<double>(env_u64("ZCRX_STRESS_SECONDS", 2));
  Stress s(seed, seconds);
  s.run();
  s.check();
}

}  // namespace zcrx::model
