// SPDX-License-Identifier: MIT
// Randomized sequences run against the engine and the reference model at
// once: create/terminate rings, register (valid and invalid), export,
// release boxes, import and clone (with their error cases), deliver,
// exhaust the area, write good and bad RQEs and refill, zcrx_ctrl. After
// every operation every result (id or errno) and every count is compared;
// every sequence ends by terminating all rings and releasing all boxes,
// after which every niov must be free exactly once and nothing be live.
//
// Reproducible: sequence k runs with seed ZCRX_SEED_BASE + k (default base
// 1, ZCRX_SEQUENCES sequences, default 2000). A failure prints its seed;
// ZCRX_SEED=<seed> replays that one sequence alone (ZCRX_VERBOSE=1 prints
// each operation).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine_driver.h"
#include "model.h"

namespace zcrx::model {
namespace {

uint64_t env_u64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : def;
}

// How often each operation outcome and each accounting path was taken over
// the whole run: printed at the end and checked, so a generator change that
// stops reaching a rule makes the test fail instead of passing vacuously.
std::map<std::string, uint64_t>& tally() {
  static std::map<std::string, uint64_t> t;
  return t;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  /// Uniform in [0, n) (n > 0); modulo keeps it identical on every platform.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(g_() % n); }
  /// True with probability pct/100.
  bool pct(uint32_t p) { return below(100) < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(static_cast<uint32_t>(v.size()))]; }

 private:
  std::mt19937_64 g_;
};

class Sequence {
 public:
  Sequence(uint64_t seed, bool verbose) : seed_(seed), rng_(seed), verbose_(verbose) {}

  /// Runs the sequence; returns "" or what went wrong.
  std::string run() {
    const uint32_t initial = 2 + rng_.below(3);
    for (uint32_t i = 0; i < initial; i++) create_ctx();
    const uint32_t ops = 20 + rng_.below(100);
    for (step_ = 0; step_ < ops && failure_.empty(); step_++) {
      one_op();
      check();
    }
    if (failure_.empty()) {
      if (rng_.pct(10)) abandon();
      else finish();
    }
    return failure_;
  }

 private:
  // ---- choosing objects ----

  std::vector<int> open_ctxs() const {
    std::vector<int> v;
    for (int c = 0; c < m_.num_ctxs(); c++)
      if (!m_.ctx(c).terminated) v.push_back(c);
    return v;
  }
  std::vector<int> unreleased_boxes() const {
    std::vector<int> v;
    for (int b = 0; b < m_.num_boxes(); b++)
      if (!m_.box(b).released) v.push_back(b);
    return v;
  }
  // Entries the datapath may use: live, in a live ring.
  std::vector<int> live_entries() const {
    std::vector<int> v;
    for (int e = 0; e < m_.num_entries(); e++)
      if (m_.entry(e).live && !m_.ctx(m_.entry(e).ctx).terminated) v.push_back(e);
    return v;
  }
  uint32_t some_id(int c) {
    const uint32_t n = static_cast<uint32_t>(m_.ctx(c).table.size());
    if (n == 0 || rng_.pct(10)) return n + rng_.below(3);  // usually no such id
    return rng_.below(n);
  }

  void note(const std::string& s) {
    if (verbose_) std::printf("seed %llu op %u: %s\n", static_cast<unsigned long long>(seed_), step_, s.c_str());
    last_op_ = s;
  }
  void expect_eq(int engine, int model, const char* what) {
    tally()[std::string(what) + (model < 0 ? " " + std::to_string(model) : " ok")]++;
    if (engine == model || !failure_.empty()) return;
    std::ostringstream o;
    o << what << " returned " << engine << ", model " << model;
    failure_ = o.str();
  }

  // ---- operations ----

  void one_op() {
    const uint32_t w = rng_.below(100);
    if (w < 4) return create_ctx();
    if (w < 8) return terminate_ctx();
    if (w < 20) return register_ifq();
    if (w < 27) return export_ifq();
    if (w < 31) return release_box();
    if (w < 39) return import_ifq();
    if (w < 48) return clone_ifq();
    if (w < 70) return deliver();
    if (w < 94) return refill();
    if (w < 97) return ctrl();
    if (w < 98) return fill_ids();
    if (rng_.pct(50)) return set_master();
    return corrupt_rq();
  }

  void create_ctx() {
    note("create_ctx -> ctx" + std::to_string(m_.num_ctxs()));
    m_.create_ctx();
    d_.create_ctx();
  }

  void terminate_ctx() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    note("terminate ctx" + std::to_string(c));
    m_.terminate_ctx(c);
    d_.terminate_ctx(c);
  }

  void register_ifq() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    RegSpec s;
    s.port = rng_.pct(5) ? 1 : 0;  // port 1 does not exist
    s.rxq = rng_.pct(3) ? Model::kQueues + rng_.below(4) : rng_.below(6);
    s.rq_entries = 1 + rng_.below(200);
    if (rng_.pct(2)) s.rq_entries = 40000;  // capped
    const uint32_t lens[] = {0, 4096, 8192};
    s.rx_buf_len = lens[rng_.below(3)];
    s.num_niovs = 2 + rng_.below(24);
    s.rq_mem = rng_.pct(40) ? RqMem::caller : RqMem::engine;
    // Mostly with the no-buffers event, some with an empty mask or no
    // descriptor (the ring is the master in every case; nothing is posted
    // without the ALLOC_FAIL bit).
    s.event_desc = !rng_.pct(20);
    s.event_mask = rng_.pct(85) ? 1u | (rng_.pct(50) ? 2u : 0u) : 0u;
    if (rng_.pct(20)) {  // one invalid field
      switch (rng_.below(11)) {
        case 10: s.event_desc = true; s.event_bad = true; break;
        case 8: s.area_mem_small = true; break;
        case 9: s.rq_mem = RqMem::too_small; break;
        case 0:  // ZCRX_REG_NODEV: valid without a device or queue
          s.flags = 2;
          if (rng_.pct(60)) s.port = s.rxq = 0;
          break;
        case 1: s.resv_nonzero = true; break;
        case 2: s.rx_buf_len = rng_.pct(50) ? 2048 : 6000; break;
        case 3: s.rq_entries = 0; break;
        case 4: s.area_len_extra = 100; break;
        case 5: s.rx_buf_len = 8192; s.area_len_extra = 4096; break;
        case 6: s.area_dmabuf = true; break;
        case 7: s.num_niovs = 0; break;
      }
    }
    int r = kNone;
    const int want = m_.register_ifq(c, s, &r);
    std::ostringstream o;
    o << "register ctx" << c << " port " << s.port << " rxq " << s.rxq << " rq " << s.rq_entries
      << " buf " << s.rx_buf_len << " niovs " << s.num_niovs << " extra " << s.area_len_extra
      << " flags " << s.flags << (s.resv_nonzero ? " resv" : "") << (s.area_dmabuf ? " dmabuf" : "")
      << (s.event_desc ? " events " + std::to_string(s.event_mask) : "")
      << (s.event_bad ? " bad-event" : "")
      << " -> " << want << (r != kNone ? " real" + std::to_string(r) : "");
    note(o.str());
    const int got = d_.register_ifq(c, s, r, r == kNone ? kNone : m_.real(r).entry);
    expect_eq(got, want, "register_ifq");
    if (want >= 0 && s.flags == 2) tally()["register_ifq nodev ok"]++;
  }

  CtrlSpec ctrl_spec(int c, uint32_t op) {
    CtrlSpec s;
    s.zcrx_id = some_id(c);
    s.op = op;
    if (rng_.pct(8)) s.resv_nonzero = true;
    if (rng_.pct(8)) s.payload_nonzero = true;
    return s;
  }

  void export_ifq() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    CtrlSpec s = ctrl_spec(c, rng_.pct(5) ? 0 : 1);
    int b = kNone;
    const int want = m_.export_ifq(c, s, &b);
    note("export ctx" + std::to_string(c) + " id" + std::to_string(s.zcrx_id) + " op " +
         std::to_string(s.op) + (s.resv_nonzero ? " resv" : "") +
         (s.payload_nonzero ? " payload" : "") + " -> " + std::to_string(want) +
         (b != kNone ? " box" + std::to_string(b) : ""));
    expect_eq(d_.export_ifq(c, s, b), want, "export_ifq");
  }

  void release_box() {
    std::vector<int> v = unreleased_boxes();
    if (v.empty()) return export_ifq();
    const int b = rng_.pick(v);
    note("release box" + std::to_string(b));
    m_.release_box(b);
    d_.release_box(b);
  }

  ShareSpec share_spec(bool import) {
    ShareSpec s;
    const uint32_t mem = rng_.below(100);
    s.rq_mem = mem < 40 ? RqMem::caller : mem < 45 ? RqMem::too_small : RqMem::engine;
    if (rng_.pct(15)) {
      switch (rng_.below(import ? 6 : 2)) {
        case 0: s.resv_nonzero = true; break;
        case 1: s.flags = 3; break;
        case 2: s.if_rxq = 1; break;
        case 3: s.rq_entries = 64; break;
        case 4: s.area_ptr = 0x1000; break;
        case 5: s.region_ptr = 0x1000; break;
      }
    }
    return s;
  }

  void import_ifq() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    std::vector<int> boxes = unreleased_boxes();
    const int b = boxes.empty() || rng_.pct(8) ? kNone : rng_.pick(boxes);
    ShareSpec s = share_spec(true);
    const uint32_t rq = b == kNone ? 64 : m_.real(m_.box(b).real).rq_entries;
    const int want = m_.import_ifq(c, s, b);
    note("import box" + std::to_string(b) + " into ctx" + std::to_string(c) + " rq mem " +
         std::to_string(static_cast<int>(s.rq_mem)) + " -> " + std::to_string(want));
    expect_eq(d_.import_ifq(c, s, b, want >= 0 ? m_.num_entries() - 1 : kNone, rq), want,
              "import_ifq");
  }

  void clone_ifq() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    // Source: usually another live ring; sometimes this ring, none, or a
    // terminated ring some proxy still keeps alive.
    std::vector<int> others, dead_alive;
    for (int x = 0; x < m_.num_ctxs(); x++) {
      if (x == c || m_.ctx(x).freed) continue;
      (m_.ctx(x).terminated ? dead_alive : others).push_back(x);
    }
    int src;
    const uint32_t w = rng_.below(100);
    if (w < 8) src = c;
    else if (w < 13) src = kNone;
    else if (w < 20 && !dead_alive.empty()) src = rng_.pick(dead_alive);
    else if (!others.empty()) src = rng_.pick(others);
    else src = c;
    ShareSpec s = share_spec(false);
    s.if_rxq = src == kNone ? 0 : some_id(src);
    const int se = src == kNone ? kNone : m_.lookup(src, s.if_rxq);
    const uint32_t rq = se == kNone ? 64 : m_.real(m_.entry(se).real).rq_entries;
    const int want = m_.clone_ifq(c, s, src);
    note("clone ctx" + std::to_string(src) + " id" + std::to_string(s.if_rxq) + " into ctx" +
         std::to_string(c) + (s.resv_nonzero ? " resv" : "") + " flags " +
         std::to_string(s.flags) + " -> " + std::to_string(want));
    expect_eq(d_.clone_ifq(c, s, src, want >= 0 ? m_.num_entries() - 1 : kNone, rq), want,
              "clone_ifq");
    if (want >= 0 && m_.entry(se).kind == Kind::proxy) tally()["clone of a clone ok"]++;
    if (want >= 0 && m_.entry(se).kind != Kind::real) {
      // The new proxy pins the ring owning the real, not the source ring.
      const int owner = m_.entry(m_.real(m_.entry(se).real).entry).ctx;
      if (owner != src) tally()["clone pins the owner, not the source"]++;
    }
  }

  void deliver() {
    std::vector<int> v = live_entries();
    if (v.empty()) return register_ifq();
    const int e = rng_.pick(v);
    const int r = m_.entry(e).real;
    const uint32_t want = 1 + rng_.below(8);
    uint32_t idx[8];
    const uint32_t got = d_.alloc(e, idx, want);
    const uint32_t expect = std::min(want, m_.free_count(r));
    note("deliver " + std::to_string(want) + " to entry" + std::to_string(e) + " (real" +
         std::to_string(r) + ", free " + std::to_string(m_.free_count(r)) + ")");
    expect_eq(static_cast<int>(got), static_cast<int>(expect), "free-list alloc_burst");
    const uint32_t shift = m_.real(r).niov_shift;
    for (uint32_t i = 0; i < got && failure_.empty(); i++) {
      if (!m_.niov_free(r, idx[i])) {
        failure_ = "free list handed out niov " + std::to_string(idx[i]) +
                   " which the model says is held";
        return;
      }
      const uint32_t data_off = rng_.below(1u << shift);
      const uint64_t off = d_.deliver(e, idx[i], data_off);
      delivered_++;
      m_.deliver(e, idx[i]);
      const uint64_t want_off = (uint64_t{idx[i]} << shift) + data_off;  // token 0
      if (off != want_off) failure_ = "deliver returned off " + std::to_string(off) + ", want " +
                                      std::to_string(want_off);
    }
    for (uint32_t i = got; i < want; i++) {
      m_.report_no_buffers(e);
      d_.report_no_buffers(e);
    }
  }

  // An RQE of one of the kinds a consumer may write, good or bad.
  Rqe make_rqe(int e) {
    const Entry& en = m_.entry(e);
    const Real& q = m_.real(en.real);
    const uint32_t n = static_cast<uint32_t>(q.niovs.size());
    std::vector<uint32_t> mine, others;
    for (uint32_t i = 0; i < n; i++) {
      if (q.niovs[i].user_refs == 0) continue;
      (q.niovs[i].owner == e ? mine : others).push_back(i);
    }
    Rqe x;
    const uint32_t within = rng_.below(1u << q.niov_shift);
    const uint32_t w = rng_.below(100);
    uint32_t idx;
    if (w < 60 && !mine.empty()) idx = rng_.pick(mine);
    else if (w < 70 && !others.empty()) idx = rng_.pick(others);  // wrong owner
    else if (w < 80) idx = rng_.below(n);                           // often free: no ref
    else if (w < 88) idx = n + rng_.below(1000);                    // out of range
    else if (w < 95) {                                              // another area's token
      x.off = (uint64_t{1 + rng_.below(3)} << kTokenShift) | (uint64_t{rng_.below(n)} << q.niov_shift);
      return x;
    } else {
      x.off = uint64_t{rng_.below(n)} << q.niov_shift;
      x.pad = 1 + rng_.below(5);
      return x;
    }
    x.off = (uint64_t{idx} << q.niov_shift) + within;
    return x;
  }

  void refill() {
    std::vector<int> v = live_entries();
    if (v.empty()) return register_ifq();
    const int e = rng_.pick(v);
    const uint32_t k = rng_.below(9);
    for (uint32_t i = 0; i < k && failure_.empty(); i++) {
      const Rqe x = make_rqe(e);
      const bool want = m_.push_rqe(e, x);
      expect_eq(d_.push_rqe(e, x), want, "RQ push");
    }
    if (rng_.pct(15)) {
      note("write " + std::to_string(k) + " RQEs to entry" + std::to_string(e));
      return;  // left for a later refill
    }
    const uint32_t budget = 1 + rng_.below(16);
    const uint32_t want = m_.refill(e, budget);
    note("write " + std::to_string(k) + " RQEs, refill entry" + std::to_string(e) + " budget " +
         std::to_string(budget) + " -> " + std::to_string(want));
    const uint32_t got = d_.refill(e, budget);
    refilled_ += got;
    expect_eq(static_cast<int>(got), static_cast<int>(want), "refill");
  }

  // Imports one box into one ring until its zcrx ids run out (-EBUSY):
  // the error path of seed 000, which unregisters with the importing ring
  // and so clears the master when that ring is the master.
  void fill_ids() {
    std::vector<int> v = open_ctxs();
    std::vector<int> boxes = unreleased_boxes();
    if (v.empty() || boxes.empty()) return export_ifq();
    const int b = rng_.pick(boxes);
    // Prefer the master of the box's real, to reach the master-clearing path.
    const int master = m_.real(m_.box(b).real).master;
    const int c = master != kNone && rng_.pct(70) ? master : rng_.pick(v);
    note("fill ctx" + std::to_string(c) + " with imports of box" + std::to_string(b));
    for (uint32_t i = 0; i < kMaxIds + 2 && failure_.empty(); i++) {
      const bool was_master = m_.real(m_.box(b).real).master == c;
      const bool slots_full = m_.real(m_.box(b).real).live_entries == kMaxEntries;
      const int want = m_.import_ifq(c, ShareSpec{}, b);
      if (want < 0 && slots_full) tally()["import -EBUSY: entry slots of the real full"]++;
      expect_eq(d_.import_ifq(c, ShareSpec{}, b, want >= 0 ? m_.num_entries() - 1 : kNone), want,
                "import_ifq");
      if (want < 0 && was_master) tally()["import -EBUSY cleared the master"]++;
      if (want < 0) break;
    }
  }

  // zcrx_set_ring_ctx by a ring that holds an entry of the real: sets the
  // master only where none is set (after the import error path cleared it).
  void set_master() {
    std::vector<int> v = live_entries();
    if (v.empty()) return register_ifq();
    const int e = rng_.pick(v);
    const int c = m_.entry(e).ctx;
    const bool want = m_.set_master(e, c);
    note("set master of entry" + std::to_string(e) + "'s real to ctx" + std::to_string(c) +
         " -> " + (want ? "set" : "already set"));
    expect_eq(d_.set_master(e, c), want, want ? "set_master set" : "set_master kept");
  }

  // A consumer corrupts its RQ tail: beyond the ring, or backwards (which
  // wraps). As in the kernel, refill reads at most the ring's size from its
  // own head, validates whatever the slots hold, counts the clamp and goes
  // on serving; pushes fail until the indices make sense again.
  void corrupt_rq() {
    std::vector<int> v = live_entries();
    if (v.empty()) return register_ifq();
    const int e = rng_.pick(v);
    const uint32_t n = m_.entry(e).rq_entries;
    const uint32_t aheads[] = {n + 1 + rng_.below(3 * n), 0u - 1 - rng_.below(n), 0x80000000u,
                               1 + rng_.below(n)};
    const uint32_t ahead = aheads[rng_.below(4)];
    note("move the RQ tail of entry" + std::to_string(e) + " on by " + std::to_string(ahead));
    m_.corrupt_rq(e, ahead);
    d_.corrupt_rq(e, ahead);
    const uint32_t want = m_.refill(e, 16);
    const uint32_t got = d_.refill(e, 16);
    refilled_ += got;
    expect_eq(static_cast<int>(got), static_cast<int>(want), "refill corrupt RQ");
    tally()["corrupt RQs"]++;
  }

  void ctrl() {
    std::vector<int> v = open_ctxs();
    if (v.empty()) return create_ctx();
    const int c = rng_.pick(v);
    const uint32_t ops[] = {0, 0, 0, 1, 7, 2, 2, 2};
    CtrlSpec s = ctrl_spec(c, ops[rng_.below(8)]);
    s.event_type = rng_.pct(90) ? 0 : 1 + rng_.below(2);
    const int want = m_.ctrl(c, s);
    note("ctrl ctx" + std::to_string(c) + " id" + std::to_string(s.zcrx_id) + " op " +
         std::to_string(s.op) + " type " + std::to_string(s.event_type) +
         (s.resv_nonzero ? " resv" : "") + (s.payload_nonzero ? " payload" : "") + " -> " +
         std::to_string(want));
    if (s.op == 2) tally()[want == 0 ? "arm event ok" : "arm event failed"]++;
    expect_eq(d_.ctrl(c, s), want, "ctrl");
  }

  // ---- checks ----

  void check() {
    if (!failure_.empty()) return;
    if (m_.totals().free_with_master_set != 0) {
      failure_ = "model: an ifq was freed with its master set (model bug)";
      return;
    }
    failure_ = compare(m_, d_);
  }

  void count_paths() {
    for (int e = 0; e < m_.num_entries(); e++) {
      const EntryStats& st = m_.entry(e).stats;
      tally()["niovs reclaimed from a departed entry"] += st.reclaimed;
      tally()["niovs refilled"] += st.refilled;
      tally()["rqe bad token"] += st.rqe_bad_token;
      tally()["rqe bad index"] += st.rqe_bad_index;
      tally()["rqe no ref"] += st.rqe_no_ref;
      tally()["rqe wrong owner"] += st.rqe_wrong_owner;
    }
    for (int r = 0; r < m_.num_reals(); r++) {
      tally()["niovs scrubbed"] += m_.real(r).scrubbed;
      tally()["no-buffers deliveries"] += m_.real(r).no_buffers;
    }
    for (int c = 0; c < m_.num_ctxs(); c++) tally()["no-buffers events"] += m_.ctx(c).no_buffer_events;
  }

  // The engine goes away with rings and boxes still live (zcrxd exiting):
  // its destructor must take every buffer back, once.
  void abandon() {
    note("destroy the engine with everything live");
    d_.destroy_engine();
    tally()["engine destroyed with rings live"]++;
    for (int r = 0; r < m_.num_reals(); r++) {
      const core::FreeList* fl = d_.free_list(r);
      if (fl->free_count() != fl->capacity() || fl->overflows() != 0) {
        failure_ = "after ~Engine, real" + std::to_string(r) + ": " +
                   std::to_string(fl->free_count()) + " of " + std::to_string(fl->capacity()) +
                   " niovs free, " + std::to_string(fl->overflows()) + " overflows";
        return;
      }
    }
  }

  void finish() {
    for (int c : open_ctxs()) {
      note("final: terminate ctx" + std::to_string(c));
      m_.terminate_ctx(c);
      d_.terminate_ctx(c);
      check();
      if (!failure_.empty()) return;
    }
    for (int b : unreleased_boxes()) {
      note("final: release box" + std::to_string(b));
      m_.release_box(b);
      d_.release_box(b);
      check();
      if (!failure_.empty()) return;
    }
    count_paths();
    // Everything is gone in the model; the engine must agree, and every
    // niov of every area must be back in its free list exactly once.
    const Totals& t = m_.totals();
    if (t.ctxs_live || t.ifqs_live || t.entries_live || t.boxes_live || m_.held_total()) {
      failure_ = "model: objects live after everything was terminated (model bug)";
      return;
    }
    const core::EngineStats es = d_.engine().stats();
    if (es.free_with_master_set || es.ctxs_live || es.ifqs_live || es.entries_live ||
        es.boxes_live) {
      failure_ = "engine: objects live after everything was terminated";
      return;
    }
    // Every buffer delivered came back exactly one way.
    if (delivered_ != refilled_ + es.niovs_scrubbed + es.niovs_reclaimed) {
      failure_ = "engine: " + std::to_string(delivered_) + " delivered, but " +
                 std::to_string(refilled_) + " refilled + " + std::to_string(es.niovs_scrubbed) +
                 " scrubbed + " + std::to_string(es.niovs_reclaimed) + " reclaimed";
      return;
    }
    for (int r = 0; r < m_.num_reals(); r++) {
      const core::FreeList* fl = d_.free_list(r);
      if (fl->free_count() != fl->capacity() || fl->overflows() != 0) {
        failure_ = "real" + std::to_string(r) + ": " + std::to_string(fl->free_count()) + " of " +
                   std::to_string(fl->capacity()) + " niovs free at the end, " +
                   std::to_string(fl->overflows()) + " overflows";
        return;
      }
      // Each niov exactly once: drain the list and look for duplicates.
      std::vector<uint32_t> all(fl->capacity() + 1);
      const uint32_t n = const_cast<core::FreeList*>(fl)->alloc_burst(all.data(), fl->capacity() + 1);
      std::vector<bool> seen(fl->capacity(), false);
      for (uint32_t i = 0; i < n; i++) {
        if (all[i] >= fl->capacity() || seen[all[i]]) {
          failure_ = "real" + std::to_string(r) + ": niov " + std::to_string(all[i]) +
                     " twice or out of range in the free list";
          return;
        }
        seen[all[i]] = true;
      }
      if (n != fl->capacity()) {
        failure_ = "real" + std::to_string(r) + ": drained " + std::to_string(n) + " niovs of " +
                   std::to_string(fl->capacity());
        return;
      }
      const_cast<core::FreeList*>(fl)->return_niovs(fl->area(), all.data(), n);
    }
  }

 public:
  uint32_t step() const { return step_; }
  const std::string& last_op() const { return last_op_; }

 private:
  uint64_t seed_;
  Rng rng_;
  bool verbose_;
  Model m_;
  EngineDriver d_;
  uint32_t step_ = 0;
  uint64_t delivered_ = 0, refilled_ = 0;  // by the engine, over the sequence
  std::string failure_;
  std::string last_op_;
};

}  // namespace

TEST_CASE("model_sequences: engine and reference model agree on every result and count") {
  const bool verbose = env_u64("ZCRX_VERBOSE", 0) != 0;
  uint64_t first = env_u64("ZCRX_SEED_BASE", 1);
  uint64_t count = env_u64("ZCRX_SEQUENCES", 2000);
  if (std::getenv("ZCRX_SEED") != nullptr) {
    first = env_u64("ZCRX_SEED", 1);
    count = 1;
  }
  uint64_t failures = 0;
  for (uint64_t k = 0; k < count; k++) {
    const uint64_t seed = first + k;
    Sequence seq(seed, verbose);
    const std::string err = seq.run();
    if (err.empty()) continue;
    failures++;
    std::printf("FAIL seed %llu at op %u (%s): %s\n  replay: ZCRX_SEED=%llu ZCRX_VERBOSE=1\n",
                static_cast<unsigned long long>(seed), seq.step(), seq.last_op().c_str(),
                err.c_str(), static_cast<unsigned long long>(seed));
    if (failures >= 5) break;
  }
  CHECK(failures == 0);

  std::printf("%llu sequences; outcomes and paths:\n", static_cast<unsigned long long>(count));
  for (const auto& [what, n] : tally())
    std::printf("  %-40s %llu\n", what.c_str(), static_cast<unsigned long long>(n));
  if (count >= 1000 && failures == 0) {
    // Every rule the sequences exist to exercise was reached.
    const char* must[] = {
        "register_ifq ok", "register_ifq -22", "register_ifq -17", "register_ifq -19",
        "register_ifq -95", "register_ifq -14", "export_ifq ok", "export_ifq -6",
        "export_ifq -14", "export_ifq -22", "export_ifq -95", "import_ifq ok", "import_ifq -9",
        "import_ifq -22", "import_ifq -16", "import -EBUSY cleared the master", "clone_ifq ok",
        "clone_ifq -9", "clone_ifq -77", "clone_ifq -22", "ctrl ok", "ctrl -6", "ctrl -95",
        "refill ok", "niovs reclaimed from a departed entry", "niovs scrubbed", "niovs refilled",
        "rqe bad token", "rqe bad index", "rqe no ref", "rqe wrong owner",
        "no-buffers deliveries", "no-buffers events", "arm event ok", "arm event failed", "set_master set ok", "set_master kept ok",
        "corrupt RQs", "import -EBUSY: entry slots of the real full",
        "register_ifq nodev ok", "clone of a clone ok", "clone pins the owner, not the source",
        "engine destroyed with rings live"};
    for (const char* k : must) {
      INFO("path never taken: " << k);
      CHECK(tally()[k] > 0);
    }
  }
}

}  // namespace zcrx::model
